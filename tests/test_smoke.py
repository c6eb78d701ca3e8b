from tests.support import World


async def test_draft_to_renewed(world: World) -> None:
    agreement = await world.signed()
    assert agreement["state"] == "signed"
    assert agreement["signing_place"] == "Montevideo"
    print(agreement["available_events"], agreement["unmet_conditions"])

"""A party acts only for itself: signatures, focal points and signatories (issue 9, finding 1).

The agreement is between Metropolis and UCLG ASPAC; the city-to-city cooperation adds the Asian
Mayors Forum as a supporter. Staff record signatures, and name or withdraw people, only for their
own organisation; an administrator may act for any party, and the history says for whom. Every
refusal is a 403 problem that says why, and writes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from engine.clock import FixedClock
from tests.checks import PAST_START, fire_ok, history, problem, snapshot
from tests.support import World


def party(agreement: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in agreement["parties"] if p["organisation"]["name"] == name)


def contact_ids(agreement: dict[str, Any]) -> dict[int, int]:
    """person id -> contact id, over every party's focal points and signatories."""
    return {c["person"]["id"]: c["id"] for p in agreement["parties"]
            for c in p["focal_points"] + p["signatories"]}


async def unchanged(world: World, agreement_id: int, before: tuple[dict[str, Any], list[Any]]) -> None:
    after, rows = await snapshot(world, agreement_id)
    assert after["version"] == before[0]["version"]
    assert rows == before[1]


async def submitted(world: World, **overrides: Any) -> dict[str, Any]:
    agreement = await world.ready(**overrides)
    return await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")


async def city_to_city(world: World) -> dict[str, Any]:
    """A city-to-city draft ready to sign: Metropolis and UCLG ASPAC sign, the AMF supports."""
    created = await world.draft(
        workflow="city_to_city", title="Tehran – Jakarta city-to-city cooperation",
        effective_from=PAST_START,
        parties=[{"organisation_id": world.orgs["metropolis"]},
                 {"organisation_id": world.orgs["aspac"]},
                 {"organisation_id": world.orgs["amf"], "role": "supporter"}])
    await world.name_people(created["id"])
    await world.ok("amf_staff", "POST", f"/agreements/{created['id']}/focal-points",
                   json={"person_id": world.amf_staff.id, "kind": "focal_point"})
    body, _ = await snapshot(world, created["id"])
    return body


# --- signatures ----------------------------------------------------------------------------

async def test_staff_sign_only_for_their_own_organisation(world: World) -> None:
    agreement = await submitted(world)
    before = await snapshot(world, agreement["id"])
    body = problem(await world.fire("aspac_staff", agreement["id"], "sign",
                                    organisation_id=world.orgs["metropolis"]), 403,
                   "UCLG ASPAC", "Metropolis", "only for your own organisation")
    assert "unmet" not in body  # a refusal of authority, not a condition to meet
    await unchanged(world, agreement["id"], before)
    # Naming their own organisation is the same as naming none.
    signed = await fire_ok(world, "aspac_staff", agreement["id"], "sign",
                           organisation_id=world.orgs["aspac"])
    assert party(signed, "UCLG ASPAC")["signature"] is not None
    assert party(signed, "Metropolis")["signature"] is None


async def test_a_supporter_never_signs(world: World) -> None:
    agreement = await city_to_city(world)
    before = await snapshot(world, agreement["id"])
    for organisation in ("metropolis", "aspac"):
        problem(await world.fire("amf_staff", agreement["id"], "sign",
                                 organisation_id=world.orgs[organisation]), 403,
                "only for your own organisation")
    problem(await world.fire("amf_staff", agreement["id"], "sign"), 403,
            "Asian Mayors Forum supports this agreement and does not sign it")
    await unchanged(world, agreement["id"], before)
    # The supporter is not offered the event at all; the cities are.
    as_supporter = await world.ok("amf_staff", "GET", f"/agreements/{agreement['id']}")
    assert as_supporter["available_events"] == ["cancel"]
    as_city = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}")
    assert as_city["available_events"] == ["sign", "cancel"]
    # The cities sign, each for itself.
    await fire_ok(world, "metro_staff", agreement["id"], "sign")
    signed = await fire_ok(world, "aspac_staff", agreement["id"], "sign")
    assert signed["state"] == "signed"
    assert party(signed, "Asian Mayors Forum")["signature"] is None


async def test_admin_signs_on_behalf_of_a_party_and_the_history_says_so(world: World) -> None:
    agreement = await submitted(world)
    own = await fire_ok(world, "metro_staff", agreement["id"], "sign")
    assert own["state"] == "pending_signature"
    on_behalf = await fire_ok(world, "admin", agreement["id"], "sign",
                              organisation_id=world.orgs["aspac"], place="Jakarta")
    assert on_behalf["state"] == "signed"
    assert party(on_behalf, "UCLG ASPAC")["signature"]["place"] == "Jakarta"
    rows = await history(world, agreement["id"])
    staff_row, admin_row = rows[-2], rows[-1]
    assert "on_behalf_of" not in staff_row["data"]
    assert staff_row["text"] == "Sign by Agnès Bickart"
    assert admin_row["actor_id"] == world.admin.id
    assert admin_row["data"]["on_behalf_of"] == {"organisation_id": world.orgs["aspac"],
                                                 "name": "UCLG ASPAC"}
    assert admin_row["text"] == ("Sign (pending signature → signed) for UCLG ASPAC by "
                                 "Accord Administrator")


async def test_admin_must_say_for_which_party_they_sign(world: World) -> None:
    agreement = await submitted(world)
    problem(await world.fire("admin", agreement["id"], "sign"), 422,
            "Say which party's signature this is")


# --- signed_on -----------------------------------------------------------------------------

async def test_signed_on_lies_between_submission_and_today(world: World, clock: FixedClock) -> None:
    agreement = await submitted(world)  # submitted on 2026-11-23
    clock.set(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    before = await snapshot(world, agreement["id"])
    body = problem(await world.fire("metro_staff", agreement["id"], "sign", signed_on="2026-11-22"),
                   422, "The day of signing, 22 Nov 2026, is before 23 Nov 2026",
                   "submitted for signature")
    assert len(body["unmet"]) == 1
    problem(await world.fire("metro_staff", agreement["id"], "sign", signed_on="2026-11-28"), 422,
            "The day of signing, 28 Nov 2026, is in the future")
    await unchanged(world, agreement["id"], before)
    first = await fire_ok(world, "metro_staff", agreement["id"], "sign", signed_on="2026-11-23")
    assert party(first, "Metropolis")["signature"]["signed_on"] == "2026-11-23"
    last = await fire_ok(world, "aspac_staff", agreement["id"], "sign", signed_on="2026-11-27")
    assert last["signed_on"] == "2026-11-27"


async def test_a_city_to_city_signature_is_not_older_than_the_cooperation(
        world: World, clock: FixedClock) -> None:
    agreement = await city_to_city(world)  # created on 2026-11-23; signed straight from draft
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    problem(await world.fire("metro_staff", agreement["id"], "sign", signed_on="2026-11-20"), 422,
            "The day of signing, 20 Nov 2026, is before 23 Nov 2026", "created")
    signed = await fire_ok(world, "metro_staff", agreement["id"], "sign", signed_on="2026-11-24")
    assert party(signed, "Metropolis")["signature"]["signed_on"] == "2026-11-24"


# --- focal points and signatories ----------------------------------------------------------

async def test_staff_name_people_only_for_their_own_party(world: World) -> None:
    agreement = await world.draft()
    path = f"/agreements/{agreement['id']}/focal-points"
    before = await snapshot(world, agreement["id"])
    # A person of the other party (their party by default), or named for it explicitly.
    problem(await world.call("metro_staff", "POST", path,
                             json={"person_id": world.aspac_partner.id, "kind": "focal_point"}),
            403, "Only UCLG ASPAC", "only for your own organisation")
    problem(await world.call("metro_staff", "POST", path,
                             json={"person_id": world.aspac_signatory.id, "kind": "signatory",
                                   "organisation_id": world.orgs["aspac"]}),
            403, "Only UCLG ASPAC")
    await unchanged(world, agreement["id"], before)
    await world.ok("aspac_staff", "POST", path,
                   json={"person_id": world.aspac_partner.id, "kind": "focal_point"})


async def test_staff_withdraw_people_only_of_their_own_party(world: World) -> None:
    agreement = await world.ready()
    contacts = contact_ids((await snapshot(world, agreement["id"]))[0])
    path = f"/agreements/{agreement['id']}/focal-points/{contacts[world.aspac_signatory.id]}"
    before = await snapshot(world, agreement["id"])
    problem(await world.call("metro_staff", "DELETE", path), 403, "Only UCLG ASPAC")
    await unchanged(world, agreement["id"], before)
    assert (await world.call("aspac_staff", "DELETE", path)).status_code == 204


async def test_admin_names_and_withdraws_for_any_party_on_its_behalf(world: World) -> None:
    agreement = await world.draft()
    contact = await world.ok("admin", "POST", f"/agreements/{agreement['id']}/focal-points",
                             json={"person_id": world.aspac_staff.id, "kind": "focal_point"})
    assert (await world.call("admin", "DELETE",
                             f"/agreements/{agreement['id']}/focal-points/{contact['id']}")
            ).status_code == 204
    rows = await history(world, agreement["id"])
    assert [r["event"] for r in rows[-2:]] == ["focal_point_named", "focal_point_removed"]
    for row in rows[-2:]:
        assert row["data"]["on_behalf_of"] == {"organisation_id": world.orgs["aspac"],
                                               "name": "UCLG ASPAC"}
    assert rows[-2]["text"] == "Focal point named for UCLG ASPAC by Accord Administrator"


async def test_a_signatory_whose_signature_is_recorded_stays_named(world: World) -> None:
    agreement = await submitted(world)
    await fire_ok(world, "metro_staff", agreement["id"], "sign")
    contacts = contact_ids((await snapshot(world, agreement["id"]))[0])
    path = f"/agreements/{agreement['id']}/focal-points/{contacts[world.metro_signatory.id]}"
    before = await snapshot(world, agreement["id"])
    for who in ("metro_staff", "admin"):
        problem(await world.call(who, "DELETE", path), 409,
                "Secretary General, Metropolis signed for Metropolis on 23 Nov 2026",
                "withdraw the agreement from signature")
    await unchanged(world, agreement["id"], before)
    # The unsigned party's signatory may still be changed; after a withdrawal, anyone may.
    aspac = f"/agreements/{agreement['id']}/focal-points/{contacts[world.aspac_signatory.id]}"
    assert (await world.call("aspac_staff", "DELETE", aspac)).status_code == 204
    await fire_ok(world, "metro_staff", agreement["id"], "withdraw")
    assert (await world.call("metro_staff", "DELETE", path)).status_code == 204


# --- an event takes only its own fields (issue 9, "Also found") ----------------------------

async def test_an_event_refuses_fields_it_does_not_take(world: World) -> None:
    agreement = await submitted(world)
    before = await snapshot(world, agreement["id"])
    body = problem(await world.fire("metro_staff", agreement["id"], "sign", reason="Because."),
                   422, "sign does not take reason")
    assert body["errors"] == [{"field": "reason", "message": body["detail"]}]
    await unchanged(world, agreement["id"], before)

    await fire_ok(world, "metro_staff", agreement["id"], "sign", comment="Signed in Barcelona.")
    active = await fire_ok(world, "aspac_staff", agreement["id"], "sign")
    assert active["state"] == "signed"


async def test_complete_review_with_ends_on_is_refused(world: World) -> None:
    agreement = await world.signed(effective_from=PAST_START)
    await fire_ok(world, "metro_staff", agreement["id"], "activate")
    await fire_ok(world, "metro_staff", agreement["id"], "start_review")
    before = await snapshot(world, agreement["id"])
    body = problem(await world.fire("metro_staff", agreement["id"], "complete_review",
                                    outcome="renew", summary="Renew it.", ends_on="2031-01-01"),
                   422, "complete_review does not take ends_on",
                   "comment, outcome, summary")
    assert body["errors"][0]["field"] == "ends_on"
    await unchanged(world, agreement["id"], before)


async def test_workflows_list_each_event_s_fields(world: World) -> None:
    workflow = await world.ok("metro_staff", "GET", "/workflows/collaboration_agreement")
    fields = {e["name"]: e["fields"] for e in workflow["events"]}
    assert fields["sign"] == ["comment", "organisation_id", "signatory_id", "signed_on", "place"]
    assert fields["complete_review"] == ["comment", "outcome", "summary"]
    assert fields["renew"] == ["comment", "ends_on", "starts_on"]
    assert fields["cancel"] == ["comment"]


# --- signing_place -------------------------------------------------------------------------

async def test_signing_place_set_at_creation_is_kept(world: World) -> None:
    agreement = await submitted(world, signing_place="Montevideo")
    await fire_ok(world, "metro_staff", agreement["id"], "sign", place="Barcelona")
    signed = await fire_ok(world, "aspac_staff", agreement["id"], "sign", place="Jakarta")
    assert signed["state"] == "signed"
    assert signed["signing_place"] == "Montevideo"
    assert party(signed, "Metropolis")["signature"]["place"] == "Barcelona"
    assert party(signed, "UCLG ASPAC")["signature"]["place"] == "Jakarta"
    rows = await history(world, agreement["id"])
    assert "signing_place" not in rows[-1]["data"]


async def test_an_empty_signing_place_takes_the_last_signature_s_place(world: World) -> None:
    agreement = await submitted(world)
    first = await fire_ok(world, "metro_staff", agreement["id"], "sign", place="Barcelona")
    assert first["signing_place"] is None
    signed = await fire_ok(world, "aspac_staff", agreement["id"], "sign", place="Jakarta")
    assert signed["signing_place"] == "Jakarta"
    assert party(signed, "Metropolis")["signature"]["place"] == "Barcelona"
    rows = await history(world, agreement["id"])
    assert rows[-1]["data"]["signing_place"] == "Jakarta"
    assert "signing_place" not in rows[-2]["data"]

"""On the pages too, a party acts only for itself, and an event takes only its own fields.

The forms post to the same engine path as the API (`engine.events.fire`), so a form crafted with
another party's `organisation_id` is refused the same way; the pages offer only what the person
may do.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.checks import PAST_START, fire_ok, snapshot
from tests.support import World
from tests.web.helpers import csrf_of, sign_in, text_of


async def _submitted(world: World) -> dict[str, Any]:
    agreement = await world.ready()
    return await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")


async def test_staff_cannot_post_another_party_s_signature(client: httpx.AsyncClient, world: World) -> None:
    agreement = await _submitted(world)
    path = f"/agreements/{agreement['id']}"
    csrf = await sign_in(client, world.aspac_staff.token)
    page = await client.get(path)
    assert "Signing for" not in page.text  # staff sign for their own organisation; nothing to choose
    assert 'name="organisation_id"' not in page.text
    before = await snapshot(world, agreement["id"])

    answer = await client.post(f"{path}/events", data={"csrf": csrf, "event": "sign",
                                                       "organisation_id": str(world.orgs["metropolis"])})
    assert answer.status_code == 403
    words = text_of(answer.text)
    assert "Nothing was changed (403)" in words
    assert "you record a signature only for your own organisation" in words
    after = await snapshot(world, agreement["id"])
    assert after[0]["version"] == before[0]["version"]
    assert all(p["signature"] is None for p in after[0]["parties"])


async def test_a_supporter_is_not_offered_the_signature(client: httpx.AsyncClient, world: World) -> None:
    created = await world.draft(
        workflow="city_to_city", effective_from=PAST_START,
        parties=[{"organisation_id": world.orgs["metropolis"]}, {"organisation_id": world.orgs["aspac"]},
                 {"organisation_id": world.orgs["amf"], "role": "supporter"}])
    await world.name_people(created["id"])
    await world.ok("amf_staff", "POST", f"/agreements/{created['id']}/focal-points",
                   json={"person_id": world.amf_staff.id, "kind": "focal_point"})
    path = f"/agreements/{created['id']}"
    csrf = await sign_in(client, world.amf_staff.token)
    page = await client.get(path)
    assert 'name="event" value="sign"' not in page.text
    assert f'href="{path}/events/cancel"' in page.text  # cancel asks first, on a page of its own
    for extra, why in (({}, "Asian Mayors Forum supports this agreement and does not sign it"),
                       ({"organisation_id": str(world.orgs["metropolis"])},
                        "you record a signature only for your own organisation")):
        answer = await client.post(f"{path}/events", data={"csrf": csrf, "event": "sign", **extra})
        assert answer.status_code == 403
        assert why in text_of(answer.text)
    assert (await world.ok("metro_staff", "GET", path))["version"] == created["version"] + 5


async def test_admin_signs_for_a_chosen_party_and_the_history_says_for_whom(client: httpx.AsyncClient,
                                                                         world: World) -> None:
    agreement = await _submitted(world)
    await fire_ok(world, "metro_staff", agreement["id"], "sign", place="Barcelona")
    path = f"/agreements/{agreement['id']}"
    csrf = await sign_in(client, world.admin.token)
    page = await client.get(path)
    assert "Signing for" in page.text
    # Only the party that has not signed is offered.
    assert f'<option value="{world.orgs["aspac"]}">UCLG ASPAC</option>' in page.text
    assert f'<option value="{world.orgs["metropolis"]}">Metropolis</option>' not in page.text

    answer = await client.post(f"{path}/events", data={"csrf": csrf, "event": "sign",
                                                       "organisation_id": str(world.orgs["aspac"]),
                                                       "place": "Jakarta"})
    assert answer.status_code == 303, text_of(answer.text)
    words = text_of((await client.get(path)).text)
    assert "Sign (pending signature → signed) for UCLG ASPAC by Accord Administrator" in words
    assert "Sign by Agnès Bickart" in words


async def test_a_form_with_a_field_the_event_does_not_take_is_refused(client: httpx.AsyncClient,
                                                                     world: World) -> None:
    agreement = await _submitted(world)
    path = f"/agreements/{agreement['id']}"
    csrf = await sign_in(client, world.metro_staff.token)
    answer = await client.post(f"{path}/events", data={"csrf": csrf, "event": "withdraw",
                                                       "ends_on": "2030-01-01"})
    assert answer.status_code == 422
    assert "withdraw does not take ends_on" in text_of(answer.text)
    before_signing = await client.post(f"{path}/events", data={"csrf": csrf, "event": "sign",
                                                               "signed_on": "2026-11-01"})
    assert before_signing.status_code == 422
    assert ("The day of signing, 1 Nov 2026, is before 23 Nov 2026, the day the agreement was submitted for "
            "signature") in text_of(before_signing.text)
    assert (await world.ok("metro_staff", "GET", path))["version"] == agreement["version"]
    # The page still shows the form with what was typed, to correct it.
    assert csrf_of(before_signing.text)
    assert 'value="2026-11-01"' in before_signing.text

"""Every event and guard of `collaboration_agreement` v1, met and unmet, and `city_to_city`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from engine.clock import FixedClock
from tests.checks import PAST_START, active, fire_ok, history, problem, reviewed, snapshot
from tests.support import World

ALL_EVENTS = ["submit_for_signature", "sign", "withdraw", "activate", "start_review",
              "complete_review", "continue", "renew", "suspend", "resume", "terminate", "expire",
              "cancel"]


def party(agreement: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in agreement["parties"] if p["organisation"]["name"] == name)


# --- submit_for_signature ------------------------------------------------------------------

async def test_submit_lists_every_unmet_condition_at_once(world: World) -> None:
    agreement = await world.draft(parties=[{"organisation_id": world.orgs["metropolis"]}],
                                  areas=[], effective_from=None)
    body = problem(await world.fire("metro_staff", agreement["id"], "submit_for_signature"), 422,
                   "at least two signing parties; it has 1",
                   "Metropolis has not named a focal point",
                   "Metropolis has not named a signatory",
                   "Add at least one area of collaboration",
                   "Set the effective date")
    assert len(body["unmet"]) == 4  # one sentence per guard, all of them
    after, rows = await snapshot(world, agreement["id"])
    assert after["state"] == "draft"
    assert after["version"] == 1
    assert [r["event"] for r in rows] == ["create"]
    # The agreement itself says what is missing before anyone tries.
    assert len(after["unmet_conditions"]["submit_for_signature"]) == 4


async def test_submit_names_each_party_that_lacks_people(world: World) -> None:
    agreement = await world.draft()
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.metro_staff.id, "kind": "focal_point"})
    body = problem(await world.fire("metro_staff", agreement["id"], "submit_for_signature"), 422,
                   "Metropolis has not named a signatory", "UCLG ASPAC has not named a focal point",
                   "UCLG ASPAC has not named a signatory")
    assert "Metropolis has not named a focal point" not in body["detail"]
    assert (await snapshot(world, agreement["id"]))[0]["state"] == "draft"


async def test_submit_when_every_condition_is_met(world: World) -> None:
    agreement = await world.ready()
    assert agreement["id"]
    ready, _ = await snapshot(world, agreement["id"])
    assert ready["unmet_conditions"] == {}
    assert ready["available_events"] == ["submit_for_signature", "cancel"]
    submitted = await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature",
                              comment="Ready for the Secretaries-general.")
    assert submitted["state"] == "pending_signature"
    assert submitted["submitted_on"] == "2026-11-23"
    assert submitted["editable"] is False
    after, rows = await snapshot(world, agreement["id"])
    assert after == {**submitted, "available_events": after["available_events"],
                     "unmet_conditions": after["unmet_conditions"]}
    last = rows[-1]
    assert (last["event"], last["from_state"], last["to_state"]) == (
        "submit_for_signature", "draft", "pending_signature")
    assert last["comment"] == "Ready for the Secretaries-general."
    assert last["actor_id"] == world.metro_staff.id
    assert last["kind"] == "transition"


# --- sign ----------------------------------------------------------------------------------

async def submitted(world: World, **overrides: Any) -> dict[str, Any]:
    agreement = await world.ready(**overrides)
    return await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")


async def test_sign_one_party_at_a_time_until_all_have_signed(world: World, clock: FixedClock) -> None:
    agreement = await submitted(world)  # on 2026-11-23
    clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    first = await fire_ok(world, "metro_staff", agreement["id"], "sign", place="Barcelona",
                          signed_on="2026-11-24")
    assert first["state"] == "pending_signature"
    assert party(first, "Metropolis")["signature"] == {
        "signed_on": "2026-11-24", "place": "Barcelona", "signatory_id": world.metro_signatory.id}
    assert party(first, "UCLG ASPAC")["signature"] is None
    assert first["signed_on"] is None

    again = problem(await world.fire("metro_staff", agreement["id"], "sign"), 422,
                    "Metropolis already signed on 24 Nov 2026")
    assert again["unmet"] == ["Metropolis already signed on 24 Nov 2026."]

    last = await fire_ok(world, "aspac_staff", agreement["id"], "sign", place="Montevideo")
    assert last["state"] == "signed"
    assert last["signed_on"] == "2026-11-25"
    assert last["signing_place"] == "Montevideo"
    after, rows = await snapshot(world, agreement["id"])
    signs = [r for r in rows if r["event"] == "sign"]
    assert [(r["from_state"], r["to_state"]) for r in signs] == [
        ("pending_signature", "pending_signature"), ("pending_signature", "signed")]
    assert signs[0]["data"]["organisation_id"] == world.orgs["metropolis"]
    assert signs[1]["data"]["organisation_id"] == world.orgs["aspac"]
    assert after["available_events"] == ["activate", "terminate"]


async def test_sign_for_an_organisation_that_is_not_a_party(world: World) -> None:
    agreement = await submitted(world)
    problem(await world.fire("admin", agreement["id"], "sign", organisation_id=world.orgs["amf"]),
            422, f"organisation {world.orgs['amf']} is not a signing party")
    # The administrator's own organisation is not a party either: they say which party signs.
    problem(await world.fire("admin", agreement["id"], "sign"), 422,
            "Say which party's signature this is: Metropolis (organisation")
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == agreement["version"]
    assert all(p["signature"] is None for p in after["parties"])


async def test_admin_signs_on_behalf_of_a_party(world: World) -> None:
    agreement = await submitted(world)
    on_behalf = await fire_ok(world, "admin", agreement["id"], "sign",
                              organisation_id=world.orgs["aspac"], place="Jakarta")
    assert party(on_behalf, "UCLG ASPAC")["signature"]["place"] == "Jakarta"
    assert party(on_behalf, "Metropolis")["signature"] is None
    rows = await history(world, agreement["id"])
    assert rows[-1]["actor_id"] == world.admin.id


async def test_sign_guards_on_date_and_signatory(world: World) -> None:
    agreement = await submitted(world)
    problem(await world.fire("metro_staff", agreement["id"], "sign", signed_on="2026-11-24"), 422,
            "The day of signing, 24 Nov 2026, is in the future")
    problem(await world.fire("metro_staff", agreement["id"], "sign",
                             signatory_id=world.metro_staff.id), 422,
            f"Person {world.metro_staff.id} is not a named signatory of Metropolis")
    after, _ = await snapshot(world, agreement["id"])
    assert after["version"] == agreement["version"]


async def test_withdraw_clears_signatures_and_reopens_the_draft(world: World) -> None:
    agreement = await submitted(world)
    await fire_ok(world, "metro_staff", agreement["id"], "sign")
    withdrawn = await fire_ok(world, "metro_staff", agreement["id"], "withdraw",
                              comment="The text needs another article.")
    assert withdrawn["state"] == "draft"
    assert withdrawn["submitted_on"] is None
    assert all(p["signature"] is None for p in withdrawn["parties"])
    assert withdrawn["editable"] is True
    rows = await history(world, agreement["id"])
    assert rows[-1]["data"]["cleared_signatures"] == [party(withdrawn, "Metropolis")["id"]]
    edited = await world.ok("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                            json={"title": "Amended collaboration agreement"})
    assert edited["title"] == "Amended collaboration agreement"
    # Metropolis can sign again after resubmission.
    await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    await fire_ok(world, "metro_staff", agreement["id"], "sign")
    await snapshot(world, agreement["id"])


# --- activate ------------------------------------------------------------------------------

async def test_activate_waits_for_effective_from(world: World, clock: FixedClock) -> None:
    agreement = await world.signed()  # effective_from 2026-12-01, today 2026-11-23
    body = problem(await world.fire("metro_staff", agreement["id"], "activate"), 422,
                   "The term starts on 1 Dec 2026")
    assert body["unmet"] == [
        "The term starts on 1 Dec 2026; the agreement cannot be activated before then."]
    assert (await snapshot(world, agreement["id"]))[0]["state"] == "signed"

    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=UTC))
    activated = await fire_ok(world, "metro_staff", agreement["id"], "activate")
    assert activated["state"] == "active"
    assert activated["term_starts_on"] == "2026-12-01"
    assert activated["next_review_on"] == "2027-12-01"  # effective_from + review_every_months
    rows = await history(world, agreement["id"])
    assert rows[-1]["data"]["next_review_on"] == "2027-12-01"
    assert rows[-1]["at"].startswith("2026-12-01T08:00")


async def test_activate_long_after_effective_from_schedules_the_next_review_ahead(
        world: World) -> None:
    agreement = await active(world, effective_from="2019-04-06")
    assert agreement["next_review_on"] == "2027-04-06"  # the first anniversary after today


# --- reviews -------------------------------------------------------------------------------

async def test_review_and_continue(world: World) -> None:
    agreement = await active(world)
    assert agreement["next_review_on"] == "2027-11-01"
    review = await fire_ok(world, "metro_staff", agreement["id"], "start_review")
    assert review["state"] == "under_review"
    assert review["available_events"] == ["complete_review", "terminate", "expire"]

    body = problem(await world.fire("metro_staff", agreement["id"], "complete_review"), 422,
                   "outcome", "summary")
    assert len(body["unmet"]) == 2
    problem(await world.fire("metro_staff", agreement["id"], "complete_review", outcome="continue",
                             summary="   "), 422, "Give a summary of the review")

    done = await fire_ok(world, "metro_staff", agreement["id"], "complete_review",
                         outcome="continue", summary="All four areas on track.")
    assert done["state"] == "reviewed"
    assert (done["review_outcome"], done["review_summary"]) == ("continue",
                                                               "All four areas on track.")
    problem(await world.fire("metro_staff", agreement["id"], "renew", ends_on="2030-01-01"), 422,
            "outcome was 'continue', not 'renew'", "continue")

    continued = await fire_ok(world, "metro_staff", agreement["id"], "continue")
    assert continued["state"] == "active"
    assert continued["next_review_on"] == "2028-11-01"
    _, rows = await snapshot(world, agreement["id"])
    assert [r["event"] for r in rows[-3:]] == ["start_review", "complete_review", "continue"]
    assert rows[-2]["data"]["outcome"] == "continue"


async def test_renew_needs_a_later_end_and_then_activates(world: World) -> None:
    agreement = await reviewed(world, "renew", ends_on="2028-10-31")
    problem(await world.fire("metro_staff", agreement["id"], "continue"), 422,
            "outcome was 'renew', not 'continue'")
    problem(await world.fire("metro_staff", agreement["id"], "renew"), 422, "Give the new end date")
    problem(await world.fire("metro_staff", agreement["id"], "renew", ends_on="2028-10-31"), 422,
            "must be later than the current one, 31 Oct 2028")
    before, _ = await snapshot(world, agreement["id"])
    assert before["state"] == "reviewed"
    assert before["ends_on"] == "2028-10-31"

    renewed = await fire_ok(world, "metro_staff", agreement["id"], "renew", ends_on="2031-10-31")
    assert renewed["state"] == "renewed"
    assert renewed["ends_on"] == "2031-10-31"
    assert renewed["term_starts_on"] == "2026-11-23"
    assert renewed["available_events"] == ["activate"]
    rows = await history(world, agreement["id"])
    assert rows[-1]["data"]["previous_ends_on"] == "2028-10-31"

    again = await fire_ok(world, "metro_staff", agreement["id"], "activate")
    assert again["state"] == "active"
    assert again["next_review_on"] == "2027-11-23"  # a year into the new term
    await snapshot(world, agreement["id"])


async def test_suspend_and_resume_need_a_reason(world: World) -> None:
    agreement = await active(world)
    problem(await world.fire("metro_staff", agreement["id"], "suspend"), 422, "Give a reason")
    suspended = await fire_ok(world, "metro_staff", agreement["id"], "suspend",
                              reason="Paused during the secretariat's relocation.")
    assert suspended["state"] == "suspended"
    assert suspended["available_events"] == ["resume", "terminate", "expire"]
    problem(await world.fire("metro_staff", agreement["id"], "resume", reason=""), 422,
            "Give a reason")
    resumed = await fire_ok(world, "aspac_staff", agreement["id"], "resume", reason="Back.")
    assert resumed["state"] == "active"
    _, rows = await snapshot(world, agreement["id"])
    assert [(r["event"], r["comment"]) for r in rows[-2:]] == [
        ("suspend", "Paused during the secretariat's relocation."), ("resume", "Back.")]


async def _to_state(world: World, state: str) -> dict[str, Any]:
    if state == "signed":
        return await world.signed()
    agreement = await active(world)
    if state == "suspended":
        return await fire_ok(world, "metro_staff", agreement["id"], "suspend", reason="A pause.")
    if state in ("under_review", "reviewed"):
        agreement = await fire_ok(world, "metro_staff", agreement["id"], "start_review")
    if state == "reviewed":
        agreement = await fire_ok(world, "metro_staff", agreement["id"], "complete_review",
                                  outcome="terminate", summary="The work is done.")
    assert agreement["state"] == state
    return agreement


@pytest.mark.parametrize("state", ["signed", "active", "under_review", "reviewed", "suspended"])
async def test_terminate_from_each_allowed_state(world: World, state: str) -> None:
    agreement = await _to_state(world, state)
    problem(await world.fire("metro_staff", agreement["id"], "terminate"), 422, "Give a reason")
    ended = await fire_ok(world, "aspac_staff", agreement["id"], "terminate",
                          reason="Both parties agreed to end it.")
    assert ended["state"] == "terminated"
    assert ended["final"] is True
    assert ended["available_events"] == []
    _, rows = await snapshot(world, agreement["id"])
    assert (rows[-1]["from_state"], rows[-1]["to_state"]) == (state, "terminated")


@pytest.mark.parametrize("state", ["active", "under_review", "reviewed", "suspended"])
async def test_expire_only_after_ends_on(world: World, clock: FixedClock, state: str) -> None:
    agreement = await active(world, ends_on="2027-06-30")
    if state != "active":
        agreement = await _advance(world, agreement["id"], state)
    problem(await world.fire("metro_staff", agreement["id"], "expire"), 422,
            "runs until 30 Jun 2027")
    clock.set(datetime(2027, 6, 30, 23, 0, tzinfo=UTC))
    problem(await world.fire("metro_staff", agreement["id"], "expire"), 422, "runs until 30 Jun 2027")
    clock.set(datetime(2027, 7, 1, 9, 0, tzinfo=UTC))
    expired = await fire_ok(world, "metro_staff", agreement["id"], "expire")
    assert expired["state"] == "expired"
    assert expired["final"] is True
    await snapshot(world, agreement["id"])


async def _advance(world: World, agreement_id: int, state: str) -> dict[str, Any]:
    if state == "suspended":
        return await fire_ok(world, "metro_staff", agreement_id, "suspend", reason="A pause.")
    agreement = await fire_ok(world, "metro_staff", agreement_id, "start_review")
    if state == "reviewed":
        agreement = await fire_ok(world, "metro_staff", agreement_id, "complete_review",
                                  outcome="renew", summary="Renew it.")
    return agreement


async def test_expire_without_an_end_date(world: World) -> None:
    agreement = await active(world)
    problem(await world.fire("metro_staff", agreement["id"], "expire"), 422, "no end date")


@pytest.mark.parametrize("submit", [False, True])
async def test_cancel_from_draft_and_pending_signature(world: World, submit: bool) -> None:
    agreement = await world.ready()
    if submit:
        await fire_ok(world, "metro_staff", agreement["id"], "submit_for_signature")
    cancelled = await fire_ok(world, "metro_staff", agreement["id"], "cancel",
                              comment="Superseded.")
    assert cancelled["state"] == "cancelled"
    assert cancelled["final"] is True
    await snapshot(world, agreement["id"])


async def test_cancel_is_not_allowed_once_active(world: World) -> None:
    agreement = await active(world)
    body = problem(await world.fire("metro_staff", agreement["id"], "cancel"), 409, "while the agreement is active",
                   "Possible now: Start review, Suspend, Terminate")
    assert body["state"] == "active"
    assert body["allowed_events"] == ["start_review", "suspend", "terminate", "expire"]


@pytest.mark.parametrize("final", ["cancelled", "terminated", "expired"])
async def test_final_states_allow_nothing(world: World, clock: FixedClock, final: str) -> None:
    if final == "cancelled":
        agreement = await world.ready()
        await fire_ok(world, "metro_staff", agreement["id"], "cancel")
    elif final == "terminated":
        agreement = await active(world)
        await fire_ok(world, "metro_staff", agreement["id"], "terminate", reason="Done.")
    else:
        agreement = await active(world, ends_on="2026-11-22", effective_from="2026-01-01")
        clock.set(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))
        await fire_ok(world, "metro_staff", agreement["id"], "expire")
    before, rows = await snapshot(world, agreement["id"])
    assert before["available_events"] == []
    assert before["unmet_conditions"] == {}
    for event in ALL_EVENTS:
        body = problem(await world.fire("admin", agreement["id"], event, reason="r"), 409,
                       f"while the agreement is {final}", "Possible now: none.")
        assert (body["state"], body["allowed_events"]) == (final, [])
    after, rows_after = await snapshot(world, agreement["id"])
    assert after["version"] == before["version"]
    assert rows_after == rows
    # Nothing else changes a finished agreement either.
    problem(await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/areas",
                             json={"title": "A new area"}), 409, final)
    problem(await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}",
                             json={"next_review_on": "2030-01-01"}), 409, final)


async def test_every_event_is_recorded_with_actor_and_states(world: World) -> None:
    agreement = await reviewed(world, "continue")
    await fire_ok(world, "metro_staff", agreement["id"], "continue")
    _, rows = await snapshot(world, agreement["id"])
    transitions = [(r["event"], r["from_state"], r["to_state"]) for r in rows
                   if r["kind"] == "transition"]
    assert transitions == [
        ("submit_for_signature", "draft", "pending_signature"),
        ("sign", "pending_signature", "pending_signature"),
        ("sign", "pending_signature", "signed"),
        ("activate", "signed", "active"),
        ("start_review", "active", "under_review"),
        ("complete_review", "under_review", "reviewed"),
        ("continue", "reviewed", "active"),
    ]
    assert {r["actor"] for r in rows if r["event"] == "sign"} == {
        world.metro_staff.name, world.aspac_staff.name}


# --- city_to_city --------------------------------------------------------------------------

async def test_city_to_city_end_to_end(world: World) -> None:
    created = await world.draft(
        workflow="city_to_city", title="Tehran – Jakarta city-to-city cooperation",
        effective_from=PAST_START,
        parties=[{"organisation_id": world.orgs["metropolis"]},
                 {"organisation_id": world.orgs["aspac"]},
                 {"organisation_id": world.orgs["amf"], "role": "supporter"}])
    assert created["workflow"] == {"name": "city_to_city", "version": 1}
    assert created["state"] == "draft"
    assert created["available_events"] == ["sign", "cancel"]
    agreement_id = created["id"]
    await world.name_people(agreement_id)
    problem(await world.call("amf_staff", "POST", f"/agreements/{agreement_id}/focal-points",
                             json={"person_id": world.amf_staff.id, "kind": "signatory"}),
            422, "does not sign")
    problem(await world.fire("metro_staff", agreement_id, "sign"), 422,
            "Asian Mayors Forum has not named a focal point")
    await world.ok("amf_staff", "POST", f"/agreements/{agreement_id}/focal-points",
                   json={"person_id": world.amf_staff.id, "kind": "focal_point"})

    first = await fire_ok(world, "metro_staff", agreement_id, "sign", place="Tehran")
    assert first["state"] == "draft"
    problem(await world.fire("admin", agreement_id, "sign", organisation_id=world.orgs["amf"]),
            422, "not a signing party")
    signed = await fire_ok(world, "aspac_staff", agreement_id, "sign", place="Tehran")
    assert signed["state"] == "signed"
    assert party(signed, "Asian Mayors Forum")["signature"] is None

    active_c2c = await fire_ok(world, "metro_staff", agreement_id, "activate")
    assert active_c2c["state"] == "active"
    assert active_c2c["next_review_on"] == "2027-11-01"
    await fire_ok(world, "amf_staff", agreement_id, "start_review")
    problem(await world.fire("metro_staff", agreement_id, "complete_review"), 422,
            "Give a summary of the review")
    reviewed_c2c = await fire_ok(world, "metro_staff", agreement_id, "complete_review",
                                 summary="Two exchanges done.")
    assert reviewed_c2c["state"] == "active"
    assert reviewed_c2c["next_review_on"] == "2028-11-01"
    problem(await world.fire("metro_staff", agreement_id, "close"), 422, "Give a reason")
    closed = await fire_ok(world, "metro_staff", agreement_id, "close", reason="Completed.")
    assert closed["state"] == "closed"
    assert closed["final"] is True
    problem(await world.fire("metro_staff", agreement_id, "submit_for_signature"), 422,
            "Unknown event 'submit_for_signature'", "city_to_city")
    _, rows = await snapshot(world, agreement_id)
    assert [r["to_state"] for r in rows if r["kind"] == "transition"] == [
        "draft", "signed", "active", "under_review", "active", "closed"]


async def test_city_to_city_cancel(world: World) -> None:
    created = await world.draft(workflow="city_to_city")
    cancelled = await fire_ok(world, "metro_staff", created["id"], "cancel")
    assert cancelled["state"] == "cancelled"
    assert cancelled["workflow"]["name"] == "city_to_city"

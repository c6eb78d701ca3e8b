"""Amendments: proposed on a signed agreement, signed (or approved) by every party, merged as
one `amended` history entry; refused when the agreement changed underneath; each party for itself.

Run on both databases: `ACCORD_TEST_DATABASE=postgresql pytest tests/test_amendments.py`.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from engine.amendments import lifecycle
from engine.demo.signed_copy import signed_copy
from engine.statuses import AmendmentEvent, AmendmentKind, AmendmentState, DocumentKind, HistoryKind
from tests.checks import active, problem, snapshot
from tests.support import World

SIGNERS = ("metro_staff", "aspac_staff")


def amendments(agreement_id: int) -> str:
    return f"/agreements/{agreement_id}/amendments"


async def propose(world: World, agreement_id: int, kind: str, changes: dict[str, Any],
                  who: str = "metro_staff") -> dict[str, Any]:
    response = await world.call(who, "POST", amendments(agreement_id),
                                json={"kind": kind, "reason": "Agreed at the joint meeting.", "changes": changes})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert response.headers["location"] == f"/api/v1{amendments(agreement_id)}/{body['number']}"
    return body


async def send(world: World, who: str, agreement_id: int, number: int, event: str, **fields: Any) -> Any:
    return await world.call(who, "POST", f"{amendments(agreement_id)}/{number}/events",
                            json={"event": event, **fields})


async def move(world: World, who: str, agreement_id: int, number: int, event: str, **fields: Any) -> dict[str, Any]:
    response = await send(world, who, agreement_id, number, event, **fields)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def sign_all(world: World, agreement_id: int, number: int,
                   event: str = AmendmentEvent.SIGN) -> dict[str, Any]:
    await move(world, "metro_staff", agreement_id, number, AmendmentEvent.SUBMIT)
    first = await move(world, "metro_staff", agreement_id, number, event)
    assert first["state"] == AmendmentState.PENDING_SIGNATURE
    assert [o["name"] for o in first["awaiting"]] == ["UCLG ASPAC"]
    return await move(world, "aspac_staff", agreement_id, number, event)


async def reminders(world: World, agreement_id: int, rule: str) -> set[str]:
    page = await world.ok("admin", "GET", "/reminders", params={"agreement_id": agreement_id, "limit": 200})
    return {r["due_on"] for r in page["items"] if r["rule"] == rule}


def amended_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in rows if r["kind"] == HistoryKind.AMENDED]


async def test_terms_amendment_signed_by_every_party_is_merged_and_moves_the_reminders(world: World) -> None:
    agreement = await active(world, ends_on="2028-10-31")
    agreement_id = agreement["id"]
    # Reminded 90 and 30 days before the end.
    assert await reminders(world, agreement_id, "expiry_approaching") == {"2028-08-02", "2028-10-01"}
    proposed = await propose(world, agreement_id, AmendmentKind.TERMS,
                             {"ends_on": "2030-10-31", "notice_period_days": 90})
    assert proposed["number"] == 1
    assert proposed["state"] == AmendmentState.DRAFT
    assert proposed["base_version"] == agreement["version"]
    assert {"path": "ends_on", "from": "2028-10-31", "to": "2030-10-31"} in proposed["diff"]
    assert {"path": "notice_period_days", "from": None, "to": 90} in proposed["diff"]
    # Nothing changes on the agreement until every party has signed.
    unchanged, _ = await snapshot(world, agreement_id)
    assert unchanged["ends_on"] == "2028-10-31"
    assert unchanged["amendments"] == [{"number": 1, "kind": "terms", "state": "draft"}]

    merged = await sign_all(world, agreement_id, 1)
    assert merged["state"] == AmendmentState.MERGED
    listed = await world.ok("aspac_partner", "GET", amendments(agreement_id))
    assert listed["total"] == 1
    assert listed["items"][0]["diff"] == merged["diff"]
    assert {"path": "ends_on", "from": "2028-10-31", "to": "2030-10-31"} in merged["diff"]
    assert {s["organisation_id"] for s in merged["signatures"]} == {world.orgs["metropolis"], world.orgs["aspac"]}
    after, rows = await snapshot(world, agreement_id)
    assert after["ends_on"] == "2030-10-31"
    assert after["notice_period_days"] == 90
    assert after["reference"] == f"{agreement_id}-A1"
    assert after["amendments"] == [{"number": 1, "kind": "terms", "state": "merged"}]
    assert merged["merged_version"] == after["version"] == agreement["version"] + 1
    [row] = amended_rows(rows)
    assert row["version"] == after["version"]
    assert row["data"] == {"amendment": 1, "kind": "terms"}
    assert row["diff"]["fields"]["ends_on"] == ["2028-10-31", "2030-10-31"]
    assert row["diff"]["fields"]["reference"] == [None, f"{agreement_id}-A1"]
    assert row["actor"] == world.aspac_staff.name  # the last signature merged it
    # The reminders of the old end date are gone; the new one's are due.
    assert await reminders(world, agreement_id, "expiry_approaching") == {"2030-08-02", "2030-10-01"}
    assert max(await reminders(world, agreement_id, "notice_deadline")) == "2030-08-02"  # 90 days' notice
    # A second amendment extends the reference's suffix rather than adding one.
    await propose(world, agreement_id, AmendmentKind.TERMS, {"ends_on": "2031-10-31"})
    await sign_all(world, agreement_id, 2)
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}"))["reference"] == f"{agreement_id}-A2"


async def test_administrative_amendment_approved_by_each_partys_focal_point(world: World) -> None:
    agreement = await world.signed()
    agreement_id = agreement["id"]
    focal = agreement["parties"][0]["focal_points"][0]
    proposed = await propose(world, agreement_id, AmendmentKind.ADMINISTRATIVE, {
        "title": "Collaboration agreement between Metropolis and UCLG ASPAC (2019)",
        "contacts": [{"id": focal["id"], "capacity": "Director of Institutional Relations"}]})
    assert {"path": f"contact/{focal['id']}/capacity", "from": None,
            "to": "Director of Institutional Relations"} in proposed["diff"]
    await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SUBMIT)
    # The signatory of a party is not its focal point: they sign, they do not approve.
    problem(await send(world, "metro_signatory", agreement_id, 1, AmendmentEvent.APPROVE), 403, "focal point")
    merged = await sign_all_after_submit(world, agreement_id, 1, AmendmentEvent.APPROVE)
    assert merged["state"] == AmendmentState.MERGED
    assert {s["assent"] for s in merged["signatures"]} == {"approved"}
    after, rows = await snapshot(world, agreement_id)
    assert after["title"].endswith("(2019)")
    assert after["parties"][0]["focal_points"][0]["capacity"] == "Director of Institutional Relations"
    [row] = amended_rows(rows)
    assert row["diff"]["parts"] == [{"part": "contact", "op": "changed", "id": focal["id"],
                                     "changes": {"capacity": [None, "Director of Institutional Relations"]}}]
    # Only an administrative amendment may be approved instead of signed.
    await propose(world, agreement_id, AmendmentKind.TERMS, {"ends_on": "2030-12-31"})
    await move(world, "metro_staff", agreement_id, 2, AmendmentEvent.SUBMIT)
    problem(await send(world, "metro_staff", agreement_id, 2, AmendmentEvent.APPROVE), 422, "each party signs")


async def sign_all_after_submit(world: World, agreement_id: int, number: int, event: str) -> dict[str, Any]:
    await move(world, "metro_staff", agreement_id, number, event)
    return await move(world, "aspac_staff", agreement_id, number, event)


async def test_scope_amendment_adds_renames_and_removes_areas_and_deliverables(world: World) -> None:
    agreement = await world.signed(areas=[{"title": "Capacity building"}, {"title": "Gender mainstreaming"}])
    agreement_id = agreement["id"]
    first, second = agreement["areas"]
    report = await world.ok("metro_staff", "POST", f"/agreements/{agreement_id}/areas/{second['id']}/deliverables",
                            json={"title": "Joint report", "due_on": "2027-06-30"})
    changes = {"areas": {"add": [{"title": "Urban resilience"}], "change": [{"id": first["id"],
                                                                              "title": "Capacity building for cities"}],
                         "remove": [second["id"]]},
               "deliverables": {"add": [{"area_id": first["id"], "title": "Peer learning exchange",
                                         "due_on": "2027-09-30"}]}}
    proposed = await propose(world, agreement_id, AmendmentKind.SCOPE, changes)
    paths = [d["path"] for d in proposed["diff"]]
    assert f"area/{first['id']}/title" in paths
    assert f"area/{second['id']}" in paths
    assert f"deliverable/{report['id']}" in paths
    assert paths.count("area/new") == 1
    assert paths.count("deliverable/new") == 1
    await sign_all(world, agreement_id, 1)
    after, rows = await snapshot(world, agreement_id)
    assert [(a["title"], a["position"]) for a in after["areas"]] == [
        ("Capacity building for cities", 0), ("Urban resilience", 1)]
    assert [d["title"] for d in after["areas"][0]["deliverables"]] == ["Peer learning exchange"]
    [row] = amended_rows(rows)
    ops = sorted((p["part"], p["op"]) for p in row["diff"]["parts"])
    assert ops == [("area", "added"), ("area", "changed"), ("area", "removed"),
                   ("deliverable", "added"), ("deliverable", "removed")]


async def test_parties_amendment_an_organisation_joins_by_accession(world: World) -> None:
    agreement = await active(world)
    agreement_id = agreement["id"]
    # Until it joins, the Asian Mayors Forum does not see the agreement.
    problem(await world.call("amf_staff", "GET", f"/agreements/{agreement_id}"), 404)
    proposed = await propose(world, agreement_id, AmendmentKind.PARTIES,
                             {"parties": {"join": [{"organisation_id": world.orgs["amf"]}]}})
    assert proposed["diff"][0]["path"] == "party/new"
    assert proposed["diff"][0]["to"]["organisation_id"] == world.orgs["amf"]
    await sign_all(world, agreement_id, 1)
    joined = await world.ok("amf_staff", "GET", f"/agreements/{agreement_id}")
    assert [p["organisation"]["name"] for p in joined["parties"]] == ["Metropolis", "UCLG ASPAC", "Asian Mayors Forum"]
    assert joined["state"] == "active"
    _, rows = await snapshot(world, agreement_id)
    [row] = amended_rows(rows)
    [joining] = row["diff"]["parts"]
    assert (joining["part"], joining["op"]) == ("party", "added")
    assert joining["values"]["organisation_id"] == world.orgs["amf"]
    # A party leaving is one too; the agreement keeps at least two signing parties.
    response = await world.call("metro_staff", "POST", amendments(agreement_id), json={
        "kind": AmendmentKind.PARTIES, "reason": "Withdrawal.",
        "changes": {"parties": {"leave": [world.orgs["amf"], world.orgs["aspac"]]}}})
    problem(response, 422, "at least two")
    await propose(world, agreement_id, AmendmentKind.PARTIES, {"parties": {"leave": [world.orgs["amf"]]}},
                  who="amf_staff")
    await move(world, "amf_staff", agreement_id, 2, AmendmentEvent.SUBMIT)
    for who in SIGNERS:  # Metropolis and UCLG ASPAC sign; the forum, a party now, too
        await move(world, who, agreement_id, 2, AmendmentEvent.SIGN)
    awaiting = await world.ok("amf_staff", "GET", f"{amendments(agreement_id)}/2")
    assert [o["name"] for o in awaiting["awaiting"]] == ["Asian Mayors Forum"]
    left = await move(world, "amf_staff", agreement_id, 2, AmendmentEvent.SIGN)
    assert left["state"] == AmendmentState.MERGED
    problem(await world.call("amf_staff", "GET", f"/agreements/{agreement_id}"), 404)
    after = await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}")
    assert [p["organisation"]["name"] for p in after["parties"]] == ["Metropolis", "UCLG ASPAC"]
    assert after["reference"] == f"{agreement_id}-A2"


async def test_each_kind_changes_only_its_own_fields(world: World) -> None:
    agreement = await world.signed()
    response = await world.call("metro_staff", "POST", amendments(agreement["id"]), json={
        "kind": AmendmentKind.TERMS, "reason": "Mixed up.",
        "changes": {"ends_on": "2030-01-01", "title": "New title", "areas": {"add": [{"title": "More"}]}}})
    body = problem(response, 422, "title", "areas", "administrative", "scope")
    assert body["errors"][0]["field"] == "changes.title"
    response = await world.call("metro_staff", "POST", amendments(agreement["id"]), json={
        "kind": AmendmentKind.TERMS, "reason": "Unknown.", "changes": {"budget": 1000}})
    assert response.status_code == 422
    assert "budget" in response.text
    response = await world.call("metro_staff", "POST", amendments(agreement["id"]), json={
        "kind": AmendmentKind.TERMS, "reason": "Nothing.", "changes": {"effective_from": agreement["effective_from"]}})
    problem(response, 422, "change nothing")


async def test_only_a_signed_running_agreement_is_amended_and_only_by_those_who_see_it(world: World) -> None:
    draft = await world.ready()
    response = await world.call("metro_staff", "POST", amendments(draft["id"]), json={
        "kind": AmendmentKind.TERMS, "reason": "Too early.", "changes": {"ends_on": "2030-01-01"}})
    problem(response, 409, "draft", "edit its terms directly")
    agreement = await world.signed()
    # Signed, its terms are no longer edited: the refusal says how to change them.
    problem(await world.call("metro_staff", "PATCH", f"/agreements/{agreement['id']}", json={"ends_on": "2030-01-01"}),
            409, "propose an amendment, which every party signs")
    await propose(world, agreement["id"], AmendmentKind.TERMS, {"ends_on": "2030-01-01"})
    for method, path, body in (("POST", amendments(agreement["id"]), {"kind": "terms", "reason": "x",
                                                                      "changes": {"ends_on": "2030-01-01"}}),
                               ("GET", amendments(agreement["id"]), None),
                               ("GET", f"{amendments(agreement['id'])}/1", None),
                               ("POST", f"{amendments(agreement['id'])}/1/events", {"event": "submit"})):
        problem(await world.call("amf_staff", method, path, json=body), 404)
    problem(await world.call("metro_staff", "GET", f"{amendments(agreement['id'])}/9"), 404, "no amendment 9")
    listed = await world.ok("aspac_partner", "GET", amendments(agreement["id"]))
    assert listed["total"] == 1
    assert listed["items"][0]["available_events"] == []
    # Partners read amendments; they do not move them.
    problem(await send(world, "aspac_partner", agreement["id"], 1, AmendmentEvent.SUBMIT), 403)


async def test_a_party_signs_only_for_itself(world: World) -> None:
    agreement = await world.signed()
    agreement_id = agreement["id"]
    await propose(world, agreement_id, AmendmentKind.TERMS, {"ends_on": "2030-01-01"})
    problem(await send(world, "metro_staff", agreement_id, 1, AmendmentEvent.SIGN), 409, "draft", "submit")
    await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SUBMIT)
    problem(await send(world, "metro_staff", agreement_id, 1, AmendmentEvent.SIGN,
                       organisation_id=world.orgs["aspac"]), 403, "only for your own organisation")
    signed = await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SIGN)
    assert signed["available_events"] == ["withdraw", "cancel"]  # nothing left for Metropolis to sign
    problem(await send(world, "metro_staff", agreement_id, 1, AmendmentEvent.SIGN), 409, "already signed")
    # An administrator signs for a party, on its behalf.
    merged = await move(world, "admin", agreement_id, 1, AmendmentEvent.SIGN, organisation_id=world.orgs["aspac"])
    assert merged["state"] == AmendmentState.MERGED


async def test_merge_refused_after_a_conflicting_edit_goes_back_to_draft_with_a_fresh_diff(world: World) -> None:
    agreement = await active(world)
    agreement_id = agreement["id"]
    await propose(world, agreement_id, AmendmentKind.TERMS, {"next_review_on": "2027-12-01", "ends_on": "2030-12-31"})
    await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SUBMIT)
    await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SIGN)
    # Meanwhile the next review is moved on the agreement itself.
    await world.ok("aspac_staff", "PATCH", f"/agreements/{agreement_id}", json={"next_review_on": "2027-09-01"})
    before, _ = await snapshot(world, agreement_id)
    body = problem(await send(world, "aspac_staff", agreement_id, 1, AmendmentEvent.SIGN), 409,
                   "next_review_on", "back in draft")
    assert body["fields"] == ["next_review_on"]
    reopened = body["amendment"]
    assert reopened["state"] == AmendmentState.DRAFT
    assert reopened["signatures"] == []
    assert reopened["base_version"] == before["version"]
    assert {"path": "next_review_on", "from": "2027-09-01", "to": "2027-12-01"} in reopened["diff"]
    # The refusal is kept: the agreement is unchanged and the amendment is in draft.
    after, rows = await snapshot(world, agreement_id)
    assert after["version"] == before["version"]
    assert after["next_review_on"] == "2027-09-01"
    assert not amended_rows(rows)
    again = await world.ok("metro_staff", "GET", f"{amendments(agreement_id)}/1")
    assert again["state"] == AmendmentState.DRAFT
    assert again["diff"] == reopened["diff"]
    # Signed again against the fresh diff, it merges.
    merged = await sign_all(world, agreement_id, 1)
    assert merged["state"] == AmendmentState.MERGED
    assert (await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}"))["next_review_on"] == "2027-12-01"


async def test_two_parties_signing_at_once_merge_the_amendment_once(world: World) -> None:
    agreement = await active(world)
    agreement_id = agreement["id"]
    await propose(world, agreement_id, AmendmentKind.TERMS, {"ends_on": "2030-12-31"})
    await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SUBMIT)
    responses = await asyncio.gather(*(send(world, who, agreement_id, 1, AmendmentEvent.SIGN) for who in SIGNERS))
    assert {r.status_code for r in responses} <= {200, 409}, [r.text for r in responses]
    for who, response in zip(SIGNERS, responses, strict=True):
        if response.status_code == 409:  # the other signature won the race: this one is sent again
            problem(response, 409, "send again")
            await move(world, who, agreement_id, 1, AmendmentEvent.SIGN)
    final = await world.ok("metro_staff", "GET", f"{amendments(agreement_id)}/1")
    assert final["state"] == AmendmentState.MERGED
    assert len(final["signatures"]) == 2
    after, rows = await snapshot(world, agreement_id)
    assert len(amended_rows(rows)) == 1
    assert after["ends_on"] == "2030-12-31"


async def test_withdraw_clears_signatures_and_cancel_ends_the_amendment(world: World) -> None:
    agreement = await world.signed()
    agreement_id = agreement["id"]
    await propose(world, agreement_id, AmendmentKind.TERMS, {"ends_on": "2030-01-01"})
    await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SUBMIT)
    await move(world, "metro_staff", agreement_id, 1, AmendmentEvent.SIGN)
    withdrawn = await move(world, "aspac_staff", agreement_id, 1, AmendmentEvent.WITHDRAW)
    assert withdrawn["state"] == AmendmentState.DRAFT
    assert withdrawn["signatures"] == []
    cancelled = await move(world, "aspac_staff", agreement_id, 1, AmendmentEvent.CANCEL)
    assert cancelled["state"] == AmendmentState.CANCELLED
    assert cancelled["available_events"] == []
    problem(await send(world, "metro_staff", agreement_id, 1, AmendmentEvent.SUBMIT), 409, "cancelled")
    after, rows = await snapshot(world, agreement_id)
    assert after["ends_on"] is None
    assert not amended_rows(rows)
    assert after["amendments"] == [{"number": 1, "kind": "terms", "state": "cancelled"}]


async def test_an_amendments_signed_copy_is_kept_with_it_and_names_only_this_agreements_amendments(
        world: World) -> None:
    agreement = await active(world)
    other = await active(world)
    amendment = await propose(world, agreement["id"], AmendmentKind.TERMS, {"ends_on": "2031-12-31"})
    elsewhere = await propose(world, other["id"], AmendmentKind.TERMS, {"ends_on": "2031-12-31"})
    copy = signed_copy("Amendment 1", ["Signed by both parties."])

    async def upload(amendment_id: int) -> Any:
        return await world.call("metro_staff", "POST", f"/agreements/{agreement['id']}/documents",
                                files={"file": ("amendment-1.pdf", copy, "application/pdf")},
                                data={"kind": DocumentKind.AMENDMENT, "amendment_id": str(amendment_id)})

    kept = await upload(amendment["id"])
    assert kept.status_code == 201, kept.text
    assert (kept.json()["kind"], kept.json()["amendment_id"]) == (DocumentKind.AMENDMENT, amendment["id"])
    # Another agreement's amendment is not this agreement's: the field is named, nothing is kept.
    problem(await upload(elsewhere["id"]), 422, f"no amendment with id {elsewhere['id']}",
            f"{amendment['id']} (amendment 1)")
    listed = await world.ok("metro_staff", "GET", f"/agreements/{agreement['id']}/documents")
    assert [d["amendment_id"] for d in listed["items"]] == [amendment["id"]]


def test_the_amendment_lifecycle_is_its_workflow_file_and_a_broken_file_is_refused(tmp_path: Path) -> None:
    assert lifecycle.allowed(AmendmentState.DRAFT) == [AmendmentEvent.SUBMIT, AmendmentEvent.CANCEL]
    assert lifecycle.allowed(AmendmentState.PENDING_SIGNATURE) == [
        AmendmentEvent.SIGN, AmendmentEvent.APPROVE, AmendmentEvent.WITHDRAW, AmendmentEvent.CANCEL]
    assert lifecycle.allowed(AmendmentState.MERGED) == []
    shipped = lifecycle.FILE.read_text(encoding="utf-8")
    broken = tmp_path / "amendment.v1.yaml"
    broken.write_text(shipped.replace("  - {event: withdraw, from: pending_signature, to: draft}",
                                      "  - {event: withdraw, from: pending_signature, to: redraft}")
                      .replace("steps: [complete, merge, reopen]", "steps: [complete, merge]")
                      .replace("  - {event: reopen, from: signed, to: draft}\n",
                               "  - {event: reopen, from: signed, to: draft}\n  - {event: cancel, from: merged, "
                               "to: cancelled}\n"), encoding="utf-8")
    with pytest.raises(lifecycle.LifecycleFileError) as refused:
        lifecycle.read_lifecycle(broken)
    said = str(refused.value)
    for expected in ("'redraft' is not a state", "steps must be exactly", "'reopen' is neither an event nor a step",
                    "cancel leaves a final state"):
        assert expected in said, said

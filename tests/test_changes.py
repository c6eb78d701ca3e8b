"""A change is a value: the change set an action returns, written once, kept as the history's diff.

Each write of an agreement leaves a history row whose `diff` says what it changed — the fields
with their old and new values, and each part added, changed or removed — and the API's history
shows it (`GET /agreements/{id}/history`). The change set is also a value a test can make,
print and compare without a database (engine/agreements/changes.py).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from engine import schedule
from engine.agreements.changes import Draft
from engine.agreements.values import AgreementSnapshot, DeliverableValue, SignatureValue
from engine.statuses import HistoryKind
from tests.support import World

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


async def _history(world: World, agreement_id: int) -> list[dict[str, Any]]:
    page = await world.ok("admin", "GET", f"/agreements/{agreement_id}/history?limit=200")
    items: list[dict[str, Any]] = page["items"]
    return items


async def test_the_history_keeps_the_diff_of_each_change(world: World) -> None:
    agreement = await world.ready()
    agreement_id = agreement["id"]
    await world.ok("metro_staff", "PATCH", f"/agreements/{agreement_id}",
                   json={"summary": "A first summary.", "ends_on": "2029-12-31"})
    history = await _history(world, agreement_id)
    created, edit = history[0], history[-1]
    assert created["diff"]["fields"] == {"effective_from": [None, "2026-12-01"], "review_every_months": [None, 12]}
    assert [p["part"] for p in created["diff"]["parts"]] == ["party", "party", "area"]
    assert [p["values"]["organisation_id"] for p in created["diff"]["parts"][:2]] == [
        world.orgs["metropolis"], world.orgs["aspac"]]
    assert created["diff"]["parts"][2]["values"]["title"] == "Capacity building and gender mainstreaming"
    assert edit["event"] == "edit"
    assert edit["diff"] == {"fields": {"summary": [None, "A first summary."], "ends_on": [None, "2029-12-31"]}}


async def test_a_signature_is_a_part_added_and_the_state_a_field_changed(world: World) -> None:
    agreement = await world.ready()
    agreement_id = agreement["id"]
    assert (await world.fire("metro_staff", agreement_id, "submit_for_signature")).status_code == 200
    assert (await world.fire("metro_staff", agreement_id, "sign", place="Montevideo")).status_code == 200
    response = await world.fire("aspac_staff", agreement_id, "sign", place="Montevideo")
    assert response.status_code == 200, response.text
    read = response.json()
    submit, first, last = (await _history(world, agreement_id))[-3:]
    assert submit["diff"]["fields"] == {"state": ["draft", "pending_signature"], "submitted_on": [None, "2026-11-23"]}
    # the first signature: a part, the state unchanged
    assert "fields" not in first["diff"]
    [added] = first["diff"]["parts"]
    metropolis = next(p for p in read["parties"] if p["organisation"]["name"] == "Metropolis")
    assert (added["part"], added["op"]) == ("signature", "added")
    assert added["id"] > 0  # the row's own id, not the provisional one the change set had
    assert added["values"]["party_id"] == metropolis["id"]
    assert added["values"]["place"] == "Montevideo"
    # the last: the agreement is signed, on the day of its last signature, where it was signed
    assert last["diff"]["fields"] == {"state": ["pending_signature", "signed"], "signed_on": [None, "2026-11-23"],
                                      "signing_place": [None, "Montevideo"]}
    assert read["version"] == last["version"]


async def test_withdrawing_removes_every_signature_in_the_diff(world: World) -> None:
    agreement = await world.ready()
    agreement_id = agreement["id"]
    await world.fire("metro_staff", agreement_id, "submit_for_signature")
    await world.fire("metro_staff", agreement_id, "sign")
    response = await world.fire("metro_staff", agreement_id, "withdraw", comment="Terms to revise.")
    assert response.status_code == 200, response.text
    withdraw = (await _history(world, agreement_id))[-1]
    assert [(p["part"], p["op"]) for p in withdraw["diff"]["parts"]] == [("signature", "removed")]
    assert withdraw["diff"]["fields"]["state"] == ["pending_signature", "draft"]
    assert response.json()["parties"][0]["signature"] is None


async def test_a_deliverable_changed_and_a_contact_removed(world: World) -> None:
    agreement = await world.ready()
    agreement_id, area = agreement["id"], agreement["areas"][0]["id"]
    created = await world.ok("metro_staff", "POST", f"/agreements/{agreement_id}/areas/{area}/deliverables",
                             json={"title": "City profile", "due_on": "2027-03-01"})
    await world.ok("metro_staff", "PATCH", f"/deliverables/{created['id']}",
                   json={"status": "done", "progress_note": "Published."})
    read = await world.ok("metro_staff", "GET", f"/agreements/{agreement_id}")
    signatory = next(p for p in read["parties"] if p["organisation"]["name"] == "Metropolis")["signatories"][0]
    await world.ok("metro_staff", "DELETE", f"/agreements/{agreement_id}/focal-points/{signatory['id']}")
    added, updated, removed = (await _history(world, agreement_id))[-3:]
    assert added["diff"]["parts"][0]["values"] == {
        "area_id": area, "title": "City profile", "description": None, "owner_id": None, "due_on": "2027-03-01",
        "status": "planned", "progress_note": None, "evidence_url": None, "completed_on": None}
    assert updated["diff"] == {"parts": [{"part": "deliverable", "op": "changed", "id": created["id"], "changes": {
        "status": ["planned", "done"], "progress_note": [None, "Published."], "completed_on": [None, "2026-11-23"]}}]}
    assert removed["diff"]["parts"] == [{"part": "contact", "op": "removed", "id": signatory["id"], "values": {
        "party_id": signatory_party(read, signatory["id"]), "person_id": world.metro_signatory.id,
        "kind": "signatory", "capacity": None}}]


def signatory_party(read: dict[str, Any], contact_id: int) -> int:
    return next(p["id"] for p in read["parties"] if any(s["id"] == contact_id for s in p["signatories"]))


async def test_a_change_that_changes_nothing_is_not_written(world: World) -> None:
    agreement = await world.draft()
    agreement_id = agreement["id"]
    again = await world.ok("metro_staff", "PATCH", f"/agreements/{agreement_id}",
                           json={"title": agreement["title"]})
    assert again["version"] == agreement["version"]
    assert len(await _history(world, agreement_id)) == 1


# --- the value itself, without a database ----------------------------------------------------------

def _snapshot(**overrides: Any) -> AgreementSnapshot:
    values: dict[str, Any] = dict(
        id=7, title="T", summary=None, background=None, workflow_name="collaboration_agreement", workflow_version=1,
        state="active", version=4, effective_from=date(2026, 1, 1), ends_on=None, term_starts_on=date(2026, 1, 1),
        review_every_months=12, next_review_on=date(2027, 1, 1), notice_period_days=None, signing_place=None,
        signed_on=date(2026, 1, 1), submitted_on=None, review_outcome=None, review_summary=None,
        predecessor_id=None, created_by_id=None, created_at=NOW, updated_at=NOW,
        deliverables=(DeliverableValue(id=3, agreement_id=7, area_id=1, title="Report", description=None,
                                       owner_id=None, due_on=date(2027, 2, 1), status="planned", progress_note=None,
                                       evidence_url=None, completed_on=None, created_at=NOW, updated_at=NOW),))
    values.update(overrides)
    return AgreementSnapshot(**values)


def test_a_draft_sees_its_own_changes_and_leaves_the_snapshot_alone() -> None:
    before = _snapshot()
    draft = Draft(before)
    draft.set("state", "suspended")
    draft.set("title", "T")  # the same value: no change
    signature = SignatureValue(id=draft.ids.next(), agreement_id=7, party_id=1, signatory_id=None,
                               signed_on=date(2026, 1, 1), place=None, recorded_by_id=None, recorded_at=NOW)
    draft.add(signature)
    assert draft.view.state == "suspended"
    assert draft.view.signatures == (signature,)
    assert (before.state, before.signatures) == ("active", ())
    change = draft.finish(HistoryKind.TRANSITION, "suspend", from_state="active", to_state="suspended")
    assert [(f.name, f.old, f.new) for f in change.fields] == [("state", "active", "suspended")]
    assert signature.id < 0  # not written yet
    assert str(change).splitlines() == ["transition suspend (active → suspended)", "  state: 'active' → 'suspended'",
                                        f"  added signature {signature.id}"]


def test_what_a_change_can_move_in_the_schedule() -> None:
    before = _snapshot()

    def moves(**fields: Any) -> tuple[bool, bool]:
        draft = Draft(before)
        draft.update(fields)
        return schedule.moves(draft.finish(HistoryKind.EDITED, "edit"))

    assert moves(title="Renamed") == (False, False)  # a title moves no timer and no reminder
    assert moves(state="suspended") == (True, True)
    assert moves(next_review_on=date(2027, 6, 1)) == (True, True)
    draft = Draft(before)
    deliverable = before.deliverables[0]
    draft.change(deliverable, replace(deliverable, progress_note="Half way."))
    assert schedule.moves(draft.finish(HistoryKind.EDITED, "deliverable_updated")) == (False, False)
    draft = Draft(before)
    draft.change(deliverable, replace(deliverable, status="done"))
    assert schedule.moves(draft.finish(HistoryKind.EDITED, "deliverable_updated")) == (False, True)


def test_the_dates_timers_and_reminders_count_from_read_only_schedule_fields() -> None:
    """`schedule.moves` skips re-deriving timers and reminders when a change touches none of
    `SCHEDULE_FIELDS`: every date a workflow may count from must read only those (a new date
    that read another field would leave its timers stale)."""
    from engine.agreements.values import AGREEMENT_COLUMNS
    from engine.workflow import rules

    base = _snapshot(ends_on=date(2028, 1, 1), notice_period_days=30, submitted_on=date(2025, 12, 1))
    others: dict[str, Any] = {"title": "Other", "summary": "S", "background": "B", "version": 9,
                              "signing_place": "Elsewhere", "signed_on": date(2025, 1, 2), "review_outcome": "renew",
                              "review_summary": "R", "predecessor_id": 3, "created_by_id": 4,
                              "created_at": datetime(2020, 1, 1, tzinfo=UTC),
                              "updated_at": datetime(2020, 1, 1, tzinfo=UTC),
                              "reference": "MoU-2019-A1"}
    assert set(others) == set(AGREEMENT_COLUMNS) - schedule.SCHEDULE_FIELDS - {"id", "workflow_name"}
    changed = replace(base, **others)
    for name, date_of in rules.DATES.items():
        assert date_of(changed) == date_of(base), name

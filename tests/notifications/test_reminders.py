"""Reminder rules: each offset once, to the right people, at their local morning; moot ones never."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

from sqlalchemy import update

from engine.clock import FixedClock
from engine.db import Database
from engine.models import Person
from tests.notifications.conftest import MakeWorker, SmtpServer
from tests.notifications.helpers import active_agreement, address, at, daily_passes, notifications, subject
from tests.support import World


async def test_review_reminders_at_30_7_0_days_once_with_two_workers(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    first, second = make_worker(smtp, owner="w1"), make_worker(smtp, owner="w2")
    agreement = await active_agreement(world, clock, first)
    assert agreement["next_review_on"] == "2027-12-01"

    # Every day from mid-October to the review date, two workers, twice a day each.
    await daily_passes([first, second], date(2027, 10, 15), date(2027, 11, 30), times=2)
    review = [m for m in smtp.messages if subject(m).startswith("Review due")]
    by_person = Counter(str(m["To"]) for m in review)
    assert len(review) == 4
    assert set(by_person.values()) == {2}
    rows = await notifications(database, rule="review_due")
    assert sorted((r.due_on, r.status) for r in rows if r.status == "sent") == [
        (date(2027, 11, 1), "sent"), (date(2027, 11, 1), "sent"),
        (date(2027, 11, 24), "sent"), (date(2027, 11, 24), "sent")]
    assert {r.person_id for r in rows} == {world.metro_staff.id, world.aspac_staff.id}
    text = review[0].get_body(("plain",))
    assert text is not None
    content = text.get_content()
    assert agreement["title"] in content
    assert "1 December 2027" in content  # the day as its English reader writes it
    assert f"Link: http://127.0.0.1:8000/agreements/{agreement['id']}" in content.splitlines()
    assert review[0].get_body(("html",)) is not None


async def test_a_state_change_cancels_pending_reminders(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    pending = await notifications(database, rule="review_due", status="pending")
    assert len(pending) == 6  # three offsets, two focal points

    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/events",
                   json={"event": "suspend", "reason": "Elections in both cities."})
    rows = await notifications(database, rule="review_due")
    assert {r.status for r in rows} == {"cancelled"}
    assert {r.note for r in rows} == {"the agreement is now suspended"}
    await daily_passes([worker], date(2027, 10, 30), date(2027, 12, 1))
    assert not [m for m in smtp.messages if subject(m).startswith("Review due")]

    # Resumed: the rows come back, and are sent when due.
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/events",
                   json={"event": "resume", "reason": "A new mandate."})
    assert len(await notifications(database, rule="review_due", status="pending")) >= 2


async def test_deliverable_due_overdue_escalation_and_done(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    # A second Metropolis focal point: the one an overdue deliverable escalates to.
    await world.ok("metro_staff", "POST", f"/agreements/{agreement['id']}/focal-points",
                   json={"person_id": world.metro_partner.id, "kind": "focal_point"})
    area = agreement["areas"][0]["id"]
    path = f"/agreements/{agreement['id']}/areas/{area}/deliverables"
    late = await world.ok("metro_staff", "POST", path, json={
        "title": "Gender mainstreaming toolkit", "owner_id": world.metro_staff.id,
        "due_on": "2027-03-01"})
    done = await world.ok("metro_staff", "POST", path, json={
        "title": "Joint training", "owner_id": world.metro_staff.id, "due_on": "2027-03-05"})

    await daily_passes([worker], date(2027, 2, 10), date(2027, 2, 25))
    await world.ok("metro_staff", "PATCH", f"/deliverables/{done['id']}", json={"status": "done"})
    await daily_passes([worker], date(2027, 2, 26), date(2027, 3, 20))

    owner = "metro_staff@metropolis.example"
    partner = "metro_partner@metropolis.example"
    due = [m for m in smtp.messages if "Gender mainstreaming toolkit" in subject(m)]
    assert Counter((address(m), subject(m).split(":")[0])
                   for m in due) == {(owner, "Deliverable due"): 3, (owner, "Deliverable overdue"): 2,
                                     (partner, "Deliverable overdue"): 1}
    escalated = next(m for m in due if partner in str(m["To"]))
    body = escalated.get_body(("plain",))
    assert body is not None
    assert "not acted on it yet" in body.get_content()
    joint = [m for m in smtp.messages if "Joint training" in subject(m)]
    assert len(joint) == 1  # the 14-day one, sent before it was done; nothing after
    cancelled = await notifications(database, subject_id=done["id"], status="cancelled")
    assert cancelled
    assert {r.note for r in cancelled} == {"the deliverable is done"}
    assert late["id"] != done["id"]


async def test_signature_pending_weekly_at_most_four_times_to_unsigned_signatories(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    worker = make_worker(smtp)
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    clock.set(at("2026-11-24T10:00"))
    response = await world.fire("metro_staff", agreement["id"], "sign")
    assert response.status_code == 200, response.text

    await daily_passes([worker], date(2026, 11, 24), date(2027, 1, 31))
    pending = [m for m in smtp.messages if subject(m).startswith("Signature pending")]
    assert Counter(address(m) for m in pending) == {
        "aspac_signatory@aspac.example": 4}


async def test_expiry_and_notice_deadline(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    worker = make_worker(smtp)
    await active_agreement(world, clock, worker, ends_on="2027-06-30", notice_period_days=60,
                           review_every_months=None)
    await daily_passes([worker], date(2027, 3, 1), date(2027, 6, 29))
    subjects = Counter(subject(m).split(":")[0] for m in smtp.messages)
    # expiry: -90 and -30 to two focal points and two signatories; notice: -30, -7, 0 to two.
    assert subjects["Agreement ends soon"] == 8
    assert subjects["Notice deadline"] == 6


async def test_after_a_month_of_downtime_each_due_reminder_is_sent_once(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    worker = make_worker(smtp)
    agreement = await active_agreement(world, clock, worker)
    area = agreement["areas"][0]["id"]
    await world.ok("metro_staff", "POST",
                   f"/agreements/{agreement['id']}/areas/{area}/deliverables",
                   json={"title": "City profile", "owner_id": world.aspac_staff.id,
                         "due_on": "2027-11-20"})
    await daily_passes([worker], date(2027, 10, 1), date(2027, 10, 20))
    assert not smtp.messages[1:] or all("City profile" not in subject(m) for m in smtp.messages)

    # Down from 21 October to 25 November; then many passes on the same day.
    for minute in range(5):
        await worker.run_pass(at(f"2027-11-25T10:0{minute}"))
    subjects = Counter((address(m), subject(m).split(":")[0])
                       for m in smtp.messages)
    assert subjects == {
        ("metro_staff@metropolis.example", "Review due"): 1,   # the 7-day one; the 30-day superseded
        ("aspac_staff@aspac.example", "Review due"): 1,
        # +1 (+7 is not due yet); the due ones (-14 to 0), due with it, are superseded
        ("aspac_staff@aspac.example", "Deliverable overdue"): 1,
    }
    superseded = await notifications(database, note="superseded")
    assert {r.rule for r in superseded} == {"review_due", "deliverable_due"}
    assert {r.offset_days for r in superseded if r.rule == "deliverable_due"} == {-14, -3, 0}


async def test_time_zones_tehran_and_barcelona_get_mail_at_their_local_morning(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer,
        database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(update(Person).where(Person.id == world.aspac_staff.id)  # type: ignore[arg-type]
                              .values(timezone="Asia/Tehran"))
    worker = make_worker(smtp)
    await active_agreement(world, clock, worker)  # Metropolis is in Europe/Madrid (Barcelona)
    review_day = date(2027, 12, 1) - timedelta(days=30)

    def review_mails() -> set[str]:
        return {address(m) for m in smtp.messages
                if subject(m).startswith("Review due")}

    await worker.run_pass(at(f"{review_day}T05:29"))
    assert review_mails() == set()
    await worker.run_pass(at(f"{review_day}T05:30"))  # 09:00 in Tehran (UTC+03:30)
    assert review_mails() == {"aspac_staff@aspac.example"}
    await worker.run_pass(at(f"{review_day}T07:59"))
    assert review_mails() == {"aspac_staff@aspac.example"}
    await worker.run_pass(at(f"{review_day}T08:00"))  # 09:00 in Barcelona (UTC+01:00)
    assert review_mails() == {"aspac_staff@aspac.example", "metro_staff@metropolis.example"}

"""What a worker pass counts on /metrics: claims, sends, failures, dead letters, lost leases, timers.

Real passes against a real SMTP server and a real webhook receiver; the counters are read from
the app's /metrics. Counters are process-wide, so each test compares them before and after.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from email.utils import format_datetime
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from engine.clock import FixedClock
from engine.db import Database
from engine.schedule import Timer
from tests.notifications.conftest import HeldSmtpServer, MakeWorker, Receiver, SmtpServer
from tests.notifications.helpers import at, notifications, until
from tests.support import World

SECRET = "s3cret-for-the-receiver"
DUE = at("2026-11-30T10:00")  # signature pending for a week: a reminder to each signatory

COUNTERS = [("accord_reminders_due_total", "channel"), ("accord_reminders_sent_total", "channel"),
            ("accord_reminders_failed_total", "channel"), ("accord_reminders_dead_total", "channel"),
            ("accord_claim_duration_seconds_count", "kind"), ("accord_lease_lost_total", "kind"),
            ("accord_timers_total", "outcome")]
VALUES = {"channel": ("email", "webhook"), "kind": ("timer", "notification", "webhook"),
          "outcome": ("fired", "retrying", "failed")}


async def _counters(world: World) -> dict[tuple[str, str], float]:
    """Every counter above, by its label's value, from one read of /metrics (0 if not counted yet)."""
    response = await world.client.get("/metrics")
    assert response.status_code == 200
    samples = {(s.name, value): s.value for family in text_string_to_metric_families(response.text)
               for s in family.samples for value in s.labels.values()}
    return {(name, value): float(samples.get((name, value), 0.0))
            for name, label in COUNTERS for value in VALUES[label]}


async def _moved(world: World, before: dict[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """The counters that moved since `before`, by how much."""
    after = await _counters(world)
    return {key: after[key] - before[key] for key in after if after[key] != before[key]}


class RefusingSmtpServer(SmtpServer):
    """Refuses mail to the addresses that start with `refused` (550), as a mail server does for a
    mailbox it does not have; accepts the rest."""

    refused = "\0"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if address.startswith(self.refused):
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def _out_for_signature(world: World) -> dict[str, Any]:
    agreement = await world.ready()
    response = await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    assert response.status_code == 200, response.text
    return agreement


async def test_a_pass_counts_each_claim_send_failure_and_dead_letter(
        world: World, make_worker: MakeWorker, receiver: Receiver, database: Database) -> None:
    await world.ok("admin", "POST", "/webhooks", json={
        "url": receiver.url, "secret": SECRET, "events": ["agreement.state_changed"]})
    await _out_for_signature(world)  # one state change to post; at DUE, a reminder to each signatory
    server = RefusingSmtpServer()
    server.refused = "aspac_signatory@"
    server.start()
    try:
        worker = make_worker(server, max_attempts=2)
        before = await _counters(world)
        first = await worker.run_pass(DUE)
        after_first = await _moved(world, before)
        second = await worker.run_pass(DUE + worker.config.backoff(1))  # the refused mail, again
        after_second = await _moved(world, before)
    finally:
        server.stop()

    assert (first.notifications_sent, first.notifications_retrying, first.webhooks_delivered) == (1, 1, 1)
    assert after_first == {
        ("accord_reminders_due_total", "email"): 2, ("accord_reminders_sent_total", "email"): 1,
        ("accord_reminders_failed_total", "email"): 1,
        ("accord_reminders_due_total", "webhook"): 1, ("accord_reminders_sent_total", "webhook"): 1,
        # one claim transaction per channel: each found fewer rows than a batch
        ("accord_claim_duration_seconds_count", "notification"): 1,
        ("accord_claim_duration_seconds_count", "webhook"): 1}
    # The refused mail's second attempt was its last (max_attempts=2): dead, not retried.
    assert (second.notifications_sent, second.notifications_dead) == (0, 1)
    assert after_second == {
        **after_first,
        ("accord_reminders_due_total", "email"): 3, ("accord_reminders_dead_total", "email"): 1,
        ("accord_claim_duration_seconds_count", "notification"): 2,
        ("accord_claim_duration_seconds_count", "webhook"): 2}
    assert [m["To"].addresses[0].username for m in server.messages] == ["metro_signatory"]
    claimed = [r for r in await notifications(database, rule="signature_pending") if r.attempts]
    assert sorted((r.status, r.attempts) for r in claimed) == [("dead", 2), ("sent", 1)]


async def test_a_webhook_failure_is_counted_then_its_delivery(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, receiver: Receiver) -> None:
    await world.ok("admin", "POST", "/webhooks", json={
        "url": receiver.url, "secret": SECRET, "events": ["agreement.state_changed"]})
    await _out_for_signature(world)
    worker = make_worker(smtp)
    receiver.status = 503
    before = await _counters(world)
    assert (await worker.run_pass(at("2026-11-23T10:00"))).webhooks_retrying == 1
    assert await _moved(world, before) == {
        ("accord_reminders_due_total", "webhook"): 1, ("accord_reminders_failed_total", "webhook"): 1,
        ("accord_claim_duration_seconds_count", "notification"): 1,
        ("accord_claim_duration_seconds_count", "webhook"): 1}
    receiver.status = 200
    assert (await worker.run_pass(at("2026-11-23T10:01"))).webhooks_delivered == 1
    moved = await _moved(world, before)
    assert (moved[("accord_reminders_due_total", "webhook")], moved[("accord_reminders_sent_total", "webhook")],
            moved[("accord_reminders_failed_total", "webhook")]) == (2, 1, 1)


async def test_a_worker_whose_lease_was_taken_over_counts_the_outcome_it_could_not_write(
        world: World, make_worker: MakeWorker) -> None:
    await _out_for_signature(world)
    server = HeldSmtpServer()
    server.start()
    try:
        slow = make_worker(server, owner="slow", send_concurrency=1)
        late = make_worker(server, owner="late")
        server.held_date = format_datetime(DUE)
        before = await _counters(world)
        passing = asyncio.create_task(slow.run_pass(DUE))
        await until(lambda: server.holding == 1)  # the slow worker's first mail hangs
        # Past the slow worker's lease, another worker claims both rows and sends them.
        assert (await late.run_pass(DUE + slow.config.lease)).notifications_sent == 2
        server.release.set()
        report = await passing
    finally:
        server.stop()
    # The slow worker's mail went through, but its row was the late worker's by then.
    assert (report.mails_sent, report.notifications_sent) == (1, 0)
    moved = await _moved(world, before)
    assert moved[("accord_lease_lost_total", "notification")] == 1
    assert moved[("accord_reminders_due_total", "email")] == 4  # 2 claimed by each worker
    assert moved[("accord_reminders_sent_total", "email")] == 2  # written by the late worker only


async def test_a_webhook_delivery_taken_over_counts_a_lost_lease(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, receiver: Receiver) -> None:
    await world.ok("admin", "POST", "/webhooks", json={
        "url": receiver.url, "secret": SECRET, "events": ["agreement.state_changed"]})
    await _out_for_signature(world)
    slow, late = make_worker(smtp, owner="slow"), make_worker(smtp, owner="late")
    receiver.release = asyncio.Event()
    now = at("2026-11-23T10:00")
    before = await _counters(world)
    passing = asyncio.create_task(slow.run_pass(now))
    await until(lambda: receiver.holding == 1)  # the slow worker's POST waits for its answer
    assert (await late.run_pass(now + slow.config.lease)).webhooks_delivered == 1
    receiver.release.set()
    report = await passing
    assert report.webhooks_delivered == 0
    assert len(receiver.requests) == 2
    moved = await _moved(world, before)
    assert moved[("accord_lease_lost_total", "webhook")] == 1
    assert (moved[("accord_reminders_due_total", "webhook")], moved[("accord_reminders_sent_total", "webhook")]) \
        == (2, 1)


async def test_timers_are_counted_by_outcome(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, database: Database,
        clock: FixedClock) -> None:
    agreement = await world.signed(effective_from="2026-12-01")
    worker = make_worker(smtp)
    before = await _counters(world)
    assert (await worker.run_pass(at("2026-12-01T01:00"))).timers_fired == 1  # activated
    moved = await _moved(world, before)
    assert (moved[("accord_timers_total", "fired")], moved[("accord_claim_duration_seconds_count", "timer")]) \
        == (1, 1)
    assert ("accord_timers_total", "failed") not in moved

    # A stale timer: 'expire' due, though the agreement has no end date. Its guard fails.
    async with database.transaction() as session:
        session.add(Timer(agreement_id=agreement["id"], event="expire", due_on=date(2026, 12, 2),
                          created_at=clock.now(), updated_at=clock.now()))
    before = await _counters(world)
    report = await worker.run_pass(at("2026-12-02T10:00"))
    assert (report.timers_failed, report.notifications_sent) == (1, 2)  # the focal points alerted
    moved = await _moved(world, before)
    assert moved == {("accord_timers_total", "failed"): 1,
                     ("accord_reminders_due_total", "email"): 2, ("accord_reminders_sent_total", "email"): 2,
                     ("accord_claim_duration_seconds_count", "notification"): 1,
                     ("accord_claim_duration_seconds_count", "webhook"): 1}
    assert (await worker.run_pass(at("2026-12-02T10:00") + timedelta(days=1))).timers_failed == 0

"""Delivery under failure: receivers and mail servers down, a 410, a worker that dies mid-send."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import timedelta

from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.schedule import WebhookDelivery
from tests.notifications.conftest import MakeWorker, Receiver, SmtpServer
from tests.notifications.helpers import at, notifications, subject
from tests.support import World

SECRET = "s3cret-for-the-receiver"


async def _subscribe(world: World, receiver: Receiver, *events: str) -> int:
    created = await world.ok("admin", "POST", "/webhooks", json={
        "url": receiver.url, "secret": SECRET,
        "events": list(events) or ["agreement.state_changed", "agreement.signed"]})
    assert created["active"] is True
    assert "secret" not in created
    webhook_id: int = created["id"]
    return webhook_id


async def test_receiver_down_then_up_gets_each_delivery_once_with_a_stable_id_and_signature(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, receiver_down: Receiver) -> None:
    webhook_id = await _subscribe(world, receiver_down)
    agreement = await world.signed()  # submitted (state change), then signed (state change + signed)
    worker = make_worker(smtp)

    report = await worker.run_pass(at("2026-11-23T10:00"))
    assert report.webhooks_retrying == 3
    log = await world.ok("admin", "GET", f"/webhooks/{webhook_id}/deliveries")
    assert {d["status"] for d in log["items"]} == {"pending"}
    assert all(d["attempts"] == 1 and "ConnectError" in d["last_error"] for d in log["items"])

    await receiver_down.start()
    report = await worker.run_pass(at("2026-11-23T10:00:10"))  # still backing off
    assert report.webhooks_delivered == 0
    report = await worker.run_pass(at("2026-11-23T10:00:31"))
    assert report.webhooks_delivered == 3
    await worker.run_pass(at("2026-11-23T11:00"))

    ids = [d["id"] for d in log["items"]]
    got = receiver_down.requests
    assert sorted(r.headers["x-accord-delivery"] for r in got) == sorted(ids)
    for request in got:
        expected = "sha256=" + hmac.new(SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert request.headers["x-accord-signature"] == expected
        body = json.loads(request.body)
        assert body["id"] == request.headers["x-accord-delivery"]
        assert body["agreement"]["id"] == agreement["id"]
    events = sorted(json.loads(r.body)["event"] for r in got)
    assert events == ["agreement.signed", "agreement.state_changed", "agreement.state_changed"]
    log = await world.ok("admin", "GET", f"/webhooks/{webhook_id}/deliveries")
    assert {(d["status"], d["attempts"], d["response_status"]) for d in log["items"]} == {
        ("sent", 2, 200)}


async def test_a_410_disables_the_subscription(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, receiver: Receiver) -> None:
    webhook_id = await _subscribe(world, receiver)
    receiver.status = 410
    await world.signed()
    report = await make_worker(smtp).run_pass(at("2026-11-23T10:00"))
    assert report.webhooks_cancelled == 3  # the first answer disabled it; the others were dropped
    assert len(receiver.requests) == 1
    listed = await world.ok("admin", "GET", "/webhooks")
    subscription = next(w for w in listed["items"] if w["id"] == webhook_id)
    assert subscription["active"] is False
    assert "410" in subscription["disabled_reason"]
    await world.signed()  # nothing more is enqueued for a disabled subscription
    log = await world.ok("admin", "GET", f"/webhooks/{webhook_id}/deliveries")
    assert log["total"] == 3


async def test_smtp_down_then_retried_then_delivered(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp_down: SmtpServer,
        database: Database) -> None:
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    worker = make_worker(smtp_down)
    due = at("2026-11-30T10:00")  # signature pending, 7 days after submission

    report = await worker.run_pass(due)
    assert report.notifications_retrying == 2
    rows = await notifications(database, rule="signature_pending", status="pending")
    first = [r for r in rows if r.attempts == 1]
    assert len(first) == 2
    assert all("Connect" in (r.last_error or "") or "refused" in (r.last_error or "") for r in first)
    assert all(r.next_attempt_at == due + timedelta(seconds=30) for r in first)

    smtp_down.start()
    assert (await worker.run_pass(due + timedelta(seconds=10))).notifications_sent == 0
    assert (await worker.run_pass(due + timedelta(seconds=30))).notifications_sent == 2
    assert (await worker.run_pass(due + timedelta(minutes=5))).notifications_sent == 0
    assert len(smtp_down.messages) == 2
    sent = await notifications(database, rule="signature_pending", status="sent")
    assert {r.attempts for r in sent} == {2}


async def test_a_worker_killed_between_claim_and_send_leaves_it_to_another_after_the_lease(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, database: Database) -> None:
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    due = at("2026-11-30T10:00")
    doomed, survivor = make_worker(smtp, owner="doomed"), make_worker(smtp, owner="survivor")

    # The doomed worker claims, then dies before sending anything.
    async with doomed.database.transaction() as session:
        claimed = await doomed.mail.claim(session, due)
    assert len(claimed) == 2

    assert (await survivor.run_pass(due + timedelta(minutes=1))).notifications_sent == 0
    report = await survivor.run_pass(due + doomed.config.lease)
    assert report.notifications_sent == 2
    assert len(smtp.messages) == 2
    rows = await notifications(database, rule="signature_pending", status="sent")
    assert {(r.attempts, r.lease_owner) for r in rows} == {(2, None)}


async def test_dead_after_bounded_attempts_visible_and_retryable_by_an_admin(
        world: World, make_worker: MakeWorker, smtp_down: SmtpServer, database: Database) -> None:
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    worker = make_worker(smtp_down, max_attempts=2)
    due = at("2026-11-30T10:00")
    await worker.run_pass(due)
    report = await worker.run_pass(due + timedelta(minutes=1))
    assert report.notifications_dead == 2

    dead = await world.ok("admin", "GET", "/notifications", params={"status": "dead"})
    assert dead["total"] == 2
    assert all(n["attempts"] == 2 and n["last_error"] for n in dead["items"])
    # Scoped like agreements: AMF is no party to this agreement, so it sees none of them.
    assert (await world.ok("amf_staff", "GET", "/notifications"))["total"] == 0
    assert (await world.ok("aspac_partner", "GET", "/notifications",
                           params={"status": "dead"}))["total"] == 2
    target = dead["items"][0]["id"]
    refused = await world.call("metro_staff", "POST", f"/notifications/{target}/retry")
    assert refused.status_code == 403

    smtp_down.start()
    retried = await world.ok("admin", "POST", f"/notifications/{target}/retry")
    assert (retried["status"], retried["attempts"]) == ("pending", 0)
    again = await world.call("admin", "POST", f"/notifications/{target}/retry")
    assert again.status_code == 409
    # The admin retried at the API clock's time (2026-11-23); any later pass picks it up.
    report = await worker.run_pass(due + timedelta(minutes=2))
    assert report.notifications_sent == 1
    assert len(smtp_down.messages) == 1


async def test_reminders_listing_and_reminder_due_webhook(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, receiver: Receiver,
        database: Database) -> None:
    await _subscribe(world, receiver, "reminder.due")
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")

    upcoming = await world.ok("metro_staff", "GET", "/reminders",
                              params={"agreement_id": agreement["id"]})
    assert upcoming["total"] == 8  # 4 weekly reminders to each party's signatory
    assert [r["due_on"] for r in upcoming["items"][:2]] == ["2026-11-30", "2026-11-30"]
    mine = await world.ok("metro_staff", "GET", "/reminders",
                          params={"person_id": world.aspac_signatory.id, "before": "2026-12-10"})
    assert [r["due_on"] for r in mine["items"]] == ["2026-11-30", "2026-12-07"]
    assert (await world.ok("amf_staff", "GET", "/reminders"))["total"] == 0

    await make_worker(smtp).run_pass(at("2026-11-30T10:00"))
    bodies = [json.loads(r.body) for r in receiver.requests]
    assert sorted(b["reminder"]["person_id"] for b in bodies) == sorted(
        [world.metro_signatory.id, world.aspac_signatory.id])
    assert {b["event"] for b in bodies} == {"reminder.due"}
    async with database.transaction(write=False) as session:
        deliveries = list(await session.scalars(select(WebhookDelivery)))
    assert {d.status for d in deliveries} == {"sent"}


async def test_webhook_admin_only_and_delete(world: World) -> None:
    body = {"url": "http://127.0.0.1:9/x", "secret": SECRET, "events": ["deliverable.updated"]}
    assert (await world.call("metro_staff", "POST", "/webhooks", json=body)).status_code == 403
    bad = await world.call("admin", "POST", "/webhooks", json={**body, "events": ["nope"]})
    assert bad.status_code == 422
    created = await world.ok("admin", "POST", "/webhooks", json=body)
    deleted = await world.call("admin", "DELETE", f"/webhooks/{created['id']}")
    assert deleted.status_code == 204
    missing = await world.call("admin", "GET", f"/webhooks/{created['id']}/deliveries")
    assert missing.status_code == 404


async def test_daily_digest_gathers_a_days_reminders_into_one_mail(
        world: World, clock: FixedClock, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    assert (await world.ok("metro_staff", "PUT", "/notification-preferences",
                           json={"daily_digest": True}))["daily_digest"] is True
    worker = make_worker(smtp)
    agreement = await world.ready(ends_on="2027-03-01", notice_period_days=90)
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    for who in ("metro_staff", "aspac_staff"):
        await world.fire(who, agreement["id"], "sign")
    await worker.run_pass(at("2026-12-01T01:00"))  # activated
    smtp.messages.clear()
    # 2026-12-01: the expiry (-90 days) and the notice deadline (0 days) reminders fall due.
    await worker.run_pass(at("2026-12-01T10:00"))
    mine = [m for m in smtp.messages if "metro_staff@" in str(m["To"])]
    assert [subject(m) for m in mine] == ["Accord: 2 reminders for 1 December 2026"]
    body = mine[0].get_body(("plain",))
    assert body is not None
    assert "Agreement ends soon" in body.get_content()
    assert "Notice deadline" in body.get_content()
    theirs = [m for m in smtp.messages if "aspac_staff@" in str(m["To"])]
    assert sorted(subject(m).split(":")[0] for m in theirs) == ["Agreement ends soon",
                                                                 "Notice deadline"]


async def test_four_workers_with_tiny_batches_send_each_row_exactly_once(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, database: Database) -> None:
    for _ in range(5):
        agreement = await world.ready()
        await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    workers = [make_worker(smtp, owner=f"w{i}", batch_size=1) for i in range(4)]
    for day in ("2026-11-30", "2026-12-07", "2026-12-14", "2026-12-21"):
        await asyncio.gather(*(w.run_pass(at(f"{day}T10:00")) for w in workers))
    rows = await notifications(database, rule="signature_pending")
    assert len(rows) == 40
    assert {(r.status, r.attempts) for r in rows} == {("sent", 1)}
    assert len(smtp.messages) == 40
    assert len({m["Message-ID"] for m in smtp.messages}) == 40

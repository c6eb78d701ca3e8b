"""Each mail's outcome is written the moment the SMTP server answered, and only by the lease holder."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from engine.db import Database
from engine.schedule import Notification
from engine.settings import Settings
from notifications.email import OutboxMailer
from notifications.worker import Worker
from tests.notifications.conftest import HeldSmtpServer, MakeWorker, SmtpServer
from tests.notifications.helpers import at, notifications, until
from tests.support import World


async def _claimed(database: Database) -> list[Notification]:
    """The signature-pending reminders a worker has had in hand (later ones are not due yet)."""
    return [r for r in await notifications(database, rule="signature_pending") if r.attempts]


async def _pending_signature_mails(world: World) -> datetime:
    agreement = await world.ready()
    await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    return at("2026-11-30T10:00")  # two signature-pending reminders, one per staff member


async def test_a_mail_is_recorded_sent_as_soon_as_the_smtp_server_accepts_it(
        world: World, make_worker: MakeWorker, database: Database) -> None:
    due = await _pending_signature_mails(world)
    server = HeldSmtpServer()
    server.start()
    try:
        worker = make_worker(server, send_concurrency=1)
        server.held_date = format_datetime(due)
        passing = asyncio.create_task(worker.run_pass(due))
        await until(lambda: server.holding == 1)  # the first mail is being accepted
        server.let_one_through()
        await until(lambda: len(server.messages) == 1)
        await until(lambda: server.holding == 1)  # the second mail waits at the server
        # The first mail's row is already `sent`, while the second is still leased.
        rows = await _claimed(database)
        assert sorted((r.status, r.lease_owner or "") for r in rows) == [("pending", "worker-1"), ("sent", "")]
        server.release.set()
        report = await passing
    finally:
        server.stop()
    assert report.notifications_sent == 2
    rows = await _claimed(database)
    assert {(r.status, r.lease_owner) for r in rows} == {("sent", None)}


async def test_a_worker_whose_lease_ran_out_leaves_the_outcome_to_the_new_owner(
        world: World, make_worker: MakeWorker, database: Database) -> None:
    due = await _pending_signature_mails(world)
    server = HeldSmtpServer()
    server.start()
    try:
        slow = make_worker(server, owner="slow", send_concurrency=1)
        late = make_worker(server, owner="late")
        server.held_date = format_datetime(due)
        passing = asyncio.create_task(slow.run_pass(due))
        await until(lambda: server.holding == 1)  # the slow worker's first mail hangs
        # Past the slow worker's lease, another worker claims both rows and sends them.
        taken_over = due + slow.config.lease
        assert (await late.run_pass(taken_over)).notifications_sent == 2
        server.release.set()
        report = await passing
    finally:
        server.stop()
    # The slow worker's mail went through, but the rows keep the new owner's outcome, and the
    # slow worker sent nothing more once it saw it had lost them.
    assert report.mails_sent == 1
    assert report.notifications_sent == 0
    rows = await _claimed(database)
    assert {(r.status, r.sent_at, r.attempts, r.lease_owner) for r in rows} == {
        ("sent", taken_over, 2, None)}
    assert len(server.messages) == 3
    # The copy carries the Message-ID of the first: mail systems can drop it.
    copies = Counter(str(m["Message-ID"]) for m in server.messages)
    assert sorted(copies.values()) == [1, 2]
    assert set(copies) == {f"<accord-{r.id}@accord>" for r in rows}


async def test_each_retry_of_a_mail_carries_the_same_message_id(
        world: World, make_worker: MakeWorker, database: Database) -> None:
    due = await _pending_signature_mails(world)
    first, second = SmtpServer(), SmtpServer()
    for server in (first, second):
        server.start()
    try:
        # Sent once, then (as a mail whose outcome never got written would be) sent again.
        await make_worker(first).run_pass(due)
        rows = await _claimed(database)
        async with database.transaction() as session:
            for row in rows:
                row.status = "pending"
                row.next_attempt_at = due + timedelta(minutes=10)
                session.add(row)
        await make_worker(second, owner="worker-2").run_pass(due + timedelta(minutes=10))
    finally:
        for server in (first, second):
            server.stop()
    assert sorted(str(m["Message-ID"]) for m in first.messages) == \
        sorted(str(m["Message-ID"]) for m in second.messages) == \
        sorted(f"<accord-{r.id}@accord>" for r in rows)
    assert {str(m["Date"]) for m in first.messages} != {str(m["Date"]) for m in second.messages}


def test_outcome_writes_find_their_rows_by_id_not_by_scanning_pending_ones() -> None:
    # Without statistics SQLite would plan `id IN (...) AND status = 'pending'` through the status
    # index, reading every pending reminder of every agreement for each wave of mail it records.
    import re
    import sqlite3

    from sqlalchemy import update
    from sqlalchemy.dialects import sqlite
    from sqlmodel import SQLModel, col, create_engine

    import engine.models  # noqa: F401
    from engine.schedule import Notification, status_is
    from notifications.worker._mail import MARK_SENT

    connection = sqlite3.connect(":memory:")
    SQLModel.metadata.create_all(create_engine("sqlite://", creator=lambda: connection))
    statement = (update(Notification).values(status="sent")
                 .where(col(Notification.id).in_([1, 2, 3]), status_is(col(Notification.status), "pending")))
    sql = str(statement.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    plan = " ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql))
    assert "PRIMARY KEY" in plan, plan
    # The prepared statement each wave's sent mail is recorded with, too (any values do for a plan).
    sql = str(MARK_SENT.compile(dialect=sqlite.dialect())).replace("__[POSTCOMPILE_ids]", "?, ?, ?")
    sql = re.sub(r"__\[POSTCOMPILE_\w+\]", "?", sql)
    plan = " ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, [None] * sql.count("?")))
    assert "PRIMARY KEY" in plan, plan


async def test_the_outbox_holds_one_eml_per_mail_and_a_mail_sent_again_replaces_its_own_file(
        world: World, database: Database, database_url: tuple[str, str | None], settings: Settings) -> None:
    due = await _pending_signature_mails(world)
    outbox = Path(settings.outbox_dir)
    url, search_path = database_url
    databases = [Database(url, search_path=search_path) for _ in range(2)]
    try:
        first = Worker(databases[0], settings, owner="outbox-1", mailer=OutboxMailer(outbox))
        assert (await first.run_pass(due)).notifications_sent == 2
        rows = await _claimed(database)
        names = {f"accord-{r.id}.eml" for r in rows}
        assert {p.name for p in outbox.iterdir()} == names
        for row in rows:
            data = (outbox / f"accord-{row.id}.eml").read_bytes()
            assert b"\r\n" in data
            assert b"\n" not in data.replace(b"\r\n", b"")
            message = message_from_bytes(data, policy=policy.default)
            assert isinstance(message, EmailMessage)
            assert message["Message-ID"] == f"<accord-{row.id}@accord>"
            assert message["Date"] == format_datetime(due)
            assert message.get_content_type() == "multipart/alternative"
            plain, html = message.get_body(("plain",)), message.get_body(("html",))
            assert plain is not None
            assert html is not None
            assert "Dear " in plain.get_content()
            assert "<a href=" in html.get_content()
        # As a mail whose outcome never got written would be: sent again, by another worker.
        async with database.transaction() as session:
            for row in rows:
                row.status = "pending"
                row.next_attempt_at = due + timedelta(minutes=10)
                session.add(row)
        second = Worker(databases[1], settings, owner="outbox-2", mailer=OutboxMailer(outbox))
        assert (await second.run_pass(due + timedelta(minutes=10))).notifications_sent == 2
    finally:
        for db in databases:
            await db.dispose()
    # The same files, now with the second send's Date: no copy next to them.
    assert {p.name for p in outbox.iterdir()} == names
    for name in names:
        message = message_from_bytes((outbox / name).read_bytes(), policy=policy.default)
        assert message["Date"] == format_datetime(due + timedelta(minutes=10))

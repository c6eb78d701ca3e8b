"""SMTP connections kept open for a batch: fewer sessions, the same mail, nothing stale or left open.

Every test talks to a real aiosmtpd server on loopback, which counts sessions (EHLOs), QUITs,
RSETs and the connections open at each moment (see `SmtpServer` in conftest.py)."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from engine.clock import FixedClock
from engine.db import Database
from engine.settings import Settings
from notifications.email import Mail, MailItem, SmtpMailer, render
from notifications.worker import Scheduler, Worker, WorkerConfig
from tests.notifications.conftest import HeldSmtpServer, MakeWorker, SmtpServer
from tests.notifications.helpers import address, at, notifications, until
from tests.support import World

DUE = at("2026-11-30T10:00")  # signature pending for a week: one reminder to each staff member
BACKOFF = timedelta(seconds=30)  # the first retry's wait (WorkerConfig.backoff(1))


async def _pending_signature(world: World, agreements: int = 1) -> None:
    """`agreements` agreements out for signature: 2 reminders each fall due at DUE."""
    for _ in range(agreements):
        agreement = await world.ready()
        await world.fire("metro_staff", agreement["id"], "submit_for_signature")


def _rendered(settings: Settings, count: int) -> list[Any]:
    item = MailItem(title="Agreement ends soon", action="Decide whether to renew it.",
                    agreement_title="Coopération Metropolis — ASPAC", subject_title="Année 1",
                    date_label="End date", date=date(2027, 3, 1), when_phrase="in 91 days",
                    link="https://accord.example.org/api/v1/agreements/7")
    return [render(Mail(key=f"accord-{i}", to_name="Zoë Ångström", to_address=f"zoe{i}@example.org",
                        subject="Agreement ends soon: Coopération", items=(item,)),
                   settings, DUE) for i in range(count)]


# --- the mailer on its own ------------------------------------------------------------------

async def test_a_kept_connection_carries_the_same_bytes_as_a_connection_per_mail(
        settings: Settings, smtp: SmtpServer) -> None:
    mails = _rendered(settings, 3)
    one_each = SmtpMailer(smtp.url, timeout=5)  # keep_open=0: as every mail was sent before
    for mail in mails:
        await one_each.send(mail)
    await smtp.all_closed()
    assert (smtp.sessions, smtp.quits) == (3, 3)

    kept = SmtpMailer(smtp.url, timeout=5, keep_open=2)
    for mail in mails:
        await kept.send(mail)
    assert (smtp.sessions, smtp.quits, smtp.connected) == (4, 3, 1)  # one session, still open
    await kept.close()
    await smtp.all_closed()
    assert smtp.quits == 4

    assert smtp.envelopes[3:] == smtp.envelopes[:3]
    for (sender, recipients, content), mail in zip(smtp.envelopes[3:], mails, strict=True):
        assert (sender, recipients) == (mail.sender, [mail.recipient])
        assert content.rstrip(b"\r\n") == mail.data.rstrip(b"\r\n")


async def test_an_idle_connection_the_server_closed_is_not_used_again(settings: Settings) -> None:
    server = SmtpServer(idle_timeout=0.5)
    server.start()
    try:
        mailer = SmtpMailer(server.url, timeout=5, keep_open=1)
        first, second = _rendered(settings, 2)
        await mailer.send(first)
        await server.all_closed()  # the server gave up on the idle connection
        await asyncio.sleep(0.05)  # and the client has read its end
        await mailer.send(second)  # over a fresh connection, not an error
        await mailer.close()
        await server.all_closed()
    finally:
        server.stop()
    assert len(server.messages) == 2
    assert (server.sessions, server.quits) == (2, 1)


# --- the worker -----------------------------------------------------------------------------

async def test_26_mails_in_waves_of_10_use_10_sessions_quit_when_the_pass_is_done(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, database: Database) -> None:
    await _pending_signature(world, 13)
    worker = make_worker(smtp)  # send_concurrency 10: waves of 10, 10 and 6
    report = await worker.run_pass(DUE)
    assert (report.mails_sent, report.notifications_sent) == (26, 26)
    assert len(smtp.messages) == 26
    rows = await notifications(database, rule="signature_pending", status="sent")
    assert sorted(str(m["Message-ID"]) for m in smtp.messages) == sorted(f"<accord-{r.id}@accord>" for r in rows)
    assert {str(m["Date"]) for m in smtp.messages} == {format_datetime(DUE)}
    assert smtp.sessions == 10  # not 26
    assert smtp.quits == 10
    await smtp.all_closed()

    assert (await worker.run_pass(DUE + timedelta(hours=1))).mails_sent == 0
    assert smtp.sessions == 10  # a pass with nothing to send connects to nobody


async def test_each_batch_quits_its_connections(
        world: World, make_worker: MakeWorker, smtp: SmtpServer) -> None:
    await _pending_signature(world, 3)
    worker = make_worker(smtp, batch_size=4, send_concurrency=2)
    report = await worker.run_pass(DUE)  # a batch of 4 (two waves of 2), then a batch of 2
    assert report.notifications_sent == 6
    assert (smtp.sessions, smtp.quits) == (4, 4)  # 2 for each batch, reused by its second wave
    await smtp.all_closed()


class _RefusingSmtpServer(SmtpServer):
    """Refuses, with 550 at RCPT, every mail to the address of the first mail it is sent."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: str | None = None
        self.refusing = True

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          rcpt_options: list[str]) -> str:
        if self.refusing and self.refused in (None, address):
            self.refused = address
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def test_a_refused_recipient_fails_that_mail_only_and_the_connection_is_reset_and_kept(
        world: World, make_worker: MakeWorker, database: Database) -> None:
    await _pending_signature(world, 2)  # two mails to each of two people, one after the other
    server = _RefusingSmtpServer()
    server.start()
    try:
        worker = make_worker(server, send_concurrency=1)
        report = await worker.run_pass(DUE)
        assert (report.notifications_sent, report.notifications_retrying) == (2, 2)
        # All four over one session: each refusal was followed by an RSET, then the next mail.
        assert (server.sessions, server.quits) == (1, 1)
        assert server.resets >= 2
        await server.all_closed()
        assert len(server.messages) == 2
        assert server.refused not in {address(m) for m in server.messages}
        retrying = await notifications(database, rule="signature_pending", status="pending")
        assert len([r for r in retrying if r.attempts]) == 2
        for row in (r for r in retrying if r.attempts):
            assert "SMTPRecipientsRefused" in (row.last_error or "")
            assert row.next_attempt_at == DUE + BACKOFF
            assert row.lease_owner is None

        server.refusing = False
        assert (await worker.run_pass(DUE + BACKOFF)).notifications_sent == 2
    finally:
        server.stop()
    assert len(server.messages) == 4
    assert [address(m) for m in server.messages[2:]] == [server.refused] * 2


class _DroppingSmtpServer(SmtpServer):
    """Hangs up, without an answer, at the end of the second mail of a session — once."""

    def __init__(self) -> None:
        super().__init__()
        self.dropped = False
        self._mails: dict[int, int] = {}

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        count = self._mails[id(session)] = self._mails.get(id(session), 0) + 1
        if count == 2 and not self.dropped:
            self.dropped = True
            server.transport.close()
            await asyncio.sleep(10)  # cancelled as the connection goes
        return await super().handle_DATA(server, session, envelope)


async def test_a_connection_the_server_drops_fails_its_mail_for_a_retry_and_is_not_reused(
        world: World, make_worker: MakeWorker, database: Database) -> None:
    await _pending_signature(world, 2)
    server = _DroppingSmtpServer()
    server.start()
    try:
        worker = make_worker(server, send_concurrency=1)
        report = await worker.run_pass(DUE)
        # 1st mail: session 1. 2nd: dropped with it. 3rd and 4th: a fresh session 2.
        assert (report.notifications_sent, report.notifications_retrying) == (3, 1)
        assert (server.sessions, server.quits) == (2, 1)
        await server.all_closed()
        [failed] = [r for r in await notifications(database, rule="signature_pending", status="pending")
                    if r.attempts]
        assert "SMTPServerDisconnected" in (failed.last_error or "")
        assert failed.next_attempt_at == DUE + BACKOFF

        assert (await worker.run_pass(DUE + BACKOFF)).notifications_sent == 1
        assert server.sessions == 3
    finally:
        server.stop()
    assert len(server.messages) == 4
    assert f"<accord-{failed.id}@accord>" in {str(m["Message-ID"]) for m in server.messages}


class _SlowSmtpServer(SmtpServer):
    """Takes 10 s to answer the first mail's DATA (the client gives up long before)."""

    def __init__(self) -> None:
        super().__init__()
        self.answered = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.answered += 1
        if self.answered == 1:
            await asyncio.sleep(10)  # cancelled when the client hangs up
        return await super().handle_DATA(server, session, envelope)


async def test_a_connection_that_timed_out_is_discarded_and_the_next_mail_opens_another(
        world: World, make_worker: MakeWorker, database: Database) -> None:
    await _pending_signature(world, 1)
    server = _SlowSmtpServer()
    server.start()
    try:
        worker = make_worker(server, send_concurrency=1, timeout=2)
        report = await worker.run_pass(DUE)
        await server.all_closed()
    finally:
        server.stop()
    assert (report.notifications_sent, report.notifications_retrying) == (1, 1)
    assert len(server.messages) == 1
    assert (server.sessions, server.quits) == (2, 1)  # the timed-out one was closed, not QUIT
    [failed] = [r for r in await notifications(database, rule="signature_pending", status="pending")
                if r.attempts]
    assert "Timeout" in (failed.last_error or "")
    assert failed.next_attempt_at == DUE + BACKOFF


async def test_the_server_restarting_between_two_passes_does_not_fail_the_second(
        world: World, make_worker: MakeWorker, smtp_down: SmtpServer, database: Database) -> None:
    await _pending_signature(world, 1)
    worker = make_worker(smtp_down)
    smtp_down.start()
    assert (await worker.run_pass(DUE)).notifications_sent == 2
    smtp_down.stop()
    smtp_down.start()  # the same port, a new server that knows none of the old sessions
    report = await worker.run_pass(DUE + timedelta(days=7))  # the next weekly reminders
    assert (report.notifications_sent, report.notifications_retrying) == (2, 0)
    assert len(smtp_down.messages) == 4
    await smtp_down.all_closed()


async def test_the_workers_own_mailer_keeps_a_wave_of_connections_and_the_scheduler_closes_them(
        world: World, database: Database, settings: Settings, smtp: SmtpServer) -> None:
    await _pending_signature(world, 1)
    with_smtp = settings.model_copy(update={"smtp_url": smtp.url, "scheduler_interval_seconds": 0.05})
    worker = Worker(database, with_smtp, owner="own", config=WorkerConfig(send_concurrency=1))
    assert isinstance(worker.mailer, SmtpMailer)
    assert worker.mailer.keep_open == 1
    assert (await worker.run_pass(DUE)).notifications_sent == 2
    assert (smtp.sessions, smtp.quits) == (1, 1)

    scheduler = Scheduler(with_smtp, database=database, clock=FixedClock(DUE + timedelta(days=7)))
    await scheduler.start()
    try:
        await until(lambda: len(smtp.messages) == 4)
    finally:
        await scheduler.stop()
    assert smtp.quits == smtp.sessions
    await smtp.all_closed()


async def test_a_pass_cancelled_mid_wave_leaves_no_connection_open(
        world: World, make_worker: MakeWorker, database: Database) -> None:
    await _pending_signature(world, 2)
    server = HeldSmtpServer()
    server.held_date = format_datetime(DUE)
    server.start()
    try:
        worker = make_worker(server, send_concurrency=2)
        passing = asyncio.create_task(worker.run_pass(DUE))
        await until(lambda: server.holding == 2)  # the first wave's two mails, at the server
        server.let_one_through()
        await until(lambda: len(server.messages) == 1 and server.holding == 1)
        # The server (in its own thread) has the first mail; once the worker has read its 250,
        # that connection waits idle for the next mail.
        mailer = worker.mailer
        assert isinstance(mailer, SmtpMailer)
        await until(lambda: mailer.idle == 1)
        passing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await passing
        await server.all_closed()  # the idle connection QUIT, the busy one closed
        assert (server.sessions, server.quits) == (2, 1)
    finally:
        server.release.set()
        server.stop()
    # As after a kill: the wave was sent but not recorded; its rows wait out their lease.
    rows = [r for r in await notifications(database, rule="signature_pending") if r.attempts]
    assert {(r.status, r.lease_owner) for r in rows} == {("pending", "worker-1")}

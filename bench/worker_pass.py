"""One worker pass over N agreements of which `--due` have something due, on SQLite.

    .venv/bin/python bench/worker_pass.py --agreements 100000 [--due 1000] [--db PATH]

Every agreement is active with a pending `start_review` timer and a pending review reminder,
both far in the future; of the `--due` agreements, 5 % have their timer due today (fired through
the engine, which re-derives their rows) and the rest a reminder due an hour ago (rendered and
written to the outbox as an .eml file). The pass's cost should follow the due rows, not N:
the claims read the (status, due) indexes from the front and stop at `now`. "CPU" is the
process's CPU time (both threads: the event loop and aiosqlite's), a steadier figure than the
wall clock on a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text
from sqlmodel import SQLModel

import engine.models  # noqa: F401  (registers the tables)
from engine import schedule
from engine.clock import When
from engine.db import Database
from engine.models import Agreement, Contact, Organisation, Party, Person
from engine.settings import Settings
from notifications.worker import PassReport, Worker

NOW = datetime(2027, 3, 1, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
FAR = date(2028, 3, 1)
CHUNK = 20_000


def _chunks(first: int, last: int) -> Iterator[range]:
    for start in range(first, last + 1, CHUNK):
        yield range(start, min(start + CHUNK, last + 1))


def build(path: Path, agreements: int, due: int) -> None:
    sync_engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(sync_engine)
    created = NOW - timedelta(days=400)
    due_timers = max(due // 20, 1)
    with sync_engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.execute(insert(Organisation), [
            {"id": 1, "name": "Metropolis", "timezone": "Europe/Madrid", "kind": "network", "created_at": created},
            {"id": 2, "name": "UCLG ASPAC", "timezone": "Asia/Jakarta", "kind": "network", "created_at": created}])
        connection.execute(insert(Person), [
            {"id": 1, "organisation_id": 1, "name": "Focal point, Metropolis", "email": "fp1@example.org",
             "role": "staff", "created_at": created},
            {"id": 2, "organisation_id": 2, "name": "Focal point, UCLG ASPAC", "email": "fp2@example.org",
             "role": "staff", "created_at": created}])
        for ids in _chunks(1, agreements):
            connection.execute(insert(Agreement), [{
                "id": i, "title": f"Collaboration agreement {i}", "workflow_name": "collaboration_agreement",
                "workflow_version": 1, "state": "active", "version": 1,
                "effective_from": date(2026, 1, 1), "term_starts_on": date(2026, 1, 1),
                "review_every_months": 12, "next_review_on": TODAY if i <= due_timers else FAR,
                "created_at": created, "updated_at": created} for i in ids])
            connection.execute(insert(schedule.Timer), [{
                "agreement_id": i, "event": "start_review", "due_on": TODAY if i <= due_timers else FAR,
                "status": "pending", "attempts": 0, "created_at": created, "updated_at": created} for i in ids])
            rows = []
            for i in ids:
                is_due = due_timers < i <= due
                send_at = NOW - timedelta(hours=1) if is_due else datetime(2028, 2, 23, 8, tzinfo=UTC)
                rows.append({
                    "kind": "reminder", "agreement_id": i, "subject_type": "agreement", "subject_id": i,
                    "rule": "review_due", "due_on": TODAY if is_due else date(2028, 2, 23),
                    "offset_days": -7, "person_id": 1, "send_at": send_at, "status": "pending",
                    "attempts": 0, "next_attempt_at": send_at, "created_at": created, "updated_at": created})
            connection.execute(insert(schedule.Notification), rows)
        # The agreements whose timers fire are loaded whole by the engine: give them their people.
        connection.execute(insert(Party), [{"id": 2 * i - 1 + k, "agreement_id": i, "organisation_id": k + 1,
                                            "role": "party"} for i in range(1, due_timers + 1) for k in (0, 1)])
        connection.execute(insert(Contact), [{"agreement_id": i, "party_id": 2 * i - 1 + k, "person_id": k + 1,
                                              "kind": "focal_point"} for i in range(1, due_timers + 1) for k in (0, 1)])
    sync_engine.dispose()


async def measure(path: Path, outbox: Path) -> list[tuple[str, float, Any]]:
    settings = Settings(database_url=f"sqlite+aiosqlite:///{path}", outbox_dir=str(outbox),
                        smtp_url=None, scheduler_enabled=False)
    database = Database(settings.database_url)
    results: list[tuple[str, float, Any]] = []
    try:
        worker = Worker(database, settings, owner="bench")
        when = When(now=NOW, today=TODAY)
        for label in ("pass with due rows", "next pass, nothing due"):
            report = PassReport()
            phases = []
            started, cpu_started = time.perf_counter(), time.process_time()
            phase_started = time.perf_counter()
            await worker.fire_due_timers(when, report)
            phases.append(f"timers {time.perf_counter() - phase_started:.3f} s")
            phase_started = time.perf_counter()
            await worker.send_due_notifications(NOW, report)
            phases.append(f"mail {time.perf_counter() - phase_started:.3f} s")
            phase_started = time.perf_counter()
            await worker.deliver_due_webhooks(NOW, report)
            phases.append(f"webhooks {time.perf_counter() - phase_started:.3f} s")
            summary = (f"fired {report.timers_fired} timers, sent {report.mails_sent} mails; "
                       + ", ".join(phases) + f"; CPU {time.process_time() - cpu_started:.3f} s")
            results.append((label, time.perf_counter() - started, summary))
        async with database.engine.connect() as connection:
            plan = await connection.execute(text(
                "EXPLAIN QUERY PLAN SELECT id FROM notification WHERE status = 'pending' "
                "AND next_attempt_at <= :now ORDER BY next_attempt_at, id LIMIT 500"),
                {"now": NOW.replace(tzinfo=None)})
            results.append(("claim plan", 0.0, "; ".join(str(row[-1]) for row in plan)))
    finally:
        await database.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agreements", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to build (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        path = args.db or Path(scratch) / "bench.db"
        if path.exists():
            path.unlink()
        started = time.perf_counter()
        build(path, args.agreements, args.due)
        print(f"built {args.agreements:,} agreements ({args.due:,} with something due) "
              f"in {time.perf_counter() - started:.1f} s")
        for label, seconds, detail in asyncio.run(measure(path, Path(scratch) / "outbox")):
            if label == "claim plan":
                print(f"{label}: {detail}")
            else:
                print(f"{label}: {seconds:.3f} s  ({detail})")


if __name__ == "__main__":
    main()

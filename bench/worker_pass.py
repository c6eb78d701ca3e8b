"""One worker pass over N agreements of which `--due` have something due, on SQLite or PostgreSQL.

    .venv/bin/python bench/worker_pass.py --agreements 100000 [--due 1000] [--db PATH]
    .venv/bin/python bench/worker_pass.py --agreements 1000000 \
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/test

With `--database-url` the bench creates a fresh database `accord_bench_<hex>` on that server
(the URL's own database is only used to connect), seeds it with COPY, and drops it afterwards.

Every agreement is active with a pending `start_review` timer and a pending review reminder,
both far in the future; of the `--due` agreements, 5 % have their timer due today (fired through
the engine, which re-derives their rows) and the rest a reminder due an hour ago (rendered and
written to the outbox as an .eml file). The pass's cost should follow the due rows, not N:
the claims read the (status, due) indexes from the front and stop at `now`. "CPU" is the
process's CPU time (both threads: the event loop and aiosqlite's), a steadier figure than the
wall clock on a shared machine; it is given for the pass and for each phase.

The outbox's .eml files are new files on the outbox's file system. On an ext4 without a journal
(this project's development VM) the kernel's inode allocator skips every inode deleted in the
last minute or more (`recently_deleted`), so creating a file there costs from ~20 µs up to ~0.5
ms of CPU, depending on what was deleted lately (earlier bench runs, test suites). `--outbox
/dev/shm` takes that out when comparing code; the default stays the temporary folder.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
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


def _tables(agreements: int, due: int) -> Iterator[tuple[Any, list[dict[str, Any]]]]:
    """(table, rows) in insertion order, a chunk at a time."""
    created = NOW - timedelta(days=400)
    due_timers = max(due // 20, 1)
    yield Organisation, [
        {"id": 1, "name": "Metropolis", "timezone": "Europe/Madrid", "kind": "network", "created_at": created},
        {"id": 2, "name": "UCLG ASPAC", "timezone": "Asia/Jakarta", "kind": "network", "created_at": created}]
    yield Person, [
        {"id": 1, "organisation_id": 1, "name": "Focal point, Metropolis", "email": "fp1@example.org",
         "role": "staff", "created_at": created},
        {"id": 2, "organisation_id": 2, "name": "Focal point, UCLG ASPAC", "email": "fp2@example.org",
         "role": "staff", "created_at": created}]
    for ids in _chunks(1, agreements):
        yield Agreement, [{
            "id": i, "title": f"Collaboration agreement {i}", "workflow_name": "collaboration_agreement",
            "workflow_version": 1, "state": "active", "version": 1,
            "effective_from": date(2026, 1, 1), "term_starts_on": date(2026, 1, 1),
            "review_every_months": 12, "next_review_on": TODAY if i <= due_timers else FAR,
            "created_at": created, "updated_at": created} for i in ids]
        yield schedule.Timer, [{
            "agreement_id": i, "event": "start_review", "due_on": TODAY if i <= due_timers else FAR,
            "status": "pending", "attempts": 0, "created_at": created, "updated_at": created} for i in ids]
        rows = []
        for i in ids:
            is_due = due_timers < i <= due
            send_at = NOW - timedelta(hours=1) if is_due else datetime(2028, 2, 23, 8, tzinfo=UTC)
            rows.append({
                "kind": "reminder", "agreement_id": i, "subject_type": "agreement", "subject_id": i,
                "rule": "review_due", "due_on": TODAY if is_due else date(2028, 2, 23),
                "offset_days": -7, "person_id": 1, "send_at": send_at, "status": "pending",
                "attempts": 0, "next_attempt_at": send_at, "created_at": created, "updated_at": created})
        yield schedule.Notification, rows
    # The agreements whose timers fire are loaded whole by the engine: give them their people.
    yield Party, [{"id": 2 * i - 1 + k, "agreement_id": i, "organisation_id": k + 1, "role": "party"}
                  for i in range(1, due_timers + 1) for k in (0, 1)]
    yield Contact, [{"agreement_id": i, "party_id": 2 * i - 1 + k, "person_id": k + 1, "kind": "focal_point"}
                    for i in range(1, due_timers + 1) for k in (0, 1)]


def build(path: Path, agreements: int, due: int) -> None:
    sync_engine = create_engine(f"sqlite:///{path}")
    SQLModel.metadata.create_all(sync_engine)
    with sync_engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        for table, rows in _tables(agreements, due):
            connection.execute(insert(table), rows)
    sync_engine.dispose()


def _asyncpg_dsn(url: str, database: str | None = None) -> str:
    parsed = make_url(url).set(drivername="postgresql")
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


async def build_postgresql(url: str, agreements: int, due: int) -> None:
    """Tables from the models, then COPY chunk by chunk; ANALYZE so the planner knows the sizes."""
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all)
    finally:
        await database.dispose()
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    try:
        for table, rows in _tables(agreements, due):
            columns = list(rows[0])
            await connection.copy_records_to_table(
                table.__tablename__, columns=columns,
                records=[tuple(row[c] for c in columns) for row in rows])
        for model in (Organisation, Person, Agreement, Party):  # the ids given explicitly
            table = model.__tablename__
            await connection.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


async def measure(url: str, outbox: Path) -> list[tuple[str, float, Any]]:
    settings = Settings(database_url=url, outbox_dir=str(outbox), smtp_url=None, scheduler_enabled=False)
    database = Database(settings.database_url)
    results: list[tuple[str, float, Any]] = []
    try:
        worker = Worker(database, settings, owner="bench")
        when = When(now=NOW, today=TODAY)
        for label in ("pass with due rows", "next pass, nothing due"):
            report = PassReport()
            phases = []
            started, cpu_started = time.perf_counter(), time.process_time()
            phase_calls: list[tuple[str, Any, Any]] = [
                ("timers", worker.fire_due_timers, when), ("mail", worker.send_due_notifications, NOW),
                ("webhooks", worker.deliver_due_webhooks, NOW)]
            for name, phase, as_of in phase_calls:
                phase_started, phase_cpu = time.perf_counter(), time.process_time()
                await phase(as_of, report)
                phases.append(f"{name} {time.perf_counter() - phase_started:.3f} s "
                              f"(CPU {time.process_time() - phase_cpu:.3f} s)")
            summary = (f"fired {report.timers_fired} timers, sent {report.mails_sent} mails; "
                       + ", ".join(phases) + f"; CPU {time.process_time() - cpu_started:.3f} s")
            results.append((label, time.perf_counter() - started, summary))
        async with database.engine.connect() as connection:
            claim = ("SELECT id FROM notification WHERE status = 'pending' "
                     "AND next_attempt_at <= :now ORDER BY next_attempt_at, id LIMIT 500")
            if database.is_sqlite:
                plan = await connection.execute(text("EXPLAIN QUERY PLAN " + claim),
                                                {"now": NOW.replace(tzinfo=None)})
                results.append(("claim plan", 0.0, "; ".join(str(row[-1]) for row in plan)))
            else:
                plan = await connection.execute(text("EXPLAIN " + claim), {"now": NOW})
                results.append(("claim plan", 0.0, "; ".join(str(row[0]).strip() for row in plan)))
    finally:
        await database.dispose()
    return results


def _report(results: list[tuple[str, float, Any]]) -> None:
    for label, seconds, detail in results:
        if label == "claim plan":
            print(f"{label}: {detail}")
        else:
            print(f"{label}: {seconds:.3f} s  ({detail})")


async def on_postgresql(server_url: str, agreements: int, due: int, outbox: Path) -> None:
    name = f"accord_bench_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = make_url(server_url).set(drivername="postgresql+asyncpg", database=name) \
        .render_as_string(hide_password=False)
    try:
        started = time.perf_counter()
        await build_postgresql(url, agreements, due)
        print(f"built {agreements:,} agreements ({due:,} with something due) on PostgreSQL "
              f"database {name} in {time.perf_counter() - started:.1f} s")
        _report(await measure(url, outbox))
    finally:
        admin = await asyncpg.connect(_asyncpg_dsn(server_url), timeout=30)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--agreements", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--db", type=Path, default=None, help="SQLite file to build (default: a temporary one)")
    parser.add_argument("--outbox", type=Path, default=None,
                        help="a folder to make the outbox in (default: the temporary folder); see above")
    parser.add_argument("--database-url", default=None,
                        help="a PostgreSQL server (postgresql+asyncpg://user@host:port/db): the bench "
                             "creates a fresh database there and drops it afterwards")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch, tempfile.TemporaryDirectory(dir=args.outbox) as outbox_parent:
        outbox = Path(outbox_parent) / "outbox"
        if args.database_url:
            if not args.database_url.startswith("postgresql"):
                parser.error("--database-url takes a postgresql+asyncpg:// URL; for SQLite use --db")
            asyncio.run(on_postgresql(args.database_url, args.agreements, args.due, outbox))
            return
        path = args.db or Path(scratch) / "bench.db"
        if path.exists():
            path.unlink()
        started = time.perf_counter()
        build(path, args.agreements, args.due)
        print(f"built {args.agreements:,} agreements ({args.due:,} with something due) "
              f"in {time.perf_counter() - started:.1f} s")
        _report(asyncio.run(measure(f"sqlite+aiosqlite:///{path}", outbox)))


if __name__ == "__main__":
    main()

"""Where one HTTP transition's time goes, in process: CPU per transition, SQL statements per
transition, and (with --profile) a pyinstrument profile of the whole request.

    .venv/bin/python bench/profile_transition.py [--transitions 400] [--database sqlite|postgresql]
        [--app accord|floor] [--statements] [--profile] [--cprofile tottime|cumulative]

A fresh database (a SQLite file, or a database `accord_bench_<hex>` on the PostgreSQL of
bench/http_transitions.py, dropped at the end), migrated; one active agreement seeded through the API as
bench/http_transitions.py does; then `suspend`, `resume`, ... fired one after another over
`httpx.ASGITransport` (no network, no concurrency), so the figures are the app's own cost:
what bench/http_transitions.py divides into the server's throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.http_transitions import accord_cli, fresh_database, seed  # noqa: E402


class Asgi:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def request(self, method: str, path: str, token: str | None = None,
                      body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await self.client.request(method, path, json=body, headers=headers)
        return answer.status_code, answer.content


async def run(args: argparse.Namespace, env: dict[str, str]) -> None:
    os.environ.update(env)
    from engine.settings import Settings

    settings = Settings()
    if args.app == "floor":
        from bench.floor_app import create_app as floor

        app: Any = floor()
    else:
        from api.app import create_app

        app = create_app(settings)
    from api.app import create_app as create_accord

    seeder = create_accord(settings)
    statements: Counter[str] = Counter()
    admin = env["ACCORD_BENCH_ADMIN"]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=seeder), base_url="http://bench") as c:
        tokens, agreements = await seed(Asgi(c), admin, 1)
    path = f"/api/v1/agreements/{agreements[0]}/events"
    headers = {"Authorization": f"Bearer {tokens[0]}"}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
        event_name = "suspend"

        async def one() -> None:
            nonlocal event_name
            answer = await client.post(path, json={"event": event_name, "reason": "bench"}, headers=headers)
            if answer.status_code != 200:
                raise SystemExit(f"{event_name}: {answer.status_code} {answer.text[:300]}")
            event_name = "resume" if event_name == "suspend" else "suspend"

        for _ in range(20):  # warm caches, compile statements
            await one()
        engine = (app.state.database if hasattr(app.state, "database") else None)
        if args.statements:
            from engine.db import Database

            databases = [engine] if isinstance(engine, Database) else []
            for database in databases:
                @event.listens_for(database.engine.sync_engine, "before_cursor_execute")
                def _count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
                    statements[" ".join(statement.split())[:110]] += 1

        profiler = cprofile = None
        if args.cprofile:
            import cProfile

            cprofile = cProfile.Profile()
            cprofile.enable()
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(async_mode="enabled", interval=0.0005)
            profiler.start()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(args.transitions):
            await one()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if cprofile is not None:
            import pstats

            cprofile.disable()
            pstats.Stats(cprofile).sort_stats(args.cprofile).print_stats(45)
        if profiler is not None:
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=bool(os.environ.get("PROFILE_ALL"))))
    n = args.transitions
    print(f"{args.app}: {n} transitions in process: {cpu / n * 1000:.2f} ms CPU, "
          f"{wall / n * 1000:.2f} ms wall per transition")
    if statements:
        print(f"SQL statements per transition: {sum(statements.values()) / n:.1f}")
        for statement, count in statements.most_common():
            print(f"  {count / n:4.1f}  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--transitions", type=int, default=400)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--app", choices=("accord", "floor"), default="accord")
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument profile")
    parser.add_argument("--cprofile", metavar="SORT", default=None,
                        help="print a cProfile table sorted by SORT (cumulative, tottime)")
    parser.add_argument("--statements", action="store_true", help="count SQL statements (Accord's app)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="accord-profile-"))
    try:
        with fresh_database(args.database, work) as url:
            if url is None:
                return
            env = {**os.environ, "ACCORD_DATABASE_URL": url, "ACCORD_SCHEDULER_ENABLED": "false",
                   "ACCORD_OUTBOX_DIR": str(work / "outbox"), "ACCORD_SECRET_KEY": "bench",
                   "ACCORD_LOG_LEVEL": os.environ.get("ACCORD_LOG_LEVEL", "WARNING")}
            accord_cli(env, "migrate")
            env["ACCORD_BENCH_ADMIN"] = accord_cli(env, "admin", "create", "--name", "Bench admin", "--email",
                                                   "admin@bench.example").strip().splitlines()[-1]
            asyncio.run(run(args, env))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""HTTP transition throughput and latency: Accord against the floor, side by side, on SQLite and
PostgreSQL; and the memory of an idle and a busy `accord serve`.

    .venv/bin/python bench/http_transitions.py [--seconds 10] [--clients 8,64]
        [--databases sqlite,postgresql] [--rounds 1] [--workers 1] [--memory-requests 100000]

For each database: a fresh one (a SQLite file; on PostgreSQL a database `accord_bench_<hex>`,
dropped at the end), migrated with `accord migrate`, with one active agreement per client
created through Accord's API. Then, for each client count, Accord (`api.app:create_app`) and the
floor (`bench/floor_app.py`: token lookup, read, compare-and-set update, history insert,
commit) are served in turn by uvicorn with the same worker count, and each client fires
`suspend`, `resume`, `suspend`, ... at its own agreement for `--seconds` over one keep-alive
connection. Throughput counts 2xx answers; conflicts (none expected: one agreement per client)
and errors are counted apart. The client is a bare asyncio HTTP/1.1 loop, so its own cost
stays small next to the servers'. Prints the Accord/floor ratio.

`--memory-requests N` (SQLite): RSS (VmRSS of /proc/<pid>/status) of `accord serve` idle, then
every N/10 requests of a GET /health/live and GET /api/v1/agreements/{id} mix, 8 clients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_DSN = os.environ.get("ACCORD_BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
APPS = {"accord": "api.app:create_app", "floor": "bench.floor_app:create_app"}


# --- processes ---------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def accord_cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "accord"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"accord {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


@contextmanager
def serve(argv: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as output:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise SystemExit(f"{argv} exited {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{argv} did not listen within 60 s") from None
                time.sleep(0.1)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def uvicorn_argv(app: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", APPS[app], "--factory", "--host", "127.0.0.1",
            "--port", str(port), "--no-access-log", "--workers", str(workers)]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- a bare HTTP/1.1 keep-alive client ----------------------------------------------------------

class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, token: str | None = None,
                      body: dict[str, Any] | None = None) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        payload = json.dumps(body).encode() if body is not None else b""
        head = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(payload)}"]
        if token:
            head.append(f"Authorization: Bearer {token}")
        if body is not None:
            head.append("Content-Type: application/json")
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


# --- seeding through Accord's API ----------------------------------------------------------------

class Requester(Protocol):
    async def request(self, method: str, path: str, token: str | None = None,
                      body: dict[str, Any] | None = None) -> tuple[int, bytes]: ...


async def seed(http: Requester, admin: str, count: int) -> tuple[list[str], list[int]]:
    """Two organisations with staff, `count` active agreements; (staff tokens, agreement ids)."""
    today = datetime.now(UTC).date()

    async def ok(method: str, path: str, token: str, body: dict[str, Any] | None = None) -> Any:
        status, answer = await http.request(method, "/api/v1" + path, token, body)
        if status >= 300:
            raise SystemExit(f"seeding: {method} {path} answered {status}: {answer[:300]!r}")
        return json.loads(answer)

    orgs, people, tokens = {}, {}, {}
    for key in ("metro", "aspac"):
        orgs[key] = (await ok("POST", "/organisations", admin, {"name": f"Bench {key}"}))["id"]
        for kind in ("staff", "signatory"):
            people[f"{key}_{kind}"] = (await ok("POST", "/people", admin, {
                "name": f"{key} {kind}", "email": f"{kind}@{key}.example", "organisation_id": orgs[key],
                "role": "staff"}))["id"]
        tokens[key] = (await ok("POST", f"/people/{people[key + '_staff']}/tokens", admin, {}))["token"]
    ids = []
    for n in range(count):
        aid = (await ok("POST", "/agreements", tokens["metro"], {
            # Version 1: signed without uploading a copy, as the figures in docs/BENCHMARKS.md were measured.
            "title": f"Bench agreement {n + 1}", "workflow_version": 1, "effective_from": today.isoformat(),
            "ends_on": (today + timedelta(days=1000)).isoformat(), "review_every_months": 12,
            "parties": [{"organisation_id": orgs["metro"]}, {"organisation_id": orgs["aspac"]}],
            "areas": [{"title": "Capacity building"}]}))["id"]
        for key in ("metro_staff", "metro_signatory", "aspac_staff", "aspac_signatory"):
            await ok("POST", f"/agreements/{aid}/focal-points", tokens[key.split("_")[0]], {
                "person_id": people[key], "organisation_id": orgs[key.split("_")[0]],
                "kind": "signatory" if key.endswith("signatory") else "focal_point"})
        for token, event in ((tokens["metro"], "submit_for_signature"), (tokens["metro"], "sign"),
                             (tokens["aspac"], "sign"), (tokens["metro"], "activate")):
            await ok("POST", f"/agreements/{aid}/events", token, {"event": event})
        ids.append(aid)
    return [tokens["metro"], tokens["aspac"]], ids


async def seed_over_http(port: int, admin: str, count: int) -> tuple[list[str], list[int]]:
    http = Connection(port)
    try:
        return await seed(http, admin, count)
    finally:
        http.close()


# --- measuring -----------------------------------------------------------------------------------

@dataclass
class Run:
    app: str
    clients: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    others: Counter[int] = field(default_factory=Counter)
    median_rate: float | None = None  # rounds merged by `merged`

    @property
    def throughput(self) -> float:
        if self.median_rate is not None:
            return self.median_rate
        return len(self.latencies) / self.seconds

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000


async def transitions(port: int, tokens: list[str], agreements: list[int], clients: int,
                      seconds: float, app: str, warmup: float = 1.0) -> Run:
    run = Run(app=app, clients=clients, seconds=seconds)
    start = time.monotonic()
    measure_from, end = start + warmup, start + warmup + seconds

    async def client(number: int) -> None:
        http = Connection(port)
        token, agreement = tokens[number % len(tokens)], agreements[number]
        path = f"/api/v1/agreements/{agreement}/events"
        event = "suspend"
        try:
            for _ in range(10_000_000):
                began = time.monotonic()
                if began >= end:
                    return
                status, answer = await http.request("POST", path, token, {"event": event, "reason": "bench"})
                done = time.monotonic()
                if status == 200:
                    if began >= measure_from:
                        run.latencies.append(done - began)
                    event = "resume" if event == "suspend" else "suspend"
                else:
                    if began >= measure_from:
                        run.others[status] += 1
                    if status == 409:  # the agreement was left the other way round: turn
                        event = "resume" if event == "suspend" else "suspend"
        finally:
            http.close()

    await asyncio.gather(*(client(n) for n in range(clients)))
    return run


async def memory(port: int, pid: int, token: str, agreements: list[int], requests: int) -> list[tuple[int, float]]:
    samples = [(0, rss_mb(pid))]
    step = max(requests // 10, 1)
    done = 0
    rng = random.Random(7)
    clients = [Connection(port) for _ in range(8)]

    async def client(http: Connection, share: int) -> None:
        for _ in range(share):
            if rng.random() < 0.5:
                status, _ = await http.request("GET", "/health/live")
            else:
                status, _ = await http.request("GET", f"/api/v1/agreements/{rng.choice(agreements)}", token)
            if status != 200:
                raise SystemExit(f"memory run: answer {status}")

    while done < requests:
        batch = min(step, requests - done)
        await asyncio.gather(*(client(http, batch // len(clients) + (1 if i < batch % len(clients) else 0))
                               for i, http in enumerate(clients)))
        done += batch
        samples.append((done, rss_mb(pid)))
    for http in clients:
        http.close()
    return samples


# --- databases -----------------------------------------------------------------------------------

@contextmanager
def fresh_database(kind: str, work: Path) -> Iterator[str | None]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{work / 'bench.db'}"
        return
    import asyncpg

    name = f"accord_bench_{uuid.uuid4().hex[:12]}"

    async def admin(sql: str) -> bool:
        try:
            connection = await asyncpg.connect(PG_DSN, timeout=5)
        except (OSError, asyncpg.PostgresError):
            return False
        try:
            await connection.execute(sql)
        finally:
            await connection.close()
        return True

    if not asyncio.run(admin(f'CREATE DATABASE "{name}"')):
        print(f"PostgreSQL does not answer at {PG_DSN}: skipped")
        yield None
        return
    try:
        yield PG_DSN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1) + f"/{name}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def bench_database(kind: str, args: argparse.Namespace, work: Path) -> list[Run]:
    runs: list[Run] = []
    with fresh_database(kind, work) as url:
        if url is None:
            return runs
        env = {**os.environ, "ACCORD_DATABASE_URL": url, "ACCORD_SCHEDULER_ENABLED": "false",
               "ACCORD_OUTBOX_DIR": str(work / "outbox"), "ACCORD_SECRET_KEY": "bench"}
        accord_cli(env, "migrate")
        admin = accord_cli(env, "admin", "create", "--name", "Bench admin",
                           "--email", "admin@bench.example").strip().splitlines()[-1]
        port = free_port()
        most = max(args.clients)
        with serve(uvicorn_argv("accord", port, 1), env, port, work / "seed.log"):
            tokens, agreements = asyncio.run(seed_over_http(port, admin, most))
        for clients in args.clients:
            # Accord and the floor in turn, `--rounds` times: a machine whose speed drifts (other
            # work, CPU frequency) then drifts under both rather than under one.
            for app in ("accord", "floor") * args.rounds:
                port = free_port()
                with serve(uvicorn_argv(app, port, args.workers), env, port, work / f"{app}.log"):
                    run = asyncio.run(transitions(port, tokens, agreements, clients, args.seconds, app))
                runs.append(run)
                print(f"  {kind:10} {app:6} {clients:3} clients: {run.throughput:7.1f} transitions/s, "
                      f"p50 {run.percentile(0.5):6.1f} ms, p99 {run.percentile(0.99):6.1f} ms"
                      + (f", other answers {dict(run.others)}" if run.others else ""), flush=True)
        if kind == "sqlite" and args.memory_requests:
            port = free_port()
            serve_env = {**env, "ACCORD_SCHEDULER_ENABLED": "true"}
            argv = [str(BIN / "accord"), "serve", "--port", str(port)]
            with serve(argv, serve_env, port, work / "serve.log") as process:
                time.sleep(3)  # idle: started, scheduler ticking, no request yet
                samples = asyncio.run(memory(port, process.pid, tokens[0], agreements, args.memory_requests))
            trail = ", ".join(f"{n}: {mb:.1f}" for n, mb in samples)
            print(f"  memory of `accord serve` (VmRSS MB after N requests): {trail}")
            settled = samples[min(2, len(samples) - 1)][1]
            print(f"  idle {samples[0][1]:.1f} MB; growth from {samples[min(2, len(samples) - 1)][0]} to "
                  f"{samples[-1][0]} requests: {samples[-1][1] - settled:+.1f} MB")
    return runs


def merged(rounds: list[Run]) -> Run:
    """The rounds of one app as one run: the median of the rounds' throughputs, every latency pooled."""
    first = rounds[0]
    return Run(app=first.app, clients=first.clients, seconds=first.seconds,
               latencies=[x for r in rounds for x in r.latencies],
               median_rate=statistics.median(r.throughput for r in rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=10.0, help="measured seconds per scenario")
    parser.add_argument("--clients", type=lambda v: [int(x) for x in v.split(",")], default=[8, 64])
    parser.add_argument("--databases", type=lambda v: v.split(","), default=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=1,
                        help="run Accord and the floor in turn this many times; the median round counts")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers, the same for both apps")
    parser.add_argument("--memory-requests", type=int, default=0,
                        help="also measure `accord serve` RSS over this many requests (SQLite)")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"HTTP transitions: {args.seconds:g} s per scenario, {args.rounds} round(s), clients {args.clients}, "
          f"{args.workers} uvicorn worker(s), {os.cpu_count()} CPUs, load average {load:.2f} at start")
    work = Path(tempfile.mkdtemp(prefix="accord-bench-"))
    try:
        runs: list[tuple[str, Run]] = []
        for kind in args.databases:
            runs += [(kind, run) for run in bench_database(kind, args, work)]
        print("\n| database | clients | Accord /s | floor /s | Accord/floor | Accord p50 ms | Accord p99 ms "
              "| floor p50 ms | floor p99 ms |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        pairs: dict[tuple[str, int], dict[str, list[Run]]] = {}
        for kind, run in runs:
            pairs.setdefault((kind, run.clients), {}).setdefault(run.app, []).append(run)
        for (kind, clients), pair in pairs.items():
            a, f = merged(pair["accord"]), merged(pair["floor"])
            ratio = a.throughput / f.throughput if f.throughput else float("nan")
            print(f"| {kind} | {clients} | {a.throughput:.0f} | {f.throughput:.0f} | {ratio:.2f} | "
                  f"{a.percentile(0.5):.1f} | {a.percentile(0.99):.1f} | {f.percentile(0.5):.1f} | "
                  f"{f.percentile(0.99):.1f} |")
        print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    finally:
        if os.environ.get("ACCORD_BENCH_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""Load and fault tests with real processes (issue 4): API servers and workers as subprocesses,
100 concurrent HTTP clients firing conflicting events, kill -9 mid-load, PostgreSQL restarted.

On PostgreSQL: 4 API processes and 2 workers on one database. On SQLite: one API process.
Each load lasts `ACCORD_SOAK_SECONDS` (3 s by default; `make soak` runs 30 s).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.soak.conftest import Mailbox, SoakDatabase, soak_seconds
from tests.soak.harness import (
    API,
    BIN,
    ROOT,
    LoadResult,
    Process,
    Server,
    fire_load,
    history_problems,
    seed_active,
    seed_directory,
    wait_until,
)

pytestmark = [pytest.mark.soak, pytest.mark.slow]

CLIENTS = 100
AGREEMENTS = 20


def _servers(db: SoakDatabase, count: int, **extra: str) -> list[Server]:
    servers = [Server(f"api-{n + 1}", db.env(**extra), db.work) for n in range(count)]
    for server in servers:
        server.start()
    for server in servers:
        server.wait_live()
    return servers


def _stop_all(processes: list[Any]) -> None:
    for process in processes:
        process.stop()


def _api_count(db: SoakDatabase) -> int:
    return 4 if db.kind == "postgresql" else 1


def _seed(db: SoakDatabase, url: str, **kwargs: Any) -> tuple[Any, list[int]]:
    seeded = seed_directory(url, db.admin_token)
    today = datetime.now(UTC).date()
    return seeded, seed_active(url, seeded, AGREEMENTS, today=today, **kwargs)


async def test_conflicting_events_under_load_leave_valid_histories(soak_database: SoakDatabase) -> None:
    """100 clients fire conflicting events at 20 agreements: no 5xx, and every history is a valid
    path whose length is the agreement's version, with every answered transition in it."""
    db = soak_database
    processes: list[Any] = []
    try:
        servers = _servers(db, _api_count(db))
        processes += servers
        if db.kind == "postgresql":  # the workers claim and fire beside the API processes
            for n in range(2):
                worker = Process(f"worker-{n + 1}", [str(BIN / "accord"), "worker"],
                                 db.env(ACCORD_SCHEDULER_INTERVAL_SECONDS="0.5"), db.work)
                worker.start()
                processes.append(worker)
        seeded, agreements = _seed(db, servers[0].url)
        tokens = [seeded.staff["metro"], seeded.staff["aspac"]]
        result = await fire_load([s.url for s in servers], tokens, agreements, clients=CLIENTS,
                                 seconds=soak_seconds())
        print(f"load: {result.summary()}")
        for process in processes:
            assert process.alive(), f"{process.name} died under load:\n{process.tail()}"
        assert result.server_errors == [], result.summary() + "\n" + "\n".join(result.server_errors[:10])
        assert not result.transport_errors, result.summary()
        assert result.committed, f"no transition got through: {result.summary()}"
        assert result.statuses[409] > 0, f"the clients never conflicted: {result.summary()}"
        problems = history_problems(servers[0].url, db.admin_token, agreements, result.committed)
        assert problems == [], "\n".join(problems[:30])
    finally:
        _stop_all(processes)


class WorkerRounds:
    """Rounds of `accord worker --once --now T`: in each round `workers` processes run side by side
    as of the same instant T (as workers on one clock do), and T moves on by `step` each round,
    so the reminders of the coming weeks fall due during a few seconds of load. A round's T is
    more than a lease (5 min) after the previous one: what a killed worker had claimed is claimed
    again in the next round, as it would be 5 minutes later in real time."""

    def __init__(self, db: SoakDatabase, mailbox: Mailbox, workers: int, start: datetime,
                 step: timedelta, until: datetime) -> None:
        self.db, self.mailbox, self.workers = db, mailbox, workers
        self.instant, self.step, self.until = start, step, until
        self.current: list[Process] = []
        self.round_started_with = 0
        self.rounds = 0
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, name="worker-rounds", daemon=True)

    def run(self) -> None:
        env = self.db.env(ACCORD_SMTP_URL=self.mailbox.url)
        for number in range(200):  # bounded
            if self.stopping.is_set() or self.instant > self.until:
                return
            processes = [Process(f"worker-{n + 1}-round-{number}", [
                str(BIN / "accord"), "worker", "--once", "--now", self.instant.isoformat()], env, self.db.work)
                for n in range(self.workers)]
            self.round_started_with = len(self.mailbox.message_ids())
            for process in processes:
                process.start()
            self.current = processes
            for process in processes:
                assert process.popen is not None
                try:
                    code = process.popen.wait(timeout=120)
                except subprocess.TimeoutExpired:
                    process.kill9()
                    code = -9
                if code not in (0, -9):
                    self.failures.append(f"{process.name} exited {code}:\n{process.tail()}")
            self.rounds += 1
            self.instant += self.step

    def kill_mid_send(self, timeout: float) -> bool:
        """kill -9 one worker of the current round while the round is sending mail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.thread.is_alive():
            processes = self.current
            if processes and processes[0].alive() and \
                    len(self.mailbox.message_ids()) > self.round_started_with:
                processes[0].kill9()
                return True
            time.sleep(0.005)
        return False


def _notifications(url: str, token: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=url + API, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
        for page in range(100):  # bounded: 20 000 rows
            answer = http.get("/notifications", params={"limit": 200, "offset": page * 200}).json()
            rows.extend(answer["items"])
            if len(rows) >= answer["total"] or not answer["items"]:
                break
    return rows


async def test_kill_9_of_an_api_process_and_a_worker_mid_load(soak_database: SoakDatabase,
                                                               mailbox: Mailbox) -> None:
    """kill -9 of an API process and of a worker while 100 clients fire events and workers send
    the reminders of the coming weeks: no partial transition, nothing answered 200 is lost, and
    every reminder that fell due reaches the SMTP server at least once, and more than once only
    if it was in flight when its worker was killed (then each copy has the same Message-ID)."""
    db = soak_database
    processes: list[Any] = []
    rounds: WorkerRounds | None = None
    try:
        servers = _servers(db, _api_count(db))
        processes += servers
        now = datetime.now(UTC)
        today = now.date()
        seeded, agreements = _seed(db, servers[0].url)
        # Agreements nobody fires events at, with deliverables due over the next two weeks.
        reminded = seed_active(servers[0].url, seeded, 4, today=today,
                               deliverables_due=[today + timedelta(days=d) for d in (0, 2, 4, 8, 12)])
        tokens = [seeded.staff["metro"], seeded.staff["aspac"]]
        until = now + timedelta(days=22)
        rounds = WorkerRounds(db, mailbox, 2 if db.kind == "postgresql" else 1, now,
                              timedelta(days=2), until)
        rounds.thread.start()

        seconds = soak_seconds()
        killed: dict[str, bool] = {}
        result = LoadResult()
        faults_done = threading.Event()

        def grows(count: int, timeout: float) -> bool:
            start = len(result.committed)
            return wait_until(lambda: len(result.committed) >= start + count, timeout)

        def faults() -> None:
            try:
                grows(10, 60)  # the load is under way
                victim = servers[-1]
                victim.kill9()
                killed["api"] = True
                time.sleep(0.5)
                victim.start()  # the operator (or systemd) starts it again on the same port
                victim.wait_live()
                grows(10, 60)
                assert rounds is not None
                killed["worker"] = rounds.kill_mid_send(timeout=90)
                time.sleep(1.0)
            finally:
                faults_done.set()

        chaos = threading.Thread(target=faults, name="faults", daemon=True)
        chaos.start()
        await fire_load([s.url for s in servers], tokens, agreements, clients=CLIENTS,
                        seconds=seconds, result=result, hold=faults_done)
        chaos.join(timeout=60)
        servers[-1].wait_live()
        rounds.thread.join(timeout=300)
        assert not rounds.thread.is_alive(), "the worker rounds did not finish"
        assert rounds.failures == [], "\n".join(rounds.failures)
        assert killed == {"api": True, "worker": True}, f"a fault was not injected: {killed}"

        # A last pass after the window, past every lease, as a worker restarted later would run.
        final = until + timedelta(hours=1)
        env = db.env(ACCORD_SMTP_URL=mailbox.url)
        done = subprocess.run([str(BIN / "accord"), "worker", "--once", "--now", final.isoformat()],
                              cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout + done.stderr

        assert result.server_errors == [], result.summary() + "\n" + "\n".join(result.server_errors[:10])
        assert result.committed, result.summary()
        problems = history_problems(servers[0].url, db.admin_token, agreements + reminded, result.committed)
        assert problems == [], "\n".join(problems[:30])

        rows = _notifications(servers[0].url, db.admin_token)
        sent = [row for row in rows if row["status"] == "sent"]
        assert len(sent) >= len(reminded) * 3, f"too few reminders were sent: {Counter(r['status'] for r in rows)}"
        left = [row for row in rows if row["status"] in ("pending", "dead")
                and datetime.fromisoformat(row["send_at"]) <= final]
        assert left == [], f"reminders due in the window were not sent: {left[:5]}"
        per_key = Counter(mailbox.message_ids())
        print(f"load: {result.summary()}; mail: {len(per_key)} keys, {sum(per_key.values())} messages; "
              f"rows {dict(Counter(r['status'] for r in rows))}; worker rounds {rounds.rounds}")
        delivered_ids = {int(i) for key in per_key for i in re.findall(r"\d+", key.split("@")[0])}
        missing = [row["id"] for row in sent if row["id"] not in delivered_ids]
        assert missing == [], f"rows marked sent that the SMTP server never got: {missing[:10]}"
        # At least once, and more than once only for what was in flight when the worker was
        # killed: a worker records each mail as soon as the SMTP server accepted it, so only
        # the mails accepted in the instant before the kill (at most `send_concurrency`, 10,
        # per killed worker) go again after the lease; the copies are counted here by
        # Message-ID, so every copy carries the one Message-ID of its rows.
        twice = {key: n for key, n in per_key.items() if n > 1}
        print(f"mail keys delivered more than once (in flight at the kill): {len(twice)} {twice}")
        assert len(twice) <= 10 * 1, (f"{len(twice)} of {len(per_key)} mail keys reached the SMTP "
                                      f"server more than once, more than one killed worker had in "
                                      f"flight: {list(twice.items())[:12]}")
        assert all(n == 2 for n in twice.values()), f"a mail went more than twice: {twice}"
        by_id = {row["id"]: row for row in rows}
        for key in twice:  # sent again: claimed a second time after the killed worker's lease
            ids = [int(i) for i in re.findall(r"\d+", key.split("@")[0])]
            assert all(by_id[i]["status"] == "sent" and by_id[i]["attempts"] >= 2 for i in ids), \
                (key, [by_id.get(i) for i in ids])
    finally:
        if rounds is not None:
            rounds.stopping.set()
            for process in rounds.current:
                process.kill9()
        _stop_all(processes)


def _postgres_cluster() -> str | None:
    """The local cluster version for pg_ctlcluster, when PostgreSQL runs on this machine."""
    if shutil.which("pg_ctlcluster") is None or not Path("/etc/postgresql").is_dir():
        return None
    versions = sorted(p.name for p in Path("/etc/postgresql").iterdir() if (p / "main").is_dir())
    return versions[-1] if versions else None


def _pg_ctl(version: str, action: str) -> None:
    done = subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", action],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"pg_ctlcluster {action}: {done.stdout}{done.stderr}"


@pytest.mark.skipif(os.environ.get("ACCORD_TEST_DATABASE") != "postgresql",
                    reason="restarts PostgreSQL: runs in the PostgreSQL pass only")
@pytest.mark.skipif(os.environ.get("ACCORD_SOAK_PG_RESTART", "1") == "0",
                    reason="ACCORD_SOAK_PG_RESTART=0: PostgreSQL is shared with other work")
async def test_postgresql_restart_mid_load_answers_503_then_recovers(soak_database: SoakDatabase) -> None:
    """PostgreSQL goes down mid-load: requests fail with 503 and a clear problem+json detail,
    then the API processes recover by themselves and nothing committed is lost."""
    cluster = _postgres_cluster()
    if cluster is None:
        pytest.skip("PostgreSQL is not a local cluster that pg_ctlcluster can restart")
    version: str = cluster
    db = soak_database
    servers: list[Server] = []
    try:
        servers = _servers(db, 2)
        seeded, agreements = _seed(db, servers[0].url)
        tokens = [seeded.staff["metro"], seeded.staff["aspac"]]
        seconds = max(soak_seconds(), 3.0)
        window: dict[str, float] = {}

        def restart() -> None:
            time.sleep(seconds * 0.3)
            window["down"] = time.monotonic()
            _pg_ctl(version, "stop")
            time.sleep(2.0)  # long enough for many requests to meet the outage
            _pg_ctl(version, "start")
            window["up"] = time.monotonic()

        outage = threading.Thread(target=restart, name="restart", daemon=True)
        outage.start()
        result = await fire_load([s.url for s in servers], tokens, agreements, clients=50,
                                 seconds=seconds + 4.0, tolerate_503=True)
        outage.join(timeout=180)
        assert "up" in window, "PostgreSQL was not restarted"
        print(f"restart: {result.summary()}; {len(result.unavailable)} answers 503")

        assert result.server_errors == [], result.summary() + "\n" + "\n".join(result.server_errors[:10])
        assert result.unavailable, f"no request met the outage: {result.summary()}"
        for _, content_type, detail in result.unavailable:
            assert content_type.startswith("application/problem+json"), content_type
            assert "database" in detail.lower(), detail
            assert "try again" in detail.lower(), detail
        # Recovered by itself: the last requests, after PostgreSQL was back, got through.
        late = [at for at, *_ in result.unavailable if at > window["up"] + 5.0]
        assert late == [], f"{len(late)} requests still met 503 more than 5 s after the restart"
        for server in servers:
            assert server.alive(), f"{server.name} died:\n{server.tail()}"
            assert httpx.get(f"{server.url}/health/ready", timeout=10).status_code == 200
        problems = history_problems(servers[0].url, db.admin_token, agreements, result.committed)
        assert problems == [], "\n".join(problems[:30])
    finally:
        if _postgres_cluster() is not None:  # never leave the shared cluster down
            subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "start"],
                           capture_output=True, timeout=120)
        _stop_all(servers)


"""Real processes for the load and fault tests: `accord serve`/uvicorn and `accord worker` against
a fresh database, HTTP clients firing conflicting events, and the checks that follow.

Every loop here is bounded in count and time; all traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

from engine.workflow.machine import catalog
from tests.support import free_port

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
API = "/api/v1"
WORKFLOW = ("collaboration_agreement", 1)

# The events the load fires: each one is allowed in some state of an active agreement's cycle,
# so the agreements keep moving (active -> suspended -> active -> under_review -> reviewed -> active).
LOAD_EVENTS: list[dict[str, Any]] = [
    {"event": "suspend", "reason": "Soak test: paused."},
    {"event": "resume", "reason": "Soak test: resumed."},
    {"event": "start_review", "comment": "Soak test review."},
    {"event": "complete_review", "outcome": "continue", "summary": "Soak test: on track."},
    {"event": "continue", "comment": "Soak test: carry on."},
]



def accord(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """Run the `accord` command line as an operator would; its standard output."""
    done = subprocess.run([str(BIN / "accord"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)
    assert done.returncode == 0, f"accord {' '.join(args)} failed:\n{done.stdout}{done.stderr}"
    return done.stdout


class Process:
    """One child process with its output in a log file; stopped for sure at the end."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log = log_dir / f"{name}.log"
        self.popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.popen = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=output,
                                          stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill9(self) -> None:
        if self.alive():
            os.kill(self.pid, signal.SIGKILL)
            assert self.popen is not None
            self.popen.wait(timeout=10)

    def stop(self, timeout: float = 15) -> None:
        if not self.alive():
            return
        assert self.popen is not None
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Server(Process):
    """`uvicorn api.app:create_app --factory` on a loopback port, as `accord serve` runs it."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, *, port: int | None = None,
                 workers: int = 1) -> None:
        self.port = port or free_port()
        argv = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory",
                "--host", "127.0.0.1", "--port", str(self.port), "--no-access-log"]
        if workers > 1:
            argv += ["--workers", str(workers)]
        super().__init__(name, argv, env, log_dir)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_live(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.alive():
                raise AssertionError(f"{self.name} exited:\n{self.tail()}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} did not become ready within {timeout:g} s:\n{self.tail()}")


def base_env(database_url: str, work: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "ACCORD_DATABASE_URL": database_url, "ACCORD_SCHEDULER_ENABLED": "false",
            "ACCORD_OUTBOX_DIR": str(work / "outbox"), "ACCORD_LOG_LEVEL": "WARNING",
            "ACCORD_SECRET_KEY": "soak-test-secret", **extra}


# --- seeding through the API ---------------------------------------------------------------------

@dataclass
class Seeded:
    admin: str
    staff: dict[str, str]  # organisation key -> staff token
    people: dict[str, int]  # key -> person id
    orgs: dict[str, int]
    agreements: list[int] = field(default_factory=list)
    deliverables: list[int] = field(default_factory=list)


def _ok(response: httpx.Response) -> Any:
    assert response.status_code < 300, (response.request.method, response.request.url,
                                        response.status_code, response.text)
    return response.json() if response.content else None


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def seed_directory(url: str, admin_token: str) -> Seeded:
    """Two organisations, each with a staff focal point and a signatory, and their tokens."""
    with httpx.Client(base_url=url + API, headers=_auth(admin_token), timeout=30) as http:
        orgs = {key: _ok(http.post("/organisations", json={"name": name, "timezone": "UTC"}))["id"]
                for key, name in (("metro", "Metropolis"), ("aspac", "UCLG ASPAC"))}
        people: dict[str, int] = {}
        staff: dict[str, str] = {}
        for org in orgs:
            for kind in ("staff", "signatory"):
                person = _ok(http.post("/people", json={
                    "name": f"{org} {kind}", "email": f"{kind}@{org}.example", "organisation_id": orgs[org],
                    "role": "staff", "timezone": "UTC"}))
                people[f"{org}_{kind}"] = person["id"]
                if kind == "staff":
                    staff[org] = _ok(http.post(f"/people/{person['id']}/tokens", json={}))["token"]
    return Seeded(admin=admin_token, staff=staff, people=people, orgs=orgs)


def seed_active(url: str, seeded: Seeded, count: int, *, today: date,
                deliverables_due: list[date] | None = None) -> list[int]:
    """`count` active agreements (drafted, named, submitted, signed by both, activated) over HTTP;
    each gets a deliverable per date in `deliverables_due`, owned by the Metropolis focal point."""
    ids: list[int] = []
    with httpx.Client(base_url=url + API, timeout=30) as http:
        metro, aspac = _auth(seeded.staff["metro"]), _auth(seeded.staff["aspac"])
        for n in range(count):
            agreement = _ok(http.post("/agreements", headers=metro, json={
                # Version 1: signed without uploading a copy (version 2 asks for one: tests/test_documents.py).
                "title": f"Soak agreement {n + 1}", "workflow_version": 1, "effective_from": today.isoformat(),
                "ends_on": (today + timedelta(days=3 * 365)).isoformat(), "review_every_months": 12,
                "parties": [{"organisation_id": seeded.orgs["metro"]}, {"organisation_id": seeded.orgs["aspac"]}],
                "areas": [{"title": "Capacity building"}]}))
            aid = agreement["id"]
            for key in ("metro_staff", "metro_signatory", "aspac_staff", "aspac_signatory"):
                org = key.split("_")[0]
                _ok(http.post(f"/agreements/{aid}/focal-points", headers=metro if org == "metro" else aspac, json={
                    "person_id": seeded.people[key], "organisation_id": seeded.orgs[org],
                    "kind": "signatory" if key.endswith("signatory") else "focal_point"}))
            _ok(http.post(f"/agreements/{aid}/events", headers=metro, json={"event": "submit_for_signature"}))
            _ok(http.post(f"/agreements/{aid}/events", headers=metro, json={"event": "sign", "place": "Seoul"}))
            _ok(http.post(f"/agreements/{aid}/events", headers=aspac, json={"event": "sign", "place": "Jakarta"}))
            answer = http.post(f"/agreements/{aid}/events", headers=metro, json={"event": "activate"})
            if answer.status_code == 409:  # a worker fired the activate timer first: fine
                answer = http.get(f"/agreements/{aid}", headers=metro)
            state = _ok(answer)
            assert state["state"] == "active", state
            area_id = state["areas"][0]["id"]
            for k, due in enumerate(deliverables_due or []):
                deliverable = _ok(http.post(f"/agreements/{aid}/areas/{area_id}/deliverables", headers=metro, json={
                    "title": f"Deliverable {k + 1} of agreement {aid}", "due_on": due.isoformat(),
                    "owner_id": seeded.people["metro_staff"]}))
                seeded.deliverables.append(deliverable["id"])
            ids.append(aid)
    seeded.agreements.extend(ids)
    return ids


# --- load ----------------------------------------------------------------------------------------

@dataclass
class LoadResult:
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    committed: list[tuple[int, int, str]] = field(default_factory=list)  # (agreement, version, event)
    server_errors: list[str] = field(default_factory=list)  # every 5xx: status and body
    unavailable: list[tuple[float, str, str]] = field(default_factory=list)  # 503s: time, type, detail
    requests: int = 0

    def summary(self) -> str:
        return (f"{self.requests} requests, statuses {dict(sorted(self.statuses.items()))}, "
                f"transport errors {dict(self.transport_errors)}, {len(self.committed)} transitions committed")


async def fire_load(urls: list[str], tokens: list[str], agreements: list[int], *, clients: int,
                    seconds: float, seed: int = 4, tolerate_503: bool = False,
                    result: LoadResult | None = None, hold: threading.Event | None = None,
                    max_requests_per_client: int = 100_000) -> LoadResult:
    """`clients` concurrent clients fire random events at random agreements of `agreements` for
    `seconds` (and, given `hold`, until it is set, two minutes at most), spread over `urls` (a
    server that is down is skipped for that request). `result` fills as the load goes."""
    result = result if result is not None else LoadResult()
    deadline = time.monotonic() + seconds
    last_call = deadline + 120

    def over() -> bool:
        now = time.monotonic()
        return now >= last_call or (now >= deadline and (hold is None or hold.is_set()))
    limits = httpx.Limits(max_connections=clients + 8, max_keepalive_connections=clients + 8)
    async with httpx.AsyncClient(timeout=httpx.Timeout(30, connect=5), limits=limits) as http:

        async def client(number: int) -> None:
            rng = random.Random(seed * 1000 + number)
            token = tokens[number % len(tokens)]
            for _ in range(max_requests_per_client):
                if over():
                    return
                agreement = rng.choice(agreements)
                body = rng.choice(LOAD_EVENTS)
                url = rng.choice(urls)
                result.requests += 1
                try:
                    response = await http.post(f"{url}{API}/agreements/{agreement}/events", json=body,
                                               headers=_auth(token))
                except httpx.TransportError as error:  # a server killed or restarting: try again
                    result.transport_errors[type(error).__name__] += 1
                    await asyncio.sleep(0.05)
                    continue
                result.statuses[response.status_code] += 1
                if response.status_code == 200:
                    answer = response.json()
                    result.committed.append((agreement, answer["version"], body["event"]))
                elif response.status_code == 503 and tolerate_503:
                    problem = response.json()
                    result.unavailable.append((time.monotonic(), response.headers.get("content-type", ""),
                                               problem.get("detail", "")))
                    await asyncio.sleep(0.05)
                elif response.status_code >= 500:
                    result.server_errors.append(f"{response.status_code} {response.text[:300]}")

        await asyncio.gather(*(client(n) for n in range(clients)))
    return result


# --- checks --------------------------------------------------------------------------------------

def _allowed_transitions() -> set[tuple[str, str, str]]:
    spec = catalog().get(*WORKFLOW).spec
    return {(source, t.event, t.dest) for t in spec.transitions for source in t.source}


def read_history(url: str, token: str, agreement_id: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with httpx.Client(base_url=url + API, headers=_auth(token), timeout=30) as http:
        for page in range(1000):  # bounded: 200 000 rows at most
            answer = _ok(http.get(f"/agreements/{agreement_id}/history",
                                  params={"limit": 200, "offset": page * 200}))
            rows.extend(answer["items"])
            if len(rows) >= answer["total"] or not answer["items"]:
                break
    return rows


def history_problems(url: str, token: str, agreement_ids: list[int],
                     committed: list[tuple[int, int, str]] | None = None) -> list[str]:
    """Everything wrong with the agreements' histories: empty when each history is a valid path
    through the workflow, `version` equals its number of rows, versions are 1..n without gaps or
    duplicates, and every transition a client was told had committed is there."""
    allowed = _allowed_transitions()
    problems: list[str] = []
    histories: dict[int, dict[int, dict[str, Any]]] = {}
    with httpx.Client(base_url=url + API, headers=_auth(token), timeout=30) as http:
        for aid in agreement_ids:
            agreement = _ok(http.get(f"/agreements/{aid}"))
            rows = read_history(url, token, aid)
            versions = [row["version"] for row in rows]
            if versions != list(range(1, len(rows) + 1)):
                duplicates = [v for v, n in Counter(versions).items() if n > 1]
                problems.append(f"agreement {aid}: versions are not 1..{len(rows)} "
                                f"(duplicates {duplicates[:10]}, first {versions[:5]}, last {versions[-5:]})")
            if agreement["version"] != len(rows):
                problems.append(f"agreement {aid}: version {agreement['version']} but {len(rows)} history rows")
            state: str | None = None
            for row in rows:
                if row["kind"] == "created":
                    state = row["to_state"] or "draft"
                    continue
                if row["kind"] != "transition":
                    continue
                step = (row["from_state"], row["event"], row["to_state"])
                if step not in allowed:
                    problems.append(f"agreement {aid} v{row['version']}: {step} is not a transition of the workflow")
                if row["from_state"] != state:
                    problems.append(f"agreement {aid} v{row['version']}: starts from {row['from_state']} "
                                    f"but the previous transition ended in {state}")
                state = row["to_state"]
            if state != agreement["state"]:
                problems.append(f"agreement {aid}: state {agreement['state']} but the history ends in {state}")
            histories[aid] = {row["version"]: row for row in rows}
    for aid, version, event in committed or []:
        entry = histories.get(aid, {}).get(version)
        if entry is None or entry["event"] != event:
            problems.append(f"agreement {aid}: a client was answered 200 for {event} at version {version}, "
                            f"but the history has {entry['event'] if entry else 'nothing'} there")
    return problems


def wait_until(predicate: Any, timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())

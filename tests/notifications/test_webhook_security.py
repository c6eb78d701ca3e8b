"""Webhooks reach public addresses only, are signed as Standard Webhooks, and keep no receiver's answer.

Here `ACCORD_WEBHOOK_ALLOW_PRIVATE` is off (the `allow_private` fixture), as in a deployment, unless
a test turns it on: every receiver listens on 127.0.0.1, so with it off a delivery must be refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import ssl
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import trustme
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from engine import migrate
from engine.clock import FixedClock
from engine.db import Database
from engine.schedule import WebhookDelivery, WebhookSubscription
from notifications import webhooks
from notifications.worker import PassReport
from tests.notifications.conftest import MakeWorker, Receiver, SmtpServer
from tests.notifications.helpers import at
from tests.support import World

SECRET = "s3cret-for-the-receiver"
ALLOW = "ACCORD_WEBHOOK_ALLOW_PRIVATE=true"


@pytest.fixture
def allow_private() -> bool:
    return False


def _hostname_on_loopback() -> str:
    """This machine's name when it resolves to loopback only (as /etc/hosts makes it here): a
    name, not an address, that leads to a private address."""
    name = socket.gethostname()
    try:
        found = {info[4][0] for info in socket.getaddrinfo(name, 80, type=socket.SOCK_STREAM)}
    except OSError:
        pytest.skip(f"{name} does not resolve here")
    if not found or not all(address.startswith("127.") or address == "::1" for address in found):
        pytest.skip(f"{name} resolves to {found}, not to loopback only")
    return name


async def _state_change(world: World) -> None:
    """One `agreement.state_changed`: a ready draft submitted for signature."""
    agreement = await world.ready()
    response = await world.fire("metro_staff", agreement["id"], "submit_for_signature")
    assert response.status_code == 200, response.text


async def _stored_subscription(database: Database, url: str, secret: str = SECRET) -> int:
    """A subscription as one made before addresses were checked (or while private ones were
    allowed) is stored: the check at connection time is what stands between it and the network."""
    async with database.transaction() as session:
        subscription = WebhookSubscription(url=url, secret=secret, events=["agreement.state_changed"],
                                           created_at=datetime(2026, 11, 1, tzinfo=UTC))
        session.add(subscription)
        await session.flush()
        assert subscription.id is not None
        return subscription.id


async def _deliveries(world: World, webhook_id: int) -> list[dict[str, Any]]:
    log = await world.ok("admin", "GET", f"/webhooks/{webhook_id}/deliveries")
    items: list[dict[str, Any]] = log["items"]
    return items


# --- at subscription --------------------------------------------------------------------------

@pytest.mark.parametrize(("url", "reason"), [
    ("http://127.0.0.1:8080/hooks", "127.0.0.1, a loopback address"),
    ("http://localhost/hooks", "localhost is a loopback name"),
    ("https://api.localhost/hooks", "api.localhost is a loopback name"),
    ("http://10.20.30.40/hooks", "10.20.30.40, a private address"),
    ("http://192.168.1.10/hooks", "192.168.1.10, a private address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254, a cloud metadata address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254, a cloud metadata address"),
    ("http://169.254.10.1/hooks", "169.254.10.1, a link-local address"),
    ("http://[fe80::1]/hooks", "fe80::1, a link-local address"),
    ("http://[fd12:3456::1]/hooks", "fd12:3456::1, a unique-local address"),
    ("http://[::1]/hooks", "::1, a loopback address"),
    ("http://0.0.0.0/hooks", "0.0.0.0, the unspecified address"),
    ("http://224.0.0.251/hooks", "224.0.0.251, a multicast address"),
    ("http://240.1.2.3/hooks", "240.1.2.3, a reserved address"),
    ("http://[::ffff:127.0.0.1]/hooks", "carries the IPv4 address 127.0.0.1, a loopback address"),
    ("http://[64:ff9b::a9fe:a9fe]/hooks", "carries the IPv4 address 169.254.169.254, a cloud metadata"),
    ("http://2130706433/hooks", "127.0.0.1, a loopback address"),  # 127.0.0.1 written as one number
])
async def test_a_non_public_address_is_refused_at_subscription_naming_the_url(
        world: World, url: str, reason: str) -> None:
    response = await world.call("admin", "POST", "/webhooks", json={
        "url": url, "secret": SECRET, "events": ["agreement.state_changed"]})
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert reason in problem["detail"]
    assert "public addresses only" in problem["detail"]
    assert ALLOW in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["url"]
    assert (await world.ok("admin", "GET", "/webhooks"))["total"] == 0


async def test_a_name_that_resolves_to_loopback_is_refused_at_subscription(world: World) -> None:
    name = _hostname_on_loopback()
    response = await world.call("admin", "POST", "/webhooks", json={
        "url": f"https://{name}:8443/hooks", "secret": SECRET, "events": ["agreement.state_changed"]})
    assert response.status_code == 422, response.text
    assert f"{name} resolves to 127." in response.json()["detail"] or f"{name} resolves to ::1" in \
        response.json()["detail"]
    assert response.json()["errors"][0]["field"] == "url"


@pytest.mark.parametrize("url", ["ftp://hooks.example.org/accord", "file:///etc/passwd",
                                 "gopher://hooks.example.org/"])
async def test_only_http_and_https_addresses_are_accepted(world: World, url: str) -> None:
    response = await world.call("admin", "POST", "/webhooks", json={
        "url": url, "secret": SECRET, "events": ["agreement.state_changed"]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["url"]


async def test_a_public_address_is_accepted(world: World) -> None:
    created = await world.ok("admin", "POST", "/webhooks", json={
        "url": "https://93.184.215.14/hooks", "secret": SECRET, "events": ["agreement.state_changed"]})
    assert created["url"] == "https://93.184.215.14/hooks"


@pytest.mark.parametrize("allow_private", [True])
async def test_the_setting_allows_private_addresses(world: World, allow_private: bool) -> None:
    created = await world.ok("admin", "POST", "/webhooks", json={
        "url": "http://127.0.0.1:8080/hooks", "secret": SECRET, "events": ["agreement.state_changed"]})
    assert created["active"] is True


async def test_a_non_admin_is_refused_before_the_address_is_looked_at(world: World) -> None:
    response = await world.call("metro_staff", "POST", "/webhooks", json={
        "url": "http://127.0.0.1/hooks", "secret": SECRET, "events": ["agreement.state_changed"]})
    assert response.status_code == 403
    assert "127.0.0.1" not in response.text


# --- at connection time -----------------------------------------------------------------------

async def _one_pass_to(receiver: Receiver, world: World, database: Database, make_worker: MakeWorker,
                       smtp: SmtpServer) -> tuple[int, PassReport]:
    """Subscribe `receiver` (stored as it is, past the subscription check), change an agreement's
    state and run one worker pass while the receiver listens: the subscription and the pass."""
    await receiver.start()
    try:
        webhook_id = await _stored_subscription(database, receiver.url)
        await _state_change(world)
        return webhook_id, await make_worker(smtp).run_pass(at("2026-11-23T10:00"))
    finally:
        await receiver.stop()


@pytest.mark.parametrize("host", ["127.0.0.1", "::ffff:127.0.0.1", "hostname"])
async def test_a_receiver_on_loopback_is_refused_at_delivery_and_the_delivery_fails_with_the_reason(
        world: World, database: Database, make_worker: MakeWorker, smtp: SmtpServer, host: str) -> None:
    receiver = Receiver(host=_hostname_on_loopback() if host == "hostname" else host)
    webhook_id, report = await _one_pass_to(receiver, world, database, make_worker, smtp)

    assert receiver.requests == []  # nothing reached it
    assert (report.webhooks_dead, report.webhooks_delivered, report.webhooks_retrying) == (1, 0, 0)
    [delivery] = await _deliveries(world, webhook_id)
    assert (delivery["status"], delivery["attempts"], delivery["response_status"]) == ("dead", 1, None)
    expected = ("127.0.0.1, a loopback address" if host == "127.0.0.1"
                else "carries the IPv4 address 127.0.0.1, a loopback address" if ":" in host
                else f"{receiver.host} resolves to ")
    assert expected in delivery["last_error"]
    assert delivery["last_error"].startswith("refused: ")
    assert ALLOW in delivery["last_error"]


@pytest.mark.parametrize("allow_private", [True])
async def test_with_the_setting_the_same_receiver_is_reached_by_its_name(
        world: World, database: Database, make_worker: MakeWorker, smtp: SmtpServer, allow_private: bool) -> None:
    receiver = Receiver(host=_hostname_on_loopback(), secret=SECRET)
    webhook_id, report = await _one_pass_to(receiver, world, database, make_worker, smtp)
    assert report.webhooks_delivered == 1
    [request] = receiver.requests
    assert request.headers["host"] == f"{receiver.host}:{receiver.port}"  # the name, not the address
    assert request.refused is None
    assert [d["status"] for d in await _deliveries(world, webhook_id)] == ["sent"]


# --- Standard Webhooks ------------------------------------------------------------------------

@pytest.mark.parametrize("allow_private", [True])
async def test_deliveries_carry_standard_webhooks_headers_that_the_library_verifies(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, allow_private: bool) -> None:
    receiver = Receiver(secret=SECRET, status=500, answer=b"Traceback: password=hunter2 at /srv/app.py")
    await receiver.start()
    try:
        created = await world.ok("admin", "POST", "/webhooks", json={
            "url": receiver.url, "secret": SECRET, "events": ["agreement.state_changed"]})
        await _state_change(world)
        worker = make_worker(smtp)
        first = await worker.run_pass(at("2026-11-23T10:00"))
        failed = await _deliveries(world, created["id"])
        receiver.status = 200
        second = await worker.run_pass(at("2026-11-23T10:01"))
    finally:
        await receiver.stop()

    assert (first.webhooks_retrying, second.webhooks_delivered) == (1, 1)
    # The failure is kept as its status and a short reason, never the receiver's answer.
    [attempt] = failed
    assert (attempt["status"], attempt["response_status"], attempt["last_error"]) == (
        "pending", 500, "HTTP 500 Internal Server Error")
    assert "hunter2" not in json.dumps(failed)

    assert len(receiver.requests) == 2
    for request in receiver.requests:
        assert request.refused is None  # Webhook(SECRET.encode()).verify passed, timestamp included
        payload = Webhook(SECRET.encode()).verify(request.body, request.headers)
        assert payload["id"] == request.headers["webhook-id"]
        # The older headers are still there, for receivers written before.
        assert request.headers["x-accord-delivery"] == request.headers["webhook-id"]
        assert request.headers["x-accord-signature"] == "sha256=" + hmac.new(
            SECRET.encode(), request.body, hashlib.sha256).hexdigest()
        assert abs(int(request.headers["webhook-timestamp"]) - datetime.now(UTC).timestamp()) < 60
    # The delivery id is the same on the retry; the timestamp and the signature are the attempt's.
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert [d["status"] for d in await _deliveries(world, created["id"])] == ["sent"]


@pytest.mark.parametrize("allow_private", [True])
async def test_a_stale_or_replayed_delivery_is_rejected_by_a_standard_receiver(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, allow_private: bool) -> None:
    receiver = Receiver(secret=SECRET)
    await receiver.start()
    try:
        created = await world.ok("admin", "POST", "/webhooks", json={
            "url": receiver.url, "secret": SECRET, "events": ["agreement.state_changed"]})
        await _state_change(world)
        # A worker whose clock is ten minutes slow stamps an attempt a receiver takes for a replay.
        slow = FixedClock(datetime.now(UTC) - timedelta(minutes=10))
        report = await make_worker(smtp, clock=slow).run_pass(at("2026-11-23T10:00"))
        [stale] = await _deliveries(world, created["id"])
        report_then = await make_worker(smtp).run_pass(at("2026-11-23T10:01"))
        [good] = [r for r in receiver.requests if r.refused is None]
        # A captured delivery sent again with a fresh timestamp no longer matches its signature.
        replay = {**good.headers, "webhook-timestamp": str(int(datetime.now(UTC).timestamp()) + 5)}
        async with httpx.AsyncClient() as client:
            replayed = await client.post(receiver.url, content=good.body, headers={
                k: v for k, v in replay.items() if k not in ("host", "content-length")})
    finally:
        await receiver.stop()

    assert report.webhooks_retrying == 1
    assert receiver.requests[0].refused == "Message timestamp too old"
    assert (stale["response_status"], stale["last_error"]) == (401, "HTTP 401 Unauthorized")
    assert report_then.webhooks_delivered == 1
    assert replayed.status_code == 401
    assert receiver.requests[-1].refused == "No matching signature found"


@pytest.mark.parametrize("allow_private", [True])
async def test_a_whsec_secret_signs_with_the_bytes_it_encodes(
        world: World, make_worker: MakeWorker, smtp: SmtpServer, allow_private: bool) -> None:
    key = bytes(range(1, 33))
    whsec = "whsec_" + base64.b64encode(key).decode()
    receiver = Receiver(secret=whsec)  # verifies with Webhook(whsec), as a receiver's library does
    await receiver.start()
    try:
        created = await world.ok("admin", "POST", "/webhooks", json={
            "url": receiver.url, "secret": whsec, "events": ["agreement.state_changed"]})
        await _state_change(world)
        report = await make_worker(smtp).run_pass(at("2026-11-23T10:00"))
    finally:
        await receiver.stop()
    assert report.webhooks_delivered == 1
    [request] = receiver.requests
    assert request.refused is None
    Webhook(key).verify(request.body, request.headers)
    with pytest.raises(WebhookVerificationError):  # not the UTF-8 bytes of the whsec_ string
        Webhook(whsec.encode()).verify(request.body, request.headers)
    # X-Accord-Signature keeps its key: the secret's UTF-8 bytes, whatever its form.
    assert request.headers["x-accord-signature"] == "sha256=" + hmac.new(
        whsec.encode(), request.body, hashlib.sha256).hexdigest()
    assert [d["status"] for d in await _deliveries(world, created["id"])] == ["sent"]


@pytest.mark.parametrize("secret", ["whsec_not base64 at all!!", "whsec_" + base64.b64encode(b"twelve bytes").decode()])
async def test_a_malformed_whsec_secret_is_refused(world: World, secret: str) -> None:
    response = await world.call("admin", "POST", "/webhooks", json={
        "url": "https://93.184.215.14/hooks", "secret": secret, "events": ["agreement.state_changed"]})
    assert response.status_code == 422
    assert [e["field"] for e in response.json()["errors"]] == ["secret"]
    assert "Standard Webhooks secret" in response.json()["detail"]
    # Asked in French, the same refusal in French, the field still named `secret`.
    french = await world.call("admin", "POST", "/webhooks", headers={"Accept-Language": "fr"}, json={
        "url": "https://93.184.215.14/hooks", "secret": secret, "events": ["agreement.state_changed"]})
    assert [e["field"] for e in french.json()["errors"]] == ["secret"]
    assert "est un secret Standard Webhooks : après le préfixe" in french.json()["errors"][0]["message"]


# --- HTTPS to a checked address ---------------------------------------------------------------

@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def _tls_receiver(authority: trustme.CA, name: str) -> Receiver:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(name).configure_cert(context)
    return Receiver(host="localhost", tls=context)


def _trusting(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    authority.configure_trust(context)
    return context


async def test_https_connects_to_the_checked_address_and_verifies_the_certificate_for_the_name(
        authority: trustme.CA) -> None:
    """The connection goes to the address that was checked, yet TLS is the name's: the server
    sees the name (SNI and Host), and a certificate for another name is refused."""
    good, wrong = _tls_receiver(authority, "localhost"), _tls_receiver(authority, "elsewhere.example")
    await good.start()
    await wrong.start()
    try:
        async with webhooks.client(allow_private=True, verify=_trusting(authority)) as client:
            sent = await webhooks.post(client, url=good.url, secret=SECRET, delivery_id="d-1",
                                       event="agreement.state_changed", body='{"id": "d-1"}',
                                       sent_at=datetime.now(UTC))
            refused = await webhooks.post(client, url=wrong.url, secret=SECRET, delivery_id="d-2",
                                          event="agreement.state_changed", body='{"id": "d-2"}',
                                          sent_at=datetime.now(UTC))
        async with webhooks.client(allow_private=False, verify=_trusting(authority)) as client:
            guarded = await webhooks.post(client, url=good.url, secret=SECRET, delivery_id="d-3",
                                          event="agreement.state_changed", body='{"id": "d-3"}',
                                          sent_at=datetime.now(UTC))
    finally:
        await good.stop()
        await wrong.stop()
    assert (sent.delivered, sent.status) == (True, 200)
    assert good.requests[0].headers["host"] == f"localhost:{good.port}"
    assert not refused.delivered
    assert refused.error is not None
    assert "CERTIFICATE_VERIFY_FAILED" in refused.error
    assert wrong.requests == []
    assert guarded.refused
    assert guarded.error is not None
    assert "localhost is a loopback name" in guarded.error
    assert len(good.requests) == 1



# --- what was stored before -------------------------------------------------------------------

async def test_the_migration_drops_receivers_answers_kept_before(database_url: tuple[str, str | None]) -> None:
    url, search_path = database_url
    migrate.upgrade(url, "0002", search_path=search_path)
    database = Database(url, search_path=search_path)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    try:
        async with database.transaction() as session:
            subscription = WebhookSubscription(url="https://hooks.example.org/accord", secret=SECRET,
                                               events=["agreement.state_changed"], created_at=now)
            session.add(subscription)
            await session.flush()
            assert subscription.id is not None
            for id_, status, error in [("kept-body", 500, "HTTP 500: <html>Traceback: password=hunter2</html>"),
                                       ("connect", None, "ConnectError: [Errno 111] Connection refused"),
                                       ("sent", 200, None)]:
                session.add(WebhookDelivery(id=id_, subscription_id=subscription.id, event="agreement.state_changed",
                                            body="{}", response_status=status, last_error=error, created_at=now,
                                            next_attempt_at=now))
        migrate.upgrade(url, search_path=search_path)
        async with database.transaction(write=False) as session:
            errors = {d.id: d.last_error for d in await session.scalars(select(WebhookDelivery))}
    finally:
        await database.dispose()
    assert errors == {"kept-body": "HTTP 500", "connect": "ConnectError: [Errno 111] Connection refused",
                      "sent": None}

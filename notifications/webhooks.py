"""Webhook POSTs: the stored JSON body, signed, with a delivery id that stays the same on retries.

Headers (Standard Webhooks, https://www.standardwebhooks.com):

    webhook-id: <the delivery row's id>          the same on every retry
    webhook-timestamp: <seconds since the epoch>  when this attempt was sent
    webhook-signature: v1,<base64 HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<body>">

and, for receivers written before them, `X-Accord-Signature: sha256=<hex HMAC-SHA256 of the body>`
(the body alone: a captured delivery can be replayed against it), `X-Accord-Delivery` (= webhook-id)
and `X-Accord-Event`.

The key: a secret given as `whsec_<base64>` (the Standard Webhooks form) signs `webhook-signature`
with the bytes it decodes to, as every Standard Webhooks library reads it; any other secret signs
with its UTF-8 bytes, so a receiver verifies with `Webhook(secret.encode())` or, equally,
`Webhook("whsec_" + base64(secret))`. `X-Accord-Signature` is keyed with the secret's UTF-8 bytes
as before, whatever its form.

A 2xx answer is delivered; 410 Gone disables the subscription; an address that is not public
(notifications.addresses) is refused before connecting and not retried; anything else is retried.
What is kept of a failure is its status code and a short reason, never the receiver's answer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus

import httpx
from standardwebhooks import Webhook

from engine import i18n
from notifications.addresses import AddressRefused, PublicOnlyTransport

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
SECRET_PREFIX = "whsec_"
_BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
_MIN_KEY_BYTES = 16


def signature(body: bytes, secret: str) -> str:
    """`X-Accord-Signature`: the body alone, keyed with the secret's UTF-8 bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def secret_problem(secret: str) -> str | None:
    """What is wrong with a secret in the `whsec_` form (None: it is fine, or not in that form)."""
    if not secret.startswith(SECRET_PREFIX):
        return None
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        decoded = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if not _BASE64.fullmatch(encoded) or len(decoded) < _MIN_KEY_BYTES:
        return i18n.gettext("a secret starting with %(prefix)s is a Standard Webhooks secret: base64 of at least "
                            "%(bytes)s random bytes after the prefix; give one, or a secret without the prefix") % {
            "prefix": SECRET_PREFIX, "bytes": _MIN_KEY_BYTES}
    return None


def standard_webhook(secret: str) -> Webhook:
    """The Standard Webhooks signer for a subscription's secret (see the module's docstring)."""
    if secret.startswith(SECRET_PREFIX) and secret_problem(secret) is None:
        return Webhook(secret)
    return Webhook(secret.encode())


def client(*, allow_private: bool, verify: ssl.SSLContext | bool = True) -> httpx.AsyncClient:
    """The client deliveries go through: no redirects, no proxy from the environment (it would
    bypass the address check), every connection through `PublicOnlyTransport`. `verify`: the
    certificate authorities to trust (default: the system's, through httpx)."""
    return httpx.AsyncClient(transport=PublicOnlyTransport(allow_private=allow_private, verify=verify),
                             follow_redirects=False, trust_env=False)


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    gone: bool = False
    refused: bool = False  # the address is not public: retrying will not help
    status: int | None = None
    error: str | None = None


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "non-standard status"


def _failure(error: httpx.HTTPError) -> str:
    """A short reason, in our words: only errors raised before anything was read from the
    receiver (connection, TLS, timeouts) keep their message, which comes from this side."""
    if isinstance(error, httpx.ConnectError | httpx.TimeoutException):
        return f"{type(error).__name__}: {error}"[:300]
    if isinstance(error, httpx.RemoteProtocolError):
        return "RemoteProtocolError: the receiver's answer was not valid HTTP"
    return f"{type(error).__name__}: the connection failed while sending or reading the answer"


async def post(client: httpx.AsyncClient, *, url: str, secret: str, delivery_id: str, event: str,
               body: str, sent_at: datetime) -> Outcome:
    payload = body.encode()
    sent_at = sent_at.astimezone(UTC)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Accord-Webhooks/1",
        "webhook-id": delivery_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": standard_webhook(secret).sign(delivery_id, sent_at, body),
        "X-Accord-Event": event,
        "X-Accord-Delivery": delivery_id,
        "X-Accord-Signature": signature(payload, secret),
    }
    try:
        # Streamed and closed unread: the answer's body is neither kept nor waited for.
        async with client.stream("POST", url, content=payload, headers=headers, timeout=TIMEOUT) as response:
            status = response.status_code
    except AddressRefused as refused:
        return Outcome(delivered=False, refused=True,
                       error=f"refused: {refused}; webhooks go to public addresses only "
                             "(ACCORD_WEBHOOK_ALLOW_PRIVATE=true allows private ones)"[:300])
    except httpx.HTTPError as error:
        return Outcome(delivered=False, error=_failure(error))
    if 200 <= status < 300:
        return Outcome(delivered=True, status=status)
    if status == 410:
        return Outcome(delivered=False, gone=True, status=410, error="410 Gone: the receiver asked "
                       "to stop; the subscription is disabled")
    return Outcome(delivered=False, status=status, error=f"HTTP {status} {_phrase(status)}")

"""Webhook POSTs: the stored JSON body, signed, with a delivery id that stays the same on retries.

Headers: `X-Accord-Signature: sha256=<hex HMAC-SHA256 of the body with the secret>`,
`X-Accord-Delivery: <the delivery row's id>`, `X-Accord-Event: <event>`.
A 2xx answer is delivered; 410 Gone disables the subscription; anything else is retried.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

import httpx

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    gone: bool = False
    status: int | None = None
    error: str | None = None


async def post(client: httpx.AsyncClient, *, url: str, secret: str, delivery_id: str, event: str,
               body: str) -> Outcome:
    payload = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Accord-Webhooks/1",
        "X-Accord-Event": event,
        "X-Accord-Delivery": delivery_id,
        "X-Accord-Signature": signature(payload, secret),
    }
    try:
        response = await client.post(url, content=payload, headers=headers, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        return Outcome(delivered=False, error=f"{type(error).__name__}: {error}"[:500])
    if response.is_success:
        return Outcome(delivered=True, status=response.status_code)
    if response.status_code == 410:
        return Outcome(delivered=False, gone=True, status=410, error="410 Gone: the receiver asked "
                       "to stop; the subscription is disabled")
    return Outcome(delivered=False, status=response.status_code,
                   error=f"HTTP {response.status_code}: {response.text[:300]}")

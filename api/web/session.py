"""Signed-in sessions for the web pages, and the CSRF token every form carries.

Signing in posts a person's bearer token once (or presses a sign-in link's
button). That opens a `web_session` row (engine/directory/signin.py) and the cookie
`accord_session` then holds, signed with the server's secret (itsdangerous,
timestamped), the session's random key (the database keeps only its hash) and a
random CSRF value. Each request looks the session up: it counts while it is not
ended, not run out, its token not revoked and its person active. Signing out ends
the row, so a kept copy of the cookie is refused; revoking the token or disabling
the person ends it too. The cookie is HttpOnly, SameSite=Lax, and Secure when the
site is served over https.

Forms are POSTs carrying `csrf`: with a session it must equal the session's
value; before sign-in it must equal the `accord_csrf` cookie (double submit).
A page from another site can neither read these values nor set our cookies,
so it cannot forge a write.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.ext.asyncio import AsyncSession

from engine.context import Actor
from engine.directory import signin
from engine.settings import Settings

SESSION_COOKIE = "accord_session"
CSRF_COOKIE = "accord_csrf"
SESSION_SECONDS = int(signin.SESSION_LIFETIME.total_seconds())

log = logging.getLogger("accord.web")

_PROCESS_SECRET = secrets.token_urlsafe(32)


class SignInRequired(Exception):
    """No valid session: the page answers with a redirect to the sign-in form."""


class CsrfRefused(Exception):
    """A form arrived without the CSRF value of this browser's session."""


@dataclass(frozen=True)
class WebSession:
    key: str  # the `web_session` row's key; the row keeps only its hash
    csrf: str


def _secret(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    # Without a configured secret, sessions last as long as this process and do not carry
    # over to other API processes; fine for `make run`, not for a deployment.
    return _PROCESS_SECRET


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(_secret(settings), salt="accord.web.session")


def _secure(request: Request, settings: Settings) -> bool:
    return request.url.scheme == "https" or settings.base_url.startswith("https://")


def read_session(request: Request, settings: Settings) -> WebSession | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw or len(raw) > 1000:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("k"), str) or not isinstance(data.get("c"), str):
        return None
    return WebSession(key=data["k"], csrf=data["c"])


async def session_actor(db: AsyncSession, web: WebSession | None, now: datetime) -> Actor | None:
    """The person of this open session, or None (see the module docstring)."""
    if web is None:
        return None
    return await signin.session_actor(db, web.key, now)


def start_session(response: Response, request: Request, settings: Settings, key: str) -> None:
    """The cookie of the session `engine.directory.signin.open_session` opened with `key`."""
    value = _serializer(settings).dumps({"k": key, "c": secrets.token_urlsafe(24)})
    response.set_cookie(SESSION_COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="lax",
                        secure=_secure(request, settings), path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")


def end_session(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def csrf_value(request: Request, settings: Settings) -> tuple[str, bool]:
    """The CSRF value forms on this page must carry, and whether a fresh `accord_csrf` cookie must be set."""
    web = read_session(request, settings)
    if web is not None:
        return web.csrf, False
    existing = request.cookies.get(CSRF_COOKIE)
    if existing and 20 <= len(existing) <= 100:
        return existing, False
    return secrets.token_urlsafe(24), True


def remember_csrf(response: Response, request: Request, settings: Settings, value: str) -> None:
    response.set_cookie(CSRF_COOKIE, value, max_age=SESSION_SECONDS, httponly=True, samesite="lax",
                        secure=_secure(request, settings), path="/")


def check_csrf(request: Request, settings: Settings, submitted: str | None) -> None:
    web = read_session(request, settings)
    expected = web.csrf if web is not None else request.cookies.get(CSRF_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise CsrfRefused()

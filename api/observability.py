"""Request ids, the access log and HTTP metrics: one pure ASGI middleware around the whole app.

    install(app, settings)   configure logging and wrap the app in `RequestObservability`
    note_person(person_id)   called once the bearer token is checked, for the access line

Each request gets the id its `X-Request-ID` header brings (when it looks like an id) or a new
one; it is sent back in `X-Request-ID` and is in every log line written while the request is
served (engine.logging). The access line (logger `accord.access`) has method, route template,
path, status, duration, request id and person. Metrics are labelled by the route template
(`/api/v1/agreements/{agreement_id}`), never the raw path, so their number stays bounded.

No secret reaches a log line or a label: a path segment that is a credential (a route parameter
named in `SECRET_PARAMS`: the calendar feed's `/feeds/{token}.ics`, the sign-in link's
`/sign-in/link/{token}`) is logged as `[redacted]` (`loggable_path`, also used by the error
reports); a path no route matched has every long, token-like run redacted; the query string
is never logged. uvicorn's own access line, which would carry the raw path and query, is off.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from fastapi import FastAPI
from prometheus_client import Counter, Histogram
from starlette.datastructures import MutableHeaders
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.logging import RequestContext, configure_logging, request_context
from engine.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
# Route parameters that are credentials: their values never reach a log line.
SECRET_PARAMS = frozenset({"token"})
REDACTED = "[redacted]"
# In a path no route matched, a segment this long made of token characters may be a credential.
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-]{16,}")
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"

HTTP_REQUESTS = Counter("accord_http_requests", "HTTP requests by method, route template and status.",
                        ["method", "route", "status"])
HTTP_SECONDS = Histogram(
    "accord_http_request_duration_seconds", "Time from the request's arrival to the end of its response.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

access_log = logging.getLogger("accord.access")


def install(app: FastAPI, settings: Settings) -> None:
    configure_logging(settings)
    build_stack = app.build_middleware_stack

    # Outside Starlette's ServerErrorMiddleware (which `add_middleware` cannot reach), so that a
    # 500 too carries X-Request-ID and is counted, and its error log line has the request id.
    def build_with_observability() -> ASGIApp:
        return RequestObservability(build_stack())

    app.build_middleware_stack = build_with_observability  # type: ignore[method-assign]


def note_person(person_id: int | None) -> None:
    current = request_context.get()
    if current is not None:
        current.person_id = person_id


class RequestObservability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        context = RequestContext(request_id=_request_id(scope))
        token = request_context.set(context)
        status = 500  # what the client gets if the app raises before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = context.request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method = scope["method"] if scope["method"] in _METHODS else "other"
            route = _route_template(scope)
            _counter(method, route, status).inc()
            _histogram(method, route).observe(elapsed)
            access_log.info("%s %s %s %.1f ms", method, route, status, elapsed * 1000,
                            extra={"method": method, "route": route, "path": loggable_path(scope),
                                   "status": status, "duration_ms": round(elapsed * 1000, 3)})
            request_context.reset(token)


# The labelled children, looked up once per label set rather than on every request (routes,
# methods and statuses are bounded, so these stay small).
_counters: dict[tuple[str, str, int], Any] = {}
_histograms: dict[tuple[str, str], Any] = {}


def _counter(method: str, route: str, status: int) -> Any:
    child = _counters.get((method, route, status))
    if child is None:
        child = _counters[(method, route, status)] = HTTP_REQUESTS.labels(method, route, str(status))
    return child


def _histogram(method: str, route: str) -> Any:
    child = _histograms.get((method, route))
    if child is None:
        child = _histograms[(method, route)] = HTTP_SECONDS.labels(method, route)
    return child


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _ACCEPTED_ID.fullmatch(candidate):
                return candidate
            break
    return uuid.uuid4().hex


def _matched_route(scope: Scope) -> Any:
    """The route that answered: FastAPI's route, or the `Mount` whose app served the request (a
    mount leaves no route in the scope, only its app as the endpoint: /docs-assets' files)."""
    route = scope.get("route")
    if route is None and scope.get("endpoint") is not None:
        for candidate in getattr(scope.get("app"), "routes", ()):
            if isinstance(candidate, Mount) and candidate.app is scope["endpoint"]:
                return candidate
    return route


def _route_template(scope: Scope) -> str:
    """The matched route's path with its router's prefix: `/api/v1/agreements/{agreement_id}`."""
    route = _matched_route(scope)
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return UNMATCHED
    # FastAPI keeps an included router's routes with their own path; the prefix is what the
    # request path has in front of it (whole segments: a prefix holds no parameters).
    segments = scope["path"].split("/")
    depth = len(segments) - len(template.split("/"))
    if depth <= 0 or ":path}" in template:
        return template
    return "/".join(segments[: depth + 1]) + template


def loggable_path(scope: Scope) -> str:
    """The request's path as a log may show it: every secret segment replaced by `[redacted]`.

    For a matched route, the values of its `SECRET_PARAMS` parameters; for a path no route
    matched (nothing says which segment is a secret there), every run of 16 or more token
    characters (letters, digits, `-`, `_`)."""
    path: str = scope["path"]
    params = scope.get("path_params") or {}
    if isinstance(getattr(_matched_route(scope), "path", None), str):
        for name, value in params.items():
            if name in SECRET_PARAMS and str(value):
                path = path.replace(str(value), REDACTED)
        return path
    return _TOKEN_LIKE.sub(REDACTED, path)

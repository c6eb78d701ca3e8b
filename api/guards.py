"""What every request and every response goes through, before and after the routes.

`RefuseControlCharacters` refuses, as problem+json, a request whose path or query string holds
a control character (the NUL character, a line break, an escape, ...; `engine.schemas`
`control_character`). No path segment or filter is multi-line, and PostgreSQL text cannot hold
U+0000 at all: such a character would otherwise reach the driver as a database error, or a page
as a broken line. Bodies are checked field by field by the schemas (`engine/schemas.py`); this
checks what comes before the body, for every route (API, pages, feeds), on every database alike.

`NoSniff` adds `X-Content-Type-Options: nosniff` to every response, so that a browser never
reads a CSV export, a calendar feed or an error as something other than its declared type. It
wraps the whole app (`api.app`), outside Starlette's own error middleware, so it reaches every
answer, a 500 included.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine.schemas import control_character

_NOSNIFF = (b"x-content-type-options", b"nosniff")


class RefuseControlCharacters:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            found = _in_path_or_query(scope)
            if found is not None:
                detail = (f"The request's {found}. Accord accepts no control character (the NUL character, "
                          "line breaks, tabs, escapes) in a path or a query string; remove it and send again.")
                body = json.dumps({"type": "about:blank", "title": "Invalid input", "status": 422,
                                   "detail": detail}).encode()
                await send({"type": "http.response.start", "status": 422,
                            "headers": [(b"content-type", b"application/problem+json"),
                                        (b"content-length", str(len(body)).encode())]})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def _in_path_or_query(scope: Scope) -> str | None:
    """Where the first control character is and what it is, or None."""
    found = control_character(scope["path"])
    if found is not None:
        return f"path contains {found}"
    query: bytes = scope["query_string"]
    # As the routes read it: UTF-8, percent-decoded (undecodable bytes are not controls).
    for name, value in parse_qsl(query.decode("utf-8", "replace"), keep_blank_values=True):
        found = control_character(value) or control_character(name)
        if found is not None:
            return f"query parameter {name!r} contains {found}"
    return None


class NoSniff:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_nosniff(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(name.lower() == _NOSNIFF[0] for name, _ in headers):
                    headers.append(_NOSNIFF)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_nosniff)

"""Refuse a request whose path or query string holds the NUL character, as problem+json.

PostgreSQL text cannot hold U+0000: a NUL in a filter (`?q=%00`) or in a path parameter would
reach the driver and come back as a database error. Bodies are checked field by field by the
schemas (engine/schemas.py `Input`); this checks what comes before the body, for every route,
on every database alike.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

_DETAIL = ("The request's path or query string contains the NUL character (%00), which Accord does not "
           "accept anywhere. Remove it and send again.")


class RefuseNul:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and ("\x00" in scope["path"] or b"%00" in scope["query_string"]
                                        or b"\x00" in scope["query_string"]):
            body = json.dumps({"type": "about:blank", "title": "Invalid input", "status": 422,
                               "detail": _DETAIL}).encode()
            await send({"type": "http.response.start", "status": 422,
                        "headers": [(b"content-type", b"application/problem+json"),
                                    (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)

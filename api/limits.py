"""Refuse an oversized request body, as problem+json.

A body announced with a Content-Length over the limit is refused before it is read;
one sent without (chunked) is counted as it arrives and refused when it passes the limit.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    def _too_large(self, size: int) -> str:
        return (f"The request body is {size} bytes or more; at most {self.max_body_bytes} are accepted. "
                "Send less, or split the change into several requests.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _refuse(send, 400, "Bad request", "Content-Length must be a whole number of bytes.")
                return
            if int(length) > self.max_body_bytes:
                await _refuse(send, 413, "Content too large", self._too_large(int(length)))
                return
            await self.app(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_body_bytes:
                raise HTTPException(413, self._too_large(received))
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})

"""Refuse an oversized request body, as problem+json.

A body announced with a Content-Length over the limit is refused before it is read;
one sent without (chunked) is counted as it arrives and refused when it passes the limit.
A document upload (`uploads`, its paths) has a limit of its own: the largest document and room
for the form around it; the file itself is held to the document limit as it is stored
(engine/documents.py).

The refusals are in Accept-Language's language (api/languages.py runs around this), sizes in words
(`engine.documents.size_in_words`: 25 MB, 25 Mo).
"""

from __future__ import annotations

import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import i18n
from engine.documents import size_in_words


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body_bytes: int, uploads: re.Pattern[str] | None = None,
                 max_document_bytes: int = 0) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.uploads = uploads
        self.max_document_bytes = max_document_bytes

    def _limit(self, scope: Scope) -> tuple[int, str]:
        """The most `scope`'s body may be, and what to do about a larger one."""
        if self.uploads is not None and scope["method"] == "POST" and self.uploads.match(scope["path"]):
            return (self.max_document_bytes + self.max_body_bytes,
                    i18n.gettext("A document may be at most %(size)s. Upload a smaller file (a scan at a lower "
                                 "resolution, or the document split in parts).")
                    % {"size": size_in_words(self.max_document_bytes)})
        return self.max_body_bytes, i18n.gettext("Send less, or split the change into several requests.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, advice = self._limit(scope)

        def too_large(size: int) -> str:
            # Exact bytes: rounded, a body one byte over the limit would read as the limit itself.
            return i18n.gettext("The request body is %(size)s or more; at most %(limit)s are accepted.") % {
                "size": _bytes(size), "limit": _bytes(limit)} + " " + advice

        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit():
                await _refuse(send, 400, "Bad request", i18n.gettext("Content-Length must be a whole number of bytes."))
                return
            if int(length) > limit:
                await _refuse(send, 413, "Content too large", too_large(int(length)))
                return
            await self.app(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise HTTPException(413, too_large(received))
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send: Send, status: int, title: str, detail: str) -> None:
    body = json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/problem+json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def _bytes(size: int) -> str:
    return i18n.ngettext("%(num)s byte", "%(num)s bytes", size) % {"num": i18n.format_number(size)}

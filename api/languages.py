"""The API's language: English, unless the request sends `Accept-Language`.

The engine's sentences a person reads in an API answer — a problem's `detail`, its `unmet`
conditions, a history row's `text` — are gettext's (engine/i18n.py), written in the language being
read when they are produced. A request to the API that sends `Accept-Language` naming French or
Spanish is answered in it (and says so in `Content-Language`); without the header, or naming none of
Accord's languages, in English, so that scripts written against the English words keep working.
Machine fields — a problem's `type`, states, event names, field names — are never translated.
The web pages choose their own language (api/web/pages.py, `page_language`), so this sets nothing
for them."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from engine import i18n


class AnswerInTheirLanguage:
    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        asked = (i18n.negotiate(Headers(scope=scope).get("accept-language"))
                 if scope["type"] == "http" and scope["path"].startswith(self.prefix) else None)
        if asked is None:
            await self.app(scope, receive, send)
            return

        async def send_saying_language(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message)["Content-Language"] = asked
            await send(message)

        with i18n.reading(asked):
            await self.app(scope, receive, send_saying_language)

"""Signing in and posting forms as a browser without JavaScript would."""

from __future__ import annotations

import html
import re

import httpx

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found, "the page carries no CSRF value"
    return html.unescape(found.group(1))


async def sign_in(client: httpx.AsyncClient, token: str) -> str:
    """Sign in through the form; returns the CSRF value of the session's forms."""
    form = await client.get("/sign-in")
    assert form.status_code == 200
    answer = await client.post("/sign-in", data={"token": token, "csrf": csrf_of(form.text), "next": "/agreements"})
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/agreements"
    page = await client.get("/agreements")
    assert page.status_code == 200
    return csrf_of(page.text)


def text_of(page: str) -> str:
    """The page's visible words, tags dropped and whitespace squeezed, for `in` checks."""
    without_tags = re.sub(r"<(script|style)[^>]*>.*?</\1>|<[^>]+>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(without_tags)).strip()

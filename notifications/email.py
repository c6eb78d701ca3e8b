"""Mail: rendered from the Jinja2 templates in `templates/`, sent over SMTP or to a local outbox.

`mailer_for(settings)` gives an `SmtpMailer` when `ACCORD_SMTP_URL` is set
(`smtp://[user:password@]host:port`, `smtps://` for TLS from the start), else an
`OutboxMailer` that writes one readable `.eml` file per mail to `ACCORD_OUTBOX_DIR`.

A mailer made with `keep_open=n` (the worker's: n is its wave size) keeps up to n SMTP
connections open between mails and sends the next mails over them, until `close()` (the
worker closes it after each batch); with the default, 0, each mail has a connection of its own.
"""

from __future__ import annotations

import asyncio
import os
import re
from binascii import b2a_qp
from dataclasses import dataclass
from datetime import date, datetime
from email.headerregistry import Address
from email.policy import SMTP
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, Template, select_autoescape

from engine import i18n
from engine.i18n import gettext as _
from engine.i18n import ngettext
from engine.schemas import CONTROL_CHARACTERS
from engine.settings import Settings
from engine.statuses import Language

# Each mail is written in its reader's language (`Mail.language`, engine/i18n.py); the templates'
# words come from the catalogs, the days from `format_day` (the `in_words` filter).
_templates = i18n.install(Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
    auto_reload=False,  # templates ship with the code: no stat() of the file on every mail
))


@dataclass(frozen=True)
class MailItem:
    """One thing a mail tells a person about."""

    title: str
    action: str
    agreement_title: str
    subject_title: str | None
    date_label: str
    date: date
    when_phrase: str
    link: str
    # Why this reader, not the one it concerns, is told (an escalation), in words; None: it is theirs.
    escalation: str | None = None


@dataclass(frozen=True)
class Mail:
    key: str  # stable across retries: the Message-ID and the outbox file name
    to_name: str
    to_address: str
    subject: str
    items: tuple[MailItem, ...]
    # The reader's language (engine/i18n.py): the words of the mail, its Content-Language header.
    language: Language = i18n.SOURCE


def when_phrase(day: date, today: date) -> str:
    """How far `day` is from `today`, in the language being read (`i18n.reading`)."""
    days = (day - today).days
    if days == 0:
        return _("today")
    if days > 0:
        return _("tomorrow") if days == 1 else ngettext("in %(num)s day", "in %(num)s days", days) % {"num": days}
    if days == -1:
        return _("yesterday")
    return ngettext("%(num)s day ago", "%(num)s days ago", -days) % {"num": -days}


@dataclass(frozen=True)
class Rendered:
    """A mail ready for the wire: envelope and the RFC 5322 bytes (CRLF line ends)."""

    key: str
    sender: str
    recipient: str
    data: bytes


@lru_cache(maxsize=1)
def _bodies() -> tuple[tuple[str, Template], ...]:
    """The reminder's parts, compiled once: (MIME subtype, template)."""
    return (("plain", _templates.get_template("reminder.txt")),
            ("html", _templates.get_template("reminder.html")))


# Every header line is made by the standard library's email policy: `header_store_parse` refuses
# a value holding CR or LF (and `Address` an address part holding one), and `fold_binary` folds
# at 78 columns, encodes what is not ASCII (RFC 2047) and ends each line with CRLF. The values
# come from the database (titles, names, addresses), so they are first made one line: whatever
# a row holds, it cannot end a header or start another (a Bcc:, a Reply-To:, a body).
_POLICY = SMTP
# "=_" never occurs in quoted-printable output, so the boundary cannot clash with a body.
_BOUNDARY = "=_accord_alternative"
_CONTROL_RUNS = re.compile(f"(?:{CONTROL_CHARACTERS.pattern})+")


def one_line(text: str) -> str:
    """`text` with each run of control characters (line breaks, tabs, NUL, escapes, C1, the
    Unicode line separators) made one space."""
    return _CONTROL_RUNS.sub(" ", text).strip()


def _header(name: str, value: Any) -> bytes:
    _, parsed = _POLICY.header_store_parse(name, value)
    return _POLICY.fold_binary(name, parsed)


@lru_cache(maxsize=4096)
def _text_header(name: str, value: str) -> bytes:
    """A Subject (the same for every recipient of one reminder), or a fixed header."""
    return _header(name, one_line(value))


@lru_cache(maxsize=4096)
def _address_header(name: str, display_name: str, addr_spec: str) -> tuple[bytes, str]:
    """The header, and the address as the envelope names it. `Address` refuses an address that
    is not one (a CR or LF, a second address after it: a ValueError, and the mail fails)."""
    address = Address(display_name=one_line(display_name), addr_spec=addr_spec)
    return _header(name, address), address.addr_spec


@lru_cache(maxsize=16)
def _sender(mail_from: str) -> tuple[bytes, str]:
    """The From header and the envelope sender of the `mail_from` setting."""
    name, address = parseaddr(mail_from)
    return _address_header("From", name, address or mail_from)


@lru_cache(maxsize=4)
def _date(now: datetime) -> bytes:
    return _header("Date", now)  # every mail of a worker's pass has the pass's instant


@lru_cache(maxsize=1)
def _fixed() -> tuple[bytes, tuple[bytes, ...]]:
    """The headers every reminder has, and the parts' (text, then HTML) own headers."""
    head = b"".join((_text_header("Auto-Submitted", "auto-generated"), _text_header("MIME-Version", "1.0"),
                     _text_header("Content-Type", f'multipart/alternative; boundary="{_BOUNDARY}"')))
    encoding = _text_header("Content-Transfer-Encoding", "quoted-printable")
    parts = tuple(_text_header("Content-Type", f'text/{subtype}; charset="utf-8"') + encoding
                  for subtype, _ in _bodies())
    return head, parts


def _quoted_printable(text: str) -> bytes:
    """The text's UTF-8 quoted-printable, CRLF line ends, no line end after the last line."""
    return b"\r\n".join(b2a_qp(text.encode()).splitlines())


def render(mail: Mail, settings: Settings, now: datetime) -> Rendered:
    """multipart/alternative, text and HTML, both quoted-printable UTF-8.

    Each header comes from the email policy (above); the MIME parts around the bodies are put
    together here: the `email` package's generator costs several milliseconds a mail, which is
    most of a worker pass when a thousand reminders fall due. What repeats (the compiled
    templates, the From line and the fixed headers, a pass's Date, a reminder's Subject, a
    recipient's To) is made once.
    """
    context: dict[str, Any] = {"person_name": mail.to_name, "items": mail.items, "language": mail.language}
    from_header, sender = _sender(settings.mail_from)
    to_header, recipient = _address_header("To", mail.to_name, mail.to_address)
    fixed, part_headers = _fixed()
    parts = [b"".join((from_header, to_header, _text_header("Subject", mail.subject), _date(now),
                       _header("Message-ID", f"<{mail.key}@accord>"),
                       _text_header("Content-Language", mail.language), fixed))]
    with i18n.reading(mail.language):
        for (_subtype, template), headers in zip(_bodies(), part_headers, strict=True):
            parts.append(f"--{_BOUNDARY}\r\n".encode("ascii") + headers)
            parts.append(_quoted_printable(template.render(context)))
    parts.append(f"--{_BOUNDARY}--\r\n".encode("ascii"))
    return Rendered(key=mail.key, sender=sender, recipient=recipient, data=b"\r\n".join(parts))


class Mailer(Protocol):
    async def send(self, mail: Rendered) -> None: ...

    async def close(self) -> None:
        """Let go of what `send` kept for the next mails (open connections); `send` works after."""


class SmtpMailer:
    """Mail over SMTP. `keep_open`: how many connections stay open after a mail, for the next
    mails to reuse (no new TCP connection, EHLO, TLS or login), until `close()` quits them.

    A connection goes back to the pool only in good order: after the server accepted a mail, or
    refused it (a recipient, the sender, the content) and then answered an RSET. One that failed
    any other way (dropped, timed out, a reply out of step) is closed, and the mail fails as it
    would on a connection of its own; the next mail opens a fresh one. The pool is meant to live
    for a batch, not for hours: a relay drops idle connections, and `close()` after each batch
    means a pass never starts on a connection the server has forgotten."""

    def __init__(self, url: str, *, timeout: float = 30.0, keep_open: int = 0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"ACCORD_SMTP_URL must look like smtp://host:port, not {url!r}")
        self.hostname = parts.hostname
        self.use_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.use_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout
        self.keep_open = keep_open
        self._idle: list[aiosmtplib.SMTP] = []

    async def send(self, mail: Rendered) -> None:
        client = self._take_idle() or await self._connect()
        try:
            await client.sendmail(mail.sender, [mail.recipient], mail.data)
        except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException, ValueError):
            # This mail was refused (or its address is unusable, found before anything was
            # sent): the connection may well be fine for the next one.
            await self._reset_or_close(client)
            raise
        except BaseException:  # dropped, timed out, cancelled: its state is unknown
            client.close()
            raise
        await self._release(client)

    async def close(self) -> None:
        """QUIT every idle connection (side by side); a connection in use is not touched."""
        idle, self._idle = self._idle, []
        if idle:
            await asyncio.gather(*(self._quit(client) for client in idle))

    @property
    def idle(self) -> int:
        """The connections kept open for the next mail."""
        return len(self._idle)

    def _take_idle(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            client = self._idle.pop()
            if client.is_connected:  # the server may have closed it meanwhile
                return client
            client.close()
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        """Connected, and TLS and login done as the URL asks (as `aiosmtplib.send` would)."""
        client = aiosmtplib.SMTP(
            hostname=self.hostname, port=self.port, use_tls=self.use_tls,
            start_tls=False if self.use_tls else None, username=self.username,
            password=self.password, timeout=self.timeout)
        await client.connect()  # closes what it opened if it fails
        return client

    async def _release(self, client: aiosmtplib.SMTP) -> None:
        if client.is_connected and len(self._idle) < self.keep_open:
            self._idle.append(client)
        else:
            await self._quit(client)

    async def _reset_or_close(self, client: aiosmtplib.SMTP) -> None:
        """After a refusal: kept if the server answers an RSET (a 421 refusal already closed
        it), else closed. Never raises: the refusal is what the caller hears about."""
        if not (client.is_connected and self.keep_open):
            await self._quit(client)
            return
        try:
            await client.rset()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
            return
        except BaseException:
            client.close()
            raise
        await self._release(client)

    @staticmethod
    async def _quit(client: aiosmtplib.SMTP) -> None:
        try:
            if client.is_connected:
                await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass  # it is being closed anyway
        finally:
            client.close()


class OutboxMailer:
    """Mail as files: `make run` works offline and an operator can read what would have gone."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    async def send(self, mail: Rendered) -> None:
        """Written in place under the mail's key: a mail sent again (its outcome was never
        recorded) replaces its own file rather than adding a copy."""
        path = os.path.join(self.directory, f"{mail.key}.eml")
        try:
            descriptor = os.open(path, _CREATE, 0o666)
        except FileNotFoundError:  # the first mail, or the folder was removed meanwhile
            self.directory.mkdir(parents=True, exist_ok=True)
            descriptor = os.open(path, _CREATE, 0o666)
        try:
            data = memoryview(mail.data)
            while data:
                data = data[os.write(descriptor, data):]
        finally:
            os.close(descriptor)

    async def close(self) -> None:
        """Nothing is kept open between mails."""


_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)


def mailer_for(settings: Settings, *, keep_open: int = 0) -> Mailer:
    """`keep_open`: SMTP connections kept open between mails until `close()` (see SmtpMailer)."""
    if settings.smtp_url:
        return SmtpMailer(settings.smtp_url, keep_open=keep_open)
    return OutboxMailer(settings.outbox_dir)

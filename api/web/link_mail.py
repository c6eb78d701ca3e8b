"""The sign-in link mail: issued and sent off the request path, from `notifications/templates/sign_in_link.*`.

`dispatch` hands the address to a task of its own, with its own database session, and returns
at once: the page answers the same, in the same time, for every address, because the request
itself never looks the address up. The task looks the person up, writes the link (per-person
limit, `engine.directory.signin.request_link`), commits, and sends the mail with a few quick retries; a
mail that still cannot be sent is logged, and the person asks for a new link.

The link's token exists only in this mail (the database keeps its hash), so the mail is not an
outbox row of the `notification` table: that row would have to keep the token readable until the
worker sends it, and a notification belongs to an agreement. A process stopped gracefully
waits for its tasks (`settle`, from the app's lifespan); one killed loses the mails it had not
sent, and those people ask again.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid, parseaddr
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from engine import i18n
from engine.db import Database
from engine.directory import signin
from engine.directory.signin import IssuedLink
from engine.schedule import zone
from engine.settings import Settings
from notifications.email import Mailer, Rendered, mailer_for, one_line

log = logging.getLogger("accord.web")

SUBJECT = i18n.N_("Your Accord sign-in link")
# Where signing in leads unless the link was asked for on the way to another page.
HOME = "/agreements"
ATTEMPTS = 3

_templates = i18n.install(Environment(
    loader=PackageLoader("notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
))


def link_url(settings: Settings, token: str, then: str = HOME) -> str:
    """The link, and the page (a path of this site) it leads to once signed in, if not the list."""
    url = f"{settings.base_url.rstrip('/')}/sign-in/link/{token}"
    return url if then == HOME else f"{url}?{urlencode({'next': then}, safe='/')}"


def compose(link: IssuedLink, settings: Settings, now: datetime, then: str = HOME) -> Rendered:
    language = i18n.language_of(link.language, None, settings.default_language)
    with i18n.reading(language):
        return _compose(link, settings, now, then, language)


def _compose(link: IssuedLink, settings: Settings, now: datetime, then: str, language: str) -> Rendered:
    expires = link.expires_at.astimezone(zone(link.zone))
    context = {"person_name": link.name, "link": link_url(settings, link.token, then), "language": language,
               "expires": i18n.gettext("%(day)s at %(time)s (%(zone)s)") % {
                   "time": f"{expires:%H:%M}", "day": i18n.format_day(expires.date()), "zone": link.zone}}
    # Headers from the email policy's own types; names made one line, whatever the database holds.
    sender_name, sender = parseaddr(settings.mail_from)
    recipient = Address(display_name=one_line(link.name), addr_spec=link.email)
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=one_line(sender_name), addr_spec=sender or settings.mail_from)
    message["To"] = recipient
    message["Subject"] = i18n.gettext(SUBJECT)
    message["Date"] = now
    message["Message-ID"] = make_msgid(f"accord-sign-in-{link.id}", domain="accord")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_templates.get_template("sign_in_link.txt").render(context), cte="quoted-printable")
    message.add_alternative(_templates.get_template("sign_in_link.html").render(context), subtype="html",
                            cte="quoted-printable")
    message["Content-Language"] = language  # after the parts: setting content clears Content-* headers
    return Rendered(key=f"accord-sign-in-{link.id}", sender=sender or settings.mail_from,
                    recipient=recipient.addr_spec, data=message.as_bytes())


async def send(mailer: Mailer, mail: Rendered, *, pause: float = 1.0) -> bool:
    """Send, trying again briefly; False (and logged) if every attempt failed. Never raises."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            await mailer.send(mail)
            return True
        except Exception as failure:  # refused, unreachable, timed out: the page has already answered
            log.warning("sign-in link mail %s, attempt %s of %s, failed: %s", mail.key, attempt, ATTEMPTS,
                        failure)
            if attempt < ATTEMPTS:
                await asyncio.sleep(pause * attempt)
    return False


# The tasks issuing and sending links in this process: kept so that none is collected mid-way,
# and so that `settle` can wait for them.
_running: set[asyncio.Task[None]] = set()


def dispatch(database: Database, settings: Settings, email: str, now: datetime, then: str = HOME) -> None:
    """Issue and send a link for `email` (if it is a person's), after this returns; signing in
    with it leads to `then`, a path of this site the caller checked (`pages.safe_next`)."""
    task = asyncio.create_task(_issue_and_send(database, settings, email, now, then), name="accord-sign-in-link")
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _issue_and_send(database: Database, settings: Settings, email: str, now: datetime, then: str) -> None:
    try:
        async with database.transaction() as session:
            link = await signin.request_link(session, email, now)
        if link is not None:  # an unknown or disabled address, or over the limit: nothing to send
            await send(mailer_for(settings), compose(link, settings, now, then))
    except Exception:  # the page has answered long ago; the person asks again
        log.exception("a sign-in link could not be issued")


async def settle() -> None:
    """Once every link this event loop is issuing or sending is done (shutdown, tests)."""
    loop = asyncio.get_running_loop()
    while pending := [task for task in _running if task.get_loop() is loop]:
        await asyncio.gather(*pending, return_exceptions=True)

"""Which language a reader reads, and Accord's words, days and numbers in it.

One translation system for pages, mail and feeds: gettext catalogs kept with Babel in
`engine/locales/<language>/LC_MESSAGES/messages.po` (extracted from the templates and the code by
`make messages`, compiled to `.mo` by `make catalogs`, which `make install`, `make run` and
`make test` run; `.mo` files are never committed), read with the standard library's `gettext`.
English is the source language: its words are the message ids, so it has no catalog.

Whose language (`language_of`): the person's own `language`, else their organisation's, else
`ACCORD_DEFAULT_LANGUAGE` (engine/settings.py). The pages add two steps in front (api/web/pages.py):
the language chosen with the switch on every page (a cookie), and before sign-in the browser's
`Accept-Language` (`negotiate`).

Templates use Jinja2's i18n extension (`{% trans %}`, `_()`, newstyle gettext: `%(name)s`
placeholders are filled and escaped by Jinja). Every page and mail shares one `Environment` per
template folder, so the language is not installed into it per request — two requests rendering at
once in French and Spanish would see each other's. `install` gives the environment callables that
translate into the language of the render in progress, which `reading(language)` sets for the
current task or thread only (a `ContextVar`), and the `in_words`, `marked` and `format_number` filters.

Days: every day a page or a mail shows goes through `format_day` (the templates' `in_words`
filter), one long format in the reader's language — "23 November 2026", "23 novembre 2026",
"23 de noviembre de 2026" — so a page never mixes two ways of writing a day. The engine's own
sentences (history lines, unmet conditions, refusals, errors' `detail`) write theirs with
`engine.workflow.rules.sentence_day`: the engine's short English "23 Nov 2026" in English, the
reader's way in another language.

The engine's sentences are the catalogs' too, translated where they are written: the language being
read is set for a whole page request (api/web/pages.py, `WebRoute`), for an API request that sends
`Accept-Language` (api/languages.py), and for each recipient of a mail. An error records the
language its `detail` was written in (engine/errors.py), so that `marked` tags with `lang` only a
sentence that really is in another language than the page's.
"""

from __future__ import annotations

import gettext as gettext_module
import os
import tempfile
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import date
from functools import cache
from pathlib import Path
from typing import IO, Any

import yaml
from babel import Locale, negotiate_locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from jinja2 import Environment
from markupsafe import Markup, escape

from engine.statuses import Language

LOCALES = Path(__file__).parent / "locales"
DOMAIN = "messages"
SOURCE = Language.EN
# The Babel locale each language's days and numbers are written in: English as the secretariats of
# Metropolis and UCLG write it (6 April 2019), French and Spanish as in France and Spain.
_LOCALES = {Language.EN: "en_GB", Language.FR: "fr_FR", Language.ES: "es_ES"}
# Each language's name in itself, for the language switch.
NAMES = {language: str(Locale.parse(_LOCALES[language]).language_name).capitalize() for language in Language}

_SPOKEN = frozenset(Language)
_reading: ContextVar[Language] = ContextVar("accord_language", default=SOURCE)


class CatalogMissing(RuntimeError):
    """A language's compiled catalog (`.mo`) is not there: `make catalogs` was not run."""


@cache
def translations(language: Language) -> gettext_module.NullTranslations:
    """The compiled catalog of `language` (none for English, the source language)."""
    if language == SOURCE:
        return gettext_module.NullTranslations()
    try:
        return gettext_module.translation(DOMAIN, LOCALES, languages=[language])
    except FileNotFoundError as missing:
        raise CatalogMissing(f"The {language} catalog is not compiled: run `make catalogs` (pybabel compile "
                             f"-d {LOCALES} -D {DOMAIN}).") from missing


def compile_catalogs() -> list[Path]:
    """Each catalog compiled into the `.mo` that `translations` reads, as `pybabel compile` does
    (`make catalogs`); each file replaced whole, so a reader never sees half of one."""
    written = []
    for source in sorted(LOCALES.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        with source.open("rb") as po:
            catalog = read_po(po, locale=source.parent.parent.name)
        target = source.with_suffix(".mo")
        descriptor, temporary = tempfile.mkstemp(dir=source.parent, suffix=".mo.tmp")
        with os.fdopen(descriptor, "wb") as mo:
            write_mo(mo, catalog)
        os.replace(temporary, target)
        written.append(target)
    translations.cache_clear()
    return written


def language_of(person: str | None, organisation: str | None, default: Language) -> Language:
    """A person's language: their own, else their organisation's, else the default."""
    for chosen in (person, organisation):
        if chosen in _SPOKEN:
            return Language(chosen)
    return default


def known(value: str | None) -> Language | None:
    """`value` if it names a language Accord speaks, else None (a cookie or query may hold anything)."""
    return Language(value) if value in _SPOKEN else None


def negotiate(accept_language: str | None) -> Language | None:
    """The language an `Accept-Language` header prefers among Accord's, or None if it names none
    of them. Ranges are taken by their quality (`q=`), the first of equals first; `*` is ignored."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if tag and tag != "*" and quality > 0:
            ranked.append((-quality, position, tag.strip()))
    preferred = [tag for _, _, tag in sorted(ranked)]
    chosen = negotiate_locale(preferred, list(Language), sep="-") or negotiate_locale(
        [tag.split("-")[0] for tag in preferred], list(Language), sep="-")
    return known(chosen)


@contextmanager
def reading(language: Language) -> Iterator[Language]:
    """Within this block, `gettext` and the filters of this task or thread speak `language`."""
    token = _reading.set(language)
    try:
        yield language
    finally:
        _reading.reset(token)


def current() -> Language:
    return _reading.get()


def gettext(message: str) -> str:
    return translations(current()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations(current()).ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """`message` as meant in `context` (a button's "Name" is not a column's)."""
    return translations(current()).pgettext(context, message)


def N_(message: str) -> str:
    """Marks `message` for the catalog where it is written (a table of labels); `gettext` it where
    it is read."""
    return message


def NP_(context: str, message: str) -> str:
    """Marks `message`, as meant in `context`, for the catalog where it is written (`make messages`
    extracts it with its context: `-k NP_:1c,2`); `pgettext(context, message)` it where it is read."""
    return message


class Later:
    """A message translated when it is shown, into the language being read then: for words a page
    handler puts into the context before the page's language is set (`render`)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __str__(self) -> str:
        return gettext(self.message)

    def __html__(self) -> str:
        return str(escape(str(self)))


def format_day(day: date | None, language: Language | None = None) -> str:
    """A day as the reader writes it: 6 April 2019, 6 avril 2019, 6 de abril de 2019."""
    if day is None:
        return ""
    return format_date(day, format="long", locale=_LOCALES[language or current()])


class Foreign:
    """Words in `language`, which need not be the page's: a library's own English (Starlette's
    "Method Not Allowed"), shown as it is and marked as such (`marked`)."""

    def __init__(self, detail: str, language: Language = SOURCE) -> None:
        self.detail, self.language = detail, language

    def __str__(self) -> str:
        return self.detail


def marked(text: str | Later | Any | None) -> str | Later | Markup | None:
    """`text` marked with its language (`<span lang="en">`) when it is not the page's, so that a
    screen reader says it in its own language (the templates' `marked` filter). `text` is a
    sentence of the catalogs, written in the page's language; or an error of the engine
    (engine/errors.py), which knows the language its `detail` was written in; or `Foreign` words."""
    said_in = getattr(text, "language", None) or current()
    sentence = getattr(text, "detail", text)
    if not sentence or isinstance(sentence, Later) or current() == said_in:
        return sentence
    return Markup('<span lang="%s">%s</span>') % (said_in, sentence)


def format_number(number: float, language: Language | None = None) -> str:
    """A number as the reader writes it: 1,234.5, 1 234,5, 1234,5."""
    return format_decimal(number, locale=_LOCALES[language or current()])


def extract_workflow(fileobj: IO[bytes], keywords: Collection[str], comment_tags: Collection[str],
                     options: dict[str, Any]) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Babel's extraction method for the workflow files (babel.cfg, `[workflow: workflows/*.yaml]`):
    their reminders' title and words, so that the catalogs translate them like any other string and
    the mails `gettext` them. The states', events' and workflow's own names are not here: each file
    carries them in every language (`labels`, `titles`; workflows/definition.py) and the pages,
    mails and diagrams read them from it (`WorkflowSpec.label_of`). Only these trusted files' words
    go through `_()` in a template, never what people type."""
    spec = yaml.safe_load(fileobj) or {}
    texts = [reminder.get(key) for reminder in spec.get("reminders") or ()
             for key in ("title", "action", "partner_action")]
    for text in texts:
        if isinstance(text, str) and text:
            yield 0, None, text, []


def install(environment: Environment) -> Environment:
    """`environment` with Jinja2's i18n extension translating into the language being read, and the
    `in_words` (a day: `format_day`), `marked` and `format_number` filters."""
    environment.add_extension("jinja2.ext.i18n")
    environment.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=gettext, ngettext=ngettext, newstyle=True, pgettext=pgettext)
    environment.filters["in_words"] = format_day
    environment.filters["marked"] = marked
    environment.filters["format_number"] = format_number
    return environment

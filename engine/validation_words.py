"""pydantic's refusals in the reader's language.

pydantic has no catalog of its own: its messages ("Field required", "String should have at most 300
characters") are English. `describe` says one refusal (one item of `ValidationError.errors()`) in the
language being read (engine/i18n.py, `reading`): in English, pydantic's own message, unchanged, so
that API clients written against it keep working; in French and Spanish, a sentence of the catalogs
made from the refusal's `ctx` (the limit, the values expected). Our own validators' refusals
(engine/schemas.py, type `value_error`) are already in that language: they were written by gettext
when the input was validated; `describe` only drops pydantic's "Value error, " in front of them.
A refusal of a kind not listed here keeps pydantic's message.

The API's problem+json (api/problems.py) and the pages (api/web/pages.py) show these sentences
beside the field they name; field names themselves are never translated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic_core import ErrorDetails

from engine import i18n

_VALUE_ERROR = "Value error, "
_EMAIL = "value is not a valid email address"


def _number(value: Any) -> str:
    return i18n.format_number(value) if isinstance(value, int | float) and not isinstance(value, bool) else str(value)


def _one_of(expected: Any) -> str:
    """pydantic's list of what was expected ("'a', 'b' or 'c'") with the reader's "or"."""
    head, _, last = str(expected).rpartition(" or ")
    if not head:
        return str(expected)
    return i18n.gettext("%(choices)s or %(last)s") % {"choices": head, "last": last}


def _limit(ctx: Mapping[str, Any], key: str) -> dict[str, Any]:
    """The refusal's numbers as the reader writes them (1 234), for its sentence's placeholders."""
    return {name: _number(value) for name, value in ctx.items() if name in (key, "actual_length")}


def _object(ctx: Mapping[str, Any]) -> str:
    return i18n.gettext("Input should be an object: fields and their values")


def _day(ctx: Mapping[str, Any]) -> str:
    return i18n.gettext("Input should be a valid date, written YYYY-MM-DD, such as 2026-12-01")


# By pydantic's error type: the sentence in the language being read, from the refusal's ctx.
_SAYINGS: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "missing": lambda ctx: i18n.gettext("Field required"),
    "string_type": lambda ctx: i18n.gettext("Input should be a valid string"),
    "string_too_short": lambda ctx: i18n.ngettext(
        "String should have at least %(min_length)s character", "String should have at least %(min_length)s characters",
        int(ctx["min_length"])) % _limit(ctx, "min_length"),
    "string_too_long": lambda ctx: i18n.ngettext(
        "String should have at most %(max_length)s character", "String should have at most %(max_length)s characters",
        int(ctx["max_length"])) % _limit(ctx, "max_length"),
    "string_pattern_mismatch": lambda ctx: i18n.gettext("String should match the pattern %(pattern)s")
    % {"pattern": ctx["pattern"]},
    "int_type": lambda ctx: i18n.gettext("Input should be a valid integer"),
    "int_parsing": lambda ctx: i18n.gettext("Input should be a valid integer, written with digits only"),
    "int_from_float": lambda ctx: i18n.gettext("Input should be a whole number, without a fractional part"),
    "int_parsing_size": lambda ctx: i18n.gettext("Input should be a whole number small enough to store"),
    "greater_than": lambda ctx: i18n.gettext("Input should be greater than %(gt)s") % {"gt": _number(ctx["gt"])},
    "greater_than_equal": lambda ctx: i18n.gettext("Input should be greater than or equal to %(ge)s")
    % {"ge": _number(ctx["ge"])},
    "less_than": lambda ctx: i18n.gettext("Input should be less than %(lt)s") % {"lt": _number(ctx["lt"])},
    "less_than_equal": lambda ctx: i18n.gettext("Input should be less than or equal to %(le)s")
    % {"le": _number(ctx["le"])},
    "bool_type": lambda ctx: i18n.gettext("Input should be true or false"),
    "bool_parsing": lambda ctx: i18n.gettext("Input should be true or false (or yes or no, 1 or 0)"),
    "literal_error": lambda ctx: i18n.gettext("Input should be %(expected)s") % {"expected": _one_of(ctx["expected"])},
    "enum": lambda ctx: i18n.gettext("Input should be %(expected)s") % {"expected": _one_of(ctx["expected"])},
    "list_type": lambda ctx: i18n.gettext("Input should be a list"),
    "too_long": lambda ctx: i18n.ngettext(
        "List should have at most %(max_length)s item, not %(actual_length)s",
        "List should have at most %(max_length)s items, not %(actual_length)s",
        int(ctx["max_length"])) % _limit(ctx, "max_length"),
    "too_short": lambda ctx: i18n.ngettext(
        "List should have at least %(min_length)s item, not %(actual_length)s",
        "List should have at least %(min_length)s items, not %(actual_length)s",
        int(ctx["min_length"])) % _limit(ctx, "min_length"),
    "url_type": lambda ctx: i18n.gettext("Input should be a web address, such as https://www.example.org/"),
    "url_parsing": lambda ctx: i18n.gettext("Input should be a valid web address, such as https://www.example.org/"),
    "url_scheme": lambda ctx: i18n.gettext("The web address should start with %(expected_schemes)s")
    % {"expected_schemes": _one_of(ctx["expected_schemes"])},
    "url_too_long": lambda ctx: i18n.ngettext(
        "URL should have at most %(max_length)s character", "URL should have at most %(max_length)s characters",
        int(ctx["max_length"])) % _limit(ctx, "max_length"),
    "json_invalid": lambda ctx: i18n.gettext("Input should be valid JSON"),
    "json_type": lambda ctx: i18n.gettext("Input should be valid JSON"),
}
_SAYINGS.update(dict.fromkeys(("model_type", "model_attributes_type", "dict_type"), _object))
_SAYINGS.update(dict.fromkeys(("date_type", "date_parsing", "date_from_datetime_parsing",
                               "date_from_datetime_inexact"), _day))

UNKNOWN_FIELD = i18n.N_("unknown field; remove it or check its spelling")


def describe(error: ErrorDetails | Mapping[str, Any]) -> str:
    """The sentence for one pydantic refusal, in the language being read: pydantic's own message in
    English (without "Value error, "), our sentence in French and Spanish; a field sent that the
    input does not have is said the API's way in every language."""
    message = str(error.get("msg", "invalid")).removeprefix(_VALUE_ERROR)
    kind = error.get("type")
    if kind == "extra_forbidden":
        return i18n.gettext(UNKNOWN_FIELD)
    if i18n.current() == i18n.SOURCE:
        return message
    ctx = error.get("ctx") or {}
    if kind == "value_error":
        if "reason" in ctx and message.startswith(_EMAIL):
            return i18n.gettext("value is not a valid email address; write it as name@example.org")
        return message  # ours: written in the language being read when it was raised
    say = _SAYINGS.get(str(kind))
    if say is None:
        return message
    try:
        return say(ctx)
    except (KeyError, TypeError, ValueError):  # a ctx not as expected: pydantic's words rather than none
        return message


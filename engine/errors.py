"""The engine's errors. Each class carries what an answer about it says: its HTTP `status`, its
`title` and its problem `type` (RFC 9457), so `api.problems` (problem+json) and the pages
(`api.web.pages`) render every error from the class alone, with no table of their own.

A problem `type` is an absolute URI, `https://accord.example/problems/<slug>`: a stable
identifier a client may switch on, not a page to fetch. A subclass keeps its parent's status
and title unless it says otherwise; its own type says what is different about it.

    AccordError
    ├── NotFound               -> 404  not-found               the thing does not exist, or is outside
    │                                                          the caller's reach
    ├── NotPermitted           -> 403  not-permitted           the caller may see it but may not do this
    ├── TransitionNotAllowed   -> 409  transition-not-allowed  the event is not allowed in the current state
    ├── Conflict               -> 409  conflict                a concurrent writer got there first, or a
    │   │                                                      duplicate
    │   ├── StaleVersion       -> 409  stale-version           compare-and-set on `version` failed: another
    │   │                                                      write won (412 precondition-failed when the
    │   │                                                      request's If-Match named a version: see
    │   │                                                      api.problems)
    │   └── AmendmentConflict  -> 409  amendment-conflict      an amendment's merge refused: what it changes
    │                                                          changed on the agreement since its draft
    ├── PreconditionFailed     -> 412  precondition-failed     If-Match names no current version (stale, or
    │                                                          cannot match)
    ├── GuardFailed            -> 422  guard-failed            one or more guards are unmet; `unmet` lists
    │                                                          each sentence
    ├── InvalidInput           -> 422  invalid-input           a field is invalid in a way the schema cannot say
    ├── TooLarge               -> 413  too-large               an uploaded document is over the size limit
    └── UnsupportedType        -> 415  unsupported-type        an uploaded document is not of an allowed
                                                               type, or its content is not what its name says
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from engine.i18n import N_, current, gettext

PROBLEM_TYPES = "https://accord.example/problems/"


def problem_type(slug: str) -> str:
    """The problem `type` URI of `slug`."""
    return PROBLEM_TYPES + slug


class AccordError(Exception):
    """Base of every error the engine raises on purpose; never raised itself.

    Every class that derives from it directly sets `status`, `title` and `type`
    (checked when the class is defined)."""

    status: ClassVar[int]
    title: ClassVar[str]  # marked for the catalogs (`N_`): the pages say it in their language, the API in English
    type: ClassVar[str]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in ("status", "title", "type") if not hasattr(cls, name)]
        if missing:
            raise TypeError(f"{cls.__name__} must set {', '.join(missing)}")

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail
        # The language `detail` is written in: the one being read where the error was raised, as
        # every detail is a sentence of the catalogs (tests/test_architecture.py checks that none is
        # typed as a bare literal). A page in another language marks it (engine.i18n.marked).
        self.language = current()


class NotFound(AccordError):
    status, title, type = 404, N_("Not found"), problem_type("not-found")


class NotPermitted(AccordError):
    status, title, type = 403, N_("Not permitted"), problem_type("not-permitted")


class TransitionNotAllowed(AccordError):
    status, title, type = 409, N_("Event not allowed in this state"), problem_type("transition-not-allowed")

    def __init__(self, event: str, state: str, allowed: list[str], *, event_labels: Mapping[str, str] | None = None,
                 state_labels: Mapping[str, str] | None = None) -> None:
        """The detail says events and states by their workflow's labels when given ("Sign",
        "pending signature"), as a page shows it; the names stay in `event`, `state` and `allowed`
        (the API's problem carries them as `state` and `allowed_events`)."""
        events, states = event_labels or {}, state_labels or {}
        allowed_text = ", ".join(events.get(e, e) for e in allowed) if allowed else gettext("none")
        super().__init__(gettext(
            "%(event)s is not possible while the agreement is %(state)s. Possible now: %(allowed)s.") % {
            "event": events.get(event, event), "state": states.get(state, state).lower(), "allowed": allowed_text})
        self.event = event
        self.state = state
        self.allowed = allowed


class Conflict(AccordError):
    status, title, type = 409, N_("Conflict"), problem_type("conflict")


class StaleVersion(Conflict):
    type = problem_type("stale-version")

    def __init__(self, expected: int) -> None:
        super().__init__(gettext(
            "The agreement changed while this request was being handled (it is no longer at "
            "version %(version)s). Reload it and try again.") % {"version": expected})
        self.expected = expected


class AmendmentConflict(Conflict):
    """An amendment's merge refused: `fields` (diff paths) changed on the agreement since the
    version it was drafted on. The amendment goes back to draft with a fresh diff."""

    type = problem_type("amendment-conflict")

    def __init__(self, number: int, fields: list[str]) -> None:
        super().__init__(gettext(
            "Amendment %(number)s was not merged: since it was drafted, the agreement changed in "
            "%(fields)s, which it changes too. It is back in draft with its diff against the agreement as "
            "it is now; review it and submit it for signature again.") % {
            "number": number, "fields": ", ".join(fields)})
        self.fields = fields


class PreconditionFailed(AccordError):
    """`given` is the If-Match as sent; `cannot_match`: it names no version at all (malformed,
    or tags this API never gives out), rather than a version that is no longer current."""

    status, title, type = 412, N_("Precondition failed"), problem_type("precondition-failed")

    def __init__(self, given: str, current_version: int, *, cannot_match: bool = False) -> None:
        shown = given if len(given) <= 40 else given[:40] + "…"
        if cannot_match:
            detail = gettext(
                "If-Match %(given)s cannot match: this API's ETags are the agreement's version in quotes, like "
                "\"%(version)s\" (the current one); W/\"%(version)s\", a comma-separated list of them and * are "
                "accepted too. Nothing was changed.")
        else:
            detail = gettext(
                "If-Match %(given)s does not match the current version %(version)s; nothing was changed. Reload "
                "the agreement (its ETag is \"%(version)s\") and decide again.")
        super().__init__(detail % {"given": shown, "version": current_version})
        self.current = current_version


class GuardFailed(AccordError):
    status, title, type = 422, N_("Conditions not met"), problem_type("guard-failed")

    def __init__(self, event: str, unmet: list[str], *, named: str | None = None) -> None:
        """`named`: the event as the sentence says it (its workflow label in the language being
        read, as the unmet conditions it quotes are); else its name, spaced."""
        super().__init__(gettext("Cannot %(event)s: %(unmet)s") % {"event": named or event.replace("_", " "),
                                                                    "unmet": " ".join(unmet)})
        self.event = event
        self.unmet = unmet


class InvalidInput(AccordError):
    status, title, type = 422, N_("Invalid input"), problem_type("invalid-input")

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class TooLarge(AccordError):
    status, title, type = 413, N_("Content too large"), problem_type("too-large")


class UnsupportedType(AccordError):
    status, title, type = 415, N_("Unsupported media type"), problem_type("unsupported-type")

"""The engine's errors; `api.problems` alone maps them to HTTP.

    AccordError
    ├── NotFound               -> 404  the thing does not exist, or is outside the caller's reach
    ├── NotPermitted           -> 403  the caller may see it but may not do this
    ├── TransitionNotAllowed   -> 409  the event is not allowed in the current state
    ├── Conflict               -> 409  a concurrent writer got there first, or a duplicate
    │   └── StaleVersion       -> 409  compare-and-set on `version` failed: another write won
    │                                  (412 when the request's If-Match named a version: see api.problems)
    ├── PreconditionFailed     -> 412  If-Match names no current version (stale, or cannot match)
    ├── GuardFailed            -> 422  one or more guards are unmet; `unmet` lists each sentence
    └── InvalidInput           -> 422  a field is invalid in a way the schema cannot say
"""

from __future__ import annotations


class AccordError(Exception):
    """Base of every error the engine raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFound(AccordError):
    pass


class NotPermitted(AccordError):
    pass


class TransitionNotAllowed(AccordError):
    def __init__(self, event: str, state: str, allowed: list[str]) -> None:
        allowed_text = ", ".join(allowed) if allowed else "none"
        super().__init__(
            f"Event '{event}' is not allowed while the agreement is '{state}'. "
            f"Events allowed now: {allowed_text}."
        )
        self.event = event
        self.state = state
        self.allowed = allowed


class Conflict(AccordError):
    pass


class StaleVersion(Conflict):
    def __init__(self, expected: int) -> None:
        super().__init__(
            f"The agreement changed while this request was being handled (it is no longer at "
            f"version {expected}). Reload it and try again."
        )
        self.expected = expected


class PreconditionFailed(AccordError):
    """`given` is the If-Match as sent; `cannot_match`: it names no version at all (malformed,
    or tags this API never gives out), rather than a version that is no longer current."""

    def __init__(self, given: str, current: int, *, cannot_match: bool = False) -> None:
        shown = given if len(given) <= 40 else given[:40] + "…"
        if cannot_match:
            detail = (f"If-Match {shown} cannot match: this API's ETags are the agreement's version "
                      f"in quotes, like \"{current}\" (the current one); W/\"{current}\", a "
                      "comma-separated list of them and * are accepted too. Nothing was changed.")
        else:
            detail = (f"If-Match {shown} does not match the current version {current}; nothing was "
                      f"changed. Reload the agreement (its ETag is \"{current}\") and decide again.")
        super().__init__(detail)
        self.current = current


class GuardFailed(AccordError):
    def __init__(self, event: str, unmet: list[str]) -> None:
        super().__init__(f"Cannot {event.replace('_', ' ')}: " + " ".join(unmet))
        self.event = event
        self.unmet = unmet


class InvalidInput(AccordError):
    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field

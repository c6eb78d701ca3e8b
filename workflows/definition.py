"""The shape of a workflow file, as pydantic models.

A workflow file is YAML with `name`, `version`, `initial`, `states`, `events`,
`transitions`, and optionally `timers` and `reminders`. Names of guards, effects,
branch conditions and dates refer to the engine's registry; `workflows.loader`
checks them against the names it is given.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator


class EventActor(StrEnum):
    """Who may fire an event: `staff` (a person: the staff of a party, or an administrator) or the
    `scheduler` (the worker, on a timer's day)."""

    STAFF = "staff"
    SCHEDULER = "scheduler"


Identifier = str
_ONE_OR_MANY = {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}]}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Labels(_Strict):
    """A workflow file's words (a state's or event's label, the workflow's title) in each language
    the pages and mails speak (engine/i18n.py, LANGUAGES): the file carries them all, and the loader
    refuses one that lacks any, so that no reader meets a state in a language they did not choose.
    A fourth language is a new field here, and its words in every workflow file."""

    en: str = Field(min_length=1)
    fr: str = Field(min_length=1)
    es: str = Field(min_length=1)

    def of(self, language: str) -> str:
        """The words in `language` (a code of engine/i18n.py's LANGUAGES)."""
        return str(getattr(self, language))


class StateSpec(_Strict):
    """A state, and what the engine must know of it (it never names a workflow's states).

    `final`: nothing leaves it. `editable`: the terms may change (parties, dates, text).
    `signed`: every signing party has signed by the time the agreement is here: entering a signed
    state from an unsigned one is the signing (the `agreement.signed` webhook), and no transition
    leads from a signed state back to an unsigned one. `term_restarts`: the agreement waits here
    for a new term (a renewal): when its term starts from this state, reviews are counted afresh
    from the new term's start (the `start_term` effect). `amendable`: a signed agreement here
    may be changed by an amendment (engine/amendments), which its parties sign in turn.
    `labels`: its name in each language; `label` is the English one, which the engine's own
    sentences (refusals, history) use."""

    labels: Labels
    final: bool = False
    editable: bool = False
    signed: bool = False
    term_restarts: bool = False
    amendable: bool = False

    @property
    def label(self) -> str:
        return self.labels.en


class DocumentGuard(_Strict):
    """A guard written `{document: <kind>}`: the agreement keeps a document of that kind (one not
    withdrawn). With `when: <condition>` it holds only when that branch condition does (the
    signature that completes the agreement needs its signed copy; the ones before do not)."""

    document: Identifier
    when: Identifier | None = None

    @property
    def name(self) -> str:
        return f"document: {self.document}" + (f" (when {self.when})" if self.when else "")


GuardEntry = Identifier | DocumentGuard


def guard_name(entry: GuardEntry) -> str:
    """How a guard is named in the API's description of a workflow."""
    return entry if isinstance(entry, str) else entry.name


class EventSpec(_Strict):
    """An event: its `label`, who fires it (`actors`), its `guards` and `effects`, and how the
    pages offer it to a person.

    `confirm`: the pages ask a person to confirm it on a page of its own, which says what it does,
    before firing it: an event that ends the agreement (the loader requires `confirm` of every
    event that leads to a final state), clears its signatures or stops it. `scheduled`: the
    scheduler fires it on its timer's day and a person has nothing to decide, so the pages say
    what will happen and when instead of offering a button (the loader requires a timer for it;
    its actors may still fire it through the API once its guards hold). Neither changes what the
    API accepts. `labels`, `label`: as a state's."""

    labels: Labels
    actors: tuple[EventActor, ...] = (EventActor.STAFF,)
    guards: tuple[GuardEntry, ...] = ()
    effects: tuple[Identifier, ...] = ()
    confirm: bool = False
    scheduled: bool = False

    @property
    def label(self) -> str:
        return self.labels.en


class TransitionSpec(_Strict):
    event: Identifier
    # One state or a list of states; the loader makes it a tuple.
    source: Annotated[tuple[Identifier, ...], WithJsonSchema(_ONE_OR_MANY)] = Field(alias="from")
    dest: Identifier = Field(alias="to")
    when: Identifier | None = None

    @field_validator("source", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return (value,) if isinstance(value, str) else value


class TimerSpec(_Strict):
    """Fire `event` on the agreement's `date` (plus `offset_days`) while in `states`."""

    event: Identifier
    states: tuple[Identifier, ...]
    date_name: Identifier = Field(alias="date")
    offset_days: int = 0


class ReminderSpec(_Strict):
    """Tell `recipients` about the subject's `date`, `offsets` days from it (negative: before).

    `repeat_every_days` with `max_sends` extends the offsets (e.g. 7, then weekly, at most 4
    sends); from the offset `escalate_after` on, `escalate_to` is told as well. `title` and
    `action` are the words of the mail: what is due, and what to do about it. `partner_action`
    is what to do for a recipient who is a partner (they read the agreement and update only the
    deliverables they own) where `action` asks for more than that; unset, partners read `action`.
    """

    name: Identifier
    title: str
    action: str
    partner_action: str | None = None
    subject: Literal["agreement", "deliverable"] = "agreement"
    date_name: Identifier = Field(alias="date")
    offsets: tuple[int, ...] = Field(min_length=1)
    states: tuple[Identifier, ...]
    recipients: tuple[Identifier, ...] = Field(min_length=1)
    escalate_to: tuple[Identifier, ...] = ()
    escalate_after: int | None = None
    repeat_every_days: int | None = Field(default=None, ge=1)
    max_sends: int | None = Field(default=None, ge=1)

    def all_offsets(self) -> tuple[int, ...]:
        """The offsets with repeats expanded, in order, at most `max_sends` of them."""
        offsets = sorted(set(self.offsets))
        if self.repeat_every_days:
            limit = self.max_sends or len(offsets)
            while len(offsets) < limit:
                offsets.append(offsets[-1] + self.repeat_every_days)
        if self.max_sends:
            offsets = offsets[: self.max_sends]
        return tuple(offsets)


class WorkflowSpec(_Strict):
    """A workflow file. `titles`: the workflow's name in each language (`title`, the English one);
    `descriptions`: what it is for, in each language (the API's `description`)."""

    name: Identifier
    version: int = Field(ge=1)
    titles: Labels
    descriptions: Labels | None = None
    initial: Identifier
    states: dict[Identifier, StateSpec]
    events: dict[Identifier, EventSpec]
    transitions: tuple[TransitionSpec, ...]
    timers: tuple[TimerSpec, ...] = ()
    reminders: tuple[ReminderSpec, ...] = ()

    @property
    def title(self) -> str:
        return self.titles.en

    def label_of(self, name: str, language: str) -> str:
        """The label of the state or event `name` in `language`: what the pages, mails and
        diagrams show a reader (a workflow has no state and event of one name: the loader checks)."""
        part = self.states.get(name) or self.events[name]
        return part.labels.of(language)

    def title_in(self, language: str) -> str:
        return self.titles.of(language)

    def description_in(self, language: str) -> str:
        return " ".join(self.descriptions.of(language).split()) if self.descriptions else ""

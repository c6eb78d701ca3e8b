"""The shape of a workflow file, as pydantic models.

A workflow file is YAML with `name`, `version`, `initial`, `states`, `events`,
`transitions`, and optionally `timers` and `reminders`. Names of guards, effects,
branch conditions and dates refer to the engine's registry; `workflows.loader`
checks them against the names it is given.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Actor = Literal["staff", "scheduler"]
Identifier = str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StateSpec(_Strict):
    label: str
    final: bool = False
    editable: bool = False


class EventSpec(_Strict):
    label: str
    actors: tuple[Actor, ...] = ("staff",)
    guards: tuple[Identifier, ...] = ()
    effects: tuple[Identifier, ...] = ()


class TransitionSpec(_Strict):
    event: Identifier
    source: tuple[Identifier, ...] = Field(alias="from")
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
    """Tell `recipients` about the `date`, `offsets` days from it (negative: before)."""

    name: Identifier
    subject: Literal["agreement", "deliverable"] = "agreement"
    date_name: Identifier = Field(alias="date")
    offsets: tuple[int, ...]
    states: tuple[Identifier, ...]
    recipients: tuple[Identifier, ...]
    escalate_to: tuple[Identifier, ...] = ()
    escalate_after: int | None = None
    repeat_every_days: int | None = None
    max_sends: int | None = None
    unless: tuple[Identifier, ...] = ()
    template: Identifier | None = None


class WorkflowSpec(_Strict):
    name: Identifier
    version: int = Field(ge=1)
    title: str
    description: str = ""
    initial: Identifier
    states: dict[Identifier, StateSpec]
    events: dict[Identifier, EventSpec]
    transitions: tuple[TransitionSpec, ...]
    timers: tuple[TimerSpec, ...] = ()
    reminders: tuple[ReminderSpec, ...] = ()

"""Request and response shapes of the webhook, reminder and notification routes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator

from engine.schemas import ONE_LINE, HttpUrl, Input, Output
from notifications.webhooks import secret_problem

WebhookEvent = Literal["agreement.state_changed", "agreement.signed", "deliverable.updated",
                       "reminder.due"]


class WebhookCreate(Input):
    url: HttpUrl = Field(description="a public http:// or https:// address")
    secret: Annotated[str, StringConstraints(min_length=16, max_length=200), ONE_LINE] = Field(
        description="shared secret for the signatures; at least 16 characters. A Standard Webhooks "
                    "secret (`whsec_` + base64) keys `webhook-signature` with the bytes it decodes to; "
                    "any other secret with its UTF-8 bytes")
    events: list[WebhookEvent] = Field(min_length=1, max_length=4)

    @field_validator("secret")
    @classmethod
    def _standard_secret(cls, value: str) -> str:
        problem = secret_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value


class WebhookRead(Output):
    id: int
    url: str
    events: list[str]
    active: bool
    created_at: datetime
    disabled_at: datetime | None
    disabled_reason: str | None


class WebhookDeliveryRead(Output):
    id: str
    subscription_id: int
    event: str
    agreement_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None = Field(description="why the last attempt failed, in a few words; never "
                                   "the receiver's answer")
    response_status: int | None = Field(description="the HTTP status the receiver last answered")
    created_at: datetime
    delivered_at: datetime | None


class ReminderRead(Output):
    id: int
    kind: str
    agreement_id: int
    subject_type: str
    subject_id: int
    rule: str
    due_on: date
    offset_days: int
    person_id: int
    send_at: datetime
    status: str


class NotificationRead(ReminderRead):
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    note: str | None
    sent_at: datetime | None
    data: dict[str, Any] | None


class PreferenceUpdate(Input):
    daily_digest: bool


class PreferenceRead(Output):
    person_id: int
    daily_digest: bool

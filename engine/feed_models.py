"""The calendar feed table: an unguessable URL that serves a person's or an agreement's dates.

Only the token's hash is stored (like bearer tokens), so a leaked database does not leak feed
URLs. A feed without `agreement_id` is the person's own feed; with it, that agreement's feed.
"""

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from engine.types import UTCDateTime

# Not engine.models.instant: engine.models imports this module at its end, so importing it back
# would break whichever of the two is imported first.


class CalendarFeed(SQLModel, table=True):
    __tablename__ = "calendar_feed"

    id: int | None = Field(default=None, primary_key=True)
    person_id: int = Field(foreign_key="person.id", index=True)
    agreement_id: int | None = Field(default=None, foreign_key="agreement.id", index=True)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime(), nullable=True))

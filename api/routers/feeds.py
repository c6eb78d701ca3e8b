"""Calendar feeds: create, list and revoke them (bearer auth), and serve them (the token is the key).

Included without a prefix: the management paths carry `/api/v1` themselves, and the feed
itself lives at `/feeds/{token}.ics`, outside the API, because calendar apps fetch it with no
`Authorization` header.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import MAX_ID, CurrentActor, IdPath, PageDep, SessionDep, SettingsDep, WhenDep
from api.links import created
from engine import feeds
from engine.schemas import Page

router = APIRouter(tags=["calendar feeds"])


class FeedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    agreement_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                     description="an agreement you can see; without it, your own feed")


class FeedCreated(BaseModel):
    id: int
    agreement_id: int | None
    url: str = Field(description="the feed's address; shown once, keep it private")


class FeedRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    agreement_id: int | None
    created_at: datetime


@router.post("/api/v1/feeds", status_code=201, response_model=FeedCreated,
             responses={**created(), 404: {"description": "no such agreement, or not one you can see"}})
async def create_feed(session: SessionDep, actor: CurrentActor, when: WhenDep, settings: SettingsDep,
                      response: Response, data: FeedCreate | None = None) -> FeedCreated:
    """A calendar feed of your dates, or of one agreement's; subscribe to `url` in a calendar app.
    The Location (`/api/v1/feeds/{id}`) is where `DELETE` revokes it."""
    issued = await feeds.create_feed(session, actor, data.agreement_id if data else None, when.now)
    response.headers["Location"] = f"/api/v1/feeds/{issued.feed.id}"
    return FeedCreated(id=issued.feed.id or 0, agreement_id=issued.feed.agreement_id,
                       url=f"{settings.base_url.rstrip('/')}/feeds/{issued.token}.ics")


@router.get("/api/v1/feeds", response_model=Page[FeedRead])
async def list_feeds(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[FeedRead]:
    """Your calendar feeds that still answer, oldest first, a page at a time like every list
    (their addresses are not shown again)."""
    rows, total = await feeds.list_feeds(session, actor, limit=page.limit, offset=page.offset)
    return Page(items=[FeedRead.model_validate(f) for f in rows], total=total, limit=page.limit,
                offset=page.offset)


@router.delete("/api/v1/feeds/{feed_id}", status_code=204,
               responses={404: {"description": "no such feed of yours"}})
async def revoke_feed(feed_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep) -> None:
    """Revoke a feed: its address answers 404 from now on."""
    await feeds.revoke_feed(session, actor, feed_id, when.now)


@router.get("/feeds/{token}.ics", response_class=Response,
            responses={200: {"content": {"text/calendar": {}}},
                       404: {"description": "unknown or revoked feed"}})
async def serve_feed(token: str, session: SessionDep, settings: SettingsDep) -> Response:
    """The iCalendar feed itself; the unguessable token in the address is the credential."""
    body = await feeds.render_feed(session, token, settings.base_url, settings.timezone, settings.default_language)
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, max-age=300"})

"""What is scheduled (reminders) and what was sent or failed (notifications)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import MAX_ID, CurrentActor, IdPath, PageDep, SessionDep, WhenDep
from engine.schemas import Day, DeliveryStatusValue, Page
from engine.statuses import DeliveryStatus, NotificationKind
from notifications import service
from notifications.schemas import NotificationRead, PreferenceRead, PreferenceUpdate, ReminderRead

router = APIRouter(tags=["reminders"])


@router.get("/reminders", response_model=Page[ReminderRead])
async def list_reminders(
    session: SessionDep, actor: CurrentActor, page: PageDep,
    agreement_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    person_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    before: Annotated[Day | None, Query(description="only reminders due before this day, YYYY-MM-DD")] = None,
) -> Page[ReminderRead]:
    """Upcoming reminders (pending), soonest first, for the agreements you can see."""
    filters = service.NotificationFilters(agreement_id=agreement_id, person_id=person_id,
                                          before=before, status=DeliveryStatus.PENDING,
                                          kind=NotificationKind.REMINDER)
    rows, total = await service.list_notifications(session, actor, filters, limit=page.limit,
                                                   offset=page.offset)
    return Page(items=[ReminderRead.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.get("/notifications", response_model=Page[NotificationRead])
async def list_notifications(
    session: SessionDep, actor: CurrentActor, page: PageDep,
    status: Annotated[DeliveryStatusValue | None, Query()] = None,
    agreement_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    person_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[NotificationRead]:
    """Every mail Accord sends or tried to send: status, attempts, last error."""
    filters = service.NotificationFilters(agreement_id=agreement_id, person_id=person_id,
                                          status=status)
    rows, total = await service.list_notifications(session, actor, filters, limit=page.limit,
                                                   offset=page.offset)
    return Page(items=[NotificationRead.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.post("/notifications/{notification_id}/retry", response_model=NotificationRead)
async def retry_notification(notification_id: IdPath, session: SessionDep, actor: CurrentActor,
                             when: WhenDep) -> NotificationRead:
    """Admin: send a dead notification again."""
    row = await service.retry_notification(session, notification_id, actor, when.now)
    return NotificationRead.model_validate(row)


@router.get("/notification-preferences", response_model=PreferenceRead)
async def get_preferences(session: SessionDep, actor: CurrentActor) -> PreferenceRead:
    return PreferenceRead.model_validate(await service.get_preference(session, actor))


@router.put("/notification-preferences", response_model=PreferenceRead)
async def set_preferences(data: PreferenceUpdate, session: SessionDep,
                          actor: CurrentActor) -> PreferenceRead:
    """Your own choice: `daily_digest: true` gathers a day's reminders into one mail."""
    return PreferenceRead.model_validate(await service.set_preference(session, data, actor))

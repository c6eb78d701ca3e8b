"""What the webhook, reminder and notification routes do: subscriptions, listings, retries.

Refusals in the language being read (`engine.i18n.reading`: the API request's `Accept-Language`,
English otherwise); what is kept in a row (a notification's `note`) in English."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from engine import i18n
from engine.access import in_reach
from engine.context import Actor
from engine.directory.rules import require_admin
from engine.errors import Conflict, NotFound
from engine.schedule import Notification, NotificationPreference, WebhookDelivery, WebhookSubscription
from engine.statuses import DeliveryStatus
from notifications import addresses
from notifications.schemas import PreferenceUpdate, WebhookCreate


async def _page(session: AsyncSession, query: Select[Any], order: Any, *, limit: int,
                offset: int) -> tuple[list[Any], int]:
    total = await session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = await session.scalars(query.order_by(*order).limit(limit).offset(offset))
    return list(rows), total


# --- webhooks ---------------------------------------------------------------------------------

async def create_subscription(session: AsyncSession, data: WebhookCreate, actor: Actor,
                              now: datetime, *, allow_private: bool) -> WebhookSubscription:
    require_admin(actor, i18n.N_("subscribe webhooks"))
    await addresses.check_url(str(data.url), allow_private=allow_private)
    subscription = WebhookSubscription(url=str(data.url), secret=data.secret,
                                       events=sorted(set(data.events)),
                                       created_by_id=actor.person_id, created_at=now)
    session.add(subscription)
    await session.flush()
    return subscription


async def list_subscriptions(session: AsyncSession, actor: Actor, *, limit: int, offset: int
                             ) -> tuple[list[WebhookSubscription], int]:
    require_admin(actor, i18n.N_("see webhooks"))
    return await _page(session, select(WebhookSubscription), [col(WebhookSubscription.id)],
                       limit=limit, offset=offset)


async def _subscription(session: AsyncSession, subscription_id: int) -> WebhookSubscription:
    subscription = await session.get(WebhookSubscription, subscription_id)
    if subscription is None:
        raise NotFound(i18n.gettext("There is no webhook %(id)s.") % {"id": subscription_id})
    return subscription


async def delete_subscription(session: AsyncSession, subscription_id: int, actor: Actor) -> None:
    """Unsubscribe: the subscription and its delivery log go; nothing more is sent to it."""
    require_admin(actor, i18n.N_("delete webhooks"))
    subscription = await _subscription(session, subscription_id)
    await session.execute(delete(WebhookDelivery).where(
        col(WebhookDelivery.subscription_id) == subscription_id))
    await session.delete(subscription)
    await session.flush()


async def list_deliveries(session: AsyncSession, subscription_id: int, actor: Actor, *,
                          status: str | None, limit: int, offset: int
                          ) -> tuple[list[WebhookDelivery], int]:
    require_admin(actor, i18n.N_("see webhook deliveries"))
    await _subscription(session, subscription_id)
    query = select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id)
    if status:
        query = query.where(col(WebhookDelivery.status) == status)
    return await _page(session, query, [col(WebhookDelivery.created_at).desc(),
                                        col(WebhookDelivery.id)], limit=limit, offset=offset)


async def retry_delivery(session: AsyncSession, subscription_id: int, delivery_id: str,
                         actor: Actor, now: datetime) -> WebhookDelivery:
    require_admin(actor, i18n.N_("retry webhook deliveries"))
    subscription = await _subscription(session, subscription_id)
    delivery = await session.get(WebhookDelivery, delivery_id)
    if delivery is None or delivery.subscription_id != subscription_id:
        raise NotFound(i18n.gettext("Webhook %(id)s has no delivery %(delivery)s.")
                       % {"id": subscription_id, "delivery": delivery_id})
    if delivery.status != DeliveryStatus.DEAD:
        raise Conflict(i18n.gettext("Delivery %(delivery)s is %(status)s; only a dead delivery is retried by hand.")
                       % {"delivery": delivery_id, "status": delivery.status})
    if not subscription.active:
        raise Conflict(i18n.gettext("Webhook %(id)s is disabled (%(reason)s).")
                       % {"id": subscription_id, "reason": subscription.disabled_reason})
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, now
    await session.flush()
    return delivery


# --- reminders and notifications --------------------------------------------------------------

@dataclass(frozen=True)
class NotificationFilters:
    agreement_id: int | None = None
    person_id: int | None = None
    before: date | None = None
    status: str | None = None
    kind: str | None = None


async def list_notifications(session: AsyncSession, actor: Actor, filters: NotificationFilters,
                             *, limit: int, offset: int) -> tuple[list[Notification], int]:
    """Rows scoped like agreements: a non-admin sees those of their organisation's agreements."""
    query = in_reach(select(Notification), actor, Notification.agreement_id)
    if filters.agreement_id is not None:
        query = query.where(col(Notification.agreement_id) == filters.agreement_id)
    if filters.person_id is not None:
        query = query.where(col(Notification.person_id) == filters.person_id)
    if filters.before is not None:
        query = query.where(col(Notification.due_on) < filters.before)
    if filters.status is not None:
        query = query.where(col(Notification.status) == filters.status)
    if filters.kind is not None:
        query = query.where(col(Notification.kind) == filters.kind)
    return await _page(session, query, [col(Notification.send_at), col(Notification.id)],
                       limit=limit, offset=offset)


async def retry_notification(session: AsyncSession, notification_id: int, actor: Actor,
                             now: datetime) -> Notification:
    require_admin(actor, i18n.N_("retry notifications"))
    notification = await session.get(Notification, notification_id)
    if notification is None:
        raise NotFound(i18n.gettext("There is no notification %(id)s.") % {"id": notification_id})
    if notification.status != DeliveryStatus.DEAD:
        raise Conflict(i18n.gettext("Notification %(id)s is %(status)s; only a dead notification is retried by "
                                    "hand.") % {"id": notification_id, "status": notification.status})
    notification.status, notification.attempts = DeliveryStatus.PENDING, 0
    notification.next_attempt_at, notification.updated_at = now, now
    notification.note = f"retried by {actor.label}"
    await session.flush()
    return notification


async def set_preference(session: AsyncSession, data: PreferenceUpdate, actor: Actor
                         ) -> NotificationPreference:
    if actor.person_id is None:
        raise NotFound(i18n.gettext("Only a person has notification preferences."))
    preference = await session.get(NotificationPreference, actor.person_id)
    if preference is None:
        preference = NotificationPreference(person_id=actor.person_id)
        session.add(preference)
    preference.daily_digest = data.daily_digest
    await session.flush()
    return preference


async def get_preference(session: AsyncSession, actor: Actor) -> NotificationPreference:
    if actor.person_id is None:
        raise NotFound(i18n.gettext("Only a person has notification preferences."))
    preference = await session.get(NotificationPreference, actor.person_id)
    return preference or NotificationPreference(person_id=actor.person_id, daily_digest=False)

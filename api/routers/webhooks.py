"""Webhook subscriptions and their delivery log (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import CurrentActor, IdPath, PageDep, SessionDep, SettingsDep, WhenDep
from api.links import created
from engine.schemas import DeliveryStatusValue, Page
from notifications import service
from notifications.schemas import WebhookCreate, WebhookDeliveryRead, WebhookRead

router = APIRouter(tags=["webhooks"])


@router.post("/webhooks", status_code=201, response_model=WebhookRead, responses=created())
async def create_webhook(data: WebhookCreate, session: SessionDep, actor: CurrentActor,
                         when: WhenDep, settings: SettingsDep, response: Response) -> WebhookRead:
    """Subscribe `url` to `events`; each delivery is signed with `secret` (Standard Webhooks
    `webhook-signature`, and `X-Accord-Signature`). `url` must be a public http(s) address: one
    that is, or resolves to, a loopback, private, link-local or other non-public address is refused
    (unless ACCORD_WEBHOOK_ALLOW_PRIVATE=true)."""
    subscription = await service.create_subscription(session, data, actor, when.now,
                                                     allow_private=settings.webhook_allow_private)
    response.headers["Location"] = f"/api/v1/webhooks/{subscription.id}"
    return WebhookRead.model_validate(subscription)


@router.get("/webhooks", response_model=Page[WebhookRead])
async def list_webhooks(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[WebhookRead]:
    rows, total = await service.list_subscriptions(session, actor, limit=page.limit, offset=page.offset)
    return Page(items=[WebhookRead.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.delete("/webhooks/{webhook_id}", status_code=204)
async def delete_webhook(webhook_id: IdPath, session: SessionDep, actor: CurrentActor) -> Response:
    await service.delete_subscription(session, webhook_id, actor)
    return Response(status_code=204)


@router.get("/webhooks/{webhook_id}/deliveries", response_model=Page[WebhookDeliveryRead])
async def list_deliveries(
    webhook_id: IdPath, session: SessionDep, actor: CurrentActor, page: PageDep,
    status: Annotated[DeliveryStatusValue | None, Query()] = None,
) -> Page[WebhookDeliveryRead]:
    """The delivery log, newest first: status, attempts, and for a failure the receiver's HTTP
    status (`response_status`) and a short reason (`last_error`; never the receiver's answer)."""
    rows, total = await service.list_deliveries(session, webhook_id, actor, status=status,
                                                limit=page.limit, offset=page.offset)
    return Page(items=[WebhookDeliveryRead.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.post("/webhooks/{webhook_id}/deliveries/{delivery_id}/retry",
             response_model=WebhookDeliveryRead)
async def retry_delivery(webhook_id: IdPath, delivery_id: str, session: SessionDep,
                         actor: CurrentActor, when: WhenDep) -> WebhookDeliveryRead:
    """Admin: send a dead delivery again (same delivery id)."""
    delivery = await service.retry_delivery(session, webhook_id, delivery_id, actor, when.now)
    return WebhookDeliveryRead.model_validate(delivery)

"""Bearer tokens: list a person's, revoke one. Issuing is `POST /people/{id}/tokens` (directory)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import CurrentActor, IdPath, PageDep, SessionDep, WhenDep
from engine.directory import tokens
from engine.directory.tokens import TokenInfo
from engine.schemas import Page

router = APIRouter(tags=["directory"])

_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such token, or not one you may revoke"}}


@router.get("/people/{person_id}/tokens", response_model=Page[TokenInfo])
async def list_tokens(person_id: IdPath, session: SessionDep, actor: CurrentActor,
                      page: PageDep) -> Page[TokenInfo]:
    """Their tokens with label and dates, never the token itself: for an administrator, staff of the
    person's organisation (if they are not an administrator), or the person themself."""
    rows, total = await tokens.list_tokens(session, person_id, actor, limit=page.limit, offset=page.offset)
    return Page(items=[TokenInfo.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.delete("/tokens/{token_id}", status_code=204, responses=_NOT_FOUND)
async def revoke_token(token_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep) -> Response:
    """Whoever may list the token's person's tokens: the token stops working at once. Revoking twice
    is harmless; a token you may not revoke is 404, as an unknown one."""
    await tokens.revoke_token(session, token_id, actor, when.now)
    return Response(status_code=204)

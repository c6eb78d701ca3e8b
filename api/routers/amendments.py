"""An agreement's amendments: propose one, list and read them, and move one along its lifecycle
(engine/amendments). The last signature merges it into the agreement."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Response

from api.deps import MAX_ID, CurrentActor, IdPath, PageDep, SessionDep, WhenDep
from api.links import LOCATION
from api.problems import problem_of
from engine.amendments import service
from engine.errors import AmendmentConflict
from engine.schemas import AmendmentCreate, AmendmentEventFire, AmendmentRead, Page

router = APIRouter(tags=["amendments"])

NumberPath = Annotated[int, Path(ge=1, le=MAX_ID, description="the amendment's number within its agreement")]
_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such agreement or amendment, or not one "
                                                                "you can see"}}
_PERMITTED: dict[int | str, dict[str, Any]] = {403: {"description": "not for you: partners read amendments, a "
                                                                    "party signs only for itself"}}


def _answer(amendment: AmendmentRead, status_code: int = 200, location: str | None = None) -> Response:
    headers = {"Location": location} if location else None
    return Response(content=amendment.model_dump_json(by_alias=True), status_code=status_code,
                    headers=headers, media_type="application/json")


@router.post("/agreements/{agreement_id}/amendments", status_code=201, response_model=AmendmentRead,
             responses={201: {"description": "proposed, in draft", "headers": LOCATION}, **_FOUND, **_PERMITTED,
                        409: {"description": "the agreement is not in an amendable state"},
                        422: {"description": "a change the kind does not take, or that does not fit the agreement"}})
async def propose_amendment(agreement_id: IdPath, data: AmendmentCreate, session: SessionDep,
                            actor: CurrentActor, when: WhenDep) -> Response:
    """Propose an amendment (in draft) to a signed, running agreement; `diff` says what it would change."""
    amendment = await service.propose(session, agreement_id, actor, when, data)
    return _answer(amendment, 201, f"/api/v1/agreements/{agreement_id}/amendments/{amendment.number}")


@router.get("/agreements/{agreement_id}/amendments", response_model=Page[AmendmentRead], responses=_FOUND)
async def list_amendments(agreement_id: IdPath, session: SessionDep, actor: CurrentActor,
                          page: PageDep) -> Page[AmendmentRead]:
    items, total = await service.list_amendments(session, agreement_id, actor, limit=page.limit,
                                                 offset=page.offset)
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/agreements/{agreement_id}/amendments/{number}", response_model=AmendmentRead, responses=_FOUND)
async def get_amendment(agreement_id: IdPath, number: NumberPath, session: SessionDep,
                        actor: CurrentActor) -> Response:
    return _answer(await service.get(session, agreement_id, number, actor))


@router.post("/agreements/{agreement_id}/amendments/{number}/events", response_model=AmendmentRead, responses={
    **_FOUND, **_PERMITTED,
    409: {"description": "not allowed in the amendment's state, already signed, another signature "
                         "won the race (send again), or the merge was refused because what it changes changed on "
                         "the agreement since it was drafted (`fields`; the amendment is back in draft: "
                         "`amendment`)"}})
async def fire_amendment_event(agreement_id: IdPath, number: NumberPath, data: AmendmentEventFire,
                               session: SessionDep, actor: CurrentActor, when: WhenDep) -> Response:
    """`submit`, `sign`, `approve`, `withdraw` or `cancel`; the last signature merges the amendment."""
    fired = await service.fire(session, agreement_id, number, actor, when, data)
    if fired.refused is not None:
        # Answered, not raised: the return to draft is committed with the refusal.
        return problem_of(AmendmentConflict, fired.refused.detail, fields=fired.refused.fields,
                          amendment=fired.amendment.model_dump(mode="json", by_alias=True))
    return _answer(fired.amendment)

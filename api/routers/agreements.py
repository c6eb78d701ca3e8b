"""Agreements, their parts, their events and their history."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from api.deps import (
    AgreementFiltersDep,
    CurrentActor,
    IdPath,
    IfMatchDep,
    IfNoneMatchDep,
    PageDep,
    SessionDep,
    WhenDep,
)
from api.links import LOCATION
from engine.access import reachable
from engine.agreements import actions, reading, service, snapshot
from engine.agreements.values import AgreementSnapshot, AreaValue, ContactValue, DeliverableValue
from engine.schemas import (
    AgreementCopy,
    AgreementCreate,
    AgreementRead,
    AgreementSummary,
    AgreementUpdate,
    AreaCreate,
    AreaRead,
    AreaUpdate,
    ContactCreate,
    ContactRead,
    DeliverableCreate,
    DeliverableRead,
    DeliverableUpdate,
    EventFire,
    HistoryRead,
    Page,
    PartyCreate,
    PartyUpdate,
)

router = APIRouter(tags=["agreements"])

_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no such agreement, or not one you can see"}}
_AREA_FOUND: dict[int | str, dict[str, Any]] = {404: {
    "description": "no such area of collaboration, or not one you can see"}}
_DELIVERABLE_FOUND: dict[int | str, dict[str, Any]] = {404: {
    "description": "no such deliverable, or not one you can see"}}
_ETAG = {"ETag": {"description": 'the agreement\'s version (after the write, for a write) as `"7"`: send '
                                 "it as If-Match with the next write, or as If-None-Match with the next read",
                  "schema": {"type": "string"}}}
_STALE: dict[int | str, dict[str, Any]] = {409: {
    "description": "not allowed in the agreement's state, a duplicate, or another write changed the agreement "
                   "while this one was being handled (without If-Match, or with `*`); nothing was changed"}, 412: {
    "description": "If-Match names no current version of the agreement (it changed since, or the value cannot "
                   "name a version); nothing was changed"}}


def _write(status: int = 200, found: dict[int | str, dict[str, Any]] = _FOUND) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a write of the agreement or of a part: its ETag (and for a 201
    its Location), 404, 412."""
    headers = {**_ETAG, **LOCATION} if status == 201 else _ETAG
    return {status: {"description": "created" if status == 201 else "done", "headers": headers}, **found,
            **_STALE}


def _etag(agreement: AgreementSnapshot, response: Response, location: str | None = None) -> None:
    """Give a part's answer the agreement's new version as ETag, so the client can chain writes
    with If-Match without reading the agreement again; and a new part's address as Location."""
    response.headers["ETag"] = f'"{agreement.version}"'
    if location is not None:
        response.headers["Location"] = location


def _agreement(body: AgreementRead, *, status_code: int = 200, location: str | None = None) -> Response:
    """The agreement as JSON with its ETag, serialised once: a `Response` that FastAPI sends as
    it is, without validating and serialising the `AgreementRead` again (`response_model` still
    documents it)."""
    headers = {"ETag": f'"{body.version}"'}
    if location is not None:
        headers["Location"] = location
    return Response(content=body.model_dump_json(), status_code=status_code, headers=headers,
                    media_type="application/json")


@router.post("/agreements", status_code=201, response_model=AgreementRead,
             responses={201: {"description": "created", "headers": {**_ETAG, **LOCATION}}})
async def create_agreement(data: AgreementCreate, session: SessionDep, actor: CurrentActor,
                           when: WhenDep) -> Response:
    """Create an agreement in its workflow's first state (`draft`)."""
    agreement = (await service.apply(session, None, actor, when, actions.Create(data))).agreement
    return _agreement(reading.read_agreement(agreement, actor, when), status_code=201,
                      location=f"/api/v1/agreements/{agreement.id}")


@router.get("/agreements", response_model=Page[AgreementSummary])
async def list_agreements(
    session: SessionDep, actor: CurrentActor, filters: AgreementFiltersDep, page: PageDep,
) -> Page[AgreementSummary]:
    rows, total = await reading.list_agreements(session, actor, filters, limit=page.limit,
                                                offset=page.offset)
    return Page(items=[reading.summarise(a) for a in rows], total=total, limit=page.limit,
                offset=page.offset)


@router.get("/agreements/{agreement_id}", response_model=AgreementRead, responses={
    200: {"description": "the agreement", "headers": _ETAG},
    304: {"description": "If-None-Match names the current version: the ETag, no body", "headers": _ETAG},
    **_FOUND})
async def get_agreement(agreement_id: IdPath, session: SessionDep, actor: CurrentActor,
                        when: WhenDep, if_none_match: IfNoneMatchDep) -> Response:
    agreement = await snapshot.load(session, agreement_id, actor)
    if if_none_match is not None and if_none_match.matches(agreement.version):
        return Response(status_code=304, headers={"ETag": f'"{agreement.version}"'})
    return _agreement(reading.read_agreement(agreement, actor, when))


@router.patch("/agreements/{agreement_id}", response_model=AgreementRead, responses=_write())
async def update_agreement(agreement_id: IdPath, data: AgreementUpdate, session: SessionDep,
                           actor: CurrentActor, when: WhenDep, if_match: IfMatchDep) -> Response:
    """Edit the terms while the agreement is editable (draft, unsigned); `next_review_on` any time."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.Edit(data), if_match=if_match)
    return _agreement(reading.read_agreement(outcome.agreement, actor, when))


@router.post("/agreements/{agreement_id}/copies", status_code=201, response_model=AgreementRead,
             responses={201: {"description": "created: the copy, a draft", "headers": {**_ETAG, **LOCATION}},
                        **_FOUND, 403: {"description": "a partner, who does not create agreements"}})
async def copy_agreement(agreement_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep,
                         data: AgreementCopy | None = None) -> Response:
    """Create a draft as a copy of this agreement: its parties and their roles, the focal points
    and signatories still enabled, its areas, its open deliverables (planned or in progress, with
    their owners), its summary, background, review and notice periods — not its signatures, its
    history, its dates, or its deliverables done or cancelled. The body (optional) replaces what
    is copied: `title` (default "Copy of …"), the terms, `predecessor_id` (this agreement's id
    makes the copy its successor: its last signature supersedes this one). Staff of its parties or
    an administrator; answers with the copy, its address as Location."""
    action = actions.CopyAgreement(agreement_id, data or AgreementCopy())
    agreement = (await service.apply(session, None, actor, when, action)).agreement
    return _agreement(reading.read_agreement(agreement, actor, when), status_code=201,
                      location=f"/api/v1/agreements/{agreement.id}")


_SUCCESSOR_LINK = {"Link": {
    "description": 'after `complete_review` with outcome `renew_as_successor`: the draft successor it '
                   'created, `</api/v1/agreements/12>; rel="successor-version"` (its id is also the '
                   "answer's `successor_id`)", "schema": {"type": "string"}}}


@router.post("/agreements/{agreement_id}/events", response_model=AgreementRead, responses={
    **_write(), 200: {"description": "done", "headers": {**_ETAG, **_SUCCESSOR_LINK}}})
async def fire_event(agreement_id: IdPath, data: EventFire, session: SessionDep, actor: CurrentActor,
                     when: WhenDep, if_match: IfMatchDep) -> Response:
    """Fire a lifecycle event; answers with the agreement as `GET` does. `complete_review` with
    outcome `renew_as_successor` also creates the agreement's successor, a draft copied from it
    (as `POST …/copies` does, with `predecessor_id` set): the answer's `successor_id` names it,
    and the `Link` header gives its address (`rel="successor-version"`). A successor's last
    signature supersedes its predecessor in the same transaction."""
    outcome = await service.fire(session, agreement_id, data.event, actor, when, data, if_match=if_match)
    answer = _agreement(reading.read_agreement(outcome.agreement, actor, when))
    successor = outcome.successor()
    if successor is not None:
        answer.headers["Link"] = f'</api/v1/agreements/{successor.id}>; rel="successor-version"'
    return answer


@router.get("/agreements/{agreement_id}/history", response_model=Page[HistoryRead], responses=_FOUND)
async def get_history(agreement_id: IdPath, session: SessionDep, actor: CurrentActor,
                      page: PageDep) -> Page[HistoryRead]:
    await reachable(session, agreement_id, actor)
    rows, total = await reading.list_history(session, agreement_id, limit=page.limit, offset=page.offset)
    return Page(items=[HistoryRead.model_validate(r) for r in rows], total=total, limit=page.limit,
                offset=page.offset)


@router.post("/agreements/{agreement_id}/parties", status_code=201, response_model=AgreementRead,
             responses=_write(201))
async def add_party(agreement_id: IdPath, data: PartyCreate, session: SessionDep, actor: CurrentActor,
                    when: WhenDep, if_match: IfMatchDep) -> Response:
    """Add a party or supporter while the terms are editable; answers with the agreement, and
    the new party's address (`PATCH` changes its role) as Location."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.AddParty(data), if_match=if_match)
    party = outcome.added()
    return _agreement(reading.read_agreement(outcome.agreement, actor, when), status_code=201,
                      location=f"/api/v1/agreements/{agreement_id}/parties/{party.id}")


@router.patch("/agreements/{agreement_id}/parties/{party_id}", response_model=AgreementRead, responses=_write(
    found={404: {"description": "no such agreement or party, or not one you can see"}}))
async def change_party(agreement_id: IdPath, party_id: IdPath, data: PartyUpdate, session: SessionDep,
                       actor: CurrentActor, when: WhenDep, if_match: IfMatchDep) -> Response:
    """Make a party a supporter (it will not sign) or a supporter a party (it signs), while the
    terms are editable (draft, nobody signed): staff of any party, or an administrator. A party
    that has named a signatory becomes a supporter only once the signatory is withdrawn (409 says
    whom). The same role again changes nothing. Answers with the agreement."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.ChangePartyRole(party_id, data),
                                  if_match=if_match)
    return _agreement(reading.read_agreement(outcome.agreement, actor, when))


@router.post("/agreements/{agreement_id}/focal-points", status_code=201, response_model=ContactRead,
             responses=_write(201))
async def name_contact(agreement_id: IdPath, data: ContactCreate, session: SessionDep, actor: CurrentActor,
                       when: WhenDep, if_match: IfMatchDep, response: Response) -> ContactRead:
    """Name a person of a party as its focal point or signatory (`kind`)."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.NameContact(data),
                                  if_match=if_match)
    contact = outcome.added()
    _etag(outcome.agreement, response, f"/api/v1/agreements/{agreement_id}/focal-points/{contact.id}")
    assert isinstance(contact, ContactValue)
    return reading.read_contact(contact)


@router.delete("/agreements/{agreement_id}/focal-points/{contact_id}", status_code=204,
               responses=_write(204))
async def remove_contact(agreement_id: IdPath, contact_id: IdPath, session: SessionDep, actor: CurrentActor,
                         when: WhenDep, if_match: IfMatchDep, response: Response) -> None:
    """Withdraw a focal point or signatory; the answer has no body, only the agreement's new ETag."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.RemoveContact(contact_id),
                                  if_match=if_match)
    _etag(outcome.agreement, response)


@router.post("/agreements/{agreement_id}/areas", status_code=201, response_model=AreaRead,
             responses=_write(201))
async def add_area(agreement_id: IdPath, data: AreaCreate, session: SessionDep, actor: CurrentActor,
                   when: WhenDep, if_match: IfMatchDep, response: Response) -> AreaRead:
    """Add an area of collaboration, last; its address (`/api/v1/areas/{id}`) is the Location."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.AddArea(data), if_match=if_match)
    area = outcome.added()
    assert isinstance(area, AreaValue)
    _etag(outcome.agreement, response, f"/api/v1/areas/{area.id}")
    return reading.read_area(outcome.agreement, area, when.today)


@router.get("/areas/{area_id}", response_model=AreaRead, responses={
    200: {"description": "the area and its deliverables", "headers": _ETAG}, **_AREA_FOUND})
async def get_area(area_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep,
                   response: Response) -> AreaRead:
    """An area of collaboration with its deliverables; the ETag is its agreement's version."""
    agreement = await snapshot.load(session, await reading.agreement_of_area(session, area_id, actor), actor)
    area = agreement.area(area_id)
    assert area is not None
    _etag(agreement, response)
    return reading.read_area(agreement, area, when.today)


@router.patch("/areas/{area_id}", response_model=AreaRead, responses=_write(found=_AREA_FOUND))
async def update_area(area_id: IdPath, data: AreaUpdate, session: SessionDep, actor: CurrentActor,
                      when: WhenDep, if_match: IfMatchDep, response: Response) -> AreaRead:
    """Rename an area (a title another area of the agreement has, whatever the case, is 409),
    describe it, or move it to `position` (from 0; the other areas shift so positions stay
    0, 1, 2, ...). Staff of a party or an administrator, in any state but a final one. If-Match
    and the answer's ETag are the version of the area's agreement."""
    outcome = await service.apply(session, await reading.agreement_of_area(session, area_id, actor), actor, when,
                                  actions.EditArea(area_id, data), if_match=if_match)
    _etag(outcome.agreement, response)
    area = outcome.agreement.area(area_id)
    assert area is not None
    return reading.read_area(outcome.agreement, area, when.today)


@router.delete("/areas/{area_id}", status_code=204, responses=_write(204, found=_AREA_FOUND))
async def remove_area(area_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep,
                      if_match: IfMatchDep, response: Response) -> None:
    """Remove an area and its deliverables in one change, only while none of them has progress
    (a status other than planned, a progress note or evidence): otherwise 409 naming them. The
    areas after it move up. Staff of a party or an administrator, in any state but a final one;
    no body, the agreement's new ETag."""
    outcome = await service.apply(session, await reading.agreement_of_area(session, area_id, actor), actor, when,
                                  actions.RemoveArea(area_id), if_match=if_match)
    _etag(outcome.agreement, response)


@router.post("/agreements/{agreement_id}/areas/{area_id}/deliverables", status_code=201,
             response_model=DeliverableRead, responses=_write(201))
async def add_deliverable(agreement_id: IdPath, area_id: IdPath, data: DeliverableCreate, session: SessionDep,
                          actor: CurrentActor, when: WhenDep, if_match: IfMatchDep,
                          response: Response) -> DeliverableRead:
    """Add a deliverable to an area; its address (`/api/v1/deliverables/{id}`) is the Location."""
    outcome = await service.apply(session, agreement_id, actor, when, actions.AddDeliverable(area_id, data),
                                  if_match=if_match)
    deliverable = outcome.added()
    assert isinstance(deliverable, DeliverableValue)
    _etag(outcome.agreement, response, f"/api/v1/deliverables/{deliverable.id}")
    return reading.read_deliverable(deliverable, when.today)


@router.get("/deliverables/{deliverable_id}", response_model=DeliverableRead, responses={
    200: {"description": "the deliverable", "headers": _ETAG}, **_DELIVERABLE_FOUND})
async def get_deliverable(deliverable_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep,
                          response: Response) -> DeliverableRead:
    """A deliverable of an agreement you can see; the ETag is its agreement's version."""
    agreement = await snapshot.load(
        session, await reading.agreement_of_deliverable(session, deliverable_id, actor), actor)
    deliverable = agreement.deliverable(deliverable_id)
    assert deliverable is not None
    _etag(agreement, response)
    return reading.read_deliverable(deliverable, when.today)


@router.patch("/deliverables/{deliverable_id}", response_model=DeliverableRead,
              responses=_write(found=_DELIVERABLE_FOUND))
async def update_deliverable(deliverable_id: IdPath, data: DeliverableUpdate, session: SessionDep,
                             actor: CurrentActor, when: WhenDep, if_match: IfMatchDep,
                             response: Response) -> DeliverableRead:
    """Status, progress note, evidence link; partners may update the deliverables they own.
    If-Match and the answer's ETag are the version of the deliverable's agreement."""
    outcome = await service.apply(session, await reading.agreement_of_deliverable(session, deliverable_id, actor),
                                  actor, when, actions.UpdateDeliverable(deliverable_id, data), if_match=if_match)
    _etag(outcome.agreement, response)
    deliverable = outcome.agreement.deliverable(deliverable_id)
    assert deliverable is not None
    return reading.read_deliverable(deliverable, when.today)


@router.delete("/deliverables/{deliverable_id}", status_code=204, responses=_write(204, found=_DELIVERABLE_FOUND))
async def remove_deliverable(deliverable_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep,
                             if_match: IfMatchDep, response: Response) -> None:
    """Remove a deliverable: staff of a party or an administrator (a partner, even its owner, is
    403), in any state but a final one. One that is done is 409: delivered work stays on the
    record (give it its right status first if it was marked done by mistake). Its pending
    reminders are cancelled; the history keeps its last values in the diff. No body, the
    agreement's new ETag."""
    outcome = await service.apply(session, await reading.agreement_of_deliverable(session, deliverable_id, actor),
                                  actor, when, actions.RemoveDeliverable(deliverable_id), if_match=if_match)
    _etag(outcome.agreement, response)

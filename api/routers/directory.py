"""Organisations, people and tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import MAX_ID, CurrentActor, IdPath, PageDep, SessionDep, WhenDep
from api.links import created
from engine.directory import service as directory
from engine.schemas import (
    OrganisationCreate,
    OrganisationRead,
    OrganisationUpdate,
    Page,
    PersonCreate,
    PersonRead,
    PersonUpdate,
    PersonUpdated,
    TokenCreate,
    TokenRead,
)

router = APIRouter(tags=["directory"])


@router.post("/organisations", status_code=201, response_model=OrganisationRead, responses=created())
async def create_organisation(data: OrganisationCreate, session: SessionDep, actor: CurrentActor,
                              when: WhenDep, response: Response) -> OrganisationRead:
    """Admin only: a network, association or local government."""
    organisation = await directory.create_organisation(session, data, actor, when.now)
    response.headers["Location"] = f"/api/v1/organisations/{organisation.id}"
    return OrganisationRead.model_validate(organisation)


@router.get("/organisations", response_model=Page[OrganisationRead])
async def list_organisations(session: SessionDep, actor: CurrentActor, page: PageDep) -> Page[OrganisationRead]:
    rows, total = await directory.list_organisations(session, limit=page.limit, offset=page.offset)
    return Page(items=[OrganisationRead.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.get("/organisations/{organisation_id}", response_model=OrganisationRead)
async def get_organisation(organisation_id: IdPath, session: SessionDep, actor: CurrentActor) -> OrganisationRead:
    return OrganisationRead.model_validate(await directory.get_organisation(session, organisation_id))


@router.patch("/organisations/{organisation_id}", response_model=OrganisationRead)
async def update_organisation(organisation_id: IdPath, data: OrganisationUpdate, session: SessionDep,
                              actor: CurrentActor, when: WhenDep) -> OrganisationRead:
    """Change `name`, `short_name`, `kind`, `city`, `country` or `timezone`: administrators for any
    organisation, staff for their own (403 otherwise). A new `timezone` moves the pending reminders
    of its people who have no time zone of their own to 09:00 on their day in the new zone."""
    organisation = await directory.update_organisation(session, organisation_id, data, actor, when)
    return OrganisationRead.model_validate(organisation)


@router.post("/people", status_code=201, response_model=PersonRead, responses=created())
async def create_person(data: PersonCreate, session: SessionDep, actor: CurrentActor,
                        when: WhenDep, response: Response) -> PersonRead:
    """A person of an organisation, with a role (admin, staff, partner): administrators add anyone;
    staff add staff and partners to their own organisation (403 otherwise)."""
    person = await directory.create_person(session, data, actor, when.now)
    response.headers["Location"] = f"/api/v1/people/{person.id}"
    return PersonRead.model_validate(person)


@router.get("/people", response_model=Page[PersonRead])
async def list_people(
    session: SessionDep, actor: CurrentActor, page: PageDep,
    organisation_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> Page[PersonRead]:
    """Admins see everyone; staff the people of their organisation and of the organisations they
    share an agreement with; partners the people of their own organisation."""
    rows, total = await directory.list_people(session, actor, organisation_id=organisation_id,
                                              limit=page.limit, offset=page.offset)
    return Page(items=[PersonRead.model_validate(r) for r in rows], total=total,
                limit=page.limit, offset=page.offset)


@router.get("/people/{person_id}", response_model=PersonRead)
async def get_person(person_id: IdPath, session: SessionDep, actor: CurrentActor) -> PersonRead:
    """One person you can see (as in the list); anyone else is 404."""
    return PersonRead.model_validate(await directory.find_person(session, person_id, actor))


@router.patch("/people/{person_id}", response_model=PersonUpdated)
async def update_person(person_id: IdPath, data: PersonUpdate, session: SessionDep, actor: CurrentActor,
                        when: WhenDep) -> PersonUpdated:
    """Change `name`, `email`, `role`, `job_title`, `timezone`, `language` or `active`. Admins change anyone; staff the
    people of their own organisation who are not admins (never making anyone admin, and not a
    colleague's email); nobody disables themself or changes their own role.

    `active: false` disables the person at once: every token and calendar feed of theirs is
    revoked, their web sessions end, sign-in links are refused, no reminder goes to them; their
    name stays in history. `warnings` lists what they leave undone (a party's only focal point
    or signatory, open deliverables they own); the change is made all the same. `active: true`
    restores sign-in and reminders, not the old tokens."""
    person, warnings = await directory.update_person(session, person_id, data, actor, when)
    return PersonUpdated.model_validate({**PersonRead.model_validate(person).model_dump(), "warnings": warnings})


@router.post("/people/{person_id}/tokens", status_code=201, response_model=TokenRead, responses=created())
async def issue_token(person_id: IdPath, session: SessionDep, actor: CurrentActor, when: WhenDep,
                      response: Response, data: TokenCreate | None = None) -> TokenRead:
    """A new bearer token for the person, shown once and stored hashed: administrators for anyone,
    staff for the people of their own organisation who are not administrators (403 otherwise;
    someone you cannot see is 404). `id` (and the Location, `/api/v1/tokens/{id}`) is what
    `DELETE /api/v1/tokens/{id}` revokes."""
    issued = await directory.issue_token(session, person_id, actor, when.now,
                                         label=data.label if data else None)
    response.headers["Location"] = f"/api/v1/tokens/{issued.id}"
    return TokenRead(id=issued.id, token=issued.token, person_id=person_id)

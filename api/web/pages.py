"""The web pages: sign-in, the agreements list, an agreement, the overview, people.

Every page goes through the same engine services and scoping as the API (an
agreement out of reach is a 404 page). Writes are POSTed forms carrying the
session's CSRF value; each runs in its own unit of work, so a refused write
changes nothing and the page is shown again with the problem's detail.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, get_args
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as FastAPIPath
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import IdPath, get_database, get_settings, get_when, parse_if_match
from api.observability import loggable_path
from api.routers.documents import download
from api.web import amendment_diff, history, link_mail, views
from api.web import session as web_session
from engine import documents, i18n, reports, schedule, statuses, validation_words, words
from engine.access import in_reach
from engine.agreements import actions, policy, reading, service, snapshot
from engine.agreements.values import AgreementSnapshot
from engine.amendments import service as amendments
from engine.clock import When
from engine.context import Actor
from engine.directory import rules, signin, tokens
from engine.directory import service as directory
from engine.directory.service import hash_token
from engine.errors import (
    AccordError,
    Conflict,
    GuardFailed,
    InvalidInput,
    NotFound,
    NotPermitted,
    PreconditionFailed,
    StaleVersion,
    TooLarge,
    TransitionNotAllowed,
    UnsupportedType,
)
from engine.models import Agreement, Contact, Deliverable, Organisation, Party, Person
from engine.schemas import (
    MAX_ID,
    AgreementCopy,
    AgreementCreate,
    AgreementUpdate,
    AmendmentCreate,
    AmendmentEventFire,
    AreaAmendment,
    AreaCreate,
    AreaUpdate,
    ContactCreate,
    DeliverableAddition,
    DeliverableCreate,
    DeliverableUpdate,
    DocumentUpload,
    DocumentWithdraw,
    EventFire,
    OrganisationCreate,
    OrganisationKind,
    OrganisationUpdate,
    PartyCreate,
    PartyInput,
    PartyUpdate,
    PersonCreate,
    PersonUpdate,
    PersonWarning,
    TokenCreate,
    control_character,
)
from engine.statuses import (
    AmendmentAssent,
    AmendmentEvent,
    AmendmentKind,
    AmendmentState,
    ContactKind,
    DeliverableStatus,
    DocumentKind,
    Language,
    PartyRole,
    Role,
)
from engine.workflow import diagrams
from engine.workflow.machine import CompiledWorkflow, catalog

log = logging.getLogger("accord.web")

HERE = Path(__file__).parent
T = TypeVar("T")
templates = Jinja2Templates(directory=HERE / "templates")
# The templates compare with the members of engine/statuses' families (`p.role == PartyRole.SUPPORTER`),
# never with their strings (docs/architecture.md, rule 8).
templates.env.globals.update({family.__name__: family for family in (
    statuses.DeliverableStatus, statuses.Role, statuses.PartyRole, statuses.ContactKind, statuses.HistoryKind,
    statuses.TimerStatus, statuses.DeliveryStatus, statuses.NotificationKind)})
# {% trans %}, _() and the `in_words` filter speak the page's language (`page_language`, engine/i18n.py).
i18n.install(templates.env).globals.update({
    "LANGUAGES": i18n.NAMES,
    # A workflow file's label (a state, an event, a workflow's title) in the page's language, as the
    # file writes it (`labels`): a plain string, escaped like any other (unlike `_()`, whose result
    # Jinja trusts).
    "label": lambda english: catalog().words(english, i18n.current()),
    # A role as the pages say it, translated where shown: `_(role_words[role])`.
    "role_words": {Role.ADMIN: i18n.N_("admin"), Role.STAFF: i18n.N_("staff"), Role.PARTNER: i18n.N_("partner")},
    "kind_words": {"network": i18n.N_("network"), "association": i18n.N_("association"),
                   "local_government": i18n.N_("local government"), "secretariat": i18n.N_("secretariat"),
                   "other": i18n.N_("other")},
    "contact_words": words.CONTACT_KIND,
    "status_words": views.STATUS_WORDS,
    "outcome_words": {"continue": i18n.N_("Continue"), "renew": i18n.N_("Renew"),
                      "renew_as_successor": i18n.N_("Renew as successor"), "terminate": i18n.N_("Terminate")},
    "document_kind_words": {DocumentKind.SIGNED_AGREEMENT: i18n.N_("Signed agreement"),
                            DocumentKind.AMENDMENT: i18n.N_("Signed amendment"),
                            DocumentKind.TERMINATION_LETTER: i18n.N_("Termination letter"),
                            DocumentKind.EVIDENCE: i18n.N_("Evidence"), DocumentKind.OTHER: i18n.N_("Other")},
    "amendment_kind_words": words.AMENDMENT_KIND,
    "amendment_state_words": words.AMENDMENT_STATE, "amendment_state_context": words.AMENDMENT,
    "assent_approved": AmendmentAssent.APPROVED,
})
# The language chosen with the switch on every page (`/language/{language}`), for a year.
LANGUAGE_COOKIE = "accord_language"
LANGUAGE_SECONDS = 365 * 24 * 3600
STATIC = {"web.css": ("text/css", HERE / "static" / "web.css")}
PAGE_SIZE = 50
# The pages run no script and load nothing from elsewhere; forms post only back to this site.
_CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'")
OVERVIEW_DAYS = 90

# Titles of the pages for answers that are not an engine error (an engine error's page takes
# its title and status from the error's class, like the API's problem+json: engine.errors).
_STATUS_TITLES = {400: i18n.N_("Bad request"), 403: i18n.N_("Not permitted"), 404: i18n.N_("Not found"),
                  422: i18n.N_("Invalid input"), 500: i18n.N_("Something went wrong"),
                  503: i18n.N_("Service unavailable")}


# What a page says when its version is no longer the agreement's (If-Match refused, or a write won meanwhile).
_CHANGED_SINCE_OPENED = i18n.N_("Someone changed this agreement after you opened the page, so nothing was done. "
                                "It is shown again as it is now; decide again.")
_CHANGED_MEANWHILE = i18n.N_("Someone changed this agreement at the same moment, so nothing was done. "
                             "It is shown again as it is now; decide again.")
# What a list field of a form asks for when what it sent is not one of the list's.
_CHOOSE = {"amendment_id": i18n.N_("Choose an amendment from the list."),
           "deliverable_area_id": i18n.N_("Choose an area of collaboration from the list."),
           "remove_area_id": i18n.N_("Choose an area of collaboration from the list."),
           "rename_area_id": i18n.N_("Choose an area of collaboration from the list."),
           "deliverable_id": i18n.N_("Choose a deliverable from the list."),
           "organisation_id": i18n.N_("Choose an organisation from the list."),
           "join_organisation_id": i18n.N_("Choose an organisation from the list."),
           "leave_organisation_id": i18n.N_("Choose an organisation from the list."),
           "owner_id": i18n.N_("Choose a person from the list."),
           "person_id": i18n.N_("Choose a person from the list.")}
# A form field as a sentence names it (translated where read); others by their name, spaced.
_FIELD_WORDS = {"title": i18n.N_("title"), "summary": i18n.N_("summary"), "background": i18n.N_("background"),
                "capacity": i18n.N_("capacity"), "progress_note": i18n.N_("progress note"),
                "reason": i18n.N_("reason"), "label": i18n.N_("label"), "email": i18n.N_("email"),
                "evidence_url": i18n.N_("evidence link"), "areas": i18n.N_("areas of collaboration"),
                "deliverable_title": i18n.N_("deliverable title"), "add_area_title": i18n.N_("area title"),
                "rename_area_title": i18n.N_("area title")}


def page_language(request: Request, person: object) -> Language:
    """The language a page is in: the one chosen with the switch in this browser, else the
    signed-in person's (theirs, else their organisation's, else ACCORD_DEFAULT_LANGUAGE), else
    before sign-in the browser's `Accept-Language`, else ACCORD_DEFAULT_LANGUAGE."""
    default = get_settings(request).default_language
    chosen = i18n.known(request.cookies.get(LANGUAGE_COOKIE))
    if chosen is not None:
        return chosen
    if isinstance(person, Actor):
        return i18n.language_of(person.language, None, default)
    known: Language | None = getattr(request.state, "language", None)  # the reader's: `reader_language`
    return known or i18n.negotiate(request.headers.get("accept-language")) or default


async def reader_language(request: Request) -> Language:
    """The language of a page request, known before it reads its form (`page_language`): the switch's
    cookie, else the signed-in reader's own — one small read of their session, which the page then
    opens again as it needs — else `Accept-Language`, else ACCORD_DEFAULT_LANGUAGE. Remembered on
    the request for the pages it renders."""
    if i18n.known(request.cookies.get(LANGUAGE_COOKIE)) is None:
        web = web_session.read_session(request, get_settings(request))
        if web is not None:
            try:
                async with get_database(request).transaction(write=False) as session:
                    reader = await web_session.session_actor(session, web, get_when(request).now)
            except DBAPIError:  # the page itself says the database is unreachable
                reader = None
            if reader is not None:
                request.state.language = page_language(request, reader)
    return page_language(request, None)


def render(request: Request, template: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    settings = get_settings(request)
    csrf, fresh = web_session.csrf_value(request, settings)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    context = {"csrf": csrf, "person": None, "path": request.url.path, "here": here, **context}
    language = context["language"] = page_language(request, context["person"])
    with i18n.reading(language):
        response = templates.TemplateResponse(request, template, context, status_code=status_code)
    response.headers["Content-Language"] = language
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = _CSP
    response.headers["Referrer-Policy"] = "same-origin"
    if fresh:
        web_session.remember_csrf(response, request, settings, csrf)
    return response


def error_page(request: Request, status: int, detail: str | i18n.Later | i18n.Foreign | AccordError, *,
               title: str | i18n.Later | None = None,
               unmet: list[str] | None = None, reference: str | None = None) -> HTMLResponse:
    signed_in = web_session.read_session(request, get_settings(request)) is not None
    return render(request, "error.html", {
        "status": status, "title": title or i18n.Later(_STATUS_TITLES.get(status, i18n.N_("Error"))), "detail": detail,
        "unmet": unmet or [], "reference": reference, "signed_in": signed_in,
    }, status_code=status)


class WebRoute(APIRoute):
    """Errors on a page become a friendly page (or the sign-in form), never problem+json or a stack trace."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await handle(request)
            except web_session.SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                return RedirectResponse(f"/sign-in?next={quote(target)}", status_code=303)
            except web_session.CsrfRefused:
                return error_page(request, 403, i18n.Later(i18n.N_(
                    "This form was not sent from a page of this site, or it has expired. Go back, reload the page "
                    "and send it again.")), title=i18n.Later(i18n.N_("Form refused")))
            except AccordError as error:
                unmet = error.unmet if isinstance(error, GuardFailed) else None
                return error_page(request, error.status, error, title=i18n.Later(error.title), unmet=unmet)
            except RequestValidationError as error:
                fields = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ())[1:])}: "
                                   f"{validation_words.describe(e)}" for e in error.errors())
                return error_page(request, 422, i18n.gettext("Some of what was sent is not valid: %(fields)s.") % {
                    "fields": fields}, title=i18n.Later(i18n.N_("Invalid input")))
            except StarletteHTTPException as error:
                return error_page(request, error.status_code, i18n.Foreign(str(error.detail)))
            except DBAPIError:
                return error_page(request, 503, i18n.gettext("The database is not reachable right now; nothing "
                                                             "was changed. Try again shortly."))
            except Exception:
                reference = uuid.uuid4().hex[:12]
                log.exception("unexpected error %s on %s %s", reference, request.method,
                              loggable_path(request.scope))
                return error_page(request, 500, i18n.gettext(
                    "Something went wrong on our side and nothing was changed. Quote reference %(reference)s to the "
                    "administrator.") % {"reference": reference}, reference=reference)

        async def in_its_language(request: Request) -> Response:
            # The whole request in the page's language — what it checks in the form, reads, writes
            # and what the write refuses — settled before the page does anything (`reader_language`).
            with i18n.reading(await reader_language(request)):
                return await handler(request)

        return in_its_language


router = APIRouter(route_class=WebRoute, include_in_schema=False)


# --- helpers ----------------------------------------------------------------------------------

async def require_actor(request: Request, session: AsyncSession) -> Actor:
    actor = await web_session.session_actor(session, web_session.read_session(request, get_settings(request)),
                                            get_when(request).now)
    if actor is None:
        raise web_session.SignInRequired()
    return actor


async def posted(request: Request) -> FormData:
    """The form, once its CSRF value is checked."""
    form = await request.form()
    csrf = form.get("csrf")
    web_session.check_csrf(request, get_settings(request), csrf if isinstance(csrf, str) else None)
    return form


def text(form: FormData, name: str, limit: int = 20_000) -> str | None:
    value = form.get(name)
    if not isinstance(value, str):
        return None
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(i18n.gettext(
            "%(field)s is too long: at most %(limit)s characters, and it has %(length)s.") % {
            "field": field_in_words(name).capitalize(),
            "limit": i18n.format_number(limit), "length": i18n.format_number(len(value))}, field=name)
    return value or None


def whole_number(text: str | None, largest: int) -> int | None:
    """The number a form or query field holds, or None: ASCII digits only (`str.isdigit` also
    accepts '²', which `int` refuses), and no larger than `largest`."""
    if not text or not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    number = int(text)
    return number if number <= largest else None


def _validation_detail(error: ValidationError) -> str:
    """The schema's refusals in one sentence for the box at the top, in the language being read."""
    parts = []
    for item in error.errors():
        loc = [str(p) for p in item.get("loc", ())]
        where = (field_in_words(loc[0]) if len(loc) == 1 else ".".join(loc)) if loc else i18n.gettext("form")
        parts.append(i18n.gettext("%(label)s:") % {"label": where} + " " + validation_words.describe(item))
    return i18n.gettext("Fix these fields and send again: %(fields)s.") % {"fields": "; ".join(parts)}


def field_in_words(name: str) -> str:
    """A form field as the page names it, in the language being read: the history's words for an
    agreement's and a part's fields, the form's own for the others, else the name spaced."""
    for words_of in (history.FIELD_LABELS, history.PART_LABELS, _FIELD_WORDS):
        if name in words_of:
            return i18n.gettext(words_of[name])
    return name.replace("_", " ")


def _invalid(error: ValidationError, fields: Any = ()) -> InvalidInput:
    """A form's values the schema refuses, as the engine's InvalidInput naming the first field."""
    first = next(iter(_field_problems(error, fields)), "form")
    return InvalidInput(_validation_detail(error), field=None if first == "form" else first)


def _field_problems(error: ValidationError, fields: Any) -> dict[str, str]:
    """Each field the schema refuses, with what is wrong, to show beside the field. A check of the
    whole form (dates in order) names the field its sentence starts with (engine.schemas), in every
    language. Said in the language being read."""
    problems: dict[str, str] = {}
    for item in error.errors():
        loc = item.get("loc", ())
        message = validation_words.describe(item)
        first = message.split(" ", 1)[0]
        name = str(loc[0]) if loc else (first if first in fields else "form")
        problems.setdefault(name, message)
    return problems


def safe_next(target: str | None) -> str:
    if (target and target.startswith("/") and not target.startswith("//") and "\\" not in target
            and control_character(target) is None):
        return target
    return "/agreements"


def event_fields(workflow_name: str, version: int, event: str) -> list[str]:
    """The fields the event takes, as its workflow declares them: the form asks for these only."""
    return list(catalog().get(workflow_name, version).fields(event))


async def viewer_zone(session: AsyncSession, actor: Actor) -> tuple[str, ZoneInfo]:
    """The time zone the person reads times in: their own, else their organisation's, else UTC."""
    zones = await schedule.recipient_zones(session, {actor.person_id} if actor.person_id else set())
    name = zones.get(actor.person_id or 0) or "UTC"
    return name, schedule.zone(name)


async def _people_named(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(select(col(Person.id), col(Person.name)).where(col(Person.id).in_(ids)))
    return {person_id: name for person_id, name in rows.all() if person_id is not None}


async def agreement_page(session: AsyncSession, request: Request, agreement_id: int, actor: Actor, when: When,
                         *, problem: AccordError | None = None, form: FormData | None = None) -> dict[str, Any]:
    agreement = await snapshot.load(session, agreement_id, actor)
    read = reading.read_agreement(agreement, actor, when)
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    rows, _ = await reading.list_history(session, agreement_id, limit=500, offset=0)
    zone_name, zone = await viewer_zone(session, actor)
    named = {c.person_id for c in agreement.contacts}
    people_named = await _people_named(session, history.referenced_people(rows) - named)
    diagram = diagrams.svg(workflow, agreement.state, page_language(request, actor))
    people = {c.person.id: c.person.name for p in read.parties for c in (*p.focal_points, *p.signatories)}
    deliverables = [d for a in read.areas for d in a.deliverables]
    done = sum(1 for d in deliverables if d.status == DeliverableStatus.DONE)
    counted = sum(1 for d in deliverables if d.status != DeliverableStatus.CANCELLED)
    # Whom the person may sign for (engine.agreements.policy): an administrator chooses among
    # the parties that have not signed; staff sign for their own organisation and choose nothing.
    sign_for = ([(p.organisation_id, p.organisation.name) for p in policy.parties_to_sign_for(actor, agreement)]
                if policy.acts_for_anyone(actor) else [])
    # A scheduled event is said as what will happen and when (`scheduled`), not offered as a
    # button; one that asks first (`confirm`) links to its confirmation page.
    event_forms = []
    for name in read.available_events:
        spec = workflow.spec.events[name]
        if spec.scheduled:
            continue
        dest = workflow.spec.states[workflow.destination(agreement.state, name) or agreement.state]
        event_forms.append({
            "name": name, "label": spec.label, "confirm": spec.confirm, "becomes": dest.label,
            "final": dest.final, "fields": event_fields(agreement.workflow_name, agreement.workflow_version, name),
            "unmet": read.unmet_conditions.get(name, []),
        })
    timeline = views.timeline(read, when.today)
    entries = history.entries(rows, agreement, workflow.spec, people_named, zone)
    scheduled = views.scheduled_steps(workflow, agreement, when)
    drafting = await drafting_forms(session, actor, agreement, workflow)  # its why-nots and refusals
    return {
        "agreement": read, "diagram": diagram, "history": entries,
        "zone_name": zone_name, "changed_at": history.moment(agreement.updated_at, zone),
        "scheduled": scheduled,
        "next_review": views.next_review(workflow, agreement, when.today),
        "steps": diagrams.states_in_order(workflow, agreement.state), "people": people,
        "timeline": timeline, "today": when.today, "event_forms": event_forms,
        "can_update": lambda d: policy.may_update_deliverable(workflow, actor, agreement, d.owner_id),
        "progress": {"done": done, "total": counted}, "area_progress": {
            a.id: (sum(1 for d in a.deliverables if d.status == DeliverableStatus.DONE),
                   sum(1 for d in a.deliverables if d.status != DeliverableStatus.CANCELLED)) for a in read.areas},
        "sign_for": sign_for, "person": actor, "problem": problem,
        "problem_status": problem.status if problem else None,
        "unmet": problem.unmet if isinstance(problem, GuardFailed) else [],
        "form": form, "fired": request.query_params.get("done"),
        "updated": request.query_params.get("updated"),
        "statuses": list(DeliverableStatus),
        "workflow": workflow.spec,
        "drafting": drafting,
        "copying": {"why_not": _copy_refusal(actor, agreement)},
        "problem_field": problem.field if isinstance(problem, InvalidInput) else None,
        "changed": request.query_params.get("changed"),
        "documents": await documents_section(session, actor, agreement),
        **await amendment_forms(session, actor, agreement, workflow, page_language(request, actor)),
    }


_NOBODY_LISTED = i18n.Later(i18n.N_("someone no longer listed"))


async def documents_section(session: AsyncSession, actor: Actor, agreement: AgreementSnapshot) -> dict[str, Any]:
    """The agreement's documents as its page lists them (who uploaded each, its size in words),
    and what the upload form offers `actor` (engine.agreements.policy): every kind to the staff of
    a party and administrators, evidence of the deliverables they own to a partner."""
    people = await _people_named(session, {d.uploaded_by_id for d in agreement.documents if d.uploaded_by_id})
    staff = policy.may_edit(actor, agreement)
    return {
        "items": [{"document": d, "by": people.get(d.uploaded_by_id or 0, _NOBODY_LISTED),
                   "size": documents.size_in_words(d.size)} for d in agreement.documents],
        "may_upload": policy.may_upload(actor, agreement), "may_withdraw": actor.is_admin,
        "kinds": list(DocumentKind) if staff else [DocumentKind.EVIDENCE],
        "deliverables": [d for d in agreement.deliverables if staff or d.owner_id == actor.person_id],
        "evidence": DocumentKind.EVIDENCE, "signed_amendment": DocumentKind.AMENDMENT,
        "may_upload_amendment": policy.may_upload(actor, agreement) and staff,
    }


def _copy_refusal(actor: Actor, agreement: AgreementSnapshot) -> str | None:
    """Why `actor` may not copy the agreement into a new draft (actions.CopyAgreement asks the same)."""
    try:
        return policy.require_creator(actor, [p.organisation_id for p in agreement.parties])
    except NotPermitted as refused:
        return refused.detail


# The amendment fields the page's proposal form offers (the API takes every field and part).
_AMENDMENT_FIELDS = ("title", "summary", "ends_on", "next_review_on", "review_every_months", "notice_period_days")
_AMENDMENT_EVENTS = {AmendmentEvent.SUBMIT: i18n.N_("Submit for signature"), AmendmentEvent.SIGN: i18n.N_("Sign"),
                     AmendmentEvent.APPROVE: i18n.N_("Approve"), AmendmentEvent.WITHDRAW: i18n.N_("Withdraw to draft"),
                     AmendmentEvent.CANCEL: i18n.N_("Cancel")}
# The proposal form's fields, as its labels say them (translated where shown).
_AMENDMENT_FIELD_WORDS = {"title": i18n.N_("Title"), "summary": i18n.N_("Summary"), "ends_on": i18n.N_("Ends on"),
                          "next_review_on": i18n.N_("Next review"),
                          "review_every_months": i18n.N_("Review every (months)"),
                          "notice_period_days": i18n.N_("Notice period (days)")}


# The scope and parties proposal forms' fields: one change of each sort at a time.
_SCOPE_FIELDS = ("add_area_title", "rename_area_id", "rename_area_title", "remove_area_id", "deliverable_area_id",
                 "deliverable_title", "owner_id", "due_on")
_PARTIES_FIELDS = ("join_organisation_id", "join_role", "leave_organisation_id")


async def amendment_forms(session: AsyncSession, actor: Actor, agreement: AgreementSnapshot,
                          workflow: CompiledWorkflow, language: Language) -> dict[str, Any]:
    """The agreement's amendments with their diffs (in words, in `language`) and the events the
    person may send, and whether they may propose one now (engine.amendments.service,
    engine.agreements.policy), with the organisations that could join it by a parties amendment."""
    listed, _ = await amendments.list_amendments(session, agreement.id, actor, limit=100, offset=0)
    people_ids, organisation_ids = amendment_diff.named_ids(am.diff for am in listed)
    people = await _people_named(session, people_ids)
    organisations = {o.id: o.name for o in await session.scalars(
        select(Organisation).where(col(Organisation.id).in_(organisation_ids))) if o.id is not None}
    with i18n.reading(language):
        diffs = {am.id: amendment_diff.lines(am.diff, agreement, people, organisations) for am in listed}
    may_amend = policy.may_edit(actor, agreement) and workflow.is_amendable(agreement.state)
    parties = {p.organisation_id for p in agreement.parties}
    joinable = [o for o in await session.scalars(select(Organisation).order_by(col(Organisation.name)))
                if o.id not in parties] if may_amend else []
    return {"amendments": listed, "amendment_diffs": diffs, "amendment_events": _AMENDMENT_EVENTS,
            "amendment_fields": _AMENDMENT_FIELDS,
            "amendment_field_words": _AMENDMENT_FIELD_WORDS,
            "amendment_kinds": [AmendmentKind.ADMINISTRATIVE, AmendmentKind.TERMS],  # what the form's fields are
            "signing_events": [AmendmentEvent.SIGN, AmendmentEvent.APPROVE],
            "pending_signature": AmendmentState.PENDING_SIGNATURE, "signs_for_any": policy.acts_for_anyone(actor),
            "scope_kind": AmendmentKind.SCOPE, "parties_kind": AmendmentKind.PARTIES, "joinable": joinable,
            "may_amend": may_amend}


async def drafting_forms(session: AsyncSession, actor: Actor, agreement: AgreementSnapshot,
                         workflow: CompiledWorkflow) -> dict[str, Any]:
    """What the drafting forms of the agreement page offer, as engine.agreements.policy answers:
    whether the person may change the agreement now (and if not, why, in words), for each party
    whether they may name or withdraw its people (and if not, why), whom they may name, the
    focal points a deliverable may be given to, and why a withdrawal, a party's becoming a
    supporter or a removal would be refused (`kept`), to say instead of offering its button."""
    why_not = None
    try:
        policy.require_editor(actor, agreement)
        policy.require_open(workflow, agreement, i18n.N_("change it"))
    except (NotPermitted, Conflict) as refused:
        why_not = refused.detail
    terms_why_not = None
    try:
        policy.require_terms_editable(workflow, agreement, ["title", "summary", "dates", "parties"])
    except Conflict as refused:
        terms_why_not = refused.detail
    contacts = {}
    org_ids = []
    for party in agreement.parties:
        refusal = policy.contact_refusal(actor, agreement, party)
        if refusal is None:
            org_ids.append(party.organisation_id)
        contacts[party.id] = {"party": party, "refusal": refusal}
    candidates: dict[int, list[Person]] = {}
    if why_not is None and org_ids:
        for person in await session.scalars(select(Person).where(col(Person.organisation_id).in_(org_ids),
                                                                  col(Person.active).is_(True))
                                            .order_by(col(Person.name))):
            candidates.setdefault(person.organisation_id, []).append(person)
    owners = {c.person_id: c.person.name for c in agreement.contacts
              if c.kind == ContactKind.FOCAL_POINT and c.person.active}
    addable: list[Organisation] = []
    if why_not is None and terms_why_not is None:
        parties = {p.organisation_id for p in agreement.parties}
        addable = [o for o in await session.scalars(select(Organisation).order_by(col(Organisation.name)))
                   if o.id not in parties]
    # What a button would be refused for whoever pressed it, said in its place (engine.agreements.actions).
    kept = {
        "contacts": {c.id: why for c in agreement.contacts
                     if (why := actions.withdrawal_refusal(workflow, agreement, c))},
        "supporters": {p.id: why for p in agreement.parties if (why := actions.supporter_refusal(agreement, p))},
        "areas": {a.id: why for a in agreement.areas if (why := actions.area_removal_refusal(agreement, a))},
        "deliverables": {d.id: why for d in agreement.deliverables
                         if (why := actions.deliverable_removal_refusal(d))},
    }
    return {"may": why_not is None, "why_not": why_not, "terms_why_not": terms_why_not, "addable": addable,
            "kept": kept,
            "roles": [PartyRole.PARTY, PartyRole.SUPPORTER],
            "contacts": contacts, "candidates": candidates, "owners": sorted(owners.items(), key=lambda o: o[1]),
            "kinds": [ContactKind.FOCAL_POINT, ContactKind.SIGNATORY]}


# --- sign-in ----------------------------------------------------------------------------------

@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    signed_in = web_session.read_session(request, get_settings(request)) is not None
    return RedirectResponse("/agreements" if signed_in else "/sign-in", status_code=303)


@router.get("/language/{language}", response_class=HTMLResponse)
async def choose_language(request: Request, language: str,
                          next: str | None = Query(default=None, max_length=500)) -> Response:
    """The language switch: pages are in `language` in this browser from now on, signed in or not."""
    chosen = i18n.known(language)
    if chosen is None:
        raise NotFound(i18n.gettext("Accord is not written in “%(language)s”; it is in %(languages)s.") % {
            "language": language, "languages": ", ".join(i18n.NAMES[known] for known in Language)})
    response = RedirectResponse(safe_next(next), status_code=303)
    response.set_cookie(LANGUAGE_COOKIE, chosen, max_age=LANGUAGE_SECONDS, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https" or get_settings(request).base_url.startswith("https://"),
                        path="/")
    return response


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_form(request: Request, next: str | None = Query(default=None, max_length=500)) -> Response:
    return render(request, "sign_in.html", {"next": safe_next(next), "error": None})


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request) -> Response:
    form = await posted(request)
    token = text(form, "token", limit=200)
    target = safe_next(text(form, "next", limit=500))
    key = None
    if token:
        async with get_database(request).transaction() as session:
            key = await signin.open_session(session, hash_token(token), get_when(request).now)
    if key is None:
        return render(request, "sign_in.html", {
            "next": target,
            "error": i18n.Later(i18n.N_(
                "That token is not valid (or has been revoked). Paste the whole token you were given, starting "
                "with acc_; an administrator issues tokens with `accord admin create` or "
                "POST /api/v1/people/{id}/tokens.")),
        }, status_code=401)
    response = RedirectResponse(target, status_code=303)
    web_session.start_session(response, request, get_settings(request), key)
    return response


@router.post("/sign-in/link", response_class=HTMLResponse)
async def request_sign_in_link(request: Request) -> Response:
    """The same answer, in the same time, for every address: the request only counts itself
    against its client's limit; looking the address up and mailing the link happen after it
    (`link_mail.dispatch`), so no one learns from this page who has an account."""
    form = await posted(request)
    email = text(form, "email", limit=320)
    target = safe_next(text(form, "next", limit=500))
    if not email or "@" not in email:
        return render(request, "sign_in.html", {
            "next": target, "error": None,
            "link_error": "Enter the email address Accord knows you by, such as name@example.org.",
        }, status_code=422)
    settings, when = get_settings(request), get_when(request)
    client = request.client.host if request.client else "unknown"
    async with get_database(request).transaction() as session:
        wait = await signin.note_request(session, client, when.now, settings.sign_in_links_per_client_per_hour)
    if wait is not None:
        minutes = max(1, math.ceil(wait.total_seconds() / 60))
        response = render(request, "sign_in.html", {
            "next": target, "error": None,
            "link_error": "Too many sign-in links have been asked for from your network in the last hour. "
                          f"Try again in {minutes} minute{'' if minutes == 1 else 's'}, or sign in with an "
                          "access token.",
        }, status_code=429)
        response.headers["Retry-After"] = str(math.ceil(wait.total_seconds()))
        return response
    link_mail.dispatch(get_database(request), settings, email, when.now, target)
    return render(request, "sign_in_link_sent.html", {})


def _link_unusable(request: Request, target: str) -> Response:
    return render(request, "sign_in_link.html", {"name": None, "link_error": None, "next": target},
                  status_code=410)


@router.get("/sign-in/link/{token}", response_class=HTMLResponse)
async def sign_in_link_page(request: Request, token: str,
                            next: str | None = Query(default=None, max_length=500)) -> Response:
    """A button, not a sign-in: mail scanners that open links must not use them up. `next`: the
    page the link was asked for on the way to, where signing in leads."""
    target = safe_next(next)
    async with get_database(request).transaction(write=False) as session:
        name = await signin.check_link(session, token, get_when(request).now)
    if name is None:
        return _link_unusable(request, target)
    return render(request, "sign_in_link.html", {"name": name, "token": token, "next": target})


@router.post("/sign-in/link/{token}", response_class=HTMLResponse)
async def sign_in_with_link(request: Request, token: str) -> Response:
    form = await posted(request)
    target = safe_next(text(form, "next", limit=500))
    now = get_when(request).now
    async with get_database(request).transaction() as session:
        session_token = await signin.redeem_link(session, token, now)
        key = await signin.open_session(session, hash_token(session_token), now) if session_token else None
    if key is None:
        return _link_unusable(request, target)
    response = RedirectResponse(target, status_code=303)
    web_session.start_session(response, request, get_settings(request), key)
    return response


@router.post("/sign-out", response_class=HTMLResponse)
async def sign_out(request: Request) -> Response:
    """The session ends on the server: a copy of the cookie kept from before is refused."""
    await posted(request)
    web = web_session.read_session(request, get_settings(request))
    if web is not None:
        async with get_database(request).transaction() as session:
            await signin.end_session(session, web.key, get_when(request).now)
    response = RedirectResponse("/sign-in", status_code=303)
    web_session.end_session(response)
    return response


@router.get("/static/{name}")
async def static(name: str) -> Response:
    if name not in STATIC:
        raise NotFound(i18n.gettext("There is no file “%(name)s” here.") % {"name": name})
    media_type, path = STATIC[name]
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})


# --- agreements -------------------------------------------------------------------------------

@router.get("/agreements", response_class=HTMLResponse)
async def agreements_list(
    request: Request,
    state: str | None = Query(default=None, max_length=32),
    party: str | None = Query(default=None, max_length=20),
    q: str | None = Query(default=None, max_length=200),
    page: int = Query(default=1, ge=1, le=100_000),
) -> Response:
    party_id = whole_number(party, MAX_ID)
    filters = reading.AgreementFilters(state=[state] if state else None, party=party_id, q=q or None)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        when = get_when(request)
        rows, total = await reading.list_agreements(session, actor, filters, limit=PAGE_SIZE,
                                                       offset=(page - 1) * PAGE_SIZE)
        reachable = select(col(Party.organisation_id)).where(
            col(Party.agreement_id).in_(in_reach(select(col(Agreement.id)), actor)))
        organisations = list(await session.scalars(
            select(Organisation).where(col(Organisation.id).in_(reachable)).order_by(col(Organisation.name))))
    states: dict[str, str] = {}
    for workflow in catalog().workflows.values():
        for name, spec in workflow.spec.states.items():
            states.setdefault(name, spec.label)
    items = []
    for agreement in rows:
        workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
        upcoming = sorted((d, what) for d, what in ((agreement.next_review_on, "review"),
                                                    (agreement.ends_on, "ends"))
                          if d is not None and d >= when.today)
        items.append({"summary": reading.summarise(agreement),
                      "state_label": workflow.spec.states[agreement.state].label,
                      "next": upcoming[0] if upcoming else None})
    query = {k: v for k, v in (("state", state), ("party", party), ("q", q)) if v}
    return render(request, "agreements.html", {
        "person": actor, "items": items, "total": total, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "states": states, "organisations": organisations,
        "filters": {"state": state or "", "party": party_id, "q": q or ""},
        "query": urlencode(query), "today": when.today,
    })


async def _new_agreement_page(request: Request, session: AsyncSession, actor: Actor, *,
                              form: FormData | None = None, problems: dict[str, str] | None = None,
                              problem: str | None = None) -> dict[str, Any]:
    if actor.role == Role.PARTNER:
        raise NotPermitted(i18n.gettext("Partners cannot create agreements; the staff of a party do."))
    organisations, _ = await directory.list_organisations(session, limit=500, offset=0)
    # The reader's own organisation first, then the others by name.
    organisations.sort(key=lambda o: (o.id != actor.organisation_id, o.name.casefold()))
    workflows: dict[str, str] = {}
    for workflow in catalog().workflows.values():
        workflows.setdefault(workflow.spec.name, workflow.spec.title)
    return {"person": actor, "organisations": organisations, "workflows": workflows, "form": form,
            "problems": problems or {}, "problem": problem, "own": actor.organisation_id,
            "roles": [PartyRole.PARTY, PartyRole.SUPPORTER]}


@router.get("/agreements/new", response_class=HTMLResponse)
async def new_agreement(request: Request) -> Response:
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        context = await _new_agreement_page(request, session, actor)
    return render(request, "new_agreement.html", context)


_TERMS = ("title", "workflow", "summary", "effective_from", "ends_on", "review_every_months")


@router.post("/agreements/new", response_class=HTMLResponse)
async def create_agreement(request: Request) -> Response:
    """A new agreement (actions.Create, as POST /api/v1/agreements): the terms, the parties chosen
    (`role-<organisation id>`: party, supporter or nothing) and the first areas, one per line."""
    form = await posted(request)
    when = get_when(request)
    problems: dict[str, str] = {}
    try:
        values: dict[str, Any] = {k: v for k, v in _given(form, _TERMS).items() if v is not None}
        parties = []
        for key in form:
            if key.startswith("role-") and (role := text(form, key, limit=16)):
                parties.append({"organisation_id": key.removeprefix("role-"), "role": role})
        values["parties"] = parties
        values["areas"] = [{"title": line.strip()} for line in (text(form, "areas") or "").splitlines()
                           if line.strip()]
        try:
            data = AgreementCreate.model_validate(values)
        except ValidationError as invalid:
            problems = _field_problems(invalid, AgreementCreate.model_fields)
            raise InvalidInput(_validation_detail(invalid)) from None
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            created = (await service.apply(session, None, actor, when, actions.Create(data))).agreement
    except InvalidInput as refused:
        if refused.field and refused.field not in problems:
            problems[refused.field] = refused.detail
        async with get_database(request).transaction(write=False) as session:
            actor = await require_actor(request, session)
            context = await _new_agreement_page(request, session, actor, form=form, problems=problems,
                                                problem=refused.detail)
        return render(request, "new_agreement.html", context, status_code=refused.status)
    return RedirectResponse(f"/agreements/{created.id}?changed=new-draft#top", status_code=303)


@router.get("/agreements/{agreement_id}", response_class=HTMLResponse)
async def agreement_view(request: Request, agreement_id: IdPath) -> Response:
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        context = await agreement_page(session, request, agreement_id, actor, get_when(request))
    return render(request, "agreement.html", context)


async def _page_with_problem(request: Request, agreement_id: int, problem: AccordError,
                             form: FormData | None, *, confirming: str | None = None) -> Response:
    """The agreement page again with `problem`; for an event being confirmed, its confirmation
    page (with what was typed), unless the event cannot be confirmed any more."""
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        if confirming is not None:
            try:
                context = await confirmation(session, agreement_id, actor, get_when(request), confirming,
                                             page_language(request, actor), form=form, problem=problem)
            except AccordError:
                context = None
            if context is not None:
                return render(request, "confirm.html", context, status_code=problem.status)
        context = await agreement_page(session, request, agreement_id, actor, get_when(request),
                                       problem=problem, form=form)
    return render(request, "agreement.html", context, status_code=problem.status)


async def confirmation(session: AsyncSession, agreement_id: int, actor: Actor, when: When, event: str,
                       language: Language, *,
                       form: FormData | None = None, problem: AccordError | None = None,
                       seen_version: str | None = None, data: EventFire | None = None) -> dict[str, Any] | None:
    """The confirmation page of an event that asks first (the workflow's `confirm: true`): what it
    will do to the agreement as it is now, and its form. None if the event does not ask first;
    the reasons it may not be fired now (reach, authority, state, a field the event does not
    take in `data`) are raised as firing it would raise them. Its consequences are said in `language`."""
    agreement = await snapshot.load(session, agreement_id, actor)
    workflow = catalog().get(agreement.workflow_name, agreement.workflow_version)
    spec = workflow.event(event)
    if spec is None or not spec.confirm:
        return None
    policy.require_fire(workflow, actor, agreement, event)
    if data is not None:
        actions.only_fields_of(workflow, event, actions.given_fields(data))
    with i18n.reading(language):  # its unmet conditions in the page's language
        read = reading.read_agreement(agreement, actor, when)
    if event not in read.available_events:  # an effect's authority refuses this person
        raise NotPermitted(i18n.gettext("You may not do “%(event)s” on this agreement.") % {
            "event": workflow.spec.label_of(event, i18n.current())})
    changed = seen_version is not None and seen_version != str(agreement.version)
    with i18n.reading(language):
        consequences = views.consequences(workflow, agreement, event)
    return {
        "agreement": read, "person": actor, "workflow": workflow.spec, "today": when.today,
        "event": {"name": event, "label": spec.label,
                  "fields": event_fields(agreement.workflow_name, agreement.workflow_version, event),
                  "unmet": read.unmet_conditions.get(event, [])},
        "consequences": consequences, "form": form, "problem": problem,
        "problem_status": problem.status if problem else None,
        "unmet": problem.unmet if isinstance(problem, GuardFailed) else [], "changed": changed,
        "sign_for": [],
    }


async def _asks_first(session: AsyncSession, agreement_id: int, event: str) -> bool:
    """Whether `event` asks first in the agreement's workflow (one small read; the reach is
    checked by what follows: the confirmation page, or the firing)."""
    row = (await session.execute(select(col(Agreement.workflow_name), col(Agreement.workflow_version))
                                 .where(col(Agreement.id) == agreement_id))).first()
    if row is None:
        return False
    spec = catalog().get(row[0], row[1]).event(event)
    return spec is not None and spec.confirm


@router.get("/agreements/{agreement_id}/events/{event}", response_class=HTMLResponse)
async def confirm_event(request: Request, agreement_id: IdPath,
                        event: str = FastAPIPath(max_length=64, pattern=r"^[a-z_]+$")) -> Response:
    """An event that cannot be undone (or stops the agreement) asks first, on a page of its own."""
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        context = await confirmation(session, agreement_id, actor, get_when(request), event,
                                     page_language(request, actor))
    if context is None:
        raise NotFound(i18n.gettext("“%(event)s” asks for no confirmation here; it is done from the agreement's "
                                    "page.") % {"event": event})
    return render(request, "confirm.html", context)


@router.post("/agreements/{agreement_id}/events", response_class=HTMLResponse)
async def fire_event(request: Request, agreement_id: IdPath) -> Response:
    """Fire an event from a page's form. An event that asks first (`confirm`) is fired only when
    the form says it was confirmed (`confirmed` names the event: its confirmation page's form);
    otherwise its confirmation page is shown, with what was typed, and nothing changes."""
    form = await posted(request)
    event = text(form, "event", limit=64) or ""
    version = text(form, "version", limit=18)
    confirmed = text(form, "confirmed", limit=64) == event
    when = get_when(request)
    try:
        fields = {name: value for name in EventFire.model_fields if name != "event"
                  if (value := text(form, name)) is not None}
        try:
            data = EventFire.model_validate({"event": event, **fields})
        except ValidationError as invalid:
            raise InvalidInput(_validation_detail(invalid)) from None
        if not confirmed:
            async with get_database(request).transaction(write=False) as session:
                actor = await require_actor(request, session)
                context = (await confirmation(session, agreement_id, actor, when, data.event,
                                              page_language(request, actor), form=form,
                                              seen_version=version, data=data)
                           if await _asks_first(session, agreement_id, data.event) else None)
            if context is not None:
                return render(request, "confirm.html", context)
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            outcome = await service.fire(session, agreement_id, data.event, actor, when, data,
                                         if_match=parse_if_match(f'"{version}"') if version else None)
    except PreconditionFailed:
        changed = Conflict(i18n.gettext(_CHANGED_SINCE_OPENED))
        return await _page_with_problem(request, agreement_id, changed, form, confirming=event if confirmed else None)
    except StaleVersion:
        changed = Conflict(i18n.gettext(_CHANGED_MEANWHILE))
        return await _page_with_problem(request, agreement_id, changed, form, confirming=event if confirmed else None)
    except (GuardFailed, TransitionNotAllowed, InvalidInput, NotPermitted, Conflict) as refused:
        return await _page_with_problem(request, agreement_id, refused, form,
                                        confirming=event if confirmed else None)
    successor = outcome.successor()
    if successor is not None:  # a review renewed as successor: on to the successor's draft
        return RedirectResponse(f"/agreements/{successor.id}?changed=successor#top", status_code=303)
    return RedirectResponse(f"/agreements/{agreement_id}?done={quote(event)}#top", status_code=303)


@router.post("/deliverables/{deliverable_id}", response_class=HTMLResponse)
async def update_deliverable(request: Request, deliverable_id: IdPath) -> Response:
    form = await posted(request)
    when = get_when(request)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        agreement_id = await reading.agreement_of_deliverable(session, deliverable_id, actor)
    try:
        changes = {"status": text(form, "status", limit=16), "progress_note": text(form, "progress_note"),
                   "evidence_url": text(form, "evidence_url", limit=2000)}
        if changes["status"] is None:
            del changes["status"]
        try:
            data = DeliverableUpdate.model_validate(changes)
        except ValidationError as invalid:
            raise InvalidInput(_validation_detail(invalid)) from None
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            await service.apply(session, agreement_id, actor, when, actions.UpdateDeliverable(deliverable_id, data))
    except (InvalidInput, NotPermitted, Conflict) as refused:
        return await _page_with_problem(request, agreement_id, refused, form)
    return RedirectResponse(f"/agreements/{agreement_id}?updated={deliverable_id}#deliverable-{deliverable_id}",
                            status_code=303)


# --- drafting and correcting ------------------------------------------------------------------

def _version(form: FormData) -> Any:
    """The agreement version the page was read at, as the If-Match condition of the write."""
    version = text(form, "version", limit=18)
    return parse_if_match(f'"{version}"') if version else None


def _given(form: FormData, names: tuple[str, ...]) -> dict[str, str | None]:
    """The named fields the form carries (an empty one as None: cleared); absent ones are left out."""
    return {name: text(form, name) for name in names if name in form}


def _model(schema: Any, values: dict[str, Any]) -> Any:
    try:
        return schema.model_validate(values)
    except ValidationError as invalid:
        raise _invalid(invalid, schema.model_fields) from None


async def _draft_write(request: Request, agreement_id: int, form: FormData, make: Callable[[], Any],
                       changed: str, anchor: str) -> Response:
    """Apply the action `make` builds from the form (engine.agreements.service.apply, with the
    page's version as If-Match); a refusal shows the page again with the problem and what was typed."""
    try:
        action = make()
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            await service.apply(session, agreement_id, actor, get_when(request), action, if_match=_version(form))
    except PreconditionFailed:
        return await _page_with_problem(request, agreement_id, Conflict(i18n.gettext(_CHANGED_SINCE_OPENED)), form)
    except StaleVersion:
        return await _page_with_problem(request, agreement_id, Conflict(i18n.gettext(_CHANGED_MEANWHILE)), form)
    except (InvalidInput, NotPermitted, Conflict) as refused:
        return await _page_with_problem(request, agreement_id, refused, form)
    return RedirectResponse(f"/agreements/{agreement_id}?changed={quote(changed)}#{anchor}", status_code=303)


def _id(form: FormData, name: str) -> int | None:
    value = text(form, name, limit=18)
    if value is None:
        return None
    number = whole_number(value, MAX_ID)
    if number is None:
        raise InvalidInput(i18n.gettext(_CHOOSE.get(name, i18n.N_("Choose one from the list."))), field=name)
    return number


@router.post("/agreements/{agreement_id}/contacts", response_class=HTMLResponse)
async def name_contact(request: Request, agreement_id: IdPath) -> Response:
    """Name a focal point or signatory of a party (actions.NameContact)."""
    form = await posted(request)

    def make() -> actions.NameContact:
        return actions.NameContact(_model(ContactCreate, {
            "organisation_id": _id(form, "organisation_id"), "person_id": _id(form, "person_id"),
            "kind": text(form, "kind", limit=16) or ContactKind.FOCAL_POINT, "capacity": text(form, "capacity")}))
    return await _draft_write(request, agreement_id, form, make, "named", "parties-title")


@router.post("/agreements/{agreement_id}/contacts/{contact_id}/withdraw", response_class=HTMLResponse)
async def withdraw_contact(request: Request, agreement_id: IdPath, contact_id: IdPath) -> Response:
    """Withdraw a focal point or signatory (actions.RemoveContact)."""
    form = await posted(request)
    return await _draft_write(request, agreement_id, form, lambda: actions.RemoveContact(contact_id),
                              "withdrawn", "parties-title")


@router.post("/agreements/{agreement_id}/copies", response_class=HTMLResponse)
async def copy_agreement(request: Request, agreement_id: IdPath) -> Response:
    """A new draft copied from the agreement (actions.CopyAgreement, as POST /api/v1/agreements/{id}/copies),
    as its successor when the box is ticked; on to the new draft's page."""
    form = await posted(request)
    try:
        data = _model(AgreementCopy, {"title": text(form, "title", limit=300)})
        action = actions.CopyAgreement(agreement_id, data, successor=text(form, "successor", limit=8) == "yes")
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            copy = (await service.apply(session, None, actor, get_when(request), action)).agreement
    except (InvalidInput, NotPermitted) as refused:
        return await _page_with_problem(request, agreement_id, refused, form)
    return RedirectResponse(f"/agreements/{copy.id}?changed=copied#top", status_code=303)


@router.post("/agreements/{agreement_id}/areas", response_class=HTMLResponse)
async def add_area(request: Request, agreement_id: IdPath) -> Response:
    """Add an area of collaboration (actions.AddArea)."""
    form = await posted(request)
    return await _draft_write(request, agreement_id, form, lambda: actions.AddArea(_model(AreaCreate, _given(
        form, ("title", "description")))), "area", "areas-title")


@router.post("/agreements/{agreement_id}/areas/{area_id}/deliverables", response_class=HTMLResponse)
async def add_deliverable(request: Request, agreement_id: IdPath, area_id: IdPath) -> Response:
    """Add a deliverable to an area (actions.AddDeliverable)."""
    form = await posted(request)

    def make() -> actions.AddDeliverable:
        values = {k: v for k, v in _given(form, ("title", "description", "due_on")).items() if v is not None}
        return actions.AddDeliverable(area_id, _model(DeliverableCreate, {**values,
                                                                         "owner_id": _id(form, "owner_id")}))
    return await _draft_write(request, agreement_id, form, make, "deliverable", "areas-title")


@router.post("/deliverables/{deliverable_id}/details", response_class=HTMLResponse)
async def edit_deliverable(request: Request, deliverable_id: IdPath) -> Response:
    """Correct a deliverable's title, owner, due date or description (actions.UpdateDeliverable;
    staff of a party and administrators)."""
    form = await posted(request)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        agreement_id = await reading.agreement_of_deliverable(session, deliverable_id, actor)

    def make() -> actions.UpdateDeliverable:
        values: dict[str, Any] = _given(form, ("title", "description", "due_on"))
        if "owner_id" in form:
            values["owner_id"] = _id(form, "owner_id")
        return actions.UpdateDeliverable(deliverable_id, _model(DeliverableUpdate, values))
    return await _draft_write(request, agreement_id, form, make, "deliverable-details",
                              f"deliverable-{deliverable_id}")


@router.post("/deliverables/{deliverable_id}/remove", response_class=HTMLResponse)
async def remove_deliverable(request: Request, deliverable_id: IdPath) -> Response:
    """Remove a deliverable that is not done (actions.RemoveDeliverable)."""
    form = await posted(request)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        agreement_id = await reading.agreement_of_deliverable(session, deliverable_id, actor)
    return await _draft_write(request, agreement_id, form, lambda: actions.RemoveDeliverable(deliverable_id),
                              "removed", "areas-title")


_EDITABLE_TERMS = ("title", "summary", "effective_from", "ends_on", "review_every_months")


@router.post("/agreements/{agreement_id}/terms", response_class=HTMLResponse)
async def edit_terms(request: Request, agreement_id: IdPath) -> Response:
    """Edit the terms while they are editable (actions.Edit); an emptied field is cleared."""
    form = await posted(request)
    return await _draft_write(request, agreement_id, form, lambda: actions.Edit(_model(AgreementUpdate, _given(
        form, _EDITABLE_TERMS))), "terms", "top")


@router.post("/agreements/{agreement_id}/documents", response_class=HTMLResponse)
async def upload_document(request: Request, agreement_id: IdPath) -> Response:
    """Upload a document (multipart): its file is stored by content, then kept with the
    agreement through actions.AttachDocument; a refused file shows the page again, saying why."""
    form = await posted(request)
    upload = form.get("file")
    try:
        if isinstance(upload, str) or upload is None or not upload.filename:
            raise InvalidInput(i18n.gettext("Choose the file to upload."), field="file")
        data = _model(DocumentUpload, {"kind": text(form, "kind", limit=32), "title": text(form, "title"),
                                       "deliverable_id": _id(form, "deliverable_id"),
                                       "amendment_id": _id(form, "amendment_id")})
        async with get_database(request).transaction(write=False) as session:
            await snapshot.load(session, agreement_id, await require_actor(request, session))
        filename = upload.filename
        stored = await documents.store(upload.read, filename, get_settings(request))
    except (InvalidInput, TooLarge, UnsupportedType) as refused:
        return await _page_with_problem(request, agreement_id, refused, form)
    finally:
        await form.close()  # the upload's spooled file, whatever happened
    return await _draft_write(request, agreement_id, form, lambda: actions.AttachDocument(data, filename, stored),
                              "document", "documents-title" if data.amendment_id is None else "amendments-title")


@router.get("/documents/{document_id}/content")
async def document_content(request: Request, document_id: IdPath) -> Response:
    """A document's file, to a person who reaches its agreement (404 otherwise)."""
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        agreement = await snapshot.load(session, await reading.agreement_of_document(session, document_id, actor),
                                        actor)
    document = agreement.document(document_id)
    assert document is not None
    return download(get_settings(request), document)


@router.post("/documents/{document_id}/withdraw", response_class=HTMLResponse)
async def withdraw_document(request: Request, document_id: IdPath) -> Response:
    """An administrator withdraws a document with a reason (actions.WithdrawDocument)."""
    form = await posted(request)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        agreement_id = await reading.agreement_of_document(session, document_id, actor)

    def make() -> actions.WithdrawDocument:
        return actions.WithdrawDocument(document_id, _model(DocumentWithdraw, {"reason": text(form, "reason")}).reason)
    return await _draft_write(request, agreement_id, form, make, "document-withdrawn", "documents-title")


def _amendment_problem(refused: InvalidInput) -> InvalidInput:
    """A refusal of `changes.<field>` shown beside the proposal form's field of that name."""
    field = refused.field.removeprefix("changes.") if refused.field else None
    shown = ("reason", *_AMENDMENT_FIELDS, *_SCOPE_FIELDS, *_PARTIES_FIELDS)
    return InvalidInput(refused.detail, field=field if field in shown else "changes")


def _piece(schema: Any, values: dict[str, Any], fields: dict[str, str]) -> dict[str, Any]:
    """One change of an amendment checked by `schema`, a refusal named by the form's field
    (`fields`: the schema's field → the form's)."""
    try:
        checked = _model(schema, values)
    except InvalidInput as refused:
        raise InvalidInput(refused.detail, field=fields.get(refused.field or "", "changes")) from None
    return dict(checked.model_dump(mode="json", exclude_none=True))


def _scope_changes(form: FormData) -> dict[str, Any]:
    """The scope form's changes: an area added, renamed or removed, a deliverable added to an area."""
    areas: dict[str, list[Any]] = {}
    if (title := text(form, "add_area_title")) is not None:
        areas["add"] = [_piece(AreaCreate, {"title": title}, {"title": "add_area_title"})]
    if (renamed := _id(form, "rename_area_id")) is not None:
        if (new_title := text(form, "rename_area_title")) is None:
            raise InvalidInput(i18n.gettext("Type the area's new title, or choose no area to rename."),
                               field="rename_area_title")
        areas["change"] = [_piece(AreaAmendment, {"id": renamed, "title": new_title}, {"title": "rename_area_title"})]
    if (removed := _id(form, "remove_area_id")) is not None:
        areas["remove"] = [removed]
    changes: dict[str, Any] = {"areas": areas} if areas else {}
    area_id, title = _id(form, "deliverable_area_id"), text(form, "deliverable_title")
    if area_id is not None or title is not None:
        changes["deliverables"] = {"add": [_piece(DeliverableAddition, {
            "area_id": area_id, "title": title, "owner_id": _id(form, "owner_id"), "due_on": text(form, "due_on")},
            {"area_id": "deliverable_area_id", "title": "deliverable_title", "owner_id": "owner_id",
             "due_on": "due_on"})]}
    return changes


def _parties_changes(form: FormData) -> dict[str, Any]:
    """The parties form's changes: an organisation joins (as party or supporter), a party leaves."""
    parties: dict[str, list[Any]] = {}
    if (joining := _id(form, "join_organisation_id")) is not None:
        parties["join"] = [_piece(PartyInput, {"organisation_id": joining,
                                               "role": text(form, "join_role", limit=16) or PartyRole.PARTY},
                                  {"organisation_id": "join_organisation_id", "role": "join_role"})]
    if (leaving := _id(form, "leave_organisation_id")) is not None:
        parties["leave"] = [leaving]
    return {"parties": parties} if parties else {}


@router.post("/agreements/{agreement_id}/amendments", response_class=HTMLResponse)
async def propose_amendment(request: Request, agreement_id: IdPath) -> Response:
    """Propose an amendment (engine.amendments.service.propose): the fields filled in are its changes."""
    form = await posted(request)
    try:
        kind = text(form, "kind", limit=16)
        values = (_scope_changes(form) if kind == AmendmentKind.SCOPE else _parties_changes(form)
                  if kind == AmendmentKind.PARTIES
                  else {k: v for k, v in _given(form, _AMENDMENT_FIELDS).items() if v is not None})
        data = _model(AmendmentCreate, {"kind": kind, "reason": text(form, "reason"), "changes": values})
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            made = await amendments.propose(session, agreement_id, actor, get_when(request), data)
    except InvalidInput as refused:
        return await _page_with_problem(request, agreement_id, _amendment_problem(refused), form)
    except (NotPermitted, Conflict) as refused:
        return await _page_with_problem(request, agreement_id, refused, form)
    return RedirectResponse(f"/agreements/{agreement_id}?changed=amendment-proposed#amendment-{made.number}",
                            status_code=303)


@router.post("/agreements/{agreement_id}/amendments/{number}/events", response_class=HTMLResponse)
async def amendment_event(request: Request, agreement_id: IdPath, number: IdPath) -> Response:
    """Submit, sign, approve, withdraw or cancel an amendment (engine.amendments.service.fire); a
    merge refused because the agreement changed is kept (the amendment is back in draft) and said."""
    form = await posted(request)
    try:
        data = _model(AmendmentEventFire, {"event": text(form, "event", limit=16),
                                           "organisation_id": _id(form, "organisation_id")})
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            fired = await amendments.fire(session, agreement_id, number, actor, get_when(request), data)
    except (InvalidInput, NotPermitted, Conflict) as refused:
        return await _page_with_problem(request, agreement_id, refused, form)
    if fired.refused is not None:
        return await _page_with_problem(request, agreement_id, fired.refused, form)
    return RedirectResponse(f"/agreements/{agreement_id}?changed=amendment-{quote(data.event)}#amendment-{number}",
                            status_code=303)


@router.post("/agreements/{agreement_id}/parties", response_class=HTMLResponse)
async def add_party(request: Request, agreement_id: IdPath) -> Response:
    """Add a party or supporter while the terms are editable (actions.AddParty)."""
    form = await posted(request)
    return await _draft_write(request, agreement_id, form, lambda: actions.AddParty(_model(PartyCreate, {
        "organisation_id": _id(form, "organisation_id"), "role": text(form, "role", limit=16) or PartyRole.PARTY})),
        "parties", "parties-title")


@router.post("/agreements/{agreement_id}/parties/{party_id}/role", response_class=HTMLResponse)
async def change_party_role(request: Request, agreement_id: IdPath, party_id: IdPath) -> Response:
    """Make a party a supporter or a supporter a party (actions.ChangePartyRole)."""
    form = await posted(request)
    return await _draft_write(request, agreement_id, form, lambda: actions.ChangePartyRole(party_id, _model(
        PartyUpdate, {"role": text(form, "role", limit=16)})), "parties", "parties-title")


@router.post("/agreements/{agreement_id}/areas/{area_id}", response_class=HTMLResponse)
async def edit_area(request: Request, agreement_id: IdPath, area_id: IdPath) -> Response:
    """Rename or describe an area, or move it among the others (`position`, from 0: the "Move
    up" and "Move down" buttons) — actions.EditArea, as `PATCH /api/v1/areas/{id}`."""
    form = await posted(request)

    def make() -> actions.EditArea:
        values: dict[str, Any] = _given(form, ("title", "description"))
        if "position" in form:
            values["position"] = whole_number(text(form, "position", limit=18), MAX_ID)
            if values["position"] is None:
                raise InvalidInput(i18n.gettext("Choose where the area goes among the others."), field="position")
        return actions.EditArea(area_id, _model(AreaUpdate, values))
    moved = "position" in form and "title" not in form
    return await _draft_write(request, agreement_id, form, make, "area-moved" if moved else "area-changed",
                              f"area-{area_id}" if moved else "areas-title")


@router.post("/agreements/{agreement_id}/areas/{area_id}/remove", response_class=HTMLResponse)
async def remove_area(request: Request, agreement_id: IdPath, area_id: IdPath) -> Response:
    """Remove an area and its deliverables while none has progress (actions.RemoveArea)."""
    form = await posted(request)
    return await _draft_write(request, agreement_id, form, lambda: actions.RemoveArea(area_id),
                              "removed", "areas-title")


# --- overview ---------------------------------------------------------------------------------

@router.get("/overview", response_class=HTMLResponse)
async def overview(request: Request) -> Response:
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        if actor.role == Role.PARTNER:
            raise NotPermitted(i18n.gettext("The overview is for staff and administrators. Your agreements are "
                                            "listed under Agreements."))
        when = get_when(request)
        zone_name, zone = await viewer_zone(session, actor)
        mine = When(now=when.now, today=when.now.astimezone(zone).date(), zone=zone)
        week = await reports.week(session, actor, mine)
        figures = await reports.summary(session, actor, when.today, OVERVIEW_DAYS)
    labels: dict[str, str] = {}
    for workflow in catalog().workflows.values():
        for name, state in workflow.spec.states.items():
            labels.setdefault(name, state.label)
    order = list(labels)
    by_state = sorted(figures.by_state.items(), key=lambda item: order.index(item[0]) if item[0] in order else 99)
    return render(request, "overview.html", {"person": actor, "overview": figures, "by_state": by_state,
                                             "labels": labels, "week": week, "zone_name": zone_name,
                                             "everyone": actor.is_admin})


# --- people -----------------------------------------------------------------------------------

async def _people_page(request: Request, session: AsyncSession, actor: Actor, page: int, *,
                       changed: dict[str, Any] | None = None,
                       warnings: list[PersonWarning] | None = None) -> dict[str, Any]:
    rows, total = await directory.list_people(session, actor, organisation_id=None, limit=PAGE_SIZE,
                                              offset=(page - 1) * PAGE_SIZE)
    return {"person": actor, "people": rows, "total": total, "page": page,
            "pages": max(1, -(-total // PAGE_SIZE)), "may_change": lambda p: rules.may_change(actor, p)
            and p.id != actor.person_id, "may_add": rules.may_add_people(actor), "changed": changed,
            "warnings": warnings or []}


@router.get("/people", response_class=HTMLResponse)
async def people_list(request: Request, page: int = Query(default=1, ge=1, le=100_000)) -> Response:
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        context = await _people_page(request, session, actor, page)
    return render(request, "people.html", context)


@router.post("/people/{person_id}/active", response_class=HTMLResponse)
async def set_person_active(request: Request, person_id: IdPath) -> Response:
    """Disable or enable a person (`engine.directory.service.update_person`); the page then says what
    they leave undone."""
    form = await posted(request)
    active = text(form, "active", limit=5)
    if active not in ("true", "false"):
        raise InvalidInput(i18n.gettext("Say whether to enable (active=true) or disable (active=false) the person."),
                           field="active")
    async with get_database(request).transaction() as session:
        actor = await require_actor(request, session)
        person, warnings = await directory.update_person(session, person_id, PersonUpdate(active=active == "true"),
                                                         actor, get_when(request))
        changed = {"name": person.name, "active": person.active}  # the page says it in its language
    async with get_database(request).transaction(write=False) as session:
        context = await _people_page(request, session, actor, 1, changed=changed, warnings=warnings)
    return render(request, "people.html", context)


# --- a person ---------------------------------------------------------------------------------

def field_problems(error: ValidationError) -> dict[str, str]:
    """What is wrong with each field of a form, by the field's name (`form` for the form as a whole):
    shown next to the field, in the language being read."""
    problems: dict[str, str] = {}
    for item in error.errors():
        location = item.get("loc", ())
        name = str(location[0]) if location else "form"
        message = validation_words.describe(item)
        problems.setdefault(name, message[:1].upper() + message[1:].rstrip(".") + ".")
    return problems


def _form_values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: value for name in names if isinstance(value := form.get(name), str)}


@dataclass
class Submitted(Generic[T]):
    """What a directory form's post came to: the write's result, or its problems by field (shown
    beside each field) or one `problem` for the box at the top."""

    result: T | None = None
    problems: dict[str, str] = field(default_factory=dict)
    problem: AccordError | None = None

    @property
    def refused(self) -> bool:
        return bool(self.problems) or self.problem is not None


async def submit_form(request: Request, model: type[BaseModel], fields: dict[str, Any],
                      write: Callable[[AsyncSession, Actor, Any], Awaitable[T]], *,
                      conflict_field: str) -> Submitted[T]:
    """A people or organisation form's one way to its engine call: `fields` checked by `model`
    (the schema's refusals by field), then `write(session, actor, data)` in one transaction. A
    refusal naming a field stands beside it; a conflict (a name or an email someone else has)
    beside `conflict_field`; any other refusal (who may do what) in the box."""
    try:
        data = model.model_validate(fields)
    except ValidationError as invalid:
        return Submitted(problems=field_problems(invalid))
    try:
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            return Submitted(result=await write(session, actor, data))
    except InvalidInput as refused:
        return Submitted(problems={refused.field: refused.detail}) if refused.field else Submitted(problem=refused)
    except Conflict as refused:
        return Submitted(problems={conflict_field: refused.detail})
    except NotPermitted as refused:
        return Submitted(problem=refused)


_ROLE_WORDS = {Role.ADMIN: i18n.Later(i18n.N_("Administrator: sees and changes everything")),
               Role.STAFF: i18n.Later(i18n.N_("Staff: works on their organisation's agreements")),
               Role.PARTNER: i18n.Later(i18n.N_("Partner: follows their organisation's agreements"))}


def _roles_offered(actor: Actor, person: Person | None) -> list[tuple[str, i18n.Later]]:
    """The roles the form offers, as (value, words): the ones the engine would accept from `actor`
    (`directory.update_person`; it decides all the same); none for one's own role, which nobody changes."""
    if person is not None and person.id == actor.person_id:
        return []
    offered = [Role.ADMIN, Role.STAFF, Role.PARTNER] if actor.is_admin else [Role.STAFF, Role.PARTNER]
    return [(str(role), _ROLE_WORDS[role]) for role in offered]


async def _commitments(session: AsyncSession, person_id: int, actor: Actor) -> tuple[list[dict[str, Any]],
                                                                                    list[dict[str, Any]]]:
    """The agreements (in the viewer's reach) the person is named on, with how; the open
    deliverables (in reach) they own, soonest due first."""
    reach = in_reach(select(col(Agreement.id)), actor)
    named = (await session.execute(
        select(col(Agreement.id), col(Agreement.title), col(Contact.kind), col(Organisation.name))
        .join(Contact, col(Contact.agreement_id) == col(Agreement.id))
        .join(Party, col(Party.id) == col(Contact.party_id))
        .join(Organisation, col(Organisation.id) == col(Party.organisation_id))
        .where(col(Contact.person_id) == person_id, col(Agreement.id).in_(reach))
        .order_by(col(Agreement.id), col(Contact.kind)))).all()
    agreements: dict[int, dict[str, Any]] = {}
    for agreement_id, title, kind, organisation in named:
        if agreement_id is None:
            continue
        entry = agreements.setdefault(agreement_id, {"id": agreement_id, "title": title, "as": []})
        entry["as"].append((ContactKind(kind), organisation))
    owned = (await session.execute(
        select(Deliverable, col(Agreement.title)).join(Agreement, col(Agreement.id) == col(Deliverable.agreement_id))
        .where(col(Deliverable.owner_id) == person_id,
               col(Deliverable.status).in_(sorted(DeliverableStatus.OPEN)), col(Agreement.id).in_(reach))
        .order_by(col(Deliverable.due_on).is_(None), col(Deliverable.due_on), col(Deliverable.id)))).all()
    deliverables = [{"deliverable": d, "agreement_title": title} for d, title in owned]
    return list(agreements.values()), deliverables


async def person_page(session: AsyncSession, actor: Actor, person_id: int, when: When, *,
                      issued: directory.IssuedToken | None = None, problem: AccordError | None = None,
                      notice: str | i18n.Later | None = None) -> dict[str, Any]:
    shown = await directory.find_person(session, person_id, actor)
    agreements, deliverables = await _commitments(session, person_id, actor)
    sees_tokens = rules.may_see_tokens(actor, shown)
    token_rows = (await tokens.list_tokens(session, person_id, actor, limit=200, offset=0))[0] if sees_tokens else []
    zone_name, zone = await viewer_zone(session, actor)
    # Who issued a token the holder did not issue themself (a colleague, an administrator).
    issuers = await _people_named(session, {t.issued_by_id for t in token_rows
                                            if t.issued_by_id is not None and t.issued_by_id != person_id})
    return {"person": actor, "shown": shown, "agreements": agreements, "deliverables": deliverables,
            "today": when.today, "may_edit": rules.may_change(actor, shown), "sees_tokens": sees_tokens,
            "tokens": [{"row": t, "created": history.moment(t.created_at, zone),
                        "revoked": history.moment(t.revoked_at, zone) if t.revoked_at else None,
                        "by": issuers.get(t.issued_by_id) if t.issued_by_id is not None else None}
                       for t in token_rows],
            "may_issue": rules.may_issue_tokens(actor, shown) and shown.active, "issued": issued,
            "zone_name": zone_name,
            "problem": problem, "notice": notice}


@router.get("/people/new", response_class=HTMLResponse)
async def new_person_form(request: Request, organisation_id: int | None = Query(default=None, ge=1, le=MAX_ID)
                          ) -> Response:
    """The form that adds a person; `organisation_id` (the organisation page's link) chooses theirs."""
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        rules.check_add_people(actor)
        values = {"role": str(Role.PARTNER)}
        if organisation_id or actor.organisation_id:
            values["organisation_id"] = str(organisation_id or actor.organisation_id)
        return await _person_form(request, session, actor, None, values=values)


async def _person_form(request: Request, session: AsyncSession, actor: Actor, person: Person | None, *,
                       values: dict[str, str] | None = None, problems: dict[str, str] | None = None,
                       problem: AccordError | None = None) -> HTMLResponse:
    """The form that adds a person (`person` None) or edits one, with what was typed and what is wrong."""
    if values is None:
        values = {"role": Role.PARTNER} if person is None else {
            "name": person.name, "email": person.email, "job_title": person.job_title or "",
            "timezone": person.timezone or "", "role": person.role, "language": person.language or ""}
    organisations = [] if person is not None else [
        o for o in (await directory.list_organisations(session, limit=1000, offset=0))[0]
        if o.id is not None and rules.may_add_to(actor, o.id)]
    status = problem.status if problem else (422 if problems else 200)
    return render(request, "person_form.html", {
        "person": actor, "shown": person, "values": values, "problems": problems or {}, "problem": problem,
        "roles": _roles_offered(actor, person),
        "organisation_options": [(str(o.id), o.name) for o in organisations],
        "language_options": list(i18n.NAMES.items()),
        "email_editable": person is None or actor.is_admin or person.id == actor.person_id,
    }, status_code=status)


@router.post("/people", response_class=HTMLResponse)
async def add_person(request: Request) -> Response:
    form = await posted(request)
    values = _form_values(form, ("name", "email", "organisation_id", "role", "job_title", "timezone", "language"))
    fields = {name: value for name in values if (value := text(form, name, limit=400)) is not None}

    async def create(session: AsyncSession, actor: Actor, data: PersonCreate) -> int | None:
        return (await directory.create_person(session, data, actor, get_when(request).now)).id
    done = await submit_form(request, PersonCreate, fields, create, conflict_field="email")
    if not done.refused:
        return RedirectResponse(f"/people/{done.result}?added=1", status_code=303)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        rules.check_add_people(actor)
        return await _person_form(request, session, actor, None, values=values, problems=done.problems,
                                  problem=done.problem)


@router.get("/people/{person_id}", response_class=HTMLResponse)
async def person_view(request: Request, person_id: IdPath) -> Response:
    notices = {"added": i18n.N_("The person is added. Issue them a token below, or they can ask for a sign-in link."),
               "changed": i18n.N_("Saved."), "revoked": i18n.N_("The token is revoked: it is refused from now on.")}
    notice = next((i18n.Later(words) for key, words in notices.items() if key in request.query_params), None)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        context = await person_page(session, actor, person_id, get_when(request), notice=notice)
    return render(request, "person.html", context)


@router.get("/people/{person_id}/edit", response_class=HTMLResponse)
async def edit_person_form(request: Request, person_id: IdPath) -> Response:
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        shown = await directory.find_person(session, person_id, actor)
        if not rules.may_change(actor, shown):  # the form would only be refused (update_person)
            raise NotPermitted(i18n.gettext("You may not change %(person)s: an administrator can, and staff of "
                                            "%(organisation)s for its people who are not administrators.") % {
                "person": shown.name, "organisation": shown.organisation.name})
        return await _person_form(request, session, actor, shown)


@router.post("/people/{person_id}", response_class=HTMLResponse)
async def edit_person(request: Request, person_id: IdPath) -> Response:
    """Change a person from their form: only what the form holds is sent, and the engine
    (`directory.update_person`) says who may change what; a refusal shows the form again with
    what was typed and the problem next to its field."""
    form = await posted(request)
    values = _form_values(form, ("name", "email", "job_title", "timezone", "role", "language"))
    fields: dict[str, Any] = {name: text(form, name, limit=400) for name in values}
    for name in ("name", "email", "role"):  # these cannot be cleared: left empty, they are said to be missing
        if name in fields and fields[name] is None:
            fields[name] = ""

    async def update(session: AsyncSession, actor: Actor, data: PersonUpdate) -> None:
        await directory.update_person(session, person_id, data, actor, get_when(request))
    done = await submit_form(request, PersonUpdate, fields, update, conflict_field="email")
    if not done.refused:
        return RedirectResponse(f"/people/{person_id}?changed=1", status_code=303)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        shown = await directory.find_person(session, person_id, actor)
        return await _person_form(request, session, actor, shown, values=values, problems=done.problems,
                                  problem=done.problem)


@router.post("/people/{person_id}/tokens", response_class=HTMLResponse)
async def issue_token(request: Request, person_id: IdPath) -> Response:
    """A new token for the person (`directory.issue_token`; who may: `engine.directory.rules`), shown on
    this answer only."""
    form = await posted(request)
    label = text(form, "label", limit=400)
    when = get_when(request)
    try:
        data = TokenCreate.model_validate({"label": label})
    except ValidationError as invalid:
        raise InvalidInput(_validation_detail(invalid), field="label") from None
    try:
        async with get_database(request).transaction() as session:
            actor = await require_actor(request, session)
            issued = await directory.issue_token(session, person_id, actor, when.now, label=data.label)
    except (Conflict, NotPermitted) as refused:
        async with get_database(request).transaction(write=False) as session:
            actor = await require_actor(request, session)
            context = await person_page(session, actor, person_id, when, problem=refused)
        return render(request, "person.html", context, status_code=refused.status)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        context = await person_page(session, actor, person_id, when, issued=issued)
    return render(request, "person.html", context, status_code=201)


@router.post("/tokens/{token_id}/revoke", response_class=HTMLResponse)
async def revoke_token(request: Request, token_id: IdPath) -> Response:
    """Revoke a token (`engine.directory.tokens.revoke_token`; who may: `engine.directory.rules`)."""
    await posted(request)
    async with get_database(request).transaction() as session:
        actor = await require_actor(request, session)
        token = await tokens.revoke_token(session, token_id, actor, get_when(request).now)
        person_id = token.person_id
    return RedirectResponse(f"/people/{person_id}?revoked={token_id}#tokens", status_code=303)


# --- organisations ----------------------------------------------------------------------------

_KIND_WORDS = {"network": i18n.N_("Network"), "association": i18n.N_("Association"),
               "local_government": i18n.N_("Local government"), "secretariat": i18n.N_("Secretariat"),
               "other": i18n.N_("Other")}
_ORGANISATION_FIELDS = ("name", "short_name", "kind", "city", "country", "timezone", "language")
_KINDS = [(kind, i18n.Later(_KIND_WORDS.get(kind, kind))) for kind in get_args(OrganisationKind)]


async def _organisations_page(request: Request, session: AsyncSession, actor: Actor, page: int, *,
                              values: dict[str, str] | None = None, problems: dict[str, str] | None = None,
                              problem: AccordError | None = None, added: str | None = None) -> HTMLResponse:
    rows, total = await directory.list_organisations(session, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    status = problem.status if problem else (422 if problems else 200)
    return render(request, "organisations.html", {
        "person": actor, "organisations": rows, "total": total, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "may_add": actor.is_admin, "kinds": _KINDS,
        "language_options": list(i18n.NAMES.items()),
        "values": values or {"timezone": "UTC", "kind": "network"},
        "problems": problems or {}, "problem": problem, "added": added,
    }, status_code=status)


@router.get("/organisations", response_class=HTMLResponse)
async def organisations_list(request: Request, page: int = Query(default=1, ge=1, le=100_000),
                             added: str | None = Query(default=None, max_length=200)) -> Response:
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        return await _organisations_page(request, session, actor, page, added=added)


@router.post("/organisations", response_class=HTMLResponse)
async def add_organisation(request: Request) -> Response:
    """Add an organisation (`directory.create_organisation`: administrators)."""
    form = await posted(request)
    values = _form_values(form, _ORGANISATION_FIELDS)
    fields = {name: value for name in values if (value := text(form, name, limit=400)) is not None}

    async def create(session: AsyncSession, actor: Actor, data: OrganisationCreate) -> str:
        return (await directory.create_organisation(session, data, actor, get_when(request).now)).name
    done = await submit_form(request, OrganisationCreate, fields, create, conflict_field="name")
    if not done.refused:
        return RedirectResponse(f"/organisations?{urlencode({'added': done.result})}", status_code=303)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        rules.require_admin(actor, "create organisations")
        return await _organisations_page(request, session, actor, 1, values=values, problems=done.problems,
                                         problem=done.problem)


async def _organisation_page(request: Request, session: AsyncSession, actor: Actor, organisation_id: int, page: int,
                             *, values: dict[str, str] | None = None, problems: dict[str, str] | None = None,
                             problem: AccordError | None = None, notice: i18n.Later | None = None) -> HTMLResponse:
    """An organisation, the people of it the reader can see, and (for whoever may change it:
    `engine.directory.rules`) its form, with what was typed and what is wrong."""
    organisation = await directory.get_organisation(session, organisation_id)
    people, total = await directory.list_people(session, actor, organisation_id=organisation_id, limit=PAGE_SIZE,
                                                offset=(page - 1) * PAGE_SIZE)
    if values is None:
        values = {name: str(getattr(organisation, name) or "") for name in _ORGANISATION_FIELDS}
    status = problem.status if problem else (422 if problems else 200)
    return render(request, "organisation.html", {
        "person": actor, "organisation": organisation, "people": people, "total": total, "page": page,
        "pages": max(1, -(-total // PAGE_SIZE)), "may_edit": rules.may_edit_organisation(actor, organisation_id),
        "may_add_people": rules.may_add_to(actor, organisation_id), "kinds": _KINDS, "values": values,
        "language_options": list(i18n.NAMES.items()),
        "problems": problems or {}, "problem": problem, "notice": notice,
    }, status_code=status)


@router.get("/organisations/{organisation_id}", response_class=HTMLResponse)
async def organisation_view(request: Request, organisation_id: IdPath,
                            page: int = Query(default=1, ge=1, le=100_000)) -> Response:
    notice = i18n.Later(i18n.N_("Saved.")) if "changed" in request.query_params else None
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        return await _organisation_page(request, session, actor, organisation_id, page, notice=notice)


@router.post("/organisations/{organisation_id}", response_class=HTMLResponse)
async def edit_organisation(request: Request, organisation_id: IdPath) -> Response:
    """Change an organisation from its form, as `PATCH /api/v1/organisations/{id}`
    (`directory.update_organisation`); a refusal shows the page again with what was typed."""
    form = await posted(request)
    values = _form_values(form, _ORGANISATION_FIELDS)
    fields: dict[str, Any] = {name: text(form, name, limit=400) for name in values}
    for name in ("name", "kind", "timezone"):  # these cannot be cleared: left empty, they are said to be missing
        if name in fields and fields[name] is None:
            fields[name] = ""

    async def update(session: AsyncSession, actor: Actor, data: OrganisationUpdate) -> None:
        await directory.update_organisation(session, organisation_id, data, actor, get_when(request))
    done = await submit_form(request, OrganisationUpdate, fields, update, conflict_field="name")
    if not done.refused:
        return RedirectResponse(f"/organisations/{organisation_id}?changed=1", status_code=303)
    async with get_database(request).transaction(write=False) as session:
        actor = await require_actor(request, session)
        return await _organisation_page(request, session, actor, organisation_id, 1, values=values,
                                        problems=done.problems, problem=done.problem)

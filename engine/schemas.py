"""Request and response shapes, separate from the tables.

Inputs forbid unknown fields and bound every string and list, so a typo or an
oversized payload is a 422 that names the field, never a silent drop.

Every text field of an input is one of two kinds, and every date one kind:

    one line    (`SingleLine`, and `Name`, `Title`, `ShortText`, ...): no control character at
                all: C0 (U+0000-U+001F, tab and line breaks included), DEL, C1 (U+0080-U+009F)
                and the Unicode line and paragraph separators. Titles and names end up in mail
                headers, calendar lines and CSV cells, where a line break starts a new header.
    multi-line  (`MultiLine`, `LongText`): line feeds and tabs are kept (CR LF and a lone CR
                become LF), no other control character. These are exactly the fields typed
                `LongText`: summaries, backgrounds, descriptions, comments, progress notes,
                review summaries and reasons.
    a day       (`Day`): written YYYY-MM-DD, from 1900-01-01 to 2199-12-31 (`engine.days`).

`Input` refuses, when a class is defined, any field typed as a plain `str` or `date`, so no
field can slip past these rules; the web pages and the import validate through these same
classes. A refusal is a 422 that names the field and the character or the date.

Every refusal a validator here raises is a sentence of the catalogs (engine/i18n.py), written in the
language being read when the input is validated (an API request's Accept-Language, a page's
language); the field names it quotes stay as they are. pydantic's own refusals (a missing field, a
text too long) are said in that language by `engine.validation_words.describe`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Annotated, Any, Generic, Literal, TypeVar, get_args, get_origin
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    PlainSerializer,
    StrictBool,
    StringConstraints,
    UrlConstraints,
    computed_field,
    field_validator,
    model_validator,
)

from engine import history_text, i18n, statuses
from engine.days import FIRST_DAY, LAST_DAY

# What an input may say, made of the members of engine.statuses' families: the OpenAPI lists
# their values, a refusal quotes them, and the field holds the member.
PersonRoleValue = Literal[statuses.Role.ADMIN, statuses.Role.STAFF, statuses.Role.PARTNER]
LanguageValue = Literal[statuses.Language.EN, statuses.Language.FR, statuses.Language.ES]
PartyRoleValue = Literal[statuses.PartyRole.PARTY, statuses.PartyRole.SUPPORTER]
ContactKindValue = Literal[statuses.ContactKind.FOCAL_POINT, statuses.ContactKind.SIGNATORY]
DeliverableStatusValue = Literal[statuses.DeliverableStatus.PLANNED, statuses.DeliverableStatus.IN_PROGRESS,
                                 statuses.DeliverableStatus.DONE, statuses.DeliverableStatus.CANCELLED]
DeliveryStatusValue = Literal[statuses.DeliveryStatus.PENDING, statuses.DeliveryStatus.SENT,
                              statuses.DeliveryStatus.CANCELLED, statuses.DeliveryStatus.DEAD]
ReviewOutcome = Literal["continue", "renew", "renew_as_successor", "terminate"]
DocumentKindValue = Literal[statuses.DocumentKind.SIGNED_AGREEMENT, statuses.DocumentKind.AMENDMENT,
                            statuses.DocumentKind.TERMINATION_LETTER, statuses.DocumentKind.EVIDENCE,
                            statuses.DocumentKind.OTHER]
AmendmentKindValue = Literal[statuses.AmendmentKind.ADMINISTRATIVE, statuses.AmendmentKind.TERMS,
                             statuses.AmendmentKind.SCOPE, statuses.AmendmentKind.PARTIES]
AmendmentEventValue = Literal[statuses.AmendmentEvent.SUBMIT, statuses.AmendmentEvent.SIGN,
                              statuses.AmendmentEvent.APPROVE, statuses.AmendmentEvent.WITHDRAW,
                              statuses.AmendmentEvent.CANCEL]


def _spells(value: Any, members: Iterable[str]) -> None:
    """Refuse, at import, a value type that is not exactly `members` (a member added to a family
    and forgotten here)."""
    if set(get_args(value)) != set(members):
        raise TypeError(f"{value} does not list exactly {sorted(members)}")


for _value, _family in ((PersonRoleValue, statuses.Role.PEOPLE), (PartyRoleValue, statuses.PartyRole),
                        (ContactKindValue, statuses.ContactKind), (DeliverableStatusValue, statuses.DeliverableStatus),
                        (DeliveryStatusValue, statuses.DeliveryStatus)):
    _spells(_value, _family)


# --- text ----------------------------------------------------------------------------------------

CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_LINES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")  # tab and LF allowed
_CHARACTER_NAMES = {"\x00": i18n.N_("the NUL character"), "\t": i18n.N_("a tab"), "\n": i18n.N_("a line feed"),
                    "\r": i18n.N_("a carriage return"), "\x1b": i18n.N_("an escape character"),
                    "\u2028": i18n.N_("a line separator"), "\u2029": i18n.N_("a paragraph separator")}
_ANY_CONTROL = i18n.N_("the control character")


def control_character(text: str, *, multi_line: bool = False) -> str | None:
    """The first character of `text` that its kind of field may not hold, described with its
    position ("a line feed (U+000A) at position 6", in the language being read); None when there is none."""
    found = (_CONTROL_BUT_LINES if multi_line else CONTROL_CHARACTERS).search(text)
    if found is None:
        return None
    character = found.group()
    name = _CHARACTER_NAMES.get(character, _ANY_CONTROL)
    return i18n.gettext("%(character)s (U+%(code)s) at position %(position)s") % {
        "character": i18n.gettext(name), "code": f"{ord(character):04X}", "position": found.start() + 1}


def _one_line(value: str) -> str:
    found = control_character(value)
    if found:
        raise ValueError(i18n.gettext("must be one line of text without control characters; remove %(found)s")
                         % {"found": found})
    return value


def _lines(value: str) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    found = control_character(value, multi_line=True)
    if found:
        raise ValueError(i18n.gettext("may hold line breaks and tabs but no other control character; remove "
                                      "%(found)s") % {"found": found})
    return value


ONE_LINE = AfterValidator(_one_line)
LINES = AfterValidator(_lines)

SingleLine = Annotated[str, ONE_LINE]
MultiLine = Annotated[str, LINES]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), ONE_LINE]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), ONE_LINE]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200), ONE_LINE]
LongText = Annotated[str, StringConstraints(max_length=20_000), LINES]


# --- days ------------------------------------------------------------------------------------------

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _parse_day(value: Any) -> Any:
    """A day from its ISO form only: not a number, not 20261201, not a week date."""
    if isinstance(value, datetime):
        if value.tzinfo is None and value.time() == time(0):
            return value.date()
    elif isinstance(value, date):
        return value
    elif isinstance(value, str) and _ISO_DAY.fullmatch(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(i18n.gettext("%(value)s is not a day of the calendar; use YYYY-MM-DD, such as "
                                          "2026-12-01") % {"value": value.strip()}) from None
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "..."
    raise ValueError(i18n.gettext("%(value)s is not a date; use YYYY-MM-DD, such as 2026-12-01") % {"value": shown})


def _bounded_day(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(i18n.gettext("%(day)s is outside the dates Accord accepts: use a day from %(first)s to "
                                      "%(last)s") % {"day": value.isoformat(), "first": FIRST_DAY.isoformat(),
                                                     "last": LAST_DAY.isoformat()})
    return value


BOUNDED_DAY = AfterValidator(_bounded_day)
Day = Annotated[date, BeforeValidator(_parse_day), BOUNDED_DAY]


# --- ids, zones, links -----------------------------------------------------------------------------

# Ids are INTEGER columns (32-bit on PostgreSQL); anything larger cannot name a row.
MAX_ID = 2**31 - 1
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


def _valid_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(i18n.gettext("unknown time zone %(zone)s; use an IANA name such as 'Europe/Madrid' or "
                                      "'Asia/Tehran'") % {"zone": repr(value)}) from None
    return value


TimeZone = Annotated[str, StringConstraints(max_length=64), ONE_LINE, AfterValidator(_valid_timezone)]


def _url_text(value: Any) -> Any:
    # Before parsing: a URL parser drops tabs and line breaks silently, and we refuse them.
    return _one_line(value) if isinstance(value, str) else value


def _http_url(value: AnyHttpUrl) -> str:
    return str(value)


# Only http and https (AnyHttpUrl); validated as a URL, kept (and dumped) as the string it was
# normalised to.
HttpUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2000), BeforeValidator(_url_text),
                    AfterValidator(_http_url), PlainSerializer(str, return_type=str)]


def _unchecked(annotation: Any, metadata: tuple[Any, ...] = ()) -> str | None:
    """What in `annotation` (with `metadata`, the Annotated extras around it) is a `str` that is
    not declared one line or multi-line, or a `date` that is not a `Day`; None if nothing is."""
    if get_origin(annotation) is Annotated:
        inner, *extras = get_args(annotation)
        return _unchecked(inner, (*metadata, *extras))
    if annotation is str and not any(m is ONE_LINE or m is LINES for m in metadata):
        return "a str that is neither SingleLine nor MultiLine"
    if annotation is date and not any(m is BOUNDED_DAY for m in metadata):
        return "a date that is not a Day"
    if get_origin(annotation) is Literal:
        return None
    for argument in get_args(annotation):
        found = _unchecked(argument)
        if found:
            return found
    return None


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        for name, field in cls.model_fields.items():
            found = _unchecked(field.annotation, tuple(field.metadata))
            if found:
                raise TypeError(f"{cls.__name__}.{name} is {found}: type every text field of an input "
                                "with engine.schemas' one-line or multi-line types, and every date as Day")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


T = TypeVar("T")


class Page(Output, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


# --- organisations and people ----------------------------------------------------------------

OrganisationKind = Literal["network", "association", "local_government", "secretariat", "other"]
ShortName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40), ONE_LINE]
Place = Annotated[str, StringConstraints(strip_whitespace=True, max_length=120), ONE_LINE]


def _send_one_of(fields: str) -> str:
    return i18n.gettext("send at least one of %(fields)s") % {"fields": fields}


def _not_null(field: str) -> str:
    return i18n.gettext("%(field)s cannot be null; leave it out to keep it") % {"field": field}


class OrganisationCreate(Input):
    name: Name
    short_name: ShortName | None = None
    kind: OrganisationKind = "network"
    city: Place | None = None
    country: Place | None = None
    timezone: TimeZone = "UTC"
    # What its people read pages and mail in when they chose no language; null: ACCORD_DEFAULT_LANGUAGE.
    language: LanguageValue | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "UCLG ASPAC", "short_name": "UCLG ASPAC", "kind": "network",
        "city": "Jakarta", "country": "Indonesia", "timezone": "Asia/Jakarta", "language": "en"}]})


class OrganisationUpdate(Input):
    """`PATCH /organisations/{id}`: only the fields sent change; `short_name`, `city`, `country` and
    `language` may be null (cleared; a null language is ACCORD_DEFAULT_LANGUAGE). Who may:
    `engine.directory.rules`. A new `timezone` moves the pending reminders of its people who have
    no zone of their own (`engine.directory.service.update_organisation`)."""

    name: Name | None = None
    short_name: ShortName | None = None
    kind: OrganisationKind | None = None
    city: Place | None = None
    country: Place | None = None
    timezone: TimeZone | None = None
    language: LanguageValue | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> OrganisationUpdate:
        if not self.model_fields_set:
            raise ValueError(_send_one_of("name, short_name, kind, city, country, timezone, language"))
        for name in ("name", "kind", "timezone"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(_not_null(name))
        return self

    model_config = ConfigDict(json_schema_extra={"examples": [{"timezone": "Asia/Jakarta"}, {
        "short_name": "UCLG ASPAC", "city": "Jakarta", "country": "Indonesia"}]})


class OrganisationRead(Output):
    id: int
    name: str
    short_name: str | None
    kind: str
    city: str | None
    country: str | None
    timezone: str
    language: str | None = None


class PersonCreate(Input):
    name: Name
    email: EmailStr
    organisation_id: Id
    role: PersonRoleValue = statuses.Role.PARTNER
    job_title: ShortText | None = None
    timezone: TimeZone | None = None
    # The language of their pages and mail; null: their organisation's (engine/i18n.py).
    language: LanguageValue | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "Agnès Bickart", "email": "agnes.bickart@metropolis.example", "organisation_id": 1,
        "role": statuses.Role.STAFF, "job_title": "Senior Manager for Institutional Relations & Asia",
        "timezone": "Europe/Madrid"}]})


class PersonRead(Output):
    id: int
    name: str
    email: str
    organisation_id: int
    role: str
    job_title: str | None
    timezone: str | None
    language: str | None = None
    active: bool


class PersonUpdate(Input):
    """`PATCH /people/{id}`: only the fields sent change; `timezone: null` falls back to the
    organisation's zone, `language: null` to its language, `job_title: null` clears it. Who may
    change what: `engine.directory.service.update_person`."""

    name: Name | None = None
    email: EmailStr | None = None
    role: PersonRoleValue | None = None
    job_title: ShortText | None = None
    timezone: TimeZone | None = None
    language: LanguageValue | None = None
    active: StrictBool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> PersonUpdate:
        if not self.model_fields_set:
            raise ValueError(_send_one_of("name, email, role, job_title, timezone, language, active"))
        for name in ("name", "email", "role", "active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(_not_null(name))
        return self

    model_config = ConfigDict(json_schema_extra={"examples": [{"active": False}, {
        "name": "Agnès Bickart", "role": statuses.Role.STAFF, "timezone": "Europe/Madrid"}]})


class PersonWarning(BaseModel):
    """Something a disabled person leaves undone: the change is made, and this says what to fix."""

    kind: Literal["only_focal_point", "only_signatory", "owns_deliverable"]
    agreement_id: int
    agreement_title: str
    deliverable_id: int | None = None
    detail: str


class PersonUpdated(PersonRead):
    warnings: list[PersonWarning] = []


class TokenCreate(Input):
    label: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100), ONE_LINE] | None = None


class TokenRead(BaseModel):
    id: int = Field(description="what `DELETE /api/v1/tokens/{id}` revokes")
    token: str
    person_id: int
    detail: str = "Keep this token: it is shown once and stored only as a hash."


# --- agreements ------------------------------------------------------------------------------

class PartyInput(Input):
    organisation_id: Id
    role: PartyRoleValue = statuses.PartyRole.PARTY


class AreaCreate(Input):
    title: Title
    description: LongText | None = None


class AreaUpdate(Input):
    """Rename an area, describe it, or move it: `position` is its place among the agreement's
    areas, from 0; the others shift so that positions stay 0, 1, 2, ..."""

    title: Title | None = None
    description: LongText | None = None
    position: Annotated[int, Field(ge=0, le=MAX_ID)] | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"title": "Urban resilience and climate action"}, {"position": 0}]})


def _after(later: str, later_day: date, earlier: str, earlier_day: date) -> str:
    """A check of the whole form: its sentence starts with the field to fix (api/web/pages.py shows it there)."""
    return i18n.gettext("%(later)s (%(later_day)s) must be after %(earlier)s (%(earlier_day)s)") % {
        "later": later, "later_day": later_day.isoformat(), "earlier": earlier, "earlier_day": earlier_day.isoformat()}


class _AgreementTerms(Input):
    summary: LongText | None = None
    background: LongText | None = None
    effective_from: Day | None = None
    ends_on: Day | None = None
    review_every_months: Annotated[int, Field(ge=1, le=120)] | None = None
    next_review_on: Day | None = None
    notice_period_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    signing_place: ShortText | None = None
    predecessor_id: Id | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Any:
        if self.effective_from and self.ends_on and self.ends_on <= self.effective_from:
            raise ValueError(_after("ends_on", self.ends_on, "effective_from", self.effective_from))
        if self.effective_from and self.next_review_on and self.next_review_on <= self.effective_from:
            raise ValueError(_after("next_review_on", self.next_review_on, "effective_from", self.effective_from))
        return self


class AgreementCreate(_AgreementTerms):
    title: Title
    workflow: Annotated[str, StringConstraints(max_length=64), ONE_LINE] = "collaboration_agreement"
    workflow_version: Annotated[int, Field(ge=1, le=1000)] | None = Field(
        default=None, description="an earlier version of the workflow to start on; unset: its latest")
    parties: Annotated[list[PartyInput], Field(min_length=1, max_length=50)]
    areas: Annotated[list[AreaCreate], Field(max_length=50)] = []

    @field_validator("parties")
    @classmethod
    def _no_party_twice(cls, parties: list[PartyInput]) -> list[PartyInput]:
        seen: set[int] = set()
        for party in parties:
            if party.organisation_id in seen:
                raise ValueError(i18n.gettext("organisation %(id)s is listed twice as a party")
                                 % {"id": party.organisation_id})
            seen.add(party.organisation_id)
        return parties

    @field_validator("areas")
    @classmethod
    def _no_area_twice(cls, areas: list[AreaCreate]) -> list[AreaCreate]:
        titles = [a.title.casefold() for a in areas]
        if len(titles) != len(set(titles)):
            raise ValueError(i18n.gettext("an area of collaboration is listed twice"))
        return areas

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "title": "Collaboration agreement between Metropolis and UCLG ASPAC",
        "summary": "A framework of collaboration benefiting the joint members of both networks.",
        "effective_from": "2019-04-06", "review_every_months": 12,
        "parties": [{"organisation_id": 1}, {"organisation_id": 2}],
        "areas": [{"title": "Optimisation of resources towards the local implementation of the "
                            "2030 Agenda and the New Urban Agenda"}]}]})


class AgreementUpdate(_AgreementTerms):
    title: Title | None = None


class AgreementCopy(_AgreementTerms):
    """A new draft copied from an agreement: its parties, the focal points and signatories who are
    still enabled, its areas and its open deliverables, its summary, background, review period and
    notice period; never its signatures, its history, or its deliverables done or cancelled. A
    field given here replaces what would be copied; dates are not copied (the copy has a term of
    its own). `title` defaults to "Copy of" the agreement's; `predecessor_id` names the agreement
    the copy succeeds, if any (the source itself makes the copy its successor)."""

    title: Title | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"title": "Collaboration agreement between Metropolis and UCLG ASPAC, 2027-2031",
         "effective_from": "2027-04-06"}]})


class PartyCreate(PartyInput):
    pass


# --- amendments ------------------------------------------------------------------------------

_MANY = Field(max_length=50)


class ContactAmendment(Input):
    """A focal point's or signatory's capacity (their title as the agreement names them)."""

    id: Id
    capacity: ShortText | None


class AreaAmendment(Input):
    id: Id
    title: Title | None = None
    description: LongText | None = None


class AreasAmendment(Input):
    add: Annotated[list[AreaCreate], _MANY] = []
    change: Annotated[list[AreaAmendment], _MANY] = []
    remove: Annotated[list[Id], _MANY] = []


class DeliverableAddition(Input):
    area_id: Id
    title: Title
    description: LongText | None = None
    owner_id: Id | None = None
    due_on: Day | None = None


class DeliverableAmendment(Input):
    """A deliverable changed: moved to another area (`area_id`), renamed, re-dated, given an owner."""

    id: Id
    area_id: Id | None = None
    title: Title | None = None
    description: LongText | None = None
    owner_id: Id | None = None
    due_on: Day | None = None


class DeliverablesAmendment(Input):
    add: Annotated[list[DeliverableAddition], _MANY] = []
    change: Annotated[list[DeliverableAmendment], _MANY] = []
    remove: Annotated[list[Id], _MANY] = []


class PartiesAmendment(Input):
    """Organisations that join (by accession) and parties that leave (by organisation id)."""

    join: Annotated[list[PartyInput], _MANY] = []
    leave: Annotated[list[Id], _MANY] = []


class AmendmentChanges(Input):
    """What an amendment sets: agreement fields with their new values, and parts to add, change
    or remove. Which of these each kind may carry: `engine.amendments.changes.KIND_FIELDS`."""

    title: Title | None = None
    background: LongText | None = None
    signing_place: ShortText | None = None
    contacts: Annotated[list[ContactAmendment], _MANY] | None = None
    summary: LongText | None = None
    effective_from: Day | None = None
    ends_on: Day | None = None
    review_every_months: Annotated[int, Field(ge=1, le=120)] | None = None
    next_review_on: Day | None = None
    notice_period_days: Annotated[int, Field(ge=1, le=3650)] | None = None
    areas: AreasAmendment | None = None
    deliverables: DeliverablesAmendment | None = None
    parties: PartiesAmendment | None = None


class AmendmentCreate(Input):
    kind: AmendmentKindValue
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), LINES]
    changes: AmendmentChanges

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"kind": statuses.AmendmentKind.TERMS, "reason": "Extended by two years at the 2025 review.",
         "changes": {"ends_on": "2031-04-05", "review_every_months": 24}},
        {"kind": statuses.AmendmentKind.ADMINISTRATIVE, "reason": "The focal point's new title.",
         "changes": {"contacts": [{"id": 3, "capacity": "Director of Institutional Relations"}]}},
        {"kind": statuses.AmendmentKind.PARTIES, "reason": "UCLG joins by accession.",
         "changes": {"parties": {"join": [{"organisation_id": 4}]}}}]})


class AmendmentEventFire(Input):
    """An amendment event: `submit` (to the parties for signature), `sign` (for a party:
    `organisation_id`, default your own), `approve` (an administrative amendment, by a party's
    focal point), `withdraw` (back to draft, clearing signatures), `cancel`."""

    event: AmendmentEventValue
    organisation_id: Id | None = None
    comment: LongText | None = None


class DiffEntry(BaseModel):
    path: str = Field(description="`field`, `part/id/column`, `part/id` (removed) or `part/new` (added)")
    from_: Any = Field(alias="from")
    to: Any

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class AmendmentSignatureRead(Output):
    party_id: int
    organisation_id: int
    assent: str
    person_id: int | None
    actor: str
    at: datetime


class AmendmentRef(Output):
    number: int
    kind: str
    state: str


class AmendmentRead(Output):
    id: int
    agreement_id: int
    number: int
    kind: str
    reason: str
    state: str
    version: int
    base_version: int = Field(description="the agreement's version the amendment was drafted (or last "
                              "redrafted) on")
    changes: dict[str, Any]
    diff: list[DiffEntry] = Field(description="what the amendment does to the agreement: as drafted, as "
                                  "redrafted after a refused merge, or as merged")
    signatures: list[AmendmentSignatureRead]
    awaiting: list[OrganisationRef] = Field(description="the parties whose signature (or approval) is "
                                            "still missing")
    available_events: list[str]
    created_at: datetime
    merged_at: datetime | None
    merged_version: int | None


class PartyUpdate(Input):
    """A party's role: `party` (signs) or `supporter` (never signs)."""

    role: PartyRoleValue


class ContactCreate(Input):
    """Name a person as focal point or signatory for one of the agreement's parties."""

    organisation_id: Id | None = Field(default=None, description="the party's organisation; "
                                       "default: the person's own organisation")
    person_id: Id
    kind: ContactKindValue = statuses.ContactKind.FOCAL_POINT
    capacity: ShortText | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "person_id": 3, "kind": statuses.ContactKind.FOCAL_POINT,
        "capacity": "Senior Manager for Institutional Relations & Asia"}]})


class DeliverableCreate(Input):
    title: Title
    description: LongText | None = None
    owner_id: Id | None = Field(default=None, description="a person named as focal point")
    due_on: Day | None = None
    status: DeliverableStatusValue = statuses.DeliverableStatus.PLANNED


class DeliverableUpdate(Input):
    title: Title | None = None
    description: LongText | None = None
    owner_id: Id | None = None
    due_on: Day | None = None
    status: DeliverableStatusValue | None = None
    progress_note: LongText | None = None
    evidence_url: HttpUrl | None = None

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": statuses.DeliverableStatus.IN_PROGRESS, "progress_note": "Draft circulated to joint members.",
        "evidence_url": "https://www.metropolis.org/"}]})


class EventInput(Input):
    """The fields an event may carry, validated, as the engine takes them (`engine.agreements.service.fire`).

    Which of them one event takes is declared next to the guards and effects that read them
    (`engine.workflow.rules`, `reads=`); `fire` refuses the rest. `EventFire`, the API's body, is these
    fields and the event's name.
    """

    model_config = ConfigDict(frozen=True)

    comment: LongText | None = None
    organisation_id: Id | None = None
    signatory_id: Id | None = None
    signed_on: Day | None = None
    place: ShortText | None = None
    outcome: ReviewOutcome | None = None
    summary: LongText | None = None
    ends_on: Day | None = None
    starts_on: Day | None = None
    reason: LongText | None = None


class EventName(Input):
    event: Annotated[str, StringConstraints(min_length=1, max_length=64), ONE_LINE]


class EventFire(EventInput, EventName):  # EventName last, so that `event` is the first field
    """An event and its fields. Every event takes `comment`; the other fields belong to particular
    events of the agreement's workflow (`GET /workflows/{name}` lists each event's `fields`), and
    a field the event does not take is refused with 422 naming it (`engine.agreements.service.fire`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [
        {"event": "submit_for_signature", "comment": "Ready for the Secretaries-general."},
        {"event": "sign", "organisation_id": 1, "signed_on": "2019-04-06", "place": "Montevideo"},
        {"event": "complete_review", "outcome": "continue", "summary": "All four areas on track."},
        {"event": "renew", "ends_on": "2031-04-05"},
        {"event": "suspend", "reason": "Paused during the secretariat's relocation."},
    ]})


class OrganisationRef(Output):
    id: int
    name: str
    short_name: str | None


class PersonRef(Output):
    id: int
    name: str
    email: str
    job_title: str | None
    active: bool = True


class ContactRead(Output):
    id: int
    person: PersonRef
    kind: str
    capacity: str | None


class SignatureRead(Output):
    signed_on: date
    place: str | None
    signatory_id: int | None


class PartyRead(Output):
    id: int
    organisation: OrganisationRef
    role: str
    focal_points: list[ContactRead]
    signatories: list[ContactRead]
    signature: SignatureRead | None


class DeliverableRead(Output):
    id: int
    agreement_id: int
    area_id: int
    title: str
    description: str | None
    owner_id: int | None
    due_on: date | None
    status: str
    overdue: bool
    progress_note: str | None
    evidence_url: str | None
    completed_on: date | None
    updated_at: datetime


class AreaRead(Output):
    id: int
    title: str
    description: str | None
    position: int
    deliverables: list[DeliverableRead]


class WorkflowRef(Output):
    name: str
    version: int


class AgreementSummary(Output):
    id: int
    title: str
    state: str
    workflow: WorkflowRef
    version: int
    parties: list[OrganisationRef]
    effective_from: date | None
    ends_on: date | None
    next_review_on: date | None
    updated_at: datetime


class AgreementRead(Output):
    id: int
    title: str
    summary: str | None
    background: str | None
    workflow: WorkflowRef
    state: str
    state_label: str
    final: bool
    editable: bool
    version: int
    effective_from: date | None
    ends_on: date | None
    term_starts_on: date | None
    review_every_months: int | None
    next_review_on: date | None
    notice_period_days: int | None
    signing_place: str | None
    signed_on: date | None
    submitted_on: date | None
    review_outcome: str | None
    review_summary: str | None
    predecessor_id: int | None
    successor_id: int | None = Field(description="the newest agreement that names this one as its "
                                     "predecessor (a copy made as its successor, or a renewal as successor)")
    reference: str | None = None
    parties: list[PartyRead]
    areas: list[AreaRead]
    available_events: list[str] = Field(
        description="events the caller may fire in the current state")
    unmet_conditions: dict[str, list[str]] = Field(
        description="for each available event whose guards are not met now, what is missing")
    amendments: list[AmendmentRef] = Field(default=[], description="its amendments, by number "
                                           "(GET /agreements/{id}/amendments/{number})")
    created_at: datetime
    updated_at: datetime


class HistoryRead(Output):
    version: int
    at: datetime
    actor: str
    actor_id: int | None
    kind: str
    event: str
    from_state: str | None
    to_state: str | None
    comment: str | None
    data: dict[str, Any] | None
    diff: dict[str, Any] | None = Field(
        default=None, description='what the change changed: `{"fields": {name: [old, new]}, "parts": '
                                  '[{"part", "op": added|changed|removed, "id", "values" or "changes"}]}`; '
                                  "null for changes recorded before Accord kept diffs")

    @computed_field(  # type: ignore[prop-decorator]
        description='the entry in words, e.g. "Sign (pending signature → signed) for UCLG ASPAC by '
                    'Accord Administrator": who, and on whose behalf when an administrator acted '
                    "for a party (`data.on_behalf_of`)")
    @property
    def text(self) -> str:
        return history_text.describe(self.event, self.from_state, self.to_state, self.actor, self.data)


class DocumentUpload(Input):
    """The form fields of an upload beside its `file` (multipart/form-data)."""

    kind: DocumentKindValue
    title: Title | None = Field(default=None, description="what the document is; unset: its file name")
    deliverable_id: Id | None = Field(default=None, description="the deliverable it is evidence of")
    amendment_id: Id | None = Field(default=None, description="the amendment it is the signed copy of")


class DocumentRead(Output):
    id: int
    agreement_id: int
    kind: str
    title: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: int | None = Field(description="the person who uploaded it")
    uploaded_at: datetime
    deliverable_id: int | None = None
    amendment_id: int | None = None
    withdrawn_at: datetime | None = None
    withdrawn_by: int | None = None
    withdrawn_reason: str | None = None


class DocumentWithdraw(Input):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), LINES]


class WorkflowVersionMove(Input):
    version: Annotated[int, Field(ge=1, le=1000)]


class WorkflowStateRead(BaseModel):
    name: str
    label: str
    final: bool
    editable: bool
    signed: bool = Field(description="every signing party has signed by the time the agreement is here")
    term_restarts: bool = Field(description="a renewal waits here: its term starts afresh, reviews counted "
                                "from the new term's start")
    amendable: bool = Field(False, description="an amendment may be proposed and merged here")
    events: list[str]


class WorkflowEventRead(BaseModel):
    name: str
    label: str
    actors: list[str]
    guards: list[str]
    effects: list[str]
    fields: list[str] = Field(description="the fields the event takes (POST /agreements/{id}/events); "
                              "any other is refused with 422")
    confirm: bool = Field(False, description="the web pages ask a person to confirm it first, on a page "
                          "that says what it does (it ends, or stops, the agreement, or clears signatures)")
    scheduled: bool = Field(False, description="the scheduler fires it on its date; the web pages say when "
                            "instead of offering it")


class WorkflowRead(BaseModel):
    name: str
    version: int
    title: str
    description: str
    initial: str
    states: list[WorkflowStateRead]
    events: list[WorkflowEventRead]
    diagram: str = Field(description="a Mermaid state diagram")

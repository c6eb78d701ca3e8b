"""The registry that workflow files name: guards, effects, branch conditions and dates.

A guard is pure: it reads an `EventContext` and returns `None` when met, or a
sentence that tells a person what to do when unmet: read on the pages as in the API's answers,
it names what a person sets ("the effective date"), never a JSON field or an API path, and says
days in words (`sentence_day`). Every such sentence is gettext's (engine/i18n.py): written in the
language being read when the guard runs — a page's, the API's English unless the request sends
`Accept-Language` (api/languages.py). Guards marked `needs_input`
depend on the event's fields, so they are not evaluated when listing what an
agreement could do next. An effect changes nothing itself: it writes what the event changes into
the context's draft (`ctx.draft.set`, `add`, `remove`; facts into `ctx.facts`), which becomes the
event's change set (`engine.agreements.changes.ChangeSet`); it does no I/O.

`reads=` names the event fields (`EventInput`) a guard or effect reads: an event
takes exactly the fields its guards and effects read, plus `comment`, and no
other (`engine.workflow.machine.CompiledWorkflow.fields`). An effect that acts for a
party names its `authority=`, a check from `engine.agreements.policy` that refuses
(403) a person who may not act for that party; it applies to every event that
has the effect, in every workflow. An effect whose work a person should know of before
confirming the event (clearing signatures) names its `consequence=`: that work in a sentence.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from functools import cache

from dateutil.relativedelta import relativedelta

from engine import i18n
from engine.agreements import policy
from engine.agreements.values import AgreementSnapshot, DeliverableValue, SignatureValue
from engine.days import in_words, iso, plus, usable
from engine.i18n import N_
from engine.models import Agreement
from engine.statuses import ContactKind, DocumentKind, PartyRole
from engine.workflow.event import EventContext
from workflows.definition import DocumentGuard, GuardEntry
from workflows.loader import Vocabulary

GuardFn = Callable[[EventContext], str | None]
RefusalFn = Callable[[EventContext], str | None]
EffectFn = Callable[[EventContext], None]
ConditionFn = Callable[[EventContext], bool]
DateFn = Callable[[AgreementSnapshot], date | None]
ConsequenceFn = Callable[[AgreementSnapshot], str | None]
DeliverableDateFn = Callable[[DeliverableValue], date | None]


@dataclass(frozen=True)
class Guard:
    check: GuardFn
    needs_input: bool = False
    reads: tuple[str, ...] = ()


@dataclass(frozen=True)
class Effect:
    apply: EffectFn
    reads: tuple[str, ...] = ()
    # Who may fire an event with this effect: None when met, else why not (a 403).
    authority: RefusalFn | None = None
    # What the effect would do to the agreement as it is, in a sentence a person reads before
    # confirming the event (the pages' confirmation page), or None when it does nothing worth saying.
    consequence: ConsequenceFn | None = None


GUARDS: dict[str, Guard] = {}
EFFECTS: dict[str, Effect] = {}
CONDITIONS: dict[str, ConditionFn] = {}
DATES: dict[str, DateFn] = {}
DELIVERABLE_DATES: dict[str, DeliverableDateFn] = {}
# Who a reminder goes to; `engine.schedule` resolves them (see its docstring).
RECIPIENTS = frozenset({"focal_points", "signatories", "unsigned_signatories", "owner",
                        "party_focal_points", "secretariat"})


def guard(name: str, *, needs_input: bool = False,
          reads: tuple[str, ...] = ()) -> Callable[[GuardFn], GuardFn]:
    def register(check: GuardFn) -> GuardFn:
        GUARDS[name] = Guard(check, needs_input, reads)
        return check
    return register


def effect(name: str, *, reads: tuple[str, ...] = (), authority: RefusalFn | None = None,
           consequence: ConsequenceFn | None = None) -> Callable[[EffectFn], EffectFn]:
    def register(apply: EffectFn) -> EffectFn:
        EFFECTS[name] = Effect(apply, reads, authority, consequence)
        return apply
    return register


def vocabulary() -> Vocabulary:
    return Vocabulary(
        guards=frozenset(GUARDS), effects=frozenset(EFFECTS), conditions=frozenset(CONDITIONS),
        dates=frozenset(DATES), deliverable_dates=frozenset(DELIVERABLE_DATES),
        recipients=RECIPIENTS, documents=frozenset(DocumentKind),
    )


def _org_name(ctx: EventContext, organisation_id: int | None) -> str:
    party = ctx.agreement.party_of(organisation_id)
    return party.organisation.name if party is not None else i18n.gettext("organisation %(id)s") % {
        "id": organisation_id}


def _disabled(people: list[str]) -> str:
    """" (Ana Lima, Jo Park: disabled)", or nothing when nobody is."""
    return " (" + i18n.gettext("%(people)s: disabled") % {"people": ", ".join(people)} + ")" if people else ""


# --- guards ---------------------------------------------------------------------------------

# Said on the pages as well as in the API's answers: no field names, but what a person sets.
EFFECTIVE_DATE_UNSET = N_("Set the effective date, the day the agreement takes effect.")


def sentence_day(day: date) -> str:
    """A day in a translated sentence (here and in engine.agreements.actions' refusals): the
    engine's English "31 Dec 2029", else the reader's way."""
    return in_words(day) if i18n.current() == i18n.SOURCE else i18n.format_day(day)


@guard("two_or_more_parties")
def _two_or_more_parties(ctx: EventContext) -> str | None:
    count = len(ctx.signing_parties())
    if count >= 2:
        return None
    return i18n.gettext("The agreement needs at least two signing parties; it has %(count)s. Add a party.") % {
        "count": count}


@guard("parties_named_focal_points_and_signatories")
def _parties_named_people(ctx: EventContext) -> str | None:
    missing: list[str] = []
    for party in ctx.agreement.parties:
        named = [c for c in ctx.agreement.contacts if c.party_id == party.id]
        kinds = {c.kind for c in named if c.person.active}  # a disabled person counts for nothing
        needed = [ContactKind.FOCAL_POINT] + ([ContactKind.SIGNATORY] if party.role == PartyRole.PARTY else [])
        for kind in needed:
            if kind not in kinds:
                disabled = [c.person.name for c in named if c.kind == kind and not c.person.active]
                why = _disabled(disabled)
                unnamed = (i18n.gettext("%(party)s has not named a signatory") if kind == ContactKind.SIGNATORY
                           else i18n.gettext("%(party)s has not named a focal point"))
                missing.append(unnamed % {"party": party.organisation.name} + f"{why}.")
    return " ".join(missing) or None


@guard("has_collaboration_area")
def _has_collaboration_area(ctx: EventContext) -> str | None:
    if ctx.agreement.areas:
        return None
    return i18n.gettext("Add at least one area of collaboration.")


@guard("effective_from_set")
def _effective_from_set(ctx: EventContext) -> str | None:
    if ctx.agreement.effective_from is not None:
        return None
    return i18n.gettext(EFFECTIVE_DATE_UNSET)


def _signing_parties_listed(ctx: EventContext) -> str:
    return ", ".join(i18n.gettext("%(party)s (organisation %(id)s)") % {"party": p.organisation.name,
                                                                           "id": p.organisation_id}
                     for p in ctx.signing_parties() if ctx.signature_of(p) is None)


@guard("signing_party_named", needs_input=True, reads=("organisation_id",))
def _signing_party_named(ctx: EventContext) -> str | None:
    """The signing party: the one named by organisation_id, else the caller's own organisation."""
    if ctx.data.organisation_id is None and ctx.signing_party is None:
        return i18n.gettext("Say which party's signature this is: %(parties)s.") % {
            "parties": _signing_parties_listed(ctx) or i18n.gettext("one of the signing parties")}
    party = ctx.signing_party
    if party is None or party.role != PartyRole.PARTY:
        return i18n.gettext("%(party)s is not a signing party to this agreement; only its parties sign.") % {
            "party": _org_name(ctx, ctx.signing_organisation_id)}
    return None


@guard("signing_party_has_not_signed", reads=("organisation_id",))
def _signing_party_has_not_signed(ctx: EventContext) -> str | None:
    party = ctx.signing_party
    if party is None or party.role != PartyRole.PARTY:
        return None  # said by signing_party_named
    signature = ctx.signature_of(party)
    if signature is not None:
        return i18n.gettext("%(party)s already signed on %(day)s.") % {
            "party": party.organisation.name, "day": sentence_day(signature.signed_on)}
    return None


@guard("signing_party_has_signatory", reads=("signatory_id",))
def _signing_party_has_signatory(ctx: EventContext) -> str | None:
    party = ctx.signing_party
    if party is None or party.role != PartyRole.PARTY:
        return None  # said by signing_party_named
    named = [c for c in ctx.agreement.contacts if c.party_id == party.id and c.kind == ContactKind.SIGNATORY]
    signatories = [c for c in named if c.person.active]  # a disabled person signs nothing
    if not signatories:
        why = _disabled([c.person.name for c in named])
        return i18n.gettext("%(party)s has not named a signatory") % {"party": party.organisation.name} + f"{why}."
    if ctx.data.signatory_id is not None and all(
        c.person_id != ctx.data.signatory_id for c in signatories
    ):
        disabled_one = next((c for c in named if c.person_id == ctx.data.signatory_id), None)
        if disabled_one is not None:
            return i18n.gettext("%(person)s is disabled and signs nothing; sign as another of %(party)s's "
                                "signatories.") % {"person": disabled_one.person.name, "party": party.organisation.name}
        return i18n.gettext("Person %(id)s is not a named signatory of %(party)s; name them as signatory first.") % {
            "id": ctx.data.signatory_id, "party": party.organisation.name}
    return None


def signing_opened_on(ctx: EventContext) -> tuple[date, str]:
    """The first day a signature may bear, and what happened that day: the agreement was submitted
    for signature, or (a workflow signed straight from its draft) it was created (marked for the
    catalog: `i18n.gettext` it where it is said)."""
    if ctx.agreement.submitted_on is not None:
        return ctx.agreement.submitted_on, N_("submitted for signature")
    return ctx.day_of(ctx.agreement.created_at), N_("created (it is signed from its draft)")


@guard("signed_on_in_signing_period", needs_input=True, reads=("signed_on",))
def _signed_on_in_signing_period(ctx: EventContext) -> str | None:
    signed_on = ctx.data.signed_on
    if signed_on is None:
        return None  # today
    if signed_on > ctx.today:
        return i18n.gettext("The day of signing, %(day)s, is in the future; record a signature on or after the "
                            "day it is made.") % {"day": sentence_day(signed_on)}
    opened, what = signing_opened_on(ctx)
    if signed_on < opened:
        return i18n.gettext("The day of signing, %(day)s, is before %(opened)s, the day the agreement was "
                            "%(what)s; a signature bears a day from then to today.") % {
            "day": sentence_day(signed_on), "opened": sentence_day(opened), "what": i18n.gettext(what)}
    return None


def term_start(agreement: AgreementSnapshot) -> date | None:
    return agreement.term_starts_on or agreement.effective_from


@guard("term_has_started")
def _term_has_started(ctx: EventContext) -> str | None:
    start = term_start(ctx.agreement)
    if start is None:
        return i18n.gettext(EFFECTIVE_DATE_UNSET)
    if start > ctx.today:
        return i18n.gettext("The term starts on %(day)s; the agreement cannot be activated before then.") % {
            "day": sentence_day(start)}
    return None


# renew_as_successor: a new agreement replaces this one. The review creates its draft successor
# (engine.agreements.actions.follow_ups); this one runs on until the successor is signed, and is then
# superseded (the `supersede` event, fired by Accord itself).
RENEW_AS_SUCCESSOR = "renew_as_successor"
REVIEW_OUTCOMES = ("continue", "renew", RENEW_AS_SUCCESSOR, "terminate")


@guard("review_outcome_given", needs_input=True, reads=("outcome",))
def _review_outcome_given(ctx: EventContext) -> str | None:
    if ctx.data.outcome in REVIEW_OUTCOMES:
        return None
    return i18n.gettext("Give the review's outcome: one of %(outcomes)s.") % {"outcomes": ", ".join(REVIEW_OUTCOMES)}


@guard("review_summary_given", needs_input=True, reads=("summary",))
def _review_summary_given(ctx: EventContext) -> str | None:
    if ctx.data.summary and ctx.data.summary.strip():
        return None
    return i18n.gettext("Give a summary of the review.")


def _outcome_is(*expected: str) -> GuardFn:
    def check(ctx: EventContext) -> str | None:
        outcome = ctx.agreement.review_outcome
        if outcome in expected:
            return None
        follow = {"continue": "continue", "renew": "renew", "terminate": "terminate",
                  RENEW_AS_SUCCESSOR: "continue"}.get(outcome or "")
        said = {"outcome": outcome, "expected": " / ".join(repr(e) for e in expected), "event": follow}
        if follow:
            return i18n.gettext("The review's outcome was '%(outcome)s', not %(expected)s; fire '%(event)s' "
                                "instead.") % said
        return i18n.gettext("The review's outcome was '%(outcome)s', not %(expected)s; complete the review "
                            "first.") % said
    return check


guard("review_outcome_is_continue")(_outcome_is("continue"))
# After renew_as_successor the agreement runs on (continue) until its successor is signed.
guard("review_outcome_is_continue_or_successor")(_outcome_is("continue", RENEW_AS_SUCCESSOR))
guard("review_outcome_is_renew")(_outcome_is("renew"))


@guard("new_end_date_later", needs_input=True, reads=("ends_on", "starts_on"))
def _new_end_date_later(ctx: EventContext) -> str | None:
    new_end = ctx.data.ends_on
    current = ctx.agreement.ends_on
    if new_end is None:
        return i18n.gettext("Give the new end date, the last day of the renewed term.")
    if current is not None and new_end <= current:
        return i18n.gettext("The new end date, %(day)s, must be later than the current one, %(current)s.") % {
            "day": sentence_day(new_end), "current": sentence_day(current)}
    start = ctx.data.starts_on or ctx.today
    if new_end <= start:
        return i18n.gettext("The new end date, %(day)s, must be after the day the new term starts, %(start)s.") % {
            "day": sentence_day(new_end), "start": sentence_day(start)}
    return None


@guard("reason_given", needs_input=True, reads=("reason",))
def _reason_given(ctx: EventContext) -> str | None:
    if ctx.data.reason and ctx.data.reason.strip():
        return None
    return i18n.gettext("Give a reason.")


@guard("end_date_passed")
def _end_date_passed(ctx: EventContext) -> str | None:
    ends_on = ctx.agreement.ends_on
    if ends_on is None:
        return i18n.gettext("The agreement has no end date, so it cannot expire.")
    if ends_on >= ctx.today:
        return i18n.gettext("The agreement runs until %(day)s; it expires only after that day.") % {
            "day": sentence_day(ends_on)}
    return None


# The document each kind names, in the sentence that asks for it.
DOCUMENT_WORDS: dict[str, str] = {
    DocumentKind.SIGNED_AGREEMENT: N_("the signed agreement (a scan or PDF of the copy every party signed)"),
    DocumentKind.AMENDMENT: N_("the signed amendment"),
    DocumentKind.TERMINATION_LETTER: N_("the termination letter"),
    DocumentKind.EVIDENCE: N_("evidence of the work"),
    DocumentKind.OTHER: N_("the document"),
}


def guard_for(entry: GuardEntry) -> Guard:
    """The guard a workflow file's entry names: a registered guard by its name, or the check of
    a `{document: <kind>}` entry (made once per entry)."""
    if isinstance(entry, str):
        return GUARDS[entry]
    return _document_guard(entry)


@cache
def _document_guard(entry: DocumentGuard) -> Guard:
    kind, when = entry.document, entry.when

    def check(ctx: EventContext) -> str | None:
        if when is not None and not CONDITIONS[when](ctx):
            return None
        if ctx.agreement.kept_documents(kind):
            return None
        said = {"document": i18n.gettext(DOCUMENT_WORDS[kind]) if kind in DOCUMENT_WORDS else kind, "kind": kind,
                "path": f"/api/v1/agreements/{ctx.agreement.id}/documents", "event": ctx.event_words}
        if when:
            return i18n.gettext("Upload %(document)s first, as a document of kind %(kind)s (the agreement page's "
                                "Documents, or POST %(path)s): it is needed for this %(event)s, which is the one "
                                "that completes it.") % said
        return i18n.gettext("Upload %(document)s first, as a document of kind %(kind)s (the agreement page's "
                            "Documents, or POST %(path)s): it is needed to %(event)s the agreement.") % said
    return Guard(check)


# --- branch conditions ----------------------------------------------------------------------

def _signature_completes(ctx: EventContext) -> bool:
    signer = ctx.signing_party
    unsigned = [p for p in ctx.signing_parties() if ctx.signature_of(p) is None]
    return signer is not None and [p.id for p in unsigned] == [signer.id]


CONDITIONS["signature_completes"] = _signature_completes


# --- effects --------------------------------------------------------------------------------

@effect("record_submission")
def _record_submission(ctx: EventContext) -> None:
    ctx.draft.set("submitted_on", ctx.today)


def _signer_authority(ctx: EventContext) -> str | None:
    return policy.signing_refusal(ctx.actor, ctx.agreement, ctx.data.organisation_id)


@effect("record_signature", reads=("organisation_id", "signatory_id", "signed_on", "place"),
        authority=_signer_authority)
def _record_signature(ctx: EventContext) -> None:
    """One party's signature, with its own day and place. The last signature signs the agreement;
    its place becomes the agreement's `signing_place` only if none was set before (recorded as
    `signing_place` in the history data), so a place agreed at creation is never overwritten."""
    agreement = ctx.agreement
    party = ctx.signing_party
    assert party is not None  # guaranteed by the guards
    signatory_id = ctx.data.signatory_id or next(
        c.person_id for c in agreement.contacts
        if c.party_id == party.id and c.kind == ContactKind.SIGNATORY and c.person.active
    )
    signed_on = ctx.data.signed_on or ctx.today
    ctx.draft.add(SignatureValue(
        id=ctx.draft.ids.next(), agreement_id=agreement.id, party_id=party.id, signatory_id=signatory_id,
        signed_on=signed_on, place=ctx.data.place, recorded_by_id=ctx.actor.person_id,
        recorded_at=ctx.now,
    ))
    ctx.facts.update(organisation_id=party.organisation_id, signatory_id=signatory_id,
                     signed_on=signed_on.isoformat(), place=ctx.data.place)
    behalf = policy.on_behalf_of(ctx.actor, party)
    if behalf is not None:
        ctx.facts["on_behalf_of"] = behalf
    if ctx.dest != agreement.state:  # the last signature: the agreement is signed
        ctx.draft.set("signed_on", max([s.signed_on for s in agreement.signatures] + [signed_on]))
        if ctx.data.place and not agreement.signing_place:
            ctx.draft.set("signing_place", ctx.data.place)
            ctx.facts["signing_place"] = ctx.data.place


def _signatures_cleared(agreement: AgreementSnapshot) -> str | None:
    if not agreement.signatures:
        return None
    signed = "; ".join(
        i18n.gettext("%(party)s (signed %(day)s)") % {
            "party": party.organisation.name if (party := agreement.party(s.party_id)) else i18n.gettext("a party"),
            "day": sentence_day(s.signed_on)} for s in sorted(agreement.signatures, key=lambda s: s.signed_on))
    return i18n.gettext("The signatures recorded so far are cleared: %(signed)s. Every party signs again.") % {
        "signed": signed}


@effect("clear_signatures", consequence=_signatures_cleared)
def _clear_signatures(ctx: EventContext) -> None:
    signatures = ctx.agreement.signatures
    ctx.facts["cleared_signatures"] = [s.party_id for s in signatures]
    ctx.draft.remove_all(signatures)
    ctx.draft.set("submitted_on", None)


def first_review_after(start: date, months: int, today: date) -> date:
    """The first review date `start + k*months` (k >= 1) that falls after `today`."""
    k = 1
    while (candidate := start + relativedelta(months=months * k)) <= today:
        k += 1
    return candidate


@effect("start_term")
def _start_term(ctx: EventContext) -> None:
    agreement = ctx.agreement
    start = term_start(agreement)
    assert start is not None  # guaranteed by term_has_started
    ctx.draft.set("term_starts_on", start)
    next_review_on = agreement.next_review_on
    if agreement.review_every_months:
        # A term that starts afresh (from a state flagged term_restarts: a renewal) counts its
        # reviews from its own start, whatever the old term's next review was.
        afresh = ctx.leaving is not None and ctx.leaving.term_restarts
        if next_review_on is None or next_review_on <= ctx.today or afresh:
            next_review_on = first_review_after(start, agreement.review_every_months, ctx.today)
            ctx.draft.set("next_review_on", next_review_on)
    ctx.facts["next_review_on"] = iso(next_review_on)


@effect("record_review", reads=("outcome", "summary"))
def _record_review(ctx: EventContext) -> None:
    outcome = ctx.data.outcome or "continue"
    ctx.draft.update({"review_outcome": outcome, "review_summary": ctx.data.summary})
    ctx.facts.update(outcome=outcome, summary=ctx.data.summary)


@effect("schedule_next_review")
def _schedule_next_review(ctx: EventContext) -> None:
    agreement = ctx.agreement
    months = agreement.review_every_months
    next_review_on: date | None = None
    if months:
        base = usable(agreement.next_review_on) or ctx.today
        next_review_on = first_review_after(base, months, ctx.today) if base <= ctx.today \
            else base + relativedelta(months=months)
    ctx.draft.set("next_review_on", next_review_on)
    ctx.facts["next_review_on"] = iso(next_review_on)


@effect("record_renewal", reads=("ends_on", "starts_on"))
def _record_renewal(ctx: EventContext) -> None:
    agreement = ctx.agreement
    assert ctx.data.ends_on is not None  # guaranteed by new_end_date_later
    term_starts_on = ctx.data.starts_on or ctx.today
    ctx.facts.update(previous_ends_on=iso(agreement.ends_on), ends_on=ctx.data.ends_on.isoformat())
    ctx.draft.update({"ends_on": ctx.data.ends_on, "term_starts_on": term_starts_on})
    ctx.facts["term_starts_on"] = term_starts_on.isoformat()


# --- dates that timers and reminders count from ---------------------------------------------

DATES["term_starts_on"] = term_start
DATES["next_review_on"] = lambda agreement: agreement.next_review_on
DATES["ends_on"] = lambda agreement: agreement.ends_on
DATES["effective_from"] = lambda agreement: agreement.effective_from
DATES["submitted_on"] = lambda agreement: agreement.submitted_on


def notice_deadline(agreement: AgreementSnapshot | Agreement) -> date | None:
    """The last day to give notice; None without one, or when `ends_on` is not usable."""
    ends_on = usable(agreement.ends_on)
    if ends_on is None or not agreement.notice_period_days:
        return None
    return plus(ends_on, -agreement.notice_period_days)


DATES["notice_deadline"] = notice_deadline


DELIVERABLE_DATES["due_on"] = lambda deliverable: deliverable.due_on

"""What an agreement page shows besides its facts: the timeline picture, laid out from what
`read_agreement` returns; what the scheduler will do by itself, and when (the workflow's
`scheduled` events); its next review, once signed, even before its term sets it; and what an
event that asks first (`confirm`) will do, for its confirmation page."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from engine import words
from engine.agreements.policy import NO_FIELDS
from engine.agreements.values import AgreementSnapshot
from engine.clock import When
from engine.context import Actor
from engine.days import usable
from engine.i18n import N_, current, format_day, ngettext
from engine.i18n import gettext as _
from engine.schedule import timer_days
from engine.schemas import AgreementRead
from engine.statuses import DeliverableStatus
from engine.workflow import rules
from engine.workflow.event import EventContext
from engine.workflow.machine import CompiledWorkflow

# A deliverable's status as the pages say it, translated where shown: `_(STATUS_WORDS[status])`.
STATUS_WORDS = {**words.DELIVERABLE_STATUS, "overdue": N_("overdue")}

# --- what the scheduler will do --------------------------------------------------------------


@dataclass(frozen=True)
class Scheduled:
    """An event the scheduler fires by itself (`scheduled: true`), as a sentence: what and when."""

    event: str
    label: str
    sentence: str
    on: date | None
    why: str = ""  # without a day: the workflow's unmet conditions, in the language being read


def scheduled_steps(workflow: CompiledWorkflow, agreement: AgreementSnapshot, when: When) -> list[Scheduled]:
    """The agreement's next steps that nobody needs to take: on which day (its workflow's timers,
    from the agreement's dates) and what the agreement becomes; without a day, why not (the
    workflow's unmet conditions). All its words are in the language being read (`i18n.reading`)."""
    days = timer_days(agreement)
    steps = []
    for event in workflow.allowed_events(agreement.state):
        spec = workflow.spec.events[event]
        if not spec.scheduled:
            continue
        dest = workflow.destination(agreement.state, event)
        becomes = workflow.spec.label_of(dest, current()) if dest else agreement.state
        planned = sorted(day for name, day in days if name == event)
        if not planned:
            ctx = EventContext(snapshot=agreement, event=event, actor=Actor.scheduler(), data=NO_FIELDS,
                               today=when.today, now=when.now, zone=when.zone,
                               named=workflow.spec.label_of(event, current()).lower())
            why = " ".join(workflow.unmet(ctx, with_input=False))
            steps.append(Scheduled(event, spec.label, _("Not planned."), None, why))
            continue
        day = planned[0]
        if day > when.today:
            sentence = _("On %(day)s the agreement becomes %(state)s. Accord does this by itself; nobody needs "
                         "to act.") % {"day": format_day(day), "state": becomes}
        else:
            due = (_("Due today (%(day)s)") if day == when.today else _("Due since %(day)s")) % {"day": format_day(day)}
            sentence = _("%(due)s: the agreement becomes %(state)s when Accord next runs its schedule. Accord does "
                         "this by itself; nobody needs to act.") % {"due": due, "state": becomes}
        steps.append(Scheduled(event, spec.label, sentence, day))
    return steps


# --- the next review ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NextReview:
    """The day of the agreement's next review; `from_term` when it is not set yet but starting the
    term (on `term_starts`) will set it: a signed agreement reviewed every so many months."""

    on: date
    from_term: bool = False
    term_starts: date | None = None


def next_review(workflow: CompiledWorkflow, agreement: AgreementSnapshot, today: date) -> NextReview | None:
    """The next review the agreement holds, else the one its term's start will set (as the
    `start_term` effect counts it, `rules.first_review_after`), once it is signed and until the
    term starts; None without."""
    if agreement.next_review_on is not None:
        return NextReview(agreement.next_review_on)
    state = workflow.spec.states[agreement.state]
    start = usable(rules.term_start(agreement))
    months = agreement.review_every_months
    if start is None or not months or state.final or not state.signed or agreement.term_starts_on is not None:
        return None  # not signed, not reviewed, or its term started (and set the review, or it was cleared)
    return NextReview(rules.first_review_after(start, months, max(start, today)), from_term=True,
                      term_starts=start)


# --- what an event that asks first will do ---------------------------------------------------


@dataclass(frozen=True)
class Consequences:
    """What firing `event` would do to the agreement as it is, for its confirmation page."""

    event: str
    label: str
    becomes: str
    final: bool
    sentences: list[str]


def consequences(workflow: CompiledWorkflow, agreement: AgreementSnapshot, event: str) -> Consequences:
    """Its own sentences and the workflow's (`CompiledWorkflow.consequences`) in the language being
    read (`i18n.reading`)."""
    spec = workflow.spec
    dest = workflow.destination(agreement.state, event) or agreement.state
    state = spec.states[dest]
    sentences = []
    if state.final:
        sentences.append(_("The agreement becomes %(state)s, for good: nothing more can be done to it (no event, "
                           "no edit, no deliverable update).") % {"state": spec.label_of(dest, current())})
    else:
        then = [spec.label_of(e, current()) for e in workflow.allowed_events(dest) if not spec.events[e].scheduled]
        sentences.append(_("The agreement becomes %(state)s.") % {"state": spec.label_of(dest, current())}
                         + (" " + _("From there the parties' staff can: %(events)s.") % {"events": ", ".join(then)}
                            if then else ""))
    sentences += workflow.consequences(event, agreement)
    after = replace(agreement, state=dest)
    stopped = sorted(timer_days(agreement) - timer_days(after), key=lambda pair: pair[1])
    if stopped:
        sentences.append(_("Accord no longer does by itself: %(steps)s.") % {"steps": "; ".join(
            _("%(event)s on %(day)s") % {"event": spec.label_of(name, current()), "day": format_day(day)}
            for name, day in stopped)})
    reminders = [r.title for r in spec.reminders
                 if agreement.state in r.states and dest not in r.states and _applies(r.subject, r.date_name,
                                                                                      agreement)]
    if reminders:
        sentences.append(_("These reminders stop: %(reminders)s.") % {"reminders": ", ".join(_(r) for r in reminders)})
    return Consequences(event=event, label=spec.events[event].label, becomes=state.label, final=state.final,
                        sentences=sentences)


def _applies(subject: str, date_name: str, agreement: AgreementSnapshot) -> bool:
    """Whether a reminder rule has anything to remind of now: the agreement's date is set, or an
    open deliverable has its date."""
    if subject == "deliverable":
        return any(d.status in DeliverableStatus.OPEN and rules.DELIVERABLE_DATES[date_name](d) is not None
                   for d in agreement.deliverables)
    return usable(rules.DATES[date_name](agreement)) is not None


# --- the timeline picture --------------------------------------------------------------------

WIDTH = 800
LEFT, RIGHT = 24, 776


@dataclass(frozen=True)
class Mark:
    x: float
    on: date
    label: str
    kind: str  # review, deliverable-planned, deliverable-done, deliverable-overdue, ...


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass
class Timeline:
    start: date
    end: date
    term: tuple[float, float] | None
    open_ended: bool
    today: float | None
    today_label: str
    reviews: list[Mark] = field(default_factory=list)
    deliverables: list[Mark] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    term_label: str = ""

    @property
    def description(self) -> str:
        parts = [self.term_label] if self.term_label else []
        if self.reviews:
            parts.append(_("reviews on %(days)s") % {"days": ", ".join(format_day(m.on) for m in self.reviews)})
        if self.deliverables:
            parts.append(ngettext("%(num)s deliverable due", "%(num)s deliverables due", len(self.deliverables))
                         % {"num": len(self.deliverables)})
        parts.append(_("today is %(day)s") % {"day": self.today_label})
        return "; ".join(parts) + "."


def _review_dates(first: date | None, every_months: int | None, until: date) -> list[date]:
    if first is None:
        return []
    dates = [first]
    if every_months:
        step = relativedelta(months=every_months)
        while len(dates) < 12 and dates[-1] + step <= until:
            dates.append(dates[-1] + step)
    return dates


def timeline(agreement: AgreementRead, today: date) -> Timeline | None:
    """Term from effective_from to ends_on, review dates, deliverables due, today; None without any date.
    Its words are in the language being read (`i18n.reading`).

    Only dates in the range Accord accepts are drawn (`engine.days.usable`): one stored outside
    it (`9999-12-31`, PostgreSQL's `infinity`) would stretch the picture past the calendar."""
    term_start = usable(agreement.term_starts_on) or usable(agreement.effective_from)
    ends_on = usable(agreement.ends_on)
    next_review_on = usable(agreement.next_review_on)
    dues = [(due_on, d) for a in agreement.areas for d in a.deliverables
            if (due_on := usable(d.due_on)) is not None]
    known = [d for d in (term_start, ends_on, next_review_on) if d] + [d for d, _ in dues]
    if not known:
        return None
    start = min([*known, today])
    end = max([*known, today])
    horizon = ends_on or max(end, today) + relativedelta(years=1)
    reviews = _review_dates(next_review_on, agreement.review_every_months,
                            horizon if ends_on else end + relativedelta(months=1))
    end = max([end, *reviews])
    if ends_on is None:
        end = end + timedelta(days=max(30, (end - start).days // 8))
    span = max((end - start).days, 1)
    pad = span * 0.03
    lo, hi = start - timedelta(days=pad), end + timedelta(days=pad)
    total = max((hi - lo).days, 1)

    def x(day: date) -> float:
        return round(LEFT + (day - lo).days / total * (RIGHT - LEFT), 1)

    term = None
    term_label = ""
    if term_start:
        term = (x(term_start), x(ends_on or end))
        term_label = (_("term from %(start)s to %(end)s") % {"start": format_day(term_start),
                                                             "end": format_day(ends_on)}
                      if ends_on else _("term from %(start)s, no end date") % {"start": format_day(term_start)})
    marks = []
    for due_on, deliverable in sorted(dues, key=lambda pair: pair[0]):
        kind = "overdue" if deliverable.overdue else deliverable.status
        marks.append(Mark(x(due_on), due_on, _("%(title)s (%(status)s), due %(day)s") % {
            "title": deliverable.title, "status": _(STATUS_WORDS.get(kind, kind)), "day": format_day(due_on)}, kind))
    ticks = []
    for year in range(lo.year + 1, hi.year + 1):
        tick = date(year, 1, 1)
        if lo < tick < hi:
            ticks.append(Tick(x(tick), str(year)))
    if len(ticks) > 12:
        ticks = ticks[:: len(ticks) // 10 + 1]
    return Timeline(
        start=lo, end=hi, term=term, open_ended=ends_on is None, today=x(today) if lo <= today <= hi
        else None, today_label=format_day(today),
        reviews=[Mark(x(d), d, _("Review on %(day)s") % {"day": format_day(d)}, "review") for d in reviews],
        deliverables=marks, ticks=ticks,
        term_label=term_label,
    )

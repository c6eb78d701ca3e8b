"""The timeline picture of an agreement page, laid out from what `read_agreement` returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from dateutil.relativedelta import relativedelta

from engine.days import usable
from engine.schemas import AgreementRead

# --- the timeline picture ----------------------------------------------------------------------

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
            parts.append("reviews on " + ", ".join(m.on.isoformat() for m in self.reviews))
        if self.deliverables:
            parts.append(f"{len(self.deliverables)} deliverables due")
        parts.append(f"today is {self.today_label}")
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
        term_label = (f"term from {term_start.isoformat()} to {ends_on.isoformat()}" if ends_on
                      else f"term from {term_start.isoformat()}, no end date")
    marks = []
    for due_on, deliverable in sorted(dues, key=lambda pair: pair[0]):
        kind = "overdue" if deliverable.overdue else deliverable.status
        marks.append(Mark(x(due_on), due_on, f"{deliverable.title} ({kind.replace('_', ' ')}), due {due_on}",
                          kind))
    ticks = []
    for year in range(lo.year + 1, hi.year + 1):
        tick = date(year, 1, 1)
        if lo < tick < hi:
            ticks.append(Tick(x(tick), str(year)))
    if len(ticks) > 12:
        ticks = ticks[:: len(ticks) // 10 + 1]
    return Timeline(
        start=lo, end=hi, term=term, open_ended=ends_on is None, today=x(today) if lo <= today <= hi
        else None, today_label=today.isoformat(),
        reviews=[Mark(x(d), d, f"Review on {d}", "review") for d in reviews], deliverables=marks, ticks=ticks,
        term_label=term_label,
    )

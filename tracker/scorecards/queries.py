"""How each agency really answers, from SQL aggregates over the requests of a period.

The figures are read from ``request_figures`` and ``citation_figures`` (see figures.py),
one narrow row per request kept in step with it, through indexes that hold every column
a statement needs: one statement gives, per agency and number of days to the first
determination, the requests, those answered in time, those whose deadline has come, and
those overdue now; one the days to the last release; one the items by state; one the
exemptions cited. No ORM object is loaded, and no request row is read.

Percentiles are nearest-rank: the p-th percentile of n durations, sorted, is the k-th
with k = ceil(p * n / 100), read from a histogram of days the database counts. The
median of 3, 9 and 30 days is 9; of 3, 9, 12 and 30 it is 9, the lower middle, never
an average of two; the 90th percentile of ten durations is the ninth. Each is a number
of days some request really took.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from tracker.agencies.models import Agency
from tracker.extensions import db
from tracker.items.models import ItemState
from tracker.laws import exemption_label
from tracker.scorecards.models import CitationFigures, RequestFigures

# The item states a scorecard shares out, in order; the rest are "still open or withdrawn".
ITEM_OUTCOMES = (ItemState.RELEASED, ItemState.PARTIAL, ItemState.WITHHELD, ItemState.NO_RECORDS)
MOST_CITED = 10


@dataclass(frozen=True)
class Scope:
    """Which requests count: filed (sent, or received when no sent date is known) between
    two dates, by an organization, with a tag; and one agency, for its own page."""

    start: date | None = None
    end: date | None = None
    organization_id: int | None = None
    tag: str = ""
    agency_id: int | None = None

    def conditions(
        self, rows: type[RequestFigures] | type[CitationFigures] = RequestFigures
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [rows.filed_on.is_not(None)]
        if self.start:
            where.append(rows.filed_on >= self.start)
        if self.end:
            where.append(rows.filed_on <= self.end)
        if self.organization_id:
            where.append(rows.organization_id == self.organization_id)
        if self.tag:
            where.append(rows.tags.contains(f",{self.tag.strip().lower()},"))
        if self.agency_id:
            where.append(rows.agency_id == self.agency_id)
        return where


@dataclass(frozen=True)
class Percentiles:
    count: int = 0
    median: int | None = None
    p90: int | None = None


@dataclass
class AgencyFigures:
    agency_id: int
    name: str
    law: str
    filed: int = 0
    first_determination: Percentiles = Percentiles()
    last_release: Percentiles = Percentiles()
    # Requests answered by the deadline, of those whose deadline has come or that were
    # answered: a request still unanswered past its deadline counts as late.
    within_deadline: int = 0
    deadline_judged: int = 0
    overdue: int = 0
    # Items by the states shared out (ITEM_OUTCOMES), and every item in scope.
    items: dict[ItemState, int] = field(default_factory=dict)
    item_total: int = 0

    @property
    def within_share(self) -> float | None:
        return self.within_deadline / self.deadline_judged if self.deadline_judged else None

    def item_share(self, state: ItemState) -> float | None:
        total = self.item_total
        return self.items.get(state, 0) / total if total else None

    @property
    def items_other(self) -> int:
        return self.item_total - sum(self.items.get(state, 0) for state in ITEM_OUTCOMES)


@dataclass(frozen=True)
class Citation:
    law: str
    code: str
    not_an_exemption: bool
    count: int

    @property
    def label(self) -> str:
        if self.not_an_exemption or not self.code:
            return "A reason that is no exemption (flagged)"
        return exemption_label(self.law, self.code)


def nearest_rank(histogram: Sequence[tuple[int, int]], percent: int) -> int | None:
    """The nearest-rank percentile of durations given as (days, how many), days ascending."""
    total = sum(count for _, count in histogram)
    if not total:
        return None
    rank = -(-percent * total // 100)
    seen = 0
    for days, count in histogram:
        seen += count
        if seen >= rank:
            return days
    return histogram[-1][0]


def percentiles(histogram: Sequence[tuple[int, int]]) -> Percentiles:
    ordered = sorted(histogram)
    return Percentiles(
        sum(count for _, count in ordered), nearest_rank(ordered, 50), nearest_rank(ordered, 90)
    )


def figures(scope: Scope, today: date) -> list[AgencyFigures]:
    """Every agency with requests in scope, with its figures, by name.

    The durations come back as a histogram per agency (how many requests took each
    number of days), a few thousand rows at most, from which the percentiles are read
    exactly; the requests themselves never leave the database.
    """
    f = RequestFigures
    judged = and_(f.due_on.is_not(None), or_(f.first_days.is_not(None), f.due_on < today))
    first = (
        select(
            f.agency_id, f.first_days, func.count(), func.sum(f.within),
            func.sum(case((judged, 1), else_=0)),
            func.sum(case((f.open_due_on < today, 1), else_=0)),
        )
        .where(*scope.conditions())
        .group_by(f.agency_id, f.first_days)
    )  # fmt: skip
    found: dict[int, AgencyFigures] = {}
    first_days: dict[int, list[tuple[int, int]]] = {}
    for agency_id, days, requests, within, judged_, overdue in db.session.execute(first):
        figures_ = found.setdefault(agency_id, AgencyFigures(agency_id, name="", law=""))
        figures_.filed += requests
        figures_.within_deadline += within or 0
        figures_.deadline_judged += judged_ or 0
        figures_.overdue += overdue or 0
        if days is not None:
            first_days.setdefault(agency_id, []).append((days, requests))
    release = (
        select(f.agency_id, f.release_days, func.count())
        .where(f.release_days.is_not(None), *scope.conditions())
        .group_by(f.agency_id, f.release_days)
    )
    release_days: dict[int, list[tuple[int, int]]] = {}
    for agency_id, days, requests in db.session.execute(release):
        if days is not None:
            release_days.setdefault(agency_id, []).append((days, requests))
    items = (
        select(
            f.agency_id, func.sum(f.items), func.sum(f.items_released),
            func.sum(f.items_partial), func.sum(f.items_withheld), func.sum(f.items_no_records),
        )
        .where(*scope.conditions())
        .group_by(f.agency_id)
    )  # fmt: skip
    for agency_id, total, *counts in db.session.execute(items):
        figures_ = found[agency_id]
        figures_.items = {state: n or 0 for state, n in zip(ITEM_OUTCOMES, counts, strict=True)}
        figures_.item_total = total or 0
    agencies = db.session.execute(
        select(Agency.id, Agency.name, Agency.short_name, Agency.law).where(
            Agency.id.in_(list(found))
        )
    )
    for agency_id, name, short_name, law in agencies:
        figures_ = found[agency_id]
        figures_.name = f"{name} ({short_name})" if short_name else name
        figures_.law = law
        figures_.first_determination = percentiles(first_days.get(agency_id, []))
        figures_.last_release = percentiles(release_days.get(agency_id, []))
    return sorted(found.values(), key=lambda f: f.name.lower())


def citations(scope: Scope, limit: int = MOST_CITED) -> list[Citation]:
    """The exemptions cited most for withholding items in scope, most cited first."""
    c = CitationFigures
    count = func.sum(c.times)
    statement = (
        select(c.law, c.code, c.flagged, count)
        .where(*scope.conditions(c))
        .group_by(c.law, c.code, c.flagged)
        .order_by(count.desc(), c.law, c.code)
        .limit(limit)
    )
    return [
        Citation(law, code or "", bool(flagged), int(n))
        for law, code, flagged, n in db.session.execute(statement)
    ]


def figures_of(agency: Agency, scope: Scope, today: date) -> AgencyFigures:
    found = figures(scope, today)
    if found:
        return found[0]
    return AgencyFigures(agency_id=agency.id, name=agency.display_name, law=agency.law)

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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select

from tracker.agencies.models import Agency
from tracker.extensions import db
from tracker.items.models import ItemState
from tracker.laws import exemption_label
from tracker.publishing.queries import public_request_ids
from tracker.scorecards.models import CitationFigures, RequestFigures

# The item states a scorecard shares out, in order; the rest are "still open or withdrawn".
ITEM_OUTCOMES = (ItemState.RELEASED, ItemState.PARTIAL, ItemState.WITHHELD, ItemState.NO_RECORDS)
MOST_CITED = 10


@dataclass(frozen=True)
class Scope:
    """Which requests count: filed (sent, or received when no sent date is known) between
    two dates, by an organization, with a tag; and one agency, for its own page. The
    public records room counts only published requests (``published_only``)."""

    start: date | None = None
    end: date | None = None
    organization_id: int | None = None
    tag: str = ""
    agency_id: int | None = None
    published_only: bool = False

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
        if self.published_only:
            where.append(rows.request_id.in_(public_request_ids()))
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


def statements(scope: Scope, today: date, limit: int = MOST_CITED) -> dict[str, Any]:
    """The four statements of a scorecard: per agency and days to the first
    determination, the requests, those answered in time, those whose deadline has come,
    and those overdue now; per agency and days to the last release, the requests; per
    agency, the items by state; and the exemptions cited most."""
    f = RequestFigures
    judged = and_(f.due_on.is_not(None), or_(f.first_days.is_not(None), f.due_on < today))
    return {
        "first": select(
            f.agency_id, f.first_days, func.count(), func.sum(f.within),
            func.sum(case((judged, 1), else_=0)),
            func.sum(case((f.open_due_on < today, 1), else_=0)),
        )
        .where(*scope.conditions())
        .group_by(f.agency_id, f.first_days),
        "release": select(f.agency_id, f.release_days, func.count())
        .where(f.release_days.is_not(None), *scope.conditions())
        .group_by(f.agency_id, f.release_days),
        "items": select(
            f.agency_id, func.sum(f.items), func.sum(f.items_released),
            func.sum(f.items_partial), func.sum(f.items_withheld), func.sum(f.items_no_records),
        )
        .where(*scope.conditions())
        .group_by(f.agency_id),
        "cited": most_cited(scope, limit),
    }  # fmt: skip


def most_cited(scope: Scope, limit: int = MOST_CITED) -> Any:
    c = CitationFigures
    cited = func.sum(c.times)
    return (
        select(c.law, c.code, c.flagged, cited)
        .where(*scope.conditions(c))
        .group_by(c.law, c.code, c.flagged)
        .order_by(cited.desc(), c.law, c.code)
        .limit(limit)
    )


# Which statements run beside the others: two groups of about the same cost.
BESIDE = ("release", "items")


def read_all(wanted: dict[str, Any], together: bool = True) -> dict[str, list[Any]]:
    """Every statement's rows. On a database file or server, half of them are read on a
    second connection in a second thread while the session reads the rest, so a page
    uses both of a machine's cores (each database driver lets go of Python's lock while
    its query runs); an in-memory database has one connection, so it reads them in turn.
    The page holds at most one connection more than it would, which the pool allows for.
    """
    engine = db.engine
    alone = engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")
    beside = {} if alone or not together else {k: wanted[k] for k in BESIDE if k in wanted}

    def read_beside() -> dict[str, list[Any]]:
        with engine.connect() as connection:
            return {key: list(connection.execute(s)) for key, s in beside.items()}

    future = READER.submit(read_beside) if beside else None
    rows = {key: list(db.session.execute(s)) for key, s in wanted.items() if key not in beside}
    if future is not None:
        rows.update(future.result())
    return rows


READER = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scorecard")


def scorecard(
    scope: Scope, today: date, together: bool = True
) -> tuple[list[AgencyFigures], list[Citation]]:
    """Every agency with requests in scope with its figures, by name; and the exemptions
    cited most.

    The durations come back as a histogram per agency (how many requests took each
    number of days), a few thousand rows at most, from which the percentiles are read
    exactly; the requests themselves never leave the database.
    """
    rows = read_all(statements(scope, today), together)
    found: dict[int, AgencyFigures] = {}
    first_days: dict[int, list[tuple[int, int]]] = {}
    for agency_id, days, requests, within, judged_, overdue in rows["first"]:
        figures_ = found.setdefault(agency_id, AgencyFigures(agency_id, name="", law=""))
        figures_.filed += requests
        figures_.within_deadline += within or 0
        figures_.deadline_judged += judged_ or 0
        figures_.overdue += overdue or 0
        if days is not None:
            first_days.setdefault(agency_id, []).append((days, requests))
    release_days: dict[int, list[tuple[int, int]]] = {}
    for agency_id, days, requests in rows["release"]:
        if days is not None:
            release_days.setdefault(agency_id, []).append((days, requests))
    for agency_id, total, *counts in rows["items"]:
        if agency_id in found:
            figures_ = found[agency_id]
            figures_.items = {s: n or 0 for s, n in zip(ITEM_OUTCOMES, counts, strict=True)}
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
    cited = [
        Citation(law, code or "", bool(flagged), int(n)) for law, code, flagged, n in rows["cited"]
    ]
    return sorted(found.values(), key=lambda f: f.name.lower()), cited


def figures(scope: Scope, today: date) -> list[AgencyFigures]:
    return scorecard(scope, today)[0]


def citations(scope: Scope, limit: int = MOST_CITED) -> list[Citation]:
    """The exemptions cited most for withholding items in scope, most cited first."""
    rows = read_all({"cited": most_cited(scope, limit)})
    return [
        Citation(law, code or "", bool(flagged), int(n)) for law, code, flagged, n in rows["cited"]
    ]


def figures_of(agency: Agency, found: list[AgencyFigures]) -> AgencyFigures:
    """The agency's own figures from a scorecard scoped to it, or none when it has none."""
    if found:
        return found[0]
    return AgencyFigures(agency_id=agency.id, name=agency.display_name, law=agency.law)

"""How each agency really answers, from SQL aggregates over the requests of a period.

Every figure comes from a few statements grouped by agency: one pass over the requests
(with their responses folded in per request) gives the counts, the shares within the
deadline, overdue now and the percentiles; one counts items by state; one counts the
exemptions cited. No ORM object is loaded, so a page costs about the same at a hundred
requests or a hundred thousand.

Percentiles are nearest-rank: the p-th percentile of n durations, sorted, is the k-th
with k = ceil(p * n / 100), read from a histogram of days the database counts. The
median of 3, 9 and 30 days is 9; of 3, 9, 12 and 30 it is 9, the lower middle, never
an average of two; the 90th percentile of ten durations is the ninth. Each is a number
of days some request really took.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tracker.agencies.models import Agency
from tracker.deadlines.board import section_condition
from tracker.documents.models import AgencyResponse, ResponseKind
from tracker.extensions import db
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.laws import all_laws
from tracker.requests.models import RecordsRequest, RequestStatus

# The kinds of response that determine a request (as logging a response treats them),
# and those that release records.
DETERMINES = (
    ResponseKind.DETERMINATION,
    ResponseKind.PARTIAL_RELEASE,
    ResponseKind.FULL_RELEASE,
    ResponseKind.DENIAL,
    ResponseKind.NO_RECORDS,
)
RELEASES = (ResponseKind.PARTIAL_RELEASE, ResponseKind.FULL_RELEASE)
# The item states a scorecard shares out, in order; the rest are "still open or withdrawn".
ITEM_OUTCOMES = (ItemState.RELEASED, ItemState.PARTIAL, ItemState.WITHHELD, ItemState.NO_RECORDS)
MOST_CITED = 10


class days_between(FunctionElement[int]):
    """Whole days from the second date to the first, in either database."""

    type = Integer()
    inherit_cache = True


@compiles(days_between)
def _days_between(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"({later} - {earlier})"


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def earliest(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a.is_(None), b), (b.is_(None), a), (a <= b, a), else_=b)


def latest(a: Any, b: Any) -> ColumnElement[Any]:
    return case((a.is_(None), b), (b.is_(None), a), (a >= b, a), else_=b)


@dataclass(frozen=True)
class Scope:
    """Which requests count: filed (sent, or received when no sent date is known) between
    two dates, by an organization, with a tag; and one agency, for its own page."""

    start: date | None = None
    end: date | None = None
    organization_id: int | None = None
    tag: str = ""
    agency_id: int | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        r = RecordsRequest
        filed_on = func.coalesce(r.sent_on, r.received_on)
        where: list[ColumnElement[bool]] = [filed_on.is_not(None)]
        if self.start:
            where.append(filed_on >= self.start)
        if self.end:
            where.append(filed_on <= self.end)
        if self.organization_id:
            where.append(r.organization_id == self.organization_id)
        if self.tag:
            where.append(r.tags.contains(f",{self.tag.strip().lower()},"))
        if self.agency_id:
            where.append(r.agency_id == self.agency_id)
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
    items: dict[ItemState, int] = field(default_factory=dict)

    @property
    def within_share(self) -> float | None:
        return self.within_deadline / self.deadline_judged if self.deadline_judged else None

    @property
    def item_total(self) -> int:
        return sum(self.items.values())

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


def exemption_label(law_id: str, code: str) -> str:
    """The exemption's citation and short name from laws.toml, or its code alone."""
    law = all_laws().get(law_id)
    for entry in getattr(law, "exemptions", None) or ():
        values = {
            key: entry.get(key) if isinstance(entry, dict) else getattr(entry, key, None)
            for key in ("code", "citation", "name")
        }
        if values["code"] == code:
            words = " ".join(str(values[key] or "") for key in ("citation", "name"))
            return words.strip() or code
    return code


def per_request(scope: Scope, today: date) -> Any:
    """One row per request in scope: its agency, the days it took, and its flags."""
    r, response = RecordsRequest, AgencyResponse
    answers = (
        select(
            response.request_id.label("request_id"),
            func.min(case((response.kind.in_(DETERMINES), response.received_on))).label("first"),
            func.max(case((response.kind.in_(RELEASES), response.received_on))).label("last"),
        )
        .where(response.kind.in_(DETERMINES))
        .group_by(response.request_id)
        .subquery("answers")
    )
    start = func.coalesce(r.received_on, r.sent_on)
    first = earliest(r.determination_on, answers.c.first)
    release = latest(answers.c.last, case((r.status == RequestStatus.FULFILLED, r.closed_on)))
    return (
        select(
            r.agency_id.label("agency_id"),
            days_between(first, start).label("first_days"),
            days_between(release, start).label("release_days"),
            case((and_(first.is_not(None), r.due_on.is_not(None), first <= r.due_on), 1), else_=0)
            .label("within"),
            case(
                (and_(r.due_on.is_not(None), or_(first.is_not(None), r.due_on < today)), 1),
                else_=0,
            ).label("judged"),
            case((section_condition("overdue", today), 1), else_=0).label("overdue"),
        )
        .select_from(r)
        .outerjoin(answers, answers.c.request_id == r.id)
        .where(*scope.conditions())
        .cte("durations")
    )  # fmt: skip


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
    d = per_request(scope, today)
    first = select(
        literal(0).label("part"),
        d.c.agency_id,
        d.c.first_days.label("days"),
        func.count().label("requests"),
        func.sum(d.c.within).label("within"),
        func.sum(d.c.judged).label("judged"),
        func.sum(d.c.overdue).label("overdue"),
    ).group_by(d.c.agency_id, d.c.first_days)
    release = (
        select(
            literal(1), d.c.agency_id, d.c.release_days, func.count(), literal(0), literal(0),
            literal(0),
        )
        .where(d.c.release_days.is_not(None))
        .group_by(d.c.agency_id, d.c.release_days)
    )  # fmt: skip
    found: dict[int, AgencyFigures] = {}
    first_days: dict[int, list[tuple[int, int]]] = {}
    release_days: dict[int, list[tuple[int, int]]] = {}
    for part, agency_id, days, requests, within, judged, overdue in db.session.execute(
        union_all(first, release)
    ):
        if agency_id not in found:
            found[agency_id] = AgencyFigures(agency_id=agency_id, name="", law="")
        if part == 1:
            release_days.setdefault(agency_id, []).append((days, requests))
            continue
        figures_ = found[agency_id]
        figures_.filed += requests
        figures_.within_deadline += within or 0
        figures_.deadline_judged += judged or 0
        figures_.overdue += overdue or 0
        if days is not None:
            first_days.setdefault(agency_id, []).append((days, requests))
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
    r = RecordsRequest
    items = (
        select(r.agency_id, RequestItem.state, func.count())
        .join(r, r.id == RequestItem.request_id)
        .where(*scope.conditions())
        .group_by(r.agency_id, RequestItem.state)
    )
    for agency_id, state, count in db.session.execute(items):
        if agency_id in found:
            found[agency_id].items[ItemState(state)] = count
    return sorted(found.values(), key=lambda f: f.name.lower())


def citations(scope: Scope, limit: int = MOST_CITED) -> list[Citation]:
    """The exemptions cited most for withholding items in scope, most cited first."""
    r, c = RecordsRequest, ExemptionCitation
    flagged = c.not_an_exemption | (c.code == "")
    code = case((flagged, ""), else_=c.code)
    count = func.count()
    statement = (
        select(c.law, code, flagged, count)
        .join(ItemAnswer, ItemAnswer.id == c.answer_id)
        .join(RequestItem, RequestItem.id == ItemAnswer.item_id)
        .join(r, r.id == RequestItem.request_id)
        .where(*scope.conditions())
        .group_by(c.law, code, flagged)
        .order_by(count.desc(), c.law, code)
        .limit(limit)
    )
    return [
        Citation(law, code or "", bool(is_flagged), n)
        for law, code, is_flagged, n in db.session.execute(statement)
    ]


def figures_of(agency: Agency, scope: Scope, today: date) -> AgencyFigures:
    found = figures(scope, today)
    if found:
        return found[0]
    return AgencyFigures(agency_id=agency.id, name=agency.display_name, law=agency.law)

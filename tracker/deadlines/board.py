"""The "Due & overdue" board: which requests are in which section, as SQL, and why, in words.

Sections are chosen in the database from the stored, engine-derived ``due_on``
(indexed), so a page costs the same with a hundred requests or a hundred
thousand; the reasons are worked out only for the rows on the page.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.utils import parseaddr
from functools import cache
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select, true
from sqlalchemy.orm import Session, joinedload, selectinload

from tracker.agencies.models import Agency
from tracker.deadlines.calendars import AgencyCalendar
from tracker.deadlines.engine import Deadlines, Standing
from tracker.deadlines.models import AgencyCalendarDay, DayKind
from tracker.deadlines.services import deadlines_for, standing_for
from tracker.extensions import db
from tracker.items import rules as item_rules
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.laws import all_laws
from tracker.requests.models import CLOSED_STATUSES, RecordsRequest, RequestStatus
from tracker.sqltypes import LOCAL_ZONE

if TYPE_CHECKING:
    from tracker.mail.models import Correspondence

DUE_SOON_DAYS = 7
RECENT_DAYS = 14
PAUSED = (RequestStatus.DRAFT, RequestStatus.WAITING_ON_US, *CLOSED_STATUSES)

SECTIONS = {
    "overdue": "Overdue",
    "due_soon": f"Due in the next {DUE_SOON_DAYS} days",
    "past_promised": "Past the promised date",
    "waiting": "Waiting on us",
    "answered": "Recently answered",
}


def section_condition(section: str, today: date) -> ColumnElement[bool]:
    r = RecordsRequest
    if section == "overdue":
        return and_(r.status.not_in(PAUSED), r.determination_on.is_(None), r.due_on < today)
    if section == "due_soon":
        return and_(
            r.status.not_in(PAUSED),
            r.determination_on.is_(None),
            r.due_on >= today,
            r.due_on <= today + timedelta(days=DUE_SOON_DAYS),
        )
    if section == "past_promised":
        return and_(
            r.status.not_in([*PAUSED, RequestStatus.FULFILLED]),
            r.records_promised_on < today,
        )
    if section == "waiting":
        return or_(
            r.status == RequestStatus.WAITING_ON_US, has_unanswered_mail(), fee_awaits_answer()
        )
    if section == "answered":
        return and_(
            r.determination_on.is_not(None),
            r.determination_on >= today - timedelta(days=RECENT_DAYS),
        )
    raise ValueError(f"unknown section {section!r}")


@cache
def fee_awaits_answer() -> ColumnElement[bool]:
    """A fee estimate waits for us to pay, ask a waiver or withdraw (the fees' own rule).
    Built once: its correlated subqueries take longer to build than to run."""
    from tracker.fees.services import estimate_awaits_answer

    return estimate_awaits_answer()


def has_unanswered_mail() -> ColumnElement[bool]:
    """The request has an email in that nobody has answered or settled yet."""
    # Imported here: the mail package's pages import the deadlines' in turn.
    from tracker.mail.models import Correspondence as c

    return exists().where(c.request_id == RecordsRequest.id, c.needs_answer_clause())


SORTS: dict[str, Any] = {
    "due": (RecordsRequest.due_on.asc(), RecordsRequest.id.asc()),
    "-due": (RecordsRequest.due_on.desc(), RecordsRequest.id.desc()),
    "reference": (RecordsRequest.reference.asc(),),
    "-reference": (RecordsRequest.reference.desc(),),
    "promised": (RecordsRequest.records_promised_on.asc(), RecordsRequest.id.asc()),
    "answered": (RecordsRequest.determination_on.desc(), RecordsRequest.id.desc()),
}
DEFAULT_SORT = {
    "overdue": "due",
    "due_soon": "due",
    "past_promised": "promised",
    "waiting": "due",
    "answered": "answered",
}


@dataclass(frozen=True)
class Filters:
    agency_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    organization_id: int | None = None
    status: RequestStatus | None = None
    tag: str = ""
    # Requests with an item in this state; with an item withheld citing this exemption.
    item_state: ItemState | None = None
    exemption: str = ""


def section_query(section: str, today: date, filters: Filters, sort: str = "") -> Select[Any]:
    r = RecordsRequest
    statement = filtered(select(r).where(section_condition(section, today)), filters)
    order = SORTS.get(sort) or SORTS[DEFAULT_SORT[section]]
    return statement.order_by(*order).options(
        joinedload(r.agency), joinedload(r.assignee), selectinload(r.letters)
    )


def section_counts(today: date, filters: Filters) -> dict[str, int]:
    """How many requests each section holds.

    Unfiltered, from the tallies the database keeps by day (a sum over days, whatever the
    number of requests); filtered, in one pass over the requests the filters pick. "Waiting
    on us" is counted from the requests waiting on us by status and from the emails and
    fees that wait for an answer, never by looking into every request's mail and fees.
    """
    if filters == Filters():
        counts = tallied_counts(today)
    else:
        counts = filtered_counts(today, filters)
    counts["waiting"] += waiting_by_mail_or_fee(filters)
    return counts


# Where each tallied section's days lie, against today.
TALLIED = {
    "overdue": ("due", lambda day, today: day < today),
    "due_soon": (
        "due",
        lambda day, today: and_(day >= today, day <= today + timedelta(days=DUE_SOON_DAYS)),
    ),
    "past_promised": ("promised", lambda day, today: day < today),
    "answered": ("answered", lambda day, today: day >= today - timedelta(days=RECENT_DAYS)),
    # By status only, on the one day the database counts them all on.
    "waiting": ("waiting", lambda day, today: true()),
}


def tallied_counts(today: date) -> dict[str, int]:
    from tracker.deadlines.models import BoardTally as t

    columns = [
        func.coalesce(
            func.sum(case((and_(t.kind == kind, days(t.day, today)), t.requests), else_=0)), 0
        ).label(name)
        for name, (kind, days) in TALLIED.items()
    ]
    return dict(db.session.execute(select(*columns)).one()._mapping)


def filtered_counts(today: date, filters: Filters) -> dict[str, int]:
    """The sections' counts, and the requests waiting on us by status, in one pass."""
    r = RecordsRequest
    conditions = {
        **{name: section_condition(name, today) for name in TALLIED if name != "waiting"},
        "waiting": r.status == RequestStatus.WAITING_ON_US,
    }
    columns = [
        func.coalesce(func.sum(case((condition, 1), else_=0)), 0).label(name)
        for name, condition in conditions.items()
    ]
    statement = filtered(select(*columns).select_from(r), filters)
    return dict(db.session.execute(statement).one()._mapping)


def waiting_by_mail_or_fee(filters: Filters) -> int:
    """The requests not waiting on us by status that an email or a fee estimate waits on,
    found from the emails and fees that wait rather than from every request: those an
    email waits on, then those a fee waits on and no email."""
    r = RecordsRequest
    mailed, estimated = waiting_candidates()
    by_mail = (
        select(func.count())
        .select_from(r)
        .where(r.status != RequestStatus.WAITING_ON_US, r.id.in_(mailed))
    )
    by_fee = (
        select(func.count())
        .select_from(r)
        .where(
            r.status != RequestStatus.WAITING_ON_US,
            r.id.in_(estimated),
            r.id.not_in(mailed),
            fee_awaits_answer(),
        )
    )
    both = select(
        filtered(by_mail, filters).scalar_subquery() + filtered(by_fee, filters).scalar_subquery()
    )
    return db.session.scalar(both) or 0


@cache
def waiting_candidates() -> tuple[Select[Any], Select[Any]]:
    """The requests an email waits on, and those with a fee estimate; built once."""
    from tracker.items.models import Fee, FeeKind
    from tracker.mail.models import Correspondence

    mailed = select(Correspondence.request_id).where(
        Correspondence.request_id.is_not(None), Correspondence.needs_answer_clause()
    )
    estimated = select(Fee.request_id).where(Fee.removed_at.is_(None), Fee.kind == FeeKind.ESTIMATE)
    return mailed, estimated


def filtered(statement: Select[Any], filters: Filters) -> Select[Any]:
    r = RecordsRequest
    if filters.agency_id:
        statement = statement.where(r.agency_id == filters.agency_id)
    if filters.unassigned:
        statement = statement.where(r.assignee_id.is_(None))
    elif filters.assignee_id:
        statement = statement.where(r.assignee_id == filters.assignee_id)
    if filters.organization_id:
        statement = statement.where(r.organization_id == filters.organization_id)
    if filters.status:
        statement = statement.where(r.status == filters.status)
    if filters.tag:
        # Untagged requests are left out first: the tagged ones have an index of their own.
        statement = statement.where(
            r.tags != "", r.tags.contains(f",{filters.tag.strip().lower()},")
        )
    if filters.item_state:
        statement = statement.where(
            exists().where(RequestItem.request_id == r.id, RequestItem.state == filters.item_state)
        )
    if filters.exemption:
        statement = statement.where(
            exists()
            .where(RequestItem.request_id == r.id)
            .where(ItemAnswer.item_id == RequestItem.id)
            .where(ExemptionCitation.answer_id == ItemAnswer.id)
            .where(ExemptionCitation.code == filters.exemption)
        )
    return statement


def cited_exemptions(session: Session) -> list[tuple[str, str]]:
    """The exemptions agencies have cited, as (law, code), for the board's filter."""
    rows = session.execute(
        select(ExemptionCitation.law, ExemptionCitation.code)
        .where(ExemptionCitation.code != "")
        .distinct()
        .order_by(ExemptionCitation.law, ExemptionCitation.code)
    )
    return [(law, code) for law, code in rows]


@dataclass(frozen=True)
class Page:
    """One page of a section; the total comes from ``section_counts``, not another count."""

    items: Sequence[RecordsRequest]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1


def section_page(
    section: str, today: date, filters: Filters, sort: str, page: int, per_page: int, total: int
) -> Page:
    page = min(max(page, 1), max(1, -(-total // per_page)))
    statement = section_query(section, today, filters, sort)
    items = (
        db.session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).unique().all()
    )
    return Page(items=items, page=page, per_page=per_page, total=total)


@dataclass(frozen=True)
class Row:
    request: RecordsRequest
    deadlines: Deadlines
    standing: Standing
    # The emails in that need an answer, oldest first.
    unanswered: Sequence["Correspondence"] = ()
    item_states: Sequence[ItemState] = ()
    # "Fee estimate of $120.00 from Nov 3 awaits an answer.", or nothing.
    fee_reason: str = ""

    @property
    def items_reason(self) -> str:
        """ "3 of 5 items open.", for a request of more than one item."""
        still_open, total = item_rules.open_count(self.item_states)
        if total < 2:
            return ""
        return f"{still_open} of {total} items open."

    @property
    def deadline_reason(self) -> str:
        if self.standing.reasons:
            return " ".join(self.standing.reasons)
        if self.standing.days_left is not None:
            days = self.standing.days_left
            due = self.deadlines.due_on
            when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
            return f"Determination due {when} ({due:%b} {due.day})." if due else ""
        answered = self.request.determination_on
        if answered:
            return f"Determination made {answered:%b} {answered.day}."
        return ""

    @property
    def first_unanswered(self) -> "Correspondence | None":
        return self.unanswered[0] if self.unanswered else None

    @property
    def mail_reason(self) -> str:
        first = self.first_unanswered
        if first is None:
            return ""
        day = first.when.astimezone(LOCAL_ZONE).date()
        name, address = parseaddr(first.from_address)
        sender = f"{name} ({address})" if name and address else address or name
        sender = sender or "an unknown sender"
        if len(self.unanswered) == 1:
            return f"An email from {sender} on {day:%b} {day.day} needs an answer."
        return (
            f"{len(self.unanswered)} emails need an answer, the first from {sender} "
            f"on {day:%b} {day.day}."
        )

    @property
    def reason(self) -> str:
        parts = (self.deadline_reason, self.items_reason, self.mail_reason, self.fee_reason)
        return " ".join(part for part in parts if part)


def rows_for(session: Session, requests: Sequence[RecordsRequest], today: date) -> list[Row]:
    """Rows with deadlines and reasons; one query loads every calendar the page needs, one
    every email that waits for an answer, one the fee steps."""
    from tracker.fees.services import waiting_reasons

    calendars = calendars_for(session, {request.agency for request in requests})
    unanswered = unanswered_mail(session, [request.id for request in requests])
    states = item_states(session, [request.id for request in requests])
    fees = waiting_reasons(session, requests)
    rows = []
    for request in requests:
        deadlines = deadlines_for(session, request, calendars[request.agency_id])
        standing = standing_for(request, deadlines, today)
        rows.append(
            Row(
                request,
                deadlines,
                standing,
                unanswered.get(request.id, ()),
                states.get(request.id, ()),
                fees.get(request.id, ""),
            )
        )
    return rows


def item_states(session: Session, request_ids: list[int]) -> dict[int, list[ItemState]]:
    """The states of the items of the requests on a page, in one query."""
    if not request_ids:
        return {}
    found: dict[int, list[ItemState]] = {}
    rows = session.execute(
        select(RequestItem.request_id, RequestItem.state)
        .where(RequestItem.request_id.in_(request_ids))
        .order_by(RequestItem.request_id, RequestItem.position)
    )
    for request_id, state in rows:
        found.setdefault(request_id, []).append(state)
    return found


def unanswered_mail(session: Session, request_ids: list[int]) -> dict[int, list["Correspondence"]]:
    from tracker.mail.models import Correspondence

    if not request_ids:
        return {}
    found: dict[int, list[Correspondence]] = {}
    messages = session.scalars(
        select(Correspondence)
        .where(Correspondence.request_id.in_(request_ids), Correspondence.needs_answer_clause())
        .order_by(
            func.coalesce(Correspondence.sent_at, Correspondence.created_at), Correspondence.id
        )
    )
    for message in messages:
        if message.request_id is not None:
            found.setdefault(message.request_id, []).append(message)
    return found


def calendars_for(session: Session, agencies: set[Agency]) -> dict[int, AgencyCalendar]:
    days = session.scalars(
        select(AgencyCalendarDay).where(AgencyCalendarDay.agency_id.in_([a.id for a in agencies]))
    ).all()
    calendars = {}
    for agency in agencies:
        own = [day for day in days if day.agency_id == agency.id]
        calendars[agency.id] = AgencyCalendar(
            base=all_laws()[agency.law].calendar,
            closures={d.day: d.note or "closed" for d in own if d.kind == DayKind.CLOSED},
            openings={d.day: d.note or "open" for d in own if d.kind == DayKind.OPEN},
        )
    return calendars

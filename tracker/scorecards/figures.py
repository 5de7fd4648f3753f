"""Each request's scorecard figures, worked out from the tables they summarise and
written in the same transaction as the change that moves them.

Whatever a flush writes to a request, a response, an item, an answer or a citation marks
the requests concerned; before the flush ends, their rows of ``request_figures`` and
``citation_figures`` are deleted and worked out again by one INSERT … SELECT each, so a
scorecard never disagrees with the request's page. An UPDATE or DELETE statement that
names one of those tables (rather than objects) first reads which requests it touches.
Rows written past the ORM (a bulk load, a restored backup of an older version) are
brought in step by ``rebuild``, which the migration that made the tables runs too.

The figures that depend on the day (overdue now, and whether a deadline has come) are
not stored: the stored deadline is compared with the day when a scorecard is read.
"""

from collections.abc import Iterable, Sequence
from itertools import chain
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    case,
    delete,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import ORMExecuteState, Session, UOWTransaction
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from tracker.deadlines.board import PAUSED
from tracker.documents.models import AgencyResponse, ResponseKind
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.requests.models import RecordsRequest, RequestStatus
from tracker.scorecards.models import CitationFigures, RequestFigures

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
# Requests refreshed per statement, well under every database's limit of parameters.
CHUNK = 500


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


def filed_on() -> ColumnElement[Any]:
    return func.coalesce(RecordsRequest.sent_on, RecordsRequest.received_on)


def request_rows(ids: Sequence[int] | None) -> Select[Any]:
    """The figures of these requests (of every request for None), as rows to insert."""
    r, response = RecordsRequest, AgencyResponse
    answers = (
        select(
            response.request_id.label("request_id"),
            func.min(case((response.kind.in_(DETERMINES), response.received_on))).label("first"),
            func.max(case((response.kind.in_(RELEASES), response.received_on))).label("last"),
        )
        .where(response.kind.in_(DETERMINES))
        .group_by(response.request_id)
    )
    item = RequestItem

    def counted(state: ItemState) -> Any:
        return func.sum(case((item.state == state, 1), else_=0))

    items = select(
        item.request_id.label("request_id"),
        func.count().label("total"),
        counted(ItemState.RELEASED).label("released"),
        counted(ItemState.PARTIAL).label("partial"),
        counted(ItemState.WITHHELD).label("withheld"),
        counted(ItemState.NO_RECORDS).label("no_records"),
    ).group_by(item.request_id)
    if ids is not None:
        answers = answers.where(response.request_id.in_(ids))
        items = items.where(item.request_id.in_(ids))
    a, i = answers.subquery("answers"), items.subquery("items")
    start = func.coalesce(r.received_on, r.sent_on)
    first = earliest(r.determination_on, a.c.first)
    release = latest(a.c.last, case((r.status == RequestStatus.FULFILLED, r.closed_on)))
    waiting = and_(r.status.not_in(PAUSED), r.determination_on.is_(None))
    statement = (
        select(
            r.id, r.agency_id, r.organization_id, filed_on(), func.coalesce(r.tags, ""),
            days_between(first, start), days_between(release, start),
            case((and_(first.is_not(None), r.due_on.is_not(None), first <= r.due_on), 1),
                 else_=0),
            r.due_on, case((waiting, r.due_on)),
            func.coalesce(i.c.total, 0), func.coalesce(i.c.released, 0),
            func.coalesce(i.c.partial, 0), func.coalesce(i.c.withheld, 0),
            func.coalesce(i.c.no_records, 0),
        )
        .select_from(r)
        .outerjoin(a, a.c.request_id == r.id)
        .outerjoin(i, i.c.request_id == r.id)
    )  # fmt: skip
    return statement if ids is None else statement.where(r.id.in_(ids))


REQUEST_COLUMNS = [
    "request_id", "agency_id", "organization_id", "filed_on", "tags", "first_days",
    "release_days", "within", "due_on", "open_due_on", "items", "items_released",
    "items_partial", "items_withheld", "items_no_records",
]  # fmt: skip


def citation_rows(ids: Sequence[int] | None) -> Select[Any]:
    """How often each exemption was cited against these requests' items."""
    r, c = RecordsRequest, ExemptionCitation
    flagged = c.not_an_exemption | (c.code == "")
    code = case((flagged, ""), else_=c.code)
    statement = (
        select(
            r.id, r.agency_id, r.organization_id, filed_on(), func.coalesce(r.tags, ""), c.law,
            code, flagged, func.count(),
        )
        .select_from(c)
        .join(ItemAnswer, ItemAnswer.id == c.answer_id)
        .join(RequestItem, RequestItem.id == ItemAnswer.item_id)
        .join(r, r.id == RequestItem.request_id)
        .group_by(r.id, r.agency_id, r.organization_id, r.sent_on, r.received_on, r.tags,
                  c.law, code, flagged)
    )  # fmt: skip
    return statement if ids is None else statement.where(r.id.in_(ids))


CITATION_COLUMNS = [
    "request_id", "agency_id", "organization_id", "filed_on", "tags", "law", "code",
    "flagged", "times",
]  # fmt: skip


def refresh(connection: Connection, ids: Iterable[int]) -> None:
    """Work out again the figures of these requests (gone ones lose theirs)."""
    wanted = sorted({int(i) for i in ids if i is not None})
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        if connection.dialect.name != "sqlite":
            # Two transactions refreshing one request take turns: each holds the request's
            # row until it commits, so the second deletes the first's rows before writing
            # its own. FOR NO KEY UPDATE, the lock an UPDATE of the row takes, does not
            # wait for a transaction that only adds a response or an item to the request.
            # (SQLite lets one writer at a time in already.)
            connection.execute(
                select(RecordsRequest.id)
                .where(RecordsRequest.id.in_(chunk))
                .order_by(RecordsRequest.id)
                .with_for_update(key_share=True)
            )
        for model in (RequestFigures, CitationFigures):
            connection.execute(delete(model).where(model.request_id.in_(chunk)))
        connection.execute(insert(RequestFigures).from_select(REQUEST_COLUMNS, request_rows(chunk)))
        connection.execute(
            insert(CitationFigures).from_select(CITATION_COLUMNS, citation_rows(chunk))
        )


def rebuild(connection: Connection) -> int:
    """Every request's figures from scratch; how many requests have them."""
    for model in (RequestFigures, CitationFigures):
        connection.execute(delete(model))
    connection.execute(insert(RequestFigures).from_select(REQUEST_COLUMNS, request_rows(None)))
    connection.execute(insert(CitationFigures).from_select(CITATION_COLUMNS, citation_rows(None)))
    return int(connection.scalar(select(func.count()).select_from(RequestFigures)) or 0)


def requests_of(connection: Connection, objects: Iterable[object]) -> set[int]:
    """The requests that these requests, responses, items, answers and citations are of."""
    ids: set[int] = set()
    items: set[int] = set()
    answers: set[int] = set()
    for obj in objects:
        if isinstance(obj, RecordsRequest):
            ids.add(obj.id)
        elif isinstance(obj, AgencyResponse | RequestItem):
            ids.add(obj.request_id)
        elif isinstance(obj, ItemAnswer):
            items.add(obj.item_id)
        elif isinstance(obj, ExemptionCitation):
            answers.add(obj.answer_id)
    if answers:
        items.update(
            connection.scalars(select(ItemAnswer.item_id).where(ItemAnswer.id.in_(sorted(answers))))
        )
    if items:
        ids.update(
            connection.scalars(
                select(RequestItem.request_id).where(RequestItem.id.in_(sorted(items)))
            )
        )
    return ids


TRACKED = (RecordsRequest, AgencyResponse, RequestItem, ItemAnswer, ExemptionCitation)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    # The lists still hold what this flush wrote, each new object with its id.
    changed = [
        obj
        for obj in chain(session.new, session.dirty, session.deleted)
        if isinstance(obj, TRACKED)
    ]
    if changed:
        connection = session.connection()
        refresh(connection, requests_of(connection, changed))


def touched_by(entity: type, where: Any) -> Select[Any] | None:
    """The requests an UPDATE or DELETE of ``entity`` rows matching ``where`` touches."""
    if entity is RecordsRequest:
        statement = select(RecordsRequest.id)
    elif entity in (AgencyResponse, RequestItem):
        statement = select(entity.request_id)
    elif entity is ItemAnswer:
        statement = select(RequestItem.request_id).join(
            ItemAnswer, ItemAnswer.item_id == RequestItem.id
        )
    elif entity is ExemptionCitation:
        statement = (
            select(RequestItem.request_id)
            .join(ItemAnswer, ItemAnswer.item_id == RequestItem.id)
            .join(ExemptionCitation, ExemptionCitation.answer_id == ItemAnswer.id)
        )
    else:
        return None
    return statement if where is None else statement.where(where)


@event.listens_for(Session, "do_orm_execute")
def _bulk_statement(state: ORMExecuteState) -> Any:
    if not (state.is_update or state.is_delete) or state.bind_mapper is None:
        return None
    touched = touched_by(state.bind_mapper.class_, state.statement.whereclause)  # type: ignore[attr-defined]
    if touched is None:
        return None
    connection = state.session.connection()
    ids = set(connection.scalars(touched))
    result = state.invoke_statement()
    refresh(connection, ids)
    return result

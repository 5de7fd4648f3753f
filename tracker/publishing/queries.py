"""What is public: the one definition every page of the public records room reads through.

A request is public while it has a publication that is not withdrawn. A document is public
when its request is public, it is not deleted, and its own publication is not withdrawn
and not under an embargo that lifts after ``today`` (``local_today()``, which honours
``TRACKER_TODAY``). Everything here is a SQLAlchemy condition or select over those rules;
a page asks for a row by its publication's public key and never by an id or reference,
so nothing outside them can be named from an address.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, joinedload

from tracker.agencies.models import Agency
from tracker.documents.models import Document
from tracker.items.models import RequestItem
from tracker.letters.models import Letter, LetterState
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.requests.models import RecordsRequest
from tracker.sqltypes import LOCAL_ZONE

if TYPE_CHECKING:
    from tracker.series.models import RequestSeries


def request_is_public() -> ColumnElement[bool]:
    return RequestPublication.withdrawn_at.is_(None)


def document_is_public(today: date) -> ColumnElement[bool]:
    """Over DocumentPublication joined to its Document and that document's
    RequestPublication (as ``public_documents`` joins them)."""
    return and_(
        request_is_public(),
        Document.deleted_at.is_(None),
        DocumentPublication.withdrawn_at.is_(None),
        or_(
            DocumentPublication.embargo_until.is_(None),
            DocumentPublication.embargo_until <= today,
        ),
    )


def public_requests() -> Select[RequestPublication]:
    """Published requests, their request and agency loaded with them."""
    return (
        select(RequestPublication)
        .join(RecordsRequest, RecordsRequest.id == RequestPublication.request_id)
        .where(request_is_public())
        .options(joinedload(RequestPublication.request).joinedload(RecordsRequest.agency))
    )


# A public document, with its publication and its request's.
Published = Select[DocumentPublication, Document, RequestPublication]


def public_request_ids() -> Select[int]:
    return select(RequestPublication.request_id).where(request_is_public())


def public_documents(today: date) -> Published:
    return (
        select(DocumentPublication, Document, RequestPublication)
        .join(Document, Document.id == DocumentPublication.document_id)
        .join(RequestPublication, RequestPublication.request_id == Document.request_id)
        .where(document_is_public(today))
        # Each document is listed with its request's title.
        .options(joinedload(RequestPublication.request))
    )


def public_document_ids(today: date) -> Select[int]:
    """The ids of the public documents, for the search engine's own statement."""
    return (
        select(Document.id)
        .join(DocumentPublication, DocumentPublication.document_id == Document.id)
        .join(RequestPublication, RequestPublication.request_id == Document.request_id)
        .where(document_is_public(today))
    )


# A request's page -----------------------------------------------------------------


@dataclass(frozen=True)
class PublicDocument:
    key: str
    title: str
    dated_on: date | None
    document: Document
    request_key: str
    request_title: str
    made_public_at: datetime


@dataclass(frozen=True)
class PublicRequest:
    key: str
    summary: str
    record: RecordsRequest
    items: list[RequestItem]
    letter: Letter | None
    documents: list[PublicDocument]


def listed(session: Session, rows: Published) -> list[PublicDocument]:
    return [
        PublicDocument(
            key=publication.public_key,
            title=document.title or "Untitled document",
            dated_on=document.document_date,
            document=document,
            request_key=request_publication.public_key,
            request_title=request_publication.request.title,
            made_public_at=made_public_at(publication),
        )
        for publication, document, request_publication in session.execute(rows).all()
    ]


def request_documents(session: Session, today: date, request_id: int) -> list[PublicDocument]:
    rows = (
        public_documents(today)
        .where(Document.request_id == request_id)
        .order_by(Document.document_date, Document.id)
    )
    return listed(session, rows)


def letter_as_sent(session: Session, request_id: int) -> Letter | None:
    """The request's own letter once finalized: what the agency was sent, frozen."""
    return session.scalars(
        select(Letter)
        .where(
            Letter.request_id == request_id,
            Letter.kind == "initial",
            Letter.state != LetterState.DRAFT,
        )
        .order_by(Letter.id)
        .limit(1)
    ).first()


def public_request(session: Session, today: date, key: str) -> PublicRequest | None:
    publication = session.scalars(
        public_requests().where(RequestPublication.public_key == key)
    ).first()
    if publication is None:
        return None
    record = publication.request
    items = list(
        session.scalars(
            select(RequestItem)
            .where(RequestItem.request_id == record.id)
            .order_by(RequestItem.position, RequestItem.id)
        )
    )
    return PublicRequest(
        key=publication.public_key,
        summary=publication.summary,
        record=record,
        items=items,
        letter=letter_as_sent(session, record.id),
        documents=request_documents(session, today, record.id),
    )


def public_document(session: Session, today: date, key: str) -> PublicDocument | None:
    found = listed(session, public_documents(today).where(DocumentPublication.public_key == key))
    return found[0] if found else None


def document_keys(session: Session, today: date, document_ids: list[int]) -> dict[int, str]:
    """The public key of each of these documents that is public."""
    if not document_ids:
        return {}
    rows = session.execute(
        select(Document.id, DocumentPublication.public_key)
        .join(DocumentPublication, DocumentPublication.document_id == Document.id)
        .join(RequestPublication, RequestPublication.request_id == Document.request_id)
        .where(document_is_public(today), Document.id.in_(document_ids))
    )
    return {document_id: key for document_id, key in rows}


# The list ---------------------------------------------------------------------------


def document_counts(today: date) -> Select[int, int]:
    """Per request, how many of its documents are public."""
    return (
        select(Document.request_id, func.count(Document.id))
        .join(DocumentPublication, DocumentPublication.document_id == Document.id)
        .join(RequestPublication, RequestPublication.request_id == Document.request_id)
        .where(document_is_public(today))
        .group_by(Document.request_id)
    )


def listing(agency_id: int | None, tag: str) -> Select[RequestPublication]:
    rows = public_requests()
    if agency_id:
        rows = rows.where(RecordsRequest.agency_id == agency_id)
    if tag:
        rows = rows.where(RecordsRequest.tags.contains(f",{tag.strip().lower()},"))
    return rows.order_by(RequestPublication.published_at.desc(), RequestPublication.id.desc())


@dataclass(frozen=True)
class Facets:
    """What the published requests are, by agency and tags: how many of each pair. The
    list's choices of agency and topic, and how many requests each choice lists, all come
    from this one count."""

    groups: list[tuple[int, str, int]]

    @property
    def agency_ids(self) -> set[int]:
        return {agency_id for agency_id, _, _ in self.groups}

    @property
    def tags(self) -> list[str]:
        return sorted({tag for _, tags, _ in self.groups for tag in tags.split(",") if tag})

    def count(self, agency_id: int | None, tag: str) -> int:
        return sum(
            n
            for agency, tags, n in self.groups
            if (not agency_id or agency == agency_id) and (not tag or f",{tag}," in tags)
        )


def facets(session: Session) -> Facets:
    """One grouped count over the published requests. It reads each request's agency and
    tags from the scorecards' row of it (kept with the request in every flush that touches
    it), a row a tenth the width of the request's own."""
    from tracker.scorecards.models import RequestFigures

    rows = session.execute(
        select(RequestFigures.agency_id, RequestFigures.tags, func.count())
        .join(RequestPublication, RequestPublication.request_id == RequestFigures.request_id)
        .where(request_is_public())
        .group_by(RequestFigures.agency_id, RequestFigures.tags)
    )
    return Facets([(agency_id, tags or "", n) for agency_id, tags, n in rows])


def agencies_by_name(session: Session, ids: set[int]) -> list[Agency]:
    if not ids:
        return []
    return list(session.scalars(select(Agency).where(Agency.id.in_(ids)).order_by(Agency.name)))


def has_public_requests(session: Session, agency_id: int) -> bool:
    return (
        session.scalar(
            select(RequestPublication.id)
            .join(RecordsRequest, RecordsRequest.id == RequestPublication.request_id)
            .where(request_is_public(), RecordsRequest.agency_id == agency_id)
            .limit(1)
        )
        is not None
    )


# The feed ---------------------------------------------------------------------------


def made_public_at(publication: DocumentPublication) -> datetime:
    """When a document became public: when published, or the morning its embargo lifted."""
    when = publication.published_at
    if publication.embargo_until is not None:
        lifted = datetime.combine(publication.embargo_until, time(0), LOCAL_ZONE).astimezone(UTC)
        when = max(when, lifted)
    return when


def newly_public(session: Session, today: date, limit: int = 50) -> list[PublicDocument]:
    """The ``limit`` public documents the latest to become public, first.

    A document became public when it was published or, later, when its embargo lifted.
    Whichever of the two it is, a document among the latest ``limit`` is among the latest
    ``limit`` by that moment alone: so the newest by publication and the newest by the
    embargo's day, each read down an index, hold every one, and only they are sorted.
    """
    by_published = public_documents(today).order_by(
        DocumentPublication.published_at.desc(), DocumentPublication.public_key.desc()
    )
    by_lifted = (
        public_documents(today)
        .where(DocumentPublication.embargo_until.is_not(None))
        .order_by(DocumentPublication.embargo_until.desc(), DocumentPublication.public_key.desc())
    )
    found = {
        document.key: document
        for rows in (by_published, by_lifted)
        for document in listed(session, rows.limit(limit))
    }
    return sorted(found.values(), key=lambda d: (d.made_public_at, d.key), reverse=True)[:limit]


# A series of requests that repeat ----------------------------------------------------


@dataclass(frozen=True)
class PublicPeriod:
    label: str
    ended: bool
    # The period's request, when it is public: its key and the record.
    request_key: str
    record: RecordsRequest | None
    documents: int
    # The period's report, when it is one of the public documents; else whether it is
    # still owed (the period ended, no report marked) or held back.
    report: PublicDocument | None
    report_owed: bool


@dataclass(frozen=True)
class PublicSeries:
    key: str
    series: "RequestSeries"
    periods: list[PublicPeriod]
    # The request the series repeats, when it is public itself.
    source_key: str


def published_series(session: Session) -> list["RequestSeries"]:
    """The series staff published, for the room's front page."""
    from tracker.series.models import RequestSeries

    return list(
        session.scalars(
            select(RequestSeries)
            .where(RequestSeries.published_at.is_not(None), RequestSeries.withdrawn_at.is_(None))
            .order_by(RequestSeries.published_at.desc())
        )
    )


def public_series(session: Session, today: date, key: str) -> PublicSeries | None:
    """A series staff published as one page: each period, with its request and report
    only where those are public themselves."""
    from tracker.series.models import RequestSeries, SeriesPeriod
    from tracker.series.periods import period_label

    series = session.scalars(
        select(RequestSeries).where(
            RequestSeries.public_key == key,
            RequestSeries.published_at.is_not(None),
            RequestSeries.withdrawn_at.is_(None),
        )
    ).one_or_none()
    if series is None:
        return None
    periods = list(
        session.scalars(
            select(SeriesPeriod)
            .where(SeriesPeriod.series_id == series.id)
            .order_by(SeriesPeriod.start_on)
        )
    )
    request_ids = [period.request_id for period in periods if period.request_id is not None]
    request_ids.append(series.source_request_id)
    keys = dict(
        session.execute(
            public_requests()
            .with_only_columns(RequestPublication.request_id, RequestPublication.public_key)
            .where(RequestPublication.request_id.in_(request_ids))
        ).all()
    )
    counts = dict(
        session.execute(document_counts(today).where(Document.request_id.in_(list(keys)))).all()
    )
    report_ids = [p.report_document_id for p in periods if p.report_document_id is not None]
    reports = {
        document.document.id: document
        for document in listed(session, public_documents(today).where(Document.id.in_(report_ids)))
    }
    shown = [
        PublicPeriod(
            label=period_label(period.start_on, period.end_on),
            ended=period.end_on < today,
            request_key=keys.get(period.request_id, "") if period.request_id else "",
            record=period.request if period.request_id in keys else None,
            documents=counts.get(period.request_id, 0) if period.request_id else 0,
            report=reports.get(period.report_document_id or 0),
            report_owed=bool(series.report_name)
            and period.end_on < today
            and period.report_document_id is None,
        )
        for period in periods
    ]
    return PublicSeries(
        key=series.public_key,
        series=series,
        periods=shown,
        source_key=keys.get(series.source_request_id, ""),
    )

"""Publishing a request and its documents, withdrawing them, and lifting embargoes.

Each action is a row kept per request or per document (published again, the same row
and its public key come back) and an entry on the request's timeline with who and when.
Services flush; the view or the command commits.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update

from tracker.auth.models import User
from tracker.documents.models import Document
from tracker.extensions import db
from tracker.inputs import spelled
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus
from tracker.sqltypes import LOCAL_ZONE, utcnow

EVENT_KIND = "publishing"
REASON_MOST = 2000
SUMMARY_MOST = 4000


class PublishError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def record_event(record: RecordsRequest, actor: User | None, note: str) -> None:
    record.events.append(RequestEvent(actor=actor, kind=EVENT_KIND, note=note))


def publication_of(record: RecordsRequest) -> RequestPublication | None:
    return db.session.scalar(
        select(RequestPublication).where(RequestPublication.request_id == record.id)
    )


def document_publication_of(document: Document) -> DocumentPublication | None:
    return db.session.scalar(
        select(DocumentPublication).where(DocumentPublication.document_id == document.id)
    )


def is_published(publication: RequestPublication | None) -> bool:
    return publication is not None and publication.withdrawn_at is None


def day_of(moment: datetime) -> date:
    return moment.astimezone(LOCAL_ZONE).date()


# A request -----------------------------------------------------------------------------


def publish_request(record: RecordsRequest, summary: str, actor: User) -> RequestPublication:
    """Publish the request, publish it again after a withdrawal, or change its summary."""
    summary = summary.replace("\r\n", "\n").strip()
    if record.status == RequestStatus.DRAFT:
        raise PublishError("summary", "A draft is not published: send the request first.")
    if len(summary) > SUMMARY_MOST:
        raise PublishError("summary", f"Keep the summary under {SUMMARY_MOST:,} characters.")
    publication = publication_of(record)
    if publication is None:
        publication = RequestPublication(request_id=record.id, summary=summary)
        publication.published_by_id = actor.id
        db.session.add(publication)
        record_event(record, actor, "Published the request in the public records room.")
    elif publication.withdrawn_at is not None:
        publication.published_at = utcnow()
        publication.published_by_id = actor.id
        publication.withdrawn_at = None
        publication.withdrawn_by_id = None
        publication.withdraw_reason = ""
        publication.summary = summary
        back = returning_documents(record)
        note = "Published the request in the public records room again, at its old address."
        if back:
            titles = ", ".join(f"“{title}”" for title in back)
            note += f" Documents published before are public again: {titles}."
        record_event(record, actor, note)
    elif publication.summary != summary:
        record.events.append(
            RequestEvent(
                actor=actor,
                kind=EVENT_KIND,
                changes=[{"field": "Public summary", "old": publication.summary, "new": summary}],
            )
        )
        publication.summary = summary
    db.session.flush()
    return publication


def returning_documents(record: RecordsRequest) -> list[str]:
    """The titles of the documents still published (not withdrawn) on a withdrawn request."""
    return list(
        db.session.scalars(
            select(Document.title)
            .join(DocumentPublication, DocumentPublication.document_id == Document.id)
            .where(
                Document.request_id == record.id,
                Document.deleted_at.is_(None),
                DocumentPublication.withdrawn_at.is_(None),
            )
            .order_by(Document.id)
        )
    )


def withdraw_request(record: RecordsRequest, reason: str, actor: User) -> RequestPublication:
    """Take the request (and so all its documents) out of the public room, saying why."""
    reason = reason.strip()
    if not reason:
        raise PublishError("reason", "Say why the request is withdrawn from the public room.")
    publication = publication_of(record)
    if publication is None or publication.withdrawn_at is not None:
        raise PublishError("reason", "This request is not in the public room.")
    publication.withdrawn_at = utcnow()
    publication.withdrawn_by_id = actor.id
    publication.withdraw_reason = reason
    record_event(
        record,
        actor,
        "Withdrew the request from the public records room; none of its documents are "
        f"public while it is withdrawn. Reason: {reason}",
    )
    db.session.flush()
    return publication


# A document ----------------------------------------------------------------------------


def publish_document(
    document: Document, actor: User, embargo_until: date | None, findings_seen: int, today: date
) -> DocumentPublication:
    """Publish the document now or from a later day; published again, its row comes back."""
    record = db.session.get_one(RecordsRequest, document.request_id)
    if not is_published(publication_of(record)):
        raise PublishError("when", "Publish the request first: its documents follow it.")
    if embargo_until is not None and embargo_until <= today:
        raise PublishError("embargo_until", f"Choose a day after today ({spelled(today)}).")
    publication = document_publication_of(document)
    if publication is None:
        publication = DocumentPublication(document_id=document.id)
        db.session.add(publication)
    elif publication.withdrawn_at is None:
        raise PublishError("when", "This document is published already.")
    publication.published_at = utcnow()
    publication.published_by_id = actor.id
    publication.embargo_until = embargo_until
    publication.embargo_lifted_at = None
    publication.withdrawn_at = None
    publication.withdrawn_by_id = None
    publication.withdraw_reason = ""
    publication.findings_seen = findings_seen
    if embargo_until is None:
        note = f"Published “{document.title}” in the public records room."
    else:
        note = f"Published “{document.title}” under embargo: public from {spelled(embargo_until)}."
    if findings_seen:
        note += f" Reviewed {findings_seen} passage{'s' if findings_seen != 1 else ''} "
        note += "that looked personal."
    record_event(record, actor, note)
    db.session.flush()
    return publication


def unpublish_document(document: Document, reason: str, actor: User) -> DocumentPublication:
    reason = reason.strip()
    if not reason:
        raise PublishError("reason", "Say why the document is unpublished.")
    publication = document_publication_of(document)
    if publication is None or publication.withdrawn_at is not None:
        raise PublishError("reason", "This document is not published.")
    publication.withdrawn_at = utcnow()
    publication.withdrawn_by_id = actor.id
    publication.withdraw_reason = reason
    record = db.session.get_one(RecordsRequest, document.request_id)
    record_event(
        record, actor, f"Unpublished “{document.title}” from the public records room: {reason}"
    )
    db.session.flush()
    return publication


# What the request's page shows ---------------------------------------------------------


@dataclass(frozen=True)
class DocumentState:
    document: Document
    publication: DocumentPublication | None
    # "Not public", "Public since …", "Embargoed until …", "Withdrawn on … (reason)".
    label: str
    # Published and not withdrawn (public now or under embargo): "Unpublish" is offered.
    published: bool
    # Published and past any embargo: public whenever its request is.
    public_now: bool


def document_label(publication: DocumentPublication | None, today: date) -> str:
    if publication is None:
        return "Not public"
    if publication.withdrawn_at is not None:
        reason = publication.withdraw_reason
        return f"Withdrawn on {spelled(day_of(publication.withdrawn_at))} ({reason})"
    if publication.embargo_until is not None and publication.embargo_until > today:
        return f"Embargoed until {spelled(publication.embargo_until)}"
    since = publication.embargo_until or day_of(publication.published_at)
    return f"Public since {spelled(since)}"


def document_states(record: RecordsRequest, today: date) -> list[DocumentState]:
    documents: Sequence[Document] = db.session.scalars(
        select(Document)
        .where(Document.request_id == record.id, Document.deleted_at.is_(None))
        .order_by(Document.id)
    ).all()
    publications = {
        publication.document_id: publication
        for publication in db.session.scalars(
            select(DocumentPublication).where(
                DocumentPublication.document_id.in_([d.id for d in documents])
            )
        )
    }
    states = []
    for document in documents:
        publication = publications.get(document.id)
        states.append(
            DocumentState(
                document=document,
                publication=publication,
                label=document_label(publication, today),
                published=publication is not None and publication.withdrawn_at is None,
                public_now=publication is not None and publication.is_public(today),
            )
        )
    return states


# The daily job -------------------------------------------------------------------------


def lift_embargoes(today: date) -> str:
    """Note on each request's timeline the documents whose embargo ends by today.

    Whether a document is public never waits for this: the public pages compare its
    embargo with today. Each lift is claimed by a conditional update, so two runs at
    once (the worker and ``tracker publishing lift-embargoes``) write one note.
    """
    due = db.session.execute(
        select(DocumentPublication.id, DocumentPublication.embargo_until, Document.id)
        .join(Document, Document.id == DocumentPublication.document_id)
        .join(RequestPublication, RequestPublication.request_id == Document.request_id)
        .where(
            DocumentPublication.embargo_until <= today,
            DocumentPublication.embargo_lifted_at.is_(None),
            DocumentPublication.withdrawn_at.is_(None),
            RequestPublication.withdrawn_at.is_(None),
            Document.deleted_at.is_(None),
        )
        .order_by(DocumentPublication.embargo_until, DocumentPublication.id)
    ).all()
    lifted = []
    for publication_id, embargo_until, document_id in due:
        if embargo_until is None:  # the query's own condition: for the type checker
            continue
        claimed = db.session.execute(
            update(DocumentPublication)
            .where(
                DocumentPublication.id == publication_id,
                DocumentPublication.embargo_lifted_at.is_(None),
            )
            .values(embargo_lifted_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        document = db.session.get_one(Document, document_id)
        record = db.session.get_one(RecordsRequest, document.request_id)
        record_event(
            record,
            None,
            f"Embargo lifted: {document.title} is public from {spelled(embargo_until)}.",
        )
        lifted.append(document.title)
    db.session.flush()
    if not lifted:
        return "No embargo to lift."
    titles = "; ".join(lifted)
    return f"Lifted {len(lifted)} embargo{'es' if len(lifted) != 1 else ''}: {titles}."

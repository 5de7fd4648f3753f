"""Staff publish a request and its documents in the public records room, and take them out."""

from dataclasses import dataclass

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.auth.models import Role, User
from tracker.documents.models import Document, TextState
from tracker.extensions import db
from tracker.letters.services import local_today
from tracker.publishing.forms import (
    EMBARGO,
    PublishDocumentForm,
    PublishRequestForm,
    UnpublishDocumentForm,
    WithdrawRequestForm,
)
from tracker.publishing.links import public_document_path, public_request_path
from tracker.publishing.models import RequestPublication
from tracker.publishing.scan import MOST, Finding, scan
from tracker.publishing.services import (
    DocumentState,
    PublishError,
    document_publication_of,
    document_states,
    is_published,
    publication_of,
    publish_document,
    publish_request,
    unpublish_document,
    withdraw_request,
)
from tracker.requests.forms import NoteForm
from tracker.requests.models import RecordsRequest, RequestStatus
from tracker.requests.routes import get_request_or_404, render_request_page
from tracker.security import roles_required

bp = Blueprint("publishing", __name__)

MANAGERS = (Role.ADMIN, Role.STAFF)
SECTION = "public-room"
CONFIRM_FOUND = "I have read what was found and the document may be published"
CONFIRM_UNREAD = "I have read the document myself and it may be published"


def may_publish(user: User) -> bool:
    return bool(user.is_authenticated and user.role in MANAGERS)


@dataclass(frozen=True)
class RoomSection:
    """The "Public records room" section of a request's page, for staff and admins."""

    publication: RequestPublication | None
    published: bool
    # Only a request that has been sent is published.
    publishable: bool
    public_path: str
    documents: list[DocumentState]
    publish_form: PublishRequestForm
    withdraw_form: WithdrawRequestForm

    def document_path(self, state: DocumentState) -> str:
        return public_document_path(state.publication.public_key) if state.publication else ""


def room_section(
    record: RecordsRequest,
    publish_form: PublishRequestForm | None = None,
    withdraw_form: WithdrawRequestForm | None = None,
) -> RoomSection:
    publication = publication_of(record)
    published = is_published(publication)
    if publish_form is None:
        summary = publication.summary if publication else ""
        publish_form = PublishRequestForm(formdata=None, data={"summary": summary})
    if published:
        publish_form.submit.label.text = "Save the public summary"
    elif publication is not None:
        publish_form.submit.label.text = "Publish this request again"
    return RoomSection(
        publication=publication,
        published=published,
        publishable=record.status != RequestStatus.DRAFT,
        public_path=public_request_path(publication.public_key) if publication else "",
        documents=document_states(record, local_today()),
        publish_form=publish_form,
        withdraw_form=withdraw_form or WithdrawRequestForm(formdata=None),
    )


def back_to_section(record: RecordsRequest) -> Response:
    return redirect(url_for("requests.show_request", reference=record.reference, _anchor=SECTION))


@bp.post("/requests/<reference>/publication")
@roles_required(*MANAGERS)
def publish(reference: str) -> Response | str:
    record = get_request_or_404(reference)
    if record.status == RequestStatus.DRAFT:
        flash("A draft is not published: send the request first.", "error")
        return back_to_section(record)
    form = PublishRequestForm()
    if form.validate_on_submit():
        was_published = is_published(publication_of(record))
        try:
            publish_request(record, form.summary.data or "", current_user)
        except PublishError as error:
            db.session.rollback()
            form.summary.errors = [*form.summary.errors, str(error)]
        else:
            db.session.commit()
            flash(
                "Public summary saved."
                if was_published
                else "Published in the public records room.",
                "success",
            )
            return back_to_section(record)
    return render_request_page(record, NoteForm(), publish_form=form)


@bp.post("/requests/<reference>/publication/withdraw")
@roles_required(*MANAGERS)
def withdraw(reference: str) -> Response | str:
    record = get_request_or_404(reference)
    if not is_published(publication_of(record)):
        flash("This request is not in the public room.", "info")
        return back_to_section(record)
    form = WithdrawRequestForm()
    if form.validate_on_submit():
        try:
            withdraw_request(record, form.reason.data or "", current_user)
        except PublishError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, str(error)]
        else:
            db.session.commit()
            flash("Withdrawn from the public records room; the timeline keeps why.", "success")
            return back_to_section(record)
    return render_request_page(record, NoteForm(), withdraw_form=form)


def get_document_or_404(document_id: int) -> tuple[Document, RecordsRequest]:
    document = db.get_or_404(Document, document_id)
    if document.deleted_at is not None:
        abort(404)
    return document, db.get_or_404(RecordsRequest, document.request_id)


def text_problem(document: Document) -> str:
    """Why the scan could not look at the document's words, or "" when it could."""
    if document.text_state == TextState.PENDING:
        return (
            "The tracker has not read this document's text yet, so nothing in it could be "
            "checked. Read the document yourself before publishing it, or come back once its "
            "text is read."
        )
    if document.text_state == TextState.FAILED:
        return (
            "The tracker could not read this document's text, so nothing in it could be "
            "checked. Read the document yourself before publishing it."
        )
    if not document.text.strip():
        return (
            "This document has no text the tracker could read (a scan may need OCR), so "
            "nothing in it could be checked. Read the document yourself before publishing it."
        )
    return ""


@bp.route("/documents/<int:document_id>/publication", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def review(document_id: int) -> Response | str:
    """What the document's text holds that looks personal; then publish it, now or later."""
    document, record = get_document_or_404(document_id)
    publication = document_publication_of(document)
    request_published = is_published(publication_of(record))
    already = publication is not None and publication.withdrawn_at is None
    problem = text_problem(document)
    findings: list[Finding] = [] if problem else scan(document.text)
    form = PublishDocumentForm(confirm_needed=bool(findings or problem))
    form.confirm.label.text = CONFIRM_UNREAD if problem else CONFIRM_FOUND
    if form.is_submitted() and (already or not request_published):
        flash(
            "This document is published already."
            if already
            else "Publish the request first: its documents follow it.",
            "error",
        )
        return redirect(url_for("publishing.review", document_id=document.id))
    if form.validate_on_submit():
        embargo = form.embargo_until.data if form.when.data == EMBARGO else None
        try:
            publish_document(document, current_user, embargo, len(findings), local_today())
        except PublishError as error:
            db.session.rollback()
            field = getattr(form, error.field)
            field.errors = [*field.errors, str(error)]
        else:
            db.session.commit()
            flash(
                f"“{document.title}” is public."
                if embargo is None
                else f"“{document.title}” will be public from {embargo:%B} {embargo.day}.",
                "success",
            )
            return back_to_section(record)
    return render_template(
        "publishing/review.html",
        document=document,
        record=record,
        publication=publication,
        already=already,
        request_published=request_published,
        problem=problem,
        findings=findings,
        capped=len(findings) >= MOST,
        form=form,
        state=document_states_of(record, document),
        public_path=public_document_path(publication.public_key) if already and publication else "",
    )


def document_states_of(record: RecordsRequest, document: Document) -> DocumentState | None:
    return next((s for s in document_states(record, local_today()) if s.document == document), None)


@bp.route("/documents/<int:document_id>/publication/withdraw", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def unpublish(document_id: int) -> Response | str:
    document, record = get_document_or_404(document_id)
    publication = document_publication_of(document)
    if publication is None or publication.withdrawn_at is not None:
        flash(f"“{document.title}” is not published.", "info")
        return back_to_section(record)
    form = UnpublishDocumentForm()
    if form.validate_on_submit():
        try:
            unpublish_document(document, form.reason.data or "", current_user)
        except PublishError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, str(error)]
        else:
            db.session.commit()
            flash(f"“{document.title}” is no longer public; the timeline keeps why.", "success")
            return back_to_section(record)
    return render_template(
        "publishing/unpublish.html",
        document=document,
        record=record,
        state=document_states_of(record, document),
        form=form,
    )

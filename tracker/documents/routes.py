import csv
import io
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from tracker.auth.models import Role
from tracker.documents import bp
from tracker.documents.filetypes import safe_filename
from tracker.documents.forms import (
    UPLOAD_ERROR,
    DeleteForm,
    DocumentForm,
    ItemRow,
    ItemsForm,
    ResponseForm,
    UploadForm,
    response_form,
    with_items,
)
from tracker.documents.models import (
    AgencyResponse,
    Document,
    ResponseChannel,
    ResponseKind,
    TextState,
)
from tracker.documents.services import (
    FileMissing,
    ItemAnswerInput,
    UploadResult,
    answer_logged_response,
    delete_document,
    log_response,
    read_chunks,
    request_items,
    store_files,
    unanswered_items,
)
from tracker.errors import render_error
from tracker.extensions import db
from tracker.items.models import RequestItem, document_items
from tracker.laws import all_laws
from tracker.limits import accepts_uploads
from tracker.requests.models import RecordsRequest, RequestEvent
from tracker.requests.services import can_edit, find_by_reference
from tracker.security import roles_required
from tracker.text import spreadsheet_safe

EDITORS = (Role.ADMIN, Role.STAFF, Role.ADVOCATE)
INLINE = ("application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp")


def get_request_or_404(reference: str) -> RecordsRequest:
    record = find_by_reference(reference)
    if record is None:
        abort(404)
    return record


def editable(reference: str) -> RecordsRequest:
    record = get_request_or_404(reference)
    if not can_edit(current_user, record):
        abort(403)
    return record


def get_document_or_404(document_id: int) -> Document:
    document = db.get_or_404(Document, document_id)
    if document.deleted_at is not None:
        abort(404)
    return document


@bp.errorhandler(FileMissing)
def file_missing(error: FileMissing) -> tuple[str, int]:
    document = error.document
    current_app.logger.error(
        "the file of document %s (request %s, key %s) is missing from storage",
        document.id, document.request_id, document.storage_key,
    )  # fmt: skip
    return render_error(410)


def uploaded_files() -> list[tuple[str | None, IO[bytes]]]:
    return [(f.filename, f.stream) for f in request.files.getlist("files") if f and f.filename]


def report(result: UploadResult) -> str:
    """Say what became of each file; the anchor of the request page to show next."""
    if result.stored:
        flash(f"Stored {len(result.stored)} file(s).", "success")
    for document in result.linked:
        flash(
            f"“{document.original_filename}” was already stored for this request; linked.", "info"
        )
    for name, reason in result.refused:
        flash(f"Not stored: “{name}”. {reason}", UPLOAD_ERROR)
    return "add-files" if result.refused else "documents"


def choose_again(form: ResponseForm) -> None:
    """A page shown again has lost the chosen files: say so at their field, by name."""
    names = [safe_filename(name) for name, _ in uploaded_files()]
    if names:
        shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
        form.files.errors.append(
            f"Choose the file(s) again: {shown}. Nothing was saved, and a browser cannot keep "
            "chosen files when it shows the page again."
        )


@bp.route("/requests/<reference>/responses/new", methods=["GET", "POST"])
@accepts_uploads()
@roles_required(*EDITORS)
def new_response(reference: str) -> BaseResponse | str:
    record = editable(reference)
    law = all_laws()[record.agency.law]
    form = response_form(request_items(record), law)
    if request.method == "GET":
        form.agency_tracking_number.data = record.agency_tracking_number
    if form.validate_on_submit():
        response = AgencyResponse(
            kind=ResponseKind(form.kind.data),
            received_on=form.received_on.data,
            channel=ResponseChannel(form.channel.data),
            agency_tracking_number=(form.agency_tracking_number.data or "").strip(),
            summary=(form.summary.data or "").strip(),
            exemptions=(form.exemptions.data or "").strip(),
            installment=bool(form.installment.data),
            next_promised_on=form.next_promised_on.data,
        )
        answers = item_answers(form.item_rows)
        result = log_response(
            record, response, uploaded_files(), current_user, answers, form.fee_amount.amount
        )
        db.session.commit()
        flash(f"Logged the {response.kind.label.lower()}.", "success")
        flash_flags(answers)
        anchor = report(result)
        return redirect(url_for("requests.show_request", reference=reference, _anchor=anchor))
    if form.is_submitted():
        choose_again(form)
    return render_template("documents/response.html", form=form, record=record, law=law)


def item_answers(rows: list[ItemRow]) -> list[ItemAnswerInput]:
    """What the form says of each item it answers; items left "not answered" are not."""
    return [
        ItemAnswerInput(
            item=row.item,
            outcome=row.state,
            exemption_codes=list(row.exemptions.data or []),
            reason=row.reason.data or "",
        )
        for row in rows
        if row.state is not None
    ]


def flash_flags(answers: list[ItemAnswerInput]) -> None:
    """Each reason that is no exemption, where the person who logged it is looking."""
    for given in answers:
        for flag in given.flags:
            flash(flag, "error")


@bp.route("/requests/<reference>/responses/<int:response_id>/items", methods=["GET", "POST"])
@roles_required(*EDITORS)
def answer_items(reference: str, response_id: int) -> BaseResponse | str:
    """Say which items a response logged earlier answers: one confirmed from an email."""
    record = editable(reference)
    response = db.get_or_404(AgencyResponse, response_id)
    if response.request_id != record.id:
        abort(404)
    law = all_laws()[record.agency.law]
    form = with_items(ItemsForm, unanswered_items(response), law)
    if form.validate_on_submit():
        answers = item_answers(form.item_rows)
        answer_logged_response(record, response, answers, current_user)
        db.session.commit()
        flash(
            f"Saved what the {response.kind.label.lower()} says of {len(answers)} item(s)."
            if answers
            else "No item was answered; nothing changed.",
            "success",
        )
        flash_flags(answers)
        return redirect(url_for("requests.show_request", reference=reference))
    return render_template(
        "documents/response_items.html", form=form, record=record, response=response, law=law
    )


@bp.post("/requests/<reference>/documents")
@accepts_uploads()
@roles_required(*EDITORS)
def upload(reference: str) -> BaseResponse:
    record = editable(reference)
    form = UploadForm()
    if not form.validate_on_submit():
        flash("Choose one or more files to upload.", UPLOAD_ERROR)
        anchor = "add-files"
    else:
        result = store_files(record, uploaded_files(), current_user)
        db.session.commit()
        anchor = report(result)
    return redirect(url_for("requests.show_request", reference=reference, _anchor=anchor))


def stream_document(document: Document, inline: bool, filename: str | None = None) -> Response:
    """The stored file, under the name it came with unless ``filename`` is given."""
    disposition = "inline" if inline else "attachment"
    response = Response(read_chunks(document), mimetype=document.media_type)
    response.headers["Content-Length"] = str(document.size)
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename*=UTF-8''{quote_name(filename or document.original_filename)}"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; frame-ancestors 'none'; sandbox"
    )
    return response


def quote_name(name: str) -> str:
    from urllib.parse import quote

    return quote(name, safe="")


@bp.get("/documents/<int:document_id>/download")
def download(document_id: int) -> Response:
    return stream_document(get_document_or_404(document_id), inline=False)


@bp.get("/documents/<int:document_id>/text-status")
def text_status(document_id: int) -> dict[str, str]:
    """Where reading the document's text stands, for the pages that wait on it."""
    document = get_document_or_404(document_id)
    if document.text_state == TextState.PENDING:
        return {"state": "pending", "message": "Reading text…"}
    if document.text_state == TextState.FAILED:
        return {"state": "failed", "message": f"text not read: {document.text_error}"}
    pages = f", {document.page_count} page{'s' if document.page_count != 1 else ''}"
    return {
        "state": "done",
        "message": "needs OCR" if document.needs_ocr else
        f"text read{pages if document.page_count else ''}, ready to search",
    }  # fmt: skip


@bp.get("/documents/<int:document_id>/view")
def view(document_id: int) -> Response:
    document = get_document_or_404(document_id)
    if document.media_type not in INLINE:
        abort(404)
    response = stream_document(document, inline=True)
    # Shown inside the document page's sandboxed frame, and nowhere else.
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; frame-ancestors 'self'; sandbox"
    )
    return response


@bp.route("/documents/<int:document_id>", methods=["GET", "POST"])
def show(document_id: int) -> BaseResponse | str:
    document = get_document_or_404(document_id)
    record = db.get_or_404(RecordsRequest, document.request_id)
    may_edit = can_edit(current_user, record)
    form = DocumentForm(obj=document)
    if request.method == "POST":
        if not may_edit:
            abort(403)
        if form.validate_on_submit():
            changes = []
            for field in ("title", "document_date", "disposition", "public"):
                new = getattr(form, field).data
                if field == "disposition":
                    new = type(document.disposition)(new)
                if getattr(document, field) != new:
                    changes.append(field.replace("_", " "))
                    setattr(document, field, new)
            if changes:
                record.events.append(
                    _event(f"Changed the {', '.join(changes)} of “{document.title}”.")
                )
            db.session.commit()
            flash("Saved." if changes else "Nothing was changed.", "success")
            return redirect(url_for("documents.show", document_id=document.id))
    answers = db.session.scalars(
        select(RequestItem)
        .join(document_items, document_items.c.item_id == RequestItem.id)
        .where(document_items.c.document_id == document.id)
        .order_by(RequestItem.position, RequestItem.id)
    ).all()
    return render_template(
        "documents/document.html",
        document=document,
        record=record,
        answers=answers,
        form=form,
        may_edit=may_edit,
        delete_form=DeleteForm(),
        may_delete=current_user.role in (Role.ADMIN, Role.STAFF),
        inline=document.media_type in INLINE,
    )


def _event(note: str) -> RequestEvent:
    return RequestEvent(actor=current_user._get_current_object(), kind="document", note=note)


@bp.post("/documents/<int:document_id>/delete")
@roles_required(Role.ADMIN, Role.STAFF)
def delete(document_id: int) -> BaseResponse:
    document = get_document_or_404(document_id)
    form = DeleteForm()
    if not form.validate_on_submit():
        flash("Say why the document is deleted.", "error")
        return redirect(url_for("documents.show", document_id=document.id))
    record = db.get_or_404(RecordsRequest, document.request_id)
    delete_document(document, current_user, form.reason.data)
    db.session.commit()
    flash("Deleted; the timeline keeps the reason.", "success")
    return redirect(url_for("requests.show_request", reference=record.reference))


@bp.get("/requests/<reference>/documents.zip")
def download_zip(reference: str) -> Response:
    record = get_request_or_404(reference)
    documents = db.session.scalars(
        select(Document)
        .where(Document.request_id == record.id, Document.deleted_at.is_(None))
        .order_by(Document.id)
    ).all()
    if not documents:
        abort(404)

    # Written to a temporary file (on disk past a few MB), then sent in pieces:
    # memory stays flat whatever the size of the archive.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    names: set[str] = set()
    index = io.StringIO()
    writer = csv.writer(index)
    writer.writerow(["filename", "title", "type", "document_date", "uploaded_at", "sha256", "size"])
    try:
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for document in documents:
                name = unique_name(document.original_filename, names)
                with archive.open(name, "w", force_zip64=True) as entry:
                    for chunk in read_chunks(document):
                        entry.write(chunk)
                writer.writerow([spreadsheet_safe(cell) for cell in [
                    name, document.title, document.type_label,
                    document.document_date.isoformat() if document.document_date else "",
                    document.uploaded_at.isoformat(), document.sha256, document.size,
                ]])  # fmt: skip
            archive.writestr("index.csv", index.getvalue())
    except FileMissing:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)

    def pieces() -> Iterator[bytes]:
        with spool:
            while chunk := spool.read(256 * 1024):
                yield chunk

    response = Response(pieces(), mimetype="application/zip")
    response.headers["Content-Length"] = str(size)
    response.headers["Content-Disposition"] = f'attachment; filename="{record.reference}.zip"'
    return response


def unique_name(name: str, taken: set[str]) -> str:
    candidate, number = name, 1
    while candidate in taken or candidate == "index.csv":
        number += 1
        stem, dot, extension = name.rpartition(".")
        candidate = f"{stem} ({number}).{extension}" if dot else f"{name} ({number})"
    taken.add(candidate)
    return candidate

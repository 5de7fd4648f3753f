import mailbox
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from tracker.auth.models import Role
from tracker.documents.filetypes import safe_filename
from tracker.documents.routes import EDITORS, editable
from tracker.documents.services import staging_folder, upload_limit
from tracker.documents.storage import TooLarge, stage
from tracker.extensions import db
from tracker.limits import accepts_uploads
from tracker.mail import bp
from tracker.mail.answers import (
    AlreadySettled,
    confirm_suggestion,
    dismiss_suggestion,
    items_to_say,
    no_answer_needed,
    suggestion_text,
)
from tracker.mail.forms import (
    MAIL_UPLOAD_ERROR,
    AssignForm,
    ConfirmSuggestionForm,
    DiscardForm,
    DismissSuggestionForm,
    MailUploadForm,
    NoAnswerForm,
    numbered,
)
from tracker.mail.inbox import FiledMessage, NotAnEmail, assign, discard, file_message
from tracker.mail.models import Correspondence, MailState
from tracker.requests.models import RecordsRequest
from tracker.requests.services import RequestError, find_by_reference
from tracker.security import roles_required

MANAGERS = (Role.ADMIN, Role.STAFF)


def messages_in(path: Path, name: str) -> Iterator[tuple[str, bytes]]:
    """Each message of a saved file, with a name to report it by: one .eml, or an mbox."""
    with path.open("rb") as handle:
        head = handle.read(5)
    if not (name.lower().endswith(".mbox") or head == b"From "):
        yield name, path.read_bytes()
        return
    box = mailbox.mbox(path, create=False)
    try:
        for number, key in enumerate(box.iterkeys(), start=1):
            yield f"message {number} of “{name}”", box.get_bytes(key)
    finally:
        box.close()


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(filed: list[FiledMessage], refused: list[tuple[str, str]]) -> str:
    new = [entry for entry in filed if not entry.already]
    parts = [f"Filed {plural(len(new), 'message')}"]
    carried = [inner for entry in new for inner in entry.forwarded if not inner.already]
    if carried:
        parts.append(f"{plural(len(carried), 'forwarded message')} filed on its own")
    if len(new) < len(filed):
        parts.append(f"{len(filed) - len(new)} already on file")
    stored = sum(len(entry.stored) for entry in new)
    if stored:
        parts.append(f"{plural(stored, 'attachment')} stored")
    said = ", ".join(parts)
    refusals = [*refused, *[item for entry in new for item in entry.refused]]
    if refusals:
        said += "; refused: " + "; ".join(f"“{name}”: {reason}" for name, reason in refusals)
    return said + "."


@bp.post("/requests/<reference>/mail")
@accepts_uploads()
@roles_required(*EDITORS)
def upload_mail(reference: str) -> Response:
    record = editable(reference)
    form = MailUploadForm()
    back = url_for("requests.show_request", reference=reference, _anchor="add-mail")
    upload = form.mail.data
    if not form.validate_on_submit() or not getattr(upload, "filename", None):
        flash("Choose a saved email (.eml) or a mailbox (.mbox) to file.", MAIL_UPLOAD_ERROR)
        return redirect(back)
    name = safe_filename(upload.filename)
    try:
        staged = stage(upload.stream, staging_folder(), upload_limit())
    except TooLarge as error:
        flash(f"Not filed: “{name}” is {error}.", MAIL_UPLOAD_ERROR)
        return redirect(back)
    filed: list[FiledMessage] = []
    refused: list[tuple[str, str]] = []
    try:
        for label, raw in messages_in(staged.path, name):
            try:
                filed.append(file_message(raw, source="upload", actor=current_user, request=record))
            except NotAnEmail as error:
                refused.append((label, str(error)))
    finally:
        staged.discard()
    db.session.commit()
    if not filed:
        flash("Nothing was filed. " + "; ".join(reason for _, reason in refused), MAIL_UPLOAD_ERROR)
        return redirect(back)
    flash(summary(filed, refused), "success")
    return redirect(url_for("requests.show_request", reference=reference, _anchor="mail"))


def held_entry_or_404(correspondence_id: int) -> Correspondence:
    entry = db.get_or_404(Correspondence, correspondence_id)
    if entry.state is not MailState.HELD:
        abort(404)
    return entry


def render_held(failed: dict[int, tuple[AssignForm, DiscardForm]] | None = None) -> str:
    held = db.session.scalars(
        select(Correspondence)
        .where(Correspondence.state == MailState.HELD)
        .order_by(Correspondence.created_at, Correspondence.id)
    ).all()
    discarded = db.session.scalars(
        select(Correspondence)
        .where(Correspondence.state == MailState.DISCARDED)
        .options(selectinload(Correspondence.discarded_by))
        .order_by(Correspondence.discarded_at.desc(), Correspondence.id.desc())
        .limit(50)
    ).all()
    forms = {
        entry.id: (failed or {}).get(entry.id)
        or (
            numbered(AssignForm(formdata=None), entry.id),
            numbered(DiscardForm(formdata=None), entry.id),
        )
        for entry in held
    }
    return render_template("mail/held.html", held=held, discarded=discarded, forms=forms)


@bp.get("/mail/held")
@roles_required(*MANAGERS)
def held() -> str:
    return render_held()


@bp.post("/mail/<int:correspondence_id>/assign")
@roles_required(*MANAGERS)
def assign_held(correspondence_id: int) -> Response | str:
    entry = held_entry_or_404(correspondence_id)
    form = numbered(AssignForm(), entry.id)
    if form.validate_on_submit():
        record = find_by_reference(form.reference.data.upper())
        if record is None:
            form.reference.errors = [f"No request has the reference {form.reference.data}."]
        else:
            result = assign(entry, record, current_user)
            db.session.commit()
            flash(summary([result], []).replace("Filed 1 message", "Filed the message"), "success")
            return redirect(
                url_for("requests.show_request", reference=record.reference, _anchor="mail")
            )
    discard_form = numbered(DiscardForm(formdata=None), entry.id)
    return render_held({entry.id: (form, discard_form)})


@bp.post("/mail/<int:correspondence_id>/discard")
@roles_required(*MANAGERS)
def discard_held(correspondence_id: int) -> Response | str:
    entry = held_entry_or_404(correspondence_id)
    form = numbered(DiscardForm(), entry.id)
    if form.validate_on_submit():
        discard(entry, form.reason.data, current_user)
        db.session.commit()
        flash("Discarded; the message and the reason are kept.", "success")
        return redirect(url_for("mail.held"))
    assign_form = numbered(AssignForm(formdata=None), entry.id)
    return render_held({entry.id: (assign_form, form)})


# Answering what came in ------------------------------------------------------------------


@bp.app_template_global()
def answer_forms(entry: Correspondence) -> dict[str, Any]:
    """The forms a message in the thread offers; one sent back with errors is shown as sent."""
    failed: dict[str, Any] = g.get("failed_answer_forms", {}).get(entry.id, {})
    return {
        name: failed.get(name) or numbered(form_class(formdata=None), entry.id)
        for name, form_class in (
            ("confirm", ConfirmSuggestionForm),
            ("dismiss", DismissSuggestionForm),
            ("no_answer", NoAnswerForm),
        )
    } | {"suggestion": suggestion_text(entry) if entry.suggested_kind else ""}


def filed_entry(reference: str, correspondence_id: int) -> tuple[RecordsRequest, Correspondence]:
    """A message filed on the request named, for someone who may change that request."""
    record = editable(reference)
    entry = db.session.get(Correspondence, correspondence_id, with_for_update=True)
    if entry is None or entry.request_id != record.id or entry.state is not MailState.FILED:
        abort(404)
    return record, entry


def back_to(record: RecordsRequest, entry: Correspondence) -> Response:
    return redirect(
        url_for("requests.show_request", reference=record.reference, _anchor=f"mail-{entry.id}")
    )


def page_with(record: RecordsRequest, entry: Correspondence, name: str, form: Any) -> str:
    """The request's page again, the failed form at its message with what was typed."""
    from tracker.requests.forms import NoteForm
    from tracker.requests.routes import render_request_page

    g.failed_answer_forms = {entry.id: {name: form}}
    return render_request_page(record, NoteForm(formdata=None))


@bp.post("/requests/<reference>/mail/<int:correspondence_id>/confirm")
@roles_required(*EDITORS)
def confirm(reference: str, correspondence_id: int) -> Response | str:
    record, entry = filed_entry(reference, correspondence_id)
    form = numbered(ConfirmSuggestionForm(), entry.id)
    if not form.validate_on_submit():
        flash("The form had expired; press Confirm again.", "error")
        return back_to(record, entry)
    try:
        response = confirm_suggestion(entry, current_user)
    except AlreadySettled as error:
        db.session.rollback()
        flash(str(error), "error")
        return back_to(record, entry)
    except RequestError as error:
        db.session.rollback()
        flash(f"Not logged: {error}", "error")
        return back_to(record, entry)
    db.session.commit()
    flash(
        f"Logged: {response.kind.label}, received {response.received_on:%B} "
        f"{response.received_on.day}, {response.received_on.year}.",
        "success",
    )
    if items_to_say(response):
        flash("Now say which items it answers, or leave them as they are.", "info")
        return redirect(
            url_for("documents.answer_items", reference=record.reference, response_id=response.id)
        )
    return back_to(record, entry)


def settle_with(
    reference: str,
    correspondence_id: int,
    form: Any,
    which: str,
    settle: Callable[[Correspondence, Any, str], None],
    done: str,
) -> Response | str:
    """Dismiss a suggestion, or say no answer is needed: the reason is optional."""
    record, entry = filed_entry(reference, correspondence_id)
    form = numbered(form, entry.id)
    if not form.validate_on_submit():
        return page_with(record, entry, which, form)
    try:
        settle(entry, current_user, form[f"{which}_reason"].data or "")
    except AlreadySettled as error:
        db.session.rollback()
        flash(str(error), "error")
        return back_to(record, entry)
    db.session.commit()
    flash(done, "success")
    return back_to(record, entry)


@bp.post("/requests/<reference>/mail/<int:correspondence_id>/dismiss")
@roles_required(*EDITORS)
def dismiss(reference: str, correspondence_id: int) -> Response | str:
    return settle_with(
        reference,
        correspondence_id,
        DismissSuggestionForm(),
        "dismiss",
        dismiss_suggestion,
        "Dismissed; nothing was logged from the message.",
    )


@bp.post("/requests/<reference>/mail/<int:correspondence_id>/no-answer")
@roles_required(*EDITORS)
def settle_no_answer(reference: str, correspondence_id: int) -> Response | str:
    return settle_with(
        reference,
        correspondence_id,
        NoAnswerForm(),
        "no_answer",
        no_answer_needed,
        "Settled: the message needs no answer.",
    )

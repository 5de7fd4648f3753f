import mailbox
from collections.abc import Iterator
from pathlib import Path

from flask import abort, flash, redirect, render_template, url_for
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
from tracker.mail.forms import MAIL_UPLOAD_ERROR, AssignForm, DiscardForm, MailUploadForm, numbered
from tracker.mail.inbox import FiledMessage, NotAnEmail, assign, discard, file_message
from tracker.mail.models import Correspondence, MailState
from tracker.requests.services import find_by_reference
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

"""Sending a final letter by email: the preview of what goes out, and the Send button."""

from datetime import datetime

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from tracker.extensions import db
from tracker.letters.forms import SendEmailForm
from tracker.letters.library import LetterError
from tracker.letters.routes import (
    EDITORS,
    get_letter_or_404,
    get_request_or_404,
    require_editor,
)
from tracker.mail import bp
from tracker.mail.models import OutgoingEmail, SendState
from tracker.mail.outbox import draft_email, next_try_at, outgoing_for, queue_email, send_problems
from tracker.security import roles_required
from tracker.tasks import queue_mail_job


@bp.route("/requests/<reference>/letters/<int:letter_id>/email", methods=["GET", "POST"])
@roles_required(*EDITORS)
def email_letter(reference: str, letter_id: int) -> Response | str:
    record = get_request_or_404(reference)
    require_editor(record)
    letter = get_letter_or_404(record, letter_id)
    form = SendEmailForm()
    back = url_for("letters.show_letter", reference=reference, letter_id=letter.id)
    if form.validate_on_submit():
        try:
            outgoing, queued = queue_email(letter, record, current_user)
            db.session.flush()
        except LetterError as error:
            db.session.rollback()
            flash(f"The letter was not sent: {error}", "error")
            return redirect(back)
        except IntegrityError:
            # Another press of the button queued it at the same moment.
            db.session.rollback()
            flash("The letter is already queued to go by email.", "info")
            return redirect(back)
        if not queued:
            said = "was already sent" if outgoing.state == SendState.SENT else "is already queued"
            flash(f"The letter {said} by email; it was not queued again.", "info")
            return redirect(back)
        queue_mail_job(outgoing.id, outgoing.attempts + 1)
        db.session.commit()
        category = "error" if outgoing.state == SendState.FAILED else "success"
        flash(sent_message(outgoing.state, outgoing.error), category)
        return redirect(back)
    problems = send_problems(letter, record)
    draft = None if letter.is_draft else draft_email(letter, record)
    return render_template(
        "mail/send.html",
        record=record,
        letter=letter,
        draft=draft,
        problems=problems,
        outgoing=outgoing_for(letter),
        form=form,
    )


@bp.app_template_filter("next_try_at")
def next_try_filter(outgoing: OutgoingEmail) -> datetime | None:
    return next_try_at(outgoing)


def sent_message(state: SendState, error: str) -> str:
    if state == SendState.SENT:
        return "The letter was sent by email: the mail server accepted it."
    if state == SendState.FAILED:
        return f"The letter could not be sent by email: {error}"
    if error:
        return f"The mail server did not take the letter yet ({error}); it will try again."
    return "The letter is queued to go by email."

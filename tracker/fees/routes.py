"""The Fees section's form on a request's page."""

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.auth.models import Role
from tracker.extensions import db
from tracker.fees import bp
from tracker.fees.forms import FeeForm, RemoveFeeForm
from tracker.fees.services import FeeError, FeeValues, describe, record_fee, remove_fee
from tracker.items.models import Fee, FeeKind
from tracker.requests.forms import NoteForm
from tracker.requests.routes import get_request_or_404, render_request_page
from tracker.requests.services import can_edit
from tracker.security import roles_required


@bp.post("/<reference>/fees")
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def add_fee(reference: str) -> Response | str:
    record = get_request_or_404(reference)
    if not can_edit(current_user, record):
        abort(403)
    form = FeeForm()
    if form.validate_on_submit():
        values = FeeValues(
            kind=FeeKind(form.kind.data),
            amount=form.amount.amount,
            dated_on=form.dated_on.data,
            note=form.note.data or "",
        )
        try:
            record_fee(record, values, current_user)
        except FeeError as error:
            db.session.rollback()
            getattr(form, error.field).errors.append(str(error))
        else:
            db.session.commit()
            flash("Fee step recorded.", "success")
            return redirect(url_for("requests.show_request", reference=reference, _anchor="fees"))
    return render_request_page(record, NoteForm(), fee_form=form)


@bp.route("/<reference>/fees/<int:fee_id>/remove", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def remove(reference: str, fee_id: int) -> Response | str:
    """Take back a fee step recorded by mistake, saying why."""
    record = get_request_or_404(reference)
    if not can_edit(current_user, record):
        abort(403)
    fee = db.get_or_404(Fee, fee_id)
    if fee.request_id != record.id or fee.removed_at is not None:
        abort(404)
    form = RemoveFeeForm()
    if form.validate_on_submit():
        try:
            remove_fee(fee, current_user, form.reason.data or "")
        except FeeError as error:
            db.session.rollback()
            form.reason.errors = [*form.reason.errors, str(error)]
        else:
            db.session.commit()
            flash("Fee step removed; the timeline keeps it and the reason.", "success")
            return redirect(url_for("requests.show_request", reference=reference, _anchor="fees"))
    return render_template(
        "requests/remove_fee.html", record=record, fee=fee, step=describe(fee), form=form
    )

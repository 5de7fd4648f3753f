"""Editing a request's items: pages that work without JavaScript, one form each."""

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.wrappers import Response

from tracker.auth.models import Role
from tracker.extensions import db
from tracker.items.forms import (
    AddItemForm,
    MergeForm,
    RemoveForm,
    RewordForm,
    SplitForm,
    WithdrawForm,
)
from tracker.items.models import RequestItem
from tracker.items.services import (
    ItemError,
    add_item,
    can_reword,
    can_shape,
    can_withdraw,
    items_of,
    merge_with_next,
    remove_item,
    reword_item,
    split_item,
    withdraw_item,
)
from tracker.requests.models import RecordsRequest, RequestStatus
from tracker.requests.services import can_edit, find_by_reference
from tracker.security import roles_required

bp = Blueprint("items", __name__, url_prefix="/requests/<reference>/items")

EDITORS = (Role.ADMIN, Role.STAFF, Role.ADVOCATE)


def editable_request(reference: str) -> RecordsRequest:
    record = find_by_reference(reference)
    if record is None:
        abort(404)
    if not can_edit(current_user, record):
        abort(403)
    return record


def item_of(record: RecordsRequest, item_id: int) -> RequestItem:
    item = db.session.get(RequestItem, item_id)
    if item is None or item.request_id != record.id:
        abort(404)
    return item


def back_to_items(record: RecordsRequest, message: str) -> Response:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("items.edit_items", reference=record.reference))


def refused(form: FlaskForm, error: ItemError) -> None:
    db.session.rollback()
    getattr(form, error.field).errors.append(str(error))


def render_items(record: RecordsRequest, add_form: AddItemForm | None = None) -> str:
    return render_template(
        "items/edit.html",
        record=record,
        items=items_of(record),
        add_form=add_form or AddItemForm(formdata=None),
        remove_form=RemoveForm(formdata=None),
        shape=can_shape(current_user, record),
        reword=can_reword(current_user, record),
        can_withdraw=lambda item: can_withdraw(current_user, record, item),
    )


@bp.get("")
@roles_required(*EDITORS)
def edit_items(reference: str) -> str:
    return render_items(editable_request(reference))


@bp.post("/add")
@roles_required(*EDITORS)
def add(reference: str) -> Response | str:
    record = editable_request(reference)
    if not can_shape(current_user, record):
        abort(403)
    form = AddItemForm()
    if form.validate_on_submit():
        try:
            item = add_item(record, form.description.data, current_user)
        except ItemError as error:
            refused(form, error)
        else:
            return back_to_items(record, f"Added item {item.position}.")
    return render_items(record, form)


@bp.route("/<int:item_id>/reword", methods=["GET", "POST"])
@roles_required(*EDITORS)
def reword(reference: str, item_id: int) -> Response | str:
    record = editable_request(reference)
    if not can_reword(current_user, record):
        abort(403)
    item = item_of(record, item_id)
    form = RewordForm(data={"description": item.description})
    if form.validate_on_submit():
        try:
            event = reword_item(
                record, item, form.description.data, current_user, form.reason.data or ""
            )
        except ItemError as error:
            refused(form, error)
        else:
            message = f"Reworded item {item.position}." if event else "Nothing was changed."
            return back_to_items(record, message)
    return render_template("items/reword.html", record=record, item=item, form=form)


@bp.route("/<int:item_id>/split", methods=["GET", "POST"])
@roles_required(*EDITORS)
def split(reference: str, item_id: int) -> Response | str:
    record = editable_request(reference)
    if not can_shape(current_user, record):
        abort(403)
    item = item_of(record, item_id)
    form = SplitForm(data={"first": item.description})
    if form.validate_on_submit():
        try:
            first, second = split_item(
                record, item, form.first.data, form.second.data, current_user
            )
        except ItemError as error:
            refused(form, error)
        else:
            return back_to_items(
                record, f"Split into items {first.position} and {second.position}."
            )
    return render_template("items/split.html", record=record, item=item, form=form)


@bp.route("/<int:item_id>/merge", methods=["GET", "POST"])
@roles_required(*EDITORS)
def merge(reference: str, item_id: int) -> Response | str:
    record = editable_request(reference)
    if not can_shape(current_user, record):
        abort(403)
    item = item_of(record, item_id)
    items = items_of(record)
    at = items.index(item)
    if at + 1 >= len(items):
        abort(404)
    following = items[at + 1]
    form = MergeForm(data={"description": f"{item.description} {following.description}"})
    if form.validate_on_submit():
        try:
            merged = merge_with_next(record, item, form.description.data, current_user)
        except ItemError as error:
            refused(form, error)
        else:
            return back_to_items(
                record, f"Merged items {merged.position} and {merged.position + 1}."
            )
    return render_template(
        "items/merge.html", record=record, item=item, following=following, form=form
    )


@bp.post("/<int:item_id>/remove")
@roles_required(*EDITORS)
def remove(reference: str, item_id: int) -> Response | str:
    record = editable_request(reference)
    if not can_shape(current_user, record):
        abort(403)
    item = item_of(record, item_id)
    if not RemoveForm().validate_on_submit():
        abort(400)
    position = item.position
    try:
        remove_item(record, item, current_user)
    except ItemError as error:
        db.session.rollback()
        flash(str(error), "error")
        return redirect(url_for("items.edit_items", reference=record.reference))
    return back_to_items(record, f"Removed item {position}.")


@bp.route("/<int:item_id>/withdraw", methods=["GET", "POST"])
@roles_required(*EDITORS)
def withdraw(reference: str, item_id: int) -> Response | str:
    record = editable_request(reference)
    item = item_of(record, item_id)
    if record.status is RequestStatus.DRAFT:
        flash("A draft has not been sent: remove the item instead.", "info")
        return redirect(url_for("items.edit_items", reference=record.reference))
    if not can_withdraw(current_user, record, item):
        abort(403)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            withdraw_item(record, item, form.reason.data, current_user)
        except ItemError as error:
            refused(form, error)
        else:
            db.session.commit()
            flash(f"Withdrew item {item.position}.", "success")
            return redirect(
                url_for("requests.show_request", reference=record.reference, _anchor="items")
            )
    return render_template("items/withdraw.html", record=record, item=item, form=form)

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tracker.agencies import bp
from tracker.agencies.forms import AgencyForm
from tracker.agencies.models import Agency
from tracker.agencies.services import EDITABLE_FIELDS, AgencyError, create_agency, update_agency
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.laws import all_laws
from tracker.security import roles_required
from tracker.text import contains_text


@bp.get("")
def list_agencies() -> str:
    query = request.args.get("q", "").strip()
    law = request.args.get("law", "")
    statement = db.select(Agency).order_by(Agency.name)
    if query:
        statement = statement.where(
            contains_text(
                query, Agency.name, Agency.short_name, Agency.jurisdiction, Agency.records_office
            )
        )
    if law in all_laws():
        statement = statement.where(Agency.law == law)
    page = db.paginate(
        statement, page=request.args.get("page", 1, type=whole_number), per_page=25, error_out=False
    )
    return render_template(
        "agencies/list.html",
        page=page,
        query=query,
        law=law,
        law_options=[(item.id, item.name) for item in all_laws().values()],
    )


@bp.get("/<int:agency_id>")
def show_agency(agency_id: int) -> str:
    agency = db.get_or_404(Agency, agency_id)
    return render_template("agencies/show.html", agency=agency)


def apply_form_errors(form: AgencyForm, error: AgencyError) -> None:
    getattr(form, error.field).errors.append(str(error))


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF)
def new_agency() -> Response | str:
    form = AgencyForm()
    if form.validate_on_submit():
        try:
            agency = create_agency({field: getattr(form, field).data for field in EDITABLE_FIELDS})
        except AgencyError as error:
            apply_form_errors(form, error)
        else:
            db.session.commit()
            flash(f"Added {agency.name}.", "success")
            return redirect(url_for("agencies.show_agency", agency_id=agency.id))
    return render_template("agencies/form.html", form=form, agency=None)


@bp.route("/<int:agency_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF)
def edit_agency(agency_id: int) -> Response | str:
    agency = db.get_or_404(Agency, agency_id)
    form = AgencyForm(obj=agency)
    if form.validate_on_submit():
        try:
            changed = update_agency(
                agency, {field: getattr(form, field).data for field in EDITABLE_FIELDS}
            )
        except AgencyError as error:
            apply_form_errors(form, error)
        else:
            db.session.commit()
            flash(f"Saved {agency.name}." if changed else "Nothing was changed.", "success")
            return redirect(url_for("agencies.show_agency", agency_id=agency.id))
    return render_template("agencies/form.html", form=form, agency=agency)

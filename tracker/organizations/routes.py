from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from tracker.auth.models import Role
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.organizations import bp
from tracker.organizations.forms import OrganizationForm
from tracker.requests.models import Organization
from tracker.security import roles_required

FIELDS = ("name", "mailing_address", "email", "phone", "signers")


def clean(form: OrganizationForm) -> dict[str, str]:
    return {f: (getattr(form, f).data or "").replace("\r\n", "\n").strip() for f in FIELDS}


def name_taken(name: str, organization: Organization | None) -> bool:
    clash = db.session.scalar(
        db.select(Organization).where(db.func.lower(Organization.name) == name.lower())
    )
    return clash is not None and clash is not organization


@bp.get("")
def list_organizations() -> str:
    page = db.paginate(
        db.select(Organization).order_by(Organization.name),
        page=request.args.get("page", 1, type=whole_number),
        per_page=20,
        error_out=False,
    )
    return render_template("organizations/list.html", page=page)


@bp.route("/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def new_organization() -> Response | str:
    return save(OrganizationForm(), None)


@bp.route("/<int:organization_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def edit_organization(organization_id: int) -> Response | str:
    organization = db.get_or_404(Organization, organization_id)
    return save(OrganizationForm(obj=organization), organization)


def save(form: OrganizationForm, organization: Organization | None) -> Response | str:
    if form.validate_on_submit():
        values = clean(form)
        if name_taken(values["name"], organization):
            form.name.errors.append(f"{values['name']} is already listed.")
        else:
            if organization is None:
                organization = Organization(**values)
                db.session.add(organization)
            else:
                for field, value in values.items():
                    setattr(organization, field, value)
            db.session.commit()
            flash(f"Saved {organization.name}.", "success")
            return redirect(url_for("organizations.list_organizations"))
    return render_template("organizations/form.html", form=form, organization=organization)

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.admin import bp
from tracker.admin.forms import EditUserForm, MakeLinkForm, NewUserForm
from tracker.auth.models import AccountLink, LinkKind, Role, User
from tracker.auth.services import (
    AccountError,
    create_user,
    links_of,
    make_account_link,
    password_problem,
    pending_invitations,
    set_password_for,
    update_user,
)
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.security import roles_required
from tracker.sqltypes import utcnow


@bp.get("/users")
@roles_required(Role.ADMIN)
def list_users() -> str:
    page = db.paginate(
        db.select(User).order_by(User.active.desc(), User.name),
        page=request.args.get("page", 1, type=whole_number),
        per_page=50,
        error_out=False,
    )
    invited = pending_invitations([user.id for user in page.items])
    return render_template("admin/users.html", page=page, invited=invited)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> Response | str:
    form = NewUserForm()
    if form.validate_on_submit():
        password = form.password.data or None
        try:
            user = create_user(
                form.email.data, form.name.data, Role(form.role.data), password, must_change=True
            )
        except AccountError as error:
            target = form.email if "already exists" in str(error) else form.password
            target.errors.append(str(error))
        else:
            if password is not None:
                db.session.commit()
                flash(
                    f"{user.name} can now sign in as {user.role.value} with the password you "
                    "typed, and will choose their own at their first sign-in.",
                    "success",
                )
                return redirect(url_for("admin.list_users"))
            link, token = make_account_link(user, LinkKind.INVITATION, current_user)
            db.session.commit()
            flash(f"Added {user.name} as {user.role.value}. Give them this link.", "success")
            return show_link(link, token)
    return render_template("admin/user_form.html", form=form, user=None)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def edit_user(user_id: int) -> Response | str:
    user = db.get_or_404(User, user_id)
    form = EditUserForm(obj=user if request.method == "GET" else None)
    if request.method == "GET":
        form.role.data = user.role.value
    if form.validate_on_submit():
        try:
            if form.password.data:
                problem = password_problem(form.password.data, user.email)
                if problem:
                    raise AccountError(problem)
            update_user(
                user,
                name=form.name.data,
                role=Role(form.role.data),
                active=form.active.data,
                actor=current_user,
            )
            if form.password.data:
                set_password_for(user, form.password.data)
        except AccountError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.list_users"))
    return render_user_page(user, form)


def render_user_page(user: User, form: EditUserForm) -> str:
    return render_template(
        "admin/user_form.html",
        form=form,
        user=user,
        links=links_of(user),
        link_kind=kind_for(user),
        link_form=MakeLinkForm(formdata=None),
        now=utcnow(),
    )


def kind_for(user: User) -> LinkKind:
    """Someone who has never signed in is still joining: they get an invitation."""
    return LinkKind.INVITATION if user.last_login_at is None else LinkKind.RESET


@bp.post("/users/<int:user_id>/link")
@roles_required(Role.ADMIN)
def make_link(user_id: int) -> Response | str:
    user = db.get_or_404(User, user_id)
    if not MakeLinkForm().validate_on_submit():
        abort(400)
    kind = kind_for(user)
    try:
        link, token = make_account_link(user, kind, current_user)
    except AccountError as error:
        flash(str(error), "error")
        return redirect(url_for("admin.edit_user", user_id=user.id))
    db.session.commit()
    flash(f"Made a {kind.label.lower()} for {user.name}.", "success")
    return show_link(link, token)


def show_link(link: AccountLink, token: str) -> str:
    # The secret exists only in this answer: the database keeps its digest.
    endpoint = (
        "auth.accept_invitation" if link.kind is LinkKind.INVITATION else "auth.reset_password"
    )
    url = url_for(endpoint, token=token, _external=True)
    return render_template("admin/account_link.html", link=link, user=link.user, url=url)

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.admin import bp
from tracker.admin.forms import EditUserForm, NewUserForm
from tracker.auth.models import Role, User
from tracker.auth.services import AccountError, create_user, password_problem, update_user
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.security import roles_required


@bp.get("/users")
@roles_required(Role.ADMIN)
def list_users() -> str:
    page = db.paginate(
        db.select(User).order_by(User.active.desc(), User.name),
        page=request.args.get("page", 1, type=whole_number),
        per_page=50,
        error_out=False,
    )
    return render_template("admin/users.html", page=page)


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def new_user() -> Response | str:
    form = NewUserForm()
    if form.validate_on_submit():
        try:
            user = create_user(
                form.email.data, form.name.data, Role(form.role.data), form.password.data
            )
        except AccountError as error:
            target = form.email if "already exists" in str(error) else form.password
            target.errors.append(str(error))
        else:
            db.session.commit()
            flash(f"{user.name} can now sign in as {user.role.value}.", "success")
            return redirect(url_for("admin.list_users"))
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
                user.set_password(form.password.data)
        except AccountError as error:
            db.session.rollback()
            form.form_errors.append(str(error))
        else:
            db.session.commit()
            flash(f"Saved {user.name}.", "success")
            return redirect(url_for("admin.list_users"))
    return render_template("admin/user_form.html", form=form, user=user)

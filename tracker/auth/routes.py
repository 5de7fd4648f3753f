from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from tracker.auth import bp
from tracker.auth.forms import (
    ChangePasswordForm,
    ChoosePasswordForm,
    LoginForm,
    LogoutForm,
    SetupForm,
)
from tracker.auth.models import LinkKind, Role, User
from tracker.auth.services import (
    AccountError,
    LinkRefusal,
    LinkUnusable,
    authenticate,
    change_password,
    close_session,
    create_user,
    login_retry_minutes,
    open_session,
    record_login_attempt,
    record_sign_in,
    usable_link,
    use_link,
    users_exist,
)
from tracker.extensions import db
from tracker.security import is_safe_redirect


def start_session(user: User) -> None:
    # A fresh session on every sign-in, so a planted session id is worthless; it is
    # recorded on the server, so that signing out can end it for good.
    session.clear()
    session["sid"] = open_session(user)
    db.session.commit()
    login_user(user)
    session.permanent = True


@bp.route("/setup", methods=["GET", "POST"])
def setup() -> Response | str:
    if users_exist():
        abort(404)
    form = SetupForm()
    if form.validate_on_submit():
        try:
            user = create_user(form.email.data, form.name.data, Role.ADMIN, form.password.data)
        except AccountError as error:
            form.password.errors.append(str(error))
        else:
            record_sign_in(user, request.remote_addr or "unknown")
            db.session.commit()
            start_session(user)
            flash("Welcome. Your admin account is ready; add your team under Admin.", "success")
            return redirect(url_for("admin.list_users"))
    return render_template("auth/setup.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int] | str:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data))
    if form.validate_on_submit():
        address = request.remote_addr or "unknown"
        wait = login_retry_minutes(form.email.data, address)
        if wait is not None:
            form.form_errors.append(f"Too many failed sign-in attempts. {try_again_in(wait)}")
            return render_template("auth/login.html", form=form), 429
        user = authenticate(form.email.data, form.password.data)
        record_login_attempt(form.email.data, address, user, succeeded=user is not None)
        db.session.commit()
        if user is not None:
            start_session(user)
            return redirect(safe_next(form.next.data))
        form.form_errors.append("That email and password do not match an active account.")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


def try_again_in(wait: int) -> str:
    return f"Try again in {wait} minute{'s' if wait != 1 else ''}."


def safe_next(target: str | None) -> str:
    return target if target and is_safe_redirect(target) else url_for("index")


@bp.post("/logout")
def logout() -> Response:
    form = LogoutForm()
    if not form.validate_on_submit():
        abort(400)
    close_session(session.get("sid"))
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def password() -> Response | str | tuple[str, int]:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # Wrong current passwords count as failed sign-ins, so that a session left
        # open cannot be used to guess the password any faster than the sign-in page.
        address = request.remote_addr or "unknown"
        wait = login_retry_minutes(current_user.email, address)
        if wait is not None:
            form.form_errors.append(f"Too many wrong passwords. {try_again_in(wait)}")
            return render_template("auth/password.html", form=form), 429
        try:
            change_password(current_user, form.current.data, form.password.data)
        except AccountError as error:
            field = form.current if "current" in str(error) else form.password
            field.errors.append(str(error))
            if field is form.current:
                record_login_attempt(current_user.email, address, current_user, succeeded=False)
                db.session.commit()
        else:
            db.session.commit()
            # The new password signed out every other session; keep this one.
            start_session(current_user._get_current_object())
            current_app.logger.info("password changed for user %s", current_user.id)
            flash("Your password is changed. Other sessions are signed out.", "success")
            return redirect(url_for("index"))
    return render_template("auth/password.html", form=form)


# One-time links: an invitation to join, or a new password --------------------------------

# What the page says of a link that cannot be used, and its status: 404 for a link that
# never existed, 410 for one that did.
LINK_REFUSALS = {
    LinkRefusal.UNKNOWN: (
        "This link does not work. Check that it was copied whole, with nothing missing "
        "at the end, or ask an admin of your tracker for a new one.",
        404,
    ),
    LinkRefusal.USED: (
        "This link has already been used: each link works once. If you chose your password "
        "with it, sign in; otherwise ask an admin of your tracker for a new link.",
        410,
    ),
    LinkRefusal.WITHDRAWN: (
        "This link no longer works: a newer link was made for this account, or its password "
        "was changed since. Use the newest link you were given, or ask an admin for a new one.",
        410,
    ),
    LinkRefusal.EXPIRED: (
        "This link has expired. Ask an admin of your tracker for a new one.",
        410,
    ),
    LinkRefusal.INACTIVE: (
        "This account is deactivated, so its link cannot be used. Ask an admin of your tracker.",
        410,
    ),
}


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str) -> Response | str | tuple[str, int]:
    return link_page(token, LinkKind.INVITATION)


@bp.route("/password-reset/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Response | str | tuple[str, int]:
    return link_page(token, LinkKind.RESET)


def link_page(token: str, kind: LinkKind) -> Response | str | tuple[str, int]:
    try:
        link = usable_link(token, kind)
    except LinkUnusable as refusal:
        return link_refused(refusal)
    if current_user.is_authenticated and current_user.id != link.user_id:
        # Most likely an admin trying the link they made: it is left for its owner.
        return render_template("auth/link_signed_in.html", link=link)
    form = ChoosePasswordForm()
    if form.validate_on_submit():
        try:
            user = use_link(link, form.password.data)
        except AccountError as error:
            form.password.errors.append(str(error))
        except LinkUnusable as refusal:
            db.session.rollback()
            return link_refused(refusal)
        else:
            record_sign_in(user, request.remote_addr or "unknown")
            db.session.commit()
            start_session(user)
            current_app.logger.info("%s link used by user %s", kind.value, user.id)
            if kind is LinkKind.INVITATION:
                flash(
                    f"Welcome, {user.name}. Your password is set and you are signed in.", "success"
                )
            else:
                flash("Your new password is set. Every other session was signed out.", "success")
            return redirect(url_for("index"))
    return render_template("auth/choose_password.html", form=form, link=link)


def link_refused(refusal: LinkUnusable) -> tuple[str, int]:
    message, status = LINK_REFUSALS[refusal.reason]
    return render_template("auth/link_refused.html", message=message), status

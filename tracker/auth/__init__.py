"""Signing in and out, the first-run setup, and one's own password."""

from flask import Blueprint, Flask, redirect, request, url_for
from werkzeug.wrappers import Response

from tracker.auth.models import User
from tracker.extensions import db, login_manager

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    pk, _, token = user_id.partition(":")
    if not pk.isdigit() or not token:
        return None
    user = db.session.get(User, int(pk))
    if user is None or not user.active or user.session_token != token:
        return None
    return user


def init_app(app: Flask) -> None:
    from tracker.auth import routes  # noqa: F401  (registers the views)
    from tracker.auth.services import users_exist

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.register_blueprint(bp)

    @app.before_request
    def first_run_setup() -> Response | None:
        # Until the first admin exists, every page leads to the setup page.
        if request.endpoint in ("auth.setup", "static", "health") or users_exist():
            return None
        return redirect(url_for("auth.setup"))

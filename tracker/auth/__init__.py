"""Signing in and out, the first-run setup, and one's own password."""

from datetime import timedelta

from flask import Blueprint, Flask, redirect, request, session, url_for
from werkzeug.wrappers import Response

from tracker.auth.models import User
from tracker.extensions import db, login_manager
from tracker.sqltypes import utcnow

bp = Blueprint("auth", __name__)


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    pk, _, token = user_id.partition(":")
    if not pk.isdigit() or not token:
        return None
    user = db.session.get(User, int(pk))
    if user is None or not user.active or user.session_token != token:
        return None
    # The signed cookie must also name a session that is still open on the server.
    from tracker.auth.services import live_session

    record = live_session(session.get("sid"), user)
    if record is None:
        return None
    now = utcnow()
    if now - record.last_seen_at > LAST_SEEN_PRECISION:
        record.last_seen_at = now
        db.session.commit()
    return user


# How stale a session's "last seen" may get before a request writes it again.
LAST_SEEN_PRECISION = timedelta(minutes=5)


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

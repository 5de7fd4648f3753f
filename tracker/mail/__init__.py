"""Correspondence: the emails an agency and the team exchange about a request."""

from flask import Blueprint

bp = Blueprint("mail", __name__)

from tracker.mail import outbox_routes, routes, status  # noqa: E402,F401

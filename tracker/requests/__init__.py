"""Records requests: the list, the detail page with its timeline, creating and editing."""

from flask import Blueprint

bp = Blueprint("requests", __name__, url_prefix="/requests")

from tracker.requests import routes  # noqa: E402,F401

"""The agency directory."""

from flask import Blueprint

bp = Blueprint("agencies", __name__, url_prefix="/agencies")

from tracker.agencies import routes  # noqa: E402,F401

"""Coalition members that file requests under their own letterhead."""

from flask import Blueprint

bp = Blueprint("organizations", __name__, url_prefix="/organizations")

from tracker.organizations import routes  # noqa: E402,F401

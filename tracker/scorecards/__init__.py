"""Agency scorecards."""

from flask import Blueprint

bp = Blueprint("scorecards", __name__)

from tracker.scorecards import routes  # noqa: E402,F401

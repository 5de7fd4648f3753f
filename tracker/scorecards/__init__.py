"""Agency scorecards."""

from flask import Blueprint

bp = Blueprint("scorecards", __name__)

# figures keeps each request's scorecard row in step with every flush that changes it.
from tracker.scorecards import figures, routes  # noqa: E402,F401

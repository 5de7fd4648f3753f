"""Fees of a request: estimates, waivers asked and decided, payments, and what they mean."""

from flask import Blueprint

bp = Blueprint("fees", __name__, url_prefix="/requests")

from tracker.fees import routes  # noqa: E402,F401

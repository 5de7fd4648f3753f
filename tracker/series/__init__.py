"""Requests that repeat: a series drafts the next period's request from the same letter."""

from flask import Blueprint

bp = Blueprint("series", __name__)

from tracker.series import routes  # noqa: E402,F401

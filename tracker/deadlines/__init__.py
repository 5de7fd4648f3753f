"""Deadlines: the engine, agency calendars, the "Due & overdue" board, feeds and reminders."""

from flask import Blueprint

bp = Blueprint("deadlines", __name__)

from tracker.deadlines import feed, routes, services  # noqa: E402,F401

"""Full-text search: one box that finds any word in requests, letters, responses,
notes and the text of documents."""

from flask import Blueprint

bp = Blueprint("search", __name__)

from tracker.search import routes  # noqa: E402,F401

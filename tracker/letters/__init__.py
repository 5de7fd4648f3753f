"""The letter library, drafting letters, and printing them."""

from flask import Blueprint

bp = Blueprint("letters", __name__)

from tracker.letters import routes  # noqa: E402,F401

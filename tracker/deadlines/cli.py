"""``tracker deadline``, ``tracker overdue`` and ``tracker remind``."""

from flask import Flask


def register(app: Flask) -> None:
    """Add the deadline commands to the ``tracker`` command."""

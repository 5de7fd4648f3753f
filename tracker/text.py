"""Small helpers for user-typed text."""

from typing import Any

from sqlalchemy import ColumnElement, or_


def like_pattern(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its own % and _ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_text(text: str, *columns: Any) -> ColumnElement[bool]:
    """True where any of the columns contains ``text``, ignoring case."""
    pattern = like_pattern(text)
    return or_(*(column.ilike(pattern, escape="\\") for column in columns))


def strip(value: str | None) -> str | None:
    """A form filter: typed text without the spaces around it."""
    return value.strip() if isinstance(value, str) else value

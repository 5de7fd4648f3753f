"""Small helpers for user-typed text."""

from decimal import Decimal
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


def spreadsheet_safe(value: object) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula.

    Text starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what
    spreadsheets take for a formula (or a command), so it gets a leading apostrophe and
    reads as text. Numbers the tracker writes itself, such as -14 days, stay numbers.
    """
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text

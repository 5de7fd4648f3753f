"""What people type, kept to what the database and the calendar can hold.

A number in an address (``?page=``, ``?agency=``, ``/agencies/<id>``) larger than an
id column holds, a date in year 1 or 9999, or a NUL character is not something a
person means; left alone it reaches SQLite or PostgreSQL (out of range; PostgreSQL
cannot store a NUL) or date arithmetic (past 9999-12-31) and fails there. These
helpers turn it into "not given", "not found" or a message on the form instead.
"""

from datetime import date
from decimal import Decimal
from typing import IO, Any

import wtforms
from flask import Request
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from werkzeug.routing import IntegerConverter, UnicodeConverter
from wtforms.validators import ValidationError

from tracker.money import AmountError, parse_amount

# The largest id an INTEGER column holds on PostgreSQL; page numbers stay below it too,
# so that an offset (page x at most 100 rows) fits the 64-bit numbers both databases use.
LARGEST = 2**31 - 1

FIRST_DAY = date(1900, 1, 1)
LAST_DAY = date(2100, 12, 31)


def whole_number(value: str) -> int:
    """A number from the query string, for ``request.args.get(..., type=whole_number)``.

    Raises ValueError (which makes ``get`` return its default) for anything that is not
    a plain number of at most ``LARGEST`` either way, such as ``²`` or 10**20.
    """
    text = value.strip()
    if not text.lstrip("-").isascii() or not text.lstrip("-").isdigit():
        raise ValueError(f"not a whole number: {value!r}")
    number = int(text)
    if abs(number) > LARGEST:
        raise ValueError(f"out of range: {value!r}")
    return number


class IdConverter(IntegerConverter):
    """``<int:...>`` in a route: a number past what an id column holds is not found."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", LARGEST)
        super().__init__(map, *args, **kwargs)


class DateField(wtforms.DateField):
    """A date field that takes only days between 1900 and 2100.

    Records requests, letters and documents of the tracker fall in these years; a date
    outside them is a typing mistake (0026 for 2026), and one near 9999 would break the
    deadline arithmetic.
    """

    data: Any

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            self.data = None
            raise ValueError(f"Enter a date between {FIRST_DAY.year} and {LAST_DAY.year}.")


def spelled(day: date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def tracker_today() -> date:
    # Imported when called: the letters package loads the models, and they load this module.
    from tracker.letters.services import local_today

    return local_today()


class NotAfterToday:
    """What was sent, received or happened cannot bear a date after today.

    Today as the tracker sees it (``TRACKER_TODAY`` when set): a future "sent" or
    "received" date would move a deadline ahead and hide an overdue request.
    """

    def __call__(self, form: wtforms.Form, field: wtforms.Field) -> None:
        today = tracker_today()
        if isinstance(field.data, date) and field.data > today:
            raise ValidationError(f"This date cannot be after today ({spelled(today)}).")


class NotBeforeToday:
    """A date still to come, such as the day by which an agency must comply."""

    def __call__(self, form: wtforms.Form, field: wtforms.Field) -> None:
        today = tracker_today()
        if isinstance(field.data, date) and field.data < today:
            raise ValidationError(f"This date cannot be before today ({spelled(today)}).")


def without_nul(value: Any) -> Any:
    return value.replace("\x00", "") if isinstance(value, str) else value


class TextWithoutNul(ImmutableMultiDict[str, Any]):
    """Query string and form fields as read, with any NUL character taken out."""

    def __init__(self, mapping: Any = None) -> None:
        items = MultiDict(mapping).items(multi=True) if mapping is not None else []
        super().__init__([(without_nul(key), without_nul(value)) for key, value in items])


class TrackerRequest(Request):
    """No NUL reaches a view: no one types one, and PostgreSQL cannot store it.

    A file in a form is written no further than one byte past the upload limit, and
    is closed with the request (which removes it from the staging folder unless it
    was stored).
    """

    parameter_storage_class = TextWithoutNul

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        from tracker.limits import file_stream

        stream = file_stream()
        # Kept to be closed with the request: also one a form cut short never handed over.
        self.__dict__.setdefault("file_streams", []).append(stream)
        return stream

    def close(self) -> None:
        try:
            super().close()
        finally:
            for stream in self.__dict__.pop("file_streams", []):
                stream.close()


class PathPart(UnicodeConverter):
    """A ``<name>`` in a route matches no NUL: such an address is not found."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


class AmountField(wtforms.StringField):
    """Dollars and cents as typed; ``amount`` holds the parsed value, the text stays."""

    amount: Decimal | None = None

    def pre_validate(self, form: Any) -> None:
        self.amount = None
        try:
            self.amount = parse_amount(self.data or "")
        except AmountError as error:
            raise ValidationError(str(error)) from error

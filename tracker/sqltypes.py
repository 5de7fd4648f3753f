"""Column types shared by the models."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context
from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

# Where the coalition works: the zone of every day and time the tracker shows.
LOCAL_ZONE = ZoneInfo("America/Los_Angeles")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend.

    SQLite keeps no offset, so values are normalised to UTC on the way in and
    given the UTC offset back on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC one is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, for every timestamp the tracker records.

    When ``TRACKER_TODAY`` fixes the day (tests, demos), now is the clock's time of day
    in Los Angeles on that day, so what is recorded reads as happening on it.
    """
    now = datetime.now(UTC)
    fixed = current_app.config.get("TODAY") if has_app_context() else None
    if isinstance(fixed, date):
        local = now.astimezone(LOCAL_ZONE)
        now = datetime.combine(fixed, local.time(), LOCAL_ZONE).astimezone(UTC)
    return now

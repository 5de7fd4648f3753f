"""An agency's own calendar, and the reminders already sent."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracker.auth.models import enum_column
from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow


class DayKind(StrEnum):
    CLOSED = "closed"
    OPEN = "open"

    @property
    def label(self) -> str:
        return {"closed": "Closed", "open": "Open (not a holiday here)"}[self.value]


class AgencyCalendarDay(Model):
    """A day an agency's office is closed beyond its law's calendar, or open on one of its
    holidays; staff enter these with a note (Code Civ. Proc. § 12b)."""

    __tablename__ = "agency_calendar_days"
    __table_args__ = (UniqueConstraint("agency_id", "day", name="uq_agency_calendar_days_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[DayKind] = mapped_column(enum_column(DayKind, 10))
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReminderLog(Model):
    """One reminder about one request sent to one person on one day."""

    __tablename__ = "reminder_logs"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "request_id", "reason", "sent_on", name="uq_reminder_logs_once"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"))
    reason: Mapped[str] = mapped_column(String(20))
    sent_on: Mapped[date] = mapped_column(Date)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BoardTally(Model):
    """How many requests the board counts on each day, kept by the database's triggers on
    ``records_requests`` in the same transaction as every write (migration 0019).

    ``kind`` "due": requests waiting for a determination, by their due date; "promised":
    open requests, by the day records were promised; "answered": by the determination's
    day. A section's count is a sum over days before or after today, so it stays right
    as the days pass, and costs the number of days, not the number of requests.
    """

    __tablename__ = "board_tallies"

    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    requests: Mapped[int] = mapped_column(default=0)

"""A series of requests that repeat each period, and its periods.

A series starts from a sent request drafted from a letter template with a date range:
each period the worker drafts the same letter for the period's dates, for the same
agency, and leaves it a draft for a person to finalize. A series may name a report the
agency must produce each period; staff mark which released document was it.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.agencies.models import Agency
from tracker.auth.models import User, enum_column
from tracker.documents.models import Document
from tracker.extensions import Model
from tracker.publishing.models import public_key
from tracker.requests.models import RecordsRequest
from tracker.sqltypes import UTCDateTime, utcnow


class Cadence(StrEnum):
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half-year"
    YEAR = "year"
    # Periods that end on dates listed by hand, such as the Commission's schedule.
    DATES = "dates"

    @property
    def label(self) -> str:
        return CADENCE_LABELS[self]


CADENCE_LABELS = {
    Cadence.MONTH: "Every month",
    Cadence.QUARTER: "Every quarter",
    Cadence.HALF_YEAR: "Every half-year",
    Cadence.YEAR: "Every year",
    Cadence.DATES: "On dates I list",
}


class RequestSeries(Model):
    __tablename__ = "request_series"

    id: Mapped[int] = mapped_column(primary_key=True)
    source_request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    # The letter each period's request is drafted from, with the source letter's values.
    template_slug: Mapped[str] = mapped_column(String(80))
    field_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    cadence: Mapped[Cadence] = mapped_column(enum_column(Cadence, 20))
    # For "dates": the last day of each period, as YYYY-MM-DD, in order.
    period_ends: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The day after the source request's records end.
    first_start_on: Mapped[date] = mapped_column(Date)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The report the agency must produce each period; empty when none is named.
    report_name: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    stop_reason: Mapped[str] = mapped_column(Text, default="")
    # Shown as one page in the public room while published and not withdrawn.
    public_key: Mapped[str] = mapped_column(String(24), unique=True, default=public_key)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    source_request: Mapped[RecordsRequest] = relationship()
    agency: Mapped[Agency] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    stopped_by: Mapped[User | None] = relationship(foreign_keys=[stopped_by_id])
    periods: Mapped[list["SeriesPeriod"]] = relationship(
        back_populates="series", order_by="SeriesPeriod.start_on"
    )

    @property
    def active(self) -> bool:
        return self.stopped_at is None

    @property
    def published(self) -> bool:
        return self.published_at is not None and self.withdrawn_at is None

    @property
    def listed_ends(self) -> list[date]:
        return [date.fromisoformat(day) for day in self.period_ends]


class SeriesPeriod(Model):
    __tablename__ = "series_periods"
    __table_args__ = (
        UniqueConstraint("series_id", "start_on", name="uq_series_periods_series_id_start_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    series_id: Mapped[int] = mapped_column(ForeignKey("request_series.id"))
    start_on: Mapped[date] = mapped_column(Date)
    end_on: Mapped[date] = mapped_column(Date, index=True)
    # The period's request, once the worker has drafted it.
    request_id: Mapped[int | None] = mapped_column(ForeignKey("records_requests.id"), unique=True)
    drafted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the assignee was emailed about the drafted request (kept to try again).
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The released document staff marked as the period's report.
    report_document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    report_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    report_marked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    series: Mapped[RequestSeries] = relationship(back_populates="periods")
    request: Mapped[RecordsRequest | None] = relationship()
    report_document: Mapped[Document | None] = relationship()
    report_marked_by: Mapped[User | None] = relationship()

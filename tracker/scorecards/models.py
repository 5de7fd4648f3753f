"""What the scorecards count, one narrow row per request (and per exemption it had cited
against it), kept in step with the requests in the transaction that changes them.

A scorecard groups every request of a period by agency. Read from the requests, their
responses, items, answers and citations, that costs several hundred milliseconds at a
hundred thousand requests; read from these rows, through indexes that hold every column
a scorecard's statement needs, it costs a few tens. tracker/scorecards/figures.py
works each row out from the tables it summarises, whenever one of them changes.
"""

from datetime import date

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import Model


class RequestFigures(Model):
    """One request as a scorecard counts it."""

    __tablename__ = "request_figures"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("records_requests.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[int] = mapped_column(Integer)
    organization_id: Mapped[int | None] = mapped_column(Integer)
    # Sent, or received when no sent date is known: what a period's dates select on.
    filed_on: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[str] = mapped_column(String(500), default="")
    # Days from receipt (or sending) to the first determination and to the last release.
    first_days: Mapped[int | None] = mapped_column(Integer)
    release_days: Mapped[int | None] = mapped_column(Integer)
    # Determined on or before the deadline; the deadline; and the deadline again while the
    # request waits for its determination, which makes it overdue once the day has passed.
    within: Mapped[int] = mapped_column(Integer, default=0)
    due_on: Mapped[date | None] = mapped_column(Date)
    open_due_on: Mapped[date | None] = mapped_column(Date)
    items: Mapped[int] = mapped_column(Integer, default=0)
    items_released: Mapped[int] = mapped_column(Integer, default=0)
    items_partial: Mapped[int] = mapped_column(Integer, default=0)
    items_withheld: Mapped[int] = mapped_column(Integer, default=0)
    items_no_records: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (
        # Each of the scorecard's three statements scans one of these and nothing else.
        Index(
            "ix_request_figures_first",
            "agency_id", "first_days", "filed_on", "organization_id", "within", "due_on",
            "open_due_on", "tags",
        ),
        Index(
            "ix_request_figures_release",
            "agency_id", "release_days", "filed_on", "organization_id", "tags",
        ),
        Index(
            "ix_request_figures_items",
            "agency_id", "filed_on", "organization_id", "items", "items_released",
            "items_partial", "items_withheld", "items_no_records", "tags",
        ),
    )  # fmt: skip


class CitationFigures(Model):
    """How often one request had one exemption (or a reason that is none) cited."""

    __tablename__ = "citation_figures"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("records_requests.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[int] = mapped_column(Integer)
    organization_id: Mapped[int | None] = mapped_column(Integer)
    filed_on: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[str] = mapped_column(String(500), default="")
    law: Mapped[str] = mapped_column(String(20))
    # Empty for a reason that is no exemption, which is counted apart and flagged.
    code: Mapped[str] = mapped_column(String(60))
    flagged: Mapped[bool] = mapped_column(Boolean)
    times: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        Index(
            "ix_citation_figures_cited",
            "law", "code", "flagged", "agency_id", "filed_on", "organization_id", "times",
            "tags",
        ),
    )  # fmt: skip

"""Records requests, the organizations that file them, and their timelines."""

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.agencies.models import Agency
from tracker.auth.models import User, enum_column
from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow

if TYPE_CHECKING:
    from tracker.letters.models import Letter, RequestGroup


class RequestStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACKNOWLEDGED = "acknowledged"
    EXTENDED = "extended"
    RECORDS_DUE = "records_due"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    WAITING_ON_US = "waiting_on_us"
    APPEALED = "appealed"
    IN_LITIGATION = "in_litigation"
    FULFILLED = "fulfilled"
    DENIED = "denied"
    NO_RECORDS = "no_records"
    WITHDRAWN = "withdrawn"
    ABANDONED = "abandoned"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_closed(self) -> bool:
        return self in CLOSED_STATUSES


STATUS_LABELS = {
    RequestStatus.DRAFT: "Draft",
    RequestStatus.SENT: "Sent",
    RequestStatus.ACKNOWLEDGED: "Acknowledged",
    RequestStatus.EXTENDED: "Extended",
    RequestStatus.RECORDS_DUE: "Records due",
    RequestStatus.PARTIALLY_FULFILLED: "Partially fulfilled",
    RequestStatus.WAITING_ON_US: "Waiting on us",
    RequestStatus.APPEALED: "Appealed",
    RequestStatus.IN_LITIGATION: "In litigation",
    RequestStatus.FULFILLED: "Closed: fulfilled",
    RequestStatus.DENIED: "Closed: denied",
    RequestStatus.NO_RECORDS: "Closed: no responsive records",
    RequestStatus.WITHDRAWN: "Closed: withdrawn",
    RequestStatus.ABANDONED: "Closed: abandoned",
}

CLOSED_STATUSES = frozenset(
    {
        RequestStatus.FULFILLED,
        RequestStatus.DENIED,
        RequestStatus.NO_RECORDS,
        RequestStatus.WITHDRAWN,
        RequestStatus.ABANDONED,
    }
)


class Organization(Model):
    """A coalition member that files requests under its own letterhead."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    mailing_address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    # The people who sign letters for the organization, one per line.
    signers: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Organization {self.name}>"

    @property
    def signer_list(self) -> list[str]:
        return [line.strip() for line in self.signers.splitlines() if line.strip()]


class ReferenceCounter(Model):
    """The last reference number given out in a year."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_number: Mapped[int] = mapped_column(default=0)


class RecordsRequest(Model):
    __tablename__ = "records_requests"
    __table_args__ = (
        UniqueConstraint("year", "number", name="uq_records_requests_year_number"),
        # The board filtered by person and agency at once.
        Index("ix_records_requests_assignee_agency", "assignee_id", "agency_id"),
        # The board filtered by a tag: the tagged requests only, with what their sections
        # are counted from, so the count reads this index and not the table.
        Index(
            "ix_records_requests_tagged",
            "tags",
            "status",
            "determination_on",
            "due_on",
            "records_promised_on",
            sqlite_where=text("tags != ''"),
            postgresql_where=text("tags != ''"),
        ),  # fmt: skip
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(30), unique=True)
    year: Mapped[int]
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"), index=True)
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    requester_name: Mapped[str] = mapped_column(String(200), default="")
    records_sought: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[RequestStatus] = mapped_column(
        enum_column(RequestStatus), default=RequestStatus.DRAFT, index=True
    )
    agency_tracking_number: Mapped[str] = mapped_column(String(100), default="")
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    group_id: Mapped[int | None] = mapped_column(ForeignKey("request_groups.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    sent_on: Mapped[date | None] = mapped_column(Date)
    received_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    # The agency's answer: its determination, and the date it promised the records.
    determination_on: Mapped[date | None] = mapped_column(Date)
    records_promised_on: Mapped[date | None] = mapped_column(Date)
    # An extension as the agency gave it; the engine decides what it is worth.
    extension_notice_on: Mapped[date | None] = mapped_column(Date)
    extension_claimed_on: Mapped[date | None] = mapped_column(Date)
    extension_written: Mapped[bool] = mapped_column(default=True)
    # Derived by the deadline engine whenever the request or its calendar changes;
    # stored so lists can sort and filter by it.
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    # Lowercase tags between commas (",ice,u-visa,") so one LIKE finds a tag.
    tags: Mapped[str] = mapped_column(String(500), default="")

    agency: Mapped[Agency] = relationship()
    organization: Mapped[Organization | None] = relationship()
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    events: Mapped[list["RequestEvent"]] = relationship(
        back_populates="request", order_by="RequestEvent.id", cascade="all, delete-orphan"
    )
    letters: Mapped[list["Letter"]] = relationship(order_by="Letter.id")
    group: Mapped["RequestGroup | None"] = relationship()

    @property
    def initial_letter(self) -> "Letter | None":
        return next((letter for letter in self.letters if letter.kind == "initial"), None)

    @property
    def current_letter(self) -> "Letter | None":
        return self.letters[-1] if self.letters else None

    def __repr__(self) -> str:
        return f"<RecordsRequest {self.reference}>"

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.tags.split(",") if tag]


class RequestEvent(Model):
    """One entry on a request's timeline: who did what, when, and why."""

    __tablename__ = "request_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    # A list of {"field", "old", "new"} with display values.
    changes: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[RecordsRequest] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

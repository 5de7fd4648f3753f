"""One email, in or out, kept whole: its raw bytes in storage, what it says in the row."""

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, Date, ForeignKey, String, Text, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User, enum_column
from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow

if TYPE_CHECKING:
    from tracker.documents.models import AgencyResponse, Document
    from tracker.letters.models import Letter
    from tracker.requests.models import RecordsRequest

# What RFC 5322 allows on a line: a header longer than this is cut when it is kept.
HEADER_LIMIT = 998


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class MailState(StrEnum):
    FILED = "filed"
    # In the holding pen: it matched no request and waits for someone to place it.
    HELD = "held"
    DISCARDED = "discarded"


class MailSource(StrEnum):
    UPLOAD = "upload"
    IMAP = "imap"
    SMTP = "smtp"


class SuggestionState(StrEnum):
    """What became of the response a message suggests (a portal's notice, say)."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


class SendState(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"


class Correspondence(Model):
    """An email about a request, or one waiting in the holding pen (no request yet)."""

    __tablename__ = "correspondence"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("records_requests.id"), index=True)
    direction: Mapped[Direction] = mapped_column(enum_column(Direction, 10))
    state: Mapped[MailState] = mapped_column(enum_column(MailState, 20), index=True)
    message_id: Mapped[str] = mapped_column(String(HEADER_LIMIT), default="", index=True)
    in_reply_to: Mapped[str] = mapped_column(String(HEADER_LIMIT), default="")
    references: Mapped[str] = mapped_column(Text, default="")
    from_address: Mapped[str] = mapped_column(String(HEADER_LIMIT), default="")
    to_addresses: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    # From the Date header, as the sender's machine gave it: not to be trusted blindly.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The plain text of the body; an HTML body is reduced to its text and never kept as HTML.
    text: Mapped[str] = mapped_column(Text, default="")
    # What could not be read of the message, for the person looking at it.
    notes: Mapped[str] = mapped_column(Text, default="")
    raw_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    raw_size: Mapped[int]
    raw_storage_backend: Mapped[str] = mapped_column(String(20))
    raw_storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    source: Mapped[MailSource] = mapped_column(enum_column(MailSource, 20))
    discard_reason: Mapped[str] = mapped_column(Text, default="")
    discarded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    discarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A portal's notification (NextRequest, GovQA): which portal, what it announced,
    # the portal's request number, the link it gave and the due date it named.
    portal: Mapped[str] = mapped_column(String(40), default="")
    portal_event: Mapped[str] = mapped_column(String(40), default="")
    portal_number: Mapped[str] = mapped_column(String(100), default="")
    portal_link: Mapped[str] = mapped_column(Text, default="")
    portal_due_on: Mapped[date | None] = mapped_column(Date)
    # The response entry the message suggests (a ResponseKind value), and what staff
    # made of it; a confirmed one points at the response it became.
    suggested_kind: Mapped[str] = mapped_column(String(30), default="")
    suggestion_state: Mapped[SuggestionState | None] = mapped_column(
        enum_column(SuggestionState, 20)
    )
    response_id: Mapped[int | None] = mapped_column(ForeignKey("agency_responses.id"))
    # A message in needs an answer from us until someone answers or settles it.
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    answer_note: Mapped[str] = mapped_column(Text, default="")

    request: Mapped["RecordsRequest | None"] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    discarded_by: Mapped[User | None] = relationship(foreign_keys=[discarded_by_id])
    answered_by: Mapped[User | None] = relationship(foreign_keys=[answered_by_id])
    response: Mapped["AgencyResponse | None"] = relationship()
    attachments: Mapped[list["Document"]] = relationship(
        back_populates="correspondence", order_by="Document.id"
    )

    @classmethod
    def needs_answer_clause(cls) -> ColumnElement[bool]:
        """A message in, filed on a request, that nobody has answered or settled yet."""
        return and_(
            cls.direction == Direction.IN,
            cls.state == MailState.FILED,
            cls.answered_at.is_(None),
        )

    @property
    def needs_answer(self) -> bool:
        return (
            self.direction == Direction.IN
            and self.state == MailState.FILED
            and self.answered_at is None
        )

    @property
    def when(self) -> datetime:
        """When it was sent, as far as is known: its Date, else when it was filed."""
        return self.sent_at or self.created_at


class OutgoingEmail(Model):
    """A letter sent by email: queued once, sent by the worker, recorded when accepted.

    One per letter, so pressing "Send" twice or a job run twice sends it once. The
    Message-ID is made when it is queued and kept through every try.
    """

    __tablename__ = "outgoing_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    letter_id: Mapped[int] = mapped_column(ForeignKey("letters.id"), unique=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    state: Mapped[SendState] = mapped_column(enum_column(SendState, 20), index=True)
    message_id: Mapped[str] = mapped_column(String(HEADER_LIMIT))
    from_address: Mapped[str] = mapped_column(String(HEADER_LIMIT), default="")
    reply_to: Mapped[str] = mapped_column(String(HEADER_LIMIT), default="")
    to_addresses: Mapped[str] = mapped_column(Text, default="")
    subject: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    # The server's last refusal, or why it could not be reached, in its own words.
    error: Mapped[str] = mapped_column(Text, default="")
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    queued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    correspondence_id: Mapped[int | None] = mapped_column(ForeignKey("correspondence.id"))

    letter: Mapped["Letter"] = relationship()
    request: Mapped["RecordsRequest"] = relationship()
    queued_by: Mapped[User | None] = relationship()
    correspondence: Mapped[Correspondence | None] = relationship()


class MailFetch(Model):
    """One look at the mailbox, by the worker or by hand: what it found and how it ended."""

    __tablename__ = "mail_fetches"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # "worker" or "command"
    trigger: Mapped[str] = mapped_column(String(20), default="")
    seen: Mapped[int] = mapped_column(default=0)
    filed: Mapped[int] = mapped_column(default=0)
    held: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    refused: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")

"""One email, in or out, kept whole: its raw bytes in storage, what it says in the row."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User, enum_column
from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow

if TYPE_CHECKING:
    from tracker.documents.models import Document
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

    request: Mapped["RecordsRequest | None"] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    discarded_by: Mapped[User | None] = relationship(foreign_keys=[discarded_by_id])
    attachments: Mapped[list["Document"]] = relationship(
        back_populates="correspondence", order_by="Document.id"
    )

    @property
    def when(self) -> datetime:
        """When it was sent, as far as is known: its Date, else when it was filed."""
        return self.sent_at or self.created_at

"""What is published in the public records room, kept apart from the request and its
documents: a public page reads these rows and the few fields they open, nothing else.

A request is published with its own public key (the name in its public URL, never its
id or reference); so is each released document, one by one, at once or under an embargo
that lifts on a date. Withdrawing either keeps the row, with who, when and why.
"""

import secrets
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User
from tracker.documents.models import Document
from tracker.extensions import Model
from tracker.requests.models import RecordsRequest
from tracker.sqltypes import UTCDateTime, utcnow


def public_key() -> str:
    """A name for a public URL that says nothing of what it names and cannot be guessed."""
    return secrets.token_urlsafe(12)


class RequestPublication(Model):
    __tablename__ = "request_publications"
    # The room's list, newest first.
    __table_args__ = (Index("ix_request_publications_listed", "published_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), unique=True)
    public_key: Mapped[str] = mapped_column(String(24), unique=True, default=public_key)
    # What the public page says of the request, in staff's words.
    summary: Mapped[str] = mapped_column(Text, default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")

    request: Mapped[RecordsRequest] = relationship()
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])


class DocumentPublication(Model):
    __tablename__ = "document_publications"
    # The feed: the newest by publication, and by the day an embargo lifts.
    __table_args__ = (
        Index("ix_document_publications_published", "published_at", "public_key"),
        Index("ix_document_publications_lifted", "embargo_until", "public_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), unique=True)
    public_key: Mapped[str] = mapped_column(String(24), unique=True, default=public_key)
    # How many passages that look personal the person publishing was shown and passed.
    findings_seen: Mapped[int] = mapped_column(default=0)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Public from this day on (the daily job notes the day on the timeline).
    embargo_until: Mapped[date | None] = mapped_column(Date)
    embargo_lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    withdraw_reason: Mapped[str] = mapped_column(Text, default="")

    document: Mapped[Document] = relationship()
    published_by: Mapped[User | None] = relationship(foreign_keys=[published_by_id])
    withdrawn_by: Mapped[User | None] = relationship(foreign_keys=[withdrawn_by_id])

    def is_public(self, today: date) -> bool:
        return self.withdrawn_at is None and (
            self.embargo_until is None or self.embargo_until <= today
        )

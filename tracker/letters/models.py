"""Letters on requests, groups of requests drafted together, and remembered requesters."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User, enum_column
from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow


class LetterState(StrEnum):
    DRAFT = "draft"
    FINAL = "final"
    SENT = "sent"

    @property
    def label(self) -> str:
        return {"draft": "Draft", "final": "Final, ready to send", "sent": "Sent"}[self.value]


class Channel(StrEnum):
    MAIL = "mail"
    EMAIL = "email"
    PORTAL = "portal"
    FAX = "fax"
    IN_PERSON = "in_person"

    @property
    def label(self) -> str:
        return {
            "mail": "Mail",
            "email": "Email",
            "portal": "Web portal",
            "fax": "Fax",
            "in_person": "In person",
        }[self.value]

    @property
    def sent_phrase(self) -> str:
        """How a letter sent this way went, as a later letter says it."""
        return {
            "mail": "sent by mail",
            "email": "sent by email",
            "portal": "submitted through the online portal",
            "fax": "sent by fax",
            "in_person": "delivered in person",
        }[self.value]


class RequestGroup(Model):
    """Requests drafted together from one letter, one per agency."""

    __tablename__ = "request_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Letter(Model):
    """One letter of a request: the initial request, a follow-up, a demand, an appeal.

    While a draft, it renders from its template and field values. Finalizing
    freezes the whole printed document, so later edits to the template, the
    agency or the requester never change what was sent.
    """

    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    template_slug: Mapped[str] = mapped_column(String(80))
    template_version: Mapped[int]
    template_hash: Mapped[str] = mapped_column(String(32))
    field_values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Who the letter is from, as typed when drafting.
    sender: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    state: Mapped[LetterState] = mapped_column(
        enum_column(LetterState, 20), default=LetterState.DRAFT
    )
    subject: Mapped[str] = mapped_column(Text, default="")
    document_html: Mapped[str] = mapped_column(Text, default="")
    letter_date: Mapped[date | None] = mapped_column(Date)
    finalized_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finalized_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sent_on: Mapped[date | None] = mapped_column(Date)
    sent_via: Mapped[Channel | None] = mapped_column(enum_column(Channel, 20))
    # How it is to go, chosen when drafting; none: the agency's usual way.
    channel: Mapped[Channel | None] = mapped_column(enum_column(Channel, 20, "letterchannel"))
    # The printed letter kept among the request's documents when it was finalized,
    # and the documents sent with it (an appeal encloses the determination).
    document_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    enclosure_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Filed through the agency's portal: which portal, and the confirmation it gave.
    portal_name: Mapped[str] = mapped_column(String(300), default="")
    portal_confirmation: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def is_draft(self) -> bool:
        return self.state == LetterState.DRAFT


class RequesterProfile(Model):
    """How a person signs for an organization, remembered for their next letter."""

    __tablename__ = "requester_profiles"
    __table_args__ = (
        UniqueConstraint("user_id", "organization_key", name="uq_requester_profiles_user_org"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # The organization's id, or 0 for letters sent in one's own name.
    organization_key: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    signature: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

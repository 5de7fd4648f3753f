"""What agencies send back: responses, and the documents they release."""

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User, enum_column
from tracker.documents.filetypes import type_label
from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow

if TYPE_CHECKING:
    from tracker.mail.models import Correspondence


class ResponseKind(StrEnum):
    ACKNOWLEDGMENT = "acknowledgment"
    EXTENSION = "extension"
    FEE_ESTIMATE = "fee_estimate"
    CLARIFICATION = "clarification"
    DETERMINATION = "determination"
    PARTIAL_RELEASE = "partial_release"
    FULL_RELEASE = "full_release"
    DENIAL = "denial"
    NO_RECORDS = "no_records"
    OTHER = "other"

    @property
    def label(self) -> str:
        return RESPONSE_LABELS[self]


RESPONSE_LABELS = {
    ResponseKind.ACKNOWLEDGMENT: "Acknowledgment",
    ResponseKind.EXTENSION: "Extension notice",
    ResponseKind.FEE_ESTIMATE: "Fee estimate",
    ResponseKind.CLARIFICATION: "Clarification request",
    ResponseKind.DETERMINATION: "Determination",
    ResponseKind.PARTIAL_RELEASE: "Partial release",
    ResponseKind.FULL_RELEASE: "Full release",
    ResponseKind.DENIAL: "Denial",
    ResponseKind.NO_RECORDS: "No responsive records",
    ResponseKind.OTHER: "Other",
}


class ResponseChannel(StrEnum):
    EMAIL = "email"
    MAIL = "mail"
    PORTAL = "portal"
    PHONE = "phone"
    IN_PERSON = "in_person"

    @property
    def label(self) -> str:
        return {
            "email": "Email",
            "mail": "Mail",
            "portal": "Web portal",
            "phone": "Phone",
            "in_person": "In person",
        }[self.value]


class Disposition(StrEnum):
    RELEASED = "released"
    REDACTED = "redacted"
    WITHHELD = "withheld"


class TextState(StrEnum):
    """Where reading a document's text stands: it is read by a job after the upload."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class AgencyResponse(Model):
    """One answer from the agency, as logged by the team."""

    __tablename__ = "agency_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    kind: Mapped[ResponseKind] = mapped_column(enum_column(ResponseKind, 30))
    received_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[ResponseChannel] = mapped_column(enum_column(ResponseChannel, 20))
    agency_tracking_number: Mapped[str] = mapped_column(String(100), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    exemptions: Mapped[str] = mapped_column(Text, default="")
    # One installment of a rolling production, and the date the agency promises the next.
    installment: Mapped[bool] = mapped_column(default=False)
    next_promised_on: Mapped[date | None] = mapped_column(Date)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    created_by: Mapped[User | None] = relationship()
    documents: Mapped[list["Document"]] = relationship(
        back_populates="response", order_by="Document.id"
    )


class Document(Model):
    """A stored file: kept under a generated key, never under the name it came with."""

    __tablename__ = "documents"
    __table_args__ = (
        UniqueConstraint("request_id", "sha256", name="uq_documents_request_sha256"),
        Index("ix_documents_sha256", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    response_id: Mapped[int | None] = mapped_column(ForeignKey("agency_responses.id"))
    # The email it came attached to.
    correspondence_id: Mapped[int | None] = mapped_column(ForeignKey("correspondence.id"))
    title: Mapped[str] = mapped_column(String(300))
    original_filename: Mapped[str] = mapped_column(String(255))
    storage_backend: Mapped[str] = mapped_column(String(20))
    storage_key: Mapped[str] = mapped_column(String(200), unique=True)
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(100))
    document_date: Mapped[date | None] = mapped_column(Date)
    disposition: Mapped[Disposition] = mapped_column(
        enum_column(Disposition, 20), default=Disposition.RELEASED
    )
    public: Mapped[bool] = mapped_column(default=False)
    page_count: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text, default="")
    needs_ocr: Mapped[bool] = mapped_column(default=False)
    text_state: Mapped[TextState] = mapped_column(
        enum_column(TextState, 20), default=TextState.DONE
    )
    # Why the text could not be read, when the job gave up.
    text_error: Mapped[str] = mapped_column(Text, default="")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    delete_reason: Mapped[str] = mapped_column(Text, default="")

    response: Mapped[AgencyResponse | None] = relationship(back_populates="documents")
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    correspondence: Mapped["Correspondence | None"] = relationship(back_populates="attachments")

    @property
    def type_label(self) -> str:
        """The file's type as people name it: "PDF", "Word document", "JPEG image"."""
        return type_label(self.media_type)

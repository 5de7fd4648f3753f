"""Items, how each response answers them, the exemptions cited, and fees.

A request's records sought are a numbered list of items. A response answers some of
them, each in its own way (released, withheld under an exemption, no records…); the
item's state follows from the answers it has had. Fees are kept per request.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import Column, Date, ForeignKey, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tracker.auth.models import User, enum_column
from tracker.extensions import Model
from tracker.sqltypes import UTCDateTime, utcnow

if TYPE_CHECKING:
    from tracker.documents.models import AgencyResponse, Document
    from tracker.requests.models import RecordsRequest


class ItemState(StrEnum):
    PENDING = "pending"
    RELEASED = "released"
    PARTIAL = "partial"
    WITHHELD = "withheld"
    NO_RECORDS = "no_records"
    CLARIFICATION = "clarification"
    WITHDRAWN = "withdrawn"

    @property
    def label(self) -> str:
        return ITEM_STATE_LABELS[self]

    @property
    def is_settled(self) -> bool:
        """Nothing more is owed on it: released in full, withheld, none, or withdrawn."""
        return self in SETTLED_STATES


ITEM_STATE_LABELS = {
    ItemState.PENDING: "Pending",
    ItemState.RELEASED: "Released in full",
    ItemState.PARTIAL: "Released in part",
    ItemState.WITHHELD: "Withheld",
    ItemState.NO_RECORDS: "No records",
    ItemState.CLARIFICATION: "Clarification asked",
    ItemState.WITHDRAWN: "Withdrawn",
}

SETTLED_STATES = frozenset(
    {ItemState.RELEASED, ItemState.WITHHELD, ItemState.NO_RECORDS, ItemState.WITHDRAWN}
)


# Which documents answer which items: a released document may answer several.
document_items = Table(
    "document_items",
    Model.metadata,
    Column("document_id", ForeignKey("documents.id"), primary_key=True),
    Column("item_id", ForeignKey("request_items.id"), primary_key=True),
)


class RequestItem(Model):
    """One numbered item of what a request asks for."""

    __tablename__ = "request_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    # 1, 2, 3… in the order the letter lists them.
    position: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[ItemState] = mapped_column(
        enum_column(ItemState, 20), default=ItemState.PENDING, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    request: Mapped["RecordsRequest"] = relationship()
    answers: Mapped[list["ItemAnswer"]] = relationship(
        back_populates="item", order_by="ItemAnswer.id"
    )
    documents: Mapped[list["Document"]] = relationship(secondary=document_items)


class ItemAnswer(Model):
    """How one response answers one item: its outcome, and any exemptions cited."""

    __tablename__ = "item_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("agency_responses.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("request_items.id"), index=True)
    outcome: Mapped[ItemState] = mapped_column(enum_column(ItemState, 20, "itemoutcome"))
    note: Mapped[str] = mapped_column(Text, default="")

    item: Mapped[RequestItem] = relationship(back_populates="answers")
    response: Mapped["AgencyResponse"] = relationship()
    citations: Mapped[list["ExemptionCitation"]] = relationship(
        back_populates="answer", order_by="ExemptionCitation.id"
    )


class ExemptionCitation(Model):
    """An exemption an agency cited for withholding an item, or a reason that is none.

    ``code`` is the exemption's key in its law's list in laws.toml; a reason the law does
    not recognise ("overly broad", "burdensome") has no code and is flagged.
    """

    __tablename__ = "exemption_citations"

    id: Mapped[int] = mapped_column(primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("item_answers.id"), index=True)
    law: Mapped[str] = mapped_column(String(20))
    code: Mapped[str] = mapped_column(String(60), default="", index=True)
    # The agency's own words, when it gave any.
    reason: Mapped[str] = mapped_column(Text, default="")
    not_an_exemption: Mapped[bool] = mapped_column(default=False)

    answer: Mapped[ItemAnswer] = relationship(back_populates="citations")


class FeeKind(StrEnum):
    ESTIMATE = "estimate"
    WAIVER_REQUESTED = "waiver_requested"
    WAIVER_GRANTED = "waiver_granted"
    WAIVER_DENIED = "waiver_denied"
    PAYMENT = "payment"

    @property
    def label(self) -> str:
        return {
            "estimate": "Fee estimate",
            "waiver_requested": "Fee waiver asked",
            "waiver_granted": "Fee waiver granted",
            "waiver_denied": "Fee waiver denied",
            "payment": "Payment",
        }[self.value]


class Fee(Model):
    """One step of a request's fees: an estimate, a waiver asked or decided, a payment."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("records_requests.id"), index=True)
    kind: Mapped[FeeKind] = mapped_column(enum_column(FeeKind, 20))
    # In US dollars; none for a waiver asked or decided without an amount.
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    dated_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A step recorded by mistake is removed, not deleted: who, when and why stay.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    removal_reason: Mapped[str] = mapped_column(Text, default="")

    request: Mapped["RecordsRequest"] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    removed_by: Mapped[User | None] = relationship(foreign_keys=[removed_by_id])

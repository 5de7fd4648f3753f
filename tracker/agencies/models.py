"""Agencies that receive records requests."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import Model
from tracker.laws import all_laws
from tracker.sqltypes import UTCDateTime, utcnow

ROLES = ("records", "appeal", "counsel")


@dataclass(frozen=True)
class Contact:
    """Where one kind of letter to an agency goes: its records office, appeals or counsel."""

    role: str
    office: str
    mailing_address: str
    email: str
    portal_url: str
    fax: str
    salutation: str  # "" means the law's salutation

    @property
    def empty(self) -> bool:
        return not (self.mailing_address or self.email or self.portal_url or self.fax)


class Agency(Model):
    __tablename__ = "agencies"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Set for agencies shipped with the tracker; seeding finds them by it.
    slug: Mapped[str | None] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    short_name: Mapped[str] = mapped_column(String(40), default="")
    law: Mapped[str] = mapped_column(String(20))
    jurisdiction: Mapped[str] = mapped_column(String(200), default="")
    records_office: Mapped[str] = mapped_column(String(200), default="")
    mailing_address: Mapped[str] = mapped_column(Text, default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    portal_url: Mapped[str] = mapped_column(String(500), default="")
    phone: Mapped[str] = mapped_column(String(60), default="")
    fax: Mapped[str] = mapped_column(String(60), default="")
    # "the" or "": "a request to the Los Angeles Police Department" but "to Los Angeles
    # World Airports".
    article: Mapped[str] = mapped_column(String(10), default="")
    salutation: Mapped[str] = mapped_column(String(200), default="")
    # Where an administrative appeal goes (FOIA: 6 C.F.R. 5.8(a)(1)).
    appeal_office: Mapped[str] = mapped_column(String(300), default="")
    appeal_address: Mapped[str] = mapped_column(Text, default="")
    appeal_email: Mapped[str] = mapped_column(String(254), default="")
    appeal_portal_url: Mapped[str] = mapped_column(String(500), default="")
    appeal_salutation: Mapped[str] = mapped_column(String(200), default="")
    # The agency's head or counsel, to whom a pre-litigation demand goes.
    counsel_office: Mapped[str] = mapped_column(String(300), default="")
    counsel_address: Mapped[str] = mapped_column(Text, default="")
    counsel_email: Mapped[str] = mapped_column(String(254), default="")
    counsel_salutation: Mapped[str] = mapped_column(String(200), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    # Once someone edits a shipped agency, seeding leaves it alone.
    locally_modified: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Agency {self.display_name}>"

    @property
    def display_name(self) -> str:
        return f"{self.name} ({self.short_name})" if self.short_name else self.name

    @property
    def in_sentence(self) -> str:
        """The name as it reads inside a sentence, with its article."""
        return f"{self.article} {self.name}" if self.article else self.name

    def contact(self, role: str) -> Contact:
        if role == "records":
            return Contact(
                role=role,
                office=self.records_office,
                mailing_address=self.mailing_address,
                email=self.email,
                portal_url=self.portal_url,
                fax=self.fax,
                salutation=self.salutation,
            )
        if role == "appeal":
            return Contact(
                role=role,
                office=self.appeal_office,
                mailing_address=self.appeal_address,
                email=self.appeal_email,
                portal_url=self.appeal_portal_url,
                fax="",
                salutation=self.appeal_salutation,
            )
        if role == "counsel":
            return Contact(
                role=role,
                office=self.counsel_office,
                mailing_address=self.counsel_address,
                email=self.counsel_email,
                portal_url="",
                fax="",
                salutation=self.counsel_salutation,
            )
        raise ValueError(f"Unknown contact role {role!r}; expected one of {ROLES}.")

    @property
    def law_name(self) -> str:
        law = all_laws().get(self.law)
        return law.name if law else self.law

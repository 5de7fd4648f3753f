"""Agencies that receive records requests."""

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracker.extensions import Model
from tracker.laws import all_laws
from tracker.sqltypes import UTCDateTime, utcnow


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
    def law_name(self) -> str:
        law = all_laws().get(self.law)
        return law.name if law else self.law

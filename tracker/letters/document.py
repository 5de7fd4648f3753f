"""A letter as one HTML document, the single input to printing."""

from dataclasses import dataclass
from datetime import date
from importlib.resources import files

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from tracker.letters.library import format_date

# What may follow a name after a comma and still be part of it, not a title.
NAME_SUFFIXES = {"jr", "sr", "ii", "iii", "iv", "esq", "phd", "ph.d", "jd", "j.d", "md", "m.d"}


def signature_lines(signature: str) -> list[str]:
    """A signature line as it prints: the name, then the title or position below it.

    People write "Ana Ruiz, Policy Director" (the form and the organizations' signers
    ask for that); a suffix such as "Jr." or "Esq." stays with the name.
    """
    parts = [part.strip() for part in signature.split(",")]
    taken = 1
    while taken < len(parts) and parts[taken].casefold().rstrip(".") in NAME_SUFFIXES:
        taken += 1
    name, title = ", ".join(parts[:taken]), ", ".join(p for p in parts[taken:] if p)
    return [name, title] if title else [name]


@dataclass(frozen=True)
class Sender:
    name: str
    organization: str = ""
    address: str = ""
    email: str = ""
    phone: str = ""
    signature: str = ""

    @property
    def signature_lines(self) -> list[str]:
        """Under the signature: the signature line split into name and title, or the name.

        A signature line that is the organization's name prints whole.
        """
        if not self.signature:
            return [self.name]
        if self.signature == self.organization:
            return [self.signature]
        return signature_lines(self.signature)

    @property
    def address_lines(self) -> list[str]:
        return [line.strip() for line in self.address.splitlines() if line.strip()]

    def as_dict(self) -> dict[str, str]:
        return {
            "name": self.name,
            "organization": self.organization,
            "address": self.address,
            "email": self.email,
            "phone": self.phone,
            "signature": self.signature,
        }


@dataclass(frozen=True)
class Recipient:
    name: str
    records_office: str = ""
    address: str = ""
    email: str = ""
    portal_url: str = ""

    @property
    def lines(self) -> list[str]:
        lines = [self.name]
        if self.records_office:
            lines.append(self.records_office)
        address = [line.strip() for line in self.address.splitlines() if line.strip()]
        if address:
            lines.extend(address)
        elif self.email:
            lines.append(f"By email: {self.email}")
        elif self.portal_url:
            lines.append(f"Via the online portal: {self.portal_url}")
        return lines


@dataclass(frozen=True)
class LetterParts:
    reference: str
    subject: str
    salutation: str
    body_html: str
    sender: Sender
    recipient: Recipient
    letter_date: date
    agency_tracking_number: str = ""
    # A draft prints marked as one on every page; a finalized letter never is.
    draft: bool = False


_layout = Environment(autoescape=True, undefined=StrictUndefined).from_string(
    files("tracker.letters").joinpath("assets/letter.html").read_text("utf-8")
)


def document_html(parts: LetterParts) -> str:
    """The whole letter: letterhead, date, window address, subject, body, signature."""
    return _layout.render(
        letter={
            "reference": parts.reference,
            "subject": parts.subject,
            "salutation": parts.salutation,
            # The body comes from the sandbox, where every value was escaped.
            "body_html": Markup(parts.body_html),  # noqa: S704
            "sender": parts.sender,
            "recipient_lines": parts.recipient.lines,
            "letter_date": format_date(parts.letter_date),
            "agency_tracking_number": parts.agency_tracking_number,
            "draft": parts.draft,
        }
    )

"""A letter as one HTML document, the single input to printing."""

import io
import math
import re
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib.resources import files

from fontTools.ttLib import TTFont
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


CHANNELS = ("mail", "email", "portal", "fax", "in_person")


@dataclass(frozen=True)
class Recipient:
    name: str
    records_office: str = ""
    address: str = ""
    email: str = ""
    portal_url: str = ""
    fax: str = ""
    # How the letter goes: one of CHANNELS. The window shows the way it is sent.
    channel: str = "mail"

    @property
    def lines(self) -> list[str]:
        lines = [self.name]
        if self.records_office:
            lines.append(self.records_office)
        return lines + self.delivery_lines

    @property
    def delivery_lines(self) -> list[str]:
        """Where the letter goes by its channel; without that detail, the address, the
        email or the portal, whichever the agency has."""
        address = [line.strip() for line in self.address.splitlines() if line.strip()]
        email = [f"By email: {self.email}"] if self.email else []
        portal = [f"Via the online portal: {self.portal_url}"] if self.portal_url else []
        fax = [f"By fax: {self.fax}"] if self.fax else []
        chosen = {
            "mail": address,
            "in_person": address,
            "email": email,
            "portal": portal,
            "fax": fax,
        }.get(self.channel, [])
        return chosen or address or email or portal or fax


# The window of a #10 envelope, in points on the sheet; letter.css explains the figures
# and places the block to match. The test of the layout measures the printed PDF.
WINDOW_WIDTH = 4.25 * 72  # the window's 4 1/2 in less 1/8 in clearance each side
WINDOW_HEIGHT = 0.875 * 72  # from 2 1/8 in (the first glyphs' top) to 3 in (the block's foot)
FONT_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0)
LINE_HEIGHT = 1.15
# Where a word too long for the window (a portal's address) may be cut.
CUT_AFTER = "/.-?&=_@"


@dataclass(frozen=True)
class FontMetrics:
    units_per_em: int
    ascent: int
    descent: int
    advances: dict[int, int]

    def width(self, text: str, size: float) -> float:
        # A character the font lacks prints from another font: count it a full em.
        units = sum(self.advances.get(ord(char), self.units_per_em) for char in text)
        return units * size / self.units_per_em

    def half_leading(self, size: float) -> float:
        return (LINE_HEIGHT * size - (self.ascent + self.descent) * size / self.units_per_em) / 2


@cache
def window_font() -> FontMetrics:
    """The metrics of the font the window block prints in, read from the font itself."""
    data = files("tracker.letters").joinpath("assets/fonts/LiberationSerif-Regular.ttf")
    font = TTFont(io.BytesIO(data.read_bytes()))
    hmtx = font["hmtx"]
    return FontMetrics(
        units_per_em=font["head"].unitsPerEm,
        ascent=font["hhea"].ascent,
        descent=-font["hhea"].descent,
        advances={code: hmtx[glyph][0] for code, glyph in font.getBestCmap().items()},
    )


@dataclass(frozen=True)
class WindowBlock:
    """The recipient as it prints in the window: each of its lines in the pieces it
    wraps to, and the type size. A piece cut at a space keeps the space, so that the
    pieces joined give the line back."""

    wrapped: tuple[tuple[str, ...], ...]
    font_size: float
    fits: bool

    @property
    def lines(self) -> list[str]:
        """The lines as they print, one under the other."""
        return [piece.rstrip() for pieces in self.wrapped for piece in pieces]


def _block_height(count: int, size: float) -> float:
    # The block stands on the window's lower margin; above it, the first line's glyphs
    # reach the top of its line box less the half-leading.
    return count * LINE_HEIGHT * size - window_font().half_leading(size)


def most_window_lines(size: float = FONT_SIZES[-1]) -> int:
    font = window_font()
    return math.floor((WINDOW_HEIGHT + font.half_leading(size)) / (LINE_HEIGHT * size))


def _cut(word: str, size: float) -> int:
    """Where to cut a word wider than the window: after the last punctuation that fits,
    or else after the last character that does."""
    font = window_font()
    fitting = 1
    while fitting < len(word) and font.width(word[: fitting + 1], size) <= WINDOW_WIDTH:
        fitting += 1
    for at in range(fitting, 1, -1):
        if word[at - 1] in CUT_AFTER:
            return at
    return fitting


def wrap_line(line: str, size: float) -> tuple[str, ...]:
    """One line of the address in pieces that fit the window's width, cut between words."""
    font = window_font()
    wrapped: list[str] = []
    current = ""
    for word in line.split():
        candidate = f"{current} {word}" if current else word
        if font.width(candidate, size) <= WINDOW_WIDTH:
            current = candidate
            continue
        if current:
            wrapped.append(f"{current} ")
        while font.width(word, size) > WINDOW_WIDTH:
            at = _cut(word, size)
            wrapped.append(word[:at])
            word = word[at:]
        current = word
    if current:
        wrapped.append(current)
    return tuple(wrapped)


def window_block(lines: list[str]) -> WindowBlock:
    """The largest type in which the lines, wrapped to the window's width, fit its height."""
    block = WindowBlock((), FONT_SIZES[0], True)
    for size in FONT_SIZES:
        block = WindowBlock(tuple(wrap_line(line, size) for line in lines), size, True)
        if _block_height(len(block.lines), size) <= WINDOW_HEIGHT:
            return block
    return WindowBlock(block.wrapped, block.font_size, False)


def window_problems(recipient: Recipient) -> list[str]:
    """Why the recipient's block cannot show whole in the envelope's window, if it cannot."""
    lines = recipient.lines
    block = window_block(lines)
    if block.fits:
        return []
    most = most_window_lines()
    smallest = f"{FONT_SIZES[-1]:g}-point type"
    if len(lines) > most:
        return [
            f"The address has {len(lines)} lines; a window envelope shows at most {most}, "
            f"even in {smallest}."
        ]
    return [
        f"The address takes {len(block.lines)} lines once its long lines wrap to the "
        f"window's width; a window envelope shows at most {most}, even in {smallest}. "
        "Shorten the agency's name, its office or its address."
    ]


# Citations --------------------------------------------------------------------

NO_BREAK_SPACE = "\u00a0"
WORD_JOINER = "\u2060"
# The name of a code before "§": "5 U.S.C.", "6 C.F.R.", "Gov. Code", "Code Civ. Proc.".
_CODE_WORD = r"(?:\d+|[A-Z][A-Za-z]*\.(?:[A-Z]\.)*|Code|Penal|&amp;|&)"
_CODE = re.compile(rf"(?:{_CODE_WORD}[ \t\r\n]+)+(?=§)")
_SECTION = re.compile(r"(§§?)[ \t\r\n]+")
# A section with its subsections: "552(a)(3)(C)", "7922.535(b)-(c)".
_CHAIN = re.compile(r"\d[\w.]*(?:\([0-9A-Za-z]{1,8}\))+(?:[-–]\([0-9A-Za-z]{1,8}\))*")
_JOINS = re.compile(r"(?<=.)(?=[(\-–])|(?<=[\-–])")
_TAG = re.compile(r"(<[^>]*>)")


def bind_citations(text: str) -> str:
    """Plain text whose citations cannot break across lines: "Gov. Code § 7922.535(b)"
    prints on one line. A no-break space binds the code's name and the section sign to
    the number; a word joiner, which prints as nothing, holds the subsections together."""
    text = _CODE.sub(lambda m: re.sub(r"[ \t\r\n]+", NO_BREAK_SPACE, m.group()), text)
    text = _SECTION.sub(rf"\1{NO_BREAK_SPACE}", text)
    return _CHAIN.sub(lambda m: _JOINS.sub(WORD_JOINER, m.group()), text)


def bind_citations_html(html: str) -> str:
    """The same in HTML, in its text only: the body is sanitized, so every "<" opens a tag."""
    return "".join(
        part if part.startswith("<") else bind_citations(part) for part in _TAG.split(html)
    )


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
    # What is sent with the letter, one line each (an appeal encloses the determination).
    enclosures: tuple[str, ...] = ()


_layout = Environment(autoescape=True, undefined=StrictUndefined).from_string(
    files("tracker.letters").joinpath("assets/letter.html").read_text("utf-8")
)


def document_html(parts: LetterParts) -> str:
    """The whole letter: letterhead, date, window address, subject, body, signature."""
    return _layout.render(
        letter={
            "reference": parts.reference,
            "subject": bind_citations(parts.subject),
            "salutation": parts.salutation,
            # The body comes from the sandbox, where every value was escaped.
            "body_html": Markup(bind_citations_html(parts.body_html)),  # noqa: S704
            "sender": parts.sender,
            "recipient": window_block(parts.recipient.lines),
            "letter_date": format_date(parts.letter_date),
            "agency_tracking_number": parts.agency_tracking_number,
            "draft": parts.draft,
            "enclosures": parts.enclosures,
        }
    )

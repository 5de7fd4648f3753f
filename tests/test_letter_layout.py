"""The printed letter, measured in the PDF: the address shows in a #10 window envelope
and nothing else does, citations hold together, and the closing never stands alone.

Positions are read back from the PDF's text operators and given in inches from the
sheet's top-left corner, as a ruler on the printed sheet would give them.
"""

import io
from dataclasses import dataclass
from datetime import date
from functools import cache, cached_property

import pytest
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from tests.letters_support import pdf_page_texts, pdf_text
from tracker import PROJECT_ROOT
from tracker.letters.document import (
    LetterParts,
    Recipient,
    Sender,
    document_html,
    window_problems,
)
from tracker.letters.pdf import letters_pdf
from tracker.letters.services import compose, library

FONTS = PROJECT_ROOT / "tracker" / "letters" / "assets" / "fonts"

# The window of a #10 envelope (9 1/2 x 4 1/8 in): 4 1/2 x 1 1/8 in, 7/8 in from the
# left edge and 1/2 in from the bottom. On the sheet folded in thirds (a 3 2/3 in
# packet), it lies at x 0.875-5.375 in and y 2.0-3.125 in with the packet resting on
# the envelope's bottom; the packet can rise 0.46 in, and the window then reaches down
# to 3.625 in. The address keeps 1/8 in clear of the window's edges.
WINDOW_LEFT, WINDOW_RIGHT = 0.875, 5.375
WINDOW_TOP, WINDOW_BOTTOM = 2.0, 3.125
WINDOW_LOWEST = 3.625
CLEAR = 0.125

SENDER = Sender(
    name="Ana Ruiz",
    organization="Coalition for Humane Immigrant Rights",
    address="2533 West Third Street, Suite 101\nLos Angeles, CA 90057",
    email="ana@example.org",
    phone="(213) 555-0199",
    signature="Ana Ruiz, Policy Director",
)

LAPD = Recipient(
    name="Los Angeles Police Department",
    portal_url="https://lapdonlinestrgeacc.nextrequest.com/",
    channel="portal",
)
CITY_ATTORNEY = Recipient(
    name="Los Angeles City Attorney",
    records_office="Freedom of Information Unit",
    address="200 North Main Street\nCity Hall East, Room 800\nLos Angeles, CA 90012",
)
CITY_CLERK = Recipient(
    name=(
        "Los Angeles City Council / Office of the City Clerk, Council and Public Services Division"
    ),
    records_office=(
        "Records Management Division, Public Records Act Requests, Research and Archives Section"
    ),
    address="200 North Spring Street, Room 395\nLos Angeles, CA 90012",
)
TOO_TALL = Recipient(
    name="County of Los Angeles Sheriff's Department",
    records_office="Discovery Unit, Risk Management Bureau",
    address=(
        "Attention: Custodian of Records\nHall of Justice\n211 West Temple Street\n"
        "Mail Stop 42\nFourth Floor, Room 400\nLos Angeles, CA 90012"
    ),
)


@dataclass(frozen=True)
class Fragment:
    """One run of text as printed: where its baseline starts, in inches, and its size."""

    text: str
    x: float
    baseline: float
    size: float
    bold: bool

    @cached_property
    def metrics(self) -> tuple[float, float, float]:
        """The run's width, and how far its glyphs reach above and below the baseline."""
        font = regular_font() if not self.bold else bold_font()
        em = font["head"].unitsPerEm
        cmap, hmtx = font.getBestCmap(), font["hmtx"]
        units = sum(hmtx[cmap[ord(c)]][0] if ord(c) in cmap else em for c in self.text)
        points = self.size / em
        return (
            units * points / 72,
            font["hhea"].ascent * points / 72,
            -font["hhea"].descent * points / 72,
        )

    @property
    def right(self) -> float:
        return self.x + self.metrics[0]

    @property
    def top(self) -> float:
        return self.baseline - self.metrics[1]

    @property
    def bottom(self) -> float:
        return self.baseline + self.metrics[2]


@cache
def regular_font() -> TTFont:
    return TTFont(FONTS / "LiberationSerif-Regular.ttf")


@cache
def bold_font() -> TTFont:
    return TTFont(FONTS / "LiberationSerif-Bold.ttf")


def fragments(pdf: bytes, page: int = 0) -> list[Fragment]:
    """Every run of text on a page, read from the PDF's own operators."""
    reader = PdfReader(io.BytesIO(pdf))
    sheet = reader.pages[page]
    height = float(sheet.mediabox.height)
    found: list[Fragment] = []

    def visit(text, cm, tm, font, size):
        if not text.strip() or font is None:
            return
        # The text matrix, then the current transformation: PDF points from bottom-left.
        a, b, c, d, e, f = tm
        ca, cb, cc, cd, ce, cf = cm
        x = e * ca + f * cc + ce
        y = e * cb + f * cd + cf
        scale = abs(d * cd + c * cb)
        found.append(
            Fragment(
                text=text.strip(),
                x=x / 72,
                baseline=(height - y) / 72,
                size=round(size * scale, 2),
                bold="Bold" in str(font.get("/BaseFont", "")),
            )
        )

    sheet.extract_text(visitor_text=visit)
    return found


def letter(recipient: Recipient, body: str = "<p>Please send the records.</p>", **more) -> str:
    parts = LetterParts(
        reference=more.pop("reference", "LA-2026-0042"),
        subject=more.pop("subject", "Public records request: stop data"),
        salutation="Dear Custodian of Records:",
        body_html=body,
        sender=more.pop("sender", SENDER),
        recipient=recipient,
        letter_date=date(2026, 3, 2),
        **more,
    )
    return document_html(parts)


def laid_out(recipient: Recipient) -> tuple[list[Fragment], list[Fragment]]:
    """The window block's lines, and everything else on the first page.

    Read top to bottom, the sheet has the letterhead and the date, then the block, then
    the "Re:" line: the block is what prints below the date and above the subject."""
    runs = fragments(letters_pdf([letter(recipient)]))
    [date_line] = [run for run in runs if run.text == "March 2, 2026"]
    [subject] = [run for run in runs if run.text.startswith("Re:")]
    block = sorted(
        (run for run in runs if date_line.baseline < run.baseline < subject.baseline),
        key=lambda run: run.baseline,
    )
    return block, [run for run in runs if run not in block]


@pytest.mark.parametrize(
    "recipient", [LAPD, CITY_ATTORNEY, CITY_CLERK], ids=["lapd", "city-attorney", "city-clerk"]
)
def test_the_address_shows_whole_in_a_number_ten_window_and_nothing_else_does(recipient):
    assert window_problems(recipient) == []
    block, others = laid_out(recipient)
    assert block

    assert block[0].top >= WINDOW_TOP + CLEAR, block[0]
    assert block[-1].bottom <= WINDOW_BOTTOM - CLEAR, block[-1]
    for line in block:
        assert line.x >= WINDOW_LEFT + CLEAR - 0.001, line
        assert line.right <= WINDOW_RIGHT - CLEAR, line
    assert len({line.size for line in block}) == 1
    assert 8 <= block[0].size <= 10

    # Every word the agency's entry gives is in the window, in order, none cut off.
    printed = " ".join(line.text for line in block)
    expected = " ".join(recipient.lines)
    assert "".join(printed.split()) == "".join(expected.split())

    # However the packet sits, the window shows the block and nothing more.
    subject = next(run for run in others if run.text.startswith("Re:"))
    assert subject.top >= WINDOW_LOWEST
    for run in others:
        in_band = run.bottom > WINDOW_TOP and run.top < WINDOW_LOWEST
        in_width = run.right > WINDOW_LEFT and run.x < WINDOW_RIGHT
        assert not (in_band and in_width), run


def test_a_long_agency_name_wraps_and_a_tall_block_prints_smaller():
    block, _ = laid_out(CITY_CLERK)
    assert len(block) > len(CITY_CLERK.lines)
    assert block[0].text.startswith("Los Angeles City Council /")
    assert block[0].text != CITY_CLERK.name

    attorney, _ = laid_out(CITY_ATTORNEY)
    assert [line.text for line in attorney] == CITY_ATTORNEY.lines
    portal, _ = laid_out(LAPD)
    assert [line.text for line in portal] == [
        "Los Angeles Police Department",
        "Via the online portal: https://lapdonlinestrgeacc.nextrequest.com/",
    ]
    # Five lines print at 10 pt; the clerk's four, wrapped to six, at 9 pt.
    assert {line.size for line in attorney} == {10}
    assert len(block) == 6 and {line.size for line in block} == {9}


def test_an_address_too_tall_for_the_window_is_refused_with_the_reason():
    problems = window_problems(TOO_TALL)
    assert problems == [
        "The address has 8 lines; a window envelope shows at most 6, even in 8-point type."
    ]
    wrapped = Recipient(
        name="Los Angeles County Metropolitan Transportation Authority, Records Management "
        "Center, Public Records Act Coordinator for the Office of the Chief Executive Officer "
        "and the Board of Directors",
        records_office="Office of the County Counsel, Government Services Division, "
        "Public Records and Information Practices Section",
        address="One Gateway Plaza, Mail Stop 99-PL-4, Records Management Center\n"
        "Los Angeles, CA 90012-2952",
    )
    [problem] = window_problems(wrapped)
    assert problem.startswith("The address takes 7 lines ")
    assert "once its long lines wrap to the window's width" in problem
    assert window_problems(CITY_ATTORNEY) == []


def test_the_window_names_the_way_the_letter_is_sent():
    agency = {
        "name": "Los Angeles World Airports",
        "records_office": "Public Records Unit",
        "address": "1 World Way\nLos Angeles, CA 90045",
        "email": "records@lawa.example",
        "portal_url": "https://lawa.example/records",
        "fax": "(424) 646-0000",
    }
    office = ["Los Angeles World Airports", "Public Records Unit"]
    address = ["1 World Way", "Los Angeles, CA 90045"]
    assert Recipient(**agency).lines == office + address
    assert Recipient(**agency, channel="in_person").lines == office + address
    assert Recipient(**agency, channel="email").lines == office + ["By email: records@lawa.example"]
    assert Recipient(**agency, channel="portal").lines == office + [
        "Via the online portal: https://lawa.example/records"
    ]
    assert Recipient(**agency, channel="fax").lines == office + ["By fax: (424) 646-0000"]
    # Without the chosen channel's detail: the address, else the email, else the portal.
    bare = {"name": "LAWA", "email": "records@lawa.example", "portal_url": "https://p.example"}
    assert Recipient(**bare, channel="fax").lines == ["LAWA", "By email: records@lawa.example"]
    assert Recipient(**bare, channel="mail").lines == ["LAWA", "By email: records@lawa.example"]
    assert Recipient(name="LAWA", portal_url="https://p.example", channel="email").lines == [
        "LAWA",
        "Via the online portal: https://p.example",
    ]


def test_a_shipped_letter_to_the_city_attorney_prints_its_address_in_the_window(app, make_agency):
    template = library().get("cpra-ice-communications")
    agency = make_agency(
        name=CITY_ATTORNEY.name,
        records_office=CITY_ATTORNEY.records_office,
        mailing_address=CITY_ATTORNEY.address,
    )
    preview = compose(
        template, template.example_values(), agency, SENDER, None, date(2026, 3, 2), "LA-7"
    )
    runs = fragments(letters_pdf([preview.html]))
    block = [run for run in runs if run.text in CITY_ATTORNEY.lines]
    assert [run.text for run in block] == CITY_ATTORNEY.lines
    assert block[0].top >= WINDOW_TOP + CLEAR
    assert block[-1].bottom <= WINDOW_BOTTOM - CLEAR
    subject = next(run for run in runs if run.text.startswith("Re:"))
    assert subject.top >= WINDOW_LOWEST


# Citations and the closing -------------------------------------------------------

CITATIONS = ("5 U.S.C. § 552(a)(3)(C)", "Gov. Code § 7922.535(b)-(c)")


def test_a_citation_at_the_end_of_a_line_moves_whole_to_the_next():
    # The same sentence with the citations a character further along each time: one of
    # them falls on the end of the line, whatever the line's width.
    paragraphs = [
        f"<p>We ask again, as we did in our letter, {'x' * k} under {CITATIONS[0]} and "
        f"{CITATIONS[1]}, for the records in the form they are kept.</p>"
        for k in range(0, 48, 2)
    ]
    pdf = letters_pdf(
        [letter(CITY_ATTORNEY, "".join(paragraphs), subject=f"Records under {CITATIONS[0]}")]
    )
    text = pdf_text(pdf)
    assert "\u2060" not in text and "\ufffd" not in text
    lines = [line.replace("\u00a0", " ") for line in text.splitlines()]
    assert f"Re: Records under {CITATIONS[0]}" in lines
    body = [line for line in lines if not line.startswith("Re:")]
    for citation in CITATIONS:
        assert sum(line.count(citation) for line in body) == len(paragraphs), citation


def test_the_closing_keeps_to_the_last_paragraph_and_gives_the_contact_details():
    # Letters a line longer each: for one of them the body ends just where the page
    # has no room left for "Sincerely," and the signature below it.
    documents = [
        letter(
            CITY_ATTORNEY,
            "".join(f"<p>Body paragraph {n} of the letter.</p>" for n in range(count)),
            reference=f"LA-{count}",
        )
        for count in range(14, 26)
    ]
    pages = pdf_page_texts(letters_pdf(documents))
    closing_pages = [page for page in pages if "Sincerely," in page]
    assert len(closing_pages) == len(documents)
    assert any("Page 2 of 2" in page for page in closing_pages)
    for page in closing_pages:
        assert "Body paragraph" in page, page

    closing = closing_pages[0].split("Sincerely,")[1]
    assert closing.split("\n")[1:8] == [
        "Ana Ruiz",
        "Policy Director",
        "Coalition for Humane Immigrant Rights",
        "2533 West Third Street, Suite 101",
        "Los Angeles, CA 90057",
        "ana@example.org",
        "(213) 555-0199",
    ]


def test_a_citation_binds_only_the_text_of_the_body():
    from tracker.letters.document import bind_citations_html

    html = "<p>Under <em>Gov. Code § 7922.535(b)-(c)</em> and §§ 12, 12a.</p><ul><li>x</li></ul>"
    bound = bind_citations_html(html)
    assert bound.replace("\u00a0", " ").replace("\u2060", "") == html
    assert "Gov.\u00a0Code\u00a0§\u00a07922.535\u2060(b)\u2060-\u2060(c)" in bound
    assert "§§\u00a012, 12a" in bound
    assert "<em>" in bound and "<ul><li>x</li></ul>" in bound

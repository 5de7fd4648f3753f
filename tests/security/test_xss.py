"""Stored cross-site scripting: hostile text typed into the tracker is always shown as text.

Every value below is stored through the forms an attacker would use (a request's title and
tracking number, an agency's name, short name and address, a letter's field values, an
uploaded file's name, a timeline note, a response's summary, a person's name), then every page
that shows it is parsed: no element the value could have made may exist (no inline script, no
event-handler attribute, no injected image or SVG), and the value must be there, whole, as
text or as an attribute's value, proving the page did show it. The same values come out as
plain text in the printed letter, the calendar feed and the board's CSV export.
"""

import csv
import io
import re
import unicodedata
from datetime import date, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from icalendar import Calendar
from sqlalchemy import select

from tests.conftest import blank_pdf, csrf_token, post_form
from tests.letters_support import pdf_text, simple_letter, unspaced
from tests.publishing_support import publish, release, send_letter
from tests.test_feed import events, turn_on
from tracker.agencies.models import Agency
from tracker.auth.models import Role, User
from tracker.documents.models import Document
from tracker.extensions import db
from tracker.items.services import items_of
from tracker.publishing.models import DocumentPublication
from tracker.requests.models import RecordsRequest, RequestStatus

TODAY = date(2026, 12, 14)
# Breaks out of a textarea, a double- and a single-quoted attribute, and opens a script.
PAYLOAD = (
    "</textarea><script>alert(1)</script>\"><img src=x onerror=alert(1)>' onmouseover='alert(1)"
)
# A file's name keeps no folders, so its payload has no slash.
FILE_PAYLOAD = "\"><img src=x onerror=alert(1)>' onmouseover='alert(1) <svg onload=alert(1)>"
SHORT_PAYLOAD = '"><svg onload=alert(1)>'

TITLE = f"Title {PAYLOAD}"
AGENCY = f"Agency {PAYLOAD}"
SHORT = f"S{SHORT_PAYLOAD}"
# An address must fit an envelope window (lines of at most 60 characters): the payload is
# split over two lines, which together carry all of it.
ADDRESS_LINES = ("Address </textarea><script>alert(1)</script>", PAYLOAD.split("</script>", 1)[1])
ADDRESS = "\n".join(ADDRESS_LINES)
APPEAL = f"Appeal {PAYLOAD}"
COUNSEL = f"Counsel {PAYLOAD}"
TRACKING = f"Tracking {SHORT_PAYLOAD}"
FIELD = f"Field {PAYLOAD}"
DETAILS = f"Details {PAYLOAD}"
# The field as the test letter's body prints it (its subject prints it too).
BODY = f"please send Records about {FIELD} from January 1, 2024."
FILE = f"File {FILE_PAYLOAD}"
NOTE = f"Note {PAYLOAD}"
SUMMARY = f"Summary {PAYLOAD}"
ITEM = f"Item {PAYLOAD}"
FEE_NOTE = f"Fee {PAYLOAD}"
PERSON = f"Person {PAYLOAD}"


@pytest.fixture
def app(make_app):
    """The tracker on a fixed day, so the request below is overdue on the board."""
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


class Page(HTMLParser):
    """A page as a browser would build it: its elements, their attributes and the text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self.shown: list[str] = []
        self._in_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        self.shown.extend(value for _, value in attrs if value)
        self._in_script = tag == "script"

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self._in_script = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)
        else:
            self.shown.append(data)

    @property
    def text(self) -> str:
        # Joined without a gap: a highlight (<mark>) splits a value into pieces.
        return "".join(self.shown)


def assert_inert(html: str, where: str) -> Page:
    """No markup a stored value could have made: no inline script, no handler, no injected tag."""
    page = Page(html)
    for tag, attrs in page.elements:
        handlers = [name for name in attrs if name.startswith("on")]
        assert not handlers, f"{where}: <{tag}> has event handlers {handlers}"
        assert tag not in ("svg", "object", "embed"), f"{where}: an injected <{tag}>"
        if tag == "iframe":  # the document page's preview, and only in a sandbox
            assert "sandbox" in attrs and (attrs.get("src") or "").startswith("/documents/"), where
        assert not (tag == "img" and attrs.get("src") == "x"), f"{where}: an injected <img>"
        if tag == "script":
            assert (attrs.get("src") or "").startswith("/static/"), f"{where}: inline <script>"
    assert all(not script.strip() for script in page.scripts), f"{where}: a script has a body"
    for live in ("<script>alert", "<img src=x", "<svg onload", "</textarea><"):
        assert live not in html, f"{where} has {live!r} as markup"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html or "&lt;svg onload" in html, where
    return page


def assert_shown(page: Page, values: list[str], where: str) -> None:
    text = page.text
    for value in values:
        assert value in text, f"{where} does not show {value!r}"


def multipart(fields: dict[str, str], name: str, filename: str, data: bytes) -> tuple[bytes, str]:
    """A form with one file, its name quoted as RFC 7578 allows: a quote as backslash-quote.

    The test client would write the quote bare and cut the name short.
    """
    boundary = "hostile-boundary-7f3a"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    quoted = filename.replace("\\", "\\\\").replace('"', '\\"')
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{quoted}"\r\n'
        f"Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@pytest.fixture
def stage(app, client, auth, make_user):
    """Every hostile value stored through the forms, by a staff member with a hostile name."""
    staff = make_user(Role.STAFF, name=PERSON)
    auth.login(staff)
    simple_letter(app)

    response = post_form(
        client,
        "/agencies/new",
        {
            "name": AGENCY,
            "short_name": SHORT,
            "law": "ca-cpra",
            "mailing_address": ADDRESS,
            "appeal_office": APPEAL,
            "appeal_address": ADDRESS,
            "appeal_salutation": APPEAL,
            "counsel_office": COUNSEL,
            "counsel_address": ADDRESS,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    agency = db.session.scalar(select(Agency).where(Agency.name == AGENCY))

    draft = {
        "title": TITLE,
        "agencies": [str(agency.id)],
        "organization": "",
        "f_topic": FIELD,
        "f_date_from": "2024-01-01",
        "f_details": DETAILS,
        "f_fee_cap": "25",
        "requester_name": PERSON,
        "signature": PERSON,
        "requester_address": "100 Main Street",
        "requester_email": "ana@example.org",
        "requester_phone": "",
    }
    response = post_form(client, "/letters/test-simple/draft", {**draft, "save": "Save draft"})
    assert response.status_code == 302, response.get_data(as_text=True)
    record = db.session.scalars(select(RecordsRequest)).one()
    letter = record.initial_letter
    base = f"/requests/{record.reference}"
    response = post_form(
        client, f"{base}/items/add", {"description": ITEM}, token_from=f"{base}/items"
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    # Sent and received on Nov 17: due Nov 30, so overdue on Dec 14.
    response = post_form(
        client,
        f"{base}/edit",
        {
            "title": TITLE,
            "agency": str(agency.id),
            "organization": "",
            "requester_name": PERSON,
            "records_sought": record.records_sought,
            "status": RequestStatus.SENT.value,
            "agency_tracking_number": TRACKING,
            "assignee": str(staff.id),
            "sent_on": "2026-11-17",
            "received_on": "2026-11-17",
            "tags": "",
            "note": NOTE,
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    response = post_form(client, f"{base}/notes", {"note": NOTE}, token_from=base)
    assert response.status_code == 302
    fee = {"kind": "estimate", "amount": "12.50", "dated_on": "2026-11-20", "note": FEE_NOTE}
    response = post_form(client, f"{base}/fees", fee, token_from=base)
    assert response.status_code == 302
    fields = {
        "csrf_token": csrf_token(client, f"{base}/responses/new"),
        "kind": "other",
        "received_on": "2026-12-01",
        "channel": "email",
        "summary": SUMMARY,
        "exemptions": "",
    }
    body, content_type = multipart(fields, "files", f"{FILE}.pdf", blank_pdf())
    response = client.post(f"{base}/responses/new", data=body, content_type=content_type)
    assert response.status_code == 302
    document = db.session.scalars(select(Document)).one()
    assert document.original_filename == f"{FILE}.pdf" and document.title == FILE
    db.session.refresh(record)
    assert record.status == RequestStatus.SENT and record.due_on == date(2026, 11, 30)
    return {
        "staff": staff,
        "agency": agency,
        "record": record,
        "letter": letter,
        "document": document,
        "draft": draft,
        "item": items_of(record)[-1],
    }


SNIPPET = "\"><img src=x onerror=alert(1)>' onmouseover='alert"


def pages(stage: dict[str, Any]) -> dict[str, list[str]]:
    """Each page that shows the stored values, and the values it must show."""
    record, agency = stage["record"], stage["agency"]
    base = f"/requests/{record.reference}"
    letter = f"{base}/letters/{stage['letter'].id}"
    return {
        "/requests": [TITLE, AGENCY, SHORT, PERSON],
        f"/requests?q={record.reference}": [TITLE, AGENCY],
        base: [TITLE, AGENCY, SHORT, TRACKING, FIELD, FILE, NOTE, SUMMARY, PERSON, ITEM, FEE_NOTE],
        f"{base}/edit": [TITLE, AGENCY, TRACKING, FIELD, PERSON],
        f"{base}/items": [ITEM],
        f"{base}/items/{stage['item'].id}/reword": [ITEM],
        f"{base}/items/{stage['item'].id}/withdraw": [ITEM],
        "/agencies": [AGENCY, SHORT],
        f"/agencies/{agency.id}": [AGENCY, SHORT, *ADDRESS_LINES, APPEAL, COUNSEL],
        f"/agencies/{agency.id}/edit": [AGENCY, SHORT, *ADDRESS_LINES, APPEAL, COUNSEL],
        f"/agencies/{agency.id}/calendar": [AGENCY, SHORT],
        "/due?section=overdue": [TITLE, AGENCY, SHORT, PERSON],
        # Snippets are cut around the matches (and PostgreSQL drops what looks like a tag).
        "/search?q=alert": [TITLE, AGENCY, "Field ", "Note ", "Summary ", "Item ", SNIPPET],
        letter: [AGENCY, *ADDRESS_LINES, TRACKING, FIELD, BODY, DETAILS, PERSON],
        f"{letter}/edit": [AGENCY, FIELD, DETAILS, PERSON],
        f"/documents/{stage['document'].id}": [FILE],
        f"{base}/responses/new": [AGENCY, TRACKING],
        "/requests/new": [AGENCY, SHORT],
        "/deadline-calculator": [AGENCY, SHORT],
        "/letters/test-simple/draft": [AGENCY, SHORT],
        "/scorecards": [AGENCY, SHORT],
        f"/agencies/{agency.id}/scorecard": [AGENCY, SHORT],
    }


def test_every_page_shows_stored_hostile_values_as_text(client, auth, stage, make_user):
    for path, values in pages(stage).items():
        response = client.get(path)
        assert response.status_code == 200, path
        page = assert_inert(response.get_data(as_text=True), path)
        assert_shown(page, values, path)

    # The people admins manage, by name.
    auth.login(make_user(Role.ADMIN))
    for path in ("/admin/users", f"/admin/users/{stage['staff'].id}"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_shown(assert_inert(response.get_data(as_text=True), path), [PERSON], path)


def test_the_scorecards_charts_draw_agency_names_as_text(client, stage):
    agency = stage["agency"]
    for path in ("/scorecards/days.svg", f"/agencies/{agency.id}/scorecard/days.svg"):
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=True)
        chart = Page(body)
        for tag, attrs in chart.elements:
            assert not [name for name in attrs if name.startswith("on")], f"{path}: <{tag}>"
            assert tag not in ("script", "img", "foreignobject", "iframe"), f"{path}: <{tag}>"
    # The comparison names each agency, escaped.
    body = client.get("/scorecards/days.svg").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert AGENCY in Page(body).text


def test_the_invitation_pages_show_the_people_s_names_as_text(app, client, auth, make_user):
    admin = make_user(Role.ADMIN, name=f"Admin {PAYLOAD}")
    auth.login(admin)
    response = post_form(
        client,
        "/admin/users/new",
        {"name": PERSON, "email": "person@example.org", "role": "staff", "password": ""},
    )
    html = response.get_data(as_text=True)
    assert_shown(assert_inert(html, "the invitation link"), [PERSON], "the invitation link")
    link = re.search(r'id="account-link"[^>]*value="http://localhost([^"]+)"', html)
    assert link, "no link on the page"
    person = db.session.scalar(select(User).where(User.email == "person@example.org"))
    where = f"/admin/users/{person.id}"
    users_page = assert_inert(client.get(where).get_data(as_text=True), where)
    assert_shown(users_page, [PERSON, admin.name], where)
    # The admin opening it, and the person.
    for browser, what in ((client, "signed in"), (app.test_client(), "the link's page")):
        shown = assert_inert(browser.get(link.group(1)).get_data(as_text=True), what)
        assert_shown(shown, [admin.name if browser is not client else PERSON], what)


def test_the_letter_preview_and_the_upload_report_show_values_as_text(client, stage):
    draft = {**stage["draft"], "agencies": [str(stage["agency"].id)]}
    page = post_form(client, "/letters/test-simple/draft", {**draft, "preview": "Preview"})
    assert page.status_code == 200 and 'class="letter-sheet"' in page.get_data(as_text=True)
    shown = assert_inert(page.get_data(as_text=True), "preview")
    assert_shown(shown, [FIELD, BODY, DETAILS, AGENCY, *ADDRESS_LINES, PERSON], "preview")

    # A draft refused for a bad date comes back with every value the person typed.
    refused = post_form(
        client, "/letters/test-simple/draft", {**draft, "f_date_from": "x", "save": "Save"}
    )
    assert refused.status_code == 200
    shown = assert_inert(refused.get_data(as_text=True), "refused draft")
    assert_shown(shown, [TITLE, FIELD, DETAILS, PERSON], "refused draft")

    # A file refused for what it holds is named in the report, as text.
    base = f"/requests/{stage['record'].reference}"
    name = f"Refused {FILE_PAYLOAD}.html"
    body, content_type = multipart(
        {"csrf_token": csrf_token(client, base)},
        "files",
        name,
        b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    )
    response = client.post(
        f"{base}/documents", data=body, content_type=content_type, follow_redirects=True
    )
    page = assert_inert(response.get_data(as_text=True), "upload report")
    assert_shown(page, [f"Not stored: “{name}”"], "upload report")


def csv_cell(value: str) -> str:
    return '"' + value.replace('"', '""') + '"'


def test_an_imports_report_shows_titles_and_problems_as_text(client, auth, make_user, make_agency):
    make_agency(name=AGENCY, short_name=SHORT)
    auth.login(make_user(Role.STAFF))
    # The first row is good; the second names an agency that does not exist.
    sheet = (
        "title,agency,received_on\r\n"
        f"{csv_cell(TITLE)},{csv_cell(AGENCY)},\r\n"
        f"Second,{csv_cell(AGENCY + ' nowhere')},\r\n"
    )
    response = post_form(
        client,
        "/requests/import",
        {"file": (io.BytesIO(sheet.encode()), "import.csv"), "skip_bad_rows": "y"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    page = assert_inert(response.get_data(as_text=True), "import report")
    assert_shown(page, [TITLE, f"{AGENCY} nowhere"], "import report")

    # A file refused whole names the unknown column.
    header = f"title,agency,received_on,{csv_cell(PAYLOAD)}\r\n"
    response = post_form(
        client,
        "/requests/import",
        {"file": (io.BytesIO(header.encode()), "import.csv")},
        content_type="multipart/form-data",
    )
    page = assert_inert(response.get_data(as_text=True), "import refusal")
    assert "unknown column" in page.text
    assert_shown(page, [PAYLOAD], "import refusal")


def test_the_letter_pdf_the_csv_and_the_feed_carry_the_values_as_plain_text(client, stage):
    """The same values outside HTML: text in the PDF and the CSV, escaped text in iCalendar."""
    record, letter = stage["record"], stage["letter"]
    response = client.get(f"/requests/{record.reference}/letters/{letter.id}/letter.pdf")
    assert response.mimetype == "application/pdf"
    # A line may break anywhere in "</script>": compare without white space.
    text = unspaced(pdf_text(response.data))
    for value in (FIELD, BODY, DETAILS, AGENCY, *ADDRESS_LINES, PERSON):
        assert unspaced(value) in text, value
    assert "&lt;" not in text and "&#" not in text

    # The board, as a spreadsheet.
    response = client.get("/due?section=overdue&format=csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert row["title"] == TITLE
    assert row["agency"] == f"{AGENCY} ({SHORT})"
    assert row["assignee"] == PERSON
    assert row["tracking_number"] == TRACKING

    # The calendar feed of the staff member who made and holds the request.
    response = client.get(turn_on(client))
    assert response.mimetype == "text/calendar"
    [event] = assert_feed_is_plain(response.data, 1).walk("VEVENT")
    assert str(event["summary"]) == f"Due: {record.reference} {TITLE} — {SHORT}"
    assert str(event["description"]).startswith(
        f"Determination due from {AGENCY}.\nAssigned to {PERSON}.\n"
    )


EVENT_PROPERTIES = {
    "UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "URL", "TRANSP",
}  # fmt: skip
FEED_PROPERTIES = {
    "BEGIN", "END", "PRODID", "VERSION", "CALSCALE", "X-WR-CALNAME", *EVENT_PROPERTIES,
}  # fmt: skip


def content_lines(feed: bytes) -> list[str]:
    """The feed's content lines as RFC 5545 reads them: split at CRLF, folds joined."""
    lines: list[str] = []
    for line in feed.decode("utf-8").split("\r\n"):
        if line[:1] in (" ", "\t") and lines:
            lines[-1] += line[1:]
        elif line:
            lines.append(line)
    return lines


def assert_feed_is_plain(feed: bytes, events: int) -> Calendar:
    """Only the properties the tracker writes; no stray line; no control character."""
    for line in content_lines(feed):
        name = line.split(":", 1)[0].split(";", 1)[0]
        assert name in FEED_PROPERTIES, f"an injected line: {line!r}"
        # Some readers split lines at any of these (Python's own splitlines does).
        bad = [c for c in line if c != "\t" and unicodedata.category(c) in ("Cc", "Zl", "Zp")]
        assert not bad, f"line-breaking characters {bad!r} in {line!r}"
    calendar = Calendar.from_ical(feed)
    found = calendar.walk("VEVENT")
    assert len(found) == events
    for event in found:
        assert set(event) == EVENT_PROPERTIES
    return calendar


def test_a_title_cannot_add_properties_to_the_feed(client, auth, make_user, make_request):
    user = make_user(Role.ADVOCATE)
    record = make_request(
        user, title="Reports\r\nATTENDEE:mailto:evil@example.org\nX-EVIL:1",
        status=RequestStatus.SENT, received_on=TODAY - timedelta(days=3),
    )  # fmt: skip
    auth.login(user)
    response = client.get(turn_on(client))
    [event] = events(response).values()
    assert "ATTENDEE" not in event
    assert "X-EVIL" not in event
    assert "ATTENDEE:mailto:evil@example.org" in str(event["summary"])
    lines = response.get_data(as_text=True).split("\r\n")
    assert not any(line.startswith(("ATTENDEE", "X-EVIL")) for line in lines)
    assert str(event["uid"]) == f"{record.reference}-due@records-tracker"
    assert_feed_is_plain(response.data, 1)


# Any text a title or an agency's name may hold; PostgreSQL keeps no NUL character.
ANY_TEXT = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=60)


@pytest.fixture
def feed_case(make_user, make_request):
    """A staff member with one request due; each example below renames it and its agency."""
    user = make_user(Role.STAFF)
    return user, make_request(user, status=RequestStatus.SENT, received_on=TODAY - timedelta(3))


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(title=ANY_TEXT, name=ANY_TEXT)
# A backslash and N, which icalendar's own escaping takes for a line break.
@example(title="\\N", name="a\\Nb\\\\n")
def test_no_title_or_agency_name_adds_a_line_to_the_feed(app, feed_case, title, name):
    from tracker.deadlines.feed import feed_calendar

    user, record = feed_case
    record.title = f"T{title}"
    record.agency.name = f"A{name}"
    with app.test_request_context():
        feed = feed_calendar(db.session(), user)
    [event] = assert_feed_is_plain(feed, 1).walk("VEVENT")

    def printable(text: str) -> str:
        return "".join(c for c in text if c.isprintable())

    summary = f"Due: {record.reference} T{title} — {record.agency.short_name}"
    assert printable(str(event["summary"])) == printable(summary)
    assert printable(str(event["description"])).startswith(
        printable(f"Determination due from A{name}.")
    )


def test_an_items_description_and_the_agencys_reason_are_shown_as_text(
    client, auth, make_user, make_request
):
    """What an item asks for and the reason an agency gives for withholding it come from
    people: on the response forms, the request's page (its flag and timeline) and the
    follow-up letter they stay text."""
    from tracker.documents.models import AgencyResponse
    from tracker.items.models import RequestItem

    staff = make_user(Role.STAFF)
    auth.login(staff)
    record = make_request(
        created_by=staff, status=RequestStatus.SENT, sent_on=date(2026, 11, 17),
        received_on=date(2026, 11, 17), records_sought="Reports.",
    )  # fmt: skip
    described, reason = f"Item {PAYLOAD}", f"Reason {PAYLOAD}"
    first = RequestItem(request_id=record.id, position=1, description=described)
    second = RequestItem(request_id=record.id, position=2, description="Agreements.")
    db.session.add_all([first, second])
    db.session.commit()
    base = f"/requests/{record.reference}"
    page = assert_inert(client.get(f"{base}/responses/new").get_data(as_text=True), "form")
    assert_shown(page, [described], "the response form")
    response = post_form(client, f"{base}/responses/new", {
        "kind": "denial", "received_on": "2026-12-01", "channel": "email",
        f"item_{first.id}_outcome": "withheld", f"item_{first.id}_reason": reason,
    })  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)
    shown = assert_inert(client.get(base).get_data(as_text=True), "the request's page")
    assert_shown(shown, [reason], "the request's page")
    # A later response, to say which items it answers: both are offered again.
    later = AgencyResponse(
        request_id=record.id, kind="partial_release", received_on=date(2026, 12, 5),
        channel="email",
    )  # fmt: skip
    db.session.add(later)
    db.session.commit()
    items = assert_inert(
        client.get(f"{base}/responses/{later.id}/items").get_data(as_text=True), "items"
    )
    assert_shown(items, [described, "Agreements."], "the items page")


def test_the_public_room_s_staff_pages_show_summaries_findings_and_reasons_as_text(client, stage):
    """A public summary and a reason are typed by staff; a document's text, and so what the
    scan finds in it, comes from an agency: all of it is shown as text where staff publish."""
    record, document = stage["record"], stage["document"]
    base = f"/requests/{record.reference}"
    public_summary, reason = f"Public {PAYLOAD}", f"Reason {PAYLOAD}"
    # The words the job read from the file: a passage that looks personal between payloads.
    document.text = f"{PAYLOAD} A-123-456-789 {PAYLOAD}"
    db.session.commit()
    response = post_form(
        client, f"{base}/publication", {"summary": public_summary}, token_from=base
    )
    assert response.status_code == 302
    review = f"/documents/{document.id}/publication"
    page = assert_inert(client.get(review).get_data(as_text=True), review)
    assert_shown(page, [FILE, "A-123-456-789", PAYLOAD[-30:] + " "], review)
    response = post_form(client, review, {"when": "now", "confirm": "y"})
    assert response.status_code == 302
    page = assert_inert(client.get(base).get_data(as_text=True), base)
    assert_shown(page, [public_summary, FILE, PERSON], base)
    withdraw = f"{review}/withdraw"
    page = assert_inert(client.get(withdraw).get_data(as_text=True), withdraw)
    assert_shown(page, [FILE], withdraw)
    assert post_form(client, withdraw, {"reason": reason}).status_code == 302
    page = assert_inert(client.get(base).get_data(as_text=True), base)
    assert_shown(page, [f"({reason})", public_summary], base)


def test_the_public_records_room_shows_stored_hostile_values_as_text(app, client, stage):
    record = stage["record"]
    send_letter(record, stage["letter"], date(2026, 11, 17))
    publication = publish(record, summary=SUMMARY)
    _, document = release(record, FILE, f"Text {PAYLOAD}")
    db.session.add(DocumentPublication(document_id=stage["document"].id))
    db.session.commit()
    key = document.public_key
    room = {
        "/public/": [TITLE, AGENCY, SHORT],
        f"/public/requests/{publication.public_key}": [TITLE, AGENCY, SUMMARY, ITEM, FIELD, FILE],
        f"/public/documents/{key}": [FILE, TITLE, f"Text {PAYLOAD}"],
        "/public/search?q=alert": [FILE, TITLE],
        "/public/agencies": [AGENCY, SHORT],
        f"/public/agencies/{stage['agency'].id}": [AGENCY, SHORT],
    }
    for path, values in room.items():
        response = client.get(path)
        assert response.status_code == 200, path
        assert_shown(assert_inert(response.get_data(as_text=True), path), values, path)
    feed = client.get("/public/feed.atom").get_data(as_text=True)
    assert "<script>alert" not in feed and "<img src=x" not in feed
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in feed

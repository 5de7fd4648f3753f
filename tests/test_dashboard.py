"""The "Due & overdue" board, the calculator, agency calendars, extensions and follow-ups."""

import csv
import html
import io
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import post_form
from tracker import PROJECT_ROOT
from tracker.auth.models import Role
from tracker.deadlines.models import AgencyCalendarDay
from tracker.extensions import db
from tracker.mail.models import Correspondence
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus
from tracker.sqltypes import LOCAL_ZONE

TODAY = date(2026, 12, 14)


@pytest.fixture
def app(make_app):
    """The board and the request page, as seen on a fixed day (``TRACKER_TODAY``)."""
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


@pytest.fixture
def board(make_user, make_agency, make_request):
    staff = make_user(Role.STAFF, name="Sam Staff")
    lapd = make_agency(name="Los Angeles Police Department", short_name="LAPD", law="ca-cpra")
    ice = make_agency(name="Immigration and Customs Enforcement", short_name="ICE", law="us-foia")
    requests = {
        # Received Nov 17: due Mon Nov 30 (the day after Thanksgiving rolls forward).
        "overdue": make_request(title="Overdue one", agency=lapd, assignee=staff,
                                status=RequestStatus.SENT, received_on=date(2026, 11, 17)),
        "due_soon": make_request(title="Due soon one", agency=lapd, status=RequestStatus.SENT,
                                 received_on=date(2026, 12, 10), tags=",ice,"),
        "waiting": make_request(title="Waiting one", agency=lapd,
                                status=RequestStatus.WAITING_ON_US, received_on=date(2026, 11, 2)),
        "promised": make_request(title="Promised one", agency=ice,
                                 status=RequestStatus.RECORDS_DUE, received_on=date(2026, 10, 1),
                                 determination_on=date(2026, 10, 20),
                                 records_promised_on=date(2026, 12, 1)),
        "closed": make_request(title="Closed one", agency=lapd, status=RequestStatus.DENIED,
                               received_on=date(2026, 10, 1)),
    }  # fmt: skip
    return {"staff": staff, "lapd": lapd, "ice": ice, "requests": requests}


def section(client, name, query=""):
    page = client.get(f"/due?section={name}{query}").get_data(as_text=True)
    titles = ("Overdue one", "Due soon one", "Waiting one", "Promised one", "Closed one")
    return {title for title in titles if f'<td data-label="Title">{title}</td>' in page}, page


def test_each_request_lands_in_its_section_with_its_reason(client, auth, board):
    auth.login(board["staff"])
    found, page = section(client, "overdue")
    assert found == {"Overdue one"}
    assert "No determination 14 days after the Nov 30 deadline." in page
    assert "Follow-up due now (since Tue Dec 1, 2026)" in page and "Draft follow-up" in page
    assert section(client, "due_soon")[0] == {"Due soon one"}
    found, page = section(client, "past_promised")
    assert found == {"Promised one"}
    assert "Records promised by Dec 1 not received, 13 days late." in page
    assert section(client, "waiting")[0] == {"Waiting one"}
    assert section(client, "answered")[0] == set()


def test_the_board_filters(client, auth, board):
    auth.login(board["staff"])
    assert section(client, "overdue", "&assignee=me")[0] == {"Overdue one"}
    assert section(client, "overdue", "&assignee=none")[0] == set()
    assert section(client, "due_soon", "&tag=ICE")[0] == {"Due soon one"}
    assert section(client, "due_soon", "&tag=visa")[0] == set()
    assert section(client, "past_promised", f"&agency={board['lapd'].id}")[0] == set()
    assert section(client, "overdue", "&status=sent")[0] == {"Overdue one"}


def test_an_agency_closure_moves_a_deadline_and_shows_on_its_calendar(client, auth, board):
    record = board["requests"]["overdue"]
    assert record.due_on == date(2026, 11, 30)
    auth.login(board["staff"])
    lapd = board["lapd"]
    response = post_form(
        client,
        f"/agencies/{lapd.id}/calendar",
        {"day": "2026-11-30", "kind": "closed", "note": "City furlough day"},
        token_from=f"/agencies/{lapd.id}/calendar",
    )
    assert response.status_code == 302
    db.session.refresh(record)
    assert record.due_on == date(2026, 12, 1)
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "City furlough day, a day the office is closed" in page
    calendar = client.get(f"/agencies/{lapd.id}/calendar?year=2026").get_data(as_text=True)
    assert "City furlough day" in calendar and "Cesar Chavez Day" in calendar
    day = db.session.scalars(select(AgencyCalendarDay)).one()
    post_form(client, f"/agencies/{lapd.id}/calendar/{day.id}/remove", {},
              token_from=f"/agencies/{lapd.id}/calendar")  # fmt: skip
    db.session.refresh(record)
    assert record.due_on == date(2026, 11, 30)


def test_a_calendar_day_needs_a_reason(client, auth, board):
    auth.login(board["staff"])
    lapd = board["lapd"]
    response = post_form(
        client, f"/agencies/{lapd.id}/calendar", {"day": "2026-11-30", "kind": "closed",
                                                  "note": " "},
        token_from=f"/agencies/{lapd.id}/calendar", follow_redirects=True,
    )  # fmt: skip
    assert "Say why" in response.get_data(as_text=True)
    assert db.session.scalars(select(AgencyCalendarDay)).all() == []


def test_an_extension_beyond_the_law_is_flagged(client, auth, board):
    record = board["requests"]["overdue"]
    auth.login(board["staff"])
    response = post_form(
        client,
        f"/requests/{record.reference}/extension",
        {"notice_on": "2026-11-25", "claimed_on": "2027-01-15", "written": "y",
         "note": "Voluminous records."},
    )  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(record)
    assert record.status == RequestStatus.EXTENDED
    # 24 calendar days from Nov 17 end Fri Dec 11.
    assert record.due_on == date(2026, 12, 11)
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "35 days past the lawful latest date, Fri Dec 11, 2026" in page
    event = db.session.scalars(select(RequestEvent).order_by(RequestEvent.id.desc())).first()
    assert "Logged an extension" in event.note and "Voluminous records." in event.note


def test_an_extension_without_written_notice_changes_nothing(client, auth, board):
    record = board["requests"]["overdue"]
    auth.login(board["staff"])
    post_form(
        client,
        f"/requests/{record.reference}/extension",
        {"notice_on": "2026-11-25", "claimed_on": "2026-12-09"},
    )
    db.session.refresh(record)
    assert record.due_on == date(2026, 11, 30)
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "No written notice of the extension" in page


def test_an_extension_shown_again_keeps_both_dates_as_typed(client, auth, board):
    record = board["requests"]["overdue"]
    auth.login(board["staff"])
    response = post_form(
        client,
        f"/requests/{record.reference}/extension",
        {"notice_on": "2026-11-25", "claimed_on": "2026-11-20", "written": "y",
         "note": "Claims more time."},
    )  # fmt: skip
    page = response.get_data(as_text=True)
    assert "The new date cannot be before the notice." in page
    assert 'value="2026-11-25"' in page and 'value="2026-11-20"' in page
    assert "Claims more time." in page
    db.session.refresh(record)
    assert record.extension_notice_on is None


def test_draft_follow_up_opens_the_follow_up_letter_filled_in(client, auth, board):
    record = board["requests"]["overdue"]
    record.agency_tracking_number = "P012345"
    record.sent_on = date(2026, 11, 16)
    db.session.commit()
    auth.login(board["staff"])
    response = client.get(f"/requests/{record.reference}/follow-up")
    assert response.status_code == 302
    assert "template=cpra-follow-up-overdue" in response.headers["Location"]
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="2026-11-16"' in form
    # The missed deadline is the engine's, shown and printed, never a field to type.
    assert "computes from the request: <strong>Mon Nov 30, 2026</strong>" in form
    assert 'value="2026-11-30"' not in form
    assert 'value="P012345"' in form


def test_the_public_calculator_needs_no_account(client, make_agency, admin):
    page = client.get("/deadline-calculator?law=ca-cpra&received_on=2026-11-17&agency=")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Due Mon Nov 30, 2026" in text or "Due Mon Nov 30" in text
    assert "Code Civ. Proc. §§ 12, 12a" in text
    bad = client.get("/deadline-calculator?law=&agency=&received_on=2026-11-17")
    assert "Choose a law or an agency." in bad.get_data(as_text=True)
    assert admin.id
    assert client.get("/deadline-calculator").status_code == 200


def test_received_date_edits_move_the_deadline(app, make_request, make_agency):
    record = make_request(agency=make_agency(law="ca-cpra"), received_on=date(2026, 11, 17))
    assert record.due_on == date(2026, 11, 30)
    record.received_on = date(2026, 11, 17) + timedelta(days=7)
    db.session.commit()
    assert db.session.scalar(select(RecordsRequest.due_on)) == date(2026, 12, 4)


def test_seeding_brings_stored_deadlines_up_to_date(app, runner, make_request, make_agency):
    record = make_request(agency=make_agency(law="ca-cpra"), received_on=date(2026, 11, 17))
    db.session.execute(
        RecordsRequest.__table__.update().values(due_on=date(2026, 1, 1))
    )  # as if computed by an older version of the rules
    db.session.commit()
    result = runner.invoke(args=["seed"])
    assert "Deadlines: 1 open requests had a due date to update." in result.output
    db.session.refresh(record)
    assert record.due_on == date(2026, 11, 30)


def test_moving_a_request_to_an_agency_under_another_law_moves_its_deadline(
    app, make_request, make_agency
):
    record = make_request(agency=make_agency(law="ca-cpra"), received_on=date(2026, 11, 2))
    assert record.due_on == date(2026, 11, 12)
    record.agency = make_agency(law="us-foia")
    db.session.commit()
    # 20 working days, skipping Veterans Day and Thanksgiving.
    assert db.session.scalar(select(RecordsRequest.due_on)) == date(2026, 12, 2)


def test_references_stay_on_one_line_on_the_board(client, auth, board):
    auth.login(board["staff"])
    reference = board["requests"]["overdue"].reference
    page = section(client, "overdue")[1]
    assert (
        f'<td data-label="Reference" class="nowrap"><a href="/requests/{reference}">{reference}</a>'
        in page
    )
    style = (PROJECT_ROOT / "tracker/static/style.css").read_text()
    assert ".nowrap { white-space: nowrap; }" in style


def test_on_a_phone_each_cell_of_the_board_says_what_it_is(client, auth, board):
    auth.login(board["staff"])
    page = section(client, "overdue")[1]
    headings = re.findall(r'<th scope="col">([^<]+)</th>', page)
    [row] = re.findall(r"<tbody>\s*<tr>\s*(<td.*?)</tr>", page, re.DOTALL)
    cells = re.findall(r"<td([^>]*)>", row)
    labels = [re.search(r'data-label="([^"]+)"', cell) for cell in cells]
    # Every cell but the last, which holds only the follow-up button, names its column.
    assert [label.group(1) for label in labels[:-1] if label] == headings


def agency_email(subject: str, day: int, sender: str = "records@lapd.example.gov") -> bytes:
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["From"] = f"Records Unit <{sender}>"
    message["To"] = "team@coalition.example"
    message["Subject"] = subject
    # 6 pm in Los Angeles: the next day in UTC, the day it is on the board.
    message["Date"] = format_datetime(datetime(2026, 12, day, 18, 0, tzinfo=LOCAL_ZONE))
    message["Message-ID"] = make_msgid(domain="lapd.example.gov")
    message.set_content("Could you narrow the request to one division?\n")
    return message.as_bytes()


def test_an_email_that_needs_an_answer_puts_its_request_in_waiting_on_us(
    client, auth, board
) -> None:
    from tracker.mail.inbox import file_message
    from tracker.sqltypes import utcnow

    auth.login(board["staff"])
    record = board["requests"]["due_soon"]
    first = file_message(agency_email("Narrowing", 11), source="upload", actor=board["staff"],
                         request=record).correspondence  # fmt: skip
    # Held (no request) and answered messages ask nothing of anyone on the board.
    file_message(agency_email("Unrelated", 12, "someone@example.net"), source="upload",
                 actor=board["staff"])  # fmt: skip
    answered = file_message(agency_email("Thanks", 12), source="upload", actor=board["staff"],
                            request=board["requests"]["overdue"]).correspondence  # fmt: skip
    answered.answered_at = utcnow()
    db.session.commit()

    found, page = section(client, "waiting")
    assert found == {"Waiting one", "Due soon one"}
    link = (
        f'<a href="/requests/{record.reference}#mail-{first.id}">An email from '
        "Records Unit (records@lapd.example.gov) on Dec 11 needs an answer.</a>"
    )
    assert link in page, re.findall(r"data-label=.Why.>.*?</td>", page)
    assert re.search(r'section=waiting[^"]*"[^>]*>Waiting on us <span class="count">2<', page)
    # It stays due soon, too: the deadline has not stopped.
    assert section(client, "due_soon")[0] == {"Due soon one"}
    rows = list(csv.DictReader(io.StringIO(client.get("/due?section=waiting&format=csv").text)))
    assert {row["reference"]: row["reason"] for row in rows}[record.reference].endswith(
        "An email from Records Unit (records@lapd.example.gov) on Dec 11 needs an answer."
    )

    file_message(agency_email("Also", 13), source="upload", actor=board["staff"], request=record)
    db.session.commit()
    page = section(client, "waiting")[1]
    assert (
        "2 emails need an answer, the first from Records Unit (records@lapd.example.gov) on Dec 11."
        in page
    )

    for message in db.session.scalars(select(Correspondence)):
        message.answered_at = utcnow()
    db.session.commit()
    assert section(client, "waiting")[0] == {"Waiting one"}


def test_a_report_a_series_names_that_has_not_arrived_has_its_own_section(client, auth, board):
    from tracker.series.models import Cadence, RequestSeries, SeriesPeriod

    source = board["requests"]["overdue"]
    series = RequestSeries(
        source_request_id=source.id, template_slug="cpra-police-commission-ice-collaboration",
        agency_id=board["lapd"].id, cadence=Cadence.QUARTER, first_start_on=date(2026, 7, 1),
        report_name="The Chief's report", assignee_id=board["staff"].id,
    )  # fmt: skip
    db.session.add(series)
    db.session.flush()
    ended = SeriesPeriod(series_id=series.id, start_on=date(2026, 7, 1), end_on=date(2026, 9, 30))
    # Not over yet: its report is not due.
    running = SeriesPeriod(series_id=series.id, start_on=date(2026, 10, 1),
                           end_on=date(2026, 12, 31))  # fmt: skip
    db.session.add_all([ended, running])
    db.session.commit()
    auth.login(board["staff"])
    titles, page = section(client, "reports")
    assert titles == {"Overdue one"}
    reason = "The Chief's report for July 1, 2026 – September 30, 2026 has not arrived."
    assert reason in html.unescape(page)
    assert 'Reports not received <span class="count">1</span>' in page
    # The other sections count as before.
    _, overdue = section(client, "overdue")
    assert 'Overdue <span class="count">1</span>' in overdue
    assert 'Reports not received <span class="count">1</span>' in overdue
    # Filtered by another agency, the series is not there.
    _, other = section(client, "reports", f"&agency={board['ice'].id}")
    assert 'Reports not received <span class="count">0</span>' in other

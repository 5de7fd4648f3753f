"""Requests that repeat: a quarterly series on the Police Commission's reports drafts each
quarter's request on the first day of the next, tells its assignee, and a report that has
not arrived shows on the board and is asked for again."""

import html
import io
import re
from datetime import date

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tests.conftest import blank_pdf, post_form
from tests.postgres import free_port
from tests.test_deadline_cli import Inbox
from tracker.auth.models import Role
from tracker.documents.services import store_files
from tracker.extensions import db
from tracker.items.models import RequestItem
from tracker.letters.document import Sender
from tracker.letters.models import Channel
from tracker.letters.services import draft_requests, finalize, library, mark_sent
from tracker.requests.models import RecordsRequest, RequestStatus
from tracker.series.models import Cadence, RequestSeries, SeriesPeriod
from tracker.series.periods import (
    Period,
    calendar_end,
    due_periods,
    next_draft_on,
    period_from,
    periods_until,
)
from tracker.series.services import draft_due_periods, named_reports

CREATED = date(2026, 4, 15)
CHIEF_REPORT = named_reports()[0]
TEMPLATE = "cpra-police-commission-ice-collaboration"


@pytest.fixture
def app(make_app):
    app = make_app(TODAY=CREATED)
    with app.app_context():
        yield app


def on(app, day, auth=None, person=None):
    """Move the tracker's today; a session signed in months before has ended, so sign in."""
    app.config["TODAY"] = day
    if auth is not None:
        auth.login(person)


def text_of(response):
    return html.unescape(response.get_data(as_text=True))


# The periods, as people count them -------------------------------------------------------


def test_a_quarter_is_a_calendar_quarter():
    assert calendar_end(Cadence.QUARTER, date(2026, 1, 1)) == date(2026, 3, 31)
    assert calendar_end(Cadence.QUARTER, date(2026, 5, 16)) == date(2026, 6, 30)
    assert calendar_end(Cadence.QUARTER, date(2026, 11, 30)) == date(2026, 12, 31)


def test_months_half_years_and_years_end_where_the_calendar_says():
    assert calendar_end(Cadence.MONTH, date(2028, 2, 3)) == date(2028, 2, 29)
    assert calendar_end(Cadence.MONTH, date(2026, 12, 31)) == date(2026, 12, 31)
    assert calendar_end(Cadence.HALF_YEAR, date(2026, 3, 1)) == date(2026, 6, 30)
    assert calendar_end(Cadence.HALF_YEAR, date(2026, 7, 1)) == date(2026, 12, 31)
    assert calendar_end(Cadence.YEAR, date(2026, 7, 1)) == date(2026, 12, 31)


def test_a_quarterly_series_drafts_july_to_september_on_october_first():
    [q3] = [p for p in periods_until(Cadence.QUARTER, date(2026, 7, 1), date(2026, 10, 1))][:1]
    assert q3 == Period(date(2026, 7, 1), date(2026, 9, 30))
    assert q3.draft_on == date(2026, 10, 1)
    assert due_periods(Cadence.QUARTER, date(2026, 7, 1), date(2026, 10, 1)) == [q3]
    assert due_periods(Cadence.QUARTER, date(2026, 7, 1), date(2026, 9, 30)) == []


def test_the_first_period_picks_up_the_day_after_the_source_request_ends():
    # Records asked to May 15: the first quarter asked for is May 16 to June 30, then
    # whole quarters, so no day is asked twice and none is left out.
    periods = periods_until(Cadence.QUARTER, date(2026, 5, 16), date(2026, 12, 31))
    assert periods == [
        Period(date(2026, 5, 16), date(2026, 6, 30)),
        Period(date(2026, 7, 1), date(2026, 9, 30)),
        Period(date(2026, 10, 1), date(2026, 12, 31)),
    ]


def test_listed_dates_run_from_the_day_after_one_date_to_the_next():
    schedule = [date(2026, 9, 15), date(2026, 3, 15), date(2026, 6, 15)]
    periods = periods_until(Cadence.DATES, date(2026, 1, 1), date(2027, 1, 1), schedule)
    assert periods == [
        Period(date(2026, 1, 1), date(2026, 3, 15)),
        Period(date(2026, 3, 16), date(2026, 6, 15)),
        Period(date(2026, 6, 16), date(2026, 9, 15)),
    ]
    # After the last listed date there is no period, and nothing more to draft.
    assert period_from(Cadence.DATES, date(2026, 9, 16), schedule) is None
    assert next_draft_on(Cadence.DATES, date(2026, 1, 1), date(2026, 9, 16), schedule) is None
    assert next_draft_on(Cadence.DATES, date(2026, 1, 1), date(2026, 5, 1), schedule) == date(
        2026, 6, 16
    )


# Setting a sent request to repeat -----------------------------------------------------------


@pytest.fixture
def commission(make_user, make_agency):
    """A quarter's request to the Police Commission, sent, by an advocate."""
    people = {
        "ana": make_user(Role.ADVOCATE, name="Ana Advocate"),
        "sam": make_user(Role.STAFF, email="sam@example.org", name="Sam Staff"),
        "vic": make_user(Role.VIEWER),
    }
    agency = make_agency(
        name="Board of Police Commissioners", short_name="BOPC", slug="la-police-commission"
    )
    template = library().get(TEMPLATE)
    values = {
        "date_from": "2026-01-01", "date_to": "2026-03-31", "fee_cap": "50",
        "additional_details": "",
    }  # fmt: skip
    sender = Sender(name="Ana Advocate", email="ana@example.org", address="1 Main St\nLA")
    [record] = draft_requests(
        template, values, [agency], sender, None, "Commission reports on ICE requests",
        people["ana"],
    )  # fmt: skip
    letter = record.initial_letter
    finalize(letter, record, people["ana"], date(2026, 4, 2))
    mark_sent(letter, record, date(2026, 4, 2), Channel.MAIL, people["ana"])
    db.session.commit()
    return people, record


def repeat(client, record, **fields):
    data = {
        "cadence": "quarter", "period_ends": "", "assignee": "", "report": "",
        "other_report": "", **fields,
    }  # fmt: skip
    return post_form(client, f"/requests/{record.reference}/repeat", data)


def test_staff_set_a_sent_request_to_repeat_every_quarter(client, auth, commission):
    people, record = commission
    auth.login(people["sam"])
    page = text_of(client.get(f"/requests/{record.reference}"))
    assert "Repeat every …" in page
    form = text_of(client.get(f"/requests/{record.reference}/repeat"))
    for label in ("Every month", "Every quarter", "Every half-year", "Every year",
                  "On dates I list", "Report the agency must produce each period",
                  CHIEF_REPORT, "Other report"):  # fmt: skip
        assert label in form
    response = repeat(client, record, assignee=str(people["sam"].id), report=CHIEF_REPORT)
    series = db.session.scalars(select(RequestSeries)).one()
    assert response.headers["Location"] == f"/series/{series.id}"
    assert (series.cadence, series.first_start_on) == (Cadence.QUARTER, date(2026, 4, 1))
    assert series.field_values["date_to"] == "2026-03-31"
    assert series.assignee == people["sam"]
    assert series.report_name == CHIEF_REPORT
    note = record.events[-1].note
    assert "the first request, for April 1, 2026 – June 30, 2026, is drafted on July 1, 2026" in (
        note
    )
    shown = text_of(client.get(f"/series/{series.id}"))
    for words in ("Every quarter", "Sam Staff", CHIEF_REPORT, "Not published",
                  "April 1, 2026 – June 30, 2026", "To be drafted on Wed Jul 1, 2026"):  # fmt: skip
        assert words in shown
    assert "series 1" in text_of(client.get(f"/requests/{record.reference}"))


def test_advocates_and_viewers_are_not_offered_repeating(client, auth, commission):
    people, record = commission
    for person in (people["ana"], people["vic"]):
        auth.login(person)
        assert "Repeat every …" not in text_of(client.get(f"/requests/{record.reference}"))
        assert client.get(f"/requests/{record.reference}/repeat").status_code == 403
        auth.logout()


def test_a_draft_request_cannot_repeat(client, auth, commission, make_request):
    people, _ = commission
    draft = make_request(title="Not sent")
    auth.login(people["sam"])
    response = client.get(f"/requests/{draft.reference}/repeat", follow_redirects=True)
    assert "Only a sent request can repeat" in text_of(response)
    assert db.session.scalar(select(func.count()).select_from(RequestSeries)) == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "List the date each period ends, one per line, as YYYY-MM-DD."),
        ("2026-06-30\n2026-13-01", "Line 2, “2026-13-01”, is not a date as YYYY-MM-DD."),
        ("2026-02-15", "Line 1, 2026-02-15, is not after 2026-03-31"),
    ],
)
def test_dates_listed_by_hand_are_checked_at_the_field_and_kept(
    client, auth, commission, typed, message
):
    people, record = commission
    auth.login(people["sam"])
    response = repeat(client, record, cadence="dates", period_ends=typed,
                      assignee=str(people["sam"].id))  # fmt: skip
    assert response.status_code == 200
    page = text_of(response)
    assert f'<p class="error" id="period_ends-error">{message}' in page
    kept = re.search(r'<textarea[^>]*name="period_ends"[^>]*>(.*?)</textarea>', page, re.S)
    assert kept and kept.group(1).strip() == typed
    assert db.session.scalar(select(func.count()).select_from(RequestSeries)) == 0


def test_another_report_must_be_named(client, auth, commission):
    people, record = commission
    auth.login(people["sam"])
    response = repeat(client, record, assignee=str(people["sam"].id), report="other")
    assert "Name the report, or choose one from the list." in text_of(response)
    response = repeat(client, record, assignee=str(people["sam"].id), report="other",
                      other_report="The Commission's quarterly agenda")  # fmt: skip
    assert response.status_code == 302
    assert db.session.scalars(select(RequestSeries)).one().report_name == (
        "The Commission's quarterly agenda"
    )


def test_the_commissions_schedule_makes_the_periods(client, auth, commission):
    people, record = commission
    auth.login(people["sam"])
    repeat(client, record, cadence="dates", period_ends="2026-08-20\n\n2026-05-14\n",
           assignee=str(people["sam"].id))  # fmt: skip
    series = db.session.scalars(select(RequestSeries)).one()
    assert series.period_ends == ["2026-05-14", "2026-08-20"]
    [first] = series.periods
    assert (first.start_on, first.end_on) == (date(2026, 4, 1), date(2026, 5, 14))


# The worker ------------------------------------------------------------------------------


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_FROM="tracker@coalition.example",
        BASE_URL="https://tracker.example.org",
    )  # fmt: skip
    inbox.controller = controller
    try:
        yield inbox
    finally:
        if controller.loop.is_running():
            controller.stop()


@pytest.fixture
def quarterly(client, auth, commission):
    people, record = commission
    auth.login(people["sam"])
    repeat(client, record, assignee=str(people["sam"].id), report=CHIEF_REPORT)
    return people, record, db.session.scalars(select(RequestSeries)).one()


def drafted(series):
    db.session.expire_all()
    return [p.request for p in db.session.get(RequestSeries, series.id).periods if p.request]


def test_on_the_first_day_of_the_quarter_the_last_quarters_request_is_drafted(
    app, client, auth, smtp, quarterly
):
    people, source, series = quarterly
    on(app, date(2026, 6, 30))
    assert "No period has ended" in draft_due_periods(date(2026, 6, 30))
    assert drafted(series) == []

    on(app, date(2026, 7, 1), auth, people["sam"])
    summary = draft_due_periods(date(2026, 7, 1))
    [request] = drafted(series)
    assert f"Drafted {request.reference} for series {series.id}" in summary
    assert request.status is RequestStatus.DRAFT
    assert request.assignee == people["sam"]
    assert request.agency == source.agency
    assert request.title == "Commission reports on ICE requests, April 1, 2026 – June 30, 2026"
    letter = request.initial_letter
    assert letter.is_draft and letter.template_slug == TEMPLATE
    assert (letter.field_values["date_from"], letter.field_values["date_to"]) == (
        "2026-04-01", "2026-06-30",
    )  # fmt: skip
    page = text_of(client.get(f"/requests/{request.reference}/letters/{letter.id}"))
    assert "April 1, 2026 to June 30, 2026" in page
    assert "from April 1, 2026 through June 30, 2026" in page
    assert any("Drafted by the series" in e.note for e in request.events)

    # The assignee is told, through the mail server, once.
    [message] = smtp.to("sam@example.org")
    body = message.get_content()
    assert request.reference in body
    assert f"https://tracker.example.org/requests/{request.reference}" in body
    assert "It is not sent" in body

    # Again the same day, and the next: nothing is drafted or sent twice.
    assert "No period has ended" in draft_due_periods(date(2026, 7, 1))
    on(app, date(2026, 7, 2))
    draft_due_periods(date(2026, 7, 2))
    assert len(drafted(series)) == 1
    assert len(smtp.messages) == 1
    assert db.session.scalar(select(func.count()).select_from(RecordsRequest)) == 2


def test_a_mail_failure_keeps_the_draft_and_the_next_run_sends_it(app, runner, smtp, quarterly):
    people, _, series = quarterly
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()
    on(app, date(2026, 7, 1))
    result = runner.invoke(args=["series", "run"])
    assert result.exit_code == 1
    assert "Drafted LA-" in result.stdout
    assert "Could not email the assignees" in result.stdout
    assert len(drafted(series)) == 1
    app.config["MAIL_PORT"] = port
    result = runner.invoke(args=["series", "run"])
    assert result.exit_code == 0, result.stdout
    assert "Emailed 1 assignee." in result.stdout
    assert len(smtp.to("sam@example.org")) == 1


def test_a_stopped_series_drafts_nothing(app, client, quarterly):
    people, _, series = quarterly
    page = text_of(client.get(f"/series/{series.id}"))
    assert "Stop this series" in page
    post_form(client, f"/series/{series.id}/stop", {"reason": "The Commission publishes them"},
              token_from=f"/series/{series.id}")  # fmt: skip
    shown = text_of(client.get(f"/series/{series.id}"))
    assert "Stopped" in shown and "The Commission publishes them" in shown
    on(app, date(2026, 10, 1))
    draft_due_periods(date(2026, 10, 1))
    assert drafted(series) == []


def test_publishing_in_the_public_room_is_kept_on_the_series(client, quarterly):
    _, _, series = quarterly
    path = f"/series/{series.id}"
    post_form(client, f"{path}/public", {"publish": "yes"}, token_from=path)
    page = text_of(client.get(path))
    assert "Published" in page and "Withdraw from the public room" in page
    db.session.refresh(series)
    assert series.published and series.public_key
    timeline = text_of(client.get(f"/requests/{series.source_request.reference}"))
    assert "worked on a request that repeats" in timeline
    assert f"Published series {series.id} as one page of the public records room." in timeline
    post_form(client, f"{path}/public", {"publish": "no"}, token_from=path)
    assert "Not published" in text_of(client.get(path))


# A report that should exist ------------------------------------------------------------


def reports_on_board(client):
    return text_of(client.get("/due?section=reports"))


def test_a_missing_report_is_on_the_board_until_marked_and_the_next_request_asks_for_it(
    app, client, auth, smtp, quarterly
):
    people, source, series = quarterly
    on(app, date(2026, 7, 1), auth, people["sam"])
    draft_due_periods(date(2026, 7, 1))
    [q2] = drafted(series)
    reason = f"{CHIEF_REPORT} for April 1, 2026 – June 30, 2026 has not arrived."
    board = reports_on_board(client)
    assert reason in board
    assert f">{q2.reference}</a>" in board
    assert 'Reports not received <span class="count">1</span>' in board
    # The other sections keep their own counts.
    assert 'Overdue <span class="count">' in text_of(client.get("/due"))

    # Next quarter: the new request asks again for the report that never came.
    on(app, date(2026, 10, 1), auth, people["sam"])
    draft_due_periods(date(2026, 10, 1))
    q3 = drafted(series)[1]
    letter = q3.initial_letter
    asked = f"We also ask again for {CHIEF_REPORT} for April 1, 2026 – June 30, 2026"
    assert asked in letter.field_values["additional_details"]
    assert asked in text_of(client.get(f"/requests/{q3.reference}/letters/{letter.id}"))
    items = db.session.scalars(
        select(RequestItem.description).where(RequestItem.request_id == q3.id)
    ).all()
    assert f"{CHIEF_REPORT} for April 1, 2026 – June 30, 2026." in items
    assert 'Reports not received <span class="count">2</span>' in reports_on_board(client)

    # The report arrives on the second quarter's request; staff mark it.
    document = store_files(
        q2, [("chief-report-q2.pdf", io.BytesIO(blank_pdf()))], people["sam"]
    ).stored[0]
    db.session.commit()
    period = db.session.scalars(select(SeriesPeriod).where(SeriesPeriod.request_id == q2.id)).one()
    page = text_of(client.get(f"/series/{series.id}"))
    assert "Not received" in page
    assert "Mark a released document as this period's report" in page
    response = post_form(
        client, f"/series/{series.id}/periods/{period.id}/report",
        {f"period-{period.id}-document": str(document.id)}, token_from=f"/series/{series.id}",
    )  # fmt: skip
    assert response.status_code == 302
    page = text_of(client.get(f"/series/{series.id}"))
    assert f"Report received: {document.title}" in page or "Report received" in page
    board = reports_on_board(client)
    assert reason not in board
    assert 'Reports not received <span class="count">1</span>' in board


def test_marking_a_report_without_choosing_says_so_at_the_field(app, client, auth, quarterly):
    people, _, series = quarterly
    on(app, date(2026, 7, 1), auth, people["sam"])
    draft_due_periods(date(2026, 7, 1))
    [q2] = drafted(series)
    store_files(q2, [("a.pdf", io.BytesIO(blank_pdf()))], None)
    db.session.commit()
    period = db.session.scalars(select(SeriesPeriod).order_by(SeriesPeriod.start_on)).first()
    response = post_form(
        client, f"/series/{series.id}/periods/{period.id}/report",
        {f"period-{period.id}-document": ""}, token_from=f"/series/{series.id}",
    )  # fmt: skip
    assert response.status_code == 200
    assert "Choose the document that is the report." in text_of(response)


def test_the_daily_job_drafts_the_series_requests(make_app):
    from datetime import datetime

    def jobs(app, moment):
        return [t.name for t in app.extensions["tracker.jobs"].huey.read_periodic(moment)]

    # 00:20 in Los Angeles on Oct 1, 2026 (daylight saving time) is 07:20 UTC.
    assert "draft_series_requests" in jobs(make_app(), datetime(2026, 10, 1, 7, 20))
    assert "draft_series_requests" not in jobs(make_app(SERIES_CRON="off"),
                                               datetime(2026, 10, 1, 7, 20))  # fmt: skip


def test_a_published_series_is_one_public_page_showing_only_what_is_public(
    app, client, auth, smtp, quarterly
):
    from tracker.publishing.models import DocumentPublication, RequestPublication

    people, source, series = quarterly
    on(app, date(2026, 7, 1), auth, people["sam"])
    draft_due_periods(date(2026, 7, 1))
    [q2] = drafted(series)
    path = f"/series/{series.id}"
    key = db.session.get(RequestSeries, series.id).public_key
    # Not published: nobody finds it, signed in or not.
    assert client.get(f"/public/series/{key}").status_code == 404
    post_form(client, f"{path}/public", {"publish": "yes"}, token_from=path)
    assert f'href="/public/series/{key}"' in client.get(path).get_data(as_text=True)
    auth.logout()
    page = text_of(client.get(f"/public/series/{key}"))
    assert "Every quarter" in page and CHIEF_REPORT in page
    assert "April 1, 2026 – June 30, 2026" in page
    # The period's request is a draft nobody published, and its report never came.
    assert q2.title not in page and "Not published" in page and "First asked" not in page
    assert "Not received" in page
    assert q2.reference not in page and source.reference not in page
    assert "series" in text_of(client.get("/public/")).lower()

    # Once its request and report are public, the page links both.
    report = store_files(q2, [("chief-q2.pdf", io.BytesIO(blank_pdf()))], people["sam"]).stored[0]
    db.session.add(RequestPublication(request_id=q2.id))
    db.session.add(DocumentPublication(document_id=report.id))
    source_publication = RequestPublication(request_id=source.id)
    db.session.add(source_publication)
    period = db.session.scalars(select(SeriesPeriod).where(SeriesPeriod.request_id == q2.id)).one()
    period.report_document_id = report.id
    db.session.commit()
    page = text_of(client.get(f"/public/series/{key}"))
    assert q2.title in page and report.title in page and "Not received" not in page
    assert f'href="/public/requests/{source_publication.public_key}"' in page

    auth.login(people["sam"])
    post_form(client, f"{path}/public", {"publish": "no"}, token_from=path)
    auth.logout()
    assert client.get(f"/public/series/{key}").status_code == 404

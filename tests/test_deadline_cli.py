"""``tracker deadline``, ``tracker overdue`` and ``tracker remind``: for scripts and cron."""

import email
import json
from datetime import date, datetime
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from tests.postgres import free_port
from tracker.auth.models import Role
from tracker.deadlines.models import AgencyCalendarDay, DayKind, ReminderLog
from tracker.deadlines.remind import plan_reminders
from tracker.extensions import db
from tracker.requests.models import RequestStatus

# A Monday in March: nothing near it is a holiday under the CPRA's calendar.
TODAY = date(2026, 3, 16)


def error_line(result):
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


# tracker deadline ------------------------------------------------------------------


def test_a_cpra_request_due_on_christmas_is_due_the_day_after(runner):
    result = runner.invoke(args=["deadline", "--law", "ca-cpra", "--received", "2025-12-15"])
    assert result.exit_code == 0, result.output
    first, explanation = result.stdout.strip().splitlines()
    assert first == "Due 2025-12-26 (Fri Dec 26, 2025) under ca-cpra."
    assert "Christmas Day" in explanation
    assert "Code Civ. Proc. §§ 12, 12a" in explanation


def test_deadline_json_gives_dates_steps_and_warnings(runner):
    result = runner.invoke(
        args=["deadline", "--law", "us-foia", "--received", "2025-11-25", "--json"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["law"] == "us-foia"
    assert info["received_on"] == "2025-11-25"
    # 20 working days, not counting Thanksgiving.
    assert info["due_on"] == "2025-12-24"
    assert info["explanation"] == " ".join(info["steps"])
    assert "Thanksgiving Day Nov 27" in info["explanation"]
    assert info["warnings"] == []


def test_an_agency_brings_its_law_and_its_own_closures(runner, make_agency):
    agency = make_agency(short_name="LAPD", name="Los Angeles Police Department")
    db.session.add(
        AgencyCalendarDay(
            agency_id=agency.id, day=date(2025, 12, 26), kind=DayKind.CLOSED, note="Furlough"
        )
    )
    db.session.commit()
    result = runner.invoke(
        args=["deadline", "--agency", "lapd", "--received", "2025-12-15", "--json"]
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert info["law"] == "ca-cpra"
    assert info["agency"] == "LAPD"
    assert info["due_on"] == "2025-12-29"
    assert "Furlough" in info["explanation"]

    agreeing = runner.invoke(
        args=["deadline", "--agency", "Los Angeles Police Department", "--law", "ca-cpra",
              "--received", "2025-12-15"]
    )  # fmt: skip
    assert agreeing.exit_code == 0, agreeing.output
    assert agreeing.stdout.startswith("Due 2025-12-29 ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--law", "ca-foo", "--received", "2026-01-05"], "Error: no law 'ca-foo'"),
        (["--law", "ca-cpra", "--received", "2026-02-30"], "Error: --received takes a date"),
        (["--law", "ca-cpra", "--received", "next week"], "Error: --received takes a date"),
        (["--agency", "Nobody", "--received", "2026-01-05"], "Error: no agency called 'Nobody'"),
        (["--received", "2026-01-05"], "Error: give --law"),
        (["--agency", "LAPD", "--law", "us-foia", "--received", "2026-01-05"],
         "Error: Los Angeles Police Department (LAPD) is governed by ca-cpra, not us-foia"),
    ],
)  # fmt: skip
def test_deadline_errors_are_one_line_and_exit_2(runner, make_agency, args, message):
    make_agency(short_name="LAPD", name="Los Angeles Police Department")
    result = runner.invoke(args=["deadline", *args])
    assert result.exit_code == 2
    assert error_line(result).startswith(message)


# tracker overdue -------------------------------------------------------------------


def test_overdue_lists_requests_past_their_deadline_as_json(runner, make_agency, make_request):
    agency = make_agency(short_name="LASD", name="Los Angeles County Sheriff")
    late = make_request(
        title="Detainer requests", agency=agency, status=RequestStatus.SENT,
        received_on=date(2026, 3, 2),
    )  # fmt: skip
    make_request(agency=agency, status=RequestStatus.SENT, received_on=date(2026, 3, 10))
    make_request(agency=agency, status=RequestStatus.DENIED, received_on=date(2026, 1, 5))
    result = runner.invoke(args=["overdue", "--today", TODAY.isoformat(), "--json"])
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)
    assert row["reference"] == late.reference
    assert row["title"] == "Detainer requests"
    assert row["agency"] == "LASD"
    assert row["due_on"] == "2026-03-12"
    assert row["days_overdue"] == 4
    assert row["reason"] == "No determination 4 days after the Mar 12 deadline."


def test_overdue_text_is_one_line_per_request(runner, make_request):
    first = make_request(status=RequestStatus.SENT, received_on=date(2026, 3, 2))
    second = make_request(status=RequestStatus.SENT, received_on=date(2026, 2, 2))
    result = runner.invoke(args=["overdue", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert [line.split("\t")[0] for line in lines] == [second.reference, first.reference]
    assert "4 days overdue" in lines[1]


def test_overdue_refuses_a_bad_day(runner):
    result = runner.invoke(args=["overdue", "--today", "16/03/2026"])
    assert result.exit_code == 2
    assert error_line(result).startswith("Error: --today takes a date")


# tracker remind --------------------------------------------------------------------


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=default_policy)
        self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address):
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=port,
        MAIL_FROM="tracker@coalition.example",
        BASE_URL="https://tracker.example.org",
    )
    inbox.controller = controller
    try:
        yield inbox
    finally:
        if controller.loop.is_running():
            controller.stop()


@pytest.fixture
def team(make_user, make_agency, make_request):
    """Two staff, an admin, and people who get no email; an overdue request assigned
    to one staff member, an unassigned one due this week, and one assigned to an advocate."""
    people = {
        "sam": make_user(Role.STAFF, email="sam@example.org", name="Sam"),
        "sol": make_user(Role.STAFF, email="sol@example.org", name="Sol"),
        "ada": make_user(Role.ADMIN, email="ada@example.org", name="Ada"),
        "avi": make_user(Role.ADVOCATE, email="avi@example.org"),
        "vic": make_user(Role.VIEWER, email="vic@example.org"),
        "old": make_user(Role.STAFF, email="old@example.org", active=False),
    }
    lapd = make_agency(short_name="LAPD", name="Los Angeles Police Department")
    sent = {"status": RequestStatus.SENT, "agency": lapd}
    requests = {
        "late": make_request(
            title="Task-force agreements", assignee=people["sam"],
            received_on=date(2026, 3, 2), **sent,
        ),
        "soon": make_request(title="ICE detainers", received_on=date(2026, 3, 10), **sent),
        "avis": make_request(
            title="U-visa certifications", assignee=people["avi"],
            received_on=date(2026, 3, 9), **sent,
        ),
        "later": make_request(title="Jail access", received_on=date(2026, 3, 14), **sent),
        "closed": make_request(
            title="Closed one", received_on=date(2026, 3, 2), assignee=people["sam"],
            status=RequestStatus.FULFILLED, agency=lapd,
        ),
    }  # fmt: skip
    return people, requests


def references(message):
    body = message.get_content()
    return {line.split()[0] for line in body.splitlines() if line.startswith("LA-")}


def test_each_staff_member_gets_one_email_with_their_requests_and_the_unassigned(
    runner, smtp, team
):
    people, requests = team
    result = runner.invoke(args=["remind", "--today", TODAY.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Sent 3 emails about 3 requests; 0 people had nothing new."

    shared = {requests["soon"].reference, requests["avis"].reference}
    assert len(smtp.to("sam@example.org")) == 1
    [sam] = smtp.to("sam@example.org")
    assert references(sam) == {requests["late"].reference, *shared}
    assert references(smtp.to("sol@example.org")[0]) == shared
    assert references(smtp.to("ada@example.org")[0]) == shared
    for nobody in ("avi@example.org", "vic@example.org", "old@example.org"):
        assert smtp.to(nobody) == []

    body = sam.get_content()
    assert sam["Subject"] == "Records Tracker: 1 overdue, 2 due soon (Mar 16)"
    assert sam["From"] == "tracker@coalition.example"
    assert "Task-force agreements (LAPD)" in body
    assert "Due Thu Mar 12, 2026. No determination 4 days after the Mar 12 deadline." in body
    assert "Determination due in 4 days (Mar 20)." in body
    assert f"https://tracker.example.org/requests/{requests['late'].reference}" in body
    assert body.index("Overdue:") < body.index("Due in the next 7 days:")


def test_a_second_run_the_same_day_sends_only_what_is_new(runner, smtp, team, make_request):
    people, requests = team
    today = ["remind", "--today", TODAY.isoformat()]
    assert runner.invoke(args=today).exit_code == 0
    sent = len(smtp.messages)

    again = runner.invoke(args=today)
    assert again.exit_code == 0, again.output
    assert again.stdout.strip() == "Sent 0 emails about 0 requests; 3 people had nothing new."
    assert len(smtp.messages) == sent

    fresh = make_request(
        title="Release-date sharing", assignee=people["sol"], status=RequestStatus.SENT,
        received_on=date(2026, 3, 11),
    )  # fmt: skip
    third = runner.invoke(args=today)
    assert third.stdout.strip() == "Sent 1 email about 1 request; 2 people had nothing new."
    [(rcpt, message)] = smtp.messages[sent:]
    assert rcpt == ["sol@example.org"]
    assert references(message) == {fresh.reference}


def test_the_next_day_reminds_again(runner, smtp, team):
    assert runner.invoke(args=["remind", "--today", "2026-03-16"]).exit_code == 0
    result = runner.invoke(args=["remind", "--today", "2026-03-17"])
    assert result.exit_code == 0, result.output
    # "later" (due Mar 24) is now within the week as well.
    assert result.stdout.strip() == "Sent 3 emails about 4 requests; 0 people had nothing new."
    assert len(smtp.to("sam@example.org")) == 2


def test_an_smtp_failure_exits_1_and_remembers_nothing(runner, smtp, team):
    smtp.controller.stop()
    result = runner.invoke(args=["remind", "--today", TODAY.isoformat()])
    assert result.exit_code == 1
    assert error_line(result).startswith("Error: could not send reminders via 127.0.0.1:")
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(ReminderLog)) == 0


def test_the_plan_leaves_out_what_was_already_sent_today(app, team):
    people, requests = team
    plan = plan_reminders(db.session(), TODAY)
    by_email = {d.user.email: {r.reference for r in d.reminders} for d in plan.digests}
    assert by_email["sam@example.org"] == {
        requests["late"].reference, requests["soon"].reference, requests["avis"].reference,
    }  # fmt: skip
    db.session.add(
        ReminderLog(
            user_id=people["sol"].id, request_id=requests["soon"].id, reason="due_soon",
            sent_on=TODAY,
        )
    )  # fmt: skip
    db.session.commit()
    plan = plan_reminders(db.session(), TODAY)
    by_email = {d.user.email: {r.reference for r in d.reminders} for d in plan.digests}
    assert by_email["sol@example.org"] == {requests["avis"].reference}
    assert len(by_email["ada@example.org"]) == 2


# The daily job ----------------------------------------------------------------------


def reminder_jobs(app, moment):
    return [t.name for t in app.extensions["tracker.jobs"].huey.read_periodic(moment)]


def test_the_worker_sends_the_reminders_at_seven_in_the_morning_in_los_angeles(app, smtp, team):
    # Mar 16, 2026 is in daylight saving time: 07:00 in Los Angeles is 14:00 UTC.
    assert reminder_jobs(app, datetime(2026, 3, 16, 14, 0)) == ["send_reminders"]
    assert reminder_jobs(app, datetime(2026, 3, 16, 7, 0)) == []
    # In winter it is 15:00 UTC.
    assert reminder_jobs(app, datetime(2026, 12, 1, 15, 0)) == ["send_reminders"]

    app.config["TODAY"] = TODAY
    [job] = app.extensions["tracker.jobs"].huey.read_periodic(datetime(2026, 3, 16, 14, 0))
    app.extensions["tracker.jobs"].huey.execute(job)
    assert len(smtp.to("sam@example.org")) == 1
    assert db.session.scalar(select(func.count()).select_from(ReminderLog)) > 0
    # `tracker remind` from cron the same day sends nothing twice.
    assert "Sent 0 emails" in app.test_cli_runner().invoke(args=["remind"]).stdout


def test_the_time_of_the_reminders_is_a_setting(make_app):
    weekdays = make_app(REMIND_CRON="30 6 * * 1-5")
    assert reminder_jobs(weekdays, datetime(2026, 3, 16, 13, 30)) == ["send_reminders"]
    assert reminder_jobs(weekdays, datetime(2026, 3, 15, 13, 30)) == []  # a Sunday
    assert reminder_jobs(make_app(REMIND_CRON="off"), datetime(2026, 3, 16, 14, 0)) == []
    with pytest.raises(ValueError, match="TRACKER_REMIND_CRON takes five fields"):
        make_app(REMIND_CRON="7am")

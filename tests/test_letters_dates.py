"""Every date a letter prints as a deadline comes from the deadline engine, not a field."""

import re
from datetime import date

from sqlalchemy import select

from tests.conftest import post_form
from tests.letters_support import pdf_text, squash, write_letter
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.letters.models import Letter

RECORDS = "Reports to the Police Commission on requests from ICE."


def draft_and_print(client, record, slug, **values):
    """Open the letter's form from the request, keep what it prefilled, save, and print."""
    path = f"/requests/{record.reference}/letters/new?template={slug}"
    page = client.get(path).get_data(as_text=True)
    data = dict(re.findall(r'<input[^>]*name="(f_[a-z_]+)"[^>]*value="([^"]*)"', page))
    data.update({f"f_{name}": value for name, value in values.items()})
    data.update(requester_name="Ana Ruiz", requester_email="ana@example.org", save="Save draft")
    response = post_form(client, path, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    letter = db.session.scalars(select(Letter).order_by(Letter.id.desc())).first()
    pdf = client.get(f"/requests/{record.reference}/letters/{letter.id}/letter.pdf")
    assert pdf.status_code == 200
    return squash(pdf_text(pdf.data))


def cpra_request(app, auth, make_user, make_request, **extension):
    app.config["TODAY"] = date(2026, 3, 20)
    advocate = make_user(Role.ADVOCATE)
    record = make_request(
        created_by=advocate, sent_on=date(2026, 3, 2), received_on=date(2026, 3, 2),
        records_sought=RECORDS,
    )  # fmt: skip
    for name, day in extension.items():  # as the request's extension form records them
        setattr(record, name, day)
    db.session.commit()
    auth.login(advocate)
    return record


def test_the_extension_reply_objects_to_an_extension_past_the_lawful_latest_day(
    app, client, auth, make_user, make_request
):
    record = cpra_request(
        app, auth, make_user, make_request,
        extension_notice_on=date(2026, 3, 11), extension_claimed_on=date(2026, 4, 15),
    )  # fmt: skip
    text = draft_and_print(client, record, "cpra-extension-response")
    # Received Monday March 2: 10 days end Thursday March 12; 14 more end March 26.
    assert "was March 12, 2026" in text
    assert "Your notice came within that period." in text
    assert "the latest lawful date is March 26, 2026, 20 days before the April 15, 2026" in text
    assert "due no later than March 26, 2026" in text
    assert "send the written determination by March 26, 2026" in text


def test_the_extension_reply_says_a_notice_after_the_deadline_extends_nothing(
    app, client, auth, make_user, make_request
):
    record = cpra_request(
        app, auth, make_user, make_request,
        extension_notice_on=date(2026, 3, 13), extension_claimed_on=date(2026, 3, 20),
    )  # fmt: skip
    text = draft_and_print(client, record, "cpra-extension-response")
    assert (
        "Your notice is dated March 13, 2026, after the March 12, 2026 deadline had passed" in text
    )
    assert "a notice sent after the deadline extends nothing" in text
    assert "send the written determination without further delay" in text
    assert "came within that period" not in text


def test_the_extension_reply_accepts_a_lawful_extension_and_holds_the_agency_to_it(
    app, client, auth, make_user, make_request
):
    record = cpra_request(
        app, auth, make_user, make_request,
        extension_notice_on=date(2026, 3, 10), extension_claimed_on=date(2026, 3, 24),
    )  # fmt: skip
    text = draft_and_print(client, record, "cpra-extension-response")
    assert (
        "would extend the deadline by more than 14 days" not in text
        and "extends nothing" not in text
    )
    assert "send the written determination by March 24, 2026" in text


def test_the_foia_follow_up_gives_the_twenty_working_day_deadline_of_the_request(
    app, client, auth, make_user, make_request, make_agency
):
    app.config["TODAY"] = date(2026, 4, 10)
    advocate = make_user(Role.ADVOCATE)
    ice = make_agency(name="U.S. Immigration and Customs Enforcement", law="us-foia")
    record = make_request(
        created_by=advocate,
        agency=ice,
        sent_on=date(2026, 3, 2),
        received_on=date(2026, 3, 2),
        records_sought=RECORDS,
    )
    auth.login(advocate)
    text = draft_and_print(client, record, "foia-follow-up-overdue")
    # 20 working days after Monday March 2, 2026 (no federal holiday between): March 30.
    assert "The deadline was March 30, 2026" in text
    assert "March 12, 2026" not in text


def test_the_cpra_follow_up_and_demand_print_the_deadline_the_engine_computed(
    app, client, auth, make_user, make_request
):
    app.config["TODAY"] = date(2026, 11, 20)
    advocate = make_user(Role.ADVOCATE)
    # Received Friday October 30: the 10th day is Monday November 9, but Veterans Day
    # is Wednesday the 11th, not in the way; the deadline is November 9.
    record = make_request(
        created_by=advocate,
        sent_on=date(2026, 10, 30),
        received_on=date(2026, 10, 30),
        records_sought=RECORDS,
    )
    auth.login(advocate)
    assert record.due_on == date(2026, 11, 9)
    follow_up = draft_and_print(client, record, "cpra-follow-up-overdue")
    assert "deadline was November 9, 2026" in follow_up
    demand = draft_and_print(client, record, "cpra-demand-letter", cure_date="2026-12-04")
    assert "November 9, 2026" in demand


def test_a_draft_saved_with_a_field_the_template_dropped_still_opens_and_prints(
    app, client, auth, make_user, make_request
):
    record = cpra_request(app, auth, make_user, make_request)
    text = draft_and_print(client, record, "cpra-follow-up-overdue")
    assert "March 12, 2026" in text
    letter = db.session.scalars(select(Letter)).one()
    # As the previous version of the template saved it: with the typed deadline.
    letter.field_values = {**letter.field_values, "missed_deadline": "2026-01-01"}
    db.session.commit()
    base = f"/requests/{record.reference}/letters/{letter.id}"
    page = client.get(base).get_data(as_text=True)
    assert "cannot be shown" not in page and "March 12, 2026" in page
    assert "January 1, 2026" not in squash(pdf_text(client.get(f"{base}/letter.pdf").data))


TYPED_DEADLINE = """+++
slug = "{slug}"
version = 1
title = "Test"
summary = "Test."
kind = "follow_up"
laws = ["ca-cpra"]
subject = "Follow-up"
{extra}
+++
<p>{body}</p>
"""

DEADLINE_FIELD = """
[[fields]]
name = "{name}"
label = "{label}"
type = "date"
required = true
example = "2026-03-12"
{prefill}"""


def check(runner):
    return runner.invoke(args=["letters", "check"])


def test_letters_check_refuses_a_deadline_typed_where_the_engine_computes_it(app, runner):
    cases = {
        "a-due-field": DEADLINE_FIELD.format(name="due", label="Due", prefill=""),
        "a-deadline-label": DEADLINE_FIELD.format(
            name="answer_by", label="Deadline that was missed", prefill=""
        ),
        "a-due-prefill": DEADLINE_FIELD.format(
            name="answer_by", label="Answer by", prefill='prefill = "request.due_on"'
        ),
    }
    for slug, extra in cases.items():
        write_letter(app, TYPED_DEADLINE.format(slug=slug, extra=extra, body="Hello."), slug)
    write_letter(
        app,
        TYPED_DEADLINE.format(slug="a-typed-date", extra="", body="It was due March 12, 2026."),
        "a-typed-date",
    )
    result = check(runner)
    assert result.exit_code == 1
    for slug in cases:
        line = next(line for line in result.output.splitlines() if line.startswith(slug))
        assert "asks for a deadline; the deadline engine computes it" in line
    line = next(line for line in result.output.splitlines() if line.startswith("a-typed-date"))
    assert "the date “March 12, 2026” is typed into the template" in line
    assert "18 templates usable, 4 broken." in result.output


def test_the_shipped_letters_pass_the_check(app, runner):
    result = check(runner)
    assert result.exit_code == 0, result.output

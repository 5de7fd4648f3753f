"""Fees: estimates, waivers asked and decided, payments; what they mean for the deadline,
and an estimate nobody has answered on the board as waiting on us."""

import html
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from tests.conftest import post_form
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.fees.rules import Step, awaiting_estimate, summary
from tracker.items.models import Fee, FeeKind
from tracker.money import AmountError, parse_amount
from tracker.requests.models import RequestStatus

TODAY = date(2026, 12, 14)


@pytest.fixture
def app(make_app):
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


@pytest.fixture
def lapd_request(make_user, make_agency, make_request):
    advocate = make_user(Role.ADVOCATE, name="Ana Advocate")
    lapd = make_agency(name="Los Angeles Police Department", short_name="LAPD", law="ca-cpra")
    record = make_request(
        title="Detainer requests",
        agency=lapd,
        created_by=advocate,
        status=RequestStatus.SENT,
        received_on=date(2026, 11, 2),
    )
    return advocate, record


def add(client, record, **fields):
    data = {"kind": "estimate", "amount": "", "dated_on": "2026-11-03", "note": "", **fields}
    return post_form(
        client, f"/requests/{record.reference}/fees", data,
        token_from=f"/requests/{record.reference}",
    )  # fmt: skip


def page_of(client, record):
    return html.unescape(client.get(f"/requests/{record.reference}").get_data(as_text=True))


# The rules, in the words of the people who use them -----------------------------------

E = FeeKind.ESTIMATE


def test_the_running_summary_reads_like_the_story_of_the_fee():
    steps = [
        Step(E, Decimal("120.00"), date(2026, 11, 3)),
        Step(FeeKind.WAIVER_REQUESTED, None, date(2026, 11, 4)),
        Step(FeeKind.WAIVER_DENIED, None, date(2026, 11, 20)),
        Step(FeeKind.PAYMENT, Decimal("120.00"), date(2026, 12, 1)),
    ]
    assert summary(steps) == (
        "Estimate $120.00 on Nov 3; waiver asked Nov 4; waiver denied Nov 20; paid $120.00 Dec 1"
    )


@pytest.mark.parametrize(
    ("kinds", "waits"),
    [
        ([E], True),
        ([E, FeeKind.PAYMENT], False),
        ([E, FeeKind.WAIVER_GRANTED], False),
        # Once we ask for a waiver, the next move is the agency's.
        ([E, FeeKind.WAIVER_REQUESTED], False),
        # A waiver refused puts the estimate back with us.
        ([E, FeeKind.WAIVER_REQUESTED, FeeKind.WAIVER_DENIED], True),
        # A second estimate after paying the first waits again.
        ([E, FeeKind.PAYMENT, E], True),
        ([FeeKind.WAIVER_REQUESTED], False),
    ],
)
def test_an_estimate_waits_on_us_until_paid_or_waived(kinds, waits):
    steps = [Step(kind, Decimal("5"), date(2026, 11, 1 + n)) for n, kind in enumerate(kinds)]
    assert (awaiting_estimate(steps) is not None) is waits


@pytest.mark.parametrize(
    ("typed", "amount"),
    [("120", "120.00"), ("$1,200.50", "1200.50"), (" 0.5 ", "0.50"), ("", None)],
)
def test_amounts_are_read_as_people_type_them(typed, amount):
    assert parse_amount(typed) == (Decimal(amount) if amount else None)


@pytest.mark.parametrize("typed", ["-5", "$-5.00", "12.345", "ten dollars", "1,20", "1e3", "５"])
def test_an_amount_that_is_not_dollars_and_cents_is_refused(typed):
    with pytest.raises(AmountError):
        parse_amount(typed)


# The form on the request page ---------------------------------------------------------


def test_an_editor_records_an_estimate_and_sees_it_with_the_cpra_note(client, auth, lapd_request):
    advocate, record = lapd_request
    auth.login(advocate)
    page = page_of(client, record)
    assert 'id="add-fee"' in page
    assert "a fee estimate pauses no deadline" in page
    assert "§ 7922.530" in page
    response = add(client, record, amount="120", note="Copies of 1,200 pages")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("#fees")
    fee = db.session.scalars(select(Fee)).one()
    assert (fee.kind, fee.amount, fee.dated_on) == (E, Decimal("120.00"), date(2026, 11, 3))
    assert fee.created_by_id == advocate.id
    page = page_of(client, record)
    assert "Estimate $120.00 on Nov 3" in page
    assert "Waiting on us: Fee estimate of $120.00 from Nov 3 awaits an answer." in page


def test_the_whole_story_is_summed_up_and_on_the_timeline(client, auth, lapd_request):
    advocate, record = lapd_request
    auth.login(advocate)
    add(client, record, amount="120.00")
    add(client, record, kind="waiver_requested", dated_on="2026-11-04")
    add(client, record, kind="waiver_denied", dated_on="2026-11-20")
    add(client, record, kind="payment", amount="120", dated_on="2026-12-01", note="Check 1041")
    page = page_of(client, record)
    assert (
        "Estimate $120.00 on Nov 3; waiver asked Nov 4; waiver denied Nov 20; paid $120.00 Dec 1"
    ) in page
    assert "Waiting on us: Fee estimate" not in page
    timeline = page[page.index('id="timeline"') :]
    assert timeline.count("recorded a fee step") == 4
    assert "Payment of $120.00 on Dec 1, 2026" in timeline
    assert "Check 1041" in timeline
    assert "Ana Advocate" in timeline


def error_at(page, field_id):
    start = page.index(f'id="{field_id}-error"')
    return page[start : page.index("</p>", start)]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"amount": "-20"}, "amount", "cannot be negative"),
        ({"amount": "12.345"}, "amount", "dollars and cents"),
        ({"amount": "lots"}, "amount", "dollars and cents"),
        ({"amount": ""}, "amount", "Enter the amount of the fee estimate"),
        ({"kind": "payment", "amount": ""}, "amount", "Enter the amount of the payment"),
        ({"amount": "10", "dated_on": "2026-12-15"}, "dated_on", "cannot be after today"),
        ({"amount": "10", "dated_on": ""}, "dated_on", "date"),
    ],
)
def test_bad_input_is_refused_at_the_field_and_kept(
    client, auth, lapd_request, fields, field, message
):
    advocate, record = lapd_request
    auth.login(advocate)
    response = add(client, record, note="Keep this note", **fields)
    assert response.status_code == 200
    page = html.unescape(response.get_data(as_text=True))
    assert message in error_at(page, field)
    assert "Keep this note" in page
    if fields.get("amount"):
        assert f'value="{fields["amount"]}"' in page
    assert db.session.scalars(select(Fee)).all() == []


def test_a_waiver_asked_needs_no_amount(client, auth, lapd_request):
    advocate, record = lapd_request
    auth.login(advocate)
    assert add(client, record, kind="waiver_requested").status_code == 302
    assert db.session.scalars(select(Fee)).one().amount is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADVOCATE])
def test_only_the_requests_editors_record_fees(client, auth, make_user, lapd_request, role):
    _, record = lapd_request
    auth.login(make_user(role))
    assert 'id="add-fee"' not in page_of(client, record)
    assert add(client, record, amount="5").status_code == 403
    assert db.session.scalars(select(Fee)).all() == []


def test_staff_record_fees_on_any_request(client, auth, make_user, lapd_request):
    _, record = lapd_request
    auth.login(make_user(Role.STAFF))
    assert add(client, record, amount="5").status_code == 302


def test_the_foia_tolls_the_clock_for_fee_clarification_and_says_so(
    client, auth, make_user, make_agency, make_request
):
    staff = make_user(Role.STAFF)
    ice = make_agency(name="Immigration and Customs Enforcement", law="us-foia")
    record = make_request(agency=ice, status=RequestStatus.SENT, received_on=date(2026, 11, 2))
    auth.login(staff)
    page = page_of(client, record)
    assert "§ 552(a)(6)(A)(ii)(II)" in page
    assert "pauses no deadline" not in page


# The board ----------------------------------------------------------------------------


def waiting_section(client):
    return html.unescape(client.get("/due?section=waiting").get_data(as_text=True))


def test_an_unanswered_estimate_puts_the_request_in_waiting_on_us(
    client, auth, make_user, lapd_request
):
    advocate, record = lapd_request
    auth.login(advocate)
    add(client, record, amount="120")
    page = waiting_section(client)
    assert "Detainer requests" in page
    assert "Fee estimate of $120.00 from Nov 3 awaits an answer." in page
    # It pauses nothing: the CPRA deadline passed and the request is still overdue.
    assert "Detainer requests" in client.get("/due?section=overdue").get_data(as_text=True)
    add(client, record, kind="payment", amount="120", dated_on="2026-11-05")
    assert "Detainer requests" not in waiting_section(client)


def test_a_waiver_asked_takes_it_off_the_board_and_a_denial_puts_it_back(
    client, auth, lapd_request
):
    advocate, record = lapd_request
    auth.login(advocate)
    add(client, record, amount="120")
    add(client, record, kind="waiver_requested", dated_on="2026-11-04")
    assert "Detainer requests" not in waiting_section(client)
    add(client, record, kind="waiver_denied", dated_on="2026-11-20")
    assert "Detainer requests" in waiting_section(client)


def test_a_withdrawn_request_waits_for_no_fee(client, auth, lapd_request):
    advocate, record = lapd_request
    auth.login(advocate)
    add(client, record, amount="120")
    record.status = RequestStatus.WITHDRAWN
    db.session.commit()
    assert "Detainer requests" not in waiting_section(client)
    assert "Waiting on us: Fee" not in page_of(client, record)


# A fee estimate logged as the agency's response ----------------------------------------


def log_estimate(client, record, **fields):
    data = {
        "kind": "fee_estimate", "received_on": "2026-11-06", "channel": "email",
        "agency_tracking_number": "", "summary": "Duplication at $0.10 a page.",
        "exemptions": "", "fee_amount": "", **fields,
    }  # fmt: skip
    path = f"/requests/{record.reference}/responses/new"
    return post_form(client, path, data, token_from=path)


def test_a_fee_estimate_logged_as_a_response_becomes_the_requests_estimate(
    client, auth, lapd_request
):
    advocate, record = lapd_request
    auth.login(advocate)
    assert log_estimate(client, record, fee_amount="$45.20").status_code == 302
    [fee] = db.session.scalars(select(Fee).where(Fee.request_id == record.id))
    assert (fee.kind, fee.amount, fee.dated_on) == (E, Decimal("45.20"), date(2026, 11, 6))
    page = page_of(client, record)
    assert "Estimate $45.20 on Nov 6" in page
    # Under the CPRA it pauses nothing: the request stays sent, and overdue.
    db.session.refresh(record)
    assert record.status is RequestStatus.SENT
    assert "Detainer requests" in client.get("/due?section=overdue").get_data(as_text=True)
    assert "Fee estimate of $45.20 from Nov 6 awaits an answer." in waiting_section(client)


def test_a_fee_estimate_without_its_amount_or_an_amount_on_another_answer_is_refused(
    client, auth, lapd_request
):
    advocate, record = lapd_request
    auth.login(advocate)
    page = html.unescape(log_estimate(client, record).get_data(as_text=True))
    assert 'id="fee_amount-error"' in page and "Enter the amount the agency estimates." in page
    assert "Duplication at $0.10 a page." in page
    page = html.unescape(
        log_estimate(client, record, kind="acknowledgment", fee_amount="12").get_data(as_text=True)
    )
    assert "An amount goes with a fee estimate" in page and 'value="12"' in page
    page = html.unescape(log_estimate(client, record, fee_amount="twelve").get_data(as_text=True))
    assert "Enter dollars and cents" in page
    assert db.session.scalars(select(Fee)).all() == []
    db.session.refresh(record)
    assert record.status is RequestStatus.SENT


def test_under_the_foia_a_fee_estimate_waits_on_us(
    client, auth, make_user, make_agency, make_request
):
    ice = make_agency(name="Immigration and Customs Enforcement", law="us-foia")
    record = make_request(agency=ice, status=RequestStatus.SENT, received_on=date(2026, 11, 2))
    auth.login(make_user(Role.STAFF))
    assert log_estimate(client, record, fee_amount="25").status_code == 302
    db.session.refresh(record)
    assert record.status is RequestStatus.WAITING_ON_US


# A step recorded by mistake ------------------------------------------------------------


def remove(client, record, fee, reason):
    path = f"/requests/{record.reference}/fees/{fee.id}/remove"
    return post_form(client, path, {"reason": reason}, token_from=path)


def test_a_step_recorded_by_mistake_is_removed_with_its_reason_and_stays_on_record(
    client, auth, lapd_request
):
    advocate, record = lapd_request
    auth.login(advocate)
    add(client, record, amount="1200")
    [fee] = db.session.scalars(select(Fee).where(Fee.request_id == record.id))
    page = page_of(client, record)
    assert f'href="/requests/{record.reference}/fees/{fee.id}/remove"' in page
    assert "Fee estimate of $1,200.00 from Nov 3 awaits an answer." in waiting_section(client)
    form = html.unescape(
        client.get(f"/requests/{record.reference}/fees/{fee.id}/remove").get_data(as_text=True)
    )
    assert "Fee estimate of $1,200.00 on Nov 3, 2026" in form
    assert remove(client, record, fee, "Typed $1,200 for $12.00").status_code == 302
    page = page_of(client, record)
    assert "No fees asked or paid." in page
    assert "1 step removed" in page and "“Typed $1,200 for $12.00”" in page
    assert "Removed the fee step: Typed $1,200 for $12.00" in page
    assert "Detainer requests" not in waiting_section(client)
    db.session.refresh(fee)
    assert fee.removed_by_id == advocate.id and fee.removed_at is not None
    # The right step is recorded afterwards, and a removed one cannot be removed again.
    add(client, record, amount="12")
    assert "Estimate $12.00 on Nov 3" in page_of(client, record)
    assert remove(client, record, fee, "again").status_code == 404


def test_a_removal_without_a_reason_is_refused_at_the_field(client, auth, lapd_request):
    advocate, record = lapd_request
    auth.login(advocate)
    add(client, record, amount="120")
    [fee] = db.session.scalars(select(Fee).where(Fee.request_id == record.id))
    page = html.unescape(remove(client, record, fee, "   ").get_data(as_text=True))
    assert 'id="reason-error"' in page and "Say why the step is removed" in page
    db.session.refresh(fee)
    assert fee.removed_at is None


def test_only_the_requests_editors_remove_its_fee_steps(
    client, auth, make_user, make_request, lapd_request
):
    advocate, record = lapd_request
    auth.login(advocate)
    add(client, record, amount="120")
    [fee] = db.session.scalars(select(Fee).where(Fee.request_id == record.id))
    other = make_request(title="Another request")
    assert remove(client, other, fee, "wrong request").status_code in (403, 404)
    auth.logout()
    auth.login(make_user(Role.ADVOCATE))
    assert remove(client, record, fee, "not mine").status_code == 403
    db.session.refresh(fee)
    assert fee.removed_at is None

"""Notices from records portals: recognised, recorded, and one click from a logged response.

The samples are built the way NextRequest and GovQA write their notices: the sender
(an address at the portal's domain, on behalf of the agency), the subject with the
request's number and what happened in brackets, and a body naming the request, a link
to it and, when the due date moves, the new date.
"""

import re
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import unescape

import pytest
from sqlalchemy import select

from tests.conftest import blank_pdf, post_form
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.extensions import db
from tracker.mail.inbox import file_message
from tracker.mail.models import Correspondence, MailState, SuggestionState
from tracker.mail.portals import recognise
from tracker.requests.models import RequestStatus

# 5:30 pm on December 1 in Los Angeles is already December 2 in UTC.
SENT = datetime(2026, 12, 2, 1, 30, tzinfo=UTC)
PORTAL = "https://lacity.nextrequest.com"
SENDER = '"City of Los Angeles" <lacity@nextrequest.com>'


def notice(
    subject: str,
    text: str,
    sender: str = SENDER,
    attachments: tuple[tuple[str, bytes], ...] = (),
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "team@coalition.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(SENT)
    message["Message-ID"] = make_msgid(domain="nextrequest.com")
    message.set_content(text)
    for name, content in attachments:
        message.add_attachment(content, maintype="application", subtype="pdf", filename=name)
    return message.as_bytes()


def released(number: str = "26-1234", sender: str = SENDER) -> bytes:
    return notice(
        f"[Records Request {number}] [Document Released]",
        f"A document has been released for record request #{number}:\n"
        "- LAPD_Use_of_Force_2025.pdf\n\n"
        f"View Request {number}: {PORTAL}/requests/{number}\n"
        "Questions? Reply on the portal; a phishing page is at https://evil.example/requests\n",
        sender=sender,
    )


def due_date_changed(number: str = "26-1234", sender: str = SENDER) -> bytes:
    return notice(
        f"[Records Request {number}] [Due Date Changed]",
        f"The due date for record request #{number} has been changed from "
        "December 14, 2026 to January 5, 2027.\n\n"
        "Reason: voluminous records (Gov. Code section 7922.535).\n\n"
        f"View Request {number}: {PORTAL}/requests/{number}\n",
        sender=sender,
    )


def page_text(response) -> str:
    """The page as a reader sees it: its words, without the markup."""
    words = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return unescape(re.sub(r"\s+", " ", words)).replace(" :", ":").replace(" .", ".")


def page_text_of(body: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


@pytest.fixture
def city_request(make_request, make_user, make_agency):
    owner = make_user(Role.ADVOCATE)
    agency = make_agency(name="Los Angeles Police Department", portal_url=PORTAL + "/")
    record = make_request(
        created_by=owner,
        agency=agency,
        agency_tracking_number="26-1234",
        status=RequestStatus.SENT,
        sent_on=date(2026, 11, 2),
    )
    return owner, record


def test_recognition_reads_subject_number_link_and_new_date():
    found = recognise(
        SENDER,
        SENDER,
        "[Records Request 26-1234] [Due Date Changed]",
        "The due date for record request #26-1234 has been changed from December 14, 2026 "
        f"to January 5, 2027.\nView Request: {PORTAL}/requests/26-1234",
    )
    assert found is not None
    assert (found.portal, found.event, found.number) == ("NextRequest", "due_date", "26-1234")
    assert found.due_on == date(2027, 1, 5)
    assert found.link == f"{PORTAL}/requests/26-1234"
    assert found.suggested_kind is ResponseKind.EXTENSION
    numeric = recognise(
        SENDER, SENDER, "[Due Date Changed]", "New due date: 01/05/2027 for request #26-9"
    )
    assert numeric is not None and numeric.due_on == date(2027, 1, 5)


@pytest.mark.parametrize(
    ("subject", "text", "kind"),
    [
        ("Your request has been received", "Record request #26-77 was received.", "acknowledgment"),
        ("[Records Request 26-77] [External Message Added]", "Thanks for waiting.", None),
        (
            "[Records Request 26-77] [External Message Added]",
            "A message was sent to you regarding record request #26-77: could you clarify "
            "which dates you mean?",
            "clarification",
        ),
        ("[Records Request 26-77] [Request Closed]", "Record request #26-77 is closed.", None),
    ],
)
def test_each_notice_suggests_what_it_shows(subject, text, kind):
    found = recognise(SENDER, SENDER, subject, text)
    assert found is not None and found.number == "26-77"
    assert (found.suggested_kind.value if found.suggested_kind else None) == kind


def test_a_link_off_the_portal_is_never_kept():
    found = recognise(
        SENDER, SENDER, "[Document Released]", "Download at https://evil.example/requests/26-1 now"
    )
    assert found is not None and found.link == ""
    own = recognise(
        SENDER,
        SENDER,
        "[Document Released]",
        "Record request #26-1: https://records.lacity.org/requests/26-1",
        "https://records.lacity.org/",
    )
    assert own is not None and own.link == "https://records.lacity.org/requests/26-1"
    javascript = recognise(
        SENDER, SENDER, "[Document Released]", "javascript://nextrequest.com/%0a"
    )
    assert javascript is not None and javascript.link == ""


def test_a_due_date_notice_files_itself_and_one_click_sets_the_promised_date(
    app, client, auth, city_request
):
    owner, record = city_request
    filed = file_message(due_date_changed(), source="imap", actor=None)
    db.session.commit()
    entry = filed.correspondence
    assert entry.request_id == record.id and entry.state is MailState.FILED
    assert (entry.portal, entry.portal_event, entry.portal_number) == (
        "NextRequest",
        "due_date",
        "26-1234",
    )
    assert entry.portal_due_on == date(2027, 1, 5)
    assert entry.suggestion_state is SuggestionState.OPEN
    assert record.records_promised_on is None, "nothing changes before a person confirms"

    auth.login(owner)
    path = f"/requests/{record.reference}"
    page = page_text(client.get(path))
    assert "Suggested: Extension notice — the agency now says records by January 5, 2027." in page
    assert "Correspondence 1 needs an answer" in page
    assert "Needs an answer" in page
    response = post_form(
        client,
        f"{path}/mail/{entry.id}/confirm",
        {},
        token_from=path,
        follow_redirects=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert record.records_promised_on == date(2027, 1, 5)
    assert record.status is RequestStatus.EXTENDED
    logged = db.session.scalar(select(AgencyResponse).where(AgencyResponse.request_id == record.id))
    assert logged is not None and logged.kind is ResponseKind.EXTENSION
    assert logged.channel is ResponseChannel.PORTAL
    assert logged.received_on == date(2026, 12, 1), "the message's date in Los Angeles"
    assert logged.agency_tracking_number == "26-1234"
    assert "[Due Date Changed]" in logged.summary
    entry = db.session.get(Correspondence, entry.id)
    assert entry.suggestion_state is SuggestionState.CONFIRMED and entry.response_id == logged.id
    assert entry.answered_by_id == owner.id and not entry.needs_answer
    page = page_text(response)
    assert "Records promised by" in page and "needs an answer" not in page
    assert "Confirmed by" in page
    assert any(c["field"] == "Records promised by" for e in record.events for c in e.changes)


def test_a_document_released_notice_shows_its_link_and_a_click_logs_the_release(
    app, client, auth, make_user, city_request
):
    _, record = city_request
    staff = make_user(Role.STAFF)
    raw = notice(
        "[Records Request 26-1234] [Document Released]",
        "A document has been released for record request #26-1234:\n- index.pdf\n\n"
        f"View Request 26-1234: {PORTAL}/requests/26-1234\n"
        "Or see https://evil.example/requests/26-1234\n",
        attachments=(("index.pdf", blank_pdf("Index of records")),),
    )
    entry = file_message(raw, source="imap", actor=None).correspondence
    db.session.commit()
    assert entry.portal_event == "released" and entry.suggested_kind == "partial_release"
    assert entry.portal_link == f"{PORTAL}/requests/26-1234"
    auth.login(staff)
    path = f"/requests/{record.reference}"
    body = client.get(path).get_data(as_text=True)
    assert "Released on the portal, awaiting download:" in unescape(body)
    assert f'<a href="{PORTAL}/requests/26-1234" rel="noopener noreferrer nofollow">' in body, (
        "the link shown as a plain link, never followed by the tracker"
    )
    assert 'href="https://evil.example' not in body
    post_form(client, f"{path}/mail/{entry.id}/confirm", {}, token_from=path)
    db.session.expire_all()
    assert record.status is RequestStatus.PARTIALLY_FULFILLED
    assert record.determination_on == date(2026, 12, 1)
    logged = db.session.scalar(select(AgencyResponse).where(AgencyResponse.request_id == record.id))
    assert logged is not None and logged.kind is ResponseKind.PARTIAL_RELEASE
    assert f"awaiting download: {PORTAL}/requests/26-1234" in logged.summary
    assert [d.original_filename for d in logged.documents] == ["index.pdf"]
    body = client.get(path).get_data(as_text=True)
    assert 'class="mail-release"' not in body
    assert "logged as partial release" in page_text_of(body)


def test_the_portals_number_becomes_the_tracking_number_on_the_timeline(
    app, make_request, make_agency
):
    app.config["MAIL_REPLY_TO"] = "records+{reference}@coalition.example"
    record = make_request(agency=make_agency(portal_url=PORTAL))
    assert record.agency_tracking_number == ""
    message = EmailMessage()
    message["From"] = SENDER
    message["To"] = f"records+{record.reference}@coalition.example"
    message["Subject"] = "[Records Request 26-5150] Your request has been received"
    message["Date"] = format_datetime(SENT)
    message.set_content("Your record request #26-5150 has been received and is being processed.")
    entry = file_message(message.as_bytes(), source="imap", actor=None).correspondence
    db.session.commit()
    assert entry.request_id == record.id and entry.suggested_kind == "acknowledgment"
    assert record.agency_tracking_number == "26-5150"
    event = record.events[-1]
    assert event.actor is None, "recorded by the tracker"
    assert event.changes == [{"field": "Agency tracking number", "old": "", "new": "26-5150"}]
    # The next notice for that number finds the request without the reply address.
    later = file_message(due_date_changed("26-5150"), source="imap", actor=None).correspondence
    assert later.request_id == record.id


def test_a_tracking_number_kept_with_a_hash_still_matches(make_request):
    record = make_request(agency_tracking_number="#26-1234")
    entry = file_message(released(), source="imap", actor=None).correspondence
    assert entry.request_id == record.id


def test_a_govqa_notice_is_recognised_and_suggests_its_response(make_request):
    record = make_request(agency_tracking_number="R000123-010126")
    raw = notice(
        "Public Records Request :: R000123-010126",
        "Dear Requester,\n\nThe Public Records Center has extended the due date of your "
        "request, reference # R000123-010126. The new due date is 01/05/2027.\n\n"
        "https://lacounty.govqa.us/WEBAPP/_rs/RequestEdit.aspx?rid=123\n",
        sender="Los Angeles County Public Records Center <lacounty@govqa.us>",
    )
    entry = file_message(raw, source="imap", actor=None).correspondence
    assert entry.request_id == record.id
    assert (entry.portal, entry.portal_event, entry.portal_number) == (
        "GovQA",
        "due_date",
        "R000123-010126",
    )
    assert entry.portal_due_on == date(2027, 1, 5)
    assert entry.portal_link.startswith("https://lacounty.govqa.us/")
    assert entry.suggested_kind == "extension"


@pytest.mark.parametrize(
    "sender",
    [
        '"City of Los Angeles" <lacity@nextrequest.com.evil.example>',
        "lacity@nextrequest.com <attacker@evil.example>",
        '"lacity@nextrequest.com" <attacker@evil.example>',
        "lacity@notnextrequest.com",
        "lacity@nextrequest.com, attacker@evil.example",
    ],
)
def test_a_forged_portal_sender_is_an_ordinary_message(city_request, sender):
    _, record = city_request
    entry = file_message(due_date_changed(sender=sender), source="imap", actor=None).correspondence
    assert entry.request_id == record.id, "still filed by its number, as any message is"
    assert entry.portal == "" and entry.suggestion_state is None and entry.suggested_kind == ""
    assert entry.needs_answer


def test_a_stale_second_confirm_is_refused_and_logs_nothing_twice(client, auth, city_request):
    owner, record = city_request
    entry = file_message(due_date_changed(), source="imap", actor=None).correspondence
    db.session.commit()
    auth.login(owner)
    path = f"/requests/{record.reference}"
    first = post_form(client, f"{path}/mail/{entry.id}/confirm", {}, token_from=path)
    assert first.status_code == 302
    again = post_form(
        client, f"{path}/mail/{entry.id}/confirm", {}, token_from=path, follow_redirects=True
    )
    assert "This suggestion was already confirmed; nothing was logged again." in page_text(again)
    dismissed = post_form(
        client, f"{path}/mail/{entry.id}/dismiss", {}, token_from=path, follow_redirects=True
    )
    assert "already confirmed" in page_text(dismissed)
    count = db.session.scalars(
        select(AgencyResponse).where(AgencyResponse.request_id == record.id)
    ).all()
    assert len(count) == 1


def test_dismissing_logs_nothing_and_settles_the_message(client, auth, city_request):
    owner, record = city_request
    entry = file_message(released(), source="imap", actor=None).correspondence
    db.session.commit()
    auth.login(owner)
    path = f"/requests/{record.reference}"
    post_form(
        client,
        f"{path}/mail/{entry.id}/dismiss",
        {"dismiss_reason": "Already downloaded last week"},
        token_from=path,
    )
    db.session.expire_all()
    entry = db.session.get(Correspondence, entry.id)
    assert entry.suggestion_state is SuggestionState.DISMISSED and not entry.needs_answer
    assert (
        entry.answer_note == "Dismissed the suggested partial release: Already downloaded last week"
    )
    assert record.status is RequestStatus.SENT
    assert db.session.scalar(select(AgencyResponse.id)) is None
    assert "Dismissed the suggested partial release" in record.events[-1].note


def test_a_reason_too_long_is_refused_at_its_field_and_kept(client, auth, city_request):
    owner, record = city_request
    entry = file_message(released(), source="imap", actor=None).correspondence
    db.session.commit()
    auth.login(owner)
    path = f"/requests/{record.reference}"
    reason = "because " * 200
    response = post_form(
        client, f"{path}/mail/{entry.id}/no-answer", {"no_answer_reason": reason}, token_from=path
    )
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'id="no_answer_reason-{entry.id}-error"' in body
    assert "Keep the reason under 1,000 characters." in body
    assert reason.strip() in unescape(body)
    assert db.session.get(Correspondence, entry.id).needs_answer


def test_no_answer_needed_settles_an_ordinary_message(client, auth, city_request):
    owner, record = city_request
    raw = notice("Records request", "We are working on it. Request 26-1234.", sender="a@b.example")
    entry = file_message(raw, source="imap", actor=None).correspondence
    db.session.commit()
    auth.login(owner)
    path = f"/requests/{record.reference}"
    page = page_text(client.get(path))
    assert "Correspondence 1 needs an answer" in page and "Suggested:" not in page
    response = post_form(
        client,
        f"{path}/mail/{entry.id}/no-answer",
        {"no_answer_reason": "Just a status note"},
        token_from=path,
        follow_redirects=True,
    )
    page = page_text(response)
    assert "needs an answer" not in page.lower().replace("no answer needed", "")
    assert "No answer needed: Just a status note" in page
    again = post_form(
        client, f"{path}/mail/{entry.id}/no-answer", {}, token_from=path, follow_redirects=True
    )
    assert "settled it already" in page_text(again)


@pytest.mark.parametrize("role", [Role.VIEWER, "other advocate"])
def test_only_the_requests_editors_may_confirm_dismiss_or_settle(
    client, auth, make_user, city_request, role
):
    _, record = city_request
    entry = file_message(due_date_changed(), source="imap", actor=None).correspondence
    db.session.commit()
    user = make_user(Role.ADVOCATE) if role == "other advocate" else make_user(role)
    auth.login(user)
    path = f"/requests/{record.reference}"
    page = client.get(path).get_data(as_text=True)
    assert "/confirm" not in page and "/no-answer" not in page
    assert "Suggested:" in page, "anyone who may read the request sees the suggestion"
    for action in ("confirm", "dismiss", "no-answer"):
        response = post_form(client, f"{path}/mail/{entry.id}/{action}", {}, token_from=path)
        assert response.status_code == 403, action
    db.session.expire_all()
    assert db.session.get(Correspondence, entry.id).suggestion_state is SuggestionState.OPEN


def test_a_message_of_another_request_is_not_found_through_this_one(
    client, auth, make_user, make_request, city_request
):
    _, record = city_request
    staff = make_user(Role.STAFF)
    elsewhere = make_request()
    entry = file_message(due_date_changed(), source="imap", actor=None).correspondence
    db.session.commit()
    auth.login(staff)
    path = f"/requests/{elsewhere.reference}"
    response = post_form(client, f"{path}/mail/{entry.id}/confirm", {}, token_from=path)
    assert response.status_code == 404


def test_a_held_notice_placed_by_staff_takes_the_portal_number(
    client, auth, make_user, make_request
):
    record = make_request()
    staff = make_user(Role.STAFF)
    entry = file_message(released("26-4242"), source="imap", actor=None).correspondence
    db.session.commit()
    assert entry.state is MailState.HELD and entry.portal_number == "26-4242"
    auth.login(staff)
    post_form(
        client,
        f"/mail/{entry.id}/assign",
        {"reference": record.reference},
        token_from="/mail/held",
    )
    db.session.expire_all()
    assert record.agency_tracking_number == "26-4242"
    assert db.session.get(Correspondence, entry.id).suggestion_state is SuggestionState.OPEN

"""A final letter goes to the agency by email through the worker, once, and is on file."""

import email
import email.policy
import io
import re
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.conftest import Auth, post_form
from tests.letters_support import simple_letter
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.letters.document import Sender
from tracker.letters.models import Channel, LetterState
from tracker.letters.services import draft_letter, library
from tracker.mail.inbox import file_message, read_raw
from tracker.mail.models import Correspondence, Direction, OutgoingEmail, SendState
from tracker.requests.models import RequestStatus

TODAY = date(2026, 4, 20)
AGENCY_EMAIL = "records@commission.example.org"
SETTINGS = {
    "TODAY": TODAY,
    "MAIL_FROM": "records@coalition.example.org",
    "MAIL_REPLY_TO": "records+{reference}@coalition.example.org",
    "MAIL_RETRY_MINUTES": "1,5,25",
}


def final_letter(app, client, owner, make_request, make_agency, channel=Channel.EMAIL, **agency):
    """A letter the owner drafted and finalized through its page, ready to send."""
    simple_letter(app)
    values = {
        "name": "Board of Police Commissioners",
        "email": AGENCY_EMAIL,
        "mailing_address": "100 West First Street\nLos Angeles, CA 90012",
        **agency,
    }
    record = make_request(
        created_by=owner, agency=make_agency(**values), agency_tracking_number="PC-2026-117"
    )
    template = library().get("test-simple")
    letter = draft_letter(
        record,
        template,
        template.example_values(),
        Sender("Ana Ruiz", organization="Coalition for Police Records", email="ana@example.org"),
        owner,
        channel,
    )
    db.session.commit()
    base = f"/requests/{record.reference}/letters/{letter.id}"
    response = post_form(client, f"{base}/finalize", {}, token_from=base)
    assert response.status_code == 302
    db.session.refresh(letter)
    assert letter.state is LetterState.FINAL
    return record, letter, base


@pytest.fixture
def sending(app, smtp, client, auth, make_user, make_request, make_agency):
    app.config.update(SETTINGS, **smtp.settings())
    owner = make_user(Role.ADVOCATE, name="Ana Ruiz")
    auth.login(owner)
    record, letter, base = final_letter(app, client, owner, make_request, make_agency)
    return record, letter, base, owner


def received_message(smtp, number=0):
    return email.message_from_bytes(smtp.received[number].data, policy=email.policy.default)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def run_pending(huey):
    """Run the queued jobs as the worker does; the letters' emails among them."""
    ran = []
    while (task := huey.dequeue()) is not None:
        huey.execute(task)
        ran.append(task)
    return [task for task in ran if task.name.endswith("send_letter_email")]


def outgoing_of(letter):
    db.session.expire_all()
    return db.session.scalar(select(OutgoingEmail).where(OutgoingEmail.letter_id == letter.id))


def test_the_preview_shows_what_goes_out_and_the_agency_receives_it_with_the_pdf(
    app, client, smtp, sending
):
    record, letter, base, owner = sending
    # A message from the agency that waits for an answer: the letter answers it.
    waiting = file_message(
        b"From: clerk@commission.example.org\r\nSubject: Which years?\r\n\r\nPlease say.\r\n",
        source="upload",
        actor=owner,
        request=record,
    ).correspondence
    db.session.commit()
    assert waiting.needs_answer

    page = client.get(base).get_data(as_text=True)
    assert f'href="{base}/email"' in page and "Send by email" in page
    preview = client.get(f"{base}/email").get_data(as_text=True)
    reply_to = f"records+{record.reference}@coalition.example.org"
    assert "Coalition for Police Records &lt;records@coalition.example.org&gt;" in preview
    assert AGENCY_EMAIL in preview and reply_to in preview
    subject = f"Records about detainers (our reference {record.reference}, your number PC-2026-117)"
    assert subject in preview
    assert "7922.535, please send Records about detainers" in preview
    kept = letter.document_id
    assert re.search(rf"{record.reference}-initial-2026-04-20\.pdf \([\d,]+ bytes\)", preview)
    # Nothing goes out, and nothing is recorded, until the server accepts it.
    assert smtp.received == [] and record.sent_on is None

    response = post_form(client, f"{base}/email", {}, token_from=f"{base}/email")
    assert response.status_code == 302
    assert len(smtp.received) == 1
    assert smtp.handler.logins == ["tracker"]
    got = smtp.received[0]
    assert got.recipients == [AGENCY_EMAIL]
    assert got.mail_from == "records@coalition.example.org"
    message = received_message(smtp)
    assert message["To"] == AGENCY_EMAIL
    assert message["Reply-To"] == reply_to
    assert message["Subject"] == subject
    assert message["Date"] is not None
    body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "please send Records about detainers" in body
    # From the subject line to the signature: the letterhead and window address are for paper.
    assert body.startswith("Re: Records about detainers\n")
    assert "Sincerely," in body and "100 West First Street" not in body
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    text = pdf_text(attachments[0].get_content())
    assert record.reference in text and "7922.535" in text

    db.session.expire_all()
    outgoing = outgoing_of(letter)
    assert outgoing.state is SendState.SENT and outgoing.attempts == 1
    assert outgoing.message_id == message["Message-ID"]
    assert letter.state is LetterState.SENT and letter.sent_via is Channel.EMAIL
    assert letter.sent_on == TODAY and record.sent_on == TODAY
    assert record.status is RequestStatus.SENT
    sent = db.session.get(Correspondence, outgoing.correspondence_id)
    assert sent.direction is Direction.OUT and sent.request_id == record.id
    assert sent.message_id == message["Message-ID"]
    assert read_raw(sent).rstrip(b"\r\n") == got.data.rstrip(b"\r\n")
    assert [d.id for d in sent.attachments] == [kept]
    db.session.refresh(waiting)
    assert not waiting.needs_answer and waiting.answered_by_id == owner.id
    assert waiting.answer_note == "Answered by the letter sent by email on 2026-04-20."
    notes = [(e.actor_id, e.note) for e in record.events]
    assert (owner.id, f"Queued the letter to go by email to {AGENCY_EMAIL}.") in notes
    assert any(
        who == owner.id
        and note.startswith("Sent the letter by email")
        and outgoing.message_id in note
        for who, note in notes
    )
    shown = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert f"Emailed to {AGENCY_EMAIL}" in shown

    # The agency answers the message: the answer finds the request by its thread.
    reply = (
        f"From: {AGENCY_EMAIL}\r\nTo: someone@coalition.example.org\r\n"
        f"Subject: Re: your request\r\nIn-Reply-To: {outgoing.message_id}\r\n"
        "Message-ID: <answer-1@commission.example.org>\r\n\r\nWe have it.\r\n"
    ).encode()
    answer = file_message(reply, source="imap", actor=None).correspondence
    db.session.commit()
    assert answer.request_id == record.id


def test_pressing_send_twice_and_running_the_job_twice_send_one_message(app, client, smtp, sending):
    record, letter, base, owner = sending
    token_page = f"{base}/email"
    first = post_form(client, f"{base}/email", {}, token_from=token_page)
    # A stale page (the token was read before the first press) pressed again.
    again = post_form(client, f"{base}/email", {}, token_from=base, follow_redirects=True)
    assert first.status_code == 302
    assert "already sent by email; it was not queued again" in again.get_data(as_text=True)
    outgoing = outgoing_of(letter)
    app.extensions["tracker.jobs"].send_letter_email(outgoing.id, 1)
    db.session.commit()
    assert len(smtp.received) == 1
    assert len(db.session.scalars(select(OutgoingEmail)).all()) == 1
    assert outgoing_of(letter).attempts == 1
    preview = client.get(f"{base}/email").get_data(as_text=True)
    assert "The letter was already sent, by email on 2026-04-20." in preview
    assert 'value="Send"' not in preview


def test_a_refusal_is_retried_by_the_worker_and_the_second_try_sends_once(
    make_app, app, smtp, make_user, make_request, make_agency, tmp_path
):
    # The web side queues for real; the test runs each job as the worker would.
    web = make_app(
        TASKS_IMMEDIATE=False,
        TASKS_DATABASE=str(tmp_path / "queue.sqlite3"),
        **SETTINGS,
        **smtp.settings(),
    )
    app.config.update(SETTINGS, **smtp.settings())
    client = web.test_client()
    owner = make_user(Role.ADVOCATE)
    Auth(client).login(owner)
    record, letter, base = final_letter(app, client, owner, make_request, make_agency)
    huey = web.extensions["tracker.jobs"].huey
    smtp.refuse("451 4.3.0 Mailbox busy, try later")

    post_form(client, f"{base}/email", {}, token_from=f"{base}/email")
    outgoing = outgoing_of(letter)
    assert outgoing.state is SendState.QUEUED and outgoing.attempts == 0
    assert "Email queued, try 1, next at" in client.get(base).get_data(as_text=True)
    # The retry it schedules comes back through the queue and waits in the schedule.
    job, retry_queued = run_pending(huey)
    assert retry_queued.eta is not None
    outgoing = outgoing_of(letter)
    assert outgoing.state is SendState.QUEUED and outgoing.attempts == 1
    assert outgoing.error == "451 4.3.0 Mailbox busy, try later"
    assert smtp.received == [] and letter.state is LetterState.FINAL and record.sent_on is None
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "Email queued, try 2, next at" in page and "Mailbox busy, try later" in page
    # The next try waits the first of the configured delays.
    [retry] = huey.scheduled()
    waited = retry.eta - datetime.now()
    assert timedelta(seconds=50) < waited <= timedelta(seconds=60)
    # The same job run again (a retried delivery) finds the try already made.
    huey.execute(job)
    assert outgoing_of(letter).attempts == 1 and smtp.received == []

    for task in huey.read_schedule(retry.eta + timedelta(seconds=1)):
        huey.execute(task, timestamp=task.eta)
    outgoing = outgoing_of(letter)
    assert outgoing.state is SendState.SENT and outgoing.attempts == 2 and outgoing.error == ""
    assert len(smtp.received) == 1
    assert received_message(smtp)["Message-ID"] == outgoing.message_id
    assert letter.state is LetterState.SENT and record.sent_on == TODAY
    assert huey.scheduled() == []
    huey.execute(job)
    assert len(smtp.received) == 1


def test_a_permanent_refusal_shows_on_the_request_and_try_again_sends_it(
    app, client, smtp, sending
):
    record, letter, base, owner = sending
    smtp.refuse("550 5.1.1 No such mailbox here")
    page = post_form(client, f"{base}/email", {}, token_from=f"{base}/email", follow_redirects=True)
    said = page.get_data(as_text=True)
    assert "could not be sent by email: 550 5.1.1 No such mailbox here" in said
    outgoing = outgoing_of(letter)
    assert outgoing.state is SendState.FAILED and outgoing.attempts == 1
    assert smtp.handler.refusals == [] and smtp.received == []
    assert letter.state is LetterState.FINAL and record.sent_on is None
    shown = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "The email could not be sent: 550 5.1.1 No such mailbox here" in shown
    assert f'id="retry-email-{letter.id}"' in shown
    assert "Try again" in client.get(base).get_data(as_text=True)
    assert any(
        e.actor_id == owner.id and "could not be sent by email (try 1): 550 5.1.1" in e.note
        for e in record.events
    )

    message_id = outgoing.message_id
    post_form(client, f"{base}/email", {}, token_from=f"/requests/{record.reference}")
    outgoing = outgoing_of(letter)
    assert outgoing.state is SendState.SENT and outgoing.attempts == 2
    assert received_message(smtp)["Message-ID"] == message_id
    assert letter.state is LetterState.SENT


def test_a_letter_that_cannot_go_by_email_is_refused_on_the_page(
    app, client, auth, smtp, make_user, make_request, make_agency
):
    app.config.update(SETTINGS, **smtp.settings())
    owner = make_user(Role.ADVOCATE)
    auth.login(owner)
    record, letter, base = final_letter(
        app, client, owner, make_request, make_agency, channel=Channel.MAIL, email=""
    )
    preview = client.get(f"{base}/email").get_data(as_text=True)
    assert "has no email address on file for its records office" in preview
    assert 'value="Send"' not in preview
    page = post_form(client, f"{base}/email", {}, token_from=base, follow_redirects=True)
    assert "The letter was not sent" in page.get_data(as_text=True)
    assert outgoing_of(letter) is None and smtp.received == []

    letter.state = LetterState.FINAL
    record.agency.email = AGENCY_EMAIL
    app.config["MAIL_SERVER"] = ""
    db.session.commit()
    preview = client.get(f"{base}/email").get_data(as_text=True)
    assert "No mail server is set up (TRACKER_MAIL_SERVER)" in preview
    post_form(client, f"{base}/email", {}, token_from=base)
    assert outgoing_of(letter) is None


def test_a_draft_cannot_be_sent(app, client, auth, smtp, make_user, make_request):
    app.config.update(SETTINGS, **smtp.settings())
    owner = make_user(Role.ADVOCATE)
    auth.login(owner)
    simple_letter(app)
    record = make_request(created_by=owner)
    template = library().get("test-simple")
    letter = draft_letter(
        record, template, template.example_values(), Sender("Ana", email="a@example.org"), owner
    )
    db.session.commit()
    base = f"/requests/{record.reference}/letters/{letter.id}"
    assert "Send by email" not in client.get(base).get_data(as_text=True)
    preview = client.get(f"{base}/email").get_data(as_text=True)
    assert "The letter is a draft: finalize it before sending it." in preview
    post_form(client, f"{base}/email", {}, token_from=base)
    assert outgoing_of(letter) is None


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ADVOCATE])
def test_only_those_who_may_change_the_request_send_its_letter(
    app, client, auth, smtp, make_user, make_request, make_agency, role
):
    app.config.update(SETTINGS, **smtp.settings())
    owner = make_user(Role.ADVOCATE)
    auth.login(owner)
    record, letter, base = final_letter(app, client, owner, make_request, make_agency)
    auth.logout()
    auth.login(make_user(role))
    assert "Send by email" not in client.get(base).get_data(as_text=True)
    assert client.get(f"{base}/email").status_code == 403
    response = post_form(client, f"{base}/email", {}, token_from="/account/password")
    assert response.status_code == 403
    assert outgoing_of(letter) is None and smtp.received == []
    auth.logout()
    auth.login(make_user(Role.STAFF))
    assert client.get(f"{base}/email").status_code == 200


PORTAL = "https://requests.example.org/lapd"


def portal_letter(app, client, auth, make_user, make_request, make_agency):
    app.config.update(SETTINGS)
    owner = make_user(Role.ADVOCATE)
    auth.login(owner)
    record, letter, base = final_letter(
        app, client, owner, make_request, make_agency, channel=Channel.PORTAL,
        mailing_address="", email="", portal_url=PORTAL,
    )  # fmt: skip
    record.agency_tracking_number = ""
    db.session.commit()
    return record, letter, base, owner


def test_a_letter_filed_through_the_portal_is_ready_to_paste_and_records_the_filing(
    app, client, auth, make_user, make_request, make_agency
):
    record, letter, base, owner = portal_letter(
        app, client, auth, make_user, make_request, make_agency
    )
    page = client.get(base).get_data(as_text=True)
    assert f'href="{PORTAL}"' in page
    assert re.search(r'<textarea id="paste-text" rows="12" readonly>[^<]*please send Records', page)
    assert f'value="Records about detainers (our reference {record.reference})" readonly' in page
    assert re.search(rf'<input [^>]*name="portal" [^>]*value="{re.escape(PORTAL)}"', page)
    assert re.search(r'<input [^>]*name="filed_on" [^>]*value="2026-04-20"', page)

    response = post_form(
        client,
        f"{base}/portal",
        {"portal": "LAPD NextRequest", "confirmation": "26-1187", "filed_on": "2026-04-20"},
        token_from=base,
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert letter.state is LetterState.SENT and letter.sent_via is Channel.PORTAL
    assert letter.sent_on == TODAY
    assert (letter.portal_name, letter.portal_confirmation) == ("LAPD NextRequest", "26-1187")
    assert record.agency_tracking_number == "26-1187" and record.sent_on == TODAY
    notes = [(e.actor_id, e.note) for e in record.events]
    assert (
        owner.id,
        "Filed the letter through LAPD NextRequest on 2026-04-20; confirmation number 26-1187.",
    ) in notes
    assert any("Agency tracking number" in str(e.changes) for e in record.events if e.changes)
    shown = client.get(base).get_data(as_text=True)
    assert "filed via LAPD NextRequest, confirmation 26-1187" in shown


@pytest.mark.parametrize(
    ("typed", "field", "said"),
    [
        ({"confirmation": ""}, "confirmation", "Give the confirmation number the portal showed."),
        ({"filed_on": "2026-04-21"}, "filed_on", "This date cannot be after today"),
        ({"filed_on": "2026-04-19"}, "filed_on", "It cannot be filed before the letter's date."),
        ({"portal": ""}, "portal", "Say which portal it was filed through."),
    ],
)
def test_filing_via_portal_refuses_bad_input_at_the_field_keeping_what_was_typed(
    app, client, auth, make_user, make_request, make_agency, typed, field, said
):
    record, letter, base, owner = portal_letter(
        app, client, auth, make_user, make_request, make_agency
    )
    data = {"portal": "LAPD NextRequest", "confirmation": "26-1187", "filed_on": "2026-04-20"}
    data.update(typed)
    response = post_form(client, f"{base}/portal", data, token_from=base)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error = re.search(rf'<p class="error" id="{field}-error"[^>]*>([^<]*)</p>', page)
    assert error and said in error.group(1).replace("&#39;", "'")
    for name, value in data.items():
        assert re.search(rf'<input [^>]*name="{name}" [^>]*value="{value}"', page), name
    db.session.expire_all()
    assert letter.state is LetterState.FINAL and letter.portal_confirmation == ""
    assert record.agency_tracking_number == ""


def test_marking_a_letter_sent_by_hand_answers_the_waiting_messages(
    app, client, auth, make_user, make_request, make_agency
):
    app.config.update(SETTINGS)
    owner = make_user(Role.ADVOCATE)
    auth.login(owner)
    record, letter, base = final_letter(
        app, client, owner, make_request, make_agency, channel=Channel.MAIL
    )
    waiting = file_message(
        b"From: clerk@commission.example.org\r\nSubject: Which years?\r\n\r\nSay.\r\n",
        source="upload",
        actor=owner,
        request=record,
    ).correspondence
    db.session.commit()
    post_form(client, f"{base}/sent", {"sent_on": "2026-04-20", "channel": "mail"}, token_from=base)
    db.session.expire_all()
    assert letter.state is LetterState.SENT
    assert waiting.answered_at is not None and waiting.answered_by_id == owner.id
    assert waiting.answer_note == "Answered by the letter sent by mail on 2026-04-20."


def test_the_reminders_sign_in_to_the_server_through_the_shared_connection(
    app, runner, smtp, make_user, make_request
):
    app.config.update(TODAY=TODAY, **smtp.settings())
    staff = make_user(Role.STAFF)
    make_request(assignee=staff, received_on=date(2026, 3, 2), status=RequestStatus.SENT)
    result = runner.invoke(args=["remind", "--today", "2026-04-20"])
    assert result.exit_code == 0, result.output
    assert smtp.handler.logins == ["tracker"], result.output
    assert [r.recipients for r in smtp.received] == [[staff.email]]


@pytest.fixture
def tls_smtp(tmp_path):
    """An aiosmtpd server that takes mail only after STARTTLS and a sign-in."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    from tests.mailservers import (
        SMTP_PASSWORD,
        SMTP_USER,
        SmtpHandler,
        self_signed_server_context,
    )
    from tests.postgres import free_port

    certificate, context = self_signed_server_context(tmp_path)
    handler = SmtpHandler()

    def authenticator(server, session, envelope, mechanism, data):
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        handler.logins.append(data.login.decode())
        return AuthResult(
            success=(data.login.decode(), data.password.decode()) == (SMTP_USER, SMTP_PASSWORD)
        )

    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        tls_context=context,
        require_starttls=True,
    )
    controller.start()
    settings = {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": port,
        "MAIL_USE_TLS": True,
        "MAIL_USERNAME": SMTP_USER,
        "MAIL_PASSWORD": SMTP_PASSWORD,
    }
    try:
        yield handler, settings, certificate
    finally:
        controller.stop()


def test_starttls_is_used_and_the_server_s_certificate_checked_before_the_password(
    tls_smtp, monkeypatch
):
    import smtplib
    import ssl
    from email.message import EmailMessage

    from tracker.mail.smtp import smtp_connection

    handler, settings, certificate = tls_smtp
    message = EmailMessage()
    message["From"] = "records@coalition.example.org"
    message["To"] = "records@commission.example.org"
    message["Subject"] = "CPRA request"
    message.set_content("Please send the records.")

    # A certificate nobody vouches for: refused before the password is sent.
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        with smtp_connection(settings, "127.0.0.1") as smtp:
            smtp.send_message(message)
    assert handler.logins == [] and handler.received == []

    # Trusted (as a company's own authority would be): TLS first, then the sign-in.
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    with smtp_connection(settings, "127.0.0.1") as smtp:
        smtp.send_message(message)
    assert handler.logins == ["tracker"] and len(handler.received) == 1

    # Without STARTTLS this server takes nothing, so the setting is what made it work.
    with pytest.raises(smtplib.SMTPException):
        with smtp_connection({**settings, "MAIL_USE_TLS": False}, "127.0.0.1") as smtp:
            smtp.send_message(message)
    assert len(handler.received) == 1

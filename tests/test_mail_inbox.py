"""Emails in: read whole, filed on the right request, or held until staff place them."""

import io
import mailbox
import os
import re
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import blank_pdf, post_form
from tracker.auth.models import Role
from tracker.documents.models import Document
from tracker.extensions import db
from tracker.mail.inbox import file_message, parse
from tracker.mail.models import Correspondence, MailState

REPLY_TO = "records+{reference}@coalition.example"
SENT = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)


def agency_reply(
    subject: str = "Records request",
    to: str = "team@coalition.example",
    text: str = "Please find the records attached.",
    html: str | None = "<p>Please find the <b>records</b> attached.</p>",
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    sender: str = "Records Unit <records@lapd.example.gov>",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(SENT)
    message["Message-ID"] = make_msgid(domain="lapd.example.gov")
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, media_type, content in attachments:
        main, _, sub = media_type.partition("/")
        message.add_attachment(content, maintype=main, subtype=sub, filename=name)
    return message.as_bytes()


def with_pdf(**fields: object) -> bytes:
    pdf = ("determination.pdf", "application/pdf", blank_pdf("Determination"))
    return agency_reply(attachments=(pdf,), **fields)  # type: ignore[arg-type]


def filed_on(record: object) -> list[Correspondence]:
    return list(
        db.session.scalars(
            select(Correspondence).where(Correspondence.request_id == record.id)  # type: ignore[attr-defined]
        )
    )


def upload(client, record, raw: bytes, name: str = "reply.eml"):
    path = f"/requests/{record.reference}"
    return post_form(
        client,
        f"{path}/mail",
        {"mail": (io.BytesIO(raw), name)},
        token_from=path,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def page_text(response) -> str:
    return unescape(response.get_data(as_text=True))


def test_a_multipart_reply_is_read_whole():
    parsed = parse(with_pdf(subject="Your request LA-2026-0042"))
    assert parsed.subject == "Your request LA-2026-0042"
    assert parsed.from_address == "Records Unit <records@lapd.example.gov>"
    assert parsed.to_addresses == ["team@coalition.example"]
    assert parsed.sent_at == SENT
    # The plain part is preferred over the HTML one.
    assert parsed.text.strip() == "Please find the records attached."
    assert [name for name, _ in parsed.attachments] == ["determination.pdf"]
    assert parsed.attachments[0][1].startswith(b"%PDF")
    assert parsed.message_id.startswith("<") and parsed.notes == []


def test_an_html_only_body_is_kept_as_its_text():
    message = EmailMessage()
    message["From"] = "a@example.gov"
    message["Subject"] = "Status"
    message.set_content("<p>First line<br>second &amp; last</p>", subtype="html")
    parsed = parse(message.as_bytes())
    assert parsed.text == "First line\nsecond & last"


def test_a_reply_to_the_reply_address_files_itself_with_its_pdf(
    app, client, auth, make_user, make_request
):
    app.config["MAIL_REPLY_TO"] = REPLY_TO
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    other = make_request(created_by=advocate, agency_tracking_number="C-1")
    to = f"records+{record.reference.lower()}@coalition.example"
    filed = file_message(with_pdf(to=to, subject="Re: C-1"), source="imap", actor=None)
    db.session.commit()
    entry = filed.correspondence
    assert entry.request_id == record.id and entry.state is MailState.FILED
    assert filed_on(other) == []
    [document] = filed.stored
    assert document.correspondence_id == entry.id and document.request_id == record.id
    assert document.original_filename == "determination.pdf"
    assert any(
        "Filed an email from Records Unit <records@lapd.example.gov>: Re: C-1" in e.note
        for e in record.events
    )

    auth.login(advocate)
    page = client.get(f"/requests/{record.reference}")
    html = page.get_data(as_text=True)
    section = html[html.index('id="mail-section"') : html.index('id="timeline-section"')]
    assert "Re: C-1" in section and "Please find the records attached." in section
    assert f'href="/documents/{document.id}"' in section
    assert "The tracker" in html and "filed an email" in html


def test_the_reply_address_setting_is_what_is_matched(app, make_request):
    record = make_request()
    to = f"records+{record.reference}@coalition.example"
    app.config["MAIL_REPLY_TO"] = ""
    assert (
        file_message(agency_reply(to=to), source="imap", actor=None).correspondence.request_id
        is None
    )
    app.config["MAIL_REPLY_TO"] = "foia-{reference}@other.example"
    to = f"foia-{record.reference}@other.example"
    entry = file_message(agency_reply(to=to, text="x"), source="imap", actor=None).correspondence
    assert entry.request_id == record.id


def test_a_reply_in_a_known_thread_follows_it(app, make_request):
    record = make_request()
    first = file_message(agency_reply(), source="upload", actor=None, request=record)
    message = EmailMessage()
    message["From"] = "records@lapd.example.gov"
    message["Subject"] = "Re: Records request"
    message["In-Reply-To"] = first.correspondence.message_id
    message.set_content("One more thing.")
    reply = file_message(message.as_bytes(), source="imap", actor=None).correspondence
    assert reply.request_id == record.id


def test_a_reply_naming_only_the_agencys_tracking_number_finds_its_request(app, make_request):
    record = make_request(agency_tracking_number="R012345-112026")
    make_request(agency_tracking_number="R012345")
    entry = file_message(
        agency_reply(subject="Public Records Request :: R012345-112026", text="Status update."),
        source="imap",
        actor=None,
    ).correspondence
    assert entry.request_id == record.id
    # Only a whole token: a longer number is not this one, and two matches are none.
    longer = agency_reply(subject="Request R012345-1120267", text="Other.")
    assert file_message(longer, source="imap", actor=None).correspondence.request_id is None
    both = agency_reply(subject="R012345 and R012345-112026", text="Both.")
    assert file_message(both, source="imap", actor=None).correspondence.request_id is None


def test_our_reference_in_the_subject_finds_its_request(app, make_request):
    record = make_request()
    raw = agency_reply(subject=f"RE: {record.reference} acknowledgment", text="Received.")
    assert file_message(raw, source="imap", actor=None).correspondence.request_id == record.id


def test_an_unmatched_message_waits_and_staff_file_it_through_the_page(
    app, client, auth, make_user, make_request
):
    record = make_request(created_by=make_user(Role.ADVOCATE))
    filed = file_message(with_pdf(subject="Your records"), source="imap", actor=None)
    db.session.commit()
    entry = filed.correspondence
    assert entry.request_id is None and entry.state is MailState.HELD and filed.stored == []

    staff = make_user(Role.STAFF)
    auth.login(staff)
    assert b"Held mail" in client.get("/requests").data
    held = client.get("/mail/held").get_data(as_text=True)
    assert "Your records" in held and "Please find the records attached." in held

    wrong = post_form(
        client, f"/mail/{entry.id}/assign", {"reference": "LA-1999-0001"}, token_from="/mail/held"
    )
    answer = wrong.get_data(as_text=True)
    assert "No request has the reference LA-1999-0001." in answer
    assert 'value="LA-1999-0001"' in answer
    assert db.session.get(Correspondence, entry.id).state is MailState.HELD

    done = post_form(
        client,
        f"/mail/{entry.id}/assign",
        {"reference": record.reference.lower()},
        token_from="/mail/held",
        follow_redirects=True,
    )
    assert "Filed the message, 1 attachment stored." in page_text(done)
    db.session.expire_all()
    entry = db.session.get(Correspondence, entry.id)
    assert entry.state is MailState.FILED and entry.request_id == record.id
    [document] = entry.attachments
    assert document.request_id == record.id and document.original_filename == "determination.pdf"
    assert any(e.actor_id == staff.id and "holding pen" in e.note for e in record.events)
    assert "Your records" not in client.get("/mail/held").get_data(as_text=True)


def test_a_held_message_is_discarded_only_with_a_reason_and_kept(app, client, auth, make_user):
    entry = file_message(agency_reply(subject="Win a cruise"), source="imap", actor=None)
    db.session.commit()
    entry_id = entry.correspondence.id
    auth.login(make_user(Role.ADMIN))
    refused = post_form(
        client, f"/mail/{entry_id}/discard", {"reason": "  "}, token_from="/mail/held"
    )
    assert "Say why the message is discarded." in refused.get_data(as_text=True)
    assert db.session.get(Correspondence, entry_id).state is MailState.HELD
    done = post_form(
        client,
        f"/mail/{entry_id}/discard",
        {"reason": "Spam"},
        token_from="/mail/held",
        follow_redirects=True,
    )
    html = page_text(done)
    assert "Discarded; the message and the reason are kept." in html
    assert "Discarded lately" in html and "Spam" in html
    db.session.expire_all()
    kept = db.session.get(Correspondence, entry_id)
    assert kept.state is MailState.DISCARDED and kept.discard_reason == "Spam"


def test_advocates_and_viewers_have_no_holding_pen(client, auth, make_user):
    for role in (Role.ADVOCATE, Role.VIEWER):
        auth.login(make_user(role))
        assert b"Held mail" not in client.get("/requests").data
        assert client.get("/mail/held").status_code == 403
        auth.logout()


def test_a_saved_email_is_filed_on_the_request_and_stored_once(
    app, client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    raw = with_pdf(subject="Determination letter")
    auth.login(advocate)
    first = upload(client, record, raw)
    assert "Filed 1 message, 1 attachment stored." in page_text(first)
    second = upload(client, record, raw, name="same.eml")
    assert "Filed 0 messages, 1 already on file." in page_text(second)
    db.session.expire_all()
    [entry] = filed_on(record)
    assert entry.source == "upload" and entry.created_by_id == advocate.id
    assert (
        len(db.session.scalars(select(Document).where(Document.request_id == record.id)).all()) == 1
    )
    # The raw message is kept whole in storage, under a generated name.
    stored = Path(app.instance_path, "documents", *entry.raw_storage_key.split("/"))
    assert stored.read_bytes() == raw and "reply" not in entry.raw_storage_key


def test_a_viewer_and_another_advocate_cannot_add_mail(client, auth, make_user, make_request):
    record = make_request(created_by=make_user(Role.ADVOCATE))
    auth.login(make_user(Role.VIEWER))
    assert b'id="add-mail"' not in client.get(f"/requests/{record.reference}").data
    auth.logout()
    auth.login(make_user(Role.ADVOCATE))
    assert b'id="add-mail"' not in client.get(f"/requests/{record.reference}").data
    answer = upload(client, record, agency_reply())
    assert answer.status_code == 403
    assert filed_on(record) == []


def test_a_file_that_is_not_an_email_is_refused_at_the_field(client, auth, make_user, make_request):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    auth.login(advocate)
    answer = page_text(upload(client, record, b"just some words\n", name="notes.txt"))
    field = answer[answer.index('id="add-mail"') :]
    assert "Nothing was filed. It has no From, Subject, Date or Message-ID" in field
    assert filed_on(record) == []


def test_a_hostile_message_is_defanged_and_nothing_is_lost(
    app, client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    admin = make_user(Role.ADMIN, name="Ada Admin")
    record = make_request(created_by=advocate)
    message = EmailMessage()
    # Claims to come from the tracker's admin: it is text to show, nothing more.
    message["From"] = f"Ada Admin <{admin.email}>"
    message["To"] = "team@coalition.example"
    message["Subject"] = "Records <img src=x onerror=alert(1)>"
    message.set_content(
        '<p>Hello</p><script>alert("owned")</script><a href="javascript:evil()">click</a>',
        subtype="html",
    )
    message.add_attachment(
        b"<html><script>alert(1)</script></html>",
        maintype="text",
        subtype="html",
        filename="records.html",
    )
    raw = message.as_bytes().replace(b"Subject:", b"Date: the day after never\r\nSubject:", 1)
    auth.login(advocate)
    answer = upload(client, record, raw, name="hostile.eml")
    html = answer.get_data(as_text=True)
    assert "Filed 1 message; refused: “records.html”" in page_text(answer)

    db.session.expire_all()
    [entry] = filed_on(record)
    assert "script" not in entry.text and "alert" not in entry.text
    assert entry.text.startswith("Hello") and "click" in entry.text
    assert entry.sent_at is None and "The Date header is not a date." in entry.notes
    assert entry.from_address == f"Ada Admin <{admin.email}>"
    assert entry.created_by_id == advocate.id
    assert entry.attachments == []
    # The page shows it all as text: no tag of the message's own reaches the browser.
    assert re.findall(r"<script[^>]*>", html) == [
        '<script src="/static/upload.js" defer>',
        '<script src="/static/text-status.js" defer>',
    ]
    assert not re.search(r"<script>alert|<img src=x|javascript:evil", html)
    assert "Records &lt;img src=x onerror=alert(1)&gt;" in html
    events = [e for e in record.events if e.kind == "mail"]
    assert len(events) == 1 and events[0].actor_id == advocate.id
    # The raw message is kept as it came, attachment and all.
    stored = Path(app.instance_path, "documents", *entry.raw_storage_key.split("/"))
    assert stored.read_bytes() == raw


def test_a_malformed_header_is_noted_and_the_message_kept(make_request):
    record = make_request()
    raw = (
        b"From: =?utf-8?q?broken\r\n"
        b"To: <<<@@>>>, team@coalition.example\r\n"
        b"Subject: \xff\xfe bad bytes\r\n"
        b"Date: Mon, 32 Foo 2026 99:99:99\r\n"
        b"Content-Type: text/plain; charset=no-such-charset\r\n"
        b"\r\n"
        b"Body in an unknown charset \xe9\r\n"
    )
    parsed = parse(raw)
    assert "bad bytes" in parsed.subject and "Body in an unknown charset" in parsed.text
    assert parsed.notes
    filed = file_message(raw, source="upload", actor=None, request=record)
    assert filed.correspondence.state is MailState.FILED
    assert "\x00" not in filed.correspondence.text


def test_a_mailbox_of_three_messages_files_each(
    app, client, auth, make_user, make_request, tmp_path
):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    box_path = tmp_path / "saved.mbox"
    box = mailbox.mbox(box_path)
    for number in range(1, 4):
        box.add(agency_reply(subject=f"Message {number}", text=f"Part {number}.", html=None))
    box.close()
    auth.login(advocate)
    answer = page_text(upload(client, record, box_path.read_bytes(), name="saved.mbox"))
    assert "Filed 3 messages." in answer
    db.session.expire_all()
    subjects = sorted(entry.subject for entry in filed_on(record))
    assert subjects == ["Message 1", "Message 2", "Message 3"]
    # The thread is in date order, each with its text.
    section = answer[answer.index('id="mail-section"') : answer.index('id="timeline-section"')]
    assert section.index("Part 1.") < section.index("Part 3.")


@pytest.mark.parametrize("lines", [3, 80])
def test_a_long_message_is_folded_away(app, client, auth, make_user, make_request, lines):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    text = "\n".join(f"Line {n}" for n in range(lines))
    file_message(agency_reply(text=text, html=None), source="upload", actor=None, request=record)
    db.session.commit()
    auth.login(advocate)
    html = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert ("<details>" in html) is (lines > 25)
    assert f"Line {lines - 1}" in html


def test_the_kept_raw_email_is_no_orphan_to_the_doctor(app, runner, make_request):
    record = make_request()
    entry = file_message(agency_reply(), source="upload", actor=None, request=record)
    db.session.commit()
    kept = Path(app.instance_path, "documents", *entry.correspondence.raw_storage_key.split("/"))
    long_ago = time.time() - 7 * 24 * 60 * 60
    os.utime(kept, (long_ago, long_ago))
    result = runner.invoke(args=["doctor", "--repair"])
    assert result.exit_code == 0, result.output
    assert "0 orphans" in result.output and kept.exists()


def forward_of(inner: bytes, subject: str, to: str = "team@coalition.example") -> bytes:
    """An advocate forwarding the agency's answer as an attachment, as mail programs do."""
    message = EmailMessage()
    message["From"] = "Ada Advocate <ada@coalition.example>"
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(SENT)
    message["Message-ID"] = make_msgid(domain="coalition.example")
    message.set_content("Forwarding what the agency sent me.")
    message.add_attachment(_message(inner), filename="answer.eml")
    return message.as_bytes()


def _message(raw: bytes) -> EmailMessage:
    import email
    import email.policy

    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def test_a_forwarded_answer_uploaded_by_an_advocate_is_filed_as_the_agency_s_own_message(
    app, client, auth, make_user, make_request
):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    auth.login(advocate)
    inner = with_pdf(subject="Your request: determination")
    page = upload(client, record, forward_of(inner, "Fwd: Your request: determination"))
    assert "Filed 1 message, 1 forwarded message filed on its own" in page_text(page)
    db.session.expire_all()
    entries = {entry.from_address: entry for entry in filed_on(record)}
    agency = entries["Records Unit <records@lapd.example.gov>"]
    forward = entries["Ada Advocate <ada@coalition.example>"]
    # The agency's message is on the thread with its PDF, and it is what needs an answer.
    assert agency.subject == "Your request: determination"
    assert agency.text.startswith("Please find the records attached.")
    assert [d.original_filename for d in agency.attachments] == ["determination.pdf"]
    assert agency.needs_answer and not forward.needs_answer
    # The forward keeps what it carried, as sent.
    assert [d.original_filename for d in forward.attachments] == ["answer.eml"]


def test_a_forward_matching_no_request_still_files_the_answer_it_carries(app, make_request):
    record = make_request(agency_tracking_number="W123456-112026")
    db.session.commit()
    inner = agency_reply(subject="Request W123456-112026: records released")
    filed = file_message(forward_of(inner, "Fwd: records released"), source="imap", actor=None)
    db.session.commit()
    assert filed.correspondence.state is MailState.HELD
    [carried] = filed.forwarded
    assert carried.correspondence.request_id == record.id
    assert carried.correspondence.state is MailState.FILED

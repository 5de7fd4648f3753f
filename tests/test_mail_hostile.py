"""Mail written to do harm: defanged or refused, said so, and nothing of it lost.

Each message is kept whole as it came (its raw bytes), whatever part of it is refused;
the pages show it only as text.
"""

import io
import re
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
from tracker.mail.inbox import file_message, parse, read_raw
from tracker.mail.models import Correspondence, MailState

SENT = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)
# The page's own scripts, the only ones any page may carry.
OWN_SCRIPTS = [
    '<script src="/static/upload.js" defer>',
    '<script src="/static/text-status.js" defer>',
]


def hostile(
    subject: str = "Your records",
    html: str = "<p>Records attached.</p>",
    attachments: tuple[tuple[str, str, bytes], ...] = (),
    sender: str = "Records Unit <records@lapd.example.gov>",
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "team@coalition.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(SENT)
    message["Message-ID"] = make_msgid(domain="lapd.example.gov")
    message.set_content(html, subtype="html")
    for name, media_type, content in attachments:
        main, _, sub = media_type.partition("/")
        message.add_attachment(content, maintype=main, subtype=sub, filename=name)
    return message.as_bytes()


def upload(client, record, raw: bytes):
    path = f"/requests/{record.reference}"
    return post_form(
        client,
        f"{path}/mail",
        {"mail": (io.BytesIO(raw), "hostile.eml")},
        token_from=path,
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def words(body: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))


def stored_raw(app, entry: Correspondence) -> bytes:
    return Path(app.instance_path, "documents", *entry.raw_storage_key.split("/")).read_bytes()


@pytest.fixture
def owner_and_request(make_user, make_request):
    owner = make_user(Role.ADVOCATE)
    return owner, make_request(created_by=owner)


def test_script_in_the_html_body_is_kept_as_text_and_never_reaches_a_page(
    app, client, auth, owner_and_request
):
    owner, record = owner_and_request
    raw = hostile(
        subject='Records "><script>alert(1)</script>',
        html=(
            "<p>Dear requester,</p><script>document.location='https://evil.example'</script>"
            '<img src=x onerror="alert(2)"><iframe src="https://evil.example"></iframe>'
            '<a href="javascript:alert(3)">the records</a><style>body{display:none}</style>'
            "<p>Sincerely, the Records Unit</p>"
        ),
    )
    auth.login(owner)
    body = upload(client, record, raw).get_data(as_text=True)
    [entry] = db.session.scalars(select(Correspondence)).all()
    assert "Dear requester," in entry.text and "Sincerely, the Records Unit" in entry.text
    assert "the records" in entry.text
    for gone in ("document.location", "onerror", "iframe", "javascript:", "display:none"):
        assert gone not in entry.text
    for page in (body, client.get(f"/requests/{record.reference}").get_data(as_text=True)):
        assert re.findall(r"<script[^>]*>", page) == OWN_SCRIPTS
        assert not re.search(r"<img src=x|<iframe|javascript:alert", page)
    assert "Records &#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert stored_raw(app, entry) == raw


@pytest.mark.parametrize(
    ("name", "media_type", "content"),
    [
        ("records.html", "text/html", b"<html><script>alert(1)</script></html>"),
        ("records.pdf", "application/pdf", b"<html><script>alert(1)</script></html>"),
        ("records.svg", "image/svg+xml", b'<svg onload="alert(1)"/>'),
    ],
)
def test_an_attachment_a_browser_could_run_is_refused_said_and_kept_in_the_raw(
    app, client, auth, owner_and_request, name, media_type, content
):
    owner, record = owner_and_request
    pdf = ("index.pdf", "application/pdf", blank_pdf("Index"))
    raw = hostile(attachments=((name, media_type, content), pdf))
    auth.login(owner)
    answer = upload(client, record, raw)
    assert f"refused: “{name}”" in words(answer.get_data(as_text=True))
    [entry] = db.session.scalars(select(Correspondence)).all()
    assert [d.original_filename for d in entry.attachments] == ["index.pdf"]
    assert f"The attachment “{name}” was not stored" in entry.notes
    assert "kept in the raw message" in entry.notes
    # The thread says it too, after the flash is gone.
    page = words(client.get(f"/requests/{record.reference}").get_data(as_text=True))
    assert f"The attachment “{name}” was not stored" in page
    assert stored_raw(app, entry) == raw
    assert (name, content) in parse(read_raw(entry)).attachments
    # What was stored goes out only as a download the browser must not sniff.
    download = client.get(f"/documents/{entry.attachments[0].id}/download")
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert download.headers["X-Content-Type-Options"] == "nosniff"


def test_a_50_mb_attachment_over_the_cap_is_refused_and_the_message_kept_whole(
    make_app, make_request
):
    app = make_app(MAX_UPLOAD_MB=5, MAX_UPLOAD_REQUEST_MB=80)
    with app.app_context():
        record = make_request()
        huge = b"%PDF-1.7\n" + bytes(range(256)) * (50 * 1024 * 1024 // 256)
        raw = hostile(attachments=(("everything.pdf", "application/pdf", huge),))
        del huge
        filed = file_message(raw, source="imap", actor=None, request=record)
        db.session.commit()
        entry = filed.correspondence
        assert entry.state is MailState.FILED and entry.raw_size == len(raw)
        assert [name for name, _ in filed.refused] == ["everything.pdf"]
        assert "larger than" in filed.refused[0][1] or "MB" in filed.refused[0][1]
        assert "The attachment “everything.pdf” was not stored" in entry.notes
        assert db.session.scalar(select(Document.id)) is None
        assert read_raw(entry) == raw


def test_a_message_beyond_every_limit_is_refused_with_its_reason(make_app, make_request):
    app = make_app(MAX_UPLOAD_MB=1, MAX_UPLOAD_REQUEST_MB=2)
    with app.app_context():
        record = make_request()
        raw = hostile(attachments=(("big.pdf", "application/pdf", b"%PDF" + b"x" * 3_000_000),))
        with pytest.raises(ValueError, match="larger than the 2 MB limit"):
            file_message(raw, source="imap", actor=None, request=record)
        assert db.session.scalar(select(Correspondence.id)) is None


def test_a_malformed_header_is_noted_shown_and_the_message_kept(
    app, client, auth, owner_and_request
):
    owner, record = owner_and_request
    raw = (
        b"From: =?utf-8?b?!!!notbase64?= <\xff@@example>\r\n"
        b"To: team@coalition.example\r\n"
        b"Subject: =?x-unknown?q?odd?= records\r\n"
        b"Date: Someday, 45 Smarch 20266 25:61:00 +9999\r\n"
        b"Message-ID: <<<broken>>>\r\n"
        b"In-Reply-To: " + b"<" * 2000 + b"\r\n"
        b"Content-Type: multipart/mixed; boundary=\r\n"
        b"\r\n"
        b"The body still says something.\r\n"
    )
    auth.login(owner)
    answer = upload(client, record, raw)
    assert answer.status_code == 200
    [entry] = db.session.scalars(select(Correspondence)).all()
    assert entry.state is MailState.FILED and entry.notes
    assert "The Date header is not a date." in entry.notes
    assert "Not everything could be read" in words(answer.get_data(as_text=True))
    assert len(entry.in_reply_to) <= 998
    assert stored_raw(app, entry) == raw


def test_a_forged_portal_sender_suggests_nothing_and_changes_nothing(
    app, client, auth, make_user, make_request
):
    """A From header is only what the sender typed; so are Received and
    Authentication-Results. The sender's domain must be the portal's, and even then a
    notice only suggests: nothing moves until a person clicks."""
    owner = make_user(Role.ADVOCATE)
    record = make_request(created_by=owner, agency_tracking_number="26-1234")
    message = EmailMessage()
    message["From"] = "lacity@nextrequest.com <phisher@evil.example>"
    message["To"] = "team@coalition.example"
    message["Subject"] = "[Records Request 26-1234] [Due Date Changed]"
    message["Date"] = format_datetime(SENT)
    message["Authentication-Results"] = "mx.coalition.example; dkim=pass header.d=nextrequest.com"
    message["Received"] = "from mail.nextrequest.com (mail.nextrequest.com [192.0.2.1])"
    message.set_content(
        "The due date for record request #26-1234 has been changed to January 5, 2099.\n"
        "Sign in to keep your request: https://evil.example/nextrequest/login\n"
    )
    raw = message.as_bytes()
    entry = file_message(raw, source="imap", actor=None).correspondence
    db.session.commit()
    assert entry.request_id == record.id
    assert entry.portal == "" and entry.suggested_kind == "" and entry.portal_link == ""
    assert record.records_promised_on is None and record.events[-1].kind == "mail"
    auth.login(owner)
    body = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "Suggested:" not in body and "/confirm" not in body
    assert 'href="https://evil.example' not in body
    assert "Needs an answer" in body
    assert stored_raw(app, entry) == raw

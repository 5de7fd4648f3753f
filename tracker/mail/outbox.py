"""Letters out by email: composed from the frozen letter, queued once, sent by the worker.

The message is composed with the standard library's ``email`` package (policy
``default``): From is ``TRACKER_MAIL_FROM`` under the name the letter is signed for,
Reply-To the request's own reply address (``TRACKER_MAIL_REPLY_TO``), the body the
letter as text and the letter's kept PDF attached. Its Message-ID is made when it is
queued and kept through every try, so an agency's reply finds the request by its thread.

Nothing is sent twice. There is one ``OutgoingEmail`` per letter; a try first claims
the row (``attempts`` moves on only where it still reads as it did, which takes the
row's lock until the try commits), talks to the server, and records what the server
said in the same transaction. A second job for the same email waits for that lock and
then finds nothing left to do. The one window left is between the server accepting
the message and that commit: were the database to fail there, the row stays queued
and unchanged, the log names the accepted Message-ID, and nothing sends it again on
its own (at most once, rather than twice to an agency).

Operations flush; callers commit.
"""

import email.policy
import hashlib
import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr

from flask import current_app
from sqlalchemy import select, update

from tracker.agencies.models import Contact
from tracker.auth.models import User
from tracker.documents.models import Document
from tracker.documents.services import record_event, storage
from tracker.extensions import db
from tracker.letters.library import LetterError
from tracker.letters.models import Channel, Letter, LetterState
from tracker.letters.services import (
    add_event,
    addressee,
    answer_waiting_messages,
    letter_pdf_bytes,
    library,
    local_today,
    mark_sent,
)
from tracker.mail.inbox import clean, html_to_text, keep_raw
from tracker.mail.models import (
    Correspondence,
    Direction,
    MailSource,
    MailState,
    OutgoingEmail,
    SendState,
)
from tracker.mail.smtp import server_address, smtp_connection
from tracker.requests.models import RecordsRequest
from tracker.requests.services import RequestError
from tracker.sqltypes import utcnow

log = logging.getLogger(__name__)

DEFAULT_RETRY_MINUTES = (1, 5, 25)
# Lines end in CRLF as SMTP wants; a header is folded only past RFC 5322's hard limit,
# since folding at 78 puts a long subject on a line of its own (a leading space).
SENDING = email.policy.SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Draft:
    """What will go out, as the preview shows it."""

    from_address: str
    to_address: str
    reply_to: str
    subject: str
    text: str
    attachment_name: str
    attachment_size: int


def retry_minutes() -> tuple[float, ...]:
    """The waits before each try after the first (``TRACKER_MAIL_RETRY_MINUTES``)."""
    setting = current_app.config.get("MAIL_RETRY_MINUTES", DEFAULT_RETRY_MINUTES)
    if isinstance(setting, str):
        setting = [part for part in setting.replace(",", " ").split() if part]
    return tuple(max(float(minutes), 0.0) for minutes in setting)


def tries_allowed() -> int:
    return len(retry_minutes()) + 1


def letter_addressee(letter: Letter, record: RecordsRequest) -> Contact:
    """The office the letter is addressed to; the records office if its template is gone."""
    try:
        return addressee(library().get(letter.template_slug), record.agency)
    except LetterError:
        return record.agency.contact("records")


def sender_address() -> str:
    """The organization's address (``TRACKER_MAIL_FROM``), bare, without a display name."""
    setting = str(current_app.config.get("MAIL_FROM") or "records-tracker@localhost")
    return parseaddr(setting)[1] or setting


def reply_address(record: RecordsRequest) -> str:
    """The request's own reply address, e.g. records+LA-2026-0042@…; empty when unset."""
    template = str(current_app.config.get("MAIL_REPLY_TO") or "")
    return template.replace("{reference}", record.reference) if template else ""


def email_subject(letter: Letter, record: RecordsRequest) -> str:
    numbers = f"our reference {record.reference}"
    if record.agency_tracking_number:
        numbers += f", your number {record.agency_tracking_number}"
    return f"{letter.subject or record.title} ({numbers})"


def letter_as_text(letter: Letter) -> str:
    """The frozen letter as plain text, from its subject line to its signature.

    The letterhead, date and window address are for paper: an email has its own From,
    Date and To, and a portal its own form. The contact block after the signature stays.
    """
    found = re.search(r"<body[^>]*>(.*)</body>", letter.document_html, re.DOTALL | re.IGNORECASE)
    body = found.group(1) if found else letter.document_html
    body = re.sub(
        r'^\s*<div class="head">.*?</div>\s*(?=<p class="subject">)',
        "",
        body,
        count=1,
        flags=re.DOTALL,
    )
    return html_to_text(body)


def kept_pdf(letter: Letter) -> Document | None:
    document = db.session.get(Document, letter.document_id) if letter.document_id else None
    return document if document is not None and document.deleted_at is None else None


def attachment_name(letter: Letter, record: RecordsRequest) -> str:
    document = kept_pdf(letter)
    if document is not None:
        return document.original_filename
    return f"{record.reference}-{letter.kind.replace('_', '-')}.pdf"


def attachment_bytes(letter: Letter, record: RecordsRequest) -> bytes:
    """The PDF kept when the letter was finalized, exactly; printed again if it is gone."""
    document = kept_pdf(letter)
    if document is not None:
        with storage().open(document.storage_key) as handle:
            return handle.read()
    return letter_pdf_bytes(letter, record)


def draft_email(letter: Letter, record: RecordsRequest) -> Draft:
    document = kept_pdf(letter)
    sender = letter.sender.get("organization") or letter.sender.get("name") or ""
    from_address = formataddr((sender, sender_address()))
    size = document.size if document is not None else len(attachment_bytes(letter, record))
    return Draft(
        from_address=from_address,
        to_address=letter_addressee(letter, record).email,
        reply_to=reply_address(record) or from_address,
        subject=email_subject(letter, record),
        text=letter_as_text(letter),
        attachment_name=attachment_name(letter, record),
        attachment_size=size,
    )


def outgoing_for(letter: Letter) -> OutgoingEmail | None:
    return db.session.scalar(select(OutgoingEmail).where(OutgoingEmail.letter_id == letter.id))


def send_problems(letter: Letter, record: RecordsRequest) -> list[str]:
    """Why the letter cannot be sent by email now: each reason a plain sentence."""
    if letter.state == LetterState.DRAFT:
        return ["The letter is a draft: finalize it before sending it."]
    existing = outgoing_for(letter)
    if existing is not None and existing.state == SendState.QUEUED:
        return ["The letter is already queued to go by email."]
    if letter.state == LetterState.SENT:
        how = letter.sent_via.label.lower() if letter.sent_via else "another way"
        on = letter.sent_on.isoformat() if letter.sent_on else ""
        return [f"The letter was already sent, by {how} on {on}."]
    problems = []
    contact = letter_addressee(letter, record)
    if not contact.email:
        problems.append(
            f"{record.agency.name} has no email address on file for its records office: "
            "add it on the agency's page, or send the letter another way."
        )
    if server_address(current_app.config, default=None) is None:
        problems.append(
            "No mail server is set up (TRACKER_MAIL_SERVER), so the tracker cannot send "
            "email: ask an admin, or send the letter another way."
        )
    return problems


def queue_email(letter: Letter, record: RecordsRequest, actor: User) -> tuple[OutgoingEmail, bool]:
    """The letter's email, queued now or found already queued or sent; True when queued now.

    A failed one is queued again (the "Try again" button), with the same Message-ID.
    """
    existing = outgoing_for(letter)
    if existing is not None and existing.state != SendState.FAILED:
        return existing, False
    problems = send_problems(letter, record)
    if problems:
        raise LetterError(" ".join(problems))
    draft = draft_email(letter, record)
    if existing is None:
        domain = parseaddr(sender_address())[1].rpartition("@")[2] or None
        existing = OutgoingEmail(
            letter_id=letter.id, request_id=record.id, message_id=make_msgid(domain=domain)
        )
        db.session.add(existing)
        note = f"Queued the letter to go by email to {draft.to_address}."
    else:
        note = f"Queued the letter to go by email to {draft.to_address} again."
    existing.state = SendState.QUEUED
    existing.from_address = draft.from_address
    existing.reply_to = draft.reply_to
    existing.to_addresses = draft.to_address
    existing.subject = draft.subject
    existing.queued_at = utcnow()
    existing.queued_by_id = actor.id
    add_event(record, actor, "letter", note)
    db.session.flush()
    return existing, True


def compose(outgoing: OutgoingEmail, letter: Letter, record: RecordsRequest) -> EmailMessage:
    """The message exactly as it goes, dated now."""
    message = EmailMessage(policy=SENDING)
    message["From"] = outgoing.from_address
    message["To"] = outgoing.to_addresses
    message["Reply-To"] = outgoing.reply_to
    message["Subject"] = outgoing.subject
    message["Date"] = format_datetime(utcnow())
    message["Message-ID"] = outgoing.message_id
    message.set_content(letter_as_text(letter))
    message.add_attachment(
        attachment_bytes(letter, record),
        maintype="application",
        subtype="pdf",
        filename=attachment_name(letter, record),
    )
    return message


def next_try_at(outgoing: OutgoingEmail) -> datetime | None:
    """When a queued email's next try is due: at once after queueing, then after each wait."""
    if outgoing.state != SendState.QUEUED:
        return None
    if outgoing.attempts == 0 or outgoing.last_attempt_at is None:
        return outgoing.queued_at
    waits = retry_minutes()
    wait = waits[min(outgoing.attempts, len(waits)) - 1] if waits else 0
    return outgoing.last_attempt_at + timedelta(minutes=wait)


def server_reason(error: Exception) -> tuple[str, bool]:
    """The server's reason in its words, and whether it is final (a 5xx refusal)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        answers = list(error.recipients.values())
        reason = "; ".join(f"{code} {text.decode('utf-8', 'replace')}" for code, text in answers)
        return reason, bool(answers) and all(code >= 500 for code, _ in answers)
    if isinstance(error, smtplib.SMTPResponseException):
        said = error.smtp_error
        text = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
        return f"{error.smtp_code} {text}", error.smtp_code >= 500
    detail = " ".join(str(error).split()) or type(error).__name__
    return f"could not reach the mail server: {detail}", False


def claim(outgoing: OutgoingEmail, try_number: int) -> bool:
    """Count this try, only where it is the one due: no other job has made it already."""
    result = db.session.execute(
        update(OutgoingEmail)
        .where(
            OutgoingEmail.id == outgoing.id,
            OutgoingEmail.state == SendState.QUEUED,
            OutgoingEmail.attempts == try_number - 1,
        )
        .values(attempts=try_number, last_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    claimed = getattr(result, "rowcount", 0) == 1
    db.session.refresh(outgoing)
    return claimed


def send_queued(outgoing_id: int, try_number: int) -> float | None:
    """Try number ``try_number`` at sending a queued email, if it is still the one due;
    the minutes to wait before the next try, if there is to be one."""
    outgoing = db.session.get(OutgoingEmail, outgoing_id)
    if outgoing is None or outgoing.state != SendState.QUEUED:
        return None
    if not claim(outgoing, try_number):
        return None
    letter, record = outgoing.letter, outgoing.request
    actor = outgoing.queued_by
    if letter.state != LetterState.FINAL:
        outgoing.state = SendState.FAILED
        outgoing.error = "The letter was marked sent another way before the email went out."
        db.session.flush()
        return None
    server = server_address(current_app.config, default=None)
    if server is None:
        return failed(outgoing, record, actor, "no mail server is set up", final=True)
    message = compose(outgoing, letter, record)
    # Flattened once: these bytes are what the server gets and what is kept.
    raw = message.as_bytes(policy=SENDING)
    try:
        with smtp_connection(current_app.config, server) as smtp:
            smtp.sendmail(sender_address(), [outgoing.to_addresses], raw)
    except (OSError, smtplib.SMTPException) as error:
        reason, final = server_reason(error)
        return failed(outgoing, record, actor, reason, final=final)
    log.info("The server accepted %s for %s", outgoing.message_id, record.reference)
    accepted(outgoing, letter, record, actor, raw)
    return None


def failed(
    outgoing: OutgoingEmail,
    record: RecordsRequest,
    actor: User | None,
    reason: str,
    final: bool,
) -> float | None:
    outgoing.error = clean(reason, 2000)
    waits = retry_minutes()
    if final or outgoing.attempts >= tries_allowed():
        outgoing.state = SendState.FAILED
        add_event(
            record,
            actor,
            "letter",
            f"The letter could not be sent by email (try {outgoing.attempts}): {outgoing.error}",
        )
        db.session.flush()
        return None
    db.session.flush()
    return waits[outgoing.attempts - 1]


def accepted(
    outgoing: OutgoingEmail,
    letter: Letter,
    record: RecordsRequest,
    actor: User | None,
    raw: bytes,
) -> None:
    """Record what the server accepted: the letter sent, the email on the thread."""
    backend_name, key = keep_raw(raw)
    now = utcnow()
    entry = Correspondence(
        request_id=record.id,
        direction=Direction.OUT,
        state=MailState.FILED,
        message_id=outgoing.message_id,
        from_address=outgoing.from_address,
        to_addresses=outgoing.to_addresses,
        subject=outgoing.subject,
        sent_at=now,
        text=letter_as_text(letter),
        raw_sha256=hashlib.sha256(raw).hexdigest(),
        raw_size=len(raw),
        raw_storage_backend=backend_name,
        raw_storage_key=key,
        source=MailSource.SMTP,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(entry)
    document = kept_pdf(letter)
    if document is not None and document.correspondence_id is None:
        document.correspondence = entry
    outgoing.state = SendState.SENT
    outgoing.sent_at = now
    outgoing.error = ""
    outgoing.correspondence = entry
    today = local_today()
    note = (
        f"Sent the letter by email to {outgoing.to_addresses} on {today.isoformat()}; "
        f"the mail server accepted it as {outgoing.message_id}."
    )
    try:
        mark_sent(letter, record, today, Channel.EMAIL, actor, note)
    except RequestError as error:
        # It went, so the letter is sent (mark_sent marks it before it checks the
        # request's dates) even when those dates disagree with today.
        record_event(record, actor, "letter", f"{note} The request's dates were left: {error}")
        answer_waiting_messages(
            record, actor, f"Answered by the letter sent by email on {today.isoformat()}."
        )
    db.session.flush()

"""Emails in: read one, find its request, keep it whole with its attachments.

A message is parsed with the standard library's ``email`` package (policy
``default``); an HTML body is reduced to its text by ``nh3`` and never kept as
HTML. Nothing a message says about itself is trusted: its From is text to show,
never a person of the tracker. The raw bytes are kept in the documents' storage,
so whatever could not be read is still there to read later.

Operations flush; callers commit. The raw message and its attachments are stored
in the same transaction as the rows, and removed again if it rolls back.
"""

import email.parser
import email.policy
import hashlib
import html
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage, Message
from typing import Any

import nh3
from flask import current_app
from sqlalchemy import select

from tracker.auth.models import User
from tracker.documents.models import Document
from tracker.documents.services import (
    TEXT_LIMIT,
    forget_on_rollback,
    record_event,
    staging_folder,
    storage,
    store_files,
)
from tracker.documents.storage import stage
from tracker.extensions import db
from tracker.limits import upload_request_limit
from tracker.mail.models import (
    HEADER_LIMIT,
    Correspondence,
    Direction,
    MailSource,
    MailState,
    SuggestionState,
)
from tracker.mail.portals import EVENT_LABELS, recognise
from tracker.requests.models import RecordsRequest
from tracker.requests.services import find_by_reference, update_request, values_of
from tracker.sqltypes import utcnow


class NotAnEmail(ValueError):
    """The bytes given carry none of the headers every email has."""


@dataclass
class Parsed:
    """What could be read of a message; ``notes`` says what could not."""

    message_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    from_address: str = ""
    # The From header as written, for checks the parsed addresses could hide.
    from_header: str = ""
    to_addresses: list[str] = field(default_factory=list)
    subject: str = ""
    sent_at: datetime | None = None
    text: str = ""
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    # Messages it carries as messages (message/rfc822): a forward of the agency's answer.
    forwarded: list[bytes] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class FiledMessage:
    correspondence: Correspondence
    stored: list[Document] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    # The same message was already on file: nothing new was stored.
    already: bool = False
    # The messages it carried, each filed as a message of its own.
    forwarded: list["FiledMessage"] = field(default_factory=list)


def clean(value: str, limit: int | None = HEADER_LIMIT) -> str:
    """Text a database column takes: no NUL, and within the column's size."""
    value = value.replace("\x00", "")
    return value[:limit] if limit else value


def header_text(message: Message, name: str, notes: list[str]) -> str:
    try:
        value = message.get(name)
        return "" if value is None else " ".join(str(value).split())
    except Exception as error:  # a header the parser cannot make sense of
        notes.append(f"The {name} header could not be read ({type(error).__name__}).")
        # Asking the message again would parse the header again: take it as written.
        raw = raw_headers(message, name)
        return " ".join(raw[0].split()) if raw else ""


def header_addresses(message: Message, names: tuple[str, ...], notes: list[str]) -> list[str]:
    found: list[str] = []
    for name in names:
        try:
            for value in message.get_all(name, failobj=[]):
                addresses = getattr(value, "addresses", None)
                if addresses is None:
                    found.append(str(value))
                    continue
                found += [str(address) for address in addresses]
        except Exception as error:
            notes.append(f"The {name} header could not be read ({type(error).__name__}).")
    return found


def raw_headers(message: Message, name: str) -> list[str]:
    """A header's every value as the sender wrote it, before any parsing."""
    try:
        items = message.raw_items()
        return [str(value) for key, value in items if key.lower() == name.lower()]
    except Exception:
        return []


def message_ids(value: str) -> list[str]:
    return re.findall(r"<[^<>\s]+>", value)


def html_to_text(markup: str) -> str:
    """The text of an HTML body: every tag dropped (scripts and styles with their content)."""
    markup = re.sub(r"(?i)<br\s*/?>|</(p|div|tr|li|h[1-6]|blockquote)\s*>", "\n", markup)
    text = html.unescape(nh3.clean(markup, tags=set()))
    lines = [line.strip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def part_text(part: Message, notes: list[str]) -> str:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
        return content if isinstance(content, str) else bytes(content).decode("utf-8", "replace")
    except Exception as error:
        notes.append(f"The text of the message could not be decoded ({type(error).__name__}).")
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def body_text(message: EmailMessage, notes: list[str]) -> str:
    try:
        body = message.get_body(preferencelist=("plain", "html"))
    except Exception as error:
        notes.append(f"The body of the message could not be found ({type(error).__name__}).")
        return ""
    if body is None:
        return ""
    text = part_text(body, notes)
    if body.get_content_type() == "text/html":
        text = html_to_text(text)
    return text.replace("\r\n", "\n")


def attachment_bytes(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        return payload
    inner = part.get_payload()
    if isinstance(inner, list) and inner and isinstance(inner[0], Message):
        # A message attached as a message (message/rfc822): kept as its own .eml.
        return inner[0].as_bytes(policy=email.policy.default)
    return b""


def attachments_of(message: EmailMessage, notes: list[str]) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    try:
        parts = list(message.iter_attachments())
    except Exception as error:
        notes.append(f"The attachments could not be listed ({type(error).__name__}).")
        return found
    for number, part in enumerate(parts, start=1):
        try:
            name = part.get_filename() or ""
        except Exception:
            name = ""
        if not name:
            name = (
                f"attachment-{number}.eml"
                if part.get_content_type() == "message/rfc822"
                else (f"attachment-{number}")
            )
        try:
            found.append((name, attachment_bytes(part)))
        except Exception as error:
            notes.append(f"The attachment “{name}” could not be decoded ({type(error).__name__}).")
    return found


def forwarded_messages(message: EmailMessage, notes: list[str]) -> list[bytes]:
    """The messages attached as messages, as their own bytes, to be filed each in turn."""
    found: list[bytes] = []
    try:
        parts = list(message.iter_attachments())
    except Exception:
        return found  # already noted by attachments_of
    for part in parts:
        if part.get_content_type() != "message/rfc822":
            continue
        try:
            inner = attachment_bytes(part)
        except Exception as error:
            notes.append(f"A forwarded message could not be read ({type(error).__name__}).")
            continue
        if inner:
            found.append(inner)
    return found


def parse(raw: bytes) -> Parsed:
    """Read a message; whatever is malformed is noted, never raised."""
    message: Any = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    notes: list[str] = []
    for defect in getattr(message, "defects", [])[:5]:
        notes.append(f"The message is malformed: {type(defect).__name__}.")
    parsed = Parsed(notes=notes)
    parsed.message_id = clean(header_text(message, "Message-ID", notes))
    in_reply_to = header_text(message, "In-Reply-To", notes)
    parsed.in_reply_to = clean((message_ids(in_reply_to) or [in_reply_to])[0])
    parsed.references = message_ids(header_text(message, "References", notes))
    senders = header_addresses(message, ("From",), notes)
    parsed.from_address = clean(", ".join(senders) or header_text(message, "From", notes))
    parsed.from_header = "\n".join(raw_headers(message, "From"))
    parsed.to_addresses = [
        clean(address)
        for address in header_addresses(
            message, ("To", "Cc", "Delivered-To", "X-Original-To"), notes
        )
    ]
    parsed.subject = clean(header_text(message, "Subject", notes), 5000)
    try:
        date_header = message.get("Date")
        when = getattr(date_header, "datetime", None)
        if date_header is not None and when is None:
            notes.append("The Date header is not a date.")
        if isinstance(when, datetime):
            parsed.sent_at = when if when.tzinfo else when.replace(tzinfo=UTC)
    except Exception as error:
        notes.append(f"The Date header could not be read ({type(error).__name__}).")
    parsed.text = clean(body_text(message, notes), TEXT_LIMIT)
    parsed.attachments = attachments_of(message, notes)
    parsed.forwarded = forwarded_messages(message, notes)
    return parsed


def looks_like_email(parsed: Parsed) -> bool:
    return bool(parsed.from_address or parsed.subject or parsed.message_id or parsed.sent_at)


# Matching a message to its request ------------------------------------------------------


def reply_address_pattern() -> re.Pattern[str] | None:
    """The configured reply address with the reference as a group, e.g. records+(…)@host."""
    template = str(current_app.config.get("MAIL_REPLY_TO") or "")
    if "{reference}" not in template:
        return None
    before, _, after = template.partition("{reference}")
    return re.compile(
        rf"(?<![\w.+-]){re.escape(before)}([A-Za-z0-9-]+){re.escape(after)}(?![\w.-])", re.I
    )


def reference_pattern() -> re.Pattern[str]:
    prefix = re.escape(str(current_app.config["REFERENCE_PREFIX"]))
    return re.compile(rf"(?<![\w-])({prefix}-\d{{4}}-\d{{4,}})(?![\w-])", re.I)


def by_reply_address(parsed: Parsed) -> RecordsRequest | None:
    pattern = reply_address_pattern()
    if pattern is None:
        return None
    for address in parsed.to_addresses:
        for reference in pattern.findall(address):
            record = find_by_reference(reference.upper())
            if record is not None:
                return record
    return None


def by_thread(parsed: Parsed) -> RecordsRequest | None:
    ids = [value for value in [parsed.in_reply_to, *reversed(parsed.references)] if value]
    if not ids:
        return None
    known = db.session.scalars(
        select(Correspondence).where(
            Correspondence.message_id.in_(ids), Correspondence.request_id.is_not(None)
        )
    ).all()
    for message_id in ids:
        for entry in known:
            if entry.message_id == message_id and entry.request is not None:
                return entry.request
    return None


def the_one(records: set[int]) -> RecordsRequest | None:
    return db.session.get(RecordsRequest, next(iter(records))) if len(records) == 1 else None


def by_number(parsed: Parsed) -> RecordsRequest | None:
    """A reference of ours, else an agency's tracking number, naming exactly one request."""
    words = f"{parsed.subject}\n{parsed.text}"
    references = {found.upper() for found in reference_pattern().findall(words)}
    if references:
        ids = set(
            db.session.scalars(
                select(RecordsRequest.id).where(RecordsRequest.reference.in_(references))
            )
        )
        if ids:
            return the_one(ids)
    tracked = db.session.execute(
        select(RecordsRequest.id, RecordsRequest.agency_tracking_number).where(
            RecordsRequest.agency_tracking_number != ""
        )
    ).all()
    matched = set()
    for request_id, number in tracked:
        # "#26-1234" on file is the "26-1234" a portal's notice names.
        number = number.strip().lstrip("#").strip()
        if len(number) < 3:
            continue
        if re.search(rf"(?<![\w-]){re.escape(number)}(?![\w-])", words, re.I):
            matched.add(request_id)
    return the_one(matched)


def match(parsed: Parsed) -> RecordsRequest | None:
    """The request a message is about: by reply address, thread, then a number it names."""
    return by_reply_address(parsed) or by_thread(parsed) or by_number(parsed)


# Filing ---------------------------------------------------------------------------------


def keep_raw(raw: bytes) -> tuple[str, str]:
    """Store the raw message like an upload: the backend's name and the generated key."""
    backend = storage()
    staged = stage(io.BytesIO(raw), staging_folder(), max(len(raw), 1))
    try:
        key = backend.put(staged)
    finally:
        staged.discard()
    forget_on_rollback(backend, key)
    return backend.name, key


def read_raw(entry: Correspondence) -> bytes:
    with storage().open(entry.raw_storage_key) as handle:
        return handle.read()


def store_attachments(
    entry: Correspondence, record: RecordsRequest, parsed: Parsed, actor: User | None
) -> FiledMessage:
    files: list[tuple[str | None, Any]] = [
        (name, io.BytesIO(content)) for name, content in parsed.attachments
    ]
    result = store_files(record, files, actor)
    for document in result.stored + result.linked:
        if document.correspondence_id is None:
            document.correspondence = entry
    # Said on the message itself, so a refusal is seen however the message came in.
    refusals = [
        f"The attachment “{name}” was not stored: {reason} It is kept in the raw message."
        for name, reason in result.refused
    ]
    if refusals:
        entry.notes = clean("\n".join(filter(None, [entry.notes, *refusals])), None)
    return FiledMessage(entry, result.stored + result.linked, result.refused)


def note_portal(entry: Correspondence, parsed: Parsed, record: RecordsRequest | None) -> None:
    """Mark a portal's notice as such, with what it suggests; any other message is left be."""
    portal_url = record.agency.portal_url if record is not None else ""
    notice = recognise(
        parsed.from_header, entry.from_address, entry.subject, entry.text, portal_url
    )
    if notice is None:
        return
    entry.portal = notice.portal
    entry.portal_event = notice.event
    entry.portal_number = clean(notice.number, 100)
    entry.portal_link = notice.link
    entry.portal_due_on = notice.due_on
    if notice.suggested_kind is not None and entry.suggestion_state is None:
        entry.suggested_kind = notice.suggested_kind.value
        entry.suggestion_state = SuggestionState.OPEN


def take_portal_number(entry: Correspondence, record: RecordsRequest) -> None:
    """The portal's number becomes the agency's tracking number, when the request has none."""
    if not entry.portal_number or record.agency_tracking_number.strip():
        return
    values = values_of(record)
    values.agency_tracking_number = entry.portal_number
    event = EVENT_LABELS.get(entry.portal_event, "notice").lower()
    update_request(
        record,
        values,
        None,
        f"The agency's number, from {entry.portal}'s {event} notice “{entry.subject}”.",
    )


def file_note(entry: Correspondence) -> str:
    sender = entry.from_address or "an unknown sender"
    return f"Filed an email from {sender}: {entry.subject or '(no subject)'}"


def file_message(
    raw: bytes,
    *,
    source: str,
    actor: User | None,
    request: RecordsRequest | None = None,
    depth: int = 0,
) -> FiledMessage:
    """Keep a message once: filed on its request, or held when it matches none.

    A message it carries as a message (an advocate forwarding the agency's answer as an
    attachment) is filed too, as a message of its own: on the same request, or matched
    by itself when the forward matched none. The forward itself then needs no answer.
    """
    digest = hashlib.sha256(raw).hexdigest()
    existing = db.session.scalar(select(Correspondence).where(Correspondence.raw_sha256 == digest))
    if existing is not None:
        return FiledMessage(existing, already=True)
    # A message may carry several files, each held to the upload limit when stored: it is
    # kept whole up to the limit of an upload of several files.
    if len(raw) > upload_request_limit():
        raise NotAnEmail(
            f"The message is larger than the {upload_request_limit() // 1024 // 1024} MB limit."
        )
    parsed = parse(raw)
    if not looks_like_email(parsed):
        raise NotAnEmail("It has no From, Subject, Date or Message-ID: it is not an email.")
    record = request if request is not None else match(parsed)
    backend_name, key = keep_raw(raw)
    entry = Correspondence(
        request_id=record.id if record is not None else None,
        direction=Direction.IN,
        state=MailState.FILED if record is not None else MailState.HELD,
        message_id=parsed.message_id,
        in_reply_to=parsed.in_reply_to,
        references=clean(" ".join(parsed.references), None),
        from_address=parsed.from_address,
        to_addresses=clean(", ".join(parsed.to_addresses), None),
        subject=parsed.subject,
        sent_at=parsed.sent_at,
        text=parsed.text,
        notes=clean("\n".join(parsed.notes), None),
        raw_sha256=digest,
        raw_size=len(raw),
        raw_storage_backend=backend_name,
        raw_storage_key=key,
        source=MailSource(source),
        created_by_id=actor.id if actor else None,
    )
    note_portal(entry, parsed, record)
    db.session.add(entry)
    db.session.flush()
    if record is None:
        filed = FiledMessage(entry)
    else:
        record_event(record, actor, "mail", file_note(entry))
        take_portal_number(entry, record)
        filed = store_attachments(entry, record, parsed, actor)
    if depth < FORWARD_DEPTH:
        file_forwarded(filed, parsed, source=source, actor=actor, request=record, depth=depth)
    db.session.flush()
    return filed


# A forward of a forward is followed this far, and no further.
FORWARD_DEPTH = 3


def file_forwarded(
    filed: FiledMessage,
    parsed: Parsed,
    *,
    source: str,
    actor: User | None,
    request: RecordsRequest | None,
    depth: int,
) -> None:
    for inner in parsed.forwarded:
        try:
            filed.forwarded.append(
                file_message(inner, source=source, actor=actor, request=request, depth=depth + 1)
            )
        except NotAnEmail as error:
            filed.correspondence.notes = clean(
                "\n".join(
                    part
                    for part in (filed.correspondence.notes, f"A forwarded message: {error}")
                    if part
                ),
                None,
            )
    entry = filed.correspondence
    if filed.forwarded and entry.state is MailState.FILED:
        entry.answered_at = utcnow()
        entry.answered_by_id = actor.id if actor else None
        entry.answer_note = "A forward: the message it carries is filed on its own."


def assign(entry: Correspondence, record: RecordsRequest, actor: User) -> FiledMessage:
    """Place a held message on a request: filed there, its attachments stored with it."""
    if entry.state is not MailState.HELD:
        raise ValueError("Only a message in the holding pen can be assigned.")
    entry.request_id = record.id
    entry.request = record
    entry.state = MailState.FILED
    record_event(record, actor, "mail", file_note(entry) + " (placed from the holding pen)")
    parsed = parse(read_raw(entry))
    # Looked at again: the request's agency may name the portal's address.
    note_portal(entry, parsed, record)
    take_portal_number(entry, record)
    filed = store_attachments(entry, record, parsed, actor)
    db.session.flush()
    return filed


def discard(entry: Correspondence, reason: str, actor: User) -> None:
    """Take a held message out of the pen; it is kept, with who discarded it and why."""
    reason = reason.strip()
    if not reason:
        raise ValueError("Say why the message is discarded.")
    if entry.state is not MailState.HELD:
        raise ValueError("Only a message in the holding pen can be discarded.")
    entry.state = MailState.DISCARDED
    entry.discard_reason = reason
    entry.discarded_by_id = actor.id
    entry.discarded_at = utcnow()
    db.session.flush()

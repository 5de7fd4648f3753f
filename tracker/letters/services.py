"""Drafting, finalizing and sending letters. Operations flush; callers commit."""

import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from pypdf import PdfWriter
from sqlalchemy import select

from tracker import PROJECT_ROOT
from tracker.agencies.models import Agency, Contact
from tracker.auth.models import User
from tracker.documents import services as documents
from tracker.documents.filetypes import PDF
from tracker.documents.models import AgencyResponse, Document
from tracker.extensions import db
from tracker.laws import all_laws
from tracker.letters.document import (
    LetterParts,
    Recipient,
    Sender,
    document_html,
    window_problems,
)
from tracker.letters.items import any_answered, open_items
from tracker.letters.library import (
    LetterError,
    LetterTemplate,
    Library,
    Party,
    RenderedLetter,
    deadline_party,
    load_library,
    render,
)
from tracker.letters.models import Channel, Letter, LetterState, RequesterProfile, RequestGroup
from tracker.letters.pdf import letters_pdf
from tracker.requests.models import Organization, RecordsRequest, RequestEvent, RequestStatus
from tracker.requests.services import (
    RequestError,
    RequestValues,
    create_request,
    update_request,
    values_of,
)
from tracker.sqltypes import LOCAL_ZONE, utcnow


def letter_folders() -> list[tuple[str, Path]]:
    """Local templates first, so an admin's file overrides a shipped one of the same slug."""
    return [
        ("local", Path(current_app.instance_path) / "letters"),
        ("shipped", PROJECT_ROOT / "letters"),
    ]


def library() -> Library:
    return load_library(letter_folders())


def local_today() -> date:
    """Today in Los Angeles, or the day ``TRACKER_TODAY`` fixes (for tests and demos)."""
    return utcnow().astimezone(LOCAL_ZONE).date()


# Who a letter is from --------------------------------------------------------


def remembered_sender(user: User, organization: Organization | None) -> Sender:
    """The details this person last signed with for this organization, or a start."""
    key = organization.id if organization else 0
    profile = db.session.scalar(
        select(RequesterProfile).where(
            RequesterProfile.user_id == user.id, RequesterProfile.organization_key == key
        )
    )
    if profile is not None:
        return Sender(
            name=profile.name,
            organization=organization.name if organization else "",
            address=profile.address,
            email=profile.email,
            phone=profile.phone,
            signature=profile.signature,
        )
    return Sender(
        name=user.name,
        organization=organization.name if organization else "",
        address=organization.mailing_address if organization else "",
        email=organization.email if organization and organization.email else user.email,
        phone=organization.phone if organization else "",
        signature=organization.signer_list[0] if organization and organization.signer_list else "",
    )


def original_letter(request: RecordsRequest) -> Letter | None:
    """The letter later ones refer back to: the first finalized or sent, else the latest."""
    sent = (letter for letter in request.letters if not letter.is_draft)
    return next(sent, request.current_letter)


def original_sender(request: RecordsRequest) -> Sender | None:
    """Who the request went out from, so a follow-up is signed by the same person."""
    letter = original_letter(request)
    return Sender(**letter.sender) if letter is not None else None


def remember_sender(user: User, organization: Organization | None, sender: Sender) -> None:
    key = organization.id if organization else 0
    profile = db.session.scalar(
        select(RequesterProfile).where(
            RequesterProfile.user_id == user.id, RequesterProfile.organization_key == key
        )
    )
    if profile is None:
        profile = RequesterProfile(user_id=user.id, organization_key=key)
        db.session.add(profile)
    profile.name = sender.name
    profile.address = sender.address
    profile.email = sender.email
    profile.phone = sender.phone
    profile.signature = sender.signature


# Rendering -------------------------------------------------------------------


def agency_party(agency: Agency) -> Party:
    return Party(
        {
            "name": agency.name,
            "short_name": agency.short_name,
            "records_office": agency.records_office,
            "jurisdiction": agency.jurisdiction,
            "law": agency.law,
            "article": agency.article,
            "in_sentence": agency.in_sentence,
        }
    )


def request_party(request: RecordsRequest | None) -> Party:
    values: dict[str, Any] = {
        "reference": "",
        "title": "",
        "sent_on": None,
        "sent_via": "",
        "received_on": None,
        "due_on": None,
        "agency_tracking_number": "",
        "records_sought": "",
        "extension_notice_on": None,
        "extension_claimed_on": None,
        "determination_on": None,
    }
    if request is not None:
        original = original_letter(request)
        values.update(
            reference=request.reference,
            title=request.title,
            sent_on=request.sent_on or (original.sent_on if original else None),
            sent_via=original.sent_via.sent_phrase if original and original.sent_via else "",
            received_on=request.received_on,
            agency_tracking_number=request.agency_tracking_number,
            records_sought=request.records_sought,
            due_on=request.due_on,
            extension_notice_on=request.extension_notice_on,
            extension_claimed_on=request.extension_claimed_on,
            determination_on=request.determination_on,
        )
    return Party(values)


def letter_deadline(
    template: LetterTemplate,
    values: Mapping[str, Any],
    agency: Agency,
    request: RecordsRequest | None,
    letter_date: date,
) -> Party:
    """The deadline engine's answer for the letter: the request's facts, with the dates
    the letter itself gives (``[deadline]`` in its template) in their place."""
    # The deadlines package imports the requests package, which imports this one.
    from tracker.deadlines.engine import Extension, Facts, compute
    from tracker.deadlines.services import calendar_for, facts_for

    facts = facts_for(request) if request is not None else Facts(received_on=None)
    given = {fact: values.get(name) for fact, name in template.deadline_inputs}
    given = {fact: day for fact, day in given.items() if isinstance(day, date)}
    notice = given.get("extension_notice_on") or (
        facts.extension.notice_on if facts.extension else None
    )
    claimed = given.get("extension_claimed_on") or (
        facts.extension.claimed_on if facts.extension else None
    )
    extension = (
        Extension(
            notice_on=notice,
            claimed_on=claimed,
            written=facts.extension.written if facts.extension else True,
        )
        if notice or claimed
        else None
    )
    facts = Facts(
        received_on=given.get("received_on") or facts.received_on,
        sent_on=given.get("sent_on") or facts.sent_on,
        extension=extension,
        determination_on=facts.determination_on,
        promised_on=facts.promised_on,
    )
    law = all_laws()[agency.law]
    calendar = calendar_for(db.session(), agency)
    result = compute(law, calendar, facts)
    if result.first_due_on is None:
        return deadline_party({})
    # The latest an extension could reach is worth saying even when none was claimed.
    lawful = result.lawful_latest_on
    if lawful is None and law.extension_days:
        with_extension = Facts(
            received_on=facts.received_on, sent_on=facts.sent_on, extension=Extension(None, None)
        )
        lawful = compute(law, calendar, with_extension).lawful_latest_on
    notice_late = bool(notice and notice > result.first_due_on)
    past = (claimed - lawful).days if claimed and lawful and claimed > lawful else 0
    return deadline_party(
        {
            "received_on": result.received_on,
            "counted_from": "received" if facts.received_on else "sent",
            "first_due_on": result.first_due_on,
            "lawful_latest_on": lawful,
            "due_on": result.due_on,
            "extension_notice_on": notice,
            "extension_claimed_on": claimed,
            "notice_late": notice_late,
            "claimed_past_lawful": past > 0,
            "days_past_lawful": past,
            "passed": bool(result.due_on and result.due_on < letter_date),
            "response_days": law.response_days,
            "day_kind": law.day_kind,
            "extension_days": law.extension_days,
            "explanation": result.explanation,
        }
    )


def template_context(
    agency: Agency,
    sender: Sender,
    request: RecordsRequest | None,
    letter_date: date,
    template: LetterTemplate,
    values: Mapping[str, Any],
) -> dict[str, Any]:
    deadline = letter_deadline(template, values, agency, request, letter_date)
    due_on = deadline.values.get("due_on")
    return {
        "agency": agency_party(agency),
        "requester": Party(sender.as_dict()),
        "request": request_party(request),
        "deadline": deadline,
        "letter_date": letter_date,
        "enclosures": [],
        # The items still open, for the letters that name what is missing.
        "items": [Party(vars(item)) for item in open_items(request, due_on)],
        "items_answered": any_answered(request),
    }


def addressee(template: LetterTemplate, agency: Agency) -> Contact:
    """Who at the agency the letter goes to: its records office, the office that decides
    appeals, or its head or counsel (a demand goes to the records office when no counsel
    is on file; an appeal never does)."""
    contact = agency.contact(template.addressee)
    if template.addressee == "counsel" and contact.empty:
        return agency.contact("records")
    return contact


# What each way of sending needs of the addressee.
CHANNEL_NEEDS = {
    Channel.MAIL: ("mailing_address", "a mailing address"),
    Channel.IN_PERSON: ("mailing_address", "a street address"),
    Channel.EMAIL: ("email", "an email address"),
    Channel.PORTAL: ("portal_url", "an online portal"),
    Channel.FAX: ("fax", "a fax number"),
}


def usual_channel(contact: Contact) -> Channel:
    """How a letter to this office goes unless someone chooses: by mail where it has an
    address, else by email, else through its portal, else by fax."""
    for channel in (Channel.MAIL, Channel.EMAIL, Channel.PORTAL, Channel.FAX):
        if getattr(contact, CHANNEL_NEEDS[channel][0]):
            return channel
    return Channel.MAIL


def letter_channel(letter: Letter | None, contact: Contact) -> Channel:
    return letter.channel if letter is not None and letter.channel else usual_channel(contact)


def salutation(template: LetterTemplate, agency: Agency, contact: Contact | None = None) -> str:
    """The addressee's own salutation, else the template's, else the law's."""
    if contact is not None and contact.salutation:
        return contact.salutation
    if template.salutation:
        return template.salutation
    law = all_laws().get(agency.law) or all_laws().get(template.laws[0])
    return law.salutation if law else "To whom it may concern:"


def recipient(
    agency: Agency, contact: Contact | None = None, channel: Channel | None = None
) -> Recipient:
    contact = contact or agency.contact("records")
    return Recipient(
        name=agency.name,
        records_office=contact.office,
        address=contact.mailing_address,
        email=contact.email,
        portal_url=contact.portal_url,
        fax=contact.fax,
        channel=(channel or usual_channel(contact)).value,
    )


ROLE_NAMES = {
    "records": "records office",
    "appeal": "appeals office",
    "counsel": "head or counsel",
}


def sending_problems(
    template: LetterTemplate, agency: Agency, channel: Channel, sender: Sender
) -> list[str]:
    """Why this letter cannot be finalized as it stands: each reason a plain sentence."""
    problems = []
    if not template.fits(agency.slug):
        problems.append(
            f"“{template.title}” is written for {', '.join(template.only_agencies)} only, "
            f"not for {agency.name}."
        )
    contact = addressee(template, agency)
    if template.addressee == "appeal" and contact.empty:
        problems.append(
            f"{agency.name} has no appeals office on file: an appeal must go to the office "
            "that decides appeals, not to the records office. Add it on the agency's page."
        )
    else:
        attribute, wanted = CHANNEL_NEEDS[channel]
        if not getattr(contact, attribute):
            problems.append(
                f"{agency.name} has no {wanted[wanted.index(' ') + 1 :]} on file for its "
                f"{ROLE_NAMES[contact.role]}, so the letter cannot go by "
                f"{channel.label.lower()}. Add {wanted} on the agency's page, or choose "
                "another way to send it."
            )
        elif channel in (Channel.MAIL, Channel.IN_PERSON):
            problems.extend(window_problems(recipient(agency, contact, channel)))
    if not (sender.email or sender.phone or sender.address_lines):
        problems.append(
            "The letter gives the agency no way to reach you: add your email, phone or "
            "mailing address."
        )
    return problems


@dataclass(frozen=True)
class Preview:
    rendered: RenderedLetter
    html: str


class NotSendable(LetterError):
    """A letter that cannot be finalized as it stands, with every reason."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def compose(
    template: LetterTemplate,
    values: Mapping[str, Any],
    agency: Agency,
    sender: Sender,
    request: RecordsRequest | None,
    letter_date: date,
    reference: str,
    draft: bool = True,
    channel: Channel | None = None,
    records: str = "",
    enclosures: Sequence[str] = (),
) -> Preview:
    """The letter exactly as it prints, from a template and typed values.

    It is marked as a draft unless it is being finalized. A letter about a request
    quotes the request's description of the records (``records`` gives it when there
    is no stored request, from the command line).
    """
    context = template_context(agency, sender, request, letter_date, template, values)
    context["enclosures"] = list(enclosures)
    if template.kind != "initial":
        sought = request.records_sought.strip() if request is not None else records.strip()
        if not sought:
            raise LetterError(
                "This letter quotes the request's description of the records sought, and "
                "there is none: add it on the request's page."
                if request is not None
                else "This letter quotes the request's description of the records sought: "
                "give it (on the command line, --records)."
            )
        context["request"] = Party({**context["request"].values, "records_sought": sought})
    rendered = render(template, values, context)
    contact = addressee(template, agency)
    parts = LetterParts(
        reference=reference,
        subject=rendered.subject,
        salutation=salutation(template, agency, contact),
        body_html=rendered.body_html,
        sender=sender,
        recipient=recipient(agency, contact, channel or usual_channel(contact)),
        letter_date=letter_date,
        agency_tracking_number=request.agency_tracking_number if request else "",
        draft=draft,
        enclosures=tuple(enclosures),
    )
    return Preview(rendered=rendered, html=document_html(parts))


def enclosed_documents(letter: Letter, request: RecordsRequest) -> list[Document]:
    """What goes with the letter: an appeal encloses the determination it appeals (the
    PDFs of the latest determination logged); a final letter keeps what it enclosed."""
    if not letter.is_draft:
        kept = [db.session.get(Document, i) for i in letter.enclosure_ids or []]
        return [d for d in kept if d is not None and d.deleted_at is None]
    if letter.kind != "appeal":
        return []
    responses = db.session.scalars(
        select(AgencyResponse)
        .where(
            AgencyResponse.request_id == request.id, AgencyResponse.kind.in_(documents.DETERMINES)
        )
        .order_by(AgencyResponse.received_on.desc(), AgencyResponse.id.desc())
    )
    for response in responses:
        pdfs = [
            d for d in response.documents if d.media_type == PDF.media_type and d.deleted_at is None
        ]
        if pdfs:
            return pdfs
    return []


def enclosure_line(document: Document) -> str:
    pages = f", {document.page_count} page{'s' if document.page_count != 1 else ''}"
    return f"{document.title}{pages if document.page_count else ''}"


def letter_document(letter: Letter, request: RecordsRequest) -> str:
    """The printable document: frozen once finalized, rendered live while a draft."""
    if not letter.is_draft:
        return letter.document_html
    template = library().get(letter.template_slug)
    values = template.stored_values(letter.field_values)
    contact = addressee(template, request.agency)
    preview = compose(
        template,
        values,
        request.agency,
        Sender(**letter.sender),
        request,
        local_today(),
        request.reference,
        draft=True,
        channel=letter_channel(letter, contact),
        enclosures=[enclosure_line(d) for d in enclosed_documents(letter, request)],
    )
    return preview.html


def letter_pdf_bytes(letter: Letter, request: RecordsRequest) -> bytes:
    """The letter's PDF, with the documents it encloses after it."""
    data = letters_pdf([letter_document(letter, request)])
    enclosures = enclosed_documents(letter, request)
    if not enclosures:
        return data
    writer = PdfWriter(clone_from=io.BytesIO(data))
    for document in enclosures:
        with documents.stored_copy(document) as path:
            writer.append(str(path))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def finalize_problems(letter: Letter, request: RecordsRequest) -> list[str]:
    template = library().get(letter.template_slug)
    contact = addressee(template, request.agency)
    problems = sending_problems(
        template, request.agency, letter_channel(letter, contact), Sender(**letter.sender)
    )
    if letter.kind != "initial" and not request.records_sought.strip():
        problems.append(
            "The request has no description of the records sought, which this letter "
            "quotes: add it on the request's page."
        )
    return problems


# Drafting --------------------------------------------------------------------


def stored_values(template: LetterTemplate, values: Mapping[str, Any]) -> dict[str, Any]:
    return {spec.name: spec.store(values.get(spec.name)) for spec in template.fields}


def add_event(request: RecordsRequest, actor: User | None, kind: str, note: str) -> None:
    request.events.append(RequestEvent(actor=actor, kind=kind, note=note))


def draft_requests(
    template: LetterTemplate,
    values: Mapping[str, Any],
    agencies: Sequence[Agency],
    sender: Sender,
    organization: Organization | None,
    title: str,
    actor: User,
    channel: Channel | None = None,
) -> list[RecordsRequest]:
    """One request per agency, each with its own reference and draft letter, grouped."""
    if template.kind != "initial":
        raise LetterError("Only an initial request letter starts new requests.")
    if not agencies:
        raise LetterError("Choose at least one agency.")
    unfit = [agency.name for agency in agencies if not template.fits(agency.slug)]
    if unfit:
        raise LetterError(f"“{template.title}” is not written for {', '.join(unfit)}.")
    from tracker.items.services import items_from_letter

    typed = template.typed_values(values)
    group = None
    if len(agencies) > 1:
        group = RequestGroup(title=title, created_by_id=actor.id)
        db.session.add(group)
    created = []
    for agency in agencies:
        context = template_context(agency, sender, None, local_today(), template, typed)
        rendered = render(template, typed, context)
        request = create_request(
            RequestValues(
                title=title,
                agency=agency,
                organization=organization,
                requester_name=sender.name,
                records_sought=rendered.records,
            ),
            actor,
            items_from_letter(rendered.body_html, rendered.records),
        )
        request.group = group
        request.letters.append(new_letter(template, typed, sender, actor, channel))
        add_event(request, actor, "letter", f"Drafted the letter from “{template.title}”.")
        created.append(request)
    remember_sender(actor, organization, sender)
    db.session.flush()
    return created


def new_letter(
    template: LetterTemplate,
    typed: Mapping[str, Any],
    sender: Sender,
    actor: User,
    channel: Channel | None = None,
) -> Letter:
    return Letter(
        channel=channel,
        kind=template.kind,
        template_slug=template.slug,
        template_version=template.version,
        template_hash=template.content_hash,
        field_values=stored_values(template, typed),
        sender=sender.as_dict(),
        created_by_id=actor.id,
    )


def draft_letter(
    request: RecordsRequest,
    template: LetterTemplate,
    values: Mapping[str, Any],
    sender: Sender,
    actor: User,
    channel: Channel | None = None,
) -> Letter:
    """A further letter on an existing request: a follow-up, a response, a demand, an appeal."""
    if not template.fits(request.agency.slug):
        raise LetterError(f"“{template.title}” is not written for {request.agency.name}.")
    typed = template.typed_values(values)
    letter = new_letter(template, typed, sender, actor, channel)
    request.letters.append(letter)
    add_event(request, actor, "letter", f"Drafted a letter from “{template.title}”.")
    db.session.flush()
    return letter


def update_draft(
    letter: Letter,
    request: RecordsRequest,
    values: Mapping[str, Any],
    sender: Sender,
    actor: User,
    channel: Channel | None = None,
) -> None:
    if not letter.is_draft:
        raise LetterError("This letter is final; it can no longer be edited.")
    template = library().get(letter.template_slug)
    typed = template.typed_values(values)
    stored = stored_values(template, typed)
    if (stored, sender.as_dict(), channel) == (letter.field_values, letter.sender, letter.channel):
        return
    letter.channel = channel
    letter.field_values = stored
    letter.sender = sender.as_dict()
    letter.template_version = template.version
    letter.template_hash = template.content_hash
    if letter.kind == "initial":
        context = template_context(request.agency, sender, request, local_today(), template, typed)
        rendered = render(template, typed, context)
        from tracker.items.services import follow_source, items_from_letter

        request.records_sought = rendered.records
        follow_source(request, items_from_letter(rendered.body_html, rendered.records), actor)
        # Only the letter that starts a request teaches the drafter's own details:
        # a further letter is signed, by default, as the original one was.
        remember_sender(actor, request.organization, sender)
    add_event(request, actor, "letter", "Edited the draft letter.")
    db.session.flush()


def finalize(letter: Letter, request: RecordsRequest, actor: User, today: date) -> None:
    """Freeze the letter as it prints today, keep its PDF among the request's documents;
    it is then ready to send. A letter the agency could not receive is refused."""
    if not letter.is_draft:
        raise LetterError("This letter is already final.")
    problems = finalize_problems(letter, request)
    if problems:
        raise NotSendable(problems)
    template = library().get(letter.template_slug)
    contact = addressee(template, request.agency)
    channel = letter_channel(letter, contact)
    enclosures = enclosed_documents(letter, request)
    preview = compose(
        template,
        template.stored_values(letter.field_values),
        request.agency,
        Sender(**letter.sender),
        request,
        today,
        request.reference,
        draft=False,
        channel=channel,
        enclosures=[enclosure_line(d) for d in enclosures],
    )
    letter.document_html = preview.html
    letter.subject = preview.rendered.subject
    letter.letter_date = today
    letter.channel = channel
    letter.enclosure_ids = [d.id for d in enclosures]
    letter.template_version = template.version
    letter.template_hash = template.content_hash
    letter.state = LetterState.FINAL
    letter.finalized_at = utcnow()
    letter.finalized_by_id = actor.id
    add_event(
        request,
        actor,
        "letter",
        f"Finalized the letter (template {template.slug}, version {template.version}), "
        f"to go by {channel.label.lower()}; it is ready to send.",
    )
    # The letter as sent is always on file: kept, hashed and searchable like any document.
    name = f"{request.reference}-{letter.kind.replace('_', '-')}-{today.isoformat()}.pdf"
    stored = documents.store_files(
        request, [(name, io.BytesIO(letter_pdf_bytes(letter, request)))], actor
    )
    if stored.refused:
        raise LetterError(f"The letter's PDF could not be kept: {stored.refused[0][1]}")
    kept = (stored.stored or stored.linked)[0]
    kept.title = f"Letter: {preview.rendered.subject}"[:300]
    letter.document_id = kept.id
    db.session.flush()


def mark_sent(
    letter: Letter,
    request: RecordsRequest,
    sent_on: date,
    channel: Channel,
    actor: User | None,
    note: str = "",
) -> None:
    """Record that the letter went: the request's sent-on for the letter that starts it,
    and the agency's messages that were waiting for an answer are answered by it."""
    if letter.state != LetterState.FINAL:
        raise LetterError("Finalize the letter before marking it sent.")
    letter.state = LetterState.SENT
    letter.sent_on = sent_on
    letter.sent_via = channel
    note = note or f"Sent the letter by {channel.label.lower()} on {sent_on.isoformat()}."
    if letter.kind == "initial":
        values = values_of(request)
        values.status = (
            RequestStatus.SENT if request.status == RequestStatus.DRAFT else request.status
        )
        values.sent_on = sent_on
        update_request(request, values, actor, note)
    else:
        add_event(request, actor, "letter", note)
    answer_waiting_messages(
        request, actor, f"Answered by the letter {channel.sent_phrase} on {sent_on.isoformat()}."
    )
    db.session.flush()


def answer_waiting_messages(request: RecordsRequest, actor: User | None, note: str) -> int:
    """Mark the messages in that still need an answer as answered; say how many."""
    # The mail package imports the documents package, which imports this one's callers.
    from tracker.mail.models import Correspondence

    waiting = db.session.scalars(
        select(Correspondence).where(
            Correspondence.request_id == request.id, Correspondence.needs_answer_clause()
        )
    ).all()
    now = utcnow()
    for message in waiting:
        message.answered_at = now
        message.answered_by_id = actor.id if actor else None
        message.answer_note = note
    return len(waiting)


def file_via_portal(
    letter: Letter,
    request: RecordsRequest,
    portal: str,
    confirmation: str,
    filed_on: date,
    actor: User,
) -> None:
    """The letter was filed through the agency's portal: which one, its confirmation
    number and the day. The confirmation becomes the agency's tracking number when the
    request has none."""
    if letter.state != LetterState.FINAL:
        raise LetterError("Only a final letter not yet sent can be marked filed.")
    if letter.letter_date and filed_on < letter.letter_date:
        raise RequestError("filed_on", "It cannot be filed before the letter's date.")
    letter.portal_name = portal
    letter.portal_confirmation = confirmation
    if not request.agency_tracking_number:
        values = values_of(request)
        values.agency_tracking_number = confirmation
        update_request(
            request, values, actor, f"The portal’s confirmation number is {confirmation}."
        )
    mark_sent(
        letter,
        request,
        filed_on,
        Channel.PORTAL,
        actor,
        f"Filed the letter through {portal} on {filed_on.isoformat()}; "
        f"confirmation number {confirmation}.",
    )


def prefilled_values(template: LetterTemplate, request: RecordsRequest | None) -> dict[str, Any]:
    """Starting values for a letter's form: defaults, then what the request already knows."""
    source = request_party(request)
    values = {}
    for spec in template.fields:
        value = spec.parse(spec.default)
        if spec.prefill and request is not None:
            known = getattr(source, spec.prefill.removeprefix("request."))
            if known and (spec.type != "choice" or known in spec.choices):
                value = known
        values[spec.name] = value
    return values

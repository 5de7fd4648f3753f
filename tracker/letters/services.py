"""Drafting, finalizing and sending letters. Operations flush; callers commit."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select

from tracker import PROJECT_ROOT
from tracker.agencies.models import Agency
from tracker.auth.models import User
from tracker.deadlines.engine import Extension, Facts, compute
from tracker.extensions import db
from tracker.laws import all_laws
from tracker.letters.document import LetterParts, Recipient, Sender, document_html
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
from tracker.requests.models import Organization, RecordsRequest, RequestEvent, RequestStatus
from tracker.requests.services import (
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
            "article": getattr(agency, "article", "the"),
            "in_sentence": getattr(agency, "in_sentence", f"the {agency.name}"),
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
    return {
        "agency": agency_party(agency),
        "requester": Party(sender.as_dict()),
        "request": request_party(request),
        "deadline": letter_deadline(template, values, agency, request, letter_date),
        "letter_date": letter_date,
    }


def salutation(template: LetterTemplate, agency: Agency) -> str:
    if template.salutation:
        return template.salutation
    law = all_laws().get(agency.law) or all_laws().get(template.laws[0])
    return law.salutation if law else "To whom it may concern:"


def recipient(agency: Agency) -> Recipient:
    return Recipient(
        name=agency.name,
        records_office=agency.records_office,
        address=agency.mailing_address,
        email=agency.email,
        portal_url=agency.portal_url,
    )


@dataclass(frozen=True)
class Preview:
    rendered: RenderedLetter
    html: str


def compose(
    template: LetterTemplate,
    values: Mapping[str, Any],
    agency: Agency,
    sender: Sender,
    request: RecordsRequest | None,
    letter_date: date,
    reference: str,
    draft: bool = True,
) -> Preview:
    """The letter exactly as it prints, from a template and typed values.

    It is marked as a draft unless it is being finalized.
    """
    context = template_context(agency, sender, request, letter_date, template, values)
    rendered = render(template, values, context)
    parts = LetterParts(
        reference=reference,
        subject=rendered.subject,
        salutation=salutation(template, agency),
        body_html=rendered.body_html,
        sender=sender,
        recipient=recipient(agency),
        letter_date=letter_date,
        agency_tracking_number=request.agency_tracking_number if request else "",
        draft=draft,
    )
    return Preview(rendered=rendered, html=document_html(parts))


def letter_document(letter: Letter, request: RecordsRequest) -> str:
    """The printable document: frozen once finalized, rendered live while a draft."""
    if not letter.is_draft:
        return letter.document_html
    template = library().get(letter.template_slug)
    values = template.stored_values(letter.field_values)
    preview = compose(
        template,
        values,
        request.agency,
        Sender(**letter.sender),
        request,
        local_today(),
        request.reference,
        draft=True,
    )
    return preview.html


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
) -> list[RecordsRequest]:
    """One request per agency, each with its own reference and draft letter, grouped."""
    if template.kind != "initial":
        raise LetterError("Only an initial request letter starts new requests.")
    if not agencies:
        raise LetterError("Choose at least one agency.")
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
        )
        request.group = group
        request.letters.append(new_letter(template, typed, sender, actor))
        add_event(request, actor, "letter", f"Drafted the letter from “{template.title}”.")
        created.append(request)
    remember_sender(actor, organization, sender)
    db.session.flush()
    return created


def new_letter(
    template: LetterTemplate, typed: Mapping[str, Any], sender: Sender, actor: User
) -> Letter:
    return Letter(
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
) -> Letter:
    """A further letter on an existing request: a follow-up, a response, a demand, an appeal."""
    typed = template.typed_values(values)
    letter = new_letter(template, typed, sender, actor)
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
) -> None:
    if not letter.is_draft:
        raise LetterError("This letter is final; it can no longer be edited.")
    template = library().get(letter.template_slug)
    typed = template.typed_values(values)
    stored = stored_values(template, typed)
    if stored == letter.field_values and sender.as_dict() == letter.sender:
        return
    letter.field_values = stored
    letter.sender = sender.as_dict()
    letter.template_version = template.version
    letter.template_hash = template.content_hash
    if letter.kind == "initial":
        context = template_context(request.agency, sender, request, local_today(), template, typed)
        rendered = render(template, typed, context)
        request.records_sought = rendered.records
        # Only the letter that starts a request teaches the drafter's own details:
        # a further letter is signed, by default, as the original one was.
        remember_sender(actor, request.organization, sender)
    add_event(request, actor, "letter", "Edited the draft letter.")
    db.session.flush()


def finalize(letter: Letter, request: RecordsRequest, actor: User, today: date) -> None:
    """Freeze the letter as it prints today; it is then ready to send."""
    if not letter.is_draft:
        raise LetterError("This letter is already final.")
    template = library().get(letter.template_slug)
    preview = compose(
        template,
        template.stored_values(letter.field_values),
        request.agency,
        Sender(**letter.sender),
        request,
        today,
        request.reference,
        draft=False,
    )
    letter.document_html = preview.html
    letter.subject = preview.rendered.subject
    letter.letter_date = today
    letter.template_version = template.version
    letter.template_hash = template.content_hash
    letter.state = LetterState.FINAL
    letter.finalized_at = utcnow()
    letter.finalized_by_id = actor.id
    add_event(
        request,
        actor,
        "letter",
        f"Finalized the letter (template {template.slug}, version {template.version}); "
        "it is ready to send.",
    )
    db.session.flush()


def mark_sent(
    letter: Letter, request: RecordsRequest, sent_on: date, channel: Channel, actor: User
) -> None:
    if letter.state != LetterState.FINAL:
        raise LetterError("Finalize the letter before marking it sent.")
    letter.state = LetterState.SENT
    letter.sent_on = sent_on
    letter.sent_via = channel
    note = f"Sent the letter by {channel.label.lower()} on {sent_on.isoformat()}."
    if letter.kind == "initial":
        values = values_of(request)
        values.status = (
            RequestStatus.SENT if request.status == RequestStatus.DRAFT else request.status
        )
        values.sent_on = sent_on
        update_request(request, values, actor, note)
    else:
        add_event(request, actor, "letter", note)
    db.session.flush()


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

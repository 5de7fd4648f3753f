"""What the team makes of a message in: the response it suggests, confirmed or dismissed,
and whether it still needs an answer from us. Operations flush; callers commit."""

from tracker.auth.models import User
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.documents.services import DETERMINES, log_response, record_event, unanswered_items
from tracker.mail.models import Correspondence, SuggestionState
from tracker.requests.models import RecordsRequest
from tracker.requests.services import update_request, values_of
from tracker.sqltypes import LOCAL_ZONE, utcnow


class AlreadySettled(ValueError):
    """Someone got there first: the suggestion or the message is settled already."""


def suggestion_text(entry: Correspondence) -> str:
    """What a suggestion says, e.g. "Extension notice — the agency now says records by …"."""
    kind = ResponseKind(entry.suggested_kind)
    if kind is ResponseKind.EXTENSION and entry.portal_due_on:
        when = f"{entry.portal_due_on:%B} {entry.portal_due_on.day}, {entry.portal_due_on.year}"
        return f"{kind.label} — the agency now says records by {when}."
    if kind is ResponseKind.EXTENSION:
        return f"{kind.label} — the notice names no new date."
    if kind is ResponseKind.PARTIAL_RELEASE:
        return f"{kind.label} — records released on the portal, awaiting download."
    if kind is ResponseKind.ACKNOWLEDGMENT:
        return f"{kind.label} — the agency has the request."
    if kind is ResponseKind.CLARIFICATION:
        return f"{kind.label} — the agency asks us something."
    return kind.label


def who_settled(entry: Correspondence) -> str:
    name = entry.answered_by.name if entry.answered_by else "someone"
    return f"{name} settled it already: {entry.answer_note}"


def settle(entry: Correspondence, actor: User, note: str) -> None:
    if entry.answered_at is None:
        entry.answered_at = utcnow()
        entry.answered_by_id = actor.id
        entry.answered_by = actor
        entry.answer_note = note


def the_request(entry: Correspondence) -> RecordsRequest:
    if entry.request is None:
        raise ValueError("The message is not filed on a request.")
    return entry.request


def confirm_suggestion(entry: Correspondence, actor: User) -> AgencyResponse:
    """Log the response a message suggests, with its attachments; the request follows."""
    if entry.suggestion_state is not SuggestionState.OPEN or not entry.suggested_kind:
        raise AlreadySettled(
            "This suggestion was already "
            f"{(entry.suggestion_state or 'settled').lower()}; nothing was logged again."
        )
    record = the_request(entry)
    kind = ResponseKind(entry.suggested_kind)
    received_on = entry.when.astimezone(LOCAL_ZONE).date()
    summary = f"From the email “{entry.subject or '(no subject)'}” of {received_on.isoformat()}"
    summary += f" ({entry.portal} notice)." if entry.portal else "."
    if kind is ResponseKind.EXTENSION and entry.portal_due_on:
        summary += f" The agency now says records by {entry.portal_due_on.isoformat()}."
    if kind is ResponseKind.PARTIAL_RELEASE:
        summary += " Released on the portal, awaiting download"
        summary += f": {entry.portal_link}" if entry.portal_link else "."
    response = AgencyResponse(
        kind=kind,
        received_on=received_on,
        channel=ResponseChannel.PORTAL if entry.portal else ResponseChannel.EMAIL,
        agency_tracking_number=entry.portal_number,
        summary=summary,
    )
    log_response(record, response, [], actor)
    for document in entry.attachments:
        if document.deleted_at is None and document.response_id is None:
            document.response = response
    if kind is ResponseKind.EXTENSION and entry.portal_due_on:
        values = values_of(record)
        values.records_promised_on = entry.portal_due_on
        update_request(record, values, actor, "The promised date, from the extension notice.")
    entry.suggestion_state = SuggestionState.CONFIRMED
    entry.response = response
    settle(entry, actor, f"Logged as {kind.label.lower()}.")
    return response


def items_to_say(response: AgencyResponse) -> bool:
    """Whether a confirmed response should next say which items it answers.

    A one-click confirm cannot know which items a release or a determination answers (a
    portal notice rarely says), so it logs the response without item answers and the
    person who confirmed is asked next; an acknowledgment, an extension or a question
    back answers no item and asks nothing.
    """
    return response.kind in DETERMINES and any(
        not item.state.is_settled for item in unanswered_items(response)
    )


def dismiss_suggestion(entry: Correspondence, actor: User, reason: str = "") -> None:
    if entry.suggestion_state is not SuggestionState.OPEN or not entry.suggested_kind:
        raise AlreadySettled(
            f"This suggestion was already {(entry.suggestion_state or 'settled').lower()}."
        )
    record = the_request(entry)
    kind = ResponseKind(entry.suggested_kind)
    reason = reason.strip()
    note = f"Dismissed the suggested {kind.label.lower()}" + (f": {reason}" if reason else ".")
    entry.suggestion_state = SuggestionState.DISMISSED
    settle(entry, actor, note)
    record_event(record, actor, "note", f"{note} (email “{entry.subject or '(no subject)'}”)")


def no_answer_needed(entry: Correspondence, actor: User, reason: str = "") -> None:
    if not entry.needs_answer:
        raise AlreadySettled(who_settled(entry))
    record = the_request(entry)
    reason = reason.strip()
    note = "No answer needed" + (f": {reason}" if reason else ".")
    settle(entry, actor, note)
    record_event(record, actor, "note", f"{note} (email “{entry.subject or '(no subject)'}”)")

"""Which items of a request a later letter names: those the agency still owes or holds back.

A follow-up, a demand and an appeal list the items not yet accounted for, each with its
state, the exemptions cited against it and the date it was due. An item released in full,
one with no records, and one withdrawn need nothing more; a withheld item is settled as
far as the agency is concerned, but a letter contests it, so it is listed.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import selectinload

from tracker.items import queries
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.laws import all_laws
from tracker.requests.models import RecordsRequest

ACCOUNTED_FOR = frozenset({ItemState.RELEASED, ItemState.NO_RECORDS, ItemState.WITHDRAWN})

NOTHING_TO_FOLLOW_UP = (
    "Every item of this request is accounted for (released in full, no records, or "
    "withdrawn), so there is nothing to follow up."
)


def still_open(state: ItemState) -> bool:
    """Whether a letter still has something to ask of the agency for an item in this state."""
    return state not in ACCOUNTED_FOR


def letter_lists(states: Sequence[ItemState]) -> list[int]:
    """The positions (0-based) of the items a follow-up, demand or appeal names."""
    return [index for index, state in enumerate(states) if still_open(state)]


def nothing_to_follow_up(states: Sequence[ItemState]) -> bool:
    """A request with items, every one accounted for, offers no follow-up. A request
    without items (none recorded yet) is followed up as a whole, as before."""
    return bool(states) and not letter_lists(states)


@dataclass(frozen=True)
class OpenItem:
    number: int
    description: str
    state: str
    exemptions: tuple[str, ...]
    due_on: date | None


def citation_words(law_id: str, citation: ExemptionCitation) -> str:
    """How a letter names a citation: "Gov. Code § 7923.600", or the agency's own words
    when they are no exemption."""
    if citation.not_an_exemption or not citation.code:
        return f"“{citation.reason}”, which is no exemption"
    law = all_laws().get(law_id)
    exemption = law.exemption(citation.code) if law else None
    return exemption.citation if exemption else citation.code


def items_of(request: RecordsRequest) -> list[RequestItem]:
    return queries.items_of(
        request.id, selectinload(RequestItem.answers).selectinload(ItemAnswer.citations)
    )


def follow_up_refusal(request: RecordsRequest) -> str:
    """Why no follow-up is offered for the request, or "" when one is."""
    states = [item.state for item in items_of(request)]
    return NOTHING_TO_FOLLOW_UP if nothing_to_follow_up(states) else ""


def open_items(request: RecordsRequest | None, due_on: date | None) -> list[OpenItem]:
    """The items a later letter names, with what was cited against each and its due date."""
    if request is None:
        return []
    items = items_of(request)
    if len(items) == 1 and items[0].state is ItemState.PENDING:
        # One item not yet answered is the request itself, which the letter quotes.
        return []
    listed = []
    for index in letter_lists([item.state for item in items]):
        item = items[index]
        cited: list[str] = []
        for answer in item.answers:
            for citation in answer.citations:
                words = citation_words(citation.law, citation)
                if words not in cited:
                    cited.append(words)
        listed.append(
            OpenItem(
                number=item.position,
                description=item.description.strip(),
                state=item.state.label.lower(),
                exemptions=tuple(cited),
                due_on=due_on,
            )
        )
    return listed


def any_answered(request: RecordsRequest | None) -> bool:
    """Whether the agency has answered any item: a letter then no longer says nothing came."""
    if request is None:
        return False
    return any(item.state is not ItemState.PENDING for item in items_of(request))

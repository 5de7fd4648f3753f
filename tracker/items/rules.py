"""The rules of items, as pure functions: an item's state from its answers, a request's
status from its items' states, and which items are still open.

Nothing here reads the database; callers hand in what they have.
"""

from collections.abc import Iterable, Sequence

from tracker.items.models import ItemState
from tracker.requests.models import RequestStatus

# What an answer does to an item: the latest answer says where the item stands, except
# that pending says nothing new and a withdrawn item stays withdrawn.
NOT_AN_ANSWER = ItemState.PENDING


def item_state(outcomes: Sequence[ItemState]) -> ItemState:
    """Where an item stands after its answers, oldest first."""
    state = ItemState.PENDING
    for outcome in outcomes:
        if state is ItemState.WITHDRAWN:
            break
        if outcome is NOT_AN_ANSWER:
            continue
        # Records released in part earlier and the rest now: released in part still,
        # since something was held back.
        if state is ItemState.PARTIAL and outcome is ItemState.RELEASED:
            continue
        state = outcome
    return state


def open_states(states: Iterable[ItemState]) -> list[ItemState]:
    return [state for state in states if not state.is_settled]


def request_status(states: Sequence[ItemState], current: RequestStatus) -> RequestStatus | None:
    """The status a request's items put it in, or None to leave the status as it is.

    Every item withdrawn: withdrawn. Every item settled: fulfilled when all that was not
    withdrawn came in full, no records or denied when that is all the answers were, and
    otherwise partially fulfilled, which stays open, since something was held back or not
    found and a demand or appeal may follow. Items still open: waiting on us when the
    agency asked us to clarify one, partially fulfilled once anything has come, else the
    status stays (sent, acknowledged, extended…). A request on appeal or in court keeps
    that status until every item is settled.
    """
    if not states:
        return None
    if all(state is ItemState.WITHDRAWN for state in states):
        return RequestStatus.WITHDRAWN
    answered = {state for state in states if state is not ItemState.WITHDRAWN}
    if all(state.is_settled for state in states):
        if answered == {ItemState.RELEASED}:
            return RequestStatus.FULFILLED
        if answered == {ItemState.NO_RECORDS}:
            return RequestStatus.NO_RECORDS
        if answered == {ItemState.WITHHELD}:
            return RequestStatus.DENIED
        return RequestStatus.PARTIALLY_FULFILLED
    if current in (RequestStatus.APPEALED, RequestStatus.IN_LITIGATION):
        return None
    if ItemState.CLARIFICATION in answered:
        return RequestStatus.WAITING_ON_US
    if answered & {ItemState.RELEASED, ItemState.PARTIAL}:
        return RequestStatus.PARTIALLY_FULFILLED
    return None


def open_count(states: Sequence[ItemState]) -> tuple[int, int]:
    """How many items are open, of how many: the board's "3 of 5 items open"."""
    return len(open_states(states)), len(states)

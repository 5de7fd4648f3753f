"""The rules of items, in the words of the people who use them."""

import pytest

from tracker.items.models import ItemState as I  # noqa: N817
from tracker.items.rules import item_state, open_count, request_status
from tracker.requests.models import RequestStatus as S  # noqa: N817


def test_an_item_nobody_has_answered_is_pending():
    assert item_state([]) is I.PENDING


def test_the_latest_answer_says_where_an_item_stands():
    # Asked to clarify, we did, and then the records came.
    assert item_state([I.CLARIFICATION, I.RELEASED]) is I.RELEASED
    # An acknowledgment that names the item changes nothing.
    assert item_state([I.PARTIAL, I.PENDING]) is I.PARTIAL


def test_what_was_held_back_once_keeps_an_item_released_in_part():
    assert item_state([I.PARTIAL, I.RELEASED]) is I.PARTIAL


def test_a_withdrawn_item_stays_withdrawn():
    assert item_state([I.WITHDRAWN, I.RELEASED]) is I.WITHDRAWN


@pytest.mark.parametrize(
    ("states", "status"),
    [
        ([I.RELEASED, I.RELEASED], S.FULFILLED),
        ([I.RELEASED, I.WITHDRAWN], S.FULFILLED),
        ([I.NO_RECORDS], S.NO_RECORDS),
        ([I.WITHHELD, I.WITHHELD], S.DENIED),
        ([I.WITHDRAWN, I.WITHDRAWN], S.WITHDRAWN),
        # Settled, but something was withheld or not found: open for a demand or appeal.
        ([I.RELEASED, I.WITHHELD, I.NO_RECORDS], S.PARTIALLY_FULFILLED),
        ([I.PARTIAL], S.PARTIALLY_FULFILLED),
        # Still open.
        ([I.RELEASED, I.PENDING], S.PARTIALLY_FULFILLED),
        ([I.CLARIFICATION, I.RELEASED], S.WAITING_ON_US),
    ],
)
def test_a_request_s_status_follows_its_items(states, status):
    assert request_status(states, S.ACKNOWLEDGED) is status


def test_an_appeal_or_a_lawsuit_keeps_its_status_until_every_item_is_settled():
    assert request_status([I.RELEASED, I.PENDING], S.APPEALED) is None
    assert request_status([I.CLARIFICATION], S.IN_LITIGATION) is None
    assert request_status([I.RELEASED, I.RELEASED], S.IN_LITIGATION) is S.FULFILLED


def test_items_not_yet_answered_leave_the_status_as_it_is():
    assert request_status([I.PENDING, I.PENDING], S.EXTENDED) is None
    assert request_status([], S.SENT) is None


def test_the_board_counts_what_is_still_open():
    assert open_count([I.RELEASED, I.PENDING, I.PARTIAL, I.WITHHELD, I.CLARIFICATION]) == (3, 5)

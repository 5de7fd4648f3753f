"""The board counts a request's open items and filters by item state and by exemption;
search finds the words of items."""

import csv
import io
from datetime import date

from tests import test_dashboard
from tests.test_dashboard import section
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.extensions import db
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.items.services import items_of
from tracker.search.engine import search

# The board as seen on the dashboard tests' fixed day, with their requests.
app = test_dashboard.app
board = test_dashboard.board


def five_items_two_settled(record):
    """Items 1 released, 2 withheld under § 7923.600, 3 to 5 still pending."""
    first = items_of(record)[0]
    extra = [
        RequestItem(request=record, position=n, description=f"Item text {n}") for n in (2, 3, 4, 5)
    ]
    db.session.add_all(extra)
    response = AgencyResponse(
        request_id=record.id,
        kind=ResponseKind.PARTIAL_RELEASE,
        received_on=date(2026, 12, 1),
        channel=ResponseChannel.EMAIL,
    )
    db.session.add(response)
    first.state = ItemState.RELEASED
    extra[0].state = ItemState.WITHHELD
    withheld = ItemAnswer(response=response, item=extra[0], outcome=ItemState.WITHHELD)
    db.session.add_all(
        [
            ItemAnswer(response=response, item=first, outcome=ItemState.RELEASED),
            withheld,
            ExemptionCitation(answer=withheld, law="ca-cpra", code="7923.600"),
        ]
    )
    db.session.commit()


def test_the_reason_says_how_many_items_are_still_open(client, auth, board):
    five_items_two_settled(board["requests"]["overdue"])
    auth.login(board["staff"])
    _, page = section(client, "overdue")
    assert "3 of 5 items open." in page
    rows = list(csv.DictReader(io.StringIO(client.get("/due?section=overdue&format=csv").text)))
    assert "3 of 5 items open." in rows[0]["reason"]


def test_a_request_of_one_item_says_nothing_of_items(client, auth, board):
    auth.login(board["staff"])
    _, page = section(client, "overdue")
    assert "items open" not in page


def test_the_board_filters_by_item_state_and_by_exemption_cited(client, auth, board):
    five_items_two_settled(board["requests"]["overdue"])
    auth.login(board["staff"])
    assert section(client, "overdue", "&item_state=withheld")[0] == {"Overdue one"}
    assert section(client, "overdue", "&item_state=no_records")[0] == set()
    assert section(client, "due_soon", "&item_state=withheld")[0] == set()
    assert section(client, "overdue", "&exemption=7923.600")[0] == {"Overdue one"}
    assert section(client, "overdue", "&exemption=7922.000")[0] == set()
    found, page = section(client, "overdue", "&item_state=nonsense&exemption=")
    assert found == {"Overdue one"}
    # The exemptions offered are those agencies have cited.
    assert '<option value="7923.600"' in page and '<option value="7922.000"' not in page
    assert '<label for="item_state">Item state</label>' in page


def test_search_finds_the_words_of_an_item_added_later(app, make_user, make_request):
    record = make_request(records_sought="Reports to the Commission")
    db.session.add(
        RequestItem(request=record, position=2, description="Tracking spreadsheets of detainers")
    )
    db.session.commit()
    hits = search(db.session(), "spreadsheets")
    assert [(hit.kind, hit.reference) for hit in hits] == [("item", record.reference)]
    assert hits[0].kind_label == "Item"
    items_of(record)[1].description = "Tracking logs of detainers"
    db.session.commit()
    assert search(db.session(), "spreadsheets") == []
    assert [hit.kind for hit in search(db.session(), "logs")] == ["item"]


def test_search_page_links_an_item_hit_to_the_items_on_its_request(
    client, auth, make_user, make_request
):
    record = make_request(records_sought="Reports")
    db.session.add(RequestItem(request=record, position=2, description="Detainer notifications"))
    db.session.commit()
    auth.login(make_user(Role.VIEWER))
    page = client.get("/search?q=notifications").get_data(as_text=True)
    assert f"/requests/{record.reference}#item-" in page


def test_a_typed_requests_one_item_is_found_once_until_the_two_differ(app, make_request):
    record = make_request(records_sought="Memoranda on the KOALAFILES operation")
    assert [hit.kind for hit in search(db.session(), "koalafiles")] == ["request"]
    record.records_sought = "Memoranda on another operation"
    db.session.commit()
    assert [hit.kind for hit in search(db.session(), "koalafiles")] == ["item"]

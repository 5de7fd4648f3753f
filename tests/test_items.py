"""The items of a request: made from the letter or the typed request, shaped while it is a
draft, withdrawn after it is sent, and shown on the request's page."""

import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import post_form
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.extensions import db
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.items.services import items_from_letter, items_from_records_sought, items_of
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus

COMMISSION = "/letters/cpra-police-commission-ice-collaboration/draft"


def commission_data(agency_id, **overrides):
    return {
        "title": "Commission reports",
        "agencies": [str(agency_id)],
        "organization": "",
        "f_date_from": "2024-01-01",
        "f_date_to": "2025-12-31",
        "f_fee_cap": "50",
        "f_additional_details": "",
        "requester_name": "Ana Ruiz",
        "requester_email": "ana@example.org",
        "save": "Save draft",
        **overrides,
    }


def descriptions(record):
    return [item.description for item in items_of(record)]


def positions(record):
    return [item.position for item in items_of(record)]


def item_events(record):
    return db.session.scalars(
        select(RequestEvent).where(
            RequestEvent.request_id == record.id, RequestEvent.kind == "items"
        )
    ).all()


# Where items come from -----------------------------------------------------------


def test_a_numbered_list_typed_or_pasted_becomes_one_item_per_entry():
    text = (
        "For 2024:\n1. Reports to the Commission\n2. The requests from ICE,\n   with attachments\n"
        "3) LAPD's answers"
    )
    assert items_from_records_sought(text) == [
        "For 2024: Reports to the Commission",
        "The requests from ICE, with attachments",
        "LAPD's answers",
    ]
    assert items_from_records_sought("(1) Detainers\n(2) Notifications") == [
        "Detainers",
        "Notifications",
    ]


def test_text_that_is_no_list_is_one_item_even_with_a_number_in_it():
    assert items_from_records_sought("Emails about the 2024 operation. 3. Detainers") == [
        "Emails about the 2024 operation. 3. Detainers"
    ]
    assert items_from_records_sought("   ") == []


def test_a_letter_body_without_a_numbered_list_gives_its_records_sought():
    assert items_from_letter("<p>Please send records.</p>", "Emails about ICE.") == [
        "Emails about ICE."
    ]
    assert items_from_letter("<ol><li>A <em>b</em></li><li>C</li></ol><ol><li>D</li></ol>", "") == [
        "A b",
        "C",
    ]


def test_the_police_commission_letter_gives_its_six_numbered_paragraphs_as_items(
    app, client, auth, make_user, make_agency
):
    agency = make_agency(name="Board of Police Commissioners", slug="la-police-commission")
    auth.login(make_user(Role.ADVOCATE))
    response = post_form(client, COMMISSION, commission_data(agency.id))
    assert response.status_code == 302, response.get_data(as_text=True)
    record = db.session.scalars(select(RecordsRequest)).one()
    items = items_of(record)
    assert [item.position for item in items] == [1, 2, 3, 4, 5, 6]
    assert items[0].description.startswith("Every report, memorandum, briefing or other record")
    assert items[1].description.startswith("The requests themselves")
    assert items[5].description.startswith("The directive, policy or procedure")
    assert {item.state for item in items} == {ItemState.PENDING}
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "Item 6" in page and "6 of 6 open" in page


def test_a_request_typed_by_hand_starts_with_one_item_holding_its_records_sought(
    client, auth, make_user, make_agency
):
    agency = make_agency()
    auth.login(make_user(Role.ADVOCATE))
    post_form(
        client,
        "/requests/new",
        {"title": "Detainers", "agency": str(agency.id), "status": "draft",
         "records_sought": "1. Detainers\n2. Notifications"},
    )  # fmt: skip
    record = db.session.scalars(select(RecordsRequest)).one()
    assert descriptions(record) == ["1. Detainers\n2. Notifications"]


def test_a_request_with_nothing_described_has_its_title_as_its_item(make_request):
    record = make_request(title="Task-force agreements")
    assert descriptions(record) == ["Task-force agreements"]


# Shaping the items of a draft ------------------------------------------------------


@pytest.fixture
def draft(make_user, make_request):
    """A draft with three items, belonging to an advocate."""
    owner = make_user(Role.ADVOCATE)
    record = make_request(created_by=owner, records_sought="Reports")
    item = items_of(record)[0]
    item.description = "Reports to the Commission"
    db.session.add_all(
        [
            RequestItem(request=record, position=2, description="Requests from ICE"),
            RequestItem(request=record, position=3, description="LAPD's answers"),
        ]
    )
    db.session.commit()
    return owner, record


def items_url(record, item=None, action=""):
    base = f"/requests/{record.reference}/items"
    return f"{base}/{item.id}/{action}" if item else base


def test_an_advocate_adds_an_item_at_the_end_and_the_timeline_says_who(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    response = post_form(
        client, f"{items_url(record)}/add", {"description": "Tracking logs"},
        token_from=items_url(record),
    )  # fmt: skip
    assert response.status_code == 302
    assert descriptions(record)[-1] == "Tracking logs"
    assert positions(record) == [1, 2, 3, 4]
    [event] = item_events(record)
    assert event.actor == owner
    assert event.changes == [{"field": "Item 4", "old": "", "new": "Tracking logs"}]
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "changed the items" in page and "Tracking logs" in page


def test_an_empty_new_item_is_refused_at_its_field(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    page = post_form(
        client, f"{items_url(record)}/add", {"description": "   "}, token_from=items_url(record)
    ).get_data(as_text=True)
    assert 'id="description-error"' in page
    assert "Describe the records this item asks for." in page
    assert len(items_of(record)) == 3


def test_rewording_keeps_the_number_and_shows_the_old_wording_on_the_timeline(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    second = items_of(record)[1]
    url = items_url(record, second, "reword")
    assert "Requests from ICE" in client.get(url).get_data(as_text=True)
    post_form(client, url, {"description": "Requests from ICE or CBP"})
    assert descriptions(record)[1] == "Requests from ICE or CBP"
    [event] = item_events(record)
    assert event.changes == [
        {"field": "Item 2", "old": "Requests from ICE", "new": "Requests from ICE or CBP"}
    ]


def test_a_reword_left_empty_is_refused_and_the_item_kept(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    second = items_of(record)[1]
    page = post_form(client, items_url(record, second, "reword"), {"description": ""})
    assert "Describe the records this item asks for." in page.get_data(as_text=True)
    assert descriptions(record)[1] == "Requests from ICE"


def test_splitting_an_item_makes_two_and_moves_the_rest_down(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    first = items_of(record)[0]
    url = items_url(record, first, "split")
    response = post_form(
        client, url, {"first": "Reports to the Commission", "second": "Commission minutes"}
    )
    assert response.status_code == 302
    assert descriptions(record) == [
        "Reports to the Commission",
        "Commission minutes",
        "Requests from ICE",
        "LAPD's answers",
    ]
    assert positions(record) == [1, 2, 3, 4]
    [event] = item_events(record)
    assert event.note == "Split item 1 in two."


def test_a_split_with_an_empty_part_says_which_and_keeps_what_was_typed(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    first = items_of(record)[0]
    page = post_form(
        client, items_url(record, first, "split"), {"first": "Only the reports", "second": ""}
    ).get_data(as_text=True)
    assert 'id="second-error"' in page and 'id="first-error"' not in page
    assert "Only the reports" in page
    assert len(items_of(record)) == 3


def test_merging_two_adjacent_items_makes_one_and_renumbers(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    second = items_of(record)[1]
    url = items_url(record, second, "merge")
    page = client.get(url).get_data(as_text=True)
    assert "Requests from ICE LAPD&#39;s answers" in page
    post_form(client, url, {"description": "ICE's requests and LAPD's answers"})
    assert descriptions(record) == [
        "Reports to the Commission",
        "ICE's requests and LAPD's answers",
    ]
    assert positions(record) == [1, 2]
    [event] = item_events(record)
    assert event.note == "Merged items 2 and 3."


def test_the_last_item_has_nothing_to_merge_with(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    last = items_of(record)[-1]
    assert client.get(items_url(record, last, "merge")).status_code == 404


def test_removing_an_item_renumbers_the_rest_but_the_last_one_stays(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    first = items_of(record)[0]
    post_form(client, items_url(record, first, "remove"), {}, token_from=items_url(record))
    assert descriptions(record) == ["Requests from ICE", "LAPD's answers"]
    assert positions(record) == [1, 2]
    for item in items_of(record)[:-1]:
        post_form(client, items_url(record, item, "remove"), {}, token_from=items_url(record))
    [last] = items_of(record)
    response = post_form(
        client, items_url(record, last, "remove"), {}, token_from=items_url(record),
        follow_redirects=True,
    )  # fmt: skip
    assert "keep at least one item" in response.get_data(as_text=True)
    assert len(items_of(record)) == 1


@pytest.mark.parametrize("role", [Role.STAFF, Role.ADMIN])
def test_staff_and_admins_shape_anyones_draft(client, auth, make_user, draft, role):
    _, record = draft
    auth.login(make_user(role))
    post_form(
        client, f"{items_url(record)}/add", {"description": "X"}, token_from=items_url(record)
    )
    assert len(items_of(record)) == 4


@pytest.mark.parametrize("role", [Role.ADVOCATE, Role.VIEWER])
def test_another_advocate_or_a_viewer_cannot_touch_the_items(client, auth, make_user, draft, role):
    owner, record = draft
    auth.login(owner)
    token_page = client.get(items_url(record)).get_data(as_text=True)
    assert "Add item" in token_page
    client.post("/logout", data={})
    auth.login(make_user(role))
    assert client.get(items_url(record)).status_code == 403
    first = items_of(record)[0]
    for url in (f"{items_url(record)}/add", items_url(record, first, "remove")):
        assert client.post(url, data={"description": "X"}).status_code in (400, 403)
    assert len(items_of(record)) == 3
    assert "Edit items" not in client.get(f"/requests/{record.reference}").get_data(as_text=True)


# After the request is sent ----------------------------------------------------------


def send(record):
    record.status = RequestStatus.SENT
    record.sent_on = date(2026, 11, 2)
    db.session.commit()


def test_once_sent_an_item_can_no_longer_be_added_split_merged_or_removed(client, auth, draft):
    owner, record = draft
    send(record)
    auth.login(owner)
    page = client.get(items_url(record)).get_data(as_text=True)
    assert "Add item" not in page and "Split" not in page and "Merge" not in page
    first = items_of(record)[0]
    for action in ("split", "merge"):
        assert client.get(items_url(record, first, action)).status_code == 403
    assert client.get(items_url(record, first, "reword")).status_code == 403


def test_once_sent_staff_reword_an_item_only_saying_why(client, auth, make_user, draft):
    _, record = draft
    send(record)
    auth.login(make_user(Role.STAFF))
    first = items_of(record)[0]
    url = items_url(record, first, "reword")
    page = post_form(client, url, {"description": "Reports for 2025 only", "reason": ""})
    assert 'id="reason-error"' in page.get_data(as_text=True)
    assert "Reports for 2025 only" in page.get_data(as_text=True)
    post_form(
        client, url, {"description": "Reports for 2025 only", "reason": "Narrowed on a call."}
    )
    assert descriptions(record)[0] == "Reports for 2025 only"
    assert item_events(record)[-1].note == "Narrowed on a call."


def test_an_advocate_withdraws_an_open_item_of_a_sent_request_with_a_reason(client, auth, draft):
    owner, record = draft
    send(record)
    auth.login(owner)
    third = items_of(record)[2]
    url = items_url(record, third, "withdraw")
    page = post_form(client, url, {"reason": ""}).get_data(as_text=True)
    assert 'id="reason-error"' in page and "Say why the item is withdrawn." in page
    response = post_form(client, url, {"reason": "Published on the city's site."})
    assert response.status_code == 302
    db.session.refresh(third)
    assert third.state is ItemState.WITHDRAWN
    event = item_events(record)[-1]
    assert event.actor == owner and event.note == "Published on the city's site."
    assert event.changes == [{"field": "Item 3", "old": "Pending", "new": "Withdrawn"}]
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "2 of 3 open" in page
    assert client.get(url).status_code == 403  # withdrawn already


def test_a_draft_has_nothing_to_withdraw_it_removes_instead(client, auth, draft):
    owner, record = draft
    auth.login(owner)
    first = items_of(record)[0]
    response = client.get(items_url(record, first, "withdraw"), follow_redirects=True)
    assert "remove the item instead" in response.get_data(as_text=True)
    assert items_of(record)[0].state is ItemState.PENDING


# The request's page --------------------------------------------------------------


def test_the_page_shows_each_items_state_its_answers_exemptions_and_documents(
    client, auth, make_user, draft
):
    from tests.conftest import blank_pdf
    from tracker.documents.services import store_files

    owner, record = draft
    send(record)
    first, second, third = items_of(record)
    response = AgencyResponse(
        request_id=record.id,
        kind=ResponseKind.PARTIAL_RELEASE,
        received_on=date(2026, 11, 20),
        channel=ResponseChannel.EMAIL,
    )
    db.session.add(response)
    db.session.flush()
    released = ItemAnswer(response=response, item=first, outcome=ItemState.RELEASED)
    withheld = ItemAnswer(response=response, item=second, outcome=ItemState.WITHHELD)
    none = ItemAnswer(response=response, item=third, outcome=ItemState.NO_RECORDS)
    db.session.add_all([released, withheld, none])
    db.session.add_all(
        [
            ExemptionCitation(answer=withheld, law="ca-cpra", code="7923.600"),
            ExemptionCitation(
                answer=withheld, law="ca-cpra", reason="Overly broad", not_an_exemption=True
            ),
        ]
    )
    first.state, second.state, third.state = (
        ItemState.RELEASED, ItemState.WITHHELD, ItemState.NO_RECORDS,
    )  # fmt: skip
    document = store_files(record, [("reports.pdf", __import__("io").BytesIO(blank_pdf()))], owner)
    first.documents.append(document.stored[0])
    db.session.commit()

    auth.login(make_user(Role.VIEWER))
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    section = page[page.index('id="items"') : page.index('id="letters-heading"')]
    assert re.search(r"Item 1</strong>\s*<span[^>]*>Released in full", section)
    assert re.search(r"Item 2</strong>\s*<span[^>]*>Withheld", section)
    assert re.search(r"Item 3</strong>\s*<span[^>]*>No records", section)
    assert re.search(r"Partial release, [^:]*2026: Withheld, citing", section)
    assert "7923.600" in section
    assert "“Overly broad”" in section and "no exemption" in section
    assert "reports" in section and f"/documents/{document.stored[0].id}" in section
    assert "Edit items" not in section


# Items and the text they came from ----------------------------------------------------


def test_a_typed_drafts_item_follows_its_records_sought_until_edited_by_hand(
    client, auth, make_user, make_agency
):
    agency = make_agency()
    owner = make_user(Role.ADVOCATE)
    auth.login(owner)
    form = {"title": "Detainers", "agency": str(agency.id), "status": "draft",
            "records_sought": "Detainers"}  # fmt: skip
    post_form(client, "/requests/new", form)
    record = db.session.scalars(select(RecordsRequest)).one()
    edit = f"/requests/{record.reference}/edit"
    page = post_form(client, edit, {**form, "records_sought": "Detainers and notifications"},
                     follow_redirects=True).get_data(as_text=True)  # fmt: skip
    assert descriptions(record) == ["Detainers and notifications"]
    assert "items were left as they are" not in page

    post_form(client, items_url(record, items_of(record)[0], "reword"), {"description": "Holds"})
    page = post_form(client, edit, {**form, "records_sought": "I-247 forms"},
                     follow_redirects=True).get_data(as_text=True)  # fmt: skip
    assert descriptions(record) == ["Holds"]
    assert "The items were left as they are: change them under Items." in page


def test_a_drafted_letters_items_follow_its_edits_until_edited_by_hand(
    app, client, auth, make_user, make_agency
):
    from tests.letters_support import simple_letter
    from tests.test_letters_drafting import draft_data

    simple_letter(app)
    agency = make_agency()
    auth.login(make_user(Role.ADVOCATE))
    post_form(client, "/letters/test-simple/draft", draft_data([agency.id], save="Save draft"))
    record = db.session.scalars(select(RecordsRequest)).one()
    assert descriptions(record) == ["Records about ICE detainers from January 1, 2024."]
    edit = f"/requests/{record.reference}/letters/{record.initial_letter.id}/edit"
    data = draft_data([], f_topic="U-visa certifications", save="Save draft")
    data.pop("agencies"), data.pop("title"), data.pop("organization")
    post_form(client, edit, data)
    assert descriptions(record) == ["Records about U-visa certifications from January 1, 2024."]

    post_form(client, f"{items_url(record)}/add", {"description": "Logs"},
              token_from=items_url(record))  # fmt: skip
    post_form(client, edit, {**data, "f_topic": "Task forces"})
    assert descriptions(record) == [
        "Records about U-visa certifications from January 1, 2024.",
        "Logs",
    ]

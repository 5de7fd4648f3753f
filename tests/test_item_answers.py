"""Logging a response item by item: which items it answers and how, the exemptions cited,
installments of a rolling production, and reasons that are no exemption."""

import html
import io
import re
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import blank_pdf, csrf_token
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse
from tracker.extensions import db
from tracker.items.models import ExemptionCitation, ItemAnswer, ItemState, RequestItem
from tracker.laws import Exemption, read_laws
from tracker.requests.models import RecordsRequest, RequestStatus

COMMISSION_ITEMS = (
    "Reports to the Police Commission on collaboration with ICE.",
    "Requests from ICE behind those reports.",
    "LAPD's answers to those requests.",
)


def add_items(record: RecordsRequest, *descriptions: str) -> list[RequestItem]:
    """The items a request's letter numbers, in place of the one a typed request starts with."""
    for made in db.session.scalars(select(RequestItem).where(RequestItem.request_id == record.id)):
        db.session.delete(made)
    db.session.flush()
    items = [
        RequestItem(request_id=record.id, position=number, description=text)
        for number, text in enumerate(descriptions, start=1)
    ]
    db.session.add_all(items)
    db.session.commit()
    return items


def response_page(client, record):
    page = client.get(f"/requests/{record.reference}/responses/new")
    assert page.status_code == 200
    return html.unescape(page.get_data(as_text=True))


def item_field(page, item, part):
    """The name of an item's field as the page's form gives it."""
    match = re.search(rf'name="(item_{item.id}_{part})"', page)
    assert match, f"no {part} field for item {item.position} on the page"
    return match.group(1)


def exemption_value(page, item, citation):
    """The value of the checkbox whose label names the citation, for this item."""
    for tag, label in re.findall(
        rf'(<input[^>]*name="item_{item.id}_exemptions"[^>]*>)\s*<label[^>]*>([^<]*)</label>', page
    ):
        if label.startswith(citation + ":"):
            return re.search(r'value="([^"]*)"', tag).group(1)
    raise AssertionError(f"no checkbox for {citation} at item {item.position}")


def post_response(client, record, data, files=()):
    token = csrf_token(client, f"/requests/{record.reference}/responses/new")
    base = {"csrf_token": token, "kind": "partial_release", "received_on": "2026-03-20",
            "channel": "email"}  # fmt: skip
    if files:
        base["files"] = list(files)
    return client.post(
        f"/requests/{record.reference}/responses/new",
        data={**base, **data},
        content_type="multipart/form-data",
    )


@pytest.fixture
def advocate(app, auth, make_user):
    app.config["TODAY"] = date(2026, 4, 10)
    user = make_user(Role.ADVOCATE)
    auth.login(user)
    return user


@pytest.fixture
def commission(advocate, make_agency, make_request):
    agency = make_agency(name="Los Angeles Police Commission", short_name="LAPD")
    record = make_request(
        created_by=advocate, agency=agency, status=RequestStatus.SENT,
        sent_on=date(2026, 3, 2), received_on=date(2026, 3, 2),
        records_sought=" ".join(COMMISSION_ITEMS),
    )  # fmt: skip
    return record, add_items(record, *COMMISSION_ITEMS)


# The exemptions as data -------------------------------------------------------------


def test_each_law_lists_its_exemptions_with_citation_and_name():
    from tracker.laws import all_laws

    cpra, foia = all_laws()["ca-cpra"], all_laws()["us-foia"]
    assert cpra.exemption("7923.600") == Exemption(
        "7923.600", "Gov. Code § 7923.600",
        "Law enforcement investigatory records, intelligence and security procedures",
        ("6254(f)", "investigatory", "investigative records"),
    )  # fmt: skip
    assert {"7922.000", "deliberative", "7927.700", "attorney-client", "pc-832.7", "evid-1040"} <= {
        e.code for e in cpra.exemptions
    }
    assert [e.code for e in foia.exemptions if e.code.startswith("b7")] == [
        "b7A", "b7B", "b7C", "b7D", "b7E", "b7F"
    ]  # fmt: skip
    assert {f"b{n}" for n in (1, 2, 3, 4, 5, 6, 8, 9)} <= {e.code for e in foia.exemptions}
    assert cpra.not_an_exemption("The request is overly broad.").citation == "Gov. Code § 7922.600"
    assert [e.code for e in foia.exemptions_cited_in("withheld under (b)(7)(C)")] == ["b7C"]
    assert all_laws()["tx-pia"].exemptions == ()


def test_a_law_that_lists_an_exemption_code_twice_is_refused_at_load():
    from importlib.resources import files

    text = files("tracker").joinpath("data/laws.toml").read_text("utf-8")
    twice = text.replace('code = "7923.610"', 'code = "7923.600"')
    with pytest.raises(ValueError, match="ca-cpra: exemption codes used twice: 7923.600"):
        read_laws(twice)


# The response form, item by item ----------------------------------------------------


def test_an_installment_releases_item_1_withholds_item_2_and_finds_no_records_for_item_3(
    client, commission
):
    record, (first, second, third) = commission
    page = response_page(client, record)
    for item in (first, second, third):
        assert f"Item {item.position}: {item.description}" in page
    response = post_response(client, record, {
        item_field(page, first, "outcome"): "released",
        item_field(page, second, "outcome"): "withheld",
        item_field(page, second, "exemptions"):
            exemption_value(page, second, "Gov. Code § 7923.600"),
        item_field(page, third, "outcome"): "no_records",
        "installment": "y", "next_promised_on": "2026-04-30",
    }, files=[(io.BytesIO(blank_pdf()), "commission-reports.pdf")])  # fmt: skip
    assert response.status_code == 302, response.get_data(as_text=True)

    db.session.expire_all()
    assert [item.state for item in (first, second, third)] == [
        ItemState.RELEASED, ItemState.WITHHELD, ItemState.NO_RECORDS
    ]  # fmt: skip
    logged = db.session.scalars(select(AgencyResponse)).one()
    assert logged.installment and logged.next_promised_on == date(2026, 4, 30)
    assert record.records_promised_on == date(2026, 4, 30)
    # Every item settled, one withheld: partly fulfilled, which stays open for a demand.
    assert record.status is RequestStatus.PARTIALLY_FULFILLED
    assert record.determination_on == date(2026, 3, 20)
    [citation] = db.session.scalars(select(ExemptionCitation)).all()
    assert (citation.code, citation.law) == ("7923.600", "ca-cpra")
    assert not citation.not_an_exemption
    assert citation.answer.item_id == second.id
    # The file came for item 1, the one released.
    [document] = logged.documents
    assert first.documents == [document] and second.documents == [] and third.documents == []

    shown = html.unescape(client.get(f"/requests/{record.reference}").get_data(as_text=True))
    assert "One installment of a rolling production; the next is promised by 2026-04-30." in shown
    assert "Item 1: released in full. Item 2: withheld under Gov. Code § 7923.600. " \
        "Item 3: no records." in shown  # fmt: skip
    # The document's own page says which item it answers, linked to it on the request.
    own = html.unescape(client.get(f"/documents/{document.id}").get_data(as_text=True))
    answers = own[own.index('aria-label="Items this document answers"') :]
    answers = answers[: answers.index("</ul>")]
    assert f'href="/requests/{record.reference}#item-{first.id}">Item 1</a>' in answers
    assert "Released in full" in answers and "Item 2" not in answers


def test_a_response_that_answers_some_items_leaves_the_others_as_they_were(client, commission):
    record, (first, second, third) = commission
    page = response_page(client, record)
    response = post_response(client, record, {item_field(page, first, "outcome"): "released"})
    assert response.status_code == 302
    db.session.expire_all()
    assert [item.state for item in (first, second, third)] == [
        ItemState.RELEASED, ItemState.PENDING, ItemState.PENDING
    ]  # fmt: skip
    assert record.status is RequestStatus.PARTIALLY_FULFILLED
    assert db.session.scalar(select(db.func.count(ItemAnswer.id))) == 1


def test_a_full_release_that_leaves_an_item_unanswered_does_not_close_the_request(
    client, commission
):
    record, (first, second, third) = commission
    page = response_page(client, record)
    response = post_response(client, record, {
        "kind": "denial", item_field(page, first, "outcome"): "withheld",
        item_field(page, first, "exemptions"): exemption_value(page, first, "Gov. Code § 7927.700"),
    })  # fmt: skip
    assert response.status_code == 302
    db.session.expire_all()
    assert record.status is RequestStatus.RECORDS_DUE
    assert record.closed_on is None


def test_every_item_released_in_full_fulfils_and_closes_the_request(client, commission):
    record, items = commission
    page = response_page(client, record)
    data = {item_field(page, item, "outcome"): "released" for item in items}
    assert post_response(client, record, data).status_code == 302
    db.session.expire_all()
    assert record.status is RequestStatus.FULFILLED
    assert record.closed_on == date(2026, 3, 20)


def test_a_reason_that_is_no_exemption_is_recorded_as_such_and_flagged(client, commission):
    record, (first, second, third) = commission
    page = response_page(client, record)
    response = post_response(client, record, {
        item_field(page, third, "outcome"): "withheld",
        item_field(page, third, "reason"): "The request is overly broad.",
    })  # fmt: skip
    assert response.status_code == 302
    [citation] = db.session.scalars(select(ExemptionCitation)).all()
    assert citation.not_an_exemption and citation.code == ""
    assert citation.reason == "The request is overly broad."
    shown = html.unescape(client.get(f"/requests/{record.reference}").get_data(as_text=True))
    flag = (
        "No exemption: the CPRA requires the agency to help narrow the request instead "
        "(Gov. Code § 7922.600)."
    )
    # Flagged where the person who logged it is looking, and kept on the timeline.
    assert f"Item 3: “The request is overly broad.” {flag}" in shown
    assert shown.count(flag) == 2


def test_a_reason_in_the_agencys_words_that_cites_a_section_is_recorded_under_it(
    client, commission
):
    record, (first, second, third) = commission
    page = response_page(client, record)
    response = post_response(client, record, {
        item_field(page, second, "outcome"): "partial",
        item_field(page, second, "reason"): "Redacted per Government Code section 6254(f).",
    })  # fmt: skip
    assert response.status_code == 302
    [citation] = db.session.scalars(select(ExemptionCitation)).all()
    assert (citation.code, citation.not_an_exemption) == ("7923.600", False)
    assert citation.reason == "Redacted per Government Code section 6254(f)."


# Bad input --------------------------------------------------------------------------


def test_an_exemption_for_an_item_marked_released_is_refused_at_that_item(client, commission):
    record, (first, second, third) = commission
    page = response_page(client, record)
    response = post_response(client, record, {
        "summary": "Reports and a withholding.",
        item_field(page, first, "outcome"): "released",
        item_field(page, first, "exemptions"): exemption_value(page, first, "Gov. Code § 7923.600"),
        item_field(page, second, "outcome"): "withheld",
        item_field(page, second, "reason"): "Investigation ongoing",
    })  # fmt: skip
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    error = re.search(rf'<p class="error" id="item_{first.id}_exemptions-error">([^<]*)</p>', shown)
    assert error and error.group(1).startswith(
        "Item 1 is marked released in full: an exemption is cited only for an item withheld or "
        "released in part."
    )
    # Nothing lost: every answer and the summary are as typed.
    assert re.search(r'<option selected value="released">|<option value="released" selected', shown)
    assert 'value="Investigation ongoing"' in shown
    assert "Reports and a withholding." in shown
    assert re.search(
        rf'name="item_{first.id}_exemptions"[^>]*checked|checked[^>]*name="item_{first.id}_exemptions"',
        shown,
    )  # noqa: E501
    assert db.session.scalar(select(db.func.count(AgencyResponse.id))) == 0
    assert db.session.scalar(select(db.func.count(ItemAnswer.id))) == 0


def test_a_reason_for_an_item_not_answered_is_refused_at_its_reason(client, commission):
    record, (first, second, third) = commission
    page = response_page(client, record)
    response = post_response(client, record, {item_field(page, third, "reason"): "Too broad"})
    assert response.status_code == 200
    assert (
        f'id="item_{third.id}_reason-error">Item 3 is marked not answered: the agency\'s reason'
        in html.unescape(response.get_data(as_text=True))
    )
    assert db.session.scalar(select(db.func.count(AgencyResponse.id))) == 0


def test_a_next_installment_date_needs_the_installment_box_and_a_date_after_the_response(
    client, commission
):
    record, _ = commission
    response = post_response(client, record, {"next_promised_on": "2026-03-01"})
    assert response.status_code == 200
    shown = html.unescape(response.get_data(as_text=True))
    error = re.search(r'id="next_promised_on-error">([^<]*)</p>', shown).group(1)
    assert "tick “one installment” above" in error
    assert "cannot be promised before this response was received" in error
    assert 'value="2026-03-01"' in shown
    assert db.session.scalar(select(db.func.count(AgencyResponse.id))) == 0


def test_an_exemption_of_another_law_is_refused(client, commission):
    record, (first, _, _) = commission
    page = response_page(client, record)
    response = post_response(client, record, {
        item_field(page, first, "outcome"): "withheld",
        item_field(page, first, "exemptions"): "b7A",
    })  # fmt: skip
    assert response.status_code == 200
    assert f'id="item_{first.id}_exemptions-error">' in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(AgencyResponse.id))) == 0


def test_a_response_that_names_no_item_moves_the_request_as_before(client, advocate, make_request):
    record = make_request(created_by=advocate, status=RequestStatus.SENT,
                          received_on=date(2026, 3, 2))  # fmt: skip
    # A typed request's one item is offered, and may be left unanswered.
    assert "What it says of each item" in response_page(client, record)
    assert post_response(client, record, {"kind": "full_release"}).status_code == 302
    db.session.expire_all()
    assert record.status is RequestStatus.FULFILLED


# Saying which items a response answers, after it was logged -------------------------


def released_notice(number="26-1234"):
    from tests.test_mail_portals import PORTAL, notice

    return notice(
        f"[Records Request {number}] [Document Released]",
        f"A document has been released for record request #{number}:\n- reports.pdf\n\n"
        f"View Request {number}: {PORTAL}/requests/{number}\n",
        attachments=(("reports.pdf", blank_pdf("Commission reports")),),
    )


def test_confirming_a_release_from_mail_asks_next_which_items_it_answers(client, commission):
    from tracker.mail.inbox import file_message

    record, (first, second, third) = commission
    record.agency_tracking_number = "26-1234"
    record.agency.portal_url = "https://lacity.nextrequest.com/"
    db.session.commit()
    entry = file_message(released_notice(), source="imap", actor=None, request=record)
    entry = entry.correspondence
    db.session.commit()
    assert entry.suggested_kind == "partial_release"
    path = f"/requests/{record.reference}"
    token = csrf_token(client, path)
    confirmed = client.post(f"{path}/mail/{entry.id}/confirm", data={"csrf_token": token})
    logged = db.session.scalars(select(AgencyResponse)).one()
    items_page = f"{path}/responses/{logged.id}/items"
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == items_page
    # Logged at once, answering no item yet: the items stay as they were.
    db.session.expire_all()
    assert [item.state for item in (first, second, third)] == [ItemState.PENDING] * 3

    page = html.unescape(client.get(items_page).get_data(as_text=True))
    assert "Now say which items it answers, or leave them as they are." in page
    assert "Its files (reports.pdf) are linked to the items you mark released" in page
    token = csrf_token(client, items_page)
    saved = client.post(items_page, data={
        "csrf_token": token, item_field(page, first, "outcome"): "released",
        item_field(page, second, "outcome"): "withheld",
        item_field(page, second, "reason"): "Overly broad and unduly burdensome.",
    })  # fmt: skip
    assert saved.status_code == 302 and saved.headers["Location"] == path
    db.session.expire_all()
    assert [item.state for item in (first, second, third)] == [
        ItemState.RELEASED, ItemState.WITHHELD, ItemState.PENDING
    ]  # fmt: skip
    assert [d.original_filename for d in first.documents] == ["reports.pdf"]
    assert second.documents == []
    assert record.status is RequestStatus.PARTIALLY_FULFILLED
    [citation] = db.session.scalars(select(ExemptionCitation)).all()
    assert citation.not_an_exemption and citation.answer.response_id == logged.id
    shown = html.unescape(client.get(path).get_data(as_text=True))
    assert "Said which items the partial release received 2026-12-01 answers. " \
        "Item 1: released in full. Item 2: withheld" in shown  # fmt: skip
    assert "No exemption: the CPRA requires the agency to help narrow the request instead" in shown
    # Items it answered are not asked again.
    again = html.unescape(client.get(items_page).get_data(as_text=True))
    assert f'name="item_{first.id}_outcome"' not in again
    assert f'name="item_{third.id}_outcome"' in again


def test_the_items_page_refuses_an_exemption_for_an_item_not_withheld(client, commission):
    record, (first, _, _) = commission
    response = AgencyResponse(
        request_id=record.id, kind="partial_release", received_on=date(2026, 3, 20),
        channel="email",
    )  # fmt: skip
    db.session.add(response)
    db.session.commit()
    path = f"/requests/{record.reference}/responses/{response.id}/items"
    page = response_page(client, record)
    token = csrf_token(client, path)
    refused = client.post(path, data={
        "csrf_token": token, item_field(page, first, "outcome"): "no_records",
        item_field(page, first, "exemptions"): exemption_value(page, first, "Gov. Code § 7923.600"),
    })  # fmt: skip
    assert refused.status_code == 200
    shown = html.unescape(refused.get_data(as_text=True))
    assert "Item 1 is marked no records: an exemption is cited only" in shown
    assert db.session.scalar(select(db.func.count(ItemAnswer.id))) == 0


def test_a_response_of_another_request_is_not_found_on_this_ones_items_page(
    client, commission, advocate, make_request
):
    record, _ = commission
    other = make_request(created_by=advocate)
    response = AgencyResponse(
        request_id=other.id, kind="partial_release", received_on=date(2026, 3, 20),
        channel="email",
    )  # fmt: skip
    db.session.add(response)
    db.session.commit()
    assert client.get(f"/requests/{record.reference}/responses/{response.id}/items").status_code \
        == 404  # fmt: skip


def test_an_answer_that_is_none_of_the_choices_is_refused_at_its_item(client, commission):
    """Found by the fuzz: an unknown answer with no exemption was a server error."""
    record, (first, _, _) = commission
    page = response_page(client, record)
    response = post_response(client, record, {item_field(page, first, "outcome"): "0.0"})
    assert response.status_code == 200
    assert f'id="item_{first.id}_outcome-error">Not a valid choice' in response.get_data(
        as_text=True
    )
    assert db.session.scalar(select(db.func.count(AgencyResponse.id))) == 0

"""Drafting a letter: the form, the preview, one request per agency, finalize, send, print."""

import re
from datetime import date

from markupsafe import escape
from sqlalchemy import select

from tests.conftest import post_form
from tests.letters_support import (
    form_values,
    pdf_page_texts,
    pdf_pages,
    pdf_text,
    simple_letter,
    squash,
)
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.letters.models import Channel, Letter, LetterState, RequesterProfile
from tracker.letters.services import library
from tracker.requests.models import Organization, RecordsRequest, RequestEvent, RequestStatus


def draft_data(agency_ids, **overrides):
    return {
        "title": "Detainer records",
        "agencies": [str(i) for i in agency_ids],
        "organization": "",
        "f_topic": "ICE detainers",
        "f_date_from": "2024-01-01",
        "f_details": "First paragraph.\r\n\r\nSecond paragraph.",
        "f_fee_cap": "25",
        "requester_name": "Ana Ruiz",
        "signature": "Ana Ruiz, Policy Director",
        "requester_address": "100 Main Street\r\nLos Angeles, CA 90012",
        "requester_email": "ana@example.org",
        "requester_phone": "(213) 555-0100",
        **overrides,
    }


def test_one_draft_to_two_agencies_makes_two_linked_requests(
    app, client, auth, make_user, make_agency
):
    simple_letter(app)
    lapd = make_agency(name="Los Angeles Police Department", short_name="LAPD",
                       mailing_address="100 W. 1st St.\nLos Angeles, CA 90012")  # fmt: skip
    board = make_agency(name="Board of Police Commissioners", short_name="BOPC")
    advocate = make_user(Role.ADVOCATE)
    auth.login(advocate)
    data = draft_data([lapd.id, board.id], save="Save draft")
    response = post_form(client, "/letters/test-simple/draft", data)
    assert response.status_code == 302, response.get_data(as_text=True)

    requests = db.session.scalars(select(RecordsRequest).order_by(RecordsRequest.id)).all()
    assert [r.agency_id for r in requests] == [lapd.id, board.id]
    assert len({r.reference for r in requests}) == 2
    assert requests[0].group_id is not None and requests[0].group_id == requests[1].group_id
    assert requests[0].records_sought == "Records about ICE detainers from January 1, 2024."
    for record in requests:
        letter = record.initial_letter
        assert letter.state == LetterState.DRAFT
        assert letter.template_slug == "test-simple" and letter.template_version == 1
        assert letter.field_values["fee_cap"] == "25.00"
        assert letter.created_by_id == advocate.id

    page = client.get(f"/requests/{requests[0].reference}").get_data(as_text=True)
    assert requests[1].reference in page
    assert "Print all 2 letters as one PDF" in page


def test_preview_shows_the_letter_and_saves_nothing(app, client, auth, make_user, make_agency):
    simple_letter(app)
    agency = make_agency(name="Los Angeles Police Department", mailing_address="100 W. 1st St.")
    auth.login(make_user(Role.ADVOCATE))
    response = post_form(
        client, "/letters/test-simple/draft", draft_data([agency.id], preview="Preview")
    )
    page = response.get_data(as_text=True)
    assert 'class="letter-sheet"' in page
    assert "Re: Records about ICE detainers" in page
    assert "<p>First paragraph.</p><p>Second paragraph.</p>" in page
    assert "$25.00" in page
    assert "100 W. 1st St." in page
    assert db.session.scalar(select(db.func.count(RecordsRequest.id))) == 0


def test_missing_fields_are_shown_beside_each_and_the_input_kept(
    app, client, auth, make_user, make_agency
):
    simple_letter(app)
    agency = make_agency()
    auth.login(make_user(Role.ADVOCATE))
    response = post_form(
        client,
        "/letters/test-simple/draft",
        draft_data([], f_topic="", f_date_from="not a date", save="Save draft"),
    )
    page = response.get_data(as_text=True)
    assert 'id="f_topic-error"' in page
    assert 'id="f_date_from-error"' in page
    assert 'id="agencies-error"' in page
    assert "First paragraph." in page
    assert 'value="Ana Ruiz, Policy Director"' in page
    assert db.session.scalar(select(db.func.count(RecordsRequest.id))) == 0
    assert agency.id


def test_the_requester_is_remembered_per_person_and_organization(
    app, client, auth, make_user, make_agency
):
    simple_letter(app)
    agency = make_agency()
    organization = Organization(name="Coalition", mailing_address="1 Coalition Way")
    db.session.add(organization)
    db.session.commit()
    user = make_user(Role.ADVOCATE)
    auth.login(user)
    post_form(
        client,
        "/letters/test-simple/draft",
        draft_data([agency.id], organization=str(organization.id), signature="Ana, Director",
                   save="Save draft"),
    )  # fmt: skip
    profile = db.session.scalars(select(RequesterProfile)).one()
    assert (profile.organization_key, profile.signature) == (organization.id, "Ana, Director")
    page = client.get(f"/letters/test-simple/draft?organization={organization.id}")
    assert 'value="Ana, Director"' in page.get_data(as_text=True)


def test_finalize_freezes_the_letter_and_marking_it_sent_updates_the_request(
    app, client, auth, make_user, make_agency
):
    path = simple_letter(app)
    agency = make_agency(name="Los Angeles Police Department", mailing_address="100 W. 1st St.")
    user = make_user(Role.ADVOCATE)
    auth.login(user)
    post_form(client, "/letters/test-simple/draft", draft_data([agency.id], save="Save draft"))
    record = db.session.scalars(select(RecordsRequest)).one()
    letter = record.initial_letter
    base = f"/requests/{record.reference}/letters/{letter.id}"

    response = post_form(client, f"{base}/finalize", {}, token_from=base)
    assert response.status_code == 302
    db.session.refresh(letter)
    assert letter.state == LetterState.FINAL
    assert letter.letter_date is not None
    assert "Records about ICE detainers" in letter.document_html
    before = pdf_text(client.get(f"{base}/letter.pdf").data)

    # The template changes, even its version; the finalized letter does not.
    simple_letter(app, version=2, wording="NEW WORDING")
    after = pdf_text(client.get(f"{base}/letter.pdf").data)
    assert after == before
    assert "NEW WORDING" not in after
    path.unlink()
    assert client.get(f"{base}/letter.pdf").status_code == 200

    assert client.get(f"{base}/edit").status_code == 302
    response = post_form(
        client, f"{base}/sent", {"sent_on": "2026-11-17", "channel": "email"}, token_from=base
    )
    assert response.status_code == 302
    db.session.refresh(record)
    db.session.refresh(letter)
    assert letter.state == LetterState.SENT and letter.sent_via.value == "email"
    assert record.status == RequestStatus.SENT
    assert record.sent_on == date(2026, 11, 17)
    notes = [e.note for e in db.session.scalars(select(RequestEvent).order_by(RequestEvent.id))]
    assert any("Finalized the letter" in n for n in notes)
    assert any("Sent the letter by email on 2026-11-17" in n for n in notes)


def test_a_draft_follows_its_edits_until_finalized(app, client, auth, make_user, make_agency):
    simple_letter(app)
    agency = make_agency()
    user = make_user(Role.ADVOCATE)
    auth.login(user)
    post_form(client, "/letters/test-simple/draft", draft_data([agency.id], save="Save draft"))
    record = db.session.scalars(select(RecordsRequest)).one()
    letter = record.initial_letter
    edit = f"/requests/{record.reference}/letters/{letter.id}/edit"
    data = draft_data([], f_topic="U-visa certifications", save="Save draft")
    data.pop("agencies"), data.pop("title"), data.pop("organization")
    assert post_form(client, edit, data).status_code == 302
    db.session.refresh(record)
    assert record.records_sought.startswith("Records about U-visa certifications")
    text = squash(
        pdf_text(client.get(f"/requests/{record.reference}/letters/{letter.id}/letter.pdf").data)
    )
    assert "U-visa certifications" in text


def test_a_combined_pdf_has_the_pages_of_all_its_letters(app, client, auth, make_user, make_agency):
    simple_letter(app)
    agencies = [make_agency() for _ in range(3)]
    auth.login(make_user(Role.ADVOCATE))
    long_details = "\r\n\r\n".join(f"Paragraph {n} " + "of detail " * 60 for n in range(12))
    post_form(
        client,
        "/letters/test-simple/draft",
        draft_data([a.id for a in agencies], f_details=long_details, save="Save draft"),
    )
    records = db.session.scalars(select(RecordsRequest).order_by(RecordsRequest.id)).all()
    singles = [
        pdf_pages(
            client.get(f"/requests/{r.reference}/letters/{r.initial_letter.id}/letter.pdf").data
        )
        for r in records
    ]
    assert all(n >= 2 for n in singles)
    response = client.get("/letters/print?" + "&".join(f"ref={r.reference}" for r in records))
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    combined = response.data
    assert pdf_pages(combined) == sum(singles)
    text = pdf_text(combined)
    for record in records:
        assert f"Reference {record.reference} · Page 1 of {singles[0]}" in text
    group = client.get(f"/letters/print?group={records[0].group_id}").data
    assert pdf_pages(group) == sum(singles)


def test_printing_nothing_explains_why(client, auth, make_user, make_request):
    record = make_request()
    auth.login(make_user(Role.VIEWER))
    response = client.get(f"/letters/print?ref={record.reference}", follow_redirects=True)
    assert "None of the chosen requests has a letter" in response.get_data(as_text=True)


def test_a_follow_up_letter_starts_from_the_request(app, client, auth, make_user, make_request):
    follow_up = """+++
slug = "test-follow-up"
version = 1
title = "Test follow-up"
summary = "Follow up."
kind = "follow_up"
laws = ["ca-cpra"]
subject = "Follow-up on {{ request.reference }}"

[[fields]]
name = "original_date"
label = "Original date"
type = "date"
required = true
example = "2026-11-02"
prefill = "request.sent_on"
+++
<p>We wrote on {{ original_date|date }} about {{ request.title }}.</p>
"""
    from tests.letters_support import write_letter

    write_letter(app, follow_up, "test-follow-up")
    advocate = make_user(Role.ADVOCATE)
    record = make_request(
        created_by=advocate, sent_on=date(2026, 11, 2), records_sought="Detainer records."
    )
    auth.login(advocate)
    chooser = client.get(f"/requests/{record.reference}/letters/new").get_data(as_text=True)
    assert "Test follow-up" in chooser
    form = client.get(f"/requests/{record.reference}/letters/new?template=test-follow-up")
    assert 'value="2026-11-02"' in form.get_data(as_text=True)
    response = post_form(
        client,
        f"/requests/{record.reference}/letters/new?template=test-follow-up",
        {
            "f_original_date": "2026-11-02",
            "requester_name": "Ana",
            "requester_email": "ana@example.org",
            "save": "Save draft",
        },
    )
    assert response.status_code == 302
    letter = db.session.scalars(select(Letter)).one()
    assert letter.kind == "follow_up"
    pdf = client.get(f"/requests/{record.reference}/letters/{letter.id}/letter.pdf")
    assert f"Follow-up on {record.reference}" in squash(pdf_text(pdf.data))
    assert "We wrote on November 2, 2026" in squash(pdf_text(pdf.data))


# Dates a letter cannot mean: a range that ends before it starts, records from the future.

COMMISSION = "/letters/cpra-police-commission-ice-collaboration/draft"


def commission_data(agency_id, **overrides):
    return {
        "title": "Commission reports",
        "agencies": [str(agency_id)],
        "organization": "",
        "f_date_from": "2024-01-01",
        "f_date_to": "2025-12-31",
        "f_fee_cap": "50",
        "f_additional_details": "The MacArthur Park operation.",
        "requester_name": "Ana Ruiz",
        "requester_email": "ana@example.org",
        "save": "Save draft",
        **overrides,
    }


def html_text(text):
    return str(escape(text))


def field_error(page, name):
    """The message shown under a field, and whether the input points to it."""
    match = re.search(rf'<p class="error" id="{name}-error">([^<]*)</p>', page)
    tag = re.search(rf'<input[^>]*id="{name}"[^>]*>', page)
    assert tag, f"no input {name}"
    linked = f"{name}-error" in (re.search(r'aria-describedby="([^"]*)"', tag.group(0)) or [""])[0]
    return (match.group(1) if match else None), linked


def test_a_date_range_that_ends_before_it_starts_is_refused_at_its_end(
    app, client, auth, make_user, make_agency
):
    agency = make_agency(name="Board of Police Commissioners", slug="la-police-commission")
    auth.login(make_user(Role.ADVOCATE))
    for button in ("preview", "save"):
        data = commission_data(agency.id, f_date_from="2026-06-01", f_date_to="2025-01-01")
        data.pop("save")
        page = post_form(client, COMMISSION, {**data, button: "x"}).get_data(as_text=True)
        message, linked = field_error(page, "f_date_to")
        assert message == html_text("This date cannot be before “Records from” (June 1, 2026).")
        assert linked
        assert field_error(page, "f_date_from")[0] is None
        # Everything typed is still there; nothing is shown or saved as a letter.
        assert 'value="2026-06-01"' in page and 'value="2025-01-01"' in page
        assert "The MacArthur Park operation." in page
        assert 'value="Ana Ruiz"' in page
        assert 'class="letter-sheet"' not in page
    assert db.session.scalar(select(db.func.count(RecordsRequest.id))) == 0


def test_records_up_to_a_day_after_today_are_refused_and_today_itself_is_fine(
    app, client, auth, make_user, make_agency
):
    app.config["TODAY"] = date(2026, 6, 15)  # what TRACKER_TODAY sets
    agency = make_agency(slug="la-police-commission")
    auth.login(make_user(Role.ADVOCATE))
    page = post_form(
        client, COMMISSION, commission_data(agency.id, f_date_to="2029-12-31")
    ).get_data(as_text=True)
    message, linked = field_error(page, "f_date_to")
    assert message == "This date cannot be after today (June 15, 2026)." and linked
    assert 'value="2029-12-31"' in page
    page = post_form(
        client, COMMISSION, commission_data(agency.id, f_date_from="2026-06-16",
                                            f_date_to="2026-06-16")
    ).get_data(as_text=True)  # fmt: skip
    assert field_error(page, "f_date_from")[0] == "This date cannot be after today (June 15, 2026)."
    assert db.session.scalar(select(db.func.count(RecordsRequest.id))) == 0

    response = post_form(client, COMMISSION, commission_data(agency.id, f_date_to="2026-06-15"))
    assert response.status_code == 302
    record = db.session.scalars(select(RecordsRequest)).one()
    assert "through June 15, 2026" in record.records_sought


def test_a_follow_up_refuses_a_request_date_still_to_come_and_asks_for_no_deadline(
    app, client, auth, make_user, make_request
):
    app.config["TODAY"] = date(2026, 11, 20)
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, sent_on=date(2026, 11, 2),
                          received_on=date(2026, 11, 2))  # fmt: skip
    auth.login(advocate)
    path = f"/requests/{record.reference}/letters/new?template=cpra-follow-up-overdue"
    form = client.get(path).get_data(as_text=True)
    # The deadline is the engine's, from the request: the form has no field for it.
    assert 'name="f_missed_deadline"' not in form and "Deadline that was missed" not in form
    data = {
        "f_original_date": "2026-12-12",
        "f_received_so_far": "Nothing.",
        "f_response_days": "5",
        "requester_name": "Ana",
        "requester_email": "ana@example.org",
        "save": "Save draft",
    }
    page = post_form(client, path, data).get_data(as_text=True)
    assert field_error(page, "f_original_date")[0] == (
        "This date cannot be after today (November 20, 2026)."
    )
    assert 'value="2026-12-12"' in page and "Nothing." in page
    assert db.session.scalars(select(Letter)).all() == []
    assert post_form(client, path, {**data, "f_original_date": "2026-11-02"}).status_code == 302


def a_final_letter(client, make_agency):
    post_form(client, "/letters/test-simple/draft", draft_data([make_agency().id],
                                                               save="Save draft"))  # fmt: skip
    record = db.session.scalars(select(RecordsRequest)).one()
    base = f"/requests/{record.reference}/letters/{record.initial_letter.id}"
    assert post_form(client, f"{base}/finalize", {}, token_from=base).status_code == 302
    return record, base


def test_marking_sent_on_a_day_after_today_is_refused_at_the_date_and_keeps_it(
    app, client, auth, make_user, make_agency
):
    app.config["TODAY"] = date(2026, 11, 20)
    simple_letter(app)
    auth.login(make_user(Role.ADVOCATE))
    record, base = a_final_letter(client, make_agency)
    assert 'value="2026-11-20"' in client.get(base).get_data(as_text=True)  # today, to start

    response = post_form(
        client, f"{base}/sent", {"sent_on": "2026-12-25", "channel": "mail"}, token_from=base
    )
    page = response.get_data(as_text=True)
    message, linked = field_error(page, "sent_on")
    assert message == "This date cannot be after today (November 20, 2026)." and linked
    # The page is shown again with the date and the channel as typed, not reset to today.
    assert 'value="2026-12-25"' in page
    assert re.search(r'<option[^>]*selected[^>]*value="mail"|<option[^>]*value="mail"[^>]*selected',
                     page)  # fmt: skip
    db.session.refresh(record)
    assert record.initial_letter.state == LetterState.FINAL and record.sent_on is None

    page = post_form(
        client, f"{base}/sent", {"sent_on": "2026-02-30", "channel": "mail"}, token_from=base
    ).get_data(as_text=True)
    assert field_error(page, "sent_on")[0] and 'value="2026-02-30"' in page

    response = post_form(
        client, f"{base}/sent", {"sent_on": "2026-11-20", "channel": "mail"}, token_from=base
    )
    assert response.status_code == 302
    db.session.refresh(record)
    assert record.sent_on == date(2026, 11, 20)


def test_a_sent_date_after_the_agency_received_it_is_refused_at_the_date(
    app, client, auth, make_user, make_agency
):
    app.config["TODAY"] = date(2026, 11, 20)
    simple_letter(app)
    auth.login(make_user(Role.ADVOCATE))
    record, base = a_final_letter(client, make_agency)
    record.received_on = date(2026, 11, 3)
    db.session.commit()

    response = post_form(
        client, f"{base}/sent", {"sent_on": "2026-11-05", "channel": "mail"}, token_from=base
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    message, linked = field_error(page, "sent_on")
    assert message == "The agency cannot receive it before it was sent." and linked
    assert 'value="2026-11-05"' in page
    db.session.refresh(record)
    assert record.initial_letter.state == LetterState.FINAL and record.sent_on is None


def finalize_and_send(client, record, letter, sent_on="2026-11-02", channel="email"):
    base = f"/requests/{record.reference}/letters/{letter.id}"
    assert post_form(client, f"{base}/finalize", {}, token_from=base).status_code == 302
    response = post_form(
        client, f"{base}/sent", {"sent_on": sent_on, "channel": channel}, token_from=base
    )
    assert response.status_code == 302


def download_name(response) -> str:
    return response.headers["Content-Disposition"].split('filename="', 1)[1].rstrip('"')


def test_a_draft_prints_marked_on_every_page_and_the_final_letter_does_not(
    app, client, auth, make_user, make_agency
):
    simple_letter(app)
    agency = make_agency()
    auth.login(make_user(Role.ADVOCATE))
    long_details = "\r\n\r\n".join(f"Paragraph {n} " + "of detail " * 60 for n in range(12))
    post_form(
        client,
        "/letters/test-simple/draft",
        draft_data([agency.id], f_details=long_details, save="Save draft"),
    )
    record = db.session.scalars(select(RecordsRequest)).one()
    letter = record.initial_letter
    url = f"/requests/{record.reference}/letters/{letter.id}/letter.pdf"

    draft = client.get(url)
    assert download_name(draft) == f"{record.reference}-DRAFT.pdf"
    pages = pdf_page_texts(draft.data)
    assert len(pages) >= 2
    for page in pages:
        assert "DRAFT — not final, do not send" in page
        assert "DRAFT\n" in page

    base = f"/requests/{record.reference}/letters/{letter.id}"
    assert post_form(client, f"{base}/finalize", {}, token_from=base).status_code == 302
    db.session.refresh(letter)
    assert 'class="draft"' not in letter.document_html
    final = client.get(url)
    assert download_name(final) == f"{record.reference}.pdf"
    final_pages = pdf_page_texts(final.data)
    assert not any("DRAFT" in page for page in final_pages)
    # The mark is all that differs: the letter itself is the one that was drafted.
    unmarked = [
        "\n".join(line for line in page.splitlines() if "DRAFT" not in line) for page in pages
    ]
    assert unmarked == final_pages


def test_a_combined_pdf_marks_the_pages_of_each_draft_and_only_those(
    app, client, auth, make_user, make_agency
):
    simple_letter(app)
    agencies = [make_agency() for _ in range(3)]
    auth.login(make_user(Role.ADVOCATE))
    long_details = "\r\n\r\n".join(f"Paragraph {n} " + "of detail " * 60 for n in range(12))
    post_form(
        client,
        "/letters/test-simple/draft",
        draft_data([a.id for a in agencies], f_details=long_details, save="Save draft"),
    )
    records = db.session.scalars(select(RecordsRequest).order_by(RecordsRequest.id)).all()
    finalize_and_send(client, records[1], records[1].initial_letter)
    query = "&".join(f"ref={r.reference}" for r in records)

    response = client.get(f"/letters/print?{query}")
    assert download_name(response).endswith("-DRAFT.pdf")
    pages = pdf_page_texts(response.data)
    for page in pages:
        reference = next(r.reference for r in records if f"Reference {r.reference}" in page)
        if reference == records[1].reference:
            assert "DRAFT" not in page
        else:
            assert "DRAFT — not final, do not send" in page
    assert sum(f"Reference {records[1].reference}" in page for page in pages) >= 2

    response = client.get(f"/letters/print?ref={records[1].reference}")
    assert "DRAFT" not in download_name(response)
    assert not any("DRAFT" in page for page in pdf_page_texts(response.data))


def test_the_signature_block_prints_the_name_and_below_it_the_title(
    app, client, auth, make_user, make_agency
):
    simple_letter(app)
    agency = make_agency()
    organization = Organization(name="Coalition for Humane Immigrant Rights")
    db.session.add(organization)
    db.session.commit()
    auth.login(make_user(Role.ADVOCATE))
    data = draft_data(
        [agency.id],
        organization=str(organization.id),
        requester_name="Ada Advocate",
        signature="Ada Advocate, Staff Attorney",
        save="Save draft",
    )
    post_form(client, "/letters/test-simple/draft", data)
    record = db.session.scalars(select(RecordsRequest)).one()
    letter = record.initial_letter
    base = f"/requests/{record.reference}/letters/{letter.id}"
    for _ in ("draft", "final"):
        text = pdf_text(client.get(f"{base}/letter.pdf").data)
        assert "Ada Advocate, Staff Attorney" not in text
        assert (
            "Sincerely,\nAda Advocate\nStaff Attorney\nCoalition for Humane Immigrant Rights\n"
            in text
        )
        post_form(client, f"{base}/finalize", {}, token_from=base)
    db.session.refresh(letter)
    assert not letter.is_draft


def ticked_agencies(page: str) -> set[int]:
    inputs = re.findall(r'<input[^>]*name="agencies"[^>]*>', page)
    return {int(re.search(r'value="(\d+)"', i).group(1)) for i in inputs if " checked" in i}


def test_a_new_draft_starts_with_the_suggested_agencies_ticked_and_keeps_the_choice(
    client, auth, make_user, make_agency
):
    # cpra-police-commission-ice-collaboration suggests the Police Commission and LAPD.
    lapd = make_agency(name="Los Angeles Police Department", slug="lapd")
    commission = make_agency(name="Board of Police Commissioners", slug="la-police-commission")
    oig = make_agency(name="Office of the Inspector General", slug="la-police-commission-oig")
    # Written about the Commission's reports: not offered for the Sheriff.
    sheriff = make_agency(name="Los Angeles County Sheriff's Department", slug="lasd")
    make_agency(name="U.S. Immigration and Customs Enforcement", slug="ice", law="us-foia")
    auth.login(make_user(Role.ADVOCATE))
    url = "/letters/cpra-police-commission-ice-collaboration/draft"

    page = client.get(url).get_data(as_text=True)
    assert ticked_agencies(page) == {lapd.id, commission.id}
    assert f'value="{oig.id}"' in page and f'value="{sheriff.id}"' not in page
    assert ticked_agencies(client.get(f"{url}?agency={oig.id}").get_data(as_text=True)) == {oig.id}

    # What the advocate ticked is what comes back, even nothing at all.
    template_fields = {
        "title": "Commission reports",
        "organization": "",
        "f_date_from": "2024-01-01",
        "f_date_to": "2025-12-31",
        "requester_name": "Ana Ruiz",
        "preview": "Preview",
    }
    page = post_form(client, url, {**template_fields, "agencies": [str(oig.id)]})
    assert ticked_agencies(page.get_data(as_text=True)) == {oig.id}
    page = post_form(client, url, template_fields).get_data(as_text=True)
    assert ticked_agencies(page) == set()
    assert 'id="agencies-error"' in page


ALMA = {
    "requester_name": "Alma Advocate",
    "signature": "Alma Advocate, Staff Attorney",
    "requester_address": "200 Spring Street\r\nLos Angeles, CA 90012",
    "requester_email": "alma@coalition.example",
    "requester_phone": "(213) 555-0199",
}


def test_the_follow_up_is_from_whoever_sent_the_request_whoever_drafts_it(
    app, client, auth, make_user, make_agency
):
    simple_letter(app)
    agency = make_agency(name="Los Angeles Police Department", short_name="LAPD")
    coalition = Organization(name="Coalition for Humane Immigrant Rights")
    db.session.add(coalition)
    db.session.commit()
    auth.login(make_user(Role.ADVOCATE, name="Alma Advocate"))
    data = draft_data([agency.id], organization=str(coalition.id), save="Save draft", **ALMA)
    post_form(client, "/letters/test-simple/draft", data)
    record = db.session.scalars(select(RecordsRequest)).one()

    staff = make_user(Role.STAFF, name="Sam Staff")
    auth.login(staff)
    follow_up = f"/requests/{record.reference}/follow-up"
    # Before the original is final, its draft is what the request goes out as.
    form = form_values(client.get(follow_up, follow_redirects=True).get_data(as_text=True))
    assert form["requester_name"] == "Alma Advocate"
    finalize_and_send(client, record, record.initial_letter, "2026-11-02", "email")

    response = client.get(follow_up)
    assert response.headers["Location"].endswith("template=cpra-follow-up-overdue")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    form = form_values(page)
    assert form["organization"] == "Coalition for Humane Immigrant Rights"
    for name, value in ALMA.items():
        assert form[name] == value.replace("\r\n", "\n"), name
    assert form["f_original_date"] == "2026-11-02"
    assert form["f_sent_via"] == "sent by email"
    assert not any("Sam" in str(value) for value in form.values())

    form["save"] = "Save draft"
    assert post_form(client, response.headers["Location"], form).status_code == 302
    letter = db.session.scalars(select(Letter).where(Letter.kind == "follow_up")).one()
    assert letter.created_by_id == staff.id
    text = pdf_text(client.get(f"/requests/{record.reference}/letters/{letter.id}/letter.pdf").data)
    letterhead = "Coalition for Humane Immigrant Rights 200 Spring Street · Los Angeles, CA 90012"
    assert f"{letterhead} · alma@coalition.example · (213) 555-0199" in squash(text)
    assert "Sincerely,\nAlma Advocate\nStaff Attorney\nCoalition" in text
    assert "dated November 2, 2026, and sent by email (our reference" in squash(text)
    assert "Sam" not in text
    # Signing as the advocate does not make her the staff member's own default.
    assert (
        db.session.scalars(
            select(RequesterProfile).where(RequesterProfile.user_id == staff.id)
        ).all()
        == []
    )

    # The defaults are only defaults: the staff member may sign in their own name.
    edit = f"/requests/{record.reference}/letters/{letter.id}/edit"
    form = form_values(client.get(edit).get_data(as_text=True))
    assert form["organization"] == "Coalition for Humane Immigrant Rights"
    mine = {"organization": "", "requester_name": "Sam Staff", "signature": "Sam Staff, Staff"}
    assert post_form(client, edit, {**form, **mine, "save": "Save draft"}).status_code == 302
    text = pdf_text(client.get(f"/requests/{record.reference}/letters/{letter.id}/letter.pdf").data)
    assert "Sam Staff 200 Spring Street" in squash(text)
    assert "Sincerely,\nSam Staff\nStaff\n" in text and "Coalition" not in text


def test_every_way_of_sending_a_letter_is_one_the_follow_ups_can_quote(app):
    phrases = {channel.sent_phrase for channel in Channel}
    for slug in ("cpra-follow-up-overdue", "foia-follow-up-overdue"):
        assert set(library().get(slug).field("sent_via").choices) == phrases

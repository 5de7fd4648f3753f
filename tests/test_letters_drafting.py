"""Drafting a letter: the form, the preview, one request per agency, finalize, send, print."""

import re
from datetime import date

from markupsafe import escape
from sqlalchemy import select

from tests.conftest import post_form
from tests.letters_support import pdf_pages, pdf_text, simple_letter, squash
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.letters.models import Letter, LetterState, RequesterProfile
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
    record = make_request(created_by=advocate, sent_on=date(2026, 11, 2))
    auth.login(advocate)
    chooser = client.get(f"/requests/{record.reference}/letters/new").get_data(as_text=True)
    assert "Test follow-up" in chooser
    form = client.get(f"/requests/{record.reference}/letters/new?template=test-follow-up")
    assert 'value="2026-11-02"' in form.get_data(as_text=True)
    response = post_form(
        client,
        f"/requests/{record.reference}/letters/new?template=test-follow-up",
        {"f_original_date": "2026-11-02", "requester_name": "Ana", "save": "Save draft"},
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
    agency = make_agency(name="Board of Police Commissioners")
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
    agency = make_agency()
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


def test_a_follow_up_refuses_a_missed_deadline_before_the_request_or_still_to_come(
    app, client, auth, make_user, make_request
):
    app.config["TODAY"] = date(2026, 11, 20)
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, sent_on=date(2026, 11, 2),
                          received_on=date(2026, 11, 2))  # fmt: skip
    auth.login(advocate)
    path = f"/requests/{record.reference}/letters/new?template=cpra-follow-up-overdue"
    data = {
        "f_original_date": "2026-11-02",
        "f_missed_deadline": "2026-10-12",
        "f_received_so_far": "Nothing.",
        "f_response_days": "5",
        "requester_name": "Ana",
        "save": "Save draft",
    }
    page = post_form(client, path, data).get_data(as_text=True)
    assert field_error(page, "f_missed_deadline") == (
        html_text("This date cannot be before “Date of the original request” (November 2, 2026)."),
        True,
    )
    page = post_form(client, path, {**data, "f_missed_deadline": "2026-12-12"}).get_data(
        as_text=True
    )
    assert field_error(page, "f_missed_deadline")[0] == (
        "This date cannot be after today (November 20, 2026)."
    )
    assert 'value="2026-12-12"' in page and "Nothing." in page
    assert db.session.scalars(select(Letter)).all() == []
    assert post_form(client, path, {**data, "f_missed_deadline": "2026-11-16"}).status_code == 302


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

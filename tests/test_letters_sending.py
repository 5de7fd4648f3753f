"""A letter goes to the right office by a way the agency can receive, and stays on file."""

import hashlib
import html
import io
import re
from datetime import date

from sqlalchemy import select
from weasyprint import HTML

from tests.conftest import post_form
from tests.letters_support import pdf_page_texts, pdf_text, squash, write_letter
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, Document, ResponseChannel, ResponseKind
from tracker.documents.services import log_response
from tracker.extensions import db
from tracker.letters.models import Letter, LetterState

SENDER = {
    "requester_name": "Ana Ruiz",
    "requester_email": "ana@example.org",
    "signature": "Ana Ruiz, Policy Director",
}


def form_values(page):
    """What a form shows filled in: its text and date inputs and its selected options."""
    values = dict(re.findall(r'<input[^>]*name="(f_[a-z_]+)"[^>]*value="([^"]*)"', page))
    for name, body in re.findall(r'<select[^>]*name="(f_[a-z_]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option selected value="([^"]*)"', body) or re.search(
            r'<option value="([^"]*)" selected', body
        )
        values[name] = chosen.group(1) if chosen else ""
    for name, text in re.findall(r'<textarea[^>]*name="(f_[a-z_]+)"[^>]*>([^<]*)</textarea>', page):
        values[name] = text.strip()
    return values


def draft(client, record, slug, **values):
    path = f"/requests/{record.reference}/letters/new?template={slug}"
    data = form_values(client.get(path).get_data(as_text=True))
    data.update({f"f_{name}": value for name, value in values.items() if name != "channel"})
    data.update(SENDER, channel=values.get("channel", ""), save="Save draft")
    response = post_form(client, path, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    letter = db.session.scalars(select(Letter).order_by(Letter.id.desc())).first()
    return f"/requests/{record.reference}/letters/{letter.id}", letter


def finalize(client, base):
    return post_form(client, f"{base}/finalize", {}, token_from=base, follow_redirects=True)


def setup(app, auth, make_user, make_request, **agency):
    app.config["TODAY"] = date(2026, 4, 20)
    advocate = make_user(Role.ADVOCATE)
    record = make_request(
        created_by=advocate, sent_on=date(2026, 3, 2), received_on=date(2026, 3, 2),
        records_sought="Reports to the Police Commission on ICE requests.", **agency,
    )  # fmt: skip
    auth.login(advocate)
    return record


def test_a_letter_to_an_agency_without_an_address_cannot_be_finalized_until_it_has_one(
    app, client, auth, make_user, make_request, make_agency
):
    sheriff = make_agency(name="Los Angeles County Sheriff's Department", mailing_address="")
    record = setup(app, auth, make_user, make_request, agency=sheriff)
    base, letter = draft(client, record, "cpra-follow-up-overdue", response_days="5")
    page = client.get(base).get_data(as_text=True)
    assert "This letter cannot be finalized yet" in page
    assert "has no mailing address on file for its records office" in page
    assert f'href="/agencies/{sheriff.id}"' in page
    assert "Finalize the letter" not in page
    # Pressed anyway (an old tab): refused with the reasons, nothing frozen or kept.
    page = finalize(client, base).get_data(as_text=True)
    assert "The letter was not finalized" in page and "has no mailing address" in page
    db.session.refresh(letter)
    assert letter.state is LetterState.DRAFT and letter.document_html == ""
    assert db.session.scalars(select(Document)).all() == []

    sheriff.mailing_address = "211 West Temple Street\nLos Angeles, CA 90012"
    db.session.commit()
    assert "Finalize the letter" in client.get(base).get_data(as_text=True)
    assert "is final and ready to send" in finalize(client, base).get_data(as_text=True)


def test_the_way_chosen_needs_its_detail_and_the_window_shows_that_way(
    app, client, auth, make_user, make_request, make_agency
):
    agency = make_agency(
        name="Los Angeles World Airports", article="", mailing_address="",
        portal_url="https://www.lawa.org/public-records",
    )  # fmt: skip
    record = setup(app, auth, make_user, make_request, agency=agency)
    base, letter = draft(
        client, record, "cpra-follow-up-overdue", response_days="5", channel="email"
    )
    page = client.get(base).get_data(as_text=True)
    assert (
        "has no email address on file for its records office, so the letter cannot go by email"
        in page
    )
    # The agency's usual way is its portal: the window block says so.
    base, letter = draft(client, record, "cpra-follow-up-overdue", response_days="5")
    assert "Finalize the letter" in client.get(base).get_data(as_text=True)
    finalize(client, base)
    db.session.refresh(letter)
    assert letter.state is LetterState.FINAL and letter.channel.value == "portal"
    text = squash(pdf_text(client.get(f"{base}/letter.pdf").data))
    assert "Via the online portal: https://www.lawa.org/public-records" in text
    sent = client.get(base).get_data(as_text=True)
    assert re.search(r'<option selected value="portal"|<option value="portal" selected', sent)


def test_a_finalized_letter_is_kept_among_the_request_s_documents(
    app, client, auth, make_user, make_request
):
    record = setup(app, auth, make_user, make_request)
    base, letter = draft(client, record, "cpra-follow-up-overdue", response_days="5")
    finalize(client, base)
    db.session.refresh(letter)
    kept = db.session.get(Document, letter.document_id)
    assert kept is not None and kept.media_type == "application/pdf"
    assert kept.title.startswith("Letter: ") and kept.original_filename.endswith(".pdf")
    page = client.get(base).get_data(as_text=True)
    assert f'href="/documents/{kept.id}"' in page
    download = client.get(f"/documents/{kept.id}/download")
    assert download.status_code == 200
    assert hashlib.sha256(download.data).hexdigest() == kept.sha256
    assert record.reference in pdf_text(download.data)
    # Searchable: its text was read when it was kept.
    assert "Public Records Act" in kept.text
    events = [e.note for e in record.events]
    assert any("Added “" in note and ".pdf" in note for note in events)


DENIAL = "<p>Your request is denied. WITHHELD UNDER EXEMPTION B7E.</p>"
APPEAL = {
    "tracking_number": "2026-ICFO-01234",
    "determination_date": "2026-04-01",
    "withheld": "Everything, under (b)(7)(E).",
}


def test_an_appeal_goes_to_the_appeals_office_and_encloses_the_determination(
    app, client, auth, make_user, make_request, make_agency
):
    ice = make_agency(
        name="U.S. Immigration and Customs Enforcement", article="", law="us-foia",
        mailing_address="", portal_url="https://www.ice.gov/foia",
        records_office="Freedom of Information Act Office",
        appeal_office="Office of the Principal Legal Advisor, Government Information Law Division",
        appeal_address="500 12th Street SW, Mail Stop 5900\nWashington, DC 20536-5900",
        appeal_salutation="Dear Appeals Officer:",
    )  # fmt: skip
    record = setup(app, auth, make_user, make_request, agency=ice)
    user = record.created_by
    log_response(
        record,
        AgencyResponse(
            kind=ResponseKind.DENIAL, received_on=date(2026, 4, 1),
            channel=ResponseChannel.EMAIL, summary="Withheld in full under (b)(7)(E).",
        ),
        [("denial-letter.pdf", io.BytesIO(HTML(string=DENIAL).write_pdf()))],
        user,
    )  # fmt: skip
    db.session.commit()
    # The determination's date comes from the response logged.
    appeal = {k: v for k, v in APPEAL.items() if k != "determination_date"}
    base, letter = draft(client, record, "foia-administrative-appeal", **appeal)
    assert "Finalize the letter" in client.get(base).get_data(as_text=True)
    finalize(client, base)
    db.session.refresh(letter)
    assert letter.state is LetterState.FINAL
    pages = pdf_page_texts(client.get(f"{base}/letter.pdf").data)
    first = squash(pages[0])
    assert "Government Information Law Division" in first and "Mail Stop 5900" in first
    assert "Dear Appeals Officer:" in first and "Dear FOIA Officer" not in first
    assert "Freedom of Information Act Office" not in first
    letter_pages = squash(" ".join(pages))
    assert "Enclosed is a copy of the determination." in letter_pages
    assert "We appeal the determination of April 1, 2026" in letter_pages
    assert "Enclosure: denial-letter, 1 page" in letter_pages
    assert "WITHHELD UNDER EXEMPTION B7E" in pages[-1]


def test_an_appeal_is_refused_where_no_appeals_office_is_on_file(
    app, client, auth, make_user, make_request, make_agency
):
    cbp = make_agency(name="U.S. Customs and Border Protection", law="us-foia",
                      portal_url="https://www.cbp.gov/foia")  # fmt: skip
    record = setup(app, auth, make_user, make_request, agency=cbp)
    base, _ = draft(client, record, "foia-administrative-appeal", **APPEAL)
    page = client.get(base).get_data(as_text=True)
    assert "has no appeals office on file: an appeal must go to the office that decides" in page


def test_a_demand_goes_to_counsel_when_the_agency_has_one(
    app, client, auth, make_user, make_request, make_agency
):
    agency = make_agency(
        name="Los Angeles Police Department", article="the",
        counsel_office="Office of the City Attorney",
        counsel_address="200 North Main Street, Room 800\nLos Angeles, CA 90012",
        counsel_salutation="Dear City Attorney:",
    )  # fmt: skip
    record = setup(app, auth, make_user, make_request, agency=agency)
    base, _ = draft(client, record, "cpra-demand-letter", cure_date="2026-05-04")
    finalize(client, base)
    first = squash(pdf_page_texts(client.get(f"{base}/letter.pdf").data)[0])
    assert "Office of the City Attorney" in first and "Dear City Attorney:" in first
    assert "200 North Main Street, Room 800" in first


def test_a_letter_gives_the_agency_a_way_to_reach_the_requester(
    app, client, auth, make_user, make_request
):
    record = setup(app, auth, make_user, make_request)
    path = f"/requests/{record.reference}/letters/new?template=cpra-follow-up-overdue"
    data = form_values(client.get(path).get_data(as_text=True))
    data.update(f_response_days="5", requester_name="Ana Ruiz", save="Save draft")
    page = post_form(client, path, data).get_data(as_text=True)
    assert re.search(
        r'id="requester_email-error">Give at least one way for the agency to reach you', page
    )
    assert 'value="Ana Ruiz"' in page
    assert db.session.scalars(select(Letter)).all() == []


ONLY_FOR = """+++
slug = "test-only-for"
version = 1
title = "Jail access"
summary = "For one agency."
kind = "initial"
laws = ["ca-cpra"]
only_agencies = ["{slug}"]
subject = "Records"
records = "Records of jail access."

[[fields]]
name = "expedite"
label = "Ask for speed"
type = "checkbox"

[[fields]]
name = "why"
label = "Why it is urgent"
type = "textarea"
required_if = "expedite"
+++
<p>Please send {{{{ records }}}}</p>{{% if expedite %}}<p>Urgent: {{{{ why }}}}</p>{{% endif %}}
"""


def test_a_letter_written_for_one_agency_is_offered_only_for_it(
    app, client, auth, make_user, make_agency
):
    sheriff = make_agency(name="Sheriff", slug="lasd")
    other = make_agency(name="Other Department", slug="other")
    write_letter(app, ONLY_FOR.format(slug="lasd"), "test-only-for")
    auth.login(make_user(Role.ADVOCATE))
    page = client.get("/letters/test-only-for/draft").get_data(as_text=True)
    assert f'value="{sheriff.id}"' in page and f'value="{other.id}"' not in page
    data = {"title": "Jail access", "agencies": [str(other.id)], "organization": "", **SENDER,
            "save": "Save draft"}  # fmt: skip
    page = post_form(client, "/letters/test-only-for/draft", data).get_data(as_text=True)
    # Only a tampered form can send it: refused, nothing saved.
    assert "is not a valid choice for this field." in html.unescape(page)
    assert db.session.scalars(select(Letter)).all() == []


def test_a_field_needed_when_a_box_is_ticked_says_so_at_the_field(
    app, client, auth, make_user, make_agency
):
    sheriff = make_agency(name="Sheriff", slug="lasd")
    write_letter(app, ONLY_FOR.format(slug="lasd"), "test-only-for")
    auth.login(make_user(Role.ADVOCATE))
    data = {"title": "Jail access", "agencies": [str(sheriff.id)], "organization": "",
            "f_expedite": "y", **SENDER, "save": "Save draft"}  # fmt: skip
    page = post_form(client, "/letters/test-only-for/draft", data).get_data(as_text=True)
    assert re.search(r'id="f_why-error">Needed when “Ask for speed” is ticked\.', page)
    response = post_form(client, "/letters/test-only-for/draft", {**data, "f_why": "A vote."})
    assert response.status_code == 302


def test_the_command_line_takes_the_records_a_further_letter_quotes(app, runner, tmp_path):
    runner.invoke(args=["seed"])
    output = tmp_path / "follow-up.pdf"
    args = ["letters", "render", "cpra-follow-up-overdue", "--agency", "lapd",
            "--output", str(output)]  # fmt: skip
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert "give it (on the command line, --records)" in result.output
    result = runner.invoke(args=[*args, "--records", "Reports on ICE requests, 2025."])
    assert result.exit_code == 0, result.output
    text = squash(pdf_text(output.read_bytes()))
    assert "Reports on ICE requests, 2025." in text and "it describes" not in text


def test_shipped_agencies_print_with_their_address_and_read_well_in_a_sentence(
    app, runner, tmp_path
):
    runner.invoke(args=["seed"])
    printed = {}
    for slug, agency in [
        ("cpra-truth-act-jail-access", "lasd"),
        ("cpra-task-force-agreements", "lawa"),
        ("cpra-ice-communications", "la-city-clerk"),
    ]:
        output = tmp_path / f"{agency}.pdf"
        result = runner.invoke(
            args=["letters", "render", slug, "--agency", agency, "--output", str(output),
                  "--requester", "Ana Ruiz"]
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        printed[agency] = squash(pdf_page_texts(output.read_bytes())[0])
    # The Sheriff's letters used to show only its name in the window.
    assert "4700 Ramona Boulevard" in printed["lasd"]
    assert "to the Los Angeles County Sheriff's Department" in printed["lasd"]
    assert "request to Los Angeles World Airports" in printed["lawa"]
    assert "the Los Angeles World Airports" not in printed["lawa"]
    assert "to the Office of the City Clerk, City of Los Angeles" in printed["la-city-clerk"]

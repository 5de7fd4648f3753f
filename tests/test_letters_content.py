"""What the shipped letters say, read from the PDF an agency would receive."""

import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.conftest import post_form
from tests.letters_support import pdf_text, squash
from tracker import PROJECT_ROOT
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.items.models import RequestItem
from tracker.letters.library import load_library
from tracker.letters.models import Letter
from tracker.requests.models import RecordsRequest, RequestStatus

SHIPPED = load_library([("shipped", PROJECT_ROOT / "letters")])
INITIAL = sorted(s for s, t in SHIPPED.templates.items() if t.kind == "initial")
LATER = sorted(s for s, t in SHIPPED.templates.items() if t.kind != "initial")
FOIA_REQUESTS = ["foia-cbp-communications-with-la-agencies", "foia-ice-communications-with-lapd"]

MEDIA_GROUND = (
    "widespread and exceptional media interest in which there exist possible questions "
    "about the government's integrity which affect public confidence"
)
CERTIFIED = "true and correct to the best of the requester's knowledge and belief"


def form_fields(page):
    """The values a letter's form starts with, as a browser would send them."""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name, value = re.search(r'name="(f_[a-z_]+)"', tag), re.search(r'value="([^"]*)"', tag)
        if name and value and ('type="checkbox"' not in tag or "checked" in tag):
            fields[name.group(1)] = value.group(1)
    for name, body in re.findall(
        r'<textarea[^>]*name="(f_[a-z_]+)"[^>]*>(.*?)</textarea>', page, re.S
    ):
        fields[name] = body.strip()
    for name, options in re.findall(
        r'<select[^>]*name="(f_[a-z_]+)"[^>]*>(.*?)</select>', page, re.S
    ):
        chosen = re.search(r'<option[^>]*value="([^"]*)"[^>]*selected', options)
        fields[name] = chosen.group(1) if chosen else ""
    return {k: v for k, v in fields.items() if v}


def requester(**contact):
    values = {"requester_name": "Ana Ruiz", "signature": "Ana Ruiz, Policy Director"}
    values.update(contact)
    return values


def with_examples(slug, data):
    """What the form started with, and the template's examples where it was empty."""
    for spec in SHIPPED.get(slug).fields:
        if spec.required and f"f_{spec.name}" not in data:
            data[f"f_{spec.name}"] = str(spec.example)
    return data


def draft_initial(client, slug, agency, contact=None, **values):
    """Fill the letter's own form for one agency, save it, and read the PDF it prints."""
    path = f"/letters/{slug}/draft"
    data = with_examples(slug, form_fields(client.get(path).get_data(as_text=True)))
    data.update({f"f_{name}": value for name, value in values.items()})
    data = {k: v for k, v in data.items() if v is not False}
    data.update(title="Test request", agencies=[str(agency.id)], organization="", save="Save")
    data.update(contact or requester(requester_email="ana@example.org"))
    response = post_form(client, path, data)
    if response.status_code != 302:
        return response.get_data(as_text=True), None
    letter = db.session.scalars(select(Letter).order_by(Letter.id.desc())).first()
    reference = db.session.get(RecordsRequest, letter.request_id).reference
    pdf = client.get(f"/requests/{reference}/letters/{letter.id}/letter.pdf")
    assert pdf.status_code == 200
    return None, squash(pdf_text(pdf.data))


def draft_later(client, record, slug, **values):
    """A further letter drafted from the request's page, with what it prefilled."""
    path = f"/requests/{record.reference}/letters/new?template={slug}"
    data = with_examples(slug, form_fields(client.get(path).get_data(as_text=True)))
    data.update({f"f_{name}": value for name, value in values.items()})
    data.update(requester(requester_email="ana@example.org"), save="Save draft")
    response = post_form(client, path, data)
    assert response.status_code == 302, response.get_data(as_text=True)
    letter = db.session.scalars(select(Letter).order_by(Letter.id.desc())).first()
    pdf = client.get(f"/requests/{record.reference}/letters/{letter.id}/letter.pdf")
    return squash(pdf_text(pdf.data))


def rendered(runner, tmp_path, slug, agency, *settings):
    output = tmp_path / f"{slug}.pdf"
    args = ["letters", "render", slug, "--agency", agency, "--output", str(output)]
    for setting in settings:
        args += ["--set", setting]
    result = runner.invoke(args=[*args, "--requester", "Ana Ruiz"])
    assert result.exit_code == 0, result.output
    return squash(pdf_text(output.read_bytes()))


@pytest.fixture
def advocate(app, auth, make_user):
    app.config["TODAY"] = date(2026, 4, 10)
    user = make_user(Role.ADVOCATE)
    auth.login(user)
    return user


@pytest.fixture
def ice(make_agency):
    return make_agency(
        name="U.S. Immigration and Customs Enforcement", short_name="ICE", law="us-foia",
        slug="ice", mailing_address="500 12th Street SW, Stop 5009\nWashington, DC 20536",
    )  # fmt: skip


@pytest.fixture
def cbp(make_agency):
    return make_agency(
        name="U.S. Customs and Border Protection", short_name="CBP", law="us-foia",
        slug="cbp", mailing_address="90 K Street NE\nWashington, DC 20229",
    )  # fmt: skip


@pytest.fixture
def federal(ice, cbp):
    """The agency each FOIA request letter is written for."""
    return {
        "foia-ice-communications-with-lapd": ice,
        "foia-cbp-communications-with-la-agencies": cbp,
    }


# Expedited processing (6 C.F.R. § 5.5(e)) ------------------------------------


def test_expedited_processing_without_a_statement_is_refused_at_the_statement(
    client, advocate, ice
):
    page, text = draft_initial(
        client, "foia-ice-communications-with-lapd", ice,
        request_expedited="y", expedite_reason="",
    )  # fmt: skip
    assert text is None, "a certification with nothing to certify was saved"
    error = re.search(r'<p class="error" id="f_expedite_reason-error">([^<]*)</p>', page)
    assert error and "Needed when “Ask for expedited processing” is ticked." in error.group(1)


@pytest.mark.parametrize("slug", FOIA_REQUESTS)
def test_expedited_processing_prints_the_certified_statement_and_its_ground(
    client, advocate, federal, slug
):
    statement = "Local television has covered the raids near MacArthur Park every night."
    _, text = draft_initial(
        client, slug, federal[slug], request_expedited="y", expedite_reason=statement,
        expedite_ground="widespread and exceptional media interest",
    )  # fmt: skip
    assert statement in text
    assert MEDIA_GROUND in text and "5.5(e)(1)(iv)" in text
    assert f"The requester certifies that this statement is {CERTIFIED}" in text
    assert "5.5(e)(3)" in text
    # The urgency ground is not claimed when only media interest is chosen.
    assert "urgency to inform the public" not in text


def test_both_grounds_of_expedited_processing_can_be_claimed(client, advocate, ice):
    _, text = draft_initial(
        client, "foia-ice-communications-with-lapd", ice, request_expedited="y",
        expedite_reason="Operations this month.", expedite_ground="both",
        fee_category="representative of the news media",
    )  # fmt: skip
    assert "urgency to inform the public about an actual or alleged federal government" in text
    assert "5.5(e)(1)(ii)" in text and MEDIA_GROUND in text


# Fee category (6 C.F.R. § 5.11) -----------------------------------------------


@pytest.mark.parametrize("slug", FOIA_REQUESTS)
def test_only_a_news_media_requester_says_it_is_primarily_engaged_in_disseminating(
    client, advocate, federal, slug
):
    for category in ("non-commercial requester", "educational institution"):
        _, text = draft_initial(
            client, slug, federal[slug], fee_category=category, request_expedited="y",
            expedite_reason="Operations this month.",
        )  # fmt: skip
        assert "primarily engaged in disseminating information" not in text, category
        assert "news-media fee category" in text  # and says it does not claim it
        assert "information dissemination is its main professional activity" in text
    _, other = draft_initial(client, slug, federal[slug], fee_category="non-commercial requester")
    assert "fee category of all other requesters (6 C.F.R. § 5.11)" in other
    assert "first two hours of search" in other
    _, school = draft_initial(client, slug, federal[slug], fee_category="educational institution")
    assert "educational-institution fee category (6 C.F.R. § 5.11)" in school
    assert "program of scholarly research" in school and "first two hours" not in school
    _, news = draft_initial(
        client, slug, federal[slug], fee_category="representative of the news media",
        request_expedited="y", expedite_reason="Operations this month.",
    )  # fmt: skip
    assert "news-media fee category (6 C.F.R. § 5.11)" in news
    assert "a representative of the news media, is primarily engaged in disseminating" in news


# Letters about an existing request ------------------------------------------


def test_later_letters_take_the_records_from_the_request():
    for slug in LATER:
        template = SHIPPED.get(slug)
        assert template.records == "{{ request.records_sought }}", slug
        assert "records it describes" not in template.body, slug
        assert "<blockquote>{{ records }}</blockquote>" in template.body, slug


@pytest.mark.parametrize(
    ("slug", "law", "extra"),
    [
        ("cpra-follow-up-overdue", "ca-cpra", {}),
        ("cpra-demand-letter", "ca-cpra", {"cure_date": "2026-04-24"}),
        ("foia-follow-up-overdue", "us-foia", {}),
        ("foia-administrative-appeal", "us-foia", {"determination_date": "2026-04-06"}),
    ],
)
def test_a_later_letter_quotes_the_request_and_the_deadline_it_missed(
    client, advocate, make_agency, make_request, slug, law, extra
):
    agency = make_agency(law=law)
    record = make_request(
        created_by=advocate, agency=agency, sent_on=date(2026, 3, 2),
        received_on=date(2026, 3, 2), records_sought="Reports to the Police Commission.",
    )  # fmt: skip
    text = draft_later(client, record, slug, **extra)
    assert "for the following records: Reports to the Police Commission." in text
    if law == "ca-cpra" and slug != "cpra-demand-letter":
        assert "The request was received on March 2, 2026, so the determination was due" in text
        assert "March 12, 2026" in text
    elif slug == "cpra-demand-letter":
        assert "The request was received on March 2, 2026; your determination was due by " \
            "March 12, 2026, and that deadline was missed." in text  # fmt: skip
    elif slug == "foia-follow-up-overdue":
        assert "The request was received on March 2, 2026. The deadline was March 30, 2026" in text


def test_the_foia_follow_up_warns_that_an_answer_before_suit_must_be_appealed(
    client, advocate, ice, make_request
):
    record = make_request(
        created_by=advocate, agency=ice, sent_on=date(2026, 3, 2), received_on=date(2026, 3, 2),
        records_sought="ICE email with LAPD.",
    )  # fmt: skip
    text = draft_later(client, record, "foia-follow-up-overdue")
    assert "must first be appealed administratively" in text
    assert "Oglesby v. U.S. Dep't of the Army, 920 F.2d 57 (D.C. Cir. 1990)" in text


def test_the_foia_follow_ups_example_does_not_contradict_the_deadline():
    example = SHIPPED.get("foia-follow-up-overdue").field("received_so_far").example
    months = "January|February|March|April|May|June|July|August|September|October|November|December"
    assert not re.search(months, example), example


def test_the_appeal_appeals_the_determination_of_its_date(client, advocate, ice, make_request):
    record = make_request(
        created_by=advocate, agency=ice, sent_on=date(2026, 3, 2), records_sought="Email."
    )
    text = draft_later(
        client, record, "foia-administrative-appeal", tracking_number="2026-ICFO-1",
        determination_date="2026-04-06",
    )  # fmt: skip
    # Nothing logged to enclose: the letter says it encloses nothing.
    assert "Enclosed is a copy of the determination." not in text
    assert "We appeal the determination of April 6, 2026 in the following respects:" in text


# Letters that know what is missing ----------------------------------------------

COMMISSION_ITEMS = (
    "Reports to the Police Commission on collaboration with ICE.",
    "Requests from ICE behind those reports.",
    "LAPD's answers to those requests.",
    "Agreements with the ICE task force.",
)


def commission_request(make_request, advocate, agency):
    """The Police Commission request, its items numbered as the letter numbers them."""
    record = make_request(
        created_by=advocate, agency=agency, status=RequestStatus.SENT,
        sent_on=date(2026, 3, 2), received_on=date(2026, 3, 2),
        records_sought=" ".join(COMMISSION_ITEMS),
    )  # fmt: skip
    # In place of the one item a typed request starts with.
    for made in db.session.scalars(select(RequestItem).where(RequestItem.request_id == record.id)):
        db.session.delete(made)
    db.session.flush()
    items = [
        RequestItem(request_id=record.id, position=number, description=text)
        for number, text in enumerate(COMMISSION_ITEMS, start=1)
    ]
    db.session.add_all(items)
    db.session.commit()
    return record, items


def log_answers(client, record, answers, **fields):
    """Log a response through its page: {item: (outcome, exemption codes, reason)}."""
    path = f"/requests/{record.reference}/responses/new"
    page = client.get(path).get_data(as_text=True)
    data = {"kind": "partial_release", "received_on": "2026-03-20", "channel": "email", **fields}
    for item, (outcome, codes, reason) in answers.items():
        assert f'name="item_{item.id}_outcome"' in page
        data[f"item_{item.id}_outcome"] = outcome
        data[f"item_{item.id}_exemptions"] = list(codes)
        data[f"item_{item.id}_reason"] = reason
    response = post_form(client, path, data)
    assert response.status_code == 302, response.get_data(as_text=True)


def test_the_follow_up_names_the_withheld_item_and_its_exemption_and_omits_the_others(
    client, advocate, make_agency, make_request
):
    agency = make_agency(name="Los Angeles Police Commission")
    record, (first, second, third, fourth) = commission_request(make_request, advocate, agency)
    log_answers(client, record, {
        first: ("released", (), ""), second: ("withheld", ("7923.600",), ""),
        third: ("no_records", (), ""), fourth: ("withdrawn", (), ""),
    })  # fmt: skip
    text = draft_later(client, record, "cpra-follow-up-overdue")
    assert "These items of the request are still open:" in text
    assert (
        "Item 2: Requests from ICE behind those reports. (withheld; the exemptions cited: "
        "Gov. Code § 7923.600; due March 12, 2026)." in text
    )
    for omitted in (COMMISSION_ITEMS[0], COMMISSION_ITEMS[2], COMMISSION_ITEMS[3]):
        assert f": {omitted} (" not in text
    # Something came: the letter does not say nothing did.
    assert "received neither a determination nor any records" not in text
    assert "You have answered part of the request, but not all of it." in text


@pytest.mark.parametrize(
    ("slug", "law", "extra"),
    [
        ("cpra-demand-letter", "ca-cpra", {"cure_date": "2026-04-24"}),
        ("foia-follow-up-overdue", "us-foia", {}),
        ("foia-administrative-appeal", "us-foia", {"determination_date": "2026-04-06"}),
    ],
)
def test_the_demand_and_appeal_list_the_open_items_with_what_was_cited(
    client, advocate, make_agency, make_request, slug, law, extra
):
    agency = make_agency(law=law)
    record, (first, second, third, fourth) = commission_request(make_request, advocate, agency)
    withheld = "b7A" if law == "us-foia" else "7923.600"
    citation = "5 U.S.C. § 552(b)(7)(A)" if law == "us-foia" else "Gov. Code § 7923.600"
    log_answers(client, record, {
        first: ("released", (), ""), second: ("partial", (withheld,), ""),
        third: ("withheld", (), "The request is overly broad."),
    })  # fmt: skip
    text = draft_later(client, record, slug, **extra)
    due = "March 30, 2026" if law == "us-foia" else "March 12, 2026"
    assert (
        f"Item 2: Requests from ICE behind those reports. (released in part; the exemptions "
        f"cited: {citation}; due {due})." in text
    )
    assert (
        "Item 3: LAPD's answers to those requests. (withheld; the exemptions cited: “The "
        f"request is overly broad.”, which is no exemption; due {due})." in text
    )
    assert f"Item 4: Agreements with the ICE task force. (pending; due {due})." in text
    assert f": {COMMISSION_ITEMS[0]} (" not in text


def test_a_request_of_one_item_not_yet_answered_quotes_the_request_and_lists_nothing(
    client, advocate, make_agency, make_request
):
    record = make_request(
        created_by=advocate, agency=make_agency(), sent_on=date(2026, 3, 2),
        received_on=date(2026, 3, 2), records_sought="Reports to the Police Commission.",
    )  # fmt: skip
    # A typed request's one item: what it seeks.
    assert [i.description for i in db.session.scalars(
        select(RequestItem).where(RequestItem.request_id == record.id))] == [
        "Reports to the Police Commission."]  # fmt: skip
    text = draft_later(client, record, "cpra-follow-up-overdue")
    assert "for the following records: Reports to the Police Commission." in text
    assert "still open" not in text
    assert "received neither a determination nor any records" in text


def test_a_request_whose_every_item_is_accounted_for_offers_no_follow_up(
    client, advocate, make_agency, make_request
):
    agency = make_agency()
    record, (first, second, third, fourth) = commission_request(make_request, advocate, agency)
    # Overdue, so the page would offer the follow-up.
    record.received_on = record.sent_on = date(2026, 3, 2)
    db.session.commit()
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert f"/requests/{record.reference}/follow-up" in page
    log_answers(client, record, {
        first: ("released", (), ""), second: ("no_records", (), ""),
        third: ("released", (), ""), fourth: ("withdrawn", (), ""),
    }, installment="y", next_promised_on="2026-03-25")  # fmt: skip
    # Still open, and past the date the agency promised more; but nothing is left to ask for.
    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert f"/requests/{record.reference}/follow-up" not in page
    assert "so there is nothing to follow up" in page
    response = client.get(f"/requests/{record.reference}/follow-up")
    assert response.headers["Location"] == f"/requests/{record.reference}#deadline"
    shown = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Every item of this request is accounted for" in shown
    assert "nothing to follow up" in shown
    refused = client.get(
        f"/requests/{record.reference}/letters/new?template=cpra-follow-up-overdue",
        follow_redirects=True,
    )
    assert "nothing to follow up" in refused.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Letter.id))) == 0
    choose = client.get(f"/requests/{record.reference}/letters/new").get_data(as_text=True)
    assert "template=cpra-follow-up-overdue" not in choose
    assert "template=cpra-demand-letter" in choose


# Where to send the answer ----------------------------------------------------


def test_the_answer_goes_to_the_contact_the_requester_gave(client, advocate, make_agency):
    agency = make_agency(name="Los Angeles Police Department", slug="lapd")
    slug = "cpra-police-commission-ice-collaboration"
    address = "100 Main Street\r\nLos Angeles, CA 90012"
    cases = {
        "by email to ana@example.org.": requester(requester_email="ana@example.org"),
        "by mail to 100 Main Street, Los Angeles, CA 90012.": requester(requester_address=address),
        "by email to ana@example.org, or by mail to 100 Main Street, Los Angeles, CA 90012.": (
            requester(requester_email="ana@example.org", requester_address=address)
        ),
    }
    for wanted, contact in cases.items():
        _, text = draft_initial(client, slug, agency, contact=contact)
        assert f"Please send your determination and the records {wanted}" in text
        assert "contact details below" not in text


# What every request asks for -------------------------------------------------


@pytest.mark.parametrize("slug", INITIAL)
def test_every_request_asks_for_preservation_an_index_and_rolling_production(
    runner, tmp_path, make_agency, slug
):
    law = SHIPPED.get(slug).laws[0]
    make_agency(name="Los Angeles County Sheriff's Department", short_name="LASD", law=law)
    text = rendered(runner, tmp_path, slug, "LASD")
    assert "Please preserve every record that may respond to this request" in text
    assert "index of what is withheld" in text and "relied on for each" in text
    assert "rolling basis" in text
    if law == "ca-cpra":
        assert "Please do not redact the names, titles or positions of officers" in text
        assert "National Lawyers Guild v. City of Hayward (2020) 9 Cal.5th 488" in text
    else:
        assert "We do seek the names and titles of the officials" in text
        assert "Klamath Water Users Protective Ass'n, 532 U.S. 1 (2001)" in text


def test_no_letter_puts_its_own_article_before_an_agency_name():
    for slug, template in SHIPPED.templates.items():
        for text in (template.body, template.subject, template.records):
            assert not re.search(r"\b(the|to|of) \{\{ agency\.name \}\}", text), slug


def test_letters_written_for_one_agency_are_offered_only_to_it():
    expected = {
        "cpra-truth-act-jail-access": ("lasd",),
        "cpra-immigration-directives": ("lapd",),
        "foia-ice-communications-with-lapd": ("ice",),
        "foia-cbp-communications-with-la-agencies": ("cbp",),
    }
    for slug, only in expected.items():
        assert SHIPPED.get(slug).only_agencies == only, slug
        assert SHIPPED.get(slug).fits(only[0]) and not SHIPPED.get(slug).fits("la-mayor")


# Letters on particular subjects ------------------------------------------------


def test_the_release_date_letter_keeps_the_7282_5_exceptions_to_release_dates(
    runner, tmp_path, make_agency
):
    make_agency(name="Los Angeles County Sheriff's Department", short_name="LASD")
    text = rendered(runner, tmp_path, "cpra-release-and-court-date-sharing", "LASD")
    assert "in accordance with Gov. Code § 7282.5 (Gov. Code § 7284.6(a)(1)(C))" in text
    addresses = (
        "including a home or work address, unless that information is available to the public "
        "(§ 7284.6(a)(1)(D)); the exceptions of § 7282.5 do not extend to addresses"
    )
    assert addresses in text
    assert "or personal information such as a home or work address, for immigration" not in text


def test_the_directives_letter_asks_for_versions_as_far_back_as_chosen(
    runner, tmp_path, make_agency
):
    make_agency(name="Los Angeles Police Department", short_name="LAPD")
    slug = "cpra-immigration-directives"
    every = rendered(runner, tmp_path, slug, "LAPD", "date_from=2023-01-01")
    assert "every version in effect at any time since Special Order 40 was issued in 1979" in every
    since = rendered(runner, tmp_path, slug, "LAPD", "versions_since=2010-01-01")
    assert "every version in effect at any time since January 1, 2010" in since
    assert "training materials and audits on those subjects issued from January 1, 2023" in since


def test_the_ice_letter_cites_the_truth_act_to_police_and_sheriffs_only(
    runner, tmp_path, make_agency
):
    make_agency(name="Los Angeles County Sheriff's Department", short_name="LASD")
    make_agency(name="Los Angeles Police Department", short_name="LAPD")
    make_agency(name="Office of the Mayor of Los Angeles", short_name="Mayor")
    make_agency(name="Los Angeles World Airports", short_name="LAWA")
    slug = "cpra-ice-communications"
    for agency in ("LASD", "LAPD"):
        text = rendered(runner, tmp_path, slug, agency)
        assert "including all communication with ICE, are public records" in text, agency
        assert "(Gov. Code § 7283.1(c))" in text
    assert "7283.1" not in rendered(runner, tmp_path, slug, "Mayor")
    assert "7283.1(c)" in rendered(runner, tmp_path, slug, "LAWA", "cite_truth_act=true")
    text = rendered(runner, tmp_path, slug, "Mayor")
    assert "“dhs.gov,” “ice.dhs.gov” and “cbp.dhs.gov,”" in text
    assert "as whole words, not as parts of other words" in text
    assert "so that “ICE” does not find “police” or “notice”" in text


def test_the_citations_letter_cites_citation_release_and_sidewalk_vending(
    runner, tmp_path, make_agency
):
    make_agency(name="Los Angeles Police Department", short_name="LAPD")
    text = rendered(runner, tmp_path, "cpra-citations-vs-bookings-minor-offenses", "LAPD")
    assert "(Penal Code § 853.5(a))" in text and "(Penal Code § 853.6)" in text
    assert "punishable only by administrative fines (Gov. Code § 51039(a)(1))" in text


def test_every_new_authority_has_its_source_beside_it():
    for path in Path(PROJECT_ROOT / "letters").glob("*.letter"):
        text = path.read_text("utf-8")
        meta, body = text.split("+++\n")[1:3]
        for authority, mark in (
            ("National Lawyers Guild", "Hayward"),
            ("Klamath", "Klamath"),
            ("Oglesby", "Oglesby"),
            ("§ 51039", "51039"),
            ("§ 853.5", "853.5"),
        ):
            if authority in body.replace("\u00a0", " "):
                assert any(
                    line.startswith("# source:") and mark in line for line in meta.splitlines()
                ), (path.name, authority)

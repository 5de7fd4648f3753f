"""The agency directory: list, search, view, add and edit, with clear errors."""

import pytest
from sqlalchemy import select

from tests.conftest import post_form
from tracker.agencies.models import ROLES, Agency
from tracker.auth.models import Role
from tracker.extensions import db


def agency_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Glendale Police Department",
        "short_name": "GPD",
        "law": "ca-cpra",
        "jurisdiction": "City of Glendale",
        "records_office": "Records Bureau",
        "mailing_address": "131 N. Isabel St.\r\nGlendale, CA 91206",
        "email": "Records@Example.org",
        "portal_url": "https://records.example.org/",
        "phone": "(818) 555-0100",
        "notes": "Asks for a callback number.",
        **overrides,
    }


def test_staff_add_an_agency_and_see_its_envelope_address(client, auth, make_user):
    auth.login(make_user(Role.STAFF))
    response = post_form(client, "/agencies/new", agency_form())
    assert response.status_code == 302
    agency = db.session.scalar(select(Agency).where(Agency.short_name == "GPD"))
    assert agency.mailing_address == "131 N. Isabel St.\nGlendale, CA 91206"
    assert agency.email == "records@example.org"
    assert agency.slug is None
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "131 N. Isabel St.<br>Glendale, CA 91206" in page
    assert "California Public Records Act" in page


def test_errors_are_shown_beside_each_field_and_the_input_is_kept(client, auth, make_user):
    auth.login(make_user(Role.STAFF))
    response = post_form(
        client,
        "/agencies/new",
        agency_form(name="", law="made-up-law", email="not an email", portal_url="ftp://x"),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="name-error"' in page
    assert 'id="law-error"' in page
    assert 'id="email-error"' in page
    assert 'id="portal_url-error"' in page
    assert 'value="GPD"' in page
    assert "Records Bureau" in page
    assert "131 N. Isabel St." in page
    assert db.session.scalar(select(db.func.count(Agency.id))) == 0


def test_a_second_agency_with_the_same_name_is_refused(client, auth, make_user, make_agency):
    make_agency(name="Glendale Police Department")
    auth.login(make_user(Role.ADMIN))
    response = post_form(client, "/agencies/new", agency_form(name="glendale police department"))
    assert "is already in the directory" in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(Agency.id))) == 1


def test_editing_an_agency_saves_and_marks_it_edited_here(client, auth, make_user, make_agency):
    agency = make_agency(slug="shipped-one", name="Shipped Agency")
    auth.login(make_user(Role.STAFF))
    response = post_form(
        client, f"/agencies/{agency.id}/edit", agency_form(name="Shipped Agency", phone="311")
    )
    assert response.status_code == 302
    db.session.refresh(agency)
    assert agency.phone == "311"
    assert agency.locally_modified


def test_the_list_searches_filters_by_law_and_pages(client, auth, make_user, make_agency):
    for number in range(30):
        make_agency(name=f"Sheriff {number:02d}", law="ca-cpra")
    make_agency(name="Immigration and Customs Enforcement", short_name="ICE", law="us-foia")
    auth.login(make_user(Role.VIEWER))

    first = client.get("/agencies").get_data(as_text=True)
    assert "Page 1 of 2 (31 in all)" in first
    second = client.get("/agencies?page=2").get_data(as_text=True)
    assert "Sheriff 29" in second and "Sheriff 00" not in second

    found = client.get("/agencies?q=ice").get_data(as_text=True)
    assert "Immigration and Customs Enforcement" in found
    assert "Sheriff 01" not in found

    federal = client.get("/agencies?law=us-foia").get_data(as_text=True)
    assert "Immigration and Customs Enforcement" in federal
    assert "Sheriff 01" not in federal


def test_search_text_is_taken_literally(client, auth, make_user, make_agency):
    make_agency(name="Percent Agency")
    auth.login(make_user(Role.VIEWER))
    page = client.get("/agencies?q=%25").get_data(as_text=True)
    assert "No agency matches" in page


def test_an_unknown_agency_is_a_404(client, auth, make_user):
    auth.login(make_user(Role.VIEWER))
    assert client.get("/agencies/999999").status_code == 404


def test_an_agency_gives_each_kind_of_letter_its_own_addressee(make_agency):
    agency = make_agency(
        name="Immigration Office",
        records_office="FOIA Office",
        mailing_address="1 Main St\nTown, ST 00001",
        email="foia@example.gov",
        portal_url="https://foia.example.gov/",
        fax="(202) 555-0100",
        salutation="Dear FOIA Officer:",
        appeal_office="Appeals Officer",
        appeal_address="2 Main St\nTown, ST 00001",
        appeal_email="appeals@example.gov",
        appeal_portal_url="https://appeals.example.gov/",
        appeal_salutation="Dear Appeals Officer:",
        counsel_office="General Counsel",
        counsel_email="counsel@example.gov",
    )
    records = agency.contact("records")
    assert (records.office, records.fax, records.salutation) == (
        "FOIA Office",
        "(202) 555-0100",
        "Dear FOIA Officer:",
    )
    appeal = agency.contact("appeal")
    assert appeal.role == "appeal"
    assert (appeal.office, appeal.mailing_address, appeal.email, appeal.portal_url) == (
        "Appeals Officer",
        "2 Main St\nTown, ST 00001",
        "appeals@example.gov",
        "https://appeals.example.gov/",
    )
    assert (appeal.fax, appeal.salutation) == ("", "Dear Appeals Officer:")
    counsel = agency.contact("counsel")
    assert (counsel.office, counsel.email, counsel.portal_url, counsel.salutation) == (
        "General Counsel",
        "counsel@example.gov",
        "",
        "",
    )
    assert not counsel.empty
    assert [agency.contact(role).role for role in ROLES] == ["records", "appeal", "counsel"]
    with pytest.raises(ValueError):
        agency.contact("mayor")


def test_a_contact_with_only_an_office_name_cannot_be_reached(make_agency):
    agency = make_agency(counsel_office="County Counsel", phone="311", mailing_address="")
    assert agency.contact("counsel").empty
    assert agency.contact("records").empty
    assert not make_agency(fax="(213) 555-0100", mailing_address="").contact("records").empty


def test_the_article_goes_before_the_name_in_a_sentence(make_agency):
    assert make_agency(name="Los Angeles Police Department", article="the").in_sentence == (
        "the Los Angeles Police Department"
    )
    assert make_agency(name="Los Angeles World Airports").in_sentence == (
        "Los Angeles World Airports"
    )


def addressees(**overrides: str) -> dict[str, str]:
    values = dict(
        name="Shipped Agency",
        article="the",
        fax="(818) 555-0101",
        salutation="Dear Records Bureau:",
        appeal_office="Appeals Unit",
        appeal_address="1 Appeal Way\r\nGlendale, CA 91206",
        appeal_email="Appeals@Example.org",
        appeal_portal_url="https://appeals.example.org/",
        appeal_salutation="Dear Appeals Officer:",
        counsel_office="City Attorney",
        counsel_address="613 E. Broadway, Room 220\r\nGlendale, CA 91206",
        counsel_email="counsel@example.org",
        counsel_salutation="Dear City Attorney:",
    )
    return agency_form(**{**values, **overrides})


def test_staff_edit_the_appeal_and_counsel_addressees_and_see_them(
    client, auth, make_user, make_agency
):
    agency = make_agency(slug="shipped-one", name="Shipped Agency")
    auth.login(make_user(Role.STAFF))
    form = client.get(f"/agencies/{agency.id}/edit").get_data(as_text=True)
    for field in ("article", "fax", "appeal_office", "appeal_portal_url", "counsel_email"):
        assert f'name="{field}"' in form
    response = post_form(client, f"/agencies/{agency.id}/edit", addressees())
    assert response.status_code == 302
    db.session.refresh(agency)
    assert agency.locally_modified
    assert agency.article == "the"
    assert agency.fax == "(818) 555-0101"
    assert agency.appeal_address == "1 Appeal Way\nGlendale, CA 91206"
    assert agency.appeal_email == "appeals@example.org"
    assert agency.counsel_salutation == "Dear City Attorney:"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Appeals Unit<br>1 Appeal Way<br>Glendale, CA 91206" in page
    assert 'href="https://appeals.example.org/"' in page
    assert "City Attorney<br>613 E. Broadway, Room 220<br>Glendale, CA 91206" in page
    assert 'href="mailto:counsel@example.org"' in page
    assert "“a request to the Shipped Agency”" in page


def test_bad_addressees_are_refused_at_the_field_and_what_was_typed_is_kept(
    client, auth, make_user, make_agency
):
    agency = make_agency(slug="shipped-one", name="Shipped Agency")
    auth.login(make_user(Role.STAFF))
    long_line = "1234 A Street That Goes On And On Past The Edge Of The Window, Suite 9"
    response = post_form(
        client,
        f"/agencies/{agency.id}/edit",
        addressees(
            article="an",
            appeal_email="appeals at example",
            counsel_email="not-an-email",
            appeal_portal_url="javascript:alert(1)",
            appeal_address="Line 1\r\nLine 2\r\nLine 3\r\nLine 4\r\nLine 5",
            counsel_address=f"{long_line}\r\nGlendale, CA 91206",
        ),
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    for field in (
        "article",
        "appeal_email",
        "counsel_email",
        "appeal_portal_url",
        "appeal_address",
        "counsel_address",
    ):
        assert f'id="{field}-error"' in page, field
    assert "Use at most 4 lines; this address has 5." in page
    assert f"Line 1 has {len(long_line)} characters; keep each line to 60." in page
    assert 'value="appeals at example"' in page
    assert 'value="javascript:alert(1)"' in page
    assert long_line in page
    assert "Appeals Unit" in page
    db.session.refresh(agency)
    assert agency.appeal_office == ""
    assert not agency.locally_modified

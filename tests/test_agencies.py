"""The agency directory: list, search, view, add and edit, with clear errors."""

from sqlalchemy import select

from tests.conftest import post_form
from tracker.agencies.models import Agency
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

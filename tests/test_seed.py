"""The shipped agency directory: valid, loaded once, and never over an admin's edit."""

import pytest
from sqlalchemy import select

from tracker.agencies.models import Agency
from tracker.agencies.services import (
    ADDRESS_FIELDS,
    SUB_TABLES,
    address_problem,
    flatten_entry,
    seed_agencies,
    shipped_agencies,
)
from tracker.extensions import db
from tracker.laws import all_laws

REQUIRED = {
    "lapd": "Los Angeles Police Department",
    "la-police-commission": "Board of Police Commissioners",
    "lasd": "Sheriff",
    "la-city-attorney": "City Attorney",
    "la-mayor": "Mayor",
    "ice": "Immigration and Customs Enforcement",
    "cbp": "Customs and Border Protection",
}


def test_the_shipped_directory_has_the_coalitions_agencies():
    entries = {entry["slug"]: entry for entry in shipped_agencies()}
    for slug, fragment in REQUIRED.items():
        assert fragment in entries[slug]["name"]
    assert entries["lapd"]["law"] == "ca-cpra"
    assert entries["ice"]["law"] == "us-foia"


def test_every_shipped_agency_is_valid():
    entries = shipped_agencies()
    slugs = [entry["slug"] for entry in entries]
    names = [entry["name"] for entry in entries]
    assert len(set(slugs)) == len(slugs)
    assert len(set(names)) == len(names)
    for entry in entries:
        assert entry["law"] in all_laws(), entry["slug"]
        filled = [
            entry.get(key)
            for key in ("records_office", "mailing_address", "email", "portal_url", "phone")
        ]
        if any(filled):
            # Contact details are filled only where a public source confirms them.
            assert entry.get("sources"), entry["slug"]
        portal = entry.get("portal_url", "")
        assert not portal or portal.startswith("https://"), portal
        for url in entry.get("sources", []):
            assert url.startswith(("https://", "http://")), url
        # Every entry says how its name reads in a sentence.
        assert entry["article"] in ("the", ""), entry["slug"]
        for table in SUB_TABLES:
            values = entry.get(table, {})
            assert set(values) <= {*SUB_TABLES[table], "sources"}, (entry["slug"], table)
            filled = [value for key, value in values.items() if key != "sources"]
            if any(filled):
                assert values.get("sources") or entry.get("sources"), (entry["slug"], table)
            for url in values.get("sources", []):
                assert url.startswith(("https://", "http://")), url
            portal = values.get("portal_url", "")
            assert not portal or portal.startswith("https://"), portal
            assert "@" in values.get("email", "@"), (entry["slug"], table)
        flat = flatten_entry(entry)
        for field in ADDRESS_FIELDS:
            # Every shipped address prints inside an envelope window.
            assert address_problem(flat.get(field, "")) is None, (entry["slug"], field)


# No public source gave an address, e-mail or portal for these; they are listed so that the
# gap is deliberate and the list shrinks when someone fills one in.
UNREACHABLE = {"ca-doj"}


def test_every_shipped_agency_can_be_reached_at_its_records_office(app):
    seed_agencies()
    db.session.commit()
    agencies = db.session.scalars(select(Agency)).all()
    reachable = {agency.slug for agency in agencies if not agency.contact("records").empty}
    assert reachable == {agency.slug for agency in agencies} - UNREACHABLE
    assert UNREACHABLE <= {agency.slug for agency in agencies}


def test_the_sheriff_has_an_address_to_write_to(app):
    seed_agencies()
    db.session.commit()
    sheriff = db.session.scalar(select(Agency).where(Agency.slug == "lasd"))
    records = sheriff.contact("records")
    assert not records.empty
    assert "4700 Ramona Boulevard" in records.mailing_address
    assert sheriff.in_sentence == "the Los Angeles County Sheriff's Department"


def test_ice_and_cbp_appeals_go_to_their_appeals_officers(app):
    seed_agencies()
    db.session.commit()
    for slug in ("ice", "cbp", "dhs-privacy-office"):
        agency = db.session.scalar(select(Agency).where(Agency.slug == slug))
        appeal = agency.contact("appeal")
        assert not appeal.empty, slug
        assert appeal.office, slug
        assert appeal.salutation == "Dear Appeals Officer:"
        # The appeal is not the FOIA office's business (6 C.F.R. 5.8(a)(1)).
        assert appeal.office != agency.records_office, slug
    ice = db.session.scalar(select(Agency).where(Agency.slug == "ice"))
    assert ice.appeal_office == "Office of the Principal Legal Advisor"
    assert ice.in_sentence == "U.S. Immigration and Customs Enforcement"


def test_seeding_fills_articles_and_counsel(app):
    seed_agencies()
    db.session.commit()
    by_slug = {agency.slug: agency for agency in db.session.scalars(select(Agency))}
    assert by_slug["lapd"].in_sentence == "the Los Angeles Police Department"
    assert by_slug["lawa"].in_sentence == "Los Angeles World Airports"
    assert by_slug["la-city-clerk"].in_sentence == (
        "the Office of the City Clerk, City of Los Angeles"
    )
    for slug in ("lapd", "la-police-commission", "lawa", "la-city-clerk"):
        counsel = by_slug[slug].contact("counsel")
        assert counsel.office == "Office of the Los Angeles City Attorney", slug
        assert "200 North Main Street" in counsel.mailing_address, slug
    assert by_slug["lasd"].counsel_office.startswith("Office of the County Counsel")


def test_reseeding_refreshes_an_untouched_agencys_appeal_and_keeps_an_edited_one(app):
    entries = [
        {
            "slug": "test-pd",
            "name": "Test PD",
            "law": "us-foia",
            "article": "the",
            "appeal": {"office": "Appeals", "email": "Old@Example.gov", "sources": ["https://x"]},
            "counsel": {"office": "Counsel", "mailing_address": "1 Main St\nTown, ST 00001\n"},
        },
        {"slug": "edited-pd", "name": "Edited PD", "law": "us-foia"},
    ]
    seed_agencies(entries)
    db.session.commit()
    agency = db.session.scalar(select(Agency).where(Agency.slug == "test-pd"))
    assert (agency.article, agency.appeal_office, agency.appeal_email) == (
        "the",
        "Appeals",
        "old@example.gov",
    )
    assert agency.counsel_address == "1 Main St\nTown, ST 00001"
    edited = db.session.scalar(select(Agency).where(Agency.slug == "edited-pd"))
    edited.appeal_office = "Ours"
    edited.locally_modified = True
    db.session.commit()
    entries[0]["appeal"]["email"] = "new@example.gov"
    entries[1]["appeal"] = {"office": "Theirs"}
    result = seed_agencies(entries)
    db.session.commit()
    assert (result.updated, result.kept) == (1, 1)
    assert agency.appeal_email == "new@example.gov"
    assert edited.appeal_office == "Ours"


def test_a_shipped_entry_with_a_bad_article_or_address_is_refused(app):
    from tracker.agencies.services import AgencyError

    with pytest.raises(AgencyError) as refused:
        seed_agencies([{"slug": "x", "name": "X", "law": "ca-cpra", "article": "a"}])
    assert refused.value.field == "article"
    with pytest.raises(AgencyError) as refused:
        seed_agencies(
            [
                {
                    "slug": "x",
                    "name": "X",
                    "law": "ca-cpra",
                    "appeal": {"mailing_address": "a\nb\nc\nd\ne"},
                }
            ]
        )
    assert refused.value.field == "appeal_address"


def test_seeding_twice_adds_nothing_the_second_time(app):
    first = seed_agencies()
    db.session.commit()
    count = db.session.scalar(select(db.func.count(Agency.id)))
    assert first.created == len(shipped_agencies()) == count
    second = seed_agencies()
    db.session.commit()
    assert (second.created, second.updated) == (0, 0)
    assert db.session.scalar(select(db.func.count(Agency.id))) == count


def test_seeding_keeps_an_agency_someone_edited(app):
    seed_agencies()
    db.session.commit()
    lapd = db.session.scalar(select(Agency).where(Agency.slug == "lapd"))
    lapd.phone = "(213) 555-0199"
    lapd.locally_modified = True
    db.session.commit()
    result = seed_agencies()
    db.session.commit()
    assert result.kept == 1
    db.session.refresh(lapd)
    assert lapd.phone == "(213) 555-0199"


def test_seeding_refreshes_an_untouched_agency_when_the_shipped_data_changes(app):
    entries = [{"slug": "test-pd", "name": "Test PD", "law": "ca-cpra", "phone": "1"}]
    seed_agencies(entries)
    entries[0]["phone"] = "2"
    assert seed_agencies(entries).updated == 1
    db.session.commit()
    assert db.session.scalar(select(Agency.phone).where(Agency.slug == "test-pd")) == "2"


def test_seeding_adopts_an_agency_added_by_hand_without_changing_it(app, make_agency):
    make_agency(name="Test PD", phone="kept")
    result = seed_agencies([{"slug": "test-pd", "name": "Test PD", "law": "ca-cpra"}])
    db.session.commit()
    assert (result.created, result.kept) == (0, 1)
    agency = db.session.scalar(select(Agency).where(Agency.slug == "test-pd"))
    assert agency.phone == "kept"


def test_a_shipped_entry_with_an_unknown_law_is_refused(app):
    from tracker.agencies.services import AgencyError

    with pytest.raises(AgencyError):
        seed_agencies([{"slug": "x", "name": "X", "law": "nowhere"}])


def test_the_seed_command_reports_what_it_did(runner):
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0
    assert f"{len(shipped_agencies())} added" in first.output
    second = runner.invoke(args=["seed"])
    assert "0 added, 0 updated" in second.output

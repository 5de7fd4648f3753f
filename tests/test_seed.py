"""The shipped agency directory: valid, loaded once, and never over an admin's edit."""

import pytest
from sqlalchemy import select

from tracker.agencies.models import Agency
from tracker.agencies.services import seed_agencies, shipped_agencies
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

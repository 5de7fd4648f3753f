"""Changes to agencies, and loading the shipped directory. They flush; callers commit."""

import tomllib
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from sqlalchemy import select

from tracker.agencies.models import Agency
from tracker.extensions import db
from tracker.laws import all_laws

EDITABLE_FIELDS = (
    "name",
    "short_name",
    "law",
    "jurisdiction",
    "records_office",
    "mailing_address",
    "email",
    "portal_url",
    "phone",
    "notes",
)


class AgencyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def clean_values(values: dict[str, Any]) -> dict[str, str]:
    cleaned = {}
    for field in EDITABLE_FIELDS:
        value = values.get(field) or ""
        value = str(value).replace("\r\n", "\n").strip()
        if field == "email":
            value = value.lower()
        cleaned[field] = value
    if cleaned["law"] not in all_laws():
        raise AgencyError("law", "Choose one of the listed laws.")
    return cleaned


def ensure_unique_name(name: str, agency: Agency | None) -> None:
    clash = db.session.scalar(select(Agency).where(db.func.lower(Agency.name) == name.lower()))
    if clash is not None and clash is not agency:
        raise AgencyError("name", f"{clash.name} is already in the directory.")


def create_agency(values: dict[str, Any]) -> Agency:
    cleaned = clean_values(values)
    ensure_unique_name(cleaned["name"], None)
    agency = Agency(**cleaned)
    db.session.add(agency)
    db.session.flush()
    return agency


def update_agency(agency: Agency, values: dict[str, Any]) -> bool:
    """Apply an edit made by a person; return whether anything changed."""
    cleaned = clean_values(values)
    ensure_unique_name(cleaned["name"], agency)
    changed = False
    for field, value in cleaned.items():
        if getattr(agency, field) != value:
            setattr(agency, field, value)
            changed = True
    if changed:
        agency.locally_modified = True
        db.session.flush()
    return changed


@dataclass
class SeedResult:
    created: int = 0
    updated: int = 0
    kept: int = 0


def shipped_agencies() -> list[dict[str, Any]]:
    data = files("tracker").joinpath("data/agencies.toml").read_text("utf-8")
    return list(tomllib.loads(data)["agency"])


def seed_agencies(entries: list[dict[str, Any]] | None = None) -> SeedResult:
    """Load the shipped agencies: add new ones, refresh untouched ones, keep edited ones."""
    result = SeedResult()
    for entry in shipped_agencies() if entries is None else entries:
        values = clean_values(entry)
        agency = db.session.scalar(select(Agency).where(Agency.slug == entry["slug"]))
        if agency is None:
            agency = db.session.scalar(select(Agency).where(Agency.name == values["name"]))
            if agency is not None:
                # Someone added it by hand before it was shipped: theirs stands.
                agency.slug = entry["slug"]
                agency.locally_modified = True
                result.kept += 1
                continue
            db.session.add(Agency(slug=entry["slug"], **values))
            result.created += 1
        elif agency.locally_modified:
            result.kept += 1
        elif any(getattr(agency, field) != value for field, value in values.items()):
            for field, value in values.items():
                setattr(agency, field, value)
            result.updated += 1
    db.session.flush()
    return result

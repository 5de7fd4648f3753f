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
    "article",
    "law",
    "jurisdiction",
    "records_office",
    "mailing_address",
    "email",
    "portal_url",
    "phone",
    "fax",
    "salutation",
    "appeal_office",
    "appeal_address",
    "appeal_email",
    "appeal_portal_url",
    "appeal_salutation",
    "counsel_office",
    "counsel_address",
    "counsel_email",
    "counsel_salutation",
    "notes",
)
EMAIL_FIELDS = ("email", "appeal_email", "counsel_email")
ADDRESS_FIELDS = ("mailing_address", "appeal_address", "counsel_address")
ARTICLES = ("", "the")
# What fits the window of a #10 envelope under the agency's name and office.
ADDRESS_LINES = 4
ADDRESS_LINE_LENGTH = 60
# The shipped directory's sub-tables, and the columns their keys fill.
SUB_TABLES = {
    "appeal": {
        "office": "appeal_office",
        "mailing_address": "appeal_address",
        "email": "appeal_email",
        "portal_url": "appeal_portal_url",
        "salutation": "appeal_salutation",
    },
    "counsel": {
        "office": "counsel_office",
        "mailing_address": "counsel_address",
        "email": "counsel_email",
        "salutation": "counsel_salutation",
    },
}


class AgencyError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def address_problem(address: str) -> str | None:
    """Why an address would not print in an envelope window, or None if it fits."""
    lines = address.replace("\r\n", "\n").strip().splitlines()
    if len(lines) > ADDRESS_LINES:
        return f"Use at most {ADDRESS_LINES} lines; this address has {len(lines)}."
    for number, line in enumerate(lines, start=1):
        if len(line.strip()) > ADDRESS_LINE_LENGTH:
            return (
                f"Line {number} has {len(line.strip())} characters; "
                f"keep each line to {ADDRESS_LINE_LENGTH}."
            )
    return None


def clean_values(values: dict[str, Any]) -> dict[str, str]:
    cleaned = {}
    for field in EDITABLE_FIELDS:
        value = values.get(field) or ""
        value = str(value).replace("\r\n", "\n").strip()
        if field in EMAIL_FIELDS or field == "article":
            value = value.lower()
        if field in ADDRESS_FIELDS:
            value = "\n".join(line.strip() for line in value.splitlines())
        cleaned[field] = value
    if cleaned["law"] not in all_laws():
        raise AgencyError("law", "Choose one of the listed laws.")
    if cleaned["article"] not in ARTICLES:
        raise AgencyError("article", 'Use "the" or leave it empty.')
    for field in ADDRESS_FIELDS:
        problem = address_problem(cleaned[field])
        if problem:
            raise AgencyError(field, problem)
    return cleaned


def flatten_entry(entry: dict[str, Any]) -> dict[str, Any]:
    """One shipped entry with its [agency.appeal] and [agency.counsel] keys as columns."""
    values = {key: value for key, value in entry.items() if key not in SUB_TABLES}
    for table, columns in SUB_TABLES.items():
        for key, value in entry.get(table, {}).items():
            if key in columns:
                values[columns[key]] = value
    return values


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
        values = clean_values(flatten_entry(entry))
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

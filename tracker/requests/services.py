"""Creating and changing records requests. Every change leaves an event; callers commit."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.interfaces import ORMOption

from tracker.agencies.models import Agency
from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.requests.models import (
    Organization,
    RecordsRequest,
    ReferenceCounter,
    RequestEvent,
    RequestStatus,
)
from tracker.sqltypes import LOCAL_ZONE, utcnow

# The fields a person edits, with the label the timeline shows for each.
FIELD_LABELS = {
    "title": "Title",
    "agency": "Agency",
    "organization": "Requesting organization",
    "requester_name": "Requester",
    "records_sought": "Records sought",
    "status": "Status",
    "agency_tracking_number": "Agency tracking number",
    "assignee": "Assignee",
    "sent_on": "Sent on",
    "received_on": "Received by the agency on",
    "closed_on": "Closed on",
    "determination_on": "Determination made on",
    "records_promised_on": "Records promised by",
    "tags": "Tags",
}


class RequestError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class RequestValues:
    title: str
    agency: Agency
    organization: Organization | None = None
    requester_name: str = ""
    records_sought: str = ""
    status: RequestStatus = RequestStatus.DRAFT
    agency_tracking_number: str = ""
    assignee: User | None = None
    sent_on: date | None = None
    received_on: date | None = None
    closed_on: date | None = None
    determination_on: date | None = None
    records_promised_on: date | None = None
    tags: str = ""


def normalise_tags(text: str) -> str:
    """Tags as stored: lowercase, between commas, each once, e.g. ",ice,u-visa,"."""
    tags = []
    for tag in text.replace(";", ",").split(","):
        tag = " ".join(tag.strip().lower().split())
        if tag and tag not in tags:
            tags.append(tag[:40])
    return f",{','.join(tags)}," if tags else ""


def can_edit(user: User, request: RecordsRequest) -> bool:
    if user.role in (Role.ADMIN, Role.STAFF):
        return True
    if user.role == Role.ADVOCATE:
        return user.id in (request.created_by_id, request.assignee_id)
    return False


def allocate_reference(year: int) -> tuple[int, str]:
    """The next number of the year, safe when many requests are created at once.

    The counter row is incremented in place: on PostgreSQL the row lock, and on
    SQLite the database write lock, make concurrent transactions take turns.
    """
    bump = (
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last_number=ReferenceCounter.last_number + 1)
        .returning(ReferenceCounter.last_number)
        .execution_options(synchronize_session=False)
    )
    number = db.session.execute(bump).scalar()
    if number is None:
        dialect = db.session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        db.session.execute(
            insert(ReferenceCounter).values(year=year, last_number=0).on_conflict_do_nothing()
        )
        number = db.session.execute(bump).scalar_one()
    prefix = current_app.config["REFERENCE_PREFIX"]
    return number, f"{prefix}-{year}-{number:04d}"


def check_dates(values: RequestValues) -> None:
    start = values.sent_on or values.received_on
    if values.determination_on and start and values.determination_on < start:
        raise RequestError("determination_on", "A determination cannot come before the request.")
    if values.sent_on and values.received_on and values.received_on < values.sent_on:
        raise RequestError("received_on", "The agency cannot receive it before it was sent.")
    start = values.sent_on or values.received_on
    if values.closed_on and start and values.closed_on < start:
        raise RequestError("closed_on", "A request cannot close before it was sent.")


def create_request(
    values: RequestValues, actor: User | None, items: Sequence[str] = ()
) -> RecordsRequest:
    """A new request with its items: ``items`` as given (a drafted letter's numbered
    paragraphs), or else one item holding the records sought, or the title."""
    from tracker.items.services import first_items

    check_dates(values)
    created_at = utcnow()
    # Order matters on SQLite: the counter update is the transaction's first write.
    year = created_at.astimezone(LOCAL_ZONE).year
    number, reference = allocate_reference(year)
    request = RecordsRequest(
        reference=reference,
        year=year,
        number=number,
        created_by_id=actor.id if actor else None,
        created_at=created_at,
        **{field: getattr(values, field) for field in FIELD_LABELS},
    )
    request.events.append(RequestEvent(actor=actor, occurred_at=created_at, kind="created"))
    db.session.add(request)
    first_items(request, items)
    db.session.flush()
    return request


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(",") and value.endswith(","):
        return ", ".join(tag for tag in value.split(",") if tag)
    if isinstance(value, Agency):
        return value.display_name
    if isinstance(value, Organization | User):
        return value.name
    if isinstance(value, RequestStatus):
        return value.label
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def values_of(request: RecordsRequest) -> RequestValues:
    """The request's current values, to change some and pass to ``update_request``."""
    return RequestValues(**{field: getattr(request, field) for field in FIELD_LABELS})


def update_request(
    request: RecordsRequest, values: RequestValues, actor: User | None, note: str = ""
) -> RequestEvent | None:
    """Apply an edit and record it; return the event, or None if nothing changed."""
    check_dates(values)
    changes = []
    for field, label in FIELD_LABELS.items():
        old, new = getattr(request, field), getattr(values, field)
        if old != new:
            changes.append({"field": label, "old": display(old), "new": display(new)})
            setattr(request, field, new)
    note = note.strip()
    if not changes and not note:
        return None
    event = RequestEvent(
        actor=actor, kind="updated" if changes else "note", changes=changes, note=note
    )
    request.events.append(event)
    db.session.flush()
    return event


def add_note(request: RecordsRequest, note: str, actor: User | None) -> RequestEvent:
    note = note.strip()
    if not note:
        raise RequestError("note", "Write the note first.")
    event = RequestEvent(actor=actor, kind="note", note=note)
    request.events.append(event)
    db.session.flush()
    return event


def find_by_reference(reference: str, *options: ORMOption) -> RecordsRequest | None:
    return db.session.scalar(
        select(RecordsRequest).where(RecordsRequest.reference == reference).options(*options)
    )

"""Bringing in requests kept in a spreadsheet: every row is checked before any is created.

``plan_import`` reads a CSV file and checks each row against the agencies and
accounts in the database, without writing anything. ``import_rows`` then
creates the requests of a plan, or refuses the whole file while any row is bad
(unless told to skip the bad rows). A row that matches a request already in the
tracker creates nothing, so importing the same file twice is harmless: the key is
the agency and its tracking number when the row has one, otherwise the title, the
agency and both dates. Callers commit.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select

from tracker.agencies.models import Agency
from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.requests.models import RecordsRequest, RequestStatus
from tracker.requests.services import (
    RequestError,
    RequestValues,
    add_note,
    check_dates,
    create_request,
)

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024

REQUIRED_COLUMNS = ("title", "agency", "received_on")
OPTIONAL_COLUMNS = ("sent_on", "status", "tracking_number", "assignee", "notes")
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS

# Lengths of the columns the values are stored in.
MAX_TITLE = 300
MAX_TRACKING_NUMBER = 100

ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
# What spreadsheets in the United States export: 3/7/2025.
US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")


class ImportFileError(ValueError):
    """The file as a whole cannot be imported: no row of it is looked at."""


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


@dataclass(frozen=True)
class PlannedRow:
    line: int
    values: RequestValues
    notes: str = ""


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def bad_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})


@dataclass(frozen=True)
class ImportedRow:
    line: int
    request: RecordsRequest
    # Kept as text so reports need no query after the caller commits.
    reference: str
    title: str


@dataclass(frozen=True)
class SkippedRow:
    """A row that matched a request already in the tracker: nothing was created for it."""

    line: int
    reference: str
    title: str


@dataclass
class ImportResult:
    imported: list[ImportedRow]
    errors: list[RowError]
    # True when bad rows stopped the whole file and nothing was created.
    refused: bool
    # Good rows left out because the file was refused.
    held_back: int = 0
    already: list[SkippedRow] = field(default_factory=list)


def plan_import(data: bytes | str) -> ImportPlan:
    """Check every row of a CSV file; raise ImportFileError if the file itself is unusable."""
    text = decode(data)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader, None)
        if header is None:
            raise ImportFileError("The file is empty.")
        columns = read_header(header, reader.line_num)
        # Each non-blank record with the line it starts on: a quoted cell may span lines.
        records = []
        end = reader.line_num
        for cells in reader:
            start, end = end + 1, reader.line_num
            if any(cell.strip() for cell in cells):
                records.append((start, cells))
    except csv.Error as error:
        raise ImportFileError(f"line {reader.line_num}: not readable as CSV: {error}") from None
    if not records:
        raise ImportFileError("The file has a header but no requests.")
    if len(records) > MAX_ROWS:
        raise ImportFileError(
            f"The file has {len(records):,} requests; import at most {MAX_ROWS:,} at a time "
            "by splitting it into smaller files."
        )
    lookup = Lookup()
    plan = ImportPlan()
    for line, cells in records:
        row, problems = check_row(line, cells, columns, lookup)
        plan.errors.extend(RowError(line, problem) for problem in problems)
        if row is not None:
            plan.rows.append(row)
    return plan


def import_rows(plan: ImportPlan, actor: User | None, skip_bad: bool = False) -> ImportResult:
    """Create the planned requests, or nothing while any row is bad and skip_bad is false."""
    if plan.errors and not skip_bad:
        new = sum(1 for row in plan.rows if already_imported(row.values) is None)
        return ImportResult([], plan.errors, refused=True, held_back=new)
    imported = []
    already = []
    for row in plan.rows:
        existing = already_imported(row.values)
        if existing is not None:
            already.append(SkippedRow(row.line, existing.reference, existing.title))
            continue
        record = create_request(row.values, actor)
        if row.notes:
            add_note(record, row.notes, actor)
        imported.append(ImportedRow(row.line, record, record.reference, record.title))
    return ImportResult(imported, plan.errors, refused=False, already=already)


def same(column: Any, value: object) -> ColumnElement[bool]:
    return column.is_(None) if value is None else column == value


def already_imported(values: RequestValues) -> RecordsRequest | None:
    """The request a row describes, if the tracker has it: from an earlier import, or this one."""
    query = select(RecordsRequest).where(RecordsRequest.agency_id == values.agency.id)
    tracking_number = values.agency_tracking_number.strip()
    if tracking_number:
        query = query.where(
            func.lower(RecordsRequest.agency_tracking_number) == tracking_number.lower()
        )
    else:
        query = query.where(
            func.lower(RecordsRequest.title) == values.title.strip().lower(),
            same(RecordsRequest.received_on, values.received_on),
            same(RecordsRequest.sent_on, values.sent_on),
        )
    return db.session.scalars(query.order_by(RecordsRequest.id).limit(1)).first()


def decode(data: bytes | str) -> str:
    size = len(data.encode() if isinstance(data, str) else data)
    if size > MAX_BYTES:
        raise ImportFileError(
            f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it into smaller files."
        )
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file is not UTF-8 text; save the spreadsheet as “CSV UTF-8” and try again."
        ) from None


def read_header(header: list[str], line: int) -> dict[str, int]:
    """The position of each known column; unknown or repeated names stop the import."""
    columns: dict[str, int] = {}
    unknown = []
    for position, raw in enumerate(header):
        name = raw.strip().lower()
        if not name:
            continue
        if name in columns:
            raise ImportFileError(f"line {line}: the column {name} appears twice.")
        if name not in COLUMNS:
            unknown.append(raw.strip())
        columns[name] = position
    if unknown:
        # Rather than lose what is in them, say so: a misspelt "sent on" would vanish.
        names = ", ".join(unknown)
        raise ImportFileError(
            f"line {line}: unknown column{'s' if len(unknown) > 1 else ''} {names}; "
            f"the columns are {', '.join(COLUMNS)}."
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise ImportFileError(f"line {line}: the file needs the column(s) {', '.join(missing)}.")
    return columns


class Lookup:
    """The agencies and accounts rows may name, loaded once for the whole file."""

    def __init__(self) -> None:
        self.agencies = list(db.session.scalars(select(Agency)))
        self.users = {user.email.lower(): user for user in db.session.scalars(select(User))}

    def agency(self, text: str) -> Agency:
        key = text.lower()
        by_name = [a for a in self.agencies if key in (a.name.lower(), a.display_name.lower())]
        if len(by_name) == 1:
            return by_name[0]
        matches = by_name or [a for a in self.agencies if a.short_name.lower() == key]
        if not matches:
            raise ValueError(f"unknown agency “{text}”")
        if len(matches) > 1:
            names = "; ".join(sorted(a.display_name for a in matches))
            raise ValueError(f"agency “{text}” could be any of {names}: use the full name")
        return matches[0]

    def assignee(self, email: str) -> User:
        user = self.users.get(email.lower())
        if user is None:
            raise ValueError(f"no account for assignee {email}")
        if not user.active:
            raise ValueError(f"assignee {email} is deactivated")
        if user.role == Role.VIEWER:
            raise ValueError(f"assignee {email} is a viewer and cannot be assigned requests")
        return user


def parse_date(text: str) -> date:
    for pattern, order in ((ISO_DATE, (0, 1, 2)), (US_DATE, (2, 0, 1))):
        match = pattern.fullmatch(text)
        if match:
            year, month, day = (int(match.group(i + 1)) for i in order)
            return date(year, month, day)
    raise ValueError


def parse_status(text: str) -> RequestStatus:
    key = text.lower()
    for status in RequestStatus:
        if key in (status.value, status.label.lower()):
            return status
    raise ValueError(
        f"unknown status “{text}”; use one of: {', '.join(s.value for s in RequestStatus)}"
    )


def check_row(
    line: int, cells: list[str], columns: dict[str, int], lookup: Lookup
) -> tuple[PlannedRow | None, list[str]]:
    """The row as request values, or every reason it cannot be one."""
    problems: list[str] = []

    def cell(name: str) -> str:
        position = columns.get(name)
        return cells[position].strip() if position is not None and position < len(cells) else ""

    known = set(columns.values())
    if any(cells[i].strip() for i in range(len(cells)) if i not in known):
        problems.append("has values in columns without a name")

    title = cell("title")
    if not title:
        problems.append("the title is missing")
    elif len(title) > MAX_TITLE:
        problems.append(f"the title is longer than {MAX_TITLE} characters")

    agency = None
    if not cell("agency"):
        problems.append("the agency is missing")
    else:
        try:
            agency = lookup.agency(cell("agency"))
        except ValueError as error:
            problems.append(str(error))

    dates: dict[str, date | None] = {}
    for name in ("sent_on", "received_on"):
        text = cell(name)
        dates[name] = None
        if text:
            try:
                dates[name] = parse_date(text)
            except ValueError:
                problems.append(f"{name} “{text}” is not a date: write YYYY-MM-DD or M/D/YYYY")

    status = None
    if cell("status"):
        try:
            status = parse_status(cell("status"))
        except ValueError as error:
            problems.append(str(error))
    elif dates["sent_on"] or dates["received_on"]:
        status = RequestStatus.SENT
    else:
        status = RequestStatus.DRAFT

    tracking_number = cell("tracking_number")
    if len(tracking_number) > MAX_TRACKING_NUMBER:
        problems.append(f"the tracking number is longer than {MAX_TRACKING_NUMBER} characters")

    assignee = None
    if cell("assignee"):
        try:
            assignee = lookup.assignee(cell("assignee"))
        except ValueError as error:
            problems.append(str(error))

    if problems or agency is None or status is None:
        return None, problems
    values = RequestValues(
        title=title,
        agency=agency,
        status=status,
        agency_tracking_number=tracking_number,
        assignee=assignee,
        sent_on=dates["sent_on"],
        received_on=dates["received_on"],
    )
    try:
        check_dates(values)
    except RequestError as error:
        return None, [str(error)]
    return PlannedRow(line, values, cell("notes").replace("\r\n", "\n")), []

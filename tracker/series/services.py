"""Making a series, drafting each period's request, and marking the reports that came.

Operations flush and callers commit, except ``draft_due_periods``, the worker's job: it
commits each period's draft on its own, so one that fails leaves the others drafted, and
emails the assignees only once their drafts are safe.
"""

import logging
import smtplib
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from email.message import EmailMessage
from importlib.resources import files
from typing import Any

from flask import current_app
from sqlalchemy import Select, and_, exists, func, select, update
from sqlalchemy.orm import joinedload

from tracker.auth.models import Role, User
from tracker.documents.models import Disposition, Document
from tracker.extensions import db
from tracker.items.models import ItemState, RequestItem
from tracker.letters.library import LetterError, LetterTemplate, format_date
from tracker.letters.models import Letter
from tracker.letters.services import draft_requests, library, original_sender
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus
from tracker.requests.services import update_request, values_of
from tracker.series.models import Cadence, RequestSeries, SeriesPeriod
from tracker.series.periods import period_label, periods_until
from tracker.sqltypes import utcnow

log = logging.getLogger(__name__)

# The letter fields a series fills in with each period's dates.
RANGE_FIELDS = ("date_from", "date_to")
MOST_DATES = 100
# The board lists this many missing reports at most, the oldest first.
MOST_REPORT_ROWS = 200


class SeriesError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def named_reports() -> list[str]:
    """The reports agencies are bound to produce, from tracker/data/reports.toml."""
    raw = tomllib.loads(files("tracker").joinpath("data/reports.toml").read_text("utf-8"))
    return [str(entry["name"]) for entry in raw.get("report", [])]


# Which requests can repeat -------------------------------------------------------------


def ranged_template(template: LetterTemplate) -> bool:
    names = {spec.name for spec in template.fields}
    return template.kind == "initial" and all(name in names for name in RANGE_FIELDS)


def source_letter(request: RecordsRequest) -> Letter | None:
    return request.initial_letter


def why_not_repeatable(request: RecordsRequest) -> str:
    """Why the request cannot start a series, or "" when it can."""
    if request.status is RequestStatus.DRAFT:
        return "Only a sent request can repeat: send this one first."
    letter = source_letter(request)
    template = library().templates.get(letter.template_slug) if letter else None
    if letter is None or template is None or not ranged_template(template):
        return (
            "Only a request drafted from a letter template that asks for records between "
            "two dates can repeat."
        )
    if not letter.field_values.get("date_to"):
        return "The request's letter gives no date its records end."
    return ""


def records_end(request: RecordsRequest) -> date:
    letter = source_letter(request)
    if letter is None:
        raise SeriesError("cadence", "The request has no letter.")
    return date.fromisoformat(str(letter.field_values["date_to"]))


def parse_period_ends(text: str, after: date) -> list[date]:
    """The dates typed one per line, in order; each must be a real date after ``after``."""
    days: set[date] = set()
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            day = date.fromisoformat(line)
        except ValueError:
            raise SeriesError(
                "period_ends", f"Line {number}, “{line[:40]}”, is not a date as YYYY-MM-DD."
            ) from None
        if day <= after:
            raise SeriesError(
                "period_ends",
                f"Line {number}, {line}, is not after {after.isoformat()}, the last day of "
                "the records the request already asks for.",
            )
        days.add(day)
    if not days:
        raise SeriesError(
            "period_ends", "List the date each period ends, one per line, as YYYY-MM-DD."
        )
    if len(days) > MOST_DATES:
        raise SeriesError("period_ends", f"List at most {MOST_DATES} dates.")
    return sorted(days)


def create_series(
    source: RecordsRequest,
    cadence: Cadence,
    period_ends_text: str,
    assignee: User | None,
    report_name: str,
    actor: User,
    today: date,
) -> RequestSeries:
    refusal = why_not_repeatable(source)
    if refusal:
        raise SeriesError("cadence", refusal)
    letter = source_letter(source)
    if letter is None:
        raise SeriesError("cadence", "The request has no letter.")
    first_start = records_end(source) + timedelta(days=1)
    ends = (
        parse_period_ends(period_ends_text, first_start - timedelta(days=1))
        if (cadence is Cadence.DATES)
        else []
    )
    series = RequestSeries(
        source_request=source,
        template_slug=letter.template_slug,
        field_values=dict(letter.field_values),
        agency_id=source.agency_id,
        cadence=cadence,
        period_ends=[day.isoformat() for day in ends],
        first_start_on=first_start,
        assignee=assignee,
        report_name=report_name.strip()[:300],
        created_by=actor,
    )
    db.session.add(series)
    db.session.flush()
    first = periods_until(cadence, first_start, first_start, ends)[0]
    note = (
        f"Set to repeat ({cadence.label.lower()}), as series {series.id}: the first "
        f"request, for {first.label}, is drafted on {format_date(first.draft_on)}"
        f"{f' and assigned to {assignee.name}' if assignee else ''}."
    )
    if series.report_name:
        note += f" Each period should bring {series.report_name}."
    source.events.append(RequestEvent(actor=actor, kind="series", note=note))
    ensure_periods(series, today)
    db.session.flush()
    return series


def ensure_periods(series: RequestSeries, today: date) -> list[SeriesPeriod]:
    """The series' periods that have begun by today, each a row once."""
    known = {period.start_on for period in series.periods}
    for period in periods_until(series.cadence, series.first_start_on, today, series.listed_ends):
        if period.start_on not in known:
            db.session.add(
                SeriesPeriod(series=series, start_on=period.start_on, end_on=period.end_on)
            )
    db.session.flush()
    return list(series.periods)


def stop_series(series: RequestSeries, reason: str, actor: User) -> None:
    if series.stopped_at is not None:
        raise SeriesError("reason", "The series is already stopped.")
    series.stopped_at = utcnow()
    series.stopped_by = actor
    series.stop_reason = reason.strip()
    note = f"Stopped series {series.id}: no further requests are drafted."
    if series.stop_reason:
        note += f" {series.stop_reason}"
    series.source_request.events.append(RequestEvent(actor=actor, kind="series", note=note))
    db.session.flush()


def set_published(series: RequestSeries, published: bool, actor: User | None = None) -> None:
    """Show the series as one page in the public room, or withdraw it; the source
    request's timeline says who did which."""
    if published:
        series.published_at = utcnow()
        series.withdrawn_at = None
        note = f"Published series {series.id} as one page of the public records room."
    elif series.published:
        series.withdrawn_at = utcnow()
        note = f"Withdrew series {series.id} from the public records room."
    else:
        return
    series.source_request.events.append(RequestEvent(actor=actor, kind="series", note=note))
    db.session.flush()


# Reports -------------------------------------------------------------------------------


def series_requests(series: RequestSeries) -> list[RecordsRequest]:
    drafted = [period.request for period in series.periods if period.request is not None]
    return [series.source_request, *drafted]


def released_documents(series: RequestSeries) -> list[Document]:
    """The documents released on the series' requests, letters as sent left out."""
    ids = [request.id for request in series_requests(series)]
    letter_pdf = exists().where(Letter.document_id == Document.id)
    return list(
        db.session.scalars(
            select(Document)
            .where(
                Document.request_id.in_(ids),
                Document.deleted_at.is_(None),
                Document.disposition != Disposition.WITHHELD,
                ~letter_pdf,
            )
            .order_by(Document.document_date.desc(), Document.id.desc())
        )
    )


def mark_report(period: SeriesPeriod, document: Document, actor: User) -> None:
    series = period.series
    if not series.report_name:
        raise SeriesError("document", "This series names no report to mark.")
    if period.report_document_id is not None:
        raise SeriesError("document", "This period's report is marked already.")
    if document not in released_documents(series):
        raise SeriesError("document", "Choose a document released on one of the series' requests.")
    period.report_document = document
    period.report_marked_at = utcnow()
    period.report_marked_by = actor
    on = period.request or series.source_request
    on.events.append(
        RequestEvent(
            actor=actor,
            kind="series",
            note=f"Marked “{document.title}” as {series.report_name} for "
            f"{period_label(period.start_on, period.end_on)}.",
        )
    )
    db.session.flush()


def missing_report_clause(today: date) -> Any:
    """Periods over whose series names a report that no released document was marked as."""
    return and_(
        SeriesPeriod.end_on < today,
        SeriesPeriod.report_document_id.is_(None),
        RequestSeries.report_name != "",
        RequestSeries.stopped_at.is_(None),
    )


def missing_reports_query(
    today: date, agency_id: int | None = None, assignee_id: int | None = None,
    unassigned: bool = False,
) -> Select[Any]:  # fmt: skip
    statement = (
        select(SeriesPeriod)
        .join(RequestSeries, SeriesPeriod.series_id == RequestSeries.id)
        .where(missing_report_clause(today))
    )
    if agency_id:
        statement = statement.where(RequestSeries.agency_id == agency_id)
    if unassigned:
        statement = statement.where(RequestSeries.assignee_id.is_(None))
    elif assignee_id:
        statement = statement.where(RequestSeries.assignee_id == assignee_id)
    return statement


def missing_report_count(today: date, **filters: Any) -> int:
    statement = missing_reports_query(today, **filters).with_only_columns(func.count())
    return int(db.session.scalar(statement) or 0)


@dataclass(frozen=True)
class MissingReport:
    period: SeriesPeriod
    # The period's request, or the series' source request before it is drafted.
    request: RecordsRequest
    reason: str


def missing_report_rows(
    today: date, most: int | None = MOST_REPORT_ROWS, **filters: Any
) -> list[MissingReport]:
    """The board's "Reports not received": each ended period without its report (every
    one of them when ``most`` is None, as the CSV export asks)."""
    periods = db.session.scalars(
        missing_reports_query(today, **filters)
        .options(
            joinedload(SeriesPeriod.series).joinedload(RequestSeries.source_request),
            joinedload(SeriesPeriod.request),
        )
        .order_by(SeriesPeriod.end_on, SeriesPeriod.id)
        .limit(most)
    ).all()
    return [
        MissingReport(
            period, period.request or period.series.source_request, missing_report_reason(period)
        )
        for period in periods
    ]


def missing_report_reason(period: SeriesPeriod) -> str:
    label = period_label(period.start_on, period.end_on)
    return f"{period.series.report_name} for {label} has not arrived."


def items_released(request: RecordsRequest) -> tuple[int, int]:
    """How many of the request's items were released, in full or in part, of how many."""
    states = list(
        db.session.scalars(select(RequestItem.state).where(RequestItem.request_id == request.id))
    )
    released = sum(1 for s in states if s in (ItemState.RELEASED, ItemState.PARTIAL))
    return released, len(states)


# Drafting -------------------------------------------------------------------------------


def missing_before(period: SeriesPeriod) -> list[SeriesPeriod]:
    """The earlier periods whose report has not arrived, oldest first."""
    if not period.series.report_name:
        return []
    return [
        earlier
        for earlier in period.series.periods
        if earlier.start_on < period.start_on and earlier.report_document_id is None
    ]


def report_asked(series: RequestSeries, earlier: SeriesPeriod) -> str:
    return f"{series.report_name} for {period_label(earlier.start_on, earlier.end_on)}"


def period_values(
    series: RequestSeries, template: LetterTemplate, period: SeriesPeriod
) -> dict[str, Any]:
    """The source letter's values with the period's dates, and any missing report asked."""
    names = {spec.name for spec in template.fields}
    values = {name: value for name, value in series.field_values.items() if name in names}
    values["date_from"] = period.start_on.isoformat()
    values["date_to"] = period.end_on.isoformat()
    missing = missing_before(period)
    if missing and "additional_details" in names:
        asked = "\n\n".join(
            f"We also ask again for {report_asked(series, earlier)}, which we have not "
            "received." for earlier in missing
        )  # fmt: skip
        before = str(values.get("additional_details") or "").strip()
        values["additional_details"] = f"{before}\n\n{asked}" if before else asked
    return values


def drafting_actor(series: RequestSeries) -> User:
    """Whom the draft is made in the name of: who set the series up, else its assignee,
    else an admin, so every draft names a person."""
    for person in (series.created_by, series.assignee):
        if person is not None:
            return person
    admin = db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id))
    if admin is None:
        raise LetterError("Nobody to draft the request in the name of: add an admin.")
    return admin


def claim(period: SeriesPeriod) -> bool:
    """Take the period for drafting, once: a second run, or a second worker, gets False."""
    taken = db.session.execute(
        update(SeriesPeriod)
        .where(SeriesPeriod.id == period.id, SeriesPeriod.request_id.is_(None))
        .where(SeriesPeriod.drafted_at.is_(None))
        .values(drafted_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


def draft_period(series: RequestSeries, period: SeriesPeriod) -> RecordsRequest:
    """The period's request: the source letter again, for the period's dates, a draft."""
    from tracker.items.services import add_item

    template = library().get(series.template_slug)
    source = series.source_request
    letter = source_letter(source)
    sender = original_sender(source)
    if letter is None or sender is None:
        raise LetterError("The series' source request has no letter to draft from.")
    label = period_label(period.start_on, period.end_on)
    [request] = draft_requests(
        template,
        period_values(series, template, period),
        [series.agency],
        sender,
        source.organization,
        f"{source.title}, {label}"[:300],
        drafting_actor(series),
        letter.channel,
    )
    for earlier in missing_before(period):
        add_item(request, f"{report_asked(series, earlier)}.", None)
    values = values_of(request)
    values.assignee = series.assignee
    values.tags = source.tags
    update_request(
        request,
        values,
        None,
        f"Drafted by the series {series.id} ({series.cadence.label.lower()}) for {label}, "
        "from the same letter as "
        f"{source.reference}. It stays a draft until someone finalizes and sends it.",
    )
    period.request = request
    period.drafted_at = utcnow()
    db.session.flush()
    return request


@dataclass
class DraftRun:
    drafted: list[tuple[RequestSeries, SeriesPeriod, RecordsRequest]]
    failed: list[str]
    mail_error: str = ""
    emailed: int = 0

    def summary(self) -> str:
        lines = [
            f"Drafted {request.reference} for series {series.id}, "
            f"{period_label(period.start_on, period.end_on)}"
            f"{f', assigned to {request.assignee.name}' if request.assignee else ''}."
            for series, period, request in self.drafted
        ]
        lines += self.failed
        if not self.drafted and not self.failed:
            lines.append("No period has ended that needs a request.")
        if self.emailed:
            lines.append(f"Emailed {self.emailed} assignee{'s' if self.emailed != 1 else ''}.")
        if self.mail_error:
            lines.append(self.mail_error)
        return "\n".join(lines)


def active_series() -> Sequence[RequestSeries]:
    return db.session.scalars(
        select(RequestSeries).where(RequestSeries.stopped_at.is_(None)).order_by(RequestSeries.id)
    ).all()


def draft_due_periods(today: date) -> str:
    """Draft the request of every period that ended before today and has none; tell each
    assignee by email; say what was done. Running it again drafts nothing twice."""
    return run_due_periods(today).summary()


def run_due_periods(today: date) -> DraftRun:
    run = DraftRun(drafted=[], failed=[])
    for series_id in [series.id for series in active_series()]:
        series = db.session.get_one(RequestSeries, series_id)
        ensure_periods(series, today)
        db.session.commit()
        for period in list(series.periods):
            if period.end_on >= today or period.request_id is not None:
                continue
            try:
                if not claim(period):
                    db.session.rollback()
                    continue
                request = draft_period(series, period)
                db.session.commit()
            except LetterError as error:
                db.session.rollback()
                run.failed.append(
                    f"Series {series_id}: the request for "
                    f"{period_label(period.start_on, period.end_on)} could not be drafted: "
                    f"{error}"
                )
                continue
            run.drafted.append((series, period, request))
    notify_assignees(run)
    return run


def notify_assignees(run: DraftRun) -> None:
    """Email each assignee the drafts waiting for them, including any an earlier run could
    not tell them about; the drafts are committed already, so a mail failure loses none."""
    from tracker.deadlines.cli import DEFAULT_BASE_URL
    from tracker.mail.smtp import server_address, server_port, smtp_connection

    waiting = db.session.scalars(
        select(SeriesPeriod)
        .join(RecordsRequest, SeriesPeriod.request_id == RecordsRequest.id)
        .where(SeriesPeriod.notified_at.is_(None), RecordsRequest.assignee_id.is_not(None))
        .order_by(SeriesPeriod.id)
    ).all()
    by_person: dict[int, list[SeriesPeriod]] = {}
    for period in waiting:
        if period.request is not None and period.request.assignee_id is not None:
            by_person.setdefault(period.request.assignee_id, []).append(period)
    if not by_person:
        return
    config = current_app.config
    server = server_address(config) or "localhost"
    sender = str(config.get("MAIL_FROM") or "records-tracker@localhost")
    base_url = str(config.get("BASE_URL") or DEFAULT_BASE_URL)
    try:
        with smtp_connection(config, server) as smtp:
            for periods in by_person.values():
                smtp.send_message(drafted_email(periods, sender=sender, base_url=base_url))
                now = utcnow()
                for period in periods:
                    period.notified_at = now
                # Committed per email: what went out is remembered even if a later one fails.
                db.session.commit()
                run.emailed += 1
    except (OSError, smtplib.SMTPException) as error:
        db.session.rollback()
        detail = " ".join(str(error).split()) or type(error).__name__
        run.mail_error = (
            f"Could not email the assignees via {server}:{server_port(config)}: {detail}. "
            "The drafts are kept; the next run tries the email again."
        )
        log.warning("%s", run.mail_error)


def drafted_email(periods: Sequence[SeriesPeriod], *, sender: str, base_url: str) -> EmailMessage:
    from tracker.deadlines.remind import plural, request_url

    requests = [period.request for period in periods if period.request is not None]
    person = requests[0].assignee
    if person is None:
        raise ValueError("a drafted request with no assignee is not emailed")
    message = EmailMessage()
    message["Subject"] = f"Records Tracker: {plural(len(requests), 'repeated request')} to send"
    message["From"] = sender
    message["To"] = person.email
    lines = [f"Hello {person.name},", ""]
    lines += [
        "The next period's request of a series you are assigned to is drafted. It is not "
        "sent: read it, finalize it and send it.",
        "",
    ]
    for period, request in zip(periods, requests, strict=True):
        agency = request.agency.short_name or request.agency.name
        lines += [
            f"{request.reference}  {' '.join(request.title.split())} ({agency})",
            f"  Records of {period_label(period.start_on, period.end_on)}.",
            f"  {request_url(base_url, request.reference)}",
            "",
        ]
    lines.append("You get this email because a request series on Records Tracker names you.")
    message.set_content("\n".join(lines) + "\n")
    return message

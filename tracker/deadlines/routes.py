"""Pages of the deadlines feature: the board, the calculator, agency calendars, extensions."""

import csv
import io
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING

from flask import (
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse
from wtforms import SelectChoice

from tracker.agencies.models import Agency
from tracker.auth.models import Role, User
from tracker.deadlines import bp
from tracker.deadlines.board import (
    DEFAULT_SORT,
    SECTIONS,
    SORTS,
    Filters,
    Row,
    cited_exemptions,
    rows_for,
    section_counts,
    section_page,
    section_query,
)
from tracker.deadlines.calendars import BASE_CALENDARS, AgencyCalendar
from tracker.deadlines.engine import Facts, compute
from tracker.deadlines.forms import CalculatorForm, CalendarDayForm, ExtensionForm, RemoveDayForm
from tracker.deadlines.models import AgencyCalendarDay, DayKind
from tracker.deadlines.services import calendar_for
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.items.models import ItemState
from tracker.laws import all_laws, exemption_label
from tracker.letters.services import library, local_today
from tracker.requests.models import Organization, RecordsRequest, RequestStatus
from tracker.requests.services import can_edit, find_by_reference, update_request, values_of
from tracker.security import link_args, roles_required
from tracker.text import spreadsheet_safe

if TYPE_CHECKING:
    from tracker.series.services import MissingReport

CSV_COLUMNS = (
    "reference", "title", "agency", "assignee", "status", "due_on", "days", "reason",
    "promised_on", "tracking_number",
)  # fmt: skip


def filters_from_args() -> Filters:
    args = request.args
    assignee = args.get("assignee", "")
    status = args.get("status", "")
    item_state = args.get("item_state", "")
    return Filters(
        agency_id=args.get("agency", type=whole_number),
        assignee_id=current_user.id
        if assignee == "me"
        else args.get("assignee", type=whole_number),
        unassigned=assignee == "none",
        organization_id=args.get("organization", type=whole_number),
        status=RequestStatus(status) if status in RequestStatus.__members__.values() else None,
        tag=args.get("tag", "").strip(),
        item_state=ItemState(item_state) if item_state in ItemState.__members__.values() else None,
        exemption=args.get("exemption", "").strip()[:60],
    )


REPORTS_SECTION = "reports"


@bp.get("/due")
def dashboard() -> str | Response:
    from tracker.series import services as series

    today = local_today()
    section = request.args.get("section", "overdue")
    if section not in SECTIONS and section != REPORTS_SECTION:
        abort(404)
    filters = filters_from_args()
    # Reports that should exist are periods of series, not requests: a section of their
    # own, counted in one query, filtered by the series' agency and assignee.
    by_series = {
        "agency_id": filters.agency_id,
        "assignee_id": filters.assignee_id,
        "unassigned": filters.unassigned,
    }
    if section == REPORTS_SECTION and request.args.get("format") == "csv":
        return export_reports_csv(today, series.missing_report_rows(today, None, **by_series))
    if section == REPORTS_SECTION:
        reports_count = series.missing_report_count(today, **by_series)
        return render_template(
            "deadlines/dashboard.html",
            today=today,
            section=section,
            sections=SECTIONS,
            counts={**section_counts(today, filters), REPORTS_SECTION: reports_count},
            reports=series.missing_report_rows(today, **by_series),
            page=None,
            rows=[],
            sort="",
            args=link_args(),
            options=filter_options(),
        )
    sort = request.args.get("sort", "")
    if sort not in SORTS:
        sort = DEFAULT_SORT[section]
    if request.args.get("format") == "csv":
        return export_csv(section, today, filters, sort)
    reports_count = series.missing_report_count(today, **by_series)
    counts = {**section_counts(today, filters), REPORTS_SECTION: reports_count}
    per_page = min(max(request.args.get("per_page", 25, type=whole_number), 10), 100)
    page = section_page(
        section, today, filters, sort, request.args.get("page", 1, type=whole_number), per_page,
        counts[section],
    )  # fmt: skip
    rows = rows_for(db.session(), page.items, today)
    args = link_args()
    return render_template(
        "deadlines/dashboard.html",
        today=today,
        section=section,
        sections=SECTIONS,
        counts=counts,
        page=page,
        rows=rows,
        sort=sort,
        args=args,
        options=filter_options(),
    )


def filter_options() -> dict[str, list[tuple[str, str]]]:
    agencies = db.session.scalars(select(Agency).order_by(Agency.name))
    people = db.session.scalars(
        select(User).where(User.active, User.role != Role.VIEWER).order_by(User.name)
    )
    organizations = db.session.scalars(select(Organization).order_by(Organization.name))
    return {
        "agency": [(str(a.id), a.display_name) for a in agencies],
        "assignee": [("me", "Me"), ("none", "Nobody"), *((str(u.id), u.name) for u in people)],
        "organization": [(str(o.id), o.name) for o in organizations],
        "status": [(s.value, s.label) for s in RequestStatus],
        "item_state": [(s.value, s.label) for s in ItemState],
        "exemption": [
            (code, exemption_label(law, code)) for law, code in cited_exemptions(db.session())
        ],
    }


def csv_line(values: list[object]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow([spreadsheet_safe(v) for v in values])
    return buffer.getvalue()


def export_csv(section: str, today: date, filters: Filters, sort: str) -> Response:
    def lines() -> Iterator[str]:
        yield csv_line(list(CSV_COLUMNS))
        offset = 0
        while True:
            batch = (
                db.session.scalars(
                    section_query(section, today, filters, sort).limit(500).offset(offset)
                )
                .unique()
                .all()
            )
            if not batch:
                return
            for row in rows_for(db.session(), batch, today):
                yield csv_line(csv_values(row))
            offset += len(batch)

    # Under a server the body is sent after the view returns: keep the request's
    # context (and its database session) for as long as the rows are read.
    response = Response(stream_with_context(lines()), mimetype="text/csv")
    name = f"{section}-{today.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


REPORT_CSV_COLUMNS = (
    "reference", "title", "agency", "assignee", "report", "period_start", "period_end", "reason",
)  # fmt: skip


def export_reports_csv(today: date, missing: "list[MissingReport]") -> Response:
    """The "Reports not received" section as a spreadsheet, one row per period."""
    lines = [csv_line(list(REPORT_CSV_COLUMNS))]
    for one in missing:
        r, period = one.request, one.period
        assignee = period.series.assignee
        lines.append(
            csv_line(
                [
                    r.reference,
                    r.title,
                    r.agency.display_name,
                    assignee.name if assignee else "",
                    period.series.report_name,
                    period.start_on.isoformat(),
                    period.end_on.isoformat(),
                    one.reason,
                ]
            )  # fmt: skip
        )
    response = Response("".join(lines), mimetype="text/csv")
    name = f"{REPORTS_SECTION}-{today.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


def csv_values(row: Row) -> list[object]:
    r, standing = row.request, row.standing
    days = -standing.overdue_days if standing.overdue else standing.days_left
    return [
        r.reference, r.title, r.agency.display_name, r.assignee.name if r.assignee else "",
        r.status.label, r.due_on.isoformat() if r.due_on else "", days, row.reason,
        r.records_promised_on.isoformat() if r.records_promised_on else "",
        r.agency_tracking_number,
    ]  # fmt: skip


# The public calculator ---------------------------------------------------------------


@bp.route("/deadline-calculator", methods=["GET"])
def calculator() -> str:
    form = CalculatorForm(request.args, meta={"csrf": False})
    agencies = db.session.scalars(select(Agency).order_by(Agency.name)).all()
    form.law.choices = [SelectChoice("", "Choose a law"), *(
        SelectChoice(law.id, law.name) for law in all_laws().values()
    )]  # fmt: skip
    form.agency.choices = [SelectChoice("", "Any agency"), *(
        SelectChoice(str(a.id), a.display_name) for a in agencies
    )]  # fmt: skip
    result = None
    if request.args and form.validate():
        agency = db.session.get(Agency, int(form.agency.data)) if form.agency.data else None
        law_id = form.law.data or (agency.law if agency else "")
        if not law_id:
            form.law.errors = [*form.law.errors, "Choose a law or an agency."]
        else:
            law = all_laws()[law_id]
            calendar = (
                calendar_for(db.session(), agency) if agency else AgencyCalendar(law.calendar)
            )
            result = compute(law, calendar, Facts(received_on=form.received_on.data))
    return render_template("deadlines/calculator.html", form=form, result=result)


# Agency calendars ----------------------------------------------------------------------


@bp.get("/agencies/<int:agency_id>/calendar")
def agency_calendar(agency_id: int) -> str:
    agency = db.get_or_404(Agency, agency_id)
    year = request.args.get("year", type=whole_number) or local_today().year
    year = min(max(year, 1990), 2100)
    calendar = calendar_for(db.session(), agency)
    law = all_laws()[agency.law]
    changes = db.session.scalars(
        select(AgencyCalendarDay)
        .where(AgencyCalendarDay.agency_id == agency.id)
        .order_by(AgencyCalendarDay.day)
    ).all()
    form = CalendarDayForm()
    return render_template(
        "deadlines/agency_calendar.html",
        agency=agency,
        year=year,
        days=calendar.days_off(year),
        base_name=BASE_CALENDARS[law.calendar][0],
        changes=changes,
        form=form,
        remove_form=RemoveDayForm(),
        editable=current_user.role in (Role.ADMIN, Role.STAFF),
    )


@bp.post("/agencies/<int:agency_id>/calendar")
@roles_required(Role.ADMIN, Role.STAFF)
def add_calendar_day(agency_id: int) -> BaseResponse | str:
    agency = db.get_or_404(Agency, agency_id)
    form = CalendarDayForm()
    if not form.validate_on_submit():
        problems = "; ".join(e for errors in form.errors.values() for e in errors)
        flash(f"Not saved: {problems}", "error")
        return redirect(url_for("deadlines.agency_calendar", agency_id=agency.id))
    existing = db.session.scalar(
        select(AgencyCalendarDay).where(
            AgencyCalendarDay.agency_id == agency.id, AgencyCalendarDay.day == form.day.data
        )
    )
    if existing is not None:
        db.session.delete(existing)
        db.session.flush()
    db.session.add(
        AgencyCalendarDay(
            agency_id=agency.id,
            day=form.day.data,
            kind=DayKind(form.kind.data),
            note=form.note.data.strip(),
            created_by_id=current_user.id,
        )
    )
    db.session.commit()
    flash(
        f"{form.day.data:%a %b} {form.day.data.day}, {form.day.data.year} is now "
        f"{DayKind(form.kind.data).label.lower()} for {agency.display_name}; open requests' "
        "deadlines follow.",
        "success",
    )
    return redirect(
        url_for("deadlines.agency_calendar", agency_id=agency.id, year=form.day.data.year)
    )


@bp.post("/agencies/<int:agency_id>/calendar/<int:day_id>/remove")
@roles_required(Role.ADMIN, Role.STAFF)
def remove_calendar_day(agency_id: int, day_id: int) -> BaseResponse:
    day = db.get_or_404(AgencyCalendarDay, day_id)
    if day.agency_id != agency_id:
        abort(404)
    if RemoveDayForm().validate_on_submit():
        year = day.day.year
        db.session.delete(day)
        db.session.commit()
        flash("Removed; open requests' deadlines follow.", "success")
        return redirect(url_for("deadlines.agency_calendar", agency_id=agency_id, year=year))
    abort(400)


# Extensions and follow-ups -------------------------------------------------------------


def editable_request(reference: str) -> RecordsRequest:
    record = find_by_reference(reference)
    if record is None:
        abort(404)
    if not can_edit(current_user, record):
        abort(403)
    return record


@bp.route("/requests/<reference>/extension", methods=["GET", "POST"])
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def log_extension(reference: str) -> BaseResponse | str:
    record = editable_request(reference)
    form = ExtensionForm()
    if request.method == "GET":
        form.notice_on.data = record.extension_notice_on
        form.claimed_on.data = record.extension_claimed_on
        form.written.data = record.extension_written
    if form.validate_on_submit():
        record.extension_notice_on = form.notice_on.data
        record.extension_claimed_on = form.claimed_on.data
        record.extension_written = bool(form.written.data)
        values = values_of(record)
        if record.status in (RequestStatus.SENT, RequestStatus.ACKNOWLEDGED):
            values.status = RequestStatus.EXTENDED
        note = (form.note.data or "").strip()
        summary = (
            f"Logged an extension: notice of {form.notice_on.data.isoformat()}, "
            f"the agency claims until {form.claimed_on.data.isoformat()}"
            f"{'' if form.written.data else ', with no written notice'}."
        )
        update_request(record, values, current_user, f"{summary} {note}".strip())
        db.session.commit()
        return redirect(url_for("requests.show_request", reference=reference, _anchor="deadline"))
    return render_template("deadlines/extension.html", form=form, record=record)


@bp.get("/requests/<reference>/follow-up")
@roles_required(Role.ADMIN, Role.STAFF, Role.ADVOCATE)
def draft_follow_up(reference: str) -> BaseResponse:
    """The follow-up letter for the request's law, filled in from the request."""
    # The letters package imports this one's services.
    from tracker.letters.items import follow_up_refusal

    record = editable_request(reference)
    refusal = follow_up_refusal(record)
    if refusal:
        flash(refusal, "info")
        return redirect(url_for("requests.show_request", reference=reference, _anchor="deadline"))
    templates = sorted(
        (
            t
            for t in library().templates.values()
            if t.kind == "follow_up" and record.agency.law in t.laws
        ),
        key=lambda t: t.slug,
    )
    if not templates:
        flash("No follow-up letter is available for this law; choose another letter.", "info")
        return redirect(url_for("letters.new_letter", reference=reference))
    return redirect(url_for("letters.new_letter", reference=reference, template=templates[0].slug))

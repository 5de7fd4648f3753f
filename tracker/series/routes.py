"""Pages of requests that repeat: setting a request to repeat, the series and its periods."""

from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from tracker.auth.models import Role, User
from tracker.documents.models import Document
from tracker.extensions import db
from tracker.letters.services import local_today
from tracker.requests.models import RecordsRequest
from tracker.requests.routes import assignee_choices, get_request_or_404
from tracker.security import roles_required
from tracker.series import bp
from tracker.series.forms import (
    OTHER_REPORT,
    MarkReportForm,
    PublicRoomForm,
    SeriesForm,
    StopSeriesForm,
)
from tracker.series.models import Cadence, RequestSeries, SeriesPeriod
from tracker.series.periods import next_draft_on, period_label
from tracker.series.services import (
    SeriesError,
    create_series,
    items_released,
    mark_report,
    named_reports,
    released_documents,
    set_published,
    stop_series,
    why_not_repeatable,
)

MANAGERS = (Role.ADMIN, Role.STAFF)


@bp.app_template_global()
def series_of(record: RecordsRequest) -> list[RequestSeries]:
    """For the request's page: the series it started or belongs to."""
    started = select(RequestSeries.id).where(RequestSeries.source_request_id == record.id)
    member = select(SeriesPeriod.series_id).where(SeriesPeriod.request_id == record.id)
    return list(
        db.session.scalars(
            select(RequestSeries)
            .where(RequestSeries.id.in_(started.union(member)))
            .order_by(RequestSeries.id)
        )
    )


@bp.app_template_global()
def can_repeat(record: RecordsRequest) -> bool:
    """Whether the request's page offers "Repeat every …" to the person looking."""
    return (
        current_user.is_authenticated
        and current_user.role in MANAGERS
        and not why_not_repeatable(record)
    )


@bp.get("/series")
def list_series() -> str:
    series = db.session.scalars(select(RequestSeries).order_by(RequestSeries.id.desc())).all()
    return render_template("series/list.html", series=series)


@bp.route("/requests/<reference>/repeat", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new_series(reference: str) -> Response | str:
    record = get_request_or_404(reference)
    refusal = why_not_repeatable(record)
    if refusal:
        flash(refusal, "info")
        return redirect(url_for("requests.show_request", reference=reference))
    form = SeriesForm()
    form.assignee.choices = assignee_choices()
    reports = named_reports()
    form.report.choices = [
        SelectChoice("", "None"),
        *(SelectChoice(name, name) for name in reports),
        SelectChoice(OTHER_REPORT, "Other report (name it below)"),
    ]
    if not form.is_submitted():
        form.cadence.data = Cadence.QUARTER.value
        assignee = record.assignee or current_user
        form.assignee.data = str(assignee.id)
    if form.validate_on_submit():
        assignee = db.session.get(User, int(form.assignee.data))
        try:
            series = create_series(
                record,
                Cadence(form.cadence.data),
                form.period_ends.data or "",
                assignee,
                form.report_name(),
                current_user,
                local_today(),
            )
        except SeriesError as error:
            db.session.rollback()
            target = getattr(form, error.field, None)
            if target is None:
                form.form_errors.append(str(error))
            else:
                target.errors = [*target.errors, str(error)]
        else:
            db.session.commit()
            flash(f"{record.reference} now repeats: {series.cadence.label.lower()}.", "success")
            return redirect(url_for("series.show_series", series_id=series.id))
    return render_template("series/new.html", form=form, record=record)


def get_series_or_404(series_id: int) -> RequestSeries:
    return db.get_or_404(RequestSeries, series_id)


@bp.get("/series/<int:series_id>")
def show_series(series_id: int) -> str:
    return series_page(get_series_or_404(series_id))


def report_form(period: SeriesPeriod, documents: list[Document], formdata: bool) -> MarkReportForm:
    form = MarkReportForm(prefix=f"period-{period.id}", **({} if formdata else {"formdata": None}))
    form.document.choices = [
        SelectChoice("", "Choose a document"),
        *(
            SelectChoice(str(d.id), f"{d.title} ({d.document_date or d.uploaded_at.date()})")
            for d in documents
        ),
    ]
    return form


def series_page(series: RequestSeries, posted: MarkReportForm | None = None, posted_id: int = 0,
                stop_form: StopSeriesForm | None = None) -> str:  # fmt: skip
    today = local_today()
    documents = released_documents(series) if series.report_name else []
    rows = []
    for period in series.periods:
        form = None
        if posted is not None and posted_id == period.id:
            # Shown again as sent, with its message, whatever the period's state.
            form = posted
        elif series.report_name and period.end_on < today and period.report_document_id is None:
            form = report_form(period, documents, formdata=False)
        released = items_released(period.request) if period.request else None
        rows.append(
            {
                "period": period,
                "released": released,
                "form": form,
                "draft_on": period.end_on + timedelta(days=1),
                "label": period_label(period.start_on, period.end_on),
            }
        )
    room = PublicRoomForm(formdata=None)
    room.publish.data = "no" if series.published else "yes"
    return render_template(
        "series/show.html",
        series=series,
        rows=rows,
        today=today,
        has_documents=bool(documents),
        next_on=next_draft_on(series.cadence, series.first_start_on, today, series.listed_ends)
        if series.active
        else None,  # fmt: skip
        stop_form=stop_form or StopSeriesForm(formdata=None),
        room_form=room,
        managing=current_user.role in MANAGERS,
    )


@bp.post("/series/<int:series_id>/stop")
@roles_required(*MANAGERS)
def stop(series_id: int) -> Response | str:
    series = get_series_or_404(series_id)
    form = StopSeriesForm()
    if not form.validate_on_submit():
        return series_page(series, stop_form=form)
    try:
        stop_series(series, form.reason.data or "", current_user)
    except SeriesError as error:
        db.session.rollback()
        flash(str(error), "info")
    else:
        db.session.commit()
        flash("The series is stopped: no further requests are drafted.", "success")
    return redirect(url_for("series.show_series", series_id=series.id))


@bp.post("/series/<int:series_id>/public")
@roles_required(*MANAGERS)
def public_room(series_id: int) -> Response:
    series = get_series_or_404(series_id)
    form = PublicRoomForm()
    if form.validate_on_submit():
        set_published(series, form.publish.data == "yes", current_user)
        db.session.commit()
        flash(
            "Published in the public room." if series.published
            else "Withdrawn from the public room.",
            "success",
        )  # fmt: skip
    return redirect(url_for("series.show_series", series_id=series.id))


@bp.post("/series/<int:series_id>/periods/<int:period_id>/report")
@roles_required(*MANAGERS)
def mark_period_report(series_id: int, period_id: int) -> Response | str:
    series = get_series_or_404(series_id)
    period = db.get_or_404(SeriesPeriod, period_id)
    if period.series_id != series.id:
        abort(404)
    form = report_form(period, released_documents(series), formdata=True)
    if form.validate_on_submit():
        document = db.session.get(Document, int(form.document.data))
        try:
            if document is None:
                raise SeriesError("document", "Choose the document that is the report.")
            mark_report(period, document, current_user)
        except SeriesError as error:
            db.session.rollback()
            form.document.errors = [*form.document.errors, str(error)]
        else:
            db.session.commit()
            flash("Marked the period's report as received.", "success")
            return redirect(
                url_for("series.show_series", series_id=series.id, _anchor=f"period-{period.id}")
            )
    return series_page(series, posted=form, posted_id=period.id)

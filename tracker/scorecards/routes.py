"""Scorecards: one page comparing the agencies and one per agency, each chart with its
table and the table as CSV, all over the period and filters of one GET form."""

import csv
import io
from collections.abc import Sequence
from typing import Any

from flask import Response, abort, render_template, request, url_for
from sqlalchemy import select

from tracker.agencies.models import Agency
from tracker.extensions import db
from tracker.letters.services import local_today
from tracker.requests.models import Organization
from tracker.scorecards import bp
from tracker.scorecards.charts import svg
from tracker.scorecards.forms import PeriodForm
from tracker.scorecards.queries import Scope, figures_of, scorecard
from tracker.scorecards.tables import Table, agency_tables, by_name, comparison_tables
from tracker.text import spreadsheet_safe

# An SVG chart is an image: its own inline styles, nothing else, not even in a frame.
CHART_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


def period_form() -> PeriodForm:
    form = PeriodForm(request.args)
    organizations = db.session.scalars(select(Organization).order_by(Organization.name))
    form.organization.choices = [(None, "Any"), *((o.id, o.name) for o in organizations)]
    return form


def scope_of(form: PeriodForm, agency_id: int | None = None) -> Scope:
    """What the form asks for; a field the form refused filters nothing."""
    form.validate()
    return Scope(
        start=None if form.start.errors else form.start.data,
        end=None if form.end.errors else form.end.data,
        organization_id=form.organization.data,
        tag=(form.tag.data or "").strip()[:100],
        agency_id=agency_id,
    )


PERIOD_ARGS = ("start", "end", "organization", "tag")


def period_args() -> dict[str, Any]:
    """The form's own values, to carry into the charts' and downloads' links."""
    return {key: value for key, value in request.args.items() if key in PERIOD_ARGS and value}


def compared(scope: Scope) -> tuple[list[Table], int]:
    found, cited = scorecard(scope, local_today())
    return comparison_tables(found, cited), sum(f.filed for f in found)


def of_agency(agency: Agency, scope: Scope) -> tuple[list[Table], int]:
    found, cited = scorecard(scope, local_today())
    own = figures_of(agency, found)
    return agency_tables(own, cited), own.filed


def csv_of(table: Table, filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_safe(column) for column in table.columns])
    for row in table.rows:
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    response = Response(buffer.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def svg_of(table: Table) -> Response:
    response = Response(svg(table), mimetype="image/svg+xml")
    response.headers["Content-Security-Policy"] = CHART_POLICY
    return response


def one(tables: Sequence[Table], name: str) -> Table:
    table = by_name(tables, name)
    if table is None:
        abort(404)
    return table


@bp.get("/scorecards")
def compare() -> str:
    form = period_form()
    scope = scope_of(form)
    tables, filed = compared(scope)
    return render_template(
        "scorecards/compare.html",
        form=form,
        tables=tables,
        filed=filed,
        csv_url=lambda name: url_for("scorecards.compare_csv", table=name, **period_args()),
        chart_url=lambda name: url_for("scorecards.compare_chart", chart=name, **period_args()),
    )


@bp.get("/scorecards/<table>.csv")
def compare_csv(table: str) -> Response:
    tables, _ = compared(scope_of(period_form()))
    return csv_of(one(tables, table), f"scorecards-{table}.csv")


@bp.get("/scorecards/<chart>.svg")
def compare_chart(chart: str) -> Response:
    tables, _ = compared(scope_of(period_form()))
    return svg_of(one(tables, chart))


@bp.get("/agencies/<int:agency_id>/scorecard")
def agency(agency_id: int) -> str:
    found = db.get_or_404(Agency, agency_id)
    form = period_form()
    tables, filed = of_agency(found, scope_of(form, found.id))
    return render_template(
        "scorecards/agency.html",
        agency=found,
        form=form,
        tables=tables,
        filed=filed,
        csv_url=lambda name: url_for(
            "scorecards.agency_csv", agency_id=found.id, table=name, **period_args()
        ),
        chart_url=lambda name: url_for(
            "scorecards.agency_chart", agency_id=found.id, chart=name, **period_args()
        ),
    )


@bp.get("/agencies/<int:agency_id>/scorecard/<table>.csv")
def agency_csv(agency_id: int, table: str) -> Response:
    found = db.get_or_404(Agency, agency_id)
    tables, _ = of_agency(found, scope_of(period_form(), found.id))
    return csv_of(one(tables, table), f"scorecard-agency-{found.id}-{table}.csv")


@bp.get("/agencies/<int:agency_id>/scorecard/<chart>.svg")
def agency_chart(agency_id: int, chart: str) -> Response:
    found = db.get_or_404(Agency, agency_id)
    tables, _ = of_agency(found, scope_of(period_form(), found.id))
    return svg_of(one(tables, chart))

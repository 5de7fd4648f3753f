from datetime import date

from flask import render_template, request

from tracker.agencies.models import Agency
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.search import bp
from tracker.search.engine import KIND_LABELS, search

PER_PAGE = 20


def parse_day(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


@bp.get("/search")
def results() -> str:
    args = request.args
    query = args.get("q", "").strip()
    agency_id = args.get("agency", type=whole_number)
    kind = args.get("kind", "")
    kind = kind if kind in KIND_LABELS else ""
    date_from = parse_day(args.get("from", ""))
    date_to = parse_day(args.get("to", ""))
    page = max(args.get("page", 1, type=whole_number), 1)
    # One more than a page tells whether there is a next one.
    hits = search(
        db.session(),
        query,
        agency_id=agency_id,
        kind=kind or None,
        date_from=date_from,
        date_to=date_to,
        limit=PER_PAGE + 1,
        offset=(page - 1) * PER_PAGE,
    )
    agencies = db.session.scalars(db.select(Agency).order_by(Agency.name))
    return render_template(
        "search/results.html",
        query=query,
        hits=hits[:PER_PAGE],
        page=page,
        has_next=len(hits) > PER_PAGE,
        filters={
            "agency": str(agency_id or ""),
            "kind": kind,
            "from": date_from.isoformat() if date_from else "",
            "to": date_to.isoformat() if date_to else "",
        },
        options={
            "agency": [(str(a.id), a.display_name) for a in agencies],
            "kind": list(KIND_LABELS.items()),
        },
    )

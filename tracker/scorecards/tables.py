"""The numbers behind each chart, as tables: shown beside the chart, and as CSV.

A chart is drawn from its table and nothing else, so the picture, the table and the
download cannot disagree.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.items.models import ITEM_STATE_LABELS, ItemState
from tracker.scorecards.queries import ITEM_OUTCOMES, AgencyFigures, Citation

Cell = str | int | float | None


@dataclass(frozen=True)
class Table:
    name: str
    title: str
    columns: tuple[str, ...]
    rows: Sequence[tuple[Cell, ...]]
    # How the chart shows it: "hbar", "bar", "stacked" or "pie", and the columns it draws
    # (by position; the first column names each bar or slice).
    chart: str
    series: tuple[int, ...]
    caption: str = ""


def percent(share: float | None) -> float | None:
    return None if share is None else round(100 * share, 1)


OTHER_ITEMS = "Still open or withdrawn"
DETERMINATION_NOTE = (
    "Days from the day the agency received the request (or it was sent) to its first "
    "determination, and, kept apart, to its last release of records. Percentiles are "
    "nearest-rank: each is the number of days some request really took."
)
DEADLINE_NOTE = (
    "A request counts once its deadline has come or it was answered; answered on or before "
    "the deadline (with any lawful extension) is within it; unanswered past it is late."
)
ITEMS_NOTE = "Every item of the requests filed in the period, by where it stands now."
EXEMPTIONS_NOTE = (
    "Exemptions the agency cited for withholding items; a reason that is no exemption "
    "(“overly broad”, “burdensome”) is counted apart and flagged."
)


def exemptions_table(cited: Sequence[Citation]) -> Table:
    return Table(
        name="exemptions",
        title="Exemptions cited most",
        columns=("Exemption", "Law", "Times cited"),
        rows=[(c.label, c.law, c.count) for c in cited],
        chart="hbar",
        series=(2,),
        caption=EXEMPTIONS_NOTE,
    )


def comparison_tables(
    all_figures: Sequence[AgencyFigures], cited: Sequence[Citation]
) -> list[Table]:
    days = Table(
        name="days",
        title="Days to the first determination and to the last release",
        columns=(
            "Agency",
            "Requests determined",
            "Median days to first determination",
            "90th percentile days to first determination",
            "Requests with a release",
            "Median days to last release",
            "90th percentile days to last release",
        ),
        rows=[
            (
                f.name,
                f.first_determination.count,
                f.first_determination.median,
                f.first_determination.p90,
                f.last_release.count,
                f.last_release.median,
                f.last_release.p90,
            )
            for f in all_figures
        ],
        chart="hbar",
        series=(2, 3, 5, 6),
        caption=DETERMINATION_NOTE,
    )
    deadline = Table(
        name="deadline",
        title="Answered within the statutory deadline",
        columns=(
            "Agency",
            "Requests filed",
            "Deadline come or answered",
            "Answered within the deadline",
            "Share within the deadline (%)",
            "Overdue now",
        ),
        rows=[
            (
                f.name,
                f.filed,
                f.deadline_judged,
                f.within_deadline,
                percent(f.within_share),
                f.overdue,
            )
            for f in all_figures
        ],
        chart="hbar",
        series=(4,),
        caption=DEADLINE_NOTE,
    )
    items = Table(
        name="items",
        title="What became of the items asked for",
        columns=(
            "Agency",
            "Items",
            *(f"{ITEM_STATE_LABELS[state]} (%)" for state in ITEM_OUTCOMES),
            f"{OTHER_ITEMS} (%)",
        ),
        rows=[
            (
                f.name,
                f.item_total,
                *(percent(f.item_share(state)) for state in ITEM_OUTCOMES),
                percent(f.items_other / f.item_total) if f.item_total else None,
            )
            for f in all_figures
        ],
        chart="stacked",
        series=tuple(range(2, 3 + len(ITEM_OUTCOMES))),
        caption=ITEMS_NOTE,
    )
    return [days, deadline, items, exemptions_table(cited)]


def agency_tables(f: AgencyFigures, cited: Sequence[Citation]) -> list[Table]:
    days = Table(
        name="days",
        title="Days to the first determination and to the last release",
        columns=("Measure", "Requests", "Median days", "90th percentile days"),
        rows=[
            (
                "To the first determination",
                f.first_determination.count,
                f.first_determination.median,
                f.first_determination.p90,
            ),
            (
                "To the last release",
                f.last_release.count,
                f.last_release.median,
                f.last_release.p90,
            ),
        ],
        chart="bar",
        series=(2, 3),
        caption=DETERMINATION_NOTE,
    )
    late = f.deadline_judged - f.within_deadline
    deadline = Table(
        name="deadline",
        title="Answered within the statutory deadline",
        columns=("Requests", "Number", "Share (%)"),
        rows=[
            ("Answered within the deadline", f.within_deadline, percent(f.within_share)),
            (
                "Late or still unanswered past it",
                late,
                percent(late / f.deadline_judged) if f.deadline_judged else None,
            ),
        ],
        chart="pie",
        series=(1,),
        caption=(
            f"{f.filed} request{'' if f.filed == 1 else 's'} filed; {f.overdue} overdue now. "
            f"{DEADLINE_NOTE}"
        ),
    )
    total = f.item_total
    states: list[tuple[str, int]] = [
        (ITEM_STATE_LABELS[state], f.items.get(state, 0)) for state in ITEM_OUTCOMES
    ]
    states.append((OTHER_ITEMS, f.items_other))
    items = Table(
        name="items",
        title="What became of the items asked for",
        columns=("Item state", "Items", "Share (%)"),
        rows=[(label, n, percent(n / total) if total else None) for label, n in states],
        chart="pie",
        series=(1,),
        caption=ITEMS_NOTE,
    )
    return [days, deadline, items, exemptions_table(cited)]


def by_name(tables: Sequence[Table], name: str) -> Table | None:
    return next((table for table in tables if table.name == name), None)


__all__ = ["ItemState", "Table", "agency_tables", "by_name", "comparison_tables"]

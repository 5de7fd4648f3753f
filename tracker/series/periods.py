"""The periods of a series, as pure functions of dates: no database, no clock.

Months, quarters, half-years and years are calendar periods (a quarter is Jan–Mar,
Apr–Jun, Jul–Sep or Oct–Dec). Periods on listed dates run from the day after one
listed date to the next. A series' first period starts the day after the source
request's records end and runs to the end of the period that day falls in, so no day is
asked for twice and none is left out. Each period's request is drafted the day after
the period ends.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tracker.letters.library import format_date
from tracker.series.models import Cadence

MONTHS = {Cadence.MONTH: 1, Cadence.QUARTER: 3, Cadence.HALF_YEAR: 6, Cadence.YEAR: 12}
# Enough for a monthly series of more than forty years; a bound on any loop.
MOST_PERIODS = 500


@dataclass(frozen=True, order=True)
class Period:
    start_on: date
    end_on: date

    @property
    def draft_on(self) -> date:
        """The day its request is drafted: the first day after it ends."""
        return self.end_on + timedelta(days=1)

    @property
    def label(self) -> str:
        return period_label(self.start_on, self.end_on)


def period_label(start_on: date, end_on: date) -> str:
    return f"{format_date(start_on)} – {format_date(end_on)}"


def calendar_end(cadence: Cadence, day: date) -> date:
    """The last day of the month, quarter, half-year or year that ``day`` falls in."""
    months = MONTHS[cadence]
    first_month = (day.month - 1) // months * months + 1
    next_month = first_month + months
    year = day.year + (next_month - 1) // 12
    next_start = date(year, (next_month - 1) % 12 + 1, 1)
    return next_start - timedelta(days=1)


def period_from(cadence: Cadence, start_on: date, ends: Sequence[date] = ()) -> Period | None:
    """The period that starts on ``start_on``; None past the last listed date."""
    if cadence is Cadence.DATES:
        end = next((day for day in sorted(ends) if day >= start_on), None)
        return Period(start_on, end) if end else None
    return Period(start_on, calendar_end(cadence, start_on))


def periods_until(
    cadence: Cadence, first_start_on: date, until: date, ends: Sequence[date] = ()
) -> list[Period]:
    """Every period from the first that has begun by ``until``, in order."""
    found: list[Period] = []
    start = first_start_on
    while start <= until and len(found) < MOST_PERIODS:
        period = period_from(cadence, start, ends)
        if period is None:
            break
        found.append(period)
        start = period.draft_on
    return found


def due_periods(
    cadence: Cadence, first_start_on: date, today: date, ends: Sequence[date] = ()
) -> list[Period]:
    """The periods that have ended before today: each one's request is due."""
    return [p for p in periods_until(cadence, first_start_on, today, ends) if p.end_on < today]


def next_draft_on(
    cadence: Cadence, first_start_on: date, today: date, ends: Sequence[date] = ()
) -> date | None:
    """When the next request not yet due will be drafted; None when no period is left."""
    start = first_start_on
    for _ in range(MOST_PERIODS):
        period = period_from(cadence, start, ends)
        if period is None:
            return None
        if period.draft_on > today:
            return period.draft_on
        start = period.draft_on
    return None

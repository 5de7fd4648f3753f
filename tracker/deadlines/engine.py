"""The deadline engine: dates in, deadlines and an explanation out.

Pure: no database, no clock. "Today" is passed in where it matters.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from tracker.deadlines.calendars import AgencyCalendar, next_business_day
from tracker.laws import Law


def day_name(day: date) -> str:
    return f"{day:%a} {day:%b} {day.day}, {day.year}"


def short_day(day: date) -> str:
    return f"{day:%b} {day.day}"


@dataclass(frozen=True)
class Extension:
    """What the agency said when it extended its time."""

    notice_on: date | None
    claimed_on: date | None
    written: bool = True


@dataclass(frozen=True)
class Facts:
    """What a request's history tells the engine."""

    received_on: date | None
    sent_on: date | None = None
    extension: Extension | None = None
    determination_on: date | None = None
    promised_on: date | None = None


@dataclass(frozen=True)
class Deadlines:
    law: str
    received_on: date | None
    first_due_on: date | None = None
    lawful_latest_on: date | None = None
    due_on: date | None = None
    promised_on: date | None = None
    steps: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        return " ".join(self.steps)


def add_days(
    start: date, days: int, kind: str, calendar: AgencyCalendar
) -> tuple[date, list[tuple[date, str]]]:
    """The last day of a period of ``days`` after ``start`` (start excluded), and
    the days off skipped on the way (working days) or passed over (calendar)."""
    skipped: list[tuple[date, str]] = []
    if kind == "calendar":
        return start + timedelta(days=days), skipped
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        reason = calendar.holiday(day)
        if reason is None:
            counted += 1
        elif day.weekday() < 5:
            skipped.append((day, reason))
    return day, skipped


def period(
    start: date, days: int, kind: str, calendar: AgencyCalendar, law: Law, citation: str
) -> tuple[date, str]:
    """The deadline of a period and one sentence that explains it."""
    end, skipped = add_days(start, days, kind, calendar)
    if kind == "working":
        text = f"{days} working days ({citation})"
        if skipped:
            listed = ", ".join(f"{name} {short_day(day)}" for day, name in skipped)
            text += f", not counting weekends and holidays ({listed}),"
        else:
            text += ", not counting weekends and holidays,"
        return end, f"{text} end {day_name(end)}."
    text = f"{days} calendar days ({citation}) end {day_name(end)}"
    if calendar.holiday(end) is None:
        return end, text + "."
    moved = next_business_day(calendar, end)
    passed, closures = [], False
    day = end
    while day < moved:
        reason = calendar.holiday(day) or ""
        if reason.endswith("(agency closure)"):
            closures = True
            passed.append(
                f"{day_name(day)} is {reason.removesuffix(' (agency closure)')}, "
                "a day the office is closed"
            )
        elif reason in ("Saturday", "Sunday"):
            if day == end:
                passed.append(f"that is a {reason}")
        else:
            passed.append(f"{day_name(day) if day != end else 'that'} is {reason}, a holiday")
        day += timedelta(days=1)
    rule = f"{law.roll_citation}; {law.closure_citation}" if closures else law.roll_citation
    return moved, f"{text}; {'; '.join(passed)}; the deadline moves to {day_name(moved)} ({rule})."


def compute(law: Law, calendar: AgencyCalendar, facts: Facts) -> Deadlines:
    """The determination deadline of a request, with the steps that lead to it."""
    start = facts.received_on
    steps: list[str] = []
    warnings: list[str] = []
    if start is None:
        if facts.sent_on is None:
            return Deadlines(law=law.id, received_on=None, promised_on=facts.promised_on)
        start = facts.sent_on
        steps.append(f"Receipt not recorded; counting from the day it was sent, {day_name(start)}.")
    else:
        steps.append(f"Received {day_name(start)}.")
    first, sentence = period(
        start, law.response_days, law.day_kind, calendar, law, law.response_citation
    )
    steps.append(sentence)
    due, lawful = first, None

    extension = facts.extension
    if extension is not None and law.extension_days:
        total = law.response_days + law.extension_days
        if law.extension_kind == law.day_kind:
            lawful, text = period(start, total, law.day_kind, calendar, law, law.extension_citation)
            steps.append(
                f"An extension may add at most {law.extension_days} "
                f"{law.extension_kind} days: {text[0].lower()}{text[1:]}"
            )
        else:
            lawful, text = period(
                first, law.extension_days, law.extension_kind, calendar, law,
                law.extension_citation,
            )  # fmt: skip
            steps.append(f"An extension may add at most {text}")
        valid = True
        if not extension.written:
            valid = False
            warnings.append(
                f"No written notice of the extension: it does not extend the deadline "
                f"({law.extension_citation})."
            )
        if extension.notice_on and extension.notice_on > first:
            valid = False
            warnings.append(
                f"The extension notice of {day_name(extension.notice_on)} came after the "
                f"{day_name(first)} deadline had passed; a late notice extends nothing."
            )
        claimed = extension.claimed_on
        if claimed and claimed > lawful:
            warnings.append(
                f"The agency claims until {day_name(claimed)}, "
                f"{(claimed - lawful).days} days past the lawful latest date, {day_name(lawful)}."
            )
        if valid:
            due = min(claimed, lawful) if claimed and claimed >= first else lawful
            steps.append(f"With the extension, the deadline is {day_name(due)}.")
        else:
            steps.append(f"The deadline stays {day_name(first)}.")
    elif extension is not None:
        warnings.append(f"{law.name} provides no extension ({law.extension_citation}).")

    if facts.determination_on:
        steps.append(f"The agency made its determination on {day_name(facts.determination_on)}.")
    if facts.promised_on:
        steps.append(f"It promised the records by {day_name(facts.promised_on)}.")
    return Deadlines(
        law=law.id,
        received_on=start,
        first_due_on=first,
        lawful_latest_on=lawful,
        due_on=due,
        promised_on=facts.promised_on,
        steps=tuple(steps),
        warnings=tuple(warnings),
    )


# Classification for the dashboard --------------------------------------------------

FOLLOW_UP_EVERY = timedelta(days=14)


@dataclass(frozen=True)
class Standing:
    """Where a request stands today, in words staff can act on."""

    overdue_days: int = 0
    days_left: int | None = None
    past_promised_days: int = 0
    waiting_on_us: bool = False
    reasons: tuple[str, ...] = field(default_factory=tuple)
    next_follow_up_on: date | None = None
    follow_up_due_now: bool = False

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0

    @property
    def past_promised(self) -> bool:
        return self.past_promised_days > 0


def standing(
    deadlines: Deadlines,
    *,
    closed: bool,
    draft: bool,
    waiting_on_us: bool,
    determination_on: date | None,
    records_complete: bool,
    follow_ups_sent: Sequence[date],
    today: date,
) -> Standing:
    """Overdue, due soon, past the promised date, or paused; and when to follow up."""
    if closed or draft or deadlines.due_on is None:
        return Standing()
    if waiting_on_us:
        return Standing(waiting_on_us=True, reasons=("Waiting on us: the clock is paused.",))
    reasons = []
    overdue_days, days_left = 0, None
    due = deadlines.due_on
    if determination_on is None:
        if today > due:
            overdue_days = (today - due).days
            reasons.append(
                f"No determination {overdue_days} day{'s' if overdue_days != 1 else ''} "
                f"after the {short_day(due)} deadline."
            )
        else:
            days_left = (due - today).days
    promised_days = 0
    promised = deadlines.promised_on
    if promised and not records_complete and today > promised:
        promised_days = (today - promised).days
        reasons.append(
            f"Records promised by {short_day(promised)} not received, "
            f"{promised_days} day{'s' if promised_days != 1 else ''} late."
        )
    next_follow_up: date | None = None
    missed = due if overdue_days else promised if promised_days else None
    if missed is not None:
        start = missed + timedelta(days=1)
        last = max(follow_ups_sent, default=None)
        next_follow_up = max(start, last + FOLLOW_UP_EVERY) if last else start
    return Standing(
        overdue_days=overdue_days,
        days_left=days_left,
        past_promised_days=promised_days,
        reasons=tuple(reasons),
        next_follow_up_on=next_follow_up,
        follow_up_due_now=next_follow_up is not None and next_follow_up <= today,
    )

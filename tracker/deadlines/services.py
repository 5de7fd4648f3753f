"""Deadlines of stored requests: their calendars, their facts, and keeping ``due_on`` true.

``RecordsRequest.due_on`` is derived, never typed: it is recomputed in the same
flush whenever a request, or a day of its agency's calendar, changes.
"""

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session

from tracker.agencies.models import Agency
from tracker.deadlines.calendars import AgencyCalendar
from tracker.deadlines.engine import Deadlines, Extension, Facts, Standing, compute, standing
from tracker.deadlines.models import AgencyCalendarDay, DayKind
from tracker.laws import all_laws
from tracker.requests.models import CLOSED_STATUSES, RecordsRequest, RequestStatus

COMPLETE = {RequestStatus.FULFILLED, *CLOSED_STATUSES}


def calendar_for(session: Session, agency: Agency) -> AgencyCalendar:
    law = all_laws()[agency.law]
    closures: dict[date, str] = {}
    openings: dict[date, str] = {}
    with session.no_autoflush:
        days = session.scalars(
            select(AgencyCalendarDay).where(AgencyCalendarDay.agency_id == agency.id)
        ).all()
    for day in days:
        (closures if day.kind == DayKind.CLOSED else openings)[day.day] = day.note or "closed"
    return AgencyCalendar(base=law.calendar, closures=closures, openings=openings)


def facts_for(request: RecordsRequest) -> Facts:
    extension = None
    if request.extension_notice_on or request.extension_claimed_on:
        extension = Extension(
            notice_on=request.extension_notice_on,
            claimed_on=request.extension_claimed_on,
            written=request.extension_written,
        )
    return Facts(
        received_on=request.received_on,
        sent_on=request.sent_on,
        extension=extension,
        determination_on=request.determination_on,
        promised_on=request.records_promised_on,
    )


def deadlines_for(
    session: Session, request: RecordsRequest, calendar: AgencyCalendar | None = None
) -> Deadlines:
    law = all_laws()[request.agency.law]
    calendar = calendar or calendar_for(session, request.agency)
    return compute(law, calendar, facts_for(request))


def standing_for(request: RecordsRequest, deadlines: Deadlines, today: date) -> Standing:
    return standing(
        deadlines,
        closed=request.status in CLOSED_STATUSES,
        draft=request.status == RequestStatus.DRAFT,
        waiting_on_us=request.status == RequestStatus.WAITING_ON_US,
        determination_on=request.determination_on,
        records_complete=request.status in COMPLETE,
        follow_ups_sent=follow_ups_sent(request),
        today=today,
    )


def follow_ups_sent(request: RecordsRequest) -> list[date]:
    return [
        letter.sent_on
        for letter in request.letters
        if letter.kind != "initial" and letter.sent_on is not None
    ]


def refresh(session: Session, requests: Iterable[RecordsRequest]) -> None:
    calendars: dict[int, AgencyCalendar] = {}
    for request in requests:
        with session.no_autoflush:
            agency = request.agency or session.get(Agency, request.agency_id)
        if agency is None:
            continue
        if agency.id not in calendars:
            calendars[agency.id] = calendar_for(session, agency)
        law = all_laws()[agency.law]
        due = compute(law, calendars[agency.id], facts_for(request)).due_on
        if request.due_on != due:
            request.due_on = due


@event.listens_for(Session, "before_flush")
def _note_deadline_inputs(session: Session, flush_context: Any, instances: Any) -> None:
    pending = session.info.setdefault("deadline_inputs", (set(), set()))
    requests, agencies = pending
    for obj in [*session.new, *session.dirty, *session.deleted]:
        if isinstance(obj, RecordsRequest) and obj not in session.deleted:
            if obj in session.new or changed(obj, REQUEST_INPUTS):
                requests.add(obj)
        elif isinstance(obj, AgencyCalendarDay):
            agencies.add(obj.agency_id)
        elif isinstance(obj, Agency) and changed(obj, ("law",)):
            agencies.add(obj.id)


# What a due date is computed from; edits to anything else leave it alone.
REQUEST_INPUTS = (
    "received_on",
    "sent_on",
    "agency_id",
    "agency",
    "extension_notice_on",
    "extension_claimed_on",
    "extension_written",
    "determination_on",
    "records_promised_on",
)


def changed(obj: object, names: tuple[str, ...]) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "after_flush_postexec")
def _keep_due_dates_true(session: Session, flush_context: Any) -> None:
    # After the flush the database holds the new calendar days; a due date that
    # changes here is written by the next flush, which commit runs until clean.
    requests, agencies = session.info.pop("deadline_inputs", (set(), set()))
    changed = list(requests)
    if agencies:
        changed += session.scalars(
            select(RecordsRequest).where(
                RecordsRequest.agency_id.in_(agencies),
                RecordsRequest.status.not_in(list(CLOSED_STATUSES)),
            )
        ).all()
    if changed:
        refresh(session, changed)


def refresh_all(session: Session) -> int:
    """Recompute every open request's deadline, e.g. after the law data changed."""
    requests = session.scalars(
        select(RecordsRequest).where(RecordsRequest.status.not_in(list(CLOSED_STATUSES)))
    ).all()
    before = {r.id: r.due_on for r in requests}
    refresh(session, requests)
    return sum(1 for r in requests if r.due_on != before[r.id])

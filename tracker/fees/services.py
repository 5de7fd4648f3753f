"""Recording a request's fee steps, and reading them back for its page and the board."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import ColumnElement, and_, exists, select
from sqlalchemy.orm import Session, aliased

from tracker.auth.models import User
from tracker.extensions import db
from tracker.fees.rules import (
    LAW_NOTES,
    NEEDS_AMOUNT,
    Step,
    awaiting_estimate,
    dollars,
    summary,
    waiting_reason,
)
from tracker.items.models import Fee, FeeKind
from tracker.requests.models import CLOSED_STATUSES, RecordsRequest, RequestEvent
from tracker.sqltypes import utcnow


class FeeError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FeeValues:
    kind: FeeKind
    amount: Decimal | None
    dated_on: date
    note: str = ""


def step_of(fee: Fee) -> Step:
    return Step(fee.kind, fee.amount, fee.dated_on)


def describe(fee: Fee | FeeValues) -> str:
    amount = f" of {dollars(fee.amount)}" if fee.amount is not None else ""
    day = fee.dated_on
    return f"{fee.kind.label}{amount} on {day:%b} {day.day}, {day.year}"


def record_fee(request: RecordsRequest, values: FeeValues, actor: User | None) -> Fee:
    """A fee step, on the request's timeline with who recorded it."""
    if values.kind in NEEDS_AMOUNT and values.amount is None:
        raise FeeError("amount", f"Enter the amount of the {values.kind.label.lower()}.")
    if values.amount is not None and values.amount < 0:
        raise FeeError("amount", "An amount cannot be negative.")
    fee = Fee(
        request_id=request.id,
        kind=values.kind,
        amount=values.amount,
        dated_on=values.dated_on,
        note=values.note.strip(),
        created_by=actor,
    )
    db.session.add(fee)
    request.events.append(
        RequestEvent(
            actor=actor,
            kind="fee",
            changes=[{"field": "Fees", "old": "", "new": describe(values)}],
            note=values.note.strip(),
        )
    )
    db.session.flush()
    return fee


def remove_fee(fee: Fee, actor: User, reason: str) -> None:
    """Take back a step recorded by mistake; the row stays, with who removed it, when and
    why, and the timeline says so."""
    reason = reason.strip()
    if not reason:
        raise FeeError("reason", "Say why the step is removed, such as “wrong amount”.")
    if fee.removed_at is not None:
        raise FeeError("reason", "This step was removed already.")
    fee.removed_at = utcnow()
    fee.removed_by_id = actor.id
    fee.removal_reason = reason
    fee.request.events.append(
        RequestEvent(
            actor=actor,
            kind="fee",
            changes=[{"field": "Fees", "old": describe(fee), "new": ""}],
            note=f"Removed the fee step: {reason}",
        )
    )
    db.session.flush()


def fees_of(session: Session, request_id: int, removed: bool = False) -> Sequence[Fee]:
    """The request's fee steps in order: those that stand, or those removed."""
    gone = Fee.removed_at.is_not(None) if removed else Fee.removed_at.is_(None)
    return session.scalars(
        select(Fee).where(Fee.request_id == request_id, gone).order_by(Fee.dated_on, Fee.id)
    ).all()


@dataclass(frozen=True)
class FeeStanding:
    fees: Sequence[Fee]
    # Each step with its amount written out ("$120.00", or "" for none).
    rows: Sequence[tuple[Fee, str]]
    summary: str
    waiting: str
    law_note: str
    # The steps taken back, each with its amount written out.
    removed: Sequence[tuple[Fee, str]] = ()


def standing_of(session: Session, request: RecordsRequest) -> FeeStanding:
    fees = fees_of(session, request.id)
    steps = [step_of(fee) for fee in fees]
    estimate = None if request.status in CLOSED_STATUSES else awaiting_estimate(steps)
    return FeeStanding(
        fees=fees,
        rows=[(fee, dollars(fee.amount)) for fee in fees],
        summary=summary(steps),
        waiting=waiting_reason(estimate) if estimate else "",
        law_note=LAW_NOTES.get(request.agency.law, ""),
        removed=[(fee, dollars(fee.amount)) for fee in fees_of(session, request.id, True)],
    )


# The board ----------------------------------------------------------------------------


def estimate_awaits_answer() -> ColumnElement[bool]:
    """SQL for the board's "waiting on us": the request's latest fee step is an estimate or
    a waiver refused, it has had an estimate, and it is not closed (the rule of
    ``rules.awaiting_estimate``)."""
    r = RecordsRequest
    later = aliased(Fee)
    latest = aliased(Fee)
    estimate = aliased(Fee)
    is_latest = ~exists().where(
        later.request_id == latest.request_id,
        later.removed_at.is_(None),
        (later.dated_on > latest.dated_on)
        | and_(later.dated_on == latest.dated_on, later.id > latest.id),
    )
    return and_(
        r.status.not_in(CLOSED_STATUSES),
        exists().where(
            latest.request_id == r.id,
            latest.removed_at.is_(None),
            latest.kind.in_([FeeKind.ESTIMATE, FeeKind.WAIVER_DENIED]),
            is_latest,
        ),
        exists().where(
            estimate.request_id == r.id,
            estimate.removed_at.is_(None),
            estimate.kind == FeeKind.ESTIMATE,
        ),
    )


def waiting_reasons(session: Session, requests: Sequence[RecordsRequest]) -> dict[int, str]:
    """Why each of these requests waits on us for a fee, in one query."""
    open_ids = [r.id for r in requests if r.status not in CLOSED_STATUSES]
    if not open_ids:
        return {}
    steps: dict[int, list[Step]] = {}
    rows = session.execute(
        select(Fee.request_id, Fee.kind, Fee.amount, Fee.dated_on)
        .where(Fee.request_id.in_(open_ids), Fee.removed_at.is_(None))
        .order_by(Fee.dated_on, Fee.id)
    )
    for request_id, kind, amount, dated_on in rows:
        steps.setdefault(request_id, []).append(Step(kind, amount, dated_on))
    reasons = {}
    for request_id, own in steps.items():
        estimate = awaiting_estimate(own)
        if estimate:
            reasons[request_id] = waiting_reason(estimate)
    return reasons

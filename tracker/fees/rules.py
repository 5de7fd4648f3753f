"""The rules of fees, as pure functions: the running summary, and whether an estimate
still waits for our answer (amounts as typed are read by tracker/money.py).

Under the CPRA an agency may charge only the direct cost of duplication, or a fee a
statute sets (Gov. Code § 7922.530(a)); staff time to search for or review records is
not a cost of duplication (North County Parents Organization v. Department of Education,
23 Cal.App.4th 144 (1994)). Data compilation, extraction or programming of electronic
records is the exception (§ 7922.575(b)). Nothing in the Act pauses the 10-day
determination while a fee estimate waits. The FOIA differs: fees follow the requester's
category (5 U.S.C. § 552(a)(4)(A)), and the agency may toll its 20 working days while it
clarifies fee assessment with the requester (§ 552(a)(6)(A)(ii)(II)).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from tracker.items.models import FeeKind
from tracker.money import dollars

NEEDS_AMOUNT = frozenset({FeeKind.ESTIMATE, FeeKind.PAYMENT})

# What each step is called in the running summary.
SUMMARY_WORDS = {
    FeeKind.ESTIMATE: "estimate",
    FeeKind.WAIVER_REQUESTED: "waiver asked",
    FeeKind.WAIVER_GRANTED: "waiver granted",
    FeeKind.WAIVER_DENIED: "waiver denied",
    FeeKind.PAYMENT: "paid",
}

CPRA_NOTE = (
    "Under the CPRA a fee estimate pauses no deadline: the agency owes its determination "
    "within 10 days (or a lawful extension) whatever it charges, and may charge only the "
    "direct cost of duplication (Gov. Code § 7922.530(a)), not staff time to search for or "
    "review records."
)
FOIA_NOTE = (
    "Under the FOIA fees depend on the requester's category (5 U.S.C. § 552(a)(4)(A)), and "
    "the agency may pause its 20 working days while it clarifies the fee with us "
    "(§ 552(a)(6)(A)(ii)(II)); the clock runs again when we answer."
)
LAW_NOTES = {"ca-cpra": CPRA_NOTE, "us-foia": FOIA_NOTE}


def short_day(day: date) -> str:
    return f"{day:%b} {day.day}"


@dataclass(frozen=True)
class Step:
    kind: FeeKind
    amount: Decimal | None
    dated_on: date


def summary(steps: Sequence[Step]) -> str:
    """The steps in a line: "Estimate $120.00 on Nov 3; waiver asked Nov 4; paid $120.00 Dec 1"."""
    parts = []
    for step in in_order(steps):
        amount = f" {dollars(step.amount)}" if step.amount is not None else ""
        if step.kind is FeeKind.ESTIMATE:
            parts.append(f"estimate{amount} on {short_day(step.dated_on)}")
        else:
            parts.append(f"{SUMMARY_WORDS[step.kind]}{amount} {short_day(step.dated_on)}")
    text = "; ".join(parts)
    return text[:1].upper() + text[1:]


def in_order(steps: Sequence[Step]) -> list[Step]:
    """Oldest first; steps of one day keep the order they were recorded in."""
    return sorted(steps, key=lambda step: step.dated_on)


# The latest step leaves the fee with us: an estimate, or a waiver refused.
LEAVES_IT_WITH_US = frozenset({FeeKind.ESTIMATE, FeeKind.WAIVER_DENIED})


def awaiting_estimate(steps: Sequence[Step]) -> Step | None:
    """The estimate that waits for our answer, if any.

    It waits when the latest step is the estimate itself or a waiver refused: a payment
    or a waiver granted settles it, and a waiver we asked for leaves the next move to the
    agency. A closed request (withdrawn, say) waits for nothing; callers check that.
    """
    ordered = in_order(steps)
    estimates = [step for step in ordered if step.kind is FeeKind.ESTIMATE]
    if not estimates or ordered[-1].kind not in LEAVES_IT_WITH_US:
        return None
    return estimates[-1]


def waiting_reason(estimate: Step) -> str:
    amount = f" of {dollars(estimate.amount)}" if estimate.amount is not None else ""
    return f"Fee estimate{amount} from {short_day(estimate.dated_on)} awaits an answer."

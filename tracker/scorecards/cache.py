"""Scorecards kept until the data under them changes.

Every figure of a scorecard reads all the requests of its period, which costs a few
hundred milliseconds at a hundred thousand requests; the figures change only when a
request, a response, an item or a citation does. So the figures of each scope are kept,
with a stamp read in one cheap statement (the highest id of the timeline, the responses,
the items, their answers and citations, and the fees, since every change to a request
adds a timeline entry; and the agencies' and their calendars' latest change, since a
closed day moves deadlines). A different stamp, a new day, or ten minutes, and the
figures are worked out again. Each process keeps its own, so several workers agree.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from flask import current_app
from sqlalchemy import func, select

from tracker.agencies.models import Agency
from tracker.deadlines.models import AgencyCalendarDay
from tracker.documents.models import AgencyResponse
from tracker.extensions import db
from tracker.items.models import ExemptionCitation, Fee, ItemAnswer, RequestItem
from tracker.requests.models import RecordsRequest, RequestEvent

KEPT_SECONDS = 600
KEPT_SCOPES = 64
T = TypeVar("T")


def stamp() -> tuple[Any, ...]:
    latest = [
        select(func.max(model.id)).scalar_subquery()
        for model in (RequestEvent, RecordsRequest, AgencyResponse, RequestItem, ItemAnswer,
                      ExemptionCitation, Fee, AgencyCalendarDay)
    ]  # fmt: skip
    latest.append(select(func.count(AgencyCalendarDay.id)).scalar_subquery())
    latest.append(select(func.max(Agency.updated_at)).scalar_subquery())
    return tuple(db.session.execute(select(*latest)).one())


class Kept:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.entries: OrderedDict[Hashable, tuple[tuple[Any, ...], float, Any]] = OrderedDict()

    def get(self, key: Hashable, work_out: Callable[[], T]) -> T:
        now = time.monotonic()
        current = stamp()
        with self.lock:
            entry = self.entries.get(key)
            if entry and entry[0] == current and now - entry[1] < KEPT_SECONDS:
                self.entries.move_to_end(key)
                return entry[2]
        value = work_out()
        with self.lock:
            self.entries[key] = (current, now, value)
            self.entries.move_to_end(key)
            while len(self.entries) > KEPT_SCOPES:
                self.entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


def kept() -> Kept:
    store = current_app.extensions.get("scorecards")
    if store is None:
        store = current_app.extensions["scorecards"] = Kept()
    return store

"""How fast the "Due & overdue" board answers with 100,000 requests and 1,000,000 events.

Run with `make bench` (SQLite in a temporary folder; set TRACKER_DATABASE_URL to a
throwaway PostgreSQL database to measure that instead). Prints, for the first
page and a filtered page of the overdue section, the median and 95th percentile
server time over repeated requests, and the SQL queries each page runs, at 25
and at 100 rows a page: the count must not grow with the page size.
"""

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from tracker import create_app
from tracker.agencies.models import Agency
from tracker.agencies.services import seed_agencies
from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "100000"))
EVENTS_PER_REQUEST = 10
ROUNDS = 30
TODAY = date(2026, 12, 14)
STATUSES = [
    RequestStatus.SENT, RequestStatus.ACKNOWLEDGED, RequestStatus.EXTENDED,
    RequestStatus.RECORDS_DUE, RequestStatus.WAITING_ON_US, RequestStatus.FULFILLED,
    RequestStatus.DENIED,
]  # fmt: skip


def fill(staff: list[User], agencies: list[Agency]) -> None:
    """Bulk rows straight into the tables; due dates as the engine would give them."""
    rng = random.Random(42)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    batch = 5000
    for start in range(0, REQUESTS, batch):
        rows = []
        for n in range(start, min(start + batch, REQUESTS)):
            received = TODAY - timedelta(days=rng.randint(0, 900))
            status = rng.choice(STATUSES)
            answered = status in (RequestStatus.RECORDS_DUE, RequestStatus.FULFILLED)
            rows.append(
                {
                    "reference": f"LA-B-{n:07d}",
                    "year": 2026,
                    "number": n + 1,
                    "title": f"Benchmark request {n}",
                    "agency_id": rng.choice(agencies).id,
                    "assignee_id": rng.choice(staff).id if rng.random() < 0.7 else None,
                    "status": status,
                    "received_on": received,
                    "sent_on": received,
                    "due_on": received + timedelta(days=10 + rng.randint(0, 3)),
                    "determination_on": received + timedelta(days=9) if answered else None,
                    "records_promised_on": (
                        received + timedelta(days=40)
                        if status == RequestStatus.RECORDS_DUE
                        else None
                    ),
                    "created_at": now,
                    "updated_at": now,
                    "tags": ",bench," if n % 10 == 0 else "",
                }
            )
        # Plain inserts: the derived due dates are given, so no flush hook runs.
        db.session.execute(insert(RecordsRequest.__table__), rows)
        first_id = db.session.scalar(
            select(RecordsRequest.id).where(RecordsRequest.reference == rows[0]["reference"])
        )
        events = [
            {
                "request_id": first_id + i,
                "occurred_at": now,
                "kind": "note",
                "changes": [],
                "note": f"Event {k}",
            }
            for i in range(len(rows))
            for k in range(EVENTS_PER_REQUEST)
        ]
        db.session.execute(insert(RequestEvent.__table__), events)
        db.session.commit()
        print(f"  {min(start + batch, REQUESTS):>7} requests", end="\r", file=sys.stderr)
    print(file=sys.stderr)


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


def measure(client: Any, path: str, counter: QueryCounter) -> tuple[float, float, int]:
    times = []
    queries = 0
    for _ in range(ROUNDS):
        counter.count = 0
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, response.status_code
        queries = counter.count
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    return statistics.median(times), p95, queries


def main() -> None:
    folder = tempfile.mkdtemp(prefix="tracker-bench-")
    url = os.environ.get("TRACKER_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench",
         "WTF_CSRF_ENABLED": False, "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}
    )  # fmt: skip
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        seed_agencies()
        staff = []
        for n in range(8):
            user = User(email=f"staff{n}@example.org", name=f"Staff {n}", role=Role.STAFF)
            user.set_password("benchmark password")
            db.session.add(user)
            staff.append(user)
        db.session.commit()
        agencies = list(db.session.scalars(select(Agency)))
        print(f"Filling {REQUESTS:,} requests and {REQUESTS * EVENTS_PER_REQUEST:,} events…")
        started = time.perf_counter()
        fill(staff, agencies)
        print(f"filled in {time.perf_counter() - started:.0f} s")
        lapd = db.session.scalar(select(Agency).where(Agency.slug == "lapd"))
        staff_id = staff[0].id
    counter = QueryCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    import tracker.deadlines.routes as routes

    routes.today_for_request = lambda: TODAY  # type: ignore[assignment]
    client = app.test_client()
    client.post("/login", data={"email": "staff0@example.org", "password": "benchmark password"})
    pages = {
        "overdue, first page": "/due?section=overdue",
        "overdue, filtered (agency + assignee)": (
            f"/due?section=overdue&agency={lapd.id}&assignee={staff_id}"
        ),
        "overdue, tag filter": "/due?section=overdue&tag=bench",
    }
    print(f"{'page':42} {'rows':>4} {'median':>9} {'p95':>9} {'queries':>8}")
    for name, path in pages.items():
        for per_page in (25, 100):
            median, p95, queries = measure(client, f"{path}&per_page={per_page}", counter)
            print(
                f"{name:42} {per_page:>4} {median * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms {queries:>8}"
            )


if __name__ == "__main__":
    main()

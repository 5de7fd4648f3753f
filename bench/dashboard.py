"""How fast the "Due & overdue" board answers with 100,000 requests and 1,000,000 events.

Run with `python -m bench.dashboard` (SQLite in a temporary folder; `--keep FOLDER`
keeps the database there and measures it again next time), or with `--db postgresql`
on a throwaway PostgreSQL cluster. `--growth` fills and measures 10,000 and 100,000
requests in turn (and 1,000,000 with `--million`; that fill takes minutes) and prints
how the cost grows; `--million` alone measures 1,000,000.

The board is asked for on a fixed day (the app's ``TODAY``) by a signed-in person, for
the first page of the overdue section, with a tag filter and with agency + assignee:
in-process through the test client, then over HTTP through `tracker serve`. Each
page's median and 95th percentile are printed against the targets, with the SQL
statements it ran, and against its floor: the page's own statement and the section
counts, timed alone on a bare connection beside it.
"""

import argparse
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import event, insert, select
from sqlalchemy.engine import Engine

from bench.common import database_options, filled, median_p95, on_database
from bench.load import CSRF_RE, PASSWORD, Client, Tally
from tests.live import LiveTracker
from tracker import create_app
from tracker.agencies.models import Agency
from tracker.agencies.services import seed_agencies
from tracker.auth.models import Role, User
from tracker.deadlines.board import Filters, section_counts, section_query
from tracker.extensions import db
from tracker.mail.models import Correspondence, Direction, MailSource, MailState
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus

EVENTS_PER_REQUEST = 10
TODAY = date(2026, 12, 14)
STATUSES = [
    RequestStatus.SENT, RequestStatus.ACKNOWLEDGED, RequestStatus.EXTENDED,
    RequestStatus.RECORDS_DUE, RequestStatus.WAITING_ON_US, RequestStatus.FULFILLED,
    RequestStatus.DENIED,
]  # fmt: skip
# Targets, in seconds: the first page of overdue at 100,000 requests, its growth to
# 1,000,000, and the filtered pages.
TARGET_P50 = 0.015
TARGET_P95 = 0.025
GROWTH = 1.5
BATCH = 5000


def fill(requests: int, staff: list[User], agencies: list[Agency]) -> None:
    """Bulk rows straight into the tables; due dates as the engine would give them. One
    request in a hundred has an email in that waits for an answer."""
    rng = random.Random(42)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for start in range(0, requests, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, requests)):
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
        assert first_id is not None
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
        mail = [
            {
                "request_id": first_id + i,
                "direction": Direction.IN,
                "state": MailState.FILED,
                "from_address": "records@agency.example",
                "subject": f"Your request {start + i}",
                "sent_at": now,
                "created_at": now,
                "raw_sha256": f"{start + i:064x}",
                "raw_size": 100,
                "raw_storage_backend": "local",
                "raw_storage_key": f"bench/mail/{start + i}",
                "source": MailSource.UPLOAD,
            }
            for i in range(len(rows))
            if (start + i) % 100 == 7
        ]
        if mail:
            db.session.execute(insert(Correspondence.__table__), mail)
        db.session.commit()
        print(f"  {min(start + BATCH, requests):>9,} requests", end="\r", file=sys.stderr)
    print(file=sys.stderr)


def fill_board(requests: int) -> None:
    seed_agencies()
    staff = []
    for n in range(8):
        user = User(email=f"staff{n}@example.org", name=f"Staff {n}", role=Role.STAFF)
        user.set_password(PASSWORD)
        db.session.add(user)
        staff.append(user)
    db.session.commit()
    agencies = list(db.session.scalars(select(Agency)))
    print(f"Filling {requests:,} requests and {requests * EVENTS_PER_REQUEST:,} events…")
    started = time.perf_counter()
    fill(requests, staff, agencies)
    print(f"filled in {time.perf_counter() - started:.0f} s")
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")


class QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *args: Any) -> None:
        self.count += 1


def timed(call: Callable[[], object], rounds: int) -> tuple[float, float]:
    call()  # warm
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return median_p95(times)


class Figures:
    """What one size measured: (median, p95) by page and by how it was asked."""

    def __init__(self, requests: int) -> None:
        self.requests = requests
        self.pages: dict[tuple[str, str], tuple[float, float]] = {}


def bench(
    options: argparse.Namespace, requests: int, url: str, folder: str, ready: bool
) -> Figures:
    app = create_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench", "TODAY": TODAY,
         "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}
    )  # fmt: skip
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        if not ready:
            fill_board(requests)
            filled(folder)
        else:
            print(f"Measuring the {requests:,} requests filled before in {folder}")
        lapd = db.session.scalar(select(Agency.id).where(Agency.slug == "lapd"))
        staff_id = db.session.scalar(select(User.id).where(User.email == "staff0@example.org"))
        db.session.remove()
    assert lapd is not None and staff_id is not None
    pages = {
        "overdue, first page": ("/due?section=overdue", Filters()),
        "overdue, tag filter": ("/due?section=overdue&tag=bench", Filters(tag="bench")),
        "overdue, agency + assignee": (
            f"/due?section=overdue&agency={lapd}&assignee={staff_id}",
            Filters(agency_id=lapd, assignee_id=staff_id),
        ),
    }
    figures = Figures(requests)
    print(f"\n{requests:,} requests on {options.db}, today {TODAY}, {options.rounds} rounds")
    floors = measure_floors(app, pages, options.rounds)
    measure_in_process(app, pages, options.rounds, floors, figures)
    if not options.no_http:
        measure_http(options, url, folder, pages, floors, figures)
    return figures


def measure_floors(
    app: Flask, pages: dict[str, tuple[str, Filters]], rounds: int
) -> dict[str, tuple[float, float]]:
    """The page's own statement and the counts, alone on a bare connection: the floor."""
    floors = {}
    print(f"{'floor (SQL alone)':34} {'statement p50':>14} {'counts p50':>11} {'both p50':>9}")
    with app.app_context():
        for name, (_, filters) in pages.items():
            statement = section_query("overdue", TODAY, filters).limit(25)

            def page_statement(statement: Any = statement) -> object:
                return db.session.execute(statement).unique().all()

            def counts(filters: Filters = filters) -> object:
                return section_counts(TODAY, filters)

            own = timed(page_statement, rounds)[0]
            counted = timed(counts, rounds)[0]
            floors[name] = (own, counted)
            print(
                f"{name:34} {own * 1000:12.2f}ms {counted * 1000:9.2f}ms "
                f"{(own + counted) * 1000:7.2f}ms"
            )
        db.session.remove()
    return floors


def report(
    how: str, name: str, median: float, p95: float, floor: tuple[float, float], queries: str
) -> None:
    target_p95 = TARGET_P95
    line = f"{how:11} {name:28} p50 {median * 1000:6.1f} ms  p95 {p95 * 1000:6.1f} ms"
    checks = [f"p95 {'met' if p95 <= target_p95 else 'NOT met'}"]
    if name == "overdue, first page":
        checks.insert(0, f"p50 {'met' if median <= TARGET_P50 else 'NOT met'}")
    ratio = median / sum(floor) if sum(floor) else float("nan")
    print(f"{line}  {queries:>4}  {', '.join(checks):20} x{ratio:5.1f} of the SQL floor")


def measure_in_process(
    app: Flask,
    pages: dict[str, tuple[str, Filters]],
    rounds: int,
    floors: dict[str, tuple[float, float]],
    figures: Figures,
) -> None:
    counter = QueryCounter()
    event.listen(Engine, "before_cursor_execute", counter)
    client = app.test_client()
    token = CSRF_RE.search(client.get("/login").get_data(as_text=True))
    assert token is not None
    data = {"csrf_token": token.group(1), "email": "staff0@example.org", "password": PASSWORD}
    assert client.post("/login", data=data).status_code == 302
    print(f"{'':11} {'page':28} {'targets: p50 <= 15 ms (first page), p95 <= 25 ms':41}  SQL")
    try:
        for name, (path, _) in pages.items():
            queries = 0

            def get(path: str = path) -> None:
                nonlocal queries
                counter.count = 0
                response = client.get(path)
                assert response.status_code == 200, response.status_code
                assert 'data-label="Title"' in response.get_data(as_text=True), path
                queries = counter.count

            started = time.process_time()
            median, p95 = timed(get, rounds)
            cpu = (time.process_time() - started) / (rounds + 1)
            figures.pages[("in-process", name)] = (median, p95)
            report("in-process", name, median, p95, floors[name], str(queries))
            print(f"{'':11} {'':28} (CPU time of this process, mean: {cpu * 1000:.1f} ms)")
    finally:
        event.remove(Engine, "before_cursor_execute", counter)


def measure_http(
    options: argparse.Namespace,
    url: str,
    folder: str,
    pages: dict[str, tuple[str, Filters]],
    floors: dict[str, tuple[float, float]],
    figures: Figures,
) -> None:
    """The same pages over HTTP through `tracker serve`, one signed-in person."""
    live = LiveTracker(Path(folder), url, workers=2)
    live.start(TODAY)
    try:
        person = Client(live.base_url, "staff0@example.org", Tally(), 0, TODAY)
        assert person.sign_in(), f"could not sign in:\n{live.log.read_text()}"
        for name, (path, _) in pages.items():

            def get(path: str = path) -> None:
                answer = person.session.get(live.url(path), timeout=30, allow_redirects=False)
                assert answer.status_code == 200, answer.status_code

            median, p95 = timed(get, options.rounds)
            figures.pages[("HTTP", name)] = (median, p95)
            report("HTTP", name, median, p95, floors[name], "")
    finally:
        live.stop()


def growth(all_figures: list[Figures]) -> None:
    """How the cost grows with the table, each size against the one before."""
    print("\nHow the cost grows (p50 / p95, and against the size before)")
    keys = list(all_figures[0].pages)
    for how, name in keys:
        cells = []
        before = None
        for figures in all_figures:
            median, p95 = figures.pages[(how, name)]
            cell = f"{figures.requests:>9,}: {median * 1000:5.1f}/{p95 * 1000:5.1f} ms"
            if before is not None:
                cell += f" (x{median / before:.2f})"
            before = median
            cells.append(cell)
        print(f"{how:11} {name:28} " + "   ".join(cells))
    sizes = {f.requests: f for f in all_figures}
    if 100_000 in sizes and 1_000_000 in sizes:
        for how in ("in-process", "HTTP"):
            key = (how, "overdue, first page")
            if key not in sizes[100_000].pages:
                continue
            median, p95 = sizes[1_000_000].pages[key]
            before = sizes[100_000].pages[key]
            met = median <= GROWTH * TARGET_P50 and p95 <= GROWTH * TARGET_P95
            print(
                f"{how}: first page at 1,000,000 p50 {median * 1000:.1f} ms, p95 "
                f"{p95 * 1000:.1f} ms; x{median / before[0]:.2f} / x{p95 / before[1]:.2f} of "
                f"100,000's; target {GROWTH}x of 15 / 25 ms: "
                f"{'met' if met else 'NOT met'}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument(
        "--million", action="store_true", help="1,000,000 requests (the fill takes minutes)"
    )
    parser.add_argument(
        "--growth",
        action="store_true",
        help="10,000 then 100,000 requests (then 1,000,000 with --million), and how cost grows",
    )
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--no-http", action="store_true", help="in-process only")
    options = parser.parse_args()
    if options.growth:
        sizes = [10_000, 100_000] + ([1_000_000] if options.million else [])
    else:
        sizes = [1_000_000 if options.million else options.requests]
    all_figures: list[Figures] = []
    keep = options.keep
    for size in sizes:
        if keep and len(sizes) > 1:
            options.keep = str(Path(keep) / str(size))

        def run(url: str, folder: str, ready: bool, size: int = size) -> None:
            all_figures.append(bench(options, size, url, folder, ready))

        on_database(options, run)
    if len(all_figures) > 1:
        growth(all_figures)


if __name__ == "__main__":
    main()

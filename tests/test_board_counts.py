"""The board's counts are exactly what the rows say, with and without each filter, as the
requests change and as the days pass.

Every count is checked against a count in Python over the same rows, read back from the
database: the board counts unfiltered sections from tallies the database keeps by day,
and filtered ones from the rows themselves, and both must agree with the rule.
"""

import html
import random
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import delete, insert, select, update

from tracker.auth.models import Role
from tracker.deadlines.board import (
    DUE_SOON_DAYS,
    PAUSED,
    RECENT_DAYS,
    SECTIONS,
    Filters,
    section_counts,
)
from tracker.extensions import db
from tracker.fees import rules as fee_rules
from tracker.fees.services import step_of
from tracker.items.models import Fee, FeeKind
from tracker.mail.models import Correspondence, Direction, MailSource, MailState
from tracker.requests.models import (
    CLOSED_STATUSES,
    RecordsRequest,
    RequestStatus,
)
from tracker.requests.services import update_request, values_of

TODAY = date(2026, 12, 14)
STATUSES = list(RequestStatus)


@pytest.fixture
def app(make_app):
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


def expected(today: date, filters: Filters) -> dict[str, int]:
    """The sections' counts, by the board's rules, in Python over every stored row."""
    requests = db.session.scalars(select(RecordsRequest)).all()
    unanswered = {
        m.request_id for m in db.session.scalars(select(Correspondence)) if m.needs_answer
    }
    fees: dict[int, list[Fee]] = {}
    for fee in db.session.scalars(select(Fee).where(Fee.removed_at.is_(None))):
        fees.setdefault(fee.request_id, []).append(fee)
    counts = dict.fromkeys(SECTIONS, 0)
    for r in requests:
        if filters.agency_id and r.agency_id != filters.agency_id:
            continue
        if filters.unassigned and r.assignee_id is not None:
            continue
        if filters.assignee_id and not filters.unassigned and r.assignee_id != filters.assignee_id:
            continue
        if filters.status and r.status != filters.status:
            continue
        if filters.tag and f",{filters.tag}," not in r.tags:
            continue
        waiting_for_answer = r.determination_on is None and r.status not in PAUSED
        if waiting_for_answer and r.due_on is not None and r.due_on < today:
            counts["overdue"] += 1
        if (
            waiting_for_answer
            and r.due_on is not None
            and today <= r.due_on <= today + timedelta(days=DUE_SOON_DAYS)
        ):
            counts["due_soon"] += 1
        if (
            r.status not in (*PAUSED, RequestStatus.FULFILLED)
            and r.records_promised_on is not None
            and r.records_promised_on < today
        ):
            counts["past_promised"] += 1
        fee_waits = r.status not in CLOSED_STATUSES and fee_rules.awaiting_estimate(
            [step_of(f) for f in fees.get(r.id, [])]
        )
        if r.status == RequestStatus.WAITING_ON_US or r.id in unanswered or fee_waits:
            counts["waiting"] += 1
        if r.determination_on is not None and r.determination_on >= today - timedelta(
            days=RECENT_DAYS
        ):
            counts["answered"] += 1
    return counts


def add_mail(request: RecordsRequest, n: int, answered: bool = False) -> None:
    db.session.add(
        Correspondence(
            request_id=request.id, direction=Direction.IN, state=MailState.FILED,
            from_address="records@agency.example", subject="Your request",
            raw_sha256=f"{request.id:032x}{n:032x}", raw_size=10, raw_storage_backend="local",
            raw_storage_key=f"mail/{request.id}/{n}", source=MailSource.UPLOAD,
            sent_at=datetime(2026, 12, 1, tzinfo=UTC),
            answered_at=datetime(2026, 12, 2, tzinfo=UTC) if answered else None,
        )
    )  # fmt: skip


@pytest.fixture
def many(make_user, make_agency, make_request):
    """Sixty requests of every status and date around today, some tagged, some assigned,
    some with an email or a fee estimate waiting for an answer."""
    rng = random.Random(16)
    staff = [make_user(Role.STAFF, name=f"Staff {n}") for n in range(2)]
    agencies = [make_agency(name=f"Agency {n}", law="ca-cpra") for n in range(2)]
    requests = []
    for n in range(60):
        status = rng.choice(STATUSES)
        received = TODAY - timedelta(days=rng.randint(0, 40))
        determined = received + timedelta(days=rng.randint(1, 20)) if rng.random() < 0.4 else None
        record = make_request(
            title=f"Request {n}",
            agency=rng.choice(agencies),
            assignee=rng.choice([*staff, None]),
            status=status,
            received_on=received,
            determination_on=determined,
            records_promised_on=TODAY + timedelta(days=rng.randint(-10, 10))
            if rng.random() < 0.4
            else None,
            tags=rng.choice(["", ",ice,", ",ice,visa,", ",visa,"]),
        )
        requests.append(record)
        if rng.random() < 0.15:
            add_mail(record, n, answered=rng.random() < 0.3)
        if rng.random() < 0.15:
            db.session.add(
                Fee(request_id=record.id, kind=FeeKind.ESTIMATE, amount=Decimal("10.00"),
                    dated_on=received + timedelta(days=3))
            )  # fmt: skip
    db.session.commit()
    return {"staff": staff, "agencies": agencies, "requests": requests}


def every_filter(many) -> list[Filters]:
    staff, agencies = many["staff"], many["agencies"]
    return [
        Filters(),
        Filters(agency_id=agencies[0].id),
        Filters(assignee_id=staff[0].id),
        Filters(unassigned=True),
        Filters(agency_id=agencies[1].id, assignee_id=staff[1].id),
        Filters(status=RequestStatus.SENT),
        Filters(status=RequestStatus.WAITING_ON_US),
        Filters(tag="ice"),
        Filters(tag="visa", agency_id=agencies[0].id),
    ]


def check(many, today: date = TODAY) -> None:
    for filters in every_filter(many):
        assert section_counts(today, filters) == expected(today, filters), filters


def test_every_count_is_the_rows_count_with_and_without_each_filter(many):
    counts = expected(TODAY, Filters())
    # The data reaches every section, so a wrong count cannot hide behind a zero.
    assert all(counts[name] for name in SECTIONS), counts
    check(many)


def test_the_counts_follow_the_days(many):
    for shift in (-30, -8, -7, -1, 1, 7, 8, 15, 40):
        check(many, TODAY + timedelta(days=shift))


def test_the_counts_follow_every_change_to_a_request(many, make_user):
    staff = many["staff"][0]
    rng = random.Random(7)
    for record in rng.sample(many["requests"], 25):
        values = values_of(record)
        values.status = rng.choice(STATUSES)
        values.received_on = values.sent_on = TODAY - timedelta(days=rng.randint(0, 30))
        values.determination_on = rng.choice(
            [None, values.received_on + timedelta(days=rng.randint(0, 20))]
        )
        values.records_promised_on = rng.choice([None, TODAY + timedelta(days=rng.randint(-5, 5))])
        update_request(record, values, staff, "Corrected.")
        db.session.commit()
    check(many)
    # Writes that pass the ORM by: a bulk update, an insert and a delete straight in SQL.
    db.session.execute(
        update(RecordsRequest)
        .where(RecordsRequest.status == RequestStatus.SENT)
        .values(due_on=TODAY - timedelta(days=3))
    )
    now = datetime(2026, 12, 1, tzinfo=UTC)
    db.session.execute(
        insert(RecordsRequest.__table__),
        [
            {"reference": f"LA-X-{n}", "year": 2026, "number": 900 + n, "title": "Bulk",
             "agency_id": many["agencies"][0].id, "status": RequestStatus.SENT,
             "received_on": TODAY, "due_on": TODAY + timedelta(days=n),
             "records_promised_on": TODAY - timedelta(days=n), "created_at": now,
             "updated_at": now, "tags": ",ice,"}
            for n in range(-3, 10)
        ],
    )  # fmt: skip
    db.session.commit()
    check(many)
    db.session.execute(delete(RecordsRequest).where(RecordsRequest.reference.like("LA-X-%")))
    db.session.commit()
    check(many)


def test_a_write_rolled_back_leaves_the_counts_as_they_were(many):
    before = section_counts(TODAY, Filters())
    db.session.execute(
        update(RecordsRequest).values(status=RequestStatus.SENT, determination_on=None)
    )
    assert section_counts(TODAY, Filters()) != before
    db.session.rollback()
    assert section_counts(TODAY, Filters()) == before == expected(TODAY, Filters())


def tab_counts(page: str) -> dict[str, int]:
    return {
        name: int(count)
        for name, count in re.findall(
            r'section=(\w+)[^"]*"[^>]*>[^<]*<span class="count">(\d+)</span>', page
        )
    }


def test_the_board_shows_the_counts_and_a_new_day_moves_a_request_to_overdue(
    app, client, auth, make_user, make_agency, make_request
):
    staff = make_user(Role.STAFF, name="Sam Staff")
    lapd = make_agency(name="Los Angeles Police Department", law="ca-cpra")
    record = make_request(
        title="Due soon one", agency=lapd, status=RequestStatus.SENT, received_on=TODAY
    )
    due = record.due_on
    assert due is not None and due > TODAY

    def board_on(day: date, query: str) -> str:
        # A signed-in session lasts hours, not days: sign in again on the new day.
        app.config["TODAY"] = day
        auth.login(staff)
        return client.get(f"/due?{query}").get_data(as_text=True)

    page = board_on(due - timedelta(days=DUE_SOON_DAYS), "section=due_soon")
    assert set(tab_counts(page)) == {*SECTIONS, "reports"}
    assert tab_counts(page)["due_soon"] == 1 and tab_counts(page)["overdue"] == 0
    assert '<td data-label="Title">Due soon one</td>' in page
    assert tab_counts(board_on(due, "section=due_soon"))["due_soon"] == 1
    page = board_on(due + timedelta(days=1), "section=overdue")
    assert tab_counts(page)["overdue"] == 1 and tab_counts(page)["due_soon"] == 0
    assert '<td data-label="Title">Due soon one</td>' in page
    # The same with a filter, counted from the rows instead of the tallies.
    page = client.get(f"/due?section=overdue&agency={lapd.id}").get_data(as_text=True)
    assert tab_counts(page)["overdue"] == 1 and tab_counts(page)["due_soon"] == 0
    assert '<td data-label="Title">Due soon one</td>' in page


def test_each_tab_shows_its_count_and_its_link_lists_that_many_requests(
    client, auth, many, make_user
):
    """Through the page: the counts on the tabs, with each filter, are the rows' counts,
    and each tab's link (which keeps the filter) lists exactly that many requests."""
    agencies, staff = many["agencies"], many["staff"]
    auth.login(staff[0])
    queries = {
        "": Filters(),
        f"&agency={agencies[0].id}": Filters(agency_id=agencies[0].id),
        f"&assignee={staff[1].id}": Filters(assignee_id=staff[1].id),
        "&assignee=none": Filters(unassigned=True),
        "&assignee=me": Filters(assignee_id=staff[0].id),
        "&tag=ICE": Filters(tag="ice"),
        f"&agency={agencies[1].id}&tag=visa": Filters(agency_id=agencies[1].id, tag="visa"),
    }
    for query, filters in queries.items():
        page = client.get(f"/due?section=overdue{query}&per_page=100").get_data(as_text=True)
        counts = tab_counts(page)
        assert {name: counts[name] for name in SECTIONS} == expected(TODAY, filters), query
        for href in re.findall(r'<a href="(/due\?[^"]*)"[^>]*>[^<]*<span class="count">', page):
            link = html.unescape(href)
            name = re.search(r"section=(\w+)", link)
            assert name is not None
            if name.group(1) not in SECTIONS:
                continue
            listed = client.get(f"{link}&per_page=100").get_data(as_text=True)
            rows = listed.count('<td data-label="Title">')
            assert rows == counts[name.group(1)], (link, rows)


@pytest.mark.only_on(
    "postgresql", reason="SQLite has one writer at a time; the lock is PostgreSQL's"
)
def test_two_changes_crossing_the_same_days_wait_their_turn_rather_than_deadlock(make_request):
    """Each transaction moves one request onto a day the other's first change holds: without
    one lock over the tallies each would wait for the other, and one would be refused."""
    import threading

    days = {name: TODAY + timedelta(days=n) for n, name in enumerate("ABCDXY", start=1)}
    ids = {}
    for name, due in (("r1", "A"), ("r2", "C"), ("r3", "X"), ("r4", "Y")):
        record = make_request(title=name, status=RequestStatus.SENT)
        record.due_on = days[due]
        ids[name] = record.id
    db.session.commit()
    before = section_counts(TODAY, Filters())

    def move(connection, name: str, day: str) -> None:
        connection.execute(
            update(RecordsRequest).where(RecordsRequest.id == ids[name]).values(due_on=days[day])
        )

    first, second = db.engine.connect(), db.engine.connect()
    second_pid = second.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
    second.commit()
    moved_first = threading.Event()
    failures: list[BaseException] = []

    def other() -> None:
        try:
            with second.begin():
                move(second, "r2", "D")  # holds C and D, or waits for the lock
                moved_first.set()
                move(second, "r4", "A")  # needs A, which the first holds
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)
            moved_first.set()

    try:
        with first.begin():
            move(first, "r1", "B")  # holds A and B
            thread = threading.Thread(target=other)
            thread.start()
            # Go on once the other has made its first change or is waiting to.
            while not moved_first.wait(0.05):
                waiting = first.exec_driver_sql(
                    f"SELECT wait_event_type FROM pg_stat_activity WHERE pid = {second_pid}"
                ).scalar()
                if waiting == "Lock":
                    break
            move(first, "r3", "C")  # needs C
        thread.join(30)
    finally:
        first.close()
        second.close()

    assert not thread.is_alive() and failures == []
    db.session.expire_all()
    assert section_counts(TODAY, Filters()) == expected(TODAY, Filters()) == before

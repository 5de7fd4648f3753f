"""Records requests: reference numbers, the list and its filters, edits on the timeline."""

import csv
import html
import io
import re
import threading
from datetime import date, datetime, timedelta

from sqlalchemy import select

from tests.conftest import Auth, post_form
from tracker import PROJECT_ROOT
from tracker.agencies.models import Agency
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.requests import routes as request_routes
from tracker.requests.models import Organization, RecordsRequest, RequestEvent, RequestStatus
from tracker.requests.services import RequestValues, create_request
from tracker.sqltypes import LOCAL_ZONE


def request_form(agency_id: int, **overrides: str) -> dict[str, str]:
    return {
        "title": "ICE collaboration reports to the Police Commission",
        "agency": str(agency_id),
        "organization": "",
        "requester_name": "Ana Ruiz",
        "records_sought": "All reports from 2023-01-01 to 2025-12-31.\r\n\r\nWith attachments.",
        "status": "draft",
        "agency_tracking_number": "",
        "assignee": "",
        "sent_on": "",
        "received_on": "",
        "closed_on": "",
        "note": "",
        **overrides,
    }


def test_an_advocate_creates_a_request_and_finds_it_in_the_list_and_timeline(
    client, auth, make_user, make_agency
):
    lapd = make_agency(name="Los Angeles Police Department", short_name="LAPD")
    advocate = make_user(Role.ADVOCATE, name="Ana Ruiz")
    auth.login(advocate)
    response = post_form(client, "/requests/new", request_form(lapd.id))
    assert response.status_code == 302
    record = db.session.scalar(select(RecordsRequest))
    assert response.headers["Location"] == f"/requests/{record.reference}"
    assert record.reference.startswith("LA-")
    assert record.reference.endswith("-0001")
    assert record.created_by_id == advocate.id
    assert record.records_sought.endswith("\n\nWith attachments.")

    listing = client.get("/requests").get_data(as_text=True)
    assert record.reference in listing
    assert "ICE collaboration reports to the Police Commission" in listing

    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Ana Ruiz</strong>" in page
    assert "created the request" in page


def test_reference_numbers_run_in_sequence_within_a_year(app, make_agency):
    agency = make_agency()
    references = [
        create_request(RequestValues(title=f"Request {n}", agency=agency), None).reference
        for n in range(3)
    ]
    year = references[0].split("-")[1]
    assert references == [f"LA-{year}-0001", f"LA-{year}-0002", f"LA-{year}-0003"]


def test_reference_numbers_are_unique_when_many_are_created_at_once(app, make_agency):
    agency_id = make_agency().id
    workers, per_worker = 8, 5
    references: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(workers)

    def work() -> None:
        try:
            with app.app_context():
                barrier.wait()
                for n in range(per_worker):
                    values = RequestValues(title=f"t{n}", agency=db.session.get(Agency, agency_id))
                    record = create_request(values, None)
                    db.session.commit()
                    references.append(record.reference)
                db.session.remove()
        except BaseException as error:  # reported below, with the thread's own traceback
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    total = workers * per_worker
    assert len(references) == len(set(references)) == total
    numbers = sorted(int(reference.rsplit("-", 1)[1]) for reference in references)
    assert numbers == list(range(1, total + 1))
    assert db.session.scalar(select(db.func.count(RecordsRequest.id))) == total


def test_an_edit_is_recorded_with_who_what_and_why(client, auth, make_user, make_request):
    staff = make_user(Role.STAFF, name="Sam Staff")
    record = make_request(created_by=make_user(Role.ADVOCATE))
    auth.login(staff)
    response = post_form(
        client,
        f"/requests/{record.reference}/edit",
        request_form(
            record.agency_id,
            title=record.title,
            requester_name="",
            records_sought="",
            status="sent",
            sent_on="2026-11-17",
            assignee=str(staff.id),
            agency_tracking_number="P012345-111726",
            note="Sent by email to the records unit.",
        ),
    )
    assert response.status_code == 302
    event = db.session.scalars(select(RequestEvent).where(RequestEvent.kind == "updated")).one()
    assert event.actor_id == staff.id
    assert event.note == "Sent by email to the records unit."
    changed = {change["field"]: (change["old"], change["new"]) for change in event.changes}
    assert changed["Status"] == ("Draft", "Sent")
    assert changed["Sent on"] == ("", "2026-11-17")
    assert changed["Assignee"] == ("", "Sam Staff")
    assert changed["Agency tracking number"] == ("", "P012345-111726")
    db.session.refresh(record)
    assert record.status == RequestStatus.SENT
    assert record.sent_on == date(2026, 11, 17)

    page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
    assert "Sent by email to the records unit." in page
    assert "P012345-111726" in page


def test_saving_without_changes_adds_no_event(client, auth, make_user, make_request):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, requester_name="A", records_sought="B")
    auth.login(advocate)
    post_form(
        client,
        f"/requests/{record.reference}/edit",
        request_form(record.agency_id, title=record.title, requester_name="A", records_sought="B"),
    )
    assert db.session.scalar(select(db.func.count(RequestEvent.id))) == 1


def test_a_note_joins_the_timeline(client, auth, make_user, make_request):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    auth.login(advocate)
    response = post_form(
        client,
        f"/requests/{record.reference}/notes",
        {"note": "Called the clerk; they have it."},
        token_from=f"/requests/{record.reference}",
    )
    assert response.status_code == 302
    note = db.session.scalars(select(RequestEvent).where(RequestEvent.kind == "note")).one()
    assert note.note == "Called the clerk; they have it."
    assert note.actor_id == advocate.id


def test_impossible_dates_are_refused_and_the_input_kept(client, auth, make_user, make_request):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    auth.login(advocate)
    response = post_form(
        client,
        f"/requests/{record.reference}/edit",
        request_form(
            record.agency_id,
            title="A new title that must survive",
            sent_on="2026-11-17",
            received_on="2026-11-10",
        ),
    )
    page = response.get_data(as_text=True)
    assert "The agency cannot receive it before it was sent." in page
    assert 'value="A new title that must survive"' in page
    db.session.refresh(record)
    assert record.title != "A new title that must survive"
    assert record.sent_on is None


def test_a_request_needs_a_title_and_an_agency(client, auth, make_user):
    auth.login(make_user(Role.ADVOCATE))
    response = post_form(client, "/requests/new", request_form(0, title="", agency=""))
    page = response.get_data(as_text=True)
    assert 'id="title-error"' in page
    assert 'id="agency-error"' in page
    assert db.session.scalar(select(db.func.count(RecordsRequest.id))) == 0


def test_the_list_filters_by_agency_status_assignee_and_text(
    client, auth, make_user, make_agency, make_request
):
    lapd, ice = make_agency(short_name="LAPD"), make_agency(short_name="ICE")
    staff = make_user(Role.STAFF)
    make_request(title="Detainer requests", agency=lapd, assignee=staff)
    make_request(title="Task force MOUs", agency=ice, status=RequestStatus.SENT)
    auth.login(staff)

    def titles(query: str) -> set[str]:
        page = client.get(f"/requests?{query}").get_data(as_text=True)
        return {t for t in ("Detainer requests", "Task force MOUs") if t in page}

    assert titles("") == {"Detainer requests", "Task force MOUs"}
    assert titles(f"agency={lapd.id}") == {"Detainer requests"}
    assert titles("status=sent") == {"Task force MOUs"}
    assert titles("assignee=me") == {"Detainer requests"}
    assert titles("assignee=none") == {"Task force MOUs"}
    assert titles("q=mou") == {"Task force MOUs"}
    assert titles("q=LA-") == {"Detainer requests", "Task force MOUs"}
    # The form shows the filters in force.
    page = client.get(f"/requests?status=sent&agency={lapd.id}&q=mou").get_data(as_text=True)
    assert '<option value="sent" selected>' in page
    assert f'<option value="{lapd.id}" selected>' in page
    assert 'value="mou"' in page


def test_the_list_pages(client, auth, make_user, make_agency, make_request):
    agency = make_agency()
    for n in range(27):
        make_request(title=f"Request number {n:02d}", agency=agency)
    auth.login(make_user(Role.VIEWER))
    assert "Page 1 of 2 (27 in all)" in client.get("/requests").get_data(as_text=True)
    assert "Request number 00" in client.get("/requests?page=2").get_data(as_text=True)


def test_an_unknown_reference_is_a_404(client, auth, make_user):
    auth.login(make_user(Role.VIEWER))
    assert client.get("/requests/LA-1999-9999").status_code == 404


def test_an_empty_note_is_refused_with_a_message(client, auth, make_user, make_request):
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate)
    auth.login(advocate)
    response = post_form(
        client,
        f"/requests/{record.reference}/notes",
        {"note": "   "},
        token_from=f"/requests/{record.reference}",
    )
    assert response.status_code == 200
    assert 'id="note-error"' in response.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(RequestEvent.id))) == 1


def field_message(page: str, name: str) -> str | None:
    """The message under a field, provided its input points to it (aria-describedby)."""
    tag = re.search(rf'<input[^>]*\bid="{name}"[^>]*>', page)
    assert tag, f"no input {name}"
    message = re.search(rf'<p class="error" id="{name}-error"[^>]*>([^<]*)</p>', page)
    if message is None:
        return None
    assert f"{name}-error" in tag.group(0) and 'aria-invalid="true"' in tag.group(0)
    return message.group(1)


def test_a_received_date_after_today_is_refused_and_the_request_stays_overdue(
    app, client, auth, make_user, make_request
):
    app.config["TODAY"] = date(2026, 12, 14)  # what TRACKER_TODAY sets
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, status=RequestStatus.SENT,
                          sent_on=date(2026, 11, 17), received_on=date(2026, 11, 17))  # fmt: skip
    auth.login(advocate)
    assert "Overdue" in client.get(f"/requests/{record.reference}").get_data(as_text=True)
    edit = f"/requests/{record.reference}/edit"
    typed = request_form(record.agency_id, title="Typed title", status="sent",
                         sent_on="2026-11-17", received_on="2027-11-17")  # fmt: skip
    page = post_form(client, edit, typed).get_data(as_text=True)
    assert field_message(page, "received_on") == (
        "This date cannot be after today (December 14, 2026)."
    )
    assert field_message(page, "sent_on") is None
    assert 'value="2027-11-17"' in page and 'value="Typed title"' in page
    db.session.refresh(record)
    assert record.received_on == date(2026, 11, 17) and record.title != "Typed title"
    assert "Overdue" in client.get(f"/requests/{record.reference}").get_data(as_text=True)

    page = post_form(
        client, edit, {**typed, "sent_on": "2026-12-15", "received_on": "2026-12-15"}
    ).get_data(as_text=True)
    assert field_message(page, "sent_on") == "This date cannot be after today (December 14, 2026)."
    assert field_message(page, "received_on") is not None

    # Today itself is a day a request can be sent and received.
    response = post_form(client, edit, {**typed, "sent_on": "2026-12-14",
                                        "received_on": "2026-12-14"})  # fmt: skip
    assert response.status_code == 302
    db.session.refresh(record)
    assert record.received_on == date(2026, 12, 14)


def test_a_new_request_cannot_be_received_after_today(app, client, auth, make_user, make_agency):
    app.config["TODAY"] = date(2026, 12, 14)
    agency = make_agency()
    auth.login(make_user(Role.ADVOCATE))
    response = post_form(client, "/requests/new", request_form(agency.id, received_on="2026-12-31"))
    page = response.get_data(as_text=True)
    assert field_message(page, "received_on") == (
        "This date cannot be after today (December 14, 2026)."
    )
    assert 'value="ICE collaboration reports to the Police Commission"' in page
    assert db.session.scalar(select(db.func.count(RecordsRequest.id))) == 0


def test_a_determination_or_closing_after_today_is_refused_at_its_field(
    app, client, auth, make_user, make_request
):
    app.config["TODAY"] = date(2026, 12, 14)
    advocate = make_user(Role.ADVOCATE)
    record = make_request(created_by=advocate, status=RequestStatus.SENT,
                          sent_on=date(2026, 11, 17), received_on=date(2026, 11, 17))  # fmt: skip
    auth.login(advocate)
    edit = f"/requests/{record.reference}/edit"
    typed = request_form(record.agency_id, status="denied", sent_on="2026-11-17",
                         received_on="2026-11-17", determination_on="2026-12-20",
                         closed_on="2026-12-21")  # fmt: skip
    page = post_form(client, edit, typed).get_data(as_text=True)
    for name in ("determination_on", "closed_on"):
        assert field_message(page, name) == "This date cannot be after today (December 14, 2026)."
    db.session.refresh(record)
    assert record.determination_on is None and record.closed_on is None


def test_on_a_day_fixed_by_tracker_today_the_timeline_records_that_day_at_the_clocks_time(
    make_app, make_user, make_agency
):
    fixed = date(2025, 7, 4)
    app = make_app(TODAY=fixed.isoformat())
    with app.app_context():
        client = app.test_client()
        lapd = make_agency(short_name="LAPD")
        advocate = make_user(Role.ADVOCATE)
        Auth(client).login(advocate)
        response = post_form(client, "/requests/new", request_form(lapd.id))
        assert response.status_code == 302
        record = db.session.scalar(select(RecordsRequest))
        post_form(
            client,
            f"/requests/{record.reference}/notes",
            {"note": "Called the clerk."},
            token_from=f"/requests/{record.reference}",
        )
        clock = datetime.now(LOCAL_ZONE)

        # The reference, the request and its timeline all belong to the fixed day...
        assert record.reference.startswith("LA-2025-")
        events = db.session.scalars(select(RequestEvent).order_by(RequestEvent.id)).all()
        assert [event.kind for event in events] == ["created", "note"]
        for when in [record.created_at, *(event.occurred_at for event in events)]:
            local = when.astimezone(LOCAL_ZONE)
            assert local.date() == fixed
            # ...at the time of day the clock says.
            at = datetime.combine(clock.date(), local.time(), LOCAL_ZONE)
            assert abs(clock - at) < timedelta(minutes=2) or abs(clock - at) > timedelta(hours=23)
        page = client.get(f"/requests/{record.reference}").get_data(as_text=True)
        shown = re.findall(r'<time datetime="[^"]+">([^<]+)</time>', page)
        assert len(shown) == 2
        assert all(text.startswith("Fri Jul 4, 2025, ") for text in shown), shown


EXPORT_LINK_RE = re.compile(r'<a href="([^"]+)">Export these requests as CSV</a>')


def csv_table(response) -> list[dict[str, str]]:
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    header, *lines = csv.reader(io.StringIO(response.get_data(as_text=True), newline=""))
    return [dict(zip(header, line, strict=True)) for line in lines]


def test_the_list_exports_as_csv_with_the_filters_in_force(
    client, auth, make_user, make_agency, make_request
):
    lapd, ice = make_agency(name="Los Angeles Police Department", short_name="LAPD"), make_agency()
    staff = make_user(Role.STAFF, name="Sam Staff")
    coalition = Organization(name="Immigrant Defenders")
    db.session.add(coalition)
    db.session.commit()
    wanted = make_request(
        title="Detainer requests", agency=lapd, assignee=staff, organization=coalition,
        status=RequestStatus.SENT, sent_on=date(2026, 3, 2), received_on=date(2026, 3, 2),
        records_promised_on=date(2026, 4, 15), agency_tracking_number="P012345-030226",
        tags=",ice,u-visa,",
    )  # fmt: skip
    make_request(title="Detainer statistics", agency=ice, status=RequestStatus.SENT)
    make_request(title="Task force MOUs", agency=lapd, status=RequestStatus.SENT)
    auth.login(staff)

    page = client.get(f"/requests?q=detainer&agency={lapd.id}&page=1").get_data(as_text=True)
    link = EXPORT_LINK_RE.search(page)
    assert link, "the list offers its CSV"
    href = html.unescape(link.group(1))
    assert "page=" not in href  # every matching request, not one page of them
    table = csv_table(client.get(href))
    assert table == [
        {
            "reference": wanted.reference,
            "title": "Detainer requests",
            "agency": "Los Angeles Police Department (LAPD)",
            "status": "Sent",
            "created_on": wanted.created_at.astimezone(LOCAL_ZONE).date().isoformat(),
            "sent_on": "2026-03-02",
            "received_on": "2026-03-02",
            "due_on": "2026-03-12",
            "determination_on": "",
            "promised_on": "2026-04-15",
            "closed_on": "",
            "tracking_number": "P012345-030226",
            "assignee": "Sam Staff",
            "organization": "Immigrant Defenders",
            "tags": "ice, u-visa",
        }
    ]
    everything = csv_table(client.get("/requests?format=csv"))
    assert [row["title"] for row in everything] == [
        "Task force MOUs",
        "Detainer statistics",
        "Detainer requests",
    ]  # fmt: skip, newest first, as the list shows them
    assert everything[0]["assignee"] == everything[0]["organization"] == ""


def test_the_csv_export_reads_every_request_batch_by_batch(
    monkeypatch, client, auth, make_user, make_agency
):
    monkeypatch.setattr(request_routes, "CSV_BATCH", 2)
    agency = make_agency()
    for n in range(5):
        create_request(RequestValues(title=f"Request {n}", agency=agency), None)
    db.session.commit()
    auth.login(make_user(Role.VIEWER))
    rows = csv_table(client.get("/requests?format=csv"))
    assert [row["title"] for row in rows] == [f"Request {n}" for n in range(4, -1, -1)]


def test_an_empty_list_offers_no_export(client, auth, make_user):
    auth.login(make_user(Role.VIEWER))
    assert "Export these requests as CSV" not in client.get("/requests").get_data(as_text=True)


def test_on_a_phone_each_cell_of_the_list_says_what_it_is(client, auth, make_user, make_request):
    record = make_request(title="Detainer requests")
    auth.login(make_user(Role.VIEWER))
    page = client.get("/requests").get_data(as_text=True)
    headings = re.findall(r'<th scope="col">(?:<span class="visually-hidden">)?([^<]+)<', page)
    [row] = re.findall(r"<tr>\s*(<td.*?)</tr>", page, re.DOTALL)
    cells = re.findall(r"<td([^>]*)>", row)
    assert [re.search(r'data-label="([^"]+)"', cell).group(1) for cell in cells] == headings
    assert headings[-2:] == ["Assignee", "Sent"]  # the cells that may read only "—"
    # The reference keeps to one line.
    reference = f'<td data-label="Reference" class="nowrap"><a href="/requests/{record.reference}">'
    assert reference in row
    # The narrow layout hides the headings and shows each cell's label instead.
    style = (PROJECT_ROOT / "tracker/static/style.css").read_text()
    narrow = style[style.index("@media (max-width: 40rem)") :]
    narrow = narrow[: narrow.index("\n}\n")]
    assert ".table thead { display: none; }" in narrow
    assert '.table td[data-label]::before { content: attr(data-label) ": ";' in narrow

"""Bringing in requests kept in a spreadsheet: all rows or none, bad rows named by line."""

import io
from datetime import date

import pytest
from sqlalchemy import select

from tests.conftest import csrf_token
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.items.services import items_of
from tracker.requests.importing import (
    MAX_ROWS,
    ImportFileError,
    RowError,
    import_rows,
    plan_import,
)
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus


@pytest.fixture
def directory(make_agency, make_user):
    """The agencies and people a coalition spreadsheet names."""
    return {
        "lapd": make_agency(name="Los Angeles Police Department", short_name="LAPD"),
        "sheriff": make_agency(name="Los Angeles County Sheriff's Department", short_name="LASD"),
        "ana": make_user(Role.ADVOCATE, email="ana@example.org", name="Ana Ruiz"),
        "viewer": make_user(Role.VIEWER, email="viewer@example.org"),
        "gone": make_user(Role.STAFF, email="gone@example.org", active=False),
    }


GOOD = """\
title,agency,received_on,sent_on,status,tracking_number,assignee,notes
ICE reports 2024,LAPD,2025-03-10,2025-03-07,,P012345,ana@example.org,"Sent by email.
Clerk confirmed receipt."
Detainer requests,los angeles county sheriff's department,,,Records due,,,
Task force MOUs,lasd,,,,,,
"""


def count_requests() -> int:
    return db.session.scalar(select(db.func.count(RecordsRequest.id)))


def by_title(title: str) -> RecordsRequest:
    return db.session.scalars(select(RecordsRequest).where(RecordsRequest.title == title)).one()


def write(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "requests.csv"
    path.write_text(text, encoding=encoding)
    return str(path)


def test_a_good_spreadsheet_becomes_requests_with_notes_on_their_timelines(
    runner, tmp_path, directory
):
    result = runner.invoke(args=["requests", "import", write(tmp_path, GOOD)])
    assert result.exit_code == 0, result.output
    reports = by_title("ICE reports 2024")
    detainers = by_title("Detainer requests")
    mous = by_title("Task force MOUs")
    assert result.stdout.splitlines() == [
        f"line 2: {reports.reference} ICE reports 2024",
        f"line 4: {detainers.reference} Detainer requests",
        f"line 5: {mous.reference} Task force MOUs",
        "Imported 3 requests.",
    ]

    assert reports.agency == directory["lapd"]
    assert reports.sent_on == date(2025, 3, 7)
    assert reports.received_on == date(2025, 3, 10)
    assert reports.status == RequestStatus.SENT  # a date was given
    assert reports.agency_tracking_number == "P012345"
    assert reports.assignee == directory["ana"]
    assert reports.created_by is None
    assert [event.kind for event in reports.events] == ["created", "note"]
    assert reports.events[1].note == "Sent by email.\nClerk confirmed receipt."
    # An imported request starts with one item: what it seeks, here only its title.
    assert [item.description for item in items_of(reports)] == ["ICE reports 2024"]

    assert detainers.agency == directory["sheriff"]
    assert detainers.status == RequestStatus.RECORDS_DUE
    assert mous.status == RequestStatus.DRAFT  # no date, no status
    assert [event.kind for event in mous.events] == ["created"]


def test_references_follow_on_from_those_already_given(runner, tmp_path, directory, make_request):
    earlier = make_request(agency=directory["lapd"])
    assert runner.invoke(args=["requests", "import", write(tmp_path, GOOD)]).exit_code == 0
    prefix, number = earlier.reference.rsplit("-", 1)
    assert by_title("Task force MOUs").reference == f"{prefix}-{int(number) + 3:04d}"


BAD = """\
title,agency,received_on,sent_on,status,assignee
Good one,LAPD,2025-03-10,,,
Unknown agency,Police Commission,,,,
Bad date,LAPD,2025-02-30,,,
,LAPD,,,,
Unknown assignee,LAPD,,,,nobody@example.org
Unknown status,LAPD,,,Lost in the mail,
Another good one,LASD,3/7/2025,,,
"""


def test_bad_rows_are_each_reported_by_line_and_nothing_is_imported(runner, tmp_path, directory):
    result = runner.invoke(args=["requests", "import", write(tmp_path, BAD)])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0] == "line 3: unknown agency “Police Commission”"
    assert lines[1].startswith("line 4: received_on “2025-02-30” is not a date")
    assert lines[2] == "line 5: the title is missing"
    assert lines[3] == "line 6: no account for assignee nobody@example.org"
    assert lines[4].startswith("line 7: unknown status “Lost in the mail”")
    assert lines[5] == (
        "Nothing imported: 5 bad rows. Correct them, or pass --skip-bad-rows "
        "to import the other 2 rows."
    )
    assert count_requests() == 0


def test_with_skip_bad_rows_the_good_rows_go_in(runner, tmp_path, directory):
    result = runner.invoke(args=["requests", "import", write(tmp_path, BAD), "--skip-bad-rows"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1] == "Imported 2 requests; skipped 5 bad rows."
    assert "line 3: unknown agency “Police Commission”" in result.stderr
    assert {r.title for r in db.session.scalars(select(RecordsRequest))} == {
        "Good one",
        "Another good one",
    }


def test_a_file_saved_by_a_spreadsheet_with_a_bom_and_us_dates_is_accepted(app, directory):
    text = "\ufeff Title , AGENCY,Received_On,Sent_On\r\nMOUs,Lapd,3/7/2025,03/05/2025\r\n"
    plan = plan_import(text.encode("utf-8"))
    assert plan.errors == []
    [row] = plan.rows
    assert row.line == 2
    assert row.values.agency == directory["lapd"]
    assert row.values.received_on == date(2025, 3, 7)
    assert row.values.sent_on == date(2025, 3, 5)


@pytest.mark.parametrize(
    ("cells", "reason"),
    [
        ("x,LAPD,,,,viewer@example.org,", "assignee viewer@example.org is a viewer"),
        ("x,LAPD,,,,gone@example.org,", "assignee gone@example.org is deactivated"),
        ("x,LAPD,2025-03-01,2025-03-05,,,", "The agency cannot receive it before it was sent."),
        ("x,LAPD,2025-03-01,,,,,stray", "has values in columns without a name"),
        ("x,Los Angeles,,,,,", "unknown agency “Los Angeles”"),
        ("x,LAPD,31/12/2025,,,,", "received_on “31/12/2025” is not a date"),
    ],
)
def test_each_row_is_checked_against_the_directory_and_accounts(app, directory, cells, reason):
    header = "title,agency,received_on,sent_on,status,assignee,notes\n"
    plan = plan_import(header + cells + "\n")
    assert plan.rows == []
    assert plan.errors[0].line == 2
    assert plan.errors[0].reason.startswith(reason)


def test_an_agency_named_only_by_an_ambiguous_short_name_is_refused(app, make_agency):
    make_agency(name="Board of Police Commissioners", short_name="BOPC")
    make_agency(name="Board of Public County Works", short_name="bopc")
    plan = plan_import("title,agency,received_on\nx,BOPC,\ny,Board of Police Commissioners,\n")
    assert [error.line for error in plan.errors] == [2]
    assert "use the full name" in plan.errors[0].reason
    assert [row.line for row in plan.rows] == [3]


def test_import_rows_refuses_a_plan_with_errors_and_writes_nothing(app, directory):
    plan = plan_import("title,agency,received_on\nfine,LAPD,\n,LAPD,\n")
    result = import_rows(plan, directory["ana"])
    assert result.refused
    assert result.errors == [RowError(3, "the title is missing")]
    assert result.imported == []
    db.session.commit()
    assert count_requests() == 0

    result = import_rows(plan, directory["ana"], skip_bad=True)
    db.session.commit()
    assert [row.request.title for row in result.imported] == ["fine"]
    assert result.imported[0].request.created_by == directory["ana"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"title,agency,received_on\n", "The file has a header but no requests."),
        (b"title,agency\nx,LAPD\n", "line 1: the file needs the column(s) received_on."),
        (b"title,agency,received_on,sent\n", "line 1: unknown column sent;"),
        (b"title,agency,received_on,Title\n", "line 1: the column title appears twice."),
        ("title,agency,received_on\n".encode("utf-16"), "The file is not UTF-8 text"),
        (
            b"title,agency,received_on\n" + b"x,LAPD,\n" * (MAX_ROWS + 1),
            f"The file has {MAX_ROWS + 1:,} requests",
        ),
        (b"title,agency,received_on\n" + b" " * 5 * 1024 * 1024, "The file is larger than 5 MB"),
    ],
    ids=["empty", "no rows", "missing column", "unknown", "twice", "utf-16", "rows", "bytes"],
)
def test_a_file_that_cannot_be_imported_is_refused_whole(app, directory, data, message):
    with pytest.raises(ImportFileError) as raised:
        plan_import(data)
    assert str(raised.value).startswith(message)


def test_the_command_records_who_imported_and_refuses_unknown_people(runner, tmp_path, directory):
    path = write(tmp_path, "title,agency,received_on\nMOUs,LAPD,\n")
    result = runner.invoke(args=["requests", "import", path, "--as", "nobody@example.org"])
    assert result.exit_code == 2
    assert result.stderr.strip().startswith("Error: --as nobody@example.org")

    result = runner.invoke(args=["requests", "import", path, "--as", "ANA@example.org"])
    assert result.exit_code == 0, result.output
    assert by_title("MOUs").created_by == directory["ana"]
    assert by_title("MOUs").events[0].actor == directory["ana"]


def test_an_unreadable_file_is_one_line_and_exit_2(runner, tmp_path, app):
    result = runner.invoke(args=["requests", "import", str(tmp_path / "missing.csv")])
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("Error: cannot read ")

    result = runner.invoke(args=["requests", "import", write(tmp_path, "title\n")])
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("the file needs the column(s) agency, received_on.")


def upload(client, text: str, skip_bad_rows: bool = False, name: str = "requests.csv"):
    data = {
        "csrf_token": csrf_token(client, "/requests/import"),
        "file": (io.BytesIO(text.encode("utf-8")), name),
    }
    if skip_bad_rows:
        data["skip_bad_rows"] = "y"
    return client.post("/requests/import", data=data, content_type="multipart/form-data")


def test_an_advocate_uploads_a_spreadsheet_and_sees_the_new_references(client, auth, directory):
    auth.login(directory["ana"])
    assert "Import a spreadsheet" in client.get("/requests").get_data(as_text=True)
    response = upload(client, GOOD)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Imported 3 requests" in page
    for record in db.session.scalars(select(RecordsRequest)):
        assert f'href="/requests/{record.reference}">{record.reference}</a>' in page
        assert record.created_by == directory["ana"]
    reports = by_title("ICE reports 2024")
    timeline = client.get(f"/requests/{reports.reference}").get_data(as_text=True)
    assert "Clerk confirmed receipt." in timeline


def test_an_upload_with_bad_rows_shows_them_by_line_and_imports_nothing(client, auth, directory):
    auth.login(directory["ana"])
    page = upload(client, BAD).get_data(as_text=True)
    assert "Nothing was imported" in page
    assert "<tr><td>3</td><td>unknown agency “Police Commission”</td></tr>" in page
    assert "<tr><td>5</td><td>the title is missing</td></tr>" in page
    assert "<tr><td>6</td><td>no account for assignee nobody@example.org</td></tr>" in page
    assert count_requests() == 0

    page = upload(client, BAD, skip_bad_rows=True).get_data(as_text=True)
    assert "Imported 2 requests; skipped 5 bad row(s)" in page
    assert "<tr><td>3</td><td>unknown agency “Police Commission”</td></tr>" in page
    assert count_requests() == 2


def test_the_upload_form_wants_a_csv_file(client, auth, directory):
    auth.login(directory["ana"])
    page = upload(client, GOOD, name="requests.xlsx").get_data(as_text=True)
    assert 'id="file-error"' in page
    page = upload(client, "title\n").get_data(as_text=True)
    assert "the file needs the column(s) agency, received_on." in page
    assert count_requests() == 0


def test_viewers_are_not_offered_the_import(client, auth, directory):
    auth.login(directory["viewer"])
    assert "Import a spreadsheet" not in client.get("/requests").get_data(as_text=True)
    assert client.get("/requests/import").status_code == 403


AGAIN = """\
title,agency,received_on,sent_on,status,tracking_number,assignee,notes
ICE reports (renamed in the sheet),LAPD,2025-03-10,2025-03-07,,p012345,,
detainer requests,Los Angeles County Sheriff's Department,,,,,,
Task force MOUs,LASD,2025-04-01,,,,,
Task force MOUs,LASD,2025-04-01,,,,,
"""


def test_importing_the_same_file_twice_creates_nothing_the_second_time(runner, tmp_path, directory):
    first = runner.invoke(args=["requests", "import", write(tmp_path, GOOD)])
    assert first.exit_code == 0, first.output
    references = {r.title: r.reference for r in db.session.scalars(select(RecordsRequest))}
    events = db.session.scalar(select(db.func.count()).select_from(RequestEvent))

    again = runner.invoke(args=["requests", "import", write(tmp_path, GOOD)])
    assert again.exit_code == 0, again.output
    assert again.stdout.splitlines() == [
        f"line 2: already imported as {references['ICE reports 2024']} ICE reports 2024",
        f"line 4: already imported as {references['Detainer requests']} Detainer requests",
        f"line 5: already imported as {references['Task force MOUs']} Task force MOUs",
        "Imported 0 requests; skipped 3 rows already imported.",
    ]
    assert count_requests() == 3
    assert db.session.scalar(select(db.func.count()).select_from(RequestEvent)) == events


def test_a_row_matches_by_tracking_number_or_else_by_title_agency_and_dates(
    runner, tmp_path, directory
):
    assert runner.invoke(args=["requests", "import", write(tmp_path, GOOD)]).exit_code == 0
    result = runner.invoke(args=["requests", "import", write(tmp_path, AGAIN)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    reports = by_title("ICE reports 2024")
    # The agency's tracking number names the request, whatever the title says now.
    assert lines[0] == f"line 2: already imported as {reports.reference} ICE reports 2024"
    assert lines[1].startswith("line 3: already imported as ")
    # Same title and agency but a received date the first had not: a new request, once.
    created = db.session.scalars(
        select(RecordsRequest).where(RecordsRequest.received_on == date(2025, 4, 1))
    ).one()
    assert lines[2] == f"line 4: {created.reference} Task force MOUs"
    assert lines[3] == f"line 5: already imported as {created.reference} Task force MOUs"
    assert lines[4] == "Imported 1 request; skipped 3 rows already imported."
    assert count_requests() == 4


def test_the_web_import_of_a_file_already_imported_names_the_requests_it_matched(
    client, auth, directory
):
    auth.login(directory["ana"])
    assert "Imported 3 requests" in upload(client, GOOD).get_data(as_text=True)
    page = upload(client, GOOD).get_data(as_text=True)
    assert "Imported 0 requests; skipped 3 rows already imported, listed below." in page
    for record in db.session.scalars(select(RecordsRequest)):
        assert (
            f'already imported as <a href="/requests/{record.reference}">{record.reference}</a>'
            in page
        )
    assert count_requests() == 3

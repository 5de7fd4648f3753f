"""Error pages that reveal nothing, and the security headers on every response.

Each error the tracker answers with (400, 403, 404, 405, 413 and 500) is its own plain page:
no stack trace, no SQL, no file path, no exception text, no library or version. And every
response, whatever made it (a page, a redirect, an error, a static file, a download, the
preview, a letter's PDF, the ZIP of a request's files, the CSV export, the calendar feed,
the health check), carries the headers that keep a browser from running, framing or
sniffing what it was not meant to.
"""

import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask, abort
from sqlalchemy import select, text

import tracker
from tests.conftest import Auth, csrf_token
from tracker.agencies.models import Agency
from tracker.auth.models import Role
from tracker.deadlines.feed import renew_feed_token
from tracker.extensions import db

SECRET = "secret detail /srv/tracker/app.py line 42 SELECT password FROM users"


def directives(policy: str) -> dict[str, list[str]]:
    parsed: dict[str, list[str]] = {}
    for part in policy.split(";"):
        if words := part.split():
            parsed[words[0].lower()] = words[1:]
    return parsed


def assert_security_headers(response, framed_by: str = "'none'") -> None:
    """What every response carries; ``framed_by`` is 'self' only for the preview."""
    headers = response.headers
    policy = headers["Content-Security-Policy"]
    csp = directives(policy)
    for unsafe in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:"):
        assert unsafe not in policy.split(), policy
    default = csp.get("default-src")
    assert default in (["'self'"], ["'none'"]), policy
    assert csp.get("script-src", default) in (["'self'"], ["'none'"]), policy
    assert csp.get("object-src", default) == ["'none'"], policy
    assert csp.get("frame-ancestors") == [framed_by], policy
    if response.mimetype == "text/html":
        assert csp.get("base-uri") == ["'none'"] and csp.get("form-action") == ["'self'"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == ("DENY" if framed_by == "'none'" else "SAMEORIGIN")
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in headers["Permissions-Policy"]
    assert "Server" not in headers and "X-Powered-By" not in headers
    response.close()


# Error pages

# Matched as written (SQL in capitals, as it would be quoted) ...
LEAKS = [
    "Traceback",
    'File "',
    "line 42",
    "secret detail",
    "/srv/",
    "SELECT",
    "WHERE",
    "no_such_table",
    "Error:",
    "Exception",
    str(Path(tracker.__file__).parent.parent),
]
# ... and whatever the case.
LIBRARIES = ["werkzeug", "flask", "jinja", "sqlalchemy", "psycopg", "sqlite", "postgres",
             "python", "gunicorn", "site-packages", "runtimeerror", "operationalerror",
             "programmingerror", "undefinedtable"]  # fmt: skip
VERSION = re.compile(r"\b\d+\.\d+\.\d+\b|/\d+\.\d+\b")


def assert_reveals_nothing(response, app: Flask, title: str) -> None:
    page = response.get_data(as_text=True)
    assert f"<h1>{title}</h1>" in page, page[:500]
    for leak in [*LEAKS, app.instance_path]:
        assert leak not in page, leak
    for name in LIBRARIES:
        assert name not in page.lower(), name
    assert not VERSION.search(page), VERSION.search(page)


@pytest.fixture
def production(make_app) -> Flask:
    """The app as served: not testing, so errors go to the handlers as in production.

    Routes that fail on purpose are added before its first request.
    """
    app = make_app(TESTING=False)
    assert not app.debug and not app.testing

    @app.get("/explode")
    def explode():
        db.session.add(Agency(name="Half-made agency", law="ca-cpra"))
        db.session.flush()
        raise RuntimeError(SECRET)

    @app.get("/bad-sql")
    def bad_sql():
        db.session.execute(text("SELECT password FROM no_such_table WHERE id = 1"))
        return "unreachable"

    @app.get("/abort/<int:code>")
    def abort_with(code: int):
        abort(code, description=SECRET)

    return app


@pytest.fixture
def signed_in(production, make_user) -> Callable[[Role], object]:
    def client_for(role: Role):
        client = production.test_client()
        Auth(client).login(make_user(role))
        return client

    return client_for


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    413: "Too large",
    500: "Something went wrong",
}


def error_responses(production: Flask, client, signed_in: bool) -> dict[str, object]:
    """Every error code, as the tracker's own routes give it and as a view aborts with it.

    Labels start with the code. Anonymous visitors are sent to sign in before any view
    runs, so they meet only the errors that come before: 400, 404, 405 and 413.
    """
    responses = {
        "400 form without its token": client.post("/login", data={"email": "a@example.org"}),
        "404 page": client.get("/no/such/page"),
        "404 static file": client.get("/static/no-such.css"),
        "405 method": client.post("/healthz"),
    }
    if signed_in:
        responses |= {
            # A page every role may use: one the role may not use is refused (403) first.
            "400 form of a page without its token": client.post("/account/password", data={}),
            "403 role": client.get("/admin/users"),
            "404 document": client.get("/documents/999999/download"),
            "404 request": client.get("/requests/XX-1999-0001"),
            "500 exception": client.get("/explode"),
            "500 database": client.get("/bad-sql"),
        }
        for code in (400, 403, 404, 405, 413):
            responses[f"{code} aborted with a detail"] = client.get(f"/abort/{code}")
    production.config["MAX_CONTENT_LENGTH"] = 1024
    try:
        responses["413 body"] = client.post("/login", data={"email": "x" * 4096})
    finally:
        production.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    return responses


@pytest.mark.parametrize("who", ["anonymous", "viewer"])
def test_no_error_page_reveals_a_trace_sql_path_or_version(production, signed_in, who,
                                                          make_user):  # fmt: skip
    make_user(Role.ADMIN)  # past first-run setup
    client = production.test_client() if who == "anonymous" else signed_in(Role.VIEWER)
    responses = error_responses(production, client, signed_in=who != "anonymous")
    assert {int(label.split()[0]) for label in responses} >= (
        {400, 404, 405, 413} if who == "anonymous" else set(ERROR_TITLES)
    )
    for label, response in responses.items():
        code = int(label.split()[0])
        assert response.status_code == code, label
        try:
            assert_reveals_nothing(response, production, ERROR_TITLES[code])
            assert_security_headers(response)
        except AssertionError as error:
            raise AssertionError(f"{label}: {error}") from error


def test_a_server_error_rolls_back_what_the_view_had_written(production, signed_in):
    response = signed_in(Role.ADMIN).get("/explode")
    assert response.status_code == 500
    assert db.session.scalar(select(Agency).where(Agency.name == "Half-made agency")) is None


def test_a_database_error_leaves_the_connection_usable(production, signed_in):
    client = signed_in(Role.STAFF)
    assert client.get("/bad-sql").status_code == 500
    # The failed transaction was rolled back: the next request reads the database again.
    assert client.get("/requests").status_code == 200


def test_an_upload_over_the_request_limit_gets_the_413_page_when_signed_in(
    production, signed_in, make_request
):
    """The page that says so was itself reading the body it had refused, and failed."""
    client = signed_in(Role.ADMIN)
    record = make_request()
    token = csrf_token(client, f"/requests/{record.reference}")
    production.config["MAX_UPLOAD_REQUEST_MB"] = 64 / 1024
    response = client.post(
        f"/requests/{record.reference}/documents",
        data={"csrf_token": token, "files": [(io.BytesIO(b"x" * 100_000), "big.txt")]},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
    assert_reveals_nothing(response, production, "Too large")
    assert "Sign out" in response.get_data(as_text=True)
    assert_security_headers(response)


# Headers on every response


def test_every_kind_of_response_carries_the_security_headers(app, client, world):
    users = world["users"]
    args = world["args"]
    reference = args["requests.show_request"]["reference"]
    document_id = args["documents.download"]["document_id"]
    letter = args["letters.letter_pdf"]
    token = renew_feed_token(users[Role.VIEWER])
    db.session.commit()

    seen: dict[str, object] = {}

    def check(label: str, response, status: int, framed_by: str = "'none'") -> None:
        assert response.status_code == status, (label, response.status_code)
        seen[label] = response
        try:
            assert_security_headers(response, framed_by)
        except AssertionError as error:
            raise AssertionError(f"{label}: {error}") from error

    # Anyone, signed in or not.
    check("sign-in page", client.get("/login"), 200)
    check("HEAD of a page", client.head("/login"), 200)
    check("OPTIONS of a page", client.options("/login"), 200)
    check("redirect to sign in", client.get("/requests"), 302)
    check("health check", client.get("/healthz"), 200)
    check("public calculator", client.get("/deadline-calculator"), 200)
    static = client.get("/static/style.css")
    check("static file", static, 200)
    check("static file not modified",
          client.get("/static/style.css", headers={"If-None-Match": static.headers["ETag"]}),
          304)  # fmt: skip
    check("missing static file", client.get("/static/no-such.css"), 404)
    check("calendar feed", client.get(f"/feeds/{token}.ics"), 200)
    check("unknown calendar feed", client.get("/feeds/no-such-token.ics"), 404)
    check("400 without a form token", client.post("/login", data={"email": "x"}), 400)
    check("404", client.get("/no/such/page"), 404)
    check("405", client.post("/healthz"), 405)

    # Signed in.
    check("sign-in redirect", Auth(client).login(users[Role.ADMIN]), 302)
    check("redirect home", client.get("/"), 302)
    check("list page", client.get("/requests"), 200)
    check("request page", client.get(f"/requests/{reference}"), 200)
    check("document page", client.get(f"/documents/{document_id}"), 200)
    check("file download", client.get(f"/documents/{document_id}/download"), 200)
    check("preview", client.get(f"/documents/{document_id}/view"), 200, framed_by="'self'")
    check("documents ZIP", client.get(f"/requests/{reference}/documents.zip"), 200)
    check(
        "letter PDF",
        client.get(f"/requests/{reference}/letters/{letter['letter_id']}/letter.pdf"),
        200,
    )
    check("CSV export", client.get("/due?section=overdue&format=csv"), 200)
    check("404 signed in", client.get("/documents/999999"), 404)
    app.config["MAX_CONTENT_LENGTH"] = 1024
    check("413", client.post("/requests/new", data={"title": "x" * 4096}), 413)
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    Auth(client).logout()
    Auth(client).login(users[Role.VIEWER])
    check("403", client.get("/admin/users"), 403)

    assert seen["file download"].mimetype == "application/pdf"
    assert seen["documents ZIP"].mimetype == "application/zip"
    assert seen["letter PDF"].mimetype == "application/pdf"
    assert seen["CSV export"].mimetype == "text/csv"
    assert seen["calendar feed"].mimetype == "text/calendar"


def test_a_500_carries_the_security_headers(production, signed_in):
    assert_security_headers(signed_in(Role.ADMIN).get("/explode"))


def test_pages_and_files_are_not_kept_in_shared_caches(app, client, world):
    """Pages, files and exports hold records: no cache keeps them. Static assets may."""
    args = world["args"]
    Auth(client).login(world["users"][Role.VIEWER])
    for path in ("/requests", f"/documents/{args['documents.download']['document_id']}/download",
                 f"/requests/{args['documents.download_zip']['reference']}/documents.zip",
                 "/due?format=csv", "/no/such/page"):  # fmt: skip
        response = client.get(path)
        assert "no-store" in response.headers.get("Cache-Control", ""), path
        response.close()
    static = client.get("/static/style.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    static.close()

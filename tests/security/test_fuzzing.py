"""Random and malformed input to every form: never a server error, never a silent change.

Every ``(endpoint, "POST")`` of the access table is fuzzed, so a POST route added later
is fuzzed without anyone listing it here. For each, an admin (who may post everywhere)
opens the page the form lives on, reads its fields (inputs, selects, textareas, file
parts) and its real CSRF token, and posts what Hypothesis makes of them: odd unicode,
NUL, very long and whitespace-only text, text in date, number and choice fields,
out-of-range numbers, impossible dates, missing, duplicated and unknown fields, random
files. Two properties hold for every example:

1. the answer is never a 5xx;
2. when the answer refuses the input (an error status, the form shown again, or a
   redirect with an error message), not one row of any table changed; when it accepts
   it, nothing blank or absurd was stored in a field the tracker needs (a title, a
   name, a date in a year no records request was ever made).

Hypothesis runs with ``derandomize=True``: the examples follow from each test's name,
so every run (and CI) tries the same inputs and a failure is repeatable. Change the
settings locally to explore further.
"""

import hashlib
import io
import json
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import url_for
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from tests.conftest import csrf_token
from tests.security.test_access import ACCESS, GONE
from tracker.agencies.models import Agency
from tracker.auth.models import Role
from tracker.deadlines.feed import renew_feed_token
from tracker.documents.forms import UPLOAD_ERROR
from tracker.extensions import db
from tracker.letters.models import Channel, Letter
from tracker.letters.services import finalize
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.requests.models import RecordsRequest, RequestStatus

# Routes that cannot be fuzzed meaningfully, and why.
NOT_FUZZED = {
    # Gone (404) as soon as an admin exists, before any form is read; the CSRF and
    # setup tests cover its form.
    "auth.setup",
    # Its form has no field but the token, and a success ends the session the fuzz
    # runs in; a refused sign-out is covered by the CSRF tests.
    "auth.logout",
}

FUZZED = sorted(
    endpoint
    for (endpoint, method), allowed in ACCESS.items()
    if method == "POST" and endpoint not in NOT_FUZZED and allowed != GONE
)

FUZZ_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    # The database is shared by the examples of a test, so a shrunk example would run
    # against another state; the failing body is in the message instead.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Tables a refused sign-in changes on purpose: each attempt is counted to throttle guessing.
EXPECTED_CHANGES = {
    "auth.login": {"login_attempts"},
    # A wrong current password counts as a failed sign-in, as on the sign-in page.
    "auth.password": {"login_attempts"},
}

# Forms for people who are not signed in: an admin opening them is shown no form (the link
# is left for its owner), so a visitor of their own posts them.
SIGNED_OUT_FORMS = {"auth.accept_invitation", "auth.reset_password"}


# Reading the real form -----------------------------------------------------------------


@dataclass
class FormField:
    name: str
    kind: str
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    fields: dict[str, FormField] = field(default_factory=dict)


class FormParser(HTMLParser):
    """Every POST form of a page: its action and the names and kinds of its fields."""

    def __init__(self, page_url: str) -> None:
        super().__init__()
        self.page_url = page_url
        self.forms: list[Form] = []
        self.form: Form | None = None
        self.select: FormField | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {key: value or "" for key, value in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "form":
            if a.get("method", "get").lower() == "post":
                self.form = Form(action=a.get("action") or self.page_url)
                self.forms.append(self.form)
            return
        if self.form is None:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            entry = self.form.fields.setdefault(name, FormField(name, kind))
            if kind in ("checkbox", "radio", "submit", "hidden"):
                entry.options.append(a.get("value", "y" if kind == "checkbox" else ""))
        elif tag == "textarea" and name:
            self.form.fields[name] = FormField(name, "textarea")
        elif tag == "select" and name:
            self.select = self.form.fields[name] = FormField(name, "select")
        elif tag == "option" and self.select is not None:
            self.select.options.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None
        elif tag == "select":
            self.select = None


def path_of(url: str) -> str:
    return urlsplit(url).path


def segments(url: str) -> list[str]:
    return [part for part in path_of(url).split("/") if part]


def common(a: str, b: str) -> int:
    count = 0
    for x, y in zip(segments(a), segments(b), strict=False):
        if x != y:
            break
        count += 1
    return count


def get_pages(app: Any, world: dict[str, Any]) -> list[str]:
    with app.test_request_context():
        return [
            url_for(endpoint, **world["args"].get(endpoint, {}))
            for (endpoint, method) in ACCESS
            if method == "GET" and endpoint != "static"
        ]


def find_form(client: Any, app: Any, world: dict[str, Any], url: str) -> tuple[str, Form | None]:
    """The form that posts to ``url``, read from the page that shows it.

    That is the page at the same address when there is one, otherwise the page
    whose address is nearest (a request's page holds its note and upload forms).
    A page that only links on to its forms (choose a letter) is followed once.
    """
    candidates = [url] + sorted(
        (page for page in get_pages(app, world) if page != url),
        key=lambda page: (-common(page, url), len(segments(page))),
    )
    for page in candidates:
        response = client.get(page)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        parser = FormParser(page)
        parser.feed(response.get_data(as_text=True))
        for form in parser.forms:
            if path_of(form.action) == path_of(url) and "csrf_token" in form.fields:
                return (form.action if urlsplit(form.action).query else url), form
        if page == url:
            # A chooser: the form is one link further, at the same address with a query.
            onward = [link for link in parser.links if path_of(link) == path_of(url)]
            for link in onward:
                if urlsplit(link).query:
                    target, form = find_form_on(client, link)
                    if form is not None:
                        return target, form
    return url, None


def find_form_on(client: Any, url: str) -> tuple[str, Form | None]:
    response = client.get(url)
    parser = FormParser(url)
    parser.feed(response.get_data(as_text=True))
    for form in parser.forms:
        if path_of(form.action) == path_of(url) and "csrf_token" in form.fields:
            return url, form
    return url, None


# What the fuzz sends -------------------------------------------------------------------

WHITESPACE = ["", " ", "   ", "\t", "\n", "\r\n", "\u00a0", "\u2003 \u3000", "\u200b", "\ufeff"]
JUNK = [
    "\x00", "a\x00b", "abc", "-1", "0", "-0", "1e309", "NaN", "inf", "1.5",
    "99999999999999999999", "-99999999999999999999", "9223372036854775808",
    "0000-00-00", "99999-01-01", "0001-01-01", "9999-12-31", "2026-02-30", "2026-13-01",
    "26-1-1", "01/02/2026", "2026-01-01T00:00", "None", "null", "true", "[]", "{}",
    "<script>alert(1)</script>", "'; DROP TABLE users; --", "%00", "../../etc/passwd",
    "{{ 7 * 7 }}", "${7*7}", "\u202eevil", "😀", "ǅ", "\ufdd0", "\U0010ffff", "a@b", "http://",
]  # fmt: skip

odd_text = st.text(st.characters(codec="utf-8"), max_size=60)
long_text = st.sampled_from([301, 2001, 5001, 20001, 100_000]).flatmap(
    lambda n: st.sampled_from(["x" * n, "é" * n, " " * n, "\x00" * n])
)
junk = st.sampled_from(JUNK)
any_text = st.one_of(odd_text, st.sampled_from(WHITESPACE), junk, long_text)
numbers = st.one_of(st.integers(-(2**80), 2**80).map(str), st.floats(allow_nan=True).map(str), junk)
dates = st.one_of(st.dates().map(date.isoformat), junk, odd_text)

FILE_HEADS = [b"", b"%PDF-1.7\n", b"PK\x03\x04", b"\x89PNG\r\n\x1a\n", b"<html>", b"\xef\xbb\xbf"]
FILE_NAMES = [
    "a.pdf", "x.csv", "", "../../x.csv", "x\x00.pdf", "é.csv", "a" * 300 + ".pdf", ".csv", "CON",
]  # fmt: skip
CSV_COLUMNS = [
    "title", "agency", "received_on", "sent_on", "status", "tracking_number", "assignee", "notes",
    "TITLE", "bogus", "",
]  # fmt: skip


def csv_files(hints: list[str]) -> st.SearchStrategy[bytes]:
    """Spreadsheets with real columns and junk values, so an import reaches its rows."""
    cell = st.one_of(any_text.filter(lambda s: len(s) < 400), st.sampled_from(hints), dates)
    header = st.lists(st.sampled_from(CSV_COLUMNS), min_size=1, max_size=8)

    def table(columns: list[str]) -> st.SearchStrategy[bytes]:
        rows = st.lists(st.lists(cell, min_size=len(columns), max_size=len(columns)), max_size=4)
        return rows.map(
            lambda rows: "\n".join(
                ",".join(json.dumps(value) for value in row) for row in [columns, *rows]
            ).encode("utf-8", "surrogatepass")
        )

    return header.flatmap(table)


def files(hints: list[str]) -> st.SearchStrategy[list[tuple[bytes, str]]]:
    content = st.one_of(
        st.tuples(st.sampled_from(FILE_HEADS), st.binary(max_size=512)).map(b"".join),
        csv_files(hints),
    )
    name = st.one_of(st.sampled_from(FILE_NAMES), odd_text)
    return st.lists(st.tuples(content, name), max_size=3)


def value_for(form_field: FormField) -> st.SearchStrategy[str]:
    kind, options = form_field.kind, [o for o in form_field.options if o]
    if kind == "date":
        return dates
    if kind == "number":
        return numbers
    if kind in ("select", "radio", "checkbox", "submit") and options:
        return st.one_of(st.sampled_from(options), st.sampled_from(options), any_text, numbers)
    return st.one_of(any_text, any_text, dates, numbers)


JUNK_NAMES = [
    "id", "role", "is_admin", "active", "created_by_id", "password_hash", "reference", "state",
    "deleted_at", "session_token", "feed_token", "agency_id", "next", "page", "_method",
]  # fmt: skip


MISSING = object()


def bodies(form: Form, token: str, hints: list[str]) -> st.SearchStrategy[tuple[dict, bool]]:
    """Bodies for the form: each real field given once, twice or not at all, junk added."""
    parts: dict[str, st.SearchStrategy[Any]] = {}
    for name, form_field in form.fields.items():
        if name == "csrf_token":
            continue
        if form_field.kind == "file":
            parts[name] = files(hints)
            continue
        value = value_for(form_field)
        parts[name] = st.one_of(
            value, value, value, st.just(MISSING), st.lists(value, min_size=2, max_size=3)
        )
    extra = st.dictionaries(st.one_of(st.sampled_from(JUNK_NAMES), odd_text), any_text, max_size=3)
    has_files = any(form_field.kind == "file" for form_field in form.fields.values())

    def build(
        drawn: tuple[dict[str, Any], dict[str, str], list[str], bool],
    ) -> tuple[dict[str, Any], bool]:
        fields, junk_fields, second_tokens, multipart = drawn
        data = {name: value for name, value in fields.items() if value is not MISSING}
        for name, value in junk_fields.items():
            data.setdefault(name, value)
        # The real token first; a second, junk one after it at times.
        data["csrf_token"] = [token, *second_tokens]
        return data, has_files or multipart

    return st.tuples(
        st.fixed_dictionaries(parts), extra, st.lists(any_text, max_size=1), st.booleans()
    ).map(build)


def as_sent(body: dict[str, Any]) -> dict[str, Any]:
    """The body for the test client: each file part as a stream with its name."""
    return {
        name: [
            (io.BytesIO(part[0]), part[1]) if isinstance(part, tuple) else part for part in value
        ]
        if isinstance(value, list)
        else value
        for name, value in body.items()
    }


# What the database holds ---------------------------------------------------------------


# Text a record cannot do without.
REQUIRED_TEXT = {
    "records_requests": ("title", "reference"),
    "agencies": ("name", "law"),
    "organizations": ("name",),
    "users": ("name", "email"),
    "request_groups": ("title",),
    "documents": ("title", "original_filename"),
    "agency_calendar_days": ("note",),
}
# No records request, letter or document of the tracker is dated outside these years.
EARLIEST, LATEST = date(1900, 1, 1), date(2100, 12, 31)


def database() -> tuple[dict[str, tuple[int, str]], list[str]]:
    """Every table's number of rows and a digest of their content; and any garbage stored
    (blank required text, an absurd date, a NUL) that no form should have accepted."""
    state, garbage = {}, []
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
        state[table.name] = (len(rows), digest)
        required = REQUIRED_TEXT.get(table.name, ())
        for row in rows:
            for column, value in row._mapping.items():
                where = f"{table.name}.{column}"
                if type(value) is date and not EARLIEST <= value <= LATEST:
                    garbage.append(f"{where} = {value.isoformat()}")
                elif isinstance(value, str) and "\x00" in value:
                    garbage.append(f"{where} holds NUL: {value[:40]!r}")
                elif isinstance(value, str) and column in required and not value.strip():
                    garbage.append(f"{where} is blank: {value!r}")
    db.session.rollback()
    return state, garbage


# The outcome of one post ---------------------------------------------------------------


def flashes(client: Any) -> list[tuple[str, str]]:
    """The messages the answer left for the next page; taken, so they do not pile up."""
    with client.session_transaction() as session:
        return list(session.pop("_flashes", []))


def accepted(client: Any, response: Any) -> bool:
    """Whether the tracker took the input (or part of it), judged from the answer."""
    categories = {category for category, _ in flashes(client)}
    if "success" in categories:
        # Said so: saved, or some files of several stored.
        return True
    if 300 <= response.status_code < 400:
        # A redirect is the answer to a saved form, unless it carries an error message
        # (a few forms redirect back to their page with one; an upload's refusals are
        # shown at its file input).
        return not categories & {"error", UPLOAD_ERROR}
    if response.status_code == 200:
        # The form shown again means refused; an import says what it imported.
        return "flash-success" in response.get_data(as_text=True)
    return False


def finalize_the_letter(world: dict[str, Any]) -> None:
    letter = db.session.get(Letter, world["args"]["letters.mark_letter_sent"]["letter_id"])
    assert letter is not None
    record = db.session.get(RecordsRequest, letter.request_id)
    finalize(letter, record, world["users"][Role.ADVOCATE], date(2026, 3, 2))


def ready_to_email(world: dict[str, Any]) -> None:
    from flask import current_app

    from tests.postgres import free_port

    finalize_the_letter(world)
    letter = db.session.get(Letter, world["args"]["mail.email_letter"]["letter_id"])
    assert letter is not None
    db.session.get(RecordsRequest, letter.request_id).agency.email = "records@agency.example.org"
    # Nothing listens there: each send is refused at once and left to retry.
    current_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())


def ready_for_the_portal(world: dict[str, Any]) -> None:
    letter = db.session.get(Letter, world["args"]["letters.mark_filed_portal"]["letter_id"])
    assert letter is not None
    letter.channel = Channel.PORTAL
    record = db.session.get(RecordsRequest, letter.request_id)
    record.agency.portal_url = "https://portal.example.org/requests"
    finalize(letter, record, world["users"][Role.ADVOCATE], date(2026, 3, 2))


def turn_the_feed_on(world: dict[str, Any]) -> None:
    renew_feed_token(world["users"][Role.ADMIN])


def send_the_request(world: dict[str, Any]) -> None:
    record = db.session.scalars(
        select(RecordsRequest).where(
            RecordsRequest.reference == world["args"]["items.withdraw"]["reference"]
        )
    ).one()
    record.status = RequestStatus.SENT


def publish_the_request(world: dict[str, Any]) -> None:
    send_the_request(world)
    record = db.session.scalars(
        select(RecordsRequest).where(
            RecordsRequest.reference == world["args"]["publishing.withdraw"]["reference"]
        )
    ).one()
    # The world may hold the publication already (the public room's pages read it).
    if db.session.scalar(select(RequestPublication).filter_by(request_id=record.id)) is None:
        db.session.add(RequestPublication(request_id=record.id))


def a_document_to_publish(world: dict[str, Any]) -> None:
    """The request public, the document not yet: the review page offers its form."""
    publish_the_request(world)
    document_id = world["args"]["publishing.review"]["document_id"]
    db.session.execute(delete(DocumentPublication).filter_by(document_id=document_id))


def publish_the_document(world: dict[str, Any]) -> None:
    publish_the_request(world)
    document_id = world["args"]["publishing.unpublish"]["document_id"]
    if db.session.scalar(select(DocumentPublication).filter_by(document_id=document_id)) is None:
        db.session.add(DocumentPublication(document_id=document_id))


def repeatable_request(world: dict[str, Any]) -> None:
    """A sent request to the Police Commission, from a letter that asks for a date range."""
    from tracker.letters.document import Sender
    from tracker.letters.services import draft_requests, library

    agency = Agency(
        name="Board of Police Commissioners", slug="la-police-commission", law="ca-cpra",
        mailing_address="100 W 1st St\nLos Angeles, CA 90012",
    )  # fmt: skip
    db.session.add(agency)
    values = {"date_from": "2026-01-01", "date_to": "2026-03-31"}
    [record] = draft_requests(
        library().get("cpra-police-commission-ice-collaboration"), values, [agency],
        Sender(name="Ana", email="ana@example.org"), None, "Commission reports",
        world["users"][Role.ADVOCATE],
    )  # fmt: skip
    record.status = RequestStatus.SENT
    world["args"]["series.new_series"] = {"reference": record.reference}


# Forms a page shows only in some states: bring the world to that state first.
PREPARE = {
    "items.withdraw": send_the_request,  # an item is withdrawn only once the request is sent
    "letters.mark_letter_sent": finalize_the_letter,  # offered once the letter is final
    "mail.email_letter": ready_to_email,  # a final letter, an agency's email, a server
    "letters.mark_filed_portal": ready_for_the_portal,  # a final letter to go by portal
    "deadlines.revoke_feed": turn_the_feed_on,  # offered while a feed is on
    "publishing.publish": send_the_request,  # a draft is not published
    "publishing.withdraw": publish_the_request,  # offered while the request is public
    "publishing.review": a_document_to_publish,  # offered for a document not yet public
    "publishing.unpublish": publish_the_document,  # offered while the document is public
    "series.new_series": repeatable_request,  # only a sent request with a date range repeats
    # Each item's answer, exemptions and reason are fields of the response forms.
}


@pytest.fixture
def admin_client(app, client, auth, world):
    auth.login(world["users"][Role.ADMIN])
    flashes(client)
    return client


def shown(body: dict[str, Any]) -> str:
    """The body of a failing example, each value cut short enough to read."""

    def cut(value: Any) -> Any:
        if isinstance(value, list):
            return [cut(v) for v in value]
        if isinstance(value, tuple):
            return (value[1][:60], value[0][:60])
        return value[:60] + ("…" if len(value) > 60 else "")

    return repr({name[:30]: cut(value) for name, value in body.items() if name != "csrf_token"})


def hints_for() -> list[str]:
    names = []
    for agency in db.session.scalars(select(Agency)):
        names += [agency.name, agency.short_name or ""]
    db.session.rollback()
    return names


# The fuzz ------------------------------------------------------------------------------


def test_only_routes_that_exist_are_excused_from_the_fuzz():
    posts = {endpoint for (endpoint, method) in ACCESS if method == "POST"}
    assert NOT_FUZZED <= posts, "remove excuses for routes that are gone"
    assert posts - NOT_FUZZED == set(FUZZED)


@pytest.mark.parametrize("endpoint", FUZZED)
def test_random_input_to_a_form_never_breaks_the_server_or_slips_in(
    app, admin_client, world, endpoint
):
    client = app.test_client() if endpoint in SIGNED_OUT_FORMS else admin_client
    if endpoint in PREPARE:
        PREPARE[endpoint](world)
        db.session.commit()
    with app.test_request_context():
        url = url_for(endpoint, **world["args"].get(endpoint, {}))
    target, form = find_form(client, app, world, url)
    if form is None:
        # The sign-in form is shown only to visitors who are not signed in.
        target, form = find_form_on(app.test_client(), url)
    assert form is not None, f"no page offers a form that posts to {url}"
    token = csrf_token(client, target)
    hints = hints_for()
    ignored = EXPECTED_CHANGES.get(endpoint, set())
    counter = iter(range(1, 10**6))
    before, garbage = database()
    assert garbage == []
    last = [before]

    @FUZZ_SETTINGS
    @given(bodies(form, token, hints))
    def fuzz(example: tuple[dict[str, Any], bool]) -> None:
        body, multipart = example
        before = last[0]
        kwargs: dict[str, Any] = {"data": as_sent(body)}
        if multipart:
            kwargs["content_type"] = "multipart/form-data"
        # A fresh address each time, so throttling of sign-ins never stops the fuzz early.
        kwargs["environ_overrides"] = {"REMOTE_ADDR": f"10.9.{next(counter) % 250}.1"}
        response = client.post(target, **kwargs)
        status = response.status_code
        response.close()
        assert status < 500, f"{status} for {shown(body)}"
        took = accepted(client, response)
        after, garbage = database()
        last[0] = after
        if not took:
            changed = {t for t in before if before[t] != after[t]} - ignored
            assert not changed, f"refused ({status}) but changed {sorted(changed)}: {shown(body)}"
        assert garbage == [], f"stored from {shown(body)}"

    fuzz()


# Bodies that are not forms at all ------------------------------------------------------

MULTIPART = "multipart/form-data"
NOT_FORMS = {
    "json": ("application/json", b'{"title": "x", "csrf_token": null, "agency": [1, 2]}'),
    "json as a form": ("application/x-www-form-urlencoded", b'{"title": "x"}'),
    "raw bytes as a form": (
        "application/x-www-form-urlencoded",
        b"\xff\xfe\x00=%%&&==%zz&a=%C0%AF",
    ),
    "broken boundary": (
        f"{MULTIPART}; boundary=abc",
        b'--xyz\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--xyz--\r\n',
    ),
    "no boundary": (MULTIPART, b'--abc\r\nContent-Disposition: form-data; name="a"\r\n\r\nb'),
    "cut short": (
        f"{MULTIPART}; boundary=abc",
        b'--abc\r\nContent-Disposition: form-data; name="files"; filename="a.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\n",
    ),
    "headers only": (f"{MULTIPART}; boundary=abc", b"--abc\r\nContent-Disposition: x\r\n\r\n"),
    "text": ("text/plain", "title=x\x00é".encode()),
    "nothing": ("application/x-www-form-urlencoded", b""),
}


# Werkzeug leaves the file part it was writing when a body ends early to the garbage
# collector, which closes it (a ResourceWarning, not the tracker's doing).
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in.*SpooledTemporaryFile:pytest.PytestUnraisableExceptionWarning"
)
def test_a_body_that_is_not_a_form_is_refused_without_a_server_error(app, admin_client, world):
    """The token travels in its header, so the body itself reaches the form."""
    client = admin_client
    token = csrf_token(client, "/account/password")
    with app.test_request_context():
        urls = [url_for(e, **world["args"].get(e, {})) for e in FUZZED if e != "auth.login"]
    before, _ = database()
    failures = []
    for url in urls:
        for name, (content_type, body) in NOT_FORMS.items():
            response = client.post(
                url, data=body, content_type=content_type, headers={"X-CSRFToken": token}
            )
            response.close()
            after, garbage = database()
            took = accepted(client, response)
            if response.status_code >= 500 or garbage or (not took and after != before):
                failures.append(f"{url} {name}: {response.status_code} {garbage}")
            before = after
    assert not failures, "\n".join(failures)


# Query strings on the pages that read them ---------------------------------------------

# Each line is one query string: every parameter some page reads, at once, so a few
# requests per page try them all. Sections apart, since an unknown one is a 404 at once.
QUERIES = [
    "page=-1&per_page=0&sort=;DROP TABLE users&q=%00&agency=99999999999999999999"
    "&assignee=%C2%B2&organization=99999999999999999999&status=%00&tag=%00&kind=%00&law=%00"
    "&from=0000-00-00&to=99999-01-01&year=99999999999999999999&ref=%00"
    "&group=99999999999999999999&template=../../etc/passwd&received_on=9999-12-31&next=%00",
    "page=99999999999999999999&per_page=99999999999999999999&sort="
    + "x" * 3000
    + "&q=%25_%5C&agency=-1&assignee=99999999999999999999&organization=-1&status=draft"
    "&status=sent&year=-1&group=-1&received_on=0001-01-01&law=us-foia&from=9999-12-31"
    "&to=0001-01-01&ref=" + "x" * 3000,
    "page=abc&per_page=-5&q=" + "%F0%9F%98%80" * 500 + "&agency=1.5&assignee=-1&year=0"
    "&template=%00&received_on=0000-00-00&law=ca-cpra&sort=due_on&sort=title&tag=" + "t" * 3000,
    "page=0&q=%ED%A0%80&agency=%00&assignee=%D9%A3&organization=%00&received_on=2026-03-02"
    "&agency=99999999999999999999&group=abc&year=abc",
    "page=1e3&q=%FF%FE&per_page=1e3&received_on=2026-02-30&law=%00&agency=1",
    "section=%00",
    "section=overdue&page=-1&per_page=99999999999999999999&sort=;DROP TABLE users",
    "section=due_soon&format=csv&page=99999999999999999999&agency=99999999999999999999",
    "format=csv&assignee=99999999999999999999&organization=99999999999999999999&tag=%00",
    "%00=%00&=&&&&a=" + "b" * 20000,
]


def test_junk_in_the_query_string_never_gives_a_server_error(app, admin_client, world):
    client = admin_client
    with app.test_request_context():
        pages = [
            url_for(endpoint, **world["args"].get(endpoint, {}))
            for (endpoint, method) in sorted(ACCESS)
            if method == "GET" and endpoint not in ("static", "letters.letter_pdf")
        ]
    failures = []
    for page in pages:
        for query in QUERIES:
            separator = "&" if "?" in page else "?"
            response = client.get(page + separator + query)
            response.close()
            if response.status_code >= 500:
                failures.append(f"{page}{separator}{query[:80]}: {response.status_code}")
    flashes(client)
    assert not failures, "\n".join(failures)


def test_an_address_naming_nothing_a_database_could_hold_is_not_found(app, admin_client, world):
    """An id too large for any column, or a reference, slug or token with a NUL in it."""
    client = admin_client
    token = csrf_token(client, "/account/password")
    failures = []
    for (endpoint, method), _ in sorted(ACCESS.items()):
        args = world["args"].get(endpoint, {})
        in_path = {name for rule in app.url_map.iter_rules(endpoint) for name in rule.arguments}
        variants = [
            {name: 10**20 for name in in_path if isinstance(args[name], int)},
            {name: "a\x00b" for name in in_path if isinstance(args[name], str)},
        ]
        for variant in variants:
            if not variant or endpoint == "static":
                continue
            with app.test_request_context():
                url = url_for(endpoint, **{**args, **variant})
            response = client.open(url, method=method, data={"csrf_token": token})
            response.close()
            # Not found; for one POST-only address Werkzeug's router answers 405 instead.
            if response.status_code not in (404, 405):
                failures.append(f"{method} {url}: {response.status_code}")
    flashes(client)
    assert not failures, "\n".join(failures)


# Found by the fuzz, kept as plain cases ------------------------------------------------


@pytest.mark.parametrize("day", ["0001-01-01", "0026-03-02", "9999-12-31", "2101-01-01"])
def test_a_date_in_no_year_a_request_is_made_is_refused_with_a_message(
    app, admin_client, world, day
):
    """Year 1 was stored as given; 9999-12-31 broke the deadline arithmetic (a 500)."""
    client = admin_client
    reference = world["args"]["requests.show_request"]["reference"]
    agency_id = world["args"]["agencies.show_agency"]["agency_id"]
    before, _ = database()
    posts = {
        "/requests/new": {"title": "Detainers", "agency": agency_id, "received_on": day},
        f"/requests/{reference}/responses/new": {
            "kind": "acknowledgment", "received_on": day, "channel": "email",
        },
        f"/requests/{reference}/extension": {"notice_on": "2026-03-02", "claimed_on": day},
    }  # fmt: skip
    for path, data in posts.items():
        response = client.post(path, data={"csrf_token": csrf_token(client, path), **data})
        assert response.status_code == 200, path
        assert "Enter a date between 1900 and 2100." in response.get_data(as_text=True), path
    calculator = client.get(f"/deadline-calculator?law=ca-cpra&received_on={day}")
    assert calculator.status_code == 200
    assert "Enter a date between 1900 and 2100." in calculator.get_data(as_text=True)
    assert database()[0] == before


def test_a_nul_in_a_form_or_a_query_is_dropped_not_a_server_error(app, client, auth, world):
    """PostgreSQL cannot store a NUL: a note, a sign-in or a search with one gave a 500."""
    reference = world["args"]["requests.show_request"]["reference"]
    token = csrf_token(client)
    refused = client.post(
        "/login", data={"csrf_token": token, "email": "a\x00@example.org", "password": "x\x00"}
    )
    assert refused.status_code == 401
    assert client.get("/feeds/a\x00b.ics").status_code == 404
    auth.login(world["users"][Role.ADMIN])
    path = f"/requests/{reference}/notes"
    response = client.post(
        path, data={"csrf_token": csrf_token(client, f"/requests/{reference}"), "note": "a\x00b"}
    )
    assert response.status_code == 302
    record = db.session.scalar(select(RecordsRequest).filter_by(reference=reference))
    notes = [event.note for event in record.events]
    assert "ab" in notes
    for page in (
        "/requests?q=a%00b",
        "/agencies?q=%00",
        "/due?tag=%00",
        f"/requests/{reference}%00",
    ):
        assert client.get(page).status_code in (200, 404), page

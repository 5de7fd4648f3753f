import contextvars
import copy
import io
import itertools
import re
import shutil
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import select, text

from tests.letters_support import simple_letter
from tests.live import PreparedDatabase, admin_sql
from tests.postgres import PostgresCluster, PostgresUnavailable
from tracker import create_app
from tracker.agencies.models import Agency
from tracker.auth.models import LinkKind, Role, User
from tracker.auth.services import make_account_link
from tracker.deadlines.models import AgencyCalendarDay, DayKind
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.documents.services import store_files
from tracker.extensions import db
from tracker.items.models import Fee, FeeKind, RequestItem
from tracker.letters.document import Sender
from tracker.letters.services import draft_letter, library
from tracker.mail.inbox import file_message
from tracker.publishing.models import DocumentPublication, RequestPublication
from tracker.requests.models import Organization, RecordsRequest
from tracker.requests.services import RequestValues, create_request
from tracker.series.models import Cadence, RequestSeries, SeriesPeriod
from tracker.sqltypes import utcnow

# The tests' own mail servers (Dovecot), as fixtures for any test that needs one.
pytest_plugins = ["tests.mailservers"]

PASSWORD = "correct horse battery staple"
_counter = itertools.count(1)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="The database every test runs on (PostgreSQL: a throwaway cluster).",
    )


# `make test` runs the suite once per backend. A test runs on both unless it says, or it
# shows, that it needs only one; on the other it is deselected, and the reason is printed
# under "collected" (each test with -v). A test deselected on both backends is an error.
BACKENDS = ("sqlite", "postgresql")
NO_BACKEND = (
    "uses no database backend (nothing it asks for needs the `backend` fixture), "
    "so it runs alike on both: once, on sqlite"
)
_DESELECTED = pytest.StashKey[dict[str, list[str]]]()


def not_run_on(item: pytest.Item) -> dict[str, str]:
    """The backends the test does not run on, each with the reason."""
    reasons: dict[str, str] = {}
    if "backend" not in item.fixturenames:
        reasons["postgresql"] = NO_BACKEND
    if item.get_closest_marker("sqlite_only") is not None:
        reasons["postgresql"] = "checks what only the SQLite backend does (sqlite_only)"
    for marker in item.iter_markers("only_on"):
        (backend,) = marker.args
        if backend not in BACKENDS:
            raise pytest.UsageError(f"{item.nodeid}: only_on({backend!r}) names no backend")
        reasons.update((other, marker.kwargs["reason"]) for other in BACKENDS if other != backend)
    return reasons


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    current = config.getoption("--db")
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    deselected: dict[str, list[str]] = {}
    nowhere: list[str] = []
    for item in items:
        reasons = not_run_on(item)
        if set(reasons) == set(BACKENDS):
            nowhere.append(item.nodeid)
        elif current in reasons:
            deselected.setdefault(reasons[current], []).append(item.nodeid)
            dropped.append(item)
        else:
            keep.append(item)
    if nowhere:
        raise pytest.UsageError(
            "these tests would run on neither backend:\n  " + "\n  ".join(nowhere)
        )
    config.stash[_DESELECTED] = deselected
    config.hook.pytest_deselected(items=dropped)
    items[:] = keep


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {config.getoption('--db')}"


def pytest_report_collectionfinish(config: pytest.Config) -> list[str]:
    current = config.getoption("--db")
    lines = []
    for reason, nodeids in config.stash.get(_DESELECTED, {}).items():
        lines.append(f"deselected on {current}: {len(nodeids)}, as each {reason}")
        if config.get_verbosity() > 0:
            lines.extend(f"  {nodeid}" for nodeid in nodeids)
    return lines


def base_config(tmp_path: Path, database_url: str) -> dict[str, Any]:
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        # Light scrypt parameters keep the suite quick; production uses the defaults.
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        # Jobs run where they are queued; tests/test_worker.py runs the real worker.
        "TASKS_IMMEDIATE": True,
    }


@pytest.fixture(scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.config.getoption("--db"))


@pytest.fixture(scope="session")
def postgres(backend: str) -> Iterator[PostgresCluster | None]:
    if backend != "postgresql":
        yield None
        return
    try:
        cluster = PostgresCluster()
        cluster.start()
    except PostgresUnavailable as error:
        pytest.exit(str(error), returncode=3)
    try:
        yield cluster
    finally:
        cluster.stop()


def migrate_database(tmp_path: Path, url: str) -> None:
    app = create_app(base_config(tmp_path, url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def template_database(
    backend: str, postgres: PostgresCluster | None, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A database migrated once; each test gets a copy of it."""
    folder = tmp_path_factory.mktemp("template")
    if postgres is None:
        path = folder / "template.sqlite3"
        migrate_database(folder, f"sqlite:///{path}")
        return str(path)
    admin_sql(postgres, "CREATE DATABASE tracker_template")
    migrate_database(folder, postgres.url("tracker_template"))
    return "tracker_template"


@pytest.fixture(scope="session")
def prepared_database(
    postgres: PostgresCluster | None, tmp_path_factory: pytest.TempPathFactory
) -> PreparedDatabase:
    """The database ``make run`` serves, migrated and seeded once for every served app."""
    return PreparedDatabase(postgres, tmp_path_factory.mktemp("prepared"))


@pytest.fixture
def database_url(
    template_database: str,
    postgres: PostgresCluster | None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    # A test of the world gets a copy of the world's database straight away: copying the
    # schema first and then the world would make two databases for it on PostgreSQL.
    if "world" in request.fixturenames:
        template_database = request.getfixturevalue("world_template").database
    if postgres is None:
        path = tmp_path / "tracker.sqlite3"
        shutil.copyfile(template_database, path)
        yield f"sqlite:///{path}"
        return
    name = f"test_{next(_counter)}"
    admin_sql(postgres, f"CREATE DATABASE {name} TEMPLATE {template_database}")
    try:
        yield postgres.url(name)
    finally:
        admin_sql(postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


class IsolatedClient(FlaskClient):
    """A test client whose requests each run in their own app context, as on a server.

    Tests hold an app context to use the database; without this, requests would
    share its ``g`` and its database session. After each request the test's own
    session is expired, so it reads what the request wrote. The body is read in the
    request's own context too, as a server reads it: a body streamed with
    ``stream_with_context`` ends that context when it is done.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


class CompiledTemplates(BytecodeCache):
    """Each test's app compiles the page templates it renders; the Python Jinja makes of a
    template is kept here for the run, under the template's name and file, and is used only
    while the file's source is the same (Jinja checks it)."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


@pytest.fixture
def make_app(tmp_path: Path, database_url: str) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def factory(**overrides: Any) -> Flask:
        app = create_app({**base_config(tmp_path, database_url), **overrides})
        app.test_client_class = IsolatedClient
        app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
        apps.append(app)
        return app

    yield factory
    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Iterator[Flask]:
    app = make_app()
    with app.app_context():
        yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    return app.test_cli_runner()


CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The token a real browser would submit, read from a page's form."""
    page = client.get(path, follow_redirects=True)
    match = CSRF_RE.search(page.get_data(as_text=True))
    assert match, f"no CSRF token in {path} (status {page.status_code})"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: dict[str, Any], **kwargs: Any) -> Any:
    """Submit a form as a browser does: with the CSRF token the page gave."""
    token = csrf_token(client, kwargs.pop("token_from", path))
    return client.post(path, data={"csrf_token": token, **data}, **kwargs)


def user_factory() -> Callable[..., User]:
    def factory(role: Role = Role.ADVOCATE, email: str | None = None, **fields: Any) -> User:
        number = next(_counter)
        user = User(
            email=email or f"{role.value}{number}@example.org",
            name=fields.pop("name", f"{role.value.title()} {number}"),
            role=role,
            **fields,
        )
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_user(app: Flask) -> Callable[..., User]:
    return user_factory()


def agency_factory() -> Callable[..., Agency]:
    def factory(**fields: Any) -> Agency:
        number = next(_counter)
        # An agency a letter can be mailed to, unless a test says otherwise.
        values = {
            "name": f"Test Agency {number}",
            "short_name": f"TA{number}",
            "law": "ca-cpra",
            "mailing_address": f"{number} Main Street\nLos Angeles, CA 90012",
        }
        agency = Agency(**{**values, **fields})
        db.session.add(agency)
        db.session.commit()
        return agency

    return factory


@pytest.fixture
def make_agency(app: Flask) -> Callable[..., Agency]:
    return agency_factory()


def request_factory(make_agency: Callable[..., Agency]) -> Callable[..., RecordsRequest]:
    def factory(created_by: User | None = None, **fields: Any) -> RecordsRequest:
        values = RequestValues(
            title=fields.pop("title", "ICE collaboration reports"),
            agency=fields.pop("agency", None) or make_agency(),
            **fields,
        )
        record = create_request(values, created_by)
        db.session.commit()
        return record

    return factory


@pytest.fixture
def make_request(app: Flask, make_agency: Callable[..., Agency]) -> Callable[..., RecordsRequest]:
    return request_factory(make_agency)


class Auth:
    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user_or_email: User | str, password: str = PASSWORD) -> Any:
        email = user_or_email if isinstance(user_or_email, str) else user_or_email.email
        return post_form(self.client, "/login", {"email": email, "password": password})

    def logout(self) -> Any:
        return post_form(self.client, "/logout", {}, token_from="/account/password")


@pytest.fixture
def auth(client: FlaskClient) -> Auth:
    return Auth(client)


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, email="admin@example.org", name="Ada Admin")


def blank_pdf(text: str = "") -> bytes:
    """A small real PDF, made without the printer so fixtures stay quick."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    if text:
        writer.add_metadata({"/Title": text})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def build_world(app, make_user, make_agency, make_request):
    """One of everything a URL can name; the request belongs to an advocate."""
    users = {role: make_user(role) for role in Role}
    agency = make_agency()

    organization = Organization(name="Coalition for Humane Immigrant Rights")
    db.session.add(organization)
    db.session.commit()
    record = make_request(created_by=users[Role.ADVOCATE], agency=agency)
    # Two items, so that one can be merged with the next.
    first_item = db.session.scalars(
        select(RequestItem).where(RequestItem.request_id == record.id)
    ).one()
    db.session.add(RequestItem(request=record, position=2, description="Logs"))
    db.session.commit()
    on_item = {"reference": record.reference, "item_id": first_item.id}
    simple_letter(app)
    template = library().get("test-simple")
    letter = draft_letter(
        record,
        template,
        template.example_values(),
        Sender(name="Ana", email="ana@example.org"),
        users[Role.ADVOCATE],
    )
    db.session.commit()
    on_letter = {"reference": record.reference, "letter_id": letter.id}
    document = store_files(
        record, [("release.pdf", io.BytesIO(blank_pdf()))], users[Role.ADVOCATE]
    ).stored[0]
    db.session.commit()
    on_document = {"document_id": document.id}
    acknowledgment = AgencyResponse(
        request_id=record.id, kind=ResponseKind.ACKNOWLEDGMENT, received_on=date(2026, 11, 20),
        channel=ResponseChannel.EMAIL, created_by_id=users[Role.ADVOCATE].id,
    )  # fmt: skip
    db.session.add(acknowledgment)
    fee = Fee(
        request_id=record.id, kind=FeeKind.ESTIMATE, amount=Decimal("12.50"),
        dated_on=date(2026, 11, 21), created_by_id=users[Role.ADVOCATE].id,
    )  # fmt: skip
    db.session.add(fee)
    db.session.commit()
    on_response = {"reference": record.reference, "response_id": acknowledgment.id}
    closure = AgencyCalendarDay(
        agency_id=agency.id, day=date(2026, 11, 30), kind=DayKind.CLOSED, note="Furlough"
    )
    db.session.add(closure)
    # Links that still work: an invitation for the staff member, a reset for the viewer.
    _, invitation = make_account_link(users[Role.STAFF], LinkKind.INVITATION, users[Role.ADMIN])
    _, reset = make_account_link(users[Role.VIEWER], LinkKind.RESET, users[Role.ADMIN])
    held = file_message(
        b"From: someone@example.net\r\nSubject: About those records\r\n\r\nWhich request?\r\n",
        source="imap",
        actor=None,
    ).correspondence
    notice = file_message(
        b"From: City of Los Angeles <lacity@nextrequest.com>\r\n"
        b"Subject: [Records Request 26-1234] [Due Date Changed]\r\n"
        b"Date: Tue, 1 Dec 2026 17:30:00 -0800\r\n\r\n"
        b"The due date for record request #26-1234 has been changed to January 5, 2027.\r\n",
        source="imap",
        actor=None,
        request=record,
    ).correspondence
    db.session.commit()
    series = RequestSeries(
        source_request_id=record.id, template_slug="test-simple", field_values={},
        agency_id=agency.id, cadence=Cadence.QUARTER, first_start_on=date(2026, 7, 1),
        report_name="The Chief's quarterly report", created_by_id=users[Role.STAFF].id,
        published_at=utcnow(),
    )  # fmt: skip
    db.session.add(series)
    db.session.flush()
    period = SeriesPeriod(series_id=series.id, start_on=date(2026, 7, 1), end_on=date(2026, 9, 30))
    db.session.add(period)
    db.session.commit()
    on_series = {"series_id": series.id}
    on_held = {"correspondence_id": held.id}
    on_notice = {"reference": record.reference, "correspondence_id": notice.id}
    # The public records room: the request published with the document, and one document
    # each under an embargo, never published, and withdrawn.
    publication = RequestPublication(request_id=record.id, summary="Published")
    db.session.add(publication)
    db.session.add(DocumentPublication(document_id=document.id))
    db.session.commit()
    public_keys = {"document": db.session.scalars(select(DocumentPublication.public_key)).one()}
    for hidden in ("embargoed", "unpublished", "withdrawn"):
        kept = store_files(
            record, [(f"{hidden}.pdf", io.BytesIO(blank_pdf(hidden)))], users[Role.ADVOCATE]
        ).stored[0]
        held_back = DocumentPublication(document_id=kept.id, embargo_until=date(2099, 1, 1))
        if hidden == "withdrawn":
            held_back.embargo_until, held_back.withdrawn_at = None, utcnow()
        db.session.add(held_back)
        db.session.commit()
        public_keys[hidden] = held_back.public_key
        if hidden == "unpublished":
            db.session.delete(held_back)
            db.session.commit()
    return {
        "users": users,
        "args": {
            "static": {"filename": "style.css"},
            "admin.edit_user": {"user_id": users[Role.VIEWER].id},
            "admin.make_link": {"user_id": users[Role.VIEWER].id},
            "auth.accept_invitation": {"token": invitation},
            "auth.reset_password": {"token": reset},
            "agencies.show_agency": {"agency_id": agency.id},
            "agencies.edit_agency": {"agency_id": agency.id},
            "organizations.edit_organization": {"organization_id": organization.id},
            "requests.show_request": {"reference": record.reference},
            "requests.edit_request": {"reference": record.reference},
            "requests.add_request_note": {"reference": record.reference},
            "letters.show_template": {"slug": "test-simple"},
            "letters.new_requests": {"slug": "test-simple"},
            "letters.new_letter": {"reference": record.reference},
            "letters.edit_letter": on_letter,
            "letters.show_letter": on_letter,
            "letters.finalize_letter": on_letter,
            "letters.mark_letter_sent": on_letter,
            "letters.mark_filed_portal": on_letter,
            "letters.letter_pdf": on_letter,
            "letters.print_letters": {"ref": record.reference},
            "documents.new_response": {"reference": record.reference},
            "documents.upload": {"reference": record.reference},
            "documents.answer_items": on_response,
            "documents.download": on_document,
            "documents.view": on_document,
            "documents.text_status": on_document,
            "documents.show": on_document,
            "documents.delete": on_document,
            "documents.download_zip": {"reference": record.reference},
            "items.edit_items": {"reference": record.reference},
            "items.add": {"reference": record.reference},
            "items.reword": on_item,
            "items.split": on_item,
            "items.merge": on_item,
            "items.remove": on_item,
            "items.withdraw": on_item,
            "mail.upload_mail": {"reference": record.reference},
            "mail.email_letter": on_letter,
            "mail.assign_held": on_held,
            "mail.discard_held": on_held,
            "mail.confirm": on_notice,
            "mail.dismiss": on_notice,
            "mail.settle_no_answer": on_notice,
            "deadlines.agency_calendar": {"agency_id": agency.id},
            "deadlines.add_calendar_day": {"agency_id": agency.id},
            "deadlines.remove_calendar_day": {"agency_id": agency.id, "day_id": closure.id},
            "deadlines.log_extension": {"reference": record.reference},
            "deadlines.draft_follow_up": {"reference": record.reference},
            "deadlines.feed": {"token": "no-such-token"},
            "search.results": {"q": "reports"},
            "fees.add_fee": {"reference": record.reference},
            "fees.remove": {"reference": record.reference, "fee_id": fee.id},
            "scorecards.compare_csv": {"table": "days"},
            "scorecards.compare_chart": {"chart": "days"},
            "scorecards.agency": {"agency_id": agency.id},
            "scorecards.agency_csv": {"agency_id": agency.id, "table": "items"},
            "scorecards.agency_chart": {"agency_id": agency.id, "chart": "items"},
            "publishing.publish": {"reference": record.reference},
            "publishing.withdraw": {"reference": record.reference},
            "publishing.review": on_document,
            "publishing.unpublish": on_document,
            "series.new_series": {"reference": record.reference},
            "series.show_series": on_series,
            "series.stop": on_series,
            "series.public_room": on_series,
            "series.mark_period_report": {"series_id": series.id, "period_id": period.id},
            "public.show_request": {"key": publication.public_key},
            "public.show_document": {"key": public_keys["document"]},
            "public.download_document": {"key": public_keys["document"]},
            "public.search": {"q": "reports"},
            "public.agency": {"agency_id": agency.id},
            "public.show_series": {"key": series.public_key},
        },
        "public": public_keys,
    }


class WorldTemplate:
    """The world, built once per run: its database (a SQLite file or a PostgreSQL
    template database), its instance folder (files, letter templates) and what it holds."""

    def __init__(self, database: str, instance: Path, built: dict[str, Any]) -> None:
        self.database = database
        self.instance = instance
        self.users = {role: user.id for role, user in built["users"].items()}
        self.args = built["args"]
        self.public = built["public"]


@pytest.fixture(scope="session")
def world_template(
    template_database: str,
    postgres: PostgresCluster | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> WorldTemplate:
    """Building the world takes a second or more; hundreds of tests read it, so it is built
    once, and each test starts from a copy of it, as each starts from a copy of the schema."""
    folder = tmp_path_factory.mktemp("world")
    if postgres is None:
        database = str(folder / "world.sqlite3")
        shutil.copyfile(template_database, database)
        url = f"sqlite:///{database}"
    else:
        database = "tracker_world"
        admin_sql(postgres, f"CREATE DATABASE {database} TEMPLATE {template_database}")
        url = postgres.url(database)
    app = create_app(base_config(folder, url))
    with app.app_context():
        make_agency = agency_factory()
        built = build_world(app, user_factory(), make_agency, request_factory(make_agency))
        template = WorldTemplate(database, folder / "instance", built)
        if postgres is None:
            db.session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        db.session.remove()
        db.engine.dispose()
    return template


@pytest.fixture
def world(app: Flask, world_template: WorldTemplate) -> dict[str, Any]:
    """The test's database is a copy of the world's (see ``database_url``); so becomes its
    instance folder."""
    shutil.copytree(world_template.instance, app.instance_path, dirs_exist_ok=True)
    return {
        "users": {role: db.session.get(User, id_) for role, id_ in world_template.users.items()},
        "args": copy.deepcopy(world_template.args),
        "public": dict(world_template.public),
    }

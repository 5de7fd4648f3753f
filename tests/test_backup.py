"""`tracker backup` and `tracker restore`: a whole instance, taken while it is in use, comes back
row for row and byte for byte into a new one, and `tracker doctor` finds nothing wrong.
"""

import io
import tarfile
import threading
import time
from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import create_engine, inspect, text

from tests import test_storage
from tests.conftest import PASSWORD, admin_sql, csrf_token
from tests.test_storage import bucket_client, objects_in
from tracker.auth.models import Role
from tracker.documents.models import Document
from tracker.documents.services import store_files
from tracker.extensions import db
from tracker.mail.models import Correspondence, MailState
from tracker.publishing.models import DocumentPublication, RequestPublication

LOAD_NOTES = "Called the records unit again"
# The real S3 server of the storage tests, and a new bucket on it for each test.
s3_endpoint = test_storage.s3_endpoint
s3_config = test_storage.s3_config


@pytest.fixture
def target_url(backend, postgres, tmp_path):
    """A database nothing has touched, for the new instance."""
    if postgres is None:
        yield f"sqlite:///{tmp_path / 'restored' / 'tracker.sqlite3'}"
        return
    name = f"restored_{tmp_path.name[-20:].replace('-', '_').lower()}"
    admin_sql(postgres, f"CREATE DATABASE {name}")
    try:
        yield postgres.url(name)
    finally:
        admin_sql(postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def target(make_app, target_url, tmp_path) -> Flask:
    return make_app(INSTANCE_PATH=str(tmp_path / "restored" / "instance"), DATABASE_URL=target_url)


class NoteWriter(threading.Thread):
    """Staff adding notes to a request through its page's form, as fast as the app takes them."""

    def __init__(self, app: Flask, email: str, reference: str) -> None:
        super().__init__(daemon=True)
        self.client = app.test_client()
        self.reference = reference
        self.stop = threading.Event()
        self.written = 0
        self.errors: list[str] = []
        token = csrf_token(self.client)
        self.client.post("/login", data={"csrf_token": token, "email": email, "password": PASSWORD})
        self.token = csrf_token(self.client, f"/requests/{reference}")

    def run(self) -> None:
        while not self.stop.is_set():
            response = self.client.post(
                f"/requests/{self.reference}/notes",
                data={"csrf_token": self.token, "note": f"{LOAD_NOTES} ({self.written + 1})."},
            )
            if response.status_code != 302:
                self.errors.append(f"{response.status_code}: {response.get_data(as_text=True)}")
                return
            self.written += 1

    def wait_for(self, count: int) -> None:
        deadline = time.monotonic() + 60
        while self.written < count:
            assert not self.errors, self.errors
            assert time.monotonic() < deadline, "the notes stopped"
            time.sleep(0.01)


def tables_of(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order; FTS5's own storage read through its table."""
    engine = create_engine(url)
    rows: dict[str, list[tuple]] = {}
    try:
        with engine.connect() as connection:
            for name in inspect(connection).get_table_names():
                if name.startswith("search_index_"):
                    continue  # the FTS5 index's shadow tables: compared through search_index
                found = connection.execute(text(f'SELECT * FROM "{name}"')).all()
                rows[name] = sorted((tuple(row) for row in found), key=repr)
            if engine.dialect.name == "sqlite":
                found = connection.execute(text("SELECT rowid, * FROM search_index")).all()
                rows["search_index"] = sorted((tuple(row) for row in found), key=repr)
    finally:
        engine.dispose()
    return rows


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        "/".join(path.relative_to(folder).parts): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".staging" not in path.parts
    }


def populated(world, make_user, make_request) -> tuple[str, str]:
    """The world (every kind of row, a local letter template, a document) and more files."""
    record = make_request(created_by=world["users"][Role.STAFF], title="Body camera footage")
    stored = store_files(
        record,
        [("minutes.txt", io.BytesIO(b"The council met on Tuesday.\n" * 150_000)),
         ("log.csv", io.BytesIO(b"date,stops\n2026-01-05,12\n"))],
        world["users"][Role.STAFF],
    ).stored  # fmt: skip
    # What the public records room shows: the request and one of its documents, embargoed.
    db.session.add(RequestPublication(request_id=record.id, summary="Footage logs"))
    db.session.add(DocumentPublication(document_id=stored[1].id, embargo_until=date(2027, 1, 4)))
    db.session.commit()
    writer = make_user(Role.STAFF, email="load@example.org")
    busy = make_request(created_by=writer, title="Jail access logs")
    return writer.email, busy.reference


def test_a_backup_taken_under_load_restores_every_row_and_file_into_a_new_instance(
    app, runner, target, world, make_user, make_request, tmp_path
):
    email, busy = populated(world, make_user, make_request)
    source_url = app.config["SQLALCHEMY_DATABASE_URI"]
    archive = tmp_path / "backup.tar.gz"

    load = NoteWriter(app, email, busy)
    load.start()
    try:
        load.wait_for(3)
        result = runner.invoke(args=["backup", "--output", str(archive)])
        during = load.written
        load.wait_for(during + 3)
    finally:
        load.stop.set()
        load.join(30)
    assert not load.errors, load.errors
    assert result.exit_code == 0, result.output
    summary = result.output.splitlines()[-1]
    assert summary.startswith("Backed up ")
    assert "6 documents, 2 emails, 1 letter template and the secret key" in summary
    assert f"to {archive}" in summary

    with target.app_context():
        restored = target.test_cli_runner().invoke(args=["restore", str(archive)])
        assert restored.exit_code == 0, restored.output
        assert restored.output.splitlines()[-1].startswith("Restored ")
        doctor = target.test_cli_runner().invoke(args=["doctor"])
        assert doctor.exit_code == 0, doctor.output
        assert doctor.output.splitlines()[-1] == (
            "Checked 6 documents: 0 missing, 0 corrupted; 0 orphans; 0 upload leftovers."
        )
        target_url = target.config["SQLALCHEMY_DATABASE_URI"]
        db.session.remove()
        db.engine.dispose()

    db.session.remove()
    source, copy = tables_of(source_url), tables_of(target_url)
    assert sorted(copy) == sorted(source)
    busy_id = db.session.scalar(text(f"SELECT id FROM records_requests WHERE reference = '{busy}'"))
    load_tables = {"request_events", "search_entries", "search_index"}
    for name in sorted(source):
        if name not in load_tables:
            assert copy[name] == source[name], name
            continue
        # The load's notes: the copy holds those written up to one moment, and nothing else.
        columns = [c["name"] for c in inspect(db.engine).get_columns(name)] if name != (
            "search_index") else ["rowid", "kind", "ref_id", "request_id"]  # fmt: skip
        by_load = columns.index("request_id")
        settled = [row for row in source[name] if row[by_load] != busy_id]
        assert [row for row in copy[name] if row[by_load] != busy_id] == settled, name
        moving = sorted((r for r in source[name] if r[by_load] == busy_id), key=lambda r: r[0])
        kept = sorted((r for r in copy[name] if r[by_load] == busy_id), key=lambda r: r[0])
        assert kept == moving[: len(kept)], name
    notes = [row for row in copy["request_events"] if LOAD_NOTES in str(row)]
    assert 3 <= len(notes) < load.written, "the backup was not taken while notes were written"

    source_instance = Path(app.instance_path)
    target_instance = Path(target.instance_path)
    assert files_under(target_instance / "documents") == files_under(source_instance / "documents")
    assert (
        len(files_under(target_instance / "documents")) == 8
    )  # six documents (four of the world's), the held email and the portal's notice
    assert files_under(target_instance / "letters") == files_under(source_instance / "letters")
    assert (target_instance / "secret_key").read_text().strip() == app.config["SECRET_KEY"]


def rewrite(archive: Path, damaged: Path, change) -> None:
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as out:
        for member in source:
            data = source.extractfile(member).read()
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))


def test_a_damaged_archive_or_an_instance_in_use_is_refused_and_nothing_changes(
    app, runner, target, world, tmp_path
):
    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0

    refused = runner.invoke(args=["restore", str(archive)])
    assert refused.exit_code == 1
    assert "this instance is not empty: its database has rows (in " in refused.output
    # The world's four documents, its held email and its portal notice.
    assert "it stores 6 document files" in refused.output
    assert "it has 1 local letter template" in refused.output

    def tamper(name: str, data: bytes) -> bytes | None:
        if name.startswith("documents/"):
            return data[:-1] + bytes([data[-1] ^ 1])
        if name.startswith("letters/"):
            return None
        return data

    damaged = tmp_path / "damaged.tar.gz"
    rewrite(archive, damaged, tamper)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(damaged)])
        assert result.exit_code == 1
        lines = result.output.splitlines()
        assert f"Error: {damaged} is damaged; nothing was restored:" in lines
        assert any(
            line.startswith("  documents/") and "its SHA-256 does not match" in line
            for line in lines
        ), lines
        assert "  letters/test-simple.letter: listed in the manifest but not in the archive" in (
            lines
        )
        result = target.test_cli_runner().invoke(args=["restore", str(cut)])
        assert result.exit_code == 1
        assert f"{cut} is damaged" in result.output and "cut short" in result.output
        instance = Path(target.instance_path)
        assert not (instance / "documents").exists() and not (instance / "letters").exists()
        assert "users" not in inspect(db.engine).get_table_names()


def test_documents_in_a_bucket_are_backed_up_and_restored_through_the_store(
    make_app, make_request, s3_config, target_url, tmp_path
):
    source = make_app(**s3_config)
    archive = tmp_path / "backup.tar.gz"
    with source.app_context():
        record = make_request()
        store_files(record, [("a.txt", io.BytesIO(b"first file\n" * 1000)),
                             ("b.txt", io.BytesIO(b"second file\n"))], None)  # fmt: skip
        db.session.commit()
        result = source.test_cli_runner().invoke(args=["backup", "--output", str(archive)])
        assert result.exit_code == 0, result.output
        assert "2 documents" in result.output.splitlines()[-1]
    assert files_under(Path(source.instance_path)) == {}  # they were read from the bucket

    bucket = {**s3_config, "S3_BUCKET": s3_config["S3_BUCKET"] + "-new"}
    bucket_client(bucket).create_bucket(Bucket=bucket["S3_BUCKET"])
    target = make_app(
        **bucket, INSTANCE_PATH=str(tmp_path / "restored" / "instance"), DATABASE_URL=target_url
    )
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        doctor = target.test_cli_runner().invoke(args=["doctor"])
        assert doctor.exit_code == 0, doctor.output
        assert "Checked 2 documents: 0 missing, 0 corrupted" in doctor.output
        db.session.remove()
        db.engine.dispose()
    assert objects_in(bucket) == objects_in(s3_config) and len(objects_in(bucket)) == 2
    for key in objects_in(s3_config):
        kept = bucket_client(s3_config).get_object(Bucket=s3_config["S3_BUCKET"], Key=key)
        copied = bucket_client(bucket).get_object(Bucket=bucket["S3_BUCKET"], Key=key)
        assert copied["Body"].read() == kept["Body"].read()


def test_an_instance_with_only_the_empty_tables_of_db_upgrade_takes_a_restore(
    app, runner, target, world, tmp_path
):
    archive = tmp_path / "backup.tar.gz"
    assert runner.invoke(args=["backup", "--output", str(archive)]).exit_code == 0
    source = tables_of(app.config["SQLALCHEMY_DATABASE_URI"])
    (tmp_path / "restored").mkdir()
    with target.app_context():
        upgrade()
        result = target.test_cli_runner().invoke(args=["restore", str(archive)])
        assert result.exit_code == 0, result.output
        url = target.config["SQLALCHEMY_DATABASE_URI"]
        db.session.remove()
        db.engine.dispose()
    assert tables_of(url) == source


def test_a_backup_names_a_document_whose_file_is_missing_and_exits_1(app, runner, world, tmp_path):
    document = db.session.scalars(
        db.select(Document).where(Document.original_filename == "release.pdf")
    ).one()
    Path(app.instance_path, "documents", *document.storage_key.split("/")).unlink()
    archive = tmp_path / "backup.tar.gz"
    result = runner.invoke(args=["backup", "--output", str(archive)])
    assert result.exit_code == 1
    assert f"missing from storage, not backed up: {document.storage_key}" in result.stderr
    assert "1 document had no file in storage; run tracker doctor." in result.stderr
    with tarfile.open(archive) as written:
        names = written.getnames()
    held = db.session.scalars(
        db.select(Correspondence).where(Correspondence.state == MailState.HELD)
    ).one()
    assert "manifest.json" in names and f"documents/{document.storage_key}" not in names
    # The raw email kept beside it is backed up still.
    assert f"documents/{held.raw_storage_key}" in names

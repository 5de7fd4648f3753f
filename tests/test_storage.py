"""Where document bytes live: on disk or in an S3 bucket, whole or not at all.

The S3 tests talk to a real S3 server (moto's), over HTTP on a free local port.
"""

import hashlib
import io
import logging
import os
import re
import time
import uuid
from datetime import timedelta
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from tests.conftest import Auth
from tests.postgres import free_port
from tracker.auth.models import Role
from tracker.documents import cli as document_cli
from tracker.documents.models import Document
from tracker.documents.s3 import S3Storage
from tracker.documents.services import delete_document, staging_folder, storage, store_files
from tracker.documents.storage import LocalStorage, Receiving, TooLarge, stage
from tracker.extensions import db

KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")
LIMIT = 10 * 1024 * 1024


def text_bytes(label: str, size: int = 4096) -> bytes:
    line = f"Records released to the coalition, {label}.\n".encode()
    return (line * (size // len(line) + 1))[:size]


class Interrupted(io.RawIOBase):
    """An upload whose connection drops after the first part."""

    def __init__(self) -> None:
        self.sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.sent:
            raise ConnectionResetError("the client went away")
        self.sent = True
        part = text_bytes("first part", 2048)
        buffer[: len(part)] = part
        return len(part)


def files_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_file()] if folder.exists() else []


# Local disk


def test_a_file_kept_on_disk_reads_back_whole_until_deleted(tmp_path):
    data = text_bytes("round trip")
    local = LocalStorage(tmp_path / "documents")
    staged = stage(io.BytesIO(data), tmp_path / "staging", LIMIT)
    key = local.put(staged)
    assert KEY.fullmatch(key)
    with local.open(key) as handle:
        assert handle.read() == data
    assert local.exists(key)
    assert list(local.keys()) == [key]
    local.delete(key)
    assert not local.exists(key)
    assert list(local.keys()) == []


def test_a_staged_file_is_moved_into_place_whole_not_copied(tmp_path):
    data = text_bytes("moved whole", 8192)
    local = LocalStorage(tmp_path / "documents")
    staged = stage(io.BytesIO(data), tmp_path / "staging", LIMIT)
    inode = staged.path.stat().st_ino
    key = local.put(staged)
    # A rename: the very file that was staged, so no reader ever sees half of it.
    assert local.path(key).stat().st_ino == inode
    assert local.path(key).read_bytes() == data
    assert not staged.path.exists()
    assert files_under(tmp_path / "staging") == []


def receive(folder: Path, data: bytes, cap: int) -> Receiving:
    """A file of a form as the form parser writes it: in pieces of its own size."""
    received = Receiving(folder, cap)
    for start in range(0, len(data), 65_000):
        received.write(data[start : start + 65_000])
    received.seek(0)
    return received


def test_a_file_received_while_the_form_is_read_is_staged_as_it_is(tmp_path):
    folder = tmp_path / "staging"
    data = text_bytes("received once", 300_000)
    received = receive(folder, data, LIMIT)
    staged = stage(received, folder, LIMIT)
    # The very file written while the form was read, hashed on the way: no second copy.
    assert staged.path == received.path
    assert files_under(folder) == [staged.path]
    assert (staged.size, staged.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    assert staged.head == data[:8192]
    assert staged.path.read_bytes() == data
    received.close()  # the request ends: a file taken for the store stays for it
    key = LocalStorage(tmp_path / "documents").put(staged)
    assert LocalStorage(tmp_path / "documents").path(key).read_bytes() == data
    assert files_under(folder) == []


def test_a_received_file_past_the_limit_is_refused_and_removed(tmp_path):
    folder = tmp_path / "staging"
    received = receive(folder, text_bytes("too large", 5000), 4000)
    # One byte more than the cap is kept, to tell it is too large; the rest is dropped.
    assert received.path.stat().st_size == 4001
    with pytest.raises(TooLarge, match="larger than the 0 MB limit"):
        stage(received, folder, 4000)
    assert files_under(folder) == []


def test_a_received_file_that_is_never_stored_goes_when_it_is_closed(tmp_path):
    folder = tmp_path / "staging"
    received = receive(folder, text_bytes("refused", 5000), LIMIT)
    assert files_under(folder) == [received.path]
    received.close()
    assert files_under(folder) == []


def test_an_interrupted_stream_leaves_nothing_behind(tmp_path):
    local = LocalStorage(tmp_path / "documents")
    with pytest.raises(ConnectionResetError):
        stage(io.BufferedReader(Interrupted()), tmp_path / "staging", LIMIT)
    assert files_under(tmp_path / "staging") == []
    assert list(local.keys()) == []


def test_an_interrupted_upload_stores_nothing_and_leaves_no_staged_file(app, make_request):
    record = make_request()
    with pytest.raises(ConnectionResetError):
        store_files(record, [("half.pdf", io.BufferedReader(Interrupted()))], None)
    db.session.rollback()
    assert list(storage().keys()) == []
    assert files_under(staging_folder()) == []
    assert db.session.scalar(select(func.count()).select_from(Document)) == 0


# A real S3 server


@pytest.fixture(scope="module")
def s3_endpoint(request):
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)  # no line per request from moto's server
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()

    def stop():
        server.stop()
        werkzeug_log.setLevel(level)

    request.addfinalizer(stop)
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def s3_config(s3_endpoint):
    """Settings for a new, empty bucket on the server, as TRACKER_S3_* would give them."""
    config = {
        "STORAGE_BACKEND": "s3",
        "S3_BUCKET": f"tracker-{uuid.uuid4().hex[:12]}",
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_REGION": "us-east-1",
        "S3_ACCESS_KEY_ID": "testing",
        "S3_SECRET_ACCESS_KEY": "testing",
        "S3_PREFIX": "tracker/",
    }
    bucket_client(config).create_bucket(Bucket=config["S3_BUCKET"])
    return config


def bucket_client(config):
    return boto3.client(
        "s3",
        endpoint_url=config["S3_ENDPOINT_URL"],
        region_name=config["S3_REGION"],
        aws_access_key_id=config["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=config["S3_SECRET_ACCESS_KEY"],
    )


def objects_in(config) -> list[str]:
    listing = bucket_client(config).list_objects_v2(Bucket=config["S3_BUCKET"])
    return sorted(item["Key"] for item in listing.get("Contents", []))


def test_the_s3_backend_keeps_reads_lists_and_deletes(s3_config, tmp_path):
    bucket = S3Storage.from_config(s3_config)
    data = text_bytes("s3 round trip", 6000)
    staged = stage(io.BytesIO(data), tmp_path, LIMIT)
    key = bucket.put(staged)
    assert KEY.fullmatch(key)
    assert objects_in(s3_config) == [f"tracker/{key}"]
    with bucket.open(key) as body:
        assert body.read(1000) + body.read() == data
    assert bucket.exists(key)

    # Objects the tracker did not make share the bucket untouched and unlisted.
    client = bucket_client(s3_config)
    client.put_object(Bucket=s3_config["S3_BUCKET"], Key="tracker/README", Body=b"x")
    client.put_object(Bucket=s3_config["S3_BUCKET"], Key="elsewhere/ab/cd/" + "e" * 32, Body=b"x")
    assert list(bucket.keys()) == [key]

    bucket.delete(key)
    assert not bucket.exists(key)
    assert list(bucket.keys()) == []
    with pytest.raises(FileNotFoundError):
        bucket.open(key)


class SmallPages:
    """The client, asking the server for two objects a page."""

    def __init__(self, client) -> None:
        self.client = client
        self.pages = 0

    def __getattr__(self, name):
        return getattr(self.client, name)

    def get_paginator(self, operation):
        paginator = self.client.get_paginator(operation)
        outer = self

        class Paginator:
            def paginate(self, **kwargs):
                for page in paginator.paginate(PaginationConfig={"PageSize": 2}, **kwargs):
                    outer.pages += 1
                    yield page

        return Paginator()


def test_s3_keys_are_listed_page_by_page(s3_config, tmp_path):
    bucket = S3Storage.from_config(s3_config)
    made = sorted(
        bucket.put(stage(io.BytesIO(text_bytes(str(n), 100)), tmp_path, LIMIT)) for n in range(5)
    )
    bucket.client = SmallPages(bucket.client)
    assert list(bucket.keys()) == made
    assert bucket.client.pages == 3


def test_uploads_go_to_the_bucket_and_download_back(make_app, make_request, make_user, s3_config):
    s3_app = make_app(**s3_config)
    data = text_bytes("kept in the bucket", 5000)
    with s3_app.app_context():
        user = make_user(Role.STAFF)
        record = make_request()
        result = store_files(record, [("minutes.txt", io.BytesIO(data))], user)
        db.session.commit()
        document = result.stored[0]
        assert document.storage_backend == "s3"
        assert objects_in(s3_config) == [f"tracker/{document.storage_key}"]
        assert files_under(staging_folder()) == []

        client = s3_app.test_client()
        Auth(client).login(user)
        response = client.get(f"/documents/{document.id}/download")
        assert response.status_code == 200
        assert response.data == data


def test_an_interrupted_upload_leaves_the_bucket_empty(make_app, make_request, s3_config):
    s3_app = make_app(**s3_config)
    with s3_app.app_context():
        record = make_request()
        with pytest.raises(ConnectionResetError):
            store_files(record, [("half.pdf", io.BufferedReader(Interrupted()))], None)
        db.session.rollback()
        assert objects_in(s3_config) == []
        assert files_under(staging_folder()) == []


# tracker doctor


def keep(record, name: str, data: bytes) -> Document:
    document = store_files(record, [(name, io.BytesIO(data))], None).stored[0]
    db.session.commit()
    return document


def test_doctor_says_all_is_well_for_an_intact_archive(app, runner, make_request):
    record = make_request()
    keep(record, "a.txt", text_bytes("a"))
    keep(record, "b.txt", text_bytes("b"))
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Checked 2 documents: 0 missing, 0 corrupted; 0 orphans; 0 upload leftovers.\n"
    )


def test_doctor_finds_corrupted_missing_and_orphaned_files_and_repairs_only_orphans(
    app, runner, make_request
):
    record = make_request()
    intact = keep(record, "intact.txt", text_bytes("intact"))
    corrupted = keep(record, "corrupted.txt", text_bytes("corrupted"))
    missing = keep(record, "missing.txt", text_bytes("missing"))
    local = storage()
    assert isinstance(local, LocalStorage)
    damaged = bytearray(local.path(corrupted.storage_key).read_bytes())
    damaged[100] ^= 0xFF
    local.path(corrupted.storage_key).write_bytes(bytes(damaged))
    local.path(missing.storage_key).unlink()

    orphan = "ab/cd/" + "0" * 32
    local.path(orphan).parent.mkdir(parents=True)
    local.path(orphan).write_bytes(b"left behind by a crash")
    an_hour_ago = time.time() - 2 * 60 * 60
    os.utime(local.path(orphan), (an_hour_ago, an_hour_ago))
    # Still being uploaded (no row yet), and a staged upload: neither is an orphan.
    saving = "ab/cd/" + "1" * 32
    local.path(saving).write_bytes(b"an upload in progress")
    staging_folder().mkdir(parents=True, exist_ok=True)
    (staging_folder() / ".upload-abc").write_bytes(b"half")

    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert f"corrupted: {record.reference} “corrupted.txt” (document {corrupted.id}, " \
        f"key {corrupted.storage_key}): its SHA-256 does not match" in lines  # fmt: skip
    assert f"missing: {record.reference} “missing.txt” (document {missing.id}, " \
        f"key {missing.storage_key})" in lines  # fmt: skip
    assert f"orphan: {orphan} (no document uses it)" in lines
    assert not any(saving in line or intact.storage_key in line for line in lines)
    assert "Not counted: 1 file stored in the last hour that no document uses yet; " \
        "an upload may still be saving them." in lines  # fmt: skip
    assert lines[-1] == "Checked 3 documents: 1 missing, 1 corrupted; 1 orphan; 0 upload leftovers."

    result = runner.invoke(args=["doctor", "--repair"])
    assert result.exit_code == 1  # the missing and corrupted files are still wrong
    assert f"removed orphan: {orphan}" in result.output.splitlines()
    assert result.output.splitlines()[-1].endswith("; 1 orphan removed; 0 upload leftovers.")
    assert not local.exists(orphan)
    assert local.exists(saving)
    assert local.path(corrupted.storage_key).read_bytes() == bytes(damaged)
    assert local.exists(intact.storage_key)
    assert (staging_folder() / ".upload-abc").exists()
    assert "Not counted: 1 file in .staging from the last hour; an upload may still be " \
        "receiving them." in result.output.splitlines()  # fmt: skip

    local.path(corrupted.storage_key).unlink()
    summary = runner.invoke(args=["doctor"]).output.splitlines()[-1]
    assert summary == "Checked 3 documents: 2 missing, 0 corrupted; 0 orphans; 0 upload leftovers."


def test_doctor_reports_a_truncated_file_by_its_size(app, runner, make_request):
    record = make_request()
    document = keep(record, "cut.txt", text_bytes("cut", 4096))
    path = LocalStorage(Path(app.instance_path) / "documents").path(document.storage_key)
    path.write_bytes(path.read_bytes()[:1000])
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 1
    assert ": 1,000 bytes where 4,096 were stored" in result.output


def test_a_deleted_documents_file_is_neither_checked_nor_an_orphan(app, runner, make_request,
                                                                   make_user):  # fmt: skip
    record = make_request()
    document = keep(record, "withdrawn.txt", text_bytes("withdrawn"))
    delete_document(document, make_user(Role.STAFF), "Uploaded to the wrong request.")
    db.session.commit()
    result = runner.invoke(args=["doctor"])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "Checked 0 documents: 0 missing, 0 corrupted; 0 orphans; 0 upload leftovers.\n"
    )


def test_doctor_checks_the_bucket_too(make_app, make_request, s3_config, monkeypatch):
    monkeypatch.setattr(document_cli, "ORPHAN_AGE", timedelta(0))
    s3_app = make_app(**s3_config)
    client = bucket_client(s3_config)
    with s3_app.app_context():
        record = make_request()
        corrupted = keep(record, "corrupted.txt", text_bytes("corrupted"))
        missing = keep(record, "missing.txt", text_bytes("missing"))
        keep(record, "intact.txt", text_bytes("intact"))
        client.put_object(
            Bucket=s3_config["S3_BUCKET"], Key=f"tracker/{corrupted.storage_key}",
            Body=text_bytes("something else"),
        )  # fmt: skip
        client.delete_object(Bucket=s3_config["S3_BUCKET"], Key=f"tracker/{missing.storage_key}")
        orphan = "ab/cd/" + "0" * 32
        client.put_object(Bucket=s3_config["S3_BUCKET"], Key=f"tracker/{orphan}", Body=b"x")

        runner = s3_app.test_cli_runner()
        result = runner.invoke(args=["doctor"])
        assert result.exit_code == 1
        assert result.output.splitlines()[-1] == (
            "Checked 3 documents: 1 missing, 1 corrupted; 1 orphan; 0 upload leftovers."
        )
        result = runner.invoke(args=["doctor", "--repair"])
        assert f"removed orphan: {orphan}" in result.output
        assert len(objects_in(s3_config)) == 2


# tracker documents import


@pytest.fixture
def folder(tmp_path):
    """Three files from an agency, one of them already on the request, and a web page."""
    root = tmp_path / "release"
    (root / "batch 2").mkdir(parents=True)
    (root / "letter.txt").write_bytes(text_bytes("cover letter"))
    (root / "batch 2" / "log.txt").write_bytes(text_bytes("already uploaded"))
    (root / "batch 2" / "portal.html").write_bytes(b"<!DOCTYPE html><html><body>hi</body></html>")
    (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    return root


def test_import_adds_a_folder_skips_duplicates_and_reports_refusals(
    app, runner, make_request, make_user, folder
):
    staff = make_user(Role.STAFF)
    record = make_request()
    keep(record, "log.txt", text_bytes("already uploaded"))
    result = runner.invoke(
        args=["documents", "import", record.reference.lower(), str(folder), "--as", staff.email]
    )
    assert result.exit_code == 1
    assert result.stdout == "1 stored, 1 already there, 1 refused\n"
    assert f"{folder / 'batch 2' / 'portal.html'}: Web pages, scripts and SVG files are not " \
        "accepted; save it as PDF." in result.stderr.splitlines()  # fmt: skip
    assert result.stderr.startswith(f"Adding to {record.reference}")
    documents = db.session.scalars(
        select(Document).where(Document.request_id == record.id).order_by(Document.id)
    ).all()
    assert [d.original_filename for d in documents] == ["log.txt", "letter.txt"]
    assert documents[1].uploaded_by_id == staff.id


def test_import_of_files_all_accepted_exits_0(app, runner, make_request, folder):
    record = make_request()
    result = runner.invoke(
        args=["documents", "import", record.reference, str(folder / "letter.txt"),
              str(folder / "batch 2" / "log.txt"), str(folder / "letter.txt")]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout == "2 stored, 1 already there, 0 refused\n"


def test_import_keeps_what_was_stored_before_a_failure(
    app, runner, make_request, folder, monkeypatch
):
    record = make_request()

    def failing(request, files, actor):
        if files[0][0] == "portal.html":
            raise OSError("No space left on device")
        return store_files(request, files, actor)

    monkeypatch.setattr(document_cli, "store_files", failing)
    result = runner.invoke(args=["documents", "import", record.reference, str(folder)])
    assert result.exit_code == 1
    assert result.stdout == "1 stored, 0 already there, 0 refused\n"
    assert f"Error: stopped at {folder / 'batch 2' / 'portal.html'}: No space left on device" \
        in result.stderr  # fmt: skip
    db.session.expire_all()
    names = db.session.scalars(select(Document.original_filename)).all()
    assert names == ["log.txt"]


def test_import_to_an_unknown_request_is_one_line_and_exit_2(app, runner, folder):
    result = runner.invoke(args=["documents", "import", "LA-1999-0001", str(folder)])
    assert result.exit_code == 2
    assert result.output == "Error: no request LA-1999-0001.\n"

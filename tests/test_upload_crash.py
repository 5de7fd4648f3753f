"""A worker killed mid-upload leaves nothing `tracker doctor` cannot find and clear away.

The served tracker (gunicorn, as `make run` starts it) receives an upload; its worker is
killed with SIGKILL while the body is still arriving (the file half-received into the
staging folder), and again just after it arrived, while the view stores it.
"""

import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
import requests

from tests.conftest import PASSWORD
from tests.live import TRACKER, LiveTracker, PreparedDatabase
from tracker import create_app
from tracker.auth.models import Role, User
from tracker.extensions import db
from tracker.requests.services import RequestValues, create_request

TODAY = date(2026, 3, 2)
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
BIG = 150 * 1024 * 1024


@pytest.fixture
def live(prepared_database: PreparedDatabase, tmp_path: Path) -> Iterator[tuple[LiveTracker, str]]:
    databases = prepared_database.copy(tmp_path, f"crash_{uuid.uuid4().hex[:8]}")
    server = LiveTracker(tmp_path, next(databases), workers=1)
    try:
        app = create_app(
            {"INSTANCE_PATH": server.env["TRACKER_INSTANCE_PATH"],
             "DATABASE_URL": server.env["TRACKER_DATABASE_URL"]}
        )  # fmt: skip
        with app.app_context():
            from tracker.agencies.models import Agency

            user = User(email="staff@example.org", name="Sam Staff", role=Role.STAFF)
            user.set_password(PASSWORD)
            db.session.add(user)
            agency = db.session.scalars(db.select(Agency).order_by(Agency.id)).first()
            record = create_request(RequestValues(title="Body cameras", agency=agency), user)
            reference = record.reference
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
        server.start(TODAY)
        yield server, reference
    finally:
        server.stop()
        databases.close()


def worker_of(server: LiveTracker) -> int:
    assert server.process is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid = server.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        # Its web worker, not the jobs' worker (`-m tracker worker`) started beside it.
        web = [
            int(child) for child in children
            if b"worker" not in Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        ]  # fmt: skip
        if web:
            return web[0]
        time.sleep(0.1)
    raise AssertionError("gunicorn started no worker")


def wait_until_serving(server: LiveTracker) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(server.url("/healthz"), timeout=2).ok:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("the server did not come back")


def signed_in(server: LiveTracker) -> requests.Session:
    session = requests.Session()
    token = CSRF_RE.search(session.get(server.url("/login"), timeout=30).text)
    assert token
    answer = session.post(
        server.url("/login"),
        data={"csrf_token": token.group(1), "email": "staff@example.org", "password": PASSWORD},
        timeout=30,
    )
    assert "Sign out" in answer.text
    return session


def upload_request(server: LiveTracker, reference: str, size: int) -> tuple[bytes, bytes]:
    """The head (request line, headers, the file's part header) and the file's bytes."""
    session = signed_in(server)
    page = session.get(server.url(f"/requests/{reference}"), timeout=30).text
    token = CSRF_RE.search(page)
    assert token
    boundary = "----crash" + uuid.uuid4().hex
    part_head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        f"{token.group(1)}\r\n--{boundary}\r\n"
        'Content-Disposition: form-data; name="files"; filename="minutes.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    head = (
        f"POST /requests/{reference}/documents HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(part_head) + size + len(tail)}\r\nCookie: {cookies}\r\n"
        f"Origin: {server.base_url}\r\nReferer: {server.url(f'/requests/{reference}')}\r\n\r\n"
    ).encode()
    return head + part_head, tail


def send_text(sock: socket.socket, size: int) -> None:
    line = b"The council minutes of the meeting, read into the record.\n"
    block = line * (1024 * 1024 // len(line) + 1)
    sent = 0
    while sent < size:
        piece = block[: min(len(block), size - sent)]
        sock.sendall(piece)
        sent += len(piece)


def doctor(server: LiveTracker, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [TRACKER, "doctor", *args], env=server.env, capture_output=True, text=True, timeout=120
    )


def age(folder: Path) -> None:
    """Make every file under ``folder`` two hours old: past what doctor leaves to an upload."""
    two_hours_ago = time.time() - 2 * 60 * 60
    for path in folder.rglob("*"):
        if path.is_file():
            os.utime(path, (two_hours_ago, two_hours_ago))


def test_a_worker_killed_during_and_just_after_an_upload_leaves_what_doctor_clears(live):
    server, reference = live
    documents = Path(server.env["TRACKER_INSTANCE_PATH"]) / "documents"
    staging = documents / ".staging"

    # While the body is still arriving: the file is being received into the staging folder.
    head, _ = upload_request(server, reference, BIG)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head)
        send_text(sock, 20 * 1024 * 1024)
        deadline = time.monotonic() + 60
        while not (staging.is_dir() and any(staging.iterdir())):
            assert time.monotonic() < deadline, "the upload never reached the staging folder"
            time.sleep(0.01)
        time.sleep(0.5)
        os.kill(worker_of(server), signal.SIGKILL)
    wait_until_serving(server)
    (leftover,) = list(staging.iterdir())
    assert leftover.stat().st_size <= 20 * 1024 * 1024

    result = doctor(server)
    assert result.returncode == 0, result.stdout + result.stderr  # an upload may be at it
    assert "Not counted: 1 file in .staging from the last hour" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("; 0 orphans; 0 upload leftovers.")

    age(documents)
    result = doctor(server)
    assert result.returncode == 1
    size = leftover.stat().st_size
    assert f"upload leftover: .staging/{leftover.name} ({size:,} bytes)" in result.stdout
    assert result.stdout.splitlines()[-1].endswith("; 0 orphans; 1 upload leftover.")

    result = doctor(server, "--repair")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"removed upload leftover: .staging/{leftover.name}" in result.stdout
    assert list(staging.iterdir()) == []
    assert [p for p in documents.rglob("*") if p.is_file()] == []

    # Just after the body arrived, while the view stores it: the document is recorded
    # whole or not at all, and what is left besides, doctor clears.
    head, tail = upload_request(server, reference, BIG)
    worker = worker_of(server)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(head)
        send_text(sock, BIG)
        sock.sendall(tail)
        os.kill(worker, signal.SIGKILL)
    wait_until_serving(server)
    age(documents)
    result = doctor(server, "--repair")
    assert result.returncode == 0, result.stdout + result.stderr
    result = doctor(server)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = re.fullmatch(
        r"Checked ([01]) documents?: 0 missing, 0 corrupted; 0 orphans; 0 upload leftovers\.",
        result.stdout.splitlines()[-1],
    )
    assert checked, result.stdout
    kept = [p for p in documents.rglob("*") if p.is_file()]
    assert [p.stat().st_size for p in kept] == [BIG] * int(checked.group(1))

"""What a request may send to ``tracker serve``, and how slowly, measured on the server.

Each test talks HTTP over a raw socket, so that it can send the headers of a request
without its body, or a body a few bytes at a time, and see when the answer comes. The
server is held to a 1 MB file (so a 4 MB upload) and a 2-second grace for bodies.
"""

import hashlib
import io
import random
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from tests.live import LiveTracker, PreparedDatabase
from tracker import create_app
from tracker.agencies.models import Agency
from tracker.auth.models import Role
from tracker.auth.services import create_user
from tracker.documents.models import Document
from tracker.extensions import db
from tracker.limits import READ_AHEAD, DeadlineInput
from tracker.requests.services import RequestValues, create_request

TODAY = date(2026, 11, 17)
PASSWORD = "a long served password 42"
STAFF = "sam@coalition.example"
VIEWER = "vic@coalition.example"
MB = 1024 * 1024
CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@dataclass
class Server:
    live: LiveTracker
    reference: str

    @property
    def port(self) -> int:
        return self.live.port

    @property
    def instance(self) -> Path:
        return Path(self.live.env["TRACKER_INSTANCE_PATH"])

    def worker_rss(self) -> int:
        """The resident memory of the one worker, in bytes."""
        assert self.live.process is not None
        master = self.live.process.pid
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        # The master's children: its web worker, and the jobs' worker (`-m tracker worker`).
        [worker] = [
            pid for pid in children
            if b"worker" not in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ]  # fmt: skip
        status = Path(f"/proc/{worker}/status").read_text()
        [kilobytes] = re.findall(r"^VmRSS:\s+(\d+) kB", status, re.M)
        return int(kilobytes) * 1024

    def signed_in(self, email: str) -> tuple[str, str]:
        """The session cookie of someone signed in, and a form token of theirs."""
        session, token = self.session(email)
        return session.cookies["session"], token

    def session(self, email: str) -> tuple[requests.Session, str]:
        """A browser's session signed in through the sign-in form, and a form token of theirs."""
        session = requests.Session()
        page = session.get(self.live.url("/login"), timeout=30)
        token = CSRF_RE.search(page.text)
        assert token
        answer = session.post(
            self.live.url("/login"),
            data={"csrf_token": token.group(1), "email": email, "password": PASSWORD},
            timeout=30,
        )
        assert "Sign out" in answer.text
        page = session.get(self.live.url(f"/requests/{self.reference}"), timeout=30)
        token = CSRF_RE.search(page.text)
        return session, token.group(1) if token else ""

    def staged(self) -> list[Path]:
        """What is in the staging folder, where uploads are received."""
        staging = self.instance / "documents" / ".staging"
        return sorted(staging.iterdir()) if staging.is_dir() else []

    def kept(self) -> list[Path]:
        """The stored files: every file of the document store but the staging folder."""
        folder = self.instance / "documents"
        return sorted(p for p in folder.rglob("*") if p.is_file() and ".staging" not in p.parts)

    def stored(self, digest: str) -> tuple[int, str] | None:
        """The size and key of the document whose SHA-256 is ``digest``."""
        app = create_app(
            {
                "INSTANCE_PATH": str(self.instance),
                "DATABASE_URL": self.live.env["TRACKER_DATABASE_URL"],
            }
        )
        with app.app_context():
            try:
                document = db.session.scalars(
                    select(Document).where(Document.sha256 == digest)
                ).one_or_none()
                return None if document is None else (document.size, document.storage_key)
            finally:
                db.session.remove()
                db.engine.dispose()

    def documents(self) -> int:
        app = create_app(
            {
                "INSTANCE_PATH": str(self.instance),
                "DATABASE_URL": self.live.env["TRACKER_DATABASE_URL"],
            }
        )
        with app.app_context():
            try:
                return len(db.session.scalars(select(Document)).all())
            finally:
                db.session.remove()
                db.engine.dispose()


@pytest.fixture(scope="module")
def server(
    prepared_database: PreparedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("limits")
    databases = prepared_database.copy(folder, "limits")
    live = LiveTracker(folder, next(databases), workers=1)
    live.env.update(TRACKER_MAX_UPLOAD_MB="1", TRACKER_BODY_TIMEOUT="2")
    try:
        app = create_app(
            {
                "INSTANCE_PATH": str(folder / "instance"),
                "DATABASE_URL": live.env["TRACKER_DATABASE_URL"],
            }
        )
        with app.app_context():
            staff = create_user(STAFF, "Sam Staff", Role.STAFF, PASSWORD)
            create_user(VIEWER, "Vic Viewer", Role.VIEWER, PASSWORD)
            agency = db.session.scalars(select(Agency).where(Agency.short_name == "LAPD")).one()
            record = create_request(
                RequestValues(title="Use-of-force reports", agency=agency), staff
            )
            db.session.commit()
            reference = record.reference
            db.session.remove()
            db.engine.dispose()
        live.start(TODAY)
        yield Server(live, reference)
    finally:
        live.stop()
        databases.close()


class Exchange:
    """One request over a raw socket; the answer is read as it comes, beside the sending."""

    def __init__(self, port: int, head: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.started = time.monotonic()
        self.answer = b""
        self.answered_at: float | None = None
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.sock.sendall(head.encode())
        self.reader.start()

    def read(self) -> None:
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return
                if not self.answer:
                    self.answered_at = time.monotonic() - self.started
                self.answer += data
        except OSError:
            return

    def send(self, data: bytes) -> bool:
        """False once the server no longer takes what is sent."""
        try:
            self.sock.sendall(data)
        except OSError:
            return False
        return True

    def status(self, wait: float) -> int | None:
        """The status of the answer, if one comes within ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while b"\r\n" not in self.answer and time.monotonic() < deadline:
            time.sleep(0.02)
        match = re.match(rb"HTTP/1\.[01] (\d{3})", self.answer)
        return int(match.group(1)) if match else None

    def page(self) -> str:
        deadline = time.monotonic() + 5
        while b"</html>" not in self.answer and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.answer.decode(errors="replace")

    def close(self) -> None:
        self.sock.close()
        self.reader.join(timeout=5)


def head(path: str, *, length: int | None = None, cookie: str = "", **headers: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    if cookie:
        lines.append(f"Cookie: session={cookie}")
    if length is None:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {length}")
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


FORM = {"Content_Type": "application/x-www-form-urlencoded"}


# Nothing is read of a body that will not be used.


@pytest.mark.parametrize(
    ("path", "length", "status"),
    [
        ("/login", 50 * MB, 413),
        ("/requests/new", 512 * 1024, 302),
        ("/agencies/new", 512 * 1024, 302),
    ],
    ids=["sign-in form", "a page for signed-in people", "a page for some roles"],
)
def test_an_anonymous_post_is_answered_before_its_body_is_sent(server, path, length, status):
    """The sign-in form is refused by its size; other pages send to sign in, unread."""
    exchange = Exchange(server.port, head(path, length=length, **FORM))
    try:
        assert exchange.status(wait=3) == status
    finally:
        exchange.close()


def test_a_post_the_role_does_not_allow_is_refused_before_its_body_is_sent(server):
    cookie, _ = server.signed_in(VIEWER)
    for path in ("/agencies/new", f"/requests/{server.reference}/documents"):
        exchange = Exchange(server.port, head(path, length=3 * MB, cookie=cookie, **FORM))
        try:
            assert exchange.status(wait=3) == 403, path
            assert "Not allowed" in exchange.page()
        finally:
            exchange.close()


@pytest.mark.parametrize("path", ["/login", "/requests/new", "/agencies/new"])
def test_a_large_anonymous_body_does_not_grow_the_worker(server, path):
    before = server.worker_rss()
    exchange = Exchange(server.port, head(path, **FORM))
    piece = chunk(b"email=" + b"x" * (256 * 1024 - 6))
    sent = 0
    while sent < 50 * MB and exchange.send(piece):
        sent += len(piece)
    try:
        # Past the limit a form sent in chunks is cut short (400) rather than refused (413).
        assert exchange.status(wait=5) in (302, 400, 413)
    finally:
        exchange.close()
    assert sent < 50 * MB, "the server read the whole body"
    assert server.worker_rss() - before < 20 * MB


# Uploads: refused by their length at once, or as soon as they pass the limit.


def upload_head(server: Server, cookie: str, length: int | None) -> str:
    return head(
        f"/requests/{server.reference}/documents",
        length=length,
        cookie=cookie,
        Content_Type="multipart/form-data; boundary=LIMIT",
    )


def upload_start(token: str) -> bytes:
    return (
        b'--LIMIT\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
        + token.encode()
        + b'\r\n--LIMIT\r\nContent-Disposition: form-data; name="files"; filename="big.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    )


def test_an_upload_longer_than_the_limit_is_answered_413_before_its_body(server):
    cookie, _ = server.signed_in(STAFF)
    exchange = Exchange(server.port, upload_head(server, cookie, 4 * MB + 1))
    try:
        assert exchange.status(wait=3) == 413
        page = exchange.page()
        assert "Too large" in page and "larger than the tracker accepts" in page
    finally:
        exchange.close()


def test_an_upload_larger_than_a_form_but_within_its_limits_is_stored(server):
    cookie, token = server.signed_in(STAFF)
    before = server.documents()
    second = (
        b'--LIMIT\r\nContent-Disposition: form-data; name="files"; filename="second.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n%PDF-1.4\n" + b"1" * 900_000 + b"\r\n"
    )
    body = upload_start(token) + b"0" * 900_000 + b"\r\n" + second + b"--LIMIT--\r\n"
    assert len(body) > MB
    exchange = Exchange(server.port, upload_head(server, cookie, len(body)))
    try:
        exchange.send(body)
        assert exchange.status(wait=10) == 302
    finally:
        exchange.close()
    assert server.documents() == before + 2


def test_a_chunked_upload_is_cut_off_past_the_limit_and_nothing_is_kept(server):
    cookie, token = server.signed_in(STAFF)
    before = server.documents()
    exchange = Exchange(server.port, upload_head(server, cookie, None))
    sent = 0
    exchange.send(chunk(upload_start(token)))
    piece = chunk(b"0" * (256 * 1024))
    while sent < 40 * MB and exchange.answered_at is None and exchange.send(piece):
        sent += len(piece)
    try:
        assert exchange.status(wait=5) == 413
        assert "Too large" in exchange.page()
    finally:
        exchange.close()
    assert sent < 40 * MB, "the server read the whole upload"
    staging = server.instance / "documents" / ".staging"
    assert not staging.exists() or list(staging.iterdir()) == []
    assert server.documents() == before


# An upload as served: received into the staging folder while the form is read, then
# stored whole by a rename; what is refused or cut short leaves nothing behind.


def upload_files(server: Server, files: list[tuple[str, bytes, str]], token: bool = True) -> str:
    """Upload through the request page's form as a browser does; the page shown next."""
    session, csrf = server.session(STAFF)
    answer = session.post(
        server.live.url(f"/requests/{server.reference}/documents"),
        data={"csrf_token": csrf} if token else {},
        files=[("files", file) for file in files],
        timeout=60,
    )
    return answer.text if token else str(answer.status_code)


def contents(seed: int, size: int) -> bytes:
    return b"%PDF-1.4\n" + random.Random(seed).randbytes(size)


def test_a_served_upload_is_stored_whole_with_its_digest_and_leaves_nothing_staged(server):
    data = contents(1, 900_000)
    page = upload_files(server, [("scan.pdf", data, "application/pdf")])
    assert "Stored 1 file(s)." in page
    stored = server.stored(hashlib.sha256(data).hexdigest())
    assert stored is not None
    size, key = stored
    assert size == len(data)
    kept = server.instance / "documents" / Path(*key.split("/"))
    assert kept.read_bytes() == data
    assert server.staged() == []


def test_a_served_upload_over_the_file_limit_is_refused_and_leaves_no_file(server):
    before, kept = server.documents(), server.kept()
    page = upload_files(server, [("big.pdf", contents(2, MB + 10), "application/pdf")])
    assert "Not stored: “big.pdf”. It is larger than the 1 MB limit." in page
    assert server.documents() == before
    assert server.kept() == kept
    assert server.staged() == []


def test_a_served_upload_of_a_refused_type_leaves_no_file(server):
    before, kept = server.documents(), server.kept()
    page_of_script = b"<html><script>alert(1)</script></html>" + b" " * 600_000
    page = upload_files(server, [("notes.pdf", page_of_script, "application/pdf")])
    assert "Not stored: “notes.pdf”. Web pages, scripts and SVG files are not accepted" in page
    assert server.documents() == before
    assert server.kept() == kept
    assert server.staged() == []


def test_a_served_upload_without_its_form_token_is_refused_and_leaves_no_file(server):
    before, kept = server.documents(), server.kept()
    status = upload_files(server, [("scan.pdf", contents(3, 600_000), "application/pdf")], False)
    assert status == "400"
    assert server.documents() == before
    assert server.kept() == kept
    assert server.staged() == []


def test_a_served_upload_cut_short_leaves_no_file(server):
    """The laptop lid closes halfway: what was received is removed with the request."""
    cookie, token = server.signed_in(STAFF)
    before, kept = server.documents(), server.kept()
    exchange = Exchange(server.port, upload_head(server, cookie, 3 * MB))
    try:
        exchange.send(upload_start(token) + b"0" * MB)
        exchange.sock.shutdown(socket.SHUT_WR)
        assert exchange.status(wait=10) == 400
    finally:
        exchange.close()
    assert server.documents() == before
    assert server.kept() == kept
    assert server.staged() == []


class Recorded(io.BytesIO):
    """A body that notes how much it was asked for at a time."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


def test_a_large_body_arriving_fast_is_read_in_large_pieces_and_handed_on_as_asked():
    data = random.Random(4).randbytes(3 * MB + 12345).replace(b"\n", b"-")
    data = data[: 2 * MB] + b"a line\n" + data[2 * MB :]
    body = Recorded(data)
    stream = DeadlineInput(body, None, len(data), grace=60, min_rate=20 * 1024)
    pieces = []
    while len(b"".join(pieces)) < 2 * MB:
        piece = stream.read(64 * 1024)
        assert len(piece) <= 64 * 1024
        pieces.append(piece)
    pieces.append(stream.readline())
    assert pieces[-1].endswith(b"a line\n")
    pieces.append(stream.read(1000))
    pieces.append(stream.read())
    assert b"".join(pieces) == data
    # Small reads until a megabyte has come in fast, then a megabyte at a time.
    assert body.asked[:16] == [64 * 1024] * 16
    assert READ_AHEAD in body.asked
    assert stream.read(10) == b""


# Slow bodies: dropped with 408 once their time is up.


def test_a_trickled_body_is_dropped_after_the_timeout(server):
    exchange = Exchange(server.port, head("/login", length=4000, **FORM))
    started = time.monotonic()
    while exchange.answered_at is None and time.monotonic() - started < 15:
        if not exchange.send(b"x" * 4):
            break
        time.sleep(0.1)
    try:
        assert exchange.status(wait=3) == 408
        assert "Too slow" in exchange.page()
        assert exchange.answered_at is not None and exchange.answered_at < 5
    finally:
        exchange.close()


def test_a_body_that_stops_coming_is_dropped_after_the_timeout(server):
    cookie, _ = server.signed_in(STAFF)
    exchange = Exchange(server.port, upload_head(server, cookie, 2 * MB))
    exchange.send(b"--LIMIT\r\n")
    try:
        assert exchange.status(wait=12) == 408
        assert exchange.answered_at is not None and exchange.answered_at < 8
    finally:
        exchange.close()


def test_slow_visitors_do_not_hold_up_the_board(server):
    """As many tricklers as the worker has threads: the board still answers soon."""
    tricklers = [Exchange(server.port, head("/login", length=4000, **FORM)) for _ in range(4)]
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            for exchange in tricklers:
                exchange.send(b"x")
            time.sleep(0.2)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        started = time.monotonic()
        answer = requests.get(server.live.url("/healthz"), timeout=15)
        assert answer.status_code == 200
        assert time.monotonic() - started < 6
    finally:
        stop.set()
        thread.join()
        for exchange in tricklers:
            exchange.close()

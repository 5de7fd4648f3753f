"""Reading a document's text is a job: the upload answers at once, a real worker does the rest.

These tests run ``tracker worker`` as its own process against the test's instance and
database, with the queue in SQLite (the default) and in Redis (a throwaway
``redis-server``), and a stand-in ``ocrmypdf`` on the worker's PATH where OCR matters.
"""

import io
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from weasyprint import HTML

from tests.conftest import PASSWORD, blank_pdf, csrf_token
from tests.postgres import free_port
from tracker.auth.models import Role
from tracker.documents.models import Document, TextState
from tracker.documents.services import TextNotRead, ocr_text
from tracker.extensions import db

TRACKER = str(Path(sys.executable).with_name("tracker"))
RARE_WORD = "Ouroboros"


def redis_server_program() -> str:
    program = os.environ.get("TRACKER_REDIS_SERVER") or shutil.which("redis-server")
    if program is None and Path("/usr/bin/redis-server").exists():
        program = "/usr/bin/redis-server"
    # Not a skip: `make test` installs Debian's redis-server first.
    assert program, "redis-server is not installed: `make test` installs it (apt redis-server)"
    return program


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis server of the tests' own, on a free port, keeping nothing on disk."""
    folder = tempfile.mkdtemp(prefix="tracker-redis-")
    port = free_port()
    process = subprocess.Popen(
        [redis_server_program(), "--port", str(port), "--bind", "127.0.0.1",
         "--dir", folder, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
    )  # fmt: skip
    import redis

    client = redis.Redis(port=port)
    deadline = time.monotonic() + 20
    while True:
        try:
            client.ping()
            break
        except redis.ConnectionError:
            assert process.poll() is None, "redis-server stopped at once"
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.1)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(params=["sqlite", "redis"])
def queue(request: pytest.FixtureRequest) -> dict[str, str]:
    """Settings for the queue: the SQLite file in the instance folder, or Redis."""
    if request.param == "sqlite":
        return {}
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return {"REDIS_URL": url}


SETTINGS = {"TEXT_RETRIES": 2, "TEXT_RETRY_DELAY": 0, "OCR_SECONDS": 30, "REMIND_CRON": "off"}


@pytest.fixture
def settings(queue: dict[str, str]) -> dict[str, object]:
    return {**SETTINGS, **queue}


@pytest.fixture
def app(make_app: Callable[..., Flask], settings: dict[str, object]) -> Iterator[Flask]:
    # The web side queues for real here: the worker process runs the jobs.
    app = make_app(TASKS_IMMEDIATE=False, **settings)
    with app.app_context():
        yield app


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    return folder


def fake_ocrmypdf(folder: Path, script: str) -> None:
    program = folder / "ocrmypdf"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)


class Worker:
    def __init__(self, process: subprocess.Popen[bytes], log: Path) -> None:
        self.process = process
        self.log = log

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


@pytest.fixture
def start_worker(
    app: Flask, tmp_path: Path, fake_bin: Path, settings: dict[str, object]
) -> Iterator[Callable[..., Worker]]:
    workers: list[Worker] = []

    def start(**overrides: object) -> Worker:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        values = {**settings, **overrides}
        env.update({f"TRACKER_{key}": str(value) for key, value in values.items()})
        env.update(
            TRACKER_INSTANCE_PATH=app.instance_path,
            TRACKER_DATABASE_URL=app.config["DATABASE_URL"],
            TRACKER_SECRET_KEY=app.config["SECRET_KEY"],
            PATH=f"{fake_bin}:{os.environ['PATH']}",
        )
        log = tmp_path / f"worker-{len(workers)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [TRACKER, "worker", "--workers", "2"], env=env, stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        worker = Worker(process, log)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def pdf_of(*paragraphs: str) -> bytes:
    return HTML(string="".join(f"<p>{text}</p>" for text in paragraphs)).write_pdf()


@pytest.fixture
def desk(app, client, make_user, make_request):
    staff = make_user(Role.STAFF)
    record = make_request(created_by=staff, title="Jail access logs")
    client.post(
        "/login",
        data={"csrf_token": csrf_token(client), "email": staff.email, "password": PASSWORD},
    )
    return record


def upload(client, record, name: str, data: bytes):
    show = f"/requests/{record.reference}"
    started = time.monotonic()
    response = client.post(
        f"{show}/documents",
        data={"csrf_token": csrf_token(client, show), "files": [(io.BytesIO(data), name)]},
        content_type="multipart/form-data",
    )
    elapsed = time.monotonic() - started
    assert response.status_code == 302
    return elapsed


def the_document() -> Document:
    db.session.expire_all()
    (document,) = db.session.scalars(db.select(Document)).all()
    return document


def wait_for(document_id: int, worker: Worker, seconds: float = 60) -> Document:
    deadline = time.monotonic() + seconds
    while True:
        db.session.expire_all()
        document = db.session.get(Document, document_id)
        assert document is not None
        if document.text_state is not TextState.PENDING:
            return document
        assert worker.process.poll() is None, f"the worker stopped:\n{worker.log.read_text()}"
        assert time.monotonic() < deadline, f"still reading:\n{worker.log.read_text()}"
        time.sleep(0.2)


def timeline(client, record) -> str:
    return client.get(f"/requests/{record.reference}").get_data(as_text=True)


def search_page(client, word: str) -> str:
    return client.get(f"/search?q={word}").get_data(as_text=True)


def test_an_upload_answers_at_once_and_the_worker_reads_its_text(client, desk, start_worker):
    upload(client, desk, "board-minutes.pdf", pdf_of("Minutes.", f"The {RARE_WORD} protocol."))
    document = the_document()
    assert document.text_state is TextState.PENDING
    assert document.text == ""

    # Until the worker has read it, both pages say so, with the address their script asks
    # and a link to check again without it; neither reloads itself, losing what is typed.
    status = f"/documents/{document.id}/text-status"
    for path in (f"/requests/{desk.reference}", f"/documents/{document.id}"):
        page = client.get(path).get_data(as_text=True)
        assert re.search(
            rf'<span class="flag" role="status" data-text-status="{status}">Reading text…'
            rf'[^<]*<a href="{path}">Check again</a>',
            page,
        )
        assert 'http-equiv="refresh"' not in page
    assert client.get(status).get_json() == {"state": "pending", "message": "Reading text…"}
    assert "board-minutes" not in search_page(client, RARE_WORD)

    worker = start_worker()
    document = wait_for(document.id, worker)
    assert document.text_state is TextState.DONE
    assert RARE_WORD in document.text
    assert document.page_count == 1

    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "Reading text…" not in page and "data-text-status" not in page
    assert client.get(status).get_json() == {
        "state": "done",
        "message": "text read, 1 page, ready to search",
    }
    request_page = timeline(client, desk)
    assert "data-text-status" not in request_page
    assert "The tracker" in request_page
    assert "Read the text of “board-minutes”: 1 page, ready to search." in request_page
    results = search_page(client, RARE_WORD)
    assert "board-minutes" in results and f"<mark>{RARE_WORD}</mark>" in results
    # SIGTERM stops the worker cleanly.
    assert worker.stop() == 0


def test_a_failing_extraction_is_retried_then_flagged_with_its_reason(
    client, desk, start_worker, fake_bin, tmp_path
):
    attempts = tmp_path / "attempts"
    fake_ocrmypdf(
        fake_bin, f'echo try >> "{attempts}"\necho "tesseract: out of memory" >&2\nexit 2\n'
    )
    upload(client, desk, "scan.pdf", blank_pdf())
    worker = start_worker()
    document = wait_for(the_document().id, worker)

    assert document.text_state is TextState.FAILED
    reason = "OCRmyPDF failed (exit status 2): tesseract: out of memory."
    assert document.text_error == reason
    # The first try and the two retries: then the worker gave up.
    assert attempts.read_text().splitlines() == ["try"] * 3
    page = client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert f"The text could not be read: {reason}" in page
    assert client.get(f"/documents/{document.id}/text-status").get_json() == {
        "state": "failed",
        "message": f"text not read: {reason}",
    }
    request_page = timeline(client, desk)
    assert f"text not read: {reason}" in request_page
    assert f"Could not read the text of “scan”: {reason}" in request_page


def test_a_job_lost_from_the_queue_is_queued_again_when_the_worker_starts(
    app, client, desk, start_worker
):
    upload(client, desk, "minutes.pdf", pdf_of(f"The {RARE_WORD} minutes."))
    # As if the worker had been stopped in the middle of it: the job is gone, the row waits.
    jobs = app.extensions["tracker.jobs"]
    assert jobs.huey.pending_count() == 1
    jobs.huey.flush()
    worker = start_worker()
    document = wait_for(the_document().id, worker)
    assert document.text_state is TextState.DONE and RARE_WORD in document.text


def gone(pid: int) -> bool:
    """Not running: no such process, or only a zombie waiting for its parent."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


SLOW_OCR = (
    # OCRmyPDF's own children (Tesseract, Ghostscript) stand in as a sleeping child.
    'sleep 300 &\necho $! > "{folder}/child.pid"\necho $$ > "{folder}/ocrmypdf.pid"\nwait\n'
)


def wait_gone(*pids: int) -> bool:
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in pids):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


@pytest.mark.parametrize("queue", ["sqlite"], indirect=True)
def test_ocr_that_takes_too_long_is_stopped_with_everything_it_started(
    client, desk, start_worker, fake_bin, tmp_path
):
    fake_ocrmypdf(fake_bin, SLOW_OCR.format(folder=tmp_path))
    upload(client, desk, "scan.pdf", blank_pdf())
    worker = start_worker(OCR_SECONDS=2, TEXT_RETRIES=0)
    document = wait_for(the_document().id, worker)

    assert document.text_error == "OCR took longer than 2 seconds and was stopped."
    ocr, child = (int((tmp_path / name).read_text()) for name in ("ocrmypdf.pid", "child.pid"))
    assert wait_gone(ocr, child), "the OCR process or its child is still running"
    assert worker.stop() == 0


def test_the_ocr_timeout_kills_the_whole_process_group(tmp_path, monkeypatch):
    folder = tmp_path / "bin"
    folder.mkdir()
    fake_ocrmypdf(folder, SLOW_OCR.format(folder=tmp_path))
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(blank_pdf())
    started = time.monotonic()
    with pytest.raises(TextNotRead, match="longer than 1 seconds"):
        ocr_text(scan, seconds=1)
    assert time.monotonic() - started < 10
    ocr, child = (int((tmp_path / name).read_text()) for name in ("ocrmypdf.pid", "child.pid"))
    assert wait_gone(ocr, child), "the OCR process or its child is still running"

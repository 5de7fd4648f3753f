"""What `make run` does, end to end: migrate, seed, serve with gunicorn, keep the data."""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.postgres import free_port

TRACKER = str(Path(sys.executable).with_name("tracker"))


@pytest.fixture
def instance_env(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env["TRACKER_INSTANCE_PATH"] = str(tmp_path / "instance")
    return env


def tracker(env, *args, **kwargs):
    return subprocess.run(
        [TRACKER, *args], env=env, capture_output=True, text=True, timeout=120, **kwargs
    )


def fetch(url: str):
    request = urllib.request.Request(url)
    opener = urllib.request.build_opener(NoRedirect)
    return opener.open(request, timeout=5)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def children(pid: int) -> list[int]:
    tasks = Path(f"/proc/{pid}/task")
    found: list[int] = []
    for task in tasks.iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def process_state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def started_worker(server_pid: int) -> int:
    """The pid of ``tracker worker`` among the server's children, once it is there."""
    deadline = time.monotonic() + 30
    while True:
        for pid in children(server_pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except FileNotFoundError:
                continue
            if b"worker" in command and b"tracker" in b" ".join(command):
                return pid
        assert time.monotonic() < deadline, "tracker serve started no worker"
        time.sleep(0.2)


@pytest.mark.sqlite_only  # `make run` serves the embedded SQLite database
def test_make_run_steps_serve_the_tracker_and_keep_its_data(instance_env, tmp_path):
    assert tracker(instance_env, "db", "upgrade").returncode == 0
    seeded = tracker(instance_env, "seed")
    assert "added" in seeded.stdout
    created = tracker(
        instance_env, "users", "create", "--email", "admin@example.org", "--role", "admin",
        "--password-stdin", input="a long enough password\n",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr

    port = free_port()
    env = {**instance_env, "PORT": str(port)}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([TRACKER, "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = fetch(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        assert health.status == 200
        login = fetch(f"http://127.0.0.1:{port}/login")
        assert login.status == 200
        assert "gunicorn" in login.headers.get("Server", "")
        assert "Sign in" in login.read().decode()
        # The jobs' worker runs beside gunicorn, as a child of `tracker serve`.
        worker_pid = started_worker(server.pid)
        deadline = time.monotonic() + 30
        while f"Worker {worker_pid} started" not in log.read_text():
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
    output = log.read_text()
    assert "Booting worker" in output
    # Stopping the server stops the jobs' worker too.
    assert not Path(f"/proc/{worker_pid}").exists() or "Z" in process_state(worker_pid)

    # A second run migrates and seeds again without losing anything.
    assert tracker(instance_env, "db", "upgrade").returncode == 0
    assert "0 added" in tracker(instance_env, "seed").stdout
    listed = tracker(instance_env, "users", "list").stdout
    assert listed.startswith("admin@example.org\tadmin")
    assert (tmp_path / "instance" / "tracker.sqlite3").exists()
    assert (tmp_path / "instance" / "secret_key").exists()

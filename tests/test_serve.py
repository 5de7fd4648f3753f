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
    server = subprocess.Popen(
        [TRACKER, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
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
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=30)[0]
    assert "Booting worker" in output

    # A second run migrates and seeds again without losing anything.
    assert tracker(instance_env, "db", "upgrade").returncode == 0
    assert "0 added" in tracker(instance_env, "seed").stdout
    listed = tracker(instance_env, "users", "list").stdout
    assert listed.startswith("admin@example.org\tadmin")
    assert (tmp_path / "instance" / "tracker.sqlite3").exists()
    assert (tmp_path / "instance" / "secret_key").exists()

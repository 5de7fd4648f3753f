"""``tracker serve`` as ``make run`` starts it, for tests that use the app as it is served.

Under gunicorn a streamed body is sent after the view has returned, and pages
are reached through the links and forms they render: the test client shows
neither, so these tests talk HTTP to a real server on a free port.
"""

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import psycopg

from tests.postgres import PostgresCluster, free_port

TRACKER = str(Path(sys.executable).with_name("tracker"))


class LiveTracker:
    """``tracker serve`` on a free port, with its own instance folder and database."""

    def __init__(self, folder: Path, database_url: str, workers: int = 1) -> None:
        self.folder = folder
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
        self.env.update(
            TRACKER_INSTANCE_PATH=str(folder / "instance"),
            TRACKER_DATABASE_URL=database_url,
            TRACKER_WORKERS=str(workers),
            TRACKER_BASE_URL=self.base_url,
            PORT=str(self.port),
        )
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "server.log"

    def command(self, *args: str) -> str:
        result = subprocess.run(
            [TRACKER, *args], env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"tracker {' '.join(args)} failed:\n{result.stderr}"
        return result.stdout

    def prepare(self) -> None:
        """What ``make run`` does before serving."""
        self.command("db", "upgrade")
        self.command("seed")

    def start(self, today: date) -> None:
        self.env["TRACKER_TODAY"] = today.isoformat()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [TRACKER, "serve"], env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2):
                    return
            except OSError:
                if self.process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
            raise RuntimeError(f"the server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def restart(self, today: date) -> None:
        self.stop()
        self.start(today)

    def url(self, path: str) -> str:
        return self.base_url + path


def fresh_database(
    backend: str, postgres: PostgresCluster | None, folder: Path, name: str
) -> Iterator[str]:
    if postgres is None:
        yield f"sqlite:///{folder / 'tracker.sqlite3'}"
        return
    admin = postgres.url().replace("+psycopg", "")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]
    try:
        yield postgres.url(name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]


def admin_sql(postgres: PostgresCluster, statement: str) -> None:
    with psycopg.connect(postgres.url().replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


class PreparedDatabase:
    """A database as ``make run`` leaves it before serving (``tracker db upgrade``, then
    ``tracker seed``), prepared once per run: each served app starts from a copy of it, as
    each test starts from a copy of the migrated schema. tests/test_serve.py runs ``make
    run`` itself, steps and all."""

    def __init__(self, postgres: PostgresCluster | None, folder: Path) -> None:
        self.postgres = postgres
        if postgres is None:
            self.source = str(folder / "prepared.sqlite3")
            url = f"sqlite:///{self.source}"
        else:
            self.source = "served_template"
            admin_sql(postgres, f"CREATE DATABASE {self.source}")
            url = postgres.url(self.source)
        LiveTracker(folder, url).prepare()
        if postgres is None:
            # Each command's last connection wrote its log into the file as it closed.
            assert not Path(self.source + "-wal").exists()

    def copy(self, folder: Path, name: str) -> Iterator[str]:
        """A copy of the prepared database for a served app: a file in ``folder`` on SQLite,
        the database ``name`` on PostgreSQL (dropped when done)."""
        if self.postgres is None:
            target = folder / "tracker.sqlite3"
            shutil.copyfile(self.source, target)
            yield f"sqlite:///{target}"
            return
        admin_sql(self.postgres, f"CREATE DATABASE {name} TEMPLATE {self.source}")
        try:
            yield self.postgres.url(name)
        finally:
            admin_sql(self.postgres, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

"""The ``tracker`` command, for admins and cron: one clear line on every error."""

import subprocess
import sys

from sqlalchemy import select

from tracker.auth.models import Role, User
from tracker.extensions import db


def test_users_create_reads_the_password_from_stdin(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "Staff@Example.org", "--role", "staff",
              "--name", "Sam", "--password-stdin"],
        input="a long enough password\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created staff@example.org (staff)." in result.output
    user = db.session.scalar(select(User).where(User.email == "staff@example.org"))
    assert user.role == Role.STAFF
    assert user.check_password("a long enough password")


def test_users_create_asks_for_the_password_twice(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "v@example.org", "--role", "viewer"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(User).where(User.email == "v@example.org")) is not None


def test_users_create_refuses_a_duplicate_with_one_line(runner, make_user):
    make_user(email="taken@example.org")
    result = runner.invoke(
        args=["users", "create", "--email", "taken@example.org", "--role", "admin",
              "--password-stdin"],
        input="a long enough password\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert result.output.strip() == "Error: An account for taken@example.org already exists."


def test_users_create_refuses_a_weak_password(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "w@example.org", "--role", "admin", "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1
    assert result.output.strip() == "Error: Use at least 10 characters."


def test_users_create_refuses_an_unknown_role(runner):
    result = runner.invoke(
        args=["users", "create", "--email", "w@example.org", "--role", "boss", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 2
    assert "Invalid value for '--role'" in result.output


def test_users_list_shows_every_account(runner, make_user):
    make_user(Role.VIEWER, email="view@example.org", active=False)
    make_user(Role.ADMIN, email="boss@example.org")
    lines = runner.invoke(args=["users", "list"]).output.splitlines()
    assert lines[0].startswith("boss@example.org\tadmin\tactive")
    assert lines[1].startswith("view@example.org\tviewer\tdeactivated")


def test_the_console_script_reports_an_unusable_database_in_one_line(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "TRACKER_INSTANCE_PATH": str(tmp_path),
        "TRACKER_DATABASE_URL": f"sqlite:///{tmp_path}/missing/folder/db.sqlite3",
    }
    result = subprocess.run(
        [sys.executable, "-m", "tracker", "users", "list"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().startswith("Error: the database could not be used:")
    assert len(result.stderr.strip().splitlines()) == 1

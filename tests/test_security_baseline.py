"""Pages without inline script, settings that keep secrets, safe redirects, a fixed today.

Error pages and the security headers on every response are tested in
tests/security/test_errors.py.
"""

import os
import re
import stat
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import base_config
from tracker import create_app
from tracker.auth.models import Role
from tracker.config import instance_secret_key, normalise_database_url
from tracker.extensions import db
from tracker.security import is_safe_redirect


def test_pages_have_no_inline_script(client, auth, make_user, make_request):
    record = make_request()
    auth.login(make_user(Role.ADMIN))
    for path in ("/requests", f"/requests/{record.reference}", "/agencies/new", "/admin/users"):
        page = client.get(path).get_data(as_text=True)
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, re.DOTALL)
        assert scripts, "the page loads its scripts from files"
        for attributes, body in scripts:
            assert 'src="/static/' in attributes and body.strip() == ""
        assert " onclick=" not in page


def test_the_secret_key_is_made_once_and_kept_private(tmp_path):
    first = instance_secret_key(tmp_path)
    assert len(first) == 64
    assert instance_secret_key(tmp_path) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def app_without_key(tmp_path, database_url):
    config = base_config(tmp_path, database_url)
    del config["SECRET_KEY"]
    return create_app(config)


def test_an_environment_secret_key_wins(monkeypatch, tmp_path, database_url):
    monkeypatch.setenv("TRACKER_SECRET_KEY", "from-the-environment")
    app = app_without_key(tmp_path, database_url)
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "instance" / "secret_key").exists()


def test_without_any_key_the_instance_key_is_used(monkeypatch, tmp_path, database_url):
    monkeypatch.delenv("TRACKER_SECRET_KEY", raising=False)
    app = app_without_key(tmp_path, database_url)
    assert app.config["SECRET_KEY"] == (tmp_path / "instance" / "secret_key").read_text().strip()


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.sqlite3", "sqlite:///x.sqlite3"),
    ],
)
def test_database_urls_are_normalised(given, used):
    assert normalise_database_url(given) == used


@pytest.mark.sqlite_only
def test_sqlite_runs_with_wal_a_busy_timeout_and_foreign_keys(app):
    with db.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/requests", True),
        ("/requests?page=2", True),
        ("//evil.example", False),
        ("/\\evil.example", False),
        ("https://evil.example", False),
        ("requests", False),
        ("", False),
        (None, False),
    ],
)
def test_only_local_paths_are_safe_redirects(target, safe):
    assert is_safe_redirect(target) is safe


def test_today_can_be_fixed_for_demos_and_browser_tests(make_app):
    from tracker.letters.services import local_today

    with make_app(TODAY="2026-12-01").app_context():
        assert local_today() == date(2026, 12, 1)
    with make_app().app_context():
        assert local_today() == datetime.now(ZoneInfo("America/Los_Angeles")).date()
    with pytest.raises(ValueError, match="TRACKER_TODAY must be a date as YYYY-MM-DD"):
        make_app(TODAY="next tuesday")

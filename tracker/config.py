"""Settings: defaults, then ``TRACKER_*`` environment variables, then test overrides."""

import os
import secrets
import tempfile
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

from flask import Flask

DEFAULTS: dict[str, Any] = {
    "REFERENCE_PREFIX": "LA",
    "PASSWORD_HASH_METHOD": "scrypt",
    "PER_PAGE": 25,
    "LOGIN_MAX_FAILURES": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
    "LOGIN_THROTTLE_MINUTES": 15,
    "INVITATION_DAYS": 7,
    "RESET_LINK_HOURS": 24,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,
    "PERMANENT_SESSION_LIFETIME": 60 * 60 * 12,
    "WTF_CSRF_TIME_LIMIT": 60 * 60 * 8,
    # The token is checked in tracker.security, after sign-in and role: a request
    # turned away there is answered without its body being read.
    "WTF_CSRF_CHECK_DEFAULT": False,
    # Every form but an upload: 1 MB in all, its fields in memory at most 500 KB.
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "MAX_FORM_MEMORY_SIZE": 500 * 1024,
    "MAX_FORM_PARTS": 1000,
    # Each uploaded file; a whole upload of several files is held to
    # MAX_UPLOAD_REQUEST_MB (four times MAX_UPLOAD_MB when not set).
    "MAX_UPLOAD_MB": 500,
    "MAX_UPLOAD_REQUEST_MB": None,
    # A body must arrive within BODY_TIMEOUT seconds plus what its size takes at
    # BODY_MIN_RATE_KB kilobytes a second.
    "BODY_TIMEOUT": 10,
    "BODY_MIN_RATE_KB": 20,
    "STORAGE_BACKEND": "local",
    # Processes a batch of letters is printed in; None: two, or one on a single core.
    "PRINT_PROCESSES": None,
    # The reply address each request's email carries, e.g.
    # "records+{reference}@coalition.example"; replies to it file themselves. Empty: none.
    "MAIL_REPLY_TO": "",
    # Jobs: a SQLite queue in the instance folder unless REDIS_URL is set.
    "REDIS_URL": None,
    "TASKS_IMMEDIATE": False,
    "TEXT_RETRIES": 2,
    "TEXT_RETRY_DELAY": 60,
    "OCR_SECONDS": 600,
    # minute hour day month weekday, on Los Angeles' clock; "off" for none.
    "REMIND_CRON": "0 7 * * *",
    # When the worker notes on the timelines the embargoes that ended (as REMIND_CRON).
    "PUBLISH_CRON": "10 0 * * *",
    # When the worker drafts the requests of series whose period has ended (as REMIND_CRON).
    "SERIES_CRON": "20 0 * * *",
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    # Mail goes out through TRACKER_MAIL_* (SMTP); answers come in from this mailbox.
    "IMAP_HOST": None,
    "IMAP_PORT": None,
    "IMAP_USER": None,
    "IMAP_PASSWORD": None,
    "IMAP_SSL": True,
    "IMAP_FOLDER": "INBOX",
    "IMAP_DONE_FOLDER": "Filed",
    # When the worker looks at the mailbox (as REMIND_CRON); only with IMAP_HOST set.
    "IMAP_CRON": "*/5 * * * *",
}


def configure(app: Flask, overrides: Mapping[str, Any] | None) -> None:
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("TRACKER")
    if overrides:
        app.config.from_mapping(overrides)

    if app.config.get("TODAY"):
        app.config["TODAY"] = fixed_today(app.config["TODAY"])

    url = app.config.get("DATABASE_URL") or default_database_url(app.instance_path)
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(str(url))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))


def fixed_today(value: Any) -> date:
    """``TRACKER_TODAY``: the day the tracker takes for today, for tests and demos."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"TRACKER_TODAY must be a date as YYYY-MM-DD, not {value!r}") from None


def default_database_url(instance_path: str) -> str:
    return f"sqlite:///{Path(instance_path) / 'tracker.sqlite3'}"


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL whichever spelling of the URL is given."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def instance_secret_key(instance: Path) -> str:
    """The key kept in ``instance/secret_key``, made on first start.

    Written beside and then linked into place, so workers starting together
    all end up with the one key that won.
    """
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        fd, temporary = tempfile.mkstemp(dir=instance, prefix=".secret_key.")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    key = path.read_text().strip()
    if not key:
        raise RuntimeError(f"{path} is empty: delete it to make a new key")
    return key

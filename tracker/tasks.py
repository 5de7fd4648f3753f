"""Work done outside the web request: reading documents' text, the daily reminders, the
daily note of embargoes lifted, and drafting the requests of series whose period has ended.

Each app gets a huey instance made from its settings: the queue is a SQLite file in
the instance folder (``instance/tasks.sqlite3``), or Redis when ``TRACKER_REDIS_URL``
is set. ``tracker worker`` runs the consumer; ``tracker serve`` starts one beside
gunicorn. A job runs in an app context of the worker's own app, made once per worker
process, and commits what it did. In immediate mode (``TRACKER_TASKS_IMMEDIATE``, for
the test-client suites) a job runs at once in the caller's context and session, and
the caller commits.

A document's job is queued only once the upload's transaction has committed, so the
worker never looks for a row that is not there yet.
"""

import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import Task, TaskLock
from sqlalchemy import event
from sqlalchemy.orm import Session

from tracker.extensions import db
from tracker.sqltypes import LOCAL_ZONE

log = logging.getLogger(__name__)

QUEUED_TEXT_JOBS = "tracker.text_jobs"
QUEUED_MAIL_JOBS = "tracker.mail_jobs"


@dataclass(frozen=True)
class Jobs:
    """The app's queue and the jobs it runs, kept in ``app.extensions["tracker.jobs"]``."""

    huey: Huey
    read_document_text: Callable[[int], Any]
    send_letter_email: Callable[[int, int], Any]


def setting_on(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


def make_huey(app: Flask) -> Huey:
    immediate = setting_on(app.config.get("TASKS_IMMEDIATE", False))
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        return RedisHuey("tracker", url=str(redis_url), immediate=immediate)
    path = app.config.get("TASKS_DATABASE") or Path(app.instance_path) / "tasks.sqlite3"
    if not immediate:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey("tracker", filename=str(path), immediate=immediate)


@contextmanager
def job_context(app: Flask) -> Iterator[None]:
    """The caller's context in immediate mode; else a fresh one that commits or rolls back."""
    if has_app_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
        yield
        return
    with app.app_context():
        try:
            yield
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise


def cron_schedule(app: Flask, key: str) -> Callable[[datetime], bool] | None:
    """When a periodic job runs: the five fields of ``TRACKER_<key>``, on Los Angeles' clock."""
    setting = str(app.config.get(key) or "").strip()
    if not setting or setting.lower() == "off":
        return None
    fields = setting.split()
    if len(fields) != 5:
        raise ValueError(
            f"TRACKER_{key} takes five fields (minute hour day month weekday), not {setting!r}"
        )
    try:
        matches = crontab(*fields, strict=True)
    except ValueError as error:
        raise ValueError(f"TRACKER_{key} {setting!r}: {error}") from None

    def in_los_angeles(moment: datetime) -> bool:
        # huey hands the scheduler naive UTC times.
        local = moment.replace(tzinfo=UTC).astimezone(LOCAL_ZONE).replace(tzinfo=None)
        return bool(matches(local))

    return in_los_angeles


def reminder_schedule(app: Flask) -> Callable[[datetime], bool] | None:
    """When the reminders go out: ``TRACKER_REMIND_CRON`` read on Los Angeles' clock."""
    return cron_schedule(app, "REMIND_CRON")


@dataclass(frozen=True)
class MailJobs:
    """Looking at the mailbox: the job that does it, and the lock that keeps it to one."""

    lock: TaskLock
    fetch_mail: Callable[[], Any]


def mail_fetch_jobs(app: Flask, huey: Huey) -> MailJobs:
    """The job behind "Check the mailbox now", and every ``TRACKER_IMAP_CRON`` when a
    mailbox is configured; ``tracker mail fetch`` takes the same lock."""
    from tracker.mail.fetch import MailboxBusy, MailboxUnavailable, check_mailbox

    def look() -> None:
        with job_context(app):
            try:
                found = check_mailbox("worker")
            except (MailboxBusy, MailboxUnavailable) as error:
                log.info("Mailbox not checked: %s", error)
                return
            if found.result is None:
                log.warning("Mailbox check failed: %s", found.error)
            else:
                log.info("Mailbox checked: %s", found.result.summary())

    fetch_mail = huey.task(name="fetch_mail")(look)
    schedule = cron_schedule(app, "IMAP_CRON")
    if schedule is not None and str(app.config.get("IMAP_HOST") or "").strip():
        huey.periodic_task(schedule, name="fetch_mail_periodic")(look)
    return MailJobs(lock=huey.lock_task("mail_fetch"), fetch_mail=fetch_mail)


def init_app(app: Flask) -> None:
    huey = make_huey(app)
    retries = int(app.config.get("TEXT_RETRIES", 2))
    retry_delay = int(app.config.get("TEXT_RETRY_DELAY", 60))

    @huey.task(retries=retries, retry_delay=retry_delay, context=True, name="read_document_text")
    def read_document_text(document_id: int, task: Task) -> None:
        from tracker.documents.services import read_document_text as read

        # huey counts down the retries left; the last try flags the document instead.
        last_try = huey.immediate or not task.retries
        with job_context(app):
            read(document_id, last_try=last_try)

    schedule = reminder_schedule(app)
    if schedule is not None:

        @huey.periodic_task(schedule, name="send_reminders")
        def send_reminders() -> None:
            from tracker.deadlines.cli import send_reminders as send
            from tracker.letters.services import local_today

            with job_context(app):
                log.info("%s", send(local_today()))

    embargoes = cron_schedule(app, "PUBLISH_CRON")
    if embargoes is not None:

        @huey.periodic_task(embargoes, name="lift_embargoes")
        def lift_embargoes() -> None:
            from tracker.letters.services import local_today
            from tracker.publishing.services import lift_embargoes as lift

            with job_context(app):
                log.info("%s", lift(local_today()))

    series_schedule = cron_schedule(app, "SERIES_CRON")
    if series_schedule is not None:

        @huey.periodic_task(series_schedule, name="draft_series_requests")
        def draft_series_requests() -> None:
            from tracker.letters.services import local_today
            from tracker.series.services import draft_due_periods

            with job_context(app):
                log.info("%s", draft_due_periods(local_today()))

    @huey.task(name="send_letter_email")
    def send_letter_email(outgoing_id: int, try_number: int) -> None:
        from tracker.mail.outbox import send_queued

        # Each try is its own job, named by its number, so a job delivered twice makes
        # no second try; the next is scheduled once this one's result is committed,
        # after the wait TRACKER_MAIL_RETRY_MINUTES gives for it.
        with job_context(app):
            wait = send_queued(outgoing_id, try_number)
        if wait is not None:
            send_letter_email.schedule((outgoing_id, try_number + 1), delay=int(wait * 60))

    @huey.on_startup()
    def fresh_connections() -> None:
        # A worker process forked from the consumer must not share its connections.
        with app.app_context():
            db.engine.dispose(close=False)

    @huey.on_shutdown()
    def stop_ocr() -> None:
        from tracker.documents.services import kill_running_ocr

        kill_running_ocr()

    app.extensions["tracker.jobs"] = Jobs(
        huey=huey, read_document_text=read_document_text, send_letter_email=send_letter_email
    )
    app.extensions["tracker.mail_jobs"] = mail_fetch_jobs(app, huey)


def jobs() -> Jobs:
    found: Jobs = current_app.extensions["tracker.jobs"]
    return found


def queue_text_job(document_id: int) -> None:
    """Read a stored document's text: now in immediate mode, else once the upload commits."""
    app_jobs = jobs()
    if app_jobs.huey.immediate:
        app_jobs.read_document_text(document_id)
        return
    db.session.info.setdefault(QUEUED_TEXT_JOBS, []).append(document_id)


@event.listens_for(Session, "after_commit")
def _send_queued_jobs(session: Session) -> None:
    queued = session.info.pop(QUEUED_TEXT_JOBS, None)
    if not queued:
        return
    app_jobs = jobs()
    for document_id in queued:
        try:
            app_jobs.read_document_text(document_id)
        except Exception:
            # The document stays "reading text…"; the next `tracker worker` start queues it.
            log.exception("Could not queue reading document %s", document_id)


@event.listens_for(Session, "after_rollback")
def _forget_queued_jobs(session: Session) -> None:
    session.info.pop(QUEUED_TEXT_JOBS, None)


def queue_mail_job(outgoing_id: int, try_number: int) -> None:
    """Try to send a letter's email: now in immediate mode, else once the queueing commits."""
    app_jobs = jobs()
    if app_jobs.huey.immediate:
        app_jobs.send_letter_email(outgoing_id, try_number)
        return
    db.session.info.setdefault(QUEUED_MAIL_JOBS, []).append((outgoing_id, try_number))


@event.listens_for(Session, "after_commit")
def _send_queued_mail(session: Session) -> None:
    queued = session.info.pop(QUEUED_MAIL_JOBS, None)
    for outgoing_id, try_number in queued or ():
        try:
            jobs().send_letter_email(outgoing_id, try_number)
        except Exception:
            # The email stays queued; pressing Send again finds it and queues no other.
            log.exception("Could not queue the email %s", outgoing_id)


@event.listens_for(Session, "after_rollback")
def _forget_queued_mail(session: Session) -> None:
    session.info.pop(QUEUED_MAIL_JOBS, None)


def run_consumer(workers: int, worker_type: str) -> None:
    """Run the consumer until a signal: SIGTERM lets the running jobs finish (30 s at most),
    SIGINT stops them at once (a document left "reading text…" is read at the next start)."""
    from tracker.documents.services import queue_pending_documents

    app_jobs = jobs()
    if app_jobs.huey.immediate:
        raise RuntimeError("TRACKER_TASKS_IMMEDIATE is on: jobs run where they are queued")
    # Left "reading text…" by a worker stopped in the middle, or by a queue that was down.
    queue_pending_documents()
    consumer = app_jobs.huey.create_consumer(
        workers=workers,
        worker_type=worker_type,
        periodic=True,
        max_delay=1.0,
        graceful_signal="TERM",
        shutdown_timeout=30,
    )
    log.info("Worker %s started: %s %s worker(s)", os.getpid(), workers, worker_type)
    consumer.run()

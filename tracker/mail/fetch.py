"""Fetching the mailbox: each new message is handed over, then moved out of the way.

A message is moved to ``TRACKER_IMAP_DONE_FOLDER`` only after the handler has stored
it and returned; one the handler refuses stays where it is, to be tried on the next
fetch. Nothing is ever deleted.
"""

import imaplib
import logging
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

from flask import current_app
from huey.api import TaskLock
from huey.exceptions import TaskLockedException
from imap_tools import BaseMailBox, MailBox, MailBoxUnencrypted, MailMessage
from imap_tools.errors import ImapToolsError, MailboxLoginError
from sqlalchemy import select

from tracker.extensions import db
from tracker.mail.models import MailFetch
from tracker.sqltypes import utcnow
from tracker.tasks import setting_on

Handler = Callable[[bytes, str], None]
Progress = Callable[[int, int], None]

logger = logging.getLogger(__name__)

# Seconds a connection may wait on the server before it gives up.
TIMEOUT = 60

NOT_CONFIGURED = (
    "No mailbox is configured: set TRACKER_IMAP_HOST, TRACKER_IMAP_USER and TRACKER_IMAP_PASSWORD."
)


class MailboxUnavailable(RuntimeError):
    """The mailbox could not be reached, signed in to, or read."""


@dataclass(frozen=True)
class ImapSettings:
    host: str
    port: int
    user: str
    password: str
    use_ssl: bool
    folder: str
    done_folder: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "ImapSettings":
        host = config.get("IMAP_HOST")
        user = config.get("IMAP_USER")
        if not host or not user:
            raise MailboxUnavailable(NOT_CONFIGURED)
        use_ssl = setting_on(config.get("IMAP_SSL", True))
        port = config.get("IMAP_PORT") or (993 if use_ssl else 143)
        try:
            port = int(port)
        except (TypeError, ValueError):
            raise MailboxUnavailable(f"TRACKER_IMAP_PORT must be a number, not {port!r}") from None
        return cls(
            host=str(host),
            port=port,
            user=str(user),
            password=str(config.get("IMAP_PASSWORD") or ""),
            use_ssl=use_ssl,
            folder=str(config.get("IMAP_FOLDER") or "INBOX"),
            done_folder=str(config.get("IMAP_DONE_FOLDER") or "Filed"),
        )

    @property
    def address(self) -> str:
        return f"{self.user} at {self.host}:{self.port}"


@dataclass(frozen=True)
class LeftMessage:
    """A message left in the mailbox, and why."""

    uid: str
    sender: str
    subject: str
    reason: str

    def __str__(self) -> str:
        subject = f'"{self.subject}"' if self.subject else "no subject"
        return f"message {self.uid} from {self.sender or 'no sender'}, {subject}: {self.reason}"


@dataclass
class FetchResult:
    stored: list[str] = field(default_factory=list)
    left: list[LeftMessage] = field(default_factory=list)

    @property
    def fetched(self) -> int:
        return len(self.stored) + len(self.left)

    def summary(self) -> str:
        line = f"Fetched {plural(self.fetched, 'message')}: {len(self.stored)} stored"
        if self.left:
            line += f", {len(self.left)} left in the mailbox: " + "; ".join(map(str, self.left))
        return line + "."


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


class RawMailMessage(MailMessage):
    """A fetched message that keeps its bytes exactly as the server sent them."""

    def __init__(self, fetch_data: list[Any]) -> None:
        super().__init__(fetch_data)
        self.raw: bytes = self._get_message_data_parts(fetch_data)[0]


class RawMailBox(MailBox):
    email_message_class = RawMailMessage


class RawMailBoxUnencrypted(MailBoxUnencrypted):
    email_message_class = RawMailMessage


def connect(settings: ImapSettings) -> BaseMailBox:
    """A signed-in mailbox with the incoming folder selected."""
    try:
        mailbox: BaseMailBox
        if settings.use_ssl:
            # imaplib checks no certificate unless given a context that does.
            context = ssl.create_default_context()
            mailbox = RawMailBox(settings.host, settings.port, timeout=TIMEOUT, ssl_context=context)
        else:
            mailbox = RawMailBoxUnencrypted(settings.host, settings.port, timeout=TIMEOUT)
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxUnavailable(
            f"Could not connect to the mailbox at {settings.host}:{settings.port}: {error}"
        ) from None
    try:
        mailbox.login(settings.user, settings.password, initial_folder=None)
    except MailboxLoginError:
        mailbox.client.shutdown()
        raise MailboxUnavailable(
            f"The mailbox refused the sign-in of {settings.address}: check "
            "TRACKER_IMAP_USER and TRACKER_IMAP_PASSWORD."
        ) from None
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
        mailbox.client.shutdown()
        raise MailboxUnavailable(f"Could not sign in to {settings.address}: {error}") from None
    try:
        if not mailbox.folder.exists(settings.folder):
            raise MailboxUnavailable(
                f"The mailbox of {settings.address} has no folder {settings.folder!r} "
                "(TRACKER_IMAP_FOLDER)."
            )
        mailbox.folder.set(settings.folder)
        if not mailbox.folder.exists(settings.done_folder):
            mailbox.folder.create(settings.done_folder)
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
        mailbox.logout()
        raise MailboxUnavailable(
            f"Could not open the folders of {settings.address}: {error}"
        ) from None
    except MailboxUnavailable:
        mailbox.logout()
        raise
    return mailbox


def fetch(
    handler: Handler,
    *,
    limit: int | None = None,
    progress: Progress | None = None,
    settings: ImapSettings | None = None,
) -> FetchResult:
    """Hand each message of the incoming folder to ``handler(raw, uid)``, oldest first.

    Once the handler returns, the message is moved to the done folder; when it raises,
    the message stays and the error is reported in the result. ``progress(done, total)``
    is called before the first message and after each one. Raises
    ``MailboxUnavailable`` when the mailbox cannot be reached or read.
    """
    settings = settings or ImapSettings.from_config(current_app.config)
    mailbox = connect(settings)
    result = FetchResult()
    try:
        uids = mailbox.uids("ALL")
        if limit is not None:
            uids = uids[:limit]
        if progress:
            progress(0, len(uids))
        for index, uid in enumerate(uids, start=1):
            handle_one(mailbox, settings, uid, handler, result)
            if progress:
                progress(index, len(uids))
    except (OSError, imaplib.IMAP4.error, ImapToolsError) as error:
        # A message stored but not yet moved is handed over again on the next fetch.
        raise MailboxUnavailable(
            f"The mailbox of {settings.address} stopped answering after "
            f"{plural(len(result.stored), 'message')} stored and moved: {error}"
        ) from None
    finally:
        try:
            mailbox.logout()
        except (OSError, imaplib.IMAP4.error):
            pass
    return result


def handle_one(
    mailbox: BaseMailBox, settings: ImapSettings, uid: str, handler: Handler, result: FetchResult
) -> None:
    messages = list(mailbox.fetch(uid_list=[uid], mark_seen=False))
    if not messages:
        return  # moved or removed by someone else since the search
    # The mailboxes connect() opens make RawMailMessage.
    message = cast(RawMailMessage, messages[0])
    raw = message.raw
    try:
        handler(raw, uid)
    except Exception as error:  # noqa: BLE001  (whatever went wrong, the message stays)
        logger.warning("Message %s left in %s", uid, settings.folder, exc_info=True)
        reason = str(error) or type(error).__name__
        result.left.append(LeftMessage(uid, message.from_, message.subject, reason))
        return
    mailbox.move([uid], settings.done_folder)
    result.stored.append(uid)


# One look at the mailbox, recorded -------------------------------------------------

# A look still unfinished after this long was stopped (a killed worker or command):
# its lock, which nothing else would ever release, is taken over.
ABANDONED_AFTER = timedelta(hours=1)
ABANDONED = "Stopped before it finished: the worker or the command was stopped."


class MailboxBusy(RuntimeError):
    """Another look at the mailbox is running."""


@dataclass
class Look:
    """A finished look at the mailbox: its row, and what the fetch reported."""

    record: MailFetch
    result: FetchResult | None

    @property
    def error(self) -> str:
        return self.record.error


def mailbox_configured(config: Mapping[str, Any]) -> bool:
    return bool(str(config.get("IMAP_HOST") or "").strip())


def unfinished_looks() -> list[MailFetch]:
    return list(
        db.session.scalars(
            select(MailFetch).where(MailFetch.finished_at.is_(None)).order_by(MailFetch.id)
        )
    )


def take_lock(lock: TaskLock) -> None:
    try:
        lock.acquire()
        return
    except TaskLockedException:
        pass
    # The lock is taken only while a look is unfinished; one left by a look that was
    # killed is released here, so the mailbox is not left unread for good.
    cutoff = utcnow() - ABANDONED_AFTER
    if any(look.started_at > cutoff for look in unfinished_looks()):
        raise MailboxBusy("The mailbox is being checked already: try again once it is done.")
    lock.release()
    try:
        lock.acquire()
    except TaskLockedException:
        raise MailboxBusy(
            "The mailbox is being checked already: try again once it is done."
        ) from None


def check_mailbox(
    trigger: str, *, limit: int | None = None, progress: Progress | None = None
) -> Look:
    """File each new message, one commit each, and record the look as a ``MailFetch``.

    A mailbox that cannot be reached or signed in to is recorded with the reason, not
    raised. Raises ``MailboxUnavailable`` when no mailbox is configured (nothing is
    recorded) and ``MailboxBusy`` when another look is running.
    """
    from tracker.mail.inbox import file_message
    from tracker.mail.models import MailState

    if not mailbox_configured(current_app.config):
        raise MailboxUnavailable(NOT_CONFIGURED)
    lock: TaskLock = current_app.extensions["tracker.mail_jobs"].lock
    take_lock(lock)
    try:
        for left in unfinished_looks():
            left.finished_at = utcnow()
            left.error = left.error or ABANDONED
        record = MailFetch(trigger=trigger, started_at=utcnow())
        db.session.add(record)
        db.session.commit()
        counts = {"filed": 0, "held": 0, "duplicates": 0}

        def file_one(raw: bytes, uid: str) -> None:
            try:
                filed = file_message(raw, source="imap", actor=None)
                db.session.commit()
            except Exception:
                db.session.rollback()
                raise
            if filed.already:
                counts["duplicates"] += 1
            elif filed.correspondence.state is MailState.HELD:
                counts["held"] += 1
            else:
                counts["filed"] += 1

        result: FetchResult | None = None
        try:
            result = fetch(file_one, limit=limit, progress=progress)
        except MailboxUnavailable as error:
            db.session.rollback()
            record.error = str(error)
        except Exception as error:
            db.session.rollback()
            finish(record, counts, None, f"Stopped by an unexpected error: {error}")
            raise
        finish(record, counts, result, record.error)
        return Look(record, result)
    finally:
        lock.release()


def finish(
    record: MailFetch, counts: dict[str, int], result: FetchResult | None, error: str
) -> None:
    record.filed, record.held = counts["filed"], counts["held"]
    record.duplicates = counts["duplicates"]
    record.refused = len(result.left) if result else 0
    record.seen = sum(counts.values()) + record.refused
    record.error = error
    record.finished_at = utcnow()
    db.session.commit()

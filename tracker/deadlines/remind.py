"""Who is reminded of which deadlines, and the email that tells them; sending is the CLI's.

Staff and admins hear about the overdue requests and those due within a week that
are theirs. A request with no assignee, or one assigned to someone who gets no
reminders (an advocate, a viewer, a deactivated account), goes to every staff and
admin user, so no deadline falls between chairs. Each (person, request, reason)
is sent at most once a day; ``ReminderLog`` remembers what went out.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from tracker.auth.models import Role, User
from tracker.deadlines.board import DUE_SOON_DAYS, Filters, Row, rows_for, section_query
from tracker.deadlines.engine import day_name
from tracker.deadlines.models import ReminderLog

REMINDED_ROLES = (Role.ADMIN, Role.STAFF)
# The board sections reminded of, in the order an email lists them.
REMINDER_SECTIONS = {"overdue": "Overdue", "due_soon": f"Due in the next {DUE_SOON_DAYS} days"}


@dataclass(frozen=True)
class Reminder:
    row: Row
    section: str

    @property
    def reference(self) -> str:
        return self.row.request.reference


@dataclass(frozen=True)
class Digest:
    """Everything new one person is to be told today."""

    user: User
    reminders: tuple[Reminder, ...]


@dataclass(frozen=True)
class ReminderPlan:
    digests: tuple[Digest, ...]
    # Staff and admins who have nothing new today.
    quiet: tuple[User, ...]

    @property
    def request_count(self) -> int:
        return len({r.row.request.id for d in self.digests for r in d.reminders})


def plan_reminders(session: Session, today: date) -> ReminderPlan:
    """Who gets which reminders today, leaving out what each already had today."""
    recipients = session.scalars(
        select(User)
        .where(User.active.is_(True), User.role.in_(REMINDED_ROLES))
        .order_by(User.email)
    ).all()
    by_id = {user.id: user for user in recipients}
    already = {
        (log.user_id, log.request_id, log.reason)
        for log in session.scalars(select(ReminderLog).where(ReminderLog.sent_on == today))
    }
    owed: dict[int, list[Reminder]] = {user.id: [] for user in recipients}
    for section in REMINDER_SECTIONS:
        requests = session.scalars(section_query(section, today, Filters())).unique().all()
        for row in rows_for(session, requests, today):
            assignee = row.request.assignee_id
            people = [assignee] if assignee in by_id else list(by_id)
            for user_id in people:
                if (user_id, row.request.id, section) not in already:
                    owed[user_id].append(Reminder(row, section))
    digests = tuple(Digest(by_id[uid], tuple(items)) for uid, items in owed.items() if items)
    quiet = tuple(by_id[uid] for uid, items in owed.items() if not items)
    return ReminderPlan(digests, quiet)


def record_sent(session: Session, digest: Digest, today: date) -> None:
    """Remember that the digest went out, so it is not sent again today."""
    for reminder in digest.reminders:
        session.add(
            ReminderLog(
                user_id=digest.user.id,
                request_id=reminder.row.request.id,
                reason=reminder.section,
                sent_on=today,
            )
        )
    session.flush()


def request_url(base_url: str, reference: str) -> str:
    """The request's page at ``base_url`` (the tracker's public address)."""
    parts = urlsplit(base_url)
    adapter = current_app.url_map.bind(
        parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "http"
    )
    return adapter.build("requests.show_request", {"reference": reference}, force_external=True)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def reminder_email(digest: Digest, *, sender: str, base_url: str, today: date) -> EmailMessage:
    """One plain-text email listing each request with its due date and the reason."""
    overdue = sum(1 for r in digest.reminders if r.section == "overdue")
    soon = len(digest.reminders) - overdue
    counts = [f"{overdue} overdue"] if overdue else []
    counts += [f"{soon} due soon"] if soon else []
    message = EmailMessage()
    message["Subject"] = f"Records Tracker: {', '.join(counts)} ({today:%b} {today.day})"
    message["From"] = sender
    message["To"] = digest.user.email
    lines = [f"Hello {digest.user.name},", ""]
    for key, label in REMINDER_SECTIONS.items():
        listed = [r for r in digest.reminders if r.section == key]
        if not listed:
            continue
        lines += [f"{label}:", ""]
        lines += _describe(listed, base_url)
    lines += [
        "You get this email because you are staff on Records Tracker; "
        "each request is listed at most once a day.",
    ]
    message.set_content("\n".join(lines) + "\n")
    return message


def _describe(reminders: Sequence[Reminder], base_url: str) -> list[str]:
    lines = []
    for reminder in reminders:
        request, row = reminder.row.request, reminder.row
        agency = request.agency.short_name or request.agency.name
        due = row.deadlines.due_on or request.due_on
        lines += [
            f"{request.reference}  {' '.join(request.title.split())} ({agency})",
            f"  Due {day_name(due)}. {row.reason}" if due else f"  {row.reason}",
            f"  {request_url(base_url, request.reference)}",
            "",
        ]
    return lines

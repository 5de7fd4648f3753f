"""The mailbox's state on the holding pen's page, and "Check the mailbox now"."""

from dataclasses import dataclass
from datetime import datetime

from flask import current_app, flash, redirect, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import SubmitField

from tracker.auth.models import Role
from tracker.extensions import db
from tracker.mail import bp
from tracker.mail.fetch import NOT_CONFIGURED, mailbox_configured
from tracker.mail.models import MailFetch
from tracker.security import roles_required
from tracker.sqltypes import utcnow

MANAGERS = (Role.ADMIN, Role.STAFF)


class CheckMailboxForm(FlaskForm):
    submit = SubmitField("Check the mailbox now")


def ago(moment: datetime, now: datetime) -> str:
    """How long before ``now``, as a person says it: "just now", "3 minutes ago"."""
    seconds = max(0, int((now - moment).total_seconds()))
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'} ago"
    return "just now"


def counted(look: MailFetch) -> str:
    if not look.seen:
        return "nothing new"
    parts = [f"{look.filed} filed", f"{look.held} held"]
    if look.duplicates:
        parts.append(f"{look.duplicates} already on file")
    if look.refused:
        parts.append(f"{look.refused} left in the mailbox (`tracker mail fetch` says why)")
    return ", ".join(parts)


@dataclass(frozen=True)
class MailboxStatus:
    configured: bool
    mailbox: str
    schedule: str
    # The latest look, and the latest that went well when that one failed.
    last: MailFetch | None
    last_good: MailFetch | None
    now: datetime

    @property
    def running(self) -> bool:
        return self.last is not None and self.last.finished_at is None

    @property
    def failed(self) -> bool:
        return self.last is not None and self.last.finished_at is not None and bool(self.last.error)

    def ago(self, moment: datetime) -> str:
        return ago(moment, self.now)

    @property
    def summary(self) -> str:
        """One line on the mailbox, for the page."""
        if not self.configured:
            return f"The mailbox is not configured: {NOT_CONFIGURED.split(': ', 1)[1]}"
        last = self.last
        if last is None:
            return f"Mailbox {self.mailbox} has not been checked yet."
        started = self.ago(last.started_at)
        if last.finished_at is None:
            return f"Mailbox {self.mailbox} is being checked now (started {started})."
        if last.error:
            return f"Mailbox {self.mailbox}: the check {started} failed: {last.error}"
        return f"Mailbox {self.mailbox} checked {self.ago(last.finished_at)}: {counted(last)}."


def mailbox_status() -> MailboxStatus:
    config = current_app.config
    configured = mailbox_configured(config)
    mailbox = ""
    if configured:
        user = str(config.get("IMAP_USER") or "").strip()
        mailbox = f"{user} at {config['IMAP_HOST']}" if user else str(config["IMAP_HOST"])
    cron = str(config.get("IMAP_CRON") or "").strip()
    if not cron or cron.lower() == "off":
        schedule = "The worker does not check it by itself (TRACKER_IMAP_CRON is off)."
    else:
        schedule = f"The worker checks it on the schedule TRACKER_IMAP_CRON “{cron}”."
    last = db.session.scalars(select(MailFetch).order_by(MailFetch.id.desc()).limit(1)).first()
    last_good = None
    if last is not None and last.error:
        last_good = db.session.scalars(
            select(MailFetch)
            .where(MailFetch.finished_at.is_not(None), MailFetch.error == "")
            .order_by(MailFetch.id.desc())
            .limit(1)
        ).first()
    return MailboxStatus(configured, mailbox, schedule, last, last_good, utcnow())


@bp.context_processor
def held_page_status() -> dict[str, object]:
    # Called by the held page's template only, so other mail pages make no query.
    return {"mailbox_status": mailbox_status, "check_mailbox_form": CheckMailboxForm}


@bp.post("/mail/check")
@roles_required(*MANAGERS)
def check_mailbox() -> Response:
    form = CheckMailboxForm()
    back = url_for("mail.held", _anchor="mailbox")
    if not form.validate_on_submit():
        flash("The form had expired: press “Check the mailbox now” again.", "error")
        return redirect(back)
    if not mailbox_configured(current_app.config):
        flash(NOT_CONFIGURED, "error")
        return redirect(back)
    status = mailbox_status()
    if status.running:
        flash("The mailbox is being checked already; this page shows when it is done.", "info")
        return redirect(back)
    jobs = current_app.extensions["tracker.mail_jobs"]
    jobs.fetch_mail()
    if current_app.extensions["tracker.jobs"].huey.immediate:
        flash("Checked the mailbox.", "success")
    else:
        flash(
            "The worker will check the mailbox in a moment; reload this page to see it done.",
            "success",
        )
    return redirect(back)

"""``tracker deadline``, ``tracker overdue`` and ``tracker remind``."""

import json
import smtplib
from datetime import date
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from tracker.deadlines.board import Filters, rows_for, section_query
from tracker.deadlines.calendars import AgencyCalendar
from tracker.deadlines.engine import Facts, compute, day_name
from tracker.deadlines.remind import plan_reminders, plural, record_sent, reminder_email
from tracker.deadlines.services import calendar_for
from tracker.extensions import db
from tracker.laws import all_laws
from tracker.letters.cli import fail, find_agency
from tracker.letters.services import local_today
from tracker.mail.smtp import server_address, server_port, smtp_connection

DEFAULT_BASE_URL = "http://127.0.0.1:5000"


def parse_day(value: str | None, option: str) -> date:
    if value is None:
        return local_today()
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} takes a date as YYYY-MM-DD, not {value!r}.")


@click.command("deadline")
@click.option("--law", "law_id", default=None, help="ca-cpra, us-foia, …; default: the agency's.")
@click.option("--received", required=True, metavar="YYYY-MM-DD", help="The day the agency got it.")
@click.option("--agency", "agency_name", default=None, help="Short name or name: its calendar.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@with_appcontext
def deadline_command(
    law_id: str | None, received: str, agency_name: str | None, as_json: bool
) -> None:
    """The determination deadline of a request received on a day.

    With --agency the agency's own closures count and its law applies; a --law
    that names another law is refused, since the agency's calendar belongs to its law.
    """
    received_on = parse_day(received, "--received")
    laws = all_laws()
    agency = find_agency(agency_name) if agency_name else None
    if law_id is None:
        if agency is None:
            fail("give --law (one of " + ", ".join(laws) + ") or --agency.")
        law_id = agency.law
    law_id = law_id.strip().lower()
    if law_id not in laws:
        fail(f"no law {law_id!r}; the laws are {', '.join(laws)}.")
    if agency is not None and agency.law != law_id:
        fail(
            f"{agency.display_name} is governed by {agency.law}, not {law_id}; "
            "leave out --law or --agency."
        )
    law = laws[law_id]
    calendar = calendar_for(db.session(), agency) if agency else AgencyCalendar(base=law.calendar)
    deadlines = compute(law, calendar, Facts(received_on=received_on))
    due = deadlines.due_on
    if due is None:
        fail("no deadline could be worked out from that day.")
    if as_json:
        info: dict[str, Any] = {
            "law": law.id,
            "law_name": law.name,
            "agency": agency.short_name or agency.name if agency else None,
            "received_on": received_on.isoformat(),
            "due_on": due.isoformat(),
            "explanation": deadlines.explanation,
            "steps": list(deadlines.steps),
            "warnings": list(deadlines.warnings),
        }
        click.echo(json.dumps(info, indent=2, ensure_ascii=False))
        return
    click.echo(f"Due {due.isoformat()} ({day_name(due)}) under {law.id}.")
    click.echo(deadlines.explanation)
    for warning in deadlines.warnings:
        click.echo(f"Warning: {warning}")


@click.command("overdue")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="Default: today in Los Angeles.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list.")
@with_appcontext
def overdue_command(today: str | None, as_json: bool) -> None:
    """Requests with no determination past their deadline, the longest overdue first."""
    day = parse_day(today, "--today")
    requests = db.session.scalars(section_query("overdue", day, Filters())).all()
    rows = rows_for(db.session(), requests, day)
    if as_json:
        listed = [
            {
                "reference": row.request.reference,
                "title": row.request.title,
                "agency": row.request.agency.short_name or row.request.agency.name,
                "due_on": row.deadlines.due_on.isoformat() if row.deadlines.due_on else None,
                "days_overdue": row.standing.overdue_days,
                "reason": row.reason,
                "status": row.request.status.value,
                "assignee": row.request.assignee.email if row.request.assignee else None,
            }
            for row in rows
        ]
        click.echo(json.dumps(listed, indent=2, ensure_ascii=False))
        return
    for row in rows:
        request = row.request
        click.echo(
            "\t".join(
                [
                    request.reference,
                    f"due {row.deadlines.due_on}",
                    f"{plural(row.standing.overdue_days, 'day')} overdue",
                    request.agency.short_name or request.agency.name,
                    " ".join(request.title.split()),
                ]
            )
        )
    if not rows:
        click.echo("Nothing is overdue.")


@click.command("remind")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="Default: today in Los Angeles.")
@with_appcontext
def remind_command(today: str | None) -> None:
    """Email staff and admins their overdue requests and those due within a week.

    Each person gets one email, and nothing they were already told today.
    """
    day = parse_day(today, "--today")
    try:
        click.echo(send_reminders(day))
    except ReminderError as error:
        click.echo(f"Error: {error}", err=True)
        raise click.exceptions.Exit(1) from None


class ReminderError(Exception):
    """The reminders could not go out: the mail server refused or could not be reached."""


def send_reminders(day: date) -> str:
    """Send the day's reminders and say what went out; the daily job and ``tracker remind``."""
    config = current_app.config
    server = server_address(config) or "localhost"
    port = server_port(config)
    sender = str(config.get("MAIL_FROM") or "records-tracker@localhost")
    base_url = str(config.get("BASE_URL") or DEFAULT_BASE_URL)
    plan = plan_reminders(db.session(), day)
    if plan.digests:
        try:
            with smtp_connection(config, server) as smtp:
                for digest in plan.digests:
                    message = reminder_email(digest, sender=sender, base_url=base_url, today=day)
                    smtp.send_message(message)
                    # Committed per email: what went out is remembered even if a later one fails.
                    record_sent(db.session(), digest, day)
                    db.session.commit()
        except (OSError, smtplib.SMTPException) as error:
            db.session.rollback()
            detail = " ".join(str(error).split()) or type(error).__name__
            raise ReminderError(f"could not send reminders via {server}:{port}: {detail}") from None
    quiet = len(plan.quiet)
    return (
        f"Sent {plural(len(plan.digests), 'email')} about "
        f"{plural(plan.request_count, 'request')}; "
        f"{quiet} {'person' if quiet == 1 else 'people'} had nothing new."
    )


def register(app: Flask) -> None:
    """Add the deadline commands to the ``tracker`` command."""
    app.cli.add_command(deadline_command)
    app.cli.add_command(overdue_command)
    app.cli.add_command(remind_command)

"""``tracker mail fetch``: file the answers waiting in the mailbox, by hand."""

from contextlib import ExitStack
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext

from tracker.extensions import db
from tracker.mail import inbox
from tracker.mail.fetch import Handler, MailboxUnavailable, fetch


def register(app: Flask) -> None:
    app.cli.add_command(mail_cli)


@click.group("mail")
def mail_cli() -> None:
    """Mail coming in from the tracker's mailbox."""


def filing_handler() -> Handler:
    """Files one message and commits it, so it is stored before it leaves the folder."""

    def handle(raw: bytes, uid: str) -> None:
        try:
            inbox.file_message(raw, source="imap", actor=None)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise

    return handle


@mail_cli.command("fetch")
@click.option("--limit", type=click.IntRange(min=1), help="Fetch at most this many messages.")
@with_appcontext
def fetch_command(limit: int | None) -> None:
    """File each new message of the mailbox, then move it to the done folder."""
    handler = filing_handler()
    with ExitStack() as stack:
        bar: Any = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(click.progressbar(length=total, label="Fetching mail"))
            bar.update(done - bar.pos)

        try:
            result = fetch(handler, limit=limit, progress=progress)
        except MailboxUnavailable as error:
            raise click.ClickException(str(error)) from None
    click.echo(result.summary())
    if result.left:
        raise click.exceptions.Exit(1)

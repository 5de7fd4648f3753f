"""``tracker mail fetch``: file the answers waiting in the mailbox, by hand."""

from contextlib import ExitStack
from typing import Any

import click
from flask import Flask
from flask.cli import with_appcontext

from tracker.mail.fetch import MailboxBusy, MailboxUnavailable, check_mailbox


def register(app: Flask) -> None:
    app.cli.add_command(mail_cli)


@click.group("mail")
def mail_cli() -> None:
    """Mail coming in from the tracker's mailbox."""


@mail_cli.command("fetch")
@click.option("--limit", type=click.IntRange(min=1), help="Fetch at most this many messages.")
@with_appcontext
def fetch_command(limit: int | None) -> None:
    """File each new message of the mailbox, then move it to the done folder."""
    with ExitStack() as stack:
        bar: Any = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = stack.enter_context(click.progressbar(length=total, label="Fetching mail"))
            bar.update(done - bar.pos)

        try:
            look = check_mailbox("command", limit=limit, progress=progress)
        except (MailboxUnavailable, MailboxBusy) as error:
            raise click.ClickException(str(error)) from None
    if look.result is None:
        raise click.ClickException(look.error)
    click.echo(look.result.summary())
    if look.result.left:
        raise click.exceptions.Exit(1)

"""``tracker publishing``: the public records room's daily work, from cron or by hand."""

import click
from flask import Flask
from flask.cli import with_appcontext

from tracker.deadlines.cli import parse_day
from tracker.extensions import db
from tracker.publishing.services import lift_embargoes


@click.group("publishing")
def publishing_cli() -> None:
    """The public records room."""


@publishing_cli.command("lift-embargoes")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="Default: today in Los Angeles.")
@with_appcontext
def lift_embargoes_command(today: str | None) -> None:
    """Note on each request's timeline the documents whose embargo ends by today.

    The documents are public from their day whether or not this runs; it only keeps
    the timeline. The worker runs it every TRACKER_PUBLISH_CRON.
    """
    said = lift_embargoes(parse_day(today, "--today"))
    db.session.commit()
    click.echo(said)


def register(app: Flask) -> None:
    app.cli.add_command(publishing_cli)

"""``tracker series run``: draft the requests of series whose period has ended."""

import click
from flask.cli import with_appcontext

from tracker.deadlines.cli import parse_day


@click.group("series")
def series_cli() -> None:
    """Requests that repeat each period."""


@series_cli.command("run")
@click.option("--today", default=None, metavar="YYYY-MM-DD", help="Default: today in Los Angeles.")
@with_appcontext
def run_command(today: str | None) -> None:
    """Draft each period's request that is due, and email its assignee.

    What the daily job does; running it twice drafts nothing twice. A mail failure keeps
    the drafts (the next run emails again) and exits 1.
    """
    from tracker.series.services import run_due_periods

    run = run_due_periods(parse_day(today, "--today"))
    click.echo(run.summary())
    if run.mail_error:
        raise click.exceptions.Exit(1)

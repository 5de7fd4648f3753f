"""``tracker requests``: bring in requests kept in a spreadsheet."""

from pathlib import Path
from typing import NoReturn

import click
from flask.cli import with_appcontext

from tracker.auth.models import Role, User
from tracker.auth.services import find_user
from tracker.extensions import db
from tracker.requests.importing import MAX_BYTES, ImportFileError, import_rows, plan_import


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(2)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@click.group("requests")
def requests_cli() -> None:
    """Records requests."""


@requests_cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--skip-bad-rows", is_flag=True, help="Import the good rows even when some are bad.")
@click.option("--as", "as_email", metavar="EMAIL", help="The account recorded as creator.")
@with_appcontext
def import_command(file: Path, skip_bad_rows: bool, as_email: str | None) -> None:
    """Create requests from a CSV file; nothing is created while any row is bad.

    Columns: title, agency, received_on (required); sent_on, status,
    tracking_number, assignee, notes (optional).
    """
    creator: User | None = None
    if as_email:
        creator = find_user(as_email)
        if creator is None or not creator.active or creator.role == Role.VIEWER:
            fail(f"--as {as_email}: no active account that may create requests.")
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as error:
        fail(f"cannot read {file}: {error.strerror or error}")
    try:
        plan = plan_import(data)
    except ImportFileError as error:
        fail(f"{file}: {error}")

    result = import_rows(plan, creator, skip_bad=skip_bad_rows)
    for problem in result.errors:
        click.echo(f"line {problem.line}: {problem.reason}", err=True)
    if result.refused:
        db.session.rollback()
        bad = plural(len(plan.bad_lines), "bad row")
        click.echo(
            f"Nothing imported: {bad}. Correct them, or pass --skip-bad-rows "
            f"to import the other {plural(result.held_back, 'row')}.",
            err=True,
        )
        raise click.exceptions.Exit(1)
    db.session.commit()
    done = [(row.line, f"{row.reference} {row.title}") for row in result.imported]
    done += [
        (row.line, f"already imported as {row.reference} {row.title}") for row in result.already
    ]
    for line, what in sorted(done):
        click.echo(f"line {line}: {what}")
    summary = f"Imported {plural(len(result.imported), 'request')}"
    if result.already:
        summary += f"; skipped {plural(len(result.already), 'row')} already imported"
    if plan.bad_lines:
        summary += f"; skipped {plural(len(plan.bad_lines), 'bad row')}"
    click.echo(summary + ".")

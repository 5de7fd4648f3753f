"""The ``tracker`` command: serving, the database, seeding and accounts."""

import logging
import os
import signal
import subprocess
import sys
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy.exc import ArgumentError, OperationalError

from tracker.auth.models import Role, User
from tracker.backup import backup, restore
from tracker.deadlines import cli as deadline_commands
from tracker.documents import cli as document_commands
from tracker.extensions import db
from tracker.letters.cli import letters
from tracker.mail import cli as mail_commands
from tracker.publishing import cli as publishing_commands
from tracker.requests.cli import requests_cli
from tracker.search.cli import search_command
from tracker.series.cli import series_cli


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed)
    app.cli.add_command(users)
    app.cli.add_command(serve)
    app.cli.add_command(worker)
    app.cli.add_command(letters)
    app.cli.add_command(requests_cli)
    app.cli.add_command(search_command)
    app.cli.add_command(series_cli)
    app.cli.add_command(backup)
    app.cli.add_command(restore)
    deadline_commands.register(app)
    document_commands.register(app)
    mail_commands.register(app)
    publishing_commands.register(app)


@click.command()
@with_appcontext
def seed() -> None:
    """Load the shipped agencies (edited ones are kept) and bring deadlines up to date."""
    from tracker.agencies.services import seed_agencies
    from tracker.deadlines.services import refresh_all

    result = seed_agencies()
    db.session.commit()
    click.echo(
        f"Agencies: {result.created} added, {result.updated} updated, "
        f"{result.kept} kept as edited here."
    )
    # The law data or the holiday rules may have changed with this version.
    changed = refresh_all(db.session())
    db.session.commit()
    click.echo(f"Deadlines: {changed} open requests had a due date to update.")


@click.group()
def users() -> None:
    """Manage accounts."""


@users.command("create")
@click.option("--email", required=True, help="The address they sign in with.")
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", default="", help="Their name as the tracker shows it.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
def create_user_command(email: str, role: str, name: str, password_stdin: bool) -> None:
    """Add an account. Asks for the password unless --password-stdin."""
    from tracker.auth.services import AccountError, create_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_user(email, name or email, Role(role), password)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"Created {user.email} ({user.role.value}).")


@users.command("list")
@with_appcontext
def list_users_command() -> None:
    """List every account, active or not."""
    for user in db.session.scalars(db.select(User).order_by(User.email)):
        state = "active" if user.active else "deactivated"
        click.echo(f"{user.email}\t{user.role.value}\t{state}\t{user.name}")


@click.command()
@click.option(
    "--workers", type=int, default=lambda: int(os.environ.get("TRACKER_JOB_WORKERS", "2"))
)
@click.option(
    "--worker-type", type=click.Choice(["thread", "process"]), default="thread", show_default=True
)
@with_appcontext
def worker(workers: int, worker_type: str) -> None:
    """Run the jobs: documents' text and OCR, and the daily reminders. Stop with SIGTERM."""
    from tracker.tasks import run_consumer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        run_consumer(workers, worker_type)
    except RuntimeError as error:
        raise click.ClickException(str(error)) from None


def start_worker() -> subprocess.Popen[bytes]:
    """``tracker worker`` beside the web server, in a session of its own: the server stops it."""
    return subprocess.Popen(  # noqa: S603  (this Python running this package)
        [sys.executable, "-m", "tracker", "worker"], start_new_session=True
    )


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM lets its jobs finish (30 s at most); after that it is killed."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=45)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@click.command()
@click.option("--host", default=lambda: os.environ.get("TRACKER_HOST", "127.0.0.1"))
@click.option("--port", type=int, default=lambda: int(os.environ.get("PORT", "5000")))
@click.option("--workers", type=int, default=lambda: int(os.environ.get("TRACKER_WORKERS", "2")))
@click.option(
    "--with-worker/--without-worker",
    default=lambda: (
        os.environ.get("TRACKER_SERVE_WORKER", "1").strip().lower()
        not in ("0", "false", "no", "off")
    ),
    help="Start `tracker worker` too (the default), or leave the jobs to one run apart.",
)
def serve(host: str, port: int, workers: int, with_worker: bool) -> None:
    """Serve the tracker with gunicorn, and run its jobs beside it."""
    from gunicorn.app.base import BaseApplication

    from tracker import create_app

    create_app()  # fails here, once, on a bad configuration; and makes the secret key
    job_worker: list[subprocess.Popen[bytes]] = []

    # gunicorn's arbiter calls these; its forked web workers never do.
    def when_ready(server: Any) -> None:
        if with_worker:
            job_worker.append(start_worker())

    def on_exit(server: Any) -> None:
        for process in job_worker:
            stop_worker(process)

    class Server(BaseApplication):
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "worker_class": "gthread",
                "threads": 4,
                "accesslog": "-",
                # The worker's heartbeat: under gthread it does not bound how slowly a
                # body may arrive. tracker.limits does (TRACKER_BODY_TIMEOUT), answering 408.
                "timeout": 120,
                # No control socket in the home folder: `tracker serve` is stopped by signal.
                "control_socket_disable": True,
                "when_ready": when_ready,
                "on_exit": on_exit,
            }
            for key, value in options.items():
                if key in self.cfg.settings:
                    self.cfg.set(key, value)

        def load(self) -> Flask:
            return create_app()

    click.echo(f"Records Tracker on http://{host}:{port}")
    Server().run()


def _create_app() -> Flask:
    from tracker import create_app

    return create_app()


cli = FlaskGroup(
    name="tracker",
    create_app=_create_app,
    add_version_option=False,
    load_dotenv=False,
    help="Records Tracker: run the app and look after its data.",
)


def main() -> None:
    try:
        cli.main(prog_name="tracker")
    except (OperationalError, ArgumentError) as error:
        message = str(error.orig if isinstance(error, OperationalError) else error)
        click.echo(f"Error: the database could not be used: {message.splitlines()[0]}", err=True)
        sys.exit(1)

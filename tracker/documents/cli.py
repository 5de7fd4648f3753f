"""``tracker doctor`` checks the archive's files; ``tracker documents import`` adds many."""

import hashlib
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

import click
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from tracker.auth.models import Role, User
from tracker.auth.services import find_user
from tracker.documents.models import Document
from tracker.documents.services import staging_folder, storage, store_files
from tracker.documents.storage import CHUNK, LocalStorage, Storage
from tracker.extensions import db
from tracker.mail.models import Correspondence
from tracker.requests.models import RecordsRequest
from tracker.requests.services import find_by_reference

# A file stored this recently may belong to an upload whose row is not committed yet.
ORPHAN_AGE = timedelta(hours=1)
STORE_ERRORS = (OSError, BotoCoreError, ClientError)


def register(app: Flask) -> None:
    app.cli.add_command(doctor)
    app.cli.add_command(documents_cli)


def fail(message: str, code: int = 2) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass
class Checkup:
    checked: int = 0
    missing: int = 0
    corrupted: int = 0
    orphans: list[str] = field(default_factory=list)
    recent: int = 0
    leftovers: list[Path] = field(default_factory=list)
    receiving: int = 0


def digest_of(backend: Storage, key: str) -> tuple[int, str]:
    """Size and SHA-256 of a stored file, read in chunks."""
    digest = hashlib.sha256()
    size = 0
    with backend.open(key) as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


def stored_at(backend: Storage, key: str) -> datetime | None:
    if isinstance(backend, LocalStorage):
        try:
            return datetime.fromtimestamp(backend.path(key).stat().st_mtime, UTC)
        except (OSError, KeyError):
            return None
    modified_at = getattr(backend, "modified_at", None)
    return modified_at(key) if modified_at is not None else None


def check_documents(backend: Storage, checkup: Checkup) -> None:
    rows = db.session.execute(
        select(
            Document.id, Document.storage_key, Document.size, Document.sha256,
            Document.original_filename, RecordsRequest.reference,
        )
        .join(RecordsRequest, RecordsRequest.id == Document.request_id)
        .where(Document.deleted_at.is_(None))
        .order_by(Document.id)
    )  # fmt: skip
    for document_id, key, size, sha256, filename, reference in rows:
        checkup.checked += 1
        where = f"{reference} “{filename}” (document {document_id}, key {key})"
        try:
            found_size, found_sha256 = digest_of(backend, key)
        except (FileNotFoundError, KeyError):
            checkup.missing += 1
            click.echo(f"missing: {where}")
            continue
        if found_size != size:
            checkup.corrupted += 1
            click.echo(f"corrupted: {where}: {found_size:,} bytes where {size:,} were stored")
        elif found_sha256 != sha256:
            checkup.corrupted += 1
            click.echo(f"corrupted: {where}: its SHA-256 does not match")


def find_orphans(backend: Storage, checkup: Checkup) -> None:
    # Listed before the rows are read, so a row committed meanwhile is seen.
    listed = [
        key for key in backend.keys() if not any(part.startswith(".") for part in key.split("/"))
    ]
    known = set(db.session.scalars(select(Document.storage_key)))
    # The raw emails are kept in the same storage, under keys of the same kind.
    known |= set(db.session.scalars(select(Correspondence.raw_storage_key)))
    cutoff = datetime.now(UTC) - ORPHAN_AGE
    for key in listed:
        if key in known:
            continue
        when = stored_at(backend, key)
        if when is None:
            continue
        if when > cutoff:
            checkup.recent += 1
        else:
            checkup.orphans.append(key)


def find_leftovers(folder: Path, checkup: Checkup) -> None:
    """Files an upload was received into and never stored: a crash leaves them behind."""
    cutoff = (datetime.now(UTC) - ORPHAN_AGE).timestamp()
    if not folder.is_dir():
        return
    for path in sorted(folder.iterdir()):
        try:
            modified = path.lstat().st_mtime
        except FileNotFoundError:
            continue  # stored or discarded meanwhile
        if modified > cutoff:
            checkup.receiving += 1
        else:
            checkup.leftovers.append(path)


def size_of(path: Path) -> int:
    try:
        return path.lstat().st_size
    except FileNotFoundError:
        return 0


@click.command()
@click.option(
    "--repair",
    is_flag=True,
    help="Remove orphans (stored files no document uses) and uploads a crash left half-received.",
)
@with_appcontext
def doctor(repair: bool) -> None:
    """Check every document's file against its size and SHA-256, and look for orphans.

    Also lists uploads left half-received in the staging folder by a crash.
    Exits 1 when a file is missing or corrupted, or an orphan or leftover is left.
    """
    backend = storage()
    checkup = Checkup()
    try:
        check_documents(backend, checkup)
        find_orphans(backend, checkup)
        for key in checkup.orphans:
            if repair:
                backend.delete(key)
                click.echo(f"removed orphan: {key}")
            else:
                click.echo(f"orphan: {key} (no document uses it)")
    except STORE_ERRORS as error:
        fail(f"the document store could not be read: {error}")
    folder = staging_folder()
    find_leftovers(folder, checkup)
    for path in checkup.leftovers:
        where = f"{path.relative_to(folder.parent)} ({size_of(path):,} bytes)"
        if repair:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            click.echo(f"removed upload leftover: {where}")
        else:
            click.echo(f"upload leftover: {where} (an upload that was never stored)")

    if checkup.recent:
        click.echo(
            f"Not counted: {plural(checkup.recent, 'file')} stored in the last hour that no "
            "document uses yet; an upload may still be saving them."
        )
    if checkup.receiving:
        click.echo(
            f"Not counted: {plural(checkup.receiving, 'file')} in {folder.name} from the last "
            "hour; an upload may still be receiving them."
        )
    orphans = plural(len(checkup.orphans), "orphan")
    if checkup.orphans and repair:
        orphans += " removed"
    leftovers = plural(len(checkup.leftovers), "upload leftover")
    if checkup.leftovers and repair:
        leftovers += " removed"
    click.echo(
        f"Checked {plural(checkup.checked, 'document')}: {checkup.missing} missing, "
        f"{checkup.corrupted} corrupted; {orphans}; {leftovers}."
    )
    left = checkup.orphans or checkup.leftovers
    if checkup.missing or checkup.corrupted or (left and not repair):
        raise click.exceptions.Exit(1)


@click.group("documents")
def documents_cli() -> None:
    """A request's documents."""


def files_in(paths: Iterable[Path]) -> list[Path]:
    """Each file given, and every file under each folder given, in order; hidden ones skipped."""
    files: list[Path] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        files += sorted(
            item
            for item in path.rglob("*")
            if item.is_file()
            and not any(part.startswith(".") for part in item.relative_to(path).parts)
        )
    return files


@documents_cli.command("import")
@click.argument("reference")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--as", "as_email", metavar="EMAIL", help="The account recorded as uploader.")
@with_appcontext
def import_command(reference: str, paths: tuple[Path, ...], as_email: str | None) -> None:
    """Add files, or every file in folders, to the documents of request REFERENCE.

    Each file is kept as soon as it is stored; files the request already has are
    skipped, and files of a kind the archive does not take are listed.
    """
    actor: User | None = None
    if as_email:
        actor = find_user(as_email)
        if actor is None or not actor.active or actor.role == Role.VIEWER:
            fail(f"--as {as_email}: no active account that may add documents.")
    request = find_by_reference(reference.strip().upper())
    if request is None:
        fail(f"no request {reference}.")
    request_id = request.id
    deleted = set(
        db.session.scalars(
            select(Document.sha256).where(
                Document.request_id == request_id, Document.deleted_at.is_not(None)
            )
        )
    )

    stored = already = 0
    notes: list[str] = []
    refused: list[str] = []
    stopped: str | None = None
    files = files_in(paths)
    with click.progressbar(files, label=f"Adding to {request.reference}", file=sys.stderr) as bar:
        for path in bar:
            try:
                handle = path.open("rb")
            except OSError as error:
                refused.append(f"{path}: It cannot be read: {error.strerror or error}.")
                continue
            try:
                with handle:
                    result = store_files(request, [(path.name, handle)], actor)
                db.session.commit()
            except Exception as error:
                db.session.rollback()
                stopped = f"stopped at {path}: {error}"
                break
            stored += len(result.stored)
            already += len(result.linked)
            for document in result.linked:
                if document.sha256 in deleted:
                    deleted.discard(document.sha256)
                    notes.append(f"{path}: restored (it had been deleted).")
            refused += [f"{path}: {reason}" for _, reason in result.refused]

    for line in notes:
        click.echo(line)
    for line in refused:
        click.echo(line, err=True)
    click.echo(f"{stored} stored, {already} already there, {len(refused)} refused")
    if stopped:
        fail(stopped, 1)
    if refused:
        raise click.exceptions.Exit(1)

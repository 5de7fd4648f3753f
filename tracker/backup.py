"""``tracker backup`` and ``tracker restore``: the whole instance in one archive.

An archive (a gzipped tar) holds a consistent copy of the database, every stored
document read through the storage backend, the local letter templates and the
secret key, with ``manifest.json`` giving each entry's size and SHA-256 and each
table's row count. The database is copied first, from one snapshot (SQLite's
online backup, or ``pg_dump`` from an exported snapshot), and the documents are
those that snapshot's rows name: stored files never change once kept, so the
archive is the instance as it was at that moment, while it keeps running.
"""

import glob
import hashlib
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine, Select, func, inspect, literal, select, table, text
from sqlalchemy.engine import URL

from tracker.documents.services import storage
from tracker.documents.storage import CHUNK, Staged, Storage
from tracker.extensions import db

FORMAT = "records-tracker-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATABASE_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
DOCUMENT_ENTRY = re.compile(r"documents/([0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32})")
MANIFEST_LIMIT = 64 * 1024 * 1024


class BackupError(RuntimeError):
    """What stops a backup or a restore, said for the person running it."""


def fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(code)


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def megabytes(size: int) -> str:
    return f"{size:,} bytes" if size < 1024 * 1024 else f"{size / (1024 * 1024):,.1f} MB"


def file_digest(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


def engine_kind(engine: Engine) -> str:
    name = engine.url.get_backend_name()
    if name not in DATABASE_FILES:
        raise BackupError(f"backups work on SQLite and PostgreSQL, not {name}")
    return name


def postgres_program(name: str) -> str:
    """pg_dump or pg_restore: from TRACKER_PG_BINDIR, the PATH, or Debian's folders."""
    folders = [os.environ.get("TRACKER_PG_BINDIR", "")]
    found = shutil.which(name)
    folders += [str(Path(found).parent)] if found else []
    folders += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for folder in folders:
        if folder and (Path(folder) / name).exists():
            return str(Path(folder) / name)
    raise BackupError(
        f"{name} was not found: install PostgreSQL's client programs (Debian's "
        "postgresql-client-15), or set TRACKER_PG_BINDIR to the folder that holds it"
    )


def libpq(url: URL) -> tuple[str, dict[str, str]]:
    """The address for pg_dump and pg_restore, and an environment carrying the password."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def run(command: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)  # noqa: S603
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{Path(command[0]).name} failed: {lines[0] if lines else 'no output'}")


# What one snapshot of the database holds.


@dataclass
class Snapshot:
    tables: dict[str, int]
    # key, size, sha256 of each stored file: the documents' and the raw emails'.
    documents: list[tuple[str, int, str]]
    emails: int = 0


def count_of(name: str) -> Select[Any]:
    return select(func.count()).select_from(table(name))


def count_rows(tables: list[str], count: Any) -> dict[str, int]:
    return {name: int(count(name)) for name in sorted(tables)}


# The stored files the rows name: documents, and the raw emails kept beside them.
DOCUMENT_KEYS = (
    "SELECT storage_key, size, sha256 FROM documents"
    " UNION SELECT raw_storage_key, raw_size, raw_sha256 FROM correspondence ORDER BY 1"
)
EMAIL_COUNT = "SELECT count(*) FROM correspondence"


def copy_sqlite(engine: Engine, target: Path) -> Snapshot:
    """SQLite's online backup into ``target``; readers and writers carry on meanwhile."""
    source_path = engine.url.database
    if not source_path or source_path == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    source = sqlite3.connect(source_path)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        # A copy that needs no -wal file beside it; the tracker turns WAL on again when it opens it.
        copy.execute("PRAGMA journal_mode=DELETE")
        names = [
            row[0]
            for row in copy.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        tables = count_rows(
            names,
            # A name read from the copy's own catalogue, quoted as SQLite quotes identifiers.
            lambda name: copy.execute(
                'SELECT count(*) FROM "{}"'.format(name.replace('"', '""'))  # noqa: S608
            ).fetchone()[0],
        )
        documents = [(str(k), int(s), str(h)) for k, s, h in copy.execute(DOCUMENT_KEYS)]
        emails = int(copy.execute(EMAIL_COUNT).fetchone()[0])
    finally:
        copy.close()
        source.close()
    return Snapshot(tables, documents, emails)


def dump_postgres(engine: Engine, target: Path) -> Snapshot:
    """pg_dump of a snapshot exported from a transaction that also reads the counts and keys."""
    program = postgres_program("pg_dump")
    address, env = libpq(engine.url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot_id = connection.scalar(text("SELECT pg_export_snapshot()"))
            names = inspect(connection).get_table_names()
            tables = count_rows(
                names,
                lambda name: connection.scalar(count_of(name)),
            )
            documents = [
                (str(k), int(s), str(h)) for k, s, h in connection.execute(text(DOCUMENT_KEYS))
            ]
            emails = int(connection.scalar(text(EMAIL_COUNT)) or 0)
            run(
                [program, "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={snapshot_id}", f"--file={target}", f"--dbname={address}"],
                env,
            )  # fmt: skip
    return Snapshot(tables, documents, emails)


# Writing an archive.


@dataclass
class Written:
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    bytes: int = 0

    def add(self, archive: tarfile.TarFile, name: str, path: Path) -> None:
        size, sha256 = file_digest(path)
        info = tarfile.TarInfo(name)
        info.size = size
        info.mode = 0o600
        info.mtime = int(datetime.now(UTC).timestamp())
        with path.open("rb") as handle:
            archive.addfile(info, handle)
        self.entries[name] = {"size": size, "sha256": sha256}
        self.bytes += size


def copy_stored(backend: Storage, key: str, target: Path, bar: Any) -> None:
    with backend.open(key) as source, target.open("wb") as out:
        while chunk := source.read(CHUNK):
            out.write(chunk)
            bar.update(len(chunk))


def letter_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def default_output() -> Path:
    return Path(f"tracker-backup-{datetime.now(UTC).strftime('%Y-%m-%d-%H%M%S')}.tar.gz")


@click.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The archive to write (default: tracker-backup-DATE-TIME.tar.gz here).",
)
@with_appcontext
def backup(output: Path | None) -> None:
    """Write the database, every document, local letter templates and the secret key to one file.

    The tracker may keep running: the database is copied from one moment, and the
    documents are those its rows name.
    """
    output = output or default_output()
    instance = Path(current_app.instance_path)
    backend = storage()
    try:
        kind = engine_kind(db.engine)
    except BackupError as error:
        fail(str(error))
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, partial_name = tempfile.mkstemp(dir=output.parent, prefix=f".{output.name}.")
    partial = Path(partial_name)
    missing: list[str] = []
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            tempfile.TemporaryDirectory(prefix="tracker-backup-") as work_name,
            tarfile.open(fileobj=raw, mode="w:gz", compresslevel=6) as archive,
        ):
            work = Path(work_name)
            written = Written()
            database_file = work / DATABASE_FILES[kind]
            click.echo("Copying the database…", err=True)
            copy = copy_sqlite if kind == "sqlite" else dump_postgres
            snapshot = copy(db.engine, database_file)
            written.add(archive, DATABASE_FILES[kind], database_file)
            database_file.unlink()

            total = sum(size for _, size, _ in snapshot.documents)
            with click.progressbar(
                length=total, label="Backing up documents", file=sys.stderr, show_pos=True
            ) as bar:
                for key, _, _ in snapshot.documents:
                    copied = work / "document"
                    try:
                        copy_stored(backend, key, copied, bar)
                    except (FileNotFoundError, KeyError):
                        missing.append(key)
                        continue
                    written.add(archive, f"documents/{key}", copied)
                    copied.unlink()

            letters = instance / "letters"
            for path in letter_files(letters):
                written.add(archive, "letters/" + "/".join(path.relative_to(letters).parts), path)
            key_file = work / "secret_key"
            key_file.write_text(str(current_app.config["SECRET_KEY"]).strip() + "\n")
            written.add(archive, "secret_key", key_file)

            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "database": {"engine": kind, "file": DATABASE_FILES[kind]},
                "tables": snapshot.tables,
                "documents": sorted({key for key, _, _ in snapshot.documents} - set(missing)),
                "missing": missing,
                "files": written.entries,
            }
            data = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size = len(data)
            info.mode = 0o600
            info.mtime = int(datetime.now(UTC).timestamp())
            archive.addfile(info, io.BytesIO(data))
        partial.chmod(0o600)  # it holds the secret key
        os.replace(partial, output)
    except BackupError as error:
        partial.unlink(missing_ok=True)
        fail(str(error))
    except BaseException:
        partial.unlink(missing_ok=True)
        raise

    rows = sum(snapshot.tables.values())
    documents = len(snapshot.documents) - snapshot.emails - len(missing)
    emails = f"{plural(snapshot.emails, 'email')}, " if snapshot.emails else ""
    templates = len(letter_files(letters))
    for key in missing:
        click.echo(f"missing from storage, not backed up: {key}", err=True)
    click.echo(
        f"Backed up {plural(rows, 'row')} in {plural(len(snapshot.tables), 'table')}, "
        f"{plural(documents, 'document')}, {emails}{plural(templates, 'letter template')} and the "
        f"secret key: {plural(len(written.entries), 'file')}, {megabytes(written.bytes)}, "
        f"to {output} ({megabytes(output.stat().st_size)})."
    )
    if missing:
        fail(f"{plural(len(missing), 'document')} had no file in storage; run tracker doctor.")


# Reading an archive back.


@dataclass
class Unpacked:
    folder: Path
    manifest: dict[str, Any]


def entry_allowed(name: str) -> bool:
    if name in (MANIFEST, "secret_key") or name in DATABASE_FILES.values():
        return True
    if DOCUMENT_ENTRY.fullmatch(name):
        return True
    parts = name.split("/")
    return (
        len(parts) > 1
        and parts[0] == "letters"
        and all(part and not part.startswith(".") for part in parts[1:])
    )


def unpack(archive_path: Path, folder: Path) -> Unpacked:
    """Every entry into ``folder``, checked against the manifest; a list of problems if not."""
    problems: list[str] = []
    found: dict[str, tuple[int, str]] = {}
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive_path, mode="r:*") as archive:
            for member in archive:
                name = member.name
                if member.isdir():
                    continue  # an archive packed again by hand may list its folders
                if not member.isfile() or not entry_allowed(name):
                    problems.append(f"{name}: not something a tracker backup holds")
                    continue
                source = archive.extractfile(member)
                if source is None:
                    continue
                if name == MANIFEST:
                    raw = source.read(MANIFEST_LIMIT)
                    try:
                        manifest = json.loads(raw)
                    except ValueError:
                        problems.append(f"{MANIFEST}: it is not readable JSON")
                    continue
                target = folder / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest = hashlib.sha256()
                size = 0
                with source, target.open("wb") as out:
                    while chunk := source.read(CHUNK):
                        size += len(chunk)
                        digest.update(chunk)
                        out.write(chunk)
                found[name] = (size, digest.hexdigest())
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        problems.append(f"the archive cannot be read to its end ({error}); it may be cut short")

    if manifest is None:
        if not any(MANIFEST in problem for problem in problems):
            problems.append(f"{MANIFEST} is missing: this is not a complete tracker backup")
        raise BackupError(damaged(archive_path, problems))
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != FORMAT
        or not isinstance(manifest.get("files"), dict)
    ):
        raise BackupError(damaged(archive_path, [*problems, f"{MANIFEST}: not a tracker backup"]))
    if manifest.get("version") != VERSION:
        problems.append(f"it is version {manifest.get('version')} of the format; this reads 1")

    listed: dict[str, Any] = manifest["files"]
    for name, expected in sorted(listed.items()):
        if name not in found:
            problems.append(f"{name}: listed in the manifest but not in the archive")
            continue
        size, sha256 = found[name]
        if size != expected.get("size"):
            problems.append(f"{name}: {size:,} bytes where the manifest says {expected['size']:,}")
        elif sha256 != expected.get("sha256"):
            problems.append(f"{name}: its SHA-256 does not match the manifest")
    for name in sorted(set(found) - set(listed)):
        problems.append(f"{name}: in the archive but not in the manifest")
    database = manifest.get("database", {})
    if database.get("file") not in listed:
        problems.append("the database copy is missing")
    if problems:
        raise BackupError(damaged(archive_path, problems))
    return Unpacked(folder, manifest)


def damaged(archive_path: Path, problems: list[str]) -> str:
    listed = "\n".join(f"  {problem}" for problem in problems)
    return f"{archive_path} is damaged; nothing was restored:\n{listed}"


# Restoring.


def rows_in_use(engine: Engine) -> list[str]:
    """The tracker's tables that hold a row (the migration bookkeeping aside)."""
    present = set(inspect(engine).get_table_names())
    busy = []
    with engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            if table.name in present:
                if connection.execute(select(literal(1)).select_from(table).limit(1)).first():
                    busy.append(table.name)
    return sorted(busy)


def refuse_unless_empty(backend: Storage, instance: Path) -> None:
    reasons = []
    busy = rows_in_use(db.engine)
    if busy:
        shown = ", ".join(busy[:6]) + (f" and {len(busy) - 6} more" if len(busy) > 6 else "")
        reasons.append(f"its database has rows (in {shown})")
    stored = sum(1 for _ in backend.keys())
    if stored:
        reasons.append(f"it stores {plural(stored, 'document file')}")
    templates = letter_files(instance / "letters")
    if templates:
        reasons.append(f"it has {plural(len(templates), 'local letter template')}")
    if reasons:
        raise BackupError(
            f"this instance is not empty: {'; '.join(reasons)}. Restore only into a new "
            "instance, with an empty database (see the README's Backups section); nothing "
            "was changed."
        )


def restore_sqlite(engine: Engine, copy: Path) -> None:
    target = engine.url.database
    if not target or target == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be restored into")
    db.session.remove()
    engine.dispose()
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A -wal or -shm file left beside the old file would be applied to the restored one.
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.replace(copy, path)


def restore_postgres(engine: Engine, dump: Path) -> None:
    program = postgres_program("pg_restore")
    address, env = libpq(engine.url)
    db.session.remove()
    engine.dispose()
    # --clean drops the empty tables `tracker db upgrade` may have made first.
    run(
        [program, "--no-owner", "--no-privileges", "--clean", "--if-exists",
         "--single-transaction", "--exit-on-error", f"--dbname={address}", str(dump)],
        env,
    )  # fmt: skip


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        names = inspect(connection).get_table_names()
        if engine.url.get_backend_name() == "sqlite":
            names = [
                row[0]
                for row in connection.execute(
                    text(
                        "SELECT name FROM sqlite_master WHERE type = 'table' "
                        "AND name NOT LIKE 'sqlite_%'"
                    )
                )
            ]
        return count_rows(names, lambda name: connection.scalar(count_of(name)))


@contextmanager
def work_folder(instance: Path) -> Iterator[Path]:
    """Inside the instance folder, so that files move into place without a copy."""
    instance.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=instance, prefix=".restore-") as name:
        yield Path(name)


@click.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def restore(archive: Path) -> None:
    """Restore a backup from ARCHIVE into this new, empty instance.

    The archive is checked against its manifest first; a damaged one, or an instance
    that already holds data, is refused and nothing is changed. Stop the tracker first.
    """
    instance = Path(current_app.instance_path)
    backend = storage()
    try:
        kind = engine_kind(db.engine)
        with work_folder(instance) as folder:
            click.echo(f"Checking {archive}…", err=True)
            unpacked = unpack(archive, folder)
            manifest = unpacked.manifest
            held = manifest["database"]["engine"]
            if held != kind:
                raise BackupError(
                    f"the archive holds a {held} database and this instance uses {kind}; "
                    f"point TRACKER_DATABASE_URL at an empty {held} database"
                )
            refuse_unless_empty(backend, instance)
            restored = restore_into(backend, instance, unpacked)
    except BackupError as error:
        fail(str(error))

    expected: dict[str, int] = manifest["tables"]
    counts = table_counts(db.engine)
    wrong = [
        f"{name}: {counts.get(name, 0):,} rows where the backup had {rows:,}"
        for name, rows in sorted(expected.items())
        if counts.get(name, 0) != rows
    ]
    if wrong:
        fail("the restored database does not match the backup:\n  " + "\n  ".join(wrong))
    rows = sum(expected.values())
    click.echo(
        f"Restored {plural(rows, 'row')} in {plural(len(expected), 'table')}, "
        f"{plural(restored.documents, 'document')}, "
        f"{plural(restored.templates, 'letter template')} and the secret key: "
        f"{plural(restored.files, 'file')}, {megabytes(restored.bytes)}. "
        "Run tracker doctor to check every document."
    )


@dataclass
class Restored:
    documents: int = 0
    templates: int = 0
    files: int = 0
    bytes: int = 0


def restore_into(backend: Storage, instance: Path, unpacked: Unpacked) -> Restored:
    manifest = unpacked.manifest
    folder = unpacked.folder
    files: dict[str, dict[str, Any]] = manifest["files"]
    done = Restored(files=len(files), bytes=sum(int(e["size"]) for e in files.values()))
    database = folder / manifest["database"]["file"]
    if manifest["database"]["engine"] == "sqlite":
        restore_sqlite(db.engine, database)
    else:
        restore_postgres(db.engine, database)

    documents = sorted(name for name in files if DOCUMENT_ENTRY.fullmatch(name))
    with click.progressbar(
        documents, label="Restoring documents", file=sys.stderr, show_pos=True
    ) as bar:
        for name in bar:
            path = folder / name
            entry = files[name]
            backend.put_at(
                name.removeprefix("documents/"),
                Staged(path=path, size=int(entry["size"]), sha256=str(entry["sha256"]), head=b""),
            )
            path.unlink(missing_ok=True)
            done.documents += 1

    letters = instance / "letters"
    for name in sorted(files):
        if name.startswith("letters/"):
            target = letters.joinpath(*name.split("/")[1:])
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(folder / name, target)
            done.templates += 1

    if "secret_key" in files:
        key_file = instance / "secret_key"
        os.replace(folder / "secret_key", key_file)
        key_file.chmod(0o600)
    return done

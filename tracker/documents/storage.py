"""Where document bytes live: a small interface with a local-disk backend.

Keys are generated, never taken from a filename. Writes go to a temporary
file first and are renamed into place whole, so a key either holds a complete
file or does not exist.
"""

import hashlib
import io
import os
import secrets
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

CHUNK = 1024 * 1024
# What is kept of a file's first bytes, to tell its type by.
HEAD = 8192


class TooLarge(ValueError):
    """The upload passed the size cap; nothing was kept."""


@dataclass(frozen=True)
class Staged:
    """A file received in full into a temporary place, with its size and digest."""

    path: Path
    size: int
    sha256: str
    head: bytes

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


class Storage(Protocol):
    name: str

    def put(self, staged: Staged) -> str:
        """Store a staged file whole under a new key and return the key."""

    def put_at(self, key: str, staged: Staged) -> None:
        """Store a staged file whole under a key given (a restore keeps the keys it had)."""

    def open(self, key: str) -> BinaryIO: ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def keys(self) -> Iterator[str]: ...


def new_key() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


def stage(stream: IO[bytes], folder: Path, limit: int) -> Staged:
    """Copy a stream to a temporary file in chunks, hashing on the way; flat memory.

    A file of a form already received into ``folder`` (a ``Receiving``) is taken as
    it is: no second copy.
    """
    if isinstance(stream, Receiving) and stream.path.parent == folder:
        received = stream.take(limit)
        if received is not None:
            return received
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    head = b""
    fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-")
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise TooLarge(too_large(limit))
                if len(head) < HEAD:
                    head += chunk[: HEAD - len(head)]
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Staged(path=path, size=size, sha256=digest.hexdigest(), head=head)


def too_large(limit: int) -> str:
    return f"larger than the {limit // (1024 * 1024)} MB limit"


class Receiving(io.FileIO):
    """A file of a form, written into the staging folder as the form is read.

    Hashed on the way, so that ``stage`` takes it whole without copying it again.
    Keeps one byte more than ``cap`` and drops the rest: a file over the limit is
    still refused by name without its whole size landing on disk. Closed (at the
    end of the request) before it was taken, it is removed.
    """

    def __init__(self, folder: Path, cap: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".upload-")
        super().__init__(fd, "r+", closefd=True)
        self.path = Path(name)
        self.room = cap + 1
        self.size = 0
        self.digest = hashlib.sha256()
        self.head = b""
        self.taken = False

    def write(self, data: Any) -> int:
        given = len(data)
        if self.room <= 0:
            return given
        kept = memoryview(data)[: self.room]
        self.room -= len(kept)
        self.size += len(kept)
        self.digest.update(kept)
        if len(self.head) < HEAD:
            self.head += bytes(kept[: HEAD - len(self.head)])
        while kept:
            kept = kept[super().write(kept) or 0 :]
        return given

    def take(self, limit: int) -> Staged | None:
        """The file as received, for ``stage``; None when it was taken before."""
        if self.taken or self.closed:
            return None
        if self.room <= 0 or self.size > limit:
            self.close()
            raise TooLarge(too_large(limit))
        self.taken = True
        return Staged(
            path=self.path, size=self.size, sha256=self.digest.hexdigest(), head=self.head
        )

    def close(self) -> None:
        try:
            super().close()
        finally:
            if not self.taken:
                self.path.unlink(missing_ok=True)


class LocalStorage:
    """Files under a folder of the instance, at paths made from their keys."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        parts = key.split("/")
        if len(parts) != 3 or not all(p.isalnum() for p in parts):
            raise KeyError(key)
        return self.root.joinpath(*parts)

    def put(self, staged: Staged) -> str:
        key = new_key()
        self.put_at(key, staged)
        return key

    def put_at(self, key: str, staged: Staged) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged.path, target)

    def open(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def keys(self) -> Iterator[str]:
        for path in sorted(self.root.glob("*/*/*")):
            if path.is_file() and not path.name.startswith("."):
                yield "/".join(path.relative_to(self.root).parts)

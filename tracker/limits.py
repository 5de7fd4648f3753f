"""How much a request may send, and how slowly.

Every form is held to ``MAX_CONTENT_LENGTH`` (1 MB), and a form sent by someone
not signed in to ``PUBLIC_FORM_BYTES``; only the views marked ``accepts_uploads``
take up to ``MAX_UPLOAD_REQUEST_MB``, and only once the sender has been found
allowed to use them. A body must also arrive in time: ``BODY_TIMEOUT`` seconds,
plus what its size takes at ``BODY_MIN_RATE_KB``. Past that the tracker answers
408 and stops reading, so a client trickling a body cannot hold a server thread.
"""

import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any, TypeVar

from flask import current_app, request
from werkzeug.exceptions import RequestTimeout

MB = 1024 * 1024
# The sign-in, setup, invitation and reset forms are a few hundred bytes.
PUBLIC_FORM_BYTES = 64 * 1024
# Small files stay in memory while a form is read; larger ones go to a temporary file.
SPOOL_BYTES = 512 * 1024
# What a form parser asks of the body at a time.
STEP = 64 * 1024
# What is asked of the server at a time while a body of known length has this much left.
READ_AHEAD = 1024 * 1024

F = TypeVar("F", bound=Callable[..., Any])


def accepts_uploads(
    file_bytes: int | None = None, request_bytes: int | None = None
) -> Callable[[F], F]:
    """Mark a view that takes files: its requests may be as large as an upload.

    Each file is held to ``file_bytes`` and the whole request to ``request_bytes``;
    by default to the upload settings.
    """

    def mark(view: F) -> F:
        view.upload_limits = (file_bytes, request_bytes)  # type: ignore[attr-defined]
        return view

    return mark


def upload_limits() -> tuple[int, int] | None:
    """What one file and the whole request may hold here; None for a view without files."""
    view = current_app.view_functions.get(request.endpoint or "")
    limits = getattr(view, "upload_limits", None)
    if limits is None:
        return None
    file_bytes, request_bytes = limits
    return (file_bytes or file_limit(), request_bytes or upload_request_limit())


def file_limit() -> int:
    """The most one uploaded file may hold (``TRACKER_MAX_UPLOAD_MB``)."""
    return int(float(current_app.config.get("MAX_UPLOAD_MB", 500)) * MB)


def upload_request_limit() -> int:
    """The most a whole upload of several files may hold (``TRACKER_MAX_UPLOAD_REQUEST_MB``).

    Four files at the largest size by default.
    """
    setting = current_app.config.get("MAX_UPLOAD_REQUEST_MB")
    if setting is None:
        return 4 * file_limit()
    return int(float(setting) * MB)


class CappedSpool(tempfile.SpooledTemporaryFile):
    """Where a file of a form is written while the form is read.

    Keeps one byte more than a file may hold and drops the rest, so a file over
    the limit is still refused by name without its whole size landing on disk.
    """

    def __init__(self, cap: int) -> None:
        super().__init__(max_size=SPOOL_BYTES, mode="w+b")
        self.room = cap + 1

    def write(self, data: Any) -> int:
        size = len(data)
        if self.room > 0:
            kept = bytes(data[: self.room])
            self.room -= len(kept)
            super().write(kept)
        return size


def file_stream() -> IO[bytes]:
    """A file of a form: a view without files keeps nothing of it; an upload view writes it
    straight into the staging folder, hashed on the way, for ``stage`` to take whole."""
    limits = upload_limits()
    if limits is None:
        return CappedSpool(0)
    from tracker.documents.services import staging_folder
    from tracker.documents.storage import Receiving

    return Receiving(staging_folder(), limits[0])


class Deadlines:
    """One thread per process that cuts off bodies still arriving past their deadline."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.bodies: set[DeadlineInput] = set()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def add(self, body: "DeadlineInput") -> None:
        with self.lock:
            self.bodies.add(body)
            if self.thread is None or not self.thread.is_alive():
                # Started on first use, in the process that serves: not before a fork.
                self.thread = threading.Thread(target=self.watch, name="body-deadlines")
                self.thread.daemon = True
                self.thread.start()

    def discard(self, body: "DeadlineInput") -> None:
        with self.lock:
            self.bodies.discard(body)

    def watch(self) -> None:
        while True:
            time.sleep(self.interval)
            now = time.monotonic()
            with self.lock:
                late = [body for body in self.bodies if body.deadline() <= now]
                for body in late:
                    self.bodies.discard(body)
            for body in late:
                body.cut_off()


DEADLINES = Deadlines()


class DeadlineInput:
    """``wsgi.input`` that must be read to its end before a deadline.

    The deadline is ``grace`` seconds after the request arrived plus the time its
    size (as announced, or as read so far when sent in chunks) takes at
    ``min_rate`` bytes a second; and no more than ``grace`` seconds plus the time
    of one read (``STEP``, or the larger piece asked of a body arriving fast: see
    ``read``) may pass without a read coming back, so a body that stops arriving is
    dropped soon whatever size it announced. Past either a
    read raises 408; a read blocked on a client that sends nothing more is woken
    by shutting the socket for reading.
    """

    def __init__(
        self,
        stream: Any,
        sock: socket.socket | None,
        length: int | None,
        grace: float,
        min_rate: float,
    ) -> None:
        self.stream = stream
        self.sock = sock
        self.length = length or 0
        self.grace = grace
        self.min_rate = min_rate
        self.start = self.progress = time.monotonic()
        self.received = 0
        self.expired = False
        # Read past what was asked for, not yet handed on (see ``read``).
        self.ahead = b""
        self.offset = 0
        self.asked = STEP

    def deadline(self) -> float:
        whole = self.start + self.grace + max(self.length, self.received) / self.min_rate
        return min(whole, self.progress + self.grace + self.asked / self.min_rate)

    def cut_off(self) -> None:
        self.expired = True
        if self.sock is not None:
            try:
                # The socket's own method: the reading side only, also under TLS.
                socket.socket.shutdown(self.sock, socket.SHUT_RD)
            except OSError:
                pass

    def too_slow(self) -> RequestTimeout:
        self.expired = True
        # The server must not read on to find the next request: close the connection.
        if hasattr(self.stream, "failed"):
            self.stream.failed = True
        return RequestTimeout()

    def check(self) -> None:
        if self.expired or time.monotonic() > self.deadline():
            raise self.too_slow()

    def got(self, data: bytes) -> bytes:
        self.received += len(data)
        self.progress = time.monotonic()
        if self.expired:
            raise self.too_slow()
        return data

    def read(self, size: int | None = -1) -> bytes:
        if self.ahead:
            return self.from_ahead(size)
        self.check()
        want = size
        left = self.length - self.received
        if size is not None and 0 < size < READ_AHEAD and left > size and self.arriving_fast():
            # gunicorn copies what it received past a small read again on every read: a
            # large body arriving fast is asked for in large pieces, handed on as asked.
            want = min(READ_AHEAD, left)
            self.asked = max(STEP, want)
        try:
            data = self.stream.read(want) if want is not None else self.stream.read()
        except OSError:
            if self.expired:
                raise self.too_slow() from None
            raise
        finally:
            self.asked = STEP
        data = self.got(data)
        if want == size or size is None or len(data) <= size:
            return data
        self.ahead, self.offset = data, size
        return data[:size]

    def arriving_fast(self) -> bool:
        """A megabyte received so far, at a megabyte a second or more."""
        elapsed = time.monotonic() - self.start
        return self.received >= READ_AHEAD and self.received >= READ_AHEAD * elapsed

    def from_ahead(self, size: int | None) -> bytes:
        """What was read ahead, up to ``size`` bytes (all of it and the rest when None or -1)."""
        if size is None or size < 0:
            rest = self.ahead[self.offset :]
            self.ahead = b""
            return rest + self.read(size)
        piece = self.ahead[self.offset : self.offset + size]
        self.offset += len(piece)
        if self.offset >= len(self.ahead):
            self.ahead = b""
        return piece

    def readline(self, size: int | None = -1) -> bytes:
        if self.ahead:
            rest = self.ahead[self.offset :]
            end = rest.find(b"\n") + 1
            if end == 0 and (size is None or size < 0 or len(rest) < size):
                self.ahead = b""
                return rest + self.readline(-1 if size is None or size < 0 else size - len(rest))
            return self.from_ahead(
                min(end or len(rest), len(rest) if size is None or size < 0 else size)
            )
        self.check()
        return self.got(self.stream.readline(size))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self) -> Iterable[bytes]:
        return iter(self.readline, b"")


class BodyDeadline:
    """WSGI middleware: every request body is read through a ``DeadlineInput``."""

    def __init__(self, app: Callable[..., Any], grace: float, min_rate: float) -> None:
        self.app = app
        self.grace = grace
        self.min_rate = min_rate

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        length = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not (chunked or (length.isdigit() and int(length) > 0)):
            return self.app(environ, start_response)
        body = DeadlineInput(
            environ["wsgi.input"],
            environ.get("gunicorn.socket"),
            int(length) if length.isdigit() else None,
            self.grace,
            self.min_rate,
        )
        environ["wsgi.input"] = body
        DEADLINES.add(body)
        try:
            return self.app(environ, start_response)
        finally:
            DEADLINES.discard(body)

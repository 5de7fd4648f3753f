"""Twenty people at once, then hostile clients: what the served tracker keeps, and how fast.

Run with `make bench` (on SQLite, for a minute), or from the repository's folder:

    python -m bench.load [--db postgresql] [--seconds 60]

Starts `tracker serve` (gunicorn, as `make run` does) on a free port with a fresh
instance, on SQLite or on a throwaway PostgreSQL cluster.

First, twenty clients, each with its own session signed in through the sign-in
form, for --seconds: they create requests through the New request form, add
notes through the request page's form, and read request pages, the list, the
"Due & overdue" board and search results. Then the database is read directly:
every request and note a client was told was saved must be there exactly once,
and the reference numbers must run from 1 with no gap and no repeat. Prints the
throughput, the median and 95th percentile time of each operation, the errors
and the lost writes; exits with status 1 if a write was lost or a number is
missing or repeated.

Second, the board's time for one signed-in person, first in quiet and then
while eight anonymous clients, over raw sockets, trickle bodies at 100 KB/s and
send 512 MB bodies (declared, and streamed in chunks) to the sign-in page and to
an upload address. The hostile clients run in a process of their own, so that
they do not share this one's interpreter lock with the person being measured.
Prints the board's median and 95th percentile in each phase, their ratio, and
how the server answered the hostile clients.

The clients run on the same machine as the server: on a small machine the
figures are theirs together, and noisy.
"""

import argparse
import multiprocessing
import multiprocessing.synchronize
import random
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from tests.live import TRACKER, LiveTracker, fresh_database
from tests.postgres import PostgresCluster

CLIENTS = 20
HOSTILE = 8
WORKERS = 2  # what `make run` serves with
PASSWORD = "load benchmark password"
PEOPLE = [
    ("staff1@example.org", "staff", "Staff One"),
    ("staff2@example.org", "staff", "Staff Two"),
    ("advocate1@example.org", "advocate", "Advocate One"),
    ("advocate2@example.org", "advocate", "Advocate Two"),
]
WORDS = [
    "detainer", "transfer", "notification", "booking", "fingerprint", "interview",
    "release", "custody", "warrant", "courthouse", "database", "agreement",
]  # fmt: skip
# How often each client does what, out of 100.
MIX = {"create": 15, "note": 25, "view": 20, "list": 15, "board": 15, "search": 10}
TIMEOUT = 30
BOARD_TIMEOUT = 10
SLOW_RATE = 100 * 1024  # bytes a second
SLOW_SIZE = 10 * 1024 * 1024  # declared: at 100 KB/s it outlasts the phase
OVERSIZE = 512 * 1024 * 1024
BOUNDARY = "----trackerload5b1e"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
AGENCY_RE = re.compile(r'<select[^>]*\bname="agency"[^>]*>(.*?)</select>', re.DOTALL)
CREATED_RE = re.compile(r"/requests/([A-Z]+-\d{4}-\d+)$")


def percentile(times: list[float], fraction: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def reason(error: Exception) -> str:
    """The kind of failure and its innermost cause, e.g. the server closing the connection."""
    message = str(error)
    names = re.findall(r"\b([A-Z]\w*(?:Error|Disconnected|Timeout|Reset))\b", message)
    errno = re.search(r"\[Errno \d+\] [^'\")]+", message)
    cause = errno.group(0) if errno else names[-1] if names else ""
    return f"{type(error).__name__}: {cause}" if cause else type(error).__name__


class Tally:
    """What the clients saw, shared by their threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, Counter[str]] = defaultdict(Counter)
        self.created: list[str] = []
        self.notes: list[tuple[str, str]] = []

    def time(self, operation: str, seconds: float) -> None:
        with self.lock:
            self.times[operation].append(seconds)

    def error(self, operation: str, reason: str) -> None:
        with self.lock:
            self.errors[operation][reason] += 1


class Client:
    """One person in a browser: one session, one request at a time."""

    def __init__(self, base_url: str, email: str, tally: Tally, seed: int, today: date) -> None:
        self.base_url = base_url
        self.email = email
        self.tally = tally
        self.rng = random.Random(seed)
        self.today = today
        self.session = requests.Session()
        self.own: list[str] = []
        self.count = 0

    def call(
        self, operation: str, method: str, path: str, expect: int, **kwargs: Any
    ) -> requests.Response | None:
        started = time.perf_counter()
        try:
            answer = self.session.request(
                method, self.base_url + path, timeout=TIMEOUT, allow_redirects=False, **kwargs
            )
        except requests.RequestException as error:
            self.tally.error(operation, reason(error))
            return None
        elapsed = time.perf_counter() - started
        if answer.status_code != expect:
            self.tally.error(operation, f"HTTP {answer.status_code}")
            return None
        self.tally.time(operation, elapsed)
        return answer

    def token(self, operation: str, answer: requests.Response) -> str | None:
        match = CSRF_RE.search(answer.text)
        if match is None:
            self.tally.error(operation, "no form token on the page")
            return None
        return match.group(1)

    def sign_in(self) -> bool:
        page = self.call("sign-in page", "GET", "/login", 200)
        token = page and self.token("sign in", page)
        if not token:
            return False
        data = {"csrf_token": token, "email": self.email, "password": PASSWORD}
        return self.call("sign in", "POST", "/login", 302, data=data) is not None

    def words(self, n: int) -> str:
        return " ".join(self.rng.sample(WORDS, n))

    def create(self) -> None:
        page = self.call("new request form", "GET", "/requests/new", 200)
        token = page and self.token("create request", page)
        if not page or not token:
            return
        select = AGENCY_RE.search(page.text)
        agencies = re.findall(r'value="(\d+)"', select.group(1)) if select else []
        if not agencies:
            self.tally.error("create request", "no agency to choose")
            return
        self.count += 1
        data = {
            "csrf_token": token,
            "title": f"{self.words(2).capitalize()} records {self.email} {self.count}",
            "agency": self.rng.choice(agencies),
            "records_sought": f"All records of {self.words(3)} since 2024.",
            "status": "draft",
        }
        if self.rng.random() < 0.5:
            # Sent on a day of the last six weeks: some of them are overdue on the board.
            data["status"] = "sent"
            data["sent_on"] = (self.today - timedelta(days=self.rng.randint(0, 42))).isoformat()
        answer = self.call("create request", "POST", "/requests/new", 302, data=data)
        if answer is None:
            return
        created = CREATED_RE.search(answer.headers.get("Location", ""))
        if created is None:
            self.tally.error("create request", "not sent to the new request's page")
            return
        self.own.append(created.group(1))
        with self.tally.lock:
            self.tally.created.append(created.group(1))

    def note(self) -> None:
        if not self.own:
            self.create()
            return
        reference = self.rng.choice(self.own)
        page = self.call("request page", "GET", f"/requests/{reference}", 200)
        token = page and self.token("add note", page)
        if not token:
            return
        note = f"Called the records unit about the {self.words(1)}: {uuid.uuid4().hex}"
        answer = self.call(
            "add note", "POST", f"/requests/{reference}/notes", 302,
            data={"csrf_token": token, "note": note},
        )  # fmt: skip
        if answer is not None:
            with self.tally.lock:
                self.tally.notes.append((reference, note))

    def view(self) -> None:
        with self.tally.lock:
            known = self.tally.created[-200:]
        if not known:
            self.list()
            return
        self.call("request page", "GET", f"/requests/{self.rng.choice(known)}", 200)

    def list(self) -> None:
        self.call("list", "GET", "/requests", 200)

    def board(self) -> None:
        self.call("board", "GET", "/due", 200)

    def search(self) -> None:
        self.call("search", "GET", "/search", 200, params={"q": self.words(1)})

    def run(self, until: float) -> None:
        actions: dict[str, Callable[[], None]] = {
            "create": self.create, "note": self.note, "view": self.view, "list": self.list,
            "board": self.board, "search": self.search,
        }  # fmt: skip
        names, weights = list(MIX), list(MIX.values())
        while time.monotonic() < until:
            actions[self.rng.choices(names, weights)[0]]()


def create_people(live: LiveTracker) -> None:
    for email, role, name in PEOPLE:
        subprocess.run(
            [TRACKER, "users", "create", "--email", email, "--role", role, "--name", name,
             "--password-stdin"],
            env=live.env, input=PASSWORD + "\n", text=True, check=True, capture_output=True,
        )  # fmt: skip


def load_phase(live: LiveTracker, seconds: float, today: date) -> Tally:
    tally = Tally()
    clients = [
        Client(live.base_url, PEOPLE[n % len(PEOPLE)][0], tally, n, today) for n in range(CLIENTS)
    ]
    signed_in = [client for client in clients if client.sign_in()]
    for client in signed_in:
        # The server closes a connection idle for two seconds (keep-alive): one left
        # open while the others sign in could be closed just as it is used again.
        client.session.close()
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=c.run, args=(until,)) for c in signed_in]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"signed in:  {len(signed_in)} of {CLIENTS} clients")
    return tally


def report_load(tally: Tally, seconds: float) -> None:
    total = sum(len(times) for times in tally.times.values())
    print(f"operations: {total} in {seconds:.0f} s = {total / seconds:.1f} a second")
    print(
        f"{'operation':<18} {'done':>6} {'a second':>9} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8}"
    )
    for operation in sorted(set(tally.times) | set(tally.errors)):
        times = tally.times.get(operation, [])
        errors = sum(tally.errors.get(operation, Counter()).values())
        p50 = f"{percentile(times, 0.5) * 1000:8.0f}" if times else f"{'-':>8}"
        p95 = f"{percentile(times, 0.95) * 1000:8.0f}" if times else f"{'-':>8}"
        rate = len(times) / seconds
        print(f"{operation:<18} {len(times):>6} {rate:>9.1f} {errors:>7} {p50} {p95}")
    errors = Counter[str]()
    for operation, reasons in tally.errors.items():
        for reason, n in reasons.items():
            errors[f"{operation}: {reason}"] += n
    print(f"errors:     {sum(errors.values())}")
    for reason, n in errors.most_common():
        print(f"  {n:>6}  {reason}")


def check_database(url: str, tally: Tally) -> bool:
    """Every write a client was told of is stored once; the numbers run without a gap."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                text("SELECT reference, year, number FROM records_requests")
            ).all()
            notes = conn.execute(
                text(
                    "SELECT r.reference, e.note FROM request_events e "
                    "JOIN records_requests r ON r.id = e.request_id WHERE e.kind = 'note'"
                )
            ).all()
    finally:
        engine.dispose()
    references = Counter(row.reference for row in stored)
    stored_notes = Counter((row.reference, row.note) for row in notes)
    lost = [r for r in tally.created if references[r] == 0]
    twice = [r for r in tally.created if references[r] > 1]
    lost_notes = [n for n in tally.notes if stored_notes[n] == 0]
    twice_notes = [n for n in tally.notes if stored_notes[n] > 1]
    unconfirmed = set(references) - set(tally.created)
    print(f"database:   {len(stored)} requests ({len(tally.created)} confirmed to a client), "
          f"{len(notes)} notes ({len(tally.notes)} confirmed)")  # fmt: skip
    print(f"lost writes: {len(lost)} requests, {len(lost_notes)} notes; "
          f"stored twice: {len(twice)} requests, {len(twice_notes)} notes")  # fmt: skip
    print(f"stored without a success answer (a timeout or an error after the commit): "
          f"{len(unconfirmed)} requests")  # fmt: skip
    sound = not (lost or twice or lost_notes or twice_notes)
    by_year: dict[int, list[int]] = defaultdict(list)
    for row in stored:
        by_year[row.year].append(row.number)
        if not row.reference.endswith(f"-{row.year}-{row.number:04d}"):
            print(f"  {row.reference} does not match its number {row.number}")
            sound = False
    for year, numbers in sorted(by_year.items()):
        repeated = sorted(n for n, c in Counter(numbers).items() if c > 1)
        missing = sorted(set(range(1, max(numbers) + 1)) - set(numbers))
        print(f"references {year}: 1 to {max(numbers)}, {len(missing)} missing, "
              f"{len(repeated)} repeated")  # fmt: skip
        if missing or repeated:
            print(f"  missing {missing[:20]}, repeated {repeated[:20]}")
            sound = False
    for reference in (lost + twice)[:10]:
        print(f"  request {reference}: stored {references[reference]} times")
    for reference, note in (lost_notes + twice_notes)[:10]:
        print(f"  note on {reference} {note!r}: stored {stored_notes[(reference, note)]} times")
    return sound


def hostile_body(path: str) -> tuple[str, bytes]:
    """The content type and the start of a body; the rest is filler."""
    if path == "/login":
        return "application/x-www-form-urlencoded", b"email=someone%40example.org&password="
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
        f'filename="release.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\n'
    )
    return f"multipart/form-data; boundary={BOUNDARY}", head.encode()


def answer_of(sock: socket.socket) -> str:
    try:
        data = sock.recv(4096)
    except OSError as error:
        return type(error).__name__
    if not data:
        return "closed without an answer"
    status = data.split(b"\r\n", 1)[0].decode("latin-1").split(" ")
    return f"answered {status[1]}" if len(status) > 1 else "answered garbage"


def attack(
    address: tuple[str, int], path: str, declared: int, rate: int | None, chunked: bool,
    stop: threading.Event, started: threading.Event, stats: dict[str, Any],
) -> None:  # fmt: skip
    """Send one body after another to ``path``: slowly, or too much of it."""
    content_type, prefix = hostile_body(path)
    filler = b"a" * (256 * 1024 if rate is None else rate // 10)
    while not stop.is_set():
        try:
            sock = socket.create_connection(address, timeout=5)
        except OSError as error:
            stats["outcomes"][f"could not connect: {type(error).__name__}"] += 1
            stop.wait(0.5)
            continue
        length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {declared}"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {address[0]}:{address[1]}\r\n"
            f"Content-Type: {content_type}\r\n{length}\r\n\r\n"
        ).encode()
        pending = head + (f"{len(prefix):x}\r\n".encode() + prefix + b"\r\n" if chunked else prefix)
        sent = len(prefix)
        stats["connections"] += 1
        sock.setblocking(False)
        outcome = ""
        next_at = time.monotonic()
        ended = not chunked
        while not stop.is_set():
            readable, writable, _ = select.select([sock], [sock], [], 0.2)
            if readable:
                outcome = answer_of(sock)
                break
            if not pending:
                if sent >= declared:
                    if not ended:
                        pending, ended = b"0\r\n\r\n", True
                        continue
                    stop.wait(0.2)  # all sent: wait for the answer
                    continue
                if rate is not None and time.monotonic() < next_at:
                    stop.wait(min(0.05, next_at - time.monotonic()))
                    continue
                piece = filler[: declared - sent]
                sent += len(piece)
                pending = f"{len(piece):x}\r\n".encode() + piece + b"\r\n" if chunked else piece
                if rate is not None:
                    next_at = max(next_at, time.monotonic() - 1) + len(piece) / rate
            if not writable:
                continue
            try:
                n = sock.send(pending)
            except OSError as error:
                outcome = f"connection broken: {type(error).__name__}"
                break
            pending = pending[n:]
            stats["bytes"] += n
            started.set()
        sock.close()
        if not outcome:
            whole = sent >= declared and ended and not pending
            outcome = f"{'sent whole, no answer' if whole else 'still sending'} at the phase's end"
        stats["outcomes"][outcome] += 1
        stop.wait(0.2)


def hostile_clients(
    host: str, port: int, upload: str, stop: multiprocessing.synchronize.Event,
    ready: multiprocessing.synchronize.Event, results: "multiprocessing.Queue[Any]",
) -> None:  # fmt: skip
    """Eight anonymous clients: two of each, in a process of their own."""
    kinds = [
        ("slow sign-in", "/login", SLOW_SIZE, SLOW_RATE, False),
        ("slow sign-in", "/login", SLOW_SIZE, SLOW_RATE, False),
        ("slow upload", upload, SLOW_SIZE, SLOW_RATE, False),
        ("slow upload", upload, SLOW_SIZE, SLOW_RATE, False),
        ("oversize sign-in", "/login", OVERSIZE, None, False),
        ("oversize sign-in, chunked", "/login", OVERSIZE, None, True),
        ("oversize upload", upload, OVERSIZE, None, False),
        ("oversize upload, chunked", upload, OVERSIZE, None, True),
    ]
    local_stop = threading.Event()
    stats: dict[str, dict[str, Any]] = {
        label: {"connections": 0, "bytes": 0, "outcomes": Counter()} for label, *_ in kinds
    }
    threads, started = [], []
    for label, path, declared, rate, chunked in kinds:
        began = threading.Event()
        started.append(began)
        threads.append(
            threading.Thread(
                target=attack,
                args=((host, port), path, declared, rate, chunked, local_stop, began, stats[label]),
            )
        )
    for thread in threads:
        thread.start()
    for began in started:
        began.wait(10)
    ready.set()
    stop.wait()
    local_stop.set()
    for thread in threads:
        thread.join()
    results.put({label: {**s, "outcomes": dict(s["outcomes"])} for label, s in stats.items()})


def board_times(
    session: requests.Session, url: str, seconds: float
) -> tuple[list[float], int, Counter[str]]:
    """The board's times, asked for four times a second; a timeout counts as its limit.

    Each time on a new connection, as a newcomer would come: a kept-alive one would
    stay with the worker that took it, whose threads the hostile clients may or may
    not hold. Returns the times, the number of timeouts, and the other failures by reason.
    """
    times: list[float] = []
    timeouts, failures = 0, Counter[str]()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            answer = session.get(
                url, timeout=BOARD_TIMEOUT, allow_redirects=False, headers={"Connection": "close"}
            )
        except requests.Timeout:
            timeouts += 1
            times.append(BOARD_TIMEOUT)
            continue
        except requests.RequestException as error:
            failures[reason(error)] += 1
        else:
            if answer.status_code == 200:
                times.append(time.perf_counter() - started)
            else:
                failures[f"HTTP {answer.status_code}"] += 1
        time.sleep(0.25)
    return times, timeouts, failures


def hostile_phase(live: LiveTracker, seconds: float, reference: str) -> None:
    person = Client(live.base_url, PEOPLE[0][0], Tally(), 0, date.today())
    assert person.sign_in(), "the person watching the board could not sign in"
    board = live.url("/due")
    board_times(person.session, board, 2)  # warm
    quiet = board_times(person.session, board, seconds)
    context = multiprocessing.get_context("spawn")
    stop, ready, results = context.Event(), context.Event(), context.Queue()
    attackers = context.Process(
        target=hostile_clients,
        args=("127.0.0.1", live.port, f"/requests/{reference}/documents", stop, ready, results),
    )
    attackers.start()
    ready.wait(60)
    time.sleep(1)  # let the hostile clients take hold
    hostile = board_times(person.session, board, seconds)
    stop.set()
    stats = results.get(timeout=60)
    attackers.join(timeout=60)
    print(f"{'board':<18} {'samples':>8} {'timeouts':>9} {'errors':>7} {'p50 ms':>8} {'p95 ms':>8}")
    for name, (times, timeouts, failures) in (("quiet", quiet), ("hostile", hostile)):
        figures = (
            f"{percentile(times, 0.5) * 1000:8.0f} {percentile(times, 0.95) * 1000:8.0f}"
            if times
            else f"{'-':>8} {'-':>8}"
        )
        print(f"{name:<18} {len(times):>8} {timeouts:>9} {failures.total():>7} {figures}")
        for reason, n in failures.most_common():
            print(f"  {n:>6}  {reason}")
    if quiet[0] and hostile[0]:
        p50 = percentile(hostile[0], 0.5) / percentile(quiet[0], 0.5)
        p95 = percentile(hostile[0], 0.95) / percentile(quiet[0], 0.95)
        print(f"{'hostile / quiet':<18} {'':>8} {'':>9} {'':>7} {p50:8.1f} {p95:8.1f}")
    if hostile[1]:
        print(f"  ({hostile[1]} board requests waited the full {BOARD_TIMEOUT} s and were "
              f"counted as {BOARD_TIMEOUT} s: the hostile figures are lower bounds)")  # fmt: skip
    print(f"{'hostile client':<26} {'connections':>11} {'MB sent':>8}  how they ended")
    for label, s in stats.items():
        ended = ", ".join(f"{n} {outcome}" for outcome, n in sorted(s["outcomes"].items()))
        print(f"{label:<26} {s['connections']:>11} {s['bytes'] / 2**20:>8.1f}  {ended}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=60, help="of the load phase")
    parser.add_argument(
        "--board-seconds", type=float, help="of each half of the hostile phase (--seconds / 2)"
    )
    options = parser.parse_args()
    board_seconds = options.board_seconds or options.seconds / 2
    folder = Path(tempfile.mkdtemp(prefix="tracker-load-bench-"))
    postgres = PostgresCluster() if options.db == "postgresql" else None
    if postgres is not None:
        postgres.start()
    databases = fresh_database(options.db, postgres, folder, "load")
    live = None
    try:
        url = next(databases)
        live = LiveTracker(folder, url, workers=WORKERS)
        live.prepare()
        create_people(live)
        today = date.today()
        live.start(today)
        print(f"Load: {CLIENTS} signed-in clients for {options.seconds:.0f} s on {options.db}, "
              f"`tracker serve` with {WORKERS} workers")  # fmt: skip
        tally = load_phase(live, options.seconds, today)
        report_load(tally, options.seconds)
        sound = check_database(url, tally)
        print()
        print(f"Board: one signed-in person, {board_seconds:.0f} s in quiet, then "
              f"{board_seconds:.0f} s with {HOSTILE} hostile anonymous clients")  # fmt: skip
        hostile_phase(live, board_seconds, tally.created[0])
        log = live.log.read_text(errors="replace")
        print(f"server log: {log.count('Traceback')} tracebacks, "
              f"{log.count('[CRITICAL] WORKER TIMEOUT')} worker timeouts")  # fmt: skip
    finally:
        if live is not None:
            live.stop()
        databases.close()
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
    if not sound:
        sys.exit(1)


if __name__ == "__main__":
    main()

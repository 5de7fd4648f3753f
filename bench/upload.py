"""Uploading through the tracker: a large file at disk speed, a real PDF read for its text.

Run with `make bench`, or from the repository's folder:

    python -m bench.upload [--db postgresql] [--mb 1024] [--rounds 3] [--pages 60]

Two files are uploaded to a request as a browser sends them (multipart/form-data,
with the page's form token, signed in through the sign-in form):

- a large file of --mb megabytes (1024 by default): random bytes behind a PDF
  header, with no end, so no text is read from it. Its upload is timed against
  the floors measured beside it in the same round: `sha256sum` of the same file,
  and Python's hashlib reading and hashing it (faster than `sha256sum` here).
- a real PDF of --pages pages of text, generated here byte for byte the same
  everywhere. Its upload is timed to the moment its text is read and searchable,
  against the floor of pypdf reading the same file's text on its own.

Each is measured in-process (the app's WSGI callable, no socket: the route, its
checks and the store) and over HTTP through `tracker serve` (gunicorn, one web
worker, with the job worker `tracker serve` starts beside it), on SQLite or on a
throwaway PostgreSQL cluster (--db postgresql). The large file is sent with
sendfile, so the client costs the server's two cores next to nothing. Every
round measures the floors again and the figures are their ratios, the median of
the rounds: on a busy machine absolute times drift, ratios taken side by side
much less. Also prints the web worker's resident memory before, after and at its
peak during the large uploads.
"""

import argparse
import hashlib
import io
import os
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import threading
import time
import zlib
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy import create_engine, text

from bench.common import database_options, median_p95, on_database
from bench.load import PASSWORD, PEOPLE, Client, Tally, create_people
from tests.live import LiveTracker

TODAY = date(2026, 3, 2)
BOUNDARY = "----trackerbench7d3a"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
# Targets: the large upload from the issue; the PDF's and the memory's set here.
TARGET_VS_SHA256SUM = 0.8
TARGET_PDF_VS_PYPDF = 1.5  # in-process: at most this many times pypdf reading the text alone
TARGET_PDF_SERVED = 2.0  # served: searchable this many seconds after the upload was sent
TARGET_MEMORY_MB = 64  # the web worker's growth during the large uploads
WORDS = (
    "records request agency determination exemption custody transfer booking release "
    "warrant interview database agreement notification courthouse detainer schedule "
    "invoice payment contract memorandum correspondence policy training audit"
).split()


def large_file(path: Path, megabytes: int) -> None:
    """Random bytes behind a PDF header, the same every run (a seeded generator)."""
    block = random.Random(16).randbytes(1024 * 1024)
    with path.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        for n in range(megabytes):
            out.write(block[n % 997 :] + block[: n % 997])


def text_pdf(path: Path, pages: int) -> list[str]:
    """A PDF of ``pages`` pages of text, written by hand: the same bytes everywhere.

    Returns a word of each page that is found on no other, to check its text was read.
    """
    rng = random.Random(1604)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"",  # the page tree, once the pages are numbered
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    markers, kids = [], []
    for number in range(1, pages + 1):
        marker = f"pagemarker{number:04d}"
        markers.append(marker)
        lines = [f"Page {number} of {pages} {marker}"] + [
            " ".join(rng.choice(WORDS) for _ in range(11)) for _ in range(44)
        ]
        content = b"BT /F1 10 Tf 12 TL 56 760 Td " + b" ".join(
            b"(" + line.encode() + b") '" for line in lines
        )
        content += b" ET"
        packed = zlib.compress(content, 9)
        objects.append(
            b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(packed), packed)
        )
        content_number = len(objects)
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_number
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), pages)
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    path.write_bytes(out.getvalue())
    return markers


def multipart_head(token: str, name: str, media_type: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: {media_type}\r\n\r\n"
    ).encode()


TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()


class Body:
    """A multipart body read in pieces (head, the file, tail): flat memory on this side."""

    def __init__(self, head: bytes, path: Path) -> None:
        self.parts: list[bytes | Path] = [head, path, TAIL]
        self.length = len(head) + path.stat().st_size + len(TAIL)
        self.handle: Any = None
        self.position = 0

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = 0) -> int:
        """Only as far as the test client looks for the length: to the end and back."""
        self.position = self.length if whence == 2 else offset
        return self.position

    def read(self, size: int = -1) -> bytes:
        while self.parts:
            part = self.parts[0]
            if isinstance(part, bytes):
                self.parts.pop(0)
                return part
            if self.handle is None:
                self.handle = part.open("rb")
            chunk = self.handle.read(size if size and size > 0 else 1024 * 1024)
            if chunk:
                return chunk
            self.handle.close()
            self.parts.pop(0)
        return b""


def seconds_of(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


# A time taken: (wall-clock seconds, CPU seconds). On a busy machine the CPU time of
# the work measured moves much less than the wall clock: both are printed.
Timed = tuple[float, float]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def sha256sum(path: Path) -> Timed:
    cpu = children_cpu()
    wall = seconds_of(lambda: subprocess.run(["sha256sum", str(path)], check=True, stdout=-3))
    return wall, children_cpu() - cpu


def hashlib_read(path: Path) -> Timed:
    def run() -> None:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                digest.update(chunk)

    cpu = time.process_time()
    wall = seconds_of(run)
    return wall, time.process_time() - cpu


def floors(path: Path, upload: Callable[[], Timed]) -> tuple[Timed, Timed, Timed]:
    """The upload with sha256sum and hashlib measured right before and right after it."""
    sums, hashes = [sha256sum(path)], [hashlib_read(path)]
    timed = upload()
    sums.append(sha256sum(path))
    hashes.append(hashlib_read(path))
    return timed, mean(sums), mean(hashes)


def mean(times: list[Timed]) -> Timed:
    return statistics.fmean(t[0] for t in times), statistics.fmean(t[1] for t in times)


def process_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pypdf_read(path: Path) -> float:
    return seconds_of(lambda: [page.extract_text() for page in PdfReader(path).pages])


def digest_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class Memory:
    """The resident size of one process, sampled while something runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self.running = False
        self.thread: threading.Thread | None = None

    def rss(self) -> int:
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"VmRSS:\s+(\d+) kB", status)
        return int(match.group(1)) * 1024 if match else 0

    def __enter__(self) -> "Memory":
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()
        return self

    def sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.rss())
            time.sleep(0.02)

    def __exit__(self, *exc: object) -> None:
        self.running = False
        assert self.thread is not None
        self.thread.join()


def web_worker(live: LiveTracker) -> int:
    """gunicorn's web worker: the child of `tracker serve` that is not the job worker."""
    assert live.process is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pid = live.process.pid
        for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
            command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
            if b"worker" not in command:
                return int(child)
        time.sleep(0.1)
    raise RuntimeError("gunicorn started no web worker")


def documents_of(url: str) -> dict[str, tuple[int, str, str, int | None, str]]:
    """Each stored document by its SHA-256: size, key, text state, pages, text."""
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT sha256, size, storage_key, text_state, page_count, text FROM documents")
        ).all()
    engine.dispose()
    return {row[0]: (row[1], row[2], str(row[3]), row[4], row[5] or "") for row in rows}


def check_stored(folder: Path, url: str, path: Path, digest: str) -> None:
    """The file is kept whole under its generated key, and the staging folder is empty."""
    stored = documents_of(url).get(digest)
    assert stored is not None, f"{path.name} was not recorded"
    kept = folder / "documents" / Path(*stored[1].split("/"))
    assert stored[0] == kept.stat().st_size == path.stat().st_size, f"{path.name} not kept whole"
    staging = folder / "documents" / ".staging"
    left = list(staging.iterdir()) if staging.is_dir() else []
    assert not left, f"left in the staging folder: {left}"


def check_text(url: str, digest: str, pages: int, markers: list[str]) -> None:
    _, _, state, counted, found = documents_of(url)[digest]
    assert counted == pages, f"the PDF's pages were counted as {counted}, not {pages}"
    missing = [m for m in markers if m not in found]
    assert not missing, f"the text of {len(missing)} pages was not read ({state})"


def delete_documents(url: str, folder: Path) -> None:
    """Between rounds: the same file again would only be linked to the one stored."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM documents"))
    engine.dispose()
    shutil.rmtree(folder / "documents", ignore_errors=True)


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


class InProcess:
    """The app itself, called as gunicorn would call it, with a signed-in session."""

    def __init__(self, url: str, folder: Path) -> None:
        from tracker import create_app

        self.folder = folder
        self.app = create_app({
            "INSTANCE_PATH": str(folder), "DATABASE_URL": url, "MAX_UPLOAD_MB": 4096,
            "TASKS_IMMEDIATE": True, "TODAY": TODAY.isoformat(),
        })  # fmt: skip
        self.client = self.app.test_client()
        page = self.client.get("/login").get_data(as_text=True)
        token = CSRF_RE.search(page)
        assert token
        email = PEOPLE[0][0]
        self.client.post(
            "/login", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
        )
        assert "Sign out" in self.client.get("/requests").get_data(as_text=True)

    def upload(self, reference: str, path: Path, media_type: str) -> float:
        page = self.client.get(f"/requests/{reference}").get_data(as_text=True)
        token = CSRF_RE.search(page)
        assert token
        body = Body(multipart_head(token.group(1), path.name, media_type), path)
        started = time.perf_counter()
        answer = self.client.post(
            f"/requests/{reference}/documents",
            input_stream=body,  # type: ignore[arg-type]
            content_length=body.length,
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )
        elapsed = time.perf_counter() - started
        assert answer.status_code == 302, answer.status_code
        return elapsed


def served_upload(
    live: LiveTracker, client: Client, reference: str, path: Path, kind: str
) -> float:
    """Send the upload over a socket, the file by sendfile; the time to the server's answer."""
    page = client.session.get(live.url(f"/requests/{reference}"), timeout=60).text
    token = CSRF_RE.search(page)
    assert token
    head = multipart_head(token.group(1), path.name, kind)
    length = len(head) + path.stat().st_size + len(TAIL)
    cookies = "; ".join(f"{c.name}={c.value}" for c in client.session.cookies)
    request = (
        f"POST /requests/{reference}/documents HTTP/1.1\r\nHost: 127.0.0.1:{live.port}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {length}\r\nCookie: {cookies}\r\nConnection: close\r\n\r\n"
    ).encode()
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", live.port), timeout=600) as sock:
        sock.sendall(request + head)
        with path.open("rb") as handle:
            sock.sendfile(handle)
        sock.sendall(TAIL)
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    elapsed = time.perf_counter() - started
    status = answer.split(b"\r\n", 1)[0]
    assert b" 302 " in status, status
    return elapsed


def wait_for_text(url: str, digest: str, started: float) -> float:
    """The time from ``started`` until the job worker has read the document's text."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        stored = documents_of(url).get(digest)
        if stored is not None and stored[2].lower() not in ("pending", "textstate.pending"):
            return time.perf_counter() - started
        time.sleep(0.02)
    raise RuntimeError("the PDF's text was not read in 300 s")


def report(
    label: str, times: list[Timed], sums: list[Timed], hashes: list[Timed], megabytes: int
) -> None:
    """The large upload: its time and throughput, and its ratios to both floors.

    Ratios are the floor's time over the upload's, so 1.0 is as fast as the floor; the
    target is on the wall clock; the CPU ratio (the web worker's or this process's CPU
    time against the floor's) shows the cost with the machine's load taken out.
    """
    median, p95 = median_p95([t[0] for t in times])

    def ratio(floor: list[Timed], which: int) -> float:
        return statistics.median(f[which] / t[which] for f, t in zip(floor, times, strict=True))

    to_sum = ratio(sums, 0)
    print(
        f"  {label:<12} median {median:6.2f} s (p95 {p95:6.2f} s, {megabytes / median:5.0f} MB/s)"
        f"  / sha256sum {to_sum:4.2f}  / hashlib {ratio(hashes, 0):4.2f}"
        f"  target >= {TARGET_VS_SHA256SUM} of sha256sum: {verdict(to_sum >= TARGET_VS_SHA256SUM)}"
    )
    cpu = statistics.median(t[1] for t in times)
    print(
        f"  {'':<12} CPU    {cpu:6.2f} s"
        f"{'':<30}/ sha256sum {ratio(sums, 1):4.2f}  / hashlib {ratio(hashes, 1):4.2f}"
    )


def report_pdf(label: str, times: list[float], floors: list[float]) -> None:
    median, p95 = median_p95(times)
    ratio = statistics.median(t / f for t, f in zip(times, floors, strict=True))
    if label == "HTTP":
        target = f"target <= {TARGET_PDF_SERVED:.0f} s: {verdict(median <= TARGET_PDF_SERVED)}"
    else:
        target = f"target <= {TARGET_PDF_VS_PYPDF}x: {verdict(ratio <= TARGET_PDF_VS_PYPDF)}"
    print(
        f"  {label:<12} median {median * 1000:6.0f} ms (p95 {p95 * 1000:6.0f} ms)"
        f"  / pypdf alone {ratio:4.2f}  {target}"
    )


def bench(options: argparse.Namespace, url: str, folder_name: str) -> None:
    folder = Path(folder_name)
    large = folder / "large.pdf"
    report_pdf_path = folder / "report.pdf"
    large_file(large, options.mb)
    markers = text_pdf(report_pdf_path, options.pages)
    large_digest, pdf_digest = digest_of(large), digest_of(report_pdf_path)
    live = LiveTracker(folder, url, workers=1)
    live.env["TRACKER_MAX_UPLOAD_MB"] = "4096"
    live.prepare()
    create_people(live)
    live.start(TODAY)
    sums: dict[str, list[Timed]] = {"in-process": [], "HTTP": []}
    hashes: dict[str, list[Timed]] = {"in-process": [], "HTTP": []}
    times: dict[str, list[Timed]] = {"in-process": [], "HTTP": []}
    pdf_times: dict[str, list[float]] = {"in-process": [], "HTTP": []}
    pdf_floors: dict[str, list[float]] = {"in-process": [], "HTTP": []}
    memory: list[tuple[int, int, int]] = []
    try:
        client = Client(live.base_url, PEOPLE[0][0], Tally(), 1, TODAY)
        assert client.sign_in(), "could not sign in"
        client.create()
        assert client.own, f"could not create a request: {dict(client.tally.errors)}"
        reference = client.own[0]
        served = live.folder / "instance"
        inprocess = InProcess(url, folder / "inprocess")
        worker = web_worker(live)
        for _ in range(options.rounds):
            for where in ("in-process", "HTTP"):
                delete_documents(url, served)
                delete_documents(url, inprocess.folder)
                if where == "HTTP":
                    watch = Memory(worker)
                    before = watch.rss()

                    def served_large(watch: Memory = watch) -> Timed:
                        cpu = process_cpu(worker)
                        with watch:
                            wall = served_upload(live, client, reference, large, "application/pdf")
                        return wall, process_cpu(worker) - cpu

                    timed, summed, hashed = floors(large, served_large)
                    memory.append((before, watch.rss(), watch.peak))
                    check_stored(served, url, large, large_digest)
                    pdf_floors[where].append(pypdf_read(report_pdf_path))
                    started = time.perf_counter()
                    served_upload(live, client, reference, report_pdf_path, "application/pdf")
                    pdf_times[where].append(wait_for_text(url, pdf_digest, started))
                    check_stored(served, url, report_pdf_path, pdf_digest)
                else:

                    def inprocess_large() -> Timed:
                        cpu = time.process_time()
                        wall = inprocess.upload(reference, large, "application/pdf")
                        return wall, time.process_time() - cpu

                    timed, summed, hashed = floors(large, inprocess_large)
                    check_stored(inprocess.folder, url, large, large_digest)
                    pdf_floors[where].append(pypdf_read(report_pdf_path))
                    pdf_times[where].append(
                        inprocess.upload(reference, report_pdf_path, "application/pdf")
                    )
                    check_stored(inprocess.folder, url, report_pdf_path, pdf_digest)
                check_text(url, pdf_digest, options.pages, markers)
                times[where].append(timed)
                sums[where].append(summed)
                hashes[where].append(hashed)
    finally:
        live.stop()
        large.unlink(missing_ok=True)
    print(f"Uploads on {options.db}, {options.rounds} rounds (medians; ratios taken per round)")
    every_sum = [t[0] for t in sums["HTTP"] + sums["in-process"]]
    every_hash = [t[0] for t in hashes["HTTP"] + hashes["in-process"]]
    print(
        f"  floors for {options.mb} MB (each measured before and after each upload): "
        f"sha256sum median {statistics.median(every_sum):.2f} s, "
        f"hashlib {statistics.median(every_hash):.2f} s"
    )
    print(f"{options.mb} MB file (binary behind a PDF header):")
    for where in ("in-process", "HTTP"):
        report(where, times[where], sums[where], hashes[where], options.mb)
    size = report_pdf_path.stat().st_size
    print(f"{options.pages}-page PDF of text ({size // 1024} KB), upload until its text is read:")
    for where in ("in-process", "HTTP"):
        report_pdf(where, pdf_times[where], pdf_floors[where])
    mb = 1024 * 1024
    growth = max(peak - before for before, _, peak in memory)
    print(
        "  web worker memory during the large uploads: "
        + ", ".join(f"{b // mb}/{a // mb}/{p // mb} MB" for b, a, p in memory)
        + " (before/after/peak)"
    )
    print(
        f"  largest growth {growth // mb} MB, target <= {TARGET_MEMORY_MB} MB: "
        f"{verdict(growth <= TARGET_MEMORY_MB * mb)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    database_options(parser)
    parser.add_argument("--mb", type=int, default=int(os.environ.get("BENCH_UPLOAD_MB", "1024")))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pages", type=int, default=60)
    options = parser.parse_args()
    on_database(options, lambda url, folder, _filled: bench(options, url, folder))


if __name__ == "__main__":
    main()

"""Uploading a large file through the running app: throughput and the server's memory.

Run with `make bench`. Starts `tracker serve` (gunicorn) on a free port with a
temporary instance, uploads one file of BENCH_UPLOAD_MB megabytes (default 1024)
to a request as a browser would (multipart/form-data), and prints the time,
the throughput as a ratio to `sha256sum` of the same file in the same run, and
the peak resident memory of the server's processes.
"""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

SIZE_MB = int(os.environ.get("BENCH_UPLOAD_MB", "1024"))
TRACKER = str(Path(sys.executable).with_name("tracker"))
BOUNDARY = "----trackerbench7d3a"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MultipartBody:
    """The request body read in pieces: preamble, the file, epilogue. Flat memory here too."""

    def __init__(self, fields: dict[str, str], path: Path) -> None:
        head = "".join(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in fields.items()
        )
        head += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
            f'filename="{path.name}"\r\nContent-Type: application/pdf\r\n\r\n'
        )
        self.parts = [head.encode(), path, f"\r\n--{BOUNDARY}--\r\n".encode()]
        self.length = len(self.parts[0]) + path.stat().st_size + len(self.parts[2])
        self.current = 0
        self.handle = None

    def read(self, size: int = 1024 * 1024) -> bytes:
        while self.current < len(self.parts):
            part = self.parts[self.current]
            if isinstance(part, bytes):
                self.current += 1
                return part
            if self.handle is None:
                self.handle = part.open("rb")
            chunk = self.handle.read(size)
            if chunk:
                return chunk
            self.handle.close()
            self.current += 1
        return b""


def peak_memory_kb(pid: int) -> int:
    """The largest peak resident size among the server process and its workers."""
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    peaks = []
    for p in pids:
        status = Path(f"/proc/{p}/status")
        if status.exists():
            match = re.search(r"VmHWM:\s+(\d+) kB", status.read_text())
            if match:
                peaks.append(int(match.group(1)))
    return max(peaks, default=0)


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="tracker-upload-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRACKER_")}
    env.update(TRACKER_INSTANCE_PATH=str(folder / "instance"), TRACKER_MAX_UPLOAD_MB="4096")
    subprocess.run([TRACKER, "db", "upgrade"], env=env, check=True, capture_output=True)
    subprocess.run([TRACKER, "seed"], env=env, check=True, capture_output=True)
    subprocess.run(
        [TRACKER, "users", "create", "--email", "bench@example.org", "--role", "staff",
         "--password-stdin"],
        env=env, check=True, capture_output=True, input=b"benchmark password\n",
    )  # fmt: skip
    sample = folder / "large.pdf"
    with sample.open("wb") as out:
        out.write(b"%PDF-1.4\n")
        block = os.urandom(1024 * 1024)
        for _ in range(SIZE_MB):
            out.write(block)
    started = time.perf_counter()
    subprocess.run(["sha256sum", str(sample)], check=True, capture_output=True)
    hashing = time.perf_counter() - started

    port = free_port()
    server = subprocess.Popen(
        [TRACKER, "serve", "--workers", "1"], env={**env, "PORT": str(port)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=2).close()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def token(path: str) -> str:
            page = opener.open(base + path).read().decode()
            match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
            assert match, path
            return match.group(1)

        login = urllib.parse.urlencode({
            "csrf_token": token("/login"), "email": "bench@example.org",
            "password": "benchmark password",
        }).encode()  # fmt: skip
        opener.open(base + "/login", login).close()
        form = urllib.parse.urlencode({
            "csrf_token": token("/requests/new"), "title": "Benchmark", "agency": "1",
            "status": "draft",
        }).encode()  # fmt: skip
        reference = opener.open(base + "/requests/new", form).geturl().rsplit("/", 1)[1]
        body = MultipartBody({"csrf_token": token(f"/requests/{reference}")}, sample)
        request = urllib.request.Request(
            f"{base}/requests/{reference}/documents",
            data=body,  # type: ignore[arg-type]
            headers={
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
                "Content-Length": str(body.length),
            },
        )
        baseline = peak_memory_kb(server.pid)
        started = time.perf_counter()
        opener.open(request, timeout=3600).close()
        upload = time.perf_counter() - started
        peak = peak_memory_kb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)
    stored = [p for p in (folder / "instance" / "documents").rglob("*") if p.is_file()]
    assert stored and stored[0].stat().st_size == sample.stat().st_size, "the upload was not kept"
    print(f"file:                          {SIZE_MB:>8} MB")
    print(f"sha256sum:                     {hashing:8.2f} s  ({SIZE_MB / hashing:7.0f} MB/s)")
    print(f"upload through the app:        {upload:8.2f} s  ({SIZE_MB / upload:7.0f} MB/s)")
    print(f"throughput / sha256sum:        {hashing / upload:8.2f}")
    print(f"server peak memory before:     {baseline / 1024:8.0f} MB")
    print(f"server peak memory after:      {peak / 1024:8.0f} MB")


if __name__ == "__main__":
    main()

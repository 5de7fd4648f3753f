"""Search time over an archive of 10,000 documents of real text.

Run with `make bench` (SQLite in a temporary folder; set TRACKER_DATABASE_URL to
a throwaway PostgreSQL database to measure that). The documents are made of
paragraphs of real English prose: the documentation strings of the Python
standard library. Prints the median and 95th percentile time of `search()`
for common words, rare words, phrases and words that are not there.
"""

import importlib
import os
import pkgutil
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime

from flask_migrate import upgrade
from sqlalchemy import insert, select

from tracker import create_app
from tracker.agencies.models import Agency
from tracker.documents.models import Disposition, Document
from tracker.extensions import db
from tracker.requests.models import RecordsRequest, RequestStatus
from tracker.search.engine import rebuild, search

DOCUMENTS = int(os.environ.get("BENCH_DOCUMENTS", "10000"))
QUERIES = [
    "the", "file", "thread", "socket timeout", "unicode", "deprecated", "zanzibar",
    "return value", "encoding errors", "iterator", "\"default value\"", "lock",
]  # fmt: skip


def prose() -> list[str]:
    """Paragraphs from the standard library's own documentation strings."""
    paragraphs = []
    skip = {"antigravity", "this", "idlelib", "tkinter", "turtle", "turtledemo", "pydoc"}
    names = sorted(m.name for m in pkgutil.iter_modules() if not m.name.startswith("_"))
    for module in (name for name in names if name not in skip):
        try:
            loaded = importlib.import_module(module)
        except Exception:  # noqa: S112  (some modules need a display or a platform)
            continue
        for value in vars(loaded).values():
            doc = getattr(value, "__doc__", None)
            if isinstance(doc, str):
                paragraphs += [p.strip() for p in doc.split("\n\n") if len(p.strip()) > 80]
        if len(paragraphs) > 20000:
            break
    return paragraphs


def main() -> None:
    folder = tempfile.mkdtemp(prefix="tracker-search-bench-")
    url = os.environ.get("TRACKER_DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench"})
    rng = random.Random(7)
    paragraphs = prose()
    with app.app_context():
        upgrade()
        agency = Agency(name="Bench agency", law="ca-cpra")
        db.session.add(agency)
        db.session.flush()
        now = datetime(2026, 11, 1, tzinfo=UTC)
        request_ids = []
        for n in range(100):
            record = RecordsRequest(
                reference=f"LA-B-{n:04d}", year=2026, number=n + 1, title=f"Bench {n}",
                agency_id=agency.id, status=RequestStatus.SENT, received_on=date(2026, 10, 1),
            )  # fmt: skip
            db.session.add(record)
            db.session.flush()
            request_ids.append(record.id)
        rows = []
        for n in range(DOCUMENTS):
            pages = ["\n\n".join(rng.sample(paragraphs, 6)) for _ in range(rng.randint(1, 4))]
            rows.append(
                {
                    "request_id": request_ids[n % len(request_ids)], "title": f"Release {n}",
                    "original_filename": f"release-{n}.pdf", "storage_backend": "local",
                    "storage_key": f"00/00/{n:032x}", "size": 1000, "sha256": f"{n:064x}",
                    "media_type": "application/pdf", "disposition": Disposition.RELEASED,
                    "public": False, "page_count": len(pages), "text": "\f".join(pages),
                    "needs_ocr": False, "uploaded_at": now, "delete_reason": "",
                }
            )  # fmt: skip
        db.session.execute(insert(Document.__table__), rows)
        db.session.commit()
        started = time.perf_counter()
        rebuild(db.session())
        db.session.commit()
        print(f"indexed {DOCUMENTS:,} documents in {time.perf_counter() - started:.1f} s")
        assert db.session.scalar(select(db.func.count(Document.id))) == DOCUMENTS
        times = []
        for _ in range(5):
            for query in QUERIES:
                started = time.perf_counter()
                search(db.session(), query, limit=20)
                times.append(time.perf_counter() - started)
        times.sort()
        print(f"queries:         {len(times)}")
        print(f"median:          {statistics.median(times) * 1000:8.1f} ms")
        print(f"95th percentile: {times[int(len(times) * 0.95)] * 1000:8.1f} ms")


if __name__ == "__main__":
    main()

"""How fast the public records room answers, with 100,000 requests of which 10,000 are
published, each with two released documents, one public and one under an embargo.

Run with `python -m bench.public` (SQLite in a temporary folder; `--keep FOLDER` keeps
the database there and measures it again next time), or with `--db postgresql` on a
throwaway PostgreSQL cluster. The requests, items and responses are
the scorecards benchmark's (bench/scorecards.py); the documents carry a page of generated
text each, indexed for search as an upload's text is. Each page is asked for as a visitor
asks: a GET through the app, without an account, and once more with the ETag the first
answer gave (a 304). Prints the median and 95th percentile of each; the target is a 95th
percentile under 100 ms for a page, as for the private pages.
"""

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta

from flask import Flask
from sqlalchemy import insert, select

from bench.common import database_options, filled, median_p95, on_database, percentile
from bench.scorecards import TODAY, fill
from tracker import create_app
from tracker.agencies.models import Agency
from tracker.agencies.services import seed_agencies
from tracker.auth.models import Role
from tracker.auth.services import create_user
from tracker.documents.models import Document
from tracker.extensions import db
from tracker.publishing.models import DocumentPublication, RequestPublication, public_key
from tracker.scorecards.figures import rebuild
from tracker.search.engine import document_entries, write

WORDS = (
    "report commission detainer request collaboration transfer notification federal "
    "immigration custody booking release hold warrant inquiry division officer review "
    "agency memorandum policy directive briefing schedule quarter hearing"
).split()
BATCH = 2000


def fill_room(requests: int) -> None:
    """The scorecards benchmark's requests, and every tenth of them published."""
    seed_agencies()
    # Until the first account exists every page leads to the setup page.
    create_user("admin@bench.example", "Bench Admin", Role.ADMIN, "a long bench pass phrase")
    db.session.commit()
    agencies = list(db.session.scalars(select(Agency)))
    print(f"Filling {requests:,} requests across {len(agencies)} agencies…")
    fill(requests, agencies)
    rebuild(db.session.connection())
    db.session.commit()
    published = requests // 10
    started = time.perf_counter()
    publish(published)
    print(
        f"published {published:,} requests and {published * 2:,} documents "
        f"in {time.perf_counter() - started:.0f} s"
    )
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")


def publish(published: int) -> None:
    """Publish every tenth request, with two documents each."""
    rng = random.Random(15)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    document_id = 0
    for start in range(0, published, BATCH):
        publications, documents, releases = [], [], []
        for n in range(start, min(start + BATCH, published)):
            request_id = n * 10 + 1
            publications.append(
                {"request_id": request_id, "public_key": public_key(), "summary": f"Bench {n}",
                 "published_at": now, "withdraw_reason": ""}
            )  # fmt: skip
            for embargoed in (False, True):
                document_id += 1
                # Half the words are the few that every release uses, half from a long
                # tail of 5,000, so a word of the tail stands in one release in thirty.
                text = " ".join(
                    rng.choice(WORDS) if rng.random() < 0.5 else f"term{rng.randrange(5000)}"
                    for _ in range(300)
                )
                documents.append(
                    {"id": document_id, "request_id": request_id, "title": f"Release {n}",
                     "original_filename": f"release-{document_id}.pdf", "storage_backend": "local",
                     "storage_key": f"bench/{document_id}", "size": len(text),
                     "sha256": f"{document_id:064x}", "media_type": "application/pdf",
                     "document_date": TODAY - timedelta(days=rng.randint(1, 500)),
                     "disposition": "released", "public": False, "text": text,
                     "text_state": "done", "text_error": "", "delete_reason": "",
                     "needs_ocr": False, "uploaded_at": now}
                )  # fmt: skip
                releases.append(
                    {"document_id": document_id, "public_key": public_key(),
                     "findings_seen": 0, "published_at": now, "withdraw_reason": "",
                     "embargo_until": TODAY + timedelta(days=7) if embargoed else None}
                )  # fmt: skip
        db.session.execute(insert(RequestPublication.__table__), publications)
        db.session.execute(insert(Document.__table__), documents)
        db.session.execute(insert(DocumentPublication.__table__), releases)
        connection = db.session.connection()
        for document in db.session.scalars(
            select(Document).where(Document.id > document_id - len(documents))
        ):
            write(connection, "document", document.id, document_entries(document))
        db.session.commit()
        db.session.expunge_all()
        print(f"  {min(start + BATCH, published):>6} published", end="\r", file=sys.stderr)
    print(file=sys.stderr)


def sample_keys() -> tuple[str, str, str]:
    """The public keys of a published request, a public document and an embargoed one."""
    request_key = db.session.scalar(select(RequestPublication.public_key).limit(1))
    shown = db.session.scalar(
        select(DocumentPublication.public_key).where(DocumentPublication.embargo_until.is_(None))
    )
    held = db.session.scalar(
        select(DocumentPublication.public_key).where(DocumentPublication.embargo_until.is_not(None))
    )
    assert request_key and shown and held
    return request_key, shown, held


def measure(app: Flask, path: str, rounds: int) -> tuple[float, float, float, int]:
    """Median and p95 of a plain GET, p95 of the conditional GET, and the status."""
    client = app.test_client()
    plain, again = [], []
    status = 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get(path)
        plain.append(time.perf_counter() - started)
        status = response.status_code
        etag = response.headers.get("ETag")
        if etag:
            started = time.perf_counter()
            repeat = client.get(path, headers={"If-None-Match": etag})
            again.append(time.perf_counter() - started)
            assert repeat.status_code == 304, (path, repeat.status_code)
    median, p95 = median_p95(plain)
    return median, p95, percentile(again, 0.95), status


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    options = parser.parse_args()
    on_database(options, lambda url, folder, ready: bench(options, url, folder, ready))


def bench(options: argparse.Namespace, url: str, folder: str, ready: bool) -> None:
    app = create_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench", "TODAY": TODAY}
    )
    from flask_migrate import upgrade

    with app.app_context():
        upgrade()
        if not ready:
            fill_room(options.requests)
            filled(folder)
        else:
            print(f"Measuring the database filled before in {folder}")
        request_key, shown, held = sample_keys()
        lapd = db.session.scalar(select(Agency.id).where(Agency.slug == "lapd"))
        db.session.remove()
    pages = {
        "published requests, page 1": "/public/",
        "published requests, page 50": "/public/?page=50",
        "one agency's requests": f"/public/?agency={lapd}",
        "a request": f"/public/requests/{request_key}",
        "a document": f"/public/documents/{shown}",
        "an embargoed document (404)": f"/public/documents/{held}",
        "search, a rare word": "/public/search?q=term1234",
        "search, two rare words": "/public/search?q=term1234+term4321",
        "search, a common word": "/public/search?q=report",
        "feed": "/public/feed.atom",
        "agencies' figures": "/public/agencies",
        "one agency's figures": f"/public/agencies/{lapd}",
    }
    print(
        f"{'page':30} {'status':>6} {'median':>9} {'p95':>9} {'304 p95':>9}   target p95 <= 100 ms"
    )
    worst = 0.0
    for name, path in pages.items():
        median, p95, again, status = measure(app, path, options.runs)
        worst = max(worst, p95)
        print(
            f"{name:30} {status:>6} {median * 1000:>7.1f}ms {p95 * 1000:>7.1f}ms "
            f"{again * 1000:>7.1f}ms"
        )
    verdict = "met" if worst <= 0.1 else "NOT met"
    print(f"slowest p95 {worst * 1000:.1f} ms: target {verdict}")


if __name__ == "__main__":
    main()

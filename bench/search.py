"""How fast search answers over 10,000 documents, and over 100,000.

Run with `python -m bench.search` (SQLite in a temporary folder; `--keep FOLDER` keeps the
database and measures it again next time), `--db postgresql` on a throwaway PostgreSQL
cluster, `--documents 100000` for the larger archive, or `--sizes` for 10,000 then 100,000
in one run. The documents are generated, the same on every machine: one to four pages of
English-like prose each, drawn from a fixed vocabulary by Zipf's law (so "the" is on
nearly every page, as in real releases) and a long tail of rarer words, with the words a
records request is about among them. Each query is asked `--runs` times through
`search()`, as the search page asks it, and the median and 95th percentile of all of them
are printed against the targets (p50 <= 15 ms, p95 <= 40 ms), with each query's own p95
beside the floor: the index's own ranking of the first twenty matches, with no filter,
join or snippet.
"""

import argparse
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flask_migrate import upgrade
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection

from bench.common import database_options, filled, median_p95, on_database, percentile
from tracker import create_app
from tracker.agencies.models import Agency
from tracker.documents.models import Disposition, Document
from tracker.extensions import db
from tracker.requests.models import RecordsRequest, RequestStatus
from tracker.search.engine import document_entries, search, write

TODAY = date(2026, 12, 14)
TARGET_P50 = 0.015
TARGET_P95 = 0.040
BATCH = 2000
DOCUMENTS_PER_REQUEST = 100

# The words of ordinary English prose, most common first: Zipf's law weighs them.
COMMON = (
    "the of and to a in is that for it as was with be by on not he this are or his from at "
    "which but have an they you were her all she there would their we him been has when who "
    "will more no if out so said what up its about into than them can only other new some "
    "could time these two may then do first any my now such like our over man me even most "
    "made after also did many before must through back years where much your way well down "
    "should because each just those people how too little state good very make world still "
    "own see men work long get here between both life being under never day same another know "
    "while last might us great old year off come since against go came right used take three"
).split()
# What the records are about: mid-frequency words a person searches for.
TOPICS = (
    "report commission detainer request collaboration transfer notification federal "
    "immigration custody booking release hold warrant inquiry division officer review agency "
    "memorandum policy directive briefing schedule quarter hearing deputy sheriff chief "
    "enforcement database subpoena interview arrest jail probation gang"
).split() + ["task force", "police commission"]
SYLLABLES = "ba ce di fo gu ha ke li mo nu pa re si to vu wa xe yo za ru".split()
QUERIES = {
    "a word on every page": "the",
    "a common word": "report",
    "a topic": "detainer",
    "two topics": "sheriff warrant",
    "a phrase": '"task force"',
    "either of two": "subpoena OR probation",
    "a rare word": "",  # chosen from the tail below
    "a word not there": "zanzibar",
}
# The same common word, for documents of the last ninety days alone: most of its best
# matches are filtered out.
RECENT = "report, recent"


def vocabulary() -> tuple[list[str], list[float]]:
    """The fixed vocabulary and its Zipf weights: common words, topics, then a tail of
    20,000 made-up words of three syllables."""
    tail = [
        a + b + c
        for a in SYLLABLES
        for b in SYLLABLES
        for c in SYLLABLES
        if a != b  # twenty times nineteen times twenty
    ][:20_000]
    words = COMMON + TOPICS + tail
    weights = [1.0 / (rank + 1) for rank in range(len(COMMON))]
    weights += [0.004] * len(TOPICS)
    weights += [1.0 / (rank + 200) ** 1.1 for rank in range(len(tail))]
    return words, weights


def pages_of(rng: random.Random, words: list[str], cumulative: list[float]) -> list[str]:
    pages = []
    for _ in range(rng.randint(1, 4)):
        chosen = rng.choices(words, cum_weights=cumulative, k=rng.randint(250, 450))
        sentences = [
            " ".join(chosen[i : i + 15]).capitalize() + "." for i in range(0, len(chosen), 15)
        ]
        pages.append(" ".join(sentences))
    return pages


def fill_documents(documents: int) -> None:
    """Requests of a hundred documents each, the documents bulk-inserted and indexed as an
    upload's text is, a batch at a time."""
    rng = random.Random(16)
    words, weights = vocabulary()
    cumulative = []
    total = 0.0
    for weight in weights:
        total += weight
        cumulative.append(total)
    agency = Agency(name="Bench agency", law="ca-cpra")
    db.session.add(agency)
    db.session.flush()
    requests = max(1, documents // DOCUMENTS_PER_REQUEST)
    db.session.execute(
        insert(RecordsRequest.__table__),
        [
            {"id": n + 1, "reference": f"LA-B-{n:06d}", "year": 2026, "number": n + 1,
             "title": f"Bench {n}", "agency_id": agency.id, "status": RequestStatus.SENT,
             "received_on": date(2026, 10, 1), "requester_name": "", "requester_email": "",
             "records_sought": "", "tags": "", "created_at": datetime(2026, 10, 1, tzinfo=UTC),
             "updated_at": datetime(2026, 10, 1, tzinfo=UTC)}
            for n in range(requests)
        ],
    )  # fmt: skip
    now = datetime(2026, 11, 1, tzinfo=UTC)
    connection = db.session.connection()
    started = time.perf_counter()
    for start in range(0, documents, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, documents)):
            pages = pages_of(rng, words, cumulative)
            rows.append(
                {"id": n + 1, "request_id": n % requests + 1, "title": f"Release {n}",
                 "original_filename": f"release-{n}.pdf", "storage_backend": "local",
                 "storage_key": f"00/00/{n:032x}", "size": 1000, "sha256": f"{n:064x}",
                 "media_type": "application/pdf", "disposition": Disposition.RELEASED,
                 "public": False, "page_count": len(pages), "text": "\f".join(pages),
                 "document_date": TODAY - timedelta(days=n % 700), "needs_ocr": False,
                 "uploaded_at": now, "delete_reason": "", "text_state": "done",
                 "text_error": ""}
            )  # fmt: skip
        db.session.execute(insert(Document.__table__), rows)
        for document in db.session.scalars(select(Document).where(Document.id > start)):
            write(connection, "document", document.id, document_entries(document))
        db.session.commit()
        db.session.expunge_all()
        connection = db.session.connection()
        print(f"  {min(start + BATCH, documents):>7,} documents", end="\r", file=sys.stderr)
    print(file=sys.stderr)
    print(f"filled and indexed {documents:,} documents in {time.perf_counter() - started:.0f} s")
    if connection.dialect.name == "postgresql":
        db.session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.exec_driver_sql("VACUUM ANALYZE")


def rare_word(connection: Connection) -> str:
    """A word of the tail on a few dozen pages: what a person looks for by a name."""
    words, _ = vocabulary()
    for word in words[len(COMMON) + len(TOPICS) + 2000 :]:
        if 20 <= matches(connection, word) <= 80:
            return word
    raise SystemExit("no rare word in the corpus: is it filled?")


def matches(connection: Connection, query: str) -> int:
    """How many indexed pages match, by the index alone."""
    if connection.dialect.name == "sqlite":
        from tracker.search.engine import fts5_query

        return int(
            connection.execute(
                text("SELECT count(*) FROM search_index WHERE search_index MATCH :q"),
                {"q": fts5_query(query)},
            ).scalar_one()
        )
    return int(
        connection.execute(
            text(
                "SELECT count(*) FROM search_entries "
                "WHERE search_vector @@ websearch_to_tsquery('english', :q)"
            ),
            {"q": query},
        ).scalar_one()
    )


def floor(connection: Connection, query: str) -> None:
    """The index's own ranking of the first twenty matches: no filter, join or snippet."""
    if connection.dialect.name == "sqlite":
        from tracker.search.engine import fts5_query

        connection.execute(
            text(
                "SELECT rowid, bm25(search_index) AS rank FROM search_index "
                "WHERE search_index MATCH :q ORDER BY rank LIMIT 20"
            ),
            {"q": fts5_query(query)},
        ).all()
        return
    connection.execute(
        text(
            "SELECT id, ts_rank(search_vector, q) AS rank FROM search_entries, "
            "websearch_to_tsquery('english', :q) AS q WHERE search_vector @@ q "
            "ORDER BY rank DESC LIMIT 20"
        ),
        {"q": query},
    ).all()


def timed(run: Any, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    database_options(parser)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--sizes", action="store_true", help="10,000 documents, then 100,000")
    parser.add_argument("--runs", type=int, default=20)
    options = parser.parse_args()
    if options.sizes and options.keep:
        raise SystemExit("--sizes fills two databases; --keep keeps one")
    for documents in (10_000, 100_000) if options.sizes else (options.documents,):
        on_database(
            options, lambda url, folder, ready, n=documents: bench(options, n, url, folder, ready)
        )


def bench(options: argparse.Namespace, documents: int, url: str, folder: str, ready: bool) -> None:
    app = create_app(
        {"DATABASE_URL": url, "INSTANCE_PATH": folder, "SECRET_KEY": "bench", "TODAY": TODAY}
    )
    with app.app_context():
        upgrade()
        if not ready:
            fill_documents(documents)
            filled(folder)
        count = db.session.scalar(select(db.func.count(Document.id)))
        connection = db.session.connection()
        queries = dict(QUERIES, **{"a rare word": rare_word(connection), RECENT: "report"})
        print(f"{count:,} documents on {connection.dialect.name}; {options.runs} runs a query")
        print(
            f"{'query':22} {'words':22} {'pages':>7} {'median':>8} {'p95':>8} "
            f"{'floor p95':>9} {'ratio':>6}"
        )
        everything: list[float] = []
        for name, query in queries.items():
            filters = {"date_from": TODAY - timedelta(days=90)} if name == RECENT else {}
            search(db.session(), query, limit=20, **filters)  # the first run reads pages in
            times = timed(
                lambda q=query, f=filters: search(db.session(), q, limit=20, **f), options.runs
            )
            floors = timed(lambda q=query: floor(db.session.connection(), q), options.runs)
            everything += times
            median, p95 = median_p95(times)
            bare = percentile(floors, 0.95)
            print(
                f"{name:22} {query:22} {matches(db.session.connection(), query):>7,} "
                f"{median * 1000:>6.1f}ms {p95 * 1000:>6.1f}ms {bare * 1000:>7.1f}ms "
                f"{p95 / bare if bare else float('nan'):>6.1f}"
            )
        median, p95 = median_p95(everything)
        print(
            f"all queries: p50 {median * 1000:.1f} ms (target <= {TARGET_P50 * 1000:.0f} ms: "
            f"{verdict(median, TARGET_P50)}), p95 {p95 * 1000:.1f} ms "
            f"(target <= {TARGET_P95 * 1000:.0f} ms: {verdict(p95, TARGET_P95)})"
        )
        db.session.remove()


if __name__ == "__main__":
    main()

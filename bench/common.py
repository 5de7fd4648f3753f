"""What the benchmarks share: where their database lives, and how their times are read."""

import argparse
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

from tests.postgres import PostgresCluster


def database_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--keep",
        metavar="FOLDER",
        help="SQLite only: build the database in FOLDER, or measure the one built there before",
    )


def on_database(options: argparse.Namespace, bench: Callable[[str, str, bool], None]) -> None:
    """Run ``bench(url, folder, filled)`` on SQLite in a folder of its own (a fresh one, or
    ``--keep``'s, ``filled`` when a database was filled there before: see ``filled``) or on
    a throwaway PostgreSQL cluster (``--db postgresql``), stopped afterwards."""
    if options.db == "postgresql":
        if getattr(options, "keep", None):
            raise SystemExit("--keep keeps a SQLite database; PostgreSQL's cluster is thrown away")
        postgres = PostgresCluster()
        postgres.start()
        try:
            bench(postgres.url(), tempfile.mkdtemp(prefix="tracker-bench-"), False)
        finally:
            postgres.stop()
        return
    folder = Path(getattr(options, "keep", None) or tempfile.mkdtemp(prefix="tracker-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    database = folder / "bench.sqlite3"
    done = folder / FILLED
    if database.exists() and not done.exists():
        database.unlink()  # a fill that did not finish
    bench(f"sqlite:///{database}", str(folder), done.exists())


FILLED = "bench.filled"


def filled(folder: str) -> None:
    """Say the database in ``folder`` is whole, for the next run with ``--keep``."""
    (Path(folder) / FILLED).touch()


def percentile(times: list[float], fraction: float) -> float:
    """The time ``fraction`` of the way up the sorted times (nan when there is none)."""
    if not times:
        return float("nan")
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def median_p95(times: list[float]) -> tuple[float, float]:
    return statistics.median(times), percentile(times, 0.95)

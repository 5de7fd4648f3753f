"""`make test` runs the suite on SQLite, then on PostgreSQL; some tests run on one of them only.

Every test runs on at least one backend, and a test is deselected on a backend only for a
reason the run prints: it uses no backend at all, it says which one it needs, or it is a
journey step in a mode that runs on the other backend.
"""

import importlib
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests import conftest
from tests.e2e.conftest import MODES, ON_POSTGRESQL, journey_backend


class Config:
    def __init__(self, backend: str) -> None:
        self.backend = backend
        self.stash = pytest.Stash()
        self.hook = SimpleNamespace(pytest_deselected=self.deselected)
        self.dropped: list[Any] = []

    def getoption(self, name: str) -> str:
        assert name == "--db"
        return self.backend

    def deselected(self, items: list[Any]) -> None:
        self.dropped.extend(items)


def item(name: str, fixtures: list[str], *marks: pytest.MarkDecorator) -> Any:
    markers = [mark.mark for mark in marks]
    return SimpleNamespace(
        nodeid=f"tests/test_x.py::{name}",
        fixturenames=fixtures,
        get_closest_marker=lambda n: next((m for m in markers if m.name == n), None),
        iter_markers=lambda n: (m for m in markers if m.name == n),
    )


def not_run_on(name: str, fixtures: list[str], *marks: pytest.MarkDecorator) -> dict[str, str]:
    return conftest.not_run_on(item(name, fixtures, *marks))


def collect(backend: str, items: list[Any]) -> tuple[list[str], list[str]]:
    config = Config(backend)
    conftest.pytest_collection_modifyitems(config, items)  # type: ignore[arg-type]
    return [i.nodeid for i in items], [i.nodeid for i in config.dropped]


def test_a_test_that_uses_no_backend_runs_once_on_sqlite_and_the_run_says_why() -> None:
    kept, dropped = collect("postgresql", [item("pure", ["tmp_path"]), item("db", ["backend"])])
    assert kept == ["tests/test_x.py::db"] and dropped == ["tests/test_x.py::pure"]
    assert not_run_on("pure", ["tmp_path"]) == {"postgresql": conftest.NO_BACKEND}
    kept, _ = collect("sqlite", [item("pure", ["tmp_path"]), item("db", ["backend"])])
    assert len(kept) == 2


def test_a_test_for_one_backend_is_deselected_on_the_other_with_its_reason() -> None:
    only = pytest.mark.only_on("postgresql", reason="checks PostgreSQL's own locking")
    assert not_run_on("locks", ["backend"], only) == {"sqlite": "checks PostgreSQL's own locking"}
    kept, dropped = collect("sqlite", [item("locks", ["backend"], only)])
    assert kept == [] and dropped == ["tests/test_x.py::locks"]


def test_a_test_that_would_run_on_neither_backend_stops_the_run() -> None:
    only = pytest.mark.only_on("postgresql", reason="checks PostgreSQL's own locking")
    with pytest.raises(pytest.UsageError, match="(?s)neither backend.*tests/test_x.py::pure"):
        collect("sqlite", [item("pure", ["tmp_path"], only)])
    with pytest.raises(pytest.UsageError, match="names no backend"):
        collect("sqlite", [item("typo", ["backend"], pytest.mark.only_on("postgres", reason=""))])


def test_every_journey_runs_in_every_mode_once_and_meets_both_backends() -> None:
    journeys = set()
    for path in sorted((Path(__file__).parent / "e2e").glob("test_*.py")):
        module = importlib.import_module(f"tests.e2e.{path.stem}")
        marks = getattr(module, "pytestmark", [])
        if any(mark.name == "journey" for mark in (marks if isinstance(marks, list) else [marks])):
            journeys.add(module.__name__)
    assert journeys and journeys == set(ON_POSTGRESQL)
    for journey in journeys:
        backends = {mode: journey_backend(journey, mode) for mode in MODES}
        assert set(backends.values()) == set(conftest.BACKENDS), journey
    # And each mode meets PostgreSQL in some journey (and SQLite in the others).
    assert set(ON_POSTGRESQL.values()) == set(MODES)
    with pytest.raises(pytest.UsageError, match="no mode for tests.e2e.test_new_journey"):
        journey_backend("tests.e2e.test_new_journey", "desktop")

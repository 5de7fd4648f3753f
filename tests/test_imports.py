"""The tracker's packages and top-level modules import on their own, in a fresh interpreter.

The order the suite imports modules in hides a circular import that a command started
another way meets first: `tracker --help` once failed this way while every test passed.
Each package and each module beside them is a way in (the command line, the app, the
worker, a migration); the modules inside a package are reached through them.
"""

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def modules() -> list[str]:
    found = ["tracker"]
    for path in sorted((ROOT / "tracker").iterdir()):
        if path.name in ("migrations", "__main__.py", "__init__.py"):
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            found.append(f"tracker.{path.name}")
        elif path.suffix == ".py":
            found.append(f"tracker.{path.stem}")
    return found


def import_alone(module: str) -> tuple[str, str]:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    return module, "" if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


@pytest.mark.sqlite_only
def test_each_module_imports_first_without_a_cycle() -> None:
    names = modules()
    assert "tracker.cli" in names and "tracker.items" in names and "tracker.tasks" in names
    with ThreadPoolExecutor(max_workers=4) as pool:
        failures = {module: said for module, said in pool.map(import_alone, names) if said}
    assert failures == {}


@pytest.mark.sqlite_only
def test_the_command_line_starts() -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-m", "tracker", "--help"],
        capture_output=True, text=True, cwd=ROOT, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "serve" in result.stdout and "worker" in result.stdout

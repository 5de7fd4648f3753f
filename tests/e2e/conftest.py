"""A real browser against a real server: Debian's Chromium, driven by Playwright.

The tracker is served by ``tracker serve`` (gunicorn) on a free local port, on
a database of its own made by ``tracker db upgrade`` and ``tracker seed``, as
``make run`` does. The server can be restarted on another day
(``TRACKER_TODAY``) so a journey can let time pass.

When a step fails, a screenshot and the HTML of every page the browser has
open are saved under ``test-artifacts/`` (or ``TRACKER_TEST_ARTIFACTS``).
"""

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.live import LiveTracker, PreparedDatabase
from tracker import PROJECT_ROOT

CHROMIUM = os.environ.get("TRACKER_CHROMIUM", "/usr/bin/chromium")
# Headless in a closed network: no background connections, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("TRACKER_TEST_ARTIFACTS", PROJECT_ROOT / "test-artifacts"))
# Two busy cores can make a page take seconds: wait for it rather than fail.
expect.set_options(timeout=15_000)

# How each journey is seen: a desktop browser, a phone, and a browser with
# JavaScript turned off (every form must still work).
MODES: dict[str, dict[str, Any]] = {
    "desktop": {"viewport": {"width": 1280, "height": 900}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
    "no-js": {"viewport": {"width": 1280, "height": 900}, "java_script_enabled": False},
}


# Each journey runs once in each mode, not once per mode on each backend: in one mode on
# PostgreSQL and in the others on SQLite. Each journey names a different mode here, so
# every journey meets both databases and every mode meets both.
ON_POSTGRESQL = {
    "tests.e2e.test_items_journey": "desktop",
    "tests.e2e.test_journeys": "phone",
    "tests.e2e.test_public_journey": "no-js",
}


def journey_backend(module: str, mode: str) -> str:
    if ON_POSTGRESQL.get(module) not in MODES:
        raise pytest.UsageError(f"ON_POSTGRESQL in tests/e2e/conftest.py has no mode for {module}")
    return "postgresql" if mode == ON_POSTGRESQL[module] else "sqlite"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Marks each journey step with the backend its mode runs on (tests/conftest.py deselects
    it on the other)."""
    for item in items:
        key = journey_key(item)
        if key is not None:
            backend = journey_backend(*key)
            reason = f"is a step of a journey in the mode it runs on {backend} (ON_POSTGRESQL)"
            item.add_marker(pytest.mark.only_on(backend, reason=reason))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():
        pytest.exit(
            f"Chromium was not found at {CHROMIUM}. `make test` installs Debian's chromium "
            "package; or install it with `apt-get install chromium`.",
            returncode=3,
        )
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture(scope="module", params=list(MODES))
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def live(
    mode: str,
    prepared_database: PreparedDatabase,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveTracker]:
    folder = tmp_path_factory.mktemp(f"live-{mode}")
    name = "e2e_" + re.sub(r"\W", "_", mode)
    databases = prepared_database.copy(folder, name)
    server = LiveTracker(folder, next(databases))
    try:
        yield server
    finally:
        server.stop()
        databases.close()


class Browsing:
    """The people of a journey, each in their own browser context (own cookies)."""

    def __init__(self, browser: Browser, live: LiveTracker, mode: str) -> None:
        self.browser = browser
        self.live = live
        self.mode = mode
        self.contexts: dict[str, BrowserContext] = {}
        self.pages: dict[str, Page] = {}

    def page(self, who: str) -> Page:
        if who not in self.pages:
            context = self.browser.new_context(
                base_url=self.live.base_url, accept_downloads=True, **MODES[self.mode]
            )
            context.set_default_timeout(15_000)
            self.contexts[who] = context
            self.pages[who] = context.new_page()
        return self.pages[who]

    def close(self) -> None:
        for context in self.contexts.values():
            context.close()


@pytest.fixture(scope="module")
def people(browser: Browser, live: LiveTracker, mode: str) -> Iterator[Browsing]:
    browsing = Browsing(browser, live, mode)
    yield browsing
    browsing.close()


# A journey is a sequence of steps: once one fails, the later ones of the same
# journey (module and mode) are skipped rather than failing for the same reason.
_failed_journeys: set[tuple[str, str]] = set()


def journey_key(item: pytest.Item) -> tuple[str, str] | None:
    callspec = getattr(item, "callspec", None)
    if item.get_closest_marker("journey") is None or callspec is None:
        return None
    return (item.module.__name__ if item.module else "", str(callspec.params.get("mode", "")))


def pytest_runtest_setup(item: pytest.Item) -> None:
    key = journey_key(item)
    if key in _failed_journeys:
        pytest.skip("an earlier step of this journey failed")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        key = journey_key(item)
        if key:
            _failed_journeys.add(key)
        save_artifacts(item)
    return report


def save_artifacts(item: pytest.Item) -> None:
    """A screenshot and the HTML of every open page, for the step that failed."""
    funcargs = getattr(item, "funcargs", {})
    browsing = funcargs.get("people")
    pages: dict[str, Page] = dict(browsing.pages) if isinstance(browsing, Browsing) else {}
    if isinstance(funcargs.get("page"), Page):
        pages["page"] = funcargs["page"]
    live = funcargs.get("live")
    if not pages and not isinstance(live, LiveTracker):
        return
    folder = ARTIFACTS / re.sub(r"[^\w.-]+", "_", item.nodeid)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    for who, page in pages.items():
        try:
            page.screenshot(path=str(folder / f"{who}.png"), full_page=True)
            (folder / f"{who}.html").write_text(page.content())
            (folder / f"{who}.url").write_text(page.url + "\n")
        except Exception as error:  # noqa: BLE001 - a closed page must not hide the failure
            (folder / f"{who}.error").write_text(repr(error))
    if isinstance(live, LiveTracker) and live.log.exists():
        shutil.copyfile(live.log, folder / "server.log")
    item.add_report_section("call", "artifacts", f"Saved a screenshot and the HTML in {folder}")

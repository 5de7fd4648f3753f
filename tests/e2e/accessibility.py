"""Pages checked in the browser with axe-core, and for a layout that fits a phone."""

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

BLOCKING = {"serious", "critical"}
_axe = Axe()


def describe(violation: dict[str, Any]) -> str:
    targets = ", ".join(str(node.get("target")) for node in violation.get("nodes", [])[:5])
    return f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}"


def check_page(page: Page, mode: str, what: str) -> None:
    """No serious or critical axe-core violation; on a phone, nothing wider than the screen.

    With JavaScript turned off the page cannot run axe-core; the same pages are
    checked in the other modes.
    """
    if mode == "no-js":
        return
    results = _axe.run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
    assert not blocking, f"{what} ({page.url}):\n" + "\n".join(describe(v) for v in blocking)
    if mode == "phone":
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{what} ({page.url}) is {overflow}px wider than a phone screen"

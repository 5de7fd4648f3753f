"""A failed browser step leaves a screenshot and the page's HTML behind."""

from types import SimpleNamespace

from playwright.sync_api import Browser

from tests.e2e import conftest


def test_a_failure_saves_a_screenshot_and_the_html_of_each_open_page(
    browser: Browser, tmp_path, monkeypatch
):
    monkeypatch.setattr(conftest, "ARTIFACTS", tmp_path)
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_content("<h1>Half-way through a journey</h1>")
        sections: list[tuple[str, str, str]] = []
        item = SimpleNamespace(
            nodeid="tests/e2e/test_journeys.py::test_step[phone]",
            funcargs={"page": page},
            add_report_section=lambda *section: sections.append(section),
        )
        conftest.save_artifacts(item)  # type: ignore[arg-type]
    finally:
        context.close()

    folder = tmp_path / "tests_e2e_test_journeys.py_test_step_phone_"
    assert (folder / "page.png").read_bytes().startswith(b"\x89PNG")
    assert "Half-way through a journey" in (folder / "page.html").read_text()
    assert sections and str(folder) in sections[0][2]

"""Journey: the Commission's reports made public, and asked for again each quarter.

Staff publish the Police Commission request with one released report and embargo a
second until next week. Signed out, a visitor finds the first report by a word inside
it, in the public search and in the feed, and reaches neither the second, nor the
request's notes, nor anything private, by any address; a week later the second is
public. A quarterly series drafts the next quarter's request on the quarter's first
day, and the report the Chief owes the Commission for it shows on the board as not
received. In every mode: on a phone and without JavaScript the public pages must work,
and axe-core finds nothing serious on them.
"""

import re
from datetime import date
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from weasyprint import HTML

from tests.e2e.accessibility import check_page
from tests.e2e.conftest import Browsing
from tests.e2e.test_mail_journey import TEMPLATE, create_user, draft_commission_letter, sign_in
from tests.live import LiveTracker
from tests.mailservers import SmtpServer

pytestmark = pytest.mark.journey

STAFF = ("Sam Staff", "sam@coalition.example.org", "a long staff pass phrase")
COMMISSION = "Los Angeles Board of Police Commissioners"
# Words that stand in one place each: the first report, the second, the private note.
FIRST_WORD = "quinquagenarian"
SECOND_WORD = "zygodactylous"
NOTE_WORD = "sesquipedalian"
FIRST = "first-quarter-report"
SECOND = "second-quarter-report"
CHIEF_REPORT = "The Chief of Police's report to the Board of Police Commissioners"
SUMMARY = "The Chief's reports to the Commission on requests by ICE to collaborate."


def report(folder: Path, name: str, word: str) -> Path:
    path = folder / f"{name}.pdf"
    path.write_bytes(
        HTML(
            string=f"<h1>Report to the Board of Police Commissioners</h1>"
            f"<p>Requests by federal immigration agencies to collaborate: {word}.</p>"
        ).write_pdf()
    )
    return path


def wait_for_text(page: Page) -> None:
    """The worker reads each file's text in a moment: reload until none is being read."""
    for _ in range(60):
        if "Reading text" not in page.locator("main").inner_text():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError("the documents' text was not read")


@pytest.fixture(scope="module")
def reference(live: LiveTracker, people: Browsing, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Police Commission request, sent November 2 and answered November 20 with two
    reports; a note on it that must stay private."""
    create_user(live, STAFF, "staff")
    live.start(date(2026, 11, 24))
    staff = people.page("staff")
    sign_in(staff, STAFF)
    reference = draft_commission_letter(staff, STAFF, leave_out=COMMISSION)
    staff.get_by_role("link", name=TEMPLATE).click()
    staff.get_by_role("button", name="Finalize").click()
    staff.get_by_label("Sent on").fill("2026-11-02")
    staff.get_by_label("How it was sent").select_option(label="Mail")
    staff.get_by_role("button", name="Mark sent").click()
    staff.goto(f"/requests/{reference}")
    staff.get_by_label("Add a note").fill(f"Private: the clerk said {NOTE_WORD} on the phone.")
    staff.get_by_role("button", name="Add note").click()
    folder = tmp_path_factory.mktemp("released")
    files = [str(report(folder, FIRST, FIRST_WORD)), str(report(folder, SECOND, SECOND_WORD))]
    staff.get_by_role("link", name="Log a response").click()
    staff.get_by_label("What the agency sent").select_option(label="Partial release")
    staff.get_by_label("Received on").fill("2026-11-20")
    staff.locator("fieldset#item-1").get_by_role("combobox").select_option(label="Released in full")
    staff.get_by_label("Files", exact=True).set_input_files(files)
    staff.get_by_role("button", name="Log the response").click()
    expect(staff).to_have_url(re.compile(rf"/requests/{reference}(#.*)?$"))
    wait_for_text(staff)
    return reference


def test_staff_publish_the_request_one_report_now_and_one_under_an_embargo(
    reference: str, people: Browsing
) -> None:
    staff = people.page("staff")
    staff.goto(f"/requests/{reference}")
    room = staff.locator("section#public-room")
    expect(room.locator("#public-state")).to_contain_text("Not public")
    room.get_by_label(re.compile("summary", re.IGNORECASE)).fill(SUMMARY)
    room.get_by_role("button", name="Publish this request").click()
    room = staff.locator("section#public-room")
    expect(room.locator("#public-state")).to_contain_text("Public since")

    room.get_by_role("link", name=f"Review and publish {FIRST}").click()
    expect(staff.locator("h1")).to_contain_text(FIRST)
    expect(staff.locator("#findings-count")).to_contain_text("Nothing that looks personal")
    staff.get_by_label("Publish now").check()
    staff.get_by_role("button", name="Publish the document").click()
    expect(staff).to_have_url(re.compile(rf"/requests/{reference}"))

    staff.locator("section#public-room").get_by_role(
        "link", name=f"Review and publish {SECOND}"
    ).click()
    staff.get_by_label("Publish on a date (embargo)").check()
    # A day already past is refused at the field, and the choice is kept.
    dated = staff.get_by_label("Public from")
    dated.fill("2026-11-20")
    staff.get_by_role("button", name="Publish the document").click()
    expect(staff.locator("#publish-document")).to_contain_text("after today")
    dated = staff.get_by_label("Public from")
    dated.fill("2026-12-01")
    staff.get_by_role("button", name="Publish the document").click()

    rows = staff.locator("section#public-room tbody tr")
    expect(rows.filter(has_text=FIRST)).to_contain_text("Public since")
    expect(rows.filter(has_text=SECOND)).to_contain_text("Embargoed until")
    expect(staff.locator("#timeline, section.timeline, main").first).to_contain_text("Sam Staff")


def public_pages_hold_nothing_private(page: Page) -> None:
    text = page.content()
    for private in (NOTE_WORD, SECOND_WORD, SECOND, "sam@coalition.example.org"):
        assert private not in text, f"{private!r} is on the public page {page.url}"


def test_a_visitor_finds_the_first_report_by_a_word_inside_it(
    reference: str, people: Browsing, mode: str
) -> None:
    visitor = people.page("visitor")
    visitor.goto("/public/")
    expect(visitor.locator("h1")).to_have_text("Published requests")
    check_page(visitor, mode, "the public list")
    public_pages_hold_nothing_private(visitor)
    visitor.get_by_role("link", name="Commission reports on ICE collaboration").click()
    expect(visitor.get_by_text(SUMMARY)).to_be_visible()
    documents = visitor.get_by_role("list", name="Released documents")
    expect(documents.get_by_role("link")).to_have_count(1)
    expect(documents).to_contain_text(FIRST)
    check_page(visitor, mode, "the public request")
    public_pages_hold_nothing_private(visitor)
    assert reference not in visitor.content()

    visitor.get_by_role("navigation", name="Public records room").get_by_role(
        "link", name="Search"
    ).click()
    visitor.get_by_label("Words").fill(FIRST_WORD)
    visitor.get_by_role("button", name="Search").click()
    results = visitor.get_by_role("list", name="Results")
    expect(results.get_by_role("link")).to_have_count(1)
    check_page(visitor, mode, "the public search")
    results.get_by_role("link").first.click()
    expect(visitor.locator("h1")).to_contain_text(FIRST)
    expect(visitor.locator("main")).to_contain_text(FIRST_WORD)
    check_page(visitor, mode, "the public document")
    public_pages_hold_nothing_private(visitor)
    with visitor.expect_download() as download:
        visitor.get_by_role("link", name="Download").click()
    assert download.value.path().read_bytes().startswith(b"%PDF-")
    # No page of the room sets a cookie: the visitor has none.
    assert visitor.context.cookies() == []

    feed = visitor.request.get("/public/feed.atom")
    assert feed.ok and "atom" in feed.headers["content-type"]
    assert FIRST in feed.text() and SECOND not in feed.text()


def test_the_embargoed_report_the_notes_and_the_private_pages_are_out_of_reach(
    reference: str, people: Browsing, live: LiveTracker
) -> None:
    visitor = people.page("visitor")
    visitor.goto("/public/search")
    for word in (SECOND_WORD, NOTE_WORD):
        visitor.get_by_label("Words").fill(word)
        visitor.get_by_role("button", name="Search").click()
        expect(visitor.locator("#no-results")).to_be_visible()
    # The staff page links each public page: the embargoed one has none yet. Every
    # private address, and the private document's number, asks the visitor to sign in.
    staff = people.page("staff")
    staff.goto(f"/requests/{reference}")
    second = staff.locator("section#public-room tbody tr").filter(has_text=SECOND)
    private = second.get_by_role("link", name=SECOND, exact=True).get_attribute("href")
    assert private and second.get_by_role("link", name="public page").count() == 0
    number = private.rstrip("/").rsplit("/", 1)[-1]
    for path in (
        private,
        f"{private}/download",
        f"/requests/{reference}",
        f"/public/documents/{number}",
        f"/public/documents/{number}/download",
        f"/public/requests/{reference}",
    ):
        answer = visitor.request.get(live.url(path), max_redirects=0)
        assert answer.status in (302, 303, 404), f"{path}: {answer.status}"
        assert SECOND_WORD not in answer.text() and NOTE_WORD not in answer.text(), path


def test_a_week_later_the_embargoed_report_is_public(
    reference: str, people: Browsing, live: LiveTracker, mode: str
) -> None:
    live.restart(date(2026, 12, 1))
    visitor = people.page("visitor")
    visitor.goto("/public/")
    visitor.get_by_role("link", name="Commission reports on ICE collaboration").click()
    documents = visitor.get_by_role("list", name="Released documents")
    expect(documents.get_by_role("link")).to_have_count(2)
    visitor.get_by_role("navigation", name="Public records room").get_by_role(
        "link", name="Search"
    ).click()
    visitor.get_by_label("Words").fill(SECOND_WORD)
    visitor.get_by_role("button", name="Search").click()
    visitor.get_by_role("list", name="Results").get_by_role("link").first.click()
    expect(visitor.locator("main")).to_contain_text(SECOND_WORD)
    assert NOTE_WORD not in visitor.content()
    feed = visitor.request.get("/public/feed.atom")
    assert SECOND in feed.text()


def test_staff_set_the_request_to_repeat_every_quarter_and_publish_the_series(
    reference: str, people: Browsing
) -> None:
    staff = people.page("staff")
    # The tracker's today moved a week on since staff signed in: they sign in afresh.
    staff.context.clear_cookies()
    sign_in(staff, STAFF)
    staff.goto(f"/requests/{reference}")
    staff.get_by_role("link", name="Repeat every …").click()
    staff.get_by_label("Every quarter").check()
    staff.get_by_label("Assignee").select_option(label="Sam Staff")
    report_choice = staff.get_by_label("Report the agency must produce each period")
    named = report_choice.locator("option", has_text=CHIEF_REPORT).first.get_attribute("value")
    report_choice.select_option(value=named)
    staff.get_by_role("button", name="Create the series").click()
    # The request asked for records to October 31: the series picks up on November 1.
    periods = staff.locator("section[aria-labelledby=periods-heading]")
    expect(periods).to_contain_text("November 1, 2026 – December 31, 2026")
    staff.get_by_role("button", name="Publish in the public room").click()
    expect(staff.locator("main")).to_contain_text("its public page")


def test_on_the_quarters_first_day_the_next_request_is_drafted_and_the_report_is_owed(
    reference: str, people: Browsing, live: LiveTracker, smtp_server: SmtpServer, mode: str
) -> None:
    smtp_server.handler.reset()
    settings = smtp_server.settings()
    live.env.update({f"TRACKER_{key}": str(value) for key, value in settings.items()})
    live.env["TRACKER_MAIL_FROM"] = "records@coalition.example.org"
    live.restart(date(2027, 1, 1))
    # What the worker's daily job runs, at once rather than at twenty past midnight.
    said = live.command("series", "run")
    assert "1" in said, said
    [mail] = smtp_server.received
    assert mail.recipients == ["sam@coalition.example.org"]

    staff = people.page("staff")
    staff.context.clear_cookies()
    sign_in(staff, STAFF)
    staff.get_by_role("navigation", name="Main").get_by_role("link", name="Due & overdue").click()
    staff.get_by_role("link", name=re.compile("^Reports not received")).click()
    owed = staff.locator("main table tbody tr").filter(has_text="December 31, 2026")
    expect(owed).to_contain_text("has not arrived")
    expect(owed).to_contain_text(CHIEF_REPORT)
    owed.get_by_role("link", name=re.compile(r"LA-\d{4}-\d{4}")).click()
    expect(staff.locator("dt:text-is('Status') + dd")).to_contain_text("Draft")
    drafted = staff.locator(".reference").inner_text().strip()
    assert drafted != reference
    staff.get_by_role("link", name=TEMPLATE).click()
    expect(staff.locator("main")).to_contain_text("November 1, 2026")
    expect(staff.locator("main")).to_contain_text("December 31, 2026")

    visitor = people.page("visitor")
    visitor.goto("/public/")
    visitor.get_by_role("list", name="Requests made again each period").get_by_role(
        "link"
    ).first.click()
    expect(visitor.locator("#periods")).to_contain_text("Not received")
    check_page(visitor, mode, "the public series")
    public_pages_hold_nothing_private(visitor)
    assert drafted not in visitor.content()

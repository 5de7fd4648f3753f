"""Journey: a request answered item by item, followed up on what is missing, and scored.

An advocate drafts the Police Commission letter to LAPD, whose numbered paragraphs
become the request's items; staff log one installment that releases item 1, withholds
item 2 under § 7923.600 and finds no records for item 3; the request shows each item's
state; the follow-up letter names item 2 with its exemption and leaves items 1 and 3 out;
LAPD's scorecard shows the withholding, the exemption and the days to the first
determination. In every mode: on a phone and without JavaScript the forms must work too.
"""

import io
import re
from datetime import date

import pytest
from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader
from weasyprint import HTML

from tests.e2e.conftest import Browsing
from tests.e2e.test_mail_journey import TEMPLATE, create_user, draft_commission_letter, sign_in
from tests.live import LiveTracker

pytestmark = pytest.mark.journey

STAFF = ("Sam Staff", "sam@coalition.example.org", "a long staff pass phrase")
ADVOCATE = ("Alma Advocate", "alma@coalition.example.org", "a long advocate pass phrase")
LAPD = "Los Angeles Police Department"
COMMISSION = "Los Angeles Board of Police Commissioners"
WITHHELD = "Gov. Code § 7923.600"


def text_of(locator: Locator) -> str:
    return " ".join(locator.inner_text().split())


def item(page: Page, number: int) -> Locator:
    """An item's entry in the request's list of items."""
    heading = page.locator("strong", has_text=re.compile(rf"^Item {number}$"))
    return page.locator("section#items ol.items > li").filter(has=heading)


@pytest.fixture(scope="module")
def reference(live: LiveTracker, people: Browsing) -> str:
    """The advocate's request, drafted and sent to LAPD on November 2."""
    create_user(live, STAFF, "staff")
    create_user(live, ADVOCATE, "advocate")
    live.start(date(2026, 11, 24))
    page = people.page("advocate")
    sign_in(page, ADVOCATE)
    return draft_commission_letter(page, ADVOCATE, leave_out=COMMISSION)


def test_the_drafted_letters_numbered_paragraphs_are_the_requests_items(
    reference: str, people: Browsing
) -> None:
    page = people.page("advocate")
    expect(page).to_have_url(re.compile(rf"/requests/{reference}$"))
    items = page.locator("section#items ol.items > li")
    assert items.count() >= 4, text_of(page.locator("section#items"))
    for number in range(1, items.count() + 1):
        expect(item(page, number)).to_contain_text("Pending")
    page.get_by_role("link", name=TEMPLATE).click()
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_text("The letter is final and ready to send.")).to_be_visible()
    page.get_by_label("Sent on").fill("2026-11-02")
    page.get_by_label("How it was sent").select_option(label="Mail")
    page.get_by_role("button", name="Mark sent").click()
    page.goto(f"/requests/{reference}")
    expect(page.locator("dt:text-is('Status') + dd")).to_contain_text("Sent")


def test_staff_log_an_installment_that_answers_three_items_differently(
    reference: str, people: Browsing, tmp_path_factory: pytest.TempPathFactory
) -> None:
    report = tmp_path_factory.mktemp("released") / "first-quarter-report.pdf"
    report.write_bytes(
        HTML(string="<p>Report to the Commission, first quarter of 2026.</p>").write_pdf()
    )
    staff = people.page("staff")
    sign_in(staff, STAFF)
    staff.goto(f"/requests/{reference}")
    staff.get_by_role("link", name="Log a response").click()
    staff.get_by_label("What the agency sent").select_option(label="Partial release")
    staff.get_by_label("Received on").fill("2026-11-20")
    answers = {1: "Released in full", 2: "Withheld", 3: "No records"}
    for number, outcome in answers.items():
        fieldset = staff.locator(f"fieldset#item-{number}")
        fieldset.get_by_role("combobox").select_option(label=outcome)
    staff.locator("fieldset#item-2").get_by_label(re.compile(r"7923\.600")).check()
    staff.get_by_label("One installment of a rolling production").check()
    staff.get_by_label("Next installment promised by").fill("2026-12-20")
    staff.get_by_label("Files", exact=True).set_input_files(str(report))
    staff.get_by_role("button", name="Log the response").click()

    expect(staff).to_have_url(re.compile(rf"/requests/{reference}(#.*)?$"))
    expect(item(staff, 1)).to_contain_text("Released in full")
    expect(
        item(staff, 1).get_by_role("link", name=re.compile("first-quarter-report"))
    ).to_be_visible()
    expect(item(staff, 2)).to_contain_text("Withheld")
    expect(item(staff, 2)).to_contain_text("7923.600")
    expect(item(staff, 3)).to_contain_text("No records")
    expect(item(staff, 4)).to_contain_text("Pending")
    expect(staff.locator("dt:text-is('Status') + dd")).to_contain_text("Partially fulfilled")
    expect(staff.locator("dt:text-is('Records promised by') + dd")).to_have_text("Sun Dec 20, 2026")


def test_the_follow_up_names_only_what_is_missing(reference: str, people: Browsing) -> None:
    staff = people.page("staff")
    staff.goto(f"/requests/{reference}")
    descriptions = {
        number: text_of(item(staff, number).locator("p.prose").first) for number in (1, 2, 3, 4)
    }
    staff.get_by_role("link", name="Draft a letter").click()
    staff.locator("main").get_by_role(
        "link", name=re.compile("Follow-up on an overdue")
    ).first.click()
    staff.get_by_role("button", name=re.compile("^Save")).click()
    with staff.expect_download() as download:
        staff.get_by_role("link", name="Download PDF").click()
    pages = PdfReader(io.BytesIO(download.value.path().read_bytes())).pages
    letter = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert reference in letter
    opening = re.compile(r"\W+")
    flat = opening.sub(" ", letter)

    def named(description: str) -> bool:
        return opening.sub(" ", description)[:60] in flat

    assert named(descriptions[2]) and named(descriptions[4]), letter
    assert not named(descriptions[1]) and not named(descriptions[3]), letter
    assert f"(withheld; the exemptions cited: {WITHHELD}; due November 12, 2026)" in letter
    # What is asked is a determination on what is still open, not on the whole request.
    assert "for each item still open, send the written determination" in letter


def test_lapds_scorecard_shows_the_withholding_its_exemption_and_the_days(
    reference: str, people: Browsing
) -> None:
    staff = people.page("staff")
    staff.goto("/agencies")
    staff.get_by_role("link", name=re.compile(LAPD)).first.click()
    staff.get_by_role("link", name=re.compile("scorecard", re.IGNORECASE)).first.click()
    expect(staff.locator("h1")).to_contain_text(LAPD)

    def row(table: str, heading: str) -> Locator:
        return staff.locator(f"#{table}-table tr").filter(
            has=staff.get_by_role("rowheader", name=heading, exact=True)
        )

    # Sent November 2, answered in part November 20: 18 days, to the first determination
    # and (the installment released records) to the last release so far.
    expect(row("days", "To the first determination").locator("td")).to_have_text(["1", "18", "18"])
    expect(row("days", "To the last release").locator("td")).to_have_text(["1", "18", "18"])
    for state, count in (("Released in full", "1"), ("Withheld", "1"), ("No records", "1")):
        expect(row("items", state).locator("td").first).to_have_text(count)
    cited = staff.locator("#exemptions-table tbody tr")
    expect(cited).to_have_count(1)
    expect(cited.first).to_contain_text("7923.600")
    expect(cited.first.locator("td").last).to_have_text("1")
    # Each chart beside its table is an SVG drawn on the server, which the browser loads.
    chart = staff.locator("#days img")
    source = chart.get_attribute("src")
    assert source
    answer = staff.request.get(source)
    assert answer.ok and answer.headers["content-type"].startswith("image/svg+xml")
    assert "18" in answer.text()

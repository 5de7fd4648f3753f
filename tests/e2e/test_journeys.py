"""The three users' journeys, end to end, in Chromium, as a person would take them.

The steps run in order and share one server and database per mode (desktop,
phone, JavaScript off). The server starts on Monday Nov 9, 2026; before the
staff member's morning it restarts on Tuesday Nov 17, 2026.
"""

import csv
import io
import re
import time
from datetime import date
from pathlib import Path

import pytest
from icalendar import Calendar
from playwright.sync_api import Download, Page, expect
from pypdf import PdfReader

from tests.e2e.accessibility import check_page
from tests.e2e.conftest import Browsing
from tests.live import LiveTracker

pytestmark = pytest.mark.journey

FIRST_DAY = date(2026, 11, 9)
LATER = date(2026, 11, 17)
TEAM = {
    "admin": ("Ada Admin", "ada@coalition.example", "admin"),
    "advocate": ("Alma Advocate", "alma@coalition.example", "Advocate"),
    "staff": ("Sam Staff", "sam@coalition.example", "Staff"),
    "viewer": ("Vera Viewer", "vera@coalition.example", "Viewer"),
}
PASSWORDS = {who: f"{who} has a long passphrase 2026" for who in TEAM}
# The staff member's account gets a password the admin types; the others choose their own
# with an invitation link.
STARTER_PASSWORD = "a starter phrase the admin typed"
INVITED = ("advocate", "viewer")
TITLE = "Commission reports on ICE collaboration requests"
# A word that appears only inside the second released PDF.
RARE_WORD = "quetzalcoatlus"


class Journey:
    """What the steps learn and pass on: references, addresses."""

    references: dict[str, str]
    feed_url: str


@pytest.fixture(scope="module")
def journey(live: LiveTracker) -> Journey:
    live.start(FIRST_DAY)
    state = Journey()
    state.references = {}
    return state


def sign_in(page: Page, who: str, mode: str, password: str | None = None) -> None:
    page.goto("/login")
    check_page(page, mode, "sign in")
    page.get_by_label("Email").fill(TEAM[who][1])
    page.get_by_label("Password").fill(password or PASSWORDS[who])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def choose_password(page: Page, who: str) -> None:
    page.get_by_label("New password", exact=True).fill(PASSWORDS[who])
    page.get_by_label("Repeat the new password").fill(PASSWORDS[who])


def pdf_text(download: Download) -> str:
    reader = PdfReader(download.path())
    return "\n".join(page.extract_text() for page in reader.pages)


def nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name).click()


def released_pdf(*paragraphs: str) -> bytes:
    """A PDF with a real text layer, as an agency's release would have."""
    from weasyprint import HTML

    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return HTML(string=f"<html><body>{body}</body></html>").write_pdf()


def test_first_run_creates_the_admin_who_adds_the_team(
    people: Browsing, journey: Journey, mode: str
) -> None:
    page = people.page("admin")
    page.goto("/")
    expect(page.get_by_role("heading", name="Set up Records Tracker")).to_be_visible()
    check_page(page, mode, "first-run setup")
    name, email, _ = TEAM["admin"]
    page.get_by_label("Your name").fill(name)
    page.get_by_label("Email").fill(email)
    page.get_by_label("New password", exact=True).fill(PASSWORDS["admin"])
    page.get_by_label("Repeat the new password").fill(PASSWORDS["admin"])
    page.get_by_role("button", name="Create the admin account").click()
    expect(page.get_by_role("heading", name="Users")).to_be_visible()
    check_page(page, mode, "users")
    # Setting up signed the admin in, and that counts as a sign-in.
    admin_row = page.get_by_role("row").filter(has_text=email)
    expect(admin_row).to_contain_text(re.compile(r"\w{3} \d+, \d{4}, \d+:\d\d [ap]m"))
    expect(admin_row).not_to_contain_text("never")

    for who in ("advocate", "staff", "viewer"):
        name, email, role = TEAM[who]
        page.get_by_role("link", name="Add a user").click()
        check_page(page, mode, "add a user")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Email").fill(email)
        page.get_by_label(re.compile(f"^{role}:")).check()
        if who not in INVITED:
            page.get_by_label("Initial password").fill(STARTER_PASSWORD)
            page.get_by_role("button", name="Add user").click()
            expect(page.get_by_role("link", name=name)).to_be_visible()
            continue
        # No password: the admin gets a link to give the person, shown once.
        page.get_by_role("button", name="Add user").click()
        expect(page.get_by_role("heading", name=f"Invitation link for {name}")).to_be_visible()
        check_page(page, mode, "invitation link")
        link = page.get_by_label(f"Invitation link for {email}").input_value()
        assert "/invitation/" in link, link

        # The person opens it in their own browser, without an account, and chooses a password.
        theirs = people.page(who)
        theirs.goto(link)
        expect(theirs.get_by_role("heading", name="Join Records Tracker")).to_be_visible()
        check_page(theirs, mode, "invitation")
        expect(theirs.get_by_label("Your email")).to_have_value(email)
        choose_password(theirs, who)
        theirs.get_by_role("button", name="Set my password and sign in").click()
        expect(theirs.get_by_text(f"Welcome, {name}.")).to_be_visible()
        expect(theirs.get_by_role("button", name="Sign out")).to_be_visible()
        # The link was for once.
        assert theirs.goto(link).status == 410
        expect(theirs.get_by_text("This link has already been used")).to_be_visible()
        page.get_by_role("link", name="Back to the users").click()

    # The viewer comes back later and signs in with the password they chose.
    people.page("viewer").get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name=TEAM["advocate"][0]).click()
    expect(page.get_by_text(re.compile("^Invitation link made by Ada Admin on"))).to_contain_text(
        "used on"
    )

    # The setup page is gone for good.
    assert page.goto("/setup").status == 404


def test_the_advocate_drafts_one_request_to_two_agencies_and_sends_both(
    people: Browsing, journey: Journey, mode: str
) -> None:
    # Still signed in from choosing a password with the invitation.
    page = people.page("advocate")
    page.goto("/")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    check_page(page, mode, "home")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Letters").click()
    check_page(page, mode, "letters")
    page.get_by_role("link", name="Police Commission reports on ICE/CBP/HSI requests").click()
    check_page(page, mode, "letter template")
    page.get_by_role("link", name=re.compile("^Draft")).first.click()

    page.get_by_label("Title").fill(TITLE)
    # The letter suggests both agencies: they start ticked.
    expect(page.get_by_label("Los Angeles Police Department", exact=False).first).to_be_checked()
    expect(page.get_by_label("Board of Police Commissioners", exact=False).first).to_be_checked()
    page.get_by_label("Records from").fill("2024-01-01")
    page.get_by_label("Records to").fill("2026-10-31")
    page.get_by_label("Your name", exact=False).first.fill(TEAM["advocate"][0])
    page.get_by_role("button", name="Preview").click()
    preview = page.get_by_role("region", name="Preview")
    expect(preview).to_contain_text("California Public Records Act")
    expect(preview).to_contain_text("January 1, 2024")
    check_page(page, mode, "letter draft with preview")
    page.get_by_role("button", name="Save").click()
    saved = re.compile(r"Saved the draft: LA-2026-\d{4}, LA-2026-\d{4}")
    expect(page.get_by_text(saved)).to_be_visible()
    check_page(page, mode, "request")

    first = page.locator(".reference").inner_text().strip()
    siblings = page.get_by_text("Drafted together with")
    other = re.search(r"LA-2026-\d{4}", siblings.inner_text().replace(first, ""))
    assert other, siblings.inner_text()
    references = sorted([first, other.group(0)])

    for reference in references:
        page.goto(f"/requests/{reference}")
        agency = page.locator("dt:text-is('Agency') + dd").inner_text()
        key = "commission" if "Commission" in agency else "lapd"
        journey.references[key] = reference
        page.get_by_role("link", name="Police Commission reports on ICE/CBP/HSI requests").click()
        page.get_by_role("button", name="Finalize").click()
        expect(page.get_by_text("The letter is final and ready to send.")).to_be_visible()
    assert set(journey.references) == {"lapd", "commission"}

    page.goto(f"/requests/{journey.references['lapd']}")
    with page.expect_download() as download:
        page.get_by_role("link", name="Print all 2 letters as one PDF").click()
    text = pdf_text(download.value)
    for reference in references:
        assert f"Reference {reference}" in text
    assert "Los Angeles Police Department" in text
    assert "Board of Police Commissioners" in text
    assert "Page 1 of" in text

    # LAPD's letter went by email last Monday; the Commission's by mail today.
    for key, sent_on, channel in (("lapd", "2026-11-02", "Email"), ("commission", "", "Mail")):
        page.goto(f"/requests/{journey.references[key]}")
        page.get_by_role("link", name="Police Commission reports on ICE/CBP/HSI requests").click()
        check_page(page, mode, "final letter")
        if sent_on:
            page.get_by_label("Sent on").fill(sent_on)
        page.get_by_label("How it was sent").select_option(label=channel)
        page.get_by_role("button", name="Mark sent").click()
        expect(page.get_by_text(re.compile("^Marked sent on"))).to_be_visible()

    page.goto(f"/requests/{journey.references['lapd']}")
    expect(page.get_by_text("Determination due Thu Nov 12, 2026.")).to_be_visible()


def test_staff_find_the_overdue_request_draft_the_follow_up_and_subscribe(
    people: Browsing, live: LiveTracker, journey: Journey, mode: str
) -> None:
    live.restart(LATER)
    lapd, commission = journey.references["lapd"], journey.references["commission"]
    page = people.page("staff")
    # First sign-in with the password the admin typed: choose one's own before anything else.
    sign_in(page, "staff", mode, STARTER_PASSWORD)
    expect(page.get_by_role("heading", name="Choose your own password")).to_be_visible()
    check_page(page, mode, "choose your own password")
    page.goto("/due")
    expect(page.get_by_role("heading", name="Choose your own password")).to_be_visible()
    page.get_by_label("Current password").fill(STARTER_PASSWORD)
    choose_password(page, "staff")
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible()
    nav(page, "Due & overdue")
    expect(page.get_by_text("As of Tue Nov 17, 2026.")).to_be_visible()
    check_page(page, mode, "due and overdue")
    overdue = page.get_by_role("row").filter(has_text=lapd)
    expect(overdue).to_contain_text("No determination 5 days after the Nov 12 deadline.")
    expect(overdue).to_contain_text("Follow-up due now (since Fri Nov 13, 2026)")
    expect(page.get_by_role("row").filter(has_text=commission)).to_have_count(0)

    page.get_by_role("link", name=re.compile("^Due in the next 7 days")).click()
    due_soon = page.get_by_role("row").filter(has_text=commission)
    expect(due_soon).to_contain_text(re.compile(r"Determination due in \d days? \(Nov \d+\)"))

    # Filter and sort that section with the page's own form, then export what it shows.
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Agency").select_option(
        label="Los Angeles Board of Police Commissioners (Police Commission)"
    )
    filters.get_by_label("Sort by").select_option(label="Reference")
    filters.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", name="Due in the next 7 days")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Sections").locator("[aria-current=page]")
    ).to_contain_text("Due in the next 7 days")
    expect(filters.get_by_label("Sort by")).to_have_value("reference")
    expect(due_soon).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export this view as CSV").click()
    assert download.value.suggested_filename == "due_soon-2026-11-17.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(row["reference"], row["agency"]) for row in rows] == [
        (commission, "Los Angeles Board of Police Commissioners (Police Commission)")
    ]

    # Take the overdue one, then chase it: the tabs keep the filters, the main link does not.
    nav(page, "Due & overdue")
    overdue.get_by_role("link", name=lapd).click()
    page.get_by_role("link", name="Edit", exact=True).click()
    check_page(page, mode, "edit a request")
    page.get_by_label("Assignee").select_option(label=TEAM["staff"][0])
    page.get_by_role("button", name="Save").click()
    expect(page.locator("dt:text-is('Assignee') + dd")).to_have_text(TEAM["staff"][0])

    nav(page, "Due & overdue")
    overdue.get_by_role("link", name="Draft follow-up").click()
    expect(page.get_by_label("Date of the original request")).to_have_value("2026-11-02")
    # The missed deadline is the one the tracker computed, shown on the form, not typed.
    expect(page.locator("#computed-deadline")).to_contain_text("Thu Nov 12, 2026")
    expect(page.get_by_label("How the original request was sent")).to_have_value("sent by email")
    # Signed as the request went out, by the advocate, though staff draft it.
    expect(page.get_by_label("Your name")).to_have_value(TEAM["advocate"][0])
    check_page(page, mode, "follow-up draft")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved the draft letter.")).to_be_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert "DRAFT" in download.value.suggested_filename
    text = " ".join(pdf_text(download.value).split())
    assert "Overdue Public Records Act request of November 2, 2026" in text
    assert "dated November 2, 2026, and sent by email" in text
    assert f"Sincerely, {TEAM['advocate'][0]}" in text and TEAM["staff"][0] not in text
    assert "That deadline was November 12, 2026, and it has passed." in text
    assert f"Reference {lapd}" in text

    nav(page, "Due & overdue")
    page.get_by_role("link", name="Your deadlines in your calendar").click()
    page.get_by_role("button", name="Turn the feed on").click()
    # Staff have a feed of their own requests, of all open ones and of the unassigned.
    feed_url = page.get_by_label("Your requests").input_value()
    expect(page.get_by_label("All open requests")).to_have_value(f"{feed_url}?show=all")
    check_page(page, mode, "calendar feed")
    feed = page.request.get(feed_url)
    assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
    events = {
        str(event["SUMMARY"]): event.decoded("DTSTART")
        for event in Calendar.from_ical(feed.body()).walk("VEVENT")
    }
    due = [day for summary, day in events.items() if lapd in summary]
    assert due == [date(2026, 11, 12)], events


def test_the_advocate_logs_a_partial_release_and_finds_a_word_inside_it(
    people: Browsing, journey: Journey, mode: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    commission = journey.references["commission"]
    folder = tmp_path_factory.mktemp("release")
    cover = folder / "cover-letter.pdf"
    cover.write_bytes(released_pdf("Enclosed are the records located so far."))
    memo = folder / "commission-memo.pdf"
    memo.write_bytes(
        released_pdf("Memo to the Board of Police Commissioners.", f"Code name {RARE_WORD}.")
    )

    page = people.page("advocate")
    page.goto(f"/requests/{commission}")
    # A week has passed since the advocate last used the tracker: the session has lapsed,
    # and signing in again leads back to the request.
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("Email").fill(TEAM["advocate"][1])
    page.get_by_label("Password").fill(PASSWORDS["advocate"])
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(rf"/requests/{commission}$"))
    page.get_by_role("link", name="Log a response").click()
    check_page(page, mode, "log a response")
    page.get_by_label("What the agency sent").select_option(label="Partial release")
    page.get_by_label("Received on").fill("2026-11-16")
    page.get_by_label("Summary").fill("First installment: a cover letter and one memo.")
    page.get_by_label("Files", exact=True).set_input_files([cover, memo])
    page.get_by_role("button", name="Log the response").click()
    documents = page.get_by_role("table", name="Documents")
    # The letter as sent was kept when it was finalized; the two files come beside it.
    expect(documents.locator("tbody tr")).to_have_count(3)
    expect(documents.locator("tbody tr").filter(has_text="Letter: ")).to_have_count(1)
    uploaded = documents.locator("tbody tr").filter(has_not_text="Letter: ")
    expect(uploaded).to_have_count(2)
    expect(page.get_by_text("Partial release").first).to_be_visible()
    # The worker reads the PDFs' text. With JavaScript the page shows each outcome in place;
    # without it, the advocate follows "Check again" until both are read.
    reading = documents.get_by_text("Reading text…")
    if mode == "no-js":
        deadline = time.monotonic() + 60
        while reading.count() and time.monotonic() < deadline:
            time.sleep(1)
            documents.get_by_role("link", name="Check again").first.click()
    else:
        # Read while the page is open, each says so in place; read before the page loaded,
        # it shows no flag at all. Either way none is still being read, and the search
        # below finds a word inside one.
        expect(reading).to_have_count(0, timeout=60_000)
    expect(reading).to_have_count(0)

    page.get_by_role("search").get_by_label("Search").fill(RARE_WORD)
    page.get_by_role("search").get_by_role("button", name="Go").click()
    check_page(page, mode, "search results")
    results = page.get_by_role("main")
    expect(results).to_contain_text(RARE_WORD)
    expect(results.get_by_role("link", name="commission-memo", exact=True)).to_be_visible()
    expect(results.get_by_role("link", name="cover-letter", exact=True)).to_have_count(0)
    results.get_by_role("link", name="commission-memo", exact=True).click()
    expect(page.get_by_role("heading", name="commission-memo", exact=True)).to_be_visible()
    check_page(page, mode, "document")


def test_the_viewer_reads_everything_and_can_change_nothing(
    people: Browsing, journey: Journey, mode: str
) -> None:
    page = people.page("viewer")
    sign_in(page, "viewer", mode)
    nav(page, "Requests")
    check_page(page, mode, "requests")
    for key, reference in journey.references.items():
        page.get_by_role("link", name=reference).click()
        expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
        assert_read_only(page)
        page.get_by_role("table").first.get_by_role("link").first.click()
        expect(page.get_by_role("link", name="Download PDF")).to_be_visible()
        assert_read_only(page)
        page.go_back()
        if key == "commission":
            page.get_by_role("link", name="commission-memo", exact=True).click()
            expect(page.get_by_role("link", name=re.compile("^Download"))).to_be_visible()
            assert_read_only(page)
        nav(page, "Requests")

    nav(page, "Due & overdue")
    expect(page.get_by_role("row").filter(has_text=journey.references["lapd"])).to_have_count(1)
    expect(page.get_by_role("link", name="Draft follow-up")).to_have_count(0)
    assert_read_only(page)
    for name in ("Letters", "Agencies", "Organizations"):
        nav(page, name)
        check_page(page, mode, name)
        assert_read_only(page)
    nav(page, "Agencies")
    page.get_by_role("link", name=re.compile(r"^Los Angeles Police Department")).click()
    check_page(page, mode, "agency")
    assert_read_only(page)
    page.get_by_role("contentinfo").get_by_role("link", name="Deadline calculator").click()
    check_page(page, mode, "deadline calculator")
    expect(
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Admin")
    ).to_have_count(0)

    # Typing an editor's address by hand is refused too.
    answer = page.goto(f"/requests/{journey.references['lapd']}/edit")
    assert answer is not None and answer.status == 403


def assert_read_only(page: Page) -> None:
    """Nothing on the page changes anything, except signing out and searching."""
    forms = page.locator("form[method=post], form[method=POST]")
    actions = [forms.nth(i).get_attribute("action") for i in range(forms.count())]
    assert actions == ["/logout"], f"{page.url} offers {actions}"
    for name in ("Edit", "Draft a letter", "Log a response", "Add", "Delete", "Finalize"):
        expect(page.get_by_role("link", name=name, exact=True)).to_have_count(0)
        expect(page.get_by_role("button", name=name, exact=True)).to_have_count(0)

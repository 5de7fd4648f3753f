"""Journey: a letter goes out by email, and the agency's answers come back on their own.

The served app (gunicorn with its worker beside it, as ``make run``) sends through the
tests' aiosmtpd server and reads the tests' Dovecot server: sending runs in the worker
when the advocate presses "Send", the fetch when staff press "Check the mailbox now".
One desktop browser: the other modes' journeys cover the pages' forms without JavaScript.
"""

import email
import email.policy
import io
import re
import subprocess
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader
from weasyprint import HTML

from tests.e2e.conftest import Browsing
from tests.live import TRACKER, LiveTracker
from tests.mailservers import ImapServer, SmtpServer

STAFF = ("Sam Staff", "sam@coalition.example.org", "a long staff pass phrase")
ADVOCATE = ("Alma Advocate", "alma@coalition.example.org", "a long advocate pass phrase")
TEMPLATE = "Police Commission reports on ICE/CBP/HSI requests"
COMMISSION = "Los Angeles Board of Police Commissioners"
RARE_WORD = "archaeopteryx"


@pytest.fixture(scope="module")
def mode() -> str:
    return "desktop"


def answer_with_pdf(sent: EmailMessage) -> bytes:
    """The Commission's answer to our email, as its mail program makes it: to Reply-To."""
    message = EmailMessage()
    message["From"] = "Commission Secretariat <secretariat@commission.example.gov>"
    message["To"] = str(sent["Reply-To"])
    message["Subject"] = f"RE: {sent['Subject']}"
    message["Date"] = format_datetime(datetime(2026, 12, 4, 17, 0, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="commission.example.gov")
    message["In-Reply-To"] = str(sent["Message-ID"])
    message["References"] = str(sent["Message-ID"])
    message.set_content("Our determination is attached.\n")
    pdf = HTML(string=f"<p>The {RARE_WORD} logs are released in part.</p>").write_pdf()
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="determination.pdf")
    return message.as_bytes()


def due_date_changed(number: str) -> bytes:
    """NextRequest's notice that the City moved the due date of its request 26-…."""
    message = EmailMessage()
    message["From"] = "City of Los Angeles <lacity@nextrequest.com>"
    message["To"] = "records@coalition.example.org"
    message["Subject"] = f"[Records Request {number}] [Due Date Changed]"
    message["Date"] = format_datetime(datetime(2026, 12, 5, 18, 0, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="nextrequest.com")
    message.set_content(
        f"The due date for record request #{number} has been changed to: January 15, 2027.\n"
        f"View request: https://lacity.nextrequest.com/requests/{number}\n"
    )
    return message.as_bytes()


def create_user(live: LiveTracker, person: tuple[str, str, str], role: str) -> None:
    name, address, password = person
    subprocess.run(
        [TRACKER, "users", "create", "--email", address,
         "--role", role, "--name", name, "--password-stdin"],
        env=live.env, input=password + "\n", text=True, check=True, capture_output=True,
        timeout=120,
    )  # fmt: skip


def sign_in(page: Page, person: tuple[str, str, str]) -> None:
    _, address, password = person
    page.goto("/login")
    page.get_by_label("Email").fill(address)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def draft_commission_letter(page: Page, person: tuple[str, str, str], leave_out: str) -> str:
    """Draft the Police Commission letter from the Letters page, to one of its two
    addressees (the other, ``leave_out``, unticked); the new request's reference."""
    name, address, _ = person
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Letters").click()
    page.get_by_role("link", name=TEMPLATE).click()
    page.get_by_role("link", name=re.compile("^Draft")).first.click()
    page.get_by_label("Title").fill("Commission reports on ICE collaboration")
    page.get_by_label(leave_out, exact=False).first.uncheck()
    page.get_by_label("Records from").fill("2024-01-01")
    page.get_by_label("Records to").fill("2026-10-31")
    page.get_by_label("Your name", exact=False).first.fill(name)
    page.get_by_label("Email", exact=True).fill(address)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text(re.compile(r"Saved the draft: LA-2026-\d{4}"))).to_be_visible()
    return page.locator(".reference").inner_text().strip()


def check_mailbox(page: Page, filed: str) -> None:
    """Press the held-mail page's button; the worker looks: reload until it says so."""
    page.goto("/mail/held")
    page.get_by_role("button", name="Check the mailbox now").click()
    expect(page.get_by_text("The worker will check the mailbox in a moment")).to_be_visible()
    summary = page.locator("#mailbox-summary")
    for _ in range(60):
        if filed in summary.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(summary).to_contain_text(f"checked just now: {filed}, 0 held.")


def test_a_letter_emailed_by_an_advocate_is_answered_and_the_answers_file_themselves(
    live: LiveTracker, people: Browsing, imap_server: ImapServer, smtp_server: SmtpServer
) -> None:
    imap_server.empty()
    smtp_server.handler.reset()
    settings = {**imap_server.settings(), **smtp_server.settings()}
    live.env.update({f"TRACKER_{key}": str(value) for key, value in settings.items()})
    live.env["TRACKER_MAIL_FROM"] = "records@coalition.example.org"
    live.env["TRACKER_MAIL_REPLY_TO"] = "records+{reference}@coalition.example.org"
    # Only the button looks at the mailbox here.
    live.env["TRACKER_IMAP_CRON"] = "off"
    create_user(live, STAFF, "staff")
    create_user(live, ADVOCATE, "advocate")
    live.start(date(2026, 12, 3))

    # The advocate drafts the Police Commission letter, to the Commission alone.
    page: Page = people.page("advocate")
    sign_in(page, ADVOCATE)
    reference = draft_commission_letter(page, ADVOCATE, leave_out="Los Angeles Police Department")
    page.get_by_role("link", name=TEMPLATE).click()
    page.get_by_role("button", name="Finalize").click()
    expect(page.get_by_text("The letter is final and ready to send.")).to_be_visible()

    # The preview shows what goes out; the worker sends it; the page says it was taken.
    page.get_by_role("link", name="Send by email").click()
    reply_to = f"records+{reference}@coalition.example.org"
    preview = page.locator("main")
    expect(preview).to_contain_text("policecommission@lapd.online")
    expect(preview).to_contain_text(reply_to)
    expect(preview).to_contain_text(f"{reference}-initial-2026-12-03.pdf")
    assert smtp_server.received == []
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("The letter is queued to go by email.")).to_be_visible()
    for _ in range(60):
        if "the mail server accepted it" in page.locator("main").inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(page.locator("main")).to_contain_text("the mail server accepted it")

    [received] = smtp_server.received
    assert received.recipients == ["policecommission@lapd.online"]
    sent = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(sent, EmailMessage)
    assert sent["Reply-To"] == reply_to and reference in str(sent["Subject"])
    [attached] = list(sent.iter_attachments())
    assert attached.get_content_type() == "application/pdf"
    letter_text = PdfReader(io.BytesIO(attached.get_content())).pages[0].extract_text()
    assert COMMISSION in letter_text and reference in letter_text
    page.goto(f"/requests/{reference}")
    expect(page.locator("dt:text-is('Sent') + dd")).to_have_text("Thu Dec 3, 2026")

    # The Commission answers our email with a PDF; one look at the mailbox files it.
    imap_server.append(answer_with_pdf(sent))
    staff: Page = people.page("staff")
    sign_in(staff, STAFF)
    check_mailbox(staff, "1 filed")
    staff.goto("/due?section=waiting")
    staff.get_by_role(
        "link",
        name="An email from Commission Secretariat (secretariat@commission.example.gov) "
        "on Dec 4 needs an answer.",
    ).click()
    expect(staff).to_have_url(re.compile(rf"/requests/{reference}#mail-\d+$"))
    answer = staff.locator(".mail").filter(has_text="Commission Secretariat")
    expect(answer).to_contain_text("Our determination is attached.")
    expect(answer.get_by_role("link", name="determination.pdf")).to_be_visible()
    # Our own email is on the thread before it.
    expect(staff.locator(".mail-out")).to_contain_text(reply_to.split("+")[0] + "@")

    staff.get_by_role("searchbox").first.fill(RARE_WORD)
    staff.get_by_role("searchbox").first.press("Enter")
    hit = staff.locator(".search-hit").filter(has_text=RARE_WORD)
    # The worker reads the PDF's text after filing it: search again until it has.
    for _ in range(30):
        if hit.count():
            break
        staff.wait_for_timeout(500)
        staff.reload()
    expect(hit).to_contain_text("Document: determination, page 1")
    expect(hit.get_by_role("link", name=reference)).to_be_visible()

    # The City's portal moves the due date; one click records the promised date.
    staff.goto(f"/requests/{reference}")
    staff.get_by_role("link", name="Edit").first.click()
    staff.get_by_label("Agency tracking number").fill("26-4242")
    staff.get_by_role("button", name=re.compile("^Save")).click()
    imap_server.append(due_date_changed("26-4242"))
    staff.goto("/mail/held")
    staff.get_by_role("button", name="Check the mailbox now").click()
    staff.goto(f"/requests/{reference}")
    notice = staff.locator(".mail").filter(has_text="[Due Date Changed]")
    for _ in range(60):
        if notice.count():
            break
        staff.wait_for_timeout(500)
        staff.reload()
    expect(notice).to_contain_text(
        "Suggested: Extension notice — the agency now says records by January 15, 2027."
    )
    notice.get_by_role("button", name="Confirm").click()
    expect(staff.get_by_text("Logged: Extension notice")).to_be_visible()
    expect(staff.locator("dt:text-is('Records promised by') + dd")).to_have_text("Fri Jan 15, 2027")
    expect(staff.locator("dt:text-is('Status') + dd")).to_contain_text("Extended")

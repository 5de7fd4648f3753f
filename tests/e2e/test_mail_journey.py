"""Journey: an agency's emailed answer reaches its request through the mailbox.

The served app (gunicorn with its worker beside it, as ``make run``) reads the tests'
Dovecot server; the fetch runs in the worker when staff press "Check the mailbox now".
One desktop browser: the other modes' journeys cover the pages' forms without JavaScript.
"""

import subprocess
import sys
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import pytest
from playwright.sync_api import Page, expect
from weasyprint import HTML

from tests.e2e.conftest import Browsing
from tests.live import TRACKER, LiveTracker
from tests.mailservers import ImapServer

STAFF = ("Sam Staff", "sam@coalition.example.org", "a long staff pass phrase")
RARE_WORD = "archaeopteryx"


@pytest.fixture(scope="module")
def mode() -> str:
    return "desktop"


def answer_with_pdf(reference: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Records Unit <records@lapd.example.gov>"
    message["To"] = f"records+{reference}@coalition.example.org"
    message["Subject"] = f"RE: Public records request {reference}"
    message["Date"] = format_datetime(datetime(2026, 12, 2, 17, 0, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="lapd.example.gov")
    message.set_content("Our determination is attached.\n")
    pdf = HTML(string=f"<p>The {RARE_WORD} logs are released in part.</p>").write_pdf()
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename="determination.pdf")
    return message.as_bytes()


def python(live: LiveTracker, code: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], env=live.env, input=stdin, capture_output=True,
        text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_an_emailed_answer_is_filed_on_its_request_found_on_the_board_and_searchable(
    live: LiveTracker, people: Browsing, imap_server: ImapServer
) -> None:
    imap_server.empty()
    live.env.update({f"TRACKER_{key}": str(value) for key, value in imap_server.settings().items()})
    live.env["TRACKER_MAIL_REPLY_TO"] = "records+{reference}@coalition.example.org"
    # Only the button looks at the mailbox here.
    live.env["TRACKER_IMAP_CRON"] = "off"
    name, email, password = STAFF
    subprocess.run(
        [TRACKER, "users", "create", "--email", email,
         "--role", "staff", "--name", name, "--password-stdin"],
        env=live.env, input=password + "\n", text=True, check=True, capture_output=True,
        timeout=120,
    )  # fmt: skip
    reference = python(
        live,
        "from tracker import create_app\n"
        "from tracker.extensions import db\n"
        "from tracker.agencies.models import Agency\n"
        "from tracker.requests.services import RequestValues, create_request\n"
        "app = create_app()\n"
        "with app.app_context():\n"
        "    agency = db.session.scalars(db.select(Agency).order_by(Agency.id)).first()\n"
        "    record = create_request(RequestValues(title='Jail transfer logs', agency=agency),"
        " None)\n"
        "    db.session.commit()\n"
        "    print(record.reference)\n",
    )
    live.start(date(2026, 12, 3))
    imap_server.append(answer_with_pdf(reference))

    page: Page = people.page("staff")
    page.goto("/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    page.goto("/mail/held")
    expect(page.locator("#mailbox-summary")).to_contain_text("has not been checked yet")
    page.get_by_role("button", name="Check the mailbox now").click()
    expect(page.get_by_text("The worker will check the mailbox in a moment")).to_be_visible()
    # The worker runs the job: reload until the page says it is done.
    summary = page.locator("#mailbox-summary")
    for _ in range(60):
        if "1 filed" in summary.inner_text():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(summary).to_contain_text("checked just now: 1 filed, 0 held.")

    page.goto("/due?section=waiting")
    page.get_by_role(
        "link",
        name="An email from Records Unit (records@lapd.example.gov) on Dec 2 needs an answer.",
    ).click()
    expect(page).to_have_url(f"{live.base_url}/requests/{reference}#mail-1")
    message = page.locator("#mail-1")
    expect(message).to_contain_text(f"RE: Public records request {reference}")
    expect(message).to_contain_text("Our determination is attached.")
    expect(page.get_by_role("link", name="determination.pdf").first).to_be_visible()

    page.get_by_role("searchbox").first.fill(RARE_WORD)
    page.get_by_role("searchbox").first.press("Enter")
    hit = page.locator(".search-hit").filter(has_text=RARE_WORD)
    # The worker reads the PDF's text after filing it: search again until it has.
    for _ in range(30):
        if hit.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(hit).to_contain_text("Document: determination, page 1")
    expect(hit.get_by_role("link", name=reference)).to_be_visible()

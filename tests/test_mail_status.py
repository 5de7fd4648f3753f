"""The holding pen's page says how the mailbox is, and checks it when asked."""

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import post_form
from tests.mailservers import ImapServer
from tests.test_mail_fetch import REPLY_TO, reply
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.mail.models import Correspondence, MailFetch
from tracker.mail.status import ago
from tracker.sqltypes import utcnow


def page_text(client) -> str:
    return unescape(client.get("/mail/held").get_data(as_text=True))


def test_how_long_ago_reads_as_people_say_it() -> None:
    now = datetime(2026, 12, 1, 17, 0, tzinfo=UTC)
    assert ago(now - timedelta(seconds=20), now) == "just now"
    assert ago(now - timedelta(minutes=1, seconds=5), now) == "1 minute ago"
    assert ago(now - timedelta(minutes=3), now) == "3 minutes ago"
    assert ago(now - timedelta(hours=5, minutes=59), now) == "5 hours ago"
    assert ago(now - timedelta(days=2), now) == "2 days ago"


def test_without_a_mailbox_the_page_says_what_to_set(app, client, auth, make_user) -> None:
    auth.login(make_user(Role.STAFF))
    text = page_text(client)
    assert (
        "The mailbox is not configured: set TRACKER_IMAP_HOST, TRACKER_IMAP_USER and "
        "TRACKER_IMAP_PASSWORD." in text
    )
    assert "The worker checks it" not in text


@pytest.fixture
def app(make_app: Callable[..., Flask], request: pytest.FixtureRequest) -> Iterator[Flask]:
    """The app with the tests' mailbox when the test uses it (asks for ``imap``)."""
    settings: dict[str, object] = {}
    if "imap" in request.fixturenames:
        imap: ImapServer = request.getfixturevalue("imap")
        settings = imap.settings(MAIL_REPLY_TO=REPLY_TO)
    app = make_app(**settings)
    with app.app_context():
        yield app


def add_look(minutes_ago: float, **fields: object) -> MailFetch:
    started = utcnow() - timedelta(minutes=minutes_ago)
    look = MailFetch(started_at=started, trigger="worker", **fields)
    if fields.get("finished_at", "now") == "now":
        look.finished_at = started + timedelta(seconds=10)
    db.session.add(look)
    db.session.commit()
    return look


def test_the_page_shows_the_last_look_at_the_mailbox(client, auth, make_user, imap) -> None:
    auth.login(make_user(Role.STAFF))
    assert "Mailbox records at 127.0.0.1 has not been checked yet." in page_text(client)
    assert "The worker checks it on the schedule TRACKER_IMAP_CRON “*/5 * * * *”." in (
        page_text(client)
    )

    add_look(3.5, seen=3, filed=2, held=1)
    assert "Mailbox records at 127.0.0.1 checked 3 minutes ago: 2 filed, 1 held." in (
        page_text(client)
    )

    add_look(1, error="The mailbox refused the sign-in of records at 127.0.0.1:143: check …")
    text = page_text(client)
    assert (
        "Mailbox records at 127.0.0.1: the check 1 minute ago failed: The mailbox refused "
        "the sign-in" in text
    )
    assert "Last checked without trouble 3 minutes ago" in text

    add_look(0, finished_at=None)
    assert "Mailbox records at 127.0.0.1 is being checked now (started just now)." in (
        page_text(client)
    )


def test_check_the_mailbox_now_files_what_is_waiting(
    client, auth, make_user, make_request, imap: ImapServer
) -> None:
    record = make_request(title="Use-of-force reports")
    imap.append(reply(1).replace(b"LA-2026-0042", record.reference.encode()))
    auth.login(make_user(Role.STAFF))
    assert 'id="check-mailbox"' in page_text(client)

    answer = post_form(client, "/mail/check", {}, token_from="/mail/held", follow_redirects=True)

    text = unescape(answer.get_data(as_text=True))
    assert "Checked the mailbox." in text
    assert "Mailbox records at 127.0.0.1 checked just now: 1 filed, 0 held." in text
    [message] = db.session.scalars(select(Correspondence)).all()
    assert message.request_id == record.id
    [look] = db.session.scalars(select(MailFetch)).all()
    assert look.trigger == "worker" and look.filed == 1
    assert imap.messages("INBOX") == []


def test_check_the_mailbox_now_needs_the_form_s_token(
    client, auth, make_user, imap: ImapServer
) -> None:
    auth.login(make_user(Role.STAFF))
    assert client.post("/mail/check", data={}).status_code == 400
    assert db.session.scalars(select(MailFetch)).all() == []


def test_a_check_already_running_is_not_started_again(
    client, auth, make_user, imap: ImapServer
) -> None:
    add_look(0.5, finished_at=None)
    auth.login(make_user(Role.ADMIN))
    answer = post_form(client, "/mail/check", {}, token_from="/mail/held", follow_redirects=True)
    assert "The mailbox is being checked already" in unescape(answer.get_data(as_text=True))
    assert len(db.session.scalars(select(MailFetch)).all()) == 1


def test_without_a_mailbox_the_button_says_what_to_set(app, client, auth, make_user) -> None:
    auth.login(make_user(Role.STAFF))
    answer = post_form(client, "/mail/check", {}, token_from="/mail/held", follow_redirects=True)
    assert "No mailbox is configured: set TRACKER_IMAP_HOST" in answer.get_data(as_text=True)


def test_advocates_cannot_check_the_mailbox(client, auth, make_user, imap) -> None:
    auth.login(make_user(Role.ADVOCATE))
    token_page = client.get("/requests")
    assert token_page.status_code == 200
    assert client.post("/mail/check", data={}).status_code == 403
    assert db.session.scalars(select(MailFetch)).all() == []

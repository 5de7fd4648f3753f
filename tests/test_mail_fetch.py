"""Fetching the mailbox, against Dovecot of the tests' own: nothing leaves it until stored."""

import socket
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from flask import Flask

from tests.mailservers import ImapServer, self_signed_server_context
from tracker.mail.fetch import ImapSettings, MailboxUnavailable, fetch
from tracker.mail.inbox import FiledMessage
from tracker.mail.models import Correspondence, MailFetch, MailState


def reply(number: int) -> bytes:
    """An agency's answer as it arrives: headers folded, CRLF, an attachment."""
    message = EmailMessage()
    message["From"] = "Records Unit <records@lapd.example.gov>"
    message["To"] = "records+LA-2026-0042@coalition.example.org"
    message["Subject"] = f"RE: Public records request LA-2026-0042 (part {number})"
    message["Date"] = format_datetime(datetime(2026, 11, 20 + number, 9, 30, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="lapd.example.gov")
    message.set_content(f"Please find part {number} of our response attached.\n")
    message.add_attachment(
        b"%PDF-1.4\n% part " + str(number).encode() + b"\n%%EOF\n",
        maintype="application", subtype="pdf", filename=f"response-{number}.pdf",
    )  # fmt: skip
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


@pytest.fixture
def mail_app(make_app: Callable[..., Flask], imap: ImapServer) -> Flask:
    return make_app(**imap.settings(IMAP_DONE_FOLDER="Filed by tracker"))


def test_each_message_is_handed_over_as_sent_then_moved_to_the_done_folder(
    mail_app: Flask, imap: ImapServer
) -> None:
    sent = [reply(number) for number in (1, 2, 3)]
    for raw in sent:
        imap.append(raw)
    received: list[tuple[bytes, str]] = []
    steps: list[tuple[int, int]] = []

    with mail_app.app_context():
        result = fetch(
            lambda raw, uid: received.append((raw, uid)), progress=lambda *step: steps.append(step)
        )

    assert [raw for raw, _uid in received] == sent
    assert len({uid for _raw, uid in received}) == 3
    assert result.fetched == 3 and len(result.stored) == 3 and not result.left
    assert result.summary() == "Fetched 3 messages: 3 stored."
    assert steps == [(0, 3), (1, 3), (2, 3), (3, 3)]
    assert imap.messages("INBOX") == []
    assert imap.messages("Filed by tracker") == sent

    with mail_app.app_context():
        again = fetch(lambda raw, uid: received.append((raw, uid)))
    assert again.fetched == 0 and len(received) == 3
    assert again.summary() == "Fetched 0 messages: 0 stored."


def test_limit_fetches_the_oldest_first_and_leaves_the_rest(
    mail_app: Flask, imap: ImapServer
) -> None:
    sent = [reply(number) for number in (1, 2, 3)]
    for raw in sent:
        imap.append(raw)
    received: list[bytes] = []
    with mail_app.app_context():
        result = fetch(lambda raw, uid: received.append(raw), limit=2)
    assert received == sent[:2] and len(result.stored) == 2
    assert imap.messages("INBOX") == sent[2:]


def test_a_message_the_handler_refuses_stays_in_the_mailbox_and_is_reported(
    mail_app: Flask, imap: ImapServer
) -> None:
    sent = [reply(number) for number in (1, 2, 3)]
    for raw in sent:
        imap.append(raw)
    stored: list[bytes] = []

    def handler(raw: bytes, uid: str) -> None:
        if b"part 2" in raw:
            raise ValueError("the attachment could not be stored: disk full")
        stored.append(raw)

    with mail_app.app_context():
        result = fetch(handler)

    assert stored == [sent[0], sent[2]]
    assert len(result.stored) == 2 and len(result.left) == 1
    left = result.left[0]
    assert left.reason == "the attachment could not be stored: disk full"
    assert left.subject == "RE: Public records request LA-2026-0042 (part 2)"
    assert left.sender == "records@lapd.example.gov"
    assert result.summary() == (
        f"Fetched 3 messages: 2 stored, 1 left in the mailbox: message {left.uid} from "
        'records@lapd.example.gov, "RE: Public records request LA-2026-0042 (part 2)": '
        "the attachment could not be stored: disk full."
    )
    assert imap.messages("INBOX") == [sent[1]]
    assert imap.messages("Filed by tracker") == [sent[0], sent[2]]

    # Tried again on the next fetch, and filed once the handler takes it.
    with mail_app.app_context():
        retried = fetch(lambda raw, uid: stored.append(raw))
    assert len(retried.stored) == 1 and stored[-1] == sent[1]
    assert imap.messages("INBOX") == []


def test_a_wrong_password_is_a_clear_error_and_touches_nothing(
    make_app: Callable[..., Flask], imap: ImapServer
) -> None:
    imap.append(reply(1))
    app = make_app(**imap.settings(IMAP_PASSWORD="not the password"))
    handled: list[bytes] = []
    with app.app_context(), pytest.raises(MailboxUnavailable) as raised:
        fetch(lambda raw, uid: handled.append(raw))
    assert str(raised.value) == (
        f"The mailbox refused the sign-in of records at 127.0.0.1:{imap.port}: check "
        "TRACKER_IMAP_USER and TRACKER_IMAP_PASSWORD."
    )
    assert handled == [] and len(imap.messages("INBOX")) == 1


def test_a_server_that_does_not_answer_is_a_clear_error(imap: ImapServer) -> None:
    from tests.postgres import free_port

    port = free_port()
    settings = ImapSettings.from_config(imap.settings(IMAP_PORT=port))
    with pytest.raises(
        MailboxUnavailable, match=f"Could not connect to the mailbox at 127.0.0.1:{port}"
    ):
        fetch(lambda raw, uid: None, settings=settings)


def test_no_mailbox_configured_says_which_settings_to_set(app: Flask) -> None:
    with pytest.raises(MailboxUnavailable, match="set TRACKER_IMAP_HOST, TRACKER_IMAP_USER"):
        fetch(lambda raw, uid: None)


def test_the_hosted_mailbox_defaults_to_tls_on_port_993() -> None:
    settings = ImapSettings.from_config(
        {"IMAP_HOST": "imap.example.org", "IMAP_USER": "records@example.org", "IMAP_SSL": True}
    )
    assert (settings.port, settings.use_ssl, settings.folder) == (993, True, "INBOX")
    plain = ImapSettings.from_config({"IMAP_HOST": "h", "IMAP_USER": "u", "IMAP_SSL": "false"})
    assert (plain.port, plain.use_ssl) == (143, False)


def test_the_command_files_the_agency_s_reply_on_its_request_once(
    make_app: Callable[..., Flask], imap: ImapServer
) -> None:
    from sqlalchemy import select

    from tracker.agencies.models import Agency
    from tracker.documents.models import Document
    from tracker.extensions import db
    from tracker.mail.models import Correspondence
    from tracker.requests.models import RecordsRequest
    from tracker.requests.services import RequestValues, create_request

    app = make_app(**imap.settings(MAIL_REPLY_TO="records+{reference}@coalition.example.org"))
    with app.app_context():
        agency = Agency(name="Los Angeles Police Department", law="ca-cpra")
        db.session.add(agency)
        record = create_request(RequestValues(title="Reports", agency=agency), None)
        db.session.commit()
        reference = record.reference
    raw = reply(1).replace(b"LA-2026-0042", reference.encode())
    imap.append(raw)
    result = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 0, result.output
    assert "Fetched 1 message" in result.output
    assert imap.messages("INBOX") == []
    with app.app_context():
        record = db.session.scalars(select(RecordsRequest)).one()
        message = db.session.scalars(select(Correspondence)).one()
        assert message.request_id == record.id and message.source == "imap"
        assert "part 1 of our response" in message.text
        document = db.session.scalars(select(Document)).one()
        assert document.request_id == record.id and document.original_filename == "response-1.pdf"
        assert any("Filed an email" in event.note for event in record.events)
    # Seen again (a move that failed last time): stored once.
    imap.append(raw)
    assert app.test_cli_runner().invoke(args=["mail", "fetch"]).exit_code == 0
    with app.app_context():
        assert len(db.session.scalars(select(Correspondence)).all()) == 1


@pytest.fixture
def filing(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, object]]:
    """A stand-in for the filing of a message, which refuses the answer's part 2."""
    filed: list[dict[str, object]] = []

    def file_message(
        raw: bytes, *, source: str, actor: object, request: object = None
    ) -> FiledMessage:
        if b"part 2" in raw:
            raise ValueError("no request matches")
        filed.append({"raw": raw, "source": source, "actor": actor, "request": request})
        return FiledMessage(Correspondence(state=MailState.FILED))

    monkeypatch.setattr("tracker.mail.inbox.file_message", file_message)
    return filed


def test_the_command_files_each_message_and_says_what_was_left(
    mail_app: Flask, imap: ImapServer, filing: list[dict[str, object]]
) -> None:
    sent = [reply(number) for number in (1, 2, 3)]
    for raw in sent:
        imap.append(raw)

    result = mail_app.test_cli_runner().invoke(args=["mail", "fetch"])

    assert result.exit_code == 1
    assert [entry["raw"] for entry in filing] == [sent[0], sent[2]]
    assert {entry["source"] for entry in filing} == {"imap"}
    assert "Fetching mail" in result.output
    uid = imap.uids("INBOX")[0]
    assert result.output.rstrip().endswith(
        f"Fetched 3 messages: 2 stored, 1 left in the mailbox: message {uid} from "
        'records@lapd.example.gov, "RE: Public records request LA-2026-0042 (part 2)": '
        "no request matches."
    )
    assert imap.messages("INBOX") == [sent[1]]


def test_the_command_with_nothing_waiting_says_so(
    mail_app: Flask, imap: ImapServer, filing: list[dict[str, object]]
) -> None:
    result = mail_app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 0
    assert result.output.rstrip().endswith("Fetched 0 messages: 0 stored.")


def test_the_command_reports_a_refused_sign_in_on_one_line(
    make_app: Callable[..., Flask], imap: ImapServer, filing: list[dict[str, object]]
) -> None:
    imap.append(reply(1))
    app = make_app(**imap.settings(IMAP_PASSWORD="not the password"))
    result = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: The mailbox refused the sign-in of records at 127.0.0.1:{imap.port}: check "
        "TRACKER_IMAP_USER and TRACKER_IMAP_PASSWORD.\n"
    )
    assert filing == [] and len(imap.messages("INBOX")) == 1


def test_a_server_whose_certificate_is_not_trusted_is_refused(tmp_path: Path) -> None:
    """imaplib checks no certificate by itself: the tracker must, before the password goes."""
    certificate, context = self_signed_server_context(tmp_path)
    listener = socket.create_server(("127.0.0.1", 0))
    heard: list[bytes] = []

    def serve() -> None:
        connection, _address = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True) as tls:
                tls.sendall(b"* OK IMAP4rev1 ready\r\n")
                heard.append(tls.recv(1000))
        except (ssl.SSLError, OSError):
            pass
        finally:
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings = ImapSettings.from_config(
        {"IMAP_HOST": "127.0.0.1", "IMAP_PORT": listener.getsockname()[1],
         "IMAP_USER": "records", "IMAP_PASSWORD": "secret"}
    )  # fmt: skip
    try:
        with pytest.raises(MailboxUnavailable, match="certificate verify failed"):
            fetch(lambda raw, uid: None, settings=settings)
    finally:
        thread.join(timeout=10)
        listener.close()
    assert heard == []


# The worker's look at the mailbox ------------------------------------------------------

REPLY_TO = "records+{reference}@coalition.example.org"


def periodic_jobs(app: Flask, moment: datetime) -> list[str]:
    return [task.name for task in app.extensions["tracker.jobs"].huey.read_periodic(moment)]


def run_periodic_fetch(app: Flask) -> None:
    huey = app.extensions["tracker.jobs"].huey
    [job] = [t for t in huey.read_periodic(datetime(2026, 12, 1, 17, 5)) if "fetch" in t.name]
    huey.execute(job)


def looks(app: Flask) -> list[MailFetch]:
    from sqlalchemy import select

    from tracker.extensions import db
    from tracker.mail.models import MailFetch

    with app.app_context():
        found = list(db.session.scalars(select(MailFetch).order_by(MailFetch.id)))
        db.session.expunge_all()
        return found


@pytest.fixture
def filed_request(make_app: Callable[..., Flask], imap: ImapServer) -> tuple[Flask, str]:
    from tracker.agencies.models import Agency
    from tracker.extensions import db
    from tracker.requests.services import RequestValues, create_request

    app = make_app(**imap.settings(MAIL_REPLY_TO=REPLY_TO))
    with app.app_context():
        agency = Agency(name="Los Angeles Police Department", law="ca-cpra")
        db.session.add(agency)
        record = create_request(RequestValues(title="Reports", agency=agency), None)
        db.session.commit()
        return app, record.reference


def unmatched() -> bytes:
    message = EmailMessage()
    message["From"] = "Someone <someone@example.net>"
    message["To"] = "records@coalition.example.org"
    message["Subject"] = "A question about nothing you filed"
    message["Date"] = format_datetime(datetime(2026, 11, 25, 8, 0, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="example.net")
    message.set_content("Hello, is anyone there?\n")
    return message.as_bytes()


def test_the_worker_looks_at_the_mailbox_every_five_minutes(
    make_app: Callable[..., Flask], imap: ImapServer
) -> None:
    app = make_app(**imap.settings())
    assert periodic_jobs(app, datetime(2026, 12, 1, 17, 5)) == ["fetch_mail_periodic"]
    assert periodic_jobs(app, datetime(2026, 12, 1, 17, 7)) == []
    hourly = make_app(**imap.settings(IMAP_CRON="0 * * * *"))
    assert periodic_jobs(hourly, datetime(2026, 12, 1, 17, 5)) == []
    assert periodic_jobs(hourly, datetime(2026, 12, 1, 17, 0)) == ["fetch_mail_periodic"]
    assert periodic_jobs(make_app(**imap.settings(IMAP_CRON="off")), datetime(2026, 12, 1)) == []
    # No mailbox, no look; the reminders keep their own time.
    assert "fetch_mail_periodic" not in periodic_jobs(make_app(), datetime(2026, 12, 1, 15, 0))
    with pytest.raises(ValueError, match="TRACKER_IMAP_CRON takes five fields"):
        make_app(**imap.settings(IMAP_CRON="every 5 minutes"))


def test_each_look_by_the_worker_files_the_mail_and_is_recorded(
    filed_request: tuple[Flask, str], imap: ImapServer
) -> None:
    app, reference = filed_request
    answer = reply(1).replace(b"LA-2026-0042", reference.encode())
    imap.append(answer)
    imap.append(unmatched())

    run_periodic_fetch(app)

    [look] = looks(app)
    assert look.trigger == "worker" and look.error == ""
    assert (look.seen, look.filed, look.held, look.duplicates, look.refused) == (2, 1, 1, 0, 0)
    assert look.finished_at is not None and look.finished_at >= look.started_at
    assert imap.messages("INBOX") == []

    # The same answer again (a move that failed last time), and a message that is no email.
    imap.append(answer)
    imap.append(b"this is not an email at all\r\n")
    run_periodic_fetch(app)
    last = looks(app)[-1]
    assert (last.seen, last.filed, last.held, last.duplicates, last.refused) == (2, 0, 0, 1, 1)
    assert imap.messages("INBOX") == [b"this is not an email at all\r\n"]


@pytest.mark.parametrize("problem", ["password", "server"])
def test_a_look_that_cannot_reach_the_mailbox_is_recorded_with_why_and_raises_nothing(
    make_app: Callable[..., Flask], imap: ImapServer, problem: str
) -> None:
    from tests.postgres import free_port

    port = free_port()
    wrong = {"IMAP_PASSWORD": "not the password"} if problem == "password" else {"IMAP_PORT": port}
    app = make_app(**imap.settings(**wrong))
    imap.append(reply(1))

    run_periodic_fetch(app)

    [look] = looks(app)
    expected = (
        f"The mailbox refused the sign-in of records at 127.0.0.1:{imap.port}"
        if problem == "password"
        else f"Could not connect to the mailbox at 127.0.0.1:{port}"
    )
    assert look.error.startswith(expected)
    assert look.finished_at is not None and look.seen == 0
    assert len(imap.messages("INBOX")) == 1
    # The next look tries again.
    run_periodic_fetch(app)
    assert len(looks(app)) == 2


def test_the_command_records_its_look_too(
    filed_request: tuple[Flask, str], imap: ImapServer
) -> None:
    app, reference = filed_request
    imap.append(reply(1).replace(b"LA-2026-0042", reference.encode()))
    result = app.test_cli_runner().invoke(args=["mail", "fetch"])
    assert result.exit_code == 0, result.output
    [look] = looks(app)
    assert (look.trigger, look.seen, look.filed, look.error) == ("command", 1, 1, "")


def test_never_two_looks_at_once(filed_request: tuple[Flask, str], imap: ImapServer) -> None:
    from tracker.extensions import db
    from tracker.mail.models import MailFetch

    app, _reference = filed_request
    imap.append(unmatched())
    lock = app.extensions["tracker.mail_jobs"].lock
    with app.app_context():
        running = MailFetch(trigger="worker")
        db.session.add(running)
        db.session.commit()
    lock.acquire()
    try:
        run_periodic_fetch(app)
        result = app.test_cli_runner().invoke(args=["mail", "fetch"])
    finally:
        lock.release()
    assert result.exit_code == 1
    assert "The mailbox is being checked already" in result.output
    assert [look.trigger for look in looks(app)] == ["worker"]
    assert len(imap.messages("INBOX")) == 1


def test_a_look_left_unfinished_by_a_killed_worker_does_not_stop_the_next(
    filed_request: tuple[Flask, str], imap: ImapServer
) -> None:
    from datetime import timedelta

    from tracker.extensions import db
    from tracker.mail.models import MailFetch
    from tracker.sqltypes import utcnow

    app, _reference = filed_request
    imap.append(unmatched())
    with app.app_context():
        db.session.add(MailFetch(trigger="worker", started_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    # The killed look never released its lock.
    app.extensions["tracker.mail_jobs"].lock.acquire()

    run_periodic_fetch(app)

    killed, fresh = looks(app)
    assert killed.finished_at is not None and killed.error.startswith("Stopped before it finished")
    assert (fresh.seen, fresh.held, fresh.error) == (1, 1, "")
    assert not app.extensions["tracker.mail_jobs"].lock.is_locked()

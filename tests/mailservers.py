"""Mail servers of the tests' own: Debian's Dovecot on a free port, from a temporary folder.

Dovecot runs with its own ``dovecot.conf`` (``-c``) in the foreground (``-F``), every
folder it writes (mail, base_dir, state_dir, log) under the temporary folder, and one
user in a ``passwd-file``. It runs as an unprivileged user: the one running the tests,
or, for root, Debian's ``dovecot`` system user, which then owns the folder. Every one
of its services runs as that user, without chroot, so it needs no privilege at all.
"""

import grp
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.postgres import free_port
from tracker.mail.fetch import RawMailBoxUnencrypted

IMAP_USER = "records"
IMAP_PASSWORD = "correct horse battery staple"


def dovecot_program() -> str:
    program = os.environ.get("TRACKER_DOVECOT") or shutil.which("dovecot")
    if program is None and Path("/usr/sbin/dovecot").exists():
        program = "/usr/sbin/dovecot"
    # Not a skip: `make test` installs Debian's dovecot-imapd first.
    assert program, "Dovecot is not installed: `make test` installs it (apt dovecot-imapd)"
    return program


def dovecot_config(folder: Path, port: int, user: str, group: str) -> str:
    # Plain-text passwords are accepted only because the server listens on 127.0.0.1,
    # which Dovecot counts as secured; disable_plaintext_auth stays at its default.
    return f"""\
protocols = imap
listen = 127.0.0.1
ssl = no
base_dir = {folder}/run
state_dir = {folder}/state
instance_name = tracker-test-{port}
log_path = {folder}/dovecot.log
info_log_path = {folder}/dovecot.log
default_internal_user = {user}
default_internal_group = {group}
default_login_user = {user}
first_valid_uid = 1
mail_location = maildir:{folder}/mail/%u
auth_mechanisms = plain login
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={user} gid={group} home={folder}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""


def self_signed_server_context(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for 127.0.0.1 that nobody vouches for, and a server's context with it."""
    key, certificate = folder / "key.pem", folder / "certificate.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(certificate), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate, key)
    return certificate, context


@dataclass
class ImapServer:
    host: str
    port: int
    user: str
    password: str
    folder: Path

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The tracker's settings for this mailbox."""
        return {
            "IMAP_HOST": self.host,
            "IMAP_PORT": self.port,
            "IMAP_USER": self.user,
            "IMAP_PASSWORD": self.password,
            "IMAP_SSL": False,
            **overrides,
        }

    def mailbox(self, folder: str = "INBOX") -> RawMailBoxUnencrypted:
        return RawMailBoxUnencrypted(self.host, self.port, timeout=30).login(
            self.user, self.password, initial_folder=folder
        )

    def append(self, raw: bytes, folder: str = "INBOX") -> None:
        """Deliver a message as a mail client would: APPEND over IMAP."""
        with self.mailbox() as mailbox:
            if not mailbox.folder.exists(folder):
                mailbox.folder.create(folder)
            mailbox.append(raw, folder)

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in a folder, oldest first; none when it does not exist."""
        with self.mailbox() as mailbox:
            if not mailbox.folder.exists(folder):
                return []
            mailbox.folder.set(folder, readonly=True)
            return [message.raw for message in mailbox.fetch(mark_seen=False)]

    def uids(self, folder: str = "INBOX") -> list[str]:
        with self.mailbox(folder) as mailbox:
            return mailbox.uids()

    def empty(self) -> None:
        """Remove every folder but INBOX and every message, so each test starts afresh."""
        with self.mailbox() as mailbox:
            for info in mailbox.folder.list():
                if info.name != "INBOX":
                    mailbox.folder.delete(info.name)
            mailbox.delete(mailbox.uids())


def wait_for_port(port: int, process: subprocess.Popen[bytes], *logs: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            said = "".join(path.read_text() for path in logs if path.exists())
            raise AssertionError(f"Dovecot did not start:\n{said}")
        time.sleep(0.1)


@pytest.fixture(scope="session")
def imap_server() -> Iterator[ImapServer]:
    """Dovecot of the tests' own, with one user, for the whole session."""
    program = dovecot_program()
    folder = Path(tempfile.mkdtemp(prefix="tracker-dovecot-"))
    port = free_port()
    if os.geteuid() == 0:
        user = "dovecot"
        try:
            account = pwd.getpwnam(user)
        except KeyError:
            shutil.rmtree(folder)
            raise AssertionError(
                "Running as root needs the 'dovecot' system user, which Debian's "
                "dovecot-core package creates."
            ) from None
    else:
        account = pwd.getpwuid(os.geteuid())
        user = account.pw_name
    config = folder / "dovecot.conf"
    group = grp.getgrgid(account.pw_gid).gr_name
    config.write_text(dovecot_config(folder, port, user, group))
    (folder / "passwd").write_text(f"{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n")
    for path in (folder, config, folder / "passwd"):
        os.chown(path, account.pw_uid, account.pw_gid)
    # As root, drop to the user before Dovecot starts; otherwise run as we are.
    drop: dict[str, Any] = {}
    if os.geteuid() == 0:
        drop = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    # What Dovecot says before its log is open (a bad setting) goes to its output.
    output = folder / "dovecot.out"
    with output.open("wb") as said:
        process = subprocess.Popen(
            [program, "-F", "-c", str(config)], stdout=said, stderr=subprocess.STDOUT, **drop
        )
    try:
        wait_for_port(port, process, output, folder / "dovecot.log")
        yield ImapServer("127.0.0.1", port, IMAP_USER, IMAP_PASSWORD, folder)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def imap(imap_server: ImapServer) -> Iterator[ImapServer]:
    """The test server's mailbox, empty when the test starts."""
    imap_server.empty()
    yield imap_server


SMTP_USER = "tracker"
SMTP_PASSWORD = "smtp correct horse"


@dataclass
class Received:
    """One message the SMTP server took: its envelope and its bytes as they came."""

    mail_from: str
    recipients: list[str]
    data: bytes


class SmtpHandler:
    """Records what it receives; a test may have it refuse the next messages first."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        # Answers to give, one per message, before accepting again (e.g. "451 4.3.0 busy").
        self.refusals: list[str] = []
        self.logins: list[str] = []

    def reset(self) -> None:
        self.received.clear()
        self.refusals.clear()
        self.logins.clear()

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        # Mail only from a signed-in user (aiosmtpd's auth_required warns without TLS).
        if not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refusals:
            return self.refusals.pop(0)
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.original_content))
        )
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: SmtpHandler

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def refuse(self, *answers: str) -> None:
        """Refuse the next messages with these answers, in turn, then accept again."""
        self.handler.refusals.extend(answers)

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """The tracker's settings for this server: signing in, no TLS (127.0.0.1 only)."""
        return {
            "MAIL_SERVER": self.host,
            "MAIL_PORT": self.port,
            "MAIL_USERNAME": SMTP_USER,
            "MAIL_PASSWORD": SMTP_PASSWORD,
            "MAIL_USE_TLS": False,
            **overrides,
        }


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[SmtpServer]:
    """An aiosmtpd server of the tests' own that takes mail only from a signed-in user."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    handler = SmtpHandler()

    def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = data.login.decode(), data.password.decode()
        handler.logins.append(user)
        return AuthResult(success=user == SMTP_USER and password == SMTP_PASSWORD)

    port = free_port()
    # Plain-text sign-in without TLS is allowed only because it listens on 127.0.0.1.
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=authenticator,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler)
    finally:
        controller.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> Iterator[SmtpServer]:
    """The test SMTP server, with nothing received and no refusal pending."""
    smtp_server.handler.reset()
    yield smtp_server
    smtp_server.handler.reset()

"""The connection to the SMTP server that reminders and letters go out through.

``TRACKER_MAIL_SERVER`` and ``TRACKER_MAIL_PORT`` name it; ``TRACKER_MAIL_USE_SSL``
speaks TLS from the first byte (port 465), ``TRACKER_MAIL_USE_TLS`` switches to TLS
with STARTTLS; ``TRACKER_MAIL_USERNAME`` and ``TRACKER_MAIL_PASSWORD`` sign in.
"""

import smtplib
import ssl
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from tracker.tasks import setting_on

# Long enough for a slow server, short enough that a job is not held for minutes.
SMTP_TIMEOUT = 60


def server_address(config: Mapping[str, Any], default: str | None = "localhost") -> str | None:
    """The SMTP server's host, or ``default`` when none is set."""
    server = str(config.get("MAIL_SERVER") or "").strip()
    return server or default


def server_port(config: Mapping[str, Any]) -> int:
    if config.get("MAIL_PORT"):
        return int(config["MAIL_PORT"])
    return 465 if setting_on(config.get("MAIL_USE_SSL", False)) else 25


@contextmanager
def smtp_connection(config: Mapping[str, Any], server: str) -> Iterator[smtplib.SMTP]:
    """A connection to the server, encrypted and signed in as the settings say."""
    port = server_port(config)
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if setting_on(config.get("MAIL_USE_SSL", False)):
        smtp = smtplib.SMTP_SSL(server, port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(server, port, timeout=SMTP_TIMEOUT)
    with smtp:
        if setting_on(config.get("MAIL_USE_TLS", False)) and not isinstance(smtp, smtplib.SMTP_SSL):
            smtp.starttls(context=context)
        if config.get("MAIL_USERNAME"):
            smtp.login(str(config["MAIL_USERNAME"]), str(config.get("MAIL_PASSWORD") or ""))
        yield smtp

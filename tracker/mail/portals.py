"""Notices from records portals (NextRequest, GovQA): what they announce, and what it suggests.

A notice is recognised by who sent it AND what its subject says, never by the subject
alone. Even so a From header is only text the sender wrote (and so are Received and
Authentication-Results), so a notice only ever *suggests* a response: nothing about
the request's status or deadlines changes until a person confirms it with a click.
The tracker never follows a link a notice gives; it shows it, and only when it points
at the portal's own site.
"""

import re
from dataclasses import dataclass
from datetime import date
from email.utils import getaddresses
from urllib.parse import urlsplit

from tracker.documents.models import ResponseKind


@dataclass(frozen=True)
class Portal:
    name: str
    # The sender's domain, or a domain it is under (lacity.nextrequest.com).
    domains: tuple[str, ...]
    # The subject of a notice: without a match the message is ordinary mail.
    subject: re.Pattern[str]
    # The portal's request number, in the subject or the body.
    number: re.Pattern[str]
    # What the notice announces, first match wins: (pattern on the subject, event).
    events: tuple[tuple[re.Pattern[str], str], ...]


def pattern(text: str) -> re.Pattern[str]:
    return re.compile(text, re.I)


NEXTREQUEST = Portal(
    name="NextRequest",
    domains=("nextrequest.com",),
    subject=pattern(
        r"\[(?:external message added|document released(?: to requester)?|due date changed"
        r"|request (?:closed|reopened|published))\]|record(?:s)? request .*has been"
        r"|your (?:first )?(?:public )?record(?:s)? request .*(?:received|opened)"
        r"|request has been received"
    ),
    number=pattern(r"(?:record(?:s)? request|request)\s*#?\s*(\d{2}-\d{1,7})(?![\w-])"),
    events=(
        (pattern(r"\[due date changed\]"), "due_date"),
        (pattern(r"\[document released"), "released"),
        (pattern(r"\[external message added\]"), "message"),
        (pattern(r"\bclosed\b"), "closed"),
        (pattern(r"received|opened"), "received"),
    ),
)
GOVQA = Portal(
    name="GovQA",
    domains=("govqa.us", "mycusthelp.com", "mycusthelp.net"),
    subject=pattern(
        r"public records center|records request|reference\s*(?:#|no\.?|number)"
        r"|(?<![\w-])[A-Z]\d{6}-\d{6}(?![\w-])"
    ),
    number=pattern(r"(?<![\w-])([A-Z]\d{6}-\d{6})(?![\w-])"),
    events=(
        (pattern(r"due date|extend|extension"), "due_date"),
        (pattern(r"released|available|ready|response to your"), "released"),
        (pattern(r"message|clarif"), "message"),
        (pattern(r"closed|completed"), "closed"),
        (pattern(r"received|submitted|acknowledg"), "received"),
    ),
)
PORTALS = (NEXTREQUEST, GOVQA)

EVENT_LABELS = {
    "received": "Request received",
    "message": "Message from the agency",
    "released": "Document released",
    "due_date": "Due date changed",
    "closed": "Request closed",
}

# What the text of an agency's message asks of us, when it asks us to clarify.
CLARIFICATION = pattern(
    r"clarif|narrow (?:the|your) (?:scope|request)|more (?:information|details)|please (?:provide"
    r"|specify|confirm|let us know)"
)


@dataclass
class Notice:
    portal: str
    event: str
    number: str = ""
    link: str = ""
    due_on: date | None = None
    suggested_kind: ResponseKind | None = None


def host_of(url: str) -> str:
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def under(host: str, domain: str) -> bool:
    domain = domain.lower().strip(".")
    return bool(host) and (host == domain or host.endswith("." + domain))


ADDRESS_LIKE = re.compile(r"[^\s<>\"',;:()@]+@([^\s<>\"',;:()@]+)")


def sender_domain(from_header: str, from_address: str) -> str:
    """The one sender's domain; several senders, or none, name no portal.

    The header as written must name no other domain either: "portal@nextrequest.com
    <someone@elsewhere>" is read by lenient parsers as the portal's address.
    """
    if "\n" in from_header.strip():
        return ""
    addresses = [address for _, address in getaddresses([from_address]) if address]
    if len(addresses) != 1 or addresses[0].count("@") != 1:
        return ""
    domain = addresses[0].rpartition("@")[2].strip().lower()
    written = {found.lower().rstrip(".") for found in ADDRESS_LIKE.findall(from_header)}
    return domain if written <= {domain} else ""


MONTHS = (
    "january february march april may june july august september october november december"
).split()
DATE = re.compile(
    rf"(?P<month>{'|'.join(MONTHS)}|{'|'.join(m[:3] for m in MONTHS)})\.?\s+(?P<day>\d{{1,2}}),?"
    r"\s+(?P<year>\d{4})"
    r"|(?<![\d/])(?P<m>\d{1,2})/(?P<d>\d{1,2})/(?P<y>\d{4})(?![\d/])"
    r"|(?<![\d-])(?P<iy>\d{4})-(?P<im>\d{2})-(?P<id>\d{2})(?![\d-])",
    re.I,
)


def to_date(found: re.Match[str]) -> date | None:
    try:
        if found["month"]:
            month = [m[:3] for m in MONTHS].index(found["month"][:3].lower()) + 1
            return date(int(found["year"]), month, int(found["day"]))
        if found["m"]:
            return date(int(found["y"]), int(found["m"]), int(found["d"]))
        return date(int(found["iy"]), int(found["im"]), int(found["id"]))
    except ValueError:
        return None


def new_due_date(text: str) -> date | None:
    """The date a "due date changed" notice names as the new one.

    "changed to January 5, 2027", "new due date: 01/05/2027"; failing that, the last
    date on the first line that speaks of a due date.
    """
    dates = [(found, to_date(found)) for found in DATE.finditer(text)]
    dates = [(found, when) for found, when in dates if when is not None]
    for found, when in dates:
        before = text[max(0, found.start() - 40) : found.start()].lower()
        if re.search(r"(?:\bto|now|new due date(?: is)?|due (?:date|on|by)(?: is)?):?\s*$", before):
            return when
    for line in text.splitlines():
        if "due" in line.lower():
            on_line = [when for when in map(to_date, DATE.finditer(line)) if when is not None]
            if on_line:
                return on_line[-1]
    return dates[0][1] if len(dates) == 1 else None


LINK = re.compile(r"https?://[^\s<>\"'()\[\]]+", re.I)


def portal_link(text: str, hosts: tuple[str, ...], number: str) -> str:
    """The notice's link to the request, if it points at the portal's own site."""
    links = [link.rstrip(".,;:!?") for link in LINK.findall(text)]
    allowed = [link for link in links if any(under(host_of(link), host) for host in hosts)]
    allowed = [link for link in allowed if urlsplit(link).scheme.lower() in ("http", "https")]
    for link in allowed:
        if number and number.lower() in link.lower():
            return link[:2000]
    return allowed[0][:2000] if allowed else ""


def suggestion(event: str, text: str) -> ResponseKind | None:
    if event == "received":
        return ResponseKind.ACKNOWLEDGMENT
    if event == "due_date":
        return ResponseKind.EXTENSION
    if event == "released":
        # Something is out on the portal: a release, partial until someone says otherwise.
        return ResponseKind.PARTIAL_RELEASE
    if event == "message" and CLARIFICATION.search(text):
        return ResponseKind.CLARIFICATION
    # A closing notice does not say whether it released, denied or found nothing.
    return None


def recognise(
    from_header: str, from_address: str, subject: str, text: str, agency_portal_url: str = ""
) -> Notice | None:
    """The portal notice a message is, if its sender and subject both say so.

    ``from_header`` is the From header as written, ``from_address`` the address read from it.
    """
    domain = sender_domain(from_header, from_address)
    if not domain:
        return None
    for portal in PORTALS:
        if not any(under(domain, known) for known in portal.domains):
            continue
        if not portal.subject.search(subject):
            continue
        # GovQA's subjects are often only the request's number: its body says what happened.
        event = next((name for found, name in portal.events if found.search(subject)), "")
        event = event or next(
            (name for found, name in portal.events if found.search(text[:600])), "message"
        )
        numbered = portal.number.search(subject) or portal.number.search(text)
        number = numbered.group(1).upper() if numbered else ""
        hosts = portal.domains + ((host_of(agency_portal_url),) if agency_portal_url else ())
        hosts = tuple(host for host in hosts if host)
        return Notice(
            portal=portal.name,
            event=event,
            number=number,
            link=portal_link(text, hosts, number),
            due_on=new_due_date(text) if event == "due_date" else None,
            suggested_kind=suggestion(event, text),
        )
    return None

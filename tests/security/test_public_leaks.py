"""Nothing private reaches the public records room, whatever the private fields hold.

Hypothesis puts a marker word, in generated text, into every field the room must never
show: a request's notes, records sought, tracking number and requester, its assignee's
name, its organization's contacts, its correspondence, a response's summary and
exemptions, the sender's contact lines in the letter as sent, a public document's
original file name, and the titles and text of documents unpublished, under embargo,
withdrawn or deleted, and of a withdrawn request. Then every page of the room is read
by following its links from the list, the search is asked for each marker, the feed is
read, and the addresses one might guess (ids, references, storage keys, the keys of
what is not public) are tried. No marker appears anywhere, and every guess is not found.
"""

import itertools
import re
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.letters_support import simple_letter
from tests.publishing_support import publish, release, send_letter
from tests.security.test_fuzzing import FUZZ_SETTINGS
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.extensions import db
from tracker.letters.document import Sender
from tracker.letters.services import draft_letter, library
from tracker.mail.inbox import file_message
from tracker.requests.models import Organization, RequestEvent
from tracker.sqltypes import utcnow

TODAY = date(2026, 12, 14)
# The examples share a database, and may repeat one another.
_worlds = itertools.count(1)
FIELDS = (
    "note", "records_sought", "tracking", "requester", "assignee", "organization", "mail",
    "response", "sender", "filename", "unpublished", "embargoed", "withdrawn", "deleted",
    "withdrawn_request", "reason",
)  # fmt: skip
# Unlike any word of the room's own pages, and one word to the search.
marker = st.from_regex(r"qz[a-z]{10}", fullmatch=True)
noise = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=30).map(
    lambda text: text.replace("qz", "")
)


@pytest.fixture
def app(make_app):
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


def private_world(app, make_user, make_request, markers, around):
    """A published request whose every private field holds its marker, with one public
    document, and everything that is not public beside it."""
    m = {name: f"{around} {markers[name]} {around}".strip() for name in FIELDS}
    assignee = make_user(Role.ADVOCATE, name=m["assignee"][:200])
    organization = Organization(
        name=f"Coalition {next(_worlds)} {markers['organization']}",
        mailing_address=m["organization"],
        email=f"{markers['organization']}@example.org",
        phone=m["organization"][:60],
        signers=m["organization"],
    )
    db.session.add(organization)
    db.session.commit()
    record = make_request(title="Reports on ICE requests", assignee=assignee)
    simple_letter(app)
    template = library().get("test-simple")
    sender = Sender(
        name="Ana Advocate",
        email=f"{markers['sender']}@example.org",
        phone=markers["sender"],
        address=f"{markers['sender']} Street",
    )
    letter = draft_letter(record, template, template.example_values(), sender, assignee)
    db.session.commit()
    send_letter(record, letter, TODAY - timedelta(days=30))
    record.organization_id = organization.id
    record.records_sought = m["records_sought"]
    record.agency_tracking_number = m["tracking"][:100]
    record.requester_name = m["requester"][:200]
    db.session.add(RequestEvent(request=record, kind="note", note=m["note"]))
    db.session.add(
        AgencyResponse(
            request_id=record.id, kind=ResponseKind.PARTIAL_RELEASE, received_on=TODAY,
            channel=ResponseChannel.EMAIL, summary=m["response"], exemptions=m["response"],
        )
    )  # fmt: skip
    db.session.commit()
    file_message(
        f"From: clerk@example.gov\r\nSubject: {markers['mail']}\r\n\r\n{m['mail']}\r\n".encode(),
        source="imap",
        actor=None,
        request=record,
    )
    db.session.commit()
    publication = publish(record, summary="What the Chief reported")
    public, _ = release(
        record, "Quarterly report", "Released text", filename=f"{markers['filename']}.pdf"
    )
    hidden = {
        "unpublished": release(record, m["unpublished"][:300], m["unpublished"], published=False),
        "embargoed": release(
            record, m["embargoed"][:300], m["embargoed"], embargo_until=TODAY + timedelta(days=1)
        ),
        "withdrawn": release(record, m["withdrawn"][:300], m["withdrawn"], withdrawn=True),
        "deleted": release(record, m["deleted"][:300], m["deleted"]),
    }
    hidden["deleted"][0].deleted_at = utcnow()
    hidden["withdrawn"][1].withdraw_reason = m["reason"]
    gone = make_request(title=m["withdrawn_request"][:300])
    gone_publication = publish(gone, withdrawn=True)
    _, gone_document = release(gone, m["withdrawn_request"][:300], m["withdrawn_request"])
    db.session.commit()
    guesses = [
        str(record.id), record.reference, str(publication.id), str(public.id),
        public.storage_key, public.sha256, gone_publication.public_key, gone_document.public_key,
        str(gone.id), gone.reference,
    ]  # fmt: skip
    for document, document_publication in hidden.values():
        guesses += [str(document.id), document.storage_key]
        if document_publication is not None:
            guesses.append(document_publication.public_key)
    return guesses


LINK = re.compile(r'href="(/public[^"#]*)"')


def read_room(client, markers) -> dict[str, str]:
    """Every page of the room a visitor can reach, and the answers to its searches."""
    seen: dict[str, str] = {}
    queue = ["/public/", "/public/agencies", "/public/feed.atom"]
    queue += [f"/public/search?q={word}" for word in markers.values()]
    while queue:
        path = queue.pop().replace("&amp;", "&")
        if path in seen:
            continue
        response = client.get(path)
        assert response.status_code == 200, path
        body = response.get_data(as_text=not path.endswith("/download"))
        seen[path] = body if isinstance(body, str) else body.decode("latin-1")
        if path.endswith((".atom", "/download")):
            continue
        queue += LINK.findall(seen[path])
    return seen


# Each example builds a whole request and reads the whole room: a few are enough.
@settings(FUZZ_SETTINGS, max_examples=6)
@given(
    markers=st.lists(marker, min_size=len(FIELDS), max_size=len(FIELDS), unique=True).map(
        lambda words: dict(zip(FIELDS, words, strict=True))
    ),
    around=noise,
)
def test_no_private_field_reaches_the_public_room(
    app, client, make_user, make_request, markers, around
):
    guesses = private_world(app, make_user, make_request, markers, around)
    pages = read_room(client, markers)
    assert any("/public/documents/" in path for path in pages)
    for path, body in pages.items():
        searched = path.split("?q=", 1)[1] if path.startswith("/public/search?q=") else None
        if searched:
            # The search says back what was asked for, and finds nothing.
            assert 'id="no-results"' in body, path
        for field, word in markers.items():
            assert word == searched or word not in body, f"{field} ({word}) shows on {path}"
    for guess in guesses:
        for path in (
            f"/public/requests/{guess}",
            f"/public/documents/{guess}",
            f"/public/documents/{guess}/download",
        ):
            response = client.get(path)
            assert response.status_code == 404, path
            body = response.get_data(as_text=True)
            assert not any(word in body for word in markers.values()), path

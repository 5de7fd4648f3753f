"""The public records room: what anyone may read without an account, and nothing more."""

import re
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from tests.letters_support import simple_letter
from tests.publishing_support import publish, release, send_letter
from tracker.auth.models import Role
from tracker.documents.models import Document
from tracker.extensions import db
from tracker.items.models import ItemState, RequestItem
from tracker.letters.document import Sender
from tracker.letters.services import draft_letter, library
from tracker.publishing.models import DocumentPublication
from tracker.publishing.public import POLICY
from tracker.requests.models import RequestEvent, RequestStatus
from tracker.search.engine import search
from tracker.sqltypes import utcnow

TODAY = date(2026, 12, 14)
NEXT_WEEK = TODAY + timedelta(days=7)
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def app(make_app):
    app = make_app(TODAY=TODAY)
    with app.app_context():
        yield app


@pytest.fixture
def room(app, make_user, make_agency, make_request):
    """The Police Commission request, published with one report out and one under embargo,
    a document never published, and a request of another agency that is not published."""
    advocate = make_user(Role.ADVOCATE, name="Private Person")
    commission = make_agency(name="Board of Police Commissioners", short_name="BOPC")
    record = make_request(
        created_by=advocate,
        assignee=advocate,
        agency=commission,
        title="Reports to the Commission on requests to collaborate with ICE",
        records_sought="Every report the Chief made to the Commission",
        tags=",ice,commission,",
    )
    record.status = RequestStatus.PARTIALLY_FULFILLED
    record.determination_on = date(2026, 11, 30)
    item = db.session.scalars(select(RequestItem).where(RequestItem.request_id == record.id)).one()
    item.state = ItemState.PARTIAL
    simple_letter(app)
    template = library().get("test-simple")
    letter = draft_letter(
        record,
        template,
        template.example_values(),
        Sender(name="Ana Advocate", email="ana@coalition.example", phone="213-555-0142"),
        advocate,
    )
    db.session.commit()
    send_letter(record, letter, date(2026, 11, 2))
    db.session.add(RequestEvent(request=record, kind="note", note="Call the clerk privately"))
    db.session.commit()
    publication = publish(record, summary="The Chief's quarterly reports.")
    report, report_pub = release(
        record,
        "First quarter report",
        "The Chief reports three requests.\fOne came from ICE ERO zebrafish.",
        dated_on=date(2026, 4, 15),
    )
    second, second_pub = release(
        record, "Second quarter report", "Embargoed words narwhal.", embargo_until=NEXT_WEEK
    )
    kept, _ = release(record, "Internal draft", "Unpublished words okapi.", published=False)
    other = make_request(title="Sheriff detainer logs", tags=",ice,")
    other.sent_on = date(2026, 10, 1)
    db.session.commit()
    return {
        "record": record,
        "publication": publication,
        "report": report,
        "report_key": report_pub.public_key,
        "second": second,
        "second_key": second_pub.public_key,
        "kept": kept,
        "other": other,
        "agency": commission,
    }


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_the_list_shows_published_requests_only_with_their_public_documents(client, room):
    page = text_of(client.get("/public/"))
    assert "<h1>Published requests</h1>" in page
    assert room["record"].title in page
    assert "Board of Police Commissioners (BOPC)" in page
    assert "Mon Nov 2, 2026" in page
    assert "Partially fulfilled" in page
    assert re.search(r"<dt>Public documents</dt><dd>1</dd>", page)
    assert "Sheriff detainer logs" not in page
    assert room["record"].reference not in page


def test_the_list_filters_by_agency_and_topic_through_its_form(client, room, make_request):
    publish(make_request(title="Sheriff task force report", tags=",task-force,"))
    page = text_of(client.get("/public/"))
    assert '<label for="agency">Agency</label>' in page
    assert '<label for="topic">Topic</label>' in page
    assert f'<option value="{room["agency"].id}">' in page
    assert '<option value="commission">commission</option>' in page
    by_agency = text_of(client.get(f"/public/?agency={room['agency'].id}"))
    assert room["record"].title in by_agency and "Sheriff task force" not in by_agency
    by_topic = text_of(client.get("/public/?topic=task-force"))
    assert "Sheriff task force" in by_topic and room["record"].title not in by_topic
    # An agency with nothing published filters nothing rather than naming it.
    unknown = text_of(client.get(f"/public/?agency={room['other'].agency_id}"))
    assert room["record"].title in unknown and "Sheriff detainer" not in unknown


def test_the_list_counts_its_pages_for_the_agency_and_topic_chosen(
    client, room, make_request, monkeypatch
):
    import tracker.publishing.public as public

    monkeypatch.setattr(public, "PER_PAGE", 2)
    for n in range(3):
        publish(make_request(title=f"Task force minutes {n}", agency=room["agency"], tags=",tf,"))
    assert "Page 1 of 2" in text_of(client.get("/public/"))  # four requests
    by_topic = text_of(client.get("/public/?topic=tf"))
    assert "Page 1 of 2" in by_topic
    older = text_of(client.get("/public/?topic=tf&page=2"))
    assert "Page 2 of 2" in older and older.count("Task force minutes") == 1
    # A topic changed on a published request is offered, and counted, at once.
    room["record"].tags = ",ice,commission,tf,"
    db.session.commit()
    assert '<option value="tf">tf</option>' in text_of(client.get("/public/"))
    assert "Page 1 of 2" in text_of(client.get("/public/?topic=tf&page=1"))
    older = text_of(client.get("/public/?topic=tf&page=2"))
    assert older.count("Task force minutes") == 1 and room["record"].title in older
    room["record"].tags = ",ice,"
    db.session.commit()
    page = text_of(client.get("/public/"))
    assert '<option value="commission">' not in page and '<option value="ice">ice</option>' in page


def test_the_request_page_shows_what_is_published_and_nothing_private(client, room):
    record = room["record"]
    page = text_of(client.get(f"/public/requests/{room['publication'].public_key}"))
    assert f"<h1>{record.title}</h1>" in page
    assert "<dt>Answered</dt><dd>Mon Nov 30, 2026</dd>" in page
    assert "The Chief&#39;s quarterly reports." in page
    assert "Released in part" in page
    assert "First quarter report" in page
    assert "The letter as sent" in page and "Records about detainers" in page
    for private in (
        "Second quarter report",
        "Internal draft",
        "Call the clerk privately",
        "Private Person",
        record.reference,
        "ana@coalition.example",
        "213-555-0142",
        "Our reference",
    ):
        assert private not in page, private
    assert "<script" not in page and "style=" not in page


def test_a_request_is_not_found_by_its_id_its_reference_or_once_withdrawn(client, room):
    record = room["record"]
    for guess in (str(record.id), record.reference, str(room["publication"].id)):
        assert client.get(f"/public/requests/{guess}").status_code == 404
    room["publication"].withdrawn_at = utcnow()
    db.session.commit()
    key = room["publication"].public_key
    assert client.get(f"/public/requests/{key}").status_code == 404
    assert client.get(f"/public/documents/{room['report_key']}").status_code == 404
    assert record.title not in text_of(client.get("/public/"))


def test_the_document_page_shows_its_text_page_by_page_and_downloads_like_the_tracker(client, room):
    key = room["report_key"]
    page = text_of(client.get(f"/public/documents/{key}"))
    assert "<h1>First quarter report</h1>" in page
    assert "Wed Apr 15, 2026" in page
    assert f'href="/public/requests/{room["publication"].public_key}"' in page
    assert '<h3 id="page-1">Page 1</h3>' in page and '<h3 id="page-2">Page 2</h3>' in page
    assert "One came from ICE ERO zebrafish." in page
    assert f'href="/public/documents/{key}/download"' in page
    report = room["report"]
    assert report.storage_key not in page and "release.pdf" not in page

    download = client.get(f"/public/documents/{key}/download")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == (
        "attachment; filename*=UTF-8''First%20quarter%20report.pdf"
    )
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Length"] == str(report.size)
    assert "sandbox" in download.headers["Content-Security-Policy"]
    assert download.data[:5] == b"%PDF-"
    assert report.storage_key not in str(download.headers)


def test_an_embargoed_document_appears_on_the_day_its_embargo_lifts(app, client, room):
    key = room["second_key"]
    request_page = f"/public/requests/{room['publication'].public_key}"
    assert client.get(f"/public/documents/{key}").status_code == 404
    assert client.get(f"/public/documents/{key}/download").status_code == 404
    assert "Second quarter report" not in text_of(client.get(request_page))
    assert 'id="no-results"' in text_of(client.get("/public/search?q=narwhal"))
    assert "Second quarter report" not in text_of(client.get("/public/feed.atom"))

    app.config["TODAY"] = NEXT_WEEK - timedelta(days=1)
    assert client.get(f"/public/documents/{key}").status_code == 404
    app.config["TODAY"] = NEXT_WEEK
    assert client.get(f"/public/documents/{key}").status_code == 200
    assert "Second quarter report" in text_of(client.get(request_page))
    assert "<mark>narwhal</mark>" in text_of(client.get("/public/search?q=narwhal"))
    feed = ET.fromstring(client.get("/public/feed.atom").data)
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.iter(f"{ATOM}entry")]
    # The newest release first: the embargo lifted after the first report was published.
    assert titles == ["Second quarter report", "First quarter report"]


def test_the_public_search_finds_published_text_only_whatever_the_query_string_says(client, room):
    page = text_of(client.get("/public/search?q=zebrafish"))
    assert '<label for="q">Words</label>' in page
    assert "<mark>zebrafish</mark>" in page
    assert f'href="/public/documents/{room["report_key"]}"' in page
    assert "page 2" in page
    assert room["record"].reference not in page
    for query in (
        "q=okapi",
        "q=clerk",
        "q=Chief+made",
        "q=okapi&kind=document&public_on=",
        "q=clerk&kind=note",
        "q=okapi&public=0&public_on=2099-01-01",
    ):
        found = text_of(client.get(f"/public/search?{query}"))
        assert 'id="no-results"' in found, query
        for private in ("okapi", "Internal draft", "clerk privately"):
            assert f"<mark>{private}" not in found, query


def test_the_engine_restricts_hits_to_public_documents_in_its_statement(app, room):
    session = db.session()
    assert {h.kind for h in search(session, "report")} > {"document"}
    public = search(session, "report OR okapi OR narwhal OR clerk", public_on=TODAY)
    assert {(h.kind, h.document_id) for h in public} == {("document", room["report"].id)}
    later = search(session, "narwhal", public_on=NEXT_WEEK)
    assert [h.document_id for h in later] == [room["second"].id]
    room["report"].deleted_at = utcnow()
    db.session.commit()
    assert search(session, "zebrafish", public_on=TODAY) == []


def test_the_feed_is_atom_with_each_release_linked_to_its_public_page(client, room):
    response = client.get("/public/feed.atom")
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    feed = ET.fromstring(response.data)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title") == "Public records room: new releases"
    entries = list(feed.iter(f"{ATOM}entry"))
    assert [e.findtext(f"{ATOM}title") for e in entries] == ["First quarter report"]
    link = entries[0].find(f"{ATOM}link").get("href")
    assert link == f"http://localhost/public/documents/{room['report_key']}"
    assert entries[0].findtext(f"{ATOM}updated")
    body = response.get_data(as_text=True)
    for private in ("Internal draft", "Second quarter report", room["record"].reference):
        assert private not in body


def test_the_feed_holds_the_latest_to_become_public_however_they_became_public(
    client, room, monkeypatch
):
    """Newest first by the moment each became public: published, or its embargo lifted."""
    import tracker.publishing.public as public

    record = room["record"]

    def at(days_ago: int, hour: int = 12) -> datetime:
        return datetime.combine(TODAY - timedelta(days=days_ago), time(hour), UTC)

    for title, published_at, embargo_until in (
        ("Ten days out", at(10), None),
        ("Lifted two days ago", at(20), TODAY - timedelta(days=2)),
        ("Yesterday's", at(1), None),
        ("Lifted five days ago", at(30), TODAY - timedelta(days=5)),
        ("Lifts in three days", at(0, hour=1), TODAY + timedelta(days=3)),
    ):
        _, publication = release(record, title, "text", embargo_until=embargo_until)
        publication.published_at = published_at
    first = db.session.scalars(
        select(DocumentPublication).where(DocumentPublication.public_key == room["report_key"])
    ).one()
    first.published_at = at(40)
    db.session.commit()
    monkeypatch.setattr(public, "FEED_ENTRIES", 3)

    feed = ET.fromstring(client.get("/public/feed.atom").data)
    titles = [entry.findtext(f"{ATOM}title") for entry in feed.iter(f"{ATOM}entry")]
    assert titles == ["Yesterday's", "Lifted two days ago", "Lifted five days ago"]


def test_a_chart_drawn_once_is_drawn_again_when_its_figures_change(client, room, make_request):
    def charts() -> list[str]:
        return re.findall(r'src="(data:image/svg\+xml;base64,[^"]+)"', text_of(client.get(path)))

    path = f"/public/agencies/{room['agency'].id}"
    before = charts()
    assert before and charts() == before
    publish(
        make_request(
            title="A second Commission request", agency=room["agency"], sent_on=date(2026, 12, 1)
        )
    )
    assert "2 published requests." in text_of(client.get(path))
    after = charts()
    assert after != before and len(after) == len(before)


def test_the_agency_figures_count_published_requests_only(client, room):
    page = text_of(client.get("/public/agencies"))
    assert "<h1>How agencies answer</h1>" in page
    assert "1 published request." in page
    assert "Board of Police Commissioners (BOPC)" in page
    assert "Test Agency" not in page
    assert 'src="data:image/svg+xml;base64,' in page
    own = text_of(client.get(f"/public/agencies/{room['agency'].id}"))
    assert "<h1>Board of Police Commissioners (BOPC)</h1>" in own
    assert "1 published request." in own
    assert client.get(f"/public/agencies/{room['other'].agency_id}").status_code == 404


PAGES = ("/public/", "/public/search?q=zebrafish", "/public/feed.atom", "/public/agencies")


def room_pages(room) -> list[str]:
    return [
        *PAGES,
        f"/public/requests/{room['publication'].public_key}",
        f"/public/documents/{room['report_key']}",
        f"/public/documents/{room['report_key']}/download",
        f"/public/agencies/{room['agency'].id}",
    ]


def test_every_public_response_has_the_room_s_headers_and_sets_no_cookie(
    client, auth, room, make_user
):
    for signed_in in (False, True):
        if signed_in:
            auth.login(make_user(Role.ADMIN))
        for path in room_pages(room):
            response = client.get(path)
            assert response.status_code == 200, path
            assert "Set-Cookie" not in response.headers, (path, signed_in)
            assert "Vary" not in response.headers, path
            assert response.headers["Cache-Control"] == "public, no-cache", path
            assert response.headers["ETag"], path
            policies = response.headers.getlist("Content-Security-Policy")
            assert len(policies) == 1, path
            if not path.endswith("/download"):
                assert policies == [POLICY], path
                assert "default-src 'none'" in POLICY and "base-uri 'none'" in POLICY
        assert client.get("/public/requests/nope").headers.getlist("Content-Security-Policy") == [
            POLICY
        ]
        assert "Set-Cookie" not in client.get("/public/requests/nope").headers


def test_a_signed_in_visitor_sees_exactly_what_anyone_sees(client, auth, room, make_user):
    anonymous = {path: client.get(path).data for path in room_pages(room)}
    auth.login(make_user(Role.ADMIN))
    for path, body in anonymous.items():
        assert client.get(path).data == body, path
    # The visitor is still signed in to the tracker afterwards.
    assert client.get("/requests").status_code == 200


def test_a_conditional_get_is_answered_304(client, room):
    for path in room_pages(room):
        first = client.get(path)
        etag = first.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304, path
        assert again.data == b"" and "Set-Cookie" not in again.headers
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200, path


def test_a_change_to_what_is_shown_changes_the_etag(app, client, room):
    path = f"/public/requests/{room['publication'].public_key}"
    etag = client.get(path).headers["ETag"]
    app.config["TODAY"] = NEXT_WEEK
    later = client.get(path, headers={"If-None-Match": etag})
    assert later.status_code == 200
    assert "Second quarter report" in text_of(later)


def test_no_page_of_the_room_needs_javascript_or_a_form_token(client, room):
    for path in room_pages(room):
        if path.endswith(("download", ".atom")):
            continue
        page = text_of(client.get(path))
        assert "<script" not in page, path
        assert "csrf_token" not in page, path
        assert 'class="skip-link" href="#main"' in page and '<main id="main"' in page
        assert "Public records room" in page and "Sign out" not in page


def test_a_document_of_an_unpublished_request_is_not_public(client, room):
    other = room["other"]
    _, publication = release(other, "Detainer log", "Words of an unpublished request.")
    assert client.get(f"/public/documents/{publication.public_key}").status_code == 404
    assert 'id="no-results"' in text_of(client.get("/public/search?q=unpublished"))
    assert db.session.get(Document, room["kept"].id) is not None


def test_the_letter_as_sent_keeps_its_words_but_not_the_requesters_contacts():
    from tracker.publishing.public import WITHHELD, without_contacts

    sender = {
        "name": "Ana Advocate",
        "email": "ana@coalition.example.org",
        "phone": "(213) 555-0100",
        "address": "100 O'Neil St\nLos Angeles, CA 90012",
    }
    letter = (
        "<p>Please send the records by email to ana@coalition.example.org, or by mail to "
        "100 O&#39;Neil St, Los Angeles, CA 90012, or call (213) 555-0100.</p>"
        "<p>Sincerely, Ana Advocate</p>"
    )
    shown = without_contacts(letter, sender)
    assert "ana@coalition" not in shown and "555-0100" not in shown and "Neil" not in shown
    assert shown.count(WITHHELD) == 3
    assert "Please send the records by email to" in shown and "Ana Advocate" in shown

"""Search finds any word a team member remembers, wherever it was written down."""

import io
import json
from datetime import UTC, date, datetime

import pytest
from weasyprint import HTML

from tests.letters_support import simple_letter
from tracker.auth.models import Role
from tracker.documents.models import AgencyResponse, ResponseChannel, ResponseKind
from tracker.documents.services import delete_document, log_response, store_files
from tracker.extensions import db
from tracker.letters.document import Sender
from tracker.letters.services import draft_letter, library
from tracker.requests.services import add_note
from tracker.search.engine import day_of, fts5_query, rebuild, search, unmark


def pdf_of(*pages: str) -> bytes:
    html = "".join(
        f'<p style="page-break-after: {"always" if i < len(pages) - 1 else "auto"}">{text}</p>'
        for i, text in enumerate(pages)
    )
    return HTML(string=html).write_pdf()


def find(query, **filters):
    return search(db.session(), query, **filters)


@pytest.fixture
def staff(make_user):
    return make_user(Role.STAFF)


@pytest.fixture
def upload(staff):
    def factory(record, name, *pages):
        result = store_files(record, [(name, io.BytesIO(pdf_of(*pages)))], staff)
        db.session.commit()
        (document,) = result.stored
        return document

    return factory


def test_a_word_only_inside_a_pdf_is_found_on_its_page(make_request, upload):
    record = make_request(title="Jail access logs")
    document = upload(
        record,
        "board-minutes.pdf",
        "Minutes of the regular meeting of the Board.",
        "The deputy chief described the Quetzalcoatl protocol with federal agents.",
    )

    (hit,) = find("quetzalcoatl")

    assert hit.kind == "document"
    assert hit.reference == record.reference
    assert hit.request_title == "Jail access logs"
    assert hit.document_id == document.id
    assert hit.document == "board-minutes"
    assert hit.page == 2
    start, end = hit.highlights[0]
    assert hit.snippet[start:end] == "Quetzalcoatl"
    assert "<mark>Quetzalcoatl</mark>" in hit.snippet_html


def test_titles_records_sought_notes_and_responses_are_found(make_request, staff):
    record = make_request(
        title="Detainer agreements",
        records_sought="Memoranda of understanding with Homeland Security Investigations.",
    )
    add_note(record, "Called the clerk about the backlog of subpoenas.", staff)
    response = AgencyResponse(
        kind=ResponseKind.DENIAL,
        received_on=date(2026, 3, 2),
        channel=ResponseChannel.EMAIL,
        summary="The agency cites the deliberative process privilege.",
        exemptions="Gov. Code 7927.500",
    )
    log_response(record, response, [], staff)
    db.session.commit()

    assert {h.kind for h in find("detainers")} == {"request"}
    assert {h.kind for h in find("memoranda homeland")} == {"request"}
    assert {h.kind for h in find("subpoena")} == {"note"}
    assert "response" in {h.kind for h in find("deliberative")}
    assert all(h.reference == record.reference for h in find("deliberative"))
    assert [h.kind for h in find(record.reference)] == ["request"]


def test_a_letter_is_found_by_its_subject(app, make_request, staff):
    record = make_request(title="Letters")
    simple_letter(app)
    template = library().get("test-simple")
    values = {**template.example_values(), "topic": "fingerprinting"}
    draft_letter(record, template, values, Sender(name="Ana"), staff)
    db.session.commit()

    assert "letter" in {hit.kind for hit in find("fingerprinting")}


def test_filters_narrow_the_hits(make_request, make_agency, staff):
    lapd, sheriff = make_agency(), make_agency()
    early = make_request(title="Gang database audit", agency=lapd, sent_on=date(2026, 1, 12))
    late = make_request(title="Gang database access", agency=sheriff, sent_on=date(2026, 3, 9))
    add_note(early, "The gang database is shared with ICE.", staff)
    db.session.commit()

    assert {h.reference for h in find("gang", agency_id=sheriff.id)} == {late.reference}
    assert [h.kind for h in find("gang", agency_id=lapd.id, kind="note")] == ["note"]
    in_march = find("gang", kind="request", date_from=date(2026, 3, 1))
    assert [h.reference for h in in_march] == [late.reference]
    in_january = find("gang", kind="request", date_to=date(2026, 1, 31))
    assert [h.reference for h in in_january] == [early.reference]
    assert find("gang", kind="request", date_from=date(2026, 4, 1)) == []
    assert len(find("gang", limit=1)) == 1
    assert len(find("gang", limit=2, offset=2)) == 1


def test_a_hit_is_dated_by_the_day_in_los_angeles_not_in_utc(
    client, auth, make_user, make_request, staff
):
    record = make_request(title="Jail access logs")
    note = add_note(record, "The Quetzalcoatl memo came by fax.", staff)
    # Tue Mar 3, 6:30 pm in Los Angeles; already Wednesday in UTC.
    note.occurred_at = datetime(2026, 3, 4, 2, 30, tzinfo=UTC)
    db.session.commit()
    auth.login(make_user(Role.VIEWER))

    for _ in ("as written", "rebuilt"):
        [hit] = find("quetzalcoatl")
        assert hit.date == date(2026, 3, 3)
        page = client.get("/search", query_string={"q": "quetzalcoatl"}).get_data(as_text=True)
        assert "· Tue Mar 3, 2026" in page
        assert "Mar 4" not in page
        on_the_day = {"q": "quetzalcoatl", "from": "2026-03-03", "to": "2026-03-03"}
        assert "Quetzalcoatl" in client.get("/search", query_string=on_the_day).get_data(
            as_text=True
        )
        rebuild(db.session())
        db.session.commit()


def test_the_day_of_a_stored_moment_is_its_day_in_los_angeles():
    assert day_of(datetime(2026, 3, 4, 2, 30, tzinfo=UTC)) == date(2026, 3, 3)
    # As SQLite hands a moment back to the migration that fills the index: UTC, no offset.
    assert day_of("2026-03-04 02:30:00.000000") == date(2026, 3, 3)
    assert day_of("2026-03-04 09:00:00.000000") == date(2026, 3, 4)
    assert day_of("2026-03-04") == date(2026, 3, 4)
    assert day_of(date(2026, 3, 4)) == date(2026, 3, 4)
    assert day_of(None) is None and day_of("") is None


HOSTILE = [
    '"',
    '""',
    "*",
    "gang*",
    "NEAR(",
    "NEAR(gang database, 2)",
    "a OR",
    "OR",
    "gang OR",
    "-",
    "-gang",
    "'); DROP TABLE records_requests; --",
    "title:gang",
    "^gang",
    "(gang",
    "gang AND",
    "NOT gang",
    "\\",
    "%_",
    "\x00gang",
    "\ue000gang\ue001",
    "gang " * 200,
    "ünïcödé “quotes” ‘single’",
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_find_something_or_nothing_but_never_fail(make_request, query):
    make_request(title="Gang database audit", records_sought="A OR B NEAR the database")

    hits = find(query)

    assert isinstance(hits, list)
    assert find("gang")  # the table is still there


@pytest.mark.parametrize("query", ["", "   ", None, "*", '"', "OR"])
def test_a_query_with_no_words_finds_nothing(make_request, query):
    make_request(title="Anything at all")
    assert find(query) == []


def test_user_input_is_never_fts5_syntax():
    assert fts5_query('NEAR(a b) "x*" OR c:d') == '("NEAR(a") AND ("b)") AND ("x*" OR "c:d")'
    assert fts5_query('say "hello there') == '("say") AND ("hello there")'
    assert fts5_query('a"b') == '("a""b")'
    assert fts5_query("* ^ - OR") == ""


def test_snippets_keep_text_apart_from_highlights():
    assert unmark("a \ue000b\ue001 <c>") == ("a b <c>", ((2, 3),))


def test_a_deleted_document_is_no_longer_found(make_request, upload, staff):
    record = make_request()
    document = upload(record, "memo.pdf", "The Brontosaurus memorandum.")
    assert [h.document_id for h in find("brontosaurus")] == [document.id]

    delete_document(document, staff, "Uploaded to the wrong request.")
    db.session.commit()

    assert find("brontosaurus") == []


def test_rebuilding_the_index_finds_the_same(make_request, upload):
    record = make_request(title="Body camera footage")
    upload(record, "policy.pdf", "Retention schedule for Archaeopteryx recordings.")
    before = [(h.kind, h.ref_id, h.page) for h in find("archaeopteryx OR camera")]

    assert rebuild(db.session()) > 0
    db.session.commit()

    assert [(h.kind, h.ref_id, h.page) for h in find("archaeopteryx OR camera")] == before


def test_the_better_match_comes_first(make_request):
    weak = make_request(
        title="Budget records",
        records_sought="All budget records for the year, including one line on detainers, "
        "and the payroll, overtime, vehicles, buildings, contracts and travel.",
    )
    strong = make_request(
        title="Detainer requests", records_sought="Every detainer and detainer log."
    )

    assert [h.reference for h in find("detainer")] == [strong.reference, weak.reference]


def test_a_page_far_down_a_filtered_search_is_what_filtering_every_match_gives(
    make_request, make_agency, monkeypatch
):
    """Only the best-ranked matches are filtered first: when too few of them pass, more are
    taken until the page is full or every match was seen, never a page short or reordered."""
    import tracker.search.engine as engine

    lapd, sheriff = make_agency(), make_agency()
    # The best matches (the word in the title too) are all LAPD's; the sheriff's rank lower.
    for n in range(8):
        make_request(title=f"Sequoia log {n}", records_sought="Sequoia sequoia.", agency=lapd)
    for n in range(9):
        make_request(title=f"Camp records {n}", records_sought=f"Sequoia {n}.", agency=sheriff)

    def pages() -> list[list[str]]:
        return [
            [h.reference for h in find("sequoia", agency_id=sheriff.id, limit=3, offset=offset)]
            for offset in (0, 3, 6, 9)
        ] + [[h.reference for h in find("sequoia", limit=20)]]

    monkeypatch.setattr(engine, "CANDIDATES", engine.ALL_CANDIDATES)
    every_match = pages()
    monkeypatch.setattr(engine, "CANDIDATES", 2)
    assert pages() == every_match
    assert [len(page) for page in every_match] == [3, 3, 3, 0, 17]


def test_the_command_line_prints_hits_as_json(runner, make_request, upload):
    record = make_request(title="Task force agreements")
    upload(record, "mou.pdf", "Cover page.", "Signed by the Pterodactyl unit commander.")

    result = runner.invoke(args=["search", "pterodactyl", "--json", "--limit", "5"])

    assert result.exit_code == 0, result.output
    (hit,) = json.loads(result.output)
    assert hit["reference"] == record.reference
    assert hit["document"] == "mou"
    assert hit["kind"] == "document"
    assert hit["page"] == 2
    assert "Pterodactyl" in hit["snippet"]
    assert "\ue000" not in hit["snippet"]


def test_the_command_line_prints_one_line_a_hit(runner, make_request):
    record = make_request(title="Release date sharing")
    result = runner.invoke(args=["search", "release"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(record.reference)


def test_the_search_page_shows_ranked_highlighted_hits(
    client, auth, make_user, make_request, upload
):
    record = make_request(title="<script>alert(1)</script> Stegosaurus files")
    document = upload(record, "report.pdf", "Intro.", "The Stegosaurus appendix.")
    auth.login(make_user(Role.VIEWER))

    page = client.get("/search", query_string={"q": "stegosaurus"}).get_data(as_text=True)

    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert "<mark>Stegosaurus</mark>" in page
    assert f'href="/requests/{record.reference}"' in page
    assert f'href="/documents/{document.id}"' in page
    assert "page 2" in page


def test_the_search_page_survives_odd_input(client, auth, make_user):
    auth.login(make_user(Role.VIEWER))
    for args in (
        {"q": 'NEAR("'},
        {"q": "x", "agency": "abc", "kind": "nonsense", "from": "yesterday", "page": "-3"},
        {"q": ""},
    ):
        assert client.get("/search", query_string=args).status_code == 200


def test_every_page_has_a_search_box_for_signed_in_users(client, auth, make_user):
    assert 'id="header-q"' not in client.get("/login").get_data(as_text=True)
    auth.login(make_user(Role.VIEWER))
    assert 'id="header-q"' in client.get("/requests").get_data(as_text=True)


def email_with_pdf(subject: str, text: str, pdf: bytes | None = None) -> bytes:
    from email.message import EmailMessage
    from email.utils import format_datetime, make_msgid

    message = EmailMessage()
    message["From"] = "Records Unit <records@lapd.example.gov>"
    message["To"] = "team@coalition.example"
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime(2026, 11, 20, 17, 30, tzinfo=UTC))
    message["Message-ID"] = make_msgid(domain="lapd.example.gov")
    message.set_content(text)
    if pdf is not None:
        message.add_attachment(pdf, maintype="application", subtype="pdf", filename="memo.pdf")
    return message.as_bytes()


def test_filed_emails_are_found_but_held_and_discarded_ones_are_not(
    client, auth, make_request, staff
):
    from tracker.mail.inbox import discard, file_message

    record = make_request(title="Jail transfers")
    filed = file_message(
        email_with_pdf("Quixotic estimate", "The Zanzibar division holds the logs.\n",
                       pdf_of("Memorandum about the Kerfuffle protocol")),
        source="upload", actor=staff, request=record,
    ).correspondence  # fmt: skip
    held = file_message(
        email_with_pdf("Held Quixotic", "Zanzibar again, but for nobody.\n"),
        source="upload", actor=staff,
    ).correspondence  # fmt: skip
    gone = file_message(
        email_with_pdf("Gone Quixotic", "Zanzibar spam.\n"), source="upload", actor=staff
    ).correspondence
    discard(gone, "spam", staff)
    db.session.commit()
    assert held.request_id is None

    hits = find("zanzibar")
    assert [(hit.kind, hit.ref_id, hit.reference) for hit in hits] == [
        ("mail", filed.id, record.reference)
    ]
    assert "mail" in [hit.kind for hit in find("quixotic")]
    assert [hit.kind for hit in find("zanzibar", kind="mail")] == ["mail"]
    assert find("zanzibar", kind="document") == []
    # The emailed PDF is a document of the request, found page by page.
    [attached] = find("kerfuffle")
    assert (attached.kind, attached.document_filename, attached.page) == ("document", "memo.pdf", 1)

    auth.login(staff)
    page = client.get("/search?q=zanzibar").get_data(as_text=True)
    assert f'href="/requests/{record.reference}#mail-{filed.id}">the email</a>' in page
    assert "Held Quixotic" not in page and "Zanzibar spam" not in page

    # Filed from the holding pen later: found from then on.
    from tracker.mail.inbox import assign

    assign(held, record, staff)
    db.session.commit()
    assert {hit.ref_id for hit in find("zanzibar")} == {filed.id, held.id}
    assert rebuild(db.session()) > 0
    assert {hit.ref_id for hit in find("zanzibar")} == {filed.id, held.id}

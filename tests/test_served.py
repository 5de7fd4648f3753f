"""The tracker as it is served: every page reached through the links and forms it renders.

One server (``tracker serve``, gunicorn, as ``make run`` starts it) on a free
port, with its own instance folder, its own database and a fixed day, holds a
realistic data set. Each role signs in over HTTP and follows every same-site
link and submits every GET form with the values the pages offer; every answer
must be 200, read whole, and what its type promises, and the server's log must
stay free of errors. A new page is covered as soon as something links to it.
"""

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from icalendar import Calendar
from pypdf import PdfReader
from werkzeug.exceptions import HTTPException

from tests.crawl import Crawl, Crawler, PageParser
from tests.live import LiveTracker, PreparedDatabase
from tests.served_world import PASSWORD, PEOPLE, RARE_WORD, World, build_world
from tracker import create_app
from tracker.auth.models import Role

TODAY = date(2026, 11, 17)
# GET routes no signed-in person reaches by a link, and why.
NOT_LINKED = {
    "auth.setup": "first-run setup, gone once an admin exists",
    "health": "for monitoring",
    "deadlines.feed": "its address is given to a calendar program, not linked",
    "auth.login": "where the crawl signs in",
    "auth.accept_invitation": "an admin hands its address to the person invited",
    "auth.reset_password": "an admin hands its address to the person who forgot",
    "documents.text_status": "asked by a page's script while a document's text is read",
    # The crawl reads one letter page, and the world's letters are a draft and a sent one;
    # tests/e2e/test_mail_journey.py clicks this link on a final letter's page.
    "mail.email_letter": "linked from a final letter not yet sent",
    # Confirming a suggested release leads there (tests/test_item_answers.py follows it).
    "documents.answer_items": "where confirming a release from mail leads next",
}
ERROR_MARKS = ("Traceback", "[ERROR]", "Exception", "Working outside of")


class Served:
    def __init__(self, live: LiveTracker, world: World) -> None:
        self.live = live
        self.world = world
        self.crawls: dict[Role, Crawl] = {}

    def crawler(self, role: Role) -> Crawler:
        crawler = Crawler(self.live.base_url, TODAY)
        crawler.sign_in(PEOPLE[role][0], PASSWORD)
        return crawler

    def crawl(self, role: Role) -> Crawl:
        if role not in self.crawls:
            self.crawls[role] = self.crawler(role).crawl()
        return self.crawls[role]

    def log_errors(self) -> list[str]:
        lines = self.live.log.read_text(errors="replace").splitlines()
        return [line for line in lines if any(mark in line for mark in ERROR_MARKS)]


@pytest.fixture(scope="module")
def served(
    prepared_database: PreparedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("served")
    databases = prepared_database.copy(folder, "served")
    live = LiveTracker(folder, next(databases), workers=2)
    try:
        world = build_world(folder / "instance", live.env["TRACKER_DATABASE_URL"], TODAY)
        live.start(TODAY)
        yield Served(live, world)
    finally:
        live.stop()
        databases.close()


def page(crawler: Crawler, path: str) -> tuple[str, PageParser]:
    answer = crawler.session.get(urljoin(crawler.base_url, path), timeout=60)
    assert answer.status_code == 200, f"{path}: {answer.status_code}"
    parser = PageParser()
    parser.feed(answer.text)
    return answer.text, parser


def link_named(html: str, base: str, text: str) -> str:
    match = re.search(rf'<a href="([^"]+)"[^>]*>\s*{re.escape(text)}', html)
    assert match, f"no link {text!r}"
    return urljoin(base, match.group(1).replace("&amp;", "&"))


# Each role's crawl takes half a minute. On SQLite every role crawls; on PostgreSQL the
# admin, who reaches every page, and the advocate, whose pages ask for "mine", do.
SQLITE_ONLY_CRAWL = pytest.mark.only_on(
    "sqlite", reason="crawls as a role whose pages the admin's and advocate's crawls cover"
)
CRAWLS = [
    pytest.param(role, marks=[SQLITE_ONLY_CRAWL] if role in (Role.STAFF, Role.VIEWER) else [])
    for role in Role
]


@pytest.mark.parametrize("role", CRAWLS, ids=lambda r: r.value)
def test_every_link_and_get_form_answers_in_full(served: Served, role: Role) -> None:
    crawl = served.crawl(role)
    assert not crawl.problems, "\n".join(crawl.problems[:40])
    # The crawl did see the site: the board's sections, a request, a document, exports.
    paths = {urlsplit(v.url).path for v in crawl.visits}
    assert "/due" in paths and "/requests" in paths and "/search" in paths
    assert any(p.startswith("/documents/") and p.endswith("/download") for p in paths)
    media = {v.media_type for v in crawl.visits}
    assert {"text/html", "text/csv", "application/pdf", "application/zip"} <= media
    assert served.log_errors() == []


@pytest.mark.only_on(
    "sqlite", reason="needs every role's crawl, and which pages link where is the same on both"
)
def test_the_crawl_reaches_every_page_a_person_can(served: Served) -> None:
    """Every GET route is reached by someone's crawl, or is listed here with the reason."""
    app = create_app(
        {"INSTANCE_PATH": served.live.env["TRACKER_INSTANCE_PATH"],
         "DATABASE_URL": served.live.env["TRACKER_DATABASE_URL"]}
    )  # fmt: skip
    adapter = app.url_map.bind("127.0.0.1")
    reached = set()
    for role in Role:
        for visit in served.crawl(role).visits:
            try:
                endpoint, _ = adapter.match(urlsplit(visit.url).path, method="GET")
            except HTTPException:
                continue
            reached.add(endpoint)
    routes = {rule.endpoint for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    assert routes - reached - set(NOT_LINKED) == set()
    assert set(NOT_LINKED) <= routes


def test_board_filters_sorts_and_exports_keep_their_section(served: Served) -> None:
    crawler = served.crawler(Role.STAFF)
    html, _ = page(crawler, "/due")
    counts = dict(
        re.findall(
            r'href="/due\?[^"]*section=(\w+)[^"]*"[^>]*>[^<]*<span class="count">(\d+)', html
        )
    )
    assert int(counts["overdue"]) == len(served.world.references["overdue"])
    for section, count in counts.items():
        html, parser = page(crawler, f"/due?section={section}")
        assert f'<input type="hidden" name="section" value="{section}">' in html
        assert re.search(rf'<a href="[^"]*section={section}[^"]*" aria-current="page"', html)
        export = link_named(html, crawler.base_url, "Export this view as CSV")
        answer = crawler.session.get(export, timeout=60)
        rows = list(csv.reader(io.StringIO(answer.text)))
        assert rows[0][0] == "reference" and len(rows) - 1 == int(count), section
    # Apply a filter on a later section, then sort: the section stays and so does the filter.
    html, parser = page(crawler, "/due?section=due_soon")
    form = next(f for f in parser.forms if any(c.name == "sort" for c in f.controls))
    agency = next(c for c in form.controls if c.name == "agency")
    lasd = next(v for v, _ in agency.options if v)
    html, _ = page(crawler, f"/due?section=due_soon&agency={lasd}&sort=-due")
    assert "<h2>Due in the next 7 days</h2>" in html
    export = link_named(html, crawler.base_url, "Export this view as CSV")
    assert parse_qs(urlsplit(export).query)["section"] == ["due_soon"]
    assert served.log_errors() == []


def test_the_request_list_exports_every_request_its_filters_keep(served: Served) -> None:
    crawler = served.crawler(Role.STAFF)
    everything = sum(len(refs) for refs in served.world.references.values())
    html, _ = page(crawler, "/requests")
    rows = list(csv.DictReader(io.StringIO(crawler.session.get(
        link_named(html, crawler.base_url, "Export these requests as CSV"), timeout=60
    ).text)))  # fmt: skip
    assert len(rows) == everything > 25  # all of them, not the first page
    html, _ = page(crawler, "/requests?q=Detainer&agency=&status=&assignee=")
    rows = list(csv.DictReader(io.StringIO(crawler.session.get(
        link_named(html, crawler.base_url, "Export these requests as CSV"), timeout=60
    ).text)))  # fmt: skip
    assert sorted(row["reference"] for row in rows) == sorted(served.world.references["due_soon"])
    assert served.log_errors() == []


def test_downloads_zip_letters_and_feed_arrive_whole(served: Served) -> None:
    crawler = served.crawler(Role.ADVOCATE)
    reference = served.world.references["answered"][0]
    html, parser = page(crawler, f"/requests/{reference}")
    documents = sorted({link for link in parser.links if re.fullmatch(r"/documents/\d+", link)})
    assert len(documents) == 3
    digests = {}
    for address in documents:
        html, parser = page(crawler, address)
        shown = re.search(r"\b[0-9a-f]{64}\b", html)
        download = next(link for link in parser.links if link.endswith("/download"))
        body = crawler.session.get(urljoin(crawler.base_url, download), timeout=60).content
        assert shown and hashlib.sha256(body).hexdigest() == shown.group(0)
        digests[shown.group(0)] = body
    html, _ = page(crawler, f"/requests/{reference}")
    archive = crawler.session.get(link_named(html, crawler.base_url, "Download all"), timeout=60)
    with zipfile.ZipFile(io.BytesIO(archive.content)) as handle:
        assert handle.testzip() is None
        index = list(csv.DictReader(io.StringIO(handle.read("index.csv").decode())))
        assert {row["sha256"] for row in index} == set(digests)
        for row in index:
            assert hashlib.sha256(handle.read(row["filename"])).hexdigest() == row["sha256"]
    text = "".join(
        PdfReader(io.BytesIO(body)).pages[0].extract_text()
        for body in digests.values()
        if body.startswith(b"%PDF")
    )
    assert RARE_WORD in text

    sent, draft = served.world.references["drafted"]
    for ref in (sent, draft):
        html, parser = page(crawler, f"/requests/{ref}")
        letter = next(
            link for link in parser.links if re.fullmatch(r"/requests/.+/letters/\d+", link)
        )
        html, parser = page(crawler, letter)
        pdf = next(link for link in parser.links if link.endswith(".pdf"))
        body = crawler.session.get(urljoin(crawler.base_url, pdf), timeout=60).content
        assert ref in "".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)

    html, _ = page(crawler, f"/requests/{sent}")
    combined = crawler.session.get(link_named(html, crawler.base_url, "Print all 2"), timeout=60)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(combined.content)).pages)
    assert sent in text and draft in text

    assert reference in feed_summaries(crawler, "mine")
    # Staff also subscribe to every open request, the unassigned ones among them.
    staff = served.crawler(Role.STAFF)
    everything = feed_summaries(staff, "all")
    assert all(ref in everything for ref in served.world.references["overdue"])
    assert reference in everything
    assert served.log_errors() == []


def feed_summaries(crawler: Crawler, which: str) -> str:
    """The events' summaries of one of the person's feeds, read from the feed page."""
    html, _ = page(crawler, "/account/calendar-feed")
    address = re.search(rf'id="feed-url-{which}" value="([^"]+)"', html)
    assert address, f"no {which} feed on the page"
    feed = crawler.session.get(address.group(1).replace("&amp;", "&"), timeout=60)
    assert feed.headers["Content-Type"].startswith("text/calendar")
    return " ".join(str(e.get("SUMMARY")) for e in Calendar.from_ical(feed.content).walk("VEVENT"))

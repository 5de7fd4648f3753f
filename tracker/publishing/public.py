"""The public records room: pages anyone may read without an account.

Every page reads through tracker.publishing.queries, the one definition of what is public,
and names a request or a document by its publication's public key alone. The pages open
no session and write none (a signed-in visitor is read as anyone else, and no cookie is
set), carry a policy of their own, and may be cached for a few minutes, answering a
conditional GET with 304.
"""

import base64
import functools
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from html import escape as text_escape
from pathlib import PurePosixPath
from typing import Any

import nh3
from feedgen.feed import FeedGenerator
from flask import Blueprint, Flask, Request, Response, abort, render_template, request, url_for
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from markupsafe import Markup, escape
from werkzeug.http import is_resource_modified
from werkzeug.wrappers import Response as BaseResponse

from tracker.agencies.models import Agency
from tracker.documents.filetypes import safe_filename
from tracker.documents.models import Document
from tracker.documents.routes import stream_document
from tracker.extensions import db
from tracker.inputs import whole_number
from tracker.letters.models import Letter
from tracker.letters.services import local_today
from tracker.publishing import queries
from tracker.scorecards.charts import svg
from tracker.scorecards.queries import Scope, figures_of, scorecard
from tracker.scorecards.tables import Table, agency_tables, comparison_tables
from tracker.search.engine import clean_query
from tracker.search.engine import search as search_text

PREFIX = "/public"
bp = Blueprint("public", __name__, url_prefix=PREFIX)

POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
# Any cache may keep a page, and asks each time whether it changed: the ETag answers 304
# at once, and an embargo that lifts, or a document withdrawn, shows at once.
CACHE = "public, no-cache"
PER_PAGE = 20
SEARCH_PAGE = 20
FEED_ENTRIES = 50
# What of the letter as sent a page shows: its text, with no markup but this.
LETTER_TAGS = {"p", "br", "ol", "ul", "li", "strong", "em", "b", "i", "u", "blockquote", "div"}


def in_room(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class RoomSessionInterface(SecureCookieSessionInterface):
    """Outside the room, the usual signed cookie; inside it, an empty session, never
    saved: a signed-in visitor reads the public pages as anyone does, and no public
    response sets a cookie."""

    def open_session(self, app: Flask, request: Request) -> Any:
        if in_room(request.path):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if in_room(request.path):
            return
        super().save_session(app, session, response)


def init_app(app: Flask) -> None:
    app.session_interface = RoomSessionInterface()
    app.register_blueprint(bp)


@bp.after_request
def public_headers(response: Response) -> Response:
    """The room's own policy (the app's defaults are set only where none is), and for a
    page shown, caching by anyone who asks again each time, with the ETag to ask with.

    The ETag is a digest of the page, not a date of the last change: finding that date
    took a dozen statements over the tables the pages read, more than most pages cost."""
    response.headers.setdefault("Content-Security-Policy", POLICY)
    if response.status_code not in (200, 304):
        return response
    response.headers["Cache-Control"] = CACHE
    if response.status_code == 200 and not response.is_streamed:
        response.add_etag()
        response.make_conditional(request)
    return response


@bp.errorhandler(404)
def not_found(error: Exception) -> tuple[str, int]:
    return render_template("public/not_found.html"), 404


# Pages ------------------------------------------------------------------------------


@bp.get("/")
def index() -> str:
    today = local_today()
    session = db.session()
    facets = queries.facets(session)
    agencies = queries.agencies_by_name(session, facets.agency_ids)
    agency_id = request.args.get("agency", type=whole_number)
    if agency_id not in facets.agency_ids:
        agency_id = None
    tags = facets.tags
    topic = request.args.get("topic", "").strip().lower()
    if topic not in tags:
        topic = ""
    # The facets counted the list already: no second count of it.
    page = db.paginate(
        queries.listing(agency_id, topic),
        page=max(request.args.get("page", 1, type=whole_number), 1),
        per_page=PER_PAGE, max_per_page=PER_PAGE,
        error_out=False, count=False,
    )  # fmt: skip
    page.total = facets.count(agency_id, topic)
    shown = [publication.request_id for publication in page.items]
    counts: dict[int, int] = {
        request_id: count
        for request_id, count in session.execute(
            queries.document_counts(today).where(Document.request_id.in_(shown))
        )
    }
    return render_template(
        "public/index.html",
        page=page,
        counts=counts,
        agencies=agencies,
        agency_id=agency_id,
        tags=tags,
        topic=topic,
        series=queries.published_series(session) if page.page == 1 else [],
    )


@bp.get("/requests/<key>")
def show_request(key: str) -> str:
    today = local_today()
    found = queries.public_request(db.session(), today, key)
    if found is None:
        abort(404)
    return render_template(
        "public/request.html", found=found, letter_html=letter_html(found.letter)
    )


def letter_html(letter: Letter | None) -> Markup | None:
    """The frozen letter from its date to its signature, as markup no more than text.

    It is our own rendering, but read as untrusted: every attribute and every tag but
    a few of text goes. Left out are the coalition's own contact lines and the tracker's
    reference for the request; the agency's address and the letter itself stay.
    """
    if letter is None or not letter.document_html:
        return None
    html = nh3.clean(
        letter.document_html,
        tags=LETTER_TAGS | {"span"},
        attributes={"div": {"class"}, "p": {"class"}, "span": {"class"}},
        clean_content_tags={"head", "title", "style", "script"},
        link_rel=None,
    )
    html = _without(html, "div", "contact")
    html = _without(html, "div", "contact-block")
    html = _without(html, "p", "references")
    html = nh3.clean(html, tags=LETTER_TAGS, attributes={}, link_rel=None)
    return Markup(without_contacts(html, letter.sender or {}))  # noqa: S704  (text tags alone)


WITHHELD = "[contact withheld]"


def without_contacts(html: str, sender: dict[str, str]) -> str:
    """The letter's text with the requester's email, phone and address taken out
    wherever the letter's own words repeat them ("… by email to …")."""
    contacts: list[str] = []
    for key in ("email", "phone"):
        if value := str(sender.get(key) or "").strip():
            contacts.append(value)
    address = [line.strip() for line in str(sender.get("address") or "").splitlines()]
    address = [line for line in address if line]
    if address:
        contacts.append(", ".join(address))
        contacts.extend(address)
    # Longest first, so a whole address goes before any one of its lines.
    for value in sorted(contacts, key=len, reverse=True):
        for written in {str(escape(value)), text_escape(value, quote=False)}:
            html = html.replace(written, WITHHELD)
    return html


def _without(html: str, tag: str, css_class: str) -> str:
    """``html`` without its elements ``<tag class="css_class">`` (none of them nests
    another of its tag, as the letter's layout writes them)."""
    opening = f'<{tag} class="{css_class}">'
    while (start := html.find(opening)) >= 0:
        end = html.find(f"</{tag}>", start)
        if end < 0:
            return html[:start]
        html = html[:start] + html[end + len(tag) + 3 :]
    return html


@bp.get("/documents/<key>")
def show_document(key: str) -> str:
    today = local_today()
    found = queries.public_document(db.session(), today, key)
    if found is None:
        abort(404)
    document = found.document
    pages = document.text.split("\f") if document.media_type == "application/pdf" else None
    return render_template(
        "public/document.html",
        found=found,
        pages=pages,
        type_label=document.type_label,
        size=document.size,
    )


def public_filename(document: Document) -> str:
    """Named for its title, with the type its own name gave it: no key, no id."""
    suffix = PurePosixPath(safe_filename(document.original_filename)).suffix[:10]
    name = safe_filename(document.title)
    if suffix and not name.lower().endswith(suffix.lower()):
        name = f"{name[: 200 - len(suffix)]}{suffix}"
    return name


@bp.get("/documents/<key>/download")
def download_document(key: str) -> BaseResponse:
    today = local_today()
    found = queries.public_document(db.session(), today, key)
    if found is None:
        abort(404)
    document = found.document
    # The file's own hash is its validator: a conditional GET never opens the file.
    if not is_resource_modified(request.environ, etag=document.sha256):
        unchanged = Response(status=304)
        unchanged.set_etag(document.sha256)
        return unchanged
    response = stream_document(document, inline=False, filename=public_filename(document))
    response.set_etag(document.sha256)
    return response


@bp.get("/search")
def search() -> str:
    today = local_today()
    words = clean_query(request.args.get("q"))
    page = max(request.args.get("page", 1, type=whole_number), 1)
    # Only ``q`` and ``page`` are read: the restriction to public text is not an argument.
    hits = search_text(
        db.session(),
        words,
        public_on=today,
        limit=SEARCH_PAGE + 1,
        offset=(page - 1) * SEARCH_PAGE,
    )
    more = len(hits) > SEARCH_PAGE
    hits = hits[:SEARCH_PAGE]
    keys = queries.document_keys(
        db.session(), today, [hit.document_id for hit in hits if hit.document_id]
    )
    shown = [(hit, keys[hit.document_id]) for hit in hits if hit.document_id in keys]
    return render_template("public/search.html", q=words, hits=shown, page=page, more=more)


@bp.get("/feed.atom")
def feed() -> Response:
    today = local_today()
    found = queries.newly_public(db.session(), today, FEED_ENTRIES)
    generator = FeedGenerator()
    generator.id(url_for("public.feed", _external=True))
    generator.title("Public records room: new releases")
    generator.subtitle("Documents released by agencies, as they are published.")
    generator.link(href=url_for("public.index", _external=True), rel="alternate")
    generator.link(href=url_for("public.feed", _external=True), rel="self")
    generator.language("en")
    newest: datetime | None = found[0].made_public_at if found else None
    generator.updated(newest or datetime(2000, 1, 1).astimezone())
    for document in reversed(found):
        link = url_for("public.show_document", key=document.key, _external=True)
        entry = generator.add_entry()
        entry.id(link)
        entry.title(document.title)
        entry.link(href=link, rel="alternate")
        entry.updated(document.made_public_at)
        entry.published(document.made_public_at)
        entry.summary(f"Released on the request “{document.request_title}”.")
    return Response(generator.atom_str(pretty=True), mimetype="application/atom+xml")


# Per-agency figures ---------------------------------------------------------------------


CHART_ID = re.compile(r'id="chart-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"')


def charts_of(tables: list[Table]) -> Callable[[str], str]:
    """For the scorecards' own macro, which names a table's chart by the table's name."""
    by_name = {table.name: table for table in tables}
    return lambda name: chart_src(by_name[name])


def chart_src(table: Table) -> str:
    """The chart as an image inside the page: the room's policy allows images from data.

    Drawing a chart costs more than the queries of its page, and the figures change
    seldom: a chart is drawn once for the numbers it shows."""
    return drawn_chart(replace(table, rows=tuple(table.rows)))


@functools.lru_cache(maxsize=128)
def drawn_chart(table: Table) -> str:
    drawn = svg(table)
    # pygal names each chart with a random uuid: named for its table, a page that has not
    # changed reads the same, byte for byte, and keeps its ETag.
    named = CHART_ID.search(drawn)
    if named:
        drawn = drawn.replace(named[1], f"public-{table.name}")
    encoded = base64.b64encode(drawn.encode("utf-8")).decode("ascii")
    return f"data:image/svg+xml;base64,{encoded}"


@bp.get("/agencies")
def agencies() -> str:
    today = local_today()
    found, cited = scorecard(Scope(published_only=True), today)
    tables = comparison_tables(found, cited)
    return render_template(
        "public/agencies.html",
        tables=tables,
        filed=sum(f.filed for f in found),
        agencies=found,
        chart_url=charts_of(tables),
    )


@bp.get("/agencies/<int:agency_id>")
def agency(agency_id: int) -> str:
    today = local_today()
    shown = db.session.get(Agency, agency_id)
    if shown is None or not queries.has_public_requests(db.session(), shown.id):
        abort(404)
    found, cited = scorecard(Scope(agency_id=shown.id, published_only=True), today)
    own = figures_of(shown, found)
    tables = agency_tables(own, cited)
    return render_template(
        "public/agency.html",
        agency=shown,
        tables=tables,
        filed=own.filed,
        chart_url=charts_of(tables),
    )


@bp.get("/series/<key>")
def show_series(key: str) -> str:
    today = local_today()
    found = queries.public_series(db.session(), today, key)
    if found is None:
        abort(404)
    return render_template("public/series.html", found=found)

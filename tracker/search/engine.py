"""Full-text search over requests, letters, responses, notes and documents.

One interface, two backends chosen by the database: SQLite's FTS5 (the virtual
table ``search_index``) and PostgreSQL's text search (``search_entries`` with a
generated ``tsvector`` and a GIN index). Both tables are made by migration 0005
and are not models: they are derived data, filled from the app and kept in step
by the session hook at the bottom of this module.

A document is indexed one row per PDF page (the text keeps pages apart with form
feeds), so a hit knows its page; long text is cut into pieces so that no row
outgrows PostgreSQL's 1 MB limit on a ``tsvector``.
"""

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import event, inspect, literal_column, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session, object_session

from tracker.documents.models import AgencyResponse, Document, ResponseKind
from tracker.items.models import RequestItem
from tracker.letters.models import Letter
from tracker.mail.models import Correspondence, MailState
from tracker.requests.models import RecordsRequest, RequestEvent
from tracker.sqltypes import LOCAL_ZONE

# A new kind goes at the end: its place is its code in the SQLite rowids.
KINDS = ("request", "letter", "response", "note", "document", "mail", "item")
KIND_LABELS = {
    "request": "Request",
    "letter": "Letter",
    "response": "Response",
    "note": "Note",
    "document": "Document",
    "mail": "Email",
    "item": "Item",
}
SQLITE_TABLE = "search_index"
POSTGRES_TABLE = "search_entries"
MAX_QUERY = 500
MAX_TERMS = 32
CHUNK = 20_000

# Highlight marks the databases put around matched words. They are characters
# from Unicode's private use area, taken out of everything indexed, so no text a
# user wrote can pose as a mark.
START, STOP = "\ue000", "\ue001"
_UNSAFE = str.maketrans({START: " ", STOP: " ", "\x00": " "})


@dataclass(frozen=True)
class Hit:
    kind: str
    ref_id: int
    reference: str
    request_title: str
    document_id: int | None
    document_title: str | None
    document_filename: str | None
    # The snippet as plain text, and where the matched words are in it.
    snippet: str
    highlights: tuple[tuple[int, int], ...]
    page: int | None
    rank: float
    date: date | None

    @property
    def document(self) -> str | None:
        return self.document_title or self.document_filename

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def snippet_html(self) -> Markup:
        """The snippet with its matches in ``<mark>``; every bit of text escaped."""
        parts: list[str] = []
        position = 0
        for start, end in self.highlights:
            parts.append(escape(self.snippet[position:start]))
            parts.append(Markup("<mark>%s</mark>") % self.snippet[start:end])
            position = end
        parts.append(escape(self.snippet[position:]))
        return Markup("").join(parts)

    def as_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "request_title": self.request_title,
            "kind": self.kind,
            "document_id": self.document_id,
            "document": self.document,
            "page": self.page,
            "snippet": self.snippet,
            "highlights": [list(span) for span in self.highlights],
            "rank": self.rank,
            "date": self.date.isoformat() if self.date else None,
        }


def unmark(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """Split a snippet with highlight marks into plain text and the spans marked."""
    out: list[str] = []
    spans: list[tuple[int, int]] = []
    length = 0
    start: int | None = None
    for piece in re.split(f"([{START}{STOP}])", marked):
        if piece == START:
            start = length
        elif piece == STOP:
            if start is not None and length > start:
                spans.append((start, length))
            start = None
        else:
            out.append(piece)
            length += len(piece)
    return "".join(out), tuple(spans)


# Queries ---------------------------------------------------------------------

_TERM = re.compile(r'"([^"]*)"?|(\S+)')


def fts5_query(query: str) -> str:
    """The user's words as an FTS5 query in which nothing is an operator by accident.

    Like PostgreSQL's ``websearch_to_tsquery``: words must all appear, a "quoted
    phrase" must appear as written and ``or`` between two terms takes either.
    Every term is wrapped in double quotes, so ``*``, ``:``, ``NEAR``, ``AND``,
    ``^`` and brackets are text, never syntax.
    """
    terms: list[str] = []
    pending_or = False
    for match in _TERM.finditer(query[:MAX_QUERY]):
        phrase, word = match.group(1), match.group(2)
        if phrase is None and word.lower() == "or":
            pending_or = bool(terms)
            continue
        term = phrase if phrase is not None else word
        if not re.search(r"\w", term):
            continue
        quoted = '"' + term.replace('"', '""') + '"'
        if pending_or:
            terms[-1] = f"{terms[-1]} OR {quoted}"
        else:
            terms.append(quoted)
        pending_or = False
        if len(terms) >= MAX_TERMS:
            break
    return " AND ".join(f"({term})" for term in terms)


def clean_query(query: str | None) -> str:
    return (query or "").translate(_UNSAFE).strip()[:MAX_QUERY]


def search(
    session: Session,
    query: str | None,
    *,
    agency_id: int | None = None,
    kind: str | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: int = 20,
    offset: int = 0,
    public_on: date | None = None,
) -> list[Hit]:
    """The best hits for the words in ``query``, best first; nothing for no words.

    With ``public_on``, only the pages of documents public on that day, as the public
    records room defines them (tracker.publishing.queries), in the statement itself.
    """
    words = clean_query(query)
    if not words or limit <= 0:
        return []
    if kind is not None and kind not in KINDS:
        raise ValueError(f"no kind {kind!r}; the kinds are {', '.join(KINDS)}")
    filters = []
    params: dict[str, Any] = {"limit": limit, "offset": max(offset, 0)}
    if agency_id is not None:
        filters.append("r.agency_id = :agency_id")
        params["agency_id"] = agency_id
    if kind is not None:
        filters.append("s.kind = :kind")
        params["kind"] = kind
    if date_from is not None:
        filters.append("s.occurred_on >= :date_from")
        params["date_from"] = date_from.isoformat() if is_sqlite(session) else date_from
    if date_to is not None:
        filters.append("s.occurred_on <= :date_to")
        params["date_to"] = date_to.isoformat() if is_sqlite(session) else date_to
    if public_on is not None:
        condition, public_params = public_documents_sql(session, public_on)
        filters.append(f"s.kind = 'document' AND d.id IN ({condition})")
        params.update(public_params)
    where = "".join(f" AND {condition}" for condition in filters)
    if is_sqlite(session):
        match = fts5_query(words)
        if not match:
            return []
        return sqlite_search(session, where, {**params, "match": match})
    else:
        rows = session.connection().execute(
            text(POSTGRES_SEARCH.format(where=where)),
            {**params, "query": words, "options": HEADLINE_OPTIONS},
        )
    return [hit_from(row) for row in rows]


def public_documents_sql(session: Session, today: date) -> tuple[str, dict[str, Any]]:
    """Whether the document ``d`` is public, as SQL with named parameters, from the one
    definition of what is public, to go inside this module's own statements (``d.id IN``).

    Compiled as plain SQL, which both databases read, with its parameters renamed apart
    from the statement's own.
    """
    from sqlalchemy.engine.default import DefaultDialect

    from tracker.publishing.queries import public_document_ids

    # Asked of each match's document (``d``), the subquery reads a row or two by key,
    # where the whole list of public documents would be built for every search.
    mine = public_document_ids(today).where(Document.id == literal_column("d.id"))
    compiled = mine.compile(dialect=DefaultDialect(paramstyle="named"))
    sqlite_ = is_sqlite(session)
    params = {
        f"public_{name}": value.isoformat() if sqlite_ and isinstance(value, date) else value
        for name, value in compiled.params.items()
    }
    sql = re.sub(
        r":(\w+)",
        lambda found: f":public_{found[1]}" if found[1] in compiled.params else found[0],
        str(compiled),
    )
    return sql, params


# The first candidates read for a page: enough that a page is nearly always among them.
CANDIDATES = 200
# Past this many, the candidates are all the matches.
ALL_CANDIDATES = 1_000_000


def sqlite_search(session: Session, where: str, params: dict[str, Any]) -> list[Hit]:
    """The page of hits, found among the best-ranked matches alone.

    The index ranks its matches fast, but reading each match's own columns, joining its
    request and document and testing the filters costs ten times as much. So only the
    ``candidates`` best-ranked matches go through the rest. Any match outside them ranks
    below all of them; so when the candidates fill the page, or are every match, the page
    is exactly what filtering every match would give. Else more are taken, eight times as
    many each time, until they are.
    """
    connection = session.connection()
    matches = connection.execute(
        text("SELECT count(*) FROM search_index WHERE search_index MATCH :match"),
        {"match": params["match"]},
    ).scalar_one()
    wanted = params["offset"] + params["limit"]
    candidates = CANDIDATES + wanted
    while True:
        if candidates >= matches:
            candidates = ALL_CANDIDATES
        rows = connection.execute(
            text(SQLITE_SEARCH.format(where=where)),
            {**params, "candidates": candidates, "start": START, "stop": STOP},
        ).all()
        if len(rows) == params["limit"] or candidates == ALL_CANDIDATES:
            return [hit_from(row) for row in rows]
        candidates *= 8


# Columns: kind, ref_id, request_id, page, occurred_on, title, body. bm25 weighs
# each column in that order: the unindexed ones count for nothing, a title
# counts more than a body. bm25 is smaller for better matches. The snippet is made for
# the rows of the page alone. CROSS JOIN keeps SQLite reading the few rows first and the
# index by rowid after, not every match of the index again.
SQLITE_SEARCH = """
WITH candidates AS (
    SELECT rowid AS id, -bm25(search_index, 0, 0, 0, 0, 0, 4.0, 1.0) AS rank
    FROM search_index
    WHERE search_index MATCH :match
    ORDER BY rank DESC, rowid
    LIMIT :candidates
),
best AS (
    SELECT c.id, c.rank
    FROM candidates AS c
    CROSS JOIN search_index AS s ON s.rowid = c.id
    JOIN records_requests AS r ON r.id = s.request_id
    LEFT JOIN documents AS d ON s.kind = 'document' AND d.id = s.ref_id
    WHERE (s.kind != 'document' OR d.deleted_at IS NULL){where}
    ORDER BY c.rank DESC, c.id
    LIMIT :limit OFFSET :offset
)
SELECT s.kind, s.ref_id, s.page, s.occurred_on,
       snippet(search_index, -1, :start, :stop, '…', 24) AS marked,
       best.rank, r.reference, r.title AS request_title,
       d.id AS document_id, d.title AS document_title, d.original_filename
FROM best
CROSS JOIN search_index AS s ON s.rowid = best.id
JOIN records_requests AS r ON r.id = s.request_id
LEFT JOIN documents AS d ON s.kind = 'document' AND d.id = s.ref_id
WHERE search_index MATCH :match
ORDER BY best.rank DESC, best.id
"""

HEADLINE_OPTIONS = (
    f"StartSel={START}, StopSel={STOP}, MaxWords=30, MinWords=12, "
    'MaxFragments=2, FragmentDelimiter=" … "'
)

# The headline is made only for the rows on the page: it reads the whole text.
POSTGRES_SEARCH = """
WITH q AS (SELECT websearch_to_tsquery('english', :query) AS query),
best AS (
    SELECT s.id, ts_rank(s.search_vector, q.query) AS rank
    FROM search_entries AS s
    CROSS JOIN q
    JOIN records_requests AS r ON r.id = s.request_id
    LEFT JOIN documents AS d ON s.kind = 'document' AND d.id = s.ref_id
    WHERE s.search_vector @@ q.query
      AND (s.kind <> 'document' OR d.deleted_at IS NULL){where}
    ORDER BY rank DESC, s.id
    LIMIT :limit OFFSET :offset
)
SELECT s.kind, s.ref_id, s.page, s.occurred_on,
       CASE WHEN position(:start_mark IN h.body) > 0 OR s.title = '' THEN h.body
            ELSE ts_headline('english', s.title, q.query, :options) END AS marked,
       best.rank, r.reference, r.title AS request_title,
       d.id AS document_id, d.title AS document_title, d.original_filename
FROM best
JOIN search_entries AS s ON s.id = best.id
CROSS JOIN q
CROSS JOIN LATERAL (
    SELECT ts_headline('english', s.body, q.query, :options) AS body
) AS h
JOIN records_requests AS r ON r.id = s.request_id
LEFT JOIN documents AS d ON s.kind = 'document' AND d.id = s.ref_id
ORDER BY best.rank DESC, s.id
""".replace(":start_mark", f"'{START}'")


def hit_from(row: Any) -> Hit:
    snippet, spans = unmark(row.marked or "")
    on = row.occurred_on
    if isinstance(on, str):
        on = date.fromisoformat(on[:10])
    return Hit(
        kind=row.kind,
        ref_id=int(row.ref_id),
        reference=row.reference,
        request_title=row.request_title,
        document_id=row.document_id,
        document_title=row.document_title,
        document_filename=row.original_filename,
        snippet=snippet,
        highlights=spans,
        page=int(row.page) if row.page is not None else None,
        rank=float(row.rank),
        date=on,
    )


def is_sqlite(session: Session | Connection) -> bool:
    bind = session.connection() if isinstance(session, Session) else session
    return bind.dialect.name == "sqlite"


# What is indexed -----------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    kind: str
    ref_id: int
    request_id: int
    seq: int
    page: int | None
    occurred_on: date | None
    title: str
    body: str


def day_of(value: date | datetime | str | None) -> date | None:
    """The day to show for a date, a datetime or the ISO text SQLite hands back.

    A moment is stored in UTC and shown, like every time in the tracker, in Los Angeles:
    a note written at 6:30 pm on Tuesday is Tuesday's, though it is Wednesday in UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        text = value.strip()
        value = datetime.fromisoformat(text) if len(text) > 10 else date.fromisoformat(text)
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(LOCAL_ZONE).date()
    return value


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("style", "script", "head", "title"):
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "head", "title") and self.skipping:
            self.skipping -= 1
        self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _TextOf()
    parser.feed(html)
    parser.close()
    return re.sub(r"[ \t]+", " ", "".join(parser.parts)).strip()


def pieces(body: str, size: int = CHUNK) -> Iterator[str]:
    """``body`` in pieces of at most ``size`` characters, cut between words."""
    while len(body) > size:
        cut = body.rfind(" ", size // 2, size)
        cut = cut if cut > 0 else size
        yield body[:cut]
        body = body[cut:]
    if body.strip():
        yield body


def _join(*parts: str | None) -> str:
    return "\n".join(part for part in parts if part)


def _entries(
    kind: str, ref_id: int, request_id: int, on: Any, title: str, body: str
) -> list[Entry]:
    title = (title or "").translate(_UNSAFE)
    # A row even without a body: the title alone is worth finding.
    bodies = list(pieces(body or "")) or [""]
    return [
        Entry(kind, ref_id, request_id, seq, None, day_of(on), title, piece.translate(_UNSAFE))
        for seq, piece in enumerate(bodies)
    ]


def request_entries(request: Any) -> list[Entry]:
    body = _join(request.reference, request.records_sought, request.agency_tracking_number)
    when = request.sent_on or request.created_at
    return _entries("request", request.id, request.id, when, request.title, body)


def event_entries(event_: Any) -> list[Entry]:
    # Document events only name the file, which is indexed in its own right.
    if event_.kind == "document" or not (event_.note or "").strip():
        return []
    return _entries("note", event_.id, event_.request_id, event_.occurred_at, "", event_.note)


def response_entries(response: Any) -> list[Entry]:
    kind = ResponseKind(response.kind).label
    body = _join(response.summary, response.exemptions, response.agency_tracking_number)
    return _entries("response", response.id, response.request_id, response.received_on, kind, body)


def letter_entries(letter: Any) -> list[Entry]:
    if letter.document_html:
        body = html_text(letter.document_html)
    else:
        # A draft keeps only what was typed into its form.
        values = letter.field_values or {}
        body = _join(*(str(v) for v in values.values() if isinstance(v, str | int | float)))
    when = letter.letter_date or letter.created_at
    return _entries("letter", letter.id, letter.request_id, when, letter.subject, body)


def document_entries(document: Any) -> list[Entry]:
    if document.deleted_at is not None or not (document.text or "").strip():
        return []
    is_pdf = document.media_type == "application/pdf"
    pages = document.text.split("\f") if is_pdf else [document.text]
    title = (document.title or document.original_filename or "").translate(_UNSAFE)
    on = day_of(document.document_date or document.uploaded_at)
    entries: list[Entry] = []
    for number, page in enumerate(pages, start=1):
        for piece in pieces(page):
            entries.append(
                Entry(
                    "document",
                    document.id,
                    document.request_id,
                    len(entries),
                    number if is_pdf else None,
                    on,
                    title,
                    piece.translate(_UNSAFE),
                )
            )
    return entries


def mail_entries(message: Any) -> list[Entry]:
    # Only what is filed on a request: held and discarded mail is for staff's eyes, on
    # the holding pen. Its attachments are documents, indexed as such.
    if message.state != MailState.FILED or message.request_id is None:
        return []
    body = _join(message.from_address, message.text)
    when = message.sent_at or message.created_at
    return _entries("mail", message.id, message.request_id, when, message.subject, body)


def item_entries(item: Any, request: Any = None) -> list[Entry]:
    """An item of what a request asks for, found by its words; not when it says just what
    the request's records sought or title say (a typed request's one item, every item
    migration 0013 made), which the request's own entry finds already."""
    text = (item.description or "").strip()
    request = request if request is not None else item.request
    if request is None:
        # Made with its request's id alone: the request is in the session, or one read away.
        session = object_session(item)
        if session is not None:
            with session.no_autoflush:
                request = session.get(RecordsRequest, item.request_id)
    if request is None:
        return _entries("item", item.id, item.request_id, item.created_at, "", text) if text else []
    if not text or text in (request.records_sought.strip(), request.title.strip()):
        return []
    return _entries("item", item.id, item.request_id, item.created_at, "", text)


def reindex_items(connection: Connection, request: Any) -> None:
    """A request's records sought or title changed: its items may now say something else."""
    rows = connection.execute(
        select(RequestItem.id, RequestItem.request_id, RequestItem.description,
               RequestItem.created_at).where(RequestItem.request_id == request.id)
    )  # fmt: skip
    for row in rows.all():
        write(connection, "item", row.id, item_entries(row, request))


# Writing the index -----------------------------------------------------------

# FTS5 has no index on its unindexed columns, so finding an object's rows by
# them reads the whole table. Its rowid is indexed: each row's rowid holds the
# kind, the object's id and the piece number, and an object's rows are a range.
_KIND_CODES = {kind: code for code, kind in enumerate(KINDS, start=1)}


def _rowid_range(kind: str, ref_id: int) -> tuple[int, int]:
    low = (_KIND_CODES[kind] << 56) | (ref_id << 20)
    return low, low | ((1 << 20) - 1)


def remove(connection: Connection, kind: str, ref_id: int) -> None:
    if connection.dialect.name == "sqlite":
        low, high = _rowid_range(kind, ref_id)
        connection.execute(
            text("DELETE FROM search_index WHERE rowid BETWEEN :low AND :high"),
            {"low": low, "high": high},
        )
    else:
        connection.execute(
            text("DELETE FROM search_entries WHERE kind = :kind AND ref_id = :ref_id"),
            {"kind": kind, "ref_id": ref_id},
        )


def remove_request(connection: Connection, request_id: int) -> None:
    table = SQLITE_TABLE if connection.dialect.name == "sqlite" else POSTGRES_TABLE
    connection.execute(
        text(f"DELETE FROM {table} WHERE request_id = :id"),  # noqa: S608  (a constant)
        {"id": request_id},
    )


def write(connection: Connection, kind: str, ref_id: int, entries: Sequence[Entry]) -> None:
    """Replace the rows of one object with ``entries``."""
    remove(connection, kind, ref_id)
    if not entries:
        return
    rows = [
        {
            "kind": e.kind,
            "ref_id": e.ref_id,
            "request_id": e.request_id,
            "page": e.page,
            "occurred_on": e.occurred_on,
            "title": e.title,
            "body": e.body,
        }
        for e in entries
    ]
    if connection.dialect.name == "sqlite":
        for row, entry in zip(rows, entries, strict=True):
            row["rowid"] = _rowid_range(entry.kind, entry.ref_id)[0] | entry.seq
            row["occurred_on"] = entry.occurred_on.isoformat() if entry.occurred_on else None
        statement = (
            "INSERT INTO search_index (rowid, kind, ref_id, request_id, page, occurred_on, "
            "title, body) VALUES (:rowid, :kind, :ref_id, :request_id, :page, :occurred_on, "
            ":title, :body)"
        )
    else:
        statement = (
            "INSERT INTO search_entries (kind, ref_id, request_id, page, occurred_on, title, "
            "body) VALUES (:kind, :ref_id, :request_id, :page, :occurred_on, :title, :body)"
        )
    connection.execute(text(statement), rows)


def _connection(obj: object, session: Session | None) -> Connection:
    session = session or object_session(obj)
    if session is None:
        raise ValueError(f"{obj!r} belongs to no session")
    return session.connection()


def index_request(request: RecordsRequest, session: Session | None = None) -> None:
    write(_connection(request, session), "request", request.id, request_entries(request))


def index_event(event_: RequestEvent, session: Session | None = None) -> None:
    write(_connection(event_, session), "note", event_.id, event_entries(event_))


def index_response(response: AgencyResponse, session: Session | None = None) -> None:
    write(_connection(response, session), "response", response.id, response_entries(response))


def index_letter(letter: Letter, session: Session | None = None) -> None:
    write(_connection(letter, session), "letter", letter.id, letter_entries(letter))


def index_document(document: Document, session: Session | None = None) -> None:
    """Index a document page by page; a deleted one is taken out of the index."""
    write(_connection(document, session), "document", document.id, document_entries(document))


def index_mail(message: Correspondence, session: Session | None = None) -> None:
    write(_connection(message, session), "mail", message.id, mail_entries(message))


def index_item(item: RequestItem, session: Session | None = None) -> None:
    write(_connection(item, session), "item", item.id, item_entries(item))


def rebuild(session: Session) -> int:
    """Fill the index again from everything stored; returns the rows written."""
    connection = session.connection()
    table = SQLITE_TABLE if connection.dialect.name == "sqlite" else POSTGRES_TABLE
    connection.execute(text(f"DELETE FROM {table}"))  # noqa: S608  (a constant)
    written = 0
    for model, kind, entries_of in _INDEXED:
        objects: Any = session.scalars(select(model))
        for obj in objects:
            entries = entries_of(obj)
            write(connection, kind, obj.id, entries)
            written += len(entries)
    return written


_INDEXED: list[tuple[type, str, Any]] = [
    (RecordsRequest, "request", request_entries),
    (RequestEvent, "note", event_entries),
    (AgencyResponse, "response", response_entries),
    (Letter, "letter", letter_entries),
    (Document, "document", document_entries),
    (Correspondence, "mail", mail_entries),
    (RequestItem, "item", item_entries),
]
_KIND_OF = {model: (kind, entries_of) for model, kind, entries_of in _INDEXED}

# The attributes that change what is indexed; other changes leave it be.
_WATCHED: dict[type, tuple[str, ...]] = {
    RecordsRequest: (
        "reference", "title", "records_sought", "agency_tracking_number", "sent_on", "created_at"
    ),
    RequestEvent: ("kind", "note", "occurred_at", "request_id"),
    AgencyResponse: (
        "kind", "summary", "exemptions", "agency_tracking_number", "received_on", "request_id"
    ),
    Letter: ("subject", "document_html", "field_values", "letter_date", "request_id"),
    Document: (
        "title", "original_filename", "text", "media_type", "deleted_at", "document_date",
        "request_id",
    ),
    Correspondence: ("subject", "text", "from_address", "state", "sent_at", "request_id"),
    RequestItem: ("description", "request_id"),
}  # fmt: skip


def _touched(obj: object) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in _WATCHED[type(obj)])


def changes_in(session: Session) -> tuple[list[Any], list[Any]]:
    """What this flush changes for the index: objects to (re)index, objects gone."""
    changed = [obj for obj in session.new if type(obj) in _KIND_OF]
    changed += [obj for obj in session.dirty if type(obj) in _KIND_OF and _touched(obj)]
    gone = [obj for obj in session.deleted if type(obj) in _KIND_OF]
    return changed, gone


@event.listens_for(Session, "after_flush")
def _keep_index_in_step(session: Session, flush_context: Any) -> None:
    # After the flush every new row has its id; the index is written in the same
    # transaction, so it commits or rolls back with the change it follows.
    changed, gone = changes_in(session)
    if not changed and not gone:
        return
    connection = session.connection()
    with session.no_autoflush:
        for obj in gone:
            if isinstance(obj, RecordsRequest):
                remove_request(connection, obj.id)
            else:
                remove(connection, _KIND_OF[type(obj)][0], obj.id)
        for obj in changed:
            kind, entries_of = _KIND_OF[type(obj)]
            write(connection, kind, obj.id, entries_of(obj))
            if isinstance(obj, RecordsRequest):
                reindex_items(connection, obj)


def outside_search_index(name: str | None, type_: str, parent_names: Any) -> bool:
    """For Alembic: leave the search tables (and FTS5's own tables) out of comparisons.

    They are made by hand in migration 0005, not declared as models, so a
    comparison of models and database would otherwise want to drop them.
    """
    if type_ != "table" or name is None:
        return True
    return not (name == POSTGRES_TABLE or name == SQLITE_TABLE or name.startswith("search_index_"))

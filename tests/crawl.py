"""Use a served tracker as a person does: follow every link, submit every GET form.

Nothing here knows the tracker's pages. It starts from the home page, reads
the links and forms each page renders, and submits each GET form with the
values the page itself offers: as it stands, then with each option of each
list, each box ticked, an empty text box filled with a word from the page and
an empty date with today. Every answer is read to its end and checked for what
its type promises: a page is whole HTML, a CSV parses with its rows, a PDF
opens with pages, a ZIP opens and its entries check, a calendar parses.
"""

import csv
import io
import re
import zipfile
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit, urlunsplit

import requests
from icalendar import Calendar
from pypdf import PdfReader

CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
REFERENCE_RE = re.compile(r"\b[A-Z]+-\d{4}-\d{4}\b")


@dataclass
class Control:
    name: str
    kind: str  # input type, "select" or "textarea"
    value: str = ""
    checked: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)  # (value, selected)


@dataclass
class Form:
    method: str
    action: str
    controls: list[Control] = field(default_factory=list)


class PageParser(HTMLParser):
    """The links, frames and forms of a page, and the words of its title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.title = ""
        self.text: list[str] = []
        self._form: Form | None = None
        self._select: Control | None = None
        self._option: tuple[str | None, bool] | None = None
        self._option_text = ""
        self._textarea: Control | None = None
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag in ("iframe", "img", "script") and a.get("src"):
            self.links.append(a["src"])
        elif tag == "link" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "title":
            self._in_title = True
        elif tag == "form":
            self._form = Form(a.get("method", "get").lower(), a.get("action", ""))
            self.forms.append(self._form)
        elif self._form is None or "disabled" in a:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            self._form.controls.append(
                Control(a["name"], kind, a.get("value", ""), checked="checked" in a)
            )
        elif tag == "button" and a.get("name"):
            self._form.controls.append(Control(a["name"], "submit", a.get("value", "")))
        elif tag == "select" and a.get("name"):
            self._select = Control(a["name"], "select")
            self._form.controls.append(self._select)
        elif tag == "option" and self._select is not None:
            self._option = (a.get("value"), "selected" in a)
            self._option_text = ""
        elif tag == "textarea" and a.get("name"):
            self._textarea = Control(a["name"], "textarea")
            self._form.controls.append(self._textarea)

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "form":
            self._form = None
        elif tag == "select":
            self._end_option()
            self._select = None
        elif tag == "option":
            self._end_option()
        elif tag == "textarea":
            self._textarea = None

    def _end_option(self) -> None:
        if self._option is not None and self._select is not None:
            value, selected = self._option
            self._select.options.append(
                (self._option_text.strip() if value is None else value, selected)
            )
        self._option = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._option is not None:
            self._option_text += data
        if self._textarea is not None:
            self._textarea.value += data
        self.text.append(data)


def page_kind(url: str) -> tuple[str, frozenset[str]]:
    parts = urlsplit(url)
    return parts.path, frozenset(parse_qs(parts.query, keep_blank_values=True))


def form_defaults(form: Form) -> list[tuple[str, str]]:
    """What a browser sends when the form is submitted as the page shows it."""
    pairs = []
    for control in form.controls:
        if control.kind in ("submit", "button", "reset", "image", "file"):
            continue
        if control.kind in ("checkbox", "radio"):
            if control.checked:
                pairs.append((control.name, control.value or "on"))
        elif control.kind == "select":
            chosen = [v for v, selected in control.options if selected] or [
                v for v, _ in control.options[:1]
            ]
            pairs.extend((control.name, v) for v in chosen[:1])
        else:
            pairs.append((control.name, control.value))
    return pairs


def form_variants(form: Form, word: str, today: date) -> Iterator[list[tuple[str, str]]]:
    """The form as shown, then each value the page offers, one control at a time."""
    base = form_defaults(form)
    yield base

    def replaced(name: str, value: str) -> list[tuple[str, str]]:
        kept = [(n, v) for n, v in base if n != name]
        return [*kept, (name, value)]

    for control in form.controls:
        if control.kind == "select":
            current = dict(base).get(control.name)
            for value, _ in control.options:
                if value != current:
                    yield replaced(control.name, value)
        elif control.kind in ("checkbox", "radio") and not control.checked:
            yield [*base, (control.name, control.value or "on")]
        elif control.kind in ("text", "search") and not control.value and word:
            yield replaced(control.name, word)
        elif control.kind == "date" and not control.value:
            yield replaced(control.name, today.isoformat())
        elif control.kind == "submit":
            yield [*base, (control.name, control.value)]


@dataclass
class Visit:
    url: str  # as asked for; ``final`` after redirects
    final: str
    status: int
    media_type: str
    found_on: str


@dataclass
class Crawl:
    visits: list[Visit] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    csv_rows: dict[str, int] = field(default_factory=dict)


class Crawler:
    """One signed-in person's browsing of the whole site."""

    def __init__(self, base_url: str, today: date, max_visits: int = 3000) -> None:
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(base_url).netloc
        self.today = today
        self.max_visits = max_visits
        self.session = requests.Session()

    def sign_in(self, email: str, password: str) -> None:
        page = self.session.get(f"{self.base_url}/login", timeout=30)
        token = CSRF_RE.search(page.text)
        assert token, "the sign-in page has no form token"
        answer = self.session.post(
            f"{self.base_url}/login",
            data={"csrf_token": token.group(1), "email": email, "password": password},
            timeout=30,
        )
        assert answer.ok and "Sign out" in answer.text, f"{email} could not sign in"

    def same_site(self, url: str) -> str | None:
        """The address without its fragment, if it is this site's and fetchable."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or parts.netloc != self.host:
            return None
        return urlunsplit((parts.scheme, parts.netloc, parts.path, parts.query, ""))

    def crawl(self, start: str = "/") -> Crawl:
        """Visit everything reachable from ``start``.

        A page of a new kind (its path and the names in its query not seen yet) is
        read for its links; another page of a kind already read is fetched and
        checked when a read page links to it. Every GET form, wherever it is shown,
        is submitted in each of its variants once. So the next year of a calendar,
        or a board tab with a filter, is checked without walking every year or
        every combination of filters.
        """
        result = Crawl()
        seen: set[str] = set()
        kinds: set[tuple[str, frozenset[str]]] = set()
        forms_done: set[tuple[str, ...]] = set()
        # (address, where it was found, fetch it even if its kind has been read)
        queue: deque[tuple[str, str, bool]] = deque([(self.base_url + start, "start", True)])
        while queue:
            url, found_on, wanted = queue.popleft()
            if url in seen:
                continue
            kind = page_kind(url)
            read = kind not in kinds
            if not read and not wanted:
                continue
            seen.add(url)
            kinds.add(kind)
            if len(seen) > self.max_visits:
                result.problems.append(f"more than {self.max_visits} addresses: the crawl stopped")
                break
            page = self.fetch(url, found_on, result)
            if page is None:
                continue
            for link in page.links:
                target = self.same_site(urljoin(url, link))
                if target and target not in seen:
                    queue.append((target, url, read))
            for form in page.forms:
                for target in self.submissions(url, form, page, forms_done):
                    if target not in seen:
                        queue.append((target, url, True))
        return result

    def submissions(
        self, url: str, form: Form, page: "PageParser", done: set[tuple[str, ...]]
    ) -> Iterator[str]:
        """The addresses a GET form leads to, once per form whatever page shows it."""
        if form.method != "get":
            return
        action = self.same_site(urljoin(url, form.action))
        if action is None:
            return
        action = action.split("?", 1)[0]
        hidden = (f"{c.name}={c.value}" for c in form.controls if c.kind == "hidden")
        key = (action, *sorted(c.name for c in form.controls), *hidden)
        if key in done:
            return
        done.add(key)
        for pairs in form_variants(form, self.word_from(page), self.today):
            yield f"{action}?{urlencode(pairs)}" if pairs else action

    @staticmethod
    def word_from(page: PageParser) -> str:
        """A word the page shows: a reference number if it lists one, else one of its title."""
        text = " ".join(page.text)
        reference = REFERENCE_RE.search(text)
        if reference:
            return reference.group(0)
        words = [w for w in re.findall(r"[A-Za-z]{5,}", page.title) if w != "Records"]
        return words[0] if words else ""

    def fetch(self, url: str, found_on: str, result: Crawl) -> PageParser | None:
        try:
            answer = self.session.get(url, timeout=60)
            body = answer.content  # read to the end: a cut-off stream raises here
        except requests.RequestException as error:
            result.problems.append(f"{url} (linked from {found_on}): the answer broke off: {error}")
            return None
        media_type = answer.headers.get("Content-Type", "").split(";")[0].strip()
        result.visits.append(Visit(url, answer.url, answer.status_code, media_type, found_on))
        where = f"{url} (linked from {found_on})"
        if answer.status_code != 200:
            result.problems.append(f"{where}: {answer.status_code}")
            return None
        if urlsplit(answer.url).path == "/login":
            result.problems.append(f"{where}: sent to the sign-in page")
            return None
        length = answer.headers.get("Content-Length")
        if length is not None and int(length) != len(body):
            result.problems.append(f"{where}: {len(body)} bytes of the {length} announced")
        problem = self.check_body(media_type, body, answer, result)
        if problem:
            result.problems.append(f"{where}: {problem}")
            return None
        if media_type != "text/html":
            return None
        parser = PageParser()
        parser.feed(answer.text)
        return parser

    @staticmethod
    def check_body(
        media_type: str, body: bytes, answer: requests.Response, result: Crawl
    ) -> str | None:
        """What is wrong with a body of this type, if anything."""
        try:
            if media_type == "text/html":
                if not answer.text.rstrip().endswith("</html>"):
                    return "the page is not complete"
            elif media_type == "text/csv":
                rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
                if not rows:
                    return "the CSV is empty, without even its header"
                if len({len(row) for row in rows}) != 1:
                    return "the CSV's rows do not all have the header's columns"
                result.csv_rows[answer.url] = len(rows) - 1
            elif media_type == "application/pdf":
                reader = PdfReader(io.BytesIO(body))
                if not reader.pages:
                    return "the PDF has no pages"
                for page in reader.pages:
                    page.extract_text()
            elif media_type == "application/zip":
                with zipfile.ZipFile(io.BytesIO(body)) as archive:
                    broken = archive.testzip()
                    if broken:
                        return f"the ZIP's entry {broken} is damaged"
            elif media_type == "text/calendar":
                Calendar.from_ical(body)
            elif not body:
                return "the answer is empty"
        except Exception as error:  # noqa: BLE001 - every way a body can be broken is a finding
            return f"the {media_type} does not open: {error!r}"
        return None

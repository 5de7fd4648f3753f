"""Template injection and server-side requests through letters.

Three defences, each tested through the app and on its own:

- What an advocate types into a letter's fields is data: Jinja syntax in it is printed, never
  run, on the preview, the letter page and in the PDF.
- A template an admin drops into the instance's ``letters/`` folder renders in Jinja's
  immutable sandbox with no loader: reaching Python internals, the app's config, files or
  other templates makes it a broken template, listed with its error; nothing it prints can
  carry the secret key.
- Printing fetches nothing: the letter body keeps only a few plain tags, and below that the
  printer's URL fetcher serves the bundled stylesheet and fonts and refuses every other URL,
  remote, ``file:``, ``data:`` or a path out of the assets folder. A real HTTP server on a
  free local port counts the requests the printer makes: there must be none.
"""

import html
import http.server
import io
import threading
from collections.abc import Iterator
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader
from sqlalchemy import select
from weasyprint import HTML

from tests.conftest import post_form
from tests.letters_support import SIMPLE, pdf_text, simple_letter, squash, unspaced, write_letter
from tracker.auth.models import Role
from tracker.extensions import db
from tracker.letters.document import Sender
from tracker.letters.library import parse_template, render, sample_context
from tracker.letters.pdf import ASSET_SCHEME, ASSETS, AssetFetcher, RefusedURL, letters_pdf
from tracker.letters.services import compose, library
from tracker.requests.models import RecordsRequest

SECRET_KEY = "do-not-print-this-secret-key-7c1e"
SENDER = Sender(name="Ana Ruiz", signature="Ana Ruiz, Policy Director")
LETTER_DATE = date(2026, 11, 28)
SIMPLE_TEXT = SIMPLE.format(slug="test-simple", version=1, wording="")
# Jinja an advocate might type into a field, hoping the tracker runs it.
CODE_VALUES = [
    "{{ 7*7777 }}",
    "{{ config }}",
    "{{ config.SECRET_KEY }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ request }}",
    "{% include '/etc/passwd' %}",
    "{% for x in range(3) %}loop{% endfor %}",
]


@pytest.fixture
def app(make_app):
    app = make_app(SECRET_KEY=SECRET_KEY)
    with app.app_context():
        yield app


class Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802  (the name http.server calls)
        Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def local_server(monkeypatch) -> Iterator[str]:
    """A real HTTP server on a free port that counts the requests it gets."""
    # A proxy set in the environment would take the requests away from the server.
    monkeypatch.setenv("no_proxy", "*")
    monkeypatch.setenv("NO_PROXY", "*")
    Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text("TOP SECRET CONTENT")
    return path


# Field values -----------------------------------------------------------------------------


def test_a_field_value_is_data_not_template_code_or_markup(app, make_agency):
    simple_letter(app)
    template = library().get("test-simple")
    values = template.typed_values(
        {"topic": "{{ 7*7777 }} <script>alert(1)</script>", "date_from": "2024-01-01",
         "details": "{% for x in range(3) %}loop{% endfor %}\n\n<b>bold?</b>"}
    )  # fmt: skip
    preview = compose(template, values, make_agency(), SENDER, None, LETTER_DATE, "X")
    assert "{{ 7*7777 }}" in preview.html and "54439" not in preview.html
    assert "<script>" not in preview.html
    # In the body itself, not only in the subject line the layout prints.
    body = preview.rendered.body_html
    assert "Records about {{ 7*7777 }} &lt;script&gt;alert(1)&lt;/script&gt; from" in body
    assert "&lt;b&gt;bold?&lt;/b&gt;" in body
    printed = pdf_text(letters_pdf([preview.html]))
    text = squash(printed)
    sentence = (
        "please send Records about {{ 7*7777 }} <script>alert(1)</script> from January 1, 2024."
    )
    assert unspaced(sentence) in unspaced(printed)
    assert "{% for x in range(3) %}loop{% endfor %}" in text


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=80))
def test_any_typed_text_comes_back_exactly_as_typed(topic):
    """Whatever the text, the subject and the records description hold it verbatim."""
    template = parse_template(SIMPLE_TEXT, "test-simple", "local")  # no database needed
    values = {**template.example_values(), "topic": topic}
    rendered = render(template, values, sample_context())
    assert rendered.subject == f"Records about {topic}".strip()
    assert rendered.records == f"Records about {topic} from January 1, 2024.".strip()


def test_jinja_typed_into_the_draft_form_is_printed_never_run(app, client, auth, make_user,
                                                              make_agency):  # fmt: skip
    simple_letter(app)
    agency = make_agency()
    auth.login(make_user(Role.ADVOCATE))
    code = " | ".join(CODE_VALUES)
    draft = {
        "title": "Injected",
        "agencies": [str(agency.id)],
        "organization": "",
        "f_topic": code,
        "f_date_from": "2024-01-01",
        "f_details": "\n\n".join(CODE_VALUES),
        "f_fee_cap": "25",
        "requester_name": "{{ config.SECRET_KEY }}",
        "signature": "{{ self._TemplateReference__context }}",
        "requester_address": "",
        "requester_email": "ana@example.org",
        "requester_phone": "",
    }
    preview = post_form(client, "/letters/test-simple/draft", {**draft, "preview": "Preview"})
    assert preview.status_code == 200
    response = post_form(client, "/letters/test-simple/draft", {**draft, "save": "Save"})
    assert response.status_code == 302, response.get_data(as_text=True)
    record = db.session.scalars(select(RecordsRequest)).one()
    letter = record.initial_letter
    base = f"/requests/{record.reference}/letters/{letter.id}"
    page = client.get(base).get_data(as_text=True)
    pdf = pdf_text(client.get(f"{base}/letter.pdf").data)

    for output in (preview.get_data(as_text=True), page):
        assert "54439" not in output  # 7*7777, had it run
        assert SECRET_KEY not in output
        assert "&lt;class" not in output and "<class" not in output
        assert "root:x:0:0" not in output
        assert "looplooploop" not in output
        assert f"please send {record.records_sought}" in html.unescape(output)
    assert record.records_sought == f"Records about {code} from January 1, 2024."
    compact = unspaced(pdf)
    assert unspaced(f"please send {record.records_sought}") in compact
    for value in CODE_VALUES:
        assert unspaced(value) in compact, value
    for leak in ("54439", SECRET_KEY, "<class", "root:x:0:0", "looplooploop"):
        assert leak not in pdf


# Templates an admin drops in --------------------------------------------------------------

HOSTILE_BODIES = {
    "reads-python-internals": "<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>",
    "reads-the-config": "<p>{{ config }}</p>",
    "reads-the-secret-key": "<p>{{ config.SECRET_KEY }}</p>",
    "reads-the-flask-request": "<p>{{ request.environ }}</p>",
    "reads-its-own-context": "<p>{{ self._TemplateReference__context }}</p>",
    "reads-globals-through-cycler": "<p>{{ cycler.__init__.__globals__.os }}</p>",
    "reads-globals-through-lipsum": "<p>{{ lipsum.__globals__['os'] }}</p>",
    "calls-format-tricks": "<p>{{ '{0.__class__}'.format(agency) }}</p>",
    "uses-the-attr-filter": "<p>{{ agency|attr('__class__') }}</p>",
    "reads-a-date-class": "<p>{{ letter_date.__class__.__subclasses__() }}</p>",
    "includes-a-file": "<p>{% include '/etc/passwd' %}</p>",
    "extends-a-file": "{% extends '/etc/passwd' %}",
    "imports-os": "<p>{% import 'os' as os %}</p>",
    "imports-from-os": "<p>{% from 'os' import system %}</p>",
    "mutates-context": "<p>{{ request.values.update({'reference': 'x'}) }}</p>",
    "recurses-forever": "{% macro f() %}{{ f() }}{% endmacro %}<p>{{ f() }}</p>",
    "asks-for-a-huge-range": "<p>{{ range(10**9)|list|length }}</p>",
}


def hostile_letter(name: str, body: str) -> str:
    return f"""+++
slug = "{name}"
version = 1
title = "Hostile"
summary = "x"
kind = "follow_up"
laws = ["ca-cpra"]
subject = "x"
+++
{body}
"""


def test_hostile_templates_are_listed_broken_without_a_secret(app, client, auth, runner,
                                                              make_user):  # fmt: skip
    for name, body in HOSTILE_BODIES.items():
        write_letter(app, hostile_letter(name, body), name)
    simple_letter(app)
    lib = library()
    assert not set(HOSTILE_BODIES) & set(lib.templates)
    assert "test-simple" in lib.templates  # the other letters keep working
    errors = {b.name.removesuffix(".letter"): b.error for b in lib.broken}
    assert set(errors) == set(HOSTILE_BODIES)
    for name, error in errors.items():
        assert error.startswith(f"{name}: "), error  # refused while rendering
        assert SECRET_KEY not in error

    auth.login(make_user(Role.ADMIN))
    page = client.get("/letters").get_data(as_text=True)
    assert "Templates that could not be loaded" in page
    for name in HOSTILE_BODIES:
        assert f"{name}.letter" in page
    assert SECRET_KEY not in page
    result = runner.invoke(args=["letters", "check"])
    assert result.exit_code == 1
    assert SECRET_KEY not in result.output


def test_what_a_template_may_print_of_its_context_is_plain_data(app, make_agency):
    """A template that loads prints the values it was given, and nothing behind them."""
    body = "<p>{{ request }} {{ agency.values }} {{ self }} {{ requester }}</p>"
    write_letter(app, hostile_letter("prints-context", body), "prints-context")
    template = library().get("prints-context")
    preview = compose(template, {}, make_agency(), SENDER, None, LETTER_DATE, "X", records="x")
    assert "Party(values=" in preview.html
    assert SECRET_KEY not in preview.html
    assert "&lt;TemplateReference None&gt;" in preview.html


# Printing fetches nothing -----------------------------------------------------------------


def fetching_html(server: str, secret) -> str:
    """Every way a document can make WeasyPrint load a URL, aimed at the local server and at
    a local file. Bare WeasyPrint loads most of them (the control test below proves it)."""
    return f"""<!doctype html><html><head>
<base href="{server}/base/">
<link rel="stylesheet" href="{server}/link.css">
<link rel="stylesheet" href="file:///etc/passwd">
<link rel="attachment" href="file://{secret}">
<link rel="attachment" href="{server}/attachment">
<style>
@import url("{server}/import.css");
@import url("file:///etc/hostname");
@font-face {{ font-family: Evil; src: url({server}/font.ttf) }}
body {{ background: url({server}/background.png); font-family: Evil }}
p::before {{ content: url({server}/content.png) }}
</style></head><body>
<p>Printed body</p>
<img src="{server}/img.png"><img src="file://{secret}"><img src="relative.png">
<img src="data:image/svg+xml;utf8,&lt;svg xmlns='http://www.w3.org/2000/svg'/&gt;">
<p style="background-image: url({server}/inline.png)">inline</p>
<p style="background: url('file:///etc/hostname')">styled</p>
<p style="border: 5px solid; border-image-source: url({server}/border.png)">border</p>
<ul style="list-style-image: url({server}/list.png)"><li>item</li></ul>
<iframe src="{server}/frame"></iframe>
<object data="{server}/object.png" type="image/png"></object>
<object data="file://{secret}" type="text/plain"></object>
<embed src="{server}/embed.png" type="image/png">
<svg width="10" height="10"><image href="{server}/svg.png" width="10" height="10"/></svg>
<a rel="attachment" href="{server}/a-attachment">attachment link</a>
<a href="{server}/link">a link is not fetched</a>
</body></html>"""


def pdf_attachments(data: bytes) -> dict:
    return dict(PdfReader(io.BytesIO(data)).attachments)


def test_bare_weasyprint_would_fetch_these(local_server, secret_file):
    # The control: the same document printed without the tracker's fetcher reaches the
    # server and embeds the local file, so the test below is not vacuously true.
    pdf = HTML(string=fetching_html(local_server, secret_file), base_url=ASSET_SCHEME).write_pdf()
    assert len(Recorder.hits) >= 10, Recorder.hits
    attached = b"".join(b for files in pdf_attachments(pdf).values() for b in files)
    assert b"TOP SECRET CONTENT" in attached


def test_the_printer_fetches_nothing_remote_and_no_file(app, local_server, secret_file):
    pdf = letters_pdf([fetching_html(local_server, secret_file)])
    assert pdf.startswith(b"%PDF")
    assert "Printed body" in pdf_text(pdf)
    assert Recorder.hits == []
    assert pdf_attachments(pdf) == {}
    assert b"TOP SECRET CONTENT" not in pdf
    text = pdf_text(pdf)
    assert "TOP SECRET CONTENT" not in text and "root:x:0:0" not in text


def test_a_template_body_with_fetching_tags_prints_without_them(app, make_agency, local_server,
                                                                secret_file):  # fmt: skip
    body = f"""<p>Image <img src="{local_server}/img.png"> and <img src="file://{secret_file}"></p>
<p><object data="file://{secret_file}"></object><iframe src="{local_server}/frame"></iframe></p>
<link rel="stylesheet" href="{local_server}/style.css">
<p style="background: url('{local_server}/bg.png')">styled</p>
<style>body {{ background: url({local_server}/style-tag.png) }}</style>
<p><a href="{local_server}/link">a link is not fetched</a></p>"""
    write_letter(app, hostile_letter("fetches", body), "fetches")
    template = library().get("fetches")
    preview = compose(template, {}, make_agency(), SENDER, None, LETTER_DATE, "X", records="x")
    for tag in ("<img", "<object", "<iframe", "<link", "style=", "<style", "<a "):
        assert tag not in preview.rendered.body_html, tag
    pdf = letters_pdf([preview.html])
    assert Recorder.hits == []
    assert "TOP SECRET CONTENT" not in pdf_text(pdf)


def test_urls_typed_into_fields_and_an_agency_print_as_text(app, make_agency, local_server,
                                                           secret_file):  # fmt: skip
    simple_letter(app)
    template = library().get("test-simple")
    tags = (
        f'<img src="{local_server}/field.png">'
        f'<link rel=stylesheet href="file://{secret_file}">'
        f"<p style=\"background: url('file:///etc/hostname')\">x</p>"
        f'<iframe src="{local_server}/frame"></iframe><object data="{local_server}/o.png">'
    )
    agency = make_agency(
        name=f'Agency <img src="{local_server}/agency.png">',
        mailing_address=f'<link rel="attachment" href="file://{secret_file}">',
        portal_url=f"{local_server}/portal",
    )
    values = template.typed_values({"topic": tags, "date_from": "2024-01-01", "details": tags})
    preview = compose(template, values, agency, SENDER, None, LETTER_DATE, "X")
    pdf = letters_pdf([preview.html])
    assert Recorder.hits == []
    assert pdf_attachments(pdf) == {}
    text = unspaced(pdf_text(pdf))
    assert unspaced(tags) in text
    assert unspaced(f'<img src="{local_server}/agency.png">') in text
    assert "TOPSECRETCONTENT" not in text


def test_the_local_server_would_have_seen_a_fetch(local_server):
    # The checks above are only meaningful if the recorder records: prove it does.
    import urllib.request

    urllib.request.urlopen(f"{local_server}/probe", timeout=5).close()  # noqa: S310
    assert Recorder.hits == ["/probe"]


# The fetcher on its own -------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/x.png",
        "https://example.org/style.css",
        "ftp://example.org/file",
        "file:///etc/passwd",
        "file://localhost/etc/passwd",
        "FILE:///etc/passwd",
        "data:text/css,body{color:red}",
        "data:image/png;base64,iVBORw0KGgo=",
        "tracker-asset:../pdf.py",
        "tracker-asset:../../../../etc/passwd",
        "tracker-asset:/etc/passwd",
        "tracker-asset:fonts/../letter.css",
        "tracker-asset:fonts/../../pdf.py",
        "tracker-asset:%2e%2e/pdf.py",
        "tracker-asset:letter.css/../../pdf.py",
        "tracker-asset:letter.css?x=1",
        "tracker-asset:letter.css#x",
        "tracker-asset:letter.html",
        "tracker-asset:fonts",
        "tracker-asset:",
        "tracker-asset:file:///etc/passwd",
        "letter.css",
        "//127.0.0.1/x",
        "javascript:alert(1)",
    ],
)
def test_the_fetcher_refuses_anything_but_a_bundled_asset(url):
    with pytest.raises(RefusedURL):
        AssetFetcher().fetch(url)


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_the_fetcher_serves_each_bundled_asset(name):
    response = AssetFetcher().fetch(f"{ASSET_SCHEME}{name}")
    assert response.content_type == ASSETS[name]
    assert len(response.read()) > 100
    response.close()


def test_the_printer_uses_the_fetcher_for_every_document(monkeypatch, local_server):
    """Whatever path a document takes to the printer, the fetcher sees each URL first."""
    seen: list[str] = []
    original = AssetFetcher.fetch

    def spy(self, url, headers=None):
        seen.append(url)
        return original(self, url, headers)

    monkeypatch.setattr(AssetFetcher, "fetch", spy)
    html = f'<p>x</p><img src="{local_server}/spy.png">'
    letters_pdf([html, html])
    assert seen.count(f"{local_server}/spy.png") == 2
    assert Recorder.hits == []

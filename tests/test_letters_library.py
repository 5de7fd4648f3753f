"""The letter library: every shipped letter prints correctly; templates are safe."""

import http.server
import threading
from pathlib import Path

import pytest

from tests.letters_support import pdf_text, simple_letter, squash, unspaced, write_letter
from tracker import PROJECT_ROOT
from tracker.agencies.models import Agency
from tracker.letters.document import Sender
from tracker.letters.library import LetterError, load_library, render, sample_context
from tracker.letters.pdf import letters_pdf
from tracker.letters.services import compose, library

SHIPPED = load_library([("shipped", PROJECT_ROOT / "letters")])
SENDER = Sender(
    name="Ana Ruiz",
    organization="Coalition for Humane Immigrant Rights",
    address="100 Main Street\nLos Angeles, CA 90012",
    email="ana@example.org",
    signature="Ana Ruiz, Policy Director",
)


def test_every_shipped_template_loads():
    assert SHIPPED.broken == []
    kinds = {t.kind for t in SHIPPED.templates.values()}
    assert {"initial", "follow_up", "extension_response", "demand", "appeal"} <= kinds
    initial = [t for t in SHIPPED.templates.values() if t.kind == "initial"]
    assert len(initial) >= 10


@pytest.mark.parametrize("slug", sorted(SHIPPED.templates))
def test_every_shipped_letter_prints_its_statutes_agency_and_records(app, make_agency, slug):
    template = library().get(slug)
    agency = make_agency(
        name="Los Angeles Police Department",
        short_name="LAPD",
        law=template.laws[0],
        records_office="Discovery Section",
        mailing_address="100 West First Street, Room 101\nLos Angeles, CA 90012",
    )
    preview = compose(
        template, template.example_values(), agency, SENDER, None,
        sample_context()["letter_date"], "LA-2026-0042",
    )  # fmt: skip
    printed = pdf_text(letters_pdf([preview.html]))
    text, compact = squash(printed), unspaced(printed)
    for section in template.statutes:
        assert unspaced(section) in compact, f"{slug} does not print {section}"
    assert "Los Angeles Police Department" in text
    assert "100 West First Street, Room 101" in text
    assert "Los Angeles, CA 90012" in text
    assert unspaced(preview.rendered.records) in compact
    assert preview.rendered.records
    assert "Reference LA-2026-0042 · Page 1 of" in text
    assert "Ana Ruiz, Policy Director" in text


def test_the_shipped_statute_lists_name_the_core_cpra_sections():
    for template in SHIPPED.templates.values():
        if template.kind == "initial" and "ca-cpra" in template.laws:
            for section in ("7922.535", "7922.525", "7922.570", "7922.540", "7922.600"):
                assert section in template.statutes, (template.slug, section)


def test_a_field_value_is_data_not_template_code_or_markup(app, make_agency):
    simple_letter(app)
    template = library().get("test-simple")
    values = template.typed_values(
        {"topic": "{{ 7*7 }} <script>alert(1)</script>", "date_from": "2024-01-01",
         "details": "{% for x in range(3) %}loop{% endfor %}\n\n<b>bold?</b>"}
    )  # fmt: skip
    preview = compose(
        template, values, make_agency(), SENDER, None, sample_context()["letter_date"], "X"
    )
    assert "{{ 7*7 }}" in preview.html and "49" not in preview.html
    assert "<script>" not in preview.html
    assert "&lt;script&gt;" in preview.html
    assert "&lt;b&gt;bold?&lt;/b&gt;" in preview.html
    text = squash(pdf_text(letters_pdf([preview.html])))
    assert "{{ 7*7 }} <script>alert(1)</script>" in text
    assert "{% for x in range(3) %}loop{% endfor %}" in text


HOSTILE_BODIES = {
    "reads-python-internals": "<p>{{ ''.__class__.__mro__[1].__subclasses__() }}</p>",
    "calls-format-tricks": "<p>{{ '{0.__class__}'.format(agency) }}</p>",
    "includes-a-file": "<p>{% include '/etc/passwd' %}</p>",
    "imports-os": "<p>{% import 'os' as os %}</p>",
    "mutates-context": "<p>{{ request.values.update({'reference': 'x'}) }}</p>",
}


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_a_hostile_template_is_reported_broken_and_runs_nothing(app, name):
    text = f"""+++
slug = "{name}"
version = 1
title = "Hostile"
summary = "x"
kind = "follow_up"
laws = ["ca-cpra"]
subject = "x"
+++
{HOSTILE_BODIES[name]}
"""
    write_letter(app, text, name)
    simple_letter(app)
    lib = library()
    assert name not in lib.templates
    assert [b.name for b in lib.broken] == [f"{name}.letter"]
    assert lib.broken[0].error.startswith(f"{name}: ")  # refused while rendering
    assert "test-simple" in lib.templates


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
def local_server():
    Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_printing_fetches_nothing_remote_and_no_file(app, make_agency, local_server, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET CONTENT")
    body = f"""<p>Image <img src="{local_server}/img.png"> and <img src="file://{secret}"></p>
<p><object data="file://{secret}"></object><iframe src="{local_server}/frame"></iframe></p>
<link rel="stylesheet" href="{local_server}/style.css">
<p style="background: url('{local_server}/bg.png')">styled</p>
<p><a href="{local_server}/link">a link is not fetched</a></p>"""
    text = f"""+++
slug = "fetches"
version = 1
title = "Fetches"
summary = "x"
kind = "follow_up"
laws = ["ca-cpra"]
subject = "x"
+++
{body}
"""
    write_letter(app, text, "fetches")
    template = library().get("fetches")
    preview = compose(
        template, {}, make_agency(), SENDER, None, sample_context()["letter_date"], "X"
    )
    pdf = letters_pdf([preview.html])
    assert pdf.startswith(b"%PDF")
    assert Recorder.hits == []
    assert "TOP SECRET CONTENT" not in pdf_text(pdf)


def test_the_local_server_would_have_seen_a_fetch(local_server):
    # The check above is only meaningful if the recorder records: prove it does.
    import urllib.request

    urllib.request.urlopen(f"{local_server}/probe", timeout=5).close()  # noqa: S310
    assert Recorder.hits == ["/probe"]


def test_a_broken_template_is_listed_and_the_rest_still_work(app, client, auth, make_user):
    write_letter(app, "+++\nslug = 'broken'\n", "broken")
    write_letter(
        app,
        simple_text := '+++\nslug = "bad-field"\nversion = 1\ntitle = "t"\nsummary = "s"\n'
        'kind = "initial"\nlaws = ["ca-cpra"]\nsubject = "s"\n[[fields]]\nname = "x"\n'
        'type = "colour"\n+++\n<p>{{ x }}</p>\n',
        "bad-field",
    )
    assert "colour" in simple_text
    write_letter(app, "+++\n" + 'slug = "syntax"\n' + "+++\n<p>{% if %}</p>", "syntax")
    simple_letter(app)
    auth.login(make_user())
    page = client.get("/letters").get_data(as_text=True)
    assert "Templates that could not be loaded" in page
    assert "broken.letter" in page and "the metadata must end with a line +++" in page
    assert "bad-field.letter" in page and "unknown type &#39;colour&#39;" in page
    assert "syntax.letter" in page
    assert "Test letter" in page
    assert client.get("/letters/test-simple").status_code == 200
    assert client.get("/requests").status_code == 200


def test_a_local_template_overrides_the_shipped_one_of_the_same_slug(app):
    slug = sorted(SHIPPED.templates)[0]
    simple = (Path(__file__).parent / "letters_support.py").read_text()
    assert "SIMPLE" in simple
    simple_letter(app, slug=slug, version=99)
    assert library().get(slug).version == 99
    assert library().get(slug).source == "local"


def test_values_that_do_not_fit_the_template_are_refused(app):
    simple_letter(app)
    template = library().get("test-simple")
    with pytest.raises(LetterError, match="not a valid date"):
        template.typed_values({"topic": "x", "date_from": "yesterday"})
    with pytest.raises(LetterError, match="Required: Topic"):
        template.typed_values({"date_from": "2024-01-01"})
    with pytest.raises(LetterError, match="no field"):
        template.typed_values({"topic": "x", "date_from": "2024-01-01", "colour": "red"})
    with pytest.raises(LetterError, match="not a valid money"):
        template.typed_values({"topic": "x", "date_from": "2024-01-01", "fee_cap": "-5"})


def test_render_is_pure_and_needs_no_database():
    template = SHIPPED.templates[sorted(SHIPPED.templates)[0]]
    first = render(template, template.example_values(), sample_context())
    second = render(template, template.example_values(), sample_context())
    assert first == second
    assert isinstance(Agency.__tablename__, str)

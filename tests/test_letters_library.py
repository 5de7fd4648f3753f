"""The letter library: every shipped letter prints correctly; templates are safe."""

from datetime import date
from pathlib import Path

import pytest

from tests.letters_support import (
    letter_text,
    pdf_text,
    simple_letter,
    squash,
    unspaced,
    write_letter,
)
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
def test_every_shipped_letter_prints_its_statutes_agency_and_records(
    app, make_agency, make_request, slug
):
    template = library().get(slug)
    agency = make_agency(
        name="Los Angeles Police Department",
        short_name="LAPD",
        law=template.laws[0],
        records_office="Discovery Section",
        mailing_address="100 West First Street, Room 101\nLos Angeles, CA 90012",
        # An appeal goes to the appeals office, here at the same address.
        appeal_office="Appeals Officer",
        appeal_address="100 West First Street, Room 101\nLos Angeles, CA 90012",
    )
    # A later letter quotes the request's own description of the records.
    request = (
        None
        if template.kind == "initial"
        else make_request(
            agency=agency, records_sought="Reports to the Police Commission on ICE requests."
        )
    )
    preview = compose(
        template, template.example_values(), agency, SENDER, request,
        sample_context()["letter_date"], "LA-2026-0042",
        records="Reports to the Police Commission on requests from ICE.",
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
    # The signature line "Ana Ruiz, Policy Director": the name, the title below it.
    assert "\nAna Ruiz\nPolicy Director\n" in printed
    assert "Ana Ruiz, Policy Director" not in text


FEE_CAPPED = sorted(
    slug
    for slug, template in SHIPPED.templates.items()
    if any(spec.type == "money" for spec in template.fields)
)


def test_the_letters_that_name_a_fee_cap_are_the_requests():
    assert len(FEE_CAPPED) >= 12
    assert {SHIPPED.templates[slug].kind for slug in FEE_CAPPED} == {"initial"}


@pytest.mark.parametrize("slug", FEE_CAPPED)
def test_a_fee_cap_of_nothing_asks_to_be_told_before_any_fee(app, make_agency, slug):
    template = library().get(slug)
    [cap] = [spec.name for spec in template.fields if spec.type == "money"]
    agency = make_agency(law=template.laws[0])

    def printed(amount):
        values = {**template.example_values(), cap: template.field(cap).parse(amount)}
        preview = compose(template, values, agency, SENDER, None, date(2026, 11, 2), "LA-1")
        return squash(letter_text(letters_pdf([preview.html])))

    for nothing in ("0", None):
        text = printed(nothing)
        assert "$0.00" not in text and "up to ." not in text and "exceed ," not in text
        assert "we do not agree to pay any fee without first being told of it" in text.lower()
        assert "however small" in text
    text = printed("75")
    assert "fees of up to $75.00" in text
    assert "however small" not in text


@pytest.mark.parametrize(
    ("signature", "lines"),
    [
        ("Ada Advocate, Staff Attorney", ["Ada Advocate", "Staff Attorney"]),
        ("Ana Ruiz, Esq., Staff Attorney", ["Ana Ruiz, Esq.", "Staff Attorney"]),
        (
            "Luis Ortega, Jr., Director, Legal Services",
            ["Luis Ortega, Jr.", "Director, Legal Services"],
        ),
        ("Martin Luther King, Jr.", ["Martin Luther King, Jr."]),
        ("Ana Ruiz", ["Ana Ruiz"]),
        ("Ana Ruiz,", ["Ana Ruiz"]),
    ],
)
def test_the_signature_line_prints_the_name_then_the_title_below_it(signature, lines):
    assert Sender(name="Someone", signature=signature).signature_lines == lines


def test_without_a_signature_line_the_name_signs_and_an_organization_prints_whole():
    assert Sender(name="Ana Ruiz").signature_lines == ["Ana Ruiz"]
    coalition = "Coalition for Humane Immigrant Rights, Inc."
    sender = Sender(name="Ana Ruiz", organization=coalition, signature=coalition)
    assert sender.signature_lines == [coalition]


def test_the_shipped_statute_lists_name_the_core_cpra_sections():
    for template in SHIPPED.templates.values():
        if template.kind == "initial" and "ca-cpra" in template.laws:
            for section in ("7922.535", "7922.525", "7922.570", "7922.540", "7922.600"):
                assert section in template.statutes, (template.slug, section)


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


def test_every_shipped_date_range_ends_after_it_starts_and_by_today():
    ranges = 0
    for template in SHIPPED.templates.values():
        dates = {spec.name: spec for spec in template.fields if spec.type == "date"}
        if "date_to" in dates:
            ranges += 1
            assert dates["date_to"].not_before == "date_from", template.slug
            assert dates["date_to"].not_after == "today", template.slug
            assert dates["date_from"].not_after == "today", template.slug
        if "original_date" in dates:
            assert dates["original_date"].not_after == "today", template.slug
    assert ranges >= 10


BOUNDED = """+++
slug = "{slug}"
version = 1
title = "t"
summary = "s"
kind = "follow_up"
laws = ["ca-cpra"]
subject = "s"

[[fields]]
name = "start"
type = "date"
example = "2026-03-02"

[[fields]]
name = "{name}"
type = "{kind}"
example = "{example}"
{rule}
+++
<p>{{{{ start }}}}</p>
"""


@pytest.mark.parametrize(
    ("name", "kind", "example", "rule", "error"),
    [
        ("end", "date", "2026-04-01", 'not_before = "start"', None),
        ("end", "date", "2026-04-01", 'not_after = "today"', None),
        ("end", "date", "2026-02-01", 'not_before = "start"',
         "the example of end is before the example of start, which not_before forbids"),
        ("end", "date", "2026-04-01", 'not_after = "start"',
         "the example of end is after the example of start, which not_after forbids"),
        ("end", "date", "2026-04-01", 'not_before = "finish"', "names no date field 'finish'"),
        ("end", "date", "2026-04-01", 'not_before = "end"', "must be today or another date"),
        ("end", "date", "2026-04-01", 'not_before = "tomorrow!"', "must be today or another"),
        ("count", "number", "5", 'not_after = "today"', "count has not_after but is not a date"),
    ],
)  # fmt: skip
def test_a_date_fields_bounds_name_a_date_field_and_its_example_keeps_to_them(
    app, name, kind, example, rule, error
):
    write_letter(app, BOUNDED.format(slug="bounded", name=name, kind=kind, example=example,
                                     rule=rule), "bounded")  # fmt: skip
    lib = library()
    if error is None:
        assert lib.broken == [] and "bounded" in lib.templates
    else:
        [broken] = lib.broken
        assert error in broken.error

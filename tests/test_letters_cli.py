"""``tracker letters``: stable commands for scripts, one clear line on every error."""

import json

from tests.letters_support import pdf_text, simple_letter, squash, write_letter


def test_list_shows_every_template(app, runner):
    simple_letter(app)
    result = runner.invoke(args=["letters", "list"])
    assert result.exit_code == 0
    assert "test-simple\tinitial\tca-cpra\tv1\tTest letter" in result.output.splitlines()


def test_check_passes_then_reports_a_broken_template(app, runner):
    simple_letter(app)
    assert runner.invoke(args=["letters", "check"]).exit_code == 0
    write_letter(app, "no metadata here", "oops")
    result = runner.invoke(args=["letters", "check"])
    assert result.exit_code == 1
    assert "oops.letter (local): the file must start with a line +++" in result.output


def test_show_json_describes_the_fields(app, runner):
    simple_letter(app)
    result = runner.invoke(args=["letters", "show", "test-simple", "--json"])
    assert result.exit_code == 0
    info = json.loads(result.output)
    assert info["slug"] == "test-simple" and info["kind"] == "initial"
    topic = next(f for f in info["fields"] if f["name"] == "topic")
    assert topic == {
        "name": "topic", "label": "Topic", "type": "text", "required": True,
        "example": "detainers", "default": None, "help": "", "choices": [], "prefill": None,
    }  # fmt: skip


def test_render_writes_a_pdf_with_examples_and_set_values(app, runner, make_agency, tmp_path):
    simple_letter(app)
    make_agency(name="Los Angeles Police Department", short_name="LAPD",
                mailing_address="100 West First Street\nLos Angeles, CA 90012")  # fmt: skip
    output = tmp_path / "letter.pdf"
    result = runner.invoke(
        args=["letters", "render", "test-simple", "--agency", "lapd", "--set", "topic=U visas",
              "--output", str(output), "--requester", "Ana Ruiz"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    text = squash(pdf_text(output.read_bytes()))
    assert "Records about U visas from January 1, 2024." in text
    assert "Los Angeles Police Department" in text and "100 West First Street" in text
    html = tmp_path / "letter.html"
    runner.invoke(
        args=["letters", "render", "test-simple", "--agency", "Los Angeles Police Department",
              "--output", str(html), "--html"],
    )  # fmt: skip
    assert "Records about detainers" in html.read_text()


def test_render_errors_are_one_line_and_exit_2(app, runner, make_agency, tmp_path):
    simple_letter(app)
    make_agency(short_name="LAPD")
    output = str(tmp_path / "x.pdf")
    cases = {
        ("no-such", "--agency", "LAPD"): "Error: No letter template 'no-such'.",
        ("test-simple", "--agency", "Nowhere PD"): "Error: no agency called 'Nowhere PD'",
        ("test-simple", "--agency", "LAPD", "--set", "colour=red"): "has no field 'colour'",
        ("test-simple", "--agency", "LAPD", "--set", "topic"): "--set takes FIELD=VALUE",
        ("test-simple", "--agency", "LAPD", "--set", "date_from=soon"): "not a valid date",
    }
    for args, message in cases.items():
        result = runner.invoke(args=["letters", "render", *args, "--output", output])
        assert result.exit_code == 2, args
        assert message in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    assert runner.invoke(args=["letters", "show", "no-such"]).exit_code == 2

"""Letter templates written by tests into the instance folder, where admins drop theirs."""

from pathlib import Path

from flask import Flask
from pypdf import PdfReader

SIMPLE = """+++
slug = "{slug}"
version = {version}
title = "Test letter"
summary = "A letter for tests."
kind = "initial"
laws = ["ca-cpra"]
statutes = ["7922.535"]
subject = "Records about {{{{ topic }}}}"
records = "Records about {{{{ topic }}}} from {{{{ date_from|date }}}}."

[[fields]]
name = "topic"
label = "Topic"
type = "text"
required = true
example = "detainers"

[[fields]]
name = "date_from"
label = "From"
type = "date"
required = true
example = "2024-01-01"

[[fields]]
name = "details"
label = "Details"
type = "textarea"

[[fields]]
name = "fee_cap"
label = "Fee cap"
type = "money"
default = "50"
+++
<p>Under Gov. Code § 7922.535, please send {{{{ records }}}} {wording}</p>
{{{{ details|paragraphs }}}}
<p>Tell us before fees pass {{{{ fee_cap|money }}}}.</p>
"""


def write_letter(app: Flask, text: str, name: str) -> Path:
    folder = Path(app.instance_path) / "letters"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.letter"
    path.write_text(text, encoding="utf-8")
    return path


def simple_letter(
    app: Flask, slug: str = "test-simple", version: int = 1, wording: str = ""
) -> Path:
    return write_letter(app, SIMPLE.format(slug=slug, version=version, wording=wording), slug)


def pdf_text(data: bytes) -> str:
    import io

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def pdf_page_texts(data: bytes) -> list[str]:
    import io

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages]


def pdf_pages(data: bytes) -> int:
    import io

    return len(PdfReader(io.BytesIO(data)).pages)


def squash(text: str) -> str:
    """Text with all runs of white space made one space: PDF lines break anywhere."""
    return " ".join(text.split())


def unspaced(text: str) -> str:
    """Text with no white space at all, for finding phrases a line break may split
    anywhere, even inside "552(a)(6)(A)(i)" or after a hyphen."""
    return "".join(text.replace("\u00a0", " ").split())

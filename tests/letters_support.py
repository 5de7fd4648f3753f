"""Letter templates written by tests into the instance folder, where admins drop theirs."""

import re
from pathlib import Path
from typing import Any

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


# What every page prints around the letter (the draft's marks, the footer), and the
# numbers of a list, which the PDF draws apart from their items and so reads apart.
PAGE_FURNITURE = re.compile(
    r"DRAFT|DRAFT — not final, do not send|Reference \S+ · Page \d+ of \d+|\d+\."
)


def letter_text(data: bytes) -> str:
    """The letter's text as one reads it across pages, without the pages' furniture."""
    lines = pdf_text(data).splitlines()
    return "\n".join(line for line in lines if not PAGE_FURNITURE.fullmatch(line.strip()))


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


def form_values(page: str) -> dict[str, Any]:
    """What a browser would submit from the page's main form (its largest), as shown."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__(convert_charrefs=True)
            self.forms: list[dict[str, Any]] = []
            self.values: dict[str, Any] = {}
            self.inside = False
            self.textarea: str | None = None
            self.select: str | None = None

        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            a = {key: value or "" for key, value in attrs}
            if tag == "form" and a.get("method") == "post":
                self.inside, self.values = True, {}
                self.forms.append(self.values)
            if not self.inside:
                return
            name, kind = a.get("name", ""), a.get("type", "text")
            if tag == "input" and name and kind not in ("submit", "checkbox", "radio"):
                self.values[name] = a.get("value", "")
            elif tag == "input" and name and "checked" in a:
                self.values.setdefault(name, []).append(a.get("value", "y"))
            elif tag == "textarea":
                self.textarea = name
                self.values[name] = ""
            elif tag == "select":
                self.select = name
            elif tag == "option" and self.select:
                if "selected" in a or self.select not in self.values:
                    self.values[self.select] = a.get("value", "")

        def handle_data(self, data: str) -> None:
            if self.textarea:
                value = self.values[self.textarea] + data
                self.values[self.textarea] = value.removeprefix("\r\n").removeprefix("\n")

        def handle_endtag(self, tag: str) -> None:
            if tag == "form":
                self.inside = False
            elif tag == "textarea":
                self.textarea = None
            elif tag == "select":
                self.select = None

    reader = Reader()
    reader.feed(page)
    return max(reader.forms, key=len)

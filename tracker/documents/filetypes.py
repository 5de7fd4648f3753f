"""What a file is, decided from its bytes: never from its name or the browser's word."""

import csv
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

# Text that a browser could run is refused, whatever it is called: anything that opens
# with markup (a tag, a comment, a doctype, an XML declaration), and scripts (a #! line).
ACTIVE_TEXT = re.compile(rb"^\s*(<[a-z!?/]|#!)", re.IGNORECASE)
MAIL_HEADER = re.compile(
    rb"^(Return-Path|Received|From|To|Subject|Date|Message-ID|MIME-Version|Delivered-To|"
    rb"X-[A-Za-z-]+):[ \t]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class FileType:
    media_type: str
    label: str
    extension: str


class Refused(ValueError):
    """A file of a kind the archive does not take, with a message for the user."""


PDF = FileType("application/pdf", "PDF", "pdf")
WEBP = FileType("image/webp", "WebP image", "webp")
IMAGES = {
    b"\x89PNG\r\n\x1a\n": FileType("image/png", "PNG image", "png"),
    b"\xff\xd8\xff": FileType("image/jpeg", "JPEG image", "jpg"),
    b"GIF87a": FileType("image/gif", "GIF image", "gif"),
    b"GIF89a": FileType("image/gif", "GIF image", "gif"),
    b"II*\x00": FileType("image/tiff", "TIFF image", "tif"),
    b"MM\x00*": FileType("image/tiff", "TIFF image", "tif"),
}
OLE = FileType("application/vnd.ms-office", "Word or Excel (older format)", "doc")
ZIP = FileType("application/zip", "ZIP archive", "zip")
OFFICE = {
    "word/": FileType(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "Word document",
        "docx",
    ),
    "xl/": FileType(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "Excel spreadsheet",
        "xlsx",
    ),
    "ppt/": FileType(
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "PowerPoint presentation",
        "pptx",
    ),
}
OPEN_DOCUMENT = {
    "application/vnd.oasis.opendocument.text": FileType(
        "application/vnd.oasis.opendocument.text", "OpenDocument text", "odt"
    ),
    "application/vnd.oasis.opendocument.spreadsheet": FileType(
        "application/vnd.oasis.opendocument.spreadsheet", "OpenDocument spreadsheet", "ods"
    ),
}
EMAIL = FileType("message/rfc822", "Email", "eml")
CSV = FileType("text/csv", "CSV spreadsheet", "csv")
TEXT = FileType("text/plain", "Plain text", "txt")

LABELS = {
    kind.media_type: kind.label
    for kind in (
        PDF, WEBP, *IMAGES.values(), OLE, ZIP, *OFFICE.values(), *OPEN_DOCUMENT.values(),
        EMAIL, CSV, TEXT,
    )
}  # fmt: skip


def type_label(media_type: str) -> str:
    """What people call a file of this type ("PDF", "Word document"); else the type itself."""
    return LABELS.get(media_type, media_type)


ACCEPTED = (
    "PDF, images (PNG, JPEG, GIF, TIFF), Word, Excel, OpenDocument, CSV, plain text, "
    "email (.eml) and ZIP"
)


def detect(head: bytes, path: Path) -> FileType:
    """The type of a staged file, from its first bytes (and, for ZIPs, its listing)."""
    if head.startswith(b"%PDF-"):
        return PDF
    if head[:12].startswith(b"RIFF") and head[8:12] == b"WEBP":
        return WEBP
    for magic, kind in IMAGES.items():
        if head.startswith(magic):
            return kind
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return zip_kind(path)
    return text_kind(head)


def zip_kind(path: Path) -> FileType:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            if "mimetype" in names:
                # Only its first bytes: unpacking all of a hostile "mimetype" could take gigabytes.
                with archive.open("mimetype") as entry:
                    declared = entry.read(100).decode("ascii", "replace").strip()
                if declared in OPEN_DOCUMENT:
                    return OPEN_DOCUMENT[declared]
            if "[Content_Types].xml" in names:
                for prefix, kind in OFFICE.items():
                    if any(name.startswith(prefix) for name in names):
                        return kind
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as error:
        raise Refused(f"It looks like a ZIP file but cannot be read ({error}).") from None
    return ZIP


def text_kind(head: bytes) -> FileType:
    sample = head.removeprefix(b"\xef\xbb\xbf")
    if b"\x00" in sample:
        raise Refused(f"This kind of file is not accepted. Accepted: {ACCEPTED}.")
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(sample) - 4:  # not just a character cut at the sample's end
            raise Refused(f"This kind of file is not accepted. Accepted: {ACCEPTED}.") from None
        text = sample[: error.start].decode("utf-8")
    if ACTIVE_TEXT.match(sample):
        raise Refused("Web pages, scripts and SVG files are not accepted; save it as PDF.")
    if not text.strip():
        raise Refused("The file is empty.")
    first_lines = sample.splitlines()[:3]
    if first_lines and all(MAIL_HEADER.match(line) or line[:1] in (b" ", b"\t")
                           for line in first_lines):  # fmt: skip
        return EMAIL
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    if len(lines) >= 2:
        try:
            dialect = csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t")
            widths = {len(row) for row in csv.reader(lines, dialect)}
            if len(widths) == 1 and widths.pop() >= 2:
                return CSV
        except csv.Error:
            pass
    return TEXT


def safe_filename(name: str | None) -> str:
    """The name to show: no folders, no control characters, not too long."""
    name = (name or "").replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip().strip(".")
    return name[:200] or "unnamed"

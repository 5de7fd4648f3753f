"""The letter library: templates loaded from ``letters/`` folders, checked, rendered safely.

A template is a ``*.letter`` file: TOML metadata between ``+++`` lines, then a
Jinja body. Bodies render in Jinja's immutable sandbox with autoescaping, so a
value typed into a form is always data: never markup, never template code.
"""

import hashlib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from pathlib import Path
from typing import Any

import nh3
from jinja2 import StrictUndefined, Template, TemplateError
from jinja2 import meta as jinja_meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from tracker.laws import all_laws

KINDS = {
    "initial": "Initial requests",
    "follow_up": "Follow-ups on overdue requests",
    "extension_response": "Responses to extension notices",
    "demand": "Pre-litigation demand letters",
    "appeal": "Administrative appeals",
}
FIELD_TYPES = {"text", "textarea", "date", "number", "money", "choice", "checkbox"}
PREFILLS = {
    "request.sent_on",
    "request.sent_via",
    "request.received_on",
    "request.due_on",
    "request.agency_tracking_number",
    "request.reference",
    "request.title",
    "request.records_sought",
    "request.extension_notice_on",
    "request.extension_claimed_on",
    "request.determination_on",
}
# What a letter body may contain; anything else is removed before it is shown or
# printed, so no template can script a page or make the printer fetch a URL.
BODY_TAGS = {"p", "br", "ol", "ul", "li", "strong", "em", "b", "i", "u", "blockquote"}
RESERVED = {
    "agency", "requester", "request", "records", "letter_date", "deadline", "enclosures",
}  # fmt: skip
# Who a letter is addressed to at the agency: its records office, the office that
# decides administrative appeals, or its head or counsel (a CPRA demand letter).
ADDRESSEES = ("records", "appeal", "counsel")
DEFAULT_ADDRESSEE = {"appeal": "appeal", "demand": "counsel"}
# The request's dates the deadline engine counts from, which a letter's own date
# fields may give (``[deadline]`` in the metadata: fact = "field name").
DEADLINE_FACTS = ("sent_on", "received_on", "extension_notice_on", "extension_claimed_on")
# A deadline is computed, never typed: a field that asks for one is refused.
DEADLINE_WORDS = re.compile(r"\b(deadline|due)\b", re.IGNORECASE)
# A date written into a template's text is an example that will print as a fact.
TYPED_DATE = re.compile(
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December)\s+\d{1,2},\s+\d{4}\b|\b\d{4}-\d{2}-\d{2}\b"
)
# What a date field's ``not_before`` / ``not_after`` may name besides another date field.
TODAY = "today"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")


class LetterError(ValueError):
    """A template that cannot be used, or values that do not fit it."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    label: str
    type: str
    required: bool = False
    help: str = ""
    default: Any = None
    example: Any = None
    choices: tuple[str, ...] = ()
    prefill: str = ""
    # A field required only when this checkbox field of the template is ticked.
    required_if: str = ""
    # For dates: "today" or the name of another date field of the template.
    not_before: str = ""
    not_after: str = ""

    def parse(self, raw: Any) -> Any:
        """A stored or typed value as the body sees it; None when empty."""
        if raw is None or raw == "":
            return False if self.type == "checkbox" else None
        try:
            if self.type == "date":
                return raw if isinstance(raw, date) else date.fromisoformat(str(raw))
            if self.type == "number":
                return int(raw)
            if self.type == "money":
                amount = Decimal(str(raw).replace("$", "").replace(",", "").strip())
                if not amount.is_finite() or amount < 0:
                    raise ValueError(raw)
                return amount.quantize(Decimal("0.01"))
            if self.type == "checkbox":
                return raw is True or str(raw).lower() in ("true", "1", "yes", "y", "on")
        except (ValueError, InvalidOperation) as error:
            raise LetterError(f"{self.label}: {raw!r} is not a valid {self.type}") from error
        value = str(raw)
        if self.type == "choice" and value not in self.choices:
            raise LetterError(f"{self.label}: choose one of {', '.join(self.choices)}")
        return value

    def store(self, value: Any) -> Any:
        """A typed value as JSON keeps it."""
        if value is None:
            return None
        if isinstance(value, date | Decimal):
            return str(value) if isinstance(value, Decimal) else value.isoformat()
        return value


@dataclass(frozen=True)
class LetterTemplate:
    slug: str
    version: int
    title: str
    summary: str
    kind: str
    laws: tuple[str, ...]
    subject: str
    records: str
    body: str
    fields: tuple[FieldSpec, ...]
    suggested_agencies: tuple[str, ...] = ()
    statutes: tuple[str, ...] = ()
    salutation: str = ""
    content_hash: str = ""
    source: str = ""
    # Who at the agency the letter goes to (one of ADDRESSEES).
    addressee: str = "records"
    # The agencies (slugs) a letter written for them alone may go to; empty: any.
    only_agencies: tuple[str, ...] = ()
    # Engine facts the letter's own date fields give: {"sent_on": "original_date", ...}.
    deadline_inputs: tuple[tuple[str, str], ...] = ()

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise LetterError(f"{self.slug} has no field {name!r}")

    def example_values(self) -> dict[str, Any]:
        return {
            spec.name: spec.parse(spec.example if spec.example is not None else spec.default)
            for spec in self.fields
        }

    def stored_values(self, stored: Mapping[str, Any]) -> dict[str, Any]:
        """A saved draft's values under this version of its template.

        A field a later version dropped (a date the engine now computes) is left out:
        the draft still opens and prints, and the saved values stay as they were.
        """
        names = {spec.name for spec in self.fields}
        return self.typed_values({k: v for k, v in stored.items() if k in names})

    def typed_values(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(raw) - {spec.name for spec in self.fields}
        if unknown:
            raise LetterError(f"{self.slug} has no field {', '.join(sorted(unknown))}")
        values = {spec.name: spec.parse(raw.get(spec.name)) for spec in self.fields}
        missing = [s.label for s in self.fields if s.required and values[s.name] in (None, "")]
        if missing:
            raise LetterError(f"Required: {', '.join(missing)}")
        needed = [
            f"{s.label} (required when “{self.field(s.required_if).label}” is ticked)"
            for s in self.fields
            if s.required_if and values[s.required_if] and values[s.name] in (None, "")
        ]
        if needed:
            raise LetterError(f"Required: {', '.join(needed)}")
        return values

    def fits(self, agency_slug: str | None) -> bool:
        """Whether the letter may go to this agency (a letter written for some only)."""
        return not self.only_agencies or (agency_slug or "") in self.only_agencies


@dataclass(frozen=True)
class BrokenTemplate:
    name: str
    source: str
    error: str


@dataclass
class Library:
    templates: dict[str, LetterTemplate] = field(default_factory=dict)
    broken: list[BrokenTemplate] = field(default_factory=list)

    def get(self, slug: str) -> LetterTemplate:
        try:
            return self.templates[slug]
        except KeyError:
            raise LetterError(f"No letter template {slug!r}.") from None


# Rendering -------------------------------------------------------------------


def format_date(value: date | None) -> str:
    return f"{value:%B} {value.day}, {value.year}" if value else ""


def format_money(value: Decimal | int | float | None) -> str:
    return f"${Decimal(str(value)):,.2f}" if value is not None else ""


def paragraphs(text: str | None) -> Markup:
    """Blank-line-separated blocks become paragraphs; single line breaks stay breaks."""
    if not text:
        return Markup("")
    blocks = [b.strip() for b in re.split(r"\n\s*\n", str(text).replace("\r\n", "\n"))]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in b.split("\n")))
        for b in blocks
        if b
    )


def make_environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(autoescape=True, undefined=StrictUndefined)
    env.filters.update(date=format_date, money=format_money, paragraphs=paragraphs)
    return env


SANDBOX = make_environment()


@lru_cache(maxsize=512)
def compiled(source: str) -> Template:
    """A template's text compiled in the sandbox, once: compiling costs more than rendering."""
    return SANDBOX.from_string(source)


@dataclass(frozen=True)
class RenderedLetter:
    subject: str
    records: str
    body_html: str


def render(
    template: LetterTemplate, values: Mapping[str, Any], context: Mapping[str, Any]
) -> RenderedLetter:
    """Render a template's subject, records description and body in the sandbox."""
    scope = {**context, **values}
    try:
        records = compiled(template.records).render(scope).strip()
        scope["records"] = Markup(records)  # noqa: S704  (escaped by the sandbox)
        subject = compiled(template.subject).render(scope).strip()
        body = compiled(template.body).render(scope).strip()
        body = nh3.clean(body, tags=BODY_TAGS, attributes={}, link_rel=None)
    except Exception as error:
        # A template is someone's file: whatever it does wrong is reported, not raised.
        raise LetterError(f"{template.slug}: {type(error).__name__}: {error}") from error
    return RenderedLetter(
        subject=Markup(subject).unescape(),  # noqa: S704
        records=Markup(records).unescape(),  # noqa: S704
        body_html=body,
    )


# Loading ---------------------------------------------------------------------


def parse_template(text: str, name: str, source: str) -> LetterTemplate:
    if not text.startswith("+++\n"):
        raise LetterError("the file must start with a line +++ and its metadata")
    try:
        _, meta_text, body = text.split("+++\n", 2)
    except ValueError:
        raise LetterError("the metadata must end with a line +++") from None
    try:
        meta = tomllib.loads(meta_text)
    except tomllib.TOMLDecodeError as error:
        raise LetterError(f"metadata: {error}") from None

    def need(key: str, kind: type | tuple[type, ...]) -> Any:
        if key not in meta:
            raise LetterError(f"metadata: {key} is missing")
        if not isinstance(meta[key], kind) or isinstance(meta[key], bool):
            raise LetterError(f"metadata: {key} has the wrong type")
        return meta[key]

    slug = need("slug", str)
    if slug != name or not SLUG_RE.match(slug):
        raise LetterError(f"metadata: slug {slug!r} must match the file name {name!r}")
    kind = need("kind", str)
    if kind not in KINDS:
        raise LetterError(f"metadata: kind {kind!r} is not one of {', '.join(KINDS)}")
    laws = tuple(need("laws", list))
    unknown_laws = [law for law in laws if law not in all_laws()]
    if not laws or unknown_laws:
        raise LetterError(f"metadata: unknown or missing laws {unknown_laws}")
    fields = tuple(parse_field(raw) for raw in meta.get("fields", []))
    names = [spec.name for spec in fields]
    if len(set(names)) != len(names):
        raise LetterError("fields: a name is used twice")
    check_date_order(fields)
    check_required_if(fields)
    known = {
        "slug", "version", "title", "summary", "kind", "laws", "subject", "records",
        "fields", "suggested_agencies", "statutes", "salutation", "addressee",
        "only_agencies", "deadline",
    }  # fmt: skip
    extra = set(meta) - known
    if extra:
        raise LetterError(f"metadata: unknown keys {', '.join(sorted(extra))}")
    addressee = str(meta.get("addressee", DEFAULT_ADDRESSEE.get(kind, "records")))
    if addressee not in ADDRESSEES:
        raise LetterError(
            f"metadata: addressee {addressee!r} is not one of {', '.join(ADDRESSEES)}"
        )
    only = tuple(str(s) for s in meta.get("only_agencies", []))
    inputs = deadline_inputs(meta.get("deadline", {}), fields)
    check_computed_dates(
        fields,
        {"subject": meta.get("subject", ""), "records": meta.get("records", ""), "body": body},
    )
    template = LetterTemplate(
        slug=slug,
        version=need("version", int),
        title=need("title", str),
        summary=need("summary", str),
        kind=kind,
        laws=laws,
        subject=need("subject", str),
        records=str(meta.get("records", "")),
        body=body,
        fields=fields,
        suggested_agencies=tuple(meta.get("suggested_agencies", [])),
        statutes=tuple(str(s) for s in meta.get("statutes", [])),
        salutation=str(meta.get("salutation", "")),
        content_hash=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        source=source,
        addressee=addressee,
        only_agencies=only,
        deadline_inputs=inputs,
    )
    if only and set(template.suggested_agencies) - set(only):
        raise LetterError("metadata: suggested_agencies must be among only_agencies")
    if kind == "initial":
        # The description stored on the request must be the one the agency reads.
        if not template.records.strip():
            raise LetterError("metadata: an initial letter needs records, the description")
        try:
            used = jinja_meta.find_undeclared_variables(SANDBOX.parse(body))
        except TemplateError as error:
            raise LetterError(f"body: {error}") from None
        if "records" not in used:
            raise LetterError("body: an initial letter must print {{ records }}")
    # Compile everything, then render once with the examples: a template that
    # cannot render is reported now, not when an advocate opens it.
    render(template, template.example_values(), sample_context())
    return template


def deadline_inputs(raw: Any, fields: tuple[FieldSpec, ...]) -> tuple[tuple[str, str], ...]:
    """``[deadline]``: which of the letter's date fields give the engine its facts."""
    if not isinstance(raw, dict):
        raise LetterError('metadata: deadline is a table of fact = "field name"')
    dates = {spec.name for spec in fields if spec.type == "date"}
    for fact, name in raw.items():
        if fact not in DEADLINE_FACTS:
            raise LetterError(f"deadline: {fact!r} is not one of {', '.join(DEADLINE_FACTS)}")
        if name not in dates:
            raise LetterError(f"deadline: {fact} names no date field {name!r}")
    return tuple((fact, str(raw[fact])) for fact in DEADLINE_FACTS if fact in raw)


def check_computed_dates(fields: tuple[FieldSpec, ...], texts: Mapping[str, Any]) -> None:
    """Deadlines come from the engine: a template may neither ask for one nor type a date."""
    for spec in fields:
        if spec.type == "date" and (
            spec.prefill == "request.due_on" or DEADLINE_WORDS.search(f"{spec.name} {spec.label}")
        ):
            raise LetterError(
                f"fields: {spec.name} asks for a deadline; the deadline engine computes it "
                "from the request: print {{ deadline.first_due_on }}, "
                "{{ deadline.lawful_latest_on }} or {{ deadline.due_on }} instead"
            )
    for where, text in texts.items():
        found = TYPED_DATE.search(str(text))
        if found:
            raise LetterError(
                f"{where}: the date “{found.group(0)}” is typed into the template; a date "
                "comes from a field, the request or the deadline engine"
            )


def check_required_if(fields: tuple[FieldSpec, ...]) -> None:
    """A field required when a box is ticked names a checkbox, and has an example for it."""
    boxes = {spec.name: spec for spec in fields if spec.type == "checkbox"}
    for spec in fields:
        if not spec.required_if:
            continue
        if spec.required_if not in boxes:
            raise LetterError(
                f"fields: {spec.name} required_if names no checkbox field {spec.required_if!r}"
            )
        if boxes[spec.required_if].parse(boxes[spec.required_if].example) and spec.example is None:
            raise LetterError(f"fields: {spec.name} is required when ticked and needs an example")


def check_date_order(fields: tuple[FieldSpec, ...]) -> None:
    """A date field's bounds name other date fields, and its example keeps to them."""
    dates = {spec.name: spec for spec in fields if spec.type == "date"}
    for spec in dates.values():
        for key, other in (("not_before", spec.not_before), ("not_after", spec.not_after)):
            if not other or other == TODAY:
                continue
            if other not in dates:
                raise LetterError(f"fields: {spec.name} {key} names no date field {other!r}")
            mine, theirs = spec.parse(spec.example), dates[other].parse(dates[other].example)
            if mine and theirs and (mine < theirs if key == "not_before" else mine > theirs):
                raise LetterError(
                    f"fields: the example of {spec.name} is {key.removeprefix('not_')} "
                    f"the example of {other}, which {key} forbids"
                )


def parse_field(raw: Any) -> FieldSpec:
    if not isinstance(raw, dict):
        raise LetterError("fields: each field is a table")
    name = str(raw.get("name", ""))
    if not NAME_RE.match(name) or name in RESERVED:
        raise LetterError(f"fields: {name!r} is not a usable field name")
    kind = raw.get("type")
    if kind not in FIELD_TYPES:
        raise LetterError(f"fields: {name} has unknown type {kind!r}")
    extra = set(raw) - {"name", "label", "type", "required", "help", "default", "example",
                        "choices", "prefill", "not_before", "not_after", "required_if"}  # fmt: skip
    if extra:
        raise LetterError(f"fields: {name} has unknown keys {', '.join(sorted(extra))}")
    choices = tuple(str(c) for c in raw.get("choices", []))
    if kind == "choice" and not choices:
        raise LetterError(f"fields: {name} is a choice without choices")
    prefill = str(raw.get("prefill", ""))
    if prefill and prefill not in PREFILLS:
        raise LetterError(f"fields: {name} prefills from unknown {prefill!r}")
    bounds = {key: str(raw.get(key, "")) for key in ("not_before", "not_after")}
    for key, bound in bounds.items():
        if bound and kind != "date":
            raise LetterError(f"fields: {name} has {key} but is not a date")
        if bound and bound != TODAY and (not NAME_RE.match(bound) or bound == name):
            raise LetterError(f"fields: {name} {key} must be today or another date field")
    spec = FieldSpec(
        name=name,
        label=str(raw.get("label") or name.replace("_", " ").capitalize()),
        type=kind,
        required=bool(raw.get("required", False)),
        help=str(raw.get("help", "")),
        default=raw.get("default"),
        example=raw.get("example"),
        choices=choices,
        prefill=prefill,
        required_if=str(raw.get("required_if", "")),
        **bounds,
    )
    if spec.required and spec.example is None and spec.type != "checkbox":
        raise LetterError(f"fields: {name} is required and needs an example")
    spec.parse(spec.example)
    spec.parse(spec.default)
    return spec


@dataclass(frozen=True)
class Party:
    """What a template sees of an agency, a requester or a request: plain values."""

    values: Mapping[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None


def sample_context() -> dict[str, Any]:
    return {
        "agency": Party(
            {
                "name": "Los Angeles Police Department",
                "short_name": "LAPD",
                "records_office": "Discovery Section",
                "jurisdiction": "City of Los Angeles",
                "law": "ca-cpra",
                "article": "the",
                "in_sentence": "the Los Angeles Police Department",
            }
        ),
        "requester": Party(
            {
                "name": "Ana Ruiz",
                "organization": "Example Coalition",
                "address": "100 Main Street\nLos Angeles, CA 90012",
                "email": "ana@example.org",
                "phone": "(213) 555-0100",
                "signature": "Ana Ruiz, Policy Director",
            }
        ),
        "request": Party(
            {
                "reference": "LA-2026-0001",
                "title": "Example request",
                "sent_on": date(2026, 11, 2),
                "sent_via": "sent by email",
                "received_on": date(2026, 11, 2),
                "due_on": date(2026, 11, 12),
                "agency_tracking_number": "P000001-110226",
                "records_sought": "Example records.",
                "extension_notice_on": None,
                "extension_claimed_on": None,
                "determination_on": None,
            }
        ),
        "deadline": deadline_party(
            {
                "received_on": date(2026, 11, 2),
                "first_due_on": date(2026, 11, 12),
                "lawful_latest_on": date(2026, 11, 26),
                "due_on": date(2026, 11, 12),
            }
        ),
        "letter_date": date(2026, 11, 28),
        # What goes with the letter, one line each (an appeal: the determination).
        "enclosures": ["Denial letter, 2 pages"],
        # The request's items still open (a later letter names them), and whether the
        # agency has answered any item yet.
        "items": [
            Party(
                {
                    "number": 2,
                    "description": "Example records withheld.",
                    "state": "withheld",
                    "exemptions": ("Gov. Code § 7923.600",),
                    "due_on": date(2026, 11, 12),
                }
            )
        ],
        "items_answered": True,
    }


# What a letter sees of the deadline engine's answer for its request (``deadline``):
# every date computed, never typed.
DEADLINE_KEYS: dict[str, Any] = {
    "received_on": None,  # the day the count starts: receipt, else the day it was sent
    "counted_from": "",  # "received" or "sent"
    "first_due_on": None,  # the determination's deadline before any extension
    "lawful_latest_on": None,  # the latest an extension may lawfully reach
    "due_on": None,  # the deadline now: the first, or a valid extension's
    "extension_notice_on": None,  # the agency's extension notice, if any
    "extension_claimed_on": None,  # the date that notice claims
    "notice_late": False,  # the notice came after the first deadline had passed
    "claimed_past_lawful": False,  # the claimed date is later than the lawful latest
    "days_past_lawful": 0,
    "passed": False,  # the deadline now is before the letter's date
    "response_days": 0,
    "day_kind": "",  # "calendar" or "working"
    "extension_days": 0,
    "explanation": "",  # the engine's steps, in words
}


def deadline_party(values: Mapping[str, Any]) -> "Party":
    unknown = set(values) - set(DEADLINE_KEYS)
    if unknown:
        raise LetterError(f"deadline has no {', '.join(sorted(unknown))}")
    return Party({**DEADLINE_KEYS, **values})


_cache: dict[tuple[Any, ...], Library] = {}


@lru_cache(maxsize=256)
def parsed_template(text: str, name: str, source: str) -> LetterTemplate:
    """A file's template, parsed once for its text: checking a template renders it, which
    takes a good part of a second for the shipped library, and a new file in one folder
    leaves the others' templates as they were. (A file that fails is parsed again.)"""
    return parse_template(text, name, source)


def letter_files(folders: Iterable[tuple[str, Path]]) -> list[tuple[str, Path]]:
    return [
        (label, path)
        for label, folder in folders
        if folder.is_dir()
        for path in sorted(folder.glob("*.letter"))
    ]


def load_library(folders: Iterable[tuple[str, Path]]) -> Library:
    """Every template in the labelled folders; the first folder wins a slug.

    Cached until a file is added, removed or changed.
    """
    files = letter_files(folders)
    key = tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for _, p in files)
    if key in _cache:
        return _cache[key]
    library = Library()
    for label, path in files:
        if path.stem in library.templates:
            continue
        try:
            text = path.read_text("utf-8")
            library.templates[path.stem] = parsed_template(text, path.stem, label)
        except (LetterError, UnicodeDecodeError, OSError) as error:
            library.broken.append(BrokenTemplate(path.name, label, str(error)))
    _cache.clear()
    _cache[key] = library
    return library

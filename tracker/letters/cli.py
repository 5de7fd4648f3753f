"""``tracker letters``: list, check, show and render letter templates from scripts."""

import json
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from tracker.agencies.models import Agency
from tracker.extensions import db
from tracker.letters.document import Sender
from tracker.letters.library import LetterError, LetterTemplate
from tracker.letters.models import Channel
from tracker.letters.pdf import letters_pdf
from tracker.letters.services import compose, library, local_today
from tracker.requests.models import Organization


def fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    raise click.exceptions.Exit(2)


def find_template(slug: str) -> LetterTemplate:
    try:
        return library().get(slug)
    except LetterError as error:
        fail(str(error))


@click.group("letters")
def letters() -> None:
    """Letter templates."""


@letters.command("list")
@with_appcontext
def list_command() -> None:
    """Every usable template: slug, kind, laws, version and title."""
    lib = library()
    for t in sorted(lib.templates.values(), key=lambda t: (t.kind, t.slug)):
        click.echo(f"{t.slug}\t{t.kind}\t{','.join(t.laws)}\tv{t.version}\t{t.title}")
    if lib.broken:
        click.echo(f"{len(lib.broken)} broken; see `tracker letters check`.", err=True)


@letters.command("check")
@with_appcontext
def check_command() -> None:
    """Report every template that cannot be used; exit 1 if any."""
    lib = library()
    for broken in lib.broken:
        click.echo(f"{broken.name} ({broken.source}): {broken.error}")
    click.echo(f"{len(lib.templates)} templates usable, {len(lib.broken)} broken.")
    if lib.broken:
        raise click.exceptions.Exit(1)


def describe(template: LetterTemplate) -> dict[str, Any]:
    return {
        "slug": template.slug,
        "version": template.version,
        "title": template.title,
        "summary": template.summary,
        "kind": template.kind,
        "laws": list(template.laws),
        "suggested_agencies": list(template.suggested_agencies),
        "statutes": list(template.statutes),
        "source": template.source,
        "fields": [
            {
                "name": f.name,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "example": f.example,
                "default": f.default,
                "help": f.help,
                "choices": list(f.choices),
                "prefill": f.prefill or None,
            }
            for f in template.fields
        ],
    }


@letters.command("show")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="One JSON object.")
@with_appcontext
def show_command(slug: str, as_json: bool) -> None:
    """A template's metadata and fields."""
    info = describe(find_template(slug))
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    click.echo(f"{info['title']} ({info['slug']}, version {info['version']})")
    click.echo(info["summary"])
    click.echo(f"kind: {info['kind']}; laws: {', '.join(info['laws'])}")
    for f in info["fields"]:
        required = "required" if f["required"] else "optional"
        click.echo(f"  {f['name']}\t{f['type']}\t{required}\te.g. {f['example']}\t{f['label']}")


def find_agency(name: str) -> Agency:
    wanted = name.strip().lower()
    for column in (Agency.short_name, Agency.name, Agency.slug):
        found = db.session.scalars(select(Agency).where(func.lower(column) == wanted)).all()
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            fail(f"{name!r} names {len(found)} agencies; give the full name.")
    fail(f"no agency called {name!r}; see the Agencies page or give its full name.")


@letters.command("render")
@click.argument("slug")
@click.option("--agency", "agency_name", required=True, help="Short name or name.")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE", help="A field value.")
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--html", "as_html", is_flag=True, help="Write the HTML instead of a PDF.")
@click.option("--requester", default="", help="Who the letter is from.")
@click.option("--organization", default="", help="The organization it is sent for.")
@click.option("--signature", default="", help="The signature line.")
@click.option("--reference", default="DRAFT", help="The reference printed on the letter.")
@click.option("--date", "letter_date", type=click.DateTime(["%Y-%m-%d"]), default=None)
@click.option(
    "--records",
    default="",
    help="For a letter about a request (follow-up, reply, demand, appeal): the records it "
    "asked for, as the request describes them.",
)
@click.option(
    "--channel",
    type=click.Choice([c.value for c in Channel]),
    default=None,
    help="How it will be sent; the address block shows it. Default: the agency's usual way.",
)
@with_appcontext
def render_command(
    slug: str,
    agency_name: str,
    settings: tuple[str, ...],
    output: Path,
    as_html: bool,
    requester: str,
    organization: str,
    signature: str,
    reference: str,
    letter_date: Any,
    records: str,
    channel: str | None,
) -> None:
    """Render a template for an agency; fields not set take their example values."""
    template = find_template(slug)
    agency = find_agency(agency_name)
    raw = {f.name: f.example if f.example is not None else f.default for f in template.fields}
    names = {f.name for f in template.fields}
    for setting in settings:
        name, sep, value = setting.partition("=")
        if not sep:
            fail(f"--set takes FIELD=VALUE, not {setting!r}")
        if name not in names:
            fail(f"{slug} has no field {name!r}; its fields: {', '.join(sorted(names))}")
        raw[name] = value
    org = db.session.scalar(select(Organization).where(Organization.name == organization))
    sender = Sender(
        name=requester or (org.signer_list[0] if org and org.signer_list else ""),
        organization=organization,
        address=org.mailing_address if org else "",
        email=org.email if org else "",
        phone=org.phone if org else "",
        signature=signature,
    )
    day: date = letter_date.date() if letter_date else local_today()
    try:
        values = template.typed_values(raw)
        preview = compose(
            template,
            values,
            agency,
            sender,
            None,
            day,
            reference,
            channel=Channel(channel) if channel else None,
            records=records,
        )
    except LetterError as error:
        fail(str(error))
    if as_html:
        output.write_text(preview.html, encoding="utf-8")
    else:
        output.write_bytes(letters_pdf([preview.html]))
    click.echo(f"Wrote {output}")

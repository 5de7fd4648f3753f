"""``tracker search``: the search page's results on the command line."""

import json

import click
from flask.cli import with_appcontext

from tracker.extensions import db
from tracker.search.engine import search


@click.command("search")
@click.argument("query")
@click.option("--json", "as_json", is_flag=True, help="A JSON list of hits.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@with_appcontext
def search_command(query: str, as_json: bool, limit: int) -> None:
    """Find any word in requests, letters, responses, notes, documents and emails, best first."""
    hits = search(db.session(), query, limit=limit)
    if as_json:
        click.echo(json.dumps([hit.as_json() for hit in hits], ensure_ascii=False, indent=2))
        return
    for hit in hits:
        where = hit.kind_label
        if hit.document:
            where += f" “{hit.document}”"
        if hit.page is not None:
            where += f", page {hit.page}"
        snippet = " ".join(hit.snippet.split())
        click.echo(f"{hit.reference}\t{where}\t{snippet}")

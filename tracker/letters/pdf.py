"""Printing letters with WeasyPrint, which may read only the tracker's own assets.

Many letters are printed in a few processes at once, each laying out a run of them
from their HTML alone, and the runs' PDFs are joined in order.
"""

import io
import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import cache
from importlib.resources import files
from typing import Any

from pypdf import PdfReader, PdfWriter
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

ASSET_SCHEME = "tracker-asset:"
ASSETS = {
    "letter.css": "text/css",
    "fonts/LiberationSerif-Regular.ttf": "font/ttf",
    "fonts/LiberationSerif-Bold.ttf": "font/ttf",
    "fonts/LiberationSerif-Italic.ttf": "font/ttf",
    "fonts/LiberationSerif-BoldItalic.ttf": "font/ttf",
}

logger = logging.getLogger(__name__)


class RefusedURL(ValueError):
    pass


class PrintingFailed(RuntimeError):
    """A printing process stopped before it returned its letters."""


class AssetFetcher(URLFetcher):
    """Serves the bundled stylesheet and fonts; refuses the network and the file system."""

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
        name = url[len(ASSET_SCHEME) :] if url.startswith(ASSET_SCHEME) else None
        if name not in ASSETS:
            logger.warning("refused to fetch %s while printing a letter", url)
            raise RefusedURL(f"letters may not load {url}")
        data = files("tracker.letters").joinpath(f"assets/{name}").read_bytes()
        return URLFetcherResponse(url, body=data, headers={"Content-Type": ASSETS[name]})


@cache
def _fonts_and_style() -> tuple[FontConfiguration, CSS]:
    # Parsed once per process: the stylesheet and its fonts are the same for every letter.
    fonts = FontConfiguration()
    fetcher = AssetFetcher()
    css = CSS(url="tracker-asset:letter.css", url_fetcher=fetcher, font_config=fonts)
    return fonts, css


def print_letters(documents: Sequence[str]) -> bytes:
    """PDF bytes for one or more letter documents, printed in this process.

    Each letter is laid out on its own, so its footer counts its own pages.
    """
    if not documents:
        raise ValueError("no letters to print")
    fonts, css = _fonts_and_style()
    fetcher = AssetFetcher()
    rendered = [
        HTML(string=html, base_url=ASSET_SCHEME, url_fetcher=fetcher).render(
            stylesheets=[css], font_config=fonts
        )
        for html in documents
    ]
    if len(rendered) == 1:
        return bytes(rendered[0].write_pdf())
    pages = [page for document in rendered for page in document.pages]
    return bytes(rendered[0].copy(pages).write_pdf())


# Fewer letters than this are printed here: starting processes would cost more than
# sharing them out saves.
APART_FROM = 6

# What the printing processes are forked from: a process of its own, started once,
# that has nothing of the web app (no threads, no database connection) and has
# WeasyPrint, the fonts and the stylesheet ready (see tracker.letters.printers).
_processes = multiprocessing.get_context("forkserver")


def printing_processes(configured: int | None = None) -> int:
    """How many processes print a batch: ``configured``, else two or the cores there are."""
    if configured is not None:
        return max(1, configured)
    return min(2, os.cpu_count() or 1)


def letters_pdf(documents: Sequence[str], processes: int | None = None) -> bytes:
    """PDF bytes for one or more letter documents, each starting on a new page.

    Each letter is laid out on its own, so its footer counts its own pages. A batch
    is shared out among ``processes`` printing processes (see printing_processes).
    """
    if not documents:
        raise ValueError("no letters to print")
    count = min(printing_processes(processes), len(documents))
    if count <= 1 or len(documents) < APART_FROM:
        return print_letters(documents)
    return print_apart(runs(documents, count))


def runs(documents: Sequence[str], count: int) -> list[list[str]]:
    """The documents in ``count`` runs of consecutive letters, as even as can be."""
    size, extra = divmod(len(documents), count)
    starts = [n * size + min(n, extra) for n in range(count + 1)]
    return [list(documents[a:b]) for a, b in zip(starts, starts[1:], strict=False)]


def print_apart(
    parts: Sequence[Sequence[str]], printer: Callable[[Sequence[str]], bytes] = print_letters
) -> bytes:
    """Each run printed by a process of its own, the PDFs joined in the runs' order.

    ``printer`` must be a module's function: the processes import it by name.
    """
    _processes.set_forkserver_preload(["__main__", "tracker.letters.printers"])
    try:
        with ProcessPoolExecutor(max_workers=len(parts), mp_context=_processes) as pool:
            printed = list(pool.map(printer, parts))
    except BrokenProcessPool as error:
        raise PrintingFailed(
            f"a process printing {sum(map(len, parts))} letters stopped before it finished"
        ) from error
    return joined(printed)


def joined(pdfs: Sequence[bytes]) -> bytes:
    """One PDF of the pages of each, in order, with the first one's title and author."""
    readers = [PdfReader(io.BytesIO(pdf)) for pdf in pdfs]
    writer = PdfWriter()
    for reader in readers:
        writer.append(reader)
    if readers[0].metadata:
        writer.add_metadata(dict(readers[0].metadata))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

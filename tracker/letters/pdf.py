"""Printing letters with WeasyPrint, which may read only the tracker's own assets."""

import logging
from collections.abc import Sequence
from functools import cache
from importlib.resources import files
from typing import Any

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


def letters_pdf(documents: Sequence[str]) -> bytes:
    """PDF bytes for one or more letter documents, each starting on a new page.

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
    pages = [page for document in rendered for page in document.pages]
    return bytes(rendered[0].copy(pages).write_pdf())

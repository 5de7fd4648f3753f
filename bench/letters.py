"""How long printing letters takes, against bare WeasyPrint on the same HTML.

Run with `make bench`. Prints the median seconds of several runs and the ratios:
- one letter: rendering the template and printing it with letters_pdf(), versus
  HTML(...).write_pdf() of the same HTML with the same stylesheet, its fonts given
  as file URLs and WeasyPrint's own URL fetcher;
- fifty letters: one combined PDF versus fifty single ones.
"""

import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from importlib.resources import files

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from tracker import PROJECT_ROOT
from tracker.letters.document import LetterParts, Recipient, Sender, document_html
from tracker.letters.library import load_library, render, sample_context
from tracker.letters.pdf import letters_pdf

ROUNDS = 9


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def compare(
    first: Callable[[], object], second: Callable[[], object], rounds: int
) -> tuple[float, float]:
    """Median seconds of each, the two run in turn so both see the same machine."""
    a, b = [], []
    for _ in range(rounds):
        a.append(timed(first))
        b.append(timed(second))
    return statistics.median(a), statistics.median(b)


def sample_document(reference: str) -> str:
    library = load_library([("shipped", PROJECT_ROOT / "letters")])
    template = library.get("cpra-police-commission-ice-collaboration")
    rendered = render(template, template.example_values(), sample_context())
    return document_html(
        LetterParts(
            reference=reference,
            subject=rendered.subject,
            salutation="Dear Custodian of Records:",
            body_html=rendered.body_html,
            sender=Sender(
                name="Ana Ruiz",
                organization="Example Coalition",
                address="100 Main Street\nLos Angeles, CA 90012",
                email="ana@example.org",
                signature="Ana Ruiz, Policy Director",
            ),
            recipient=Recipient(
                name="Los Angeles Board of Police Commissioners",
                address="100 West First Street, Room 134\nLos Angeles, CA 90012",
            ),
            letter_date=date(2026, 11, 28),
        )
    )


def bare_stylesheet(fonts: FontConfiguration) -> CSS:
    assets = files("tracker.letters").joinpath("assets")
    css = assets.joinpath("letter.css").read_text("utf-8")
    folder = str(assets.joinpath("fonts"))
    css = css.replace("tracker-asset:fonts/", f"file://{folder}/")
    return CSS(string=css, font_config=fonts)


def pages_of(documents: list[str]) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(letters_pdf(documents))).pages)


def main() -> None:
    document = sample_document("LA-2026-0001")
    fifty = [sample_document(f"LA-2026-{n:04d}") for n in range(1, 51)]

    fonts = FontConfiguration()
    style = bare_stylesheet(fonts)

    def bare_one() -> bytes:
        return bytes(HTML(string=document).write_pdf(stylesheets=[style], font_config=fonts))

    # Warm both paths once: font loading and the first layout are one-off costs.
    letters_pdf([document])
    bare_one()

    # Ours includes the whole path: the template rendered in the sandbox, the
    # layout, then the PDF; bare WeasyPrint starts from the finished HTML.
    ours, bare = compare(lambda: letters_pdf([sample_document("LA-2026-0001")]), bare_one, ROUNDS)
    combined, singles = compare(
        lambda: letters_pdf(fifty), lambda: [letters_pdf([d]) for d in fifty], 3
    )

    print(f"one letter, template + PDF:       {ours * 1000:8.1f} ms")
    print(f"one letter, bare WeasyPrint:      {bare * 1000:8.1f} ms")
    print(f"overhead:                         {(ours / bare - 1) * 100:+8.1f} %")
    print(f"50 letters, one combined PDF:     {combined:8.2f} s")
    print(f"50 letters, fifty single PDFs:    {singles:8.2f} s")
    print(f"combined / singles:               {combined / singles:8.2f}")
    print(f"pages in the combined PDF:        {pages_of(fifty):8d}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

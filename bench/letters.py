"""How long printing letters takes, against bare WeasyPrint on the same HTML.

Run with `make bench`, or `python -m bench.letters [--rounds N] [--batch-rounds N]`.
Prints the median and 95th percentile of many rounds, each figure against its
target, and its ratio to its floor:
- one letter: rendering the template and printing it with letters_pdf(), against
  HTML(...).write_pdf() of the same HTML with the same stylesheet, its fonts given
  as file URLs and WeasyPrint's own URL fetcher (target: within 5 %);
- fifty letters: one combined PDF against fifty single ones (target: 0.6 of their
  time), and against fifty bare WeasyPrint renders.

The variants are taken in turn within each round (A B A B ...), so the load of a
shared machine falls on each alike; each ratio is the median of the rounds' own.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date
from importlib.resources import files

from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration

from bench.common import median_p95
from tracker import PROJECT_ROOT
from tracker.letters.document import LetterParts, Recipient, Sender, document_html
from tracker.letters.library import load_library, render, sample_context
from tracker.letters.pdf import letters_pdf, printing_processes

ONE_LETTER_TARGET = 1.05  # of bare WeasyPrint
BATCH_TARGET = 0.6  # of fifty single renders


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def in_turn(variants: dict[str, Callable[[], object]], rounds: int) -> dict[str, list[float]]:
    """Seconds of each variant in each round, the variants run one after the other."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for _ in range(rounds):
        for name, action in variants.items():
            times[name].append(timed(action))
    return times


def ratio(times: dict[str, list[float]], ours: str, floor: str) -> float:
    """The median of the rounds' own ratios: each round's two figures saw the same load."""
    return statistics.median(a / b for a, b in zip(times[ours], times[floor], strict=True))


def verdict(met: bool) -> str:
    return "met" if met else "NOT met"


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


def pages_of(documents: list[str], processes: int | None) -> int:
    import io

    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(letters_pdf(documents, processes))).pages)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="rounds of one letter")
    parser.add_argument("--batch-rounds", type=int, default=5, help="rounds of fifty letters")
    parser.add_argument("--processes", type=int, default=None, help="printing processes")
    options = parser.parse_args()
    processes = printing_processes(options.processes)

    document = sample_document("LA-2026-0001")
    fifty = [sample_document(f"LA-2026-{n:04d}") for n in range(1, 51)]

    fonts = FontConfiguration()
    style = bare_stylesheet(fonts)

    def bare(html: str) -> bytes:
        return bytes(HTML(string=html).write_pdf(stylesheets=[style], font_config=fonts))

    # Warm every path once: font loading, the first layout and starting the process
    # the printing processes are forked from are one-off costs.
    letters_pdf([document])
    bare(document)
    letters_pdf(fifty[:12], processes)

    # Ours includes the whole path: the template rendered in the sandbox, the
    # layout, then the PDF; bare WeasyPrint starts from the finished HTML.
    one = in_turn(
        {
            "ours": lambda: letters_pdf([sample_document("LA-2026-0001")]),
            "bare": lambda: bare(document),
        },
        options.rounds,
    )
    batch = in_turn(
        {
            "combined": lambda: letters_pdf(fifty, processes),
            "singles": lambda: [letters_pdf([d]) for d in fifty],
            "bare": lambda: [bare(d) for d in fifty],
        },
        options.batch_rounds,
    )

    ours, ours_p95 = median_p95(one["ours"])
    floor, floor_p95 = median_p95(one["bare"])
    overhead = ratio(one, "ours", "bare")
    print(f"one letter, {options.rounds} rounds, each variant in turn:")
    print(f"  template + PDF:          median {ours * 1000:7.1f} ms, p95 {ours_p95 * 1000:7.1f} ms")
    print(
        f"  bare WeasyPrint:         median {floor * 1000:7.1f} ms, p95 {floor_p95 * 1000:7.1f} ms"
    )
    print(
        f"  overhead:                {(overhead - 1) * 100:+7.1f} %  "
        f"(target <= {(ONE_LETTER_TARGET - 1) * 100:+.0f} %: "
        f"{verdict(overhead <= ONE_LETTER_TARGET)}; ratio to bare WeasyPrint {overhead:.3f})"
    )
    against_singles = ratio(batch, "combined", "singles")
    against_bare = ratio(batch, "combined", "bare")
    print(
        f"fifty letters, {options.batch_rounds} rounds, each variant in turn, "
        f"{processes} printing process(es):"
    )
    for name, label in [
        ("combined", "one combined PDF"),
        ("singles", "fifty single PDFs"),
        ("bare", "fifty bare WeasyPrint"),
    ]:
        median, p95 = median_p95(batch[name])
        print(f"  {label + ':':24} median {median:7.2f} s,  p95 {p95:7.2f} s")
    print(
        f"  combined / singles:      {against_singles:7.2f}     "
        f"(target <= {BATCH_TARGET}: {verdict(against_singles <= BATCH_TARGET)})"
    )
    print(f"  combined / bare:         {against_bare:7.2f}")
    print(f"  pages in the combined PDF: {pages_of(fifty, processes)}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()

"""What a document's text holds that looks personal, for the person about to publish it.

The patterns are data (tracker/data/personal.toml). Each match comes back with the words
around it, so a reviewer sees it in place; the scan decides nothing.
"""

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

CONTEXT = 40
MOST = 200


@dataclass(frozen=True)
class Pattern:
    kind: str
    label: str
    regex: re.Pattern[str]


@dataclass(frozen=True)
class Finding:
    kind: str
    label: str
    found: str
    before: str
    after: str


@cache
def patterns() -> tuple[Pattern, ...]:
    raw = tomllib.loads(files("tracker").joinpath("data/personal.toml").read_text("utf-8"))
    return tuple(
        Pattern(entry["kind"], entry["label"], re.compile(entry["pattern"], re.IGNORECASE))
        for entry in raw["pattern"]
    )


def scan(text: str, most: int = MOST) -> list[Finding]:
    """Every match of every pattern in the text, in the order they stand, at most ``most``."""
    found: list[tuple[int, Finding]] = []
    for pattern in patterns():
        for match in pattern.regex.finditer(text):
            start, end = match.span()
            found.append(
                (
                    start,
                    Finding(
                        pattern.kind,
                        pattern.label,
                        match.group(0),
                        text[max(0, start - CONTEXT) : start],
                        text[end : end + CONTEXT],
                    ),
                )
            )
    found.sort(key=lambda pair: pair[0])
    return [finding for _, finding in found[:most]]

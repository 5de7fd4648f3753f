"""The laws that govern records requests, loaded from ``data/laws.toml``."""

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from wtforms import SelectChoice

DAY_KINDS = ("calendar", "working")


def normalised(text: str) -> str:
    """Text compared without case, spaces or section signs: "§ 7923.600" is "7923.600"."""
    return re.sub(r"[\s§]+", "", text).lower()


@dataclass(frozen=True)
class Exemption:
    """A ground the law gives an agency for withholding a record, as it is cited."""

    code: str
    citation: str
    name: str
    # Other ways an agency writes it (a former section number, a phrase), beside its code.
    matches: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.citation}: {self.name}"

    def cited_in(self, text: str) -> bool:
        said = normalised(text)
        return any(normalised(phrase) in said for phrase in (self.code, *self.matches))


@dataclass(frozen=True)
class NotExemption:
    """A reason agencies give that the law does not recognise, and what answers it."""

    code: str
    reason: str
    answer: str
    citation: str
    matches: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        """What the request's page says of it: "No exemption: the CPRA requires …"."""
        return f"No exemption: {self.answer} ({self.citation})."

    def said_in(self, text: str) -> bool:
        said = normalised(text)
        return any(normalised(phrase) in said for phrase in (self.reason, *self.matches))


@dataclass(frozen=True)
class Law:
    id: str
    name: str
    citation: str
    salutation: str
    calendar: str
    response_days: int
    day_kind: str
    response_citation: str
    counting_citation: str
    roll_citation: str
    closure_citation: str
    extension_days: int
    extension_kind: str
    extension_citation: str
    extension_conditions: str
    appeal_days: int
    appeal_note: str
    # Whether the agency's time stops while a fee estimate waits for our answer.
    fee_tolls: bool = False
    exemptions: tuple[Exemption, ...] = field(default=())
    not_exemptions: tuple[NotExemption, ...] = field(default=())

    def __post_init__(self) -> None:
        if self.day_kind not in DAY_KINDS or self.extension_kind not in DAY_KINDS:
            raise ValueError(f"{self.id}: day kinds are {', '.join(DAY_KINDS)}")
        codes = [entry.code for entry in self.exemptions]
        codes += [entry.code for entry in self.not_exemptions]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"{self.id}: exemption codes used twice: {', '.join(repeated)}")
        if any(not code.strip() for code in codes):
            raise ValueError(f"{self.id}: every exemption needs a code")

    def exemption(self, code: str) -> Exemption | None:
        return next((entry for entry in self.exemptions if entry.code == code), None)

    def exemptions_cited_in(self, text: str) -> list[Exemption]:
        """The exemptions a reason in the agency's own words cites, by section or name."""
        return [entry for entry in self.exemptions if entry.cited_in(text)]

    def not_an_exemption(self, text: str) -> NotExemption | None:
        """What answers a reason that cites no exemption: the entry it names, else the first.

        None when the law lists no such reasons.
        """
        named = next((entry for entry in self.not_exemptions if entry.said_in(text)), None)
        return named or (self.not_exemptions[0] if self.not_exemptions else None)

    def exemption_choices(self) -> list[SelectChoice]:
        return [SelectChoice(entry.code, entry.label) for entry in self.exemptions]


def read_law(entry: dict[str, Any]) -> Law:
    entry = dict(entry)
    exemptions = tuple(
        Exemption(**{**raw, "matches": tuple(raw.get("matches", ()))})
        for raw in entry.pop("exemption", [])
    )
    not_exemptions = tuple(
        NotExemption(**{**raw, "matches": tuple(raw.get("matches", ()))})
        for raw in entry.pop("not_exemption", [])
    )
    return Law(**entry, exemptions=exemptions, not_exemptions=not_exemptions)


def read_laws(text: str) -> dict[str, Law]:
    raw = tomllib.loads(text)
    return {entry["id"]: read_law(entry) for entry in raw["law"]}


@cache
def all_laws() -> dict[str, Law]:
    return read_laws(files("tracker").joinpath("data/laws.toml").read_text("utf-8"))


def exemption_label(law_id: str, code: str) -> str:
    """How a list names an exemption: its citation and short name from the law's list
    ("Gov. Code § 7923.600 Investigative records…"), or its code alone when the law does
    not list it."""
    law = all_laws().get(law_id)
    exemption = law.exemption(code) if law else None
    return f"{exemption.citation} {exemption.name}" if exemption else code


def law_choices() -> list[SelectChoice]:
    return [SelectChoice(law.id, f"{law.name} ({law.id})") for law in all_laws().values()]

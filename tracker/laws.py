"""The laws that govern records requests, loaded from ``data/laws.toml``."""

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from wtforms import SelectChoice

DAY_KINDS = ("calendar", "working")


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

    def __post_init__(self) -> None:
        if self.day_kind not in DAY_KINDS or self.extension_kind not in DAY_KINDS:
            raise ValueError(f"{self.id}: day kinds are {', '.join(DAY_KINDS)}")


@cache
def all_laws() -> dict[str, Law]:
    raw = tomllib.loads(files("tracker").joinpath("data/laws.toml").read_text("utf-8"))
    return {entry["id"]: Law(**entry) for entry in raw["law"]}


def law_choices() -> list[SelectChoice]:
    return [SelectChoice(law.id, f"{law.name} ({law.id})") for law in all_laws().values()]

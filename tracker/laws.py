"""The laws that govern records requests, loaded from ``data/laws.toml``."""

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from wtforms import SelectChoice


@dataclass(frozen=True)
class Law:
    id: str
    name: str
    citation: str
    salutation: str = "To whom it may concern:"


@cache
def all_laws() -> dict[str, Law]:
    raw = tomllib.loads(files("tracker").joinpath("data/laws.toml").read_text("utf-8"))
    return {entry["id"]: Law(**entry) for entry in raw["law"]}


def law_choices() -> list[SelectChoice]:
    return [SelectChoice(law.id, f"{law.name} ({law.id})") for law in all_laws().values()]

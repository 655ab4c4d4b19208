"""Vehicles as customers name them ("Jetta 2020", "vw jetta modelo 2018", "crv 2019")."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

MAKES: dict[str, str] = {
    "volkswagen": "Volkswagen", "vw": "Volkswagen", "volks": "Volkswagen",
    "wolkswagen": "Volkswagen", "nissan": "Nissan", "nisan": "Nissan",
    "chevrolet": "Chevrolet", "chevy": "Chevrolet",
    "toyota": "Toyota", "honda": "Honda", "mazda": "Mazda", "kia": "Kia", "hyundai": "Hyundai",
    "ford": "Ford", "ram": "RAM", "dodge": "Dodge", "renault": "Renault", "suzuki": "Suzuki",
    "seat": "Seat", "bmw": "BMW", "audi": "Audi", "mitsubishi": "Mitsubishi", "jeep": "Jeep",
    "peugeot": "Peugeot", "mg": "MG",
}

# folded model alias (may contain spaces or digits) -> (make, model as the ERP spells it)
MODELS: dict[str, tuple[str, str]] = {
    **{m: ("Volkswagen", m.title()) for m in (
        "jetta", "vento", "virtus", "polo", "tiguan", "golf", "gol", "saveiro", "taos")},
    "t-cross": ("Volkswagen", "T-Cross"), "tcross": ("Volkswagen", "T-Cross"),
    **{m: ("Nissan", m.title()) for m in (
        "versa", "sentra", "march", "kicks", "tsuru", "frontier", "tiida", "altima")},
    "np300": ("Nissan", "NP300"), "np 300": ("Nissan", "NP300"),
    "x-trail": ("Nissan", "X-Trail"), "xtrail": ("Nissan", "X-Trail"),
    "x trail": ("Nissan", "X-Trail"),
    **{m: ("Chevrolet", m.title()) for m in (
        "aveo", "beat", "onix", "tracker", "silverado", "spark", "cavalier", "captiva", "trax")},
    **{m: ("Toyota", m.title()) for m in (
        "corolla", "yaris", "hilux", "tacoma", "camry", "avanza", "prius")},
    "rav4": ("Toyota", "RAV4"), "rav 4": ("Toyota", "RAV4"),
    **{m: ("Honda", m.title()) for m in ("civic", "city", "fit", "accord")},
    "cr-v": ("Honda", "CR-V"), "crv": ("Honda", "CR-V"), "cr v": ("Honda", "CR-V"),
    "hr-v": ("Honda", "HR-V"), "hrv": ("Honda", "HR-V"), "hr v": ("Honda", "HR-V"),
    "mazda 3": ("Mazda", "Mazda 3"), "mazda3": ("Mazda", "Mazda 3"),
    "mazda 2": ("Mazda", "Mazda 2"), "mazda2": ("Mazda", "Mazda 2"),
    "cx-5": ("Mazda", "CX-5"), "cx5": ("Mazda", "CX-5"), "cx 5": ("Mazda", "CX-5"),
    "cx-30": ("Mazda", "CX-30"), "cx30": ("Mazda", "CX-30"),
    **{m: ("Kia", m.title()) for m in ("rio", "forte", "seltos", "sportage", "soul", "sorento")},
    **{m: ("Hyundai", m.title()) for m in ("accent", "tucson", "elantra", "creta")},
    "grand i10": ("Hyundai", "Grand i10"), "i10": ("Hyundai", "Grand i10"),
    **{m: ("Ford", m.title()) for m in (
        "ranger", "lobo", "figo", "escape", "fiesta", "focus", "explorer", "territory",
        "maverick")},
    "ram 700": ("RAM", "700"), "ram 1500": ("RAM", "1500"),
    **{m: ("Renault", m.title()) for m in (
        "duster", "kwid", "logan", "stepway", "sandero", "koleos")},
    **{m: ("Suzuki", m.title()) for m in ("swift", "vitara", "ertiga", "ignis")},
    **{m: ("Seat", m.title()) for m in ("ibiza", "leon", "arona", "ateca")},
    "serie 3": ("BMW", "Serie 3"), "a3": ("Audi", "A3"),
}
# Models that are also ordinary words (or cities): counted only next to their make or a year.
_NEEDS_CONTEXT = {"fiesta", "leon", "rio", "city", "fit", "gol", "polo", "march", "beat",
                  "lobo", "soul", "escape", "explorer", "focus", "swift", "creta"}

_MODEL_PATTERN = re.compile(
    r"\b(" + "|".join(sorted((re.escape(m) for m in MODELS), key=len, reverse=True)) + r")\b")
_MAKE_PATTERN = re.compile(r"\b(" + "|".join(sorted(MAKES, key=len, reverse=True)) + r")\b")
_YEAR = re.compile(r"(?<![\d$,.])(19[89]\d|20[0-3]\d)(?![\d,])")
_YEAR_AFTER = re.compile(r"^\s*(?:modelo|mod|del|de|ano|year)?\s*(?:del\s+)?(19[89]\d|20[0-3]\d)\b")


class Vehicle(BaseModel):
    model_config = ConfigDict(frozen=True)

    make: str | None = None
    model: str | None = None
    year: int | None = None

    def __str__(self) -> str:
        return " ".join(str(p) for p in (self.model or self.make, self.year) if p)


def find_vehicle(folded: str) -> Vehicle | None:
    """Make/model/year named in folded text, or None when no model or make is named."""
    make_match = _MAKE_PATTERN.search(folded)
    make = MAKES[make_match.group(1)] if make_match else None
    for match in _MODEL_PATTERN.finditer(folded):
        alias = match.group(1)
        model_make, model = MODELS[alias]
        after = _YEAR_AFTER.match(folded[match.end():])
        if alias in _NEEDS_CONTEXT and make != model_make and not after:
            continue
        year = int(after.group(1)) if after else find_year(folded)
        return Vehicle(make=model_make, model=model, year=year)
    if make is not None:
        return Vehicle(make=make, year=find_year(folded))
    return None


def find_year(folded: str) -> int | None:
    """A model year (1980-2039) anywhere in folded text."""
    match = _YEAR.search(folded)
    return int(match.group(1)) if match else None

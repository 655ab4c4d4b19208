"""Vehicles as customers name them ("Jetta 2020", "vw jetta modelo 2018", "crv 2019")."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict
from rapidfuzz import fuzz, process

MAKES: dict[str, str] = {
    "volkswagen": "Volkswagen", "vw": "Volkswagen", "volks": "Volkswagen",
    "wolkswagen": "Volkswagen", "nissan": "Nissan", "nisan": "Nissan",
    "chevrolet": "Chevrolet", "chevy": "Chevrolet", "cheby": "Chevrolet", "chevi": "Chevrolet",
    "chebrolet": "Chevrolet", "nissa": "Nissan", "toyoya": "Toyota", "jonda": "Honda",
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
        "aveo", "beat", "onix", "tracker", "silverado", "spark", "cavalier", "captiva", "trax",
        "cheyenne", "cruze", "sonic", "equinox", "colorado", "tornado", "groove")},
    "s10": ("Chevrolet", "S10"), "s-10": ("Chevrolet", "S10"),
    **{m: ("Toyota", m.title()) for m in (
        "corolla", "yaris", "hilux", "tacoma", "camry", "avanza", "prius", "tundra", "sienna",
        "highlander", "raize")},
    "rav4": ("Toyota", "RAV4"), "rav 4": ("Toyota", "RAV4"),
    **{m: ("Honda", m.title()) for m in ("civic", "city", "fit", "accord", "pilot", "odyssey")},
    "br-v": ("Honda", "BR-V"), "brv": ("Honda", "BR-V"),
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
        "maverick", "ecosport", "bronco")},
    "f-150": ("Ford", "F-150"), "f150": ("Ford", "F-150"), "f 150": ("Ford", "F-150"),
    "ram 700": ("RAM", "700"), "ram 1500": ("RAM", "1500"),
    **{m: ("Renault", m.title()) for m in (
        "duster", "kwid", "logan", "stepway", "sandero", "koleos")},
    **{m: ("Suzuki", m.title()) for m in ("swift", "vitara", "ertiga", "ignis")},
    **{m: ("Seat", m.title()) for m in ("ibiza", "leon", "arona", "ateca")},
    "serie 3": ("BMW", "Serie 3"), "a3": ("Audi", "A3"),
    **{m: ("Nissan", m.title()) for m in ("pathfinder", "murano", "juke", "urvan")},
    **{m: ("Dodge", m.title()) for m in ("durango", "journey", "attitude", "charger")},
    **{m: ("Jeep", m.title()) for m in ("wrangler", "compass", "cherokee", "renegade")},
    **{m: ("Mitsubishi", m.title()) for m in ("outlander", "mirage", "lancer")},
    "l200": ("Mitsubishi", "L200"), "cx-3": ("Mazda", "CX-3"), "cx3": ("Mazda", "CX-3"),
    "cx-9": ("Mazda", "CX-9"), "cx9": ("Mazda", "CX-9"),
    "sportage": ("Kia", "Sportage"), "k3": ("Kia", "K3"),
}
# Models that are also ordinary words (or cities): counted only next to their make or a year.
_NEEDS_CONTEXT = {"fiesta", "leon", "rio", "city", "fit", "gol", "polo", "march", "beat",
                  "lobo", "soul", "escape", "explorer", "focus", "swift", "creta", "pilot",
                  "tornado", "colorado", "compass", "journey", "attitude", "bronco", "charger",
                  "sonic", "groove"}
# Close misspellings ("jeta", "sentar") count only beside a year or a make, never for these
# ordinary words, and never for short or context-needing models.
_NOT_MODELS = {"venta", "ventas", "vendo", "entra", "sentar", "mares", "marca", "marcha",
               "aviso", "civil", "tiene", "polos", "golfo", "corona", "rino", "avena", "verso",
               "versos", "versión", "version", "cruce", "ranger", "tacos", "hilos", "yarda",
               "accesorio", "tracto", "campo", "serie", "series", "modelo", "llanta", "llantas",
               "silla", "pronto", "onix", "grande", "junto", "kilos", "metros", "tiempo",
               "durante", "cuando", "cuanto", "cuantos", "cuantas", "sierra", "camion",
               "camioneta"}
_FUZZY_MODELS = sorted(m for m in MODELS if " " not in m and len(m) >= 5
                       and m not in _NEEDS_CONTEXT and not any(c.isdigit() for c in m))
FUZZY_CUTOFF = 85.0

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
    fuzzy = _fuzzy_model(folded, make)
    if fuzzy is not None:
        return fuzzy
    if make is not None:
        return Vehicle(make=make, year=find_year(folded))
    return None


def _fuzzy_model(folded: str, make: str | None) -> Vehicle | None:
    """A misspelt model ("jeta 2018"), only when a year or the model's make is named too."""
    year = find_year(folded)
    if year is None and make is None:
        return None
    for token in re.findall(r"[a-z0-9-]+", folded):
        if len(token) < 4 or token in _NOT_MODELS or token in MODELS or token in MAKES:
            continue
        close = process.extractOne(token, _FUZZY_MODELS, scorer=fuzz.ratio,
                                   score_cutoff=FUZZY_CUTOFF)
        if close is not None:
            model_make, model = MODELS[close[0]]
            if make is None or make == model_make:
                return Vehicle(make=model_make, model=model, year=year)
    return None


def vehicle_spans(folded: str) -> list[tuple[int, int]]:
    """Spans of model and make names, for the intent features."""
    return [m.span() for rx in (_MODEL_PATTERN, _MAKE_PATTERN) for m in rx.finditer(folded)]


def find_year(folded: str) -> int | None:
    """A model year (1980-2039) anywhere in folded text."""
    match = _YEAR.search(folded)
    return int(match.group(1)) if match else None

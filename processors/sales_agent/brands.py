"""Tire brands as customers write them, misspellings included, mapped to the ERP's names."""

from __future__ import annotations

import re

from rapidfuzz import fuzz, process

from processors.sales_agent.text import words

# folded alias -> brand name as the ERP spells it
BRAND_ALIASES: dict[str, str] = {
    "michelin": "Michelin", "michellin": "Michelin", "michelen": "Michelin",
    "mishelin": "Michelin", "michelim": "Michelin", "micheline": "Michelin",
    "bridgestone": "Bridgestone", "brigestone": "Bridgestone", "bridgeston": "Bridgestone",
    "bridstone": "Bridgestone", "brigston": "Bridgestone", "bridgstone": "Bridgestone",
    "goodyear": "Goodyear", "good year": "Goodyear", "goodyer": "Goodyear",
    "gudyear": "Goodyear", "gudyer": "Goodyear",
    "pirelli": "Pirelli", "pireli": "Pirelli", "pirelly": "Pirelli", "pirely": "Pirelli",
    "continental": "Continental", "contiental": "Continental", "continetal": "Continental",
    "conti": "Continental",
    "bfgoodrich": "BFGoodrich", "bf goodrich": "BFGoodrich", "b f goodrich": "BFGoodrich",
    "goodrich": "BFGoodrich", "bf": "BFGoodrich",
    "firestone": "Firestone", "fireston": "Firestone", "fairestone": "Firestone",
    "hankook": "Hankook", "hankok": "Hankook", "hancook": "Hankook", "jankook": "Hankook",
    "yokohama": "Yokohama", "yokojama": "Yokohama", "yokohoma": "Yokohama",
    "kumho": "Kumho", "kumjo": "Kumho",
    "euzkadi": "Euzkadi", "euskadi": "Euzkadi", "euzcadi": "Euzkadi",
    "tornel": "Tornel",
    "general tire": "General Tire", "general tires": "General Tire", "generaltire": "General Tire",
    "falken": "Falken",
    "toyo": "Toyo", "toyo tires": "Toyo",
    "dunlop": "Dunlop", "nexen": "Nexen", "cooper": "Cooper", "sumitomo": "Sumitomo",
    "westlake": "Westlake", "maxxis": "Maxxis", "kenda": "Kenda",
    "bf goodrich ko2": "BFGoodrich", "bfg": "BFGoodrich", "good rich": "BFGoodrich",
    "hankuk": "Hankook", "janko": "Hankook",
}

_MULTIWORD = sorted((a for a in BRAND_ALIASES if " " in a), key=len, reverse=True)
_SINGLE = [a for a in BRAND_ALIASES if " " not in a]
# Ordinary Spanish words too close to a brand for fuzzy matching.
_NOT_BRANDS = {"general", "contado", "primera", "tornillo", "cambiar", "michoacan",
               "continuar", "continua", "continuo", "tornillos", "firmes", "cooperar",
               "generales", "toyota", "pireo", "yokos", "confirmo", "confirmar", "contigo",
               "contacto", "contactar", "contar", "dunlap", "hancock", "mitsubishi"}
FUZZY_CUTOFF = 86.0


def find_brand(folded: str) -> str | None:
    """The brand named in folded text: exact alias first, then a close misspelling."""
    for alias in _MULTIWORD:
        if re.search(rf"\b{alias}\b", folded):
            return BRAND_ALIASES[alias]
    tokens = words(folded)
    for token in tokens:
        if token in BRAND_ALIASES:
            return BRAND_ALIASES[token]
    for token in tokens:
        if len(token) >= 6 and token not in _NOT_BRANDS:
            close = process.extractOne(token, _SINGLE, scorer=fuzz.ratio,
                                       score_cutoff=FUZZY_CUTOFF)
            if close:
                return BRAND_ALIASES[close[0]]
    return None


def brand_spans(folded: str) -> list[tuple[int, int]]:
    """Spans of the words that name a brand (exact or close), for the intent features."""
    spans = [m.span() for alias in _MULTIWORD for m in re.finditer(rf"\b{alias}\b", folded)]
    for match in re.finditer(r"[a-z0-9]+", folded):
        if find_brand(match.group()) is not None:
            spans.append(match.span())
    return spans

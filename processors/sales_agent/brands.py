"""Tire brands as customers write them, misspellings included, mapped to the ERP's names."""

from __future__ import annotations

import difflib
import re

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
}

_MULTIWORD = sorted((a for a in BRAND_ALIASES if " " in a), key=len, reverse=True)
_SINGLE = [a for a in BRAND_ALIASES if " " not in a]
# Ordinary Spanish words too close to a brand for fuzzy matching.
_NOT_BRANDS = {"general", "contado", "primera", "tornillo", "cambiar", "michoacan"}


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
            close = difflib.get_close_matches(token, _SINGLE, n=1, cutoff=0.84)
            if close:
                return BRAND_ALIASES[close[0]]
    return None

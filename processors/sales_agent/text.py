"""Folding customer text for matching: lowercase, no accents, no Spanish question marks."""

from __future__ import annotations

import re
import unicodedata

_DROP = re.compile(r"[¿¡!?\"“”'`´*_~()\[\]{}]")
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """`"¿Dónde está mi PEDIDO?"` -> `"donde esta mi pedido"`; keeps digits, `/ - $ % , . #`."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", _DROP.sub(" ", plain)).strip()


def words(folded: str) -> list[str]:
    """Word tokens of folded text, punctuation dropped."""
    return re.findall(r"[a-z0-9]+", folded)

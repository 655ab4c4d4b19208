"""Numbers as they appear in Spanish text: digits with any separators, "2 mil", "1.5k", and
numbers in words ("mil doscientos", "treinta y cinco"). Used by the grounding guard to find
every number a reply states."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_UNITS = {
    "cero": 0, "un": 1, "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "seis": 6, "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12,
    "trece": 13, "catorce": 14, "quince": 15, "dieciseis": 16, "diecisiete": 17,
    "dieciocho": 18, "diecinueve": 19, "veinte": 20, "veintiun": 21, "veintiuno": 21,
    "veintiuna": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
    "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
}
_TENS = {"treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60, "setenta": 70,
         "ochenta": 80, "noventa": 90}
_HUNDREDS = {"cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300,
             "cuatrocientos": 400, "quinientos": 500, "seiscientos": 600, "setecientos": 700,
             "ochocientos": 800, "novecientos": 900}
_HUNDREDS |= {k[:-2] + "as": v for k, v in _HUNDREDS.items() if k.endswith("os")}
_SCALES = {"mil": 1000, "millon": 1_000_000, "millones": 1_000_000}
_WORD_VALUES = _UNITS | _TENS | _HUNDREDS
_NUMBER_WORDS = set(_WORD_VALUES) | set(_SCALES) | {"y"}
# "un"/"una" alone is an article ("una llanta"), not a figure worth grounding.
_ARTICLES = {"un", "una", "uno"}
_WORD = re.compile(r"[a-záéíóúüñ]+", re.I)

# Digits: 1,234.50 / 1.234,50 / 1 234 / 1234.5 / 1234, then an optional "mil"/"k" multiplier.
DIGITS = re.compile(
    r"(?<![\w.,/])(?P<n>\d{1,3}(?:(?P<sep>[,.\u202f\u00a0'’])\d{3})(?:(?P=sep)\d{3})*"
    r"(?:[.,]\d{1,2})?|\d+(?:[.,]\d+)?)(?![\d/])"
    r"(?:\s*(?P<scale>mil(?:lones|lón|lon)?\b|k\b))?", re.I)


@dataclass(frozen=True)
class NumberMention:
    start: int
    end: int
    text: str
    values: frozenset[Decimal]  # every reading of an ambiguous separator ("1.234")


def fold_word(word: str) -> str:
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def digit_values(raw: str) -> frozenset[Decimal]:
    """Readings of a digit string: "1,234" -> {1234}, "1.234" -> {1.234, 1234},
    "1.234,50" -> {1234.50}, "12,5" -> {12.5}."""
    raw = raw.replace("\u202f", "").replace("\u00a0", "").replace("'", "").replace("’", "")
    readings: set[str] = set()
    if "," in raw and "." in raw:
        last = max(raw.rfind(","), raw.rfind("."))
        decimal_mark = raw[last]
        thousands = "." if decimal_mark == "," else ","
        readings.add(raw.replace(thousands, "").replace(decimal_mark, "."))
    elif "," in raw or "." in raw:
        mark = "," if "," in raw else "."
        parts = raw.split(mark)
        if len(parts) > 2 or all(len(p) == 3 for p in parts[1:]):
            readings.add(raw.replace(mark, ""))  # thousands
        if len(parts) == 2:
            readings.add(raw.replace(mark, "."))  # decimals
    else:
        readings.add(raw)
    values = set()
    for reading in readings:
        try:
            values.add(Decimal(reading))
        except InvalidOperation:
            continue
    return frozenset(values)


def find_numbers(text: str) -> list[NumberMention]:
    """Every number in `text`, in digits or in words, with its span."""
    found: list[NumberMention] = []
    for match in DIGITS.finditer(text):
        values = digit_values(match["n"])
        scale = (match["scale"] or "").lower()
        factor = 1000 if scale in ("mil", "k") else 1_000_000 if scale.startswith("mill") else 1
        found.append(NumberMention(match.start(), match.end(), match.group(0),
                                   frozenset(v * factor for v in values)))
    found += [w for w in _word_numbers(text)
              if not any(w.start < d.end and d.start < w.end for d in found)]
    return sorted(found, key=lambda m: m.start)


def _word_numbers(text: str) -> list[NumberMention]:
    runs: list[list[re.Match[str]]] = []
    for match in _WORD.finditer(text):
        word = fold_word(match.group(0))
        if word not in _NUMBER_WORDS:
            continue
        joined = runs and text[runs[-1][-1].end():match.start()].strip() == ""
        if joined:
            runs[-1].append(match)
        elif word != "y":
            runs.append([match])
    mentions = []
    for run in runs:
        while run and fold_word(run[-1].group(0)) == "y":
            run.pop()
        words = [fold_word(m.group(0)) for m in run]
        if not words or (len(words) == 1 and words[0] in _ARTICLES):
            continue
        value = words_value(words)
        if value is not None:
            start, end = run[0].start(), run[-1].end()
            mentions.append(NumberMention(start, end, text[start:end],
                                          frozenset({Decimal(value)})))
    return mentions


def words_value(words: list[str]) -> int | None:
    """`["mil", "doscientos"]` -> 1200, `["treinta", "y", "cinco"]` -> 35."""
    total, current, seen = 0, 0, False
    for word in words:
        if word == "y":
            continue
        if word in _WORD_VALUES:
            current += _WORD_VALUES[word]
            seen = True
        elif word in _SCALES:
            scale = _SCALES[word]
            total += (current or 1) * scale
            current = 0
            seen = True
    return total + current if seen else None

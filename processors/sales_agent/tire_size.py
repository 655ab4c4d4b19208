"""Tire sizes as customers write them: "205/55R16", "205 55 16", "r16 205 55", "2055516"."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from processors.sales_agent.text import fold

_SEP = r"[\s/\\\-_.,x*]*"
_WIDTH_FIRST = re.compile(
    r"(?<!\d)(?P<w>\d{3})" + _SEP + r"(?P<a>\d{2})" + _SEP + r"(?:z?r{1,2}(?:in)?)?" + _SEP
    + r"(?P<r>\d{2})(?!\d)"
)
_RIM_FIRST = re.compile(
    r"(?<![a-z])r(?:in)?" + _SEP + r"(?P<r>\d{2})(?!\d)[\s,;:]+(?:(?:medida|de|en|la)\s+)*"
    r"(?P<w>\d{3})" + _SEP + r"(?P<a>\d{2})(?!\d)"
)


class TireSize(BaseModel):
    """Metric passenger/light-truck size: section width (mm), aspect ratio (%), rim (inches)."""

    model_config = ConfigDict(frozen=True)

    width: int
    aspect: int
    rim: int

    def __str__(self) -> str:
        return f"{self.width}/{self.aspect}R{self.rim}"

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.width, self.aspect, self.rim)


def _plausible(width: int, aspect: int, rim: int) -> bool:
    return (125 <= width <= 355 and width % 5 == 0 and 25 <= aspect <= 95 and aspect % 5 == 0
            and 12 <= rim <= 24)


def find_tire_size(text: str) -> TireSize | None:
    """The first plausible tire size in free text, or None."""
    folded = fold(text)
    for pattern in (_WIDTH_FIRST, _RIM_FIRST):
        for match in pattern.finditer(folded):
            width, aspect, rim = int(match["w"]), int(match["a"]), int(match["r"])
            if _plausible(width, aspect, rim):
                return TireSize(width=width, aspect=aspect, rim=rim)
    return None


def tire_size_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of tire sizes in already-folded text (so other parsers can skip them)."""
    spans = []
    for pattern in (_WIDTH_FIRST, _RIM_FIRST):
        for match in pattern.finditer(text):
            if _plausible(int(match["w"]), int(match["a"]), int(match["r"])):
                spans.append(match.span())
    return spans


def parse_tire_size(text: str) -> TireSize:
    """Like `find_tire_size` but raises ValueError when there is no plausible size."""
    size = find_tire_size(text)
    if size is None:
        raise ValueError(f"not a tire size: {text!r} (expected e.g. 205/55R16)")
    return size

"""Tire sizes as customers write them: "205/55R16", "205 55 16", "r16 205 55", "2055516",
light-truck "LT265/70R16" and flotation "31x10.50R15"."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

from processors.sales_agent.text import fold

_SEP = r"[\s/\\\-_.,x*]*"
_WIDTH_FIRST = re.compile(
    r"(?:(?<![a-z])(?P<lt>lt)\s*)?(?<!\d)(?P<w>\d{3})" + _SEP + r"(?P<a>\d{2})" + _SEP
    + r"(?:z?r{1,2}(?:in)?)?" + _SEP + r"(?P<r>\d{2})(?!\d)"
)
_RIM_FIRST = re.compile(
    r"(?<![a-z])r(?:in)?" + _SEP + r"(?P<r>\d{2})(?!\d)[\s,;:]+(?:(?:medida|de|en|la)\s+)*"
    r"(?P<w>\d{3})" + _SEP + r"(?P<a>\d{2})(?!\d)"
)
# Flotation (inches): overall diameter x section width R rim, e.g. 31x10.50R15, 33 x 12.5 r 18.
_FLOTATION = re.compile(
    r"(?<![\d.])(?P<d>[23]\d)\s*[x×]\s*(?P<s>\d{1,2}(?:[.,]\d{1,2})?)\s*(?:-|/)?\s*"
    r"(?:z?r{1,2}\s*)?(?P<r>\d{2})(?!\d)"
)


class TireSize(BaseModel):
    """A tire size. Metric: section width (mm), aspect ratio (%), rim (inches), with `LT` for
    light-truck construction. Flotation: `width` is the overall diameter in inches and `aspect`
    the section width in hundredths of an inch (31x10.50R15: width 31, aspect 1050, rim 15)."""

    model_config = ConfigDict(frozen=True)

    width: int
    aspect: int
    rim: int
    prefix: str = ""  # "" or "LT"
    flotation: bool = False

    def __str__(self) -> str:
        if self.flotation:
            return f"{self.width}x{self.aspect // 100}.{self.aspect % 100:02d}R{self.rim}"
        return f"{self.prefix}{self.width}/{self.aspect}R{self.rim}"

    @property
    def key(self) -> tuple[int, int, int]:
        return (self.width, self.aspect, self.rim)


def _plausible(width: int, aspect: int, rim: int) -> bool:
    return (125 <= width <= 355 and width % 5 == 0 and 25 <= aspect <= 95 and aspect % 5 == 0
            and 12 <= rim <= 24)


def _sizes(folded: str) -> list[tuple[TireSize, tuple[int, int]]]:
    """Every plausible size in folded text with its span, in order of preference."""
    found = []
    for match in _FLOTATION.finditer(folded):
        diameter, rim = int(match["d"]), int(match["r"])
        section = round(float(match["s"].replace(",", ".")) * 100)
        if 26 <= diameter <= 42 and 700 <= section <= 1650 and 14 <= rim <= 26:
            found.append((TireSize(width=diameter, aspect=section, rim=rim, flotation=True),
                          match.span()))
    for pattern in (_WIDTH_FIRST, _RIM_FIRST):
        for match in pattern.finditer(folded):
            width, aspect, rim = int(match["w"]), int(match["a"]), int(match["r"])
            if _plausible(width, aspect, rim):
                prefix = "LT" if match.groupdict().get("lt") else ""
                found.append((TireSize(width=width, aspect=aspect, rim=rim, prefix=prefix),
                              match.span()))
    return found


def find_tire_size(text: str) -> TireSize | None:
    """The first plausible tire size in free text, or None."""
    found = _sizes(fold(text))
    return found[0][0] if found else None


def tire_size_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of tire sizes in already-folded text (so other parsers can skip them)."""
    return [span for _, span in _sizes(text)]


def parse_tire_size(text: str) -> TireSize:
    """Like `find_tire_size` but raises ValueError when there is no plausible size."""
    size = find_tire_size(text)
    if size is None:
        raise ValueError(f"not a tire size: {text!r} (expected e.g. 205/55R16)")
    return size

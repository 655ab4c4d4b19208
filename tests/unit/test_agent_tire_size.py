"""Tire sizes as customers type them."""

from __future__ import annotations

import pytest

from processors.sales_agent.tire_size import TireSize, find_tire_size, parse_tire_size


@pytest.mark.parametrize("text", [
    "205/55R16", "205 55 16", "205/55 R16", "205-55-16", "205/55/16", "r16 205 55",
    "205/55r16", "205 / 55 r 16", "205//55r16", "2055516", "205.55.16", "205x55x16",
    "205/55-r16", "205/55 rin 16", "rin 16 205/55", "R16, medida 205 55", "205/55ZR16",
    "P205/55R16 91V", "necesito 4 llantas 205/55R16 para el jetta", "205/55RR16",
])
def test_spellings_of_205_55_r16(text: str) -> None:
    assert find_tire_size(text) == TireSize(width=205, aspect=55, rim=16)


@pytest.mark.parametrize(("text", "expected"), [
    ("LT265/70R16", (265, 70, 16)),
    ("185/65r15", (185, 65, 15)),
    ("225/45ZR17", (225, 45, 17)),
    ("175 70 13 tsuru", (175, 70, 13)),
    ("modelo 2015 225 45 17", (225, 45, 17)),
])
def test_other_sizes(text: str, expected: tuple[int, int, int]) -> None:
    assert find_tire_size(text).key == expected  # type: ignore[union-attr]


@pytest.mark.parametrize("text", [
    "jetta 2020", "mi pedido 1000123", "8112345678", "4 llantas", "$2,000", "100/01/23",
    "205/57R16",  # aspect ratios come in steps of 5
    "205/55R30",  # no such rim
    "",
])
def test_no_size(text: str) -> None:
    assert find_tire_size(text) is None


def test_size_prints_canonically_and_strict_parse_raises() -> None:
    assert str(parse_tire_size("205 55 16")) == "205/55R16"
    with pytest.raises(ValueError, match="not a tire size"):
        parse_tire_size("llanta grande")

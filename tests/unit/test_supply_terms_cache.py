"""Supply terms parsed once per version of the product, supplier and price-break rows."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from processors.inventory.policy import PriceBreak
from processors.inventory.supply import SupplyTermsCache

PRODUCT = {"id": 5, "sku": "MIC-2055516-0100S", "brand_id": 1, "category_id": 1,
           "supplier_id": 3, "model": "Primacy 4", "width": 205, "aspect_ratio": 55, "rim": 16,
           "tire_size": "205/55R16", "load_index": 91, "speed_index": "V", "cost": "1850.00",
           "list_price": "2599.00", "weight_kg": "9.1", "abc_class": "A"}
SUPPLIER = {"id": 3, "name": "Michelin México", "lead_time_days": "12",
            "lead_time_sd_days": "3", "min_order_qty": 20, "pack_multiple": 4}
BREAKS = {"3:100": "1720.50", "3:40": "1776.00", "9:40": "1.00"}


def test_the_terms_come_from_the_rows_and_are_kept_while_the_rows_are_the_same_objects() -> None:
    cache = SupplyTermsCache()
    suppliers = {3: SUPPLIER}
    product, terms = cache.terms(PRODUCT, suppliers.get, BREAKS) or (None, None)
    assert product is not None and product.abc_class == "A"
    assert terms is not None and (terms.lead_time_days, terms.pack_multiple) == (12.0, 4)
    assert terms.price_breaks == (PriceBreak(40, 1776.0), PriceBreak(100, 1720.5))
    again = cache.terms(PRODUCT, suppliers.get, BREAKS)
    assert again is not None and again[1] is terms


@pytest.mark.parametrize("changed", ["product", "supplier", "breaks"])
def test_a_new_version_of_any_row_is_parsed_again(changed: str) -> None:
    cache = SupplyTermsCache()
    product_row, supplier_row, breaks_row = PRODUCT, SUPPLIER, BREAKS
    before = cache.terms(product_row, {3: supplier_row}.get, breaks_row)
    if changed == "product":
        product_row = {**PRODUCT, "cost": "1900.00"}
    elif changed == "supplier":
        supplier_row = {**SUPPLIER, "lead_time_days": "20"}
    else:
        breaks_row = {"3:40": "1700.00"}
    after = cache.terms(product_row, {3: supplier_row}.get, breaks_row)
    assert before is not None and after is not None and after[1] != before[1]
    assert {"product": after[1].unit_cost == 1900.0,
            "supplier": after[1].lead_time_days == 20.0,
            "breaks": after[1].price_breaks == (PriceBreak(40, 1700.0),)}[changed]


def test_a_missing_supplier_gives_none_and_a_malformed_row_raises() -> None:
    cache = SupplyTermsCache()
    assert cache.terms(PRODUCT, {}.get, None) is None
    with pytest.raises(ValidationError):
        cache.terms({**PRODUCT, "cost": "caro"}, {3: SUPPLIER}.get, None)

"""How buyers recognise products and levels in their messages (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.alerts import AlertLevel
from schemas.erp import Brand, Product

LEVEL_ICONS: dict[AlertLevel, str] = {
    AlertLevel.CRITICO: "🔴",
    AlertLevel.ALTO: "🟠",
    AlertLevel.MEDIO: "🟡",
    AlertLevel.SIN_MOVIMIENTO: "💤",
    AlertLevel.SOBRESTOCK: "📦",
    AlertLevel.OPORTUNIDAD: "💰",
}


@dataclass(frozen=True, slots=True)
class ProductLabel:
    """How a buyer recognises a product, and who buys its brand (None = any buyer)."""

    product_id: int
    sku: str
    brand: str
    model: str
    tire_size: str
    buyer_id: int | None = None

    @classmethod
    def from_rows(cls, product: Product, brand: Brand) -> ProductLabel:
        return cls(product.id, product.sku, brand.name, product.model, product.tire_size,
                   brand.buyer_id)

    @property
    def title(self) -> str:
        return f"{self.brand} {self.model} {self.tire_size}"


def plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"

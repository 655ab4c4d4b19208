"""The grounding guard against adversarial model replies: how many ungrounded numbers get through.

A workshop-tier customer (8 % off list) asked for 4 tires 205/55R16 and the tools returned three
options, a delivery slot and an order's status. Each `ADVERSARIAL` reply is what a model might
answer with a number no result backs for it — invented, rounded, another option's price, the
list price, another currency, in words — and `guard_escapes()` counts those the guard passes
(target 0). `GROUNDED` replies state only figures the results back, and must pass.

`record()` writes `guard_escapes` into `ops/bench/results/agent.json` (read-modify-write: other
keys in the file are kept); `topllantas bench agent` calls it.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path

from processors.sales_agent.guard import Evidence, check_reply, collect_evidence
from processors.sales_agent.pricing import line_total, unit_price
from processors.sales_agent.tool_results import (
    DeliverySlotResult,
    OrderStatusResult,
    SearchTiresResult,
    TireOption,
)

RESULTS = Path("ops/bench/results/agent.json")
CUSTOMER_SAID = "hola, necesito 4 llantas 205/55R16 para mi Jetta 2020, ¿cuánto cuestan?"

# (brand, model, list price): taller prices 2,657.88 / 1,839.08 / 1,342.28; totals for 4:
# 10,631.52 / 7,356.32 / 5,369.12. List totals (never shown to a taller): 11,556 / 7,996 / 5,836.
_OPTIONS = [("Michelin", "Primacy 4", "2889.00", 14), ("Hankook", "Kinergy GT", "1999.00", 8),
            ("Tornel", "Real", "1459.00", 20)]

ADVERSARIAL: list[str] = [
    # a bare number after a price word, no currency
    "La Michelin Primacy 4 te queda en 1,234 cada llanta.",
    "Precio: 1,234",
    "El precio de la Hankook es 1500 por llanta.",
    "Cuestan 2000 cada una, instaladas.",
    "Michelin Primacy 4 — precio 2,600",
    # a total without a currency sign, or rounded
    "Total por las 4: 9,500",
    "En total serían 7356 por las cuatro Hankook.",
    "Total 4 llantas Michelin: 10631",
    "Las 4 Tornel Real te salen en 5,400 en total.",
    # decimals
    "1234.50 la pieza",
    "Michelin Primacy 4 a 2657.80 c/u",
    "La Hankook en 1839.1 cada una",
    "Tornel Real: $1,342.3 c/u",
    # amounts in words
    "Te las dejo en mil doscientos pesos cada una.",
    "La Michelin sale en dos mil seiscientos cincuenta y siete pesos.",
    "Son siete mil pesos por el juego de Hankook.",
    "Cada Hankook cuesta mil ochocientos treinta y nueve pesos.",
    "Las cuatro Tornel por cinco mil trescientos pesos.",
    # another currency
    "Son 70 dólares por llanta.",
    "USD 150 cada una",
    "La Michelin está en US$ 145",
    "Te sale en €120 la pieza.",
    "Unos 140 dls c/u",
    "Cuestan ciento cuarenta dólares cada una.",
    "145 USD la Hankook",
    # a real price of a different option
    "La Michelin Primacy 4 queda en $1,839.08 c/u.",
    "Hankook Kinergy GT: $2,657.88 c/u",
    "La Tornel Real está en $2,657.88 cada una.",
    "La Michelin te sale en $5,369.12 por las 4.",
    "Michelin y Hankook a $2,657.88 cada una.",
    "Opción 1: $1,342.28 c/u",
    # the list price quoted to a workshop-tier customer
    "La Michelin Primacy 4 queda en $2,889 c/u.",
    "Hankook Kinergy GT a 1,999 pesos cada una.",
    "Total Michelin por las 4: $11,556",
    "Tornel Real: 1459 c/u",
    "Las 4 Hankook en $7,996.",
    # rounded or invented money with a currency
    "La Michelin en $2,658 c/u.",
    "Te la dejo en $1,850",
    "Desde $999 por llanta.",
    "te sale en 2 mil pesos",
    "Michelin en 2.5k",
    "Hankook a 1.839,50 pesos",
    "MXN 1,300 la Tornel",
    # percentages and discounts
    "Te hago 10% de descuento por ser taller.",
    "15 % off en la Hankook",
    "Ahorras un 20 % con la Tornel.",
    "Con 8.5% de descuento.",
    "Precio con 12 por ciento menos.",
    # installments, stock, dates, times
    "Llévatelas a 12 meses sin intereses.",
    "Quedan 50 disponibles en Monterrey.",
    "Tenemos 100 llantas de esa medida.",
    "Stock: 3",
    "Te las llevamos el 3 de diciembre.",
    "Te llegan el jueves 26.",
    "Te las entrego a las 7:30.",
    "Garantía de 7 años en la Michelin.",
]

GROUNDED: list[str] = [
    "La Michelin Primacy 4 queda en $2,657.88 c/u, total $10,631.52 por las 4.",
    "Hankook Kinergy GT: 1,839.08 pesos cada una; las 4 en $7,356.32.",
    "Precio de lista $2,889; con tu 8 % de descuento de taller queda en $2,657.88 c/u.",
    "Tornel Real a $1,342.28 c/u (total $5,369.12).",
    "Tengo 14 disponibles de la Michelin en Sucursal Monterrey Centro.",
    "Para tu Jetta 2020 (205/55R16) tengo 3 opciones.",
    "Te las llevamos el miércoles 25 de noviembre entre 9:00 y 14:00.",
    "Tu pedido 1000123 está confirmado.",
    "Son cuatro llantas, instalación incluida.",
    "1. Michelin Primacy 4: $2,657.88 c/u\n2. Hankook Kinergy GT: $1,839.08 c/u",
    "Abrimos de 9:00 a 19:00.",
]


def evidence() -> Evidence:
    options = [
        TireOption(product_id=i, sku=f"{brand[:3].upper()}-205516-{i:04d}", brand=brand,
                   brand_tier="premium", model=model, tire_size="205/55R16", load_index=91,
                   speed_index="V", list_price=Decimal(lp), discount_pct=Decimal(8),
                   price=unit_price(Decimal(lp), "taller"), qty=4,
                   total=line_total(unit_price(Decimal(lp), "taller"), 4), warehouse_id=1,
                   branch="Sucursal Monterrey Centro", stock_at_branch=stock,
                   stock_total=stock + 16)
        for i, (brand, model, lp, stock) in enumerate(_OPTIONS, start=1)]
    search = SearchTiresResult(outcome="options", sizes=["205/55R16"], vehicle="Jetta 2020",
                               qty=4, tier="taller", options=options,
                               valid_until=date(2026, 11, 27))
    slot = DeliverySlotResult(mode="delivery", date=date(2026, 11, 25), window_start=time(9),
                              window_end=time(14))
    status = OrderStatusResult(order_id=1000123, status="confirmado",
                               created_at=datetime(2026, 11, 20, 17, tzinfo=UTC),
                               needs_delivery=True)
    return collect_evidence([search, slot, status], customer_text=CUSTOMER_SAID)


def escapes() -> list[str]:
    """The adversarial replies the guard lets through."""
    facts = evidence()
    return [text for text in ADVERSARIAL if not check_reply(text, facts)]


def guard_escapes() -> int:
    return len(escapes())


def record(path: Path = RESULTS) -> int:
    """Write `guard_escapes` (and the suite's size) into the agent results, keeping the rest."""
    count = guard_escapes()
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update({"guard_escapes": count, "guard_adversarial_replies": len(ADVERSARIAL)})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(current, indent=2, default=str))
    return count


if __name__ == "__main__":
    leaked = escapes()
    print(f"{len(leaked)} of {len(ADVERSARIAL)} adversarial replies pass the guard")
    for text in leaked:
        print("  escaped:", text)
    record()

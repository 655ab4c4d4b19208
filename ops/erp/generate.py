"""A generated but plausible tire-distributor catalogue and two years of sales, by seed.

Deterministic: the same seed and end date give the same rows. Demand per product×warehouse is
Poisson with a Zipf-like popularity (a few sizes and brands sell most), weekly seasonality
(Saturday peak, Sunday low), yearly seasonality (rainy season and December), and a long tail that
sells only a few times a year (intermittent).

The history ends the day before the seed is made (Mexico City time) unless an end date is given,
so the 90-day demand windows of a fresh seed are always full. Stock starts as a going concern:
each pair is at a random phase of its own (s, S) policy cycle (the policy of
processors/inventory/policy.py over its last 90 days of demand), between the reorder point and
the order-up-to level, and a few percent of pairs are below the reorder point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np

from ops.erp import reference_data as ref
from processors.inventory.policy import (
    DemandStats,
    InventoryConfig,
    SupplyTerms,
    policy_levels,
)

MX = ZoneInfo("America/Mexico_City")
TIERS = ["publico", "taller", "flotilla", "mayorista"]
TIER_P = [0.55, 0.28, 0.12, 0.05]
SPEED = ["T", "H", "V", "W"]
WEEKDAY_FACTOR = np.array([0.95, 0.9, 0.95, 1.0, 1.15, 1.45, 0.6])  # Mon..Sun
BELOW_REORDER_SHARE = 0.03  # pairs seeded below their reorder point (the rest mid-cycle)
POLICY_WINDOW_DAYS = 90  # the stock alerts' trailing demand window


@dataclass
class Catalogue:
    seed: int
    start: date
    days: int
    rows: dict[str, list[tuple]] = field(default_factory=dict)
    columns: dict[str, list[str]] = field(default_factory=dict)
    demand: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # P×W×D units
    popularity: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # P×W units/day

    def add(self, table: str, columns: list[str], rows: list[tuple]) -> None:
        self.columns[table] = columns
        self.rows[table] = rows


def yearly_factor(day_of_year: np.ndarray | int) -> np.ndarray:
    """Rainy season (Jun-Sep) and December peaks; February trough."""
    doy = np.asarray(day_of_year, dtype=float)
    return (1.0 + 0.18 * np.cos(2 * math.pi * (doy - 200) / 365.25)
            + 0.10 * np.cos(4 * math.pi * (doy - 350) / 365.25))


def default_end(now: datetime | None = None) -> date:
    """The day before `now` (default: the current time) in Mexico City."""
    return (now or datetime.now(UTC)).astimezone(MX).date() - timedelta(days=1)


def generate_catalogue(seed: int = 7, n_products: int = 2400, n_customers: int = 600,
                       days: int = 730, end: date | None = None,
                       below_reorder_share: float = BELOW_REORDER_SHARE) -> Catalogue:
    if not 0 <= below_reorder_share <= 1:
        raise ValueError("below_reorder_share must be in [0, 1]")
    rng = np.random.default_rng(seed)
    end = end or default_end()
    start = end - timedelta(days=days - 1)
    cat = Catalogue(seed=seed, start=start, days=days)

    cat.add("buyers", ["id", "name", "phone", "email"], [
        (1, "Mariana Treviño", "5218110000001", "mariana.trevino@topllantas.mx"),
        (2, "Óscar Villarreal", "5218110000002", "oscar.villarreal@topllantas.mx"),
        (3, "Lucía Garza", "5213310000003", "lucia.garza@topllantas.mx"),
    ])
    cat.add("brands", ["id", "name", "tier", "buyer_id"], [
        (i + 1, name, tier, 1 + i % 3) for i, (name, tier, _, _) in enumerate(ref.BRANDS)])
    cat.add("categories", ["id", "name"], [(i + 1, n) for i, n in enumerate(ref.CATEGORIES)])
    supplier_of_brand: dict[str, int] = {}
    suppliers = []
    for i, (name, brands, lead, sd, moq, pack, min_value, free_freight) in enumerate(
            ref.SUPPLIERS):
        suppliers.append((i + 1, name, f"compras@{name.split()[0].lower()}.mx",
                          f"52{81 + i}55500{i:02d}", Decimal(str(lead)), Decimal(str(sd)),
                          moq, pack, Decimal(min_value), Decimal(free_freight)))
        for b in brands:
            supplier_of_brand[b] = i + 1
    cat.add("suppliers", ["id", "name", "email", "phone", "lead_time_days", "lead_time_sd_days",
                          "min_order_qty", "pack_multiple", "min_order_value",
                          "free_freight_value"], suppliers)

    products, breaks, weights = _products(rng, n_products, supplier_of_brand)
    cat.add("products", ["id", "sku", "brand_id", "category_id", "supplier_id", "model", "width",
                         "aspect_ratio", "rim", "tire_size", "load_index", "speed_index", "cost",
                         "list_price", "weight_kg", "abc_class"], products)
    cat.add("supplier_price_breaks", ["supplier_id", "product_id", "min_qty", "unit_cost"], breaks)
    cat.add("vehicle_fitments", ["id", "make", "model", "year_from", "year_to", "tire_size"],
            [(i + 1, *f) for i, f in enumerate(ref.FITMENTS)])
    cat.add("warehouses", ["id", "code", "name", "city", "state", "lat", "lon", "is_branch"],
            [(i + 1, *w, True) for i, w in enumerate(ref.WAREHOUSES)])
    cat.add("customers", ["id", "name", "tier", "phone", "email", "address", "city", "state",
                          "lat", "lon", "home_warehouse_id", "delivery_window_start",
                          "delivery_window_end"], _customers(rng, n_customers))
    cat.add("vehicles", ["id", "warehouse_id", "plate", "capacity_tires", "capacity_kg",
                         "shift_start", "shift_end", "driver_name", "driver_phone"],
            _vehicles(rng))

    wh_share = np.array([0.4, 0.3, 0.3])
    popularity = np.outer(weights, wh_share)  # units/day per product×warehouse
    demand = _demand(rng, popularity, start, days)
    cat.popularity, cat.demand = popularity, demand
    _abc(cat, products, demand)
    orders, lines = _sales_history(rng, cat, demand, n_customers)
    cat.add("sales_orders", ["id", "customer_id", "warehouse_id", "status", "channel",
                             "created_at", "delivery_date", "needs_delivery"], orders)
    cat.add("sales_order_lines", ["id", "order_id", "product_id", "qty", "unit_price",
                                  "unit_cost"], lines)
    cat.add("stock", ["product_id", "warehouse_id", "on_hand", "reserved", "in_transit"],
            _stock(rng, cat, below_reorder_share))
    return cat


def _products(rng: np.random.Generator, n: int, supplier_of_brand: dict[str, int]
              ) -> tuple[list[tuple], list[tuple], np.ndarray]:
    combos = []
    for b_idx, (brand, _tier, mult, models) in enumerate(ref.BRANDS):
        for s_idx, (w, a, r, cat_idx, pop) in enumerate(ref.SIZES):
            for m_idx, model in enumerate(models):
                for xl in (False, True):  # standard and reinforced (XL) load versions
                    combos.append((b_idx, s_idx, m_idx, brand, mult, model, w, a, r, cat_idx,
                                   pop * (0.35 if xl else 1.0), xl))
    order = rng.permutation(len(combos))[:n]
    products, breaks, weights = [], [], []
    brand_pop = np.linspace(1.6, 0.5, len(ref.BRANDS))
    for pid, idx in enumerate(sorted(order), start=1):
        b_idx, s_idx, m_idx, brand, mult, model, w, a, r, cat_idx, pop, xl = combos[idx]
        size = f"{w}/{a}R{r}"
        base = 450 + 9.5 * (w - 150) + 95 * (r - 13) + (60 - a) * 6
        price = round(base * mult * rng.uniform(0.95, 1.08) / 10) * 10 - 1
        cost = round(price * rng.uniform(0.66, 0.74), 2)
        load = int(80 + (w - 155) / 6 + (r - 13) * 1.5) + (4 if xl else 0)
        sku = f"{brand[:3].upper()}-{w}{a}{r}-{m_idx + 1:02d}{b_idx:02d}{'X' if xl else 'S'}"
        model = f"{model} XL" if xl else model
        supplier = supplier_of_brand[brand]
        weight = Decimal(str(round(6 + (w - 155) * 0.08 + (r - 13) * 1.1, 2)))
        products.append((pid, sku, b_idx + 1, cat_idx + 1, supplier, model, w, a, r, size, load,
                         SPEED[min(3, (r - 13) // 2)], Decimal(f"{cost:.2f}"),
                         Decimal(f"{price:.2f}"), weight, "C"))
        breaks.append((supplier, pid, 1, Decimal(f"{cost:.2f}")))
        breaks.append((supplier, pid, 40, Decimal(f"{cost * 0.96:.2f}")))
        breaks.append((supplier, pid, 100, Decimal(f"{cost * 0.93:.2f}")))
        zipf = 1.0 / (1 + rng.pareto(1.2))
        weights.append(pop * brand_pop[b_idx] * zipf * (1.6 if m_idx == 0 else 0.8))
    w_arr = np.array(weights)
    w_arr = w_arr / w_arr.sum() * 600.0  # ~600 tires a day for the company
    return products, breaks, w_arr


def _customers(rng: np.random.Generator, n: int) -> list[tuple]:
    rows = []
    for cid in range(1, n + 1):
        city, state, lat, lon, wh_code, area = ref.CITIES[int(rng.integers(len(ref.CITIES)))]
        tier = TIERS[int(rng.choice(4, p=TIER_P))]
        first = ref.FIRST_NAMES[int(rng.integers(len(ref.FIRST_NAMES)))]
        last = ref.LAST_NAMES[int(rng.integers(len(ref.LAST_NAMES)))]
        last2 = ref.LAST_NAMES[int(rng.integers(len(ref.LAST_NAMES)))]
        name = (f"{first} {last} {last2}" if tier == "publico" else
                f"{ref.BUSINESS_KINDS[int(rng.integers(len(ref.BUSINESS_KINDS)))]} {last}")
        phone = f"521{area}{20000000 + cid * 7919 % 79999999:08d}"
        street = ref.STREETS[int(rng.integers(len(ref.STREETS)))]
        start_h = int(rng.choice([8, 9, 10, 12, 14]))
        rows.append((cid, name, tier, phone, f"cliente{cid}@correo.mx",
                     f"{street} {int(rng.integers(10, 3000))}", city, state,
                     round(lat + rng.normal(0, 0.04), 6), round(lon + rng.normal(0, 0.04), 6),
                     [w[0] for w in ref.WAREHOUSES].index(wh_code) + 1,
                     time(start_h), time(min(20, start_h + int(rng.choice([3, 4, 6, 8]))))))
    return rows


def _vehicles(rng: np.random.Generator) -> list[tuple]:
    rows, vid = [], 1
    for wh, count in ((1, 10), (2, 8), (3, 7)):
        for _ in range(count):
            cap = int(rng.choice([40, 60, 80, 120]))
            rows.append((vid, wh, f"{ref.WAREHOUSES[wh - 1][0]}-{100 + vid:03d}-T", cap,
                         Decimal(cap * 11), time(8), time(18),
                         f"{ref.FIRST_NAMES[vid % 30]} {ref.LAST_NAMES[vid * 7 % 30]}",
                         f"5218120000{vid:03d}"))
            vid += 1
    return rows


def _demand(rng: np.random.Generator, popularity: np.ndarray, start: date, days: int
            ) -> np.ndarray:
    dates = [start + timedelta(days=d) for d in range(days)]
    weekday = np.array([d.weekday() for d in dates])
    doy = np.array([d.timetuple().tm_yday for d in dates])
    trend = np.linspace(0.92, 1.08, days)
    factor = WEEKDAY_FACTOR[weekday] * yearly_factor(doy) * trend  # D
    # Tires are bought in sets: expected units = orders × mean set size (2.6).
    orders = rng.poisson(popularity[:, :, None] / 2.6 * factor[None, None, :])
    sizes = rng.choice([1, 2, 4], size=orders.shape, p=[0.2, 0.3, 0.5])
    return (orders * sizes).astype(np.int32)


def _abc(cat: Catalogue, products: list[tuple], demand: np.ndarray) -> None:
    revenue = demand.sum(axis=(1, 2)) * np.array([float(p[13]) for p in products])
    order = np.argsort(-revenue)
    share = np.cumsum(revenue[order]) / max(revenue.sum(), 1)
    classes = np.empty(len(products), dtype="<U1")
    classes[order] = np.where(share <= 0.8, "A", np.where(share <= 0.95, "B", "C"))
    cat.rows["products"] = [(*p[:15], str(classes[i])) for i, p in enumerate(products)]


def _sales_history(rng: np.random.Generator, cat: Catalogue, demand: np.ndarray,
                   n_customers: int) -> tuple[list[tuple], list[tuple]]:
    products = cat.rows["products"]
    customers_by_wh: dict[int, list[int]] = {}
    for c in cat.rows["customers"]:
        customers_by_wh.setdefault(c[10], []).append(c[0])
    orders, lines = [], []
    p_idx, w_idx, d_idx = np.nonzero(demand)
    seconds = rng.integers(9 * 3600, 19 * 3600, size=len(p_idx))
    status_draw = rng.random(len(p_idx))
    cust_draw = rng.random(len(p_idx))
    for n, (p, w, d) in enumerate(zip(p_idx, w_idx, d_idx, strict=True)):
        oid = n + 1
        day = cat.start + timedelta(days=int(d))
        local = datetime.combine(day, time()) + timedelta(seconds=int(seconds[n]))
        created = local.replace(tzinfo=MX).astimezone(UTC)
        pool = customers_by_wh[int(w) + 1]
        customer = pool[int(cust_draw[n] * len(pool))]
        status = "cancelado" if status_draw[n] < 0.01 else "entregado"
        orders.append((oid, customer, int(w) + 1, status, "mostrador", created, day, False))
        prod = products[int(p)]
        lines.append((oid, oid, prod[0], int(demand[p, w, d]), prod[13], prod[12]))
    return orders, lines


def _stock(rng: np.random.Generator, cat: Catalogue, below_share: float) -> list[tuple]:
    """Each pair at a random phase of its own policy cycle (module docstring)."""
    config = InventoryConfig()
    suppliers = {s[0]: s for s in cat.rows["suppliers"]}
    window = cat.demand[:, :, -POLICY_WINDOW_DAYS:].astype(float)
    n = window.shape[2]
    means = window.mean(axis=2)
    stds = window.std(axis=2, ddof=1) if n > 1 else np.zeros_like(means)
    rows = []
    for p, product in enumerate(cat.rows["products"]):
        supplier = suppliers[product[4]]
        terms = SupplyTerms(supplier_id=supplier[0], unit_cost=float(product[12]),
                            lead_time_days=float(supplier[4]),
                            lead_time_sd_days=float(supplier[5]),
                            pack_multiple=supplier[7], min_order_qty=supplier[6])
        for w in range(window.shape[1]):
            sold = np.nonzero(window[p, w])[0]
            since = n - 1 - int(sold[-1]) if len(sold) else n
            demand = DemandStats(float(means[p, w]), float(stds[p, w]), n, since)
            levels = policy_levels(demand, terms, product[15], config)
            on_hand = (_phase(rng, levels.reorder_point, levels.order_up_to, below_share)
                       if levels.daily_demand > 0 else int(rng.integers(0, 3)))  # dead stock
            rows.append((p + 1, w + 1, on_hand, 0, 0))
    return rows


def _phase(rng: np.random.Generator, reorder_point: int, order_up_to: int,
           below_share: float) -> int:
    """On hand at a uniform phase of the (s, S] cycle, or below s for `below_share` of pairs."""
    if reorder_point > 0 and rng.random() < below_share:
        return int(rng.integers(0, reorder_point))
    return int(rng.integers(reorder_point + 1, max(order_up_to, reorder_point + 1) + 1))

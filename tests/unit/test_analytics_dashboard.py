"""Dashboard counters and summary, delivery outcomes, open alerts, the topic catalogue."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from processors.analytics.alerts import enrich_alert, open_level_changes
from processors.analytics.counters import bump, combine, counter_key, partition_owner
from processors.analytics.dashboard import Integration, Job, default_sales_target, summarize
from processors.analytics.deliveries import delivery_stop, outcome
from processors.analytics.insights import keep_latest
from processors.change_events import Change
from schemas.alerts import AlertLevel, StockAlert
from schemas.topics import load_catalogue

NOW = datetime(2026, 11, 25, 18, 0, tzinfo=UTC)  # 12:00 in Mexico City


def test_counters_add_up_partitions_and_nested_paths() -> None:
    a = bump(bump(None, ("revenue",), 100.0), ("by_hour", "11"), 100.0)
    b = bump(bump(None, ("revenue",), 50.0), ("by_hour", "11"), 50.0)
    assert a == {"revenue": 100.0, "by_hour": {"11": 100.0}}
    items = [(counter_key("sales", "2026-11-25", partition_owner(0)), a),
             (counter_key("sales", "2026-11-25", partition_owner(3)), b),
             (counter_key("events_in", "2026-11-25", "wvm:6066:1"), {"erp.public.stock": 7}),
             (counter_key("sales", "2026-11-24", partition_owner(0)), {"revenue": 1.0})]
    combined = combine(items)
    assert combined[("sales", "2026-11-25")] == {"revenue": 150.0, "by_hour": {"11": 150.0}}
    assert combined[("events_in", "2026-11-25")] == {"erp.public.stock": 7}
    assert bump(a, ("revenue",), 1.0)["revenue"] == 101.0 and a["revenue"] == 100.0  # a copy


def test_default_target_is_the_same_weekday_of_the_last_four_weeks() -> None:
    today = date(2026, 11, 25)
    history = {today - timedelta(weeks=1): 100.0, today - timedelta(weeks=2): 300.0,
               today - timedelta(days=1): 9999.0}
    assert default_sales_target(history, today) == 200.0
    assert default_sales_target({}, today) is None


def test_summary_of_a_business_day() -> None:
    hour = NOW.strftime("%Y-%m-%dT%H")
    old_hour = (NOW - timedelta(hours=30)).strftime("%Y-%m-%dT%H")
    counters = combine([
        ("sales|2026-11-25|p0", {"revenue": 12000.0, "margin": 3000.0, "lines": 5,
                                 "by_hour": {"11": 12000.0}, "by_branch": {"MTY": 12000.0}}),
        ("sales|2026-11-18|p1", {"revenue": 24000.0}),
        ("deliveries|2026-11-25|p2", {"delivered": 4, "on_time": 3, "late": 1}),
        ("alerts_open|-|p0", {"critico": 2, "alto": 1}),
        ("alerts_open|-|p1", {"critico": 1}),
        ("agent|2026-11-25|p3", {"conversations": 6, "sales_closed": 2}),
        ("messages|2026-11-25|p0", {"sent": {"whatsapp": 9}, "failed": {"whatsapp": 1}}),
        (f"errors|{hour}|p0", {"failed_messages": 1}),
        (f"errors|{old_hour}|p0", {"failed_commands": 5}),  # older than 24 h
    ])
    data = summarize(counters, NOW, sales_target=None, integrations=[
        Integration("broker", "Broker Kafka", True, 3.2)], consumer_lag={"erp.public.stock": 4},
        dead_letters_24h={"erp.public.stock.dlq": 2, "messages.outbound.dlq": 0},
        events_today={"erp.public.stock": 10, "analytics.sales_enriched": 5},
        jobs=[Job("end_of_day_inventory", "cierre", "59 23 * * *", NOW + timedelta(hours=12))],
        worker={"id": "vm:6066:1", "uptime_s": 60})
    sales = data["executive"]["sales"]
    assert sales["revenue"] == 12000.0 and sales["target"] == 24000.0
    assert sales["progress"] == 0.5 and sales["by_hour"][11] == 12000.0
    assert sales["by_branch"] == [{"branch": "MTY", "revenue": 12000.0}]
    assert data["executive"]["stock"]["critical"] == 3
    assert data["executive"]["deliveries"]["on_time_pct"] == 0.75
    assert data["executive"]["agent"] == {"conversations": 6, "sales_closed": 2}
    assert data["messages_today"] == {"sent": {"whatsapp": 9}, "failed": {"whatsapp": 1}}
    assert data["errors_24h"]["by_kind"] == {"failed_messages": 1}
    assert data["errors_24h"]["by_hour"][-1] == 1 and sum(data["errors_24h"]["by_hour"]) == 1
    assert data["errors_24h"]["dead_letters"] == {"erp.public.stock.dlq": 2}
    assert [e["topic"] for e in data["events_today"]] == [
        "erp.public.stock", "analytics.sales_enriched"]
    assert data["integrations"][0]["latency_ms"] == 3.2
    assert data["jobs"][0]["next_run"] == "2026-11-26T06:00:00+00:00"


def _delivery_change(op: str, before: str | None, after: str, delivered_at: str | None
                     ) -> Change:
    row = {"id": 5, "sales_order_id": 77, "vehicle_id": 2, "route_date": "2026-11-25",
           "sequence": 3, "eta_start": "2026-11-25T16:00:00Z", "eta_end": "2026-11-25T17:00:00Z",
           "status": after, "delivered_at": delivered_at, "updated_at": "2026-11-25T17:10:00Z"}
    return Change("deliveries", op, {**row, "status": before} if before else None, row, 42,
                  0, False)


def test_a_delivery_counts_once_when_it_is_delivered() -> None:
    late = _delivery_change("u", "en_ruta", "entregada", "2026-11-25T17:10:00Z")
    stop = delivery_stop(late)
    assert stop.on_time is False and stop.delay_minutes == 10.0 and stop.source_lsn == 42
    assert outcome(late, stop) == ("2026-11-25", {"delivered": 1, "late": 1})
    same = _delivery_change("u", "entregada", "entregada", "2026-11-25T17:10:00Z")
    assert outcome(same, delivery_stop(same)) is None  # e.g. a later correction of the row
    early = _delivery_change("u", "en_ruta", "entregada", "2026-11-25T16:30:00Z")
    assert outcome(early, delivery_stop(early)) == ("2026-11-25", {"delivered": 1, "on_time": 1})
    failed = _delivery_change("u", "en_ruta", "fallida", None)
    assert outcome(failed, delivery_stop(failed)) == ("2026-11-25", {"failed": 1})
    assigned = _delivery_change("u", "pendiente", "asignada", None)
    assert outcome(assigned, delivery_stop(assigned)) is None


def _alert(level: AlertLevel, resolved: bool = False) -> StockAlert:
    return StockAlert(
        event_id="a-1", alert_id="a-1", product_id=7, warehouse_id=1, level=level,
        resolved=resolved, reason="r", recommendation="c", available=1, on_order=0,
        in_transit=0, position=1, reorder_point=10, safety_stock=3, order_up_to=20,
        daily_demand=1.0, proposed_qty=19, supplier_id=1, lead_time_days=5,
        unit_cost=Decimal("1500"), total_cost=Decimal("28500"), base_unit_cost=Decimal("1500"),
        at=NOW)


def test_open_alerts_move_between_levels() -> None:
    assert open_level_changes(None, _alert(AlertLevel.ALTO)) == {"alto": 1}
    assert open_level_changes("alto", _alert(AlertLevel.CRITICO)) == {"alto": -1, "critico": 1}
    assert open_level_changes("critico", _alert(AlertLevel.CRITICO)) == {}
    assert open_level_changes("critico", _alert(AlertLevel.CRITICO, resolved=True)) == {
        "critico": -1}


def test_alerts_are_enriched_with_names_or_left_null() -> None:
    dims = {"product:7": {"sku": "MIC-205-16", "model": "Primacy 4", "tire_size": "205/55R16",
                          "brand_id": 1, "category_id": 1},
            "brand:1": {"name": "Michelin"}, "warehouse:1": {"code": "MTY", "name": "Centro",
                                                             "city": "Monterrey"}}
    enriched = enrich_alert(_alert(AlertLevel.CRITICO), dims.get)
    assert (enriched.brand_name, enriched.branch_city, enriched.category_name) == (
        "Michelin", "Monterrey", None)
    assert enrich_alert(_alert(AlertLevel.CRITICO), {}.get).sku is None


def test_dashboard_counter_sources_are_co_partitioned() -> None:
    catalogue = load_catalogue()
    sources = ["erp.public.sales_orders", "erp.public.sales_order_lines",
               "analytics.line_retries", "orders.sweeps", "alerts.stock", "erp.public.deliveries",
               "whatsapp.inbound", "messages.status", "erp.commands.results",
               "forecasts.insights"]
    assert len({catalogue[t].partitions for t in sources}) == 1


def test_only_the_newest_forecast_run_is_kept_and_ranked() -> None:
    def insight(kind: str, product: int, score: float, day: str) -> dict[str, object]:
        return {"kind": kind, "product_id": product, "warehouse_id": 1, "score": score,
                "detail": "d", "generated_at": f"{day}T08:00:00Z"}

    items = keep_latest([], insight("creciendo", 1, 2.0, "2026-11-24"))
    items = keep_latest(items, insight("declinando", 2, -5.0, "2026-11-24"))
    items = keep_latest(items, insight("creciendo", 1, 3.0, "2026-11-24"))  # replaced
    assert [(i["product_id"], i["score"]) for i in items] == [(2, -5.0), (1, 3.0)]
    newer = keep_latest(items, insight("anomalia", 3, 1.0, "2026-11-25"))
    assert [i["product_id"] for i in newer] == [3]
    assert keep_latest(newer, insight("creciendo", 9, 9.0, "2026-11-24")) == newer
    data = summarize({}, NOW, sales_target=None, integrations=[], consumer_lag={},
                     dead_letters_24h={}, events_today={}, jobs=[], worker={}, insights=items)
    forecast = data["executive"]["forecast"]
    assert forecast["available"] and forecast["counts"] == {"declinando": 1, "creciendo": 1}
    assert forecast["items"][0]["kind"] == "declinando"

"""Enriched topics for analysts: sales lines, end-of-day inventory, alerts and deliveries.

erp.public.{products,brands,categories,customers,warehouses} ─> route_dimensions ─┐
lines waiting for a dimension (from enrich_sales) ──────────────────────────────┴─>
  analytics.dimension_events (key kind:id) ─> maintain_dimensions:
      table analytics_dimension_versions (the owner's history) ─> GlobalTable analytics_dimensions
      table analytics_waiting (lines per missing dimension) ─> analytics.line_retries
erp.public.{sales_orders,sales_order_lines} (co-partitioned by order: topics.yaml `partition_by`)
  + analytics.line_retries ─> enrich_sales (table analytics_orders) ─> analytics.sales_enriched
  + orders.sweeps (daily: orders idle for ANALYTICS_RETENTION_DAYS and older counters leave)
inventory.position + analytics.inventory_snapshot_requests ─> daily_inventory
    (table analytics_positions) ─> analytics.inventory_daily   (23:59 Mexico City, on demand)
alerts.stock ─> enrich_alerts (table analytics_alert_levels) ─> analytics.alerts
erp.public.deliveries ─> track_deliveries ─> analytics.deliveries
whatsapp.inbound, messages.status, erp.commands.results ─> count_business (counters only)
forecasts.insights ─> collect_insights (the newest run's insights, for the dashboard)

Every agent also keeps the dashboard's counters (table `analytics_counters`, one record per
domain × period × source partition, see processors.analytics.counters), except the sales
counters, which are derived from `analytics_orders` in memory (`sales_view`,
processors.analytics.sales_view); streams.dashboard publishes them all to every worker.
The join rule is in schemas/analytics.py and docs/analytics.md.

The agents live in `sales.py` (the dimensions and the sales-line join) and `facts.py` (the other
topics and counters), their shared topics, tables and counters in `state.py`. Importing this
package registers them all on the app.
"""

from streams.analytics import facts, sales  # noqa: F401  (registers the agents)

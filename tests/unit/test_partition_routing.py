"""Sales order lines go to their order's partition: the CDC, Faust and the joins agree."""

from __future__ import annotations

import orjson
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import murmur2

from processors.change_events import Change
from schemas.topics import load_catalogue
from sources.cdc.envelope import EnvelopeBuilder, routed_partition


def _line(line_id: int, order_id: int) -> dict[str, object]:
    return {"id": line_id, "order_id": order_id, "product_id": 3, "qty": 2,
            "unit_price": "100.00", "unit_cost": "60.00"}


def test_a_line_goes_where_its_orders_key_goes() -> None:
    catalogue = load_catalogue()
    builder = EnvelopeBuilder(catalogue, db="erp")
    lines, orders = catalogue.cdc_topic("sales_order_lines"), catalogue.cdc_topic("sales_orders")
    assert lines.partitions == orders.partitions
    faust_partitioner = DefaultPartitioner()
    every = list(range(orders.partitions))
    seen = set()
    for order_id in range(1, 200):
        order_key = builder.key("sales_orders", {"id": order_id})
        # the CDC producer hashes the order's key with murmur2_random, Faust (aiokafka) too
        expected = murmur2(order_key, orders.partitions)
        assert faust_partitioner(order_key, every, every) == expected
        assert builder.partition("sales_order_lines", _line(10 * order_id, order_id)) == expected
        assert builder.partition("sales_orders", {"id": order_id}) is None  # its own key
        seen.add(expected)
    assert seen == set(every)


def test_the_join_key_of_a_header_and_its_lines_is_the_orders_cdc_key() -> None:
    header = Change("sales_orders", "c", None, {"id": 41}, 1, 0, False)
    line = Change("sales_order_lines", "d", _line(7, 41), None, 2, 0, False)
    assert header.order_key == line.order_key == orjson.dumps({"id": 41})
    spec = load_catalogue().cdc_topic("sales_order_lines")
    assert spec.partition_key(_line(7, 41)) == line.order_key


def test_tables_partitioned_by_their_own_key_are_left_to_the_partitioner() -> None:
    catalogue = load_catalogue()
    assert routed_partition(catalogue.cdc_topic("stock"), {"product_id": 1, "warehouse_id": 2}
                            ) is None
    assert {t for t, spec in catalogue.cdc_tables.items() if spec.partition_by} == {
        "sales_order_lines"}

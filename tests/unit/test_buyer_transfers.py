"""Transfers between branches: a surplus above the donor's own order-up-to level ships first."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from processors.inventory.buyer_orders import approve
from processors.inventory.consolidation import OrderTerms
from processors.inventory.transfers import (
    BranchStock,
    TransferConfig,
    branch_entry,
    offer_transfer,
    propose_transfer,
    transfer_text,
)
from schemas.alerts import AlertLevel, StockAlert
from schemas.commands import AddPurchaseOrderLine, CreateStockTransfer
from schemas.events import InventoryPosition

CONFIG = TransferConfig()
MTY = BranchStock(warehouse_id=1, available=0, position=0, order_up_to=12)
NAMES = {1: "Monterrey", 2: "Guadalajara", 3: "CDMX"}


def test_surplus_is_above_order_up_to_and_on_hand() -> None:
    assert BranchStock(2, available=30, position=30, order_up_to=20).surplus == 10
    assert BranchStock(2, available=4, position=30, order_up_to=20).surplus == 4  # rest on order
    assert BranchStock(2, available=30, position=18, order_up_to=20).surplus == 0


def test_the_branch_with_most_surplus_ships_and_the_rest_is_bought() -> None:
    gdl = BranchStock(2, available=30, position=30, order_up_to=20)  # surplus 10
    cdmx = BranchStock(3, available=50, position=44, order_up_to=40)  # surplus 4
    proposal = propose_transfer("a1", 7, MTY, 16, [MTY, gdl, cdmx], 12.0, CONFIG)
    assert proposal is not None
    assert (proposal.from_warehouse_id, proposal.to_warehouse_id, proposal.qty,
            proposal.purchase_qty) == (2, 1, 10, 6)
    assert proposal.idempotency_key == "tr:a1"
    # the donor keeps its own order-up-to level
    assert gdl.position - proposal.qty >= gdl.order_up_to
    text = transfer_text(proposal, NAMES, 12.0)
    assert text.startswith("Traspaso sugerido: 10 pzas de Guadalajara a Monterrey")
    assert "llega en 1 día, contra 12 del proveedor" in text
    assert "El resto (6 pzas) va en el pedido al proveedor." in text


def test_a_transfer_that_covers_everything_needs_no_purchase() -> None:
    gdl = BranchStock(2, available=40, position=40, order_up_to=20)
    proposal = propose_transfer("a1", 7, MTY, 8, [gdl], 12.0, CONFIG)
    assert proposal is not None and (proposal.qty, proposal.purchase_qty) == (8, 0)
    assert transfer_text(proposal, NAMES, 12.0).endswith("Con el traspaso no hace falta comprar.")


def test_ties_go_to_the_shorter_transit() -> None:
    config = TransferConfig(transit_days={(2, 1): 2.0, (3, 1): 0.5})
    gdl = BranchStock(2, available=25, position=25, order_up_to=20)
    cdmx = BranchStock(3, available=25, position=25, order_up_to=20)
    proposal = propose_transfer("a1", 7, MTY, 5, [gdl, cdmx], 12.0, config)
    assert proposal is not None and proposal.from_warehouse_id == 3
    assert proposal.transit_days == 0.5


@pytest.mark.parametrize(("branches", "wanted", "lead", "config"), [
    ([BranchStock(2, 20, 20, 20)], 5, 12.0, CONFIG),  # no surplus anywhere
    ([BranchStock(2, 30, 30, 20)], 0, 12.0, CONFIG),  # nothing wanted
    ([BranchStock(2, 30, 30, 20)], 5, 1.0, CONFIG),  # the supplier is as fast
    ([BranchStock(2, 22, 22, 20)], 5, 12.0, TransferConfig(min_units=4)),  # too few to ship
    ([MTY], 5, 12.0, CONFIG),  # the receiver itself is no donor
])
def test_no_transfer(branches: list[BranchStock], wanted: int, lead: float,
                     config: TransferConfig) -> None:
    assert propose_transfer("a1", 7, MTY, wanted, branches, lead, config) is None


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="positive"):
        TransferConfig(transit_days={(1, 2): 0.0})
    with pytest.raises(ValueError, match="min_units"):
        TransferConfig(min_units=0)


def _critical(warehouse_id: int = 1, proposed: int = 16) -> StockAlert:
    return StockAlert(
        event_id="stk-7-1-1-critico", alert_id="stk-7-1-1-critico", product_id=7,
        warehouse_id=warehouse_id, level=AlertLevel.CRITICO, reason="r", recommendation="x",
        available=0, on_order=0, in_transit=0, position=0, reorder_point=8, safety_stock=2,
        order_up_to=12, daily_demand=1.0, proposed_qty=proposed, supplier_id=3,
        lead_time_days=12.0, unit_cost=Decimal("100.00"), total_cost=Decimal("1600.00"),
        base_unit_cost=Decimal("100.00"), pack_multiple=4, min_order_qty=4,
        at=datetime(2026, 5, 4, 14, 0, tzinfo=UTC))


def test_a_branch_is_recorded_only_while_it_holds_surplus() -> None:
    def position(on_hand: int, on_order: int = 0) -> InventoryPosition:
        return InventoryPosition(product_id=7, warehouse_id=2, on_hand=on_hand,
                                 on_order=on_order)

    assert branch_entry(position(30), 20) == [30, 30, 20]
    assert branch_entry(position(4, on_order=26), 20) == [4, 30, 20]
    assert branch_entry(position(20), 20) is None
    assert branch_entry(position(0, on_order=40), 20) is None  # nothing on hand to ship


def test_a_critical_gets_the_transfer_option_and_others_do_not() -> None:
    alert = _critical()
    offered = offer_transfer(alert, {2: [30, 30, 20], 3: [50, 44, 40]}, NAMES, CONFIG)
    option = offered.transfer
    assert option is not None
    assert (option.from_warehouse_id, option.qty, option.purchase_qty, option.donor_surplus) == (
        2, 10, 6, 10)
    assert option.text.startswith("Traspaso sugerido: 10 pzas de Guadalajara a Monterrey")
    assert offer_transfer(alert, {}, NAMES, CONFIG) is alert
    assert offer_transfer(alert, {2: [30, 30, 20]}, NAMES,
                          TransferConfig(default_transit_days=12.0)) is alert  # not sooner
    overstock = alert.model_copy(update={"level": AlertLevel.SOBRESTOCK})
    assert offer_transfer(overstock, {2: [30, 30, 20]}, NAMES, CONFIG).transfer is None


def test_approving_a_transfer_asks_for_it_and_buys_the_rest_rounded() -> None:
    alert = offer_transfer(_critical(), {2: [30, 30, 20]}, NAMES, CONFIG)
    now = datetime(2026, 5, 4, 15, 0, tzinfo=UTC)
    done = approve(alert, title="Llanta X", terms=OrderTerms(3, "Proveedor"), draft=None,
                   now=now, branch_names=NAMES, requested_by="comprador:1")
    transfer, line = done.commands
    assert isinstance(transfer, CreateStockTransfer) and isinstance(line, AddPurchaseOrderLine)
    assert (transfer.idempotency_key, transfer.from_warehouse_id, transfer.to_warehouse_id,
            transfer.qty) == (f"tr:{alert.alert_id}", 2, 1, 10)
    assert line.line.qty == 8  # the 6 still missing, in packs of 4
    assert done.text.startswith("🔁 Traspaso solicitado: 10 pzas de Llanta X de Guadalajara a "
                                "Monterrey")
    everything = offer_transfer(_critical(proposed=8), {2: [30, 30, 20]}, NAMES, CONFIG)
    covered = approve(everything, title="Llanta X", terms=OrderTerms(3, "Proveedor"),
                      draft=None, now=now, branch_names=NAMES, requested_by="comprador:1")
    assert [type(c) for c in covered.commands] == [CreateStockTransfer]
    assert covered.draft is None and "no hace falta comprar" in covered.text

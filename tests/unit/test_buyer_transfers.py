"""Transfers between branches: a surplus above the donor's own order-up-to level ships first."""

from __future__ import annotations

import pytest

from processors.inventory.transfers import (
    BranchStock,
    TransferConfig,
    propose_transfer,
    transfer_text,
)

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

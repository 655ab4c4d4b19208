"""Inventory: positions, replenishment policy, stock alerts, buyer messages, simulation (pure)."""

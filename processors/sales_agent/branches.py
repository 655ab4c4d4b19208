"""The branch nearest to a point a customer shared, and whether home delivery reaches it."""

from __future__ import annotations

from decimal import Decimal
from math import asin, cos, radians, sin, sqrt

from processors.sales_agent.tool_results import NearestBranchResult
from schemas.erp import Warehouse

DELIVERY_RADIUS_KM = 35  # what a branch's trucks cover within a delivery window, out and back
EARTH_KM = 6371.0


def nearest_branch(latitude: float, longitude: float, branches: list[Warehouse]
                   ) -> NearestBranchResult | None:
    candidates = [w for w in branches if w.is_branch]
    if not candidates:
        return None
    distance, branch = min((_km(latitude, longitude, w.lat, w.lon), w) for w in candidates)
    return NearestBranchResult(
        warehouse_id=branch.id, branch=branch.name, city=branch.city,
        distance_km=Decimal(str(round(distance, 1))), delivers=distance <= DELIVERY_RADIUS_KM,
        delivery_radius_km=DELIVERY_RADIUS_KM)


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    dlat, dlon = radians(lat2 - lat1), radians(lon2 - lon1)
    a = sin(dlat / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(dlon / 2) ** 2
    return 2 * EARTH_KM * asin(sqrt(a))

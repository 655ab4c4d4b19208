"""Travel matrices and the offline providers that compute them.

A provider turns points, given as (lat, lon) pairs, into a `TravelMatrix` of distances and
durations. `inf` marks a pair with no road between them. The OSRM client lives in
`sources/osrm.py`; the matrix type they share is `schemas/travel_matrix.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from schemas.travel_matrix import FloatArray, TravelMatrix

EARTH_RADIUS_KM = 6371.0088


class MatrixProvider(Protocol):
    def matrix(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        """Distances and durations between all (lat, lon) `points`."""
        ...


@dataclass(frozen=True)
class EuclideanMatrixProvider:
    """Planar Euclidean distances (Solomon convention: travel time = distance / speed)."""

    speed: float = 1.0

    def matrix(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        xy = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        distances = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=-1))
        return TravelMatrix(distances, distances / self.speed)


@dataclass(frozen=True)
class HaversineMatrixProvider:
    """Great-circle kilometres times a road factor, at an average speed; durations in minutes.

    The default road factor (1.35) and speed (28 km/h) are typical of deliveries inside a large
    Mexican metro area; pass others for highway legs.
    """

    road_factor: float = 1.35
    speed_kmh: float = 28.0

    def matrix(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        distances = haversine_km(points) * self.road_factor
        return TravelMatrix(distances, distances / self.speed_kmh * 60.0)


def haversine_km(points: Sequence[tuple[float, float]]) -> FloatArray:
    """Great-circle distance matrix in kilometres between (lat, lon) points."""
    rad = np.radians(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    lat, lon = rad[:, 0], rad[:, 1]
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat)[:, None] * np.cos(lat)[None, :] * np.sin(dlon / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return result

"""Travel matrices from an OSRM server's `table` service (road network durations and distances).

    GET {base_url}/table/v1/{profile}/{lon,lat;lon,lat;...}
        ?annotations=duration,distance[&sources=i;j&destinations=k;l]

OSRM answers seconds and metres; the matrix is returned in minutes and kilometres by default.
A pair OSRM cannot route (`null`) becomes `inf`, which the planner treats as unreachable.
Servers cap the locations per request (`--max-table-size`, 100 by default), so larger sets are
fetched in blocks of sources x destinations.

This is the one part of the routing package that does I/O: build the matrix where I/O belongs
(off the event loop), then hand the finished `RoutingProblem` to the pure planner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx
import numpy as np

from schemas.travel_matrix import TravelMatrix


class OsrmError(RuntimeError):
    """OSRM answered with an error code or an unexpected body."""


class OsrmMatrixProvider:
    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        max_locations: int = 100,
        seconds_per_time_unit: float = 60.0,
        metres_per_distance_unit: float = 1000.0,
        timeout_s: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        if max_locations < 2:
            raise ValueError("max_locations must be at least 2")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.max_locations = max_locations
        self.seconds_per_time_unit = seconds_per_time_unit
        self.metres_per_distance_unit = metres_per_distance_unit
        self._client = client or httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        """Close the HTTP connections (a client passed in is closed too)."""
        self._client.close()

    def matrix(self, points: Sequence[tuple[float, float]]) -> TravelMatrix:
        n = len(points)
        durations = np.full((n, n), np.inf)
        distances = np.full((n, n), np.inf)
        if n <= self.max_locations:
            blocks = [list(range(n))]
            pairs = [(blocks[0], blocks[0])]
        else:
            size = self.max_locations // 2
            blocks = [list(range(i, min(n, i + size))) for i in range(0, n, size)]
            pairs = [(s, d) for s in blocks for d in blocks]
        for sources, destinations in pairs:
            seconds, metres = self._table(points, sources, destinations)
            durations[np.ix_(sources, destinations)] = seconds
            distances[np.ix_(sources, destinations)] = metres
        np.fill_diagonal(durations, 0.0)
        np.fill_diagonal(distances, 0.0)
        return TravelMatrix(
            distances / self.metres_per_distance_unit, durations / self.seconds_per_time_unit
        )

    def _table(
        self, points: Sequence[tuple[float, float]], sources: list[int], destinations: list[int]
    ) -> tuple[np.ndarray, np.ndarray]:
        nodes = sources if sources == destinations else sources + destinations
        coordinates = ";".join(f"{points[i][1]:.6f},{points[i][0]:.6f}" for i in nodes)
        params = {"annotations": "duration,distance"}
        if nodes is not sources:
            params["sources"] = ";".join(str(i) for i in range(len(sources)))
            params["destinations"] = ";".join(str(i) for i in range(len(sources), len(nodes)))
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}"
        response = self._client.get(url, params=params)
        try:
            body: dict[str, Any] = response.json()
        except ValueError as error:
            raise OsrmError(f"OSRM answered HTTP {response.status_code} without JSON") from error
        if response.status_code != 200 or body.get("code") != "Ok":
            raise OsrmError(f"OSRM {body.get('code')}: {body.get('message', response.text)}")
        shape = (len(sources), len(destinations))
        return _matrix(body, "durations", shape), _matrix(body, "distances", shape)


def _matrix(body: dict[str, Any], key: str, shape: tuple[int, int]) -> np.ndarray:
    rows = body.get(key)
    if not isinstance(rows, list) or len(rows) != shape[0]:
        raise OsrmError(f"OSRM response has no {shape[0]}-row '{key}' table")
    table = np.array([[np.inf if value is None else float(value) for value in row] for row in rows])
    if table.shape != shape:
        raise OsrmError(f"OSRM '{key}' table is {table.shape}, expected {shape}")
    return table

"""The travel matrix: what a matrix provider (the haversine one in processors/routing/matrix.py,
the OSRM client in sources/osrm.py) hands the route planner."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Square, read-only distance and duration matrices over the same nodes."""

    distances: FloatArray
    durations: FloatArray

    def __post_init__(self) -> None:
        distances = np.array(self.distances, dtype=np.float64)
        durations = np.array(self.durations, dtype=np.float64)
        if distances.ndim != 2 or distances.shape[0] != distances.shape[1]:
            raise ValueError(f"distance matrix must be square, got {distances.shape}")
        if durations.shape != distances.shape:
            raise ValueError("distance and duration matrices differ in shape")
        if (distances < 0).any() or (durations < 0).any() or np.isnan(distances).any():
            raise ValueError("travel matrix has negative or NaN entries")
        distances.flags.writeable = False
        durations.flags.writeable = False
        object.__setattr__(self, "distances", distances)
        object.__setattr__(self, "durations", durations)

    @property
    def size(self) -> int:
        return int(self.distances.shape[0])

    def subset(self, nodes: Sequence[int]) -> TravelMatrix:
        """The matrix restricted to `nodes`, renumbered in that order."""
        index = np.asarray(nodes, dtype=np.intp)
        return TravelMatrix(
            self.distances[np.ix_(index, index)], self.durations[np.ix_(index, index)]
        )

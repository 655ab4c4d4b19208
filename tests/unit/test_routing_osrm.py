"""The OSRM table client against a loopback HTTP double that answers like OSRM."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import numpy as np
import pytest

from processors.routing.matrix import haversine_km
from sources.osrm import OsrmError, OsrmMatrixProvider

UNROUTABLE = (19.5, -99.5)  # the double has no road to this point


class OsrmDouble(BaseHTTPRequestHandler):
    """GET /table/v1/driving/{lon,lat;...}: metres are great-circle, driving is 10 m/s."""

    requests: list[dict[str, object]] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        url = urlsplit(self.path)
        prefix = "/table/v1/driving/"
        query = parse_qs(url.query)
        path = unquote(url.path)
        points = [tuple(map(float, c.split(","))) for c in path[len(prefix) :].split(";")]
        latlon = [(lat, lon) for lon, lat in points]
        type(self).requests.append({"path": path, "query": query, "count": len(points)})
        if not path.startswith(prefix) or query.get("annotations") != ["duration,distance"]:
            return self._answer(400, {"code": "InvalidUrl", "message": "bad request"})
        if len(points) > 4:
            return self._answer(400, {"code": "TooBig", "message": "Too many table coordinates"})
        sources = _indices(query, "sources", len(points))
        destinations = _indices(query, "destinations", len(points))
        metres = haversine_km(latlon) * 1000

        def cell(i: int, j: int, scale: float) -> float | None:
            if i != j and UNROUTABLE in (latlon[i], latlon[j]):
                return None
            return round(float(metres[i, j]) * scale, 1)

        self._answer(
            200,
            {
                "code": "Ok",
                "durations": [[cell(i, j, 0.1) for j in destinations] for i in sources],
                "distances": [[cell(i, j, 1.0) for j in destinations] for i in sources],
            },
        )

    def _answer(self, status: int, body: dict[str, object]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return


def _indices(query: dict[str, list[str]], key: str, count: int) -> list[int]:
    return [int(i) for i in query[key][0].split(";")] if key in query else list(range(count))


@pytest.fixture()
def osrm_url() -> Iterator[str]:
    OsrmDouble.requests = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), OsrmDouble)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


POINTS = [
    (25.6866, -100.3161),
    (25.70, -100.30),
    (25.65, -100.29),
    (25.72, -100.35),
    (25.60, -100.40),
    (25.75, -100.20),
    (25.68, -100.25),
]


def test_small_sets_are_one_table_request(osrm_url: str) -> None:
    provider = OsrmMatrixProvider(osrm_url, max_locations=4)
    matrix = provider.matrix(POINTS[:3])
    provider.close()
    assert len(OsrmDouble.requests) == 1
    expected_km = haversine_km(POINTS[:3])
    assert matrix.distances == pytest.approx(expected_km, abs=1e-3)
    assert matrix.durations == pytest.approx(expected_km * 1000 * 0.1 / 60, abs=1e-3)  # minutes


def test_large_sets_are_fetched_in_blocks_and_stitched(osrm_url: str) -> None:
    provider = OsrmMatrixProvider(osrm_url, max_locations=4)
    matrix = provider.matrix(POINTS)
    provider.close()
    assert all(int(r["count"]) <= 4 for r in OsrmDouble.requests)
    assert len(OsrmDouble.requests) == 16  # blocks of 2 sources x 2 destinations, 4 x 4
    assert matrix.distances == pytest.approx(haversine_km(POINTS), abs=1e-3)


def test_unroutable_pairs_become_infinite(osrm_url: str) -> None:
    provider = OsrmMatrixProvider(osrm_url)
    matrix = provider.matrix([POINTS[0], UNROUTABLE, POINTS[1]])
    provider.close()
    assert np.isinf(matrix.durations[0, 1]) and np.isinf(matrix.distances[1, 2])
    assert np.isfinite(matrix.durations[0, 2]) and matrix.durations[1, 1] == 0.0


def test_osrm_errors_are_raised(osrm_url: str) -> None:
    provider = OsrmMatrixProvider(osrm_url, max_locations=10)
    with pytest.raises(OsrmError, match="TooBig"):
        provider.matrix(POINTS[:5])
    provider.close()

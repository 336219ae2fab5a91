"""Distances on the Earth for the route and stop rules: small and exact enough for
corridors of kilometres (a spherical Earth, errors well under 0.5 %)."""

import itertools
import math

EARTH_RADIUS_KM = 6371.0088

Point = tuple[float, float]  # (latitude, longitude) in degrees


def distance_km(a: Point, b: Point) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


KM_PER_DEGREE_OF_LATITUDE = math.pi * EARTH_RADIUS_KM / 180


def within_km(a: Point, b: Point, km: float) -> bool:
    """Whether b is within km of a. Two points are at least their difference in
    latitude apart: most pairs a track compares are told apart by that subtraction,
    without the haversine."""
    if abs(a[0] - b[0]) * KM_PER_DEGREE_OF_LATITUDE > km:
        return False
    return distance_km(a, b) <= km


def _segment_distance_km(p: Point, a: Point, b: Point) -> float:
    # Plane projection centred on p (equirectangular): over a segment of a few
    # hundred kilometres the error is far below any corridor's width.
    scale = math.cos(math.radians(p[0]))

    def xy(q: Point) -> tuple[float, float]:
        return (
            math.radians(q[1] - p[1]) * scale * EARTH_RADIUS_KM,
            math.radians(q[0] - p[0]) * EARTH_RADIUS_KM,
        )

    (ax, ay), (bx, by) = xy(a), xy(b)
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def distance_to_route_km(p: Point, route: list[Point]) -> float:
    """How far the point is from the polyline through `route` (at least one point)."""
    if len(route) == 1:
        return distance_km(p, route[0])
    return min(_segment_distance_km(p, a, b) for a, b in itertools.pairwise(route))

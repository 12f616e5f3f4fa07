"""Ray intersections with CLEVR's three solids, vectorised over rays.

Every solid stands on the ground plane z = 0. A solid is described by :class:`Solid`; ``hit`` returns
the ray parameter of the first intersection in front of each ray origin (``inf`` for a miss) and
``normal`` the outward unit normal at surface points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from relnet.tasks.clevr.vocab import SIZE_SCALE

EPSILON = 1e-4
CUBE_ROUNDING = 14  # exponent of the superellipsoid-like normal that softens the cubes' edges


@dataclass
class Solid:
    """One object: ``shape`` at ground position (x, y) with scale ``r`` and rotation ``angle`` (radians)."""

    shape: str
    x: float
    y: float
    r: float
    angle: float
    half: float = field(init=False)  # a sphere's radius, a cylinder's half-height, a cube's half-side
    centre: np.ndarray = field(init=False)
    bound: float = field(init=False)  # radius of a sphere around the centre holding the whole solid

    def __post_init__(self) -> None:
        self.half = self.r / math.sqrt(2) if self.shape == "cube" else self.r
        self.centre = np.array([self.x, self.y, self.half])
        self.bound = {"sphere": self.r, "cylinder": self.r * math.sqrt(2)}.get(self.shape, self.half * math.sqrt(3))

    @classmethod
    def from_record(cls, obj: dict) -> Solid:
        x, y = obj["3d_coords"][0], obj["3d_coords"][1]
        return cls(obj["shape"], float(x), float(y), SIZE_SCALE[obj["size"]], math.radians(float(obj["rotation"])))

    def candidates_from(self, origin: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Rays from one ``origin`` that pass within :attr:`bound` of the centre (a superset of the hits)."""
        offset = self.centre - origin
        along = directions @ offset
        return (offset @ offset - along * along < self.bound**2) & (along > -self.bound)

    def candidates_towards(
        self, points: np.ndarray, direction: np.ndarray, along_points: np.ndarray, squared_points: np.ndarray
    ) -> np.ndarray:
        """Rays from many ``points`` along one ``direction`` that pass within :attr:`bound` of the centre;
        ``along_points`` is ``points @ direction`` and ``squared_points`` the points' squared norms."""
        along = self.centre @ direction - along_points
        distance2 = self.centre @ self.centre - 2 * (points @ self.centre) + squared_points
        return (distance2 - along * along < self.bound**2) & (along > -self.bound)

    def hit(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """Ray parameter of the first hit, ``(n,)``; ``origins`` and ``directions`` are ``(n, 3)``."""
        if self.shape == "sphere":
            return _hit_sphere(origins - self.centre, directions, self.r)
        if self.shape == "cylinder":
            return _hit_cylinder(origins - [self.x, self.y, 0.0], directions, self.r)
        local_o, local_d = self._to_local(origins - self.centre, directions)
        return _hit_box(local_o, local_d, self.half)

    def normal(self, points: np.ndarray) -> np.ndarray:
        """Outward unit normals at surface ``points`` ``(n, 3)``."""
        if self.shape == "sphere":
            normals = (points - self.centre) / self.r
        elif self.shape == "cylinder":
            normals = np.zeros_like(points)
            normals[:, :2] = (points[:, :2] - [self.x, self.y]) / self.r
            top = points[:, 2] > 2 * self.r - 1e-3
            normals[top] = [0.0, 0.0, 1.0]
        else:
            local, _ = self._to_local(points - self.centre, np.zeros_like(points))
            local = np.sign(local) * np.abs(local / self.half) ** CUBE_ROUNDING
            cos, sin = math.cos(self.angle), math.sin(self.angle)
            normals = np.stack(
                [cos * local[:, 0] - sin * local[:, 1], sin * local[:, 0] + cos * local[:, 1], local[:, 2]], axis=1
            )
        return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-9)

    def _to_local(self, offsets: np.ndarray, directions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cos, sin = math.cos(-self.angle), math.sin(-self.angle)
        rotation = np.array([[cos, -sin, 0.0], [sin, cos, 0.0], [0.0, 0.0, 1.0]])
        return offsets @ rotation.T, directions @ rotation.T


def _hit_sphere(offsets: np.ndarray, directions: np.ndarray, radius: float) -> np.ndarray:
    b = np.einsum("ij,ij->i", offsets, directions)
    c = np.einsum("ij,ij->i", offsets, offsets) - radius**2
    disc = b * b - c
    with np.errstate(invalid="ignore"):
        t = -b - np.sqrt(disc)
    return np.where((disc > 0) & (t > EPSILON), t, np.inf)


def _hit_cylinder(offsets: np.ndarray, directions: np.ndarray, radius: float) -> np.ndarray:
    ox, oy, oz = offsets[:, 0], offsets[:, 1], offsets[:, 2]
    dx, dy, dz = directions[:, 0], directions[:, 1], directions[:, 2]
    a = np.maximum(dx * dx + dy * dy, 1e-12)
    b = ox * dx + oy * dy
    c = ox * ox + oy * oy - radius**2
    disc = b * b - a * c
    with np.errstate(invalid="ignore", divide="ignore"):
        side = (-b - np.sqrt(disc)) / a
        z = oz + side * dz
        side = np.where((disc > 0) & (side > EPSILON) & (z >= 0) & (z <= 2 * radius), side, np.inf)
        top = (2 * radius - oz) / dz
        tx, ty = ox + top * dx, oy + top * dy
        top = np.where((top > EPSILON) & (tx * tx + ty * ty <= radius**2), top, np.inf)
    return np.minimum(side, top)


def _hit_box(offsets: np.ndarray, directions: np.ndarray, half: float) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        inverse = 1.0 / directions
        t1 = (-half - offsets) * inverse
        t2 = (half - offsets) * inverse
    near = np.nanmax(np.minimum(t1, t2), axis=1)
    far = np.nanmin(np.maximum(t1, t2), axis=1)
    return np.where((far >= near) & (near > EPSILON), near, np.inf)

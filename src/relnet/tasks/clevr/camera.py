"""The CLEVR v1.0 camera: the projection fitted to real scenes, its rays and its ground-plane directions.

Scene units: the ground is the plane z = 0, objects stand on it, x and y lie in [-3, 3]. Pixel
coordinates are those of the released 480×320 images; an image of another size shows the same view
stretched to that size (as resizing a real image does).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

BASE_WIDTH, BASE_HEIGHT = 480, 320

#: (u, v, w) = P · (x, y, z, 1); pixel = (u / w, v / w) in the 480×320 image: the projection fitted to real
#: CLEVR scenes (reference/clevr-camera.md). Its 3.6 px fit leaves it slightly skewed, with the principal
#: point far below the image centre, which would draw spheres near the edges as tilted ellipses.
REFERENCE_PROJECTION = np.array(
    [
        [16.00578, 46.68151, -20.04575, 240.53207],
        [7.00455, -6.02971, -53.45572, 160.26696],
        [-0.0582, 0.05093, -0.08003, 1.0],
    ]
)

#: relnet's camera: the true pinhole (square pixels, principal point at the image centre) nearest to
#: the reference, fitted to its projections of 4,000 points of the scene volume (median 1.3 px apart,
#: at most 7 px). Its horizontal field of view, 49.7°, is Blender's default camera's.
CENTRE = np.array([7.33802, -6.37930, 5.21791])
ROTATION = np.array(  # rows: the camera's right, down and forward axes in scene coordinates
    [
        [0.656416, 0.754399, -0.000175],
        [0.357088, -0.310913, -0.880807],
        [-0.664534, 0.578114, -0.473476],
    ]
)
FOCAL = 518.587  # pixels of the 480×320 image
_INTRINSICS = np.array([[FOCAL, 0.0, BASE_WIDTH / 2], [0.0, FOCAL, BASE_HEIGHT / 2], [0.0, 0.0, 1.0]])
PROJECTION = _INTRINSICS @ np.concatenate([ROTATION, -(ROTATION @ CENTRE)[:, None]], axis=1)
_M_INV = np.linalg.inv(PROJECTION[:, :3])


def project(points: np.ndarray) -> np.ndarray:
    """``(n, 3)`` scene points -> ``(n, 3)``: pixel u, v in the 480×320 image, and distance from the camera."""
    points = np.atleast_2d(np.asarray(points, dtype=np.float64))
    homogeneous = np.concatenate([points, np.ones((len(points), 1))], axis=1) @ PROJECTION.T
    uv = homogeneous[:, :2] / homogeneous[:, 2:3]
    depth = np.linalg.norm(points - CENTRE, axis=1)
    return np.concatenate([uv, depth[:, None]], axis=1)


@lru_cache(maxsize=8)
def ray_directions(width: int, height: int) -> np.ndarray:
    """Unit view rays through the pixel centres of a ``width × height`` image, ``(height, width, 3)``."""
    u = (np.arange(width) + 0.5) * (BASE_WIDTH / width)
    v = (np.arange(height) + 0.5) * (BASE_HEIGHT / height)
    uu, vv = np.meshgrid(u, v)
    pixels = np.stack([uu, vv, np.ones_like(uu)], axis=-1)
    directions = pixels @ _M_INV.T
    directions /= np.linalg.norm(directions, axis=-1, keepdims=True)
    directions.setflags(write=False)
    return directions


def ground_directions() -> dict[str, list[float]]:
    """The scene's ``directions``: unit vectors of behind/front/left/right on the ground, and above/below."""
    forward = _M_INV @ np.array([BASE_WIDTH / 2, BASE_HEIGHT / 2, 1.0])
    behind = np.array([forward[0], forward[1], 0.0])
    behind /= np.linalg.norm(behind)
    right = np.array([-behind[1], behind[0], 0.0])
    right *= np.sign(right @ (_M_INV @ np.array([1.0, 0.0, 0.0])))  # u grows to the right
    vectors = {
        "behind": behind,
        "front": -behind,
        "right": right,
        "left": -right,
        "above": np.array([0.0, 0.0, 1.0]),
        "below": np.array([0.0, 0.0, -1.0]),
    }
    return {name: [round(float(c), 4) + 0.0 for c in vector] for name, vector in vectors.items()}

"""A fast numpy ray caster that draws CLEVR scenes: shaded solids, shiny metal, matte rubber, soft shadows.

One primary ray per sub-pixel through the CLEVR camera (:mod:`camera`), intersected with every object
(after a cheap bounding-sphere test) and the ground; shading in linear light with a key light (casting
shadows, softened by a normalised blur), a fill light, sky/ground ambient with contact occlusion, Phong
highlights, and an environment reflection for metal. ``supersample`` × ``supersample`` rays per pixel
are averaged. No per-pixel Python: the loops run over objects only.
"""

from __future__ import annotations

import numpy as np

from relnet.tasks.clevr.camera import BASE_HEIGHT, BASE_WIDTH, CENTRE, ground_directions, project, ray_directions
from relnet.tasks.clevr.geometry import Solid
from relnet.tasks.clevr.vocab import COLOR_RGB

_DIRECTIONS = {name: np.array(vector) for name, vector in ground_directions().items()}


def _unit(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector)


#: Towards the key light: above, from the camera's left and a little in front, so shadows fall right.
KEY_LIGHT = _unit(0.55 * _DIRECTIONS["left"] + 0.25 * _DIRECTIONS["front"] + 0.8 * _DIRECTIONS["above"])
FILL_LIGHT = _unit(0.6 * _DIRECTIONS["right"] + 0.4 * _DIRECTIONS["front"] + 0.7 * _DIRECTIONS["above"])
_KEY_AZIMUTH = _unit(KEY_LIGHT[:2])
GROUND_ALBEDO = 0.42
KEY, FILL, SKY = 0.75, 0.22, 0.38  # light intensities
SHADOW_DARKNESS = 0.72
SHADOW_BLUR = 0.012  # box-blur half-width of the shadow mask, as a fraction of the image width

_LINEAR_RGB = {name: (np.array(rgb) / 255.0) ** 2.2 for name, rgb in COLOR_RGB.items()}


def _screen_box(solid: Solid, width: int, height: int) -> tuple[slice, slice]:
    """Rows and columns of a ``width × height`` image that can show ``solid`` (its bounding cube's outline)."""
    corners = solid.centre + solid.bound * np.array([[a, b, c] for a in (-1, 1) for b in (-1, 1) for c in (-1, 1)])
    uv = project(corners)[:, :2] * [width / BASE_WIDTH, height / BASE_HEIGHT]
    left, top = np.floor(uv.min(axis=0)).astype(int) - 1
    right, bottom = np.ceil(uv.max(axis=0)).astype(int) + 1
    return slice(max(0, top), max(0, min(height, bottom))), slice(max(0, left), max(0, min(width, right)))


def _first_hits(solids: list[Solid], rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest object hit per camera ray of a ``(H, W, 3)`` grid: flat ``(t, object index or -1)``."""
    height, width = rays.shape[:2]
    best = np.full(height * width, np.inf)
    owner = np.full(height * width, -1, dtype=np.int64)
    flat = np.arange(height * width).reshape(height, width)
    for index, solid in enumerate(solids):
        rows_slice, cols_slice = _screen_box(solid, width, height)
        box = rays[rows_slice, cols_slice].reshape(-1, 3)
        if box.size == 0:
            continue
        keep = solid.candidates_from(CENTRE, box)
        rows = flat[rows_slice, cols_slice].reshape(-1)[keep]
        t = solid.hit(np.broadcast_to(CENTRE, (rows.size, 3)), box[keep])
        closer = t < best[rows]
        best[rows[closer]] = t[closer]
        owner[rows[closer]] = index
    return best, owner


def _blocked(solids: list[Solid], points: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Whether each point's path to the key light crosses another object."""
    blocked = np.zeros(len(points), dtype=bool)
    along, squared = points @ KEY_LIGHT, np.einsum("ij,ij->i", points, points)
    for index, solid in enumerate(solids):
        rows = np.flatnonzero(solid.candidates_towards(points, KEY_LIGHT, along, squared) & (owner != index) & ~blocked)
        if rows.size:
            blocked[rows] |= np.isfinite(solid.hit(points[rows], np.broadcast_to(KEY_LIGHT, (rows.size, 3))))
    return blocked


def _box_blur(image: np.ndarray, radius: int) -> np.ndarray:
    """Separable box blur of a 2-D array (edges clamped)."""
    if radius < 1:
        return image
    for axis in (0, 1):
        padded = np.pad(image, [(radius + 1, radius) if a == axis else (0, 0) for a in (0, 1)], mode="edge")
        summed = np.cumsum(padded, axis=axis)
        upper = np.take(summed, np.arange(2 * radius + 1, summed.shape[axis]), axis=axis)
        lower = np.take(summed, np.arange(0, summed.shape[axis] - 2 * radius - 1), axis=axis)
        image = (upper - lower) / (2 * radius + 1)
    return image


def _environment(directions: np.ndarray) -> np.ndarray:
    """Brightness seen along reflected rays: a studio sky with the two lights' soft reflections above the
    horizon, the grey floor below."""
    z = directions[:, 2]
    sky = 0.3 + 0.3 * np.sqrt(np.clip(z, 0.0, 1.0))
    sky = (
        sky
        + 2.2 * _power(np.clip(directions @ KEY_LIGHT, 0, 1), 24)
        + 0.7 * _power(np.clip(directions @ FILL_LIGHT, 0, 1), 24)
    )
    blend = np.clip((z + 0.05) / 0.15, 0.0, 1.0)
    # A tall softbox at the key light's azimuth: vertical streaks on metal cylinders and cube faces.
    flat = directions[:, :2] / np.maximum(np.linalg.norm(directions[:, :2], axis=1, keepdims=True), 1e-9)
    azimuth = _power(np.clip(flat @ _KEY_AZIMUTH, 0, 1), 40)
    softbox = 0.9 * azimuth * np.exp(-((z + 0.15) ** 2) / 0.12)
    return blend * sky + (1 - blend) * 0.12 + softbox


def _occlusion(solids: list[Solid], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Ambient visibility of ground points (x, y, 0): 1 minus each object's form factor as a bounding sphere."""
    visibility = np.ones(len(x))
    for solid in solids:
        radius = solid.half * (1.15 if solid.shape != "sphere" else 1.0)
        height = solid.centre[2]
        distance2 = np.maximum((x - solid.x) ** 2 + (y - solid.y) ** 2 + height**2, radius**2)
        visibility -= (0.9 * radius**2 * height) / (distance2 * np.sqrt(distance2))
    return np.clip(visibility, 0.0, 1.0)


def _power(x: np.ndarray, exponent: int) -> np.ndarray:
    """``x ** exponent`` for a positive integer exponent, by repeated squaring (much faster than pow)."""
    result, square = None, x
    while exponent:
        if exponent & 1:
            result = square if result is None else result * square
        exponent >>= 1
        if exponent:
            square = square * square
    return result


def _shade_objects(
    solids: list[Solid], objects: list[dict], points: np.ndarray, rays: np.ndarray, owner: np.ndarray, lit: np.ndarray
) -> np.ndarray:
    colour = np.zeros((len(points), 3))
    for index, (solid, obj) in enumerate(zip(solids, objects, strict=True)):
        rows = np.flatnonzero(owner == index)
        if rows.size == 0:
            continue
        normal = solid.normal(points[rows])
        view = -rays[rows]
        key = np.clip(normal @ KEY_LIGHT, 0.0, None) * lit[rows]
        fill = np.clip(normal @ FILL_LIGHT, 0.0, None)
        ambient = 0.5 + 0.5 * normal[:, 2]
        halfway = KEY_LIGHT + view
        halfway /= np.linalg.norm(halfway, axis=1, keepdims=True)
        facing = np.clip(np.einsum("ij,ij->i", normal, halfway), 0.0, 1.0)
        base = _LINEAR_RGB[obj["color"]]
        if obj["material"] == "metal":
            reflected = rays[rows] - 2 * np.einsum("ij,ij->i", rays[rows], normal)[:, None] * normal
            env = _environment(reflected)
            fresnel = 0.55 + 0.45 * _power(1 - np.clip(np.einsum("ij,ij->i", normal, view), 0, 1), 3)
            body = base * (0.04 + 0.18 * key + 1.0 * env * fresnel)[:, None]
            facing24 = _power(facing, 24)
            sheen = ((_power(facing24, 5) * 2.5 + facing24 * 0.35) * lit[rows])[:, None]
            colour[rows] = body + sheen * (0.55 * base + 0.45)
        else:
            body = base * (KEY * 1.05 * key + FILL * fill + SKY * 0.55 * ambient)[:, None]
            colour[rows] = body + (_power(facing, 6) * 0.06 * lit[rows])[:, None]
    return colour


def _ground_light(solids: list[Solid], width: int, height: int) -> np.ndarray:
    """Light reaching the floor seen through each pixel centre, ``(height, width)``: the key light with soft
    shadows (a blurred shadow mask), the sky with contact occlusion, fading away from the middle."""
    rays = ray_directions(width, height).reshape(-1, 3)
    points = CENTRE + rays * (-CENTRE[2] / np.minimum(rays[:, 2], -1e-6))[:, None]
    points[:, 2] = 1e-3
    lit = ~_blocked(solids, points, np.full(len(points), -1))
    soft = _box_blur(lit.reshape(height, width).astype(np.float64), max(1, round(SHADOW_BLUR * width))).reshape(-1)
    distance = np.hypot(points[:, 0], points[:, 1])
    falloff = 1.0 - 0.35 * np.clip((distance - 3.0) / 9.0, 0.0, 1.0)
    light = KEY * KEY_LIGHT[2] * (1 - SHADOW_DARKNESS * (1 - soft)) + SKY * _occlusion(
        solids, points[:, 0], points[:, 1]
    )
    return (GROUND_ALBEDO * light * falloff).reshape(height, width)


def render(scene: dict, width: int = 480, height: int = 320, *, supersample: int = 2) -> np.ndarray:
    """The scene's image as ``(height, width, 3)`` uint8, in the 480×320 view stretched to this size."""
    ss = max(1, int(supersample))
    grid = ray_directions(width * ss, height * ss)
    rays = grid.reshape(-1, 3)
    objects = scene["objects"]
    solids = [Solid.from_record(obj) for obj in objects]
    t, owner = _first_hits(solids, grid)
    floor = np.repeat(np.repeat(_ground_light(solids, width, height), ss, axis=0), ss, axis=1).reshape(-1)
    colour = np.repeat(floor[:, None], 3, axis=1)

    rows = np.flatnonzero(owner >= 0)
    points = CENTRE + rays[rows] * t[rows, None]
    lit = (~_blocked(solids, points, owner[rows])).astype(np.float64)
    colour[rows] = _shade_objects(solids, objects, points, rays[rows], owner[rows], lit)

    blocks = np.clip(colour, 0.0, 1.0).reshape(height, ss, width, ss, 3)
    linear = sum(blocks[:, i, :, j] for i in range(ss) for j in range(ss)) / (ss * ss)
    image = linear ** (1 / 2.2)  # average sub-pixels in linear light, then encode
    return np.round(image * 255).astype(np.uint8)


def object_pixels(scene: dict, width: int = 240, height: int = 160) -> np.ndarray:
    """How many pixels of a ``width × height`` render show each object (for the visibility rule)."""
    solids = [Solid.from_record(obj) for obj in scene["objects"]]
    _, owner = _first_hits(solids, ray_directions(width, height))
    return np.bincount(owner[owner >= 0], minlength=len(solids))

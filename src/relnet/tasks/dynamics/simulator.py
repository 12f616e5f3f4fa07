"""A seeded mass-spring simulator (RN paper §5.5): 10 balls in a box, some pairs joined by springs or rods.

Everything is vectorised over scenes with numpy and runs in float64; the same seed gives the same
numbers on any machine with IEEE arithmetic.

**Scenes.** A scene has ``s`` *systems*, ``s`` uniform in ``0..max_systems``: disjoint groups of 2 to
``max_system_size`` balls, each joined into a random tree (every new member joined to an earlier one).
Each joint is a *spring* (Hooke's law about a rest length) or, with probability ``rod_fraction``, a
*rod* (a rigid, massless link of fixed length). Balls in no system move freely. Ball ``k`` always has
colour ``k`` of :data:`PALETTE`, so the colour names the ball and the rows of the connection matrix.

**Physics.** Unit masses in the box ``[0, 1]²``, balls of radius :data:`RADIUS`. Per substep of length
``dt`` (semi-implicit, i.e. symplectic, Euler)::

    v += dt * (spring forces + contact forces - damping * v)
    x_old = x;  x += dt * v
    x = project(x, x_old)           # rods back to their lengths (SHAKE, ``rod_iterations`` sweeps)
    v = (x - x_old) / dt            # the velocity the projection implies

Rods are *constraints*, not stiff springs: as in SHAKE, each sweep moves the two ends of every rod by
equal and opposite amounts along the rod's direction before the step until its length is restored,
which conserves momentum and energy and keeps lengths to well under 1% (a test checks it) without the
tiny time step a stiff spring would need. Contacts between balls and with the walls are stiff penalty
springs (elastic collisions, conservative; a ball reaches at most a few thousandths into another or a
wall). Walls that mirrored a ball's velocity instead would lose energy whenever one end of a rod hit
them (the projection then cancels the rod's sudden stretching). Without damping the energy (kinetic,
springs', contacts') stays within 1% of its start over a scene without ball collisions and within 3%
with them (tests check 1% and 5%).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

BALLS = 10
FRAMES = 16
RADIUS = 0.05
#: Kinds of connection, as stored in :attr:`Scenes.kinds` (0: none).
SPRING, ROD = 1, 2
KIND_NAMES = {SPRING: "spring", ROD: "rod"}
#: Colour k of ball k: a name (the file's ``colours``) and the RGB it is drawn with.
PALETTE: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("red", (230, 25, 75)),
    ("green", (60, 180, 75)),
    ("yellow", (255, 225, 25)),
    ("blue", (0, 130, 200)),
    ("orange", (245, 130, 48)),
    ("purple", (145, 30, 180)),
    ("cyan", (70, 240, 240)),
    ("magenta", (240, 50, 230)),
    ("white", (250, 250, 250)),
    ("brown", (170, 110, 40)),
)


@dataclass(frozen=True)
class Physics:
    """The simulation's constants (written into every split's JSON).

    ``spring_stiffness`` (per unit mass) gives an oscillation period of ``2π / sqrt(2k)`` ≈ 1.15 time
    units for k = 15, about one and a half periods over the 16 frames ``frame_interval`` apart.
    """

    spring_stiffness: float = 15.0
    rest_length: tuple[float, float] = (0.15, 0.3)  # uniform, for springs and for placing rods' ends
    initial_stretch: tuple[float, float] = (0.6, 1.4)  # a spring starts at rest length times this
    speed: float = 0.3  # standard deviation of each initial velocity component
    frame_interval: float = 0.1
    substeps: int = 50  # per frame interval: dt = 0.002
    contact_stiffness: float = 2000.0
    rod_iterations: int = 2  # SHAKE sweeps per substep: rods stay within 1e-4 of their lengths
    damping: float = 0.0
    walls: bool = True
    collisions: bool = True

    @property
    def dt(self) -> float:
        return self.frame_interval / self.substeps


@dataclass(frozen=True)
class Scenes:
    """Connections of ``N`` scenes, padded to ``E`` = ``BALLS - 1`` joints (a forest has at most that many).

    ``edges`` ``(N, E, 2)`` int64 ball pairs (``(0, 0)`` in unused slots); ``kinds`` ``(N, E)`` int8
    (0 unused, :data:`SPRING`, :data:`ROD`); ``rest`` ``(N, E)`` float64 rest lengths (0 unused);
    ``systems``: per scene, its systems as sorted lists of balls; ``parents`` ``(N, BALLS)`` int64, the
    ball each ball was joined to when its system was grown (-1 for a system's first ball and free
    balls), and ``order`` ``(N, BALLS)``: the balls with every parent before its children.
    """

    edges: np.ndarray
    kinds: np.ndarray
    rest: np.ndarray
    systems: list[list[list[int]]]
    parents: np.ndarray
    order: np.ndarray

    def __len__(self) -> int:
        return len(self.edges)

    def adjacency(self) -> np.ndarray:
        """``(N, BALLS, BALLS)`` int8: the kind of the connection between two balls (symmetric, 0: none)."""
        count = len(self)
        matrix = np.zeros((count, BALLS, BALLS), dtype=np.int8)
        scene, slot = np.nonzero(self.kinds)
        a, b = self.edges[scene, slot, 0], self.edges[scene, slot, 1]
        matrix[scene, a, b] = matrix[scene, b, a] = self.kinds[scene, slot]
        return matrix


# ---------------------------------------------------------------------------- structure
def sample_scenes(
    count: int,
    rng: np.random.Generator,
    *,
    max_systems: int,
    max_system_size: int,
    rod_fraction: float,
    physics: Physics,
) -> Scenes:
    """Draw ``count`` scenes' systems and joints (see the module docstring)."""
    edges = np.zeros((count, BALLS - 1, 2), dtype=np.int64)
    kinds = np.zeros((count, BALLS - 1), dtype=np.int8)
    rest = np.zeros((count, BALLS - 1))
    parents = np.full((count, BALLS), -1, dtype=np.int64)
    order = np.empty((count, BALLS), dtype=np.int64)
    systems: list[list[list[int]]] = []
    low, high = physics.rest_length
    for scene in range(count):
        balls = rng.permutation(BALLS)
        number = int(rng.integers(0, max_systems + 1))
        sizes = [2] * number
        spare = BALLS - 2 * number
        for index in rng.permutation(number):
            extra = int(rng.integers(0, min(max_system_size - 2, spare) + 1))
            sizes[index] += extra
            spare -= extra
        start, slot, groups = 0, 0, []
        for size in sizes:
            members = balls[start : start + size]
            for position in range(1, size):
                parent = members[int(rng.integers(0, position))]
                parents[scene, members[position]] = parent
                edges[scene, slot] = parent, members[position]
                kinds[scene, slot] = ROD if rng.random() < rod_fraction else SPRING
                rest[scene, slot] = rng.uniform(low, high)
                slot += 1
            groups.append(sorted(int(ball) for ball in members))
            start += size
        order[scene] = balls  # systems' members first, each after its parent, then the free balls
        systems.append(sorted(groups))
    return Scenes(edges=edges, kinds=kinds, rest=rest, systems=systems, parents=parents, order=order)


def initial_state(
    scenes: Scenes, rng: np.random.Generator, physics: Physics, *, tries: int = 200
) -> tuple[Scenes, np.ndarray, np.ndarray]:
    """The scenes with each rod's length set to its ends' distance, and positions and velocities
    ``(N, BALLS, 2)`` at time 0.

    Balls are placed in ``scenes.order``: a joined ball at its joint's rest length (a spring's times a
    random stretch) in a random direction from its parent, a free or first ball uniformly; a place is
    redrawn (up to ``tries`` times, then kept) while the ball would leave the box or touch one already
    placed. Velocities are Gaussian, then rods' ends lose their relative velocity along the rod.
    """
    count = len(scenes)
    rows = np.arange(count)
    positions = np.full((count, BALLS, 2), np.nan)
    # The rest length and stretch of the joint from each ball's parent, per ball.
    link = np.zeros((count, BALLS))
    scene, slot = np.nonzero(scenes.kinds)
    child = scenes.edges[scene, slot, 1]
    stretch = np.where(scenes.kinds[scene, slot] == SPRING, rng.uniform(*physics.initial_stretch, size=len(scene)), 1)
    link[scene, child] = scenes.rest[scene, slot] * stretch
    for step in range(BALLS):
        ball = scenes.order[:, step]
        parent = scenes.parents[rows, ball]
        pending = np.ones(count, dtype=bool)
        for attempt in range(tries):
            todo = np.flatnonzero(pending)
            if not len(todo):
                break
            uniform = rng.uniform(RADIUS, 1 - RADIUS, size=(len(todo), 2))
            angle = rng.uniform(0, 2 * np.pi, size=len(todo))
            anchor = positions[todo, np.maximum(parent[todo], 0)]
            offset = link[todo, ball[todo], None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
            candidate = np.where(parent[todo, None] >= 0, anchor + offset, uniform)
            inside = ((candidate >= RADIUS) & (candidate <= 1 - RADIUS)).all(axis=1)
            gaps = np.linalg.norm(positions[todo] - candidate[:, None], axis=2)  # NaN for balls not placed
            clear = ~(gaps < 2 * RADIUS * 1.05).any(axis=1)
            accept = (inside & clear) | (attempt == tries - 1)
            chosen = todo[accept]
            positions[chosen, ball[chosen]] = np.clip(candidate[accept], RADIUS, 1 - RADIUS)
            pending[chosen] = False
    rest = scenes.rest.copy()
    rods = scenes.kinds == ROD
    a, b = scenes.edges[..., 0], scenes.edges[..., 1]
    lengths = np.linalg.norm(positions[rows[:, None], b] - positions[rows[:, None], a], axis=-1)
    rest[rods] = lengths[rods]
    scenes = replace(scenes, rest=rest)
    velocities = rng.normal(0.0, physics.speed, size=(count, BALLS, 2))
    _project_rods(velocities, scenes, reference=positions, iterations=physics.rod_iterations, velocities=True)
    return scenes, positions, velocities


# ---------------------------------------------------------------------------- dynamics
def _rod_slots(scenes: Scenes) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Per joint slot holding a rod somewhere: the scenes with one there, its two balls and its length."""
    slots = []
    for slot in range(scenes.kinds.shape[1]):
        rows = np.flatnonzero(scenes.kinds[:, slot] == ROD)
        if len(rows):
            slots.append((rows, scenes.edges[rows, slot, 0], scenes.edges[rows, slot, 1], scenes.rest[rows, slot]))
    return slots


def _project_rods(
    values: np.ndarray,
    scenes: Scenes,
    *,
    reference: np.ndarray,
    iterations: int,
    velocities: bool = False,
    slots: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> None:
    """Gauss-Seidel sweeps over the rods, in place on ``values`` ``(N, BALLS, 2)``.

    Positions (SHAKE): each rod's ends move along the rod's direction in ``reference`` (the positions
    before the step) until the rod regains its length; moving along the old direction, not the new one,
    keeps the energy (projecting along the new one, as plain position-based dynamics does, loses a few
    percent per scene). ``velocities``: ``values`` are velocities, and each rod's ends lose their
    relative velocity along the rod's direction in ``reference``.
    """
    slots = _rod_slots(scenes) if slots is None else slots
    for _ in range(iterations):
        for rows, a, b, length in slots:
            axis = reference[rows, b] - reference[rows, a]
            delta = values[rows, b] - values[rows, a]
            along = delta[:, 0] * axis[:, 0] + delta[:, 1] * axis[:, 1]
            if velocities:
                shift = 0.5 * along / np.maximum(axis[:, 0] ** 2 + axis[:, 1] ** 2, 1e-12)
            else:  # |delta - 2 g axis| = length, linearised in g
                shift = (delta[:, 0] ** 2 + delta[:, 1] ** 2 - length**2) / np.maximum(4 * along, 1e-12)
            correction = shift[:, None] * axis
            values[rows, a] += correction
            values[rows, b] -= correction


PAIRS = np.triu_indices(BALLS, k=1)  # the 45 unordered pairs of balls (i < j)


def _add_pair_forces(total: np.ndarray, scene: np.ndarray, a: np.ndarray, b: np.ndarray, force: np.ndarray) -> None:
    """In place on ``total`` ``(N, BALLS, 2)``: ``+force`` on ball ``a`` and ``-force`` on ball ``b`` of
    ``scene`` (all ``(K,)``, ``force`` ``(K, 2)``), summed over repeats."""
    size = total.shape[0] * BALLS
    flat = total.reshape(size, 2)
    for column in range(2):
        flat[:, column] += np.bincount(scene * BALLS + a, force[:, column], minlength=size)
        flat[:, column] -= np.bincount(scene * BALLS + b, force[:, column], minlength=size)


def forces(positions: np.ndarray, scenes: Scenes, physics: Physics, springs: tuple[np.ndarray, ...]) -> np.ndarray:
    """Spring, ball-contact and wall forces ``(N, BALLS, 2)`` on unit masses at ``positions`` ``(N, BALLS, 2)``.

    ``springs``: the scene, both balls and the rest length of every spring (:func:`spring_list`).
    """
    total = np.zeros_like(positions)
    scene, a, b, rest = springs
    if len(scene):
        delta = positions[scene, b] - positions[scene, a]
        distance = np.sqrt((delta**2).sum(axis=1))
        pull = physics.spring_stiffness * (distance - rest) / np.maximum(distance, 1e-12)
        _add_pair_forces(total, scene, a, b, pull[:, None] * delta)
    if physics.collisions:
        # Squared distances first, coordinate by coordinate: cheap for the 45 pairs of every scene, and
        # only the few touching pairs go further.
        dx = positions[:, PAIRS[1], 0] - positions[:, PAIRS[0], 0]  # (N, 45): from i to j
        dy = positions[:, PAIRS[1], 1] - positions[:, PAIRS[0], 1]
        touching, pair = np.nonzero(dx * dx + dy * dy < (2 * RADIUS) ** 2)
        if len(touching):
            gap = np.stack([dx[touching, pair], dy[touching, pair]], axis=1)
            distance = np.maximum(np.sqrt((gap**2).sum(axis=1)), 1e-12)
            push = physics.contact_stiffness * (2 * RADIUS - distance) / distance
            _add_pair_forces(total, touching, PAIRS[0][pair], PAIRS[1][pair], -push[:, None] * gap)
    if physics.walls:
        below, above = wall_overlaps(positions)
        total += physics.contact_stiffness * (below - above)
    return total


def wall_overlaps(positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """How far each ball reaches into the walls below and above it, per coordinate: ``(N, BALLS, 2)`` twice."""
    return np.maximum(RADIUS - positions, 0.0), np.maximum(positions - (1 - RADIUS), 0.0)


def spring_list(scenes: Scenes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every spring of the scenes as flat arrays ``(S,)``: its scene, its two balls and its rest length."""
    scene, slot = np.nonzero(scenes.kinds == SPRING)
    return scene, scenes.edges[scene, slot, 0], scenes.edges[scene, slot, 1], scenes.rest[scene, slot]


def energy(positions: np.ndarray, velocities: np.ndarray, scenes: Scenes, physics: Physics) -> np.ndarray:
    """Total energy per scene ``(N,)``: kinetic, springs' and contacts' with balls and walls (rods store none)."""
    rows = np.arange(len(positions))[:, None]
    delta = positions[rows, scenes.edges[..., 1]] - positions[rows, scenes.edges[..., 0]]
    stretch = np.linalg.norm(delta, axis=-1) - scenes.rest
    total = 0.5 * (velocities**2).sum(axis=(1, 2))
    total += 0.5 * physics.spring_stiffness * np.where(scenes.kinds == SPRING, stretch**2, 0.0).sum(axis=1)
    if physics.collisions:
        distance = np.linalg.norm(positions[:, PAIRS[1]] - positions[:, PAIRS[0]], axis=-1)
        total += 0.5 * physics.contact_stiffness * (np.maximum(2 * RADIUS - distance, 0.0) ** 2).sum(axis=1)
    if physics.walls:
        total += (
            0.5 * physics.contact_stiffness * sum((overlap**2).sum(axis=(1, 2)) for overlap in wall_overlaps(positions))
        )
    return total


def simulate(
    scenes: Scenes, positions: np.ndarray, velocities: np.ndarray, physics: Physics, *, frames: int = FRAMES
) -> tuple[np.ndarray, np.ndarray]:
    """Run the scenes from ``positions``, ``velocities`` ``(N, BALLS, 2)``; returns both at every frame,
    ``(N, frames, BALLS, 2)`` each, frame 0 being the initial state."""
    x, v = positions.astype(np.float64).copy(), velocities.astype(np.float64).copy()
    count = len(x)
    out_x = np.empty((count, frames, BALLS, 2))
    out_v = np.empty((count, frames, BALLS, 2))
    springs = spring_list(scenes)
    slots = _rod_slots(scenes)
    dt = physics.dt
    for frame in range(frames):
        out_x[:, frame], out_v[:, frame] = x, v
        if frame == frames - 1:
            break
        for _ in range(physics.substeps):
            v += dt * (forces(x, scenes, physics, springs) - physics.damping * v)
            previous = x.copy()
            x += dt * v
            if slots:
                _project_rods(x, scenes, reference=previous, iterations=physics.rod_iterations, slots=slots)
                v = (x - previous) / dt
    return out_x, out_v


# ---------------------------------------------------------------------------- pictures
def render_frames(positions: np.ndarray, size: int, *, chunk: int = 256) -> np.ndarray:
    """Draw every frame: ``(N, T, BALLS, 2)`` positions → ``(N, T, size, size, 3)`` uint8 images.

    Balls are antialiased discs in their :data:`PALETTE` colours on black, drawn in ball order (a
    later ball covers an earlier one), with a radius of at least 1.5 pixels; ``y`` points up. Each
    disc is drawn into the small square of pixels around it only.
    """
    count, frames, balls = positions.shape[:3]
    radius = max(RADIUS * size, 1.5)
    width = int(np.ceil(2 * radius + 2.5))  # the square each disc is drawn in
    pad = width + 1  # the canvas's margin, so that no square leaves it
    colours = np.array([rgb for _, rgb in PALETTE], dtype=np.float32)
    steps = np.arange(width)
    out = np.empty((count, frames, size, size, 3), dtype=np.uint8)
    for start in range(0, count, chunk):
        pixels = positions[start : start + chunk].astype(np.float32) * size  # (n, T, BALLS, 2)
        n = len(pixels)
        side = size + 2 * pad
        canvas = np.zeros((n, frames, side, side, 3), dtype=np.float32)
        flat = canvas.reshape(-1, 3)
        image = (np.arange(n * frames) * side * side).reshape(n, frames, 1, 1)  # each frame's first pixel
        for ball in range(balls):
            column, row = pixels[:, :, ball, 0], size - pixels[:, :, ball, 1]  # (n, T), in pixels
            left = np.clip(np.floor(column - radius - 1).astype(np.int64), -pad, size + pad - width)
            top = np.clip(np.floor(row - radius - 1).astype(np.int64), -pad, size + pad - width)
            rows = (top[..., None] + steps)[..., :, None]  # (n, T, width, 1)
            columns = (left[..., None] + steps)[..., None, :]  # (n, T, 1, width)
            dy = rows + 0.5 - row[..., None, None]
            dx = columns + 0.5 - column[..., None, None]
            cover = np.clip(radius + 0.5 - np.sqrt(dx**2 + dy**2), 0.0, 1.0)[..., None]
            index = image + (rows + pad) * side + columns + pad  # (n, T, width, width)
            flat[index] += cover * (colours[ball] - flat[index])
        out[start : start + chunk] = np.rint(canvas[:, :, pad : pad + size, pad : pad + size]).astype(np.uint8)
    return out

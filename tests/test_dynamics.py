"""Mass-spring dynamics: the simulator's physics, the format and its reader's errors, systems re-derived
independently, the frame encoder, the models' shapes and a tiny RN that learns."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from relnet.cli import main
from relnet.errors import DataFormatError, RelnetError
from relnet.nn import FrameObjects, RelationNetwork
from relnet.tasks import get_task
from relnet.tasks.dynamics.generator import (
    DynamicsOptions,
    count_systems,
    generate,
    read_split,
    write_split,
)
from relnet.tasks.dynamics.models import (
    ACCELERATION_SCALE,
    MODELS,
    SYSTEM_CLASSES,
    VELOCITY_SCALE,
    StateMLP,
    StateRN,
    object_dim,
    state_objects,
)
from relnet.tasks.dynamics.simulator import (
    BALLS,
    ROD,
    SPRING,
    Physics,
    Scenes,
    energy,
    initial_state,
    render_frames,
    sample_scenes,
    simulate,
)
from relnet.tasks.dynamics.task import load_table, loss, records, summarize

TINY = DynamicsOptions(train_size=24, val_size=8, test_size=8, frame_size=16)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dynamics")
    generate(root, seed=3, options=TINY)
    return root


def _scenes(
    count: int, seed: int, physics: Physics, rod_fraction: float = 0.5
) -> tuple[Scenes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    scenes = sample_scenes(count, rng, max_systems=4, max_system_size=3, rod_fraction=rod_fraction, physics=physics)
    return initial_state(scenes, rng, physics)


# -- physics -------------------------------------------------------------------------------------
def test_energy_is_conserved_without_damping() -> None:
    """1% without walls or ball collisions, 5% with both (penalty contacts); damping loses energy."""
    for physics, tolerance in ((Physics(walls=False, collisions=False), 0.01), (Physics(), 0.05)):
        scenes, x, v = _scenes(40, 0, physics)
        positions, velocities = simulate(scenes, x, v, physics)
        energies = np.stack([energy(positions[:, t], velocities[:, t], scenes, physics) for t in range(16)], 1)
        assert np.abs(energies / energies[:, :1] - 1).max() < tolerance
    damped = Physics(damping=1.0)
    scenes, x, v = _scenes(20, 1, damped)
    positions, velocities = simulate(scenes, x, v, damped)
    start, end = energy(x, v, scenes, damped), energy(positions[:, -1], velocities[:, -1], scenes, damped)
    assert (end < 0.5 * start).all()


def test_rods_keep_their_length_and_balls_stay_in_the_box() -> None:
    physics = Physics()
    scenes, x, v = _scenes(40, 2, physics, rod_fraction=1.0)
    positions, _ = simulate(scenes, x, v, physics)
    scene, slot = np.nonzero(scenes.kinds == ROD)
    assert len(scene) > 20
    a, b = scenes.edges[scene, slot, 0], scenes.edges[scene, slot, 1]
    lengths = np.linalg.norm(positions[scene, :, b] - positions[scene, :, a], axis=-1)  # (rods, T)
    assert np.abs(lengths / scenes.rest[scene, slot, None] - 1).max() < 0.01
    assert positions.min() > -0.01 and positions.max() < 1.01


def test_a_stretched_spring_pulls_its_balls_together_and_free_balls_fly_straight() -> None:
    physics = Physics(walls=False, collisions=False)
    edges = np.zeros((1, BALLS - 1, 2), dtype=np.int64)
    edges[0, 0] = (0, 1)
    kinds = np.zeros((1, BALLS - 1), dtype=np.int8)
    kinds[0, 0] = SPRING
    rest = np.zeros((1, BALLS - 1))
    rest[0, 0] = 0.2
    scenes = Scenes(edges, kinds, rest, [[[0, 1]]], np.full((1, BALLS), -1), np.arange(BALLS)[None])
    start = np.stack([np.linspace(0.1, 0.9, BALLS), np.full(BALLS, 0.5)], axis=1)[None]
    start[0, 1] = start[0, 0] + [0.4, 0.0]  # twice the rest length
    velocity = np.zeros_like(start)
    velocity[0, 5] = [0.1, -0.2]
    positions, _ = simulate(scenes, start, velocity, physics, frames=6)
    gap = positions[0, :, 1, 0] - positions[0, :, 0, 0]
    assert (np.diff(gap) < 0).all() and gap[-1] < 0.3  # closing in on the rest length
    assert np.allclose(positions[0, :, 5], start[0, 5] + np.arange(6)[:, None] * 0.1 * velocity[0, 5])
    assert np.allclose(positions[0, :, 2:5], start[0, None, 2:5])


# -- generator and format ------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_bytes(tiny: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", seed=3, options=TINY)
    for path in sorted(tiny.iterdir()):
        assert (tmp_path / "again" / path.name).read_bytes() == path.read_bytes(), path.name


def _systems_by_search(connections: list[dict]) -> list[list[int]]:
    """Connected components with a connection, by breadth-first search over the JSON's pairs."""
    neighbours: dict[int, set[int]] = {}
    for connection in connections:
        a, b = connection["balls"]
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    seen: set[int] = set()
    systems = []
    for ball in sorted(neighbours):
        if ball in seen:
            continue
        queue, members = deque([ball]), set()
        while queue:
            current = queue.popleft()
            if current not in members:
                members.add(current)
                queue.extend(neighbours[current] - members)
        seen |= members
        systems.append(sorted(members))
    return systems


def test_systems_rederived_independently_from_the_connections(tiny: Path) -> None:
    for split in ("train", "val", "test"):
        document = json.loads((tiny / f"{split}.json").read_text())
        table = load_table(tiny, split)
        for index, scene in enumerate(document["scenes"]):
            systems = _systems_by_search(scene["connections"])
            assert sorted(scene["systems"]) == systems
            assert table.columns["systems"][index].item() == len(systems)
            matrix = np.zeros((BALLS, BALLS))
            for connection in scene["connections"]:
                matrix[tuple(connection["balls"])] = matrix[tuple(connection["balls"][::-1])] = 1
            assert np.array_equal(table.columns["connections"][index].numpy(), matrix)
    counts = [len(scene["systems"]) for scene in json.loads((tiny / "train.json").read_text())["scenes"]]
    assert 0 in counts and max(counts) >= 2  # sometimes none, sometimes several


def test_count_systems_ignores_direction_and_the_diagonal() -> None:
    adjacency = torch.zeros(3, BALLS, BALLS, dtype=torch.bool)
    adjacency[0, 0, 1] = adjacency[0, 2, 1] = adjacency[0, 5, 6] = True  # {0,1,2}, {5,6}
    adjacency[1].fill_diagonal_(True)
    adjacency[2, 9, 0] = adjacency[2, 0, 8] = adjacency[2, 8, 9] = True  # a cycle
    assert count_systems(adjacency).tolist() == [2, 0, 1]


def test_format_round_trip(tiny: Path, tmp_path: Path) -> None:
    original = read_split(tiny, "val")
    document = json.loads((tiny / "val.json").read_text())
    records_ = [{key: scene[key] for key in ("connections", "systems")} for scene in document["scenes"]]
    write_split(tmp_path, "val", positions=original.positions, scenes=records_, frames=original.frames)
    again = read_split(tmp_path, "val")
    for name in ("positions", "kinds", "rest", "systems", "frames"):
        assert np.array_equal(getattr(again, name), getattr(original, name)), name
    assert (tmp_path / "val.npz").read_bytes() == (tiny / "val.npz").read_bytes()
    assert (tmp_path / "val.json").read_text() == (tiny / "val.json").read_text()


def _corrupt_json(root: Path, edit) -> Path:
    path = root / "val.json"
    document = json.loads(path.read_text())
    edit(document)
    path.write_text(json.dumps(document))
    return path


def _corrupt_positions(root: Path, edit) -> Path:
    path = root / "val.npz"
    with np.load(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    arrays = edit(arrays)
    np.savez(path.with_suffix(""), **arrays)  # numpy appends .npz
    return path


def _ball_twelve(document: dict) -> None:
    document["scenes"][5]["connections"].append({"balls": [3, 12], "kind": "spring", "rest_length": 0.2})


def _nan_at_scene_4(arrays: dict) -> dict:
    arrays["positions"][4, 7, 2, 0] = np.nan
    return arrays


CORRUPTIONS = [
    ("json", _ball_twelve, "scene 5: a connection joins [3, 12], but the balls are numbered 0-9"),
    ("json", lambda d: d["scenes"][2]["systems"].append([0, 9]), "scene 2: the connections make"),
    (
        "json",
        lambda d: d["scenes"][1]["connections"].append({"balls": [4, 4], "kind": "rod", "rest_length": 1}),
        "scene 1: a connection joins ball 4 to itself",
    ),
    ("json", lambda d: d["scenes"][3].update(scene=7), 'scene 3: expected a record with "scene": 3'),
    ("json", lambda d: d["scenes"].pop(), "7 scenes, but val.npz holds 8"),
    ("json", lambda d: d.update(balls=12), '"balls" must be 10, not 12'),
    ("npz", _nan_at_scene_4, "scene 4: a position is NaN or infinite"),
    ("npz", lambda a: {**a, "positions": a["positions"][:, :, :9]}, "'positions' must be floats of shape"),
    ("npz", lambda a: {**a, "frames": a["frames"].astype(np.float32)}, "'frames' must be uint8"),
]


@pytest.mark.parametrize(("kind", "edit", "message"), CORRUPTIONS)
def test_bad_files_get_a_one_line_message_naming_file_and_scene(tiny, tmp_path, kind, edit, message) -> None:
    for name in ("val.json", "val.npz"):
        (tmp_path / name).write_bytes((tiny / name).read_bytes())
    path = (_corrupt_json if kind == "json" else _corrupt_positions)(tmp_path, edit)
    with pytest.raises(DataFormatError) as error:
        read_split(tmp_path, "val")
    text = str(error.value)
    assert text.startswith(f"{path}") and message in text and "\n" not in text


def test_bad_json_and_missing_files(tiny, tmp_path: Path) -> None:
    with pytest.raises(DataFormatError, match="missing"):
        read_split(tmp_path, "val")
    (tmp_path / "val.npz").write_bytes((tiny / "val.npz").read_bytes())
    (tmp_path / "val.json").write_text("{not json")
    with pytest.raises(DataFormatError, match=r"val\.json: not valid JSON"):
        read_split(tmp_path, "val")
    with pytest.raises(RelnetError, match=r"--max-systems must be in 0\.\.5"):
        DynamicsOptions(max_systems=6)


def test_generate_and_inspect_from_the_command_line(tmp_path: Path, capsys) -> None:
    out = tmp_path / "cli"
    flags = ["--train-size", "6", "--val-size", "3", "--test-size", "3", "--frame-size", "0", "--json"]
    assert main(["generate", "dynamics", "--out", str(out), *flags]) == 0
    capsys.readouterr()
    assert main(["inspect", "dynamics", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["splits"]["val"]["scenes"] == 3 and report["splits"]["val"]["systems_recomputed"]
    _corrupt_json(out, lambda d: d["scenes"][1]["systems"].append([8, 9]))
    assert main(["inspect", "dynamics", str(out)]) != 0
    assert "scene 1" in capsys.readouterr().err


# -- pictures and the frame encoder --------------------------------------------------------------
def test_frames_draw_each_ball_in_its_colour_where_it_is() -> None:
    positions = np.full((1, 1, BALLS, 2), 0.5)
    positions[0, 0, 3] = [0.25, 0.75]  # blue, top left (y up)
    positions[0, 0, :3] = positions[0, 0, 4:] = [[0.9, 0.1]]  # the others bottom right, brown on top
    frame = render_frames(positions, 32)[0, 0]
    assert frame.shape == (32, 32, 3) and frame.dtype == np.uint8
    assert tuple(frame[8, 8]) == (0, 130, 200)
    assert tuple(frame[29, 29]) == (170, 110, 40)
    assert frame[16, 16].max() == 0


def test_frame_encoder_shapes_and_time_tags() -> None:
    torch.manual_seed(0)
    clip = torch.rand(2, 5, 3, 16, 16)
    linear = FrameObjects((16, 16), channels=(8, 8), embed_dim=12)
    objects = linear(clip)
    assert objects.shape == (2, 5, 13) and linear.object_dim == 13
    assert torch.allclose(objects[0, :, -1], torch.linspace(-1, 1, 5))
    onehot = FrameObjects((16, 16), channels=(8, 8), embed_dim=12, time_tag="onehot", max_frames=7).eval()
    objects = onehot(clip)
    assert objects.shape == (2, 5, 19) and torch.equal(objects[1, :, 12:], torch.eye(5, 7))
    # Each frame is encoded on its own: a shorter clip gives the same embeddings of its frames.
    assert torch.allclose(onehot(clip[:, :3]), objects[:, :3], atol=1e-6)
    assert RelationNetwork(onehot.object_dim, 4, g_widths=(8,), f_widths=(8,))(objects).shape == (2, 4)
    with pytest.raises(ValueError, match="clips must have shape"):
        linear(clip[0])
    with pytest.raises(ValueError, match="longer than max_frames"):
        onehot(torch.rand(1, 8, 3, 16, 16))


def test_frame_windows_stack_each_frame_with_its_neighbours() -> None:
    clip = torch.arange(4.0)[None, :, None, None, None].expand(2, 4, 3, 4, 4)  # frame t is all t
    encoder = FrameObjects((4, 4), channels=(4,), embed_dim=6, window=3)
    windows = encoder.windows(clip)  # (2, 4, 9, 4, 4): frames t-1, t, t+1, the ends repeated
    assert windows.shape == (2, 4, 9, 4, 4)
    seen = windows[0, :, ::3, 0, 0]  # the first channel of each of the three frames
    assert torch.equal(seen, torch.tensor([[0.0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 3]]))
    assert encoder(clip).shape == (2, 4, 7)
    with pytest.raises(ValueError, match="window must be an odd number"):
        FrameObjects((4, 4), window=2)


# -- models, loss and metrics --------------------------------------------------------------------
def test_every_model_gives_its_targets_shape(tiny: Path) -> None:
    batch = load_table(tiny, "val").__getitems__(list(range(4)))
    small = {"g_widths": (16,), "f_widths": (16,)}
    configs = {"mlp": {"widths": (16,)}, "mlp-count": {"widths": (16,)}, "cnn-mlp-frames": {"channels": (8,)}}
    configs |= {"rn": small, "rn-count": small, "rn-frames": {"channels": (8,), "embed_dim": 8, **small}}
    task = get_task("dynamics")
    for name, model_class in MODELS.items():
        config = task.fit_config(name, configs[name], tiny, "val")
        output = model_class(**config)(batch)
        shape = (4, BALLS, BALLS) if model_class.target == "connections" else (4, SYSTEM_CLASSES)
        assert output.shape == shape, name
        assert torch.isfinite(loss(output, batch))
    # The MLP baseline has about as many parameters as the paper's RN (2.9 M).
    rn, mlp = (sum(p.numel() for p in model().parameters()) for model in (StateRN, StateMLP))
    assert 2.7e6 < rn < 3.1e6 and abs(mlp / rn - 1) < 0.05
    quick = get_task("dynamics").recipes["quick"]
    rn, mlp = (sum(p.numel() for p in MODELS[name](**quick[name].model).parameters()) for name in ("rn", "mlp"))
    assert abs(mlp / rn - 1) < 0.1
    with pytest.raises(ValueError, match="readout"):
        MODELS["rn-count"](readout="pairs")


def test_motion_rows_append_each_balls_scaled_differences(tiny: Path) -> None:
    """A ball's row with ``motion``: its 16 x and 16 y, then 15 + 15 velocities and 14 + 14
    accelerations (finite differences of the [-1, 1] track, scaled), then the colour."""
    positions = load_table(tiny, "val").__getitems__([0, 1])["positions"]  # (2, 16, 10, 2)
    rows = state_objects(positions, "onehot", motion=True)
    assert rows.shape == (2, BALLS, object_dim("onehot", motion=True)) == (2, BALLS, 32 + 30 + 28 + BALLS)
    x = 2 * positions[1, :, 3, 0] - 1  # ball 3's x track in the second scene
    assert torch.allclose(rows[1, 3, :16], x)
    assert torch.allclose(rows[1, 3, 32:47], VELOCITY_SCALE * (x[1:] - x[:-1]))
    assert torch.allclose(rows[1, 3, 62:76], ACCELERATION_SCALE * (x[2:] - 2 * x[1:-1] + x[:-2]), atol=1e-5)
    assert torch.equal(rows[..., -BALLS:], state_objects(positions, "onehot")[..., -BALLS:])
    assert StateRN(g_widths=(8,), f_widths=(8,), motion=True)({"positions": positions}).shape == (2, BALLS, BALLS)


def test_metrics_of_perfect_and_empty_predictions(tiny: Path) -> None:
    batch = load_table(tiny, "train").__getitems__(list(range(24)))
    truth = batch["connections"] * 20 - 10  # right logits
    perfect = summarize(records(truth, batch))
    assert perfect == {"connections": 1.0, "systems": 1.0, "bits": 1.0, "pair_auc": 1.0}
    empty = summarize(records(torch.full_like(truth, -10.0), batch))
    none = (batch["systems"] == 0).float().mean().item()
    assert empty["connections"] == pytest.approx(none) and empty["systems"] == pytest.approx(none)
    assert empty["pair_auc"] == 0.5  # every pair tied
    assert summarize(records(-truth, batch))["pair_auc"] == 0.0
    counts = summarize(records(F.one_hot(batch["systems"], SYSTEM_CLASSES).float(), batch))
    assert counts["systems"] == 1.0 and all(np.isnan(counts[name]) for name in ("connections", "bits", "pair_auc"))
    task = get_task("dynamics")
    assert task.selection_key(counts) > task.selection_key({**counts, "systems": 0.5})


def test_a_tiny_rn_learns_which_balls_are_connected(tmp_path: Path) -> None:
    """One or two pairs per scene, rods or springs: after 150 steps the RN (reading each pair's bit off
    that pair) ranks connected pairs above the others far better than chance (an AUC of 0.5)."""
    options = replace(TINY, train_size=600, val_size=200, test_size=1, max_systems=2, max_system_size=2, frame_size=0)
    generate(tmp_path, seed=0, options=options)
    train, val = load_table(tmp_path, "train"), load_table(tmp_path, "val")
    torch.manual_seed(0)
    model = StateRN(g_widths=(64, 64, 64), f_widths=(64,), colour="onehot", readout="pairs")
    optimiser = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(150):
        batch = train.__getitems__(torch.randint(0, len(train), (32,)).tolist())
        optimiser.zero_grad()
        loss(model(batch), batch).backward()
        optimiser.step()
    with torch.no_grad():
        batch = val.__getitems__(list(range(len(val))))
        scores = model(batch)
    upper = torch.triu(torch.ones(BALLS, BALLS, dtype=torch.bool), diagonal=1).expand_as(scores)
    connected, free = scores[upper & (batch["connections"] > 0)], scores[upper & (batch["connections"] == 0)]
    auc = (connected[:, None] > free[None, :]).float().mean().item()
    assert auc > 0.8, auc


# -- augmentation --------------------------------------------------------------------------------
def test_every_symmetry_moves_pictures_and_positions_alike(tiny: Path) -> None:
    from relnet.tasks.dynamics.augment import apply_symmetries
    from relnet.tasks.dynamics.simulator import render_frames

    batch = load_table(tiny, "train").__getitems__(list(range(16)))
    codes = torch.arange(16)  # each of the 16 transforms once
    identity = torch.arange(10).expand(16, 10)
    out = apply_symmetries(batch, codes, identity)
    redrawn = torch.from_numpy(render_frames(out["positions"].numpy(), 16)).int()
    # Discs overlap in draw order, so a few pixels may differ where two balls touch.
    assert (redrawn - out["frames"].int()).abs().gt(2).float().mean() < 0.01
    assert torch.equal(out["connections"], batch["connections"])
    assert out["positions"].min() >= 0 and out["positions"].max() <= 1


def test_relabelled_balls_keep_their_connections_and_systems(tiny: Path) -> None:
    from relnet.tasks.dynamics.augment import augment
    from relnet.tasks.dynamics.generator import count_systems

    batch = load_table(tiny, "train").__getitems__(list(range(16)))
    torch.manual_seed(0)
    out = augment(batch)
    assert torch.equal(count_systems(out["connections"] > 0), batch["systems"])
    assert torch.equal(out["systems"], batch["systems"])

    def rod_lengths(positions: torch.Tensor, connections: torch.Tensor) -> torch.Tensor:
        distance = (positions[:, :, :, None] - positions[:, :, None, :]).norm(dim=-1)  # (B, T, 10, 10)
        return torch.sort(distance.std(1)[connections > 0]).values

    # Distances are kept by every symmetry, so each connected pair's spread of lengths over time is too.
    assert torch.allclose(
        rod_lengths(out["positions"], out["connections"]),
        rod_lengths(batch["positions"], batch["connections"]),
        atol=1e-5,
    )


def test_a_model_trains_with_augmentation(tiny: Path, tmp_path: Path) -> None:
    command = "train dynamics --model rn-count --preset quick --epochs 1 --batch-size 8 --augment --no-progress"
    assert main([*command.split(), "--data", str(tiny), "--run-dir", str(tmp_path / "run")]) == 0
    # A counting model has no connection metrics: they are not logged as NaN columns.
    header = (tmp_path / "run" / "logs" / "metrics.csv").read_text().splitlines()[0].split(",")
    assert "val/systems" in header and "val/connections" not in header

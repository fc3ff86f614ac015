"""Seeded synthetic clips in the exact NEOVISION2 layout, for tests and demos.

The real NEOVISION2 data is not redistributable; this generator writes clips a
reader cannot tell apart by format: ``NAME.csv`` with the official header and a
folder ``NAME/`` of frames ``frame_000000.pgm`` … (0-based, binary PGM, or PNG with
Pillow). The scene imitates the fixed "Tower" camera:

- a static textured background (value noise, buildings, a walkway, a road with
  dashed lane markings) and per-frame Gaussian sensor noise;
- moving objects of the five Tower classes, each with its own shape (sprites with
  windows, wheels, heads …), size, aspect and speed distribution (all relative to
  the frame width, so any frame size works), entering and leaving through the
  left/right edges, keeping a gap to the vehicle ahead in their lane;
- partial occlusion: nearer lanes are drawn over farther ones and a lamp post
  stands in front of everything; ``Occlusion`` is TRUE when under 95 % of an
  object's in-frame pixels are visible, ``Ambiguous`` when under 30 % are;
- a few ``DCR`` regions (flickering foliage) written every frame;
- a few rows with an empty ObjectType, as the real files have.

The annotation box of an object is its full sprite extent (it may leave the frame);
corners are written TL, TR, BR, BL in continuous pixel coordinates, so the reader's
clipped box equals the visible part of the sprite's rectangle.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._util.validation import check_alloc
from ..exceptions import ParameterError
from .frames import write_pgm
from .neovision2_csv import COLUMNS, DCR, TOWER_CLASSES, format_row


@dataclass(frozen=True)
class ClassModel:
    """Size, aspect (height / width) and speed ranges; lengths and speeds are
    fractions of the frame width (per frame for speeds)."""

    width: tuple[float, float]
    aspect: tuple[float, float]
    speed: tuple[float, float]
    on_road: bool


#: The five Tower classes. Sizes at 320 px width: car ≈ 27–38 px long, person ≈ 6 px wide.
CLASS_MODELS: dict[str, ClassModel] = {
    "Car": ClassModel((0.085, 0.12), (0.40, 0.50), (0.007, 0.011), True),
    "Truck": ClassModel((0.14, 0.19), (0.45, 0.60), (0.005, 0.008), True),
    "Bus": ClassModel((0.19, 0.25), (0.36, 0.44), (0.004, 0.006), True),
    "Person": ClassModel((0.016, 0.022), (2.4, 3.2), (0.0012, 0.0025), False),
    "Cyclist": ClassModel((0.040, 0.050), (0.90, 1.15), (0.0030, 0.0045), False),
}
_ROAD_MIX = (("Car", 0.55), ("Truck", 0.25), ("Bus", 0.20))
_WALK_MIX = (("Person", 0.6), ("Cyclist", 0.4))


@dataclass
class _Object:
    track: int
    kind: str
    lane: int
    x: float
    speed: float
    sprite: np.ndarray  # uint8 (h, w)
    mask: np.ndarray  # bool (h, w)
    baseline: int

    @property
    def w(self) -> int:
        return self.sprite.shape[1]

    @property
    def h(self) -> int:
        return self.sprite.shape[0]

    def box(self) -> tuple[int, int, int, int]:
        x0 = round(self.x)
        return x0, self.baseline - self.h, x0 + self.w, self.baseline


@dataclass(frozen=True)
class SynthClip:
    """Where a generated clip was written, and its ground truth per annotated object
    row: ``frame``, ``track`` (true object id), ``kind``, ``box`` (unclipped,
    half-open), ``occlusion``, ``visible`` (visible fraction of in-frame pixels)."""

    name: str
    csv_path: Path
    frames_dir: Path
    n_frames: int
    frame_size: tuple[int, int]
    truth: dict[str, np.ndarray]


def _value_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    gh, gw = h // cell + 2, w // cell + 2
    grid = rng.random((gh, gw))
    ys, xs = np.arange(h) / cell, np.arange(w) / cell
    y0, x0 = ys.astype(int), xs.astype(int)
    fy, fx = (ys - y0)[:, None], (xs - x0)[None, :]
    a, b = grid[y0][:, x0], grid[y0][:, x0 + 1]
    c, d = grid[y0 + 1][:, x0], grid[y0 + 1][:, x0 + 1]
    return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy


def _layout(h: int) -> dict[str, object]:
    walk = [round(0.50 * h), round(0.56 * h)]
    road = [round(0.70 * h), round(0.83 * h), round(0.96 * h)]
    return {"walk": walk, "road": road, "road_top": round(0.60 * h), "walk_top": round(0.44 * h)}


def _background(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    lay = _layout(h)
    bg = 95 + 40 * _value_noise(rng, h, w, max(4, w // 16)) + 12 * _value_noise(rng, h, w, 3)
    # Buildings with window grids in the upper band.
    x = 0
    while x < w:
        bw = int(rng.integers(w // 12, w // 5))
        top = int(rng.integers(round(0.08 * h), round(0.30 * h)))
        shade = float(rng.uniform(70, 170))
        bg[top : lay["walk_top"], x : x + bw] = shade + 6 * rng.standard_normal()
        for wy in range(top + 3, lay["walk_top"] - 3, max(4, h // 30)):
            for wx in range(x + 2, x + bw - 2, max(4, w // 60)):
                bg[wy : wy + max(1, h // 90), wx : wx + max(1, w // 160)] = shade * 0.55
        x += bw + int(rng.integers(2, max(3, w // 40)))
    bg[lay["walk_top"] : lay["road_top"]] = 150 + 10 * _value_noise(rng, 1, w, 8)
    road_rows = slice(lay["road_top"], h)
    bg[road_rows] = 72 + 12 * _value_noise(rng, h - lay["road_top"], w, max(4, w // 40))
    dash = max(4, w // 32)
    for y in lay["road"][:-1]:
        yy = y + max(1, h // 90)
        for x0 in range(0, w, 2 * dash):
            bg[yy : yy + max(1, h // 120), x0 : x0 + dash] = 200
    return bg


def _sprite(rng: np.random.Generator, kind: str, w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """Greyscale sprite and mask of one object (facing right)."""
    yy, xx = np.mgrid[0:h, 0:w]
    u, v = (xx + 0.5) / w, (yy + 0.5) / h  # 0..1 across the sprite
    dark = rng.random() < 0.5
    base = rng.uniform(25, 60) if dark else rng.uniform(170, 235)
    img = np.full((h, w), base) + rng.normal(0, 6, (h, w))
    mask = np.ones((h, w), dtype=bool)

    def wheels(at: tuple[float, ...], r: float) -> None:
        for c in at:
            d = ((u - c) * w) ** 2 + ((v - (1 - r / h)) * h) ** 2
            img[d <= r * r] = 15
            mask[d <= r * r] = True

    if kind == "Car":
        cabin = (v < 0.45) & ((u < 0.22) | (u > 0.78))
        mask[cabin] = False
        img[(v > 0.12) & (v < 0.42) & (u > 0.28) & (u < 0.72)] = base * 0.4 + 20
        wheels((0.2, 0.8), max(1.0, 0.18 * h))
    elif kind == "Truck":
        mask[(v < 0.3) & (u > 0.74)] = False
        img[u <= 0.72] = base * 0.9 + 20
        img[(v > 0.35) & (v < 0.6) & (u > 0.8) & (u < 0.95)] = 40
        wheels((0.15, 0.35, 0.85), max(1.0, 0.14 * h))
    elif kind == "Bus":
        band = (v > 0.18) & (v < 0.5)
        img[band & ((u * 8) % 1 > 0.15)] = 45 if not dark else 120
        wheels((0.15, 0.85), max(1.0, 0.16 * h))
    elif kind == "Person":
        head = ((u - 0.5) * w) ** 2 + ((v - 0.09) * h) ** 2 <= (0.09 * h) ** 2
        torso = (v >= 0.17) & (v < 0.58) & (np.abs(u - 0.5) < 0.42)
        legs = (v >= 0.58) & ((np.abs(u - 0.3) < 0.17) | (np.abs(u - 0.7) < 0.17))
        mask = head | torso | legs
        img[head] = rng.uniform(120, 200)
    elif kind == "Cyclist":
        r = max(1.5, 0.24 * min(w, h))
        ring = np.zeros_like(mask)
        for c in (0.22, 0.78):
            d = np.sqrt(((u - c) * w) ** 2 + ((v - 1 + r / h) * h) ** 2)
            ring |= (d <= r) & (d >= r - max(1.0, 0.35 * r))
        rider = (v < 0.6) & (np.abs(u - 0.5) < 0.16)
        head = ((u - 0.5) * w) ** 2 + ((v - 0.08) * h) ** 2 <= (0.08 * h) ** 2
        frame_bar = (np.abs(v - 0.66) < 0.05) & (u > 0.22) & (u < 0.78)
        mask = ring | rider | head | frame_bar
        img[ring] = 20
    else:  # pragma: no cover - guarded by the caller
        raise ParameterError(f"kind: unknown class {kind!r}")
    return np.clip(img, 0, 255).astype(np.uint8), mask


def _spawn(
    rng: np.random.Generator,
    track: int,
    lane: int,
    baseline: int,
    on_road: bool,
    direction: int,
    frame_w: int,
    x: float | None,
) -> _Object:
    mix = _ROAD_MIX if on_road else _WALK_MIX
    kind = mix[int(rng.choice(len(mix), p=[p for _, p in mix]))][0]
    m = CLASS_MODELS[kind]
    w = max(3, round(rng.uniform(*m.width) * frame_w))
    h = max(3, round(w * rng.uniform(*m.aspect)))
    speed = rng.uniform(*m.speed) * frame_w * direction
    sprite, mask = _sprite(rng, kind, w, h)
    if direction < 0:
        sprite, mask = sprite[:, ::-1].copy(), mask[:, ::-1].copy()
    if x is None:
        x = -w if direction > 0 else frame_w
    return _Object(track, kind, lane, float(x), float(speed), sprite, mask, baseline)


def generate_clip(
    out_dir: str | os.PathLike[str],
    index: int = 0,
    seed: int = 0,
    n_frames: int = 60,
    frame_size: tuple[int, int] = (180, 320),
    noise: float = 2.0,
    arrival_rate: float = 0.06,
    n_dcr: int = 2,
    empty_rows: bool = True,
    image_format: str = "pgm",
) -> SynthClip:
    """Writes clip ``index`` of the synthetic set under ``out_dir`` (see module doc).

    ``frame_size`` is (height, width); ``arrival_rate`` the chance per lane and
    frame that a new object enters; the clip depends only on (seed, index).
    """
    height, width = (int(v) for v in frame_size)
    if height < 48 or width < 64:
        raise ParameterError(f"frame_size: must be at least (48, 64), got {frame_size}")
    if n_frames < 1:
        raise ParameterError(f"n_frames: must be >= 1, got {n_frames}")
    if not 0 <= noise < 64:
        raise ParameterError(f"noise: must lie in [0, 64) grey levels, got {noise}")
    if not 0 <= arrival_rate <= 1:
        raise ParameterError(f"arrival_rate: must lie in [0, 1], got {arrival_rate}")
    if image_format not in ("pgm", "png"):
        raise ParameterError(f"image_format: must be 'pgm' or 'png', got {image_format!r}")
    # A few full-frame float64/int64 buffers are held at once (background, frame, owner).
    check_alloc("frame_size", (4, height, width), 8)
    rng = np.random.default_rng([int(seed), int(index), 0x5E0])
    name = f"Neovision2-Synth-Tower-{index + 1:03d}"
    out = Path(out_dir)
    frames_dir = out / name
    frames_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"{name}.csv"

    lay = _layout(height)
    background = _background(rng, height, width)
    lanes: list[tuple[int, bool, int]] = [
        (y, False, 1 if i % 2 == 0 else -1) for i, y in enumerate(lay["walk"])
    ]
    lanes += [(y, True, 1 if i % 2 == 0 else -1) for i, y in enumerate(lay["road"])]
    post_x = int(rng.integers(width // 4, 3 * width // 4))
    post = (post_x, lay["walk_top"] - height // 8, post_x + max(2, width // 100), height)
    dcrs = []
    for _ in range(n_dcr):
        dw, dh = (
            int(rng.integers(width // 14, width // 7)),
            int(rng.integers(height // 14, height // 8)),
        )
        dx, dy = (
            int(rng.integers(0, width - dw)),
            int(rng.integers(0, max(1, lay["walk_top"] - dh))),
        )
        dcrs.append((dx, dy, dx + dw, dy + dh))

    objects: list[_Object] = []
    next_track = 0
    for li, (y, on_road, d) in enumerate(lanes):  # a few objects already in view
        for _ in range(int(rng.integers(0, 2))):
            o = _spawn(rng, next_track, li, y, on_road, d, width, rng.uniform(0, width * 0.8))
            if all(abs(o.x - p.x) > o.w + p.w for p in objects if p.lane == li):
                objects.append(o)
                next_track += 1

    truth: dict[str, list] = {
        k: [] for k in ("frame", "track", "kind", "box", "occlusion", "visible")
    }
    rows: list[list[str]] = []
    depth = sorted(range(len(lanes)), key=lambda i: lanes[i][0])  # far (small y) first
    for t in range(n_frames):
        if t > 0:
            _advance(objects, width)
        for li, (y, on_road, d) in enumerate(lanes):
            if rng.random() < arrival_rate:
                o = _spawn(rng, next_track, li, y, on_road, d, width, None)
                ahead = [p for p in objects if p.lane == li]
                edge_free = all(
                    (p.x - (o.x + o.w) > 4) if d > 0 else (o.x - (p.x + p.w) > 4) for p in ahead
                )
                if edge_free:
                    objects.append(o)
                    next_track += 1
        # Gone once fully past the exit edge (new arrivals start just outside the entry).
        objects = [o for o in objects if (o.x < width if o.speed > 0 else o.x + o.w > 0)]
        frame = background.copy()
        owner = np.full((height, width), -1, dtype=np.int64)
        drawn = sorted(objects, key=lambda o: (depth.index(o.lane), o.track))
        for k, o in enumerate(drawn):
            x0, y0, x1, y1 = o.box()
            sx0, sy0 = max(0, -x0), max(0, -y0)
            cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
            m = o.mask[sy0 : sy0 + cy1 - cy0, sx0 : sx0 + cx1 - cx0]
            frame[cy0:cy1, cx0:cx1][m] = o.sprite[sy0 : sy0 + cy1 - cy0, sx0 : sx0 + cx1 - cx0][m]
            owner[cy0:cy1, cx0:cx1][m] = k
        px0, py0, px1, py1 = post
        frame[py0:py1, px0:px1] = 55
        owner[py0:py1, px0:px1] = -1
        for dx0, dy0, dx1, dy1 in dcrs:
            frame[dy0:dy1, dx0:dx1] = rng.uniform(40, 200, (dy1 - dy0, dx1 - dx0))
            owner[dy0:dy1, dx0:dx1] = -1
        if noise > 0:
            frame += rng.normal(0.0, noise, frame.shape)
        img = np.clip(np.rint(frame), 0, 255).astype(np.uint8)
        _write_frame(frames_dir / f"frame_{t:06d}.{image_format}", img)

        visible = np.bincount(owner[owner >= 0], minlength=len(drawn))
        for k, o in enumerate(drawn):
            x0, y0, x1, y1 = o.box()
            sx0, sy0 = max(0, -x0), max(0, -y0)
            cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
            inside = int(o.mask[sy0 : sy0 + cy1 - cy0, sx0 : sx0 + cx1 - cx0].sum())
            if inside == 0 or visible[k] == 0:
                continue
            frac = visible[k] / inside
            quad = (x0, y0, x1, y0, x1, y1, x0, y1)
            rows.append(format_row(t, quad, o.kind, frac < 0.95, frac < 0.3))
            truth["frame"].append(t)
            truth["track"].append(o.track)
            truth["kind"].append(o.kind)
            truth["box"].append((x0, y0, x1, y1))
            truth["occlusion"].append(frac < 0.95)
            truth["visible"].append(frac)
        for dx0, dy0, dx1, dy1 in dcrs:
            rows.append(format_row(t, (dx0, dy0, dx1, dy0, dx1, dy1, dx0, dy1), DCR))
        if empty_rows and t % 17 == 5:
            rows.append(format_row(t, (0,) * 8, "", confidence=0.0))

    with open(csv_path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    return SynthClip(
        name=name,
        csv_path=csv_path,
        frames_dir=frames_dir,
        n_frames=n_frames,
        frame_size=(height, width),
        truth={
            "frame": np.asarray(truth["frame"], dtype=np.int64),
            "track": np.asarray(truth["track"], dtype=np.int64),
            "kind": np.asarray(truth["kind"], dtype=str),
            "box": np.asarray(truth["box"], dtype=np.int64).reshape(-1, 4),
            "occlusion": np.asarray(truth["occlusion"], dtype=bool),
            "visible": np.asarray(truth["visible"], dtype=np.float64),
        },
    )


def _advance(objects: list[_Object], width: int) -> None:
    """Moves every object; a faster one slows to keep a 3 px gap to the one ahead."""
    by_lane: dict[int, list[_Object]] = {}
    for o in objects:
        by_lane.setdefault(o.lane, []).append(o)
    for lane_objects in by_lane.values():
        forward = lane_objects[0].speed > 0
        lane_objects.sort(key=lambda o: -o.x if forward else o.x)  # front first
        leader: _Object | None = None
        for o in lane_objects:
            nx = o.x + o.speed
            if leader is not None:
                nx = min(nx, leader.x - o.w - 3) if forward else max(nx, leader.x + leader.w + 3)
            o.x = nx
            leader = o


def _write_frame(path: Path, img: np.ndarray) -> None:
    if path.suffix == ".pgm":
        write_pgm(path, img)
    else:
        from .._util.extras import require

        require("PIL.Image", "writing PNG frames").fromarray(img).save(path)


def generate_clips(
    out_dir: str | os.PathLike[str], n_clips: int, seed: int = 0, **kwargs: object
) -> list[SynthClip]:
    """Clips 0 … n_clips − 1 of the synthetic set (arguments as :func:`generate_clip`)."""
    if n_clips < 1:
        raise ParameterError(f"n_clips: must be >= 1, got {n_clips}")
    return [generate_clip(out_dir, i, seed, **kwargs) for i in range(n_clips)]  # type: ignore[arg-type]


__all__ = ["CLASS_MODELS", "TOWER_CLASSES", "SynthClip", "generate_clip", "generate_clips"]

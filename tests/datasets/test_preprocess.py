"""Heat map, crops, detector and tracks on hand-made arrays with exact expectations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from snnconv.preprocess import (
    DifferenceHeatMap,
    assign_tracks,
    detect_boxes,
    iou,
    max_pool_shrink,
    merge_boxes,
    object_raster,
    square_crop,
    to_uint8,
)

F0 = np.array([[10, 10, 10], [0, 50, 255]], np.uint8)
F1 = np.array([[10, 14, 0], [0, 40, 255]], np.uint8)
F2 = np.array([[10, 10, 0], [8, 40, 0]], np.uint8)


def test_heat_map_first_frames_exact():
    hm = DifferenceHeatMap(n_frames=1)
    np.testing.assert_array_equal(hm.update(F0), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(hm.update(F1), [[0, 4, 10], [0, 10, 0]])
    np.testing.assert_array_equal(hm.update(F2), [[0, 4, 0], [8, 0, 255]])
    assert hm.n_pairs_ == 2


def test_heat_map_decay_exact():
    # n_frames = 2 → λ = 1/2; H_2 = (D_1 / 2 + D_2) / (1/2 + 1).
    hm = DifferenceHeatMap(n_frames=2)
    assert hm.decay == 0.5
    hm.update(F0)
    np.testing.assert_array_equal(hm.update(F1), [[0, 4, 10], [0, 10, 0]])
    expected = np.array([[0, 4, 5 / 1.5], [8 / 1.5, 5 / 1.5, 255 / 1.5]], np.float32)
    np.testing.assert_allclose(hm.update(F2), expected, rtol=1e-6)


def _reference(frames, n_frames):
    lam = 1.0 - 1.0 / n_frames
    out, s, w = [np.zeros(frames[0].shape)], 0.0, 0.0
    for prev, cur in itertools.pairwise(frames):
        s = lam * s + np.abs(cur.astype(np.float64) - prev)
        w = lam * w + 1.0
        out.append(s / w)
    return out


@pytest.mark.parametrize("n_frames", [1.0, 3.0, 7.5])
def test_heat_map_matches_numpy_reference(n_frames):
    rng = np.random.default_rng(4)
    frames = [rng.integers(0, 256, (37, 53), dtype=np.uint8) for _ in range(9)]
    got = list(DifferenceHeatMap(n_frames=n_frames).transform(frames))
    for g, r in zip(got, _reference(frames, n_frames), strict=True):
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, r, rtol=1e-5, atol=1e-4)
    floats = [f.astype(np.float64) / 255 for f in frames]
    got_f = list(DifferenceHeatMap(n_frames=n_frames).transform(floats))
    np.testing.assert_allclose(got_f[-1], _reference(frames, n_frames)[-1] / 255, atol=1e-5)


def test_heat_map_align_hook_sees_previous_and_current():
    calls = []

    def align(prev, cur):
        calls.append((prev.copy(), cur.copy()))
        return np.roll(prev, 1, axis=1)  # a camera pan of one pixel

    a = np.array([[0, 100, 0, 0]], np.uint8)
    b = np.array([[0, 0, 100, 0]], np.uint8)
    hm = DifferenceHeatMap(n_frames=1, align=align)
    hm.update(a)
    np.testing.assert_array_equal(hm.update(b), np.zeros((1, 4)))  # motion compensated
    assert len(calls) == 1
    np.testing.assert_array_equal(calls[0][0], a)


def test_heat_map_rejects_bad_input():
    with pytest.raises(ValueError, match="n_frames: must be a number >= 1"):
        DifferenceHeatMap(n_frames=0.5).update(F0)
    hm = DifferenceHeatMap()
    hm.update(F0)
    with pytest.raises(ValueError, match="differs from the previous frame"):
        hm.update(np.zeros((3, 3), np.uint8))
    with pytest.raises(ValueError, match="greyscale 2-D"):
        hm.update(np.zeros((2, 3, 3), np.uint8))
    with pytest.raises(ValueError, match="NaN"):
        DifferenceHeatMap().update(np.full((2, 2), np.nan))
    hm.reset()
    hm.update(np.zeros((3, 3), np.uint8))  # a new clip may change size after reset


IMG = np.arange(36, dtype=np.int64).reshape(6, 6)


def test_square_crop_centred_with_edge_padding():
    # Box 2x1 at (x 4..6, y 0..1): side ceil(2 * 1.5) = 3, centred: x 3..6, y -1..2.
    crop = square_crop(IMG, (4, 0, 6, 1), margin=1.5)
    np.testing.assert_array_equal(crop, [[3, 4, 5], [3, 4, 5], [9, 10, 11]])
    # Fully inside, margin 1: the box itself (made square around its centre).
    np.testing.assert_array_equal(square_crop(IMG, (1, 1, 3, 3), 1.0), [[7, 8], [13, 14]])
    # Beyond the right/bottom edges the last row/column repeats.
    np.testing.assert_array_equal(
        square_crop(IMG, (5, 5, 6, 6), 3.0), [[28, 29, 29], [34, 35, 35], [34, 35, 35]]
    )
    with pytest.raises(ValueError, match="box: must have positive"):
        square_crop(IMG, (2, 2, 2, 4))


def test_max_pool_shrink_exact():
    a = np.arange(16).reshape(4, 4)
    np.testing.assert_array_equal(max_pool_shrink(a, 2), [[5, 7], [13, 15]])
    b = np.array([[1, 9, 2], [3, 4, 8], [7, 0, 6]])
    # Bins of 3 into 2: [0, 1) and [1, 3).
    np.testing.assert_array_equal(max_pool_shrink(b, 2), [[1, 9], [7, 8]])
    # Smaller than the raster: nearest-neighbour enlargement.
    c = np.array([[1, 2], [3, 4]])
    np.testing.assert_array_equal(max_pool_shrink(c, 3), [[1, 1, 2], [1, 1, 2], [3, 3, 4]])


def test_to_uint8_scales_max_to_255():
    np.testing.assert_array_equal(
        to_uint8(np.array([[0.0, 1.0], [2.0, 4.0]])), [[0, 64], [128, 255]]
    )
    np.testing.assert_array_equal(to_uint8(np.zeros((2, 2))), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="values: must be >= 0"):
        to_uint8(np.array([-1.0, 2.0]))


def _raster_reference(image, box, margin, raster):
    """Pixel-by-pixel loops of the documented crop / shrink / scale rules."""
    x0, y0, x1, y1 = box
    side = max(1, int(np.ceil(max(x1 - x0, y1 - y0) * margin - 1e-9)))
    left, top = (x0 + x1 - side) // 2, (y0 + y1 - side) // 2
    h, w = image.shape
    out = np.zeros((raster, raster))
    for r in range(raster):
        ra, rb = r * side // raster, max((r + 1) * side // raster, r * side // raster + 1)
        for c in range(raster):
            ca, cb = c * side // raster, max((c + 1) * side // raster, c * side // raster + 1)
            out[r, c] = max(
                image[min(max(top + i, 0), h - 1), min(max(left + j, 0), w - 1)]
                for i in range(ra, rb)
                for j in range(ca, cb)
            )
    m = out.max()
    return np.zeros_like(out, np.uint8) if m == 0 else np.rint(out * 255 / m).astype(np.uint8)


def test_object_raster_matches_reference_on_random_boxes():
    rng = np.random.default_rng(11)
    image = rng.random((40, 50)).astype(np.float32) * 30
    for _ in range(40):
        x0, y0 = int(rng.integers(-5, 45)), int(rng.integers(-5, 35))
        box = (x0, y0, x0 + int(rng.integers(1, 40)), y0 + int(rng.integers(1, 40)))
        margin, raster = float(rng.choice([1.0, 1.2, 1.7])), int(rng.choice([5, 7, 31]))
        np.testing.assert_array_equal(
            object_raster(image, box, margin, raster), _raster_reference(image, box, margin, raster)
        )


def test_detect_boxes_components_merge_and_ignore():
    heat = np.zeros((8, 12), np.float32)
    heat[1:3, 1:3] = 20  # blob A (4 px)
    heat[1:3, 5:6] = 30  # blob B, 2 px right of A: merged with merge_distance >= 2
    heat[6, 9:12] = 50  # blob C (3 px)
    heat[4, 0] = 99  # a single hot pixel
    np.testing.assert_array_equal(
        detect_boxes(heat, threshold=10, min_area=2, merge_distance=0),
        [[1, 1, 3, 3], [5, 1, 6, 3], [9, 6, 12, 7]],
    )
    np.testing.assert_array_equal(
        detect_boxes(heat, threshold=10, min_area=2, merge_distance=2),
        [[1, 1, 6, 3], [9, 6, 12, 7]],
    )
    ignore = np.zeros_like(heat, bool)
    ignore[5:, 8:] = True
    np.testing.assert_array_equal(
        detect_boxes(heat, threshold=25, min_area=1, merge_distance=0, ignore=ignore),
        [[5, 1, 6, 3], [0, 4, 1, 5]],
    )
    with pytest.raises(ValueError, match="threshold"):
        detect_boxes(heat, threshold=np.nan)
    with pytest.raises(ValueError, match="connectivity: must be 4 or 8"):
        detect_boxes(heat, connectivity=6)


def test_merge_boxes_is_transitive():
    boxes = np.array([[0, 0, 2, 2], [10, 0, 12, 2], [4, 0, 8, 2]])
    np.testing.assert_array_equal(merge_boxes(boxes, 2), [[0, 0, 12, 2]])
    np.testing.assert_array_equal(merge_boxes(boxes, 1), boxes)


def test_iou_and_tracks():
    assert iou([[0, 0, 2, 2]], [[1, 0, 3, 2]])[0, 0] == pytest.approx(2 / 6)
    frame = np.array([0, 0, 1, 1, 2, 5, 5])
    boxes = np.array(
        [
            [0, 0, 10, 10],  # track 0
            [50, 0, 60, 10],  # track 1
            [52, 0, 62, 10],  # continues 1
            [2, 0, 12, 10],  # continues 0
            [4, 0, 14, 10],  # continues 0
            [8, 0, 18, 10],  # gap of 3 frames: still track 0 with max_gap 3
            [54, 0, 64, 10],  # gap of 4 frames from frame 1: a new track
        ]
    )
    labels = np.zeros(7, int)
    np.testing.assert_array_equal(assign_tracks(frame, boxes, labels), [0, 1, 1, 0, 0, 0, 2])
    # A different label never joins a track.
    labels[3:6] = 1
    np.testing.assert_array_equal(assign_tracks(frame, boxes, labels), [0, 1, 1, 2, 2, 2, 3])


def _components_reference(mask, connectivity):
    """Plain breadth-first flood fill: sorted boxes (x0, y0, x1, y1, area)."""
    h, w = mask.shape
    seen = np.zeros_like(mask)
    steps = [(-1, 0), (1, 0), (0, -1), (0, 1)]
    if connectivity == 8:
        steps += [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    out = []
    for y in range(h):
        for x in range(w):
            if not mask[y, x] or seen[y, x]:
                continue
            seen[y, x] = True
            queue, pixels = [(y, x)], []
            while queue:
                cy, cx = queue.pop()
                pixels.append((cy, cx))
                for dy, dx in steps:
                    ny, nx = cy + dy, cx + dx
                    if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        queue.append((ny, nx))
            ys, xs = zip(*pixels, strict=True)
            out.append((min(xs), min(ys), max(xs) + 1, max(ys) + 1, len(pixels)))
    return sorted(out)


@pytest.mark.parametrize("connectivity", [4, 8])
def test_components_match_flood_fill_reference(connectivity):
    from snnconv import _core

    rng = np.random.default_rng(connectivity)
    for _ in range(20):
        heat = rng.random((int(rng.integers(1, 30)), int(rng.integers(1, 30)))).astype(np.float32)
        ignore = rng.random(heat.shape) < 0.1
        got = _core.components(heat, 0.6, 1, connectivity, ignore)
        expected = _components_reference((heat > 0.6) & ~ignore, connectivity)
        assert sorted(map(tuple, got.tolist())) == expected


def test_heat_map_independent_of_thread_count():
    rng = np.random.default_rng(8)
    frames = [rng.integers(0, 256, (150, 97), dtype=np.uint8) for _ in range(4)]
    one = list(DifferenceHeatMap(n_frames=2.5, n_threads=1).transform(frames))
    two = list(DifferenceHeatMap(n_frames=2.5, n_threads=2).transform(frames))
    for a, b in zip(one, two, strict=True):
        np.testing.assert_array_equal(a, b)

"""End to end on generated NEOVISION2-format clips: reader, frames, object array."""

from __future__ import annotations

import numpy as np
import pytest

from snnconv.datasets.frames import FrameFolder, read_netpbm, write_pgm
from snnconv.datasets.neovision2 import HEADER, TOWER_CLASSES, open_clip
from snnconv.datasets.synth_neovision2 import generate_clip, generate_clips
from snnconv.preprocess import ObjectArray, detect_objects, extract_objects

N_FRAMES = 40


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    return generate_clip(out, index=0, seed=3, n_frames=N_FRAMES, arrival_rate=0.08)


def test_generated_layout_is_neovision2(synth):
    lines = synth.csv_path.read_text().splitlines()
    assert lines[0] == HEADER
    assert sorted(p.name for p in synth.frames_dir.iterdir())[:2] == [
        "frame_000000.pgm",
        "frame_000001.pgm",
    ]
    clip = open_clip(synth.csv_path)
    assert len(clip) == N_FRAMES and clip.frame_size == (180, 320)
    ann = clip.annotations
    assert ann.skipped_empty > 0  # the generator writes a few empty ObjectType rows
    assert set(ann.objects().object_type) <= set(TOWER_CLASSES)
    assert len(ann.dcr()) > 0 and set(ann.dcr().frame) == set(range(N_FRAMES))
    # Objects enter and leave (boxes cut by the frame edges) and some are occluded.
    assert ann.objects().occlusion.any()
    quad = ann.objects().quad
    assert (quad[:, 0::2].min(axis=1) < 0).any() or (quad[:, 0::2].max(axis=1) > 320).any()
    # All five classes over a few clips (sizes and speeds are class specific).
    assert len(set(synth.truth["kind"])) >= 3


def test_generator_is_seeded(tmp_path, synth):
    again = generate_clip(tmp_path, index=0, seed=3, n_frames=N_FRAMES, arrival_rate=0.08)
    assert again.csv_path.read_bytes() == synth.csv_path.read_bytes()
    for t in (0, N_FRAMES - 1):
        name = f"frame_{t:06d}.pgm"
        assert (again.frames_dir / name).read_bytes() == (synth.frames_dir / name).read_bytes()
    other = generate_clip(tmp_path, index=1, seed=3, n_frames=5)
    assert other.csv_path.read_bytes()[:2000] != synth.csv_path.read_bytes()[:2000]


def test_class_models_differ_in_size_and_speed(tmp_path):
    clips = generate_clips(tmp_path, 3, seed=1, n_frames=30, arrival_rate=0.15)
    kind = np.concatenate([c.truth["kind"] for c in clips])
    box = np.concatenate([c.truth["box"] for c in clips])
    assert set(kind) == set(TOWER_CLASSES)
    width = {k: np.median(box[kind == k, 2] - box[kind == k, 0]) for k in TOWER_CLASSES}
    aspect = {
        k: np.median(
            (box[kind == k, 3] - box[kind == k, 1]) / (box[kind == k, 2] - box[kind == k, 0])
        )
        for k in TOWER_CLASSES
    }
    assert width["Person"] < width["Cyclist"] < width["Car"] < width["Truck"] < width["Bus"]
    assert aspect["Person"] > 2 > aspect["Cyclist"] > aspect["Car"] > aspect["Bus"]


def test_every_annotated_object_is_recovered_with_its_label(synth):
    clip = open_clip(synth.csv_path)
    objs = extract_objects([clip], source="frame")
    truth = synth.truth
    assert len(objs) == len(truth["frame"])
    got = {
        (int(f), *map(int, b)): objs.classes[label]
        for f, b, label in zip(objs.frame, objs.boxes, objs.labels, strict=True)
    }
    w = 320
    for f, b, kind in zip(truth["frame"], truth["box"], truth["kind"], strict=True):
        clipped = (int(f), max(0, b[0]), max(0, b[1]), min(w, b[2]), min(180, b[3]))
        assert got[clipped] == kind
    # Tracks found by IoU linking are exactly the generator's objects.
    pairs = set(zip(objs.track.tolist(), truth["track"].tolist(), strict=True))
    assert len(pairs) == len(set(objs.track.tolist())) == len(set(truth["track"].tolist()))
    # Crops of the grey frame are full-range uint8 rasters.
    assert objs.images.shape == (len(objs), 31, 31) and objs.images.dtype == np.uint8
    assert (objs.images.reshape(len(objs), -1).max(axis=1) == 255).all()


def test_heat_crops_show_the_moving_objects(synth):
    clip = open_clip(synth.csv_path)
    objs = extract_objects([clip], source="heat", skip_occluded=True)
    assert objs.info["skipped"]["first_frame"] == int((synth.truth["frame"] == 0).sum())
    # A moving vehicle's heat crop is brighter inside its box than in the margin ring.
    vehicles = np.isin(np.array(objs.classes)[objs.labels], ["Car", "Truck", "Bus"])
    inner = objs.images[:, 4:27, 4:27].reshape(len(objs), -1).mean(axis=1)
    ring = (objs.images.reshape(len(objs), -1).sum(axis=1) - inner * 23 * 23) / (31 * 31 - 23 * 23)
    assert vehicles.sum() > 20
    assert np.mean(inner[vehicles] > ring[vehicles]) > 0.9


def test_every_and_filters(synth):
    clip = open_clip(synth.csv_path)
    full = extract_objects([clip], source="frame")
    sub = extract_objects([clip], source="frame", every=5, classes=("Car", "Person"))
    assert sub.classes == ("Car", "Person")
    full_track = {
        (int(f), *map(int, b)): int(t)
        for f, b, t in zip(full.frame, full.boxes, full.track, strict=True)
    }
    assert len(sub) > 0
    for track in np.unique(sub.track):
        rows = np.flatnonzero(sub.track == track)
        same = {full_track[(int(sub.frame[i]), *map(int, sub.boxes[i]))] for i in rows}
        assert len(same) == 1  # one object of the full array
        all_frames = np.sort(full.frame[full.track == same.pop()])
        np.testing.assert_array_equal(np.sort(sub.frame[rows]), all_frames[::5])
    with pytest.raises(ValueError, match="every: must be an integer >= 1"):
        extract_objects([clip], every=0)
    with pytest.raises(ValueError, match="source: must be one of"):
        extract_objects([clip], source="rgb")


def test_detector_finds_moving_vehicles_and_ignores_dcr(synth):
    clip = open_clip(synth.csv_path)
    det = detect_objects([clip])
    assert (det.labels == -1).all() and det.class_counts() == {"?": len(det)}
    truth = synth.truth
    speed_ok = np.isin(truth["kind"], ["Car", "Truck", "Bus"])
    inside = (truth["box"][:, 0] >= 0) & (truth["box"][:, 2] <= 320)
    wanted = np.flatnonzero(speed_ok & inside & ~truth["occlusion"] & (truth["frame"] >= 2))
    assert len(wanted) > 20
    hits = 0
    for i in wanted:
        x0, y0, x1, y1 = truth["box"][i]
        boxes = det.boxes[det.frame == truth["frame"][i]]
        iw = np.clip(np.minimum(boxes[:, 2], x1) - np.maximum(boxes[:, 0], x0), 0, None)
        ih = np.clip(np.minimum(boxes[:, 3], y1) - np.maximum(boxes[:, 1], y0), 0, None)
        hits += bool(((iw * ih) >= 0.7 * (x1 - x0) * (y1 - y0)).any())
    # Uniform bodies show only their edges in a heat map and can split in two, so
    # recall is not perfect in general; on this clip every vehicle is found.
    assert hits / len(wanted) > 0.9
    # Nothing is detected inside the flickering DCR regions.
    dcr = clip.annotations.dcr().boxes(320, 180)
    for x0, y0, x1, y1 in dcr:
        inside_dcr = (det.boxes[:, 0] >= x0) & (det.boxes[:, 2] <= x1)
        inside_dcr &= (det.boxes[:, 1] >= y0) & (det.boxes[:, 3] <= y1)
        assert not inside_dcr.any()


def test_object_array_save_load(tmp_path, synth):
    objs = extract_objects([open_clip(synth.csv_path)], every=4)
    path = objs.save(tmp_path / "objects.npz")
    back = ObjectArray.load(path)
    for name in ("images", "labels", "clip", "track", "frame", "boxes"):
        np.testing.assert_array_equal(getattr(back, name), getattr(objs, name))
    assert back.classes == TOWER_CLASSES and back.clip_names == (synth.name,)
    assert back.info == objs.info
    assert sum(back.class_counts().values()) == len(back)
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match=r"junk\.npz"):
        ObjectArray.load(tmp_path / "junk.npz")


def test_annotations_beyond_the_frames_are_an_error(tmp_path, synth):
    short = tmp_path / "short"
    short.mkdir()
    for t in range(3):
        write_pgm(short / f"f{t}.pgm", np.zeros((180, 320), np.uint8))
    clip = open_clip(synth.csv_path, frames=short)
    with pytest.raises(ValueError, match="the clip has 3 frames"):
        extract_objects([clip], source="heat")


def test_frame_folder_rules(tmp_path):
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    for t in (1, 2, 3):  # ffmpeg numbering from 1: the first file is frame 0
        write_pgm(tmp_path / f"{t:04d}.pgm", img + t)
    folder = FrameFolder(tmp_path)
    assert len(folder) == 3 and folder.frame_size == (3, 4)
    np.testing.assert_array_equal(folder.read(0), img + 1)
    np.testing.assert_array_equal(list(folder)[2], img + 3)
    (tmp_path / "0007.pgm").write_bytes((tmp_path / "0001.pgm").read_bytes())
    with pytest.raises(ValueError, match="not contiguous"):
        FrameFolder(tmp_path)
    with pytest.raises(FileNotFoundError, match="frame folder not found"):
        FrameFolder(tmp_path / "nope")


def test_netpbm_reader(tmp_path):
    (tmp_path / "c.pgm").write_bytes(b"P5\n# a comment\n3 2\n15\n" + bytes([0, 15, 5, 10, 1, 2]))
    np.testing.assert_array_equal(read_netpbm(tmp_path / "c.pgm"), [[0, 255, 85], [170, 17, 34]])
    rgb = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255])
    (tmp_path / "c.ppm").write_bytes(b"P6 2 2 255\n" + rgb)
    np.testing.assert_array_equal(read_netpbm(tmp_path / "c.ppm"), [[76, 150], [29, 255]])
    (tmp_path / "t.pgm").write_bytes(b"P5\n3 2\n255\n" + bytes(4))
    with pytest.raises(ValueError, match="truncated"):
        read_netpbm(tmp_path / "t.pgm")
    (tmp_path / "a.pgm").write_bytes(b"P2\n3 2\n255\n0 0 0 0 0 0")
    with pytest.raises(ValueError, match="not a binary PGM/PPM"):
        read_netpbm(tmp_path / "a.pgm")


def test_png_frames_through_pillow(tmp_path):
    pil = pytest.importorskip("PIL.Image", reason="Pillow (extra 'video') not installed")
    clip = generate_clip(tmp_path, 0, seed=5, n_frames=3, image_format="png")
    png = FrameFolder(clip.frames_dir)
    pgm_clip = generate_clip(tmp_path / "pgm", 0, seed=5, n_frames=3)
    np.testing.assert_array_equal(
        png.read(2), read_netpbm(pgm_clip.frames_dir / "frame_000002.pgm")
    )
    rgb = np.zeros((2, 2, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    pil.fromarray(rgb).save(tmp_path / "x_0.png")
    folder = tmp_path / "rgb"
    folder.mkdir()
    (tmp_path / "x_0.png").rename(folder / "x_0.png")
    assert FrameFolder(folder).read(0)[0, 0] == 76  # Pillow's "L" luma, as to_grey

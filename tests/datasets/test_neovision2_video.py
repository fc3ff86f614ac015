"""The NEOVISION2 video path for real: a synthetic clip encoded as H.264 (PyAV, extra
``video``) gives the same objects as the same clip read from its PNG frames, up to the
codec's loss."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from snnconv.cli import main
from snnconv.preprocess import ObjectArray

av = pytest.importorskip("av", reason="PyAV is not installed (extra 'video')")
pytest.importorskip("imageio", reason="imageio is not installed (extra 'video')")
pytest.importorskip("PIL", reason="Pillow is not installed (extra 'video')")

#: H.264 at crf 0 in yuv420p keeps luma up to the studio-range conversion (about half a
#: grey level on average). Each crop is then contrast-stretched to uint8, which magnifies
#: that rounding in flat crops: measured here, mean 1.5, 99th percentile 7, max 32 levels.
MEAN_ABS_TOLERANCE = 3.0
P99_ABS_TOLERANCE = 12
MAX_ABS_TOLERANCE = 64


def _encode_h264(frames: list[np.ndarray], path) -> None:
    h, w = frames[0].shape
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30, options={"crf": "0"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="gray")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def test_prepare_from_h264_matches_png_frames(tmp_path):
    if "libx264" not in av.codecs_available:
        pytest.skip("this PyAV build has no libx264 encoder")
    from PIL import Image

    src = tmp_path / "png"
    synth = ["neovision2", "synth", "--clips", "1", "--out", str(src), "--frames", "24"]
    assert main([*synth, "--width", "192", "--height", "112", "--format", "png"]) == 0
    name = "Neovision2-Synth-Tower-001"
    pngs = sorted((src / name).glob("*.png"))
    assert len(pngs) == 24
    frames = [np.asarray(Image.open(p).convert("L")) for p in pngs]

    video_dir = tmp_path / "video"
    video_dir.mkdir()
    shutil.copy(src / f"{name}.csv", video_dir / f"{name}.csv")
    video = video_dir / f"{name}.mp4"
    _encode_h264(frames, video)

    from_png, from_video = tmp_path / "png.npz", tmp_path / "video.npz"
    assert (
        main(["neovision2", "prepare", str(src / f"{name}.csv"), "--out", str(from_png), "--quiet"])
        == 0
    )
    assert main(["neovision2", "prepare", str(video), "--out", str(from_video), "--quiet"]) == 0
    a, b = ObjectArray.load(from_png), ObjectArray.load(from_video)

    assert len(a) > 0 and len(a) == len(b)
    for field in ("labels", "clip", "track", "frame", "boxes"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)
    diff = np.abs(a.images.astype(np.int16) - b.images.astype(np.int16))
    print(f"codec loss: mean {diff.mean():.2f}, p99 {np.percentile(diff, 99)}, max {diff.max()}")
    assert diff.mean() <= MEAN_ABS_TOLERANCE, diff.mean()
    assert np.percentile(diff, 99) <= P99_ABS_TOLERANCE, np.percentile(diff, 99)
    assert diff.max() <= MAX_ABS_TOLERANCE, diff.max()

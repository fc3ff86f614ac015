"""Frames are read one at a time, and the video path's plumbing (with a stand-in
for imageio, which the tests never require)."""

from __future__ import annotations

import sys
import types
import weakref

import numpy as np
import pytest

import snnconv.datasets.frames as frames_mod
from snnconv.datasets.frames import VideoFrames
from snnconv.datasets.neovision2 import open_clip
from snnconv.datasets.synth_neovision2 import generate_clip
from snnconv.preprocess import extract_objects


def test_extraction_never_holds_more_than_a_few_frames(tmp_path, monkeypatch):
    synth = generate_clip(tmp_path, 0, seed=2, n_frames=30)
    alive, peak, reads = set(), [0], [0]
    real = frames_mod.read_image

    def counting(path, size_only=False):
        out = real(path, size_only)
        if not size_only:
            reads[0] += 1
            key = reads[0]
            alive.add(key)
            weakref.finalize(out, alive.discard, key)
            peak[0] = max(peak[0], len(alive))
        return out

    monkeypatch.setattr(frames_mod, "read_image", counting)
    objs = extract_objects([open_clip(synth.csv_path)], source="heat")
    assert len(objs) > 0
    assert reads[0] == int(synth.truth["frame"].max()) + 1  # each frame decoded once
    assert peak[0] <= 3  # current + previous (+ one being replaced)


def _fake_imageio(frames: list[np.ndarray]) -> types.ModuleType:
    v3 = types.ModuleType("imageio.v3")
    v3.improps = lambda path, plugin: types.SimpleNamespace(shape=(len(frames), *frames[0].shape))
    v3.imiter = lambda path, plugin: iter(frames)
    pkg = types.ModuleType("imageio")
    pkg.v3 = v3
    return pkg


def test_video_frames_are_converted_to_grey(tmp_path, monkeypatch):
    rgb = [np.zeros((4, 6, 3), np.uint8) for _ in range(3)]
    rgb[1][0, 0] = (255, 0, 0)
    rgb[2][:] = 255
    pkg = _fake_imageio(rgb)
    monkeypatch.setitem(sys.modules, "imageio", pkg)
    monkeypatch.setitem(sys.modules, "imageio.v3", pkg.v3)
    video = tmp_path / "Clip-001.mpg"
    video.write_bytes(b"")
    (tmp_path / "Clip-001.csv").write_text(
        "Frame,BoundingBox_X1,BoundingBox_Y1,BoundingBox_X2,BoundingBox_Y2,BoundingBox_X3,"
        "BoundingBox_Y3,BoundingBox_X4,BoundingBox_Y4,ObjectType,Occlusion,Ambiguous,"
        "Confidence,SiteInfo,Version\n2,0,0,3,0,3,2,0,2,Car,FALSE,FALSE,1,,1.4\n"
    )
    clip = open_clip(tmp_path / "Clip-001.csv")
    assert isinstance(clip.frames, VideoFrames)
    assert len(clip) == 3 and clip.frame_size == (4, 6)
    assert clip.frame(1)[0, 0] == 76 and clip.frame(2).min() == 255
    with pytest.raises(IndexError):
        clip.frame(3)
    objs = extract_objects([clip], source="heat", raster=3)
    assert len(objs) == 1 and objs.frame.tolist() == [2]


def test_missing_video_extra_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "imageio", None)
    monkeypatch.setitem(sys.modules, "imageio.v3", None)
    (tmp_path / "x.mpg").write_bytes(b"")
    with pytest.raises(ImportError, match=r"pip install 'snnconv\[video\]'"):
        VideoFrames(tmp_path / "x.mpg")

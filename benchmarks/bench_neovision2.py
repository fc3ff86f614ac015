"""NEOVISION2 pipeline speed and memory, on synthetic 1920×1080 clips.

Run: ``python -m pytest benchmarks/bench_neovision2.py --benchmark-only -s``.
Each speed test also times a straightforward numpy (+ scipy.ndimage) version of the
same step in the same run and prints the ratio; the memory test runs
``snnconv neovision2 prepare`` on a 1,000-frame 1920×1080 clip in a subprocess and
prints its peak RSS next to the clip's decoded size.
"""

from __future__ import annotations

import csv
import itertools
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from snnconv.datasets.neovision2 import open_clip
from snnconv.datasets.synth_neovision2 import generate_clip
from snnconv.preprocess import DifferenceHeatMap, detect_boxes

HD = (1080, 1920)
N_DISTINCT = 12


@pytest.fixture(scope="module")
def hd_clip(tmp_path_factory):
    out = tmp_path_factory.mktemp("hd")
    synth = generate_clip(out, 0, seed=0, n_frames=N_DISTINCT, frame_size=HD)
    clip = open_clip(synth.csv_path)
    return synth, clip, [clip.frame(t) for t in range(N_DISTINCT)]


def _numpy_heat_and_boxes(frames, ignore, threshold=6.0, n_frames=3.0):
    """The same step in numpy + scipy.ndimage: the reference for the ratio."""
    ndi = pytest.importorskip("scipy.ndimage")
    lam = 1.0 - 1.0 / n_frames
    s = np.zeros(frames[0].shape, np.float32)
    w = 0.0
    for prev, cur in itertools.pairwise(frames):
        s = lam * s + np.abs(cur.astype(np.float32) - prev.astype(np.float32))
        w = lam * w + 1.0
        heat = s / w
        labels, _ = ndi.label((heat > threshold) & ~ignore, structure=np.ones((3, 3)))
        ndi.find_objects(labels)


def _snnconv_heat_and_boxes(frames, ignore):
    hm = DifferenceHeatMap(n_frames=3.0)
    for f in frames:
        heat = hm.update(f)
        if hm.n_pairs_:
            detect_boxes(heat, ignore=ignore)


def test_heat_map_and_detection_fps(benchmark, hd_clip):
    _synth, clip, frames = hd_clip
    ignore = clip.ignore_mask(0)
    t0 = time.perf_counter()
    _numpy_heat_and_boxes(frames, ignore)
    ref = (time.perf_counter() - t0) / (len(frames) - 1)
    benchmark.pedantic(_snnconv_heat_and_boxes, (frames, ignore), rounds=3, iterations=1)
    ours = benchmark.stats["mean"] / (len(frames) - 1)
    benchmark.extra_info.update(fps=1 / ours, numpy_scipy_fps=1 / ref)
    print(
        f"\nheat map + detection, 1920x1080: {1 / ours:.1f} frames/s "
        f"(numpy+scipy reference {1 / ref:.1f} frames/s, speed-up x{ref / ours:.2f})"
    )


def test_extraction_fps(benchmark, hd_clip):
    """Annotated objects → heat-map crops, frames decoded from disk (PGM)."""
    from snnconv.preprocess import extract_objects

    _synth, clip, _ = hd_clip
    objs = benchmark.pedantic(extract_objects, ([clip],), rounds=3, iterations=1)
    fps = N_DISTINCT / benchmark.stats["mean"]
    benchmark.extra_info.update(fps=fps, objects=len(objs))
    print(f"\nextraction from annotations, 1920x1080: {fps:.1f} frames/s, {len(objs)} crops")


def _long_clip(tmp_path, synth, n_frames):
    """A clip of ``n_frames`` frames made of symlinks to the distinct ones (same pixels,
    no 2 GB on disk) and an annotation CSV repeating theirs."""
    folder = tmp_path / "Long-Tower-001"
    folder.mkdir()
    for t in range(n_frames):
        src = synth.frames_dir / f"frame_{t % N_DISTINCT:06d}.pgm"
        os.symlink(src, folder / f"frame_{t:06d}.pgm")
    with open(synth.csv_path, newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    with open(tmp_path / "Long-Tower-001.csv", "w", newline="") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        for rep in range(n_frames // N_DISTINCT):
            for r in body:
                w.writerow([str(int(r[0]) + rep * N_DISTINCT), *r[1:]])
    return tmp_path / "Long-Tower-001.csv"


_PEAK = (
    "import sys\n"
    "from snnconv.cli import main\n"
    "if sys.argv[1:]:\n"
    "    assert main(sys.argv[1:]) == 0\n"
    "else:\n"
    "    import snnconv.preprocess, snnconv.datasets.neovision2\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
    "print(int(hwm.split()[1]))\n"
)


def _peak_rss_kib(args):
    """Peak RSS of a fresh interpreter running ``snnconv ARGS``, read from its own
    /proc/self/status (VmHWM belongs to the exec'd image; rusage of children would
    include the forked copy of this big test process)."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *args], check=True, capture_output=True, text=True
    )
    return int(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs Linux /proc")
def test_long_clip_peak_rss(benchmark, hd_clip, tmp_path):
    synth, _, _ = hd_clip
    n = 1008  # 84 repetitions of the 12 distinct frames
    csv_path = _long_clip(tmp_path, synth, n)
    base_kib = _peak_rss_kib([])
    args = ["neovision2", "prepare", str(csv_path), "--out", str(tmp_path / "o.npz"), "--quiet"]
    t0 = time.perf_counter()
    peak_kib = benchmark.pedantic(_peak_rss_kib, (args,), rounds=1)
    seconds = time.perf_counter() - t0
    clip_mib = n * HD[0] * HD[1] / 2**20
    benchmark.extra_info.update(peak_rss_mib=peak_kib / 1024, clip_mib=clip_mib)
    print(
        f"\nprepare on a {n}-frame 1920x1080 clip: {n / seconds:.1f} frames/s end to end, "
        f"peak RSS {peak_kib / 1024:.0f} MiB (interpreter + imports alone: "
        f"{base_kib / 1024:.0f} MiB; the decoded clip would be {clip_mib:.0f} MiB)"
    )

"""Synthetic N-MNIST: MNIST digits seen by a simulated event camera making saccades.

This is *synthetic* data for tests and demos, not N-MNIST. It imitates how N-MNIST was
recorded (a camera moved in three saccades over a still digit): each 28 × 28 digit is
drawn at the centre of a 34 × 34 sensor and moved along a triangle (three straight
saccades of ``saccade_us`` each, with smooth-step velocity), rendered every
``frame_us`` with bilinear interpolation, and turned into events by the DVS pixel model
of :mod:`.dvs` (a contrast threshold on log intensity) with a little shot noise. Each
sample has its own seeded stream (``seed``, sample index), with a jittered triangle,
so the tree is the same on every machine and run.

:func:`write_synthetic_nmnist` writes the published folder layout
(``ROOT/Train/<label>/<index>.bin``, ``ROOT/Test/...``) that
:func:`~snnconv.events.nmnist.load_nmnist` reads.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..exceptions import DataError, ParameterError
from .dvs import emulate, log_intensity
from .nmnist import write_nmnist_bin
from .stream import NMNIST_SENSOR

#: The triangle's corners, in pixels from the centred position (x, y).
_TRIANGLE = np.array([[-2.0, -2.0], [2.0, 0.0], [-1.0, 2.0], [-2.0, -2.0]])


def _render(image: np.ndarray, dx: np.ndarray, dy: np.ndarray, size: int) -> np.ndarray:
    """Frames (T, size, size): ``image`` (float, h × w) drawn at the centre of a
    ``size`` square shifted by (dx[k], dy[k]), bilinear; outside the image is 0."""
    h, w = image.shape
    # sensor pixel (r, c) of frame k samples the image at (r - oy[k], c - ox[k])
    r = np.arange(size)[None, :] - ((size - h) / 2 + np.asarray(dy))[:, None]
    c = np.arange(size)[None, :] - ((size - w) / 2 + np.asarray(dx))[:, None]
    r0, c0 = np.floor(r).astype(np.intp), np.floor(c).astype(np.intp)
    fr, fc = (r - r0)[:, :, None], (c - c0)[:, None, :]
    pad = np.zeros((h + 2, w + 2))
    pad[1:-1, 1:-1] = image

    def take(rr: np.ndarray, cc: np.ndarray) -> np.ndarray:
        rr = np.clip(rr + 1, 0, h + 1)
        cc = np.clip(cc + 1, 0, w + 1)
        return pad[rr[:, :, None], cc[:, None, :]]

    top = take(r0, c0) * (1 - fc) + take(r0, c0 + 1) * fc
    bottom = take(r0 + 1, c0) * (1 - fc) + take(r0 + 1, c0 + 1) * fc
    return top * (1 - fr) + bottom * fr


SYNTH_THRESHOLD = 0.4
"""The synthetic tree's contrast threshold (log units, about a 50 % change): about
4,500 events per digit, near N-MNIST's 4,000."""


def saccade_events(
    image: np.ndarray,
    rng: np.random.Generator,
    sensor: int = NMNIST_SENSOR[0],
    saccade_us: int = 100_000,
    frame_us: int = 2000,
    threshold: float = SYNTH_THRESHOLD,
    noise_hz: float = 0.5,
) -> np.ndarray:
    """The events of one digit (uint8, h × w) seen through three saccades."""
    img = np.asarray(image)
    if img.ndim != 2 or img.shape[0] > sensor or img.shape[1] > sensor:
        raise DataError(f"image: expected a 2-D image at most {sensor} square, got {img.shape}")
    corners = _TRIANGLE + rng.uniform(-0.5, 0.5, _TRIANGLE.shape)
    corners[-1] = corners[0]
    per = saccade_us // frame_us
    s = np.arange(per) / per
    ease = s * s * (3 - 2 * s)  # smooth-step: the camera accelerates and stops
    path = [corners[k] + ease[:, None] * (corners[k + 1] - corners[k]) for k in range(3)]
    path.append(corners[-1][None, :])
    pos = np.concatenate(path)
    g = img.astype(np.float64) / 255.0
    frames = _render(g, pos[:, 0], pos[:, 1], sensor)
    times = np.arange(len(pos), dtype=np.float64) * frame_us
    return emulate(log_intensity(frames), times, threshold, noise_hz, rng)


def write_synthetic_nmnist(
    out: str | os.PathLike[str],
    images: np.ndarray,
    labels: np.ndarray,
    n_train: int = 2000,
    n_test: int = 500,
    seed: int = 0,
    threshold: float = SYNTH_THRESHOLD,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Writes ``n_train`` + ``n_test`` samples drawn (seeded, without repetition) from
    ``images``/``labels`` as an N-MNIST tree under ``out``; returns ``out``.

    The settings are recorded in ``ROOT/synth.json`` before the first sample: an
    interrupted call resumes (files already written are kept), and a call with other
    settings on the same folder is refused. A ``README.txt`` says the data are synthetic.
    """
    if n_train < 1 or n_test < 1 or n_train + n_test > len(labels):
        raise ParameterError(
            f"n_train, n_test: each >= 1 with a sum at most {len(labels)}, "
            f"got {n_train} and {n_test}"
        )
    root = Path(out)
    settings = {
        "generator": "snnconv synthetic saccades",
        "seed": int(seed),
        "n_train": int(n_train),
        "n_test": int(n_test),
        "threshold": float(threshold),
        "n_source": len(labels),
    }
    stamp = root / "synth.json"
    if stamp.exists():
        try:
            old = json.loads(stamp.read_text())
        except ValueError:
            old = None
        if old != settings:
            raise ParameterError(
                f"out: {root} holds a synthetic tree written with other settings "
                f"({old}); use another folder"
            )
    root.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(settings, indent=1) + "\n")
    order = np.random.default_rng(seed).permutation(len(labels))[: n_train + n_test]
    total = len(order)
    for k, i in enumerate(order):
        split = "Train" if k < n_train else "Test"
        folder = root / split / str(int(labels[i]))
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{int(i):05d}.bin"
        if not path.exists():
            rng = np.random.default_rng([seed, int(i)])
            write_nmnist_bin(path, saccade_events(images[i], rng, threshold=threshold))
        if progress is not None:
            progress(k + 1, total)
    (root / "README.txt").write_text(
        "Synthetic N-MNIST-layout event data written by `snnconv events synth`: MNIST digits\n"
        "moved in three simulated saccades in front of a simulated DVS (contrast threshold\n"
        f"{threshold} in log intensity). Not recorded with a camera; not N-MNIST.\n"
        f"seed={seed} n_train={n_train} n_test={n_test}\n"
    )
    return root

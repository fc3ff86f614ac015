"""Event-camera input: event streams (tonic's ``x``, ``y``, ``t``, ``p`` arrays), the
N-MNIST binary format, binning into spike-count rasters, filters, a DVS pixel model and
a synthetic N-MNIST generator."""

from __future__ import annotations

from .binning import count_frames, count_scale, raster_index, to_frames, to_images
from .dvs import emulate, log_intensity
from .filters import denoise, refractory
from .nmnist import (
    decode_nmnist_bytes,
    encode_nmnist_bytes,
    load_nmnist,
    read_nmnist_bin,
    write_nmnist_bin,
)
from .stream import EVENT_DTYPE, NMNIST_SENSOR, EventSet, check_events, make_events
from .synth import saccade_events, write_synthetic_nmnist

__all__ = [
    "EVENT_DTYPE",
    "NMNIST_SENSOR",
    "EventSet",
    "check_events",
    "count_frames",
    "count_scale",
    "decode_nmnist_bytes",
    "denoise",
    "emulate",
    "encode_nmnist_bytes",
    "load_nmnist",
    "log_intensity",
    "make_events",
    "raster_index",
    "read_nmnist_bin",
    "refractory",
    "saccade_events",
    "to_frames",
    "to_images",
    "write_nmnist_bin",
    "write_synthetic_nmnist",
]

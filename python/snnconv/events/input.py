"""Event streams as estimator input: what ``CSNNClassifier`` does with a list of
event arrays.

The estimators' front-end takes one input channel today, so a sample's events enter
as its event-count image: both polarities' counts summed per pixel
(:func:`~snnconv.events.binning.count_frames`), scaled so that the count
:func:`~snnconv.events.binning.count_scale` finds on the *training* streams maps to 255
(the same scale is reused for every later call) and clipped to uint8.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..exceptions import ParameterError
from .binning import count_frames, count_scale, to_images
from .stream import check_sensor_size


def is_event_input(x: Any) -> bool:
    """True for a structured array with an ``x`` field or a non-empty list/tuple of them."""
    if isinstance(x, np.ndarray):
        return x.dtype.names is not None and "x" in x.dtype.names
    if isinstance(x, (list, tuple)) and len(x):
        first = x[0]
        return isinstance(first, np.ndarray) and first.dtype.names is not None
    return False


def event_images(
    streams: Sequence[np.ndarray], sensor_size: Sequence[int] | None, scale: float | None
) -> tuple[np.ndarray, float]:
    """uint8 count images (N, H, W) of ``streams`` and the scale used (``scale``, or
    the training streams' own when None)."""
    if sensor_size is None:
        raise ParameterError(
            "sensor_size: event streams need the sensor's (width, height, polarities), "
            "e.g. (34, 34, 2) for N-MNIST"
        )
    check_sensor_size(sensor_size)
    if isinstance(streams, np.ndarray):
        streams = [streams]
    frames = count_frames(list(streams), sensor_size)
    if scale is None:
        scale = count_scale(frames)
    return to_images(frames, scale), float(scale)

"""The two CNN baselines of docs/algorithms.md §7 as backend-neutral layer lists.

CNN1: conv 32×4×4 stride 1, ReLU, max-pool 2, conv 64×3×3, ReLU, max-pool 2, flatten,
dropout 0.5, dense softmax. CNN2: conv 28×9×9 stride 2, ReLU, max-pool 2, flatten,
dropout 0.5, dense softmax. Pooling floors odd sizes (PyTorch's default).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..exceptions import DataError


@dataclass(frozen=True)
class Conv:
    filters: int
    kernel: int
    stride: int


@dataclass(frozen=True)
class Pool:
    size: int = 2


ARCHITECTURES: dict[str, tuple[Conv | Pool, ...]] = {
    "cnn1": (Conv(32, 4, 1), Pool(2), Conv(64, 3, 1), Pool(2)),
    "cnn2": (Conv(28, 9, 2), Pool(2)),
}
"""Feature stages; every Conv is followed by ReLU, and the stages by flatten → dropout →
dense softmax."""


def feature_shape(arch: str, h: int, w: int) -> tuple[int, int, int]:
    """(height, width, channels) after the feature stages; ValueError if an image of
    h×w is too small for them."""
    c = 1
    for layer in ARCHITECTURES[arch]:
        if isinstance(layer, Conv):
            if h < layer.kernel or w < layer.kernel:
                raise DataError(
                    f"images: {h}x{w} maps are too small for the {layer.kernel}x{layer.kernel} "
                    f"convolution of {arch.upper()}"
                )
            h = (h - layer.kernel) // layer.stride + 1
            w = (w - layer.kernel) // layer.stride + 1
            c = layer.filters
        else:
            h, w = h // layer.size, w // layer.size
            if h < 1 or w < 1:
                raise DataError(f"images: too small for the pooling of {arch.upper()}")
    return h, w, c

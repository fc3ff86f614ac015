"""Type stubs for the compiled core (rust/python/)."""

import numpy as np
import numpy.typing as npt

__version__: str

def preprocess(
    images: npt.NDArray[np.uint8] | npt.NDArray[np.float64],
    saturation_quantile: float | None = None,
    n_threads: int | None = None,
) -> npt.NDArray[np.float64]: ...
def permutation(n: int, seed: int, epoch: int) -> npt.NDArray[np.uint64]: ...
def conv_features(
    images: npt.NDArray[np.float64],
    kernels: npt.NDArray[np.float64],
    stride: int,
    n_threads: int | None = None,
) -> npt.NDArray[np.float32]: ...

class StreamQuantile:
    def __init__(self, q: float) -> None: ...
    def count(self, values: npt.NDArray[np.float64]) -> None: ...
    def locate(self) -> bool: ...
    def collect(self, values: npt.NDArray[np.float64]) -> None: ...
    def finish(self) -> float | None: ...

class KernelLearnerCore:
    def __init__(
        self,
        kernel_size: int,
        n_kernels: int,
        stride: int,
        w_min: float,
        w_max: float,
        learning_rate: float,
        brightness_threshold: float,
        seed: int,
        initial_resource: npt.NDArray[np.float64] | None = None,
    ) -> None: ...
    @staticmethod
    def restore(
        kernel_size: int,
        n_kernels: int,
        stride: int,
        w_min: float,
        w_max: float,
        learning_rate: float,
        brightness_threshold: float,
        seed: int,
        resource: npt.NDArray[np.float64],
        weights: npt.NDArray[np.float64],
        fired: list[bool],
        images_seen: int,
    ) -> KernelLearnerCore: ...
    def learn(
        self,
        images: npt.NDArray[np.float64],
        order: npt.NDArray[np.uint64] | None = None,
        n_threads: int | None = None,
    ) -> npt.NDArray[np.uint32]: ...
    @property
    def weights(self) -> npt.NDArray[np.float64]: ...
    @property
    def resource(self) -> npt.NDArray[np.float64]: ...
    @property
    def fired(self) -> list[bool]: ...
    @property
    def images_seen(self) -> int: ...

class ColanetCore:
    """An ensemble of spiking ("spiking") or digital ("digital") CoLaNET copies."""

    def __init__(
        self, kind: str, params: dict[str, float | int], n_copies: int, seed: int
    ) -> None: ...
    def train(
        self,
        x: npt.NDArray[np.uint8],
        y: npt.NDArray[np.int64],
        n_threads: int | None = None,
    ) -> None: ...
    def votes(
        self, x: npt.NDArray[np.uint8], n_threads: int | None = None
    ) -> npt.NDArray[np.float64]: ...
    def restore(
        self,
        resource: npt.NDArray[np.float64],
        free: npt.NDArray[np.float64],
        stability: npt.NDArray[np.float64],
        counters: npt.NDArray[np.uint64],
        seen: int,
    ) -> None: ...
    @property
    def resource(self) -> npt.NDArray[np.float64]: ...
    @property
    def weights(self) -> npt.NDArray[np.float64]: ...
    @property
    def free(self) -> npt.NDArray[np.float64]: ...
    @property
    def stability(self) -> npt.NDArray[np.float64]: ...
    @property
    def counters(self) -> npt.NDArray[np.uint64]: ...
    @property
    def seen(self) -> int: ...
    def trace(
        self, copy: int, counts: npt.NDArray[np.uint8], label: int | None = None, seed: int = 0
    ) -> dict[str, npt.NDArray[np.generic]]: ...

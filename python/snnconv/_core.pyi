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

class UlsnnCore:
    """The ULSNN engine (rust/ulsnn/): weights are (n_inputs, n_neurons), input-major."""

    def __init__(
        self,
        n_inputs: int,
        n_neurons: int,
        time: int,
        intensity: float,
        intensity_step: float,
        max_retries: int,
        min_spikes: int,
        exc: float,
        inh: float,
        nu_pre: float,
        nu_post: float,
        norm: float,
        theta_plus: float,
        tc_theta_decay: float,
        one_spike: bool,
        seed: int,
        weights: npt.NDArray[np.float64] | None = None,
        theta: npt.NDArray[np.float64] | None = None,
        images_seen: int = 0,
    ) -> None: ...
    def train(self, images: npt.NDArray[np.float64]) -> npt.NDArray[np.uint32]: ...
    def respond(
        self,
        images: npt.NDArray[np.float64],
        first_index: int = 0,
        n_threads: int | None = None,
    ) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint32]]: ...
    def raster(
        self, image: npt.NDArray[np.float64], index: int = 0
    ) -> tuple[npt.NDArray[np.uint8], int]: ...
    @property
    def weights(self) -> npt.NDArray[np.float64]: ...
    @property
    def theta(self) -> npt.NDArray[np.float64]: ...
    @property
    def images_seen(self) -> int: ...

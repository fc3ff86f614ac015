"""Type stubs for the compiled core (rust/python/)."""

from typing import Any

import numpy as np
import numpy.typing as npt

__version__: str
__git_commit__: str

# The core classes take their hyperparameters as one dict (extra keys are ignored):
# KernelLearnerCore: kernel_size, n_kernels, stride, w_min, w_max, learning_rate,
#   brightness_threshold.
# ConvSNNCore: stride, pool, tau (None = no leak), threshold, frame_steps, active_steps,
#   encoding, max_rate, reset_carry, reset.
# UlsnnCore: n_inputs, n_neurons, time, intensity, intensity_step, max_retries,
#   min_spikes, exc, inh, nu_pre, nu_post, norm, theta_plus, tc_theta_decay, one_spike.
# ColanetCore: every field of the Rust colanet::Params (silent_synapses -1 = None).
_Params = dict[str, Any]

def default_params() -> dict[str, dict[str, Any]]: ...
def alloc_budget() -> int: ...
def normalise_brightness(
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
    def needs_second_pass(self) -> bool: ...
    def collect(self, values: npt.NDArray[np.float64]) -> None: ...
    def finish(self) -> float | None: ...

class PreparedStack:
    def __init__(
        self,
        images: npt.NDArray[np.uint8] | npt.NDArray[np.float64],
        saturation_quantile: float | None = None,
        n_threads: int | None = None,
        count_into: StreamQuantile | None = None,
    ) -> None: ...
    @property
    def shape(self) -> tuple[int, int, int]: ...
    @property
    def channels(self) -> int: ...
    def __len__(self) -> int: ...
    def take(self, idx: npt.NDArray[np.uint64]) -> npt.NDArray[np.float64]: ...
    def count_into(self, q: StreamQuantile) -> None: ...
    def collect_into(self, q: StreamQuantile) -> None: ...

class KernelLearnerCore:
    def __init__(
        self,
        params: _Params,
        seed: int,
        initial_resource: npt.NDArray[np.float64] | None = None,
    ) -> None: ...
    @staticmethod
    def restore(
        params: _Params,
        seed: int,
        resource: npt.NDArray[np.float64],
        weights: npt.NDArray[np.float64],
        fired: list[bool],
        images_seen: int,
    ) -> KernelLearnerCore: ...
    def learn(
        self,
        images: PreparedStack | npt.NDArray[np.float64],
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

class HeatMapCore:
    def __init__(
        self, height: int, width: int, decay: float, n_threads: int | None = None
    ) -> None: ...
    def update(
        self,
        previous: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
        current: npt.NDArray[np.uint8] | npt.NDArray[np.float32],
    ) -> None: ...
    def heat(self) -> npt.NDArray[np.float32]: ...
    def reset(self) -> None: ...
    @property
    def pairs(self) -> int: ...

def components(
    heat: npt.NDArray[np.float32],
    threshold: float,
    min_area: int = 1,
    connectivity: int = 8,
    ignore: npt.NDArray[np.bool_] | None = None,
) -> npt.NDArray[np.int64]: ...
def sum_pool_spikes(
    spikes: npt.NDArray[np.bool_], pool: int
) -> tuple[npt.NDArray[np.uint16], npt.NDArray[np.uint16]]: ...
def event_entries(
    records: npt.NDArray[np.uint8],
    ends: npt.NDArray[np.uint64],
    channels: int,
    height: int,
    width: int,
    steps: int,
    bin: int,
    start: int,
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.uint64], int]: ...

class ConvSNNCore:
    def __init__(
        self,
        kernels: npt.NDArray[np.float64],
        scales: npt.NDArray[np.float64],
        height: int,
        width: int,
        params: _Params,
        seed: int,
    ) -> None: ...
    @property
    def conv_shape(self) -> tuple[int, int, int]: ...
    @property
    def output_shape(self) -> tuple[int, int, int]: ...
    @property
    def scales(self) -> npt.NDArray[np.float64]: ...
    @property
    def channels(self) -> int: ...
    def run(
        self,
        images: npt.NDArray[np.float64],
        carry: npt.NDArray[np.uint64] | None = None,
        first_index: int = 0,
        n_threads: int | None = None,
    ) -> tuple[
        npt.NDArray[np.uint16],
        npt.NDArray[np.uint16],
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint64],
        npt.NDArray[np.uint64],
    ]: ...
    def calibrate(
        self,
        images: npt.NDArray[np.float64],
        target_rate: float,
        per_kernel: bool = False,
        n_threads: int | None = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float, int, list[int]]: ...
    def run_rasters(
        self,
        rasters: npt.NDArray[np.uint16],
        n_threads: int | None = None,
    ) -> tuple[
        npt.NDArray[np.uint16],
        npt.NDArray[np.uint16],
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint64],
    ]: ...
    def calibrate_rasters(
        self,
        rasters: npt.NDArray[np.uint16],
        target_rate: float,
        per_kernel: bool = False,
        n_threads: int | None = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float, int, list[int]]: ...
    def run_events(
        self,
        index: npt.NDArray[np.uint32],
        offsets: npt.NDArray[np.uint64],
        steps: int,
        n_threads: int | None = None,
    ) -> tuple[
        npt.NDArray[np.uint16],
        npt.NDArray[np.uint16],
        npt.NDArray[np.uint32],
        npt.NDArray[np.uint64],
    ]: ...
    def calibrate_events(
        self,
        index: npt.NDArray[np.uint32],
        offsets: npt.NDArray[np.uint64],
        steps: int,
        target_rate: float,
        per_kernel: bool = False,
        n_threads: int | None = None,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float, int, list[int]]: ...
    def simulate(
        self,
        image: npt.NDArray[np.float64],
        carry: npt.NDArray[np.uint64] | None = None,
        image_index: int = 0,
    ) -> dict[str, Any]: ...

class UlsnnCore:
    """The ULSNN engine (rust/ulsnn/): weights are (n_inputs, n_neurons), input-major."""

    def __init__(
        self,
        params: _Params,
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

class ColanetCore:
    """An ensemble of spiking ("spiking") or digital ("digital") CoLaNET copies."""

    def __init__(self, kind: str, params: _Params, n_copies: int, seed: int) -> None: ...
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

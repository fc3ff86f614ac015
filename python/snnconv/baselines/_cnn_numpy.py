"""Pure-numpy backend of the CNN baselines: im2col convolutions, max-pooling, dropout,
a dense softmax layer, cross-entropy, and Adam — enough to train CNN1/CNN2 on MNIST-size
images on one core without PyTorch.

Layout is NHWC float32 throughout, so a convolution is one matrix product of the
image patches (im2col) with the filters. Initialisation follows PyTorch's defaults
(uniform ±1/√fan_in for weights and biases) so both backends start alike.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..exceptions import ModelFileError
from ._architectures import ARCHITECTURES, Conv, feature_shape

F32 = np.float32


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int) -> np.ndarray:
    b = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-b, b, size=shape).astype(F32)


def im2col(x: np.ndarray, k: int, s: int) -> tuple[np.ndarray, int, int]:
    """Patches of x (N, H, W, C) as rows (N·P·Q, C·k·k), with (c, i, j) column order."""
    win = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]
    n, p, q = win.shape[:3]
    return win.reshape(n * p * q, -1), p, q


def col2im(dcols: np.ndarray, shape: tuple[int, ...], k: int, s: int, p: int, q: int) -> np.ndarray:
    """Adjoint of :func:`im2col`: sums patch gradients back onto the input grid."""
    n, _, _, c = shape
    d = dcols.reshape(n, p, q, c, k, k)
    dx = np.zeros(shape, dtype=dcols.dtype)
    for i in range(k):
        for j in range(k):
            dx[:, i : i + s * (p - 1) + 1 : s, j : j + s * (q - 1) + 1 : s, :] += d[..., i, j]
    return dx


class NumpyCNN:
    """Parameters, forward/backward pass and Adam state of one CNN."""

    def __init__(
        self, arch: str, image_shape: tuple[int, int], n_classes: int, dropout: float, seed: int
    ) -> None:
        self.arch = arch
        self.dropout = dropout
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, np.ndarray] = {}
        c = 1
        for i, layer in enumerate(ARCHITECTURES[arch]):
            if isinstance(layer, Conv):
                fan = c * layer.kernel * layer.kernel
                self.params[f"conv{i}.w"] = _uniform(
                    self.rng, (layer.filters, c, layer.kernel, layer.kernel), fan
                )
                self.params[f"conv{i}.b"] = _uniform(self.rng, (layer.filters,), fan)
                c = layer.filters
        h, w, c = feature_shape(arch, *image_shape)
        flat = h * w * c
        self.params["dense.w"] = _uniform(self.rng, (flat, n_classes), flat)
        self.params["dense.b"] = _uniform(self.rng, (n_classes,), flat)
        self._m = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._v = {k: np.zeros_like(v) for k, v in self.params.items()}
        self._t = 0

    # -------------------------------------------------------------- forward / backward
    def forward(self, x: np.ndarray, train: bool) -> tuple[np.ndarray, list[Any]]:
        """Logits (N, n_classes) of x (N, H, W, 1) and the cache for backward."""
        cache: list[Any] = []
        for i, layer in enumerate(ARCHITECTURES[self.arch]):
            if isinstance(layer, Conv):
                k, s = layer.kernel, layer.stride
                cols, p, q = im2col(x, k, s)
                wm = self.params[f"conv{i}.w"].reshape(layer.filters, -1)
                z = cols @ wm.T + self.params[f"conv{i}.b"]
                z = z.reshape(x.shape[0], p, q, layer.filters)
                cache.append(("conv", i, cols, x.shape, p, q, z > 0))
                x = np.maximum(z, 0)
            else:
                n, h, w, c = x.shape
                h2, w2 = h // 2 * 2, w // 2 * 2
                xr = x[:, :h2, :w2].reshape(n, h2 // 2, 2, w2 // 2, 2, c)
                out = xr.max(axis=(2, 4))
                cache.append(("pool", xr == out[:, :, None, :, None, :], x.shape))
                x = out
        flat = x.reshape(x.shape[0], -1)
        if train and self.dropout > 0:
            scale = flat.dtype.type(1.0 / (1.0 - self.dropout))
            keep = (self.rng.random(flat.shape) >= self.dropout).astype(flat.dtype) * scale
            flat = flat * keep
        else:
            keep = None
        cache.append(("dense", flat, keep, x.shape))
        return flat @ self.params["dense.w"] + self.params["dense.b"], cache

    def backward(self, dlogits: np.ndarray, cache: list[Any]) -> dict[str, np.ndarray]:
        grads: dict[str, np.ndarray] = {}
        _, flat, keep, shape = cache[-1]
        grads["dense.w"] = flat.T @ dlogits
        grads["dense.b"] = dlogits.sum(axis=0)
        d = dlogits @ self.params["dense.w"].T
        if keep is not None:
            d = d * keep
        d = d.reshape(shape)
        for entry in reversed(cache[:-1]):
            if entry[0] == "pool":
                _, mask, in_shape = entry
                n, h, w, c = in_shape
                full = np.zeros(in_shape, dtype=d.dtype)
                g = mask * d[:, :, None, :, None, :]
                full[:, : h // 2 * 2, : w // 2 * 2] = g.reshape(n, h // 2 * 2, w // 2 * 2, c)
                d = full
            else:
                _, i, cols, in_shape, p, q, active = entry
                layer = ARCHITECTURES[self.arch][i]
                assert isinstance(layer, Conv)
                g2 = (d * active).reshape(-1, layer.filters)
                w = self.params[f"conv{i}.w"]
                grads[f"conv{i}.w"] = (g2.T @ cols).reshape(w.shape)
                grads[f"conv{i}.b"] = g2.sum(axis=0)
                if i > 0:
                    d = col2im(
                        g2 @ w.reshape(layer.filters, -1),
                        in_shape,
                        layer.kernel,
                        layer.stride,
                        p,
                        q,
                    )
        return grads

    # -------------------------------------------------------------- training
    def adam(
        self, grads: dict[str, np.ndarray], lr: float, b1: float = 0.9, b2: float = 0.999
    ) -> None:
        self._t += 1
        c1, c2 = 1 - b1**self._t, 1 - b2**self._t
        for k, g in grads.items():
            m, v = self._m[k], self._v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            self.params[k] -= (lr * (m / c1) / (np.sqrt(v / c2) + 1e-8)).astype(m.dtype)

    def train_epoch(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        lr: float,
        tick: Callable[[int], None],
    ) -> float:
        """One pass in a fresh random order; returns the mean training loss."""
        order = self.rng.permutation(x.shape[0])
        total = 0.0
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            logits, cache = self.forward(x[idx], train=True)
            loss, dlogits = softmax_xent(logits, y[idx])
            self.adam(self.backward(dlogits, cache), lr)
            total += loss * len(idx)
            tick(len(idx))
            if not math.isfinite(total):
                return math.nan  # diverged: the caller stops the fit
        return total / x.shape[0]

    def state(self) -> dict[str, np.ndarray]:
        """Learned parameters (for saving)."""
        return {k: v.copy() for k, v in self.params.items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        if set(state) != set(self.params):
            raise ModelFileError(f"parameters {sorted(state)} do not match {sorted(self.params)}")
        for k, v in state.items():
            if v.shape != self.params[k].shape:
                raise ModelFileError(
                    f"parameter {k}: shape {v.shape}, expected {self.params[k].shape}"
                )
            a = np.asarray(v, dtype=self.params[k].dtype).copy()
            if not np.isfinite(a).all():
                raise ModelFileError(f"parameter {k}: holds NaN or infinity")
            self.params[k] = a

    def train_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """What training continues from besides the weights: Adam's step count and the
        state of the random stream (shuffles, dropout) as JSON-ready values, and
        Adam's moments as arrays (``m__``/``v__`` + parameter name)."""
        meta = {"adam_steps": self._t, "rng": self.rng.bit_generator.state}
        arrays = {f"m__{k}": v.copy() for k, v in self._m.items()}
        arrays.update({f"v__{k}": v.copy() for k, v in self._v.items()})
        return meta, arrays

    def load_train_state(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        """Restores :meth:`train_state` (raises ModelFileError on a malformed one)."""
        steps = meta.get("adam_steps") if isinstance(meta, dict) else None
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 0:
            raise ModelFileError(f"train_state.adam_steps: must be an integer >= 0, got {steps!r}")
        want = {f"{p}__{k}" for k in self.params for p in ("m", "v")}
        if set(arrays) != want:
            raise ModelFileError(f"train_state: Adam moments {sorted(arrays)} do not match")
        moments: dict[str, dict[str, np.ndarray]] = {"m": {}, "v": {}}
        for name, a in arrays.items():
            part, _, k = name.partition("__")
            if a.shape != self.params[k].shape or not np.isfinite(a).all():
                raise ModelFileError(f"train_state.{name}: shape {a.shape} or values invalid")
            if part == "v" and (a < 0).any():
                raise ModelFileError(f"train_state.{name}: a second moment below 0")
            moments[part][k] = np.asarray(a, dtype=self.params[k].dtype).copy()
        rng = np.random.default_rng()
        try:
            rng.bit_generator.state = meta.get("rng")
        except (TypeError, ValueError, KeyError) as exc:
            raise ModelFileError(f"train_state.rng: not a PCG64 state ({exc})") from None
        self._t, self._m, self._v, self.rng = steps, moments["m"], moments["v"], rng

    def predict_proba(self, x: np.ndarray, batch: int = 500) -> np.ndarray:
        out = [
            softmax(self.forward(x[s : s + batch], train=False)[0]) for s in range(0, len(x), batch)
        ]
        return np.concatenate(out)


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_xent(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of class indices y and its gradient w.r.t. the logits."""
    p = softmax(logits.astype(np.float64))
    n = logits.shape[0]
    loss = -float(np.mean(np.log(p[np.arange(n), y] + 1e-12)))
    p[np.arange(n), y] -= 1
    return loss, (p / n).astype(logits.dtype)

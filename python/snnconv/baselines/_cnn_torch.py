"""PyTorch backend of the CNN baselines (optional extra ``baselines``): the same layers,
initialisation (PyTorch's defaults), loss and optimiser as the numpy backend."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from .._util.extras import require
from ._architectures import ARCHITECTURES, Conv, feature_shape


class TorchCNN:
    def __init__(
        self, arch: str, image_shape: tuple[int, int], n_classes: int, dropout: float, seed: int
    ) -> None:
        torch = require("torch", "backend='torch' of the CNN baselines")
        nn = torch.nn
        self.torch = torch
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        layers: list[Any] = []
        c = 1
        for layer in ARCHITECTURES[arch]:
            if isinstance(layer, Conv):
                layers += [nn.Conv2d(c, layer.filters, layer.kernel, layer.stride), nn.ReLU()]
                c = layer.filters
            else:
                layers.append(nn.MaxPool2d(layer.size))
        h, w, c = feature_shape(arch, *image_shape)
        layers += [nn.Flatten(), nn.Dropout(dropout), nn.Linear(h * w * c, n_classes)]
        self.model = nn.Sequential(*layers)
        self.opt: Any = None

    def _tensor(self, x: np.ndarray) -> Any:
        # (N, H, W, 1) → (N, 1, H, W)
        return self.torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))

    def train_epoch(
        self,
        x: np.ndarray,
        y: np.ndarray,
        batch_size: int,
        lr: float,
        tick: Callable[[int], None],
    ) -> float:
        torch = self.torch
        if self.opt is None:
            self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.model.train()
        xt, yt = self._tensor(x), torch.from_numpy(y.astype(np.int64))
        order = torch.randperm(x.shape[0], generator=self.gen)
        loss_fn = torch.nn.CrossEntropyLoss()
        total = 0.0
        for start in range(0, x.shape[0], batch_size):
            idx = order[start : start + batch_size]
            self.opt.zero_grad()
            loss = loss_fn(self.model(xt[idx]), yt[idx])
            loss.backward()
            self.opt.step()
            total += loss.item() * len(idx)  # a plain number: no autograd warning
            tick(len(idx))
            if not math.isfinite(total):
                return math.nan  # diverged: the caller stops the fit
        return total / x.shape[0]

    def state(self) -> dict[str, np.ndarray]:
        """Learned parameters as numpy arrays (for saving)."""
        return {k: v.detach().cpu().numpy() for k, v in self.model.state_dict().items()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        torch = self.torch
        self.model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})

    def predict_proba(self, x: np.ndarray, batch: int = 500) -> np.ndarray:
        torch = self.torch
        self.model.eval()
        out = []
        with torch.no_grad():
            for s in range(0, x.shape[0], batch):
                out.append(torch.softmax(self.model(self._tensor(x[s : s + batch])), 1).numpy())
        return np.concatenate(out).astype(np.float32)

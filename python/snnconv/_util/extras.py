"""Optional dependencies: import them on demand with a clear install hint."""

from __future__ import annotations

import importlib
from types import ModuleType

_EXTRA_OF = {
    "matplotlib": "plot",
    "matplotlib.pyplot": "plot",
    "sklearn": "data",
    "mlxtend": "data",
    "tqdm": "progress",
    "optuna": "tune",
    "distributed": "distributed",
    "tqdm.auto": "progress",
    "PIL": "video",
    "PIL.Image": "video",
    "imageio": "video",
    "imageio.v3": "video",
    "torch": "baselines",
}


def require(module: str, purpose: str) -> ModuleType:
    """Import ``module`` or raise ImportError naming the extra that provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = _EXTRA_OF.get(module, module.split(".")[0])
        raise ImportError(
            f"{purpose} needs the optional package '{module.split('.')[0]}'; "
            f"install it with: pip install 'snnconv[{extra}]'"
        ) from exc

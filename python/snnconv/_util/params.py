"""scikit-learn style get_params/set_params without importing scikit-learn."""

from __future__ import annotations

import inspect
from typing import Any

from ..exceptions import ParameterError


class ParamsMixin:
    """Parameters are exactly the keyword arguments of ``__init__``, stored as-is."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return [p for p in sig.parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            out[name] = value
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                for k, v in value.get_params(deep=True).items():
                    out[f"{name}__{k}"] = v
        return out

    def set_params(self, **params: Any) -> ParamsMixin:
        valid = set(self._param_names())
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ParameterError(
                    f"{type(self).__name__} has no parameter {name!r}; valid: {sorted(valid)}"
                )
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items()
        }
        shown = []
        for k in self._param_names():
            v = getattr(self, k)
            d = defaults.get(k, inspect.Parameter.empty)
            try:
                same = v is d or (type(v) is type(d) and bool(v == d))
            except Exception:
                same = False
            if not same:
                shown.append(f"{k}={_short(v)}")
        return f"{type(self).__name__}({', '.join(shown)})"


def _short(value: Any) -> str:
    """repr, except arrays (kernels, resources), which would flood the screen."""
    shape, dtype = getattr(value, "shape", None), getattr(value, "dtype", None)
    if shape is not None and dtype is not None and len(shape) > 0:
        return f"<{type(value).__name__} shape={tuple(shape)} dtype={dtype}>"
    return repr(value)

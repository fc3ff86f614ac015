"""Progress bars that cost nothing when switched off or when tqdm is absent."""

from __future__ import annotations

from typing import Any


class _Silent:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **kwargs: Any) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> _Silent:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def progress_bar(enabled: bool, total: int | None, desc: str, unit: str = "img") -> Any:
    """A tqdm bar when ``enabled`` (needs the ``progress`` extra), else a no-op."""
    if not enabled:
        return _Silent()
    from .extras import require

    tqdm = require("tqdm.auto", "progress=True").tqdm
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True)

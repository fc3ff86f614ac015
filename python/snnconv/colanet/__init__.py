"""CoLaNET, the columnar spiking classifier with local plasticity, and its digital
(non-spiking) twin. ``base`` holds what both share, ``input`` the feature encoding."""

from __future__ import annotations

from .digital import DigitalCoLaNET
from .spiking import CoLaNET

__all__ = ["CoLaNET", "DigitalCoLaNET"]

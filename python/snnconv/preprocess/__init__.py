"""Video preprocessing for the NEOVISION2 object pipeline (docs/algorithms.md §6): difference heat
map, object crops, detection of moving regions, tracks and the object array."""

from __future__ import annotations

from .crops import max_pool_shrink, object_raster, square_crop, to_uint8
from .detect import detect_boxes, merge_boxes
from .extract import detect_objects, extract_objects
from .heatmap import DifferenceHeatMap
from .object_array import ObjectArray
from .tracks import assign_tracks, iou

__all__ = [
    "DifferenceHeatMap",
    "ObjectArray",
    "assign_tracks",
    "detect_boxes",
    "detect_objects",
    "extract_objects",
    "iou",
    "max_pool_shrink",
    "merge_boxes",
    "object_raster",
    "square_crop",
    "to_uint8",
]

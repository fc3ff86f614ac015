"""The spiking front-end over a large image set, a block of images at a time.

``ConvSNN.run`` returns everything it measures for every image; a classifier fit
over many images needs only the pooled counts, one row per image, and two totals
(for the backlog fraction). :func:`pooled_counts` runs the front-end on blocks of
``BLOCK_IMAGES`` images, continuing each block from the previous one (the
accumulator's carry and the image index that numbers the Poisson streams), so the
counts are bit-identical to one ``run`` over the whole stack. Above ``SPILL_BYTES``
the counts go to a temporary file (in the system's temporary folder, deleted at
once; the open memory map keeps it) instead of memory: CoLaNET then reads them back a
block at a time (``colanet.chunked``), and the memory a fit holds does not grow with
the number of images.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from ._util.blocks import Reader, scratch
from ._util.progress import progress_bar

#: Images run through the front-end per block.
BLOCK_IMAGES = 4096

#: Pooled counts larger than this are kept in a temporary file instead of memory.
SPILL_BYTES = 64 << 20


def blocks(front: Any, stack: np.ndarray, progress: bool = False) -> Iterator[Any]:
    """``SpikeCounts`` of consecutive blocks of ``stack``, as one ``run`` would give them."""
    carry, first = None, 0
    reader = Reader(stack)
    n = stack.shape[0]
    with progress_bar(progress, n, "spiking front-end") as bar:
        for s in range(0, n, BLOCK_IMAGES):
            part = stack[s : s + BLOCK_IMAGES]
            out = front.run(part, carry=carry, first_index=first)
            reader.read(part.shape[0], True, part.strides[0])
            carry, first = out.carry, first + part.shape[0]
            bar.update(part.shape[0])
            yield out


def pooled_counts(front: Any, stack: np.ndarray) -> tuple[np.ndarray, float, float]:
    """(pooled counts (N, n_kernels, P', Q') uint16, their total, the backlog's total),
    the counts in memory or, above ``SPILL_BYTES``, in a temporary memory map."""
    n = stack.shape[0]
    shape = (n, *front.output_shape(stack.shape[-2], stack.shape[-1]))
    size = int(np.prod(shape, dtype=np.int64)) * 2
    out = np.empty(shape, np.uint16) if size <= SPILL_BYTES else scratch(shape, np.uint16)
    writer = Reader(out)
    pooled = backlog = 0
    s = 0
    # The progress bar belongs to the front-end's run of each block (its own flag).
    for part in blocks(front, stack):
        e = s + part.pooled.shape[0]
        out[s:e] = part.pooled
        writer.read(e - s, True, out.strides[0])
        pooled += int(part.pooled.sum(dtype=np.uint64))
        backlog += int(part.backlog.sum(dtype=np.uint64))
        s = e
    writer.release()
    return out, float(pooled), float(backlog)

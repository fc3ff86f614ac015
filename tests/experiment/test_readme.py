"""The README's Python example runs as written and does what its comments say."""

import re
from pathlib import Path

import numpy as np

README = Path(__file__).parents[2] / "README.md"


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_starts_with_the_two_setup_commands():
    text = README.read_text()
    first_block = re.search(r"```bash\n(.*?)```", text, flags=re.S).group(1).strip().splitlines()
    assert len(first_block) == 2
    assert first_block[0].startswith("pip install") and "snnconv " in first_block[0]
    assert first_block[1] == 'pip install -e ".[dev]" && python -m pytest'
    ci = (README.parent / ".ci" / "run").read_text()
    assert first_block[1] in ci.splitlines()


def test_readme_python_example_runs(tmp_path, monkeypatch, capsys):
    (block,) = python_blocks()
    monkeypatch.chdir(tmp_path)
    ns = {}
    exec(compile(block, "README.md", "exec"), ns)
    printed = capsys.readouterr().out
    m = re.fullmatch(r"accuracy (\d\.\d{3}), (\d+) neurons\n", printed)
    assert m, printed
    accuracy, n_neurons = float(m.group(1)), int(m.group(2))
    model, same, images = ns["model"], ns["same"], ns["images"]
    # Holds 0.943 on the held-out 1000 images; floor 0.018 below.
    assert accuracy >= 0.925
    assert n_neurons == model.n_neurons_ > 0
    counts = ns["counts"]
    assert counts.dtype == np.uint16
    assert counts.shape == (1000, ns["learner"].kernels_.shape[0], 5, 5)
    # The model read back from disk is the same model.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csnn-model"]
    np.testing.assert_array_equal(same.predict(images[4000:]), model.predict(images[4000:]))
    assert round(same.score(images[4000:], ns["labels"][4000:]), 3) == accuracy

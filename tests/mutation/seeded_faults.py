"""Seeded faults in the Rust core: each fault is one small edit of the kernel learner
(rust/kernels) or the spiking front-end (rust/snn), the kind of slip a change could
make (a boundary, a conserving amount, a rounding). The script copies the sources to
a scratch folder, applies one fault at a time, runs ``cargo test --lib`` there with a
time limit and reports which faults the tests kill and which survive.

    python tests/mutation/seeded_faults.py [--timeout 900] [--only NAME ...]

It leaves the working tree untouched (own copy, own target folder) and prints one
line per fault, then the survivors. A survivor is either a gap in the tests or an
equivalent edit (the note says which is expected).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: name -> (file, original text, faulty text, note)
FAULTS = {
    "learner-spontaneous-boundary": (
        "rust/kernels/learner.rs",
        "if best.c < 1.0 {",
        "if best.c <= 1.0 {",
        "a response of exactly 1 takes the forced branch",
    ),
    "learner-forced-all-bright": (
        "rust/kernels/learner.rs",
        "if n_b == 0 || n_b == cells {",
        "if n_b == 0 {",
        "a tile bright everywhere is potentiated (resource not conserved)",
    ),
    "learner-forced-threshold": (
        "rust/kernels/learner.rs",
        "*r += if v > b { l } else { -dec };",
        "*r += if v >= b { l } else { -dec };",
        "a pixel equal to B counts as bright (counted with > b above: breaks conservation)",
    ),
    "learner-forced-conserving-amount": (
        "rust/kernels/learner.rs",
        "let dec = l * n_b as f64 / (cells - n_b) as f64;\n        let res",
        "let dec = l * n_b as f64 / cells as f64;\n        let res",
        "the depression no longer conserves the resource",
    ),
    "learner-potential-reaches-one": (
        "rust/kernels/learner.rs",
        "if potential >= 1.0 {",
        "if potential > 1.0 {",
        "a walk whose potential is exactly 1 goes on to the next group",
    ),
    "learner-spontaneous-group": (
        "rust/kernels/learner.rs",
        "*r += if x >= v { l } else { -dec };",
        "*r += if x > v { l } else { -dec };",
        "the last walked group is depressed instead of potentiated",
    ),
    "conv-threshold-portable": (
        "rust/snn/conv_layer.rs",
        "mask |= u32::from(x >= th) << i;",
        "mask |= u32::from(x > th) << i;",
        "portable threshold test only (AVX2 machines take the vector compare)",
    ),
    "conv-leak": (
        "rust/snn/conv_layer.rs",
        ".map(|t| (1.0 - 1.0 / t) as f32)",
        ".map(|t| (1.0 - 0.5 / t) as f32)",
        "the leak factor of tau",
    ),
    "encoder-spike-at-quantum": (
        "rust/snn/encoder.rs",
        "if *z >= QUANTUM {",
        "if *z > QUANTUM {",
        "a pixel reaching the quantum exactly waits a step",
    ),
    "encoder-level-rounding": (
        "rust/snn/encoder.rs",
        "((g * max_rate) * QUANTUM as f64 + 0.5) as u64",
        "((g * max_rate) * QUANTUM as f64) as u64",
        "levels rounded down instead of half up",
    ),
    "pool-fire-at-threshold": (
        "rust/snn/pool.rs",
        "let spike = *charge >= UNITS;",
        "let spike = *charge > UNITS;",
        "a pooling neuron exactly at threshold does not fire",
    ),
    "pool-backlog": (
        "rust/snn/pool.rs",
        "        charge / UNITS\n",
        "        (charge + 1) / UNITS\n",
        "the backlog rounds up one unit early",
    ),
}


def run(args: argparse.Namespace) -> int:
    names = args.only or list(FAULTS)
    scratch = Path(tempfile.mkdtemp(prefix="snnconv-faults-"))
    src = scratch / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns("target", ".git", ".venv*", "*.so", "__pycache__"),
    )
    env = dict(os.environ, CARGO_TARGET_DIR=str(scratch / "target"))
    cmd = ["cargo", "test", "--lib", "--quiet"]
    base = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True)
    if base.returncode != 0:
        print("the unmutated tests fail; nothing to measure", file=sys.stderr)
        print(base.stdout[-2000:], base.stderr[-2000:], file=sys.stderr)
        return 2
    survived = []
    for name in names:
        path, old, new, note = FAULTS[name]
        file = src / path
        text = file.read_text()
        if text.count(old) != 1:
            print(f"{name}: pattern not found once in {path} (the code moved?)")
            survived.append(name)
            continue
        file.write_text(text.replace(old, new))
        t0 = time.perf_counter()
        try:
            r = subprocess.run(
                cmd, cwd=src, env=env, capture_output=True, text=True, timeout=args.timeout
            )
            verdict = "killed" if r.returncode != 0 else "SURVIVED"
        except subprocess.TimeoutExpired:
            verdict = "killed (timeout)"
        finally:
            file.write_text(text)
        print(f"{name}: {verdict} ({time.perf_counter() - t0:.0f} s) - {note}", flush=True)
        if verdict == "SURVIVED":
            survived.append(name)
    print(f"\n{len(names) - len(survived)} of {len(names)} killed; survivors: {survived or 'none'}")
    shutil.rmtree(scratch, ignore_errors=True)
    return 1 if survived else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=900, help="seconds per fault")
    parser.add_argument("--only", nargs="*", choices=list(FAULTS), help="these faults only")
    return run(parser.parse_args())


if __name__ == "__main__":
    sys.exit(main())

"""Peak memory (and time) of each stage against the number of training images.

    python benchmarks/bench_memory.py                      # n = 10k, 30k, 60k
    python benchmarks/bench_memory.py --n 60000 --stages csnn_fit csnn_score
    python benchmarks/bench_memory.py --n 600000 --memmap  # Fashion-MNIST x10 on disk
    python benchmarks/bench_memory.py --reference /work/main/python   # both, alternating
    python benchmarks/bench_memory.py --threads 1 ...      # every stage on one thread
    python benchmarks/bench_memory.py --reference ... --reference-first   # it goes first

Every (stage, n) runs in a fresh interpreter that loads the data, records the peak RSS
(``resource.getrusage(...).ru_maxrss``) after loading, runs the stage, and records the
peak again; the table shows both and what the stage added. Peak RSS counts the pages of
a memory-mapped file the process has touched, so ``--memmap`` (the training images as
a memory-mapped IDX file replicated to n images in /tmp, deleted afterwards) measures
what a fit over a file larger than the memory it may use keeps resident.

Stages: ``kernels`` (KernelLearner.fit), ``front_end`` (ConvSNN calibrate + run),
``colanet`` (the CSNN's CoLaNET on the pooled counts of the training images, read from
a cache file), ``csnn_fit`` (CSNNClassifier.fit) and ``csnn_score`` (the model of
``csnn_fit`` loaded in a fresh process that scores it on the 10,000 test images:
"data" is the peak with the model and the test images loaded). With
``--reference PATH`` each case also runs with ``PYTHONPATH=PATH`` (another checkout of
snnconv), alternating the two in every round, and the time ratio new / reference is
printed, of the wall time and of the process's CPU time (best of ``--rounds``, and
round by round; on a loaded machine the CPU time is the steadier figure).
``--threads N`` passes ``n_threads=N`` to every estimator (and sets
``RAYON_NUM_THREADS``/``OMP_NUM_THREADS``); by default they use every core.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGES = ("kernels", "front_end", "colanet", "csnn_fit", "csnn_score")
CACHE = Path(tempfile.gettempdir()) / "snnconv-bench-memory"


def _peak_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB on Linux


def _cpu() -> float:
    """CPU seconds of this process so far (all its threads, user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _train(n: int, memmap: bool):
    """The first n training images (replicated if n > 60,000) and their labels."""
    import numpy as np

    from snnconv.datasets import load_fashion_mnist

    if not memmap:
        x, y = load_fashion_mnist(split="train")
        reps = -(-n // len(x))
        if reps > 1:
            x, y = np.concatenate([x] * reps), np.concatenate([y] * reps)
        return x[:n], y[:n]
    path = CACHE / f"train-{n}.u8"
    x = np.memmap(path, dtype=np.uint8, mode="r").reshape(n, 28, 28)
    y = np.load(CACHE / f"train-{n}-labels.npy")
    return x, y


def _write_memmap(n: int) -> None:
    """Fashion-MNIST's training images replicated to n, as a raw file in /tmp."""
    import numpy as np

    from snnconv.datasets import load_fashion_mnist

    x, y = load_fashion_mnist(split="train")
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / f"train-{n}.u8", "wb") as fh:
        for s in range(0, n, len(x)):
            fh.write(x[: n - s].tobytes())
    reps = -(-n // len(x))
    np.save(CACHE / f"train-{n}-labels.npy", np.concatenate([y] * reps)[:n])


def _child(stage: str, n: int, memmap: bool) -> dict:
    """Runs one stage in this (fresh) process and returns its figures."""
    import numpy as np

    import snnconv
    from snnconv.datasets import load_fashion_mnist

    if stage == "write_memmap":
        _write_memmap(n)
        return {}
    if stage == "counts":
        _counts_cache(n, memmap)
        return {}
    x, y = _train(n, memmap) if stage != "csnn_score" else (None, None)
    out = {"loaded_gb": _peak_gb(), "snnconv": os.path.dirname(snnconv.__file__)}
    threads = os.environ.get("BENCH_MEMORY_THREADS")
    nt = {"n_threads": int(threads)} if threads else {}
    t0, c0 = time.perf_counter(), _cpu()
    if stage == "kernels":
        snnconv.KernelLearner(**nt).fit(x)
    elif stage == "front_end":
        learner = snnconv.KernelLearner(**nt).fit(x[:1000])
        out["loaded_gb"] = _peak_gb()
        t0, c0 = time.perf_counter(), _cpu()
        front = snnconv.ConvSNN(learner, on_backlog="ignore", **nt)
        front.fit(x[:100])
        front.run(x)
    elif stage == "colanet":
        from snnconv.csnn import CLASSIFIER_DEFAULTS

        counts = np.load(CACHE / f"counts-{n}.npy", mmap_mode="r" if memmap else None)
        out["loaded_gb"] = _peak_gb()
        t0, c0 = time.perf_counter(), _cpu()
        snnconv.CoLaNET(**CLASSIFIER_DEFAULTS, **nt).fit(counts, y)
    elif stage == "csnn_fit":
        model = snnconv.CSNNClassifier(**nt).fit(x, y)
        out["seconds"], out["cpu_seconds"] = time.perf_counter() - t0, _cpu() - c0
        model.save(CACHE / f"model-{n}-{os.getpid()}")
        out["model"] = str(CACHE / f"model-{n}-{os.getpid()}")
    elif stage == "csnn_score":
        # A fresh process with the model fitted by the csnn_fit stage: what scoring adds.
        xt, yt = load_fashion_mnist(split="test")
        model = snnconv.CSNNClassifier.load(os.environ["BENCH_MEMORY_MODEL"])
        if threads:
            model.set_params(n_threads=int(threads))
        out["loaded_gb"] = _peak_gb()
        t0, c0 = time.perf_counter(), _cpu()
        out["accuracy"] = model.score(xt, yt)
    else:
        raise SystemExit(f"unknown stage {stage!r}")
    out.setdefault("seconds", time.perf_counter() - t0)
    out.setdefault("cpu_seconds", _cpu() - c0)
    out["peak_gb"] = _peak_gb()
    return out


def _counts_cache(n: int, memmap: bool) -> None:
    """Pooled counts of the CSNN's front-end for the colanet stage (computed once)."""
    import numpy as np

    import snnconv

    path = CACHE / f"counts-{n}.npy"
    if path.exists():
        return
    CACHE.mkdir(exist_ok=True)
    x, _ = _train(n, memmap)
    model = snnconv.CSNNClassifier()
    learner = snnconv.KernelLearner(random_state=0).fit(x[: min(n, 60000)])
    front = snnconv.ConvSNN(learner, on_backlog="ignore", random_state=0)
    rng = np.random.default_rng(0)
    front.fit(x[np.sort(rng.choice(n, model.calibration_size, replace=False))])
    np.save(path, front.run(x).pooled)


def _run(
    stage: str,
    n: int,
    memmap: bool,
    pythonpath: str | None,
    model: str | None = None,
    threads: int | None = None,
) -> dict:
    env = dict(os.environ)
    if threads is not None:
        env["BENCH_MEMORY_THREADS"] = str(threads)
        env["RAYON_NUM_THREADS"] = env["OMP_NUM_THREADS"] = str(threads)
    if model is not None:
        env["BENCH_MEMORY_MODEL"] = model
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath
    cmd = [sys.executable, __file__, "--child", stage, "--n", str(n)]
    if memmap:
        cmd.append("--memmap")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{stage} n={n} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 30_000, 60_000])
    ap.add_argument("--stages", nargs="+", default=list(STAGES), choices=STAGES)
    ap.add_argument("--memmap", action="store_true", help="images from a raw file in /tmp")
    ap.add_argument("--reference", help="PYTHONPATH of a reference checkout of snnconv")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--threads", type=int, help="n_threads of every estimator (default: all)")
    ap.add_argument(
        "--reference-first", action="store_true", help="the reference runs first in round 1"
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.n[0], args.memmap)))
        return
    sides = {"new": os.environ.get("PYTHONPATH")}
    if args.reference:
        sides["reference"] = args.reference
    written = []
    models: dict[tuple[int, str], str] = {}
    try:
        for n in args.n:
            # Setup runs in children too: a child inherits the parent's peak RSS (Linux
            # keeps ru_maxrss across exec), so the parent never loads any data.
            if args.memmap and not (CACHE / f"train-{n}.u8").exists():
                _run("write_memmap", n, args.memmap, None)
                written.append(n)
            if "colanet" in args.stages:
                _run("counts", n, args.memmap, None)
            per_stage: dict[str, dict[str, list[dict]]] = {}
            for stage in args.stages:
                best: dict[str, dict] = {}
                runs: dict[str, list[dict]] = per_stage.setdefault(stage, {})
                for rnd in range(args.rounds):
                    # Alternate which side goes first, so drift favours neither.
                    order = list(sides.items())
                    for side, path in (
                        order if (rnd + args.reference_first) % 2 == 0 else order[::-1]
                    ):
                        model = models.get((n, side))
                        if stage == "csnn_score" and model is None:
                            model = _run("csnn_fit", n, args.memmap, path, None, args.threads)[
                                "model"
                            ]
                            models[(n, side)] = model
                        r = _run(stage, n, args.memmap, path, model, args.threads)
                        print(f"  ({stage} n={n} {side}: {json.dumps(r)})", flush=True)
                        if "model" in r:
                            if (n, side) in models:
                                shutil.rmtree(models[(n, side)], ignore_errors=True)
                            models[(n, side)] = r["model"]
                        runs.setdefault(side, []).append(r)
                        if side not in best or r["seconds"] < best[side]["seconds"]:
                            best[side] = r
                for side, r in best.items():
                    extra = f"  accuracy {r['accuracy']:.4f}" if "accuracy" in r else ""
                    print(
                        f"{stage:10s} n={n:7d} {side:9s} peak {r['peak_gb']:.3f} GB "
                        f"(data {r['loaded_gb']:.3f}, added {r['peak_gb'] - r['loaded_gb']:.3f})"
                        f"  {r['seconds']:7.2f} s ({r['cpu_seconds']:.2f} s CPU){extra}",
                        flush=True,
                    )
                if len(runs) == 2:
                    for clock in ("seconds", "cpu_seconds"):
                        new, ref = ([r[clock] for r in runs[k]] for k in ("new", "reference"))
                        rounds = " ".join(f"{a / b:.3f}" for a, b in zip(new, ref, strict=True))
                        print(
                            f"{stage:10s} n={n:7d} {clock} new / reference: "
                            f"{min(new) / min(ref):.3f} (best of each); per round {rounds}",
                            flush=True,
                        )
            both = [per_stage.get(k, {}) for k in ("csnn_fit", "csnn_score")]
            if all(len(b) == 2 for b in both):
                for clock in ("seconds", "cpu_seconds"):
                    new, ref = (
                        sum(min(r[clock] for r in b[k]) for b in both) for k in ("new", "reference")
                    )
                    print(f"fit + score n={n:7d} {clock} new / reference: {new / ref:.3f}")
    finally:
        for path in models.values():
            shutil.rmtree(path, ignore_errors=True)
        for n in written:
            (CACHE / f"train-{n}.u8").unlink(missing_ok=True)


if __name__ == "__main__":
    main()

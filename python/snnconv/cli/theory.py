"""``snnconv theory``: the training-dynamics theory (docs/algorithms.md §5) against simulations.

Runs the digital CoLaNET (and the spiking one for a few seeds) on the binary task in the
theory's configuration (``snnconv.theory.simulate``) and writes to ``--out``:
``w_t.png`` (W_c(t): theory curves, simulated mean ± sd, the predicted band),
``n_microcolumns.png`` (observed counts vs predicted N), ``accuracy.png``, and the
predicted-vs-measured table as ``theory.md`` and ``theory.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from ..exceptions import ParameterError
from .log import log


def add_theory_parser(sub: Any) -> None:
    t = sub.add_parser(
        "theory", help="training-dynamics theory vs simulated CoLaNET (docs/algorithms.md §5)"
    )
    from ..theory.formulas import TheoryParams

    d = TheoryParams()
    t.add_argument("--sigma", type=float, default=d.sigma, help="receptive-field width σ")
    t.add_argument("--f-max", type=float, default=d.f_max, help="peak rate, spikes per step")
    t.add_argument("--t-p", type=float, default=d.t_p, help="presentation steps T_p")
    t.add_argument("--density", type=float, default=d.density, help="input nodes per unit x")
    t.add_argument("--a", type=float, default=d.a, help="class interval start")
    t.add_argument("--b", type=float, default=d.b, help="class interval end")
    t.add_argument("--d", type=float, default=d.d, help="reward D per rewarded example")
    t.add_argument("--theta", type=float, default=d.theta, help="threshold θ (H, k = 0)")
    t.add_argument(
        "--chi",
        type=float,
        default=None,
        help="profile width χ for the predictions (default: fitted on the simulation)",
    )
    t.add_argument("--seeds", type=int, default=12, help="digital runs (default 12)")
    t.add_argument("--examples", type=int, default=1300, help="class examples per run")
    t.add_argument("--spiking-seeds", type=int, default=3, help="spiking runs (0: none)")
    t.add_argument(
        "--spiking-examples", type=int, default=600, help="class examples per spiking run"
    )
    t.add_argument(
        "--microcolumns", type=int, default=20, help="microcolumns per class column (default 20)"
    )
    t.add_argument("--out", default="snnconv-theory", help="output folder")
    t.add_argument("--no-plot", action="store_true", help="tables only")
    t.set_defaults(func=run_theory)


def _params(args: argparse.Namespace):
    from ..theory.formulas import TheoryParams

    return TheoryParams(
        sigma=args.sigma,
        f_max=args.f_max,
        t_p=args.t_p,
        density=args.density,
        a=args.a,
        b=args.b,
        d=args.d,
        theta=args.theta,
    )


def run_theory(args: argparse.Namespace) -> int:
    from ..theory import report
    from ..theory.simulate import simulate

    for name in ("seeds", "examples", "microcolumns"):
        if getattr(args, name) < 1:
            raise ParameterError(f"--{name}: must be >= 1, got {getattr(args, name)}")
    if args.spiking_seeds < 0:
        raise ParameterError(f"--spiking-seeds: must be >= 0, got {args.spiking_seeds}")
    p = _params(args)
    from ..experiment.validate import check_out_dir

    out = check_out_dir(args.out)
    t0 = time.perf_counter()
    sims = {
        "digital": simulate(
            p, range(args.seeds), "digital", args.examples, microcolumns=args.microcolumns
        )
    }
    if args.spiking_seeds:
        sims["spiking"] = simulate(
            p,
            range(args.spiking_seeds),
            "spiking",
            args.spiking_examples,
            microcolumns=args.microcolumns,
        )
    chi = args.chi if args.chi is not None else sims["digital"].chi()
    q = report.with_chi(p, chi)
    pred = report.predictions(q)
    horizon = int(0.8 * args.examples)
    meas = {
        k: report.measure(
            s, int(0.8 * (args.examples if k == "digital" else args.spiking_examples))
        )
        for k, s in sims.items()
    }
    result = {
        "params": dataclasses.asdict(q),
        "chi_source": "given" if args.chi is not None else "fitted (digital median)",
        "predicted": pred,
        "measured": meas,
        "horizon": horizon,
        "seconds": time.perf_counter() - t0,
    }
    (out / "theory.json").write_text(json.dumps(_jsonable(result), indent=2))
    (out / "theory.md").write_text(_markdown(result))
    print(_markdown(result))
    if not args.no_plot:
        _figures(q, sims, out)
        log.info(
            f"figures: {out / 'w_t.png'}, {out / 'n_microcolumns.png'}, {out / 'accuracy.png'}"
        )
    return 0


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    if isinstance(x, (float, np.floating)):
        return None if not math.isfinite(float(x)) else float(x)
    if isinstance(x, np.integer):
        return int(x)
    return x


def _markdown(r: dict) -> str:
    p, m = r["predicted"], r["measured"]
    dg = m["digital"]
    sp = m.get("spiking")

    def f(v: float) -> str:
        return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.4g}"

    def col(key: str) -> str:
        return f(sp[key]) if sp else "—"

    rows = [
        ("activity region l", f(p["l"]), "", ""),
        (
            "microcolumns N (mode of recruited)",
            f(p["N"]),
            str(dg["n_mode"]),
            str(sorted(sp["n_recruited"])) if sp else "—",
        ),
        (
            "microcolumns with ≥ 5 % of rewards",
            f(p["N"]),
            str(sorted(dg["n_effective"])),
            str(sorted(sp["n_effective"])) if sp else "—",
        ),
        ("profile width χ (fitted)", f(r["params"]["chi"]), f(dg["chi_fitted"]), col("chi_fitted")),
        ("W_t0", f(p["W_t0"]), "", ""),
        (
            "t_0 derived / printed vs W_c crossing W_t0",
            f"{f(p['t_0'])} / {f(p['t_0_printed'])}",
            f(dg["crossing_time"]),
            col("crossing_time"),
        ),
        (
            "fixed point W_1 (as stated) / W_1c (centre-limited) vs plateau",
            f"{f(p['W_1'])} / {f(p['W_1c'])}",
            f(dg["plateau"]),
            col("plateau"),
        ),
        (
            "t_1 derived / printed / centre-limited vs measured",
            f"{f(p['t_1'])} / {f(p['t_1_printed'])} / {f(p['t_1c'])}",
            f(dg["t_1_measured"]),
            col("t_1_measured"),
        ),
        (
            "accuracy: at w_1 / at w_1c vs final",
            f"1 / {f(p['accuracy_at_w_1c'])}",
            f(dg["final_accuracy"]),
            col("final_accuracy"),
        ),
    ]
    lines = [
        "| quantity | predicted | digital | spiking |",
        "|---|---|---|---|",
        *[f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows],
        "",
        f"t in examples of the class; χ {r['chi_source']}; plateau = mean W_c over the last "
        f"fifth of the own-clock window (digital: {r['horizon']} class examples).",
    ]
    return "\n".join(lines) + "\n"


def _figures(p, sims: dict, out: Path) -> None:
    from .._util.extras import require

    mpl = require("matplotlib", "plotting")
    if "matplotlib.pyplot" not in sys.modules:
        mpl.use("Agg")
    plt = require("matplotlib.pyplot", "plotting")
    from ..theory import report
    from ..theory.formulas import accuracy, activity_region, n_microcolumns, weight_from_resource

    # W_c(t)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    n = min(r.t.size for r in sims["digital"].runs) - 1
    grid = np.arange(int(0.8 * n) + 1)
    th = report.curves(p, grid)
    cl = th["centre_limited"]
    ax.fill_between(
        grid,
        cl - report.band(p, cl),
        cl + report.band(p, cl),
        color="C2",
        alpha=0.15,
        label="predicted band (centre-limited)",
    )
    styles = {"derived": "C0-", "printed": "C3:", "centre_limited": "C2-"}
    for k, y in th.items():
        ax.plot(grid, y, styles[k], lw=1.5, label=f"theory: {k.replace('_', '-')}")
    for k, s in sims.items():
        g = grid[grid < min(r.t.size for r in s.runs)]
        a = s.aligned(g)
        mean, sd = np.nanmean(a, axis=1), np.nanstd(a, axis=1)
        c = "k" if k == "digital" else "C1"
        ax.plot(g, mean, c, lw=1, label=f"{k}: mean W_c ({len(s.runs)} runs)")
        ax.fill_between(g, mean - sd, mean + sd, color=c, alpha=0.12)
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("class examples since recruitment")
    ax.set_ylabel("centre resource W_c")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "w_t.png", dpi=120)
    plt.close(fig)

    # N
    fig, ax = plt.subplots(figsize=(5.2, 3.6))
    width = 0.8 / (2 * len(sims))
    i = 0
    for k, s in sims.items():
        for label, counts in (
            ("recruited", s.n_recruited),
            ("≥5 % rewards", report.effective_counts(s)),
        ):
            v, c = np.unique(counts, return_counts=True)
            ax.bar(v + (i - len(sims) + 0.5) * width, c / counts.size, width, label=f"{k}: {label}")
            i += 1
    ax.axvline(
        n_microcolumns(p), color="k", ls="--", label=f"predicted N = {n_microcolumns(p):.2f}"
    )
    ax.set_xlabel("microcolumns of the class column")
    ax.set_ylabel("fraction of runs")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "n_microcolumns.png", dpi=120)
    plt.close(fig)

    # accuracy
    fig, ax = plt.subplots(figsize=(6.0, 3.8))
    for k, s in sims.items():
        t, a, sd = s.accuracy()
        c = "k" if k == "digital" else "C1"
        ax.errorbar(t, a, yerr=sd, color=c, marker="o", ms=3, capsize=2, label=f"{k} (measured)")
    tt = np.arange(int(0.8 * n) + 1)
    for k, y in report.curves(p, tt).items():
        if np.isfinite(y).all():
            w = weight_from_resource(y, p.w_min, p.w_max)
            ax.plot(tt, accuracy(p, w), styles[k], lw=1, label=f"theory: {k.replace('_', '-')}")
    ax.set_xscale("symlog", linthresh=10)
    ax.set_xlabel("class examples")
    ax.set_ylabel("accuracy (no answer = not the class)")
    ax.set_title(f"l = {activity_region(p):.4f}", fontsize=8)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "accuracy.png", dpi=120)
    plt.close(fig)

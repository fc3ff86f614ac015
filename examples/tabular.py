"""CoLaNET as a general classifier on tabular features, against a logistic regression.

Each model runs in ``make_pipeline(StandardScaler(), model)`` with its default
parameters, scored by ``cross_val_score`` over stratified folds (the scaler is fitted
on each training part only). Prints the markdown table of docs/results.md
("CoLaNET on tabular features"):

    python examples/tabular.py                      # 5 folds, seed 0, the four sets
    python examples/tabular.py --seed 1 --set target_spikes=937

``--set name=value`` (repeatable) changes a parameter of both CoLaNETs, for ablations.
"""

from __future__ import annotations

import argparse
import ast
import time

import numpy as np
from sklearn.datasets import load_breast_cancer, load_digits, load_iris, load_wine
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from snnconv import CoLaNET, DigitalCoLaNET

DATASETS = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "digits": load_digits,
}


def _value(text: str) -> object:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="seed of the fold split")
    ap.add_argument("--datasets", default=",".join(DATASETS))
    ap.add_argument("--scaler", choices=("standard", "minmax"), default="standard")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    args = ap.parse_args()
    params = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    scaler = StandardScaler if args.scaler == "standard" else MinMaxScaler
    cv = StratifiedKFold(args.folds, shuffle=True, random_state=args.seed)
    print(
        "| dataset | CoLaNET | DigitalCoLaNET | logistic regression | "
        "ratio CoLaNET / LR | ratio Digital / LR | CoLaNET fit + predict, s |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.datasets.split(","):
        X, y = DATASETS[name](return_X_y=True)
        scores, seconds = {}, {}
        for key, est in (
            ("lr", LogisticRegression(max_iter=5000)),
            ("snn", CoLaNET(**params)),
            ("digital", DigitalCoLaNET(**params)),
        ):
            t = time.perf_counter()
            scores[key] = cross_val_score(make_pipeline(scaler(), est), X, y, cv=cv)
            seconds[key] = time.perf_counter() - t

        def cell(s: np.ndarray) -> str:
            return f"{100 * s.mean():.2f} ± {100 * s.std():.2f}"

        lr = scores["lr"].mean()
        print(
            f"| {name} | {cell(scores['snn'])} | {cell(scores['digital'])} | "
            f"{cell(scores['lr'])} | {scores['snn'].mean() / lr:.3f} | "
            f"{scores['digital'].mean() / lr:.3f} | {seconds['snn']:.1f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()

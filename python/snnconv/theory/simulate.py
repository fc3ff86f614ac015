"""Simulations of the digital and spiking CoLaNET on the theory's binary task
(docs/algorithms.md §5).

The theory describes one column (the class on [a, b]) of a learner with constant
threshold θ, a fixed reward d per forced example, no change when a microcolumn answers
correctly on its own, and no stability or resource conservation. :func:`learner_params`
is the explicit mapping of those assumptions onto the learner's hyperparameters:

==========================  =================================================================
theory                      learner
==========================  =================================================================
d (per rewarded example)    ``reward`` = d; ``stability_ratio`` = 0 so min(2^−s, 1) = 1 always
no change on own answer     ``hebbian`` = −d: the anti-Hebbian step cancels the reward exactly
θ                           ``threshold`` H = θ, ``threshold_excess`` k = 0 (θ_j = H + k·Σw⁺)
U = Σ w·n (no leak)         digital: ``tau_v=None``; spiking: ``tau_v`` = 6 (see below)
Poisson(f·T_p) counts       fed as the features; digital: ``presentation_steps`` = 15,
                            ``input_max`` = 15 so a count n stays n up to 15 (the largest
                            the core accepts with its 15-step frame; P(Poisson(3) > 15) ≈ 1e−7);
                            spiking: ``presentation_steps`` = T_p, ``input_max`` = T_p (one
                            spike per step caps a count at T_p; P(Poisson(3) > 10) ≈ 3e−4)
no conservation             ``silent_synapses`` = −1
starts at w = 0             ``initial_weight`` = 0 (resource W(0) = −w_min(w_max−w_min)/w_max)
one network                 ``n_copies`` = 1, ``stochastic`` = 0
χ                           fitted: second moment of a microcolumn's positive weight profile
==========================  =================================================================

What the theory leaves out and the simulation keeps: the 0-class column (it is trained on
x outside [a, b] and its winners are depressed on class-1 examples, and vice versa; this
only touches microcolumns within about l of a boundary) and the winner-take-all inside the
column (a microcolumn is forced only if it has the largest margin of its column, so
neighbours share the examples between them). ``t`` counts examples *of the class* (x in
[a, b]): that is the clock of dW_c/dt = d·l/(b − a).

Why the spiking network cannot run without leak: the forcing impact (+10) reaches every
L of the silent column, the forced winner blocks the others for 10 steps, and blocked
neurons are deaf, so the −30 clearing impact misses them; without leak they carry u = 10
into the next frame and fire "on their own" once unblocked, which recruits every
microcolumn of the column (all 20 on the default task, tested). The leak must drain that
residue below θ within the block: 10·(1 − 1/τ_v)^10 < θ, i.e. τ_v < 6.7 for θ = 2;
:func:`spiking_tau_v` takes the largest integer τ_v that does (6). This leak also shrinks
the drive (early spikes count less), so the spiking network needs larger weights than the
theory's U = Σ w·n.

Centre resource W_c of a microcolumn: the resource of the synapse from the input node
nearest the centroid of its positive weight profile (weights above 0 weighted by their
value). The node nearest the centroid, not the peak, because the peak of noisy resources
is biased upwards. Each microcolumn's clock starts at its recruitment (its first forced
reward): the theory's W(0) is the untouched resource at recruitment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .._util.validation import check_alloc
from ..exceptions import ParameterError
from .formulas import TheoryParams, weight_from_resource
from .task import BinaryTask

#: Learners the simulation can run.
KINDS = ("digital", "spiking")


#: Forcing impact and lateral block length of the spiking network (rust/colanet/network.rs).
_FORCING, _BLOCK = 10.0, 10


def spiking_tau_v(theta: float) -> float:
    """Largest integer τ_v ≥ 1 for which a forcing residue decays below θ within the
    lateral block (module doc); ∞ if the residue never reaches θ."""
    if theta >= _FORCING:
        return math.inf
    bound = 1.0 / (1.0 - (theta / _FORCING) ** (1.0 / _BLOCK))
    tau = math.ceil(bound) - 1.0
    return max(tau, 1.0)


def learner_params(p: TheoryParams, kind: str = "digital", microcolumns: int = 20) -> dict:
    """Hyperparameters of :class:`snnconv.DigitalCoLaNET` / :class:`snnconv.CoLaNET` that
    realise the theory's assumptions (module table)."""
    if kind not in KINDS:
        raise ParameterError(f"kind: must be one of {KINDS}, got {kind!r}")
    common = {
        "microcolumns": microcolumns,
        "n_copies": 1,
        "threshold": p.theta,
        "threshold_excess": 0.0,
        "hebbian": -p.d,
        "reward": p.d,
        "stability_ratio": 0.0,
        "w_min": p.w_min,
        "w_max": p.w_max,
        "initial_weight": 0.0,
        "silent_synapses": -1,
        "stochastic": 0.0,
        "shuffle": False,
        # the theory's inputs are rate-coded counts, one synapse per input node
        "encoding": "rate",
    }
    if kind == "digital":
        return {**common, "tau_v": None, "presentation_steps": 15, "input_max": 15.0}
    t_p = round(p.t_p)
    tau_v = spiking_tau_v(p.theta)
    tau_v = 1e9 if math.isinf(tau_v) else tau_v
    return {**common, "tau_v": tau_v, "presentation_steps": t_p, "input_max": float(t_p)}


def make_learner(p: TheoryParams, kind: str = "digital", seed: int = 0, microcolumns: int = 20):
    """A fresh learner configured by :func:`learner_params`."""
    from ..colanet.digital import DigitalCoLaNET
    from ..colanet.spiking import CoLaNET

    cls = DigitalCoLaNET if kind == "digital" else CoLaNET
    return cls(random_state=seed, **learner_params(p, kind, microcolumns))


def profile_centre(weights: np.ndarray, centres: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centroid, χ) of each row's positive weight profile; NaN for rows with none.

    χ² is the second central moment of w⁺ over the node centres: for a Gaussian profile
    it is exactly the Gaussian's width, for other shapes the width of the Gaussian with
    the same spread.
    """
    wp = np.maximum(np.asarray(weights, dtype=float), 0.0)
    mass = wp.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mu = (wp * centres).sum(axis=-1) / mass
        var = (wp * (centres - mu[..., None]) ** 2).sum(axis=-1) / mass
    return mu, np.sqrt(var)


def centre_resource(resource: np.ndarray, weights: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """W_c per microcolumn (rows): resource at the node nearest the profile centroid."""
    mu, _ = profile_centre(weights, centres)
    out = np.full(resource.shape[0], np.nan)
    ok = np.isfinite(mu)
    idx = np.abs(centres[None, :] - mu[ok, None]).argmin(axis=1)
    out[ok] = resource[ok][np.arange(idx.size), idx]
    return out


@dataclass
class Run:
    """One seeded run: per recorded class-example count ``t``, the centre resource of
    every microcolumn of the class column on its own clock, and accuracy."""

    seed: int
    kind: str
    t: np.ndarray  # class-1 examples seen at each record, (T,)
    w_c: np.ndarray  # (T, M) centre resource, NaN before recruitment
    recruited_at: np.ndarray  # (M,) class-1 example count at recruitment, −1 if never
    n_recruited: int
    rewards: np.ndarray  # (M,) rewards received by each microcolumn of the class column
    chi: np.ndarray  # (M,) fitted profile width at the end, NaN if unused
    acc_t: np.ndarray  # class-1 examples seen at the accuracy checkpoints
    accuracy: np.ndarray  # no answer counts as "not the class" (the theory's reading)
    no_answer: np.ndarray  # fraction of test examples without any answer
    chi_t: np.ndarray  # median fitted profile width at the accuracy checkpoints

    def aligned(self, grid: np.ndarray) -> np.ndarray:
        """W_c on each microcolumn's own clock (t − recruitment), (len(grid), M); NaN
        where not observed. Records are taken after every class example, so the value at
        own time τ is the record at t = recruited_at + τ (τ = 0: before its first reward,
        i.e. the untouched resource)."""
        out = np.full((grid.size, self.w_c.shape[1]), np.nan)
        for j, t_r in enumerate(self.recruited_at):
            if t_r < 0:
                continue
            at = t_r + grid.astype(int)
            ok = at < self.t.size
            out[ok, j] = self.w_c[at[ok], j]
        return out


def simulate_run(
    p: TheoryParams,
    seed: int = 0,
    kind: str = "digital",
    n_class_examples: int = 2000,
    n_checkpoints: int = 12,
    n_test: int = 2000,
    microcolumns: int = 20,
) -> Run:
    """Trains one learner on the task, recording after every class-1 example."""
    if kind not in KINDS:
        raise ParameterError(f"kind: must be one of {KINDS}, got {kind!r}")
    if n_class_examples < 1:
        raise ParameterError(f"n_class_examples: must be >= 1, got {n_class_examples}")
    task = BinaryTask(p, seed=seed)
    # Enough examples for n_class_examples of the class (x in [a, b] has probability b − a):
    # 6σ above the mean, doubled (still seeded) in the unlikely case it falls short.
    span = min(p.b, 1.0) - max(p.a, 0.0)
    if span <= 0:
        raise ParameterError(f"a, b: the class interval [{p.a}, {p.b}] misses x in [0, 1)")
    n_total = int(n_class_examples / span + 6 * math.sqrt(n_class_examples / span) + 50)
    # The records below (weights per microcolumn and example) and the sampled task.
    check_alloc("microcolumns", (n_class_examples + 1, microcolumns), 8)
    check_alloc("n_class_examples", (2 * n_total, task.centres.size), 8)
    while True:
        _, counts, labels = task.sample(n_total, stream=0)
        cls_idx = np.flatnonzero(labels == 1)
        if cls_idx.size >= n_class_examples:
            break
        n_total *= 2
    _, test_counts, test_labels = task.sample(n_test, stream=1)
    x_test = test_counts.astype(np.float64)
    centres = task.centres
    model = make_learner(p, kind, seed, microcolumns)
    x_all = counts.astype(np.float64)
    ends = cls_idx[:n_class_examples] + 1
    # t = 0 record: the untouched network.
    w_c = np.full((n_class_examples + 1, microcolumns), np.nan)
    w_start = -p.w_min * (p.w_max - p.w_min) / p.w_max
    w_c[0] = w_start
    rewarded_before = np.zeros(microcolumns, np.int64)
    recruited_at = np.full(microcolumns, -1, np.int64)
    check = set(np.unique(np.geomspace(1, n_class_examples, n_checkpoints).astype(int)).tolist())
    acc_t, acc, none, chi_t = [], [], [], []
    start = 0
    for k, end in enumerate(ends, start=1):
        if k == 1:
            model.partial_fit(x_all[start:end], labels[start:end], classes=[0, 1])
        else:
            model.partial_fit(x_all[start:end], labels[start:end])
        start = end
        res = model.resource_[0, 1]
        wts = weight_from_resource(res, p.w_min, p.w_max)
        rew = model.firing_counts_["rewarded"][0, 1]
        w_c[k] = np.where(rew > 0, centre_resource(res, wts, centres), w_start)
        new = (rew > 0) & (rewarded_before == 0)
        recruited_at[new] = k - 1
        rewarded_before = rew.copy()
        if k in check:
            votes = model.votes(x_test)
            answered = votes.max(axis=1) > 0
            # The theory's reading: the answer is "class" iff the class column wins,
            # anything else (including no answer) means "not the class".
            pred = np.where(answered, votes.argmax(axis=1), 0)
            acc_t.append(k)
            acc.append(float(np.mean(pred == test_labels)))
            none.append(float(np.mean(~answered)))
            _, widths = profile_centre(wts[rew > 0], centres)
            chi_t.append(float(np.nanmedian(widths)) if widths.size else math.nan)
    res = model.resource_[0, 1]
    _, chi = profile_centre(weight_from_resource(res, p.w_min, p.w_max), centres)
    used = rewarded_before > 0
    chi[~used] = np.nan
    w_c[:, ~used] = np.nan
    return Run(
        seed=seed,
        kind=kind,
        t=np.arange(n_class_examples + 1),
        w_c=w_c,
        recruited_at=recruited_at,
        n_recruited=int(used.sum()),
        rewards=rewarded_before.astype(np.int64),
        chi=chi,
        acc_t=np.asarray(acc_t),
        accuracy=np.asarray(acc),
        no_answer=np.asarray(none),
        chi_t=np.asarray(chi_t),
    )


@dataclass
class Simulation:
    """Runs over seeds and their summaries on a common own-clock grid."""

    params: TheoryParams
    kind: str
    runs: list[Run] = field(default_factory=list)

    @property
    def n_recruited(self) -> np.ndarray:
        return np.array([r.n_recruited for r in self.runs])

    def mode_recruited(self) -> int:
        """Most probable microcolumn count (smallest on ties)."""
        values, freq = np.unique(self.n_recruited, return_counts=True)
        return int(values[np.argmax(freq)])

    def chi(self) -> float:
        """Median fitted profile width over all used microcolumns."""
        c = np.concatenate([r.chi for r in self.runs])
        return float(np.nanmedian(c))

    def aligned(self, grid: np.ndarray) -> np.ndarray:
        """All microcolumns' W_c on their own clocks, (len(grid), runs × M)."""
        return np.concatenate([r.aligned(grid) for r in self.runs], axis=1)

    def accuracy(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(t, mean accuracy, std) at the checkpoints common to all runs."""
        t = self.runs[0].acc_t
        a = np.stack([r.accuracy for r in self.runs])
        return t, a.mean(axis=0), a.std(axis=0)


def simulate(
    p: TheoryParams,
    seeds: range | list[int] = range(8),
    kind: str = "digital",
    n_class_examples: int = 2000,
    **kw,
) -> Simulation:
    """:func:`simulate_run` over ``seeds``."""
    sim = Simulation(p, kind)
    for s in seeds:
        sim.runs.append(simulate_run(p, int(s), kind, n_class_examples, **kw))
    return sim

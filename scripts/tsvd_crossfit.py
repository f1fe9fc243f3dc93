"""Which TSVD truncation rule generalises: thresholds, every rank or none, on held-out data?

With ``debias: tsvd`` the validation set chooses twice: each refitted step's truncation,
then the checkpoint per budget. The validation loss of the chosen model is therefore
optimistic, and more so the more truncations are candidates: ``tsvd_truncation: rank``
(every rank 1 ... |S|) lowers it against ``thresholds`` (σ > ε σ₁, 13 values of ε) on the
same active sets by construction. This script compares the two rules, and the plain
least-squares refit (``ls``: all ranks kept, no choice), without that bias.
The validation configurations are split into two halves at random; one half chooses
(truncation per step, then the checkpoint with at most t functions), the other half
scores the choice by the weighted RMS residual (the pipeline's ``loss``), and the halves
swap. Over ``--halvings`` random halvings it prints each rule's held-out loss and its
paired difference from ``thresholds``::

    python scripts/tsvd_crossfit.py runs/zuo_mo/mo --paths asp,omp --halvings 50

The path's steps give the active sets (every ``--every``-th active size, as the
pipeline's ``debias_every``), so any finished run of the path works; the run's system
comes from its cache (see ``scripts/config_residuals.py``). The last line is the figures
as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config_residuals import load_with_prior, refit_arguments

RULES = ("thresholds", "rank", "ls")


def step_sse(problem, active, gamma, Av, yv, onehot):
    """(configurations, ranks) squared weighted validation residuals of every truncation
    rank of the TSVD refit on ``active``, and the ranks the thresholds rule can pick."""
    from acefit.solvers.debias import DEFAULT_RTOLS, tsvd_terms

    s, terms = tsvd_terms(problem, active, prior=gamma)
    pred = np.cumsum(Av[:, active] @ terms, axis=1)
    sse = onehot.T @ (yv[:, None] - pred) ** 2
    thresholds = sorted({int(np.count_nonzero(s > r * s[0])) for r in DEFAULT_RTOLS} - {0})
    return sse, np.asarray(thresholds) - 1


def choose(steps, rule, configs, budget):
    """(step index, rank index) chosen by the summed squared residual over ``configs``."""
    best = None
    for i, st in enumerate(steps):
        if st["k"] > budget:
            continue
        n = st["sse"].shape[1]
        cands = {"thresholds": st["thresholds"], "rank": np.arange(n),
                 "ls": np.array([n - 1])}[rule]
        err = st["sse"][configs][:, cands].sum(axis=0)
        j = int(np.argmin(err))
        if best is None or err[j] < best[0]:
            best = (err[j], i, int(cands[j]))
    return best[1], best[2]


def crossfit(steps, n_rows, budgets, halvings, seed=0):
    """Held-out loss of each rule per budget: ``{budget: {rule: array (2 * halvings,)}}``."""
    rng = np.random.default_rng(seed)
    n = n_rows.size
    out = {t: {rule: [] for rule in RULES} for t in budgets}
    for _ in range(halvings):
        perm = rng.permutation(n)
        for pick, score in ((perm[: n // 2], perm[n // 2:]), (perm[n // 2:], perm[: n // 2])):
            for t in budgets:
                for rule in RULES:
                    i, r = choose(steps, rule, pick, t)
                    sse = steps[i]["sse"][score, r].sum()
                    out[t][rule].append(float(np.sqrt(sse / n_rows[score].sum())))
    return {t: {rule: np.asarray(v) for rule, v in d.items()} for t, d in out.items()}


def main(argv=None) -> int:
    from acefit.checkpoints import read_paths

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    refit_arguments(ap, "asp")
    ap.add_argument("--halvings", type=int, default=50)
    args = ap.parse_args(argv)
    _, system, gamma = load_with_prior(args.run)
    Av, yv = system.val.weighted(order="F")
    configs, row_config = np.unique(system.val.config, return_inverse=True)
    onehot = np.zeros((yv.size, configs.size))
    onehot[np.arange(yv.size), row_config] = 1.0
    n_rows = onehot.sum(axis=0)
    budgets = [int(x) for x in args.budgets.split(",")]
    paths = read_paths(args.run / "paths.h5")
    report = {}
    for label in args.paths.split(","):
        steps, seen = [], set()
        for step in paths[label].steps:
            active = np.sort(np.asarray(step.active, dtype=np.intp))
            k = active.size
            if k == 0 or k % args.every or k in seen:
                continue
            seen.add(k)
            sse, thresholds = step_sse(system.train, active, gamma, Av, yv, onehot)
            steps.append({"k": k, "sse": sse, "thresholds": thresholds})
        held = crossfit(steps, n_rows, budgets, args.halvings)
        for t in budgets:
            a = held[t]["thresholds"]
            row = {rule: float(held[t][rule].mean()) for rule in RULES}
            row["steps"] = len(steps)
            for rule in RULES[1:]:
                d = (held[t][rule] - a) / a * 100.0
                row[rule + "_diff_pct"] = float(d.mean())
                row[rule + "_diff_se"] = float(d.std(ddof=1) / np.sqrt(d.size))
                row[rule + "_lower"] = float(np.mean(d < 0))
                print(f"{label} t ≤ {t}: held-out loss thresholds {row['thresholds']:.5f}, "
                      f"{rule} {row[rule]:.5f}; {rule} − thresholds "
                      f"{row[rule + '_diff_pct']:+.2f} ± {row[rule + '_diff_se']:.2f} % (lower "
                      f"in {100 * row[rule + '_lower']:.0f} % of {d.size} half-splits)")
            report.setdefault(label, {})[str(t)] = row
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

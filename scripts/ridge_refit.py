"""Would a ridge refit of a finished run's path checkpoints, chosen by validation, help?

For each named path of a finished ``acefit fit`` run, the first step of every active
size divisible by ``--every`` is refitted on its active set S with the run's prior Γ::

    min ||R_S c − Qᵀy||² + λ ||Γ_S c||²,   λ = ρ · (largest eigenvalue of the scaled Gram)

ρ is chosen per step by the weighted validation RMS residual (the pipeline's ``loss``),
the unrefitted step being the candidate ρ = 0. Then, per budget, the best-validation
step with at most t functions is taken with and without the refit, and its validation
and test errors are printed::

    python scripts/ridge_refit.py runs/zuo_mo/mo --paths omp,asp

The last line is the same figures as JSON. The run's systems come from its cache (see
``scripts/config_residuals.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import scipy.linalg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config_residuals import describe, load_with_prior, refit_arguments, split_errors

RHOS = (0.0,) + tuple(10.0 ** -k for k in range(14, 1, -1))


def ridge_candidates(G, b, gamma, active):
    """(ρ, coefficients on ``active``) for every ρ in :data:`RHOS` except 0, from one
    eigendecomposition of the prior-scaled Gram block (G = RᵀR, b = RᵀQᵀy)."""
    g = gamma[active]
    w, V = scipy.linalg.eigh(G[np.ix_(active, active)] / np.outer(g, g))
    w = np.maximum(w, 0.0)
    vb = V.T @ (b[active] / g)
    return [(rho, V @ (vb / (w + rho * w[-1])) / g) for rho in RHOS[1:]]


def refit_path(path, G, b, gamma, val, every):
    """Per kept step: its size, and (loss, ρ, coef) unrefitted and best by validation."""
    Av, yv = val

    def loss(active, x):
        r = yv - Av[:, active] @ x
        return float(np.sqrt(r @ r / r.size))

    out, seen = [], set()
    for step in path.steps:
        coef = np.asarray(step.coef, dtype=float)
        active = np.flatnonzero(coef)
        k = active.size
        if k == 0 or k % every or k in seen:
            continue
        seen.add(k)
        base = (loss(active, coef[active]), 0.0, coef[active])
        best = min([base] + [(loss(active, x), rho, x)
                             for rho, x in ridge_candidates(G, b, gamma, active)],
                   key=lambda c: c[0])
        out.append({"k": k, "active": active, "base": base, "ridge": best})
    return out


def main(argv=None) -> int:
    from acefit.checkpoints import read_paths

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    refit_arguments(ap, "omp,asp")
    args = ap.parse_args(argv)
    _, system, gamma = load_with_prior(args.run)
    R, qty = system.train.A, system.train.y
    G, b = R.T @ R, R.T @ qty
    paths = read_paths(args.run / "paths.h5")
    report = {}
    for label in args.paths.split(","):
        steps = refit_path(paths[label], G, b, gamma, system.val.weighted(), args.every)
        for t in (int(x) for x in args.budgets.split(",")):
            for kind in ("base", "ridge"):
                s = min((s for s in steps if s["k"] <= t), key=lambda s: s[kind][0])
                val_loss, rho, x = s[kind]
                coef = np.zeros(R.shape[1])
                coef[s["active"]] = x
                row = {"k": s["k"], "rho": rho, "val_loss": val_loss,
                       **split_errors(system, coef)}
                report.setdefault(label, {})[f"{kind}{t}"] = row
                print(f"{label} t ≤ {t} {kind:5s} ρ {rho:.0e} {describe(row)}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

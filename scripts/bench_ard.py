"""ARD two ways on a finished run's system: one precision per move against all at once.

Usage::

    python scripts/bench_ard.py runs/zuo_mo/mo                 # the run's reduced system
    python scripts/bench_ard.py runs/zuo_mo/mo --k 1000 --moves 3000 --threshold 1.0

Measured in one process, on the run's training system (R, Q'y) with its prior:

* ``acefit.solvers.ard_path`` (Tipping & Faul) to ``--k`` functions, ``--moves`` moves
  at most: the time at which it first holds 100, 300, ... functions, and in total;
* ``acefit.solvers.ard`` (the fixed point of scikit-learn's ``ARDRegression``), one fit
  at ``--threshold`` (the Zuo configs' sweep starts there; 285 functions on Zuo Mo);

and for both final models the log evidence (nats), the validation loss and the
number of functions. Each includes its own Gram matrix. BLAS on one thread.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from config_residuals import load_with_prior

from acefit.solvers import ard, ard_path


def log_evidence(A_s, y, yty, m, active, alpha, beta):
    """log p(y | alpha, beta) of the ARD model on ``active`` (scaled columns ``A_s``)."""
    G, b = A_s[:, active].T @ A_s[:, active], A_s[:, active].T @ y  # the model's block only
    L = scipy.linalg.cholesky(beta * G + np.diag(alpha), lower=True)
    mu = beta * scipy.linalg.cho_solve((L, True), b)
    rss = yty - 2 * mu @ b + mu @ G @ mu
    logdet = 2 * np.log(np.diag(L)).sum() - np.log(alpha).sum() - m * np.log(beta)
    return -0.5 * (m * np.log(2 * np.pi) + logdet + beta * rss + alpha @ mu ** 2)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a finished `acefit fit` run with a validation set")
    ap.add_argument("--k", type=int, default=1000, help="ard_path max_active")
    ap.add_argument("--moves", type=int, default=3000, help="ard_path max_iter")
    ap.add_argument("--threshold", type=float, default=1.0, help="ard threshold_lambda")
    args = ap.parse_args(argv)

    _, system, gamma = load_with_prior(args.run)
    P = system.train
    val = system.val.weighted()
    A_s = P.A / gamma
    yty = P.y @ P.y + P.offset

    marks, t0 = {}, [0.0]

    def on_step(step):
        k = step.n_active
        if k % 100 == 0 and k not in marks:
            marks[k] = time.perf_counter() - t0[0]

    rows = []
    with threadpool_limits(1):
        t0[0] = time.perf_counter()
        path = ard_path(P, max_active=args.k, max_iter=args.moves, prior=gamma,
                        validation=val, on_step=on_step)
        t_path = time.perf_counter() - t0[0]
        t = time.perf_counter()
        fixed = ard(P, threshold_lambda=args.threshold, prior=gamma, validation=val)
        t_fixed = time.perf_counter() - t
    for name, p, secs in (("ard_path", path, t_path), ("ard (fixed point)", fixed, t_fixed)):
        s = p.steps[-1]
        ev = log_evidence(A_s, P.y, yty, P.m, s.active, s.info["precisions"], s.info["beta"])
        best = min(p.steps, key=lambda x: x.val_error)
        rows.append(f"| {name} | {secs:.1f} | {s.n_active} | {s.info.get('event', '')} | "
                    f"{ev:.1f} | {s.val_error:.5f} | {best.n_active}: {best.val_error:.5f} |")
    print(f"{args.run}: {P.m} rows, {P.n_features} functions; ard_path to {args.k} functions "
          f"({args.moves} moves at most), ard at threshold_lambda {args.threshold}\n")
    print("| solver | time (s) | functions | end | log evidence | val loss | best step: val loss |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(rows))
    print("\nard_path first holds k functions after (s): "
          + ", ".join(f"{k}: {v:.1f}" for k, v in sorted(marks.items())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Per-step primitives of the solver paths, each beside its old form.

Usage::

    python scripts/bench_path_primitives.py                 # Zuo Mo sizes
    python scripts/bench_path_primitives.py --n 2000 --m-val 1000 --sizes 100 500

1. **Validation error of a step**: ``A_val[:, S] @ c[S]`` with the validation rows
   stored row-major (the old layout) and column-major (``validate_validation``
   now converts to it; the pipeline builds it so): every step gathers its active
   columns, contiguous only in the second layout.
2. **Sub-problem of a reduced system on columns S** (``LeastSquaresProblem.columns``,
   each TSVD / least-squares refit): the old economic QR of R[:, S] with Q_S
   formed and Q_S^T y multiplied out, and the new single QR (LAPACK geqrf, Q never
   formed) of [R[:, S] | Q^T y], whose last column holds Q_S^T y.
3. **Residual sum of squares of an ARD iteration** at a posterior mean d on the kept
   columns S: the old product ||Q^T y - R d||^2 (an n x n matrix-vector product)
   and the new form from the posterior's own system, H d = beta A^T y, which costs
   two dot products over S.
4. **A TSVD refit chosen by validation** (``debias: tsvd``, every kept step): the
   truncation chosen among the 13 thresholds, and among every rank 1 ... |S|
   (``tsvd_truncation: rank``, all ranks' validation predictions as cumulative sums
   of one product). Not an old and a new form: the cost of the option.

Random data of the real shapes (R upper triangular, n x n); BLAS on one thread;
each figure is the median of ``--repeat`` calls, both forms timed side by side in
one run. The script checks that both forms agree.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.linalg
from threadpoolctl import threadpool_limits

from acefit.lsq import LeastSquaresProblem
from acefit.solvers.debias import tsvd_refit


def median_time(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def old_columns(problem, idx):
    Q, R = scipy.linalg.qr(problem.A[:, idx], mode="economic")
    return R, Q.T @ problem.y


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5317, help="basis size (Zuo Mo: 5317)")
    ap.add_argument("--m-val", type=int, default=2900, help="validation rows (Zuo Mo: ~2900)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 500, 1000])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(0)
    A_rows = rng.normal(size=(args.m_val, args.n))
    A_cols = np.asfortranarray(A_rows)
    R = np.triu(rng.normal(size=(args.n, args.n))) + 10 * np.eye(args.n)
    problem = LeastSquaresProblem.from_reduced(R, rng.normal(size=args.n),
                                               yty=1e6, m=10 * args.n)
    print(f"n = {args.n}, validation rows = {args.m_val}, BLAS threads = {args.threads}, "
          f"load average {os.getloadavg()[0]:.2f}")
    print("| active | val. error, row-major (ms) | column-major (ms) | speed-up "
          "| sub-problem, QR with Q (ms) | QR of [R_S, Q'y] (ms) | speed-up "
          "| ARD rss, product (ms) | from H d = beta A'y (ms) "
          "| TSVD refit, thresholds (ms) | every rank (ms) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    y_val = rng.normal(size=args.m_val)
    G, aty = problem.gram(), problem.aty()
    with threadpool_limits(args.threads):
        for k in args.sizes:
            idx = np.sort(rng.choice(args.n, k, replace=False))
            coef = rng.normal(size=k)
            p_rows = A_rows[:, idx] @ coef
            p_cols = A_cols[:, idx] @ coef
            assert np.allclose(p_rows, p_cols, rtol=0, atol=1e-10 * np.abs(p_rows).max())
            t_rows = median_time(lambda: A_rows[:, idx] @ coef, args.repeat)
            t_cols = median_time(lambda: A_cols[:, idx] @ coef, args.repeat)
            R_old, z_old = old_columns(problem, idx)
            sub = problem.columns(idx)
            # both are R_S up to the signs of its rows
            s = np.sign(np.diag(R_old)) * np.sign(np.diag(sub.A))
            assert np.allclose(s[:, None] * sub.A, R_old, rtol=0, atol=1e-10 * np.abs(R_old).max())
            assert np.allclose(s * sub.y, z_old, rtol=0, atol=1e-10 * np.abs(z_old).max())
            t_old = median_time(lambda: old_columns(problem, idx), args.repeat)
            t_new = median_time(lambda: problem.columns(idx), args.repeat)
            # an ARD posterior mean on S: H d_S = beta A_S^T y, H = beta G_SS + diag(prec)
            beta, prec = 2.0, rng.uniform(0.5, 2.0, k)
            H = beta * G[np.ix_(idx, idx)] + np.diag(prec)
            d_s = np.linalg.solve(H, beta * aty[idx])
            d = np.zeros(args.n)
            d[idx] = d_s

            def rss_posterior():
                return problem.yty - d_s @ aty[idx] - (prec * d_s) @ d_s / beta

            assert np.isclose(rss_posterior(), problem.rss(d), rtol=1e-8)
            t_prod = median_time(lambda: problem.rss(d), args.repeat)
            t_post = median_time(rss_posterior, args.repeat)
            val = (A_cols, y_val)
            t_thr = median_time(lambda: tsvd_refit(problem, idx, validation=val), args.repeat)
            t_rank = median_time(lambda: tsvd_refit(problem, idx, validation=val, rtols="rank"),
                                 args.repeat)
            print(f"| {k} | {1e3 * t_rows:.2f} | {1e3 * t_cols:.2f} | {t_rows / t_cols:.1f}x "
                  f"| {1e3 * t_old:.1f} | {1e3 * t_new:.1f} | {t_old / t_new:.1f}x "
                  f"| {1e3 * t_prod:.2f} | {1e3 * t_post:.3f} "
                  f"| {1e3 * t_thr:.0f} | {1e3 * t_rank:.0f} |")


if __name__ == "__main__":
    main()

"""Side-by-side timings of the sparse path solvers against scikit-learn and a dense solve.

Usage::

    python scripts/bench_solvers.py                      # 30000 x 5000 random problem
    python scripts/bench_solvers.py --m 6000 --n 1000 --k 200
    python scripts/bench_solvers.py --npz design.npz     # a real design matrix (keys A, y)
    python scripts/bench_solvers.py --zuo 60             # real ACE rows: 60 Zuo Mo configs
    python scripts/bench_solvers.py --zuo 60 --reduced   # + paths on (R, Q'y), as fits run them

Measured in one run, each side including its Gram matrix A'A and A'y:

* ``acefit.solvers.asp``  vs ``sklearn.linear_model.lars_path_gram(method="lasso")``
  to the same number of active functions (max_iter = k);
* ``acefit.solvers.omp``  vs ``sklearn.linear_model.orthogonal_mp_gram`` (k columns);
* each against one dense least-squares solve of the full problem by Householder
  QR (LAPACK ``dgels``; with ``--lstsq`` also ``numpy.linalg.lstsq``, SVD-based).

BLAS runs on ``--threads`` threads (default 1) for every timed call.

scikit-learn's Gram matrix is computed once and its time added to both of its
solvers; ours compute their own. The script checks that the two lasso paths and
the two OMP paths agree at the last step. The machine may be shared: the load
average is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import scipy.linalg.lapack
from sklearn.linear_model import lars_path_gram, orthogonal_mp_gram
from threadpoolctl import threadpool_limits

from acefit.lsq import LeastSquaresProblem
from acefit.solvers import asp, omp


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def qr_solve(A, y):
    """One dense least-squares solve by Householder QR (A is copied, not overwritten)."""
    lapack = scipy.linalg.lapack
    work, info = lapack.dgels_lwork(A.shape[0], A.shape[1], 1)
    if info != 0:
        raise RuntimeError(f"dgels workspace query failed with info={info}")
    _, x, info = lapack.dgels(np.asfortranarray(A), y[:, None].copy(), lwork=int(work),
                              overwrite_a=True, overwrite_b=True)
    if info != 0:
        raise RuntimeError(f"dgels failed with info={info}")
    return x[: A.shape[1], 0]


def random_problem(m, n, n_true, noise, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x = np.zeros(n)
    x[rng.choice(n, n_true, replace=False)] = rng.standard_normal(n_true)
    y = A @ x + noise * rng.standard_normal(m)
    return A, y


def zuo_design(n_configs):
    """Weighted design rows of real ACE features (the matrix the fit's QR reduces)."""
    from pathlib import Path

    from acefit import ACEBasis
    from acefit.data import load_configurations
    from acefit.design import design_block, reference_energies

    path = (Path(__file__).resolve().parents[2] / "shared" / "datasets" / "zuo2020" / "Mo"
            / "train.xyz")
    if not path.is_file():
        raise SystemExit(f"--zuo needs {path}")
    configs = load_configurations(path)[:n_configs]
    basis = ACEBasis(["Mo"], order=3, totaldegree=25, rcut=5.0)
    block = design_block(basis, configs, None, reference_energies(None, configs, ["Mo"]))
    A, y = block.weighted()
    return np.ascontiguousarray(A), np.asarray(y)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--m", type=int, default=30000, help="rows of the random problem")
    ap.add_argument("--n", type=int, default=5000, help="columns of the random problem")
    ap.add_argument("--k", type=int, default=1000, help="active functions to reach")
    ap.add_argument("--n-true", type=int, default=2000, help="non-zeros of the planted vector")
    ap.add_argument("--noise", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--npz", help="real design matrix: an .npz with arrays A and y")
    ap.add_argument("--zuo", type=int, metavar="N_CONFIGS",
                    help="real ACE design: the weighted rows (E 30, F 1, V 1; E0 fitted) of the "
                         "first N_CONFIGS Zuo Mo training configurations on the order-3, "
                         "totaldegree-25 basis (~5300 functions), from ../shared/datasets")
    ap.add_argument("--lstsq", action="store_true", help="also time numpy.linalg.lstsq (slow)")
    ap.add_argument("--reduced", action="store_true",
                    help="also time the paths on the QR-reduced problem, as the fitting "
                         "pipeline calls them (the reduction timed on its own line)")
    ap.add_argument("--threads", type=int, default=1,
                    help="BLAS threads for every timed call (default 1: on a shared, loaded "
                         "machine multi-threaded LAPACK timings are erratic)")
    args = ap.parse_args(argv)
    with threadpool_limits(limits=args.threads, user_api="blas"):
        run(args)


def run(args):

    if args.npz:
        with np.load(args.npz) as f:
            A, y = np.ascontiguousarray(f["A"], dtype=float), np.asarray(f["y"], dtype=float)
        label = f"{args.npz}: {A.shape[0]} x {A.shape[1]}"
    elif args.zuo:
        A, y = zuo_design(args.zuo)
        label = f"Zuo Mo, first {args.zuo} training configurations: {A.shape[0]} x {A.shape[1]}"
    else:
        A, y = random_problem(args.m, args.n, args.n_true, args.noise, args.seed)
        label = f"random {args.m} x {args.n} (seed {args.seed}, {args.n_true} planted non-zeros)"
    k = min(args.k, A.shape[1])
    load_before = os.getloadavg()

    times = {}
    _, times["dense QR solve (dgels)"] = timed(qr_solve, A, y)
    if args.lstsq:
        _, times["dense numpy.linalg.lstsq"] = timed(np.linalg.lstsq, A, y, rcond=None)
    (G, Xy), t_gram = timed(lambda: (A.T @ A, A.T @ y))
    times["sklearn Gram A'A, A'y"] = t_gram

    p_asp, times["acefit asp"] = timed(asp, A, y, max_active=k)
    # one LARS iteration per breakpoint: with drops on the path, reaching k active
    # functions takes more than k iterations, as many as ASP took.
    n_breaks = len(p_asp) - 1
    (_, _, coefs), t = timed(lars_path_gram, Xy, G, n_samples=A.shape[0], max_iter=n_breaks,
                             method="lasso")
    times["sklearn lars_path_gram + Gram"] = t + t_gram
    lars_active = int((coefs[:, -1] != 0).sum())
    short = lars_active < p_asp.steps[-1].n_active  # LARS gave up before k active
    like_for_like = []  # then like for like is ASP to the active count where LARS stopped
    if short:
        like_for_like.append(f"acefit asp to {lars_active} active")
        _, times[like_for_like[-1]] = timed(asp, A, y, max_active=lars_active)
    p_omp, times["acefit omp"] = timed(omp, A, y, max_active=k)
    omp_ref, t = timed(orthogonal_mp_gram, G, Xy, n_nonzero_coefs=k)
    times["sklearn orthogonal_mp_gram + Gram"] = t + t_gram
    if args.reduced:
        # what the fitting pipeline does: assembly hands the solvers (R, Q'y)
        problem, times["QR reduction (R, Q'y), as assembly makes"] = timed(
            LeastSquaresProblem.from_dense, A, y, reduce=True)
        _, times["acefit asp on (R, Q'y)"] = timed(asp, problem, max_active=k)
        _, times["acefit omp on (R, Q'y)"] = timed(omp, problem, max_active=k)
        if short:
            like_for_like.append(f"acefit asp on (R, Q'y) to {lars_active} active")
            _, times[like_for_like[-1]] = timed(asp, problem, max_active=lars_active)
    load_after = os.getloadavg()

    # the paths must agree, or the timings compare different work
    lasso_diff = np.abs(p_asp.steps[-1].coef - coefs[:, -1]).max() if \
        p_asp.steps[-1].n_active == (coefs[:, -1] != 0).sum() else np.inf
    omp_diff = np.abs(p_omp.steps[-1].coef - omp_ref).max()

    dense = times["dense QR solve (dgels)"]
    print(f"problem: {label}; paths to {k} active functions; BLAS threads {args.threads}")
    print(f"ASP: {n_breaks} breakpoints, last n_active {p_asp.steps[-1].n_active}; "
          f"lars_path_gram: {coefs.shape[1] - 1} knots, last n_active "
          f"{int((coefs[:, -1] != 0).sum())}; max |coef - lars| at the last step {lasso_diff:.2e}")
    print(f"OMP: {len(p_omp)} steps, max |coef - omp_gram| at last step {omp_diff:.2e}")
    print(f"load average (1, 5, 15 min) before {load_before}, after {load_after}")
    print()
    w = max(map(len, times))
    print(f"| {'method':{w}s} | time (s) | / dense QR |")
    print(f"|{'-' * (w + 2)}|---------:|-----------:|")
    for name, t in times.items():
        print(f"| {name:{w}s} | {t:8.2f} | {t / dense:10.2f} |")
    print()
    r_asp = times["acefit asp"] / times["sklearn lars_path_gram + Gram"]
    r_omp = times["acefit omp"] / times["sklearn orthogonal_mp_gram + Gram"]
    print(f"ASP / lars_path_gram          = {r_asp:.2f}   (target <= 1.5)"
          + ("   (not like for like: LARS stopped early)" if short else ""))
    for name in like_for_like:
        print(f"{name} / lars_path_gram = "
              f"{times[name] / times['sklearn lars_path_gram + Gram']:.2f}   (target <= 1.5)")
    print(f"OMP / orthogonal_mp_gram      = {r_omp:.2f}")
    print(f"ASP / dense QR solve          = {times['acefit asp'] / dense:.2f}   (target <= 2)")
    print(f"OMP / dense QR solve          = {times['acefit omp'] / dense:.2f}   (target <= 2)")


if __name__ == "__main__":
    main()

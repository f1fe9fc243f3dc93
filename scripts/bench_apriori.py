"""Time the BLR a-priori basis path against one full-basis BLR fit (issue 8, item 6).

On the Zuo Mo problem of ``configs/zuo_mo.yaml`` (~5300 functions), the reduced
training system is read from the design-matrix cache of an earlier ``acefit
fit`` / ``scripts/zuo_benchmark.py`` run (same basis, data, weights and E0, so
the cache key matches); a cache miss assembles it (slow, and the script says so).
Then, with the config's prior Γ:

* one BLR fit on the full basis (:func:`acefit.solvers.blr`);
* the BLR a-priori path (:func:`acefit.solvers.apriori.apriori_path`, costs = the
  prior's γ, ``--sizes`` evenly spaced nested sub-bases up to the full basis),
  with the wall time of each size;
* with ``--patience N``, the same path stopped once N sizes in a row have not lowered
  the validation loss: its wall time against the whole path, and whether it keeps the
  whole path's steps and its best one.

Both wall and CPU time are printed. BLAS threads are fixed with ``--threads``
(default 1: the machine is shared, and one thread gives reproducible ratios);
the value is exported as OPENBLAS_NUM_THREADS / OMP_NUM_THREADS / MKL_NUM_THREADS
before numpy is imported, and checked with threadpoolctl.

Usage::

    python scripts/bench_apriori.py --cache runs/zuo/cache            # Mo, 10 sizes
    python scripts/bench_apriori.py --cache runs/zuo/cache --threads 2
    python scripts/bench_apriori.py --cache runs/zuo/cache --patience 2
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=REPO / "configs" / "zuo_mo.yaml")
    p.add_argument("--cache", type=Path, required=True,
                   help="design-matrix cache folder of a finished run of the config")
    p.add_argument("--sizes", type=int, default=10, help="number of a-priori sizes")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    p.add_argument("--patience", type=int, default=None,
                   help="also time the path stopped by this patience")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = _parse(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)

    import numpy as np
    from threadpoolctl import threadpool_info

    from acefit.config import load_config
    from acefit.fit_settings import prior_scale
    from acefit.pipeline import assemble_system, build_basis, load_data
    from acefit.solvers import blr
    from acefit.solvers.apriori import apriori_path

    blas = sorted({(i["internal_api"], i["num_threads"]) for i in threadpool_info()
                   if i["user_api"] == "blas"})
    cfg = load_config(args.config)
    t = time.perf_counter()
    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    system = assemble_system(cfg, data, basis, args.cache)
    if not system.cache_hit:
        print(f"warning: no cached system for this config in {args.cache}; it was assembled "
              "(and is now cached)", file=sys.stderr)
    load_s = time.perf_counter() - t
    problem = system.train
    gamma = prior_scale(cfg, basis)
    validation = system.val.weighted(order="F") if system.val is not None else None
    print(f"config {args.config.name}: {len(basis)} functions, reduced R "
          f"{problem.A.shape[0]} x {problem.A.shape[1]} from {problem.m} rows "
          f"(cache hit: {system.cache_hit}, load {load_s:.1f} s); BLAS {blas}")

    def timed(fn):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - w, time.process_time() - c

    full, full_wall, full_cpu = timed(lambda: blr(problem, prior=gamma, validation=validation))
    step_times = []
    last = [time.perf_counter()]

    def on_step(step):
        now = time.perf_counter()
        step_times.append((step.info["size"], now - last[0], step.val_error))
        last[0] = now

    path, path_wall, path_cpu = timed(lambda: apriori_path(
        problem, costs=gamma, sizes=args.sizes, solver="blr", prior=gamma,
        validation=validation, on_step=on_step))

    f = full.steps[0]
    print()
    print("| fit | functions | wall (s) | CPU (s) | validation loss |")
    print("|---|---|---|---|---|")
    print(f"| BLR, full basis | {len(basis)} | {full_wall:.1f} | {full_cpu:.1f} | "
          f"{f.val_error:.5g} |")
    for k, w, v in step_times:
        print(f"| a-priori step | {k} | {w:.1f} | | {v:.5g} |")
    print(f"| **BLR a-priori path, {len(path)} sizes** | {path.sizes.min()}..{path.sizes.max()} "
          f"| **{path_wall:.1f}** | {path_cpu:.1f} | best "
          f"{min(s.val_error for s in path.steps):.5g} |")
    if args.patience is not None:
        stopped, stop_wall, stop_cpu = timed(lambda: apriori_path(
            problem, costs=gamma, sizes=args.sizes, solver="blr", prior=gamma,
            validation=validation, patience=args.patience))
        kept = all(np.array_equal(a.coef, b.coef) for a, b in zip(stopped, path))
        best = min(range(len(path)), key=lambda i: path.steps[i].val_error)
        print(f"| BLR a-priori path, patience {args.patience}: {len(stopped)} sizes | "
              f"{stopped.sizes.min()}..{stopped.sizes.max()} | {stop_wall:.1f} | "
              f"{stop_cpu:.1f} | best {min(s.val_error for s in stopped.steps):.5g} |")
    print()
    print(f"ratio path / one full fit: wall {path_wall / full_wall:.2f}, "
          f"CPU {path_cpu / full_cpu:.2f}")
    if args.patience is not None:
        print(f"patience {args.patience}: {len(stopped)} of {len(path)} sizes, wall "
              f"{stop_wall:.1f} s against {path_wall:.1f} s ({path_wall / stop_wall:.2f}x); "
              f"its steps are the whole path's: {kept}; it holds the whole path's best "
              f"step: {best < len(stopped)}")
    print(spectrum_line(problem.A if gamma is None else problem.A / gamma[None, :], f.lam))
    return 0


def spectrum_line(A_scaled, lam) -> str:
    """Why BLR takes the SVD of the prior-scaled R, not the ~3x cheaper eigendecomposition
    of its Gram matrix: the evidence's lambda = alpha / beta against s_max^2. Rounding
    blurs the Gram matrix's eigenvalues by ~n eps s_max^2; where that is not far below
    lambda, the posterior mean of the directions near lambda is not resolved."""
    import numpy as np
    from scipy.sparse.linalg import svds

    s_max = float(svds(A_scaled, k=1, return_singular_vectors=False)[0])
    blur = A_scaled.shape[1] * np.finfo(float).eps * s_max ** 2
    return (f"BLR lambda = alpha/beta = {lam:.3g}; s_max^2 of the scaled R = {s_max ** 2:.3g}; "
            f"lambda / s_max^2 = {lam / s_max ** 2:.2g}; Gram rounding n eps s_max^2 / lambda "
            f"= {blur / lam:.2g} (an eigendecomposition of R'R needs this << 1)")


if __name__ == "__main__":
    sys.exit(main())

"""Check that an ASP path on a real reduced system is an exact lasso path.

Runs :func:`acefit.solvers.asp` on the assembled training system a fit cached
(``<run>/cache/train-*.h5``), with the config's smoothness prior, and checks the
lasso optimality conditions of every ``--every``-th step in long double: with
d = gamma c and A = R / gamma, every inactive column needs |a_j'r| <= lam and every
active one |a_j'r| = lam with the sign of its coefficient, where r = Q'y - A d is
formed in extended precision from the float64 coefficients. The violations are
printed in units of lam next to the rounding that float64 coefficients alone
cause (eps |A|'(|Q'y| + |A||d|)).

Usage (after a fit or ``scripts/zuo_benchmark.py`` run)::

    python scripts/check_asp_kkt.py /tmp/zuo3/si/cache/train-*.h5 --config configs/zuo_si.yaml
"""

from __future__ import annotations

import argparse
import time

import h5py
import numpy as np

from acefit import cache
from acefit.config import load_config
from acefit.lsq import LeastSquaresProblem
from acefit.fit_settings import prior_scale
from acefit.pipeline import build_basis
from acefit.solvers import asp


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cache_file", help="a fit's cached training system, train-<key>.h5")
    ap.add_argument("--config", required=True, help="the fit's YAML (for the basis and prior)")
    ap.add_argument("--max-active", type=int, default=1000)
    ap.add_argument("--every", type=int, default=200, help="check every this many steps")
    args = ap.parse_args(argv)

    with h5py.File(args.cache_file, "r") as f:
        key = str(f.attrs.get("key", ""))
    loaded = cache.load(args.cache_file, key)  # None unless complete and of this format
    if loaded is None:
        raise SystemExit(f"{args.cache_file}: not a complete acefit cache of format "
                         f"{cache.FORMAT_VERSION}")
    (arrays, attrs) = loaded
    R, qty, m, yty = arrays["R"], arrays["qty"], int(attrs["m"]), float(attrs["yty"])
    cfg = load_config(args.config)
    gamma = prior_scale(cfg, build_basis(cfg))
    problem = LeastSquaresProblem.from_reduced(R, qty, yty, m)

    t = time.perf_counter()
    path = asp(problem, max_active=args.max_active, prior=gamma)
    elapsed = time.perf_counter() - t
    events = [s.info["event"] for s in path]
    print(f"ASP: {elapsed:.1f} s, {len(path)} steps ({events.count('drop')} drops, "
          f"{events.count('swap')} swaps), final active {path.steps[-1].n_active}, "
          f"last info {path.steps[-1].info}")

    A = R / gamma
    A_ld, y_ld, A_abs = A.astype(np.longdouble), qty.astype(np.longdouble), np.abs(A)
    eps = np.finfo(float).eps
    worst_off = worst_on = 0.0
    for k in sorted(set(range(1, len(path), args.every)) | {len(path) - 1}):
        s = path.steps[k]
        if not s.lam > 0:
            continue
        d = s.coef * gamma
        g = (A_ld.T @ (y_ld - A_ld @ d.astype(np.longdouble))).astype(float)
        on = d != 0
        off = max(float((np.abs(g[~on]) - s.lam).max(initial=0.0)), 0.0) / s.lam
        act = float(np.abs(np.abs(g[on]) - s.lam).max(initial=0.0)) / s.lam
        signs = bool(np.all(np.sign(g[on]) == np.sign(d[on])))
        rounding = eps * float((A_abs.T @ (np.abs(qty) + A_abs @ np.abs(d))).max()) / s.lam
        worst_off, worst_on = max(worst_off, off), max(worst_on, act)
        print(f"step {k:5d}  active {s.n_active:4d}  lam {s.lam:.3e}  inactive violation "
              f"{off:.1e}  active miss {act:.1e}  signs {'ok' if signs else 'WRONG'}  "
              f"(float64-coefficient rounding {rounding:.1e})  [in units of lam]")
    print(f"worst inactive violation {worst_off:.1e} lam; worst active miss {worst_on:.1e} lam")


if __name__ == "__main__":
    main()

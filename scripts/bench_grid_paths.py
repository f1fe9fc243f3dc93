"""Wall time and convergence of the λ-grid paths (``cd``, ``ista``) on a fitted run's system.

Usage::

    OPENBLAS_NUM_THREADS=1 python scripts/bench_grid_paths.py RUN            # cd and ista
    python scripts/bench_grid_paths.py RUN --solvers cd --max-active 300 --set max_iter=2000
    python scripts/bench_grid_paths.py RUN --md5 > before.txt               # step digests
    python scripts/bench_grid_paths.py RUN --solvers ista --huber 0.1       # loss: huber

``RUN`` is a run directory of ``acefit fit`` (its ``config.yaml`` and ``cache/``): its
data, basis, prior and assembled (reduced) training problem are read back as the fit
reads them (the assembly from the cache), and each solver path runs as the pipeline
runs it (prior-scaled, with the validation rows), without checkpoints.

Per path: wall time, λ steps, steps on the extended grid (below ``lam_ratio·λ_max``),
unconverged steps (``info["converged"]`` False), steps solved on their active set
(``info["exact"]``), iterations (CD sweeps or FISTA iterations) in all and on
unconverged steps, the last step's active count, λ/λ_max and training error, the stop
reason, and the best validation error (the RMS weighted residual) among the steps of at
most 25, 50, 100, 200 and 300 active functions. ``--md5`` prints instead one line per
step with the md5 of its coefficients, λ and training error, to show that a change
leaves a path bit-identical. ``--huber DELTA`` runs ``ista`` with ``loss: huber`` on the
dense weighted training rows, as the pipeline does (``solver_runs.dense_training_problem``:
the rows kept in the cache, else evaluated again), and adds to its summary the largest
violation of the Huber-lasso optimality conditions among its steps, relative to λ_max.
"""

from __future__ import annotations

import argparse
import hashlib
import time
from pathlib import Path

import yaml


def load_system(run: Path, dense: bool = False):
    """(problem, gamma, validation) of the run, as run_paths hands them to a solver;
    ``dense``: the dense weighted training rows in place of the reduced system."""
    from acefit.fit_settings import prior_scale
    from acefit.pipeline import assemble_system, build_basis, load_data
    from acefit.run_folder import cache_dir_of
    from acefit.runs import run_config
    from acefit.solver_runs import dense_training_problem

    cfg = run_config(run)
    data = load_data(cfg, quiet=True)
    basis = build_basis(cfg, data.train)
    system = assemble_system(cfg, data, basis, cache_dir_of(cfg, run), progress=False)
    validation = system.val.weighted(order="F") if system.val is not None else None
    problem = dense_training_problem(system, basis, data.train) if dense else system.train
    return problem, prior_scale(cfg, basis), validation


def huber_kkt(problem, gamma, path, delta: float) -> float:
    """The largest violation among the steps of the Huber-lasso optimality conditions in
    the prior-scaled coefficients, relative to λ_max (ista's ``kkt_tol``, 1e-8, is on that
    scale): (A'psi(r))_j / gamma_j equals λ sign(c_j) where c_j is non-zero, and is at
    most λ in size elsewhere."""
    import numpy as np

    worst = 0.0
    for step in path.steps[1:]:
        g = problem.A.T @ np.clip(problem.y - problem.A @ step.coef, -delta, delta) / (
            1.0 if gamma is None else gamma)
        on = step.coef != 0
        excess = np.concatenate([np.abs(g[on] - step.lam * np.sign(step.coef[on])),
                                 np.abs(g[~on]) - step.lam])
        worst = max(worst, float(excess.max()) / path.steps[0].lam)
    return worst


def run_path(name: str, problem, gamma, validation, settings: dict):
    from acefit.solvers import cd_lasso, ista

    solve = {"cd": cd_lasso, "ista": ista}[name]
    t = time.perf_counter()
    path = solve(problem, prior=gamma, validation=validation, **settings)
    return path, time.perf_counter() - t


def summary(name: str, path, seconds: float, settings: dict) -> str:
    steps = path.steps
    lam_max = steps[0].lam
    ratio = settings.get("lam_ratio", 1e-3)
    extended = sum(1 for s in steps if s.lam < ratio * lam_max * (1 - 1e-9))
    unconverged = [s for s in steps if s.info.get("converged") is False]
    iters = sum(s.info.get("n_iter", 0) for s in steps)
    wasted = sum(s.info.get("n_iter", 0) for s in unconverged)
    exact = sum(1 for s in steps if s.info.get("exact"))
    last = steps[-1]
    best = "  ".join(f"≤{t}: {min(s.val_error for s in steps if s.n_active <= t):.5f}"
                     for t in (25, 50, 100, 200, 300)) if last.val_error is not None else "-"
    return (f"{name:5s} {seconds:7.1f} s  {len(steps):4d} steps ({extended} extended)  "
            f"{len(unconverged):4d} unconverged, {exact} solved exactly  "
            f"iterations {iters} ({wasted} unconverged)  last: {last.n_active} active, "
            f"λ/λ_max {last.lam / lam_max:.2e}, train {last.train_error:.5f}, stop "
            f"{last.info.get('stop')}\n      best validation error by size {best}")


def digests(name: str, path) -> list[str]:
    return [f"{name} {k} {hashlib.md5(s.coef.tobytes()).hexdigest()} {s.lam!r} "
            f"{s.train_error!r}" for k, s in enumerate(path.steps)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run directory of `acefit fit`")
    parser.add_argument("--solvers", nargs="+", default=["cd", "ista"], choices=["cd", "ista"])
    parser.add_argument("--max-active", type=int, default=300)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=YAML",
                        help="a keyword argument of the solver functions, e.g. max_iter=2000")
    parser.add_argument("--md5", action="store_true", help="print step digests instead")
    parser.add_argument("--huber", type=float, metavar="DELTA",
                        help="ista with loss: huber and this delta, on the dense rows")
    args = parser.parse_args(argv)
    settings = {"max_active": args.max_active}
    for item in args.set:
        key, _, value = item.partition("=")
        settings[key] = yaml.safe_load(value)
    if args.huber is not None:
        settings.update(loss="huber", delta=args.huber)
        args.solvers = ["ista"]
    problem, gamma, validation = load_system(args.run, dense=args.huber is not None)
    if not args.md5:
        print(f"system {problem.m} x {problem.n_features}, settings {settings}")
    for name in args.solvers:
        path, seconds = run_path(name, problem, gamma, validation, settings)
        print("\n".join(digests(name, path)) if args.md5 else
              summary(name, path, seconds, settings), flush=True)
        if args.huber is not None and not args.md5:
            print(f"      largest KKT violation / λ_max {huber_kkt(problem, gamma, path, args.huber):.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

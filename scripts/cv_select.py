"""Choose a finished run's OMP checkpoint by K-fold cross-validation instead of its 10 % split.

The protocol selects, per size budget t, the path step with the lowest weighted validation
RMS residual on a 10 % split: 19-21 configurations on Zuo Mo / Si. This measures what a
selection set of every training configuration would choose instead (docs/zuo_tuning.md,
session 18: lower test energies on Si, not on Mo). The run's training configurations are dealt into K random
folds; for each fold an OMP path (same prior, same cap) is fitted to the other folds and
its weighted residuals on the fold are summed per active size. The cross-validation loss
of size n is the RMS of those held-out residuals over all folds, optionally with the run's
own validation residuals of its size-n step added (``+val``: every training and
validation configuration then scores each size once). The chosen size n* <= t is looked
up on the run's own path (an OMP path has one step per size), and the script prints its
test errors beside those of the step the run selected::

    OPENBLAS_NUM_THREADS=1 python scripts/cv_select.py RUN [--folds 5] [--seed 0] [--budgets 300,1000]

The budgets are the run's own ``selection.budgets`` unless ``--budgets`` gives others (a
run without budgets: the best size of any).

The run's training rows must be in its cache (``output.train_rows_gib``). Each fold costs
one QR of the other folds' rows and one OMP path to 1000 functions: about a minute on Zuo
Mo or Si with one thread (5 folds, with loading the run: 5-6 min).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config_residuals import _load_run, training_rows  # noqa: E402


def held_out_sse(path, A, y) -> dict[int, float]:
    """Sum of squared residuals on (A, y) of each step, keyed by active size (first step
    of each size)."""
    sse = {}
    for step in path:
        if step.n_active not in sse:
            r = y - A[:, step.active] @ step.coef[step.active]
            sse[step.n_active] = float(r @ r)
    return sse


def fold_curves(A, y, configs, *, folds: int, seed: int, spec: dict, gamma,
                log=print) -> tuple[dict[int, float], int]:
    """Summed held-out SSE per active size over the folds, and the held-out row count.
    Each fold's path is the run's solver ``spec`` (its config entry) on the other folds;
    sizes every fold's path reached are kept."""
    from acefit.lsq import LeastSquaresProblem
    from acefit.solver_runs import run_solver

    ids = np.unique(configs)
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(rng.permutation(ids), np.arange(len(ids)) % folds))
    row_fold = np.array([fold_of[c] for c in configs])
    total, rows = None, 0
    for k in range(folds):
        out = row_fold == k
        problem = LeastSquaresProblem.from_dense(A[~out], y[~out], reduce=True)
        path = run_solver(spec, problem, gamma=gamma, validation=None, costs=None,
                          on_step=None)
        sse = held_out_sse(path, A[out], y[out])
        total = sse if total is None else {n: total[n] + sse[n] for n in total if n in sse}
        rows += int(out.sum())
        log(f"  fold {k + 1}/{folds}: {np.unique(configs[out]).size} configurations held out, "
            f"path to {max(sse)} functions", flush=True)
    return total, rows


def choose(loss: dict[int, float], budget: int | None) -> int:
    """The size of least ``loss`` within ``budget`` (None: any), the smaller on a tie."""
    sizes = [n for n in loss if budget is None or n <= budget]
    return min(sizes, key=lambda n: (loss[n], n))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a finished run directory (with an omp path)")
    ap.add_argument("--label", default="omp", help="the OMP path's label in the run")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0, help="seed of the fold assignment")
    ap.add_argument("--budgets", default=None,
                    help="size budgets, comma-separated (default: the run's selection.budgets)")
    args = ap.parse_args(argv)
    from acefit.checkpoints import read_paths
    from acefit.fit_settings import prior_scale

    cfg, _, basis, system, _ = _load_run(args.run)
    solver = next((s for s in cfg["solvers"] if s.get("label", s["name"]) == args.label), None)
    if solver is None or solver["name"] != "omp":
        raise SystemExit(f"{args.run} has no OMP path labelled {args.label!r}")
    if solver.get("debias", "none") != "none":
        raise SystemExit(f"{args.label}: a de-biased path's steps are not the folds' OMP steps")
    gamma = prior_scale(cfg, basis)
    path = read_paths(args.run / "paths.h5")[args.label]
    errors = json.loads((args.run / "errors" / f"{args.label}.json").read_text())["steps"]
    report = json.loads((args.run / "report.json").read_text())
    budgets = ([int(b) for b in args.budgets.split(",")] if args.budgets
               else cfg["selection"]["budgets"] or [None])

    A, y, _, configs = training_rows(system)
    print(f"{args.run}: {A.shape[0]} training rows of {np.unique(configs).size} configurations, "
          f"{args.folds} folds (seed {args.seed}), {solver}", flush=True)
    cv_sse, cv_rows = fold_curves(A, y, configs, folds=args.folds, seed=args.seed,
                                  spec=solver, gamma=gamma)
    del A, y
    Av, yv = system.val.weighted()
    keep = system.val.w != 0
    val_sse = held_out_sse(path, Av[keep], yv[keep])
    val_rows = int(keep.sum())
    rules = {
        "val (run)": {n: np.sqrt(val_sse[n] / val_rows) for n in val_sse},
        f"{args.folds}-fold": {n: np.sqrt(cv_sse[n] / cv_rows) for n in cv_sse},
        f"{args.folds}-fold + val": {n: np.sqrt((cv_sse[n] + val_sse[n]) / (cv_rows + val_rows))
                                    for n in cv_sse if n in val_sse},
    }
    step_of = {}
    for i, s in enumerate(errors):
        step_of.setdefault(s["n_active"], i)
    selected = {s["budget"]: s["step"] for s in report["selection"]["selected"]
                if s["label"] == args.label}
    print("| budget | rule | active | val loss | val E | val F | test E | test F |")
    print("|---|---|---|---|---|---|---|---|")
    for t in budgets:
        for rule, loss in rules.items():
            n = choose(loss, t)
            e = errors[step_of[n]]
            if rule == "val (run)" and t in selected and selected[t] != step_of[n]:
                print(f"warning: the run selected step {selected[t]}, this rule step {step_of[n]}",
                      file=sys.stderr)
            val, test = e["val"]["all"], e["test"]["all"]
            print(f"| {'any' if t is None else f'≤ {t}'} | {rule} | {n} | {e['val_loss']:.4f} | {val['E']['mae']:.3f} | "
                  f"{val['F']['mae']:.4f} | {test['E']['mae']:.3f} | {test['F']['mae']:.4f} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

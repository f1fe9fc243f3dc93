"""Would a one-body constant fitted with the ACE coefficients help the Zuo benchmark?

acefit subtracts E0, fitted beforehand to the training energies, and fits the basis to
what is left. This adds one more column, the number of atoms on energy rows and 0 on
force and virial rows (a per-atom energy that the solvers may select and fit with the
rest; prior γ₀ = the smallest γ of the basis), runs the config's ASP and OMP paths with
and without it on the same split, and prints, per budget, the best-validation
checkpoint of each: validation loss, validation and test errors, and the constant::

    OPENBLAS_NUM_THREADS=1 python scripts/zuo_joint_e0.py --element Mo --seed 0 --out /tmp/e0_s0

The extended reduced system is folded again from the training rows the assembly keeps
in the cache (``output.train_rows_gib``): R is too ill-conditioned (cond ~ 1e15 on Zuo
Mo) for a rank-one extension through R⁻ᵀ. The last line is the figures as JSON.

The model option this trial led to is ``basis.one_body: true`` (session 9), which gives
the same figures on Zuo Mo seed 0 to every digit; this script stays as the faster paired
trial (one assembly for both paths).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

SOLVERS = ("[{name: asp, max_active: 1000, debias: tsvd, debias_every: 10}, "
           "{name: omp, max_active: 1000}]")


def with_constant(block):
    """``block`` with one more column: the number of atoms on energy rows, else 0."""
    column = np.where(block.kind == "E", block.n_atoms.astype(float), 0.0)
    return dataclasses.replace(block, A=np.hstack([block.A, column[:, None]]))


def extended_problem(system, n_features):
    """The reduced training problem of [WA | W a₀], from the kept training rows."""
    from acefit.assembly import StreamingQR, train_row_blocks

    qr = StreamingQR(n_features + 1)
    for block, _ in train_row_blocks(system.train_rows):
        if block is not None:
            qr.add(*with_constant(block).weighted())
    return qr.to_problem()


class _Columns:
    """What ``run_paths`` needs of a basis when a prior is given: its length."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def best_checkpoints(paths, system, budgets, constant: bool):
    from config_residuals import split_errors

    out = {}
    for label, path in paths.items():
        loss = np.array([s.val_error for s in path.steps], dtype=float)
        for budget in budgets:
            ok = np.flatnonzero(path.sizes <= budget)
            i = ok[np.nanargmin(loss[ok])]
            coef = np.asarray(path.steps[i].coef)
            out[f"{label}/{budget}"] = {
                "k": int(path.sizes[i]), "val_loss": float(loss[i]),
                **split_errors(system, coef),
                "constant_meV": float(coef[-1] * 1e3) if constant else None}
    return out


def main(argv=None) -> int:
    from config_residuals import describe
    from zuo_benchmark import element_config

    from acefit.fit_settings import prior_scale
    from acefit.pipeline import assemble_system, build_basis, load_data
    from acefit.solver_runs import run_paths

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--element", choices=("Mo", "Si"), default="Mo")
    ap.add_argument("--seed", type=int, default=0, help="validation split seed")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--stratify", action="store_true",
                    help="draw the validation split within each config_type")
    ap.add_argument("--quick", action="store_true", help="zuo_benchmark's --quick protocol")
    args = ap.parse_args(argv)
    cfg = element_config(args.element, args.out, quick=args.quick, workers=1,
                         cache=args.out / "cache", overrides=[
                             (f"data.validation={{fraction: 0.1, seed: {args.seed}, "
                              f"stratify: {str(args.stratify).lower()}}}"),
                             f"solvers={SOLVERS}", "output.train_rows_gib=1000"])
    budgets = cfg["selection"]["budgets"]
    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    system = assemble_system(cfg, data, basis, args.out / "cache", progress=False)
    if system.train_rows is None:
        ap.error(f"the training rows are not in {args.out / 'cache'}")
    gamma = prior_scale(cfg, basis)
    n = len(basis)
    joint = dataclasses.replace(system, train=extended_problem(system, n),
                                val=with_constant(system.val), test=with_constant(system.test),
                                key=system.key + "+constant")
    report = {}
    for name, sys_, columns, prior in (
            ("plain", system, basis, gamma),
            ("joint", joint, _Columns(n + 1),
             None if gamma is None else np.append(gamma, gamma.min()))):
        paths = run_paths(cfg, sys_, columns, prior, args.out / f"paths_{name}.h5")
        report[name] = best_checkpoints(paths, sys_, budgets, constant=name == "joint")
        for key, r in report[name].items():
            constant = ("" if r["constant_meV"] is None
                        else f", constant {r['constant_meV']:+.0f} meV/atom")
            print(f"{name:5s} {key:9s} {describe(r)}{constant}")
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Where a run's test (or validation) energy error sits, configuration by configuration.

For the checkpoints a finished ``acefit fit`` run selected (its ``report.json``), this
prints the signed energy error per atom (model − DFT, meV/atom) of every configuration
of the split, and per ``config_type`` its share of the energy MAE::

    python scripts/config_residuals.py runs/zuo_mo/mo                 # test set
    python scripts/config_residuals.py runs/zuo_mo/mo --split val
    python scripts/config_residuals.py runs/zuo_mo/mo --refit         # + refits, below

``--refit`` adds, per checkpoint, the test energy and force MAE of refits of its active
functions: least squares on the training rows, and on training + validation rows (the
validation rows then choose only which functions are active), and BLR and ARD on the
training rows with the run's prior. For an OMP checkpoint the first refit is the
checkpoint itself.

The run's systems are read from its assembly cache (``output.cache`` or ``RUN/cache``);
without the cache they are assembled again, which takes as long as the run's assembly.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from acefit.runs import run_config


def load(run_dir: Path):
    """(data, system, checkpoints) of a finished run; checkpoints are
    ``[(name, coef)]`` of its selected checkpoints, each (solver, step) once."""
    _, data, _, system, checkpoints = _load_run(run_dir)
    return data, system, checkpoints


def _load_run(run_dir: Path):
    """(cfg, data, basis, system, checkpoints): :func:`load` and what it was built from."""
    from acefit.checkpoints import read_paths
    from acefit.pipeline import assemble_system, build_basis, load_data

    cfg = run_config(run_dir)
    report = json.loads((run_dir / "report.json").read_text())
    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    cache = Path(cfg["output"]["cache"]) if cfg["output"].get("cache") else run_dir / "cache"
    system = assemble_system(cfg, data, basis, cache, progress=False)
    if not system.cache_hit:
        print(f"note: {cache} did not hold this run's system; it was assembled again",
              file=sys.stderr)
    paths = read_paths(run_dir / "paths.h5")
    seen, checkpoints = set(), []
    for s in report["selection"]["selected"]:
        if (s["label"], s["step"]) not in seen:
            seen.add((s["label"], s["step"]))
            coef = np.asarray(paths[s["label"]].steps[s["step"]].coef, dtype=float)
            checkpoints.append((f"{s['label']}≤{s['budget']}", coef))
    return cfg, data, basis, system, checkpoints


def training_rows(system):
    """The weighted training rows with a nonzero weight, from the run's cache:
    (A, y, kind of each row, configuration of each row)."""
    from acefit.assembly import train_row_blocks

    if system.train_rows is None:
        raise SystemExit("the run's cache holds no training rows (output.train_rows_gib)")
    As, ys, kinds, configs = [], [], [], []
    for block, _ in train_row_blocks(system.train_rows):
        if block is None:
            continue
        A, y = block.weighted()
        keep = block.w != 0
        As.append(A[keep])
        ys.append(y[keep])
        kinds.append(block.kind[keep])
        configs.append(block.config[keep])
    return np.vstack(As), np.concatenate(ys), np.concatenate(kinds), np.concatenate(configs)


def refit_arguments(ap, paths: str) -> None:
    """The command-line arguments of the scripts that refit a run's path steps."""
    ap.add_argument("run", type=Path, help="a finished run directory (with report.json)")
    ap.add_argument("--paths", default=paths, help="comma-separated path labels")
    ap.add_argument("--every", type=int, default=10, help="refit every k-th active size")
    ap.add_argument("--budgets", default="300,1000")


def load_with_prior(run_dir: Path):
    """(data, system, gamma) of a finished run with a validation set: :func:`load` and
    the run's prior scale Γ (ones when it has none)."""
    from acefit.fit_settings import prior_scale

    cfg, data, basis, system, _ = _load_run(run_dir)
    if system.val is None:
        raise SystemExit(f"the run {run_dir} has no validation set")
    gamma = prior_scale(cfg, basis)
    return data, system, np.ones(system.train.n_features) if gamma is None else gamma


def energy_residuals(block, coefs) -> np.ndarray:
    """(configurations, models): model − DFT energy per atom in meV/atom."""
    rows = block.kind == "E"
    pred = block.A[rows] @ np.stack(coefs, axis=1)
    return (pred - block.y[rows, None]) / block.n_atoms[rows, None] * 1000.0


def refits(system, coef, gamma=None) -> dict:
    """Refits of ``coef``'s active functions: least squares on the training rows (the
    reduced system R, Qᵀy) and on training + validation rows; and, on the training rows,
    BLR (one evidence-chosen precision) and ARD (``ard_path`` restricted to them, which
    may drop some), with the prior ``gamma`` (default: none)."""
    from acefit.lsq import LeastSquaresProblem
    from acefit.solvers import ard_path, blr

    active = np.flatnonzero(coef)
    R, qty = system.train.A[:, active], system.train.y
    out = {"train": _fill(coef, active, np.linalg.lstsq(R, qty, rcond=None)[0])}
    sub = LeastSquaresProblem(A=R, y=qty, m=system.train.m, offset=system.train.offset)
    prior = None if gamma is None else gamma[active]
    for name, solve in (("blr", blr), ("ard", ard_path)):
        out[name] = _fill(coef, active, solve(sub, prior=prior).steps[-1].coef)
    if system.val is not None:
        Av, yv = system.val.weighted()
        A = np.vstack([R, Av[:, active]])
        out["train+val"] = _fill(coef, active,
                                 np.linalg.lstsq(A, np.concatenate([qty, yv]), rcond=None)[0])
    return out


def split_errors(system, coef) -> dict:
    """Validation and test energy / force MAE of one model: val_E, val_F, test_E, test_F."""
    from acefit.metrics import errors

    out = {}
    for name, block in (("val", system.val), ("test", system.test)):
        stats = errors(block, coef)["all"]
        out[f"{name}_E"], out[f"{name}_F"] = stats["E"]["mae"], stats["F"]["mae"]
    return out


def describe(row: dict) -> str:
    """One printed line of a checkpoint row (k, val_loss and :func:`split_errors`)."""
    return (f"k {row['k']:4d}  val loss {row['val_loss']:.5f} E {row['val_E']:.3f} F "
            f"{row['val_F']:.4f} | test E {row['test_E']:.3f} F {row['test_F']:.4f}")


def _fill(like, active, values):
    out = np.zeros_like(like)
    out[active] = values
    return out


def residual_table(data_configs, block, checkpoints) -> str:
    names = [name for name, _ in checkpoints]
    res = energy_residuals(block, [c for _, c in checkpoints])
    configs = block.config[block.kind == "E"]
    types = block.config_type[block.kind == "E"]
    lines = ["| configuration | config_type | atoms | " + " | ".join(names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for i, k in enumerate(configs):
        cfg = data_configs[k]
        lines.append(f"| {Path(cfg.source).name}, frame {cfg.index} | {types[i]} | {cfg.n_atoms} | "
                     + " | ".join(f"{v:+.2f}" for v in res[i]) + " |")
    total = np.abs(res).sum(axis=0)
    lines.append("| **MAE** | | | " + " | ".join(f"**{v:.3f}**" for v in np.abs(res).mean(0))
                 + " |")
    lines.append("| mean (signed) | | | " + " | ".join(f"{v:+.3f}" for v in res.mean(0)) + " |")
    for t in sorted(set(types)):
        part = np.abs(res[types == t]).sum(axis=0)
        lines.append(f"| MAE share: {t} ({int(np.sum(types == t))}) | | | "
                     + " | ".join(f"{p / len(res):.3f} ({100 * p / max(s, 1e-300):.0f} %)"
                                  for p, s in zip(part, total)) + " |")
    return "\n".join(lines)


def refit_table(system, block, checkpoints, gamma=None) -> str:
    from acefit.metrics import errors

    lines = ["| checkpoint | active | checkpoint E / F | LS on train E / F | LS on train+val E / F "
             "| BLR on train E / F | ARD on train E / F (kept) |", "|---|---|---|---|---|---|---|"]
    for name, coef in checkpoints:
        fits = refits(system, coef, gamma)
        cells = [errors(block, c)["all"] if c is not None else None
                 for c in (coef, fits["train"], fits.get("train+val"), fits["blr"], fits["ard"])]
        cells[-1]["kept"] = np.count_nonzero(fits["ard"])
        lines.append(f"| {name} | {np.count_nonzero(coef)} | " + " | ".join(
            "–" if c is None else f"{c['E']['mae']:.3f} / {c['F']['mae']:.4f}"
            + (f" ({c['kept']})" if "kept" in c else "") for c in cells)
            + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a finished run directory (with report.json)")
    ap.add_argument("--split", choices=("test", "val"), default="test")
    ap.add_argument("--refit", action="store_true",
                    help="add least-squares refits on train and on train+validation")
    args = ap.parse_args(argv)
    for name in ("config.yaml", "report.json", "paths.h5"):
        if not (args.run / name).is_file():
            ap.error(f"{args.run} is not a finished acefit run: no {name}")
    cfg, data, basis, system, checkpoints = _load_run(args.run)
    block = system.test if args.split == "test" else system.val
    if block is None:
        ap.error(f"the run {args.run} has no {args.split} set")
    configs = data.test if args.split == "test" else data.val
    print(f"Energy error per configuration, model − DFT (meV/atom), {args.split} set of "
          f"{args.run}:\n")
    print(residual_table(configs, block, checkpoints))
    if args.refit:
        from acefit.fit_settings import prior_scale

        print(f"\nRefits of each checkpoint's active functions, {args.split} "
              "MAE (E meV/atom / F eV/Å):\n")
        print(refit_table(system, block, checkpoints, prior_scale(cfg, basis)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

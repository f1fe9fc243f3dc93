"""Paired comparison of two settings over seeded validation splits (docs/zuo_tuning.md).

Each setting is a set of ``scripts/zuo_benchmark.py --out DIR`` runs, one per split
seed; DIR patterns contain ``{seed}``. For ASP, OMP (best-validation checkpoint with
at most ``--budget`` active functions) and BLR (its one checkpoint) the script prints
the mean ± standard error over seeds of NEW − BASE in validation energy MAE
(meV/atom), validation force MAE (eV/Å), test energy MAE and test force MAE, and with
``--loss`` the relative change of the validation loss (the weighted RMS residual that
selects checkpoints), in %; with ``--ef`` the sum of the relative changes of the
validation energy and force MAE, in %, and in how many splits it is lower (the rule for
settings that change the weights, where the two losses cannot be compared)::

    python scripts/zuo_paired.py "/tmp/tune/base_s{seed}" "/tmp/tune/new_s{seed}" \\
        --label "Mo new - base" --seeds 0 1 2 3 4

Only the runs' ``errors/*.json`` are read.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from acefit.compare import best_checkpoint

SOLVERS = ("asp", "omp", "blr")


def cell(run_dir, label, budget, element=None):
    """(val E, val F, test E, test F, val loss) of one solver's selected checkpoint, or None."""
    files = sorted(Path(run_dir).glob(f"{element.lower() if element else '*'}/errors/{label}.json"))
    if not files:
        return None
    if len(files) > 1:
        raise SystemExit(f"{run_dir} holds runs of several elements "
                         f"({', '.join(f.parts[-3] for f in files)}): pass --element")
    steps = json.loads(files[0].read_text())["steps"]
    e = steps[best_checkpoint(steps, None if label == "blr" else budget)]
    return [e[split]["all"][q]["mae"] for split in ("val", "test") for q in ("E", "F")] + [
        e["val_loss"]]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("base", help="run folder pattern with {seed}")
    ap.add_argument("new", help="run folder pattern with {seed}")
    ap.add_argument("--label", default="new - base")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--budget", type=int, default=300)
    ap.add_argument("--loss", action="store_true", help="add the validation loss change (%%)")
    ap.add_argument("--ef", action="store_true",
                    help="add the summed relative change of validation E and F MAE (%%)")
    ap.add_argument("--element", help="the element's run, in folders that hold both")
    args = ap.parse_args(argv)
    cols = []
    n_pairs = []
    for label in SOLVERS:
        diffs = []
        for seed in args.seeds:
            a = cell(args.base.format(seed=seed), label, args.budget, args.element)
            b = cell(args.new.format(seed=seed), label, args.budget, args.element)
            if a is not None and b is not None:
                d = np.subtract(b, a)
                d[4] = 100.0 * d[4] / a[4]
                ef = 100.0 * (d[0] / a[0] + d[1] / a[1])
                diffs.append(np.append(d, ef))
        if len(diffs) < 2:
            cols.append("–")
            continue
        d = np.array(diffs)
        se = d.std(axis=0, ddof=1) / np.sqrt(len(d))
        n_pairs.append(len(d))
        cols.append(f"{d[:, 0].mean():+.2f} ± {se[0]:.2f} / {d[:, 1].mean():+.4f} ± "
                    f"{se[1]:.4f} / {d[:, 2].mean():+.2f} ± {se[2]:.2f} / "
                    f"{d[:, 3].mean():+.4f}"
                    + (f" / {d[:, 4].mean():+.1f} ± {se[4]:.1f} %" if args.loss else "")
                    + (f" / E+F {d[:, 5].mean():+.1f} ± {se[5]:.1f} % (lower in "
                       f"{int((d[:, 5] < 0).sum())} of {len(d)})" if args.ef else ""))
    print(f"| {args.label} ({min(n_pairs, default=0)} splits) | " + " | ".join(cols) + " |")


if __name__ == "__main__":
    main()

"""The Zuo benchmark table over several seeded validation splits (docs/zuo_tuning.md).

The protocol draws one random 10 % validation split of the training set; which
configurations land in it moves the selected checkpoints, and with them the test
errors, by more than most settings do. This script reads the results of
``scripts/zuo_benchmark.py --out DIR`` runs that differ only in the split seed
(``--set "data.validation={fraction: 0.1, seed: S}"``) and prints, per element, size
and solver, the test MAE of every seed, their mean ± standard deviation, and in how
many splits ours is at or below the published value::

    python scripts/zuo_splits.py "runs/zuo_s{seed}" --seeds 0 1 2 3 4
    python scripts/zuo_splits.py "runs/zuo_s{seed}" --solvers ard    # another column

A seed whose run folder is missing, or lacks an element, is left out of that element.
Only the runs' ``zuo_benchmark.json`` files are read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from zuo_benchmark import PUBLISHED  # noqa: E402

SOLVERS = ("asp", "omp")
QUANTITIES = (("E", 0, 3, "meV/atom"), ("F", 1, 4, "eV/Å"))


def split_results(pattern: str, seeds) -> dict:
    """``{seed: results}`` of the runs that exist (``results`` as in zuo_benchmark.json)."""
    out = {}
    for seed in seeds:
        file = Path(pattern.format(seed=seed)) / "zuo_benchmark.json"
        if file.exists():
            out[seed] = json.loads(file.read_text())["results"]
    return out


def table(runs: dict, solvers=SOLVERS) -> str:
    """Markdown: one row per element, size, solver and quantity (columns of the table)."""
    seeds = list(runs)
    lines = ["| element | size | solver | | " + " | ".join(f"seed {s}" for s in seeds)
             + " | mean ± sd | published | splits ≤ published |",
             "|" + "---|" * (len(seeds) + 7)]
    elements = sorted({e for res in runs.values() for e in res})
    for element in elements:
        for size in ("small", "large"):
            for solver in solvers:
                for q, k, digits, unit in QUANTITIES:
                    values = []
                    for seed in seeds:
                        row = runs[seed].get(element, {}).get("budgets", {}).get(size, {})
                        values.append(row.get(solver, {}).get(q))
                    got = np.array([v for v in values if v is not None], dtype=float)
                    if got.size == 0:
                        continue
                    pub = PUBLISHED[element][size][solver][k]
                    spread = (f"{got.mean():.{digits}f} ± {got.std(ddof=1):.{digits}f}"
                              if got.size > 1 else f"{got.mean():.{digits}f}")
                    cells = ["–" if v is None else f"{v:.{digits}f}" for v in values]
                    lines.append(f"| {element} | {size} | {solver.upper()} | {q} ({unit}) | "
                                 + " | ".join(cells)
                                 + f" | {spread} | {pub:.{digits}f} | "
                                 f"{int(np.sum(got <= pub))} of {got.size} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("pattern", help="zuo_benchmark.py --out folder pattern with {seed}")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--solvers", nargs="+", default=list(SOLVERS),
                    choices=sorted(PUBLISHED["Mo"]["small"]), help="table columns")
    args = ap.parse_args(argv)
    if "{seed}" not in args.pattern:
        ap.error(f"the pattern {args.pattern!r} has no {{seed}}")
    runs = split_results(args.pattern, args.seeds)
    if not runs:
        print(f"no zuo_benchmark.json under {args.pattern!r} for seeds {args.seeds}",
              file=sys.stderr)
        return 2
    print(table(runs, args.solvers))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Re-select the Zuo table's checkpoints from a finished benchmark under another rule.

The benchmark picks, per path and budget t, the checkpoint with the lowest validation
loss among all those with at most t active functions. ACEfit (the code behind the
published numbers) keeps only about ``nstore = 100`` checkpoints of a path, every
len(path)/100-th step and the last (``istore = unique(round.(Int, [1:every:q; q]))``),
and selects among those. This script applies that rule, or any other ``--nstore``, to
the ``errors/<path>.json`` of a finished run (no refit), and prints for each element,
path and budget the checkpoint size and its test energy and force MAE under both::

    python scripts/zuo_reselect.py /tmp/s13/run --nstore 100
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def stored_indices(q: int, nstore: int) -> list[int]:
    """0-based indices of the checkpoints ACEfit keeps of a q-step path."""
    every = max(1.0, q / nstore)
    ks = range(int((q - 1) / every) + 1)
    # Julia's 1-based 1:every:q, rounded half away from zero, plus the last step
    return sorted({int(1 + k * every + 0.5) - 1 for k in ks} | {q - 1})


def best(steps, budget):
    """(n_active, test E MAE, test F MAE) of the lowest-validation-loss step within budget."""
    cands = [s for s in steps if s["n_active"] <= budget and s.get("val_loss") is not None]
    s = min(cands, key=lambda s: s["val_loss"])
    return s["n_active"], s["test"]["all"]["E"]["mae"], s["test"]["all"]["F"]["mae"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="--out folder of scripts/zuo_benchmark.py")
    ap.add_argument("--nstore", type=int, default=100)
    ap.add_argument("--budgets", type=int, nargs="+", default=[300, 1000])
    args = ap.parse_args(argv)
    print(f"| element | path | t | all checkpoints: n / test E / test F | every "
          f"len/{args.nstore}: n / test E / test F |")
    print("|---|---|---|---|---|")
    for element in ("mo", "si"):
        for label in ("asp", "omp"):
            f = args.run / element / "errors" / f"{label}.json"
            if not f.is_file():
                continue
            steps = json.loads(f.read_text())["steps"]
            kept = [steps[i] for i in stored_indices(len(steps), args.nstore)]
            for t in args.budgets:
                cells = [best(s, t) for s in (steps, kept)]
                print(f"| {element.capitalize()} | {label} | {t} | "
                      + " | ".join(f"{n} / {e:.3f} / {fm:.4f}" for n, e, fm in cells) + " |")


if __name__ == "__main__":
    main()

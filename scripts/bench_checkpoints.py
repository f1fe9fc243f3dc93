"""Time the checkpoint writer and reader on an OMP-like path (docs/benchmarks.md).

Step k of the path has k + 1 active functions out of ``--features``, like an OMP path
to ``--steps`` functions; each step is saved as it comes (an atomic ``.npz`` file),
``close`` folds them into the HDF5 path file, and ``read_path`` loads the whole path::

    python scripts/bench_checkpoints.py --steps 1000 --features 5317 --repeat 3
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from acefit.checkpoints import CheckpointWriter, read_path
from acefit.solvers.path import Step


def write_and_read(folder: Path, steps: int, features: int) -> dict:
    file = folder / "paths.h5"
    t = time.perf_counter()
    with CheckpointWriter(file, "omp", {}, n_features=features) as writer:
        t_first = time.perf_counter()
        for k in range(steps):
            coef = np.zeros(features)
            coef[: k + 1] = 1.0
            writer(Step(active=np.arange(k + 1), coef=coef, lam=float(k), train_error=1.0,
                        val_error=1.0))
        t_steps = time.perf_counter() - t_first
        t_close = time.perf_counter()
    t_close = time.perf_counter() - t_close
    t_write = time.perf_counter() - t
    t = time.perf_counter()
    path = read_path(file, "omp", require_complete=True)
    t_read = time.perf_counter() - t
    assert len(path) == steps
    return {"write": t_write, "steps": t_steps, "fold": t_close, "read": t_read,
            "MB": file.stat().st_size / 1e6}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--features", type=int, default=5317)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    rows = []
    for _ in range(args.repeat):
        with tempfile.TemporaryDirectory() as folder:
            rows.append(write_and_read(Path(folder), args.steps, args.features))
    best = {k: min(r[k] for r in rows) for k in rows[0]}
    print(f"{args.steps} steps of {args.features} features (k + 1 active at step k), "
          f"best of {args.repeat}:")
    print("| write, all steps (s) | of which saving steps | folding at close | read (s) | file (MB) |")
    print("|---|---|---|---|---|")
    print(f"| {best['write']:.2f} | {best['steps']:.2f} | {best['fold']:.2f} | "
          f"{best['read']:.2f} | {best['MB']:.1f} |")
    print(f"per step: save {1e3 * best['steps'] / args.steps:.2f} ms, "
          f"read {1e3 * best['read'] / args.steps:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Time the errors of every checkpoint: one model at a time vs batched (pipeline stage "errors").

Reads a finished ``scripts/zuo_benchmark.py`` run (its design-matrix cache and
``paths.h5``), stacks the coefficients of every checkpoint of every path, and
computes the validation and test errors (MAE/RMSE of E, F, S, in total and per
config_type) two ways, side by side in this process:

* one at a time (what the pipeline did before session 5): the full product
  ``A @ C`` of 256 checkpoints at a time, then :func:`acefit.metrics.errors` per
  checkpoint on its one column of predictions;
* batched: :func:`acefit.checkpoint_errors.column_errors`, 256 checkpoints per product over
  only the columns they use, reduced together by
  :func:`acefit.metrics.errors_of_predictions`.

It prints wall and CPU time of each and the largest relative difference of an
MAE between them. The training errors cost the same both ways (most of it
re-evaluating the training rows); ``--train`` times them in-process and on a local
cluster of ``--workers`` worker processes, as the pipeline computes them with
``parallel.workers``, and compares the two. ``--kept`` instead measures the
training rows kept in the cache (``output.train_rows_gib``): the reduction of the
training set without and with writing its rows (each into a fresh temporary cache),
then the training errors re-evaluated in-process against read back from the rows.

Usage::

    OPENBLAS_NUM_THREADS=1 python scripts/bench_errors.py --element Mo --run /tmp/zuo_run
    OPENBLAS_NUM_THREADS=1 python scripts/bench_errors.py --element Mo --run /tmp/zuo_run --train
    OPENBLAS_NUM_THREADS=1 python scripts/bench_errors.py --element Mo --run /tmp/zuo_run --kept
    # where /tmp/zuo_run holds: python scripts/zuo_benchmark.py --element Mo --out /tmp/zuo_run
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))


def one_at_a_time(block, matrix, batch=256):
    from acefit.metrics import errors

    one = np.ones(1)
    out = []
    for start in range(0, matrix.shape[1], batch):
        predictions = block.A @ matrix[:, start:start + batch]
        for j in range(predictions.shape[1]):
            out.append(errors(replace(block, A=predictions[:, j:j + 1]), one))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--element", choices=["Mo", "Si"], default="Mo")
    ap.add_argument("--run", type=Path, required=True,
                    help="--out folder of a finished zuo_benchmark.py run of this element")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--train", action="store_true",
                    help="also time the training errors, in-process and on --workers workers")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kept", action="store_true",
                    help="also time keeping the training rows, and errors read back from them")
    args = ap.parse_args(argv)

    from zuo_benchmark import element_config

    from acefit.checkpoints import read_paths
    from acefit.checkpoint_errors import column_errors
    from acefit.pipeline import assemble_system, build_basis, load_data

    run = args.run.resolve()
    paths_file = run / args.element.lower() / "paths.h5"
    if not paths_file.is_file():
        ap.error(f"no finished run at {paths_file}")
    cfg = element_config(args.element, run, quick=False, workers=1, overrides=[],
                         cache=run / "cache")
    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    system = assemble_system(cfg, data, basis, run / "cache")
    paths = read_paths(paths_file)
    matrix = np.stack([s.coef for p in paths.values() for s in p.steps], axis=1)
    rows = system.val.A.shape[0] + system.test.A.shape[0]
    print(f"{args.element}: {matrix.shape[1]} checkpoints of {len(paths)} paths, "
          f"{len(basis)} functions, validation + test rows {rows}\n")
    print("| method | wall s | CPU s |")
    print("|---|---|---|")
    best = {}
    for _ in range(args.repeat):
        for name, f in (("one at a time", one_at_a_time), ("batched", column_errors)):
            t, c = time.perf_counter(), time.process_time()
            res = [f(b, matrix) for b in (system.val, system.test)]
            times = (time.perf_counter() - t, time.process_time() - c)
            if name not in best or times[1] < best[name][0][1]:
                best[name] = (times, res)
    for name, (times, _) in best.items():
        print(f"| {name} | {times[0]:.2f} | {times[1]:.2f} |")
    ref, new = best["one at a time"][1], best["batched"][1]
    diff = max(abs(x["all"][q]["mae"] - y["all"][q]["mae"]) / abs(x["all"][q]["mae"])
               for k in range(2) for x, y in zip(ref[k], new[k]) for q in ("E", "F"))
    print(f"\nCPU speed-up {best['one at a time'][0][1] / best['batched'][0][1]:.1f}x; "
          f"largest relative difference of an MAE {diff:.1e}")
    if args.train:
        time_train_errors(data, basis, system, matrix, args.workers)
    if args.kept:
        kept_rows(data, basis, system, matrix)
    return 0


def kept_rows(data, basis, system, matrix):
    """Reduction without and with keeping the rows, then training errors evaluated
    again against read from the kept rows; all in-process, one after the other."""
    import tempfile

    from acefit.assembly import assemble
    from acefit.checkpoint_errors import train_errors

    print(f"\nkept training rows: {len(data.train)} configurations, {len(basis)} functions, "
          f"{matrix.shape[1]} checkpoints\n")
    print("| step | wall s | CPU s |")
    print("|---|---|---|")
    groups = {c.config_type for c in data.train}   # the training set alone is assembled
    weights = {k: v for k, v in system.weights.items() if k == "default" or k in groups}
    with tempfile.TemporaryDirectory() as tmp:
        kept = None
        for name, gib in (("reduce the training set", 0.0),
                          ("reduce the training set and keep its rows", 1e3)):
            t, c = time.perf_counter(), time.process_time()
            res = assemble(basis, data.train, weights=weights, e0=system.e0.as_symbols(),
                           n_workers=1, cache_dir=Path(tmp) / name.replace(" ", "_"),
                           train_rows_gib=gib)
            print(f"| {name} | {time.perf_counter() - t:.1f} | {time.process_time() - c:.1f} |")
            kept = res.train_rows or kept
        size = sum(p.stat().st_size for p in kept) / 2 ** 30
        results = {}
        for name, rows in (("training errors, rows evaluated again", None),
                           ("training errors, rows read back", kept)):
            t, c = time.perf_counter(), time.process_time()
            results[name] = train_errors(basis, data.train, system.weights, system.e0, matrix,
                                         rows=rows, n_workers=1)
            print(f"| {name} | {time.perf_counter() - t:.1f} | {time.process_time() - c:.1f} |")
    a, b = results.values()
    diff = max(abs(x["all"][q]["mae"] - y["all"][q]["mae"]) / abs(x["all"][q]["mae"])
               for x, y in zip(a, b) for q in ("E", "F"))
    print(f"\nkept rows: {size:.2f} GiB on disk; largest relative difference of a training "
          f"MAE, read back against evaluated again: {diff:.1e}")


def time_train_errors(data, basis, system, matrix, workers):
    """Wall and client CPU time of the training errors of every checkpoint, in-process
    and on ``workers`` local worker processes (cluster start-up included)."""
    from acefit.checkpoint_errors import train_errors

    print(f"\ntraining errors: {len(data.train)} configurations, {matrix.shape[1]} checkpoints\n")
    print("| workers | wall s | client CPU s |")
    print("|---|---|---|")
    results = {}
    for n in (1, workers):
        t, c = time.perf_counter(), time.process_time()
        results[n] = train_errors(basis, data.train, system.weights, system.e0, matrix,
                                  n_workers=n)
        print(f"| {n} | {time.perf_counter() - t:.1f} | {time.process_time() - c:.1f} |")
    diff = max(abs(x["all"][q]["mae"] - y["all"][q]["mae"]) / abs(x["all"][q]["mae"])
               for x, y in zip(results[1], results[workers]) for q in ("E", "F"))
    print(f"\nlargest relative difference of a training MAE, 1 against {workers} workers: "
          f"{diff:.1e}")


if __name__ == "__main__":
    sys.exit(main())

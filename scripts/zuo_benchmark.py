"""Zuo et al. (2020) Mo / Si benchmark with the protocol of Torabi et al., Table II.

Runs ``configs/zuo_mo.yaml`` and/or ``configs/zuo_si.yaml`` through the acefit
pipeline (:func:`acefit.pipeline.run_fit`: assembly with its HDF5 cache, solver
paths, errors, selection) and prints a Markdown table in the shape of the one in
``../shared/datasets/zuo2020/README.md``: for t = 300 ("small") and t = 1000
("large") the best-validation checkpoint with at most t active functions of each
sparse path (the ARD column: the ``ard_path`` solver labelled ``ard``), evaluated on
the published test set, each cell ``ours / published``. Dense and Bayesian baselines
(BLR on the full basis, a-priori BLR path) are listed below it. The wall time and peak
memory of the whole run are measured here: peak resident memory of this process and of all its descendants (Dask
workers), sampled every 0.5 s with psutil, and ``getrusage`` maxrss.

Usage::

    python scripts/zuo_benchmark.py --element both --out runs/zuo      # full (long)
    python scripts/zuo_benchmark.py --element Mo --quick --out /tmp/zq  # smoke run, ~1 min

With ``--element both`` the two elements run side by side, one process each
(``--jobs 1``: one after the other); the example configs assemble with one worker
each for that reason.

``--quick`` keeps the protocol but shrinks it: every 10th training frame, the
first 5 test frames, totaldegree [12, 10, 8] (and 6 at order 4), paths to 60
functions, budgets [20, 60], a-priori paths of as many sizes spread over the small basis. Its numbers are not comparable with the paper's.

The table and timings are also written to ``<out>/zuo_benchmark.md`` and
``<out>/zuo_benchmark.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
CONFIGS = {"Mo": REPO / "configs" / "zuo_mo.yaml", "Si": REPO / "configs" / "zuo_si.yaml"}

# Torabi et al. (2025), Table II, as reproduced in ../shared/datasets/zuo2020/README.md:
# {element: {size: {solver: (E meV/atom, F eV/Å)}}}
PUBLISHED = {
    "Mo": {"small": {"rrqr": (2.597, 0.123), "asp": (2.261, 0.104), "omp": (2.123, 0.098),
                     "ard": (3.945, 0.138)},
           "large": {"rrqr": (2.911, 0.097), "asp": (2.138, 0.087), "omp": (1.933, 0.086),
                     "ard": (2.381, 0.092)}},
    "Si": {"small": {"rrqr": (3.501, 0.086), "asp": (2.444, 0.074), "omp": (2.296, 0.072),
                     "ard": (3.891, 0.086)},
           "large": {"rrqr": (2.388, 0.066), "asp": (1.981, 0.061), "omp": (1.859, 0.059),
                     "ard": (2.344, 0.060)}},
}
SIZES = {"small": 300, "large": 1000}
TABLE_SOLVERS = ["rrqr", "asp", "omp", "ard"]
QUICK_SIZES = {"small": 20, "large": 60}
QUICK_SUBBASES = [[8, 6, 4], [10, 8, 6]]
# The published RRQR cells are a priori bases, not budgets: ACE1x's "small" and "large"
# total degrees [20, 16, 12] and [25, 21, 17] (the configs' rrqr `totaldegrees`);
# their sub-basis index per table size:
SUBBASIS_OF_SIZE = {"small": 0, "large": 1}


class PeakMemory:
    """Peak resident memory (bytes) of this process plus all its descendants, sampled."""

    def __init__(self, interval: float = 0.5):
        import psutil

        self._psutil = psutil
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> int:
        me = self._psutil.Process()
        total = me.memory_info().rss
        for child in me.children(recursive=True):
            try:
                total += child.memory_info().rss
            except self._psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, self._sample())
            self._stop.wait(self.interval)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._sample())


def _quick_data(raw: dict, out: Path) -> None:
    """Point the config at small subsets of the data, written into ``out``."""
    import ase.io

    out.mkdir(parents=True, exist_ok=True)
    for key, take in (("train", slice(None, None, 10)), ("test", slice(0, 5))):
        src = Path(raw["data"][key])
        frames = ase.io.read(src, ":")[take]
        dst = out / f"{key}.xyz"
        tmp = dst.with_suffix(".xyz.tmp")
        ase.io.write(tmp, frames, format="extxyz")
        os.replace(tmp, dst)
        raw["data"][key] = str(dst)


def element_config(element: str, out: Path, *, quick: bool, workers: int | None,
                   overrides=(), cache: Path | None = None) -> dict:
    """The validated config of one element, with the output folder and overrides."""
    from acefit.config import apply_override, validate_config

    path = CONFIGS[element]
    raw = yaml.safe_load(path.read_text())
    for assignment in overrides:
        apply_override(raw, assignment)
    base = path.resolve().parent
    for key in ("train", "test"):
        raw["data"][key] = str((base / raw["data"][key]).resolve())
    run_dir = out / element.lower()
    if quick:
        _quick_data(raw, out / f"quick_data_{element.lower()}")
        raw["basis"]["totaldegree"] = [12, 10, 8, 6][:raw["basis"].get("order", 3)]
        for spec in raw["solvers"]:
            if "max_active" in spec:
                spec["max_active"] = QUICK_SIZES["large"]
            if spec["name"] == "ard" and spec.get("sizes"):
                spec["sizes"] = sorted(QUICK_SIZES.values())
            elif spec.get("totaldegrees"):                  # within [12, 10, 8]
                spec["totaldegrees"] = QUICK_SUBBASES
            elif isinstance(spec.get("sizes"), list):      # a-priori sizes of the full basis
                spec["sizes"] = len(spec["sizes"])          # as many, spread over the small one
        raw["selection"]["budgets"] = sorted(QUICK_SIZES.values())
    raw.setdefault("output", {})
    raw["output"]["directory"] = str(run_dir)
    raw["output"]["cache"] = str(cache or out / "cache")
    if workers is not None:
        raw.setdefault("parallel", {})["workers"] = workers
    raw["name"] = f"zuo_{element.lower()}" + ("_quick" if quick else "")
    cfg = validate_config(raw, base_dir=base, source=str(path))
    cfg["config_file"] = str(path.resolve())
    return cfg


def _entry_errors(entry) -> tuple:
    t = entry.get("test") or {}
    a = t.get("all") or {}
    return ((a.get("E") or {}).get("mae"), (a.get("F") or {}).get("mae"))


def results_of(run_dir: Path, budgets: dict) -> dict:
    """Best-validation checkpoint per (solver label, size), every label's best of any size,
    and, for a-priori paths over sub-bases, the best of each sub-basis (by its index)."""
    from acefit.compare import best_checkpoint, load_run

    run = load_run(run_dir)
    out = {"budgets": {}, "any": {}, "subbases": {}}
    for label, entries in run.errors.items():
        path = run.paths[label]

        def row(i):
            e = entries[i]
            E, F = _entry_errors(e)
            return {"label": label, "method": path.solver, "step": i, "n_active": e["n_active"],
                    "val_loss": e.get("val_loss"), "E": E, "F": F}

        for size, t in list(budgets.items()) + [("any", None)]:
            i = best_checkpoint(entries, t)
            if i is None:
                continue
            if size == "any":
                out["any"][label] = row(i)
            else:
                out["budgets"].setdefault(size, {})[label] = row(i)
        levels = [step.info.get("subbasis") for step in path.steps]
        for level in sorted({v for v in levels if v is not None}):
            steps = [i for i, v in enumerate(levels) if v == level]
            i = best_checkpoint([entries[j] for j in steps], None)
            if i is not None:
                out["subbases"].setdefault(label, {})[str(level)] = row(steps[i])
    return out


def cell_intervals(run_dir: Path, res: dict, *, resamples: int = 10000) -> dict:
    """How precisely the test set measures each table cell: the bootstrap SE and 95 %
    interval of the cell's test MAEs over the test configurations
    (:func:`acefit.metrics.bootstrap_errors`), ``{size: {solver: {"E": .., "F": ..}}}``."""
    from acefit.checkpoints import read_paths
    from acefit.metrics import bootstrap_differences, bootstrap_errors
    from acefit.selection import checkpoint_test_errors

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from config_residuals import _load_run

    system = _load_run(run_dir)[3]
    paths = read_paths(run_dir / "paths.h5")
    cells = [(size, solver, row) for size in SIZES for solver in TABLE_SOLVERS
             if (row := _table_row(res, size, solver)) is not None]
    per_config = checkpoint_test_errors(system, paths, [row for _, _, row in cells])
    if per_config is None:
        return {}
    boot = bootstrap_errors(per_config, resamples=resamples)
    out = {}
    for (size, solver, _), b in zip(cells, boot):
        out.setdefault(size, {})[solver] = {q: b[q] for q in ("E", "F")}
    column = {(size, solver): j for j, (size, solver, _) in enumerate(cells)}
    pairs = [(size, column[size, "asp"], column[size, "omp"]) for size in SIZES
             if (size, "asp") in column and (size, "omp") in column]
    diffs = bootstrap_differences(per_config, [(i, j) for _, i, j in pairs],
                                  resamples=resamples)
    for (size, _, _), d in zip(pairs, diffs):
        out[size]["asp-omp"] = {q: d[q] for q in ("E", "F")}
    return out


def exported_cells(run_dir: Path, res: dict, budgets: dict) -> dict:
    """The table's ASP, OMP and ARD cells again, from the potential files the run wrote
    (``potentials/<label>_t<budget>.h5``), scored on the test file by
    :func:`acefit.evaluate.evaluate` (the potential's own evaluation, not the fit's design
    rows): ``{"cells": n, "max_dE": meV/atom, "max_dF": eV/Å, "missing": [files]}``."""
    from acefit.data import read_configurations
    from acefit.evaluate import evaluate
    from acefit.potential import Potential
    from acefit.runs import run_config

    wanted, files, missing = [], [], []
    for size, t in budgets.items():
        for solver in ("asp", "omp", "ard"):
            row = res["budgets"].get(size, {}).get(solver)
            if row is None:
                continue
            f = run_dir / "potentials" / f"{row['label']}_t{t}.h5"
            if f.is_file():
                files.append(f)
                wanted.append(row)
            else:
                missing.append(f)
    if not files:
        return {"cells": 0, "missing": [str(f) for f in missing]}
    data = run_config(run_dir)["data"]
    test = read_configurations(data["test"], data["keys"])
    result = evaluate([Potential.load(f) for f in files], test, resamples=2)
    dE = [abs(e["all"]["E"]["mae"] - row["E"]) for e, row in zip(result.errors, wanted)]
    dF = [abs(e["all"]["F"]["mae"] - row["F"]) for e, row in zip(result.errors, wanted)]
    return {"cells": len(files), "max_dE": max(dE), "max_dF": max(dF),
            "missing": [str(f) for f in missing]}


def _table_row(res: dict, size: str, solver: str):
    """The row of a table cell: RRQR from its sub-basis, the others from the budget."""
    if solver == "rrqr":
        return res.get("subbases", {}).get("rrqr", {}).get(str(SUBBASIS_OF_SIZE[size]))
    return res["budgets"].get(size, {}).get(solver)


def _cell(ours, published, digits):
    mine = "–" if ours is None else f"{ours:.{digits}f}"
    if published is None:
        return mine
    mark = "**" if ours is not None and ours <= published else ""
    return f"{mark}{mine}{mark} / {published:.{digits}f}"


def markdown(results: dict, quick: bool) -> str:
    """The README-shaped table (ours / published), the test-set resolution of its cells,
    and the baselines table."""
    solvers = TABLE_SOLVERS
    head = (["element", "size"] + [f"{s.upper()} E" for s in solvers]
            + [f"{s.upper()} F" for s in solvers] + ["active " + "/".join(map(str.upper, solvers))])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for element, res in results.items():
        pub = PUBLISHED[element]
        for size in ("small", "large"):
            got = {s: _table_row(res, size, s) for s in solvers}
            cells = [element, f"{size} (t={(QUICK_SIZES if quick else SIZES)[size]})"]
            for q, digits in (("E", 3), ("F", 4)):
                for s in solvers:
                    row = got[s]
                    ref = None if quick else pub[size][s][0 if q == "E" else 1]
                    cells.append(_cell(row and row[q], ref, digits))
            cells.append("/".join(str(got[s]["n_active"]) if got[s] else "–" for s in solvers))
            lines.append("| " + " | ".join(cells) + " |")
    legend = ("Cells: ours / published (Torabi et al., Table II); bold: ours ≤ published. "
              "E: test energy MAE (meV/atom), F: test force MAE (eV/Å). `active`: active "
              "functions of the selected checkpoints (a path whose best-validation checkpoint "
              "within the large budget is small, or that has no larger checkpoint, repeats "
              "its small choice). RRQR, as published: not a budget but the a-priori bases of "
              "total degrees [20, 16, 12] (small) and [25, 21, 17] (large), each with its "
              "best-validation rtol.")
    lines += ["", legend]
    if any(res.get("intervals") for res in results.values()):
        lines += ["", *resolution_table(results, quick)]
    checks = [f"{element} {c['cells']} cells, largest difference {c['max_dE']:.1e} meV/atom "
              f"and {c['max_dF']:.1e} eV/Å" for element, res in results.items()
              if (c := res.get("exported")) and c["cells"]]
    if checks:
        lines += ["", "The exported potential files (`potentials/<solver>_t<budget>.h5`), scored "
                  "on the test file through their own evaluation (`acefit evaluate`), give the "
                  "ASP, OMP and ARD cells: " + "; ".join(checks) + "."]
    baselines = ("Baselines and sizes: every solver path's best-validation checkpoint "
                 "(any size, within each budget, and of each a-priori sub-basis), test MAE.")
    lines += ["", baselines, "",
              "| element | solver | budget | active | E (meV/atom) | F (eV/Å) |",
              "|---|---|---|---|---|---|"]
    for element, res in results.items():
        labels = list(res["any"])
        for label in labels:
            for size in ("small", "large", "any"):
                row = (res["any"] if size == "any" else res["budgets"].get(size, {})).get(label)
                if row is None:
                    continue
                budget = "any" if size == "any" else (QUICK_SIZES if quick else SIZES)[size]
                lines.append(f"| {element} | {label} | {budget} | {row['n_active']} | "
                             f"{_cell(row['E'], None, 3)} | {_cell(row['F'], None, 4)} |")
            for level, row in res.get("subbases", {}).get(label, {}).items():
                lines.append(f"| {element} | {label} | sub-basis {level} | {row['n_active']} | "
                             f"{_cell(row['E'], None, 3)} | {_cell(row['F'], None, 4)} |")
    return "\n".join(lines)


def resolution_table(results: dict, quick: bool) -> list:
    """Lines of the table of bootstrap SEs and 95 % intervals of the main table's cells."""
    solvers = TABLE_SOLVERS
    head = (["element", "size"] + [f"{s.upper()} E" for s in solvers]
            + [f"{s.upper()} F" for s in solvers])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    outside = []
    for element, res in results.items():
        for size in ("small", "large"):
            got = res.get("intervals", {}).get(size, {})
            cells = [element, size]
            for q, digits in (("E", 2), ("F", 4)):
                for s in solvers:
                    b = got.get(s, {}).get(q)
                    if b is None:
                        cells.append("–")
                        continue
                    cells.append(f"±{b['se']:.{digits}f} [{b['low']:.{digits}f}, "
                                 f"{b['high']:.{digits}f}]")
                    ref = None if quick else PUBLISHED[element][size][s][0 if q == "E" else 1]
                    if ref is not None and not b["low"] <= ref <= b["high"]:
                        outside.append(f"{element} {size} {s.upper()} {q}")
            lines.append("| " + " | ".join(cells) + " |")
    n = next(iter(r["intervals_resamples"] for r in results.values()
                  if r.get("intervals_resamples")), 0)
    note = ("Test-set resolution of the cells above: bootstrap standard error and 95 % "
            f"percentile interval of each test MAE, {n} draws of the test configurations "
            "with replacement (a configuration's rows together; "
            "`acefit.metrics.bootstrap_errors`, seed 0).")
    if not quick:
        note += (" Published values outside our interval: "
                 + (", ".join(outside) if outside else "none") + ".")
    paired = [f"{element} {size} {d['E']['mae']:+.2f} ± {d['E']['se']:.2f} meV/atom, "
              f"{d['F']['mae']:+.4f} ± {d['F']['se']:.4f} eV/Å"
              for element, res in results.items() for size in ("small", "large")
              if (d := res.get("intervals", {}).get(size, {}).get("asp-omp"))]
    if paired:
        note += (" Two models scored on the same configurations are ranked more precisely: "
                 "ASP − OMP, the same draws, " + "; ".join(paired) + ".")
    return [note, "", *lines]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--element", choices=["Mo", "Si", "both"], default="both")
    p.add_argument("--quick", action="store_true", help="small basis and data (smoke run)")
    p.add_argument("--out", type=Path, default=REPO / "runs" / "zuo", help="output folder")
    p.add_argument("--cache", type=Path, default=None,
                   help="design-matrix cache folder (default: <out>/cache); share it between "
                        "runs that differ only in solvers or prior")
    p.add_argument("--workers", type=int, default=None,
                   help="assembly workers (default: the config's parallel.workers)")
    p.add_argument("--force", action="store_true", help="redo finished runs in --out")
    p.add_argument("--set", action="append", default=[], metavar="KEY=YAML",
                   help="override a config key, e.g. --set prior.p=3 or "
                        "--set 'solvers=[{name: omp, max_active: 300}]' (repeatable; "
                        "applied before --quick)")
    p.add_argument("--progress", action="store_true", help="progress bars on stderr")
    p.add_argument("--jobs", type=int, default=2,
                   help="elements run side by side, one process each (default 2)")
    p.add_argument("--resamples", type=int, default=10000,
                   help="bootstrap draws of the test configurations for the intervals of "
                        "the table's cells (0: none)")
    p.add_argument("--no-summary", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.jobs < 1:
        p.error(f"--jobs must be at least 1, got {args.jobs}")
    if args.resamples < 0 or args.resamples == 1:
        p.error(f"--resamples must be 0 or at least 2, got {args.resamples}")

    from acefit.atomic import write_json
    from acefit.environment import environment, environment_line
    from acefit.pipeline import run_fit
    from acefit.run_folder import RunExistsError
    from acefit.progress import setup_logging

    setup_logging(None, verbose=False, quiet=False)
    out = args.out.resolve()
    elements = ["Mo", "Si"] if args.element == "both" else [args.element]
    budgets = QUICK_SIZES if args.quick else SIZES
    timings = {}
    t0 = time.perf_counter()
    with PeakMemory() as mem:
        in_process = elements
        if len(elements) > 1 and args.jobs > 1:
            timings = _side_by_side(elements, argv if argv is not None else sys.argv[1:],
                                    out, args.jobs)
            in_process = []
        for element in in_process:
            cfg = element_config(element, out, quick=args.quick, workers=args.workers,
                                 overrides=args.set, cache=args.cache)
            t = time.perf_counter()
            try:
                fit = run_fit(cfg, force=args.force, progress=args.progress or None)
                timings[element] = {"wall_s": time.perf_counter() - t,
                                    "stages_s": fit.timings, "resumed": fit.resumed}
            except RunExistsError:
                print(f"{element}: finished run found in {out / element.lower()}; "
                      "reporting it (use --force to redo)", file=sys.stderr)
                state = json.loads((out / element.lower() / "run.json").read_text())
                timings[element] = {"wall_s": state.get("wall_time_s"), "reused": True}
    if args.no_summary:
        return 0
    results = {element: results_of(out / element.lower(), budgets) for element in elements}
    if args.resamples:
        for element, res in results.items():
            res["intervals"] = cell_intervals(out / element.lower(), res,
                                              resamples=args.resamples)
            res["intervals_resamples"] = args.resamples
    for element, res in results.items():
        res["exported"] = exported_cells(out / element.lower(), res, budgets)
    wall = time.perf_counter() - t0
    kib = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    table = markdown(results, args.quick)
    per = ", ".join(f"{e} {v['wall_s']:.0f} s" for e, v in timings.items() if v.get("wall_s"))
    summary = (f"Whole run ({', '.join(elements)}{', quick' if args.quick else ''}): wall "
               f"{wall:.0f} s ({per}); "
               f"peak memory {mem.peak / 2**30:.2f} GiB (this process + descendants, sampled), "
               f"largest single process {kib / 2**20:.2f} GiB (getrusage maxrss).")
    env = environment()
    text = table + "\n\n" + summary + "\n\nRan on: " + environment_line(env) + "\n"
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "zuo_benchmark.md").write_text(text)
    write_json(out / "zuo_benchmark.json",
               {"results": results, "timings": timings, "wall_s": wall, "peak_bytes": mem.peak,
                "maxrss_kib": kib, "quick": args.quick, "argv": sys.argv, "environment": env})
    return 0


def _side_by_side(elements, argv, out: Path, jobs: int) -> dict:
    """Run each element in its own process of this script, ``jobs`` at a time;
    their timings, read back from the runs' ``report.json``."""
    base = list(argv)  # the trailing --element overrides the parent's (argparse: last wins)
    waiting = list(elements)
    running, failed = {}, []
    while waiting or running:
        while waiting and len(running) < jobs:
            element = waiting.pop(0)
            cmd = [sys.executable, str(Path(__file__).resolve()), *base, "--element", element,
                   "--no-summary"]
            running[element] = subprocess.Popen(cmd)
        for element, proc in list(running.items()):
            if proc.poll() is not None:
                del running[element]
                if proc.returncode:
                    failed.append(f"{element} (exit {proc.returncode})")
        time.sleep(0.5)
    if failed:
        raise SystemExit(f"zuo_benchmark: failed: {', '.join(failed)}")
    timings = {}
    for element in elements:
        report = json.loads((out / element.lower() / "report.json").read_text())
        timings[element] = {"wall_s": report.get("wall_time_s"),
                            "stages_s": report.get("timings_s"), "side_by_side": True}
    return timings


if __name__ == "__main__":
    sys.exit(main())

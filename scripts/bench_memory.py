"""Peak memory of an ``acefit fit`` run, stage by stage, against its ``--plan`` estimate.

The fit runs in this process (``acefit.pipeline.run_fit``; its assembly workers, when
``parallel.workers`` is above 1, are processes of their own), and the pipeline's stages (data, basis and checks, assembly, each
solver path, errors, export, test resolution, per-element errors, report) are marked by
wrapping their functions. Each stage's peak resident set size is the kernel's high-water
mark (``VmHWM``), reset at the stage's start (``/proc/self/clear_refs``, Linux): exact,
where a sampling thread misses the peaks inside LAPACK calls that hold the GIL (BLR's
SVD: 1.7 GiB sampled, 2.4 GiB held, on Zuo Mo). With ``--tracemalloc`` the peak of the
memory Python and numpy allocate is also taken per stage (it slows the data reading;
numba's own allocations are not traced). Printed: per stage the RSS at its start, its
peak and its end, the run's peak (``ru_maxrss``), and the plan's estimate; with
``parallel.workers`` above 1, each assembly worker's peak RSS (its ``VmHWM``, sampled).

Usage (from the repository root)::

    python scripts/bench_memory.py configs/quickstart.yaml --out /tmp/mem_qs
    python scripts/bench_memory.py configs/quickstart.yaml --out /tmp/mem_qs2 \
        --set parallel.workers=2 --set 'solvers=[{name: rrqr, rtol: 1.0e-6}]'
    acefit init datasets/quickstart/train.xyz --test datasets/quickstart/test.xyz -o big.yaml
    python scripts/bench_memory.py big.yaml --out /tmp/mem_big --set output.cache=/tmp/c
    python scripts/bench_memory.py configs/quickstart.yaml --plan-only
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import sys
import threading
import time
import tracemalloc

STAGES = {   # function -> stage name (run_solver: its spec's label), wrapped where the fit
            # looks it up: acefit.pipeline, run_solver in acefit.solver_runs
    "load_data": "data", "build_basis": "basis", "check_against_data": "checks",
    "assemble_system": "assembly", "run_solver": None, "evaluate_errors": "errors",
    "export_potentials": "export", "resolution_on_test_set": "test resolution",
    "selected_errors_by_element": "errors by element",
}


def _status(key: str, pid="self") -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


class Workers:
    """The peak RSS of this process' descendants (the assembly workers), sampled from their
    own high-water marks (``VmHWM``: exact up to the last sample before a worker ends)."""

    def __init__(self, every=0.05):
        self.peaks, self.every = {}, every
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    @staticmethod
    def _descendants(pid):
        try:
            kids = [int(k) for tid in os.listdir(f"/proc/{pid}/task")
                    for k in open(f"/proc/{pid}/task/{tid}/children").read().split()]
        except OSError:
            return []
        return kids + [d for k in kids for d in Workers._descendants(k)]

    def _watch(self):
        while not self.done.wait(self.every):
            for pid in self._descendants(os.getpid()):
                with contextlib.suppress(OSError, KeyError):
                    if pid not in self.peaks:      # multiprocessing's helper is no worker
                        with open(f"/proc/{pid}/cmdline") as fh:
                            helper = "resource_tracker" in fh.read()
                        self.peaks[pid] = None if helper else 0
                    if self.peaks[pid] is not None:
                        self.peaks[pid] = max(self.peaks[pid], _status("VmHWM", pid))

    def stop(self) -> list:
        self.done.set()
        self.thread.join()
        # a worker imports numpy and acefit; below that, a process caught as it started
        return [v for v in self.peaks.values() if v and v > 32 * 2**20]


def _rss() -> int:
    return _status("VmRSS")


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as fh:     # "5": reset VmHWM to VmRSS
        fh.write("5")


class Recorder:
    """Per stage: RSS at its start and end, its peak (and the traced peak)."""

    def __init__(self, traced: bool):
        self.traced, self.rows, self.current = traced, [], None

    @contextlib.contextmanager
    def stage(self, name):
        outer = self.current
        if outer is not None:       # the outer stage's peak so far, before the reset
            outer["peak_rss"] = max(outer["peak_rss"], _status("VmHWM"))
        row = {"stage": name, "start_rss": _rss(), "peak_rss": 0, "t0": time.perf_counter()}
        _reset_peak()
        if self.traced:
            start_traced = tracemalloc.get_traced_memory()[0]
            tracemalloc.reset_peak()
        self.current = row
        try:
            yield
        finally:
            row["seconds"] = time.perf_counter() - row.pop("t0")
            row["end_rss"] = _rss()
            row["peak_rss"] = max(row["peak_rss"], _status("VmHWM"))
            if self.traced:
                row["traced_start"] = start_traced
                row["traced_peak"] = tracemalloc.get_traced_memory()[1]
            self.rows.append(row)
            if outer is not None:
                outer["peak_rss"] = max(outer["peak_rss"], row["peak_rss"])
            self.current = outer


def _wrap(module, name, recorder):
    real = getattr(module, name)

    def wrapped(*args, **kwargs):
        stage = STAGES[name] or f"solver {args[0]['label']}"
        with recorder.stage(stage):
            return real(*args, **kwargs)

    setattr(module, name, wrapped)


def _mib(n):
    return f"{n / 2**20:8.0f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config")
    ap.add_argument("--out", help="run directory (output.directory)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=YAML")
    ap.add_argument("--tracemalloc", action="store_true")
    ap.add_argument("--plan-only", action="store_true", help="print the plan and stop")
    ap.add_argument("--json", help="write the stages here")
    args = ap.parse_args(argv)

    base = _rss()
    import acefit.pipeline as pipeline
    import acefit.solver_runs as solver_runs
    from acefit.config import load_config
    from acefit.plan import plan, plan_text
    from acefit.progress import setup_logging

    overrides = list(args.set) + ([f"output.directory={args.out}"] if args.out else [])
    cfg = load_config(args.config, overrides=overrides)
    imported = _rss()
    setup_logging(quiet=True)
    estimate = plan(cfg)
    print(plan_text(estimate))
    if args.plan_only:
        return 0
    recorder = Recorder(args.tracemalloc)
    for name in STAGES:
        _wrap(solver_runs if name == "run_solver" else pipeline, name, recorder)
    import acefit.report    # imported by run_fit when it reports
    STAGES["build_report"] = "report"
    _wrap(acefit.report, "build_report", recorder)
    if args.tracemalloc:
        tracemalloc.start()
    workers = Workers()
    t = time.perf_counter()
    pipeline.run_fit(cfg, force=True, progress=False)
    wall = time.perf_counter() - t
    worker_peaks = workers.stop()
    # ru_maxrss is reset with VmHWM: the run's peak is the largest stage's
    peak = max([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024]
               + [row["peak_rss"] for row in recorder.rows])
    print(f"\nRSS before imports {_mib(base)} MiB, after imports and config {_mib(imported)} "
          f"MiB; fit {wall:.1f} s")
    head = "stage                 start RSS  peak RSS  end RSS    s"
    print(head + ("  traced start  traced peak" if args.tracemalloc else ""))
    for row in recorder.rows:
        line = (f"{row['stage']:<20s}  {_mib(row['start_rss'])}  {_mib(row['peak_rss'])}  "
                f"{_mib(row['end_rss'])} {row['seconds']:5.1f}")
        if args.tracemalloc:
            line += f"      {_mib(row['traced_start'])}     {_mib(row['traced_peak'])}"
        print(line)
    print(f"peak RSS: {_mib(peak).strip()} MiB; the plan's estimate: "
          f"{_mib(estimate['memory']['peak']).strip()} MiB")
    if worker_peaks:
        worker = estimate["memory"]["worker"]
        print(f"assembly workers' peak RSS: {', '.join(_mib(v).strip() for v in worker_peaks)} "
              f"MiB; the plan's estimate: "
              f"{'-' if worker is None else _mib(worker['bytes']).strip()} MiB each")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"stages": recorder.rows, "peak_rss": peak, "base_rss": base,
                       "worker_peak_rss": worker_peaks,
                       "imported_rss": imported, "plan": estimate}, fh, indent=1, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())

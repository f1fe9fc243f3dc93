"""Benchmark the out-of-core assembly: wall time with 1 and 2 workers, peak memory.

Each worker count runs in a fresh subprocess so that peak RSS (``ru_maxrss``) is
that run's own. With 1 worker the reduction runs in-process; with k > 1 a
``LocalCluster`` of k single-threaded worker processes is started first (its
start-up is timed separately) and the workers are warmed (numba kernels loaded)
before the timed reduction. Memory is compared with the dense weighted design
matrix the reduction avoids (m × n float64).

Usage (from the repository root)::

    python scripts/bench_assembly.py                       # Zuo Mo train, ~5300 functions
    python scripts/bench_assembly.py --configs 100 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "datasets" / "zuo2020" / "Mo" / "train.xyz"


def _rss_mb():
    import psutil
    return psutil.Process().memory_info().rss / 2**20


def _peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _cpu_s():
    return time.process_time()


def _warm(basis, atoms):
    basis.evaluate(atoms)
    return _rss_mb()


def _setup(args):
    from acefit.basis import ACEBasis
    from acefit.data import load_configurations
    from acefit.design import reference_energies

    configs = load_configurations(args.data)
    if args.configs:
        step = max(1, len(configs) // args.configs)  # spread over all config types
        configs = configs[::step][:args.configs]
    basis = ACEBasis(["Mo"], order=args.order, totaldegree=args.totaldegree, rcut=args.rcut)
    e0 = reference_energies("auto", configs, basis.elements)
    return configs, basis, e0


def child(args):
    """One timed reduction with ``args.n_workers``; prints a JSON line."""
    import numpy as np

    from acefit.assembly import reduce_configurations

    configs, basis, e0 = _setup(args)
    small = min(configs, key=lambda c: c.n_atoms).atoms
    base_rss = _warm(basis, small)
    out = {"n_workers": args.n_workers, "n_functions": len(basis), "n_configs": len(configs),
           "n_atoms": sum(c.n_atoms for c in configs), "client_base_rss_mb": base_rss}
    if args.n_workers == 1:
        t, c = time.perf_counter(), _cpu_s()
        problem = reduce_configurations(basis, configs, None, e0, block_rows=args.block_rows,
                                        n_workers=1)
        out["reduce_s"] = time.perf_counter() - t
        out["client_cpu_s"] = _cpu_s() - c
        out["worker_cpu_s"] = []
    else:
        from distributed import Client

        from acefit.assembly import local_cluster

        t = time.perf_counter()
        cluster = local_cluster(args.n_workers)  # as the pipeline starts it
        client = Client(cluster)
        client.run(_warm, basis, small)
        out["cluster_start_s"] = time.perf_counter() - t
        out["worker_base_rss_mb"] = list(client.run(_rss_mb).values())
        cpu0 = client.run(_cpu_s)
        t, c = time.perf_counter(), _cpu_s()
        problem = reduce_configurations(basis, configs, None, e0, block_rows=args.block_rows,
                                        client=client)
        out["reduce_s"] = time.perf_counter() - t
        out["client_cpu_s"] = _cpu_s() - c
        out["worker_cpu_s"] = [v - cpu0[k] for k, v in client.run(_cpu_s).items()]
        out["worker_peak_rss_mb"] = list(client.run(_peak_mb).values())
        client.close()
        cluster.close()
    n = len(basis)
    out.update(m=problem.m, dense_mb=problem.m * n * 8 / 2**20, R_mb=(n + 1) ** 2 * 8 / 2**20,
               client_peak_rss_mb=_peak_mb(),
               # R is unique only up to row signs (and not at all if rank-deficient):
               # compare A^T A v and A^T y, which are
               gram_v=(problem.A.T @ (problem.A @ np.random.default_rng(0).standard_normal(n))).tolist(),
               aty=problem.aty().tolist())
    print("RESULT " + json.dumps(out), flush=True)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(DEFAULT_DATA))
    p.add_argument("--configs", type=int, default=0, help="use this many configurations (0: all)")
    p.add_argument("--order", type=int, default=3)
    p.add_argument("--totaldegree", type=float, default=25)
    p.add_argument("--rcut", type=float, default=5.0)
    p.add_argument("--block-rows", type=int, default=512)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--n-workers", type=int, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not Path(args.data).is_file():
        sys.exit(f"data file not found: {args.data}")
    if args.n_workers is not None:
        return child(args)

    results = []
    for k in args.workers:
        cmd = [sys.executable, __file__, "--n-workers", str(k), "--data", args.data,
               "--configs", str(args.configs), "--order", str(args.order),
               "--totaldegree", str(args.totaldegree), "--rcut", str(args.rcut),
               "--block-rows", str(args.block_rows)]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO,
                              env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode != 0 or not line:
            sys.exit(f"run with {k} workers failed:\n{proc.stderr[-3000:]}")
        results.append(json.loads(line[0][7:]))

    r0 = results[0]
    print(f"data: {args.data} ({r0['n_configs']} configurations, {r0['n_atoms']} atoms)")
    print(f"basis: Mo, order {args.order}, totaldegree {args.totaldegree:g}, rcut {args.rcut:g}: "
          f"n = {r0['n_functions']} functions")
    print(f"rows m = {r0['m']}; dense weighted design matrix m x n float64 = {r0['dense_mb']:.0f} MiB; "
          f"one (n+1)^2 triangle = {r0['R_mb']:.0f} MiB")
    for r in results:
        extra = ""
        if r["n_workers"] > 1:
            extra = (f" (+ cluster start and warm-up {r['cluster_start_s']:.1f} s); worker peak RSS "
                     + ", ".join(f"{x:.0f}" for x in r["worker_peak_rss_mb"]) + " MiB (at start "
                     + ", ".join(f"{x:.0f}" for x in r["worker_base_rss_mb"]) + ")")
        cpu = f"CPU {r['client_cpu_s']:.1f} s client" + "".join(
            f" + {x:.1f} s" for x in r["worker_cpu_s"]) + (" workers" if r["worker_cpu_s"] else "")
        print(f"{r['n_workers']} worker(s): reduce {r['reduce_s']:.1f} s wall ({cpu}){extra}; "
              f"client peak RSS {r['client_peak_rss_mb']:.0f} MiB "
              f"(after set-up {r['client_base_rss_mb']:.0f} MiB)")
    if len(results) > 1:
        import numpy as np
        for r in results[1:]:
            speedup = r0["reduce_s"] / r["reduce_s"]
            diffs = [np.linalg.norm(np.subtract(r[key], r0[key])) / np.linalg.norm(r0[key])
                     for key in ("gram_v", "aty")]
            # load-independent view: the busiest process's CPU time bounds the wall time
            cpu_bound = r0["client_cpu_s"] / (max(r["worker_cpu_s"]) + r["client_cpu_s"])
            print(f"speed-up {r['n_workers']} vs {r0['n_workers']} workers: {speedup:.2f}x wall, "
                  f"{cpu_bound:.2f}x by CPU time (1-worker CPU / (max worker + client CPU)); "
                  f"rel. diff of A^T A v {diffs[0]:.1e}, of A^T y {diffs[1]:.1e}")

if __name__ == "__main__":
    main()

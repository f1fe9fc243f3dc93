"""Benchmark of the descriptor engine: energy, force and stress rows per atom.

Usage::

    python scripts/bench_descriptors.py [--max-atoms 540] [--pyace-atoms 108]

For one-element Mo bases of about 1000 (order 3, totaldegree [25, 21, 17]) and about
5000 (uniform 25) functions at rcut 5.5 Å, on frames of
``../shared/datasets/zuo2020/Mo/train.xyz`` (every k-th frame until ``--max-atoms``),
prints the time per atom of

* ``site_values``: energy rows only;
* ``evaluate``: energy + force + stress rows together (the design-matrix rows);
* ``energy_forces_stress``: the contracted model (what a calculator runs);

and the peak memory (tracemalloc peak of numpy allocations during ``evaluate`` and
the process peak RSS).  When python-ace (``pyace``) is importable it times, side by
side on the same frames, its B-basis evaluator producing per-function values and
force gradients (``ACECalculator.compute(ae, compute_projections=True,
compute_b_grad=True)``) for 1000-function single-element bases at rcut 5.5 Å
(lmax per order [0, 6, 4], as in acefit's ~1000 basis, and [0, 4, 3]).
numba compilation is excluded (one warm-up call).  Everything runs single-threaded
(numba kernels are serial; OpenMP, used by sphericart and python-ace, is limited to one
thread unless OMP_NUM_THREADS is set).  Wall and CPU times are printed: on a shared
machine CPU time is the figure to compare.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before sphericart / pyace load OpenMP

import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets" / "zuo2020"


def load_frames(max_atoms):
    import ase.io

    frames = ase.io.read(DATA / "Mo" / "train.xyz", ":")
    stride = max(1, int(len(frames) * np.mean([len(f) for f in frames]) // max_atoms))
    picked, n = [], 0
    for f in frames[::stride]:
        if n + len(f) > max_atoms:
            continue
        picked.append(f)
        n += len(f)
    return picked


def timed(fn, frames):
    """(wall, CPU) seconds; CPU time is robust against other jobs on the machine."""
    t0, c0 = time.perf_counter(), time.process_time()
    for f in frames:
        fn(f)
    return time.perf_counter() - t0, time.process_time() - c0


def per_atom(t, n_atoms):
    return f"{1e3 * t[0] / n_atoms:8.3f} ms/atom wall, {1e3 * t[1] / n_atoms:8.3f} CPU"


def bench_acefit(label, kwargs, frames):
    from acefit.basis import ACEBasis

    t0 = time.perf_counter()
    basis = ACEBasis(["Mo"], rcut=5.5, **kwargs)
    build = time.perf_counter() - t0
    n_atoms = sum(len(f) for f in frames)
    basis.evaluate(frames[0])                      # compile / warm up
    basis.energy_forces_stress(frames[0], np.ones(len(basis)))
    basis.site_values(frames[0])
    t_e = timed(basis.site_values, frames)
    t_efs = timed(basis.evaluate, frames)
    coef = np.random.default_rng(0).normal(size=len(basis))
    t_c = timed(lambda f: basis.energy_forces_stress(f, coef), frames)
    tracemalloc.start()
    largest = max(frames, key=len)
    basis.evaluate(largest)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    counts = basis.counts()
    print(f"\nacefit {label}: {len(basis)} functions "
          f"({', '.join(f'{k[1]}: {v}' for k, v in counts.items())}), build {build:.2f} s")
    print(f"  energy rows (site_values)            {per_atom(t_e, n_atoms)}")
    print(f"  energy+force+stress rows (evaluate)  {per_atom(t_efs, n_atoms)}")
    print(f"  contracted E, F, stress              {per_atom(t_c, n_atoms)}")
    print(f"  peak memory of evaluate ({len(largest)} atoms): {peak / 2**20:.1f} MiB "
          f"(rows alone {len(largest) * 4 * len(basis) * 8 / 2**20:.1f} MiB)")
    return len(basis), np.array(t_efs) / n_atoms


def pyace_basis(n_functions, lmax_by_orders):
    from pyace import ACEBBasisSet
    from pyace.multispecies_basisextension import create_multispecies_basis_config

    config = {
        "deltaSplineBins": 0.001, "elements": ["Mo"],
        "embeddings": {"ALL": {"npot": "FinnisSinclairShiftedScaled",
                               "fs_parameters": [1, 1], "ndensity": 1}},
        "bonds": {"ALL": {"radbase": "SBessel", "radparameters": [5.25], "rcut": 5.5,
                          "dcut": 0.01}},
        "functions": {"number_of_functions_per_element": n_functions,
                      "ALL": {"nradmax_by_orders": [20, 12, 8],
                              "lmax_by_orders": list(lmax_by_orders)}},
    }
    return ACEBBasisSet(create_multispecies_basis_config(config))


def bench_pyace(frames, lmax_by_orders, n_functions=1000):
    from pyace import ACEBEvaluator, ACECalculator
    from pyace.atomicenvironment import aseatoms_to_atomicenvironment

    basis = pyace_basis(n_functions, lmax_by_orders)
    n = sum(len(b1) + len(b) for b1, b in zip(basis.basis_rank1, basis.basis))
    evaluator = ACEBEvaluator(basis)
    calc = ACECalculator(evaluator)
    envs = [aseatoms_to_atomicenvironment(f, cutoff=5.5, elements_mapper_dict={"Mo": 0})
            for f in frames]
    calc.compute(envs[0], compute_projections=True, compute_b_grad=True)
    n_atoms = sum(len(f) for f in frames)

    def run(ae):
        calc.compute(ae, compute_projections=True, compute_b_grad=True)
        np.asarray(calc.projections)
        np.asarray(calc.forces_bfuncs)

    t = timed(run, envs)
    print(f"\npython-ace: {n} functions (ranks 1-3, nradmax_by_orders [20, 12, 8], "
          f"lmax_by_orders {list(lmax_by_orders)}), values + force gradients "
          f"(compute_b_grad) over {n_atoms} atoms:\n  {per_atom(t, n_atoms)}")
    return np.array(t) / n_atoms


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-atoms", type=int, default=540)
    parser.add_argument("--pyace-atoms", type=int, default=108)
    args = parser.parse_args(argv)
    if not (DATA / "Mo" / "train.xyz").exists():
        raise SystemExit(f"dataset not found: {DATA / 'Mo' / 'train.xyz'}")
    frames = load_frames(args.max_atoms)
    n_atoms = sum(len(f) for f in frames)
    sizes = sorted({len(f) for f in frames})
    print(f"Mo/train.xyz: {len(frames)} frames, {n_atoms} atoms (frame sizes {sizes}), "
          f"rcut 5.5 Å, OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']}, serial numba")
    ours = bench_acefit("~1000", dict(order=3, totaldegree=[25, 21, 17], pair_degree=0),
                        frames)
    bench_acefit("~5000", dict(order=3, totaldegree=25, pair_degree=0), frames)
    try:
        import pyace  # noqa: F401
    except ImportError:
        print("\npython-ace not importable: no side-by-side figure")
    else:
        sub, n = [], 0
        for f in frames:
            if n + len(f) <= args.pyace_atoms:
                sub.append(f)
                n += len(f)
        # [0, 6, 4]: the same largest l per order as acefit's [25, 21, 17] basis
        for lmax_by_orders in ([0, 6, 4], [0, 4, 3]):
            theirs = bench_pyace(sub or frames[:1], lmax_by_orders)
            ratio = theirs / ours[1]
            print(f"  ratio python-ace / acefit evaluate (~1000 functions): "
                  f"{ratio[0]:.1f}x wall, {ratio[1]:.1f}x CPU")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nprocess peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()

"""Scaling of time and memory with system size and file size.

Each measurement runs in a fresh subprocess, so that its peak resident memory
(``resource.getrusage`` maxrss) is its own; the baseline is the process after imports,
the potential and one warm-up call on a small cell (numba compiled), and "peak - base"
is what the measured call added (for ``files``: the process before the command). Numpy's
own peak during the call is tracemalloc's (a second, untimed call).

1. ``calculator``: ``ACECalculator`` energy + forces + stress (and
   ``get_potential_energies``) of rattled fcc Cu with 20 % Au, supercells of about
   10^3 ... 4 x 10^5 atoms; ms/atom and MiB (``--committee``: also the committee's
   ``forces_std``, which costs the design rows of the active functions).
2. ``evaluate``: ``acefit evaluate`` on an extended XYZ of N small EMT-labelled frames
   (8-32 atoms).
3. ``query``: ``acefit query`` on an unlabelled pool of N such frames.
4. ``committee``: in one process, the committee's force and stress spread of K members
   from the design rows (as ``Potential.committee_spread`` did before it contracted the
   K members at once) and contracted (``ACEBasis.energy_forces_stress_many``), on
   rattled bcc Mo cells of 54, 432 and 5488 atoms with a Zuo Mo checkpoint-sized model
   (order 3, totaldegree 25, rcut 6 Å, 1000 random active functions); seconds,
   tracemalloc peak and the largest relative difference.
5. ``pool``: ``acefit query`` on a pool of N frames of a 100-atom cell (fresh process,
   peak - base RSS); run it with PYTHONPATH at two trees to compare them.

Run:  python scripts/bench_scaling.py calculator --potential runs/quickstart/potential.h5 [--committee]
      python scripts/bench_scaling.py calculator --random 2000 --atoms 1000 10000 100000
      python scripts/bench_scaling.py files --potential runs/quickstart/potential.h5 --frames 1000 10000
      python scripts/bench_scaling.py committee --members 8 32
      python scripts/bench_scaling.py pool --potential runs/quickstart/potential.h5 --frames 2000
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

import numpy as np


def _maxrss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _crystal(n_atoms, seed=0):
    """Rattled fcc Cu with 20 % Au, about ``n_atoms`` atoms (cubic 4-atom cells, k^3)."""
    from ase.build import bulk

    k = max(1, round((n_atoms / 4) ** (1 / 3)))
    atoms = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((k, k, k))
    rng = np.random.default_rng(seed)
    numbers = atoms.numbers.copy()
    numbers[rng.random(len(atoms)) < 0.2] = 79
    atoms.numbers = numbers
    atoms.positions += 0.05 * rng.normal(size=atoms.positions.shape)
    return atoms


def _potential(args):
    from acefit import ACEBasis, Potential

    if args.potential:
        return Potential.load(args.potential)
    basis = ACEBasis(["Cu", "Au"], order=3, totaldegree=args.degree, rcut=5.5)
    rng = np.random.default_rng(1)
    coef = 1e-3 * rng.normal(size=len(basis))
    keep = rng.choice(len(basis), size=min(args.random, len(basis)), replace=False)
    mask = np.zeros(len(basis), dtype=bool)
    mask[keep] = True
    return Potential(basis, np.where(mask, coef, 0.0), e0={"Cu": 0.0, "Au": 0.0})


def child_calculator(args):
    import tracemalloc

    from acefit import ACECalculator

    pot = _potential(args)
    calc = ACECalculator(pot)
    warm = _crystal(32)
    warm.calc = calc
    warm.get_forces(), warm.get_stress(), warm.get_potential_energies()
    atoms = _crystal(args.atoms[0])
    base = _rss_mib()
    atoms.calc = calc
    start = time.perf_counter()
    calc.calculate(atoms, ["energy", "forces", "stress"])
    seconds = time.perf_counter() - start
    peak = _maxrss_mib()
    atoms.calc = ACECalculator(pot)
    start = time.perf_counter()
    atoms.get_potential_energies()
    seconds_energies = time.perf_counter() - start
    peak_energies = _maxrss_mib()
    tracemalloc.start()
    ACECalculator(pot).calculate(atoms, ["energy", "forces", "stress"])
    traced = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    committee = {}
    if args.committee:      # the force spread: the design rows of the active functions
        calc = ACECalculator(pot, committee=True)
        start = time.perf_counter()
        calc.calculate(atoms, ["energy", "forces", "stress", "forces_std"])
        committee = {"ms_per_atom_committee": 1e3 * (time.perf_counter() - start) / len(atoms),
                     "peak_committee_mib": _maxrss_mib()}
    return {**committee, "atoms": len(atoms), "functions": len(pot), "ms_per_atom": 1e3 * seconds / len(atoms),
            "ms_per_atom_energies": 1e3 * seconds_energies / len(atoms),
            "base_mib": base, "peak_mib": peak, "peak_energies_mib": peak_energies,
            "traced_mib": traced}


def _mo_cell(k, seed=0):
    """Rattled bcc Mo, k^3 cubic cells (2 k^3 atoms)."""
    from ase.build import bulk

    atoms = bulk("Mo", "bcc", a=3.16, cubic=True).repeat(k)
    atoms.positions += 0.05 * np.random.default_rng(seed).normal(size=atoms.positions.shape)
    return atoms


def _spread_from_rows(basis, atoms, deviations):
    """Energies, forces and stresses of K coefficient vectors from the design rows."""
    rows = basis.evaluate(atoms)
    return (deviations @ rows.energy, np.einsum("iak,mk->mia", rows.forces, deviations),
            deviations @ rows.stress.T)


def _timed_and_traced(fn, *args):
    """(result, seconds, tracemalloc peak MiB of a second call)."""
    import tracemalloc

    start = time.perf_counter()
    result = fn(*args)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    fn(*args)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, peak


def committee(args):
    """The committee spread from the design rows against contracted, in this process."""
    from acefit import ACEBasis

    basis = ACEBasis(["Mo"], order=3, totaldegree=25, rcut=6.0, r0=3.7, envelope="x")
    rng = np.random.default_rng(1)
    active = basis.subset(np.sort(rng.choice(len(basis), size=args.random, replace=False)))
    print(f"{len(active)} active functions of {len(basis)}\n\n| atoms | K | design rows s | "
          "contracted s | ratio | plain E+F+S s | design rows MiB | contracted MiB | "
          "max rel. diff |\n|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    coef = 1e-3 * rng.normal(size=len(active))
    warm = _mo_cell(1)
    for members in args.members:
        deviations = 1e-4 * rng.normal(size=(members, len(active)))
        _spread_from_rows(active, warm, deviations)         # numba compiled
        active.energy_forces_stress_many(warm, deviations)
        active.energy_forces_stress(warm, coef)
        for k in args.cells:
            atoms = _mo_cell(k)
            old, t_old, m_old = _timed_and_traced(_spread_from_rows, active, atoms, deviations)
            new, t_new, m_new = _timed_and_traced(active.energy_forces_stress_many, atoms,
                                                  deviations)
            start = time.perf_counter()
            active.energy_forces_stress(atoms, coef)
            t_plain = time.perf_counter() - start
            diff = max(float(np.abs(a - b).max() / np.abs(a).max()) for a, b in zip(old, new))
            print(f"| {len(atoms)} | {members} | {t_old:.3f} | {t_new:.3f} | "
                  f"{t_new / t_old:.2f} | {t_plain:.3f} | {m_old:.0f} | {m_new:.0f} | "
                  f"{diff:.1e} |", flush=True)


def write_pool(path, n_frames, seed=0):
    """``n_frames`` rattled 100-atom fcc Cu cells with 20 % Au (5 x 5 x 1 cubic cells)."""
    from ase.build import bulk
    from ase.io import write

    rng = np.random.default_rng(seed)
    cell = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((5, 5, 1))
    frames = []
    for _ in range(n_frames):
        atoms = cell.copy()
        atoms.numbers[rng.random(len(atoms)) < 0.2] = 79
        atoms.positions += 0.05 * rng.normal(size=atoms.positions.shape)
        frames.append(atoms)
    write(path, frames, format="extxyz")


def write_frames(path, n_frames, labelled, seed=0):
    """``n_frames`` rattled fcc/bcc Cu-Au cells of 8-32 atoms, EMT-labelled if asked."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.io import write

    rng = np.random.default_rng(seed)
    shapes = [("fcc", 3.7, (2, 1, 1)), ("fcc", 3.7, (2, 2, 1)), ("fcc", 3.7, (2, 2, 2)),
              ("bcc", 2.95, (2, 2, 2)), ("bcc", 2.95, (2, 2, 4))]
    frames = []
    for f in range(n_frames):
        kind, a, rep = shapes[f % len(shapes)]
        atoms = bulk("Cu", kind, a=a * rng.uniform(0.97, 1.03), cubic=True).repeat(rep)
        numbers = atoms.numbers.copy()
        numbers[rng.random(len(atoms)) < 0.3] = 79
        atoms.numbers = numbers
        atoms.positions += 0.08 * rng.normal(size=atoms.positions.shape)
        if labelled:
            atoms.calc = EMT()
            e, frc, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
            atoms.calc = None
            atoms.info["energy"] = e
            atoms.info["stress"] = s
            atoms.arrays["forces"] = frc
            atoms.info["config_type"] = kind
        frames.append(atoms)
    write(path, frames, format="extxyz")
    return sum(len(a) for a in frames)


def child_command(args):
    """One ``acefit evaluate`` or ``acefit query`` in this process; time and peak memory
    (``--traced``: also tracemalloc's peak, what Python and numpy allocated)."""
    import tracemalloc

    from acefit.cli import main

    argv = args.argv
    base = _maxrss_mib()
    if args.traced:
        tracemalloc.start()
    start = time.perf_counter()
    with open(os.devnull, "w") as null:
        stdout, sys.stdout = sys.stdout, null
        try:
            code = main(argv)
        finally:
            sys.stdout = stdout
    seconds = time.perf_counter() - start
    traced = tracemalloc.get_traced_memory()[1] / 2**20 if args.traced else None
    return {"seconds": seconds, "base_mib": base, "peak_mib": _maxrss_mib(), "code": code,
            "traced_mib": traced}


def run_child(*argv):
    out = subprocess.run([sys.executable, __file__, "--child", *argv], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["calculator", "files", "committee", "pool"])
    parser.add_argument("--potential", help="potential file (else a random model)")
    parser.add_argument("--random", type=int, default=None,
                        help="random model: active functions (default 2000; committee: 1000)")
    parser.add_argument("--degree", type=float, nargs="+", default=[20, 16, 12],
                        help="random model: totaldegree of its order-3 basis")
    parser.add_argument("--committee", action="store_true",
                        help="calculator: also forces_std of the potential's committee")
    parser.add_argument("--atoms", type=int, nargs="+", default=[1000, 10000, 100000, 400000])
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--members", type=int, nargs="+", default=[8, 32],
                        help="committee: members K")
    parser.add_argument("--cells", type=int, nargs="+", default=[3, 6, 14],
                        help="committee: bcc Mo cells of 2 k^3 atoms")
    parser.add_argument("--scratch", default="/tmp/acefit_bench_scaling")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else list(argv)
    rest = argv[argv.index("--") + 1:] if "--" in argv else []
    args = parser.parse_args(argv[:len(argv) - len(rest) - bool(rest)] if rest else argv)
    args.argv = rest
    if args.child:
        result = child_calculator(args) if args.what == "calculator" else child_command(args)
        print(json.dumps(result))
        return
    if args.what == "committee":
        args.random = args.random or 1000
        return committee(args)
    args.random = args.random or 2000
    model = ["--potential", args.potential] if args.potential else \
        ["--random", str(args.random), "--degree", *map(str, args.degree)]
    if args.what == "calculator":
        if args.committee and not args.potential:
            raise SystemExit("--committee: a --potential with a committee is needed")
        print("| atoms | functions | E+F+S ms/atom | energies ms/atom | base MiB | peak MiB "
              "| peak − base | per atom kiB | numpy peak MiB |\n|---:|---:|---:|---:|---:|---:"
              "|---:|---:|---:|")
        for n in args.atoms:
            r = run_child("calculator", *model, "--atoms", str(n),
                          *(["--committee"] if args.committee else []))
            added = r["peak_mib"] - r["base_mib"]
            print(f"| {r['atoms']} | {r['functions']} | {r['ms_per_atom']:.4f} | "
                  f"{r['ms_per_atom_energies']:.4f} | {r['base_mib']:.0f} | "
                  f"{r['peak_mib']:.0f} | {added:.0f} | {1024 * added / r['atoms']:.2f} | "
                  f"{r['traced_mib']:.0f} |" + (f" committee forces_std: "
                  f"{r['ms_per_atom_committee']:.4f} ms/atom, peak "
                  f"{r['peak_committee_mib']:.0f} MiB" if args.committee else ""), flush=True)
        return
    if not args.potential:
        raise SystemExit("files: --potential (with a committee) is needed")
    scratch = Path(args.scratch)
    scratch.mkdir(parents=True, exist_ok=True)
    if args.what == "pool":
        return query_pool(args, scratch)
    print("| command | frames | atoms | s | ms/frame | base MiB | peak MiB | peak − base |\n"
          "|---|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.frames:
        data, pool = scratch / f"labelled_{n}.xyz", scratch / f"pool_{n}.xyz"
        if not data.exists():
            write_frames(data, n, labelled=True)
        if not pool.exists():
            write_frames(pool, n, labelled=False, seed=1)
        from ase.io import iread

        n_atoms = sum(len(a) for a in iread(data, index=":"))
        runs = {"evaluate": ["evaluate", args.potential, "--data", str(data),
                             "--resamples", "200", "--no-progress"],
                "query": ["query", args.potential, "--pool", str(pool), "-o",
                          str(scratch / f"chosen_{n}.xyz"), "-n", "10", "--no-progress"]}
        for name, cmd in runs.items():
            r = run_child("files", "--", *cmd)
            print(f"| {name} | {n} | {n_atoms} | {r['seconds']:.1f} | "
                  f"{1e3 * r['seconds'] / n:.2f} | {r['base_mib']:.0f} | {r['peak_mib']:.0f} "
                  f"| {r['peak_mib'] - r['base_mib']:.0f} |", flush=True)


def query_pool(args, scratch):
    """``acefit query`` on pools of 100-atom frames, in a fresh process each."""
    print("| frames | atoms | s | ms/frame | base MiB | peak MiB | peak − base | traced MiB |\n"
          "|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.frames:
        path = scratch / f"pool100_{n}.xyz"
        if not path.exists():
            write_pool(path, n)
        r = run_child("files", "--traced", "--", "query", args.potential, "--pool", str(path), "-o",
                      str(scratch / f"chosen100_{n}.xyz"), "-n", "10", "--no-progress")
        print(f"| {n} | {100 * n} | {r['seconds']:.1f} | {1e3 * r['seconds'] / n:.2f} | "
              f"{r['base_mib']:.0f} | {r['peak_mib']:.0f} | {r['peak_mib'] - r['base_mib']:.0f} "
              f"| {r['traced_mib']:.1f} |", flush=True)


if __name__ == "__main__":
    main()

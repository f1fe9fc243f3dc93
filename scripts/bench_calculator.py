"""Calculator speed: acefit.ACECalculator vs python-ace, and sparse vs dense models.

Prints a Markdown table of energy + forces + stress time per atom (best of --repeat
calls, CPU and wall time, positions perturbed before each call so nothing is cached):

1. acefit, dense ~1000-function one-element basis (order 3, totaldegree 25/21/17,
   polynomial transform so that it exports);
2. python-ace on the *same* model, exported with ``export_yace`` (identical functions;
   the energies are checked to agree);
3. python-ace on a native PACE basis of about the same size (SBessel radial basis,
   nradmax 15/10/4, lmax 0/8/4: 1058 functions);
4. acefit, dense ~5000-function basis (totaldegree 25) vs a 300-function sparse model
   from that basis (300 random nonzero coefficients; only they are evaluated), vs a
   dense ~300-function basis (totaldegree 20/16/12);
5. a small MD-like case (32-atom Cu, 47 functions) with ``num_threads=1`` (default)
   vs ``num_threads=None`` (OpenMP default of sphericart), ms per call;
6. the model of 1. with a pure2b basis (same functions, two-body parts removed);
7. the cost of a ZBL core repulsion (inner 1.0, outer 2.0 Å, as the quickstart) on the
   models of 5. and of the 319-function basis of 4.
8. the cost of a 32-member committee (``ACECalculator(..., committee=True)``) on the
   sparse model of 4.: its energy spread (every call: the site values summed in the
   model's own pass), and its force spread too (on request: the 32 differences
   contracted at once).

Run:  python scripts/bench_calculator.py [--repeat 5] [--size 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from ase.build import bulk

from acefit import ACEBasis, ACECalculator, Potential
from acefit.repulsion import ZBL


PROPERTIES = ("energy", "forces", "stress")


def per_atom_ms(calcs, atoms, repeat, properties=PROPERTIES):
    """Best wall and CPU time (ms/atom) of one energy+forces+stress evaluation.

    Calculators are timed round-robin (one call each per round) so that load from
    other processes on a shared machine affects all of them alike; CPU time
    (``time.process_time``, all threads of this process) is the steadier figure there.
    """
    systems = []
    for calc in calcs:
        a = atoms.copy()
        a.calc = calc
        calc.calculate(a, list(properties))  # warm-up (numba, caches)
        systems.append(a)
    best = np.full((len(calcs), 2), np.inf)
    rng = np.random.default_rng(0)
    for _ in range(repeat):
        step = 1e-4 * rng.normal(size=atoms.positions.shape)
        for k, (calc, a) in enumerate(zip(calcs, systems)):
            a.positions += step
            t, c = time.perf_counter(), time.process_time()
            calc.calculate(a, list(properties))
            best[k] = np.minimum(best[k], [time.perf_counter() - t, time.process_time() - c])
    return 1e3 * best / len(atoms)


def dense(totaldegree, seed=0, pure2b=False):
    basis = ACEBasis(["Cu"], order=3, totaldegree=totaldegree, rcut=5.0,
                     transform="polynomial", pair_envelope="x", pure2b=pure2b)
    c = 1e-3 * np.random.default_rng(seed).normal(size=len(basis))
    return Potential(basis, c)


def native_pace(nradmax, lmax):
    from pyace import ACEBBasisSet, create_multispecies_basis_config

    cfg = create_multispecies_basis_config({
        "deltaSplineBins": 0.001, "elements": ["Cu"],
        "embeddings": {"ALL": {"npot": "FinnisSinclairShiftedScaled",
                               "fs_parameters": [1, 1], "ndensity": 1}},
        "bonds": {"ALL": {"radbase": "SBessel", "radparameters": [5.25], "rcut": 5.0,
                          "dcut": 0.01}},
        "functions": {"ALL": {"nradmax_by_orders": nradmax, "lmax_by_orders": lmax}}})
    n = sum(len(b.funcspecs) for b in cfg.funcspecs_blocks)
    return ACEBBasisSet(cfg).to_ACECTildeBasisSet(), n


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--size", type=int, default=3, help="repeat of the 4-atom fcc cell")
    args = ap.parse_args(argv)

    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(args.size)
    atoms.rattle(0.05, seed=1)
    rows = []

    pot1k = dense([25, 21, 17])
    pot5k = dense(25)
    rng = np.random.default_rng(2)
    coef = np.zeros(len(pot5k))
    coef[rng.choice(len(pot5k), 300, replace=False)] = 1e-3 * rng.normal(size=300)
    sparse = Potential(pot5k.basis, coef)
    pot300 = dense([20, 16, 12])
    pure1k = dense([25, 21, 17], pure2b=True)
    names = ["acefit ACECalculator", "acefit, dense",
             "acefit, sparse: 300 active of the dense basis above", "acefit, dense",
             "acefit, pure2b basis of the first row"]
    sizes = [len(pot1k), len(pot5k), len(sparse), len(pot300), len(pure1k)]
    calcs = [ACECalculator(p) for p in (pot1k, pot5k, sparse, pot300, pure1k)]
    try:
        from pyace import PyACECalculator
    except ImportError:
        PyACECalculator = None
        print("python-ace not installed: skipping the python-ace rows")
    if PyACECalculator is not None:
        from acefit.export import export_yace

        with tempfile.TemporaryDirectory() as tmp:
            path = export_yace(pot1k, Path(tmp) / "m.yace", radial="recurrence")  # python-ace 0.4
            pc = PyACECalculator(str(path))
        e_ours = ACECalculator(pot1k).get_potential_energy(atoms)
        e_pace = pc.get_potential_energy(atoms.copy())
        assert abs(e_ours - e_pace) <= 1e-8 * abs(e_ours), (e_ours, e_pace)
        cb, n_native = native_pace([15, 10, 4], [0, 8, 4])
        names[1:1] = ["python-ace, same model (exported .yace)",
                      "python-ace, native PACE basis (SBessel)"]
        sizes[1:1] = [len(pot1k), n_native]
        calcs[1:1] = [pc, PyACECalculator(cb)]
    times = per_atom_ms(calcs, atoms, args.repeat)
    rows = list(zip(names, sizes, times))
    cpu = times[:, 1]
    t_ace, t_5k, t_sparse, t_300, t_pure = cpu[0], cpu[-4], cpu[-3], cpu[-2], cpu[-1]
    if PyACECalculator is not None:
        t_same, t_native = cpu[1], cpu[2]

    print(f"\n{len(atoms)} atoms fcc Cu (rattled), rcut 5 Å, energy+forces+stress, "
          f"best of {args.repeat}\n")
    print("| model | functions | CPU ms/atom | wall ms/atom |")
    print("|---|---|---|---|")
    for name, n, (t_wall, t_cpu) in rows:
        print(f"| {name} | {n} | {t_cpu:.3f} | {t_wall:.3f} |")
    if PyACECalculator is not None:
        print(f"\nspeed ratio (CPU) python-ace / acefit: same model {t_same / t_ace:.2f}, "
              f"native ~1000-function PACE basis {t_native / t_ace:.2f}")
    small_basis = ACEBasis(["Cu"], order=3, totaldegree=[10, 8, 6], rcut=4.5, pair_degree=6)
    small = Potential(small_basis, 1e-3 * np.ones(len(small_basis)))
    cell = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    cell.rattle(0.05, seed=3)
    t1, tn = (per_atom_ms([ACECalculator(small, num_threads=n)], cell, args.repeat)[0, 0]
              * len(cell) for n in (1, None))
    print(f"32-atom cell, {len(small)} functions, wall ms per call: num_threads=1 {t1:.2f}, "
          f"OpenMP default {tn:.2f}")
    zbl = ZBL(1.0, 2.0)
    for pot, cell_ in ((small, cell), (pot300, atoms)):
        plain, core = per_atom_ms([ACECalculator(pot), ACECalculator(Potential(
            pot.basis, pot.coefficients, e0=pot.e0, prune=False, repulsion=zbl))],
            cell_, args.repeat)[:, 1] * len(cell_)
        print(f"ZBL core repulsion, {len(cell_)} atoms, {len(pot)} functions, CPU ms per call: "
              f"{plain:.2f} without, {core:.2f} with ({core / plain:.2f}x)")
    members = coef + 1e-4 * rng.normal(size=(32, len(coef))) * (coef != 0.0)
    with_committee = ACECalculator(Potential(pot5k.basis, coef, committee=members),
                                   committee=True)
    plain, energy_spread = per_atom_ms([ACECalculator(sparse), with_committee], atoms,
                                       args.repeat)[:, 1]
    force_spread = per_atom_ms([with_committee], atoms, args.repeat,
                               PROPERTIES + ("forces_std",))[0, 1]
    print(f"32-member committee, sparse 300, CPU ms/atom: {plain:.3f} without, "
          f"{energy_spread:.3f} with the energy spread ({energy_spread / plain:.2f}x), "
          f"{force_spread:.3f} with the force spread too ({force_spread / plain:.2f}x)")
    print(f"cost (CPU) dense {len(pot5k)} / sparse 300: {t_5k / t_sparse:.1f}x; "
          f"sparse 300 / dense {len(pot300)}: {t_sparse / t_300:.2f}x; "
          f"pure2b / plain {len(pot1k)}: {t_pure / t_ace:.2f}x")


if __name__ == "__main__":
    main()

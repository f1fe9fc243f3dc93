"""Fitting from Python: the fit of ``acefit fit configs/quickstart.yaml`` with no YAML file.

Data from a file and from ``ase.Atoms`` held in memory, a validation split, the basis, the
weighted least-squares problem with E0 fitted and a ZBL core under the fit, the smoothness
prior, ASP and OMP paths, each path's best validation checkpoint within the size budget and
the best of them, then the potential (E0 and the core included), an ASE calculator, the
potential file and the LAMMPS files. Run from the repository's root::

    python scripts/fit_from_python.py [--max-active 300] [--out runs/quickstart-python]

The chosen checkpoint is the one ``acefit fit`` chooses for the budget ``max_active``
among the same paths, with the same coefficients and errors (the config's ``blr`` path
aside; ``tests/test_fit_from_python.py`` checks it on a smaller basis). The body of
:func:`fit` is the example of docs/fitting.md ("Fitting from Python"), which that test
keeps equal to it.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def fit(data=Path("datasets/quickstart"), out=Path("runs/quickstart-python"),
        max_active=300, totaldegree=(12, 10, 8)):
    """The quickstart fit (see the module's docstring).

    Parameters
    ----------
    data : Path
        The folder of ``train.xyz`` and ``test.xyz``.
    out : Path
        The folder the potential is written to (made if missing).
    max_active : int
        The ASP and OMP paths' largest size, and the budget the checkpoint is chosen in.
    totaldegree : tuple of int
        The basis' total degree per body order (the quickstart's 640 many-body and 36
        pair functions for (12, 10, 8)).

    Returns
    -------
    dict
        ``system`` (the assembled system), ``paths`` (by solver), ``solver`` and
        ``step`` (the choice), ``errors`` (its unweighted test errors,
        :func:`acefit.metrics.errors`), ``potential``.
    """
    # --- example
    import ase.io

    import acefit.solvers as solvers
    from acefit import ACEBasis, ACECalculator, Potential
    from acefit.assembly import assemble
    from acefit.data import configurations_from_atoms, load_configurations, split
    from acefit.export import export_yace
    from acefit.metrics import errors
    from acefit.prior import smoothness_prior
    from acefit.repulsion import ZBL
    from acefit.selection import select

    # data: a file, or ase.Atoms in memory (here the training file's frames, read by ASE;
    # frames labelled by a calculator or a SinglePointCalculator are read alike)
    frames = ase.io.read(data / "train.xyz", index=":")
    train = configurations_from_atoms(frames, name="train.xyz")
    test = load_configurations(data / "test.xyz")
    train, val = split(train, val_fraction=0.1, seed=0)    # data.validation

    basis = ACEBasis(["Cu", "Au"], order=3, totaldegree=totaldegree, rcut=5.0)

    # the weighted least-squares problem: weights per config_type ("default": every
    # group not listed), E0 fitted to the training energies, a ZBL core under the fit
    system = assemble(basis, train, val=val, test=test,
                      weights={"default": {"E": 30.0, "F": 1.0, "V": 1.0}},
                      e0="fit", repulsion=ZBL(1.0, 2.0), n_workers=1)

    # solver paths under the smoothness prior; validation rows weighted as the training rows
    gamma = smoothness_prior(basis, "algebraic", p=2)
    validation = system.val.weighted()
    paths = {name: solve(system.train, max_active=max_active, prior=gamma,
                         validation=validation)
             for name, solve in (("asp", solvers.asp), ("omp", solvers.omp))}

    # each path's best validation checkpoint within the budget, then the best of them
    best = {name: select(path, "best_val", max_active=max_active)
            for name, path in paths.items()}
    solver = min(best, key=lambda name: (best[name].val_error, best[name].n_active))
    step = best[solver]
    test_errors = errors(system.test, step.coef)["all"]
    print(f"{solver}: {step.n_active} functions, test MAE E "
          f"{test_errors['E']['mae']:.3f} meV/atom, F {test_errors['F']['mae']:.4f} eV/Å")

    # the potential: the coefficients, and the system's E0 and ZBL core
    potential = Potential(basis, step.coef, e0=system.e0)
    atoms = test[0].atoms.copy()
    atoms.calc = ACECalculator(potential)
    print(f"{test[0].where}: {atoms.get_potential_energy():.4f} eV, label "
          f"{test[0].energy:.4f} eV")
    out.mkdir(parents=True, exist_ok=True)
    potential.save(out / "potential.h5")          # ACECalculator("…/potential.h5")
    export_yace(potential, out / "potential.yace")  # and potential.lammps for LAMMPS
    # --- end
    return {"system": system, "paths": paths, "solver": solver, "step": step,
            "errors": test_errors, "potential": potential}


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=Path("datasets/quickstart"),
                    help="folder of train.xyz and test.xyz (default: %(default)s)")
    ap.add_argument("--out", type=Path, default=Path("runs/quickstart-python"),
                    help="folder for potential.h5, .yace, .lammps (default: %(default)s)")
    ap.add_argument("--max-active", type=int, default=300,
                    help="the paths' largest size and the budget (default: %(default)s)")
    args = ap.parse_args(argv)
    fit(args.data, args.out, args.max_active)


if __name__ == "__main__":
    main()

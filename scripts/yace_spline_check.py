"""How close a spline-dialect ``.yace`` export is to the acefit potential, and what it costs.

For each potential file (``.h5``) and each ``--spline-rtol`` the script writes the
``.yace`` (spline radials), then evaluates it with the independent reference
evaluator of ``tests/_yace_reference.py`` (ML-PACE's rules in numpy) on the given
structures, next to ``ACECalculator``, and prints per file: bins, file size, export
time, and the largest per-atom energy difference (meV/atom) and force component
difference (eV/Å) over the structures::

    python scripts/yace_spline_check.py runs/zuo/mo/potentials/asp_t300.h5 \\
        --structures ../shared/datasets/zuo2020/Mo/test.xyz --spline-rtol 1e-6 1e-8

It needs the project's ``tests/`` folder (a source checkout).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def check(potential_path, structures, rtols):
    from ase.io import read

    sys.path.insert(0, str(ROOT / "tests"))
    from _yace_reference import YaceReference

    from acefit import ACECalculator, Potential
    from acefit.export import export_yace

    pot = Potential.load(potential_path)
    # a .yace holds the fitted part; a core repulsion runs beside it in LAMMPS
    pot = Potential(pot.basis, pot.coefficients, e0=pot.e0, metadata=pot.metadata, prune=False)
    frames = read(structures, ":")
    ours = []
    for atoms in frames:
        atoms = atoms.copy()
        atoms.calc = ACECalculator(pot)
        ours.append((atoms.get_potential_energy() / len(atoms), atoms.get_forces()))
    rows = []
    for rtol in rtols:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "m.yace"
            t = time.perf_counter()
            export_yace(pot, path, radial="spline", spline_rtol=rtol)
            seconds = time.perf_counter() - t
            size = path.stat().st_size
            ref = YaceReference(path)
        bonds = ref.data["bonds"].values()
        de, df = 0.0, 0.0
        for atoms, (e, f) in zip(frames, ours):
            atoms = atoms.copy()
            atoms.calc = ref
            de = max(de, abs(atoms.get_potential_energy() / len(atoms) - e))
            df = max(df, np.abs(atoms.get_forces() - f).max())
        rows.append({"rtol": rtol, "nbins": sorted({b["nbins"] for b in bonds}),
                     "nradial": next(iter(bonds))["nradial"], "MB": size / 1e6,
                     "export_s": seconds, "dE_meV_atom": 1e3 * de, "dF_eV_A": df})
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("potentials", nargs="+", type=Path, help="acefit potential files (.h5)")
    ap.add_argument("--structures", type=Path, required=True, help="any ase-readable file")
    ap.add_argument("--spline-rtol", type=float, nargs="+", default=[1e-6])
    args = ap.parse_args(argv)
    print("| potential | spline_rtol | nbins | radial functions | file MB | export s | "
          "max dE (meV/atom) | max dF (eV/Å) |")
    print("|---|---|---|---|---|---|---|---|")
    for p in args.potentials:
        for r in check(p, args.structures, args.spline_rtol):
            print(f"| {p.name} | {r['rtol']:g} | {','.join(map(str, r['nbins']))} | "
                  f"{r['nradial']} | {r['MB']:.1f} | {r['export_s']:.1f} | "
                  f"{r['dE_meV_atom']:.2e} | {r['dF_eV_A']:.2e} |")


if __name__ == "__main__":
    main()

"""ASE calculator for acefit potentials.

``ACECalculator(potential)`` or ``ACECalculator("model.h5")``. Evaluation contracts
the coefficients with the basis first and gets forces and stress from the adjoint
(``basis.energy_forces_stress``); no design rows are built.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
from ase.calculators.calculator import Calculator, all_changes

__all__ = ["ACECalculator"]


class ACECalculator(Calculator):
    """ASE calculator of a linear ACE :class:`acefit.Potential`.

    Parameters
    ----------
    potential : acefit.Potential or path-like
        The potential, or a file written by ``Potential.save``.
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator`.

    Notes
    -----
    Properties: ``energy`` (= ``free_energy``), ``energies`` (per atom, including
    E0), ``forces`` and ``stress`` (Voigt xx yy zz yz xz xy, eV/Å³, tensile
    positive). Any cell and any mix of periodic directions is accepted; where the
    basis cannot define a stress (no periodic cell) requesting it raises
    ``PropertyNotImplementedError``.
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]

    def __init__(self, potential, **kwargs):
        if isinstance(potential, (str, PathLike)):
            from acefit.potential import Potential

            potential = Potential.load(potential)
        if not hasattr(potential, "energy_forces_stress"):
            raise ValueError("ACECalculator needs an acefit.Potential or the path of a "
                             f"potential file, got {type(potential).__name__}")
        super().__init__(**kwargs)
        self.potential = potential

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        allowed = set(self.potential.elements)
        unknown = sorted(set(atoms.get_chemical_symbols()) - allowed)
        if unknown:
            raise ValueError(f"atoms contain elements {unknown} that the potential does not "
                             f"cover (it covers {sorted(allowed)})")
        energy, energies, forces, stress = self.potential.energy_forces_stress(atoms)
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": energies,
            "forces": forces,
        }
        if np.all(np.isfinite(stress)):  # the basis gives NaN where stress is undefined
            self.results["stress"] = stress

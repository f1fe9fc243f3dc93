"""ASE calculator for acefit potentials.

``ACECalculator(potential)`` or ``ACECalculator("model.h5")``. Evaluation contracts
the coefficients with the basis first and gets forces and stress from the adjoint
(``basis.energy_forces_stress``); no design rows are built. With ``committee=True``
(a potential that carries a committee) each calculation also gives the members'
energies and their spread; their forces and stresses cost a contraction of the K
members' coefficients with the basis (no design rows: memory O(K x atoms)), so they are
computed only when asked for.
"""

from __future__ import annotations

from os import PathLike

import numpy as np
from ase.calculators.calculator import (Calculator, PropertyNotImplementedError,
                                         all_changes)

from acefit.basis.angular import EVALUATION_THREADS, thread_limit
from acefit.basis.neighbours import no_stress_reason

__all__ = ["ACECalculator"]


class ACECalculator(Calculator):
    """ASE calculator of a linear ACE :class:`acefit.Potential`.

    Parameters
    ----------
    potential : acefit.Potential or path-like
        The potential, or a file written by ``Potential.save``.
    num_threads : int or None
        OpenMP threads inside one evaluation (used by sphericart only; the numba
        kernels are serial). The default 1
        (:data:`acefit.basis.angular.EVALUATION_THREADS`, as in ``acefit evaluate`` and
        ``acefit query``) avoids OpenMP start-up and spinning, which on small MD cells
        and busy machines costs more than it gains (measured 3-4x on a 32-atom cell, see
        docs/benchmarks.md). ``None`` leaves the process setting alone.
    committee : bool, default False
        Also give the committee properties (below); needs a potential with a committee
        (``export.committee`` in the fit's config).
    **kwargs
        Passed to :class:`ase.calculators.calculator.Calculator`.

    Notes
    -----
    Properties: ``energy`` (= ``free_energy``), ``energies`` (per atom, including
    E0), ``forces`` and ``stress`` (Voigt xx yy zz yz xz xy, eV/Å³, tensile
    positive). Any cell and any mix of periodic directions is accepted; where the
    basis cannot define a stress, requesting it raises ``PropertyNotImplementedError``
    that says why: no periodic direction, or a cell without volume (a zero cell vector,
    such as a slab's along its non-periodic direction, or vectors in one plane).

    With ``committee``: ``energy_committee`` (K,) the members' energies and
    ``energy_std`` their standard deviation (eV; ``atoms.calc.results`` after any
    calculation); ``forces_committee`` (K, n_atoms, 3), ``forces_std`` (n_atoms, 3, eV/Å)
    and ``stress_std`` (6, eV/Å³; periodic cells) when any of them is asked for
    (``calc.get_property("forces_std", atoms)``), at the cost of the K members contracted
    at once (1.4–1.7 plain evaluations for K = 8, 2.6–4 for K = 32 as measured; no design rows,
    docs/benchmarks.md).
    """

    implemented_properties = ["energy", "free_energy", "forces", "stress", "energies"]
    committee_properties = ["energy_committee", "energy_std", "forces_committee",
                            "forces_std", "stress_std"]

    def __init__(self, potential, num_threads=EVALUATION_THREADS, committee=False, **kwargs):
        from acefit.potential import NO_COMMITTEE_HELP, Potential

        if isinstance(potential, (str, PathLike)):
            potential = Potential.load(potential)
        if not isinstance(potential, Potential):
            raise ValueError("ACECalculator needs an acefit.Potential or the path of a "
                             f"potential file, got {type(potential).__name__}")
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
            raise ValueError(f"num_threads must be a positive integer or None, got "
                             f"{num_threads!r}")
        if committee and potential.committee is None:
            raise ValueError("committee=True needs a potential with a committee; this one "
                             f"has none; allowed: {NO_COMMITTEE_HELP}")
        super().__init__(**kwargs)
        self.potential = potential
        self.committee = bool(committee)
        if self.committee:
            self.implemented_properties = (type(self).implemented_properties
                                           + self.committee_properties)
        self.num_threads = num_threads

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        allowed = set(self.potential.elements)
        unknown = sorted(set(atoms.get_chemical_symbols()) - allowed)
        if unknown:
            raise ValueError(f"atoms contain elements {unknown} that the potential does not "
                             f"cover (it covers {sorted(allowed)})")
        with thread_limit(self.num_threads):
            # the members' energies need the site values summed: the model's pass finds them
            site_sum = np.zeros(len(self.potential.basis)) if self.committee else None
            fit = self.potential.energy_forces_stress(atoms, site_sum=site_sum)
            spread = (self._committee_results(atoms, properties, fit, site_sum)
                      if self.committee else {})
        energy, energies, forces, stress = fit
        self.results = {
            "energy": energy,
            "free_energy": energy,
            "energies": energies,
            "forces": forces,
            **spread,
        }
        if np.all(np.isfinite(stress)):  # the basis gives NaN where stress is undefined
            self.results["stress"] = stress
        elif "stress" in properties:    # ASE's own words would be "not present"
            raise PropertyNotImplementedError(
                f"stress: {no_stress_reason(atoms)}; allowed: atoms periodic in at least one "
                "direction, with a cell of volume")

    def _committee_results(self, atoms, properties, fit, site_sum) -> dict:
        with_forces = any(p in ("forces_committee", "forces_std", "stress_std")
                          for p in properties)
        energy, forces, stress = self.potential.committee_predictions(
            atoms, forces=with_forces, fit=fit, site_sum=site_sum)
        out = {"energy_committee": energy, "energy_std": float(np.std(energy, ddof=1))}
        if with_forces:
            out.update(forces_committee=forces, forces_std=np.std(forces, axis=0, ddof=1))
            if np.all(np.isfinite(stress)):
                out["stress_std"] = np.std(stress, axis=0, ddof=1)
        return out

"""Test potentials whose every correlation order matters."""

import numpy as np
from ase.build import bulk, fcc111

from acefit import ACECalculator, Potential


def balanced(pot, atoms):
    """``pot`` with each correlation order rescaled to contribute as much energy on
    ``atoms`` as order 1 (pair functions count as order 1).

    With equal coefficients the products of small atomic bases make high orders
    invisible at the tolerances of export tests (order 4 ~ 1e-8 of order 1 for the "x"
    envelope, less for "y")."""
    basis = pot.basis
    order = np.array([f.order if f.kind == "ace" else 1 for f in basis.functions])
    atoms = atoms.copy()
    c = pot.coefficients.copy()
    rms = {}
    for nu in np.unique(order):
        atoms.calc = ACECalculator(Potential(basis, np.where(order == nu, c, 0.0),
                                             prune=False))
        rms[nu] = np.sqrt(np.mean(atoms.get_potential_energies() ** 2))
    for nu, value in rms.items():
        if nu > 1 and value > 0:
            c[order == nu] *= rms[1] / value
    return Potential(basis, c, e0=pot.e0)


def cu_au_configurations(two_elements):
    """Rattled Cu (and, with ``two_elements``, every third atom Au) configurations:
    periodic bulk, a slab (periodic, vacuum beyond rcut), a triclinic cell, an open
    cluster."""
    a = bulk("Cu", "fcc", a=3.7, cubic=True).repeat((2, 2, 1))
    slab = fcc111("Cu", (2, 2, 3), a=3.7, vacuum=5.5)
    slab.pbc = True  # python-ace takes fully periodic or open cells only; vacuum > rcut
    tri = bulk("Cu", "fcc", a=3.65).repeat((3, 2, 2))
    tri.set_cell(tri.cell[:] + [[0, 0.3, 0], [0.2, 0, 0], [0, 0, 0.1]], scale_atoms=True)
    cluster = bulk("Cu", "fcc", a=3.7, cubic=True).repeat(2)
    cluster.pbc = False
    cluster.center(vacuum=4.0)
    out = []
    for k, atoms in enumerate([a, slab, tri, cluster]):
        if two_elements:
            atoms.numbers[k % 3:: 3] = 79
        atoms.rattle(0.12, seed=k)
        out.append(atoms)
    return out

"""Test potentials whose every correlation order matters."""

import numpy as np

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

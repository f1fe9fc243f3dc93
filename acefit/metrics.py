"""Unweighted errors of a linear model on dense rows.

Units: energy per atom in meV/atom, force components in eV/Å, stress
components in GPa. Energies are compared as total energies divided by the
number of atoms (E0 cancels: rows hold E − ΣE0 and the model predicts it).
Force errors are over Cartesian components; stress errors over the six Voigt
components, recovered from the virial rows as σ = −virial / V.
"""

from __future__ import annotations

import numpy as np

from acefit.design import DesignBlock, design_block

UNITS = {"E": "meV/atom", "F": "eV/Å", "S": "GPa"}
EV_PER_A3_TO_GPA = 160.21766208


def errors(block: DesignBlock, coef) -> dict:
    """MAE and RMSE of energies, forces and stresses, in total and per config_type.

    Parameters
    ----------
    block : DesignBlock
        Rows from :func:`acefit.design.design_block` (weights are ignored).
    coef : array_like, shape (n,)
        Model coefficients (original, unscaled variables).

    Returns
    -------
    dict
        ``{"units": {...}, "all": stats, "by_config_type": {name: stats}}`` where
        ``stats = {"E": {"mae", "rmse", "n"}, "F": {...}, "S": {...}}``; a quantity
        absent from the rows has ``n = 0`` and NaN errors. ``n`` counts
        configurations for E, components for F and S.
    """
    coef = np.asarray(coef, dtype=float)
    if coef.shape != (block.n_features,):
        raise ValueError(f"coef must have shape ({block.n_features},), got {coef.shape}")
    if not np.all(np.isfinite(coef)):
        raise ValueError("coef contains NaN or inf")
    residual = block.A @ coef - block.y
    scaled = np.where(block.kind == "E", 1e3 * residual / block.n_atoms,
                      np.where(block.kind == "V", -EV_PER_A3_TO_GPA * residual / block.volume,
                               residual))
    out = {"units": dict(UNITS), "all": _stats(scaled, block.kind), "by_config_type": {}}
    for name in sorted(set(block.config_type.tolist())):
        mask = block.config_type == name
        out["by_config_type"][name] = _stats(scaled[mask], block.kind[mask])
    return out


def config_errors(basis, configs, coef, e0) -> dict:
    """:func:`errors` of configurations evaluated with ``basis`` (E0 as ReferenceEnergies)."""
    return errors(design_block(basis, configs, None, e0), coef)


def _stats(values, kinds) -> dict:
    out = {}
    for kind, label in (("E", "E"), ("F", "F"), ("V", "S")):
        v = values[kinds == kind]
        if v.size == 0:
            out[label] = {"mae": float("nan"), "rmse": float("nan"), "n": 0}
        else:
            out[label] = {"mae": float(np.mean(np.abs(v))), "rmse": float(np.sqrt(np.mean(v ** 2))),
                          "n": int(v.size)}
    return out

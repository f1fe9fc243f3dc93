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
    return errors_of_predictions(block, (block.A @ coef)[:, None])[0]


def errors_of_predictions(block: DesignBlock, predictions) -> list:
    """:func:`errors` of many models at once, from their predictions of the rows.

    Parameters
    ----------
    block : DesignBlock
    predictions : array_like, shape (n_rows, k)
        Column j: model j's prediction of every row (``block.A @ coef_j``).

    Returns
    -------
    list of dict
        One :func:`errors` result per column.
    """
    predictions = np.asarray(predictions, dtype=float)
    if predictions.ndim != 2 or predictions.shape[0] != len(block.y):
        raise ValueError(f"predictions must have shape ({len(block.y)}, k), "
                         f"got {predictions.shape}")
    residual = predictions - block.y[:, None]
    kind = block.kind
    scale = np.where(kind == "E", 1e3 / block.n_atoms,
                     np.where(kind == "V", -EV_PER_A3_TO_GPA / block.volume, 1.0))
    scaled = residual * scale[:, None]
    groups = {"all": np.ones(len(kind), dtype=bool)}
    groups.update({name: block.config_type == name
                   for name in sorted(set(block.config_type.tolist()))})
    stats = {name: _stats(scaled[mask], kind[mask]) for name, mask in groups.items()}
    return [{"units": dict(UNITS), "all": _pick(stats["all"], j),
             "by_config_type": {name: _pick(st, j) for name, st in stats.items()
                                if name != "all"}}
            for j in range(predictions.shape[1])]


def config_errors(basis, configs, coef, e0) -> dict:
    """:func:`errors` of configurations evaluated with ``basis`` (E0 as ReferenceEnergies)."""
    return errors(design_block(basis, configs, None, e0), coef)


def _stats(values, kinds) -> dict:
    """Per quantity, MAE and RMSE of every column of ``values`` (rows of that kind)."""
    out = {}
    for kind, label in (("E", "E"), ("F", "F"), ("V", "S")):
        v = values[kinds == kind]
        if v.shape[0] == 0:
            out[label] = None
        else:
            out[label] = (np.mean(np.abs(v), axis=0), np.sqrt(np.mean(v ** 2, axis=0)),
                          int(v.shape[0]))
    return out


def _pick(stats, j) -> dict:
    """Model j's entry of :func:`_stats` output, as ``{"E": {"mae", "rmse", "n"}, ...}``."""
    return {label: ({"mae": float("nan"), "rmse": float("nan"), "n": 0} if st is None
                    else {"mae": float(st[0][j]), "rmse": float(st[1][j]), "n": st[2]})
            for label, st in stats.items()}

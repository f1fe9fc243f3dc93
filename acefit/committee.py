"""The posterior committee of an exported potential (``export.committee``): K coefficient
vectors drawn from a BLR posterior on a checkpoint's active functions
(:func:`posterior_committee`), their spread scaled per quantity to the validation errors
(:func:`committee_scales`; unscaled without a validation set, :func:`warn_unscaled_committee`).
docs/fitting.md, "Committees"."""

from __future__ import annotations

import numpy as np

from acefit.progress import get_logger

__all__ = ["posterior_committee", "committee_scales", "warn_unscaled_committee"]


def posterior_committee(coef, system, gamma, size: int):
    """A committee of ``size`` members for the checkpoint ``coef`` of the fit ``system``.

    The draws of a BLR posterior on the checkpoint's active functions
    (:func:`acefit.solvers.bayes.committee_deviations`, same prior γ, seed 0), less its
    mean, are added to ``coef``. The posterior knows the noise of the weighted residuals,
    not the model error, so its spread is far below the errors on new data, by a factor
    that differs between energies, forces and stresses. Each quantity q gets the
    maximum-likelihood scale of a Gaussian on the validation set, s_q² = mean over its
    rows of (error / member SD)² (:func:`committee_scales`).

    Returns
    -------
    members : ndarray (size, n), or None for the zero model (nothing to vary)
    record : dict or None
        ``members``, ``alpha``, ``beta``, ``effective_params``, ``seed``, ``scale``
        (``{"E", "F", "S"}``) and, on the validation and test sets, ``val`` and ``test``
        (:func:`acefit.metrics.committee_calibration` of the scaled committee), and
        ``test_by_config_type`` (the test set's per ``config_type``).
    """
    from acefit.metrics import (QUANTITY_OF_KIND, committee_calibration,
                                committee_calibration_by_config_type)
    from acefit.solvers.bayes import committee_deviations

    coef = np.asarray(coef, dtype=float)
    active = np.flatnonzero(coef)
    if not active.size:
        return None, None
    # every column active (a full BLR fit): R is already that problem's triangle
    problem = system.train if active.size == len(coef) else system.train.columns(active)
    deviations, info = committee_deviations(
        problem, n_members=size, prior=None if gamma is None else gamma[active], seed=0)
    blocks = {"val": system.val, "test": system.test}
    spreads = {name: None if block is None else block.A[:, active] @ deviations.T
               for name, block in blocks.items()}
    predictions = {name: None if block is None else block.A[:, active] @ coef[active]
                   for name, block in blocks.items()}
    info["scale"] = committee_scales(system.val, predictions["val"], spreads["val"])
    for name, block in blocks.items():
        if block is None:
            continue
        row_scale = np.array([info["scale"][QUANTITY_OF_KIND[k]] for k in block.kind])
        member_rows = predictions[name][:, None] + row_scale[:, None] * spreads[name]
        info[name] = committee_calibration(block, predictions[name], member_rows)
        if name == "test":      # where on the test set the spread is off
            info["test_by_config_type"] = committee_calibration_by_config_type(
                block, predictions[name], member_rows)
    members = np.zeros((size, len(coef)))
    members[:, active] = coef[active] + deviations
    return members, info


def warn_unscaled_committee(system) -> None:
    """Warn that a committee of ``system``'s fit keeps the posterior's own spread when
    the fit has no validation set to scale it to (:func:`committee_scales` gives 1)."""
    if system.val is None:
        get_logger().warning(
            "export.committee: the run has no validation set, so the committee's spread is "
            "not scaled to the errors (scale 1: the posterior's own, which knows the noise "
            "of the training residuals, not the model's error; RMS error / SD 8-29 on "
            "the quickstart's test set): energy_std, forces_std and acefit query read it as it "
            "is; set data.validation (a fraction or a file) to calibrate it")


def committee_scales(block, predictions, spreads) -> dict:
    """Per quantity (``E``, ``F``, ``S``), the scale s that makes the committee's spread
    match the errors on ``block`` (the validation rows): s² = mean of (error / SD)² over
    that quantity's rows with a spread above rounding
    (:func:`acefit.metrics.rows_with_spread`), the maximum-likelihood scale of a Gaussian.
    ``spreads``: each member's difference to ``predictions`` (rows, K). A quantity
    without rows gets the scale of all rows together; without a block, 1."""
    from acefit.metrics import QUANTITY_OF_KIND, rows_with_spread

    if block is None:
        return dict.fromkeys(QUANTITY_OF_KIND.values(), 1.0)

    sd = np.std(spreads, axis=1, ddof=1)
    seen = rows_with_spread(block.kind, sd)     # not rows that symmetry zeroes
    z2 = np.zeros(len(sd))
    z2[seen] = ((predictions - block.y)[seen] / sd[seen]) ** 2
    pooled = float(np.sqrt(np.mean(z2[seen]))) if seen.any() else 1.0
    scales = {}
    for kind, q in QUANTITY_OF_KIND.items():
        rows = seen & (block.kind == kind)
        scales[q] = float(np.sqrt(np.mean(z2[rows]))) if rows.any() else pooled
    return scales

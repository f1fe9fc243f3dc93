"""Huber refits of a finished run's selected checkpoints: does a robust loss lower the MAEs?

The benchmark's targets are mean absolute errors, while every solver minimises squared
residuals, which let a few large ones (the hottest AIMD snapshots) pull the fit. This
refits each selected checkpoint's active functions to the training rows with the Huber
loss instead,

    sum_i rho(r_i),  rho(r) = r²/2 for |r| <= delta, delta (|r| - delta/2) beyond,

on the weighted residuals r, with delta = k × 1.4826 × MAD of the least-squares refit's
residuals of the same row kind (energy, force or stress rows; 1.4826 MAD estimates a
normal scale), solved by iteratively reweighted least squares (weights min(1, delta/|r|)).
It prints the validation and test energy / force MAE of the checkpoint, its
least-squares refit and the Huber refit for every k::

    python scripts/huber_refit.py runs/zuo_mo/mo [--k 4,3,2,1.345,1] [--crossfit 200]

Choosing k (or no refit) by the validation errors makes the chosen model's validation
errors optimistic. ``--crossfit N`` measures the choice without that bias: it splits the
validation configurations into random halves, lets one half choose among the checkpoint
and its Huber refits by the summed relative change of energy and force MAE, scores that
choice on the other half by the same sum, swaps the halves, and prints the mean held-out
change over N halvings (negative: the choice generalises).

Needs the run's training rows in its cache (``output.train_rows_gib``, kept by default
when they fit), since a Huber fit cannot use the reduced system.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from config_residuals import _fill, _load_run, split_errors, training_rows  # noqa: E402

MAD_TO_SIGMA = 1.4826


def huber_scales(r, kind, k: float) -> np.ndarray:
    """delta of every row: ``k`` robust standard deviations of its kind's residuals."""
    delta = np.empty_like(r)
    for q in np.unique(kind):
        rows = kind == q
        delta[rows] = k * MAD_TO_SIGMA * np.median(np.abs(r[rows] - np.median(r[rows])))
    return np.maximum(delta, np.finfo(float).tiny)


def huber_loss(r, delta) -> float:
    a = np.abs(r)
    return float(np.sum(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))))


def column_space(A):
    """(U, s, V') of A with the singular values below lstsq's cut dropped: the least-squares
    fit is V S^-1 U'y, lstsq's minimum-norm answer (active sets can be dependent)."""
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    keep = s > np.finfo(float).eps * max(A.shape) * s[0]
    return U[:, keep], s[keep], Vt[keep]


def huber_fit(A, y, delta, *, svd=None, max_iter: int = 100, rtol: float = 1e-8):
    """argmin_x sum rho_delta(y - A x) by IRLS; returns (x, iterations).

    Each step is the weighted least-squares fit with W = min(1, delta / |r|), along
    which the Huber loss never increases. Active sets can be numerically dependent
    (ASP's), so the steps are taken in the coordinates z of the column space,
    A = U S V' (``svd``: :func:`column_space` of A, when the caller has it): (U' W U) z =
    U' W y is as well conditioned as the weights, and x = V S^-1 z."""
    from scipy.linalg import cho_factor, cho_solve

    U, s, Vt = column_space(A) if svd is None else svd
    uty = U.T @ y
    z = uty                                  # the least-squares fit
    for it in range(1, max_iter + 1):
        r = y - U @ z
        out = np.flatnonzero(np.abs(r) > delta)
        shrink = 1.0 - delta[out] / np.abs(r[out])          # 1 - w of the outliers
        Uo = U[out]
        M = np.eye(len(z)) - Uo.T @ (Uo * shrink[:, None])
        z_new = cho_solve(cho_factor(M), uty - Uo.T @ (shrink * y[out]))
        done = np.linalg.norm(z_new - z) <= rtol * max(np.linalg.norm(z_new), 1e-300)
        z = z_new
        if done:
            break
    return Vt.T @ (z / s), it


def refit_rows(A, y, kind, coef, ks):
    """{"ls": least-squares refit, k: Huber refit} of ``coef``'s active functions (one
    SVD of the active columns serves them all)."""
    active = np.flatnonzero(coef)
    As = A[:, active]
    svd = U, s, Vt = column_space(As)
    x_ls = Vt.T @ ((U.T @ y) / s)
    out = {"ls": _fill(coef, active, x_ls)}
    r = y - As @ x_ls
    for k in ks:
        x, _ = huber_fit(As, y, huber_scales(r, kind, k), svd=svd)
        out[k] = _fill(coef, active, x)
    return out


def crossfit(block, coefs, halvings: int, seed: int = 0) -> float:
    """Mean held-out change (%) of the relative energy + force MAE sum when one half of
    the validation configurations chooses among ``coefs`` (the first is the baseline)
    and the other half scores the choice; both ways, over ``halvings`` halvings."""
    from acefit.metrics import configuration_errors

    per_config = configuration_errors(block, block.A @ np.stack(coefs, axis=1))
    abs_E, abs_F = per_config.sums["E"], per_config.sums["F"]
    n_E, n_F = per_config.counts["E"], per_config.counts["F"]

    def score(half):
        mae_E = abs_E[half].sum(0) / max(n_E[half].sum(), 1.0)
        mae_F = abs_F[half].sum(0) / max(n_F[half].sum(), 1.0)
        return mae_E / mae_E[0] + mae_F / mae_F[0] - 2.0

    rng = np.random.default_rng(seed)
    held_out = []
    for _ in range(halvings):
        half = np.zeros(len(n_F), bool)
        half[rng.permutation(len(n_F))[: len(n_F) // 2]] = True
        a, b = score(half), score(~half)
        held_out += [b[int(np.argmin(a))], a[int(np.argmin(b))]]
    return 100.0 * float(np.mean(held_out))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a finished run directory (with report.json)")
    ap.add_argument("--k", default="4,3,2,1.345,1",
                    help="Huber thresholds in robust standard deviations (comma-separated)")
    ap.add_argument("--crossfit", type=int, default=0, metavar="N",
                    help="also the held-out effect of choosing k by validation, N halvings")
    args = ap.parse_args(argv)
    ks = [float(v) for v in args.k.split(",")]
    _, _, _, system, checkpoints = _load_run(args.run)
    if system.val is None:
        raise SystemExit(f"the run {args.run} has no validation set")
    A, y, kind, _ = training_rows(system)
    print(f"{args.run}: {A.shape[0]} weighted training rows, {A.shape[1]} functions")
    print("| checkpoint | active | fit | val E | val F | test E | test F |")
    print("|---|---|---|---|---|---|---|")
    for name, coef in checkpoints:
        fits = {"checkpoint": coef, **refit_rows(A, y, kind, coef, ks)}
        for fit, c in fits.items():
            e = split_errors(system, c)
            label = fit if isinstance(fit, str) else f"Huber k={fit:g}"
            print(f"| {name} | {np.count_nonzero(coef)} | {label} | {e['val_E']:.3f} | "
                  f"{e['val_F']:.4f} | {e['test_E']:.3f} | {e['test_F']:.4f} |", flush=True)
        if args.crossfit:
            candidates = [coef] + [fits[k] for k in ks]
            print(f"| {name} | {np.count_nonzero(coef)} | k chosen by half the validation "
                  f"set, held out ({args.crossfit} halvings): "
                  f"{crossfit(system.val, candidates, args.crossfit):+.2f} % | | | | |",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Would a floor under a committee's spread calibrate it better? Measured on a finished run.

``export.committee`` scales each quantity's spread once: SD_i = s_q σ_i, with σ_i the
members' SD of row i and s_q the maximum-likelihood scale on the validation rows
(:func:`acefit.committee.committee_scales`). A spread that follows the model's response
cannot cover an error the model hardly varies: a label's own noise, or a component that
near-symmetry keeps near zero (the Zuo Mo (3,2,2) surface slab, ``docs/benchmarks.md``).
This fits, by maximum likelihood of a Gaussian on the same validation rows, a scale and a
floor per quantity,

    SD_i² = s_q² σ_i² + f_q²,

and prints, for every selected checkpoint of the run (a committee of ``--members`` drawn as
the fit draws it, :func:`acefit.committee.posterior_committee`), the test set's RMS of
error / SD and share within 2 SD with the scale in use and with scale and floor::

    python scripts/committee_floor.py RUN [--members 32]

Both are scored on the rows with a spread (:func:`acefit.metrics.rows_with_spread`), the
rows the scale is fitted on. E is per configuration in meV/atom, F and S per component in
eV/Å and GPa; the floor is in those units.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import scipy.optimize

from acefit.metrics import QUANTITY_OF_KIND, committee_rows


def scale_and_floor(error, sd) -> tuple[float, float]:
    """The (s, f) that maximise the Gaussian likelihood of ``error`` with variances
    s² sd² + f² (rows with sd > 0; f is kept above 1e-9 times the RMS error, where the
    likelihood of rows that fit exactly would grow without bound)."""
    error, sd = np.asarray(error, dtype=float), np.asarray(sd, dtype=float)
    keep = sd > 0
    e2, s2 = error[keep] ** 2, sd[keep] ** 2
    rms = float(np.sqrt(np.mean(e2)))
    if rms == 0.0:
        return 0.0, 0.0

    def nll(log_params):
        a, f = np.exp(log_params)
        v = a * a * s2 + f * f
        return float(np.sum(np.log(v) + e2 / v))

    start = [np.log(np.sqrt(np.mean(e2 / s2))), np.log(0.1 * rms)]
    low = np.log(1e-9 * rms)
    fit = scipy.optimize.minimize(nll, start, method="L-BFGS-B",
                                  bounds=[(None, None), (low, None)])
    a, f = np.exp(fit.x)
    return float(a), float(f) if fit.x[1] > low + 1e-6 else 0.0


def log_likelihood_gain(error, sd, scale, s, f) -> float:
    """How much the floor raises the validation log-likelihood: log L(s, f) − log L(scale, 0),
    Gaussian, over the rows with sd > 0. A floor is worth its parameter by BIC when this
    exceeds ½ log(rows)."""
    error, sd = np.asarray(error, dtype=float), np.asarray(sd, dtype=float)
    keep = sd > 0
    e2, s2 = error[keep] ** 2, sd[keep] ** 2

    def log_l(v):
        return -0.5 * float(np.sum(np.log(2 * np.pi * v) + e2 / v))

    return log_l(s * s * s2 + f * f) - log_l(scale * scale * s2)


def calibration(error, sd) -> tuple[float, float]:
    """RMS of error / SD and the share of errors within 2 SD."""
    z = np.abs(error) / sd
    return float(np.sqrt(np.mean(z ** 2))), float(np.mean(z <= 2.0))


def checkpoint_rows(coef, system, gamma, members: int) -> tuple[dict, dict]:
    """Per split ("val", "test"), per quantity: the model's errors, the members' SD and
    whether each row has a spread (report units), with the fit's record of the committee."""
    from acefit.committee import posterior_committee

    committee, record = posterior_committee(coef, system, gamma, members)
    active = np.flatnonzero(coef)
    rows = {}
    for split, block in (("val", system.val), ("test", system.test)):
        if block is None:
            continue
        values = block.A[:, active]
        error, sd, seen = committee_rows(block, values @ coef[active],
                                         values @ committee[:, active].T)
        rows[split] = {q: (error[block.kind == k], sd[block.kind == k], seen[block.kind == k])
                       for k, q in QUANTITY_OF_KIND.items() if np.any(block.kind == k)}
    return rows, record


def floor_table(rows: dict, record: dict) -> list:
    """Per quantity: the scale in use and its test calibration, and the fitted (s, f)
    with its test calibration."""
    out = []
    for q, (error, sd, seen) in rows["val"].items():
        s, f = scale_and_floor(error[seen], sd[seen])
        gain = log_likelihood_gain(error[seen], sd[seen], record["scale"][q], s, f)
        entry = {"quantity": q, "scale": record["scale"][q], "scale_with_floor": s, "floor": f,
                 "val_rows": int(seen.sum()), "log_likelihood_gain": gain}
        if "test" in rows and q in rows["test"]:
            t_error, t_sd, t_seen = rows["test"][q]
            entry["test_in_use"] = calibration(t_error[t_seen], record["scale"][q] * t_sd[t_seen])
            entry["test_with_floor"] = calibration(t_error[t_seen],
                                                   np.sqrt((s * t_sd[t_seen]) ** 2 + f * f))
        out.append(entry)
    return out


def main(argv=None) -> int:
    from acefit.fit_settings import prior_scale
    from acefit.pipeline import assemble_system
    from acefit.run_folder import cache_dir_of
    from acefit.runs import open_run, run_basis

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", help="a finished run directory")
    parser.add_argument("--members", type=int, default=32)
    args = parser.parse_args(argv)
    run = open_run(args.run)
    basis = run_basis(run)
    system = assemble_system(run.cfg, run.data(), basis, cache_dir_of(run.cfg, run.directory),
                             progress=False)
    gamma = prior_scale(run.cfg, basis)
    report = json.loads((run.directory / "report.json").read_text())
    print("| checkpoint | quantity | scale in use | test RMS z, within 2 SD | scale with floor "
          "| floor | test RMS z, within 2 SD | validation rows | log L gain (BIC: > ½ log rows) |"
          "\n|---|---|---:|---|---:|---:|---|---:|---:|")
    for sel in report["selection"]["selected"]:
        coef = run.paths[sel["label"]].steps[sel["step"]].coef
        if not np.any(coef):
            continue
        rows, record = checkpoint_rows(coef, system, gamma, args.members)
        budget = "any" if sel["budget"] is None else f"≤ {sel['budget']}"
        name = f"{sel['label']} {budget} ({sel['n_active']})"
        for e in floor_table(rows, record):
            cells = [f"{e['test_in_use'][0]:.2f}, {100 * e['test_in_use'][1]:.1f} %",
                     f"{e['test_with_floor'][0]:.2f}, {100 * e['test_with_floor'][1]:.1f} %"
                     ] if "test_in_use" in e else ["–", "–"]
            print(f"| {name} | {e['quantity']} | {e['scale']:.3g} | {cells[0]} | "
                  f"{e['scale_with_floor']:.3g} | {e['floor']:.3g} | {cells[1]} | "
                  f"{e['val_rows']} | {e['log_likelihood_gain']:.1f} "
                  f"({'yes' if e['log_likelihood_gain'] > 0.5 * np.log(e['val_rows']) else 'no'}) |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

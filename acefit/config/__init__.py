"""The YAML run configuration: one schema, used to validate configs and to write the docs.

Every key a config may hold is declared once, in :data:`SCHEMA`, with its type,
default, allowed values and a one-line description. :func:`load_config` checks a
file against it *before any work starts* and returns plain nested dicts with
every default filled and every relative path resolved against the config file's
folder. :func:`render_markdown` turns the same schema into ``docs/config.md``
(``python -m acefit.config > docs/config.md``; a test keeps the two in step).

Every problem found is reported at once, as ``file:line: key.path: what was
found; what is allowed``, in a :class:`ConfigError` (a ``ValueError``). Unknown
keys and duplicate keys are errors, never silently ignored.
"""

from __future__ import annotations

import math
import re
import shlex
from pathlib import Path

import yaml

from acefit.basis.radial import DEFAULT_ENVELOPE, ENVELOPES
from acefit.config.problems import (KEY_LINES, NO_FILE, ConfigError, Context, close_match,
                                    found_text, loaded_context, show_value, type_name)
from acefit.config.problems import config_error as config_error
from acefit.config.types import (Bool, Either, Element, ElementPair, File, FileName, Float,
                                 GroupName, Int, Key, ListOf, MapOf, Nullable, OneOrList, Section,
                                 Str, Tagged)
from acefit.consistency import STRESS_READINGS
from acefit.data import DEFAULT_CONFIG_TYPE, LABEL_KEYS, extxyz_group
from acefit.elements import pair_name
from acefit.prior import DEFAULTS as PRIOR_DEFAULTS
from acefit.solvers.ista import LOSSES, ista
from acefit.solvers.lasso import cd_lasso

__all__ = ["ConfigError", "load_config", "dump_config", "validate_config", "apply_override",
           "read_yaml", "yaml_problem", "render_markdown", "close_match",
           "SCHEMA", "SOLVER_KINDS", "SPARSE_SOLVERS", "DENSE_SOLVERS"]


def _show_numbers(values) -> str:
    """A list of numbers as written (validation stores total degrees as floats)."""
    return "[" + ", ".join(f"{v:g}" for v in values) + "]"


_LABEL_KEY = Nullable(Str())
_STRESS_READING = Str(choices=tuple(STRESS_READINGS))
_GROUP_KEYS = ("A number names the group of that `config_type` in the data, quoted or not "
               "(`1:` is `'1':`); yes, no, on, off, true, false and null need quotes, and so "
               "does an unquoted key that YAML 1.1 and ASE's extended XYZ reader read "
               "differently: `010` (8 to YAML, 10 to ASE), `0x10`, `1e3` (text to YAML, "
               "the group `'1000.0'` to ASE), `T` (the group `'True'` to ASE); the error names "
               "the quoted name of each reading. A key that names no group of the training, "
               "validation or test data is an error (a typo), found before the assembly.")
_DEFAULT_TOTALDEGREE = (20, 16, 12, 10)   # ACEBasis' default (a test checks they agree)
_WEIGHT = Section(keys={
    "E": Key(Float(0), 30.0, "Weight of energy rows: w_E / √N on the total energy of an "
             "N-atom configuration (w_E √N on its energy per atom; docs/fitting.md)."),
    "F": Key(Float(0), 1.0, "Weight of force rows (each Cartesian component)."),
    "V": Key(Float(0), 1.0, "Weight of virial/stress rows: w_V / √N on the virial V·σ."),
})
_WEIGHT_OVERRIDE = Section(keys={
    "E": Key(Nullable(Float(0)), None, "Energy weight for this config_type (null: the default)."),
    "F": Key(Nullable(Float(0)), None, "Force weight for this config_type (null: the default)."),
    "V": Key(Nullable(Float(0)), None, "Virial weight for this config_type (null: the default)."),
})

DATA = Section(doc="Where the labelled configurations are, and how rows are weighted.", keys={
    "train": Key(OneOrList(File()), doc="Training configurations: any file `ase.io.read` "
                 "reads (extended XYZ, ...; an ASE database with its key_value_pairs), or a "
                 "list of files, each read whole (not ASE's `file@index`)."),
    "validation": Key(Section(keys={
        "fraction": Key(Float(0, 0.9), 0.1, "Fraction of the training configurations held out "
                        "at random for validation (0: none). Ignored when `file` or `key` is set."),
        "seed": Key(Int(0), 0, "Seed of the random validation split."),
        "stratify": Key(Bool(), False, "Draw the random fraction within each `config_type`, "
                        "in proportion to its size, and at least one configuration of every "
                        "group of two or more (isolated atoms aside), so that every group is "
                        "represented in validation (which may hold a few more than the "
                        "fraction)."),
        "file": Key(Nullable(OneOrList(File())), None, "Validation configurations from their "
                    "own file(s) instead of a split of the training set."),
        "key": Key(Nullable(Str()), None, "Hold out the training configurations whose "
                   "`atoms.info[key]` is true instead of a random fraction."),
    }), doc="How the validation set is made; it drives checkpoint selection."),
    "test": Key(Nullable(OneOrList(File())), None, "Test configurations (never used to fit or "
                "select; errors are reported)."),
    "keys": Key(Section(keys={
        "energy": Key(_LABEL_KEY, LABEL_KEYS["energy"], "Total energy (eV): calculator "
                      "result or `atoms.info` key; null to ignore energies. Of a smeared DFT "
                      "run, `free_energy` is the one the forces and stresses belong to (`acefit "
                      "init` takes it where the two differ)."),
        "forces": Key(_LABEL_KEY, LABEL_KEYS["forces"], "Forces (eV/Å): calculator result "
                      "or `atoms.arrays` key; null to ignore forces."),
        "stress": Key(_LABEL_KEY, LABEL_KEYS["stress"], "Stress (eV/Å³, tensile positive); "
                      "null to ignore."),
        "virial": Key(_LABEL_KEY, LABEL_KEYS["virial"], "Read a virial (eV) instead of a "
                      "stress; converted to stress = -virial/volume."),
        "config_type": Key(Str(), LABEL_KEYS["config_type"], "`atoms.info` key of the "
                           "configuration group (weights, per-group errors)."),
        "force_weight": Key(_LABEL_KEY, LABEL_KEYS["force_weight"], "`atoms.arrays` key of "
                            "per-atom force weight multipliers."),
    }), doc="Where the labels are in each frame: one key per label for every data file "
        "(training, validation and test). The potentials the fit writes carry them, and "
        "`acefit evaluate` reads new data with them."),
    "weights": Key(Section(keys={
        "default": Key(_WEIGHT, doc="Weights of every configuration (its group not listed "
                       "in `config_type`, or it has no config_type)."),
        "config_type": Key(MapOf(key=GroupName(), value=_WEIGHT_OVERRIDE), {},
                           "Per-config_type overrides, e.g. `{surface: {E: 10}}`. "
                           + _GROUP_KEYS),
    }), doc="Row weights E, F, V; per config_type overrides. The least-squares, lasso "
            "and greedy solvers depend only on their ratios; the Bayesian ones (blr, ard, "
            "ard_path) also on their overall scale, as their precisions start from or are "
            "cut at fixed values: on the quickstart, all weights x1e-3 or x1e3 changed "
            "ard_path's model at 100 functions (test E MAE 0.36 and 0.39 meV/atom against "
            "0.40), and those of OMP, ASP and LARS not at all."),
    "stress_reading": Key(Section(keys={
        "default": Key(_STRESS_READING, "as_labelled", "How every group's stresses are read."),
        "config_type": Key(MapOf(key=GroupName(), value=_STRESS_READING), {},
                           "Per-config_type readings, e.g. `{Elastic: swap_yz_xz}`. "
                           + _GROUP_KEYS),
    }), doc="How the stress labels are read, for labels converted with a wrong sign, "
        "Voigt order or unit: `as_labelled`; `swap_yz_xz`, `swap_yz_xy`, `swap_xz_xy` (two "
        "shear components swapped); `negated` (compressive positive); `gpa`, `kbar` (in "
        "those units, not eV/Å³); `kbar_negated` (VASP's OUTCAR). Applies to training, "
        "validation and test data alike. `acefit init` and `acefit fit` test the stresses "
        "against the energies per config_type, on its frames of every data file together "
        "(groups of the test files only included), and name the reading under which they "
        "agree (docs/fitting.md)."),
    "e0": Key(Either(options=(Str(choices=("fit", "zero")), MapOf(key=Element(), value=Float()))),
              "fit", "Isolated-atom reference energy per element (eV): `fit` (fitted constant "
              "per element), `zero`, or a mapping such as `{Cu: -0.1, Au: -0.2}`: a value "
              "for every element of the basis, and any others (one table for many fits: "
              "the fit logs those it does not use)."),
})

BASIS = Section(doc="The starting ACE basis (the solvers select from it).", keys={
    "elements": Key(Nullable(ListOf(Element(), min_len=1, unique=True)), None,
                    "Chemical symbols, in any order (the basis, its exports and LAMMPS' atom "
                    "types 1, 2, ... take them by atomic number); null: every element in the "
                    "training data."),
    "order": Key(Int(1, 4), 3, "Maximal correlation order ν: terms up to (ν + 1)-body (3: up to 4-body)."),
    "totaldegree": Key(Nullable(Either(options=(Float(1), ListOf(Float(1), min_len=1)))), None,
                       "Total degree D_ν: one number, or one per order ν = 1..order; a function "
                       "is admitted when Σ(n + wL·l) ≤ D_ν (null: the first `order` of "
                       "[20, 16, 12, 10])."),
    "wL": Key(Float(0, lo_open=True), 1.5, "Weight of the angular degree l in the total degree."),
    "maxl": Key(Nullable(Int(0)), None, "Cap on each angular degree l (null: none)."),
    "maxn": Key(Nullable(Int(1)), None, "Cap on each radial index n (null: none)."),
    "pair_degree": Key(Nullable(Int(0)), None, "Pair radial functions per unordered species "
                       "pair, on the lighter centre (0: no pair basis; null: D_1)."),
    "rcut": Key(Either(options=(Float(0, lo_open=True),
                                MapOf(key=ElementPair(), value=Float(0, lo_open=True)))),
                5.0, "Cutoff radius (Å): one for every element pair, or one per pair, such "
                "as `{Cu-Cu: 5.0, Cu-Au: 5.5, default: 6.0}` (a pair left out takes "
                "`default`, needed unless every pair is given); an atom's neighbours of "
                "each element are those within that pair's cutoff."),
    "r0": Key(Nullable(Either(options=(Float(0, lo_open=True),
                                       MapOf(key=ElementPair(), value=Float(0, lo_open=True))))),
              None, "Bond length r0 (Å) of the distance transform: one for every element "
              "pair, or one per pair, such as `{Cu-Cu: 3.7, Cu-Au: 3.8, default: 3.9}` (a pair "
              "left out takes `default`, else its null value); null: the nearest-neighbour "
              "distance of each element's reference crystal, averaged over the pair."),
    "rin": Key(Float(0), 0.0, "Inner radius (Å) of the distance map."),
    "transform_p": Key(Float(0, lo_open=True), 2.0, "Exponent p of the distance transform: "
                       "polynomial y = ((1 + r0)/(1 + r))^p; Agnesi y ~ s^-p / a for r >> r0 "
                       "(s = (r - rin)/(r0 - rin))."),
    "transform_q": Key(Float(0, lo_open=True), 4.0, "Agnesi only: exponent q > p near rin, "
                       "where 1 - y ~ a s^q."),
    "transform": Key(Str(choices=("agnesi", "polynomial")), "agnesi",
                     "Distance transform of the radial basis (`polynomial` is the one LAMMPS "
                     "ML-PACE evaluates, needed for `.yace` export)."),
    "envelope": Key(Nullable(Str(choices=ENVELOPES)), DEFAULT_ENVELOPE,
                    "Many-body radial envelope: `x`, (x - 1)^2 as in LAMMPS ML-PACE, or `y`, "
                    "the y^2 (y - y_cut)^2 of Torabi et al. (App. A). `x` had the lower "
                    "validation errors on every data set measured (Zuo Mo and Si, the "
                    "quickstart: docs/zuo_tuning.md, docs/benchmarks.md); null: "
                    f"`{DEFAULT_ENVELOPE}` (before acefit 0.3, null was `y` with the Agnesi "
                    "transform)."),
    "pair_envelope": Key(Str(choices=("repulsive",) + ENVELOPES), "repulsive",
                         "Envelope of the pair functions."),
    "pure2b": Key(Bool(), False, "Remove the two-body part (all ν neighbours the same "
                  "atom) from every many-body function of order ν ≥ 2, as ACE1x's `pure2b`: "
                  "two-body physics is left to the pair basis."),
    "radial_orthonormal": Key(Bool(), False, "Orthonormalise each radial family "
                              "(many-body, pair) with its envelope over x in [-1, 1], in "
                              "order of n, as ACE1/ACE1x's `transformed_jacobi`: same span, "
                              "other functions for the sparse solvers and the prior."),
    "one_body": Key(Bool(), False, "Add the ν = 0 function of each element (1 on every site "
                    "of that element) to the basis: a per-atom energy the solvers select and "
                    "fit with the rest, on top of `data.e0` (prior weight 1; exported as part "
                    "of E0)."),
})

_PRIOR_VARIANTS = {
    "none": Section(doc="No prior (Γ = I).", keys={}),
    "algebraic": Section(doc="γ = offset + Σ_t (n_t^p + wL·l_t^p).", keys={
        "p": Key(Float(0, lo_open=True), PRIOR_DEFAULTS["algebraic"]["p"], "Exponent."),
        "wL": Key(Float(0), PRIOR_DEFAULTS["algebraic"]["wL"], "Weight of the angular degree."),
        "offset": Key(Float(0), PRIOR_DEFAULTS["algebraic"]["offset"], "Added to every γ."),
    }),
    "exponential": Section(doc="γ = exp(a_l Σ l_t + a_n Σ n_t).", keys={
        "a_l": Key(Float(0), PRIOR_DEFAULTS["exponential"]["a_l"], "Rate in l."),
        "a_n": Key(Float(0), PRIOR_DEFAULTS["exponential"]["a_n"], "Rate in n."),
    }),
    "gaussian": Section(doc="γ = exp(σ_l Σ l_t² + σ_n Σ n_t²).", keys={
        "sigma_l": Key(Float(0), PRIOR_DEFAULTS["gaussian"]["sigma_l"], "Rate in l²."),
        "sigma_n": Key(Float(0), PRIOR_DEFAULTS["gaussian"]["sigma_n"], "Rate in n²."),
    }),
}
PRIOR = Tagged(tag="kind", variants=_PRIOR_VARIANTS, default="algebraic")

_REPULSION_VARIANTS = {
    "none": Section(doc="No core repulsion: the fitted model alone.", keys={}),
    "zbl": Section(doc="Ziegler-Biersack-Littmark screened nuclear repulsion between every "
                   "pair of atoms, exactly LAMMPS' `pair_style zbl inner outer` (energy, "
                   "slope and curvature switched to zero between the two distances). It is "
                   "subtracted from the labels before the fit (and before E0 is fitted) and "
                   "added back by the potential; LAMMPS runs it as `pair_style hybrid/overlay "
                   "pace zbl inner outer` (the `.lammps` file written beside each `.yace`). "
                   "With `outer` below the shortest distance in the data, the fit is the one "
                   "without it and the repulsion only holds atoms apart where there were no "
                   "data.", keys={
                       "inner": Key(Float(0, lo_open=True), doc="Distance (Å) where the "
                                    "switching starts."),
                       "outer": Key(Float(0, lo_open=True), doc="Distance (Å) from which the "
                                    "repulsion is zero; greater than `inner`."),
                   }),
}
REPULSION = Tagged(tag="kind", variants=_REPULSION_VARIANTS)

# Keys every solver takes.
_COMMON = {
    "label": Key(Nullable(FileName()), None, "Name of this path in checkpoints, reports and plots "
                 "(null: the solver name; must be unique)."),
    "prior": Key(Bool(), True, "Scale columns by the `prior` section's Γ."),
}
_DEBIAS = {"debias": Key(Str(choices=("none", "ls", "tsvd")), "none",
                         "Refit each step's active set: `ls` least squares, `tsvd` truncated "
                         "SVD of the prior-scaled active columns (Torabi et al. App. F; the "
                         "truncation is chosen per step by the validation error when there is "
                         "a validation set, else σ > 1e-6 σ₁); `none` keeps the shrunk "
                         "coefficients."),
           "debias_every": Key(Int(1), 1, "With `debias` (> 1 without it is an error): refit "
                               "(and keep as checkpoints) "
                               "only the steps whose active set first reaches a multiple of "
                               "this many functions, as ACEfit keeps ~100 checkpoints; a "
                               "TSVD refit costs one SVD per kept step."),
           "tsvd_truncation": Key(Str(choices=("thresholds", "rank")), "thresholds",
                                  "With `debias: tsvd` (`rank` without it is an error) and a "
                                  "validation set, the truncations "
                                  "the validation error chooses among: σ > ε σ₁ for ε ∈ "
                                  "{1e-12, …, 1e-1, 0} (`thresholds`), or every rank 1 … |S| "
                                  "(`rank`, as ACEfit's post-ASP TSVD).")}
_MAX_ACTIVE = {"max_active": Key(Nullable(Int(1)), 1000, "Stop the path at this many active "
                                 "functions (null: the full basis).")}
_APRIORI = {"sizes": Key(Nullable(Either(options=(Int(1), ListOf(Int(1), min_len=1,
                                                                     increasing=True)))), None,
                         "A-priori basis path: fit nested sub-bases (ordered by smoothness "
                         "cost γ) of these sizes, or this many evenly spaced sizes up to the full "
                         "basis (null: one fit on the full basis)."),
            "totaldegrees": Key(Nullable(ListOf(Either(options=(Float(1), ListOf(Float(1),
                                                                                  min_len=1))),
                                                min_len=1)), None,
                                "A-priori basis path over the bases of smaller total degrees "
                                "(instead of `sizes`): each entry is a `basis.totaldegree` (one "
                                "number, or D_ν for ν = 1, 2, …; orders beyond the list are "
                                "left out; pair functions up to n = D_1), nested and within "
                                "the basis: [[12, 10, 8], [16, 13, 10]] within the default "
                                "basis ([20, 16, 12] at order 3); [[20, 16, 12], [25, 21, 17]] "
                                "needs a basis at least as large, as the Zuo configs' "
                                "`totaldegree: 25`. Taken from the assembled basis, no new "
                                "assembly."),
            "patience": Key(Nullable(Int(1)), None,
                            "With `sizes` or `totaldegrees`: stop the a-priori path once this "
                            "many sizes in a row have not lowered the best validation loss (the "
                            "weighted RMS residual) of the sizes before them; needs a "
                            "validation set. The sizes left out are the largest, and the "
                            "dearest: a dense fit costs O(k³) (null: fit every size).")}
_ITER = {
    "max_iter": Key(Int(1), 300, "Maximal number of evidence iterations."),
    "tol": Key(Float(0, lo_open=True), 1e-8, "Relative change of the coefficients that stops "
               "the iterations."),
}


def _solver(doc, **keys):
    return Section(doc=doc, keys={**_COMMON, **keys})


_MIN_LAMBDA = {"min_lambda": Key(Nullable(Float(0)), None, "Stop the path at this λ "
                                  "(null: no limit).")}
_RES_TOL = {"tol": Key(Float(0), 0.0, "Stop once the residual norm ‖r‖ ≤ tol·‖y‖.")}
def _defaults(function) -> dict:
    """The keyword defaults of a solver function: its config keys default to them (one
    set of defaults, in the function's signature)."""
    import inspect

    return {name: p.default for name, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _grid(defaults: dict) -> dict:
    """The λ-grid keys of cd and ista, with the defaults of the solver's function."""
    return {
        "n_lams": Key(Int(2), defaults["n_lams"], "Number of λ values on the geometric grid "
                      "from λ_max."),
        "lam_ratio": Key(Float(0, 1, lo_open=True, hi_open=True), defaults["lam_ratio"],
                         "Smallest λ of the grid as a fraction of λ_max; with max_active the "
                         "grid goes on below it, at the same ratio per step, until max_active, "
                         "a factor min(lam_ratio, 1e-3) in λ without a new function, or "
                         "min_lambda (default 1e-12 λ_max)."),
    }


_CD, _ISTA = _defaults(cd_lasso), _defaults(ista)
_SCALAR_OR_LIST = Either(options=(Float(0), ListOf(Float(0), min_len=1)))
_POSITIVE_OR_LIST = Either(options=(Float(0, lo_open=True),
                                    ListOf(Float(0, lo_open=True), min_len=1)))

_SOLVER_VARIANTS = {
    "asp": _solver("Active Set Pursuit: the lasso path by the BPDual homotopy, one "
                   "checkpoint per breakpoint.",
                   **_MAX_ACTIVE, **_MIN_LAMBDA, **_RES_TOL, **_DEBIAS,
                   max_steps=Key(Nullable(Int(1)), None, "Cap on breakpoints (null: 8n + 100).")),
    "omp": _solver("Orthogonal Matching Pursuit: one function added per step.",
                   **_MAX_ACTIVE, **_RES_TOL, **_DEBIAS),
    "lars": _solver("LARS-lasso path at its knots (scikit-learn's lars_path_gram), each "
                    "checked against the lasso optimality conditions: the path ends before "
                    "the first knot that fails them (scikit-learn loses the path on columns "
                    "that are exact combinations of others; asp solves it exactly).",
                    **_MAX_ACTIVE, **_MIN_LAMBDA, **_RES_TOL, **_DEBIAS,
                    max_iter=Key(Nullable(Int(1)), None, "Number of knots to compute "
                                 "(null: enough for max_active).")),
    "cd": _solver("Coordinate-descent lasso on a geometric λ grid, warm-started. A λ that "
                  "CD does not converge within a tenth of max_iter is solved exactly on an "
                  "active set (feature-sign search), and the λ after it try that first.",
                  **_MAX_ACTIVE, **_MIN_LAMBDA, **_grid(_CD), **_RES_TOL, **_DEBIAS,
                  cd_tol=Key(Float(0, lo_open=True), _CD["cd_tol"], "Duality-gap tolerance."),
                  max_iter=Key(Int(1), _CD["max_iter"], "Maximal sweeps per λ.")),
    "ista": _solver("ISTA / FISTA proximal gradient on a geometric λ grid, warm-started. "
                    "A λ that FISTA does not converge within a tenth of max_iter is solved "
                    "exactly on an active set, as with `cd` (with `loss: huber`, by Newton "
                    "moves on it).",
                    **_MAX_ACTIVE, **_MIN_LAMBDA, **_grid(_ISTA), **_RES_TOL, **_DEBIAS,
                    loss=Key(Str(choices=LOSSES), _ISTA["loss"], "The data term: "
                             "`least_squares` ½‖r‖², or `huber`, a non-quadratic loss for ISTA "
                             "(Flaschel et al. §3.3-3.4): ½r² for a weighted residual r within "
                             "±delta, growing linearly (slope delta) beyond, so that a few "
                             "outlying labels pull the fit less. Huber acts on the rows, not "
                             "on the reduced system: the path runs on the dense weighted "
                             "training rows (read from the cache, else evaluated again), held "
                             "in memory while the path runs (8·m·n bytes, twice with `prior`), "
                             "at most output.train_rows_gib. The steps' training error and "
                             "`debias` stay least squares. Slower than least squares: on the "
                             "quickstart's rows (7634 x 676, delta 0.1) 18 s to 300 functions "
                             "at the defaults (session 33), about 6 s of it the first λ's FISTA "
                             "iterations."),
                    delta=Key(Nullable(Float(0, lo_open=True)), _ISTA["delta"], "With "
                              "`loss: huber` (required; an error otherwise): the residual "
                              "beyond which the loss grows linearly, in the units of the "
                              "weighted residuals (weight × label error, e.g. 0.1 for force "
                              "errors of 0.1 eV/Å at weight 1)."),
                    accelerate=Key(Bool(), _ISTA["accelerate"], "FISTA momentum with adaptive "
                                   "restart (false: plain ISTA)."),
                    kkt_tol=Key(Float(0, lo_open=True), _ISTA["kkt_tol"], "Stop iterating when "
                                "the gradient mapping is at most kkt_tol·λ_max."),
                    max_iter=Key(Int(1), _ISTA["max_iter"], "Iteration limit per λ.")),
    "qr": _solver("Tikhonov-regularised least squares min ‖y − Ac‖² + λ‖Γc‖² by QR.",
                  **_APRIORI,
                  lam=Key(_SCALAR_OR_LIST, 0.0, "Tikhonov λ; a list gives one checkpoint "
                          "per λ (and sub-basis). 0 on a rank-deficient system: the "
                          "minimum-norm least-squares fit (λ → 0⁺), with a warning.")),
    "rrqr": _solver("Rank-revealing (column-pivoted) QR, truncated at rtol.", **_APRIORI,
                    rtol=Key(Nullable(_POSITIVE_OR_LIST), None, "Truncation |R_kk| ≤ "
                             "rtol·|R_11|; a list gives one checkpoint per value (null: from "
                             "`lam`)."),
                    lam=Key(Nullable(_POSITIVE_OR_LIST), None, "λ from which rtol is derived "
                            "when rtol is null."),
                    sketch=Key(Nullable(Str(choices=("auto", "gaussian", "sparse"))), "auto",
                               "Random sketch of a tall dense matrix (null: none)."),
                    sketch_size=Key(Nullable(Int(1)), None, "Rows of the sketch (null: auto)."),
                    seed=Key(Int(0), 0, "Seed of the sketch.")),
    "tsvd": _solver("Truncated-SVD least squares.", **_APRIORI,
                    rtol=Key(_POSITIVE_OR_LIST, 1e-6, "Singular values ≤ rtol·σ_max are "
                             "dropped; a list gives one checkpoint per value.")),
    "blr": _solver("Bayesian linear regression, evidence-maximised precisions.", **_APRIORI,
                   **_ITER,
                   alpha_init=Key(Nullable(Float(0, lo_open=True)), None, "Starting prior "
                                  "precision (null: 1)."),
                   beta_init=Key(Nullable(Float(0, lo_open=True)), None, "Starting noise "
                                 "precision (null: m/‖y‖²).")),
    "ard_path": _solver("Automatic relevance determination fitted one precision at a time "
                        "(Tipping & Faul 2003): functions enter, are re-estimated or leave "
                        "by the largest evidence gain, a checkpoint per entry or exit, the "
                        "converged ARD model last. No pruning threshold; O(n k) per move.",
                        **_MAX_ACTIVE,
                        max_iter=Key(Nullable(Int(1)), None, "Cap on moves (null: 20 n)."),
                        tol=Key(Float(0, lo_open=True), 1e-3, "Converged when no function would "
                                "enter or leave, no precision would change by more than this "
                                "in log α, and β moves by at most this fraction."),
                        refresh=Key(Int(1), 50, "Re-estimate the noise precision β and "
                                    "recompute the posterior every this many moves."),
                        beta_init=Key(Nullable(Float(0, lo_open=True)), None, "Starting noise "
                                      "precision (null: m/‖y‖²).")),
    # ARD's fixed point creeps (precisions on their way out grow geometrically): the
    # function's defaults, not blr's. Prior-scaled quickstart: 300 iterations leave the
    # coefficients 19 % from the converged ones, 1000 leave 0.16 %
    "ard": _solver("Automatic relevance determination: sparse Bayesian regression.",
                   max_iter=Key(Int(1), 1000, "Maximal number of evidence iterations (ARD's "
                                "fixed point creeps: see acefit.solvers.bayes.ard)."),
                   tol=Key(Float(0, lo_open=True), 1e-5, "Relative change of the "
                           "coefficients that stops the iterations."),
                   threshold_lambda=Key(Float(0, lo_open=True), 1e4, "Precision above which "
                                        "a function is pruned (smaller: sparser): that of its "
                                        "coefficient in the fit's own units, with a prior "
                                        "(α_k γ_k²) or without, as scikit-learn's "
                                        "ARDRegression (1/threshold_lambda is about the "
                                        "smallest squared coefficient kept)."),
                   beta_init=Key(Nullable(Float(0, lo_open=True)), None, "Starting noise "
                                 "precision (null: m/‖y‖²)."),
                   sizes=Key(Nullable(ListOf(Int(1), min_len=1, increasing=True)), None,
                             "Sparsity sweep: target numbers of active functions, each reached "
                             "by searching threshold_lambda (null: one fit at "
                             "`threshold_lambda`)."),
                   size_tol=Key(Float(0, 1, lo_open=True), 0.05, "Relative tolerance on each "
                                "target size of the sweep."),
                   max_fits=Key(Int(1), 12, "ARD fits allowed per target size.")),
}
SOLVER_KINDS = tuple(_SOLVER_VARIANTS)
SPARSE_SOLVERS = ("asp", "omp", "lars", "cd", "ista", "ard_path")
DENSE_SOLVERS = ("qr", "rrqr", "tsvd", "blr", "ard")
SOLVER = Tagged(tag="name", variants=_SOLVER_VARIANTS)

SELECTION = Section(doc="Which checkpoint(s) become the exported potential(s).", keys={
    "metric": Key(Str(choices=("loss", "energy_mae", "forces_mae", "energy_rmse", "forces_rmse")),
                  "loss", "What 'best' minimises on the validation set: `loss` is the weighted "
                  "RMS residual of the fit; the others are physical errors."),
    "budgets": Key(ListOf(Int(1), increasing=True), [],
                   "Sizes t: for each, the best checkpoint with at most t active functions "
                   "(per solver) is selected and exported. Empty: the best of any size. When "
                   "the best checkpoint of any size is larger than the largest t, `report.md` "
                   "names it with the `acefit export` command that writes it."),
})

OUTPUT = Section(doc="Where the run is written.", keys={
    "directory": Key(Nullable(File(must_exist=False, folder=True)), None,
                     "Run directory (null: `runs/<config name>` in the current directory)."),
    "cache": Key(Nullable(File(must_exist=False, folder=True)), None,
                 "Design-matrix cache folder, shareable between runs (null: `<directory>/cache`)."),
    "train_rows_gib": Key(Float(0), 4.0,
                          "Also keep the dense training rows in the cache when they take at most "
                          "this many GiB (8 bytes × rows × functions), so that the training errors "
                          "of every checkpoint are read back instead of evaluating the basis again. "
                          "0: never. Not with `parallel.scheduler` (remote workers), and not when "
                          "they would leave less than 2 GiB free on the cache's disk."),
    "cache_gib": Key(Nullable(Float(0)), 20.0,
                     "Largest size of the cache folder: after the assembly, the least recently "
                     "used entries that this run neither wrote nor read, nor any run in the "
                     "last 30 minutes, are deleted until the folder holds at most this many "
                     "GiB (null: never delete; entries are recomputed when needed again)."),
})

PARALLEL = Section(doc="Parallel design-matrix assembly, and the training errors of every "
                   "checkpoint (the training rows are evaluated again, on the same workers).",
                   keys={
    "workers": Key(Nullable(Int(1)), 1, "Local worker processes (null: one per available "
                   "CPU). 1 assembles in-process, without Dask. Results are reproducible bit for "
                   "bit for a given number of workers; different numbers of workers agree to "
                   "rounding. Ignored with `scheduler`."),
    "scheduler": Key(Nullable(Str()), None, "Address of a running dask scheduler, e.g. "
                     "`tcp://10.0.0.1:8786`, to assemble (and evaluate training errors) "
                     "on many machines."),
})

EXPORT = Section(doc="Files written for the selected potential(s).", keys={
    "formats": Key(ListOf(Str(choices=("acefit", "yace")), unique=True), ["acefit"],
                   "`acefit`: the acefit potential file (`.h5`, HDF5 with a JSON header) for `ACECalculator`; `yace`: "
                   "LAMMPS ML-PACE (`pair_style pace`), any basis but `pure2b`."),
    "yace_radial": Key(Str(choices=("spline", "recurrence")), "spline",
                       "Radial functions in `.yace`: `spline` (cubic Hermite tables, what "
                       "ML-PACE reads since 2023, i.e. current LAMMPS; any radial basis) or "
                       "`recurrence` (python-ace 0.4 and older ML-PACE; exact, but only for "
                       "`basis.transform: polynomial`, `rin: 0`, no repulsive pair envelope, "
                       "no orthonormal radials)."),
    "spline_rtol": Key(Float(0, lo_open=True), 1e-6,
                       "Accuracy of every `.yace` radial spline, relative to the function's "
                       "largest value, on [spline_rmin, rcut]; bins are doubled until it holds."),
    "spline_rmin": Key(Float(0, lo_open=True), 0.5,
                       "Shortest distance (Å) where `spline_rtol` is required."),
    "committee": Key(Int(0), 0,
                     "Committee size K stored with each selected potential's `.h5` (0: none; "
                     "K >= 2): draws from the posterior of a Bayesian linear regression "
                     "(α, β by evidence) on the potential's active functions, centred on its "
                     "coefficients, seed 0, their spread of energies, forces and stresses "
                     "each scaled to the validation errors (docs/fitting.md). "
                     "`ACECalculator(..., committee=True)` gives it as `energy_std`, "
                     "`forces_std`, `stress_std`; `acefit evaluate` tests it against the "
                     "errors. Not in `.yace` (ML-PACE has no committee). Costs one BLR on "
                     "each selected potential's functions: about 3 s for 620 of Zuo Mo's, "
                     "a full BLR fit for a full basis."),
})

SCHEMA = Section(doc="A run configuration.", keys={
    "name": Key(Nullable(FileName(folders=True)), None, "Name of the run (null: the config "
                "file's name without extension); without `output.directory`, the run goes "
                "to `runs/<name>`."),
    "data": Key(DATA, doc=DATA.doc),
    "basis": Key(BASIS, doc=BASIS.doc),
    "prior": Key(PRIOR, {"kind": "algebraic"}, "Smoothness prior Γ; `kind` picks the "
                 "family, the other keys are its parameters."),
    "repulsion": Key(REPULSION, {"kind": "none"}, "Core repulsion under the fitted model; "
                     "`kind` picks it, the other keys are its parameters."),
    "solvers": Key(ListOf(SOLVER, min_len=1), doc="The solver paths to run, in order: each a "
                   "mapping with `name` and that solver's parameters."),
    "selection": Key(SELECTION, doc=SELECTION.doc),
    "output": Key(OUTPUT, doc=OUTPUT.doc),
    "parallel": Key(PARALLEL, doc=PARALLEL.doc),
    "export": Key(EXPORT, doc=EXPORT.doc),
})


def load_config(path, overrides=()) -> dict:
    """Read, validate and complete a YAML config file.

    Parameters
    ----------
    path : str or Path
        The YAML file. Relative paths inside it are resolved against its folder.
    overrides : sequence of str
        ``dotted.key=YAML`` assignments applied to the file's content before it is
        validated (:func:`apply_override`; ``acefit fit --set``).

    Returns
    -------
    dict
        Every key of :data:`SCHEMA`, defaults filled, paths absolute. Also
        ``"config_file"``: the absolute path of ``path``.

    Raises
    ------
    ConfigError
        Listing every problem, each as ``file:line: key.path: found ...; allowed ...``.
    FileNotFoundError
        If ``path`` does not exist.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = _yaml_text(path)
    try:
        raw, lines = _parse_yaml(text, empty={})
    except yaml.YAMLError as exc:
        raise _not_yaml(path, exc) from None
    except _KeyProblem as exc:
        raise ConfigError([(f"{path}:{exc.line}: {exc.path or '<top level>'}", exc.message)],
                          str(path)) from None
    for assignment in overrides:
        apply_override(raw, assignment, lines)
    cfg = validate_config(raw, base_dir=path.resolve().parent, source=str(path), lines=lines)
    if cfg["name"] is None:
        cfg["name"] = path.stem
    cfg["config_file"] = str(path.resolve())
    KEY_LINES[cfg["config_file"]] = lines
    return cfg


class _GroupKey(str):
    """A config_type key in :func:`dump_config`'s output."""


class _ConfigDumper(yaml.SafeDumper):
    """Quotes a config_type key that ASE's extended XYZ reader would read as another group
    (``1e3``, ``T``): written plain, :class:`GroupName` would refuse it."""


def _represent_group_key(dumper, key):
    quote = "'" if extxyz_group(key) != key else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", str(key), style=quote)


_ConfigDumper.add_representer(_GroupKey, _represent_group_key)

_GROUP_MAPS = (("data", "weights", "config_type"), ("data", "stress_reading", "config_type"))
"""Where the config's config_type keys are (:class:`GroupName`)."""


def group_keys_to_check(cfg: dict) -> list[str]:
    """The keys of ``cfg`` (:func:`load_config`) that name config_types, as ``data.weights.
    config_type``: only the data say whether their names are groups (``acefit fit --plan``
    and ``acefit fit`` check them), so ``fit --check`` says it has not."""
    found = []
    for path in _GROUP_MAPS:
        value = cfg
        for key in path:
            value = value.get(key) or {}
        if value:
            found.append(".".join(path))
    return found


def dump_config(cfg: dict) -> str:
    """A completed config (:func:`load_config`) as YAML that :func:`load_config` reads back
    to the same settings: without the provenance key ``config_file``, and with group
    names such as ``'1e3'`` quoted. Paths are absolute, so it is read alike from any
    folder."""
    from acefit.atomic import json_ready

    settings = json_ready({k: v for k, v in cfg.items() if k != "config_file"})
    for path in _GROUP_MAPS:
        parent = settings
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = {_GroupKey(k): v for k, v in parent[path[-1]].items()}
    return yaml.dump(settings, Dumper=_ConfigDumper, sort_keys=False, allow_unicode=True)


def _set_option(assignment: str) -> str:
    """``--set`` and ``assignment`` as a shell would take it back, quoted: a problem names
    it so, and the quotes keep a value's own ``: `` apart from the message's."""
    if "'" not in assignment:
        return f"--set '{assignment}'"
    if not any(c in assignment for c in '"$`\\!'):
        return f'--set "{assignment}"'
    return f"--set {shlex.quote(assignment)}"


_KEY_PART = re.compile(r"([^.\[\]]+)((?:\[\d+\])*)")


def _key_steps(key: str) -> list | None:
    """The names and list indices of an override's key, ``solvers[0].max_active`` ->
    ``['solvers', 0, 'max_active']``; None when it is not such a key."""
    steps: list = []
    for part in key.split("."):
        match = _KEY_PART.fullmatch(part)
        if match is None:
            return None
        steps += [match[1], *map(int, re.findall(r"\d+", match[2]))]
    return steps


def _key_path(path: str, step) -> str:
    """The key path of ``step`` (a name, or a list index) under ``path``, as the
    problems name it: ``solvers[0].max_active``."""
    if isinstance(step, int):
        return f"{path}[{step}]"
    if step.startswith("["):     # a parsed value's own key path, under the override's key
        return path + step
    return f"{path}.{step}" if path else step


def _override_target(raw, steps, where):
    """The mapping or list that the last of ``steps`` sets an item of, mappings made where
    missing; a ConfigError naming what is in the way (a list index out of range names
    the list's length)."""
    def fail(message):
        raise ConfigError([(where, message)], where)

    node, path = raw, ""
    for depth, step in enumerate(steps):
        if isinstance(step, int):
            if not isinstance(node, list):
                fail(f"{path} is {found_text(node)}, not a list")
            if step >= len(node):
                items = f"{len(node)} item{'s' * (len(node) != 1)}"
                fail(f"{path} has {items}, so no {_key_path(path, step)}; allowed: "
                     + (f"an index 0 to {len(node) - 1}, or " if node else "")
                     + f"the whole list, {path}=[...]")
        elif isinstance(node, list) and step.isdigit():
            fail(f"{path} is a list, not a mapping; allowed: an item by its index, "
                 f"{_key_path(path, int(step))}")
        elif not isinstance(node, dict):
            fail(f"{path} is {found_text(node)}, not a mapping")
        if depth == len(steps) - 1:
            return node
        if isinstance(step, str) and step not in node:
            if isinstance(steps[depth + 1], int):
                fail(f"{_key_path(path, step)} is not in the config, so it has no items; "
                     f"allowed: the whole list, {_key_path(path, step)}=[...]")
            node[step] = {}
        node, path = node[step], _key_path(path, step)


def apply_override(raw, assignment: str, lines: dict | None = None) -> None:
    """Set one ``dotted.key=YAML`` in a parsed config mapping, e.g. ``basis.rcut=5.5``,
    ``'solvers=[{name: omp, max_active: 300}]'`` or, an item of a list by its index as the
    problems name it, ``solvers[0].max_active=300``; the value is YAML. Mappings on the
    way are made where missing (list items are not); what the key names is checked when
    the config is validated.

    ``lines`` (key path -> line, from the parser) loses the key and everything under it,
    so that a problem with the new value is not reported at the file's old line, and its
    ``overrides`` (key path -> assignment) names the assignment instead.

    Raises
    ------
    ConfigError
        An assignment that is not ``key=value``, a value that is not YAML, a key under
        something that is not a mapping, or a list index that is not in the list.
    """
    key, sep, value = assignment.partition("=")
    where = _set_option(assignment)
    steps = _key_steps(key.strip())
    if not sep or steps is None:
        raise ConfigError([(where, "allowed: dotted.key=value, e.g. basis.rcut=5.5 or "
                                   "solvers[0].max_active=300")], where)
    key = ""
    for step in steps:
        key = _key_path(key, step)
    try:
        parsed, parsed_lines = _parse_yaml(value)      # as the file is: no key given twice
    except yaml.YAMLError as exc:
        raise ConfigError([(where, f"the value is not valid YAML: {yaml_problem(exc)}")],
                          where) from None
    except _KeyProblem as exc:
        raise ConfigError([(f"{where}: {_key_path(key, exc.path) if exc.path else key}",
                            exc.message)], where) from None
    if not isinstance(raw, dict):
        raise ConfigError([(where, "the config is not a mapping")], where)
    _override_target(raw, steps, where)[steps[-1]] = parsed
    plain = getattr(lines, "plain", {})
    overrides = getattr(lines, "overrides", {})
    for known in (lines or {}, plain, overrides):
        for path in [p for p in known if p == key or p.startswith((key + ".", key + "["))]:
            del known[path]
    overrides[key] = _set_option(assignment)
    plain.update((_key_path(key, path), text) for path, text in parsed_lines.plain.items())
    path = ""       # the key's names are unquoted text, as the same keys written plain
    for step in steps:
        path = _key_path(path, step)
        if isinstance(step, str):
            plain[path] = step


def validate_config(raw, *, base_dir=".", source=NO_FILE, lines=None) -> dict:
    """Validate an already-parsed config mapping (see :func:`load_config`)."""
    ctx = Context(Path(base_dir).resolve(), lines or {}, source)
    if not isinstance(raw, dict):
        ctx.error("", f"{found_text(raw)}; allowed: a mapping with keys " + ", ".join(SCHEMA.keys))
        raise ConfigError(ctx.problems, source)
    cfg = SCHEMA.check(raw, "", ctx)
    if not ctx.problems:
        _cross_checks(cfg, ctx)
    if ctx.problems:
        raise ConfigError(ctx.problems, source)
    _fill_derived(cfg)
    return cfg


def _check_subbasis_degrees(ctx, where: str, solver: dict, basis: dict) -> None:
    """`totaldegrees` of an a-priori path: not with `sizes`, nested, within the basis."""
    key = f"{where}.totaldegrees"
    if solver.get("sizes") is not None:
        ctx.error(key, "set together with `sizes`; allowed: one of them")
    order = basis["order"]
    full = basis["totaldegree"]
    if full is None:
        full = list(_DEFAULT_TOTALDEGREE[:order])
    elif not isinstance(full, list):
        full = [full] * order

    previous = None
    for j, entry in enumerate(solver["totaldegrees"]):
        degrees = entry if isinstance(entry, list) else [entry] * order
        where_j = f"{key}[{j}]"
        if len(degrees) > order:
            ctx.error(where_j, f"found {_show_numbers(degrees)}; allowed: at most {order} "
                      "numbers (basis.order)")
            return
        if any(d > f for d, f in zip(degrees, full)):
            ctx.error(where_j, f"found {_show_numbers(degrees)}; allowed: at most the basis' "
                      f"total degrees {_show_numbers(full)}, order by order")
        if previous is not None and (len(degrees) < len(previous)
                                     or any(d < e for d, e in zip(degrees, previous))):
            ctx.error(where_j, f"found {_show_numbers(degrees)}; allowed: at least the entry "
                      f"before, {_show_numbers(previous)}, in every order (nested sub-bases)")
        previous = degrees


def _pair_values(ctx, basis, key, elements, elements_from):
    """``basis.<key>``, one value (or null) or one per element pair with an optional
    ``default``, as ``(named, rest)``: ``{frozenset(pair): (path, value)}`` of the pairs
    it names and the ``(path, value)`` of every other pair (None when it has none). Its
    pairs must be of ``elements`` (when known; ``elements_from`` names them) and each
    given once."""
    value = basis[key]
    if not isinstance(value, dict):
        return {}, (f"basis.{key}", value)
    named = {}
    for pair, v in value.items():
        if pair == "default":
            continue
        path, members = f"basis.{key}.{pair}", frozenset(pair.split("-"))
        if elements is not None and not members <= set(elements):
            ctx.error(path, f"names an element not in {elements_from} {list(elements)}; "
                      "allowed: pairs of those elements")
        elif members in named:
            ctx.error(path, f"the pair of {named[members][0]} again (the order of a pair's "
                      "elements does not matter); allowed: each pair once")
        else:
            named[members] = (path, v)
    return named, ((f"basis.{key}.default", value["default"]) if "default" in value else None)


def _check_radial_pairs(ctx, basis, elements, elements_from="basis.elements",
                        reference_r0=None):
    """rin < r0 < rcut for every element pair, ``basis.rcut`` and ``basis.r0`` each one
    distance or one per pair: the pairs of ``elements`` when known, else those named and
    one standing for all the rest (their defaults). ``reference_r0(a, b)``: the r0 of a
    pair that basis.r0 leaves to the reference crystals (without it those pairs are left
    to the basis, which checks them). A value out of range is named once, against the
    smallest cutoff it meets."""
    rcuts, rcut_rest = _pair_values(ctx, basis, "rcut", elements, elements_from)
    r0s, r0_rest = _pair_values(ctx, basis, "r0", elements, elements_from)
    if elements is None:
        pairs = [(None, p) for p in dict.fromkeys([*rcuts, *r0s])] + [(None, None)]
    else:
        pairs = [((a, b), frozenset((a, b))) for i, a in enumerate(elements)
                 for b in elements[i:]]
    rin, missing, worst = basis["rin"], [], {}   # worst: path -> (cutoff, message)

    def blame(path, rcut, message):
        worst[path] = min(worst.get(path, (math.inf, "")), (rcut, message))

    for names, pair in pairs:
        rcut_path, rcut = rcuts.get(pair, rcut_rest) or (None, None)
        if rcut is None:
            if names is not None:
                missing.append(pair_name(*names))
            continue
        if not rin < rcut:
            blame("basis.rin", rcut, f"{found_text(rin)}; allowed: a distance below {rcut_path} "
                                     f"= {rcut}")
            continue
        r0_path, r0 = r0s.get(pair, r0_rest) or (None, None)
        if r0 is not None and not rin < r0 < rcut:
            blame(r0_path, rcut, f"{found_text(r0)}; allowed: a distance between basis.rin = "
                                 f"{rin} and {rcut_path} = {rcut}")
        elif r0 is None and reference_r0 is not None and names is not None:
            r0 = reference_r0(*names)
            if not r0 < rcut:
                blame(rcut_path, rcut, f"{found_text(rcut)}; allowed: a distance above "
                      f"{pair_name(*names)}'s r0 = {r0:.4g} Å, the reference crystals' "
                      "nearest-neighbour distance (basis.r0 gives none for the pair), or "
                      "an r0 for the pair in basis.r0")
    if missing:
        ctx.error("basis.rcut", f"no value for the pair{'s' * (len(missing) > 1)} "
                  f"{', '.join(missing)}; allowed: one for every pair of {elements_from}, "
                  "or a `default`")
    for path, (_, message) in worst.items():
        ctx.error(path, message)


def check_radial_pairs(cfg, elements) -> None:
    """Check the config's per-pair distances against the basis' elements, which may come
    from the training data (``basis.elements: null``).

    Parameters
    ----------
    cfg : dict
        A config from :func:`load_config`.
    elements : sequence of str
        Chemical symbols of the basis.

    Raises
    ------
    ConfigError
        Naming the key (``basis.rcut.Cu-Au``): a pair without a cutoff, a pair of
        another element, a cutoff at or below the r0 a pair takes from its reference
        crystals (``basis.r0`` null or without the pair).
    """
    from ase.data import atomic_numbers

    from acefit.basis.radial import default_r0

    _against_elements(cfg, lambda ctx, source: _check_radial_pairs(
        ctx, cfg["basis"], list(elements), source,
        lambda a, b: default_r0(atomic_numbers[a], atomic_numbers[b])))


def check_e0(cfg, elements) -> list:
    """The elements of a ``data.e0`` table that the basis lacks: allowed, and unused (one
    table serves fits of subsets of its elements); a ConfigError naming ``data.e0`` (and
    its line) for an element of the basis without a value. ``elements``: as
    :func:`check_radial_pairs` takes them."""
    return _against_elements(cfg, lambda ctx, source: _check_e0(ctx, cfg["data"]["e0"],
                                                                list(elements), source))


def _against_elements(cfg, check):
    """``check(ctx, source)``'s result, run in the checking context of the loaded config
    ``cfg``, ``source`` naming where the basis' elements come from (for the messages); a
    ConfigError for the problems it found."""
    ctx = loaded_context(cfg)
    result = check(ctx, "the training data's elements" if cfg["basis"]["elements"] is None
                   else "basis.elements")
    if ctx.problems:
        raise ConfigError(ctx.problems, ctx.source)
    return result


def _check_e0(ctx, e0, elements, elements_from="basis.elements") -> list:
    """:func:`check_e0` in a checking context: an error for each element of ``elements``
    that an ``e0`` table has no value for; the table's other elements, returned."""
    if not isinstance(e0, dict):    # fit, zero: every element has one
        return []
    missing = [e for e in elements if e not in e0]
    if missing:
        ctx.error("data.e0", f"no value for {', '.join(missing)} of {elements_from} "
                             f"[{', '.join(elements)}]; allowed: a value for every element "
                             "of the basis (other elements may have one too: unused)")
    return [e for e in e0 if e not in elements]


def _check_patience(ctx, key: str, solver: dict, validation: dict) -> None:
    """`patience` stops a path of several sizes, by a validation set."""
    if solver.get("sizes") is None and solver.get("totaldegrees") is None:
        ctx.error(key, f"{found_text(solver['patience'])} for a single fit on the full basis; "
                  "allowed: null, or set `sizes` or `totaldegrees` (an a-priori path)")
    if validation["fraction"] == 0 and validation["file"] is None and validation["key"] is None:
        ctx.error(key, f"{found_text(solver['patience'])} without a validation set "
                  "(data.validation.fraction is 0); allowed: null, or a validation set")


def _check_debias_keys(ctx, key: str, solver: dict) -> None:
    """`debias_every` and `tsvd_truncation` act only through `debias`: set (to other than
    their defaults: a run's resolved config.yaml writes those out) without it, they were
    accepted and silently ignored."""
    needs = {"debias_every": ("ls", "tsvd"), "tsvd_truncation": ("tsvd",)}
    for name, methods in needs.items():
        default = _DEBIAS[name].default
        if solver.get(name, default) != default and solver["debias"] not in methods:
            ctx.error(f"{key}.{name}", f"{found_text(solver[name])} with {key}.debias: "
                      f"{solver['debias']!r}, which ignores it; allowed: {key}.debias: "
                      f"{' or '.join(repr(m) for m in methods)}, or leave `{name}` out")


def _check_huber_keys(ctx, key: str, solver: dict) -> None:
    """ista's `delta` is the Huber threshold: needed with `loss: huber`, and nothing
    without it (a delta beside least squares would be silently ignored)."""
    if solver["loss"] == "huber" and solver["delta"] is None:
        ctx.error(f"{key}.delta", f"found null with {key}.loss: 'huber', which needs it; "
                  "allowed: a number > 0, the residual beyond which the loss grows linearly "
                  "(in weighted-residual units)")
    elif solver["loss"] != "huber" and solver["delta"] is not None:
        ctx.error(f"{key}.delta", f"{found_text(solver['delta'])} with {key}.loss: "
                  f"{solver['loss']!r}, which ignores it; allowed: {key}.loss: 'huber', or "
                  "leave `delta` out")


def _cross_checks(cfg, ctx) -> None:
    """Rules that involve more than one key."""
    basis = cfg["basis"]
    degrees = basis["totaldegree"]
    if isinstance(degrees, list) and len(degrees) != basis["order"]:
        ctx.error("basis.totaldegree", f"found {_show_numbers(degrees)} (list); allowed: one "
                                       f"number, or {basis['order']} numbers (one per order)")
    validation = cfg["data"]["validation"]
    if validation["file"] is not None and validation["key"] is not None:
        ctx.error("data.validation", "both `file` and `key` are set; allowed: at most one")
    if basis["elements"] is not None:   # else once the data give them (check_e0)
        _check_e0(ctx, cfg["data"]["e0"], basis["elements"])
    labels = {}
    for i, solver in enumerate(cfg["solvers"]):
        label = solver["label"] or solver["name"]
        if label in labels:
            ctx.error(f"solvers[{i}].label", f"found {label!r}, already used by "
                      f"solvers[{labels[label]}]; allowed: a label unique among the solvers "
                      "(set `label` to tell two runs of one solver apart)")
        labels[label] = i
        if solver["name"] == "rrqr" and solver["rtol"] is None and solver["lam"] is None:
            ctx.error(f"solvers[{i}]", "rrqr needs `rtol` or `lam`; allowed: set one of them")
        if solver.get("totaldegrees") is not None:
            _check_subbasis_degrees(ctx, f"solvers[{i}]", solver, basis)
        if solver.get("patience") is not None:
            _check_patience(ctx, f"solvers[{i}].patience", solver, validation)
        if "debias" in solver:
            _check_debias_keys(ctx, f"solvers[{i}]", solver)
        if solver["name"] == "ista":
            _check_huber_keys(ctx, f"solvers[{i}]", solver)
    _check_radial_pairs(ctx, basis, basis["elements"])
    if basis["transform"] == "agnesi" and basis["transform_q"] <= basis["transform_p"]:
        ctx.error("basis.transform_q", f"{found_text(basis['transform_q'])}; allowed: a number "
                  f"greater than basis.transform_p = {basis['transform_p']}")
    repulsion = cfg["repulsion"]
    if repulsion["kind"] == "zbl" and not repulsion["inner"] < repulsion["outer"]:
        ctx.error("repulsion.outer", f"{found_text(repulsion['outer'])}; allowed: a distance "
                  f"greater than repulsion.inner = {repulsion['inner']}")
    if basis["pure2b"] and basis["radial_orthonormal"]:
        ctx.error("basis.radial_orthonormal", "true together with basis.pure2b: true; "
                  "allowed: one of them (pure2b subtracts two-body parts in the Legendre "
                  "radial functions)")
    if "yace" in cfg["export"]["formats"] and basis["pure2b"]:
        ctx.error("export.formats", "'yace' (LAMMPS ML-PACE) cannot represent basis.pure2b: "
                  "true; allowed: basis.pure2b: false, or drop 'yace'")
    elif "yace" in cfg["export"]["formats"] and cfg["export"]["yace_radial"] == "recurrence":
        why = []
        if basis["transform"] != "polynomial":
            why.append(f"basis.transform is {basis['transform']!r} (needs 'polynomial')")
        if basis["rin"] != 0:
            why.append(f"basis.rin is {basis['rin']} (needs 0)")
        if basis["pair_degree"] != 0 and basis["pair_envelope"] == "repulsive":
            why.append("the pair basis uses pair_envelope 'repulsive' (needs 'x' or 'y', "
                       "or pair_degree: 0)")
        if basis["radial_orthonormal"]:
            why.append("basis.radial_orthonormal is true (needs false)")
        if why:
            ctx.error("export.yace_radial", "'recurrence' can only represent polynomial "
                      "radial bases exactly, but " + "; ".join(why) + "; allowed: "
                      "export.yace_radial: spline, or change those basis keys")
    committee = cfg["export"]["committee"]
    if committee == 1:
        ctx.error("export.committee", "found 1, and a spread needs two members; allowed: 0 "
                  "(none) or an integer >= 2")
    elif committee and "acefit" not in cfg["export"]["formats"]:
        ctx.error("export.committee", f"found {committee}, but only the acefit format "
                  "(`.h5`) stores a committee and export.formats lacks it; allowed: add "
                  "'acefit' to export.formats, or committee: 0")
    default = cfg["data"]["weights"]["default"]
    if DEFAULT_CONFIG_TYPE in cfg["data"]["weights"]["config_type"]:
        ctx.error(f"data.weights.config_type.{DEFAULT_CONFIG_TYPE}", "found; it is the group "
                  "of the configurations without a config_type, which data.weights.default "
                  "weighs together with every group not listed; allowed: their weights in "
                  "data.weights.default, and the other groups' here")
    if not cfg["data"]["weights"]["config_type"] and all(default[k] == 0 for k in "EFV"):
        ctx.error("data.weights.default", f"found {default} and no config_type weights: no "
                  "row would weigh anything; allowed: at least one positive weight")
    keys = cfg["data"]["keys"]
    if keys["energy"] is None and keys["forces"] is None and keys["stress"] is None \
            and keys["virial"] is None:
        ctx.error("data.keys", "every label is switched off; allowed: at least one of energy, "
                               "forces, stress, virial")


def _fill_derived(cfg) -> None:
    if cfg["basis"]["envelope"] is None:
        cfg["basis"]["envelope"] = DEFAULT_ENVELOPE     # written out: a run's config.yaml says it
    for solver in cfg["solvers"]:
        solver["label"] = solver["label"] or solver["name"]


class _KeyProblem(Exception):
    """A mapping key YAML reads but a config cannot hold, at ``path`` (the mapping's key
    path, or the key's when given twice) and ``line``: ``message`` says why."""

    def __init__(self, path, line, message):
        self.path, self.line, self.message = path, line, message


def _duplicate_key(first, again, text) -> str:
    """The message for a key ``again`` (written ``text``) equal to the earlier key
    ``first``, perhaps of another type (``1`` and ``on``, which is True)."""
    if type(first) is type(again):
        return "duplicate key"
    # 1, 1.0 and true are one key to Python
    return (f"duplicate key: {text} ({type_name(again)} {again!r}) equals the key "
            f"{first!r} ({type_name(first)}) before it; allowed: distinct keys, e.g. "
            f"'{text}' quoted")


def read_yaml(path):
    """The YAML file ``path`` as plain objects; a ConfigError naming the file (and line and
    column) when it is not UTF-8 text or not YAML."""
    path = Path(path)
    text = _yaml_text(path)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _not_yaml(path, exc) from None


def _yaml_text(path: Path) -> str:
    """The text of a YAML file; a ConfigError naming it when it is not UTF-8."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([(str(path), f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at "
                            f"position {exc.start}); save the file as UTF-8")],
                          str(path)) from None


def _not_yaml(path: Path, exc) -> ConfigError:
    return ConfigError([(str(path), f"not valid YAML: {yaml_problem(exc)}")], str(path))


def yaml_problem(exc) -> str:
    """A YAML parser error in one line: where (line, column) and what, without the
    parser's own context lines."""
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc).splitlines()[-1]
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return where + what


class _KeyLines(dict):
    """The line of every key path of a YAML text, and in ``plain`` the text of every key
    written without quotes (``010``, which YAML 1.1 reads as 8): :class:`GroupName`
    compares it with what YAML and ASE read."""

    def __init__(self):
        super().__init__()
        self.plain: dict[str, str] = {}
        self.overrides: dict[str, str] = {}     # key path -> the --set that gave its value


def _parse_yaml(text: str, empty=None):
    """Plain Python objects from YAML (``empty`` for a text without any), plus the line
    number of every key path (a :class:`_KeyLines`).

    Raises
    ------
    yaml.YAMLError
        Text that is not YAML.
    _KeyProblem
        A key given twice, or a list or mapping as a key (which Python cannot hold).
    """
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
    finally:
        loader.dispose()
    lines = _KeyLines()
    if node is None:
        return empty, lines

    def build(node, path):
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out = {}
            for key_node, value_node in node.value:
                key = build(key_node, path + ".<key>")
                lines.pop(path + ".<key>", None)
                if isinstance(key, (list, dict)):
                    raise _KeyProblem(path, key_node.start_mark.line + 1,
                                      f"found the key {show_value(key)} ({type_name(key)}); "
                                      "allowed: a name or a number as a key")
                sub = f"{path}.{key}" if path else str(key)
                if key in out:
                    first = next(k for k in out if k == key)
                    raise _KeyProblem(sub, key_node.start_mark.line + 1,
                                      _duplicate_key(first, key, key_node.value))
                lines[sub] = key_node.start_mark.line + 1
                if isinstance(key_node, yaml.ScalarNode) and key_node.style is None:
                    lines.plain[sub] = key_node.value
                out[key] = build(value_node, sub)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [build(item, f"{path}[{i}]") for i, item in enumerate(node.value)]
        return yaml.SafeLoader("").construct_object(node, deep=True)

    return build(node, ""), lines


_DOC_HEAD = """\
# Configuration reference

<!-- Generated by `python -m acefit.config > docs/config.md` from the schema in
acefit/config.py. Do not edit by hand: tests/test_config.py checks that the two agree. -->

A run is described by one YAML file: `acefit fit CONFIG.yaml`. It is checked against this
schema before any work starts; every problem is reported with its file, line and key path.
Unknown keys are errors. Relative paths are resolved against the folder of the config file.
Only `data.train` and `solvers` are required; everything else has the default shown.
`acefit init TRAIN.xyz` writes a first config for your data, with a comment on each choice.

A minimal config:

```yaml
data:
  train: train.xyz
  test: test.xyz
basis:
  elements: [Cu, Au]
solvers:
  - {name: asp, max_active: 300}
  - {name: omp, max_active: 300}
```

Units follow ASE: eV, Å, eV/Å³. See `configs/` for complete examples.

`acefit fit CONFIG.yaml --set KEY=YAML` changes one key for one run without editing the
file (repeatable): `--set basis.rcut=5.5`, `--set 'data.weights.config_type.md.F=2'`
(mappings on the way are made), `--set 'solvers[0].max_active=300'` (an item of a list by
its index, as the errors name it; the item must exist) or the whole list,
`--set 'solvers=[{name: omp, max_active: 300}]'`. A problem with a value given so is
named by its option, `--set 'solvers[0].max_active=0': solvers[0].max_active: ...`.
"""


def render_markdown() -> str:
    """The configuration reference (docs/config.md) from :data:`SCHEMA`."""
    out = [_DOC_HEAD]
    for name, key in SCHEMA.keys.items():
        typ = key.type
        if isinstance(typ, Section):
            out.append(f"## `{name}`\n\n{typ.doc}\n")
            out += _table(typ, name)
        elif name == "prior":
            out.append(f"## `prior`\n\n{key.doc} Default: `kind: algebraic`.\n")
            for kind, section in PRIOR.variants.items():
                out.append(f"### `kind: {kind}`\n\n{section.doc}\n")
                out += _table(section, "prior") if section.keys else ["No parameters.\n"]
        elif name == "repulsion":
            out.append(f"## `repulsion`\n\n{key.doc} Default: `kind: none`.\n")
            for kind, section in REPULSION.variants.items():
                out.append(f"### `kind: {kind}`\n\n{section.doc}\n")
                out += _table(section, "repulsion") if section.keys else ["No parameters.\n"]
        elif name == "solvers":
            out.append(f"## `solvers` (required)\n\n{key.doc} Every solver takes `label` and "
                       "`prior`; the rest are its own. Sparse paths: "
                       + ", ".join(f"`{s}`" for s in SPARSE_SOLVERS) + ". Dense and Bayesian: "
                       + ", ".join(f"`{s}`" for s in DENSE_SOLVERS) + ".\n")
            for kind, section in SOLVER.variants.items():
                out.append(f"### `name: {kind}`\n\n{section.doc}\n")
                out += _table(section, "solvers[i]")
        else:
            out.append(f"## `{name}`\n\n{key.doc} Type: {typ.doc_type}; default: "
                       f"{_doc_default(key)}.\n")
    return "\n".join(out).rstrip() + "\n"


def _table(section: Section, prefix: str) -> list[str]:
    rows = ["| key | type | default | allowed | description |", "|---|---|---|---|---|"]
    for name, key in section.keys.items():
        if isinstance(key.type, Section):
            continue
        rows.append(f"| `{prefix}.{name}` | {key.type.doc_type} | {_doc_default(key)} | "
                    f"{key.type.allowed()} | {key.doc} |")
    out = ["\n".join(rows) + "\n"]
    for name, key in section.keys.items():
        if isinstance(key.type, Section):
            out.append(f"### `{prefix}.{name}`\n\n{key.doc}\n")
            out += _table(key.type, f"{prefix}.{name}")
    return out


def _doc_default(key: Key) -> str:
    if key.required:
        return "**required**"
    if isinstance(key.type, Section):
        return "(section)"
    value = key.default
    if value is None:
        return "`null`"
    return f"`{yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix('...').strip()}`"

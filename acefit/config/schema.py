"""The schema: every key a config may hold, declared once with its type, default, allowed
values and a one-line description (:data:`SCHEMA`, its sections, and the variants of the
solvers, priors and core repulsions).
"""

from __future__ import annotations

from acefit.basis.radial import DEFAULT_ENVELOPE, ENVELOPES
from acefit.config.types import (Bool, Either, Element, ElementPair, File, FileName, Float,
                                 GroupName, Int, Key, ListOf, MapOf, Nullable, OneOrList, Section,
                                 Str, Tagged)
from acefit.consistency import STRESS_READINGS
from acefit.data import LABEL_KEYS
from acefit.export.yace import SPLINE_RTOL_MIN
from acefit.prior import DEFAULTS as PRIOR_DEFAULTS
from acefit.solvers.ista import LOSSES, ista
from acefit.solvers.lasso import cd_lasso


_LABEL_KEY = Nullable(Str())
_STRESS_READING = Str(choices=tuple(STRESS_READINGS))
_GROUP_KEYS = ("A number names the group of that `config_type` in the data, quoted or not "
               "(`1:` is `'1':`); yes, no, on, off, true, false and null need quotes, and so "
               "does an unquoted key that YAML 1.1 and ASE's extended XYZ reader read "
               "differently: `010` (8 to YAML, 10 to ASE), `0x10`, `1e3` (text to YAML, "
               "the group `'1000.0'` to ASE), `T` (the group `'True'` to ASE); the error names "
               "the quoted name of each reading. A key that names no group of the training, "
               "validation or test data is an error (a typo), found before the assembly.")
DEFAULT_TOTALDEGREE = (20, 16, 12, 10)   # ACEBasis' default (a test checks they agree)
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
        "`acefit evaluate` reads new data with them. A key set to other than its default "
        "that no training frame has stops the fit (a typo); so does a default key that no "
        "training frame has when the files have a key that looks like its label "
        "(`dft_forces` for `forces`): the error names the setting that reads it. Otherwise "
        "the fit warns that it has no rows of that label; null leaves a label out on "
        "purpose, without a word."),
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
DEBIAS = {"debias": Key(Str(choices=("none", "ls", "tsvd")), "none",
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
                   **_MAX_ACTIVE, **_MIN_LAMBDA, **_RES_TOL, **DEBIAS,
                   max_steps=Key(Nullable(Int(1)), None, "Cap on breakpoints (null: 8n + 100).")),
    "omp": _solver("Orthogonal Matching Pursuit: one function added per step.",
                   **_MAX_ACTIVE, **_RES_TOL, **DEBIAS),
    "lars": _solver("LARS-lasso path at its knots (scikit-learn's lars_path_gram), each "
                    "checked against the lasso optimality conditions: the path ends before "
                    "the first knot that fails them (scikit-learn loses the path on columns "
                    "that are exact combinations of others; asp solves it exactly).",
                    **_MAX_ACTIVE, **_MIN_LAMBDA, **_RES_TOL, **DEBIAS,
                    max_iter=Key(Nullable(Int(1)), None, "Number of knots to compute "
                                 "(null: enough for max_active).")),
    "cd": _solver("Coordinate-descent lasso on a geometric λ grid, warm-started. A λ that "
                  "CD does not converge within a tenth of max_iter is solved exactly on an "
                  "active set (feature-sign search), and the λ after it try that first.",
                  **_MAX_ACTIVE, **_MIN_LAMBDA, **_grid(_CD), **_RES_TOL, **DEBIAS,
                  cd_tol=Key(Float(0, lo_open=True), _CD["cd_tol"], "Duality-gap tolerance."),
                  max_iter=Key(Int(1), _CD["max_iter"], "Maximal sweeps per λ.")),
    "ista": _solver("ISTA / FISTA proximal gradient on a geometric λ grid, warm-started. "
                    "A λ that FISTA does not converge within a tenth of max_iter is solved "
                    "exactly on an active set, as with `cd` (with `loss: huber`, by Newton "
                    "moves on it).",
                    **_MAX_ACTIVE, **_MIN_LAMBDA, **_grid(_ISTA), **_RES_TOL, **DEBIAS,
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
                             "at the defaults on a shared 2-core machine, about 6 s of it the "
                             "first λ's FISTA iterations."),
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
    "spline_rtol": Key(Float(SPLINE_RTOL_MIN), 1e-6,
                       "Accuracy of every `.yace` radial spline, relative to the function's "
                       "largest value, on [spline_rmin, rcut]; bins are doubled until it holds. "
                       "Below some 1e-10 rounding, not the bins, bounds the error (1e-9 took "
                       "16000 bins and a 37 MB file for the quickstart's potential)."),
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

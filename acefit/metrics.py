"""Unweighted errors of a linear model on dense rows.

Units: energy per atom in meV/atom, force components in eV/Å, stress
components in GPa. Energies are compared as total energies divided by the
number of atoms (E0 cancels: rows hold E − ΣE0 and the model predicts it).
Force errors are over Cartesian components; stress errors over the six Voigt
components, recovered from the virial rows as σ = −virial / V.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from acefit.design import DesignBlock

# scipy is imported where used: the quantities here are read by acefit.potential, whose
# import must stay light (an ASE calculator's)
UNITS = {"E": "meV/atom", "F": "eV/Å", "S": "GPa"}
QUANTITIES = ("E", "F", "S")
QUANTITY_OF_KIND = {"E": "E", "F": "F", "V": "S"}   # row kind -> reported quantity
EV_PER_A3_TO_GPA = 160.21766208
_BOOTSTRAP_CHUNK = 2 ** 22        # draw counts held at once (configurations × draws)


def errors(block: DesignBlock, coef) -> dict:
    """MAE and RMSE of energies, forces and stresses, in total and per config_type.

    Energies in meV/atom (each configuration's total energy error over its atoms),
    forces in eV/Å (per Cartesian component), stresses in GPa (per Voigt component,
    σ = −virial / V); the same units as ``UNITS``, which the result repeats.

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
        ``stats = {"E": {"mae", "rmse", "n"}, "F": {...}, "S": {...}}``, E in meV/atom,
        F in eV/Å, S in GPa; a quantity absent from the rows has ``n = 0`` and NaN
        errors. ``n`` counts configurations for E, components for F and S.
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
    scaled = report_unit_residuals(block, predictions)
    kind = block.kind
    total = _stats(scaled, kind)        # apart from the groups: a config_type may be "all"
    stats = {name: _stats(scaled[mask], kind[mask])
             for name in sorted(set(block.config_type.tolist()))
             for mask in [block.config_type == name]}
    return [{"units": dict(UNITS), "all": _pick(total, j),
             "by_config_type": {name: _pick(st, j) for name, st in stats.items()}}
            for j in range(predictions.shape[1])]


def force_row_numbers(block: DesignBlock, configs) -> np.ndarray:
    """The atomic number of the atom of each force row of ``block`` (0 for other rows).

    Parameters
    ----------
    block : DesignBlock
        Rows whose ``config`` indexes ``configs`` (as :func:`acefit.design.design_block`
        numbers them).
    configs : sequence of LabelledConfig
        The configurations the rows were built from, in the same order.

    Raises
    ------
    ValueError
        A force row whose configuration is not in ``configs``, or whose configuration
        there has another number of atoms or another config_type than the row says: the
        rows were built from other configurations, or from these in another order.
    """
    rows = np.flatnonzero(block.kind == "F")
    out = np.zeros(len(block), dtype=np.int64)
    if not rows.size:
        return out
    config, atom = block.config[rows], block.atom[rows]
    if config.min() < 0 or config.max() >= len(configs):
        raise ValueError(f"force rows of configuration {int(config.max())} (or "
                         f"{int(config.min())}); allowed: 0 to {len(configs) - 1}, the "
                         f"{len(configs)} configurations given")
    sizes = np.array([cfg.n_atoms for cfg in configs], dtype=np.int64)
    types = np.array([cfg.config_type for cfg in configs], dtype=str)
    bad = ((sizes[config] != block.n_atoms[rows]) | (atom < 0) | (atom >= sizes[config])
           | (types[config] != block.config_type[rows]))
    if bad.any():
        i = int(config[bad][0])
        raise ValueError(f"force rows of configuration {i} (atom {int(atom[bad][0])} of "
                         f"{int(block.n_atoms[rows][bad][0])}, config_type "
                         f"{block.config_type[rows][bad][0]!r}) do not match "
                         f"{configs[i].where} ({configs[i].n_atoms} atoms, config_type "
                         f"{configs[i].config_type!r}): rows and configurations differ")
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    numbers = np.concatenate([np.asarray(cfg.atoms.numbers, dtype=np.int64) for cfg in configs])
    out[rows] = numbers[starts[config] + atom]
    return out


@dataclass
class ElementForceErrors:
    """Force errors of k models summed per element (eV/Å): what :func:`errors_by_element`
    reports, in a form that adds up over disjoint row blocks (``a + b``).

    Attributes
    ----------
    numbers : tuple of int
        The elements' atomic numbers, increasing.
    abs_sums, square_sums : ndarray, shape (len(numbers), k)
        Summed absolute and squared errors of the force components of each element's atoms.
    counts : ndarray of int, shape (len(numbers),)
        The force components summed.
    per_config : tuple of ConfigurationErrors
        Per element, its absolute force errors summed per configuration with force rows
        of it (what the bootstrap of :meth:`stats` draws from).
    """

    numbers: tuple
    abs_sums: np.ndarray
    square_sums: np.ndarray
    counts: np.ndarray
    per_config: tuple

    def __add__(self, other: "ElementForceErrors") -> "ElementForceErrors":
        if self.numbers != other.numbers or self.abs_sums.shape[1] != other.abs_sums.shape[1]:
            raise ValueError("force errors of other elements or models cannot be added")
        return ElementForceErrors(self.numbers, self.abs_sums + other.abs_sums,
                                  self.square_sums + other.square_sums,
                                  self.counts + other.counts,
                                  tuple(ConfigurationErrors.concatenate([a, b])
                                        for a, b in zip(self.per_config, other.per_config)))

    def stats(self, *, resamples: int | None = None, seed: int = 0) -> list:
        """Per model, ``{symbol: {"F": {"mae", "rmse", "n"}}}`` by increasing atomic
        number (NaN and ``n = 0`` for an element without force rows); with ``resamples``,
        each element's MAE also has the ``se``, ``low`` and ``high`` of
        :func:`bootstrap_errors` over the configurations with force rows of it."""
        from ase.data import chemical_symbols

        with np.errstate(invalid="ignore", divide="ignore"):
            mae = self.abs_sums / self.counts[:, None]
            rmse = np.sqrt(self.square_sums / self.counts[:, None])
        out = [{chemical_symbols[z]: {"F": {"mae": float(mae[e, j]), "rmse": float(rmse[e, j]),
                                            "n": int(self.counts[e])}}
                for e, z in enumerate(self.numbers)} for j in range(mae.shape[1])]
        if resamples is None:
            return out
        for e, z in enumerate(self.numbers):
            if not self.counts[e]:
                continue
            for stats, boot in zip(out, bootstrap_errors(self.per_config[e],
                                                         resamples=resamples, seed=seed)):
                stats[chemical_symbols[z]]["F"].update(
                    {k: boot["F"][k] for k in ("se", "low", "high")})
        return out


def element_force_errors(block: DesignBlock, predictions, configs,
                         numbers=None) -> ElementForceErrors:
    """The force errors of each model (column of ``predictions``, shape (n_rows, k)) summed
    per element of the rows' atoms (:func:`force_row_numbers`), in total and per
    configuration; ``numbers``: the elements to report (default: those of ``configs``),
    which must cover the rows'."""
    scaled = report_unit_residuals(block, predictions)
    row_numbers = force_row_numbers(block, configs)
    if numbers is None:
        numbers = set().union(*(set(cfg.atoms.numbers.tolist()) for cfg in configs))
    numbers = tuple(sorted(int(z) for z in numbers))
    rows = np.flatnonzero(block.kind == "F")
    missing = sorted(set(row_numbers[rows].tolist()) - set(numbers))
    if missing:
        raise ValueError(f"force rows of elements {missing}; allowed: {list(numbers)}")
    import scipy.sparse

    index = np.searchsorted(numbers, row_numbers[rows])
    # a sparse element-by-row indicator sums all elements in one product
    member = scipy.sparse.csr_matrix((np.ones(rows.size), (index, np.arange(rows.size))),
                                     shape=(len(numbers), rows.size))
    values = scaled[rows]
    config, kinds = block.config[rows], block.kind[rows]
    per_config = tuple(_configuration_sums(config[index == e], kinds[index == e],
                                           np.abs(values[index == e]))
                       for e in range(len(numbers)))
    return ElementForceErrors(numbers, np.asarray(member @ np.abs(values)),
                              np.asarray(member @ values ** 2),
                              np.bincount(index, minlength=len(numbers)).astype(np.int64),
                              per_config)


def errors_by_element(block: DesignBlock, predictions, configs, numbers=None, *,
                      resamples: int | None = None, seed: int = 0) -> list:
    """Force MAE and RMSE per element of the force rows' atoms, for many models at once.

    Parameters
    ----------
    block : DesignBlock
    predictions : array_like, shape (n_rows, k)
        As in :func:`errors_of_predictions`.
    configs : sequence of LabelledConfig
        The configurations ``block`` was built from, in its order (``block.config``
        indexes them).
    numbers : iterable of int, optional
        The elements to report (default: those of ``configs``).
    resamples, seed : optional
        Of a bootstrap of each MAE over the configurations with force rows of the element
        (:func:`bootstrap_errors`); none without ``resamples``.

    Returns
    -------
    list of dict
        Per model, ``{symbol: {"F": {"mae", "rmse", "n"}}}`` by increasing atomic number,
        in eV/Å over Cartesian components (the ``by_config_type`` entries' form); ``n``
        counts force components, three per atom. With ``resamples``, an element with force
        rows has ``se``, ``low`` and ``high`` too.
    """
    return element_force_errors(block, predictions, configs, numbers).stats(
        resamples=resamples, seed=seed)


@dataclass
class ConfigurationErrors:
    """Absolute errors of k models summed per configuration, in the units of :func:`errors`:
    what a bootstrap over configurations needs, small enough to store with a run.

    Attributes
    ----------
    configs : ndarray of int, shape (c,)
        The configurations (``DesignBlock.config`` values), in increasing order.
    sums : dict
        ``{"E" | "F" | "S": (c, k) array}``: per configuration, the summed absolute
        errors of its rows of that quantity (meV/atom, eV/Å, GPa).
    counts : dict
        ``{"E" | "F" | "S": (c,) array}``: the rows summed.
    """

    configs: np.ndarray
    sums: dict
    counts: dict

    @property
    def n_models(self) -> int:
        return next(iter(self.sums.values())).shape[1]

    def select(self, mask) -> "ConfigurationErrors":
        """The configurations where ``mask`` (one entry per configuration) is true."""
        return ConfigurationErrors(self.configs[mask], {q: v[mask] for q, v in self.sums.items()},
                                   {q: v[mask] for q, v in self.counts.items()})

    @classmethod
    def concatenate(cls, parts) -> "ConfigurationErrors":
        """The configurations of several parts of the same models together, in increasing
        order (as :func:`configuration_errors` of their rows at once gives them); the
        parts must hold different configurations (blocks of whole configurations)."""
        parts = list(parts)
        configs = np.concatenate([p.configs for p in parts])
        order = np.argsort(configs, kind="stable")
        if np.any(np.diff(configs[order]) == 0):
            raise ValueError("configuration errors of parts that share configurations "
                             "cannot be concatenated")
        return cls(configs[order],
                   {q: np.concatenate([p.sums[q] for p in parts])[order] for q in QUANTITIES},
                   {q: np.concatenate([p.counts[q] for p in parts])[order] for q in QUANTITIES})

    @classmethod
    def join(cls, parts) -> "ConfigurationErrors":
        """The models of several parts side by side; they must cover the same rows."""
        parts = list(parts)
        first = parts[0]
        for part in parts[1:]:
            if not (np.array_equal(part.configs, first.configs)
                    and all(np.array_equal(part.counts[q], first.counts[q]) for q in QUANTITIES)):
                raise ValueError("configuration errors of different rows cannot be paired")
        return cls(first.configs, {q: np.hstack([p.sums[q] for p in parts]) for q in QUANTITIES},
                   first.counts)


def configuration_errors(block: DesignBlock, predictions) -> ConfigurationErrors:
    """Absolute errors of each model (column of ``predictions``, shape (n_rows, k)) summed
    per configuration of ``block``."""
    return _configuration_sums(block.config, block.kind,
                               np.abs(report_unit_residuals(block, predictions)))


def _configuration_sums(config, kinds, scaled) -> ConfigurationErrors:
    """:func:`configuration_errors` of rows of the configurations ``config`` and kinds
    ``kinds`` whose absolute errors in report units are ``scaled``, shape (n_rows, k)."""
    import scipy.sparse

    configs, index = np.unique(config, return_inverse=True)
    sums, counts = {}, {}
    for kind, label in QUANTITY_OF_KIND.items():
        rows = np.flatnonzero(kinds == kind)
        # a sparse configuration-by-row indicator sums the rows far faster than np.add.at
        member = scipy.sparse.csr_matrix(
            (np.ones(rows.size), (index[rows], np.arange(rows.size))),
            shape=(len(configs), rows.size))
        sums[label] = np.asarray(member @ scaled[rows]).reshape(len(configs), scaled.shape[1])
        counts[label] = np.bincount(index[rows], minlength=len(configs)).astype(float)
    return ConfigurationErrors(configs, sums, counts)


def bootstrap_errors(errors: ConfigurationErrors, *, resamples: int = 10000,
                     level: float = 0.95, seed: int = 0) -> list:
    """How precisely the rows measure each model's MAE: a bootstrap over configurations.

    A test set of a few dozen configurations measures an MAE with a sampling error of its
    own. Drawing the configurations with replacement (all rows of a drawn configuration
    together, since its force components are not independent) gives that error as the
    standard deviation of the resampled MAEs, and a percentile interval. Every model is
    scored on the same draws.

    Parameters
    ----------
    errors : ConfigurationErrors
        From :func:`configuration_errors` (of a block and the models' predictions).
    resamples : int, default 10000
        Number of bootstrap draws (at least 2).
    level : float, default 0.95
        Coverage of the percentile interval, in (0, 1).
    seed : int, default 0
        Seed of the draws (the result is reproducible).

    Returns
    -------
    list of dict
        Per model, ``{"E": entry, "F": entry, "S": entry}`` in the units of
        :func:`errors`, with ``entry = {"mae", "se", "low", "high", "configs"}``
        (``configs``: configurations with rows of that quantity; NaN values and 0
        when there are none; NaN ``se``, ``low`` and ``high`` of one configuration,
        :data:`MIN_SE_CONFIGS`).
    """
    _check_level(level)
    draws = _bootstrap_maes(errors, resamples, seed)
    return [{q: _interval(mae[j], boot[:, j], level, n) for q, (mae, boot, n) in draws.items()}
            for j in range(errors.n_models)]


def bootstrap_standard_errors(errors: ConfigurationErrors, *, resamples: int = 10000,
                              seed: int = 0) -> dict:
    """The standard errors of :func:`bootstrap_errors` alone, for many models at once:
    ``{"E" | "F" | "S": (k,) array}`` (NaN for a quantity of fewer than
    :data:`MIN_SE_CONFIGS` configurations)."""
    draws = _bootstrap_maes(errors, resamples, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # all-NaN: no such rows
        return {q: np.nanstd(boot, axis=0, ddof=1) if n >= MIN_SE_CONFIGS
                else np.full(errors.n_models, np.nan) for q, (_, boot, n) in draws.items()}


def bootstrap_differences(errors: ConfigurationErrors, pairs, *, resamples: int = 10000,
                          level: float = 0.95, seed: int = 0) -> list:
    """:func:`bootstrap_errors` of the MAE differences MAE_i − MAE_j of model pairs.

    Two models scored on the same configurations share most of their sampling error
    (the configurations hard for one are hard for the other), so the rows rank two models
    more precisely than the intervals of their MAEs suggest.

    Parameters
    ----------
    errors, resamples, level, seed
        As in :func:`bootstrap_errors`.
    pairs : sequence of (i, j)
        Model indices.

    Returns
    -------
    list of dict
        Per pair, entries as in :func:`bootstrap_errors` for the difference.
    """
    k = errors.n_models
    pairs = [(int(i), int(j)) for i, j in pairs]
    bad = [p for p in pairs if not (0 <= p[0] < k and 0 <= p[1] < k)]
    if bad:
        raise ValueError(f"pairs must index the {k} models, got {bad}")
    _check_level(level)
    draws = _bootstrap_maes(errors, resamples, seed)
    return [{q: _interval(mae[i] - mae[j], boot[:, i] - boot[:, j], level, n)
             for q, (mae, boot, n) in draws.items()} for i, j in pairs]


def committee_calibration(block: DesignBlock, predictions, members) -> dict:
    """Whether a committee's spread measures the model's errors, per quantity.

    Parameters
    ----------
    block : DesignBlock
        The labelled rows.
    predictions : array_like, shape (n_rows,)
        The model's prediction of every row.
    members : array_like, shape (n_rows, K)
        Each committee member's prediction of every row.

    Returns
    -------
    dict
        For each quantity the rows have (``E`` per configuration, ``F`` and ``S`` per
        component, in the units of :func:`errors`): ``n``; ``rmse`` of the model;
        ``spread``, the RMS of the members' standard deviations (near ``rmse`` when
        they match the errors in size); ``z_rms``, the RMS of error / standard
        deviation (1 for a calibrated Gaussian; above 1: the committee is overconfident);
        ``within_2sd``, the share of errors within two standard deviations (0.95 for a
        calibrated Gaussian); ``rank_correlation``, Spearman's between the standard
        deviations and the absolute errors (does a larger spread flag a larger error;
        NaN below three rows). The last three leave out the rows where the spread is
        rounding (:func:`rows_with_spread`), counted in ``without_spread``.
    """
    return calibration_of_rows(block, *committee_rows(block, predictions, members)[:2])


def committee_calibration_by_config_type(block: DesignBlock, predictions, members) -> dict:
    """:func:`committee_calibration` of each ``config_type``'s rows, ``{name: {...}}`` in
    sorted order: where a committee is cautious and where it is overconfident. Which rows
    have a spread is decided over all rows (:func:`rows_with_spread`), as in the total."""
    return calibration_of_rows(block, *committee_rows(block, predictions, members)[:2],
                               by_config_type=True)


def calibration_of_rows(block: DesignBlock, error, sd, *, by_config_type=False) -> dict:
    """:func:`committee_calibration` (or, ``by_config_type``, its per-group form) from
    each row's error and members' SD (:func:`committee_rows`), for a caller that has them
    without the members' (rows, K) predictions (:func:`committee_sd`, one configuration
    at a time)."""
    seen = rows_with_spread(block.kind, sd)
    if not by_config_type:
        return _calibration(error, sd, seen, block.kind)
    return {name: _calibration(error, sd, seen, block.kind, block.config_type == name)
            for name in sorted(set(block.config_type.tolist()))}


def committee_rows(block: DesignBlock, predictions, members):
    """Per row of ``block``, in the units of :func:`errors`: the model's error, the members'
    SD and whether that SD is more than rounding (:func:`rows_with_spread`); the rows the
    statistics of :func:`committee_calibration` are made of. ``predictions`` (n_rows,),
    ``members`` (n_rows, K >= 2), as there."""
    members = np.asarray(members, dtype=float)
    predictions = np.asarray(predictions, dtype=float).reshape(-1, 1)
    if members.ndim != 2 or members.shape[0] != predictions.shape[0] or members.shape[1] < 2:
        raise ValueError(f"members must have shape ({predictions.shape[0]}, K >= 2), got "
                         f"{members.shape}")
    error = report_unit_residuals(block, predictions)[:, 0]
    sd = committee_sd(block, members)
    return error, sd, rows_with_spread(block.kind, sd)


def committee_sd(block: DesignBlock, members) -> np.ndarray:
    """Per row of ``block``, the SD of the members' predictions ``members`` (n_rows, K) in
    the units of :func:`errors`; row by row, so rows taken in parts give the same bits."""
    member_errors = report_unit_residuals(block, members)   # labels cancel in the spread
    return np.std(member_errors, axis=1, ddof=1)


def _calibration(error, sd, spread, kinds, mask=None) -> dict:
    """The statistics of :func:`committee_calibration` over the rows in ``mask`` (all)."""
    import scipy.stats

    out = {}
    for kind, label in QUANTITY_OF_KIND.items():
        rows = kinds == kind
        if mask is not None:
            rows &= mask
        if not rows.any():
            continue
        e, s = error[rows], sd[rows]
        seen = spread[rows]
        z = np.abs(e[seen]) / s[seen]
        with warnings.catch_warnings():     # constant SDs: no rank, NaN says so
            warnings.simplefilter("ignore", scipy.stats.ConstantInputWarning)
            rank = (scipy.stats.spearmanr(s[seen], np.abs(e[seen])).statistic
                    if seen.sum() >= 3 else float("nan"))
        out[label] = {"n": int(e.size), "rmse": float(np.sqrt(np.mean(e ** 2))),
                      "spread": float(np.sqrt(np.mean(s ** 2))),
                      "without_spread": int(e.size - seen.sum()),
                      "z_rms": float(np.sqrt(np.mean(z ** 2))) if z.size else float("nan"),
                      "within_2sd": float(np.mean(z <= 2.0)) if z.size else float("nan"),
                      "rank_correlation": float(rank)}
    return out


SPREAD_RTOL = 1e-6
"""A committee SD at most this share of the median SD of its kind is rounding
(:func:`rows_with_spread`)."""


def rows_with_spread(kinds, sd, rtol: float = SPREAD_RTOL) -> np.ndarray:
    """Rows where a committee's SD is more than rounding: above ``rtol`` times the median
    SD of the rows of the same kind. Symmetry zeroes some rows in every member alike (the
    forces of a perfect crystal, the shear stresses of a cubic cell), so their SD is
    rounding while their labels carry the reference's noise: their error / SD says
    nothing about the committee, and a handful of them would decide a mean of it."""
    kinds, sd = np.asarray(kinds), np.asarray(sd, dtype=float)
    out = np.zeros(len(sd), dtype=bool)
    for kind in np.unique(kinds):
        rows = kinds == kind
        positive = sd[rows][sd[rows] > 0]
        if positive.size:
            out[rows] = sd[rows] > rtol * np.median(positive)
    return out


def interval_text(entry, digits: int, *, signed: bool = False, bounds: bool = True) -> str:
    """``mae ± se [low, high]`` of a :func:`bootstrap_errors` or
    :func:`bootstrap_differences` entry (``signed``: with + on positive values;
    ``bounds`` False: without the interval), the MAE alone of one configuration (no
    spread to measure), "–" for a quantity without configurations."""
    if entry is None or not entry["configs"]:
        return "–"
    sign = "+" if signed else ""
    mae = f"{entry['mae']:{sign}.{digits}f}"
    if entry["configs"] < MIN_SE_CONFIGS:
        return mae
    return (f"{mae} ± {entry['se']:.{digits}f}"
            + (f" [{entry['low']:{sign}.{digits}f}, {entry['high']:{sign}.{digits}f}]"
               if bounds else ""))


def _check_level(level) -> None:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")


def _bootstrap_maes(errors: ConfigurationErrors, resamples, seed) -> dict:
    """Per quantity: (MAE per model, (resamples, k) resampled MAEs, configurations)."""
    if int(resamples) != resamples or resamples < 2:
        raise ValueError(f"resamples must be an integer >= 2, got {resamples}")
    c, k, resamples = len(errors.configs), errors.n_models, int(resamples)
    boots = {q: np.full((resamples, k), np.nan) for q in QUANTITIES}
    rng = np.random.default_rng(seed)
    chunk = max(1, int(_BOOTSTRAP_CHUNK // c))      # bounded memory for big sets
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        # draw counts per configuration: the multinomial is the bootstrap's distribution
        drawn = rng.multinomial(c, np.full(c, 1.0 / c), size=stop - start)
        for q in QUANTITIES:
            with np.errstate(invalid="ignore", divide="ignore"):   # NaN: none of it drawn
                boots[q][start:stop] = ((drawn @ errors.sums[q])
                                        / (drawn @ errors.counts[q])[:, None])
    out = {}
    for q in QUANTITIES:
        n_configs = int(np.count_nonzero(errors.counts[q]))
        mae = (errors.sums[q].sum(axis=0) / errors.counts[q].sum() if n_configs
               else np.full(k, np.nan))
        out[q] = (mae, boots[q], n_configs)
    return out


MIN_SE_CONFIGS = 2
"""Configurations a bootstrap standard error needs: of one, every draw is that one, and
its SE is 0 or round-off (1e-16), which tables printed as "± 0.00" or not at all."""


def _interval(value, boot, level, n_configs) -> dict:
    nan = float("nan")
    if n_configs == 0:
        return {"mae": nan, "se": nan, "low": nan, "high": nan, "configs": 0}
    if n_configs < MIN_SE_CONFIGS:
        return {"mae": float(value), "se": nan, "low": nan, "high": nan,
                "configs": n_configs}
    tail = 50.0 * (1.0 - level)
    low, high = np.nanpercentile(boot, [tail, 100.0 - tail])
    return {"mae": float(value), "se": float(np.nanstd(boot, ddof=1)), "low": float(low),
            "high": float(high), "configs": n_configs}


ENERGY_UNITS = {"meV/atom": 1e3, "eV/atom": 1.0}
"""Per-atom energy units of :func:`report_unit_scale`: eV per atom times the factor."""


def report_unit_scale(block: DesignBlock, energy: str = "meV/atom") -> np.ndarray:
    """Per row of ``block``, the factor that takes its labels and predictions to report
    units.

    Parameters
    ----------
    block : DesignBlock
        Rows of total energy (eV), force components (eV/Å) and virial components (eV).
    energy : {"meV/atom", "eV/atom"}
        The unit of energy rows (:data:`ENERGY_UNITS`).

    Returns
    -------
    ndarray of float, shape (rows,)
        Energy rows: the unit per eV over the atom count; force rows: 1; virial rows:
        −1/volume in GPa per eV/Å³ (stress, tensile positive; NaN without a volume).
    """
    if energy not in ENERGY_UNITS:
        raise ValueError(f"energy unit {energy!r}; allowed: {', '.join(ENERGY_UNITS)}")
    kind = block.kind
    return np.where(kind == "E", ENERGY_UNITS[energy] / block.n_atoms,
                    np.where(kind == "V", -EV_PER_A3_TO_GPA / block.volume, 1.0))


def report_unit_residuals(block: DesignBlock, predictions) -> np.ndarray:
    """Residuals of the predictions in report units: meV/atom, eV/Å, GPa.

    Parameters
    ----------
    block : DesignBlock
        The rows and their labels ``y``.
    predictions : array_like, shape (rows, k)
        k models' predictions of the rows.

    Returns
    -------
    ndarray, shape (rows, k)
        Prediction less label, times :func:`report_unit_scale`.
    """
    predictions = np.asarray(predictions, dtype=float)
    if predictions.ndim != 2 or predictions.shape[0] != len(block.y):
        raise ValueError(f"predictions must have shape ({len(block.y)}, k), "
                         f"got {predictions.shape}")
    return (predictions - block.y[:, None]) * report_unit_scale(block)[:, None]


def _stats(values, kinds) -> dict:
    """Per quantity, MAE and RMSE of every column of ``values`` (rows of that kind)."""
    out = {}
    for kind, label in QUANTITY_OF_KIND.items():
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

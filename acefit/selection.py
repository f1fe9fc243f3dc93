"""Checkpoint selection: which step of each solver path becomes a potential.

The fit's rule, shared by ``acefit fit``, ``acefit export --budget`` and ``acefit
compare``: per size budget t, each path's step with the best validation score
(:func:`score`: the weighted loss or an MAE/RMSE, ``selection.metric``) among those
with at most t active functions (:func:`best_step`); the best of those over all paths
is the budget's overall choice, and that of the largest budget the run's
:func:`headline` potential. Then how precisely the test set measures the chosen
checkpoints (:func:`resolution_on_test_set`, bootstrap over its configurations).

Knows error entries (``errors/<label>.json``) and paths, not atoms or solvers. For a
path a solver returned in Python, :func:`select` applies the same rule to the steps'
validation residuals (and two other rules).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["METRIC_KEYS", "SE_RESAMPLES", "RULES", "score", "path_scores", "selection_split",
           "best_step", "select_checkpoints", "unmet_budgets", "best_outside", "headline",
           "select", "select_index", "checkpoint_test_errors", "resolution_on_test_set",
           "record_of_test_errors"]

SE_RESAMPLES = 2000
"""Bootstrap draws of the configurations behind every stored SE (``errors/*.json`` and
the report): one count and one seed, so a checkpoint's test SE is the same number in both."""

RULES = ("final", "best_val", "sparsest_within")

METRIC_KEYS = {"energy_mae": ("E", "mae"), "forces_mae": ("F", "mae"),
               "energy_rmse": ("E", "rmse"), "forces_rmse": ("F", "rmse")}


def score(entry: dict, metric: str, split: str) -> float:
    """The selection score of one checkpoint's error entry.

    Parameters
    ----------
    entry : dict
        One step's entry of ``errors/<label>.json``
        (:func:`acefit.checkpoint_errors.evaluate_errors`).
    metric : {"loss", "energy_mae", "forces_mae", "energy_rmse", "forces_rmse"}
        ``selection.metric``: the solver's weighted loss (``<split>_loss``), or an error
        of :data:`METRIC_KEYS`.
    split : {"val", "train"}
        The set scored (:func:`selection_split`).

    Returns
    -------
    float
        The score; NaN when the entry has none.
    """
    if metric == "loss":
        v = entry.get(f"{split}_loss")
        return float("nan") if v is None else float(v)
    q, stat = METRIC_KEYS[metric]
    e = entry.get(split)
    v = None if e is None else e["all"][q][stat]
    return float("nan") if v is None else float(v)


def path_scores(entries, metric: str, split: str) -> np.ndarray:
    """The selection score (:func:`score`) of every checkpoint of one path.

    Parameters
    ----------
    entries : list of dict
        The path's error entries, one per step.
    metric, split : str
        As for :func:`score`.

    Returns
    -------
    ndarray of float, shape (len(entries),)
    """
    return np.array([score(e, metric, split) for e in entries], dtype=float)


def selection_split(entries) -> str:
    """The split a path's checkpoints are selected on, read off its error entries.

    The fit selects on the validation set when it has one, else on the training set
    (``select_checkpoints``' ``has_val``). An entry's ``"val"`` holds the validation
    set's errors and is None exactly when there is no validation set
    (:func:`acefit.checkpoint_errors.evaluate_errors`), whatever the solver recorded as
    its ``val_loss``: so the validation set's presence, not ``val_loss``, decides.

    Parameters
    ----------
    entries : list of dict
        One path's error entries (``errors/<label>.json``'s ``steps``).

    Returns
    -------
    str
        ``"val"`` when any entry has validation errors, else ``"train"``.
    """
    return "val" if any(e.get("val") is not None for e in entries) else "train"


def best_step(scores, sizes, allowed=None) -> int | None:
    """The selection rule on one path: the step with the smallest score, then the fewest
    active functions, then the earliest, among the allowed ones that have a score.

    Parameters
    ----------
    scores : ndarray of float
        Per step, its score (NaN: none).
    sizes : ndarray of int
        Per step, its number of active functions.
    allowed : ndarray of bool, optional
        The steps to choose among (None: all).

    Returns
    -------
    int or None
        The index of the chosen step; None when no allowed step has a score.
    """
    ok = ~np.isnan(scores)
    if allowed is not None:
        ok &= allowed
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    return int(idx[np.lexsort((idx, sizes[idx], scores[idx]))[0]])


def select_checkpoints(paths, errors_by_label, cfg, has_val: bool,
                       budgets=None) -> list[dict]:
    """The selected checkpoints: per budget, one per solver plus the overall best.

    Parameters
    ----------
    paths : dict of str to Path
        The solver paths by label (their ``sizes``).
    errors_by_label : dict of str to list of dict
        Their error entries (:func:`acefit.checkpoint_errors.evaluate_errors`).
    cfg : dict
        The run's config: ``selection.metric`` and ``selection.budgets``.
    has_val : bool
        Whether the run has a validation set; without one the score is the training
        one (and the log says so).
    budgets : list of (int or None), optional
        These instead of the config's ``selection.budgets`` (None in them: any size).

    Returns
    -------
    list of dict
        ``{"budget", "label", "step", "n_active", "score", "best"}`` per budget and path
        that has a scored step within it; ``best`` marks the overall choice of each
        budget (the smallest score, then the fewest functions).
    """
    metric = cfg["selection"]["metric"]
    split = "val" if has_val else "train"
    budgets = budgets or cfg["selection"]["budgets"] or [None]
    chosen = []
    for budget in budgets:
        group = []
        for label, path in paths.items():
            scores = path_scores(errors_by_label[label], metric, split)
            sizes = path.sizes
            i = best_step(scores, sizes, sizes <= (budget if budget is not None else np.inf))
            if i is None:
                continue
            group.append({"budget": budget, "label": label, "step": i,
                          "n_active": int(sizes[i]), "score": float(scores[i]), "best": False})
        if group:
            min(group, key=lambda g: (g["score"], g["n_active"]))["best"] = True
        chosen += group
    return chosen


def unmet_budgets(selected, paths, budgets) -> list[dict]:
    """The paths each budget holds no checkpoint of (:func:`select_checkpoints` leaves
    them out).

    Parameters
    ----------
    selected : list of dict
        :func:`select_checkpoints`' entries.
    paths : dict of str to Path
        The solver paths by label.
    budgets : list of (int or None)
        The budgets selected for (empty: one, any size).

    Returns
    -------
    list of dict
        ``{"budget", "label", "smallest"}``: ``smallest`` is the fewest active functions
        of the path's steps. Its steps are all larger than the budget, or those within
        it have no score (``smallest`` at most the budget).
    """
    held = {(s["budget"], s["label"]) for s in selected}
    return [{"budget": budget, "label": label, "smallest": int(np.min(path.sizes))}
            for budget in (budgets or [None]) for label, path in paths.items()
            if (budget, label) not in held and len(path.sizes)]


def best_outside(selected, paths, errors_by_label, cfg, has_val: bool):
    """The checkpoint with the best score over every size of every path (the fit's rule
    with no budget, as ``acefit compare``'s "any" rows), when ``selected`` does not hold
    it. Such a checkpoint is larger than the largest budget.

    Parameters
    ----------
    selected : list of dict
        :func:`select_checkpoints`' entries.
    paths, errors_by_label, cfg, has_val
        As for :func:`select_checkpoints`.

    Returns
    -------
    dict or None
        One entry as :func:`select_checkpoints`' (``budget`` None); None when
        ``selected`` holds it, when nothing is scored, or without a validation set
        (``has_val`` False: the best training score of any size is that of the
        largest checkpoint, no choice to point to).
    """
    if not has_val:
        return None
    best = next((s for s in select_checkpoints(paths, errors_by_label, cfg, has_val, [None])
                 if s["best"]), None)
    if best is None or any((s["label"], s["step"]) == (best["label"], best["step"])
                           for s in selected):
        return None
    return best


def checkpoint_test_errors(system, paths, chosen):
    """The test set's errors per configuration of some checkpoints.

    Parameters
    ----------
    system : AssembledSystem
        Its dense ``test`` block (None without a test set).
    paths : dict of str to Path
        The solver paths by label.
    chosen : list of dict
        The checkpoints, as ``{"label": .., "step": ..}`` entries.

    Returns
    -------
    ConfigurationErrors or None
        :class:`acefit.metrics.ConfigurationErrors`, one column per entry of
        ``chosen``; None without a test set or checkpoints.
    """
    from acefit.metrics import configuration_errors

    if system.test is None or not chosen:
        return None
    coefs = np.stack([paths[c["label"]].steps[c["step"]].coef for c in chosen], axis=1)
    return configuration_errors(system.test, system.test.A @ coefs)


def resolution_on_test_set(system, paths, selected, *, resamples: int = SE_RESAMPLES):
    """How precisely the test set measures each selected checkpoint's test MAEs.

    Parameters
    ----------
    system, paths
        As for :func:`checkpoint_test_errors`.
    selected : list of dict
        :func:`select_checkpoints`' entries (one of them the :func:`headline`).
    resamples : int
        Bootstrap draws of the test configurations (:data:`SE_RESAMPLES`).

    Returns
    -------
    entries : list of dict
        Per entry of ``selected`` (same order) ``{"E": .., "F": .., "S": ..}`` from
        :func:`acefit.metrics.bootstrap_errors` over the test configurations, plus
        ``"minus_headline"``: the paired difference to the headline potential
        (:func:`acefit.metrics.bootstrap_differences`; None for the headline itself).
        Empty without a test set.
    per_config : ConfigurationErrors or None
        The selected checkpoints' summed absolute errors per test configuration
        (:class:`acefit.metrics.ConfigurationErrors`), from which other comparisons can
        be paired (``acefit compare``); None without a test set.
    """
    from acefit.metrics import bootstrap_differences, bootstrap_errors

    per_config = checkpoint_test_errors(system, paths, selected)
    if per_config is None:
        return [], None
    own = bootstrap_errors(per_config, resamples=resamples)
    head = selected.index(headline(selected))
    others = [i for i in range(len(selected)) if i != head]
    diffs = dict(zip(others, bootstrap_differences(per_config, [(i, head) for i in others],
                                                   resamples=resamples)))
    return [{**own[i], "minus_headline": diffs.get(i)} for i in range(len(selected))], per_config


def record_of_test_errors(per_config, selected, test_configs) -> dict:
    """``test_errors.json``: each selected checkpoint's summed absolute errors per test
    configuration, with the rows summed, so that runs on the same test set can be
    compared pairwise.

    Parameters
    ----------
    per_config : ConfigurationErrors
        :func:`resolution_on_test_set`'s, one column per entry of ``selected``.
    selected : list of dict
        :func:`select_checkpoints`' entries.
    test_configs : list of LabelledConfig
        The test configurations (``per_config.configs`` indexes them).

    Returns
    -------
    dict
        ``configurations`` (named ``<file>:<frame>``), ``counts`` (rows per
        configuration and quantity), ``units`` and, per selected checkpoint, its
        ``budget``, ``label``, ``step``, ``n_active`` and ``abs_error_sums``.
    """
    from acefit.metrics import UNITS

    return {"configurations": [f"{Path(test_configs[int(k)].source).name}:"
                               f"{test_configs[int(k)].index}" for k in per_config.configs],
            "counts": per_config.counts,
            "units": dict(UNITS),
            "selected": [{"budget": s["budget"], "label": s["label"], "step": s["step"],
                          "n_active": s["n_active"],
                          "abs_error_sums": {q: v[:, j] for q, v in per_config.sums.items()}}
                         for j, s in enumerate(selected)]}


def headline(selected):
    """The best checkpoint of the largest budget (the run's headline potential).

    Parameters
    ----------
    selected : list of dict
        :func:`select_checkpoints`' entries.

    Returns
    -------
    dict or None
        The entry of the largest budget (None, any size, is the largest) marked
        ``best``; None when ``selected`` is empty.
    """
    if not selected:
        return None
    budgets = [s["budget"] for s in selected]
    top = None if None in budgets else max(budgets)
    return next(s for s in selected if s["best"] and s["budget"] == top)


def select_index(path, rule: str = "best_val", *, max_active: int | None = None,
                 factor: float = 1.05) -> int:
    """Index of the step of a :class:`~acefit.solvers.path.Path` chosen by ``rule``.

    Parameters
    ----------
    path : Path
    rule : {"final", "best_val", "sparsest_within"}
        ``final``: the last step (with at most ``max_active`` active functions when
        given). ``best_val``: the smallest validation error among steps with at
        most ``max_active`` active functions (ties: fewer active, then earlier), the
        fit's rule (:func:`best_step`) and the protocol of Torabi et al., section III.
        ``sparsest_within``: among those steps, the fewest active functions whose
        validation error is at most ``factor`` times the best (ties: smaller
        error, then earlier).
    max_active : int, optional
        The size cap t of the paper's protocol.
    factor : float
        >= 1, for ``sparsest_within``.

    Raises
    ------
    ValueError
        For an unknown rule, no eligible step, or a validation rule on a path
        without validation errors.
    """
    if rule not in RULES:
        raise ValueError(f"unknown selection rule {rule!r}; choose one of {RULES}")
    if max_active is not None and (isinstance(max_active, bool) or int(max_active) != max_active
                                   or max_active < 0):
        raise ValueError(f"max_active must be an integer >= 0, got {max_active!r}")
    sizes = np.array([s.n_active for s in path.steps], dtype=int)
    allowed = np.ones(len(sizes), bool) if max_active is None else sizes <= max_active
    if not allowed.any():
        raise ValueError(f"path '{path.solver}' has no step with at most {max_active} active "
                         f"functions (sizes {sizes.min() if sizes.size else '-'}..."
                         f"{sizes.max() if sizes.size else '-'}, {len(sizes)} steps)")
    if rule == "final":
        return int(np.flatnonzero(allowed)[-1])
    errs = np.array([np.nan if s.val_error is None else s.val_error for s in path.steps],
                    dtype=float)
    if np.all(np.isnan(errs[allowed])):
        raise ValueError(f"rule {rule!r} needs validation errors; path '{path.solver}' has none "
                         "(fit with validation=(A_val, y_val))")
    best = best_step(errs, sizes, allowed)
    if rule == "best_val":
        return best
    factor = float(factor)
    if not np.isfinite(factor) or factor < 1:
        raise ValueError(f"factor must be a finite number >= 1, got {factor!r}")
    idx = np.flatnonzero(allowed & (errs <= factor * errs[best]))
    return int(idx[np.lexsort((idx, errs[idx], sizes[idx]))[0]])


def select(path, rule: str = "best_val", *, max_active: int | None = None,
           factor: float = 1.05):
    """The step of ``path`` chosen by ``rule``.

    Parameters
    ----------
    path : acefit.solvers.path.Path
        A solver's path (its steps with validation errors, for the validation rules).
    rule : {"final", "best_val", "sparsest_within"}
        As for :func:`select_index`; ``"best_val"``: the smallest validation error.
    max_active : int, optional
        Only steps with at most this many active functions (a size budget).
    factor : float
        >= 1, for ``"sparsest_within"``.

    Returns
    -------
    acefit.solvers.path.Step
    """
    return path.steps[select_index(path, rule, max_active=max_active, factor=factor)]

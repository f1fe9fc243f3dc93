"""Errors of every checkpoint: the errors stage of a fit, between the solver paths and
the selection.

Each checkpoint's coefficients are scored, unweighted (:mod:`acefit.metrics`: energy
meV/atom, forces eV/Å, stress GPa; MAE and RMSE, in total and per config_type), on the
validation and test rows the assembly kept dense and on the training set, whose rows
come from the assembly's cache or are evaluated again in parts on its workers. Many
checkpoints at once: one matrix product per batch of them. Results go to
``errors/<label>.json``, stamped with the problem and the coefficients, and are read
back while those match.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from acefit.assembly import BLOCK_FLOATS
from acefit.atomic import json_ready, read_json, write_json
from acefit.design import row_count
from acefit.progress import bar, get_logger
from acefit.selection import SE_RESAMPLES

__all__ = ["evaluate_errors", "column_errors", "train_errors"]

#: Checkpoints scored by one matrix product (:func:`column_errors`).
BATCH = 256


class _Sums:
    """Running sums of one model's :func:`acefit.metrics.errors` results on disjoint row
    blocks (its total MAE and RMSE exactly, in the order the blocks come), so that a
    block's results can go before the next block is scored."""

    def __init__(self):
        self.units, self.total, self.groups = None, self._empty(), {}

    @staticmethod
    def _empty() -> dict:
        return {q: [0, 0, 0] for q in ("E", "F", "S")}

    def add(self, stats: dict) -> None:
        self.units = self.units or stats["units"]
        # the total apart from the groups: a config_type may be named "all"
        for group, entry in ((self.total, stats["all"]),
                             *((self.groups.setdefault(name, self._empty()), e)
                               for name, e in stats["by_config_type"].items())):
            for q, (sa, ss, n) in group.items():
                if entry[q]["n"]:
                    group[q] = [sa + entry[q]["mae"] * entry[q]["n"],
                                ss + entry[q]["rmse"] ** 2 * entry[q]["n"], n + entry[q]["n"]]

    def stats(self) -> dict:
        def combine(group):
            return {q: {"mae": float("nan"), "rmse": float("nan"), "n": 0} if n == 0 else
                    {"mae": sa / n, "rmse": float(np.sqrt(ss / n)), "n": n}
                    for q, (sa, ss, n) in group.items()}

        return {"units": self.units, "all": combine(self.total),
                "by_config_type": {k: combine(self.groups[k]) for k in sorted(self.groups)}}


def _train_chunks(train, n_features, max_floats=BLOCK_FLOATS):
    """Groups of training configurations whose dense rows stay below ``max_floats``."""
    chunk, rows = [], 0
    for cfg in train:
        r = row_count(cfg)
        if chunk and (rows + r) * n_features > max_floats:
            yield chunk
            chunk, rows = [], 0
        chunk.append(cfg)
        rows += r
    if chunk:
        yield chunk


def evaluate_errors(paths, system, basis, data, errors_dir: Path, *, n_workers=1,
                    scheduler=None, progress=None) -> dict:
    """Train / validation / test errors of every checkpoint; ``{label: [per step]}``.

    Validation and test use the assembled dense rows; training errors are
    accumulated over chunks of the training set (its dense rows are never held
    whole), on the assembly's workers, since re-evaluating the basis there is most of
    this stage's cost.
    Results are written to ``errors/<label>.json`` and reused.

    Parameters
    ----------
    paths : dict of str to Path
        The solver paths by label (:class:`acefit.solvers.path.Path`).
    system : AssembledSystem
        The assembly (:func:`acefit.assembly.assemble`): its dense ``val`` and ``test``
        blocks (None without that set), weights, E0, kept training rows and ``key``.
    basis : ACEBasis
        The basis the training rows are evaluated with, where they were not kept.
    data
        The configurations, with ``train`` a list of
        :class:`acefit.data.LabelledConfig`.
    errors_dir : pathlib.Path
        The folder of ``<label>.json``: a file whose stamp (problem key, step count,
        coefficients' hash) matches is read instead of evaluated.
    n_workers : int or None
        Workers that evaluate the training rows again (None: one per CPU).
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler to evaluate them on (as in
        :func:`acefit.assembly.assemble`; overrides ``n_workers``).
    progress : bool or None
        Show a progress bar (None: when stderr is a terminal).

    Returns
    -------
    dict of str to list of dict
        Per label, one entry per step: ``step``, ``n_active``, ``lam``, the solver's
        ``train_loss`` and ``val_loss``, and ``train``, ``val`` and ``test`` in
        :func:`acefit.metrics.errors` form (``val``/``test`` None without that set;
        :func:`column_errors`).
    """
    log = get_logger()
    out, todo = {}, {}
    for label, path in paths.items():
        file = errors_dir / f"{label}.json"
        stamp = {"problem_key": system.key, "n_steps": len(path),
                 "coef_hash": _coef_hash(path)}
        if file.exists():
            try:
                stored = read_json(file, ("steps",))
            except ValueError:
                stored = {}  # damaged: evaluated again
            if stored.get("stamp") == stamp:
                out[label] = stored["steps"]
                continue
        todo[label] = (path, stamp)
    if not todo:
        return out
    coefs = [(label, i, step.coef) for label, (path, _) in todo.items()
             for i, step in enumerate(path.steps)]
    results = {label: [{"step": i, "n_active": s.n_active, "lam": s.lam,
                        "train_loss": s.train_error, "val_loss": s.val_error}
                       for i, s in enumerate(path.steps)] for label, (path, _) in todo.items()}
    t = time.perf_counter()
    with bar(len(coefs) * 2 + len(data.train), "  errors", unit="eval",
             enabled=progress) as pbar:
        matrix = np.stack([coef for _, _, coef in coefs], axis=1)
        for name, block in (("val", system.val), ("test", system.test)):
            stats = column_errors(block, matrix)
            for (label, i, _), st in zip(coefs, stats):
                results[label][i][name] = st
            pbar.update(len(coefs))
        source = {}
        train = train_errors(basis, data.train, system.weights, system.e0, matrix,
                              rows=system.train_rows, n_workers=n_workers, scheduler=scheduler,
                              progress=pbar.update, source=source)
        for (label, i, _), st in zip(coefs, train):
            results[label][i]["train"] = st
    errors_dir.mkdir(parents=True, exist_ok=True)
    for label, (path, stamp) in todo.items():
        write_json(errors_dir / f"{label}.json", {"stamp": stamp, "steps": results[label]})
        out[label] = json_ready(results[label])
    log.info("errors of %d checkpoints evaluated in %.1f s (training rows %s)", len(coefs),
             time.perf_counter() - t, source["rows"])
    return {label: out[label] for label in paths}


def train_errors(basis, train, weights, e0, matrix, *, rows=None, n_workers=1, scheduler=None,
                  progress=None, source=None) -> list:
    """Training errors of every column of ``matrix``: from the rows the assembly kept,
    or else with the rows re-evaluated in parts on the workers
    (:func:`acefit.assembly.map_configurations`); the errors of the parts are merged.

    Parameters
    ----------
    basis : ACEBasis
    train : list of LabelledConfig
        The training configurations.
    weights : dict
        The weight table (:func:`acefit.design.resolve_weights`).
    e0 : ReferenceEnergies
        The training set's (:func:`acefit.design.reference_energies`).
    matrix : ndarray, shape (n_features, k)
        One model's coefficients a column.
    rows : optional
        The training rows the assembly kept (:func:`acefit.assembly.train_row_blocks`);
        read where they can be, else the rows are evaluated again.
    n_workers : int or None
        Workers that evaluate the rows again (None: one per CPU).
    scheduler : str, optional
        Address of a ``dask.distributed`` scheduler to evaluate them on.
    progress : callable, optional
        Called with the number of configurations each finished part held.
    source : dict, optional
        Gains ``"rows"``: "read from the cache" or "evaluated again".

    Returns
    -------
    list of dict
        Per column, :func:`acefit.metrics.errors` form on the whole training set.
    """
    from acefit.assembly import map_configurations, quiet_dask, train_row_blocks

    source = {} if source is None else source

    if rows is not None:
        def kept():
            for block, n_configs in train_row_blocks(rows):
                errors = None if block is None else column_errors(block, matrix)
                del block   # not held while the next block is read
                if errors is not None:
                    yield errors
                if progress is not None:
                    progress(n_configs)
        try:
            source["rows"] = "read from the cache"
            return _merge_columns(kept())
        except (OSError, KeyError, ValueError) as exc:   # e.g. removed by another run
            get_logger().warning("the kept training rows could not be read (%s); "
                                 "evaluating them again", exc)
    source["rows"] = "evaluated again"
    with quiet_dask():
        return _merge_columns(map_configurations(
            _train_errors_task, basis, train, n_workers=n_workers, scheduler=scheduler,
            progress=progress, weights=weights, e0=e0, matrix=matrix))


def _train_errors_task(basis, indexed, weights, e0, matrix, progress=None) -> list:
    """Errors of every column of ``matrix`` on some training configurations, one
    entry per column (:func:`_merge_columns` combines those of disjoint parts)."""
    from acefit.design import design_block

    def chunk_errors():
        for chunk in _train_chunks([cfg for _, cfg in indexed], len(basis)):
            yield column_errors(design_block(basis, chunk, weights, e0), matrix)
            if progress is not None:
                progress(len(chunk))

    return _merge_columns(chunk_errors())


def _merge_columns(blocks) -> list:
    """Per column, its errors on the union of disjoint row blocks; ``blocks`` yields one
    list per block with one entry per column, summed as it comes (a block's list of
    nested dicts per checkpoint, tens of MiB for thousands of checkpoints, is not kept)."""
    sums = None
    for stats in blocks:
        sums = sums or [_Sums() for _ in stats]
        for total, st in zip(sums, stats):
            total.add(st)
    return [total.stats() for total in sums or ()]


def column_errors(block, matrix, batch: int = BATCH) -> list:
    """:func:`acefit.metrics.errors` of every column of ``matrix``, each total MAE with
    its bootstrap standard error over the block's configurations.

    The predictions of a batch of models are one matrix product over the columns
    that any model of the batch uses (consecutive steps of a sparse path share most
    of their few active functions), and their errors are reduced together
    (:func:`acefit.metrics.errors_of_predictions`).

    Parameters
    ----------
    block : DesignBlock or None
        The rows (validation, test, or a part of the training set).
    matrix : ndarray, shape (n_features, k)
        One model's coefficients a column.
    batch : int
        Models per matrix product (:data:`BATCH`).

    Returns
    -------
    list of dict or None
        Per column, :func:`acefit.metrics.errors` form, each entry of ``"all"`` with
        ``mae_se`` (from ``SE_RESAMPLES`` draws, the same for every model); k Nones
        when ``block`` is None.
    """
    from acefit.metrics import (bootstrap_standard_errors, configuration_errors,
                                errors_of_predictions)

    if block is None:
        return [None] * matrix.shape[1]
    out = []
    for start in range(0, matrix.shape[1], batch):
        models = matrix[:, start:start + batch]
        used = np.flatnonzero(np.any(models != 0.0, axis=1))
        predictions = (block.A @ models if len(used) > 0.8 * len(models)
                       else block.A[:, used] @ models[used])
        stats = errors_of_predictions(block, predictions)
        se = bootstrap_standard_errors(configuration_errors(block, predictions),
                                       resamples=SE_RESAMPLES)
        for j, st in enumerate(stats):
            for q, entry in st["all"].items():
                entry["mae_se"] = float(se[q][j])
        out.extend(stats)
    return out


def _coef_hash(path) -> str:
    from acefit.cache import stable_hash

    return stable_hash([np.asarray(s.coef) for s in path.steps])

"""What a run will hold, before it runs: ``acefit fit CONFIG --plan``.

A fit's size is set by its rows and basis functions: the reduced training system R is
n x n whatever the data, the path solvers add the Gram matrix (as large again), the
validation and test rows stay in memory (one float per row and function), and the
training rows are kept on disk for the errors stage when small enough. All of these
follow from the data and the basis alone, so the plan reads the data and builds the
basis (seconds), counts the rows the assembly will make, and assembles nothing.
"""

from __future__ import annotations

import numpy as np

from acefit.design import ROW_KINDS

__all__ = ["plan", "plan_text", "row_counts"]


def row_counts(configs, weights) -> tuple[dict, dict]:
    """Rows of ``configs`` per kind: all of them, and those with a nonzero weight."""
    from acefit.design import row_weights

    every, weighted = dict.fromkeys(ROW_KINDS, 0), dict.fromkeys(ROW_KINDS, 0)
    for cfg in configs:
        for kind, w in row_weights(cfg, weights).items():
            every[kind] += len(w)
            weighted[kind] += int(np.count_nonzero(w))
    return every, weighted


def plan(cfg: dict) -> dict:
    """Sizes of the run ``cfg`` (a config from :func:`acefit.config.load_config`).

    Raises
    ------
    ValueError
        A configuration with an element outside the basis (naming its file and frame), as
        the assembly would.

    Returns
    -------
    dict
        ``configs`` and ``atoms`` per split; ``basis`` (``n_functions``, ``composition``);
        ``rows``: the training rows with a nonzero weight per kind (the assembly's m,
        ``train``), every training row (``train_all``: what is kept on disk), and the
        validation and test rows (``val``, ``test``); ``bytes``: the reduced system R
        (the path solvers' Gram matrix is as large), the kept training rows and the
        validation and test rows, as float64; ``train_rows_limit_bytes``: ``output.train_rows_gib``;
        ``remote_workers``: a ``parallel.scheduler`` is set (its rows are not kept).
    """
    from acefit.pipeline import (basis_summary, build_basis, check_against_data, load_data,
                                 weight_table)

    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    checks = check_against_data(cfg, data, basis)    # what the fit would stop at
    weights = weight_table(cfg)
    train_all, train = checks.train_rows
    val, _ = row_counts(data.val, weights)
    test, _ = row_counts(data.test, weights)
    n = len(basis)
    splits = {"train": data.train, "val": data.val, "test": data.test}
    return {
        "run": cfg["name"],
        "configs": {k: len(v) for k, v in splits.items()},
        "atoms": {k: sum(c.n_atoms for c in v) for k, v in splits.items()},
        "basis": {"n_functions": n, "composition": basis_summary(basis)},
        "rows": {"train": train, "train_all": train_all, "val": val, "test": test},
        "bytes": {"reduced_system": 8 * n * n,
                  "train_rows": 8 * n * sum(train_all.values()),
                  "val_rows": 8 * n * sum(val.values()), "test_rows": 8 * n * sum(test.values())},
        "train_rows_limit_bytes": int(cfg["output"]["train_rows_gib"] * 2**30),
        "remote_workers": cfg["parallel"]["scheduler"] is not None,
    }


def _size(n_bytes: int) -> str:
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.2f} {unit}"
    return f"{n_bytes / 2**10:.1f} KiB"


def plan_text(p: dict) -> str:
    """:func:`plan` as the lines ``acefit fit --plan`` prints."""
    rows, size, n = p["rows"], p["bytes"], p["basis"]["n_functions"]

    def count(split):
        return sum(rows[split].values())

    def kinds(split):
        return "/".join(str(rows[split][k]) for k in ROW_KINDS)

    dropped = count("train_all") - count("train")
    if p["remote_workers"]:
        kept = "(not kept with remote workers: evaluated again for the errors)"
    elif size["train_rows"] > p["train_rows_limit_bytes"]:
        kept = "(over output.train_rows_gib: not kept, evaluated again for the errors)"
    else:
        kept = "(kept: within output.train_rows_gib, if 2 GiB of the disk stay free)"
    return "\n".join([
        f"Plan for run '{p['run']}' (nothing assembled):",
        f"- configurations: {p['configs']['train']} train ({p['atoms']['train']} atoms), "
        f"{p['configs']['val']} validation, {p['configs']['test']} test",
        f"- basis: {n} functions ({p['basis']['composition']})",
        f"- training rows in the fit: {count('train')} (E/F/V {kinds('train')})"
        + (f"; {dropped} more with zero weight" if dropped else ""),
        f"- reduced system R: {n} x {n}, {_size(size['reduced_system'])}; the path solvers' "
        f"Gram matrix as much again",
        f"- training rows for the errors stage: {count('train_all')} x {n}, "
        f"{_size(size['train_rows'])} on disk {kept}",
        f"- validation and test rows in memory: {count('val')} and {count('test')} x {n}, "
        f"{_size(size['val_rows'])} and {_size(size['test_rows'])}",
    ])

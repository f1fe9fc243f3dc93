"""``acefit compare RUN [RUN ...]``: checkpoints of several runs and solvers side by side.

Writes into the output folder:

* ``compare.md`` (and ``compare.json``): for each size budget t, the checkpoint of
  every (run, solver) that its fit selects (the run's ``selection.metric`` on
  validation, or training without a validation set) among those with at most t
  active functions, with its validation and test errors; the best value of each
  error column within a budget (as printed: values printed equal are bold together) is in
  bold, among the runs on one validation (or test)
  set only (``run.json``'s ``data_sets``), with a note when the runs' sets differ; and,
  for runs on the same test set, each run's selected checkpoints minus the first run's,
  paired on the test configurations (``test_errors.json``) with their bootstrap standard
  error; each checkpoint's dimer verdict (a repulsive core for every pair, or the pairs
  without one) and each run's headline potential's compressed crystals, where its fit
  checked them (``report.json``: the selected potentials' dimers, the headline's
  crystals; – elsewhere);
* ``learning_curve.png``: test (or validation) energy and force MAE against the
  number of active functions, one line per (run, solver) (Torabi et al., Figs. 1,
  4, 6);
* ``basis_selection.png``: which two-body (species pair × n) and three-body
  (n₁ + n₂ × l) functions each solver picked, coloured by the path size at which
  they first entered (Figs. 2, 3).

Only files in the run directories are read (``paths.h5``, ``errors/*.json``,
``basis_functions.json``, ``run.json``, ``config.yaml``, ``test_errors.json``,
``report.json``); no model is evaluated again.

Runs are named by their folders, not by their configs' ``name``: the runs one compares
are most often one config fitted with other ``--set`` options into other folders (``-o``),
all under the config's name; the folder is what tells them apart and what the other
commands take. Folders of one name are told apart by their paths as given.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from acefit.atomic import make_folder, write_figure, write_json, write_text
from acefit.formatting import fixed
from acefit.runs import RunFiles, RunSelectionError, read_run

__all__ = ["compare_runs", "load_run", "RunData"]


@dataclass
class RunData(RunFiles):
    """A run directory's files (:func:`acefit.runs.read_run`) and what compare reads off
    them."""

    name: str = ""
    budgets: list = field(default_factory=list)
    finished: bool = False
    metric: str = "loss"  # the fit's selection.metric, which compare selects by too
    stress_reading: dict | None = None  # data.stress_reading (None: as labelled)
    data_sets: dict | None = None  # run.json's validation and test sets (hash, count)
    data_config: dict | None = None  # the config's data section (for runs without data_sets)
    config_name: str | None = None  # the config's name, which the run is not named by
    short_range: dict | None = None  # report.json's short-range checks (short_range_checks)
    doubtful_stresses: list | None = None  # report.json's test stresses in doubt (groups)


def load_run(directory, cfg: dict | None = None) -> RunData:
    """Read a run directory written by ``acefit fit`` (finished or interrupted,
    :func:`acefit.runs.read_run`); ``cfg``: its config when the caller has read it
    already (else ``config.yaml`` is read)."""
    from acefit.consistency import reads_as_labelled
    from acefit.report import doubtful_stresses

    run = read_run(directory, cfg)
    cfg, state, report = run.cfg, run.state, run.report
    selection = cfg.get("selection") or {}
    reading = (cfg.get("data") or {}).get("stress_reading")
    return RunData(**{f.name: getattr(run, f.name) for f in fields(RunFiles)},
                   name=Path(os.path.abspath(run.directory)).name,
                   budgets=list(selection.get("budgets") or []),
                   finished=state.get("status") == "finished",
                   metric=selection.get("metric") or "loss",
                   stress_reading=None if reads_as_labelled(reading) else reading,
                   data_sets=state.get("data_sets"), data_config=cfg.get("data") or {},
                   config_name=cfg.get("name"),
                   short_range=short_range_checks(report),
                   doubtful_stresses=sorted(doubtful_stresses(report).get("groups") or {}))


def short_range_checks(report) -> dict:
    """The short-range checks a fit recorded in its ``report.json`` (``report``; None: no
    report): ``{"dimers": {(label, step, n_active): verdicts}, "headline": entry}``, the
    dimer verdicts of each selected checkpoint (and of the best of any size) and the
    headline's report entry, with its ``compression`` where the fit checked its crystals.
    Checks a fit did not record (one older than them) are left out."""
    from acefit.selection import headline

    selection = (report or {}).get("selection") or {}
    selected = [s for s in selection.get("selected") or [] if isinstance(s, dict)]
    extra = selection.get("best_any_size")
    dimers = {(s.get("label"), s.get("step"), s.get("n_active")): s["dimers"]
              for s in selected + ([extra] if isinstance(extra, dict) else [])
              if s.get("dimers")}
    try:
        top = headline(selected)
    except (KeyError, StopIteration):       # a report of another shape: no headline known
        top = None
    return {"dimers": dimers, "headline": top}


def core_text(verdicts) -> str | None:
    """A checkpoint's dimer verdicts in a word: "yes" (a repulsive core for every pair),
    "no: Al-Al, Cu-Cu"; None when not checked."""
    from acefit.short_range import pairs_without_core

    if not verdicts:
        return None
    bad = pairs_without_core(verdicts)
    return f"no: {', '.join(bad)}" if bad else "yes"


def compression_text(verdicts) -> str:
    """A headline potential's compressed crystals (``compression`` of its report entry) in
    a few words: "fcc Al collapses at 0.9 a (2.54 Å), fcc Cu holds to 0.6 a"."""
    parts = []
    for el, v in verdicts.items():
        name = f"{v['structure']} {el}" if v.get("structure") else el
        if v.get("holds") is None:
            parts.append(f"{name} not compressed ({v.get('reason')})")
        elif v["holds"]:
            parts.append(f"{name} holds to {min(v['scales']):g} a")
        else:
            parts.append(f"{name} collapses at {v['fails_at']:g} a "
                         f"({v['nearest_A']:.2f} Å)" if "nearest_A" in v else
                         f"{name} collapses at {v['fails_at']:g} a")
    return ", ".join(parts)


def entry_stat(entry, split, q, stat="mae"):
    """One statistic of a checkpoint's errors entry (``errors/<label>.json``), e.g. the
    test force MAE; None when the split has no such rows, the value is NaN, or the run
    did not store it (``mae_se``: error entries written before acefit stored the MAEs'
    bootstrap standard errors have none)."""
    e = entry.get(split)
    if not e or not e["all"][q]["n"]:
        return None
    v = e["all"][q].get(stat)
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)


SPLITS = {"test": "test", "val": "validation", "train": "training"}   # --set: its name


def run_splits(run: RunData) -> list[str]:
    """The splits (``SPLITS`` keys, in that order) a run has errors on: energy or force
    errors at the last checkpoint of a path (no test set: no test errors)."""
    return [s for s in SPLITS
            if any(entry_stat(e, s, q) is not None for entries in run.errors.values()
                   for e in entries[-1:] for q in ("E", "F"))]


def curve_split(runs, split=None) -> tuple[str, list[str]]:
    """The split of the learning curves and a note for each run left off them.

    ``split`` None: the first of test, validation, training that every run has. A split
    some runs lack leaves those off with a note (as the table shows – for them); one
    that no run has is a :class:`acefit.runs.RunSelectionError` that names what each run
    has."""
    have = [run_splits(r) for r in runs]
    if split is None:
        split = next((s for s in SPLITS if all(s in h for h in have)), "train")
    lacking = [(r, h) for r, h in zip(runs, have) if split not in h]
    if len(lacking) == len(runs):
        some = [s for s in SPLITS if any(s in h for h in have)]
        raise RunSelectionError(f"set {split!r}: no run has {SPLITS[split]} errors ("
                                + "; ".join(f"{r.name} has {', '.join(h)}" for r, h in lacking)
                                + "); allowed: " + " or ".join(some))
    return split, [f"{r.name} has no {SPLITS[split]} errors (it has {', '.join(h)}): not on "
                   "the learning curves" for r, h in lacking]


def best_checkpoint(entries, budget, metric: str = "loss"):
    """The fit's selection rule (:func:`acefit.selection.best_step`) on a path's error
    entries: the index of the best ``metric`` on validation (training without a
    validation set) among the checkpoints with at most ``budget`` functions; ties go
    to fewer functions, then the earlier step. None when none is scored."""
    from acefit.selection import best_step, path_scores, selection_split

    scores = path_scores(entries, metric, selection_split(entries))
    sizes = np.array([e["n_active"] for e in entries])
    return best_step(scores, sizes, None if budget is None else sizes <= budget)


_COLUMNS = [("val", "E", "mae"), ("test", "E", "mae"), ("test", "E", "rmse"),
            ("val", "F", "mae"), ("test", "F", "mae"), ("test", "F", "rmse"),
            ("test", "S", "mae")]


def comparison_rows(runs, budgets) -> list[dict]:
    """One row per (budget, run, solver): the best-validation checkpoint within the budget."""
    rows = []
    for budget in budgets:
        for run in runs:
            for label, entries in run.errors.items():
                i = best_checkpoint(entries, budget, run.metric)
                if i is None:
                    continue
                e = entries[i]
                dimers = (run.short_range or {}).get("dimers", {}).get(
                    (label, i, e["n_active"]))
                rows.append({"budget": budget, "run": run.name, "solver": label,
                             "method": run.paths[label].solver, "step": i,
                             "n_active": e["n_active"], "val_loss": e.get("val_loss"),
                             **{f"{s}_{q}_{st}": entry_stat(e, s, q, st)
                                for s, q, st in _COLUMNS},
                             "repulsive_core": core_text(dimers)})
    return rows


def _rule_text(runs) -> str:
    """'validation loss', 'validation energy_mae', ... as the runs' fits selected."""
    from acefit.selection import selection_split

    def one(run):
        splits = {selection_split(entries) for entries in run.errors.values()}
        where = "validation" if splits == {"val"} else "training" if splits == {"train"} \
            else "validation (training where none)"
        return f"{where} {run.metric}"

    rules = list(dict.fromkeys(one(r) for r in runs))
    return rules[0] if len(rules) == 1 else "; ".join(f"{r.name}: {one(r)}" for r in runs)


def _reading_note(runs) -> list[str]:
    """A note when the runs read their stress labels differently (``data.stress_reading``):
    their S errors are against different labels."""
    readings = [r.stress_reading for r in runs]
    if all(x == readings[0] for x in readings):
        return []
    return ["Note: the runs read their stress labels differently (data.stress_reading: "
            + "; ".join(f"`{r.name}` {_reading_text(r.stress_reading)}" for r in runs)
            + "), so their S errors are against different labels.", ""]


def _doubtful_stress_note(runs) -> list[str]:
    """A note naming the runs whose S test errors include stresses their fit held in
    doubt (report.md's "Note on S")."""
    named = [f"`{r.name}` ({', '.join(r.doubtful_stresses)})" for r in runs
             if r.doubtful_stresses]
    if not named:
        return []
    return ["Note: the S test errors of " + "; ".join(named) + " include stresses in doubt: "
            "not fitted, and inconsistent with their energies or untested beside a "
            "converter's error of sign or units (each run's report.md, Note on S).", ""]


def _reading_text(reading) -> str:
    if not reading:
        return "as labelled"
    parts = [f"{group}: {name}" for group, name in sorted(reading["config_type"].items())]
    if reading["default"] != "as_labelled":
        parts.append(f"default: {reading['default']}")
    return "{" + ", ".join(parts) + "}"


def set_groups(runs, split: str) -> tuple[list[int], bool]:
    """Which runs have one ``split`` set ("val" or "test"): per run, the index of the
    first run with the same configurations and labels (``run.json``'s ``data_sets``),
    and whether the configs had to tell it instead, for runs that predate that record:
    the same data files, validation settings (fraction, seed, stratify, file, key) and
    label keys."""
    name = SPLITS[split]
    from_configs = not all(r.data_sets and name in r.data_sets for r in runs)
    if from_configs:
        fields = ("train", "validation", "keys") if split == "val" else ("test", "keys")
        keys = [json.dumps([(r.data_config or {}).get(f) for f in fields], sort_keys=True,
                           default=str) for r in runs]
    else:
        keys = [r.data_sets[name]["hash"] for r in runs]
    return [keys.index(k) for k in keys], from_configs


def _set_notes(runs, groups: dict) -> list[str]:
    """A note for each split whose sets differ between the runs (``groups``: split ->
    :func:`set_groups`): their errors on it are not comparable."""
    notes = []
    for split, (group, from_configs) in groups.items():
        if len(set(group)) == 1:
            continue
        what = SPLITS[split]
        sets = {}
        for run, g in zip(runs, group):
            sets.setdefault(g, []).append(run)
        records = [((r.data_sets or {}).get(what) or {}) for r in runs]
        sizes = {rec.get("configurations") for rec in records}
        one_size = len(sizes) == 1 and None not in sizes
        listed = "; ".join(", ".join(f"`{r.name}`" for r in same)
                           + ("" if one_size else _set_size(same[0], what))
                           for same in sets.values())
        files = "data.train, data.validation" if split == "val" else "data.test"
        told = (f" (told by their configs' {files} and data.keys: a run.json written before "
                "acefit recorded the sets holds none)" if from_configs else "")
        notes.append(f"the runs' {what} sets {_set_difference(records, one_size)} "
                     f"(by set: {listed}){told}, so their "
                     f"{what} errors are not comparable: bold in the {what} columns marks the "
                     "best among the runs on one set"
                     + ("; no paired differences" if split == "test" else ""))
    return notes


def _set_difference(records, one_size: bool) -> str:
    """How sets of one split differ, from their run.json records (``data_sets``): in
    size, in structures, or in labels alone (the records of a run.json written before
    acefit hashed the structures apart cannot tell the last two apart)."""
    if not one_size:
        return "differ"
    n = records[0]["configurations"]
    structures = {rec.get("structures") for rec in records}
    if None in structures:
        return f"differ in their structures or labels ({n} configurations each)"
    if len(structures) == 1:
        return (f"hold the same {n} structures with other labels (energies, forces, force "
                "weights or config_types)")
    return f"differ in their structures ({n} configurations each)"


def _set_size(run, what) -> str:
    n = ((run.data_sets or {}).get(what) or {}).get("configurations")
    return "" if n is None else f": {n} configurations"


def crystal_verdicts(runs) -> list[dict]:
    """Per run, its headline potential and the compressed crystals its fit checked
    (``compression``: None where it did not, or no report.json)."""
    out = []
    for r in runs:
        top = (r.short_range or {}).get("headline") or {}
        out.append({"run": r.name, "label": top.get("label"), "budget": top.get("budget"),
                    "n_active": top.get("n_active"), "compression": top.get("compression")})
    return out


def _short_range_lines(crystals) -> list[str]:
    """What the table's core column means, and each run's headline crystals."""
    def one(c):
        if not c["compression"]:
            return f"- `{c['run']}`: –"
        budget = "any size" if c["budget"] is None else f"≤ {c['budget']}"
        return (f"- `{c['run']}` ({c['label']} {budget}, {c['n_active']} functions): "
                f"{compression_text(c['compression'])}")

    return ["Short range, as each fit checked it (report.json; `acefit validate` for more). "
            "Core: whether every pair's dimer has a repulsive core (no lowest point, and "
            "the energy rising at every step inwards, closer than 0.55 of the covalent "
            "bond), or the pairs without one, for the checkpoints the fit selected (– for "
            "the others, and for fits before the check). Compressed crystals (60-90 % of "
            "the lattice constant a) of each run's headline potential:", "",
            *(one(c) for c in crystals), ""]


def _fmt(v, digits):
    # keep_nan: a NaN val loss prints "nan", not the "–" of a run without validation data
    # (the error columns hold no NaN: entry_stat)
    return fixed(v, digits, keep_nan=True)


def _printed(v, digits):
    """``v`` as the table prints it, so that values printed equal tie for the bold."""
    return None if v is None else float(_fmt(v, digits))


def markdown_table(rows, many_runs: bool, sets: dict | None = None) -> str:
    """The comparison table; in bold the best of each error column in a budget, among the
    rows of the runs on one set (``sets``: run name -> {split: its :func:`set_groups`
    index}; None: every run on one)."""
    head = ["budget"] + (["run"] if many_runs else []) + ["solver", "active", "val loss",
                                                          "E MAE val", "E MAE test",
                                                          "E RMSE test", "F MAE val",
                                                          "F MAE test", "F RMSE test",
                                                          "S MAE test", "core"]
    lines = ["| " + " | ".join(head) + " |",
             "|" + "|".join(["---"] * (len(head) - 10) + ["---:"] * 9 + ["---"]) + "|"]
    keys = [f"{s}_{q}_{st}" for s, q, st in _COLUMNS]
    digits = {"E": 2, "F": 4, "S": 3}
    for budget in dict.fromkeys(r["budget"] for r in rows):
        group = [r for r in rows if r["budget"] == budget]
        best, count = {}, {}          # (column, set) -> the best value, and of how many
        for r in group:
            for (s, q, _), k in zip(_COLUMNS, keys):
                at = (k, (sets or {}).get(r["run"], {}).get(s))
                v = _printed(r[k], digits[q])
                if v is not None:
                    best[at] = min(best.get(at, v), v)
                    count[at] = count.get(at, 0) + 1
        for r in group:
            cells = ["any" if budget is None else f"≤ {budget}"]
            cells += [r["run"]] if many_runs else []
            cells += [r["solver"], str(r["n_active"]), _fmt(r["val_loss"], 5)]
            for (s, q, st), k in zip(_COLUMNS, keys):
                text = _fmt(r[k], digits[q])
                at = (k, (sets or {}).get(r["run"], {}).get(s))
                cells.append(f"**{text}**" if r[k] is not None
                             and _printed(r[k], digits[q]) == best[at]
                             and count[at] > 1 else text)
            cells.append(r.get("repulsive_core") or "–")
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def paired_rows(runs, *, resamples: int = 10000) -> list[dict]:
    """Each later run's selected checkpoints against the first run's, on the same test
    configurations: the paired bootstrap difference of their test MAEs
    (:func:`acefit.metrics.bootstrap_differences`), per size budget and solver label that
    both selected. Empty unless every run wrote ``test_errors.json`` for the same test
    configurations (names and rows)."""
    from acefit.metrics import ConfigurationErrors, bootstrap_differences

    records = [r.test_errors for r in runs]
    if len(runs) < 2 or any(rec is None for rec in records) \
            or len(set(set_groups(runs, "test")[0])) > 1:
        return []
    first = records[0]
    if any(rec["configurations"] != first["configurations"] or rec["counts"] != first["counts"]
           for rec in records[1:]):
        return []
    counts = {q: np.asarray(v, dtype=float) for q, v in first["counts"].items()}
    configs = np.arange(len(first["configurations"]))

    def model(sel):
        sums = {q: np.asarray(v, dtype=float)[:, None] for q, v in sel["abs_error_sums"].items()}
        return ConfigurationErrors(configs, sums, counts)

    rows = []
    reference = {(s["budget"], s["label"]): s for s in first["selected"]}
    for run, rec in zip(runs[1:], records[1:]):
        for sel in rec["selected"]:
            ref = reference.get((sel["budget"], sel["label"]))
            if ref is None:
                continue
            (d,) = bootstrap_differences(ConfigurationErrors.join([model(sel), model(ref)]),
                                         [(0, 1)], resamples=resamples)
            rows.append({"budget": sel["budget"], "solver": sel["label"], "run": run.name,
                         "reference": runs[0].name, "n_active": sel["n_active"],
                         "reference_n_active": ref["n_active"], **{q: d[q] for q in ("E", "F")}})
    return rows


def paired_table(rows) -> str:
    """Markdown of :func:`paired_rows`."""
    from acefit.metrics import interval_text

    lines = ["| budget | solver | run | active (reference) | E MAE test − reference | "
             "F MAE test − reference |", "|---|---|---|---|---|---|"]
    for r in rows:
        budget = "any" if r["budget"] is None else f"≤ {r['budget']}"
        cells = [interval_text(r[q], k, signed=True) for q, k in (("E", 2), ("F", 4))]
        lines.append(f"| {budget} | {r['solver']} | {r['run']} | {r['n_active']} "
                     f"({r['reference_n_active']}) | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- plots

def _curve(entries, split, q):
    """(sizes, errors, standard errors): for each size, the error of the last step of that
    size and its bootstrap SE over the split's configurations (NaN where not stored)."""
    last = {}
    for e in entries:
        v = entry_stat(e, split, q)
        if v is not None:
            se = entry_stat(e, split, q, "mae_se")
            last[e["n_active"]] = (v, np.nan if se is None else se)
    sizes = np.array(sorted(last), dtype=int)
    return (sizes, np.array([last[k][0] for k in sizes]),
            np.array([last[k][1] for k in sizes]))


def learning_curve_png(runs, out: Path, split: str) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    many = len(runs) > 1
    for run in runs:
        for label, entries in run.errors.items():
            name = f"{run.name}/{label}" if many else label
            for ax, q in zip(axes, ("E", "F")):
                sizes, vals, se = _curve(entries, split, q)
                keep = sizes > 0
                if keep.any():
                    style = "o-" if keep.sum() <= 30 else "-"
                    (line,) = ax.plot(sizes[keep], vals[keep], style, ms=3, lw=1.4, label=name)
                    band = keep & np.isfinite(se)
                    if band.any():      # what the split's few configurations cannot resolve
                        ax.fill_between(sizes[band], np.maximum(vals[band] - se[band], 1e-12),
                                        vals[band] + se[band], color=line.get_color(),
                                        alpha=0.15, lw=0)
    units = {"E": "energy MAE (meV/atom)", "F": "force MAE (eV/Å)"}
    for ax, q in zip(axes, ("E", "F")):
        ax.set_xlabel("number of active basis functions")
        ax.set_ylabel(f"{SPLITS[split]} {units[q]}")
        ax.set_yscale("log")
        ax.grid(True, which="both", alpha=0.3)
    if axes[0].get_legend_handles_labels()[0]:      # a line to name (not every path has one)
        axes[0].legend(fontsize=8)
    fig.suptitle("Learning curves (bands: ± bootstrap standard error over the configurations)")
    return write_figure(fig, out / "learning_curve.png", dpi=120)


def entry_sizes(path, n_functions: int) -> np.ndarray:
    """Per column: the path size (active count) when it first became active; 0 if never."""
    entry = np.zeros(n_functions, dtype=int)
    for step in path.steps:
        new = [k for k in step.active if entry[k] == 0]
        if new:
            entry[np.asarray(new, dtype=int)] = max(step.n_active, 1)
    return entry


def _two_body_grid(functions, entry):
    """Rows: (centre, neighbour, kind); columns: n. Value: earliest entry size (NaN: none)."""
    from acefit.elements import pair_name

    cells = {}
    for (centre, order, factors, kind, *_), e in zip(functions, entry):
        if order != 1 or len(factors) != 1:
            continue
        z, n, _l = factors[0]
        row = pair_name(centre, z) + (" pair" if kind == "pair" else "")
        cells.setdefault(row, {})
        cur = cells[row].get(n, np.nan)
        if e > 0:
            cur = e if np.isnan(cur) else min(cur, e)
        cells[row][n] = cur
    rows = sorted(cells)
    nmax = max((n for r in cells.values() for n in r), default=0)
    grid = np.full((len(rows), nmax), np.nan)
    exists = np.zeros_like(grid, dtype=bool)
    for i, r in enumerate(rows):
        for n, v in cells[r].items():
            grid[i, n - 1] = v
            exists[i, n - 1] = True
    return rows, grid, exists


def _three_body_grid(functions, entry):
    """Cells (l, n1 + n2) of the order-2 functions: earliest entry size (NaN: none picked)."""
    pts = [(factors[0][2], factors[0][1] + factors[1][1], e)
           for (centre, order, factors, kind, *_), e in zip(functions, entry) if order == 2]
    if not pts:
        return np.zeros((0, 0)), np.zeros((0, 0), dtype=bool)
    lmax = max(p[0] for p in pts)
    nmax = max(p[1] for p in pts)
    grid = np.full((lmax + 1, nmax + 1), np.nan)
    exists = np.zeros_like(grid, dtype=bool)
    for l, n, e in pts:
        exists[l, n] = True
        if e > 0:
            grid[l, n] = e if np.isnan(grid[l, n]) else min(grid[l, n], e)
    return grid, exists


def basis_selection_png(runs, out: Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap, LogNorm

    panels = [(run, label) for run in runs for label in run.paths]
    fig, axes = plt.subplots(len(panels), 2, figsize=(12, 2.6 * len(panels) + 0.8),
                             squeeze=False, constrained_layout=True)
    vmax = max(max(run.paths[label].sizes.max(initial=1) for run in runs for label in run.paths
                   if label in run.paths), 1)
    norm = LogNorm(vmin=1, vmax=max(vmax, 2))  # early picks stay distinguishable
    cmap = plt.get_cmap("viridis_r")
    grey = ListedColormap(["#e6e6e6"])
    many = len(runs) > 1
    image = None
    for (run, label), (ax2, ax3) in zip(panels, axes):
        entry = entry_sizes(run.paths[label], len(run.functions))
        name = f"{run.name}/{label}" if many else label
        rows, grid, exists = _two_body_grid(run.functions, entry)
        if grid.size:
            ax2.imshow(np.where(exists, 0.0, np.nan), cmap=grey, aspect="auto",
                       extent=(0.5, grid.shape[1] + 0.5, len(rows) - 0.5, -0.5))
            image = ax2.imshow(grid, cmap=cmap, norm=norm, aspect="auto",
                               extent=(0.5, grid.shape[1] + 0.5, len(rows) - 0.5, -0.5))
            ax2.set_yticks(range(len(rows)), rows, fontsize=8)
        ax2.set_xlabel("n")
        ax2.set_title(f"{name}: two-body functions", fontsize=10)
        grid3, exists3 = _three_body_grid(run.functions, entry)
        if grid3.size:
            ext = (-0.5, grid3.shape[1] - 0.5, grid3.shape[0] - 0.5, -0.5)
            ax3.imshow(np.where(exists3, 0.0, np.nan), cmap=grey, aspect="auto", extent=ext)
            image = ax3.imshow(grid3, cmap=cmap, norm=norm, aspect="auto", extent=ext)
            ax3.invert_yaxis()
            ax3.set_yticks(range(grid3.shape[0]))
        ax3.set_xlabel("n₁ + n₂")
        ax3.set_ylabel("l (angular degree)")
        ax3.set_title(f"{name}: three-body functions", fontsize=10)
    if image is not None:
        bar = fig.colorbar(image, ax=axes, shrink=0.8)
        bar.set_label("active functions when first selected")
    fig.suptitle("Basis selection along the path (grey: available, never selected)")
    return write_figure(fig, out / "basis_selection.png", dpi=110)


# ---------------------------------------------------------------------------- entry point

def compare_runs(run_dirs, out_dir, *, budgets=None, split=None) -> dict:
    """Compare finished (or interrupted) runs; write Markdown, JSON and two PNGs.

    Parameters
    ----------
    run_dirs : list of path-like
        Run directories written by ``acefit fit``.
    out_dir : path-like
        Folder for ``compare.md``, ``compare.json``, ``learning_curve.png`` and
        ``basis_selection.png`` (created).
    budgets : list of int, optional
        Size budgets (default: the union of the runs' selection budgets, plus no limit).
    split : {"test", "val", "train"}, optional
        Errors on the learning curve (default: test when every run has a test set, else
        validation when every run has one, else training); runs without them are left
        off the curves with a note (:func:`curve_split`), and refused when none has them.

    Returns
    -------
    dict
        ``{"table": markdown, "rows": [...], "paired": [...], "files": [paths],
        "notes": [...]}``: the notes say whose validation or test sets differ
        (:func:`set_groups`) and which runs the learning curves leave off.
    """

    runs = [load_run(d) for d in run_dirs]
    names = [r.name for r in runs]
    if len(set(names)) != len(names):  # folders of one name: tell them apart by their paths
        for r in runs:
            r.name = str(r.directory)
    if budgets is None:
        budgets = sorted({b for r in runs for b in r.budgets}) + [None]
    else:
        bad = [b for b in budgets if b < 1]
        if bad:
            raise ValueError(f"budgets must be integers >= 1, got {bad}")
        budgets = sorted(set(budgets))
    split, notes = curve_split(runs, split)     # before anything is written
    out = make_folder(out_dir, "output folder")
    rows = comparison_rows(runs, budgets)
    groups = {which: set_groups(runs, which) for which in ("val", "test")}
    set_notes = _set_notes(runs, groups)
    table = markdown_table(rows, many_runs=len(runs) > 1,
                           sets={r.name: {which: groups[which][0][i] for which in groups}
                                 for i, r in enumerate(runs)})
    paired = paired_rows(runs)
    crystals = crystal_verdicts(runs)
    curve = learning_curve_png(runs, out, split)
    selection = basis_selection_png(runs, out)
    md = "\n".join([
        "# acefit compare",
        "",
        "Runs: " + ", ".join(f"`{r.name}` ({r.directory}"
                             + ("" if r.config_name in (None, r.name)
                                else f", its config's name {r.config_name!r}")
                             + ("" if r.finished else ", unfinished") + ")" for r in runs),
        "",
        "For each size budget, every solver's checkpoint that its fit selects: the best "
        f"{_rule_text(runs)} among those with at most that many active functions. Bold: best "
        "in the budget" + (" among the runs on one set" if set_notes else "") + ". Units: "
        "E meV/atom, F eV/Å (per component), S GPa.",
        "",
        table,
        "",
        *[f"Note: {note}." for note in set_notes],
        *([""] if set_notes else []),
        *(_reading_note(runs)),
        *_doubtful_stress_note(runs),
        *_short_range_lines(crystals),
        *([f"Paired on the same {len(runs[0].test_errors['configurations'])} test "
           f"configurations: each run's selected checkpoint minus `{runs[0].name}`'s (same "
           "budget and solver), test MAE difference ± bootstrap standard error [95 % "
           "interval], whole configurations drawn (10000 draws). A difference within about "
           "two standard errors is one this test set cannot resolve.", "",
           paired_table(paired), ""] if paired else []),
        f"![learning curves]({curve.name})",
        "",
        f"Learning curves: {SPLITS[split]} errors against the number of active functions."
        + "".join(f" Note: {note}." for note in notes)
        + (f" Note: the runs' {SPLITS[split]} sets differ (see the note under the table)."
           if split in groups and len(set(groups[split][0])) > 1 else ""),
        "",
        f"![basis selection]({selection.name})",
        "",
        "Basis selection: two-body functions by species pair and radial index n, three-body "
        "functions by n₁ + n₂ and l; colour is the path size at which the first function of "
        "the cell entered; grey cells exist in the basis but were never selected.",
        "",
    ])
    md_path = out / "compare.md"
    write_text(md_path, md)
    json_path = out / "compare.json"
    write_json(json_path, {"runs": [str(r.directory) for r in runs], "split": split,
                           "rows": rows, "paired": paired, "crystals": crystals,
                           "notes": set_notes + notes})
    return {"table": table, "rows": rows, "paired": paired,
            "files": [md_path, json_path, curve, selection], "notes": set_notes + notes}

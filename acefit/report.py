"""The run report: ``report.json`` (everything, machine-readable) and ``report.md``.

Errors follow :mod:`acefit.metrics`: energy per atom in meV/atom, force
components in eV/Å, stress components in GPa, as MAE and RMSE, in total and
per config_type; for a basis of several elements also the selected potentials' force
errors per element.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from acefit.atomic import json_ready
from acefit.design import ROW_KINDS
from acefit.formatting import fixed

__all__ = ["build_report", "write_report", "summary_table", "stress_note_lines",
           "doubtful_stresses",
           "best_any_size_lines", "unmet_budget_lines"]

REPORT_VERSION = 1


def build_report(cfg, *, run_dir, basis, data, system, paths, errors, selected, timings,
                 wall_time, resumed=False, stress_checks=(), doubtful_stresses=None,
                 best_any_size=None, unmet_budgets=()) -> dict:
    """Everything worth knowing about a finished run, as JSON-ready dicts;
    ``stress_checks``: :class:`acefit.consistency.StressCheck` of the training, validation
    and test data; ``doubtful_stresses``: their test stresses scored but in doubt,
    :func:`acefit.data_checks.doubtful_test_stresses` (the fit's
    :attr:`acefit.data_checks.DataChecks.doubtful_stresses`; None: none), the note beside
    the stress errors; ``best_any_size``: the checkpoint of the best score over every size
    when no budget selects it (:func:`acefit.selection.best_outside`), which the report
    names with the ``acefit export`` command that writes it; ``unmet_budgets``: the
    paths a budget holds no checkpoint of (:func:`acefit.selection.unmet_budgets`)."""
    from acefit import __version__
    from acefit.basis.spec import basis_summary
    from acefit.data import validation_coverage
    from acefit.data_checks import basis_elements
    from acefit.environment import environment
    from acefit.fit_settings import isolated_atom_elements, separated_atoms
    from acefit.run_folder import config_hash, timestamp
    from acefit.solver_runs import path_stop, unconverged_steps

    config_types = {}
    for name, part in (("train", data.train), ("val", data.val), ("test", data.test)):
        for c in part:
            config_types.setdefault(c.config_type, {"train": 0, "val": 0, "test": 0})
            config_types[c.config_type][name] += 1
    solvers = {}
    specs = {spec["label"]: spec for spec in cfg["solvers"]}
    for label, path in paths.items():
        sizes = [int(s) for s in path.sizes]
        solvers[label] = {"solver": path.solver, "n_checkpoints": len(path),
                          "min_active": min(sizes, default=0),
                          "max_active": max(sizes, default=0),
                          "complete": bool(getattr(path, "complete", True)),
                          "stop": path_stop(path, specs[label]),
                          "unconverged": unconverged_steps(path)}
    def with_errors(sel):
        entry = errors[sel["label"]][sel["step"]]
        return {**sel, "lam": entry.get("lam"), "train_loss": entry.get("train_loss"),
                "val_loss": entry.get("val_loss"),
                "errors": {k: entry.get(k) for k in ("train", "val", "test")}}

    chosen = [with_errors(sel) for sel in selected]
    outside = None
    if best_any_size is not None:
        outside = {**with_errors(best_any_size), "export_command": (
            f"acefit export {shlex.quote(str(run_dir))} --path "
            f"{shlex.quote(best_any_size['label'])} --step {best_any_size['step']}")}
    return json_ready({
        "report_version": REPORT_VERSION,
        "run": cfg["name"],
        "run_dir": str(run_dir),
        "config_file": cfg.get("config_file"),
        "config_hash": config_hash(cfg),
        "acefit_version": __version__,
        "finished": timestamp(),
        "resumed": resumed,
        "wall_time_s": wall_time,
        "timings_s": timings,
        "environment": environment(),
        "data": {"files": {"train": cfg["data"]["train"], "test": cfg["data"]["test"],
                           "validation": cfg["data"]["validation"]},
                 "n_configs": {"train": len(data.train), "val": len(data.val),
                               "test": len(data.test)},
                 "n_atoms": {"train": sum(c.n_atoms for c in data.train),
                             "val": sum(c.n_atoms for c in data.val),
                             "test": sum(c.n_atoms for c in data.test)},
                 "config_types": dict(sorted(config_types.items())),
                 "validation_note": validation_coverage(data.train, data.val,
                                                        cfg["data"]["validation"]),
                 "stress_reading": cfg["data"]["stress_reading"],
                 "stress_checks": [{"config_type": c.config_type, "verdict": c.verdict,
                                    "pairs": c.pairs, "bad": c.bad, "reading": c.reading,
                                    "reading_bad": c.reading_bad, "periodic": c.periodic}
                                   for c in stress_checks],
                 "doubtful_test_stresses": doubtful_stresses or {"groups": {}, "found": {}}},
        "basis": {"n_functions": len(basis), "elements": basis_elements(basis),
                  "composition": basis_summary(basis), "settings": cfg["basis"],
                  "radial": {name: basis.radial.pair_values(name)
                             for name in ("rcut", "r0", "rin")}},
        "e0": {"values": system.e0.as_symbols(), "method": system.e0.method,
               "separated_atoms": separated_atoms(cfg, basis_elements(basis),
                                                  isolated_atom_elements(data.train))},
        "repulsion": cfg["repulsion"],
        "assembly": {"rows": system.train.m, "row_counts": system.row_counts,
                     "cache_hit": system.cache_hit, "key": system.key},
        "prior": cfg["prior"],
        "solvers": solvers,
        "selection": {"metric": cfg["selection"]["metric"],
                      "budgets": cfg["selection"]["budgets"],
                      "on": "validation" if system.val is not None else "training",
                      "selected": chosen, "best_any_size": outside,
                      "unmet_budgets": list(unmet_budgets)},
        "units": {"E": "meV/atom", "F": "eV/Å", "S": "GPa"},
    })


def _err(entry, split, q, stat="mae"):
    e = (entry.get("errors") or {}).get(split)
    if not e:
        return None
    return e["all"][q][stat] if e["all"][q]["n"] else None


def summary_table(report: dict) -> str:
    """Markdown table of the selected checkpoints (what ``acefit fit`` prints at the end)."""
    rows = ["| budget | solver | active | E MAE train | E MAE val | E MAE test | E RMSE test "
            "| F MAE train | F MAE val | F MAE test | F RMSE test | S MAE test |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for sel in report["selection"]["selected"]:
        budget = "any" if sel["budget"] is None else f"≤ {sel['budget']}"
        star = " ★" if sel["best"] else ""
        rows.append(
            f"| {budget} | {sel['label']}{star} | {sel['n_active']} | "
            + " | ".join(fixed(_err(sel, s, "E", st), 2) for s, st in
                         (("train", "mae"), ("val", "mae"), ("test", "mae"), ("test", "rmse")))
            + " | "
            + " | ".join(fixed(_err(sel, s, "F", st), 4) for s, st in
                         (("train", "mae"), ("val", "mae"), ("test", "mae"), ("test", "rmse")))
            + f" | {fixed(_err(sel, 'test', 'S'), 3)} |")
    return "\n".join(rows)


def doubtful_stresses(report) -> dict:
    """``report``'s record of the test stresses its fit held in doubt
    (``data.doubtful_test_stresses``: ``groups`` and ``found``); {} for a report written
    before the record, or none."""
    record = ((report or {}).get("data") or {}).get("doubtful_test_stresses")
    return record if isinstance(record, dict) else {}


def stress_note_lines(report: dict, markdown: bool = True) -> list[str]:
    """The note below the table of selected potentials on their test stress errors, when
    they include stresses that are not fitted and whose labels are in doubt (report.json's
    ``data.doubtful_test_stresses``): the groups and why, and the headline potential's S
    MAE test without them; none otherwise (and for reports written before). ``markdown``:
    its title in bold, as report.md has it; else plain text (the fit's terminal
    summary)."""
    from acefit.consistency import MIN_PAIRS, converter_text

    doubt = doubtful_stresses(report)
    groups = doubt.get("groups")
    if not groups:
        return []
    why = []
    untested = sorted(g for g, kind in groups.items() if kind == "untested")
    inconsistent = sorted(g for g, kind in groups.items() if kind == "inconsistent")
    if untested:
        why.append(f"{', '.join(untested)}: not tested against their energies (fewer than "
                   f"{MIN_PAIRS} strain pairs), beside a converter's error of sign or units "
                   f"in {converter_text(doubt['found'])} that would go unseen in them")
    if inconsistent:
        why.append(f"{', '.join(inconsistent)}: inconsistent with their energies")
    title = "**Note on S**" if markdown else "Note on S"
    line = (f"{title}: the test stress errors include labels that are not fitted (V 0, "
            "or in the test data only) and are in doubt, as read: " + "; ".join(why) + ".")
    best = [s for s in report["selection"]["selected"] if s["best"]]
    test = ((best[-1].get("errors") or {}).get("test") or {}) if best else {}
    rest = {name: stats["S"] for name, stats in test.get("by_config_type", {}).items()
            if name not in groups and stats["S"]["n"]}
    if test:
        n = sum(stats["n"] for stats in rest.values())
        line += (f" Without them, the headline potential's S MAE test is "
                 f"{sum(stats['mae'] * stats['n'] for stats in rest.values()) / n:.3f} GPa "
                 f"({', '.join(rest)})." if n else " No other group has test stresses.")
    return [line, ""]


def unmet_budget_lines(unmet, any_selected: bool) -> list[str]:
    """One line per budget that leaves paths out of the table, naming each with its
    smallest checkpoint (``unmet``: :func:`acefit.selection.unmet_budgets`), and one
    more when no budget selected anything (``any_selected`` False): no potential; then a
    blank line, as the report's other paragraphs (none when every budget is met)."""
    by_budget = {}
    for u in unmet:
        by_budget.setdefault(u["budget"], []).append(u)
    lines = []
    for budget, entries in by_budget.items():
        why = [f"{u['label']} (smallest checkpoint: {u['smallest']} functions)"
               if budget is not None and u["smallest"] > budget
               else f"{u['label']} (no score of a checkpoint within it)" for u in entries]
        lines.append(f"Budget {'any' if budget is None else f'≤ {budget}'}: "
                     f"{' and '.join(why)} {'has' if len(why) == 1 else 'have'} no "
                     f"checkpoint to select; the table leaves "
                     f"{'it' if len(why) == 1 else 'them'} out.")
    if unmet and not any_selected:
        lines.append("No potential was exported: no budget holds a checkpoint. Raise "
                     "selection.budgets above the smallest sizes, or export a checkpoint "
                     "with `acefit export <run> --path <label> --step <n>`.")
    return lines + [""] if lines else []


def best_any_size_lines(selection: dict) -> list[str]:
    """One line on the checkpoint of the best score over every size when the table does
    not hold it (``best_any_size``), with the command that exports it; none otherwise."""
    best = selection.get("best_any_size")
    if not best:
        return []
    budgets = [b for b in selection["budgets"] if b is not None]
    where = f", above the largest budget ({max(budgets)})" if budgets else ""
    test = [(q, _err(best, "test", q), k) for q, k in (("E", 2), ("F", 4), ("S", 3))]
    test = (", test MAE " + ", ".join(f"{q} {fixed(v, k)}" for q, v, k in test)
            if any(v is not None for _, v, _ in test) else "")
    core = _no_core(best) or ("; dimers: every pair has a repulsive core"
                              if best.get("dimers") else "")
    return [f"Best {selection['metric']} on the {selection['on']} set at any size: "
            f"{best['label']} step {best['step']}, {best['n_active']} active functions"
            f"{where}: {selection['metric']} {best['score']:.4g}{test}{core}. Export it with "
            f"`{best['export_command']}`.", ""]


def _resolution_table(selected) -> str:
    """How precisely the test set measures the selected potentials' test MAEs."""
    from acefit.metrics import interval_text

    rows = [s for s in selected if s.get("test_resolution")]
    if not rows:
        return ""
    n = rows[0]["test_resolution"]["E"]["configs"] or rows[0]["test_resolution"]["F"]["configs"]

    out = [f"How precisely the test set ({n} configurations) measures these errors: test MAE "
           "± bootstrap standard error [95 % interval], drawing whole configurations; and "
           "the difference to the headline potential (`potential.h5`) on the same draws "
           "(paired: a difference within about two of its standard errors is one the test "
           "set cannot resolve).",
           "",
           "| budget | solver | E MAE test | F MAE test | E − headline | F − headline |",
           "|---|---|---|---|---|---|"]
    for sel in rows:
        r = sel["test_resolution"]
        d = r.get("minus_headline") or {}
        budget = "any" if sel["budget"] is None else f"≤ {sel['budget']}"
        star = " ★" if sel["best"] else ""
        diff = ["(headline)" if not d else interval_text(d[q], k, signed=True, bounds=False)
                for q, k in (("E", 2), ("F", 4))]
        out.append(f"| {budget} | {sel['label']}{star} | {interval_text(r['E'], 2)} | "
                   f"{interval_text(r['F'], 4)} "
                   f"| {diff[0]} | {diff[1]} |")
    return "\n".join(out)


def _committee_text(selected) -> str:
    """The committees of the selected potentials (``export.committee``) on the test set,
    and the headline potential's per ``config_type``."""
    from acefit.evaluate import committee_by_config_type_table, committee_table

    rows = [s for s in selected if s.get("committee")]
    table = committee_table([_budget_label(s) for s in rows],
                            [s["committee"].get("test") for s in rows],
                            [s["committee"]["scale"] for s in rows])
    if not table:
        return ""
    spread = ("the spread of each quantity scaled to its validation errors" if
              all("val" in s["committee"] for s in rows) else
              "their spread the posterior's own, **not scaled** to the errors: the run has "
              "no validation set (scale 1; set data.validation to calibrate it)")
    text = (f"Committees of {rows[0]['committee']['members']} members: BLR posterior draws on "
            f"each potential's functions, {spread}. On the test set (calibrated: RMS of "
            "error / SD near 1, 95 % within 2 SD; E per configuration, F and S per "
            "component):\n\n" + table)
    headline = [s for s in rows if s["best"]][-1:]
    by_type = headline and committee_by_config_type_table(
        [_budget_label(headline[0])], [headline[0]["committee"].get("test_by_config_type")],
        [headline[0]["committee"]["scale"]])
    if by_type:
        text += ("\n\nThe headline potential's per config_type (one scale per quantity "
                 "can be cautious on one kind of configuration, below 1, and overconfident "
                 "on another, above 1):\n\n" + by_type)
    return text


def _budget_label(sel) -> str:
    budget = "any" if sel["budget"] is None else f"≤ {sel['budget']}"
    return f"{sel['label']} {budget}"


def _config_type_table(sel: dict) -> str:
    rows = ["| config_type | set | E MAE | E RMSE | F MAE | F RMSE | S MAE | S RMSE |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    for split in ("train", "val", "test"):
        e = (sel.get("errors") or {}).get(split)
        if not e:
            continue
        for name, stats in e["by_config_type"].items():
            rows.append(f"| {name} | {split} | {fixed(stats['E']['mae'], 2)} | "
                        f"{fixed(stats['E']['rmse'], 2)} | {fixed(stats['F']['mae'], 4)} | "
                        f"{fixed(stats['F']['rmse'], 4)} | {fixed(stats['S']['mae'], 3)} | "
                        f"{fixed(stats['S']['rmse'], 3)} |")
    return "\n".join(rows)


def _element_table(sel: dict) -> str:
    """The force errors per element of a selected potential (``errors_by_element``): one
    row per element with force labels in any set, the atoms with force labels and the
    MAE ± bootstrap SE of each set, the test RMSE; the elements without any named once
    below; "" when no element has any."""
    from acefit.evaluate import mae_cell, without_force_labels

    by_split = sel["errors_by_element"]
    symbols = next((e for e in by_split.values() if e), {})
    rows = ["| element | atoms (train/val/test) | F MAE train | F MAE val | F MAE test "
            "| F RMSE test |", "|---|---:|---:|---:|---:|---:|"]
    unlabelled = []
    for symbol in symbols:
        stats = {split: (by_split.get(split) or {}).get(symbol, {}).get("F")
                 for split in ("train", "val", "test")}
        if not any(f and f["n"] for f in stats.values()):
            unlabelled.append(symbol)
            continue
        atoms = "/".join("–" if f is None else str(f["n"] // 3) for f in stats.values())
        cells = ["–" if f is None else mae_cell(f, 4) for f in stats.values()]
        test = stats["test"]
        rows.append(f"| {symbol} | {atoms} | " + " | ".join(cells)
                    + f" | {fixed(None if test is None or not test['n'] else test['rmse'], 4)} |")
    if len(rows) == 2:
        return ""
    return "\n".join(rows) + without_force_labels(unlabelled)


def to_markdown(report: dict) -> str:
    from acefit.environment import environment_line
    from acefit.short_range import pairs_without_core
    from acefit.validate import separated_atoms_note
    from acefit.solver_runs import stop_text

    sel = report["selection"]
    best = [s for s in sel["selected"] if s["best"]]
    headline = best[-1] if best else None
    d = report["data"]
    lines = [
        f"# acefit run `{report['run']}`",
        "",
        f"acefit {report['acefit_version']}, finished {report['finished']}, wall time "
        f"{report['wall_time_s']:.1f} s{' (resumed)' if report['resumed'] else ''}. "
        f"Config: `{report['config_file']}`."
        + (f" Ran on: {environment_line(report['environment'])}."
           if report.get("environment") else ""),
        "",
        "## Data and basis",
        "",
        f"- configurations: {d['n_configs']['train']} train ({d['n_atoms']['train']} atoms), "
        f"{d['n_configs']['val']} validation, {d['n_configs']['test']} test",
        "- config types: " + ", ".join(f"{k} ({v['train']}/{v['val']}/{v['test']})"
                                       for k, v in d["config_types"].items())
        + " (train/val/test)",
        *([f"- **note**: {d['validation_note']}"] if d.get("validation_note") else []),
        *_stress_reading_lines(d.get("stress_reading")),
        *_stress_check_lines(d.get("stress_checks", [])),
        f"- basis: {report['basis']['n_functions']} functions of {', '.join(report['basis']['elements'])} "
        f"({report['basis']['composition']})",
        *_radial_lines(report["basis"]),
        "- E0 (" + report["e0"]["method"] + "): " + ", ".join(
            f"{k} {v:.4f} eV" for k, v in report["e0"]["values"].items())
        + _free_atoms_text(report["e0"].get("separated_atoms")),
        _repulsion_line(report.get("repulsion")),
        f"- least squares: {report['assembly']['rows']} weighted rows (E/F/V "
        + "/".join(str(report["assembly"]["row_counts"][k]) for k in ROW_KINDS)
        + f"){', from the cache' if report['assembly']['cache_hit'] else ''}",
        "",
        "## Solver paths",
        "",
        "| solver | method | checkpoints | active functions | ended early |",
        "|---|---|---:|---|---|",
    ]
    for label, s in report["solvers"].items():
        lines.append(f"| {label} | {s['solver']} | {s['n_checkpoints']} | "
                     f"{s['min_active']}–{s['max_active']} | "
                     f"{stop_text(s.get('stop'), s.get('unconverged', 0), s['n_checkpoints'])} |")
    lines += [
        "",
        "## Selected potentials",
        "",
        f"Best {sel['metric']} on the {sel['on']} set per size budget; ★ = best across "
        f"solvers. Units: E meV/atom, F eV/Å, S GPa.",
        "",
        *([summary_table(report), ""] if sel["selected"] else []),
        *stress_note_lines(report),
        *best_any_size_lines(sel),
        *unmet_budget_lines(sel.get("unmet_budgets", ()), bool(sel["selected"])),
    ]
    resolution = _resolution_table(sel["selected"])
    if resolution:
        lines += [resolution, ""]
    committee = _committee_text(sel["selected"])
    if committee:
        lines += [committee, ""]
    files = [(s, f) for s in sel["selected"] for fs in s.get("files", {}).values() for f in fs]
    if files:
        lines += ["Files:", ""]
        lines += [f"- `{f}` ({s['label']}, {s['n_active']} functions{_one_body(s)}"
                  f"{_no_core(s)})" for s, f in files]
        lines.append("")
    if headline and headline.get("dimers"):
        dimers = headline["dimers"]
        bad = pairs_without_core(dimers)
        lines += ["Dimers of the headline potential (0.5-3 Å, `acefit validate` for more): "
                  + (f"**no repulsive core for {', '.join(bad)}**" if bad else
                     "every pair has a repulsive core") + ", "
                  + ", ".join(f"{pair} {v['shortest_eV']:.4g} eV at 0.5 Å"
                              + (" (no training data)" if v.get("no_training_data") else "")
                              for pair, v in dimers.items()) + "."
                  + _alternatives(sel, headline)
                  + _prefixed(separated_atoms_note(report["e0"].get("separated_atoms"))), ""]
    if headline and headline.get("compression"):
        lines += [*_compression_lines(headline["compression"]), ""]
    if headline:
        lines += [f"## Errors per config_type of the headline potential ({headline['label']}, "
                  f"{headline['n_active']} functions)", "", _config_type_table(headline), ""]
    elements = (headline and any((headline.get("errors_by_element") or {}).values())
                and _element_table(headline))
    if elements:
        lines += [f"## Force errors per element of the headline potential ({headline['label']}; "
                  "eV/Å, MAE ± bootstrap standard error over configurations, atoms with force "
                  "labels)", "", elements, ""]
    t = report["timings_s"]
    lines += ["## Timings", "", "| stage | seconds |", "|---|---:|"]
    lines += [f"| {k} | {v:.1f} |" for k, v in t.items()]
    lines += [f"| total | {report['wall_time_s']:.1f} |", ""]
    return "\n".join(lines)


def _compression_lines(verdicts: dict) -> list[str]:
    """The headline potential's compressed crystals (``compression``): one line, and one
    more per crystal that collapses."""
    from acefit.short_range import collapse_text

    held = [f"{v['structure']} {el}" for el, v in verdicts.items() if v["holds"]]
    bad = [(el, v) for el, v in verdicts.items() if v["holds"] is False]
    skipped = [f"{el} ({v['reason']})" for el, v in verdicts.items() if v["holds"] is None]
    head = ("Compressed crystals of the headline potential (60-90 % of its lattice "
            "constant a; `acefit validate` shows the energies): "
            + "; ".join(part for part in (
                f"{', '.join(held)} hold{'s' if len(held) == 1 else ''}" if held else "",
                f"not compressed: {', '.join(skipped)}" if skipped else "",
                f"**{len(bad)} collapse{'s' if len(bad) == 1 else ''}**" if bad else "")
                if part) + (":" if bad else "."))
    return [head, *[f"- {collapse_text(el, v)}" for el, v in bad]]


def _radial_lines(basis: dict) -> list:
    """The distances of the radial functions, as the basis resolved them (a null r0 is
    each pair's reference crystal distance); none for a report without them."""
    radial, settings = basis.get("radial"), basis["settings"]
    if not radial:
        return []

    def per_pair(values):
        if len(set(values.values())) == 1:
            return f"{next(iter(values.values())):.4g} Å"
        return ", ".join(f"{pair} {v:.4g}" for pair, v in values.items()) + " Å"

    rin = "" if not any(radial["rin"].values()) else f", rin {per_pair(radial['rin'])}"
    r0 = settings["r0"]
    if r0 is None:
        reference = list(radial["r0"])
    elif not isinstance(r0, dict) or "default" in r0:
        reference = []
    else:   # the pairs the mapping leaves out (it may name them in either order)
        named = {frozenset(pair.split("-")) for pair in r0}
        reference = [pair for pair in radial["r0"] if frozenset(pair.split("-")) not in named]
    note = ("" if not reference else " (each pair's reference crystal distance)"
            if len(reference) == len(radial["r0"]) else
            f" ({', '.join(reference)}: the reference crystals' distance)")
    return [f"- radial functions: {settings['transform']} transform, {settings['envelope']} "
            f"envelope; rcut {per_pair(radial['rcut'])}, r0 {per_pair(radial['r0'])}{note}"
            + rin]


def _stress_reading_lines(reading) -> list[str]:
    """The stresses read otherwise than as labelled (``data.stress_reading``), as one line."""
    from acefit.consistency import describe_reading

    if not reading:
        return []
    default = reading["default"]
    own = {name: r for name, r in reading["config_type"].items() if r != default}
    groups = [f"{name}: {describe_reading(r)}" for name, r in own.items()]
    if default != "as_labelled":
        groups.append(("every other group: " if own else "every group: ")
                      + describe_reading(default))
    return (["- stresses read otherwise than as labelled (data.stress_reading): "
             + "; ".join(groups)] if groups else [])


def _stress_check_lines(checks) -> list[str]:
    """The stress checks (report.json's records) of the groups that had strain pairs to
    test, as one line."""
    from acefit.consistency import MISS, StressCheck

    tested = [StressCheck(**{k: v for k, v in c.items() if k != "verdict"})
              for c in checks if c["verdict"] != "untested"]
    if not tested:
        return []
    return ["- stresses against energies on strain pairs (pairs missing ΔE by > "
            f"{100 * MISS:.0f} %): " + "; ".join(c.summary() for c in tested)]


def write_report(report: dict, run_dir) -> None:
    """Write report.json and report.md atomically into ``run_dir``."""
    from acefit.atomic import write_json, write_text

    run_dir = Path(run_dir)
    write_json(run_dir / "report.json", report)
    write_text(run_dir / "report.md", to_markdown(report))


def _alternatives(selection: dict, headline: dict) -> str:
    """The selected potentials with a repulsive core for every pair, named when the
    headline has none for some pair (" " and a sentence, or "")."""
    from acefit.short_range import alternatives_text, cored_alternatives

    text = alternatives_text(cored_alternatives(selection["selected"], headline),
                             selection["metric"], selection["on"], headline)
    return f" {text}." if text else ""


def _no_core(selected) -> str:
    from acefit.short_range import pairs_without_core

    bad = pairs_without_core(selected.get("dimers"))
    return f"; **no repulsive core for {', '.join(bad)}**" if bad else ""


def _free_atoms_text(record) -> str:
    """The E0 line's note on the separated atoms no free atom pins (a record of
    :func:`acefit.fit_settings.separated_atoms`; "" for none)."""
    if not record:
        return ""
    return (f" (not free atoms' energies: no isolated-atom frame pins "
            f"{', '.join(record['elements'])}; energies relative to the separated atoms, "
            "as the dimers', are not the data's)")


def _prefixed(text: str) -> str:
    return f" {text}" if text else ""


def _one_body(selected) -> str:
    values = selected.get("one_body_eV")
    if not values:
        return ""
    return "; one-body energies on top of E0: " + ", ".join(
        f"{el} {v:+.4f} eV/atom" for el, v in values.items())


def _repulsion_line(repulsion) -> str:
    if not repulsion or repulsion["kind"] == "none":
        return "- core repulsion: none"
    return (f"- core repulsion: {repulsion['kind'].upper()}, switched off between "
            f"{repulsion['inner']:g} and {repulsion['outer']:g} Å")

"""``acefit fit``: a run (or its config checked, or its plan), and its summary."""

from __future__ import annotations

import sys

from acefit.commands import EXIT_ERROR, EXIT_OK


def run(args, progress) -> int:
    """Run ``acefit fit`` for the parsed ``args``; the exit status.
    ``progress``: False for no progress bars (--no-progress), else None."""
    from acefit.config import ConfigError, dump_config, group_keys_to_check, load_config

    try:
        cfg = load_config(args.config, args.overrides)
    except FileNotFoundError as exc:
        raise ConfigError([(str(args.config), str(exc))], str(args.config)) from None
    if args.output is not None:
        cfg["output"]["directory"] = str(args.output)
    if args.check:
        print(dump_config(cfg), end="")
        groups = group_keys_to_check(cfg)
        unchecked = (f" (the config_type names in {' and '.join(groups)} are checked against "
                     "the data by --plan and fit)") if groups else ""
        print(f"# {args.config}: valid{unchecked}", file=sys.stderr)
        return EXIT_OK
    if args.plan:
        from acefit.plan import plan, plan_text

        print(plan_text(plan(cfg)))
        return EXIT_OK
    from acefit.pipeline import run_fit
    from acefit.report import (best_any_size_lines, stress_note_lines, summary_table,
                               unmet_budget_lines)

    result = run_fit(cfg, force=args.force, progress=progress)
    print()
    selection = result.report["selection"]
    if selection["selected"]:       # else the lines below say why the table is empty
        print(summary_table(result.report))
        print()
    for line in (stress_note_lines(result.report, markdown=False)
                 + best_any_size_lines(selection)
                 + unmet_budget_lines(selection["unmet_budgets"], bool(selection["selected"]))):
        print(line)
    head = [s for s in result.report["selection"]["selected"] if s["best"]]
    files = head[-1].get("files", {}) if head else {}
    print(f"Run directory: {result.run_dir}  (report.md, report.json, acefit.log)")
    for fmt, paths in files.items():
        what = "LAMMPS pair commands" if fmt == "lammps" else f"Potential ({fmt})"
        print(f"{what}: " + ", ".join(str(result.run_dir / p) for p in paths))
    print(f"Wall time: {result.wall_time:.1f} s")
    problem = export_problem(selection["selected"], cfg["export"]["formats"], result.run_dir)
    if problem:     # a job's next step (LAMMPS) would find no potential: not its work done
        print(f"acefit: error: {problem}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def export_problem(selected, formats, run_dir) -> str | None:
    """What the fit did not export of what ``export.formats`` asked for, or None when every
    selected potential has each format.

    Parameters
    ----------
    selected : list of dict
        The report's ``selection.selected``: each with the ``files`` written by format.
    formats : list of str
        The config's ``export.formats`` (none asked for: nothing is missing). A potential of
        no active function is missing only its ``acefit`` file: the others cannot hold it.
    run_dir : pathlib.Path
    """
    if not formats:
        return None
    finished = f"the run in {run_dir} is finished, its checkpoints there for `acefit export`"
    if not selected:
        return f"no potential exported: no budget holds a checkpoint (above); {finished}"
    # a model of no active function (min_lambda at or above λ_max) has no .yace to write:
    # the log said so, and that is not a format left unwritten
    missing = {fmt: sum(fmt not in s["files"] and (s["n_active"] > 0 or fmt == "acefit")
                        for s in selected) for fmt in formats}
    if not any(missing.values()):
        return None
    return ("not written: " + "; ".join(f"{fmt} of {n} of the {len(selected)} selected "
                                         "potential(s)" for fmt, n in missing.items() if n)
            + f" (export.formats: {', '.join(formats)}; the warnings above say why); {finished}")

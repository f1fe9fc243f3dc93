"""``acefit evaluate``: fitted potentials scored on labelled data, read with the label
keys they were fitted with; notes on data the scores cannot be taken at their word on
(a run's own training data, its own predictions, stresses that disagree with their
energies).
"""

from __future__ import annotations

import os
from pathlib import Path

from acefit.commands import EXIT_OK, UsageError
from acefit.commands.files import potential_file, refuse_overwriting

EVALUATE_LABELS = ("energy", "forces", "stress", "virial", "config_type")


def key_option(label: str) -> str:
    """The option that names ``label``'s key: ``--energy-key``, ``--config-type-key``."""
    return f"--{label.replace('_', '-')}-key"


def _stress_readings(given) -> dict:
    """The ``--stress-reading`` options (:func:`acefit.cli._stress_reading`'s pairs) as
    config_type (None: the default) -> reading; a ValueError for a group given two
    readings (the last one would win unseen)."""
    readings = {}
    for group, name in given:
        if readings.setdefault(group, name) != name:
            what = "the default" if group is None else f"config_type {group!r}"
            raise UsageError(f"--stress-reading: {what} given two readings, "
                             f"{readings[group]} and {name}; allowed: one reading each")
    return readings


def run(args, progress) -> int:
    """Run ``acefit evaluate`` for the parsed ``args``; the exit status.
    ``progress``: False for no progress bars (--no-progress), else None."""
    from acefit.consistency import read_stresses
    from acefit.data import changed_label_keys, read_configurations
    from acefit.evaluate import (committee_by_config_type_table, committee_table,
                                 element_table, errors_table, evaluate, paired_table,
                                 parity_plot, worst_table, write_predictions)
    from acefit.potential import Potential

    for option in ("--predictions", "--plot", "--json"):
        refuse_overwriting(option, getattr(args, option[2:]), "--data", args.data)
    for f in args.potentials:       # the format first: said also where the file is not
        if f.suffix == ".yace":
            raise UsageError(f"{f}: acefit evaluate reads acefit potential files (.h5), not "
                             f".yace; the fit wrote {f.with_suffix('.h5').name} beside it")
    files = [potential_file(p) for p in args.potentials]
    potentials = [Potential.load(f) for f in files]     # each named if no regular file
    readings = _stress_readings(args.stress_reading)
    default = readings.pop(None, "as_labelled")
    labels = potential_labels(args.potentials)
    given = {label: key for label in EVALUATE_LABELS
             if (key := getattr(args, f"{label}_key")) is not None}
    keys, notes = _evaluate_keys(args.potentials, potentials, given)
    try:
        configs = read_configurations(args.data, keys, require=changed_label_keys(given),
                                      option=key_option)
    except ValueError as exc:   # a frame of --data the readers refuse (it names it): exit 2
        raise UsageError(str(exc)) from exc
    groups = {c.config_type for c in configs}
    if set(readings) - groups:
        raise UsageError(f"--stress-reading: config_type {sorted(set(readings) - groups)} is "
                         f"in no configuration of --data; allowed: {sorted(groups)}")
    configs = read_stresses(configs, default, readings)
    result = evaluate(potentials, configs, labels, resamples=args.resamples, progress=progress,
                      unlabelled=args.predictions is not None)  # else nothing reads them
    n_atoms = sum(cfg.n_atoms for cfg in configs)
    print(f"{len(configs)} configurations ({n_atoms} atoms) from "
          + ", ".join(str(f) for f in args.data)
          + ". MAE ± bootstrap standard error over the configurations, and RMSE: "
            "E meV/atom, F eV/Å, S GPa.")
    fitted_data = _fitted_data(args.potentials, potentials, configs)
    for note in notes + _fitted_data_notes(fitted_data, labels, len(configs)):
        print(note)
    from acefit.consistency import check_stresses

    checks = check_stresses(configs)    # once, for both kinds of note
    stress_notes = _stress_check_notes(checks) + _untested_stress_notes(
        configs, checks, {"default": default, "config_type": readings},
        {r["run"] for r in fitted_data if r is not None}, args.data)
    for line in stress_notes + _own_prediction_notes(result, fitted_data):
        print(line)
    for label, plural in (("energy", "energies"), ("forces", "forces")):
        if all(getattr(cfg, label) is None for cfg in configs):
            print(f"No {plural} scored: " + (
                f"no frame has {'an energy' if label == 'energy' else 'a force'} label under "
                f"{keys[label]!r} ({key_option(label)} names another)." if keys[label] else
                f"the {label} key is null."))
    for j, (label, pot, f) in enumerate(zip(labels, potentials, files)):
        solver = pot.metadata.get("solver")
        print(f"\n{label}: {f} ({len(pot)} active functions"
              + (f", {solver}" if solver else "")
              + f"; energy, forces and stress in {result.ms_per_atom[j]:.3f} ms/atom here)\n")
        print(errors_table(result, j))
        by_element = element_table(result, j)
        if by_element:
            print(f"\nForces per element ({label}):\n\n{by_element}")
    worst = worst_table(result, args.worst) if args.worst > 0 else ""
    if worst:
        print(f"\nLargest errors (ΔE: prediction − label, meV/atom; F MAE eV/Å):\n\n{worst}")
    scales = [pot.committee_scale for pot in potentials]
    committee = committee_table(result.labels, result.committee, scales)
    if committee:
        print("\nCommittees: does the spread of the members measure the errors (calibrated: "
              "RMS of error / SD near 1, 95 % within 2 SD)? E meV/atom per configuration, F "
              f"eV/Å and S GPa per component.\n\n{committee}")
    by_type = committee_by_config_type_table(result.labels, result.committee_by_config_type,
                                             scales)
    if by_type:
        print("\nThe same per config_type: where the committee is cautious (below 1) or "
              f"overconfident (above 1).\n\n{by_type}")
    if len(potentials) > 1:
        print("\nPaired on the same draws of the configurations (a difference within about "
              "two standard errors is one this data cannot resolve):\n")
        print(paired_table(result))
    written = []
    if args.predictions is not None:
        written.append(write_predictions(args.predictions, result))
    if args.plot is not None:
        written.append(parity_plot(args.plot, result))
    if args.json is not None:
        from acefit.atomic import write_json

        record = result.to_dict()
        record["potentials"] = [{"file": str(f), **p, "fitted_data": d}
                                for f, p, d in zip(files, record["potentials"], fitted_data)]
        written.append(write_json(args.json, record))
    if written:
        print("\n" + "\n".join(f"wrote {path}" for path in written))
    return EXIT_OK


def _fitted_data(paths, potentials, configs) -> list:
    """Per potential, None where its run is not known (:func:`acefit.runs.potential_run`),
    else the record of its run (one dict shared by the potentials of a run): ``run``,
    ``count`` and ``configurations`` (file and frame) of ``configs`` that are the run's
    training or validation data (the same structure, :func:`acefit.data.structure_key`),
    both None when ``missing_files`` names data files of the run that are gone."""
    from acefit.data import structure_key
    from acefit.query import labelled_structures
    from acefit.runs import potential_run, run_data_files

    found, runs, keys = [], {}, None     # runs: real path -> record
    for path, pot in zip(paths, potentials):
        run = potential_run(path, pot)
        if run is None:
            found.append(None)
            continue
        if os.path.realpath(run) not in runs:
            files = run_data_files(run, ("train", "validation"))
            missing = [str(f) for f in files if not f.is_file()]
            seen = None
            if not missing:
                fitted = labelled_structures(files, name="data file of the run")
                keys = keys or [structure_key(cfg.atoms) for cfg in configs]
                seen = [cfg.where for cfg, key in zip(configs, keys) if key in fitted]
            runs[os.path.realpath(run)] = {
                "run": str(run), "count": None if seen is None else len(seen),
                "configurations": seen, "missing_files": missing}
        found.append(runs[os.path.realpath(run)])
    return found


def _fitted_data_notes(found, labels, n_configs: int, shown: int = 3) -> list[str]:
    """A line per run of :func:`_fitted_data`'s records ``found`` (one per potential, named
    by ``labels``) whose training or validation files hold configurations of the
    ``n_configs`` of --data: their errors measure the fit, not the prediction. How many,
    and the first ``shown`` by file and frame; or that the run's data files are gone."""
    lines = []
    for record in {id(r): r for r in found if r is not None}.values():
        names = [label for label, r in zip(labels, found) if r is record]
        run, seen = record["run"], record["configurations"]
        if seen is None:
            lines.append(f"note: the data of run {run} ({', '.join(record['missing_files'])}) "
                         "are not there any more: whether --data holds its configurations "
                         "is not known.")
        elif seen:
            lines.append(f"note: {len(seen)} of {n_configs} configurations of --data are "
                         f"training or validation data of run {run} ({', '.join(names)}): "
                         "their errors measure the fit, not the prediction (first: "
                         + "; ".join(seen[:shown]) + ("; ..." if len(seen) > shown else "")
                         + ").")
    return lines


def _own_prediction_notes(result, fitted_data, shown: int = 3) -> list[str]:
    """A warning per potential of ``result`` (:class:`acefit.evaluate.Evaluation`) whose
    own predictions some configurations carry as labels (``own_predictions``): a
    trajectory written with it, or data it reproduces exactly, whose errors are zero by
    construction. Configurations named already as its run's training or validation data
    (``fitted_data``, :func:`_fitted_data`) are left out. They stay in the scores (another
    potential's errors on them are its differences to this one, and ``--predictions``
    writes them), named with how many and the first ``shown``."""
    from acefit.evaluate import OWN_RTOL

    lines = []
    for label, own, run in zip(result.labels, result.own_predictions, fitted_data):
        known = set((run or {}).get("configurations") or ())
        where = [result.configs[i].where for i in own if result.configs[i].where not in known]
        if where:
            lines.append(
                f"warning: {len(where)} of {len(result.configs)} configurations of --data "
                f"carry labels equal to the predictions of {label} (every label, to "
                f"{OWN_RTOL:g} relative): written with it (ASE stores its calculator's results "
                "as a frame's labels, as in an MD trajectory), or data it reproduces exactly; "
                "its errors on them are zero by construction, and they are scored with the "
                "others (first: " + "; ".join(where[:shown])
                + ("; ..." if len(where) > shown else "") + "). If they were written with it, "
                "label them with the reference method to score the potential on them.")
    return lines


def _stress_check_notes(checks) -> list[str]:
    """A line for each config_type whose stresses, as read, disagree with their energies
    (``checks``: :func:`acefit.consistency.check_stresses` of the data): its stress errors
    measure the labels, not the potentials; with the reading under which they agree, if
    one does."""
    import shlex

    lines = []
    for check in checks:
        if check.verdict != "inconsistent":
            continue
        line = (f"note: {check.summary()}: the stress errors of {check.config_type} measure "
                "these labels, not the potentials")
        if check.reading:
            option = shlex.quote(f"{check.config_type}={check.reading}")
            line += (f"; they agree with the energies read with {check.reading_description}: "
                     f"--stress-reading {option}")
        lines.append(line + ".")
    return lines


def _untested_stress_notes(configs, checks, readings: dict, runs, files) -> list[str]:
    """A line naming the config_types of ``configs`` (``checks``: their
    :func:`acefit.consistency.check_stresses`) whose stresses are scored as labelled
    (``readings``, the --stress-reading options) but no strain pair tested, when a
    converter's error of sign or units is known beside them (the same error would go
    unseen in them): found in other groups of ``configs``
    (:func:`acefit.consistency.converter_errors`), or corrected by the
    ``data.stress_reading`` of a potential's run (``runs``, their directories) that read
    one of ``files`` (--data) itself; a run's reading says nothing of other files, which
    may come from another converter. None without such an error."""
    import shlex

    from acefit.consistency import (CONVERTER_READINGS, MIN_PAIRS, converter_errors,
                                    converter_text, untested_beside_converters)
    from acefit.runs import run_data_files, run_stress_reading

    here = converter_errors(checks, readings)
    found = dict(here)
    given = {os.path.realpath(f) for f in files}
    for run in runs:
        if not given & {os.path.realpath(f) for f in run_data_files(run)}:
            continue
        fitted = run_stress_reading(run)
        groups = {"": fitted["default"], **fitted["config_type"]}
        found.update({f"the {group}{' ' * bool(group)}stresses that run {run} read from "
                      "--data": reading for group, reading in groups.items()
                      if reading in CONVERTER_READINGS and group not in here})
    untested = untested_beside_converters(checks, readings, found)
    if not untested:
        return []
    common = set(found.values())
    stressed = {c.config_type for c in configs if c.stress is not None}
    # one reading for all when the groups it leaves as labelled are none
    advice = ("with --stress-reading " + (
        min(common) if stressed <= set(untested) | set(here) else
        " --stress-reading ".join(shlex.quote(f"{group}={min(common)}") for group in untested))
        if len(common) == 1 else "with --stress-reading GROUP=NAME")
    return [f"note: the stresses of {', '.join(untested)} are scored as labelled, but fewer "
            f"than {MIN_PAIRS} strain pairs tested them against their energies, beside a "
            f"converter's error of sign or units in {converter_text(found)}: the same error "
            "would go unseen in them, and their stress errors would measure it, not the "
            f"potentials; if they are in that convention too, read them so ({advice})."]


def _evaluate_keys(paths, potentials, given: dict) -> tuple[dict, list]:
    """The label keys ``evaluate`` reads its data with: each of ``given`` (the --*-key
    options), else the key the first of ``potentials`` whose fit's keys are known was
    fitted with (:func:`acefit.runs.fitted_label_keys`), else the default; and lines that
    say where they came from and name a potential fitted with other keys."""
    from acefit.data import LABEL_KEYS
    from acefit.runs import fitted_label_keys

    known = [(path, *found) for path, pot in zip(paths, potentials)
             if (found := fitted_label_keys(path, pot)) is not None]
    default = {label: LABEL_KEYS[label] for label in EVALUATE_LABELS}
    fitted = {label: known[0][1][label] for label in EVALUATE_LABELS} if known else default
    keys = {**fitted, **given}
    if "stress" in given and "virial" not in given:
        keys["virial"] = None       # a fit's virial would be read in place of the stress
    notes, taken = [], {label: key for label, key in fitted.items()
                        if label not in given and key != default[label]}
    if taken:
        notes.append(f"Labels read as {known[0][0]} was fitted ({known[0][2]}): "
                     + ", ".join(f"{label} <- {key}" for label, key in taken.items())
                     + "; --energy-key and the like override.")
    for path, other, source in known[1:]:
        differ = {label: other[label] for label in EVALUATE_LABELS
                  if label not in given and other[label] != fitted[label]}
        if differ:
            notes.append(f"note: {path} was fitted with other label keys ("
                         + ", ".join(f"{label} <- {key}" for label, key in differ.items())
                         + f", {source}); every potential is scored on the labels read as "
                           f"{known[0][0]} was fitted.")
    return keys, notes


def potential_labels(paths) -> list[str]:
    """Short distinct names of potential files or run directories, for tables and keys:
    the file stem (or the run directory's name), with its folder's name where two
    stems are the same, and a number where that is not enough."""
    paths = [Path(p) for p in paths]
    names = [p.name if p.is_dir() else p.stem for p in paths]
    if len(set(names)) == len(names):
        return names
    qualified = [f"{p.resolve().parent.name}_{n}" for p, n in zip(paths, names)]
    if len(set(qualified)) == len(qualified):
        return qualified
    return [f"{j}_{n}" for j, n in enumerate(names)]

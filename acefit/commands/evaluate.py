"""``acefit evaluate``: fitted potentials scored on labelled data, read with the label
keys they were fitted with; notes on data the scores cannot be taken at their word on
(a run's own training data, its own predictions, stresses that disagree with their
energies: :mod:`acefit.evaluation_notes`). The options read, the library called
(:mod:`acefit.evaluate`), its tables and notes printed.
"""

from __future__ import annotations

from acefit.commands import EXIT_OK, UsageError
from acefit.commands.files import potential_file, refuse_overwriting
from acefit.evaluation_notes import EVALUATE_LABELS, key_option

def __getattr__(name):
    # potential_labels, the name this module had it under, without importing
    # acefit.evaluate (numpy, the basis) when the parser reads EVALUATE_LABELS
    if name == "potential_labels":
        from acefit.evaluate import potential_labels

        return potential_labels
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
                                 element_table, errors_table, evaluate, evaluation_record,
                                 paired_table, parity_plot, potential_labels, worst_table,
                                 write_predictions)
    from acefit.evaluation_notes import evaluation_notes, fitted_data, label_keys
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
    keys, key_notes = label_keys(args.potentials, potentials, given)
    read = {}       # what the reader saw of the files: the keys that look like labels
    try:
        configs = read_configurations(args.data, keys, require=changed_label_keys(given),
                                      option=key_option, found=read)
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
          + ". MAE ± bootstrap standard error over the configurations (none for a group "
            "of one), and RMSE: E meV/atom, F eV/Å, S GPa.")
    fitted = fitted_data(args.potentials, potentials, configs)
    for note in key_notes + evaluation_notes(
            result, fitted, keys, {"default": default, "config_type": readings}, args.data,
            read):
        print(note)
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

        written.append(write_json(args.json, evaluation_record(result, files, fitted)))
    if written:
        print("\n" + "\n".join(f"wrote {path}" for path in written))
    return EXIT_OK


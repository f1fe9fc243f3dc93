"""What scores on labelled data cannot be taken at their word on, in notes to print.

:func:`acefit.evaluate.evaluate` scores potentials on any labelled data. Some of the data
say less than their errors suggest, and ``acefit evaluate`` says so beside its tables;
this module finds it, for the command and for a script alike:

* the label keys the data are read with, as the potentials were fitted
  (:func:`label_keys`), with a note where a potential was fitted with others;
* configurations that are a potential's own run's training or validation data
  (:func:`fitted_data`, :func:`fitted_data_notes`): their errors measure the fit;
* labels that are a potential's own predictions (:func:`own_prediction_notes`): a
  trajectory written with it, scored at zero error by construction;
* stresses that disagree with their energies, or that no strain pair tested beside a
  converter's error found elsewhere (:func:`stress_notes`);
* labels none of the data have (:func:`unscored_notes`), with the keys of the files that
  look like them (:func:`offered_labels`), and labels some lack (:func:`missing_label_notes`).

:func:`evaluation_notes` gives them all, in the order ``acefit evaluate`` prints them
after its first line. The notes name ``acefit evaluate``'s options (``--data``,
``--energy-key``, ``--stress-reading``) where they give advice.
"""

from __future__ import annotations

import os
import shlex

__all__ = ["EVALUATE_LABELS", "key_option", "label_keys", "fitted_data",
           "fitted_data_notes", "own_prediction_notes", "stress_notes",
           "stress_check_notes", "untested_stress_notes", "unscored_notes",
           "offered_labels", "missing_label_notes", "evaluation_notes"]

EVALUATE_LABELS = ("energy", "forces", "stress", "virial", "config_type")
"""The labels whose keys ``acefit evaluate`` reads its data with (``--energy-key`` ...)."""


def key_option(label: str) -> str:
    """The option that names ``label``'s key: ``--energy-key``, ``--config-type-key``."""
    return f"--{label.replace('_', '-')}-key"


def label_keys(paths, potentials, given: dict) -> tuple[dict, list[str]]:
    """The label keys to read the data of ``potentials`` with, and where they came from.

    Parameters
    ----------
    paths : sequence of path-like
        The potential files or run directories, as given.
    potentials : sequence of Potential
        The potentials ``paths`` name.
    given : dict
        ``{label: key}`` of the keys given explicitly (the --*-key options), labels of
        :data:`EVALUATE_LABELS`.

    Returns
    -------
    keys : dict
        ``{label: key}`` for every label of :data:`EVALUATE_LABELS`: the given key, else
        the one the first potential whose fit's keys are known was fitted with
        (:func:`acefit.runs.fitted_label_keys`), else the default
        (:data:`acefit.data.LABEL_KEYS`); the virial None where only a stress key is given
        (a fit's virial would be read in place of that stress).
    notes : list of str
        Where keys other than the defaults came from, and a note per potential fitted
        with other keys than the first (all are scored on the same labels).
    """
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


def fitted_data(paths, potentials, configs) -> list:
    """Which of ``configs`` each potential's run was fitted on.

    Parameters
    ----------
    paths, potentials
        As :func:`label_keys`'s: the potential files or run directories as given, and
        the potentials they name.
    configs : list of LabelledConfig
        The data scored.

    Returns
    -------
    list of (dict or None)
        Per potential, None where its run is not known
        (:func:`acefit.runs.potential_run`), else the record of its run (one dict shared
        by the potentials of a run): ``run``, ``count`` and ``configurations`` (file and
        frame) of ``configs`` that are the run's training or validation data (the same
        structure, :func:`acefit.data.structure_key`), both None when ``missing_files``
        names data files of the run that are gone.
    """
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


def fitted_data_notes(found, labels, n_configs: int, shown: int = 3) -> list[str]:
    """A line per run of :func:`fitted_data`'s records ``found`` (one per potential, named
    by ``labels``) whose training or validation files hold configurations of the
    ``n_configs`` scored: their errors measure the fit, not the prediction. How many,
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
                         + _first(seen, shown) + ").")
    return lines


def _first(where: list, shown: int) -> str:
    """The first ``shown`` of ``where`` (files and frames), "; ..." after them if more."""
    return "; ".join(where[:shown]) + ("; ..." if len(where) > shown else "")


def own_prediction_notes(evaluation, found, shown: int = 3) -> list[str]:
    """A warning per potential of ``evaluation`` (:class:`acefit.evaluate.Evaluation`)
    whose own predictions some configurations carry as labels (``own_predictions``): a
    trajectory written with it, or data it reproduces exactly, whose errors are zero by
    construction. Configurations named already as its run's training or validation data
    (``found``: :func:`fitted_data`) are left out. They stay in the scores (another
    potential's errors on them are its differences to this one, and ``--predictions``
    writes them), named with how many and the first ``shown``."""
    from acefit.evaluate import OWN_RTOL

    lines = []
    configs = evaluation.configs
    for label, own, run in zip(evaluation.labels, evaluation.own_predictions, found):
        known = set((run or {}).get("configurations") or ())
        where = [configs[i].where for i in own if configs[i].where not in known]
        if where:
            lines.append(
                f"warning: {len(where)} of {len(configs)} configurations of --data "
                f"carry labels equal to the predictions of {label} (every label, to "
                f"{OWN_RTOL:g} relative): written with it (ASE stores its calculator's results "
                "as a frame's labels, as in an MD trajectory), or data it reproduces exactly; "
                "its errors on them are zero by construction, and they are scored with the "
                "others (first: " + _first(where, shown) + "). If they were written with it, "
                "label them with the reference method to score the potential on them.")
    return lines


def stress_check_notes(checks) -> list[str]:
    """A line for each config_type whose stresses, as read, disagree with their energies
    (``checks``: :func:`acefit.consistency.check_stresses` of the data): its stress errors
    measure the labels, not the potentials; with the reading under which they agree, if
    one does."""
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


def untested_stress_notes(configs, checks, readings: dict, runs, files) -> list[str]:
    """A line naming the config_types of ``configs`` whose stresses are scored as labelled
    but no strain pair tested, when a converter's error of sign or units is known beside
    them (the same error would go unseen in them).

    Parameters
    ----------
    configs : list of LabelledConfig
        The data scored, their stresses read with ``readings``.
    checks : list
        :func:`acefit.consistency.check_stresses` of ``configs``.
    readings : dict
        ``{"default": name, "config_type": {group: name}}``: how the stresses were read
        (the --stress-reading options).
    runs : iterable of path-like
        The run directories of the potentials: a run's ``data.stress_reading`` that
        corrected a converter's error counts where the run read one of ``files`` itself
        (it says nothing of other files, which may come from another converter).
    files : sequence of path-like
        The data files of ``configs`` (--data).

    Returns
    -------
    list of str
        One line, or none without such an error (found in other groups of ``configs``,
        :func:`acefit.consistency.converter_errors`, or corrected by a run's reading).
    """
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


def stress_notes(configs, readings: dict, runs, files) -> list[str]:
    """:func:`stress_check_notes` and :func:`untested_stress_notes` of ``configs``, their
    stresses checked against their energies once
    (:func:`acefit.consistency.check_stresses`)."""
    from acefit.consistency import check_stresses

    checks = check_stresses(configs)
    return stress_check_notes(checks) + untested_stress_notes(configs, checks, readings,
                                                              runs, files)


def unscored_notes(configs, keys: dict, offered=None) -> list[str]:
    """A line for energies and for forces when no configuration of ``configs`` has such a
    label, naming the key they were looked for under (``keys``: :func:`label_keys`) and
    ``offered[label]``, the keys of the files that look like it and the options that read
    them, when there are any (then a line for stresses too)."""
    from acefit.data import read_key

    lines, offered = [], offered or {}
    for label, noun, plural in (("energy", "an energy", "energies"),
                                ("forces", "a force", "forces"),
                                ("stress", "a stress", "stresses")):
        key = read_key(label, keys)
        if all(getattr(cfg, label) is None for cfg in configs) and (
                label != "stress" or label in offered):
            lines.append(f"No {plural} scored: " + (
                f"no frame has {noun} label under {key!r} "
                f"({offered.get(label) or f'{key_option(label)} names another'})." if key
                else f"the {label} key is null."))
    return lines


def offered_labels(configs, keys: dict, read: dict) -> dict:
    """For each label that no configuration of ``configs`` has under its key (``keys``:
    :func:`label_keys`), the keys of their files that look like it and the options that
    read them, in words, as :func:`unscored_notes` takes them (``read``: what
    :func:`acefit.data.read_configurations` recorded of the files, its ``found``)."""
    from acefit.data import absent_labels, offered_keys, offered_text

    out = {}
    for label in absent_labels(configs, keys):
        offered = offered_keys(read, label, keys)
        if offered:
            shown, settings = offered_text(offered, key_option)
            out[label] = f"the files carry {shown}: {' or '.join(settings)} reads it"
    return out


def missing_label_notes(configs) -> list[str]:
    """A note for each label that some configurations of ``configs`` lack while others
    have it (:func:`acefit.data.missing_labels`), as the fit says it of its data."""
    from acefit.data import missing_labels

    return [f"note: {what}: they add nothing to the errors of {label}{aside}."
            for label, what, aside in missing_labels(configs)]


def evaluation_notes(evaluation, found, keys: dict, readings: dict, files,
                     read=None) -> list[str]:
    """Every note on ``evaluation`` (:class:`acefit.evaluate.Evaluation`) but those of
    :func:`label_keys`, in the order ``acefit evaluate`` prints them: configurations a
    potential was fitted on (``found``: :func:`fitted_data`), stresses
    (:func:`stress_notes`, ``readings`` and ``files`` as there), a potential's own
    predictions, labels that no configuration has (``keys``: :func:`label_keys`; ``read``,
    what :func:`acefit.data.read_configurations` recorded of the files: the keys that
    look like them, :func:`offered_labels`) and labels that some lack
    (:func:`missing_label_notes`)."""
    configs = evaluation.configs
    runs = {r["run"] for r in found if r is not None}
    offered = offered_labels(configs, keys, read) if read is not None else None
    return (fitted_data_notes(found, evaluation.labels, len(configs))
            + stress_notes(configs, readings, runs, files)
            + own_prediction_notes(evaluation, found)
            + unscored_notes(configs, keys, offered)
            + missing_label_notes(configs))

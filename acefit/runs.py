"""A finished run read back: its config, basis, E0 and checkpoints as potentials.

``acefit fit`` exports only the selected checkpoints (the best validation score per
size budget). This module makes a potential of *any* checkpoint of a run directory,
the same one the fit would have written for that step (``acefit export``)::

    potential, info = checkpoint_potential("runs/quickstart", "omp", active=250)
    export_checkpoint("runs/quickstart", "omp", step=120)       # writes the files

What is read (:func:`read_run`, the one reader of a run directory, which ``acefit
compare`` uses too): ``config.yaml`` (validated again), ``run.json``, ``paths.h5`` and
``errors/<label>.json``, ``basis_functions.json`` and, when present, ``report.json`` and
``test_errors.json``; the data files only when the basis elements or E0 must come from
them. The basis is built again from the config and checked against
``basis_functions.json``; nothing is assembled or fitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acefit.atomic import json_ready, read_json
from acefit.progress import get_logger

__all__ = ["RunFiles", "RunSelectionError", "checkpoint_potential", "export_checkpoint",
           "fitted_label_keys", "open_run", "potential_run", "read_run", "run_basis",
           "run_config", "run_data_files", "run_e0", "run_labelled_files",
           "run_separated_atoms", "run_stress_reading"]


class RunSelectionError(ValueError):
    """The request does not match the run: no such run directory, solver path, step or
    size, or (``acefit compare --set``) errors on a set that no run has (the command exits
    with status 2 for these)."""


@dataclass
class RunFiles:
    """A run directory's files, read: see :func:`read_run` and :func:`open_run`."""

    directory: Path
    cfg: dict            # the resolved config (open_run: validated again; else as written)
    paths: dict          # label -> CheckpointPath (only paths with evaluated errors)
    errors: dict         # label -> list of per-step error entries (errors/<label>.json)
    functions: list      # basis_functions.json records
    elements: list
    report: dict | None  # report.json (None: the run did not finish)
    # the basis elements its training data lacked, as basis_functions.json has them (none
    # for runs before the fit wrote them)
    unfitted_elements: list = field(default_factory=list)
    state: dict = field(default_factory=dict)  # run.json (status, data_sets, ...)
    test_errors: dict | None = None     # test_errors.json: per-configuration test errors
    _data: object = field(default=None, repr=False)

    def data(self):
        """The run's training / validation / test data (:func:`acefit.fit_inputs.load_data`),
        read on first use (quietly: the run's fit said what they lack)."""
        if self._data is None:
            from acefit.fit_inputs import load_data

            self._data = load_data(self.cfg, quiet=True)
        return self._data


def run_config(run_dir) -> dict:
    """A run's resolved ``config.yaml``, validated again (runs of older versions lack
    newer keys, which get their defaults)."""
    from acefit.config import ConfigError, read_yaml, validate_config

    path = Path(run_dir) / "config.yaml"
    raw = read_yaml(path)
    if not isinstance(raw, dict):
        raise ConfigError([(str(path), f"found {type(raw).__name__}; allowed: the mapping "
                            "`acefit fit` wrote")], str(path))
    raw.pop("config_file", None)            # provenance, not a setting
    basis = raw.get("basis")
    if isinstance(basis, dict) and basis.get("envelope") is None:
        # written by acefit < 0.3, whose null envelope was "y" with the Agnesi transform
        basis["envelope"] = "y" if basis.get("transform", "agnesi") == "agnesi" else "x"
    return validate_config(raw, base_dir=path.parent, source=str(path))


def fitted_label_keys(path, potential) -> tuple[dict, str] | None:
    """The label keys (``data.keys``) that a potential was fitted with, and where they
    were read; None when that is not known.

    Parameters
    ----------
    path : path-like
        A run directory or a potential file, as given.
    potential : Potential
        The potential ``path`` names (a run directory's ``potential.h5``).

    Returns
    -------
    (keys, source) or None
        ``keys`` label -> key (or None) for every label of
        :data:`acefit.data.LABEL_KEYS`. From the potential's metadata (``data_keys``),
        else (files written before fits stored them there) from the ``config.yaml`` of
        the run directory that ``path`` is or lies in (``RUN/potential.h5``,
        ``RUN/potentials/NAME.h5``), when the metadata name no other run.

    Raises
    ------
    ValueError
        ``data_keys`` or the config's ``data.keys`` that are no mapping of labels to keys
        (strings or null), naming the file.
    """
    from acefit.config import read_yaml

    path = Path(path)
    meta = potential.metadata
    if "data_keys" in meta:
        source = f"the metadata of {path / 'potential.h5' if path.is_dir() else path}"
        return _label_keys(meta["data_keys"], source), source
    run = potential_run(path, potential)
    if run is None:
        return None
    config = run / "config.yaml"
    raw = read_yaml(config)         # as written: older runs' keys, not validated again
    data = raw.get("data") if isinstance(raw, dict) and isinstance(raw.get("data"), dict) \
        else {}
    return _label_keys(data.get("keys") or {}, f"{config}, data.keys"), str(config)


def potential_run(path, potential) -> Path | None:
    """The run directory of a potential: ``path`` itself when it is a run directory, or
    the one its file lies in (``RUN/potential.h5``, ``RUN/potentials/NAME.h5``), when the
    potential's metadata name no other run (a potential put there); None when there is
    none."""
    from acefit.config import read_yaml

    path = Path(path)
    folders = [path] if path.is_dir() else [path.parent] + (
        [path.parent.parent] if path.parent.name == "potentials" else [])
    for folder in folders:
        config = folder / "config.yaml"
        if not (config.is_file() and (folder / "run.json").is_file()):
            continue
        raw = read_yaml(config)
        name = raw.get("name") if isinstance(raw, dict) else None
        if potential.metadata.get("run") in (None, name):
            return folder
    return None


def run_data_files(run_dir, splits=("train", "validation", "test")) -> list[Path]:
    """The data files a run's ``config.yaml`` names, of ``splits``: the training files,
    the validation file (none when the validation set is a fraction or a key of the
    training data, which the training files hold) and the test files; each resolved
    against the config's folder as the config does, whether it is there or not (the
    config is read as written, not validated again, which would stop at a missing file).
    """
    from acefit.config import read_yaml

    config = Path(run_dir) / "config.yaml"
    raw = read_yaml(config)
    data = raw.get("data") if isinstance(raw, dict) else None
    data = data if isinstance(data, dict) else {}
    validation = data.get("validation")
    entries = {"train": data.get("train"), "test": data.get("test"),
               "validation": validation.get("file") if isinstance(validation, dict) else None}
    files = []
    for split in splits:
        entry = entries[split]
        files += [] if entry is None else [entry] if isinstance(entry, str) else list(entry)
    return [config.parent / Path(f).expanduser() for f in files]


def run_labelled_files(run_dir) -> list[Path]:
    """A run directory's data files (training, validation, test) that are still there:
    ``acefit query``'s default ``--labelled`` (:func:`acefit.query.read_labelled`), with a
    logged warning for each that is not (its frames could be chosen again); none for a
    folder without a run's ``config.yaml`` (one holding only a potential.h5). The config is
    read as written, not validated again: a run whose data have moved is queried all the
    same."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir() or not (run_dir / "config.yaml").is_file():
        return []
    files = run_data_files(run_dir)
    for f in files:
        if not f.is_file():
            get_logger().warning("the run's data file %s is not there any more: a pool frame "
                                 "that is one of its configurations may be chosen (name the "
                                 "labelled files with --labelled)", f)
    return [f for f in files if f.is_file()]


def run_stress_reading(run_dir) -> dict:
    """How a run read its stresses: its ``config.yaml``'s ``data.stress_reading`` as
    written (``{"default": name, "config_type": {group: name}}``; as labelled where it has
    none, as runs before the setting existed, or none of that form)."""
    from acefit.config import read_yaml

    raw = read_yaml(Path(run_dir) / "config.yaml")
    data = raw.get("data") if isinstance(raw, dict) else None
    reading = data.get("stress_reading") if isinstance(data, dict) else None
    reading = reading if isinstance(reading, dict) else {}
    groups = reading.get("config_type")
    return {"default": str(reading.get("default", "as_labelled")),
            "config_type": {str(g): str(r) for g, r in groups.items()}
            if isinstance(groups, dict) else {}}


def _label_keys(given, where: str) -> dict:
    """``given`` (label -> key) over the defaults :data:`acefit.data.LABEL_KEYS`; a
    ValueError naming ``where`` for anything else."""
    from acefit.data import LABEL_KEYS

    if not isinstance(given, dict) or set(given) - set(LABEL_KEYS) or not all(
            key is None or isinstance(key, str) for key in given.values()):
        raise ValueError(f"{where}: label keys {given!r}; allowed: a mapping of "
                         f"{', '.join(LABEL_KEYS)} to keys (strings or null)")
    return {**LABEL_KEYS, **given}


def read_run(directory, cfg: dict | None = None) -> RunFiles:
    """Read the files of a run directory written by ``acefit fit`` (finished or
    interrupted): its solver paths with evaluated errors (the others are left out, with
    a warning), its basis functions, ``run.json``, ``report.json`` and
    ``test_errors.json``; ``cfg``: its config when the caller has read it already (else
    ``config.yaml`` as written, or {} without one).

    Raises
    ------
    FileNotFoundError
        If ``paths.h5`` or ``basis_functions.json`` is missing.
    ValueError
        If no solver path has evaluated errors yet.
    """
    from acefit.checkpoints import read_paths
    from acefit.config import read_yaml

    directory = Path(directory)
    paths_file = directory / "paths.h5"
    if not paths_file.is_file():
        raise FileNotFoundError(f"{directory} is not an acefit run directory (no paths.h5)")
    state = _read_json(directory / "run.json") or {}
    if cfg is None:
        cfg = read_yaml(directory / "config.yaml") \
            if (directory / "config.yaml").is_file() else {}
        if not isinstance(cfg, dict):       # an emptied or foreign config.yaml
            cfg = {}
    paths = read_paths(paths_file)
    errors, left_out = {}, {}
    for label in list(paths):
        stored = _read_json(directory / "errors" / f"{label}.json", ("steps",))
        if stored is None or len(stored["steps"]) != len(paths[label]):
            # interrupted before its errors were evaluated
            steps = len(paths.pop(label))
            left_out[label] = ("no errors evaluated" if stored is None else
                               f"errors of {len(stored['steps'])} of its {steps} steps")
            continue
        errors[label] = stored["steps"]
    configured = [s.get("label") or s.get("name") for s in cfg.get("solvers") or []
                  if isinstance(s, dict)]
    left_out.update({label: "no path in paths.h5" for label in configured
                     if label and label not in paths and label not in left_out})
    if left_out and paths:
        get_logger().warning(
            "%s: solver paths without errors, left out (the run stopped before they were "
            "evaluated; `acefit fit` resumes it): %s", directory,
            "; ".join(f"{label} ({why})" for label, why in left_out.items()))
    if not paths:
        raise ValueError(f"{directory}: no solver path with evaluated errors yet "
                         "(run `acefit fit` until it reaches the error stage)")
    funcs = _read_json(directory / "basis_functions.json", ("functions", "elements"))
    if funcs is None:
        raise FileNotFoundError(f"{directory}: basis_functions.json is missing")
    return RunFiles(directory=directory, cfg=cfg, paths=paths, errors=errors,
                    functions=funcs["functions"], elements=funcs["elements"],
                    unfitted_elements=list(funcs.get("unfitted_elements") or []),
                    report=_read_json(directory / "report.json"), state=state,
                    test_errors=_read_json(directory / "test_errors.json"))


def _read_json(path: Path, keys=()):
    return read_json(path, keys) if path.is_file() else None


def open_run(run_dir) -> RunFiles:
    """Read a run directory written by ``acefit fit`` (finished, or interrupted after
    the errors of some of its paths were evaluated), its config validated again.

    Raises
    ------
    RunSelectionError
        If ``run_dir`` does not exist or is not a run directory.
    ValueError
        If no solver path has evaluated errors yet.
    """
    directory = Path(run_dir)
    if not directory.is_dir():
        raise RunSelectionError(f"run directory {directory} "
                                + ("is not a directory" if directory.exists()
                                   else "does not exist"))
    missing = [name for name in ("config.yaml", "paths.h5", "basis_functions.json")
               if not (directory / name).is_file()]
    if missing:
        raise RunSelectionError(f"{directory} is not an acefit run directory (no "
                                f"{', '.join(missing)}); give a directory written by "
                                "`acefit fit`")
    return read_run(directory, run_config(directory))


def run_basis(run: RunFiles):
    """The run's basis, built again from its config and checked against the
    ``basis_functions.json`` the fit wrote.

    ``basis_functions.json`` names the functions (centre, order, (z, n, l) factors,
    kind, coupling), not the radial basis they are made of: when the run exported
    potentials (``report.json``), the basis of one of those files is compared too,
    which covers the radial settings (transform, cutoffs, envelopes). The training
    data are read only when the config leaves ``basis.elements`` to them.

    Raises
    ------
    ValueError
        If the rebuilt basis differs from the run's (the config or the training data
        changed since the fit): its coefficients would then belong to other functions.
    """
    from acefit.basis.spec import function_record
    from acefit.data_checks import basis_elements
    from acefit.fit_inputs import build_basis

    def records_of(b):
        return json_ready([function_record(f) for f in b.functions])

    elements_from_data = run.cfg["basis"]["elements"] is None
    train = run.data().train if elements_from_data else ()
    basis = build_basis(run.cfg, train)
    records = records_of(basis)
    elements = basis_elements(basis)
    if elements == run.elements and records == run.functions:
        _check_exported_basis(run, basis)
        return basis
    if elements == run.elements and len(elements) > 1:  # a run of acefit 0.1?
        mirrored = build_basis(run.cfg, train, mirrored=True)
        if records_of(mirrored) == run.functions:
            _check_exported_basis(run, mirrored)
            return mirrored
    if elements != run.elements:
        what = f"elements {', '.join(elements)} against {', '.join(run.elements)}"
    else:
        pairs = enumerate(zip(records, run.functions, strict=False))
        k = next((i for i, (a, b) in pairs if a != b), min(len(records), len(run.functions)))
        first = (f"first difference at function {k}: {_record(records, k)} against "
                 f"{_record(run.functions, k)}")
        what = f"{len(records)} functions against {len(run.functions)}; {first}"
    raise ValueError(f"{run.directory}: the basis built from config.yaml does not match "
                     f"basis_functions.json ({what}); config.yaml or the training data "
                     "changed since the fit, so its checkpoints cannot be exported")


def _check_exported_basis(run: RunFiles, basis) -> None:
    """The rebuilt basis against that of the first potential file the fit exported that
    reads (its active functions: ``metadata.active_indices``); a damaged one is passed
    over with a warning, since any checkpoint can be exported without it; nothing to
    check without one."""
    from acefit.potential import Potential, PotentialFileError, basis_hash

    selected = ((run.report or {}).get("selection") or {}).get("selected") or []
    files = [run.directory / f for s in selected for f in s.get("files", {}).get("acefit", [])]
    for file in (f for f in files if f.is_file()):
        try:
            stored = Potential.load(file)
            break
        except PotentialFileError as exc:
            get_logger().warning("%s; passed over in the check of the rebuilt basis (the "
                                 "export does not read it)", exc)
    else:
        return
    mine = basis.subset(stored.metadata["active_indices"]).to_dict()
    theirs = stored.basis.to_dict()
    differ = [k for k in sorted(set(mine) | set(theirs))
              if basis_hash({k: mine.get(k)}) != basis_hash({k: theirs.get(k)})]
    if differ:
        raise ValueError(f"{run.directory}: the basis built from config.yaml does not match "
                         f"that of {file.relative_to(run.directory)} (it differs in: "
                         f"{', '.join(differ)}); config.yaml changed since the fit, so its "
                         "checkpoints cannot be exported")


def _record(records, k) -> str:
    return str(records[k]) if k < len(records) else "none"


def run_e0(run: RunFiles, basis) -> tuple[dict, str]:
    """The run's E0, ``{symbol: eV}``, and where it came from.

    A finished run's ``report.json`` holds the values the fit used (``e0.values``).
    Without it (an interrupted run) they are computed again exactly as the assembly
    computed them (:func:`acefit.design.reference_energies` of the config's
    ``data.e0`` on the training set): given values are copied, fitted ones are one
    small least-squares problem on the configurations' energies and compositions,
    deterministic, so this equals the fit's E0 as long as the training data are
    unchanged. Failing instead would leave interrupted runs, whose checkpoints are
    as good as a finished run's, without an export.
    """
    from acefit.data_checks import basis_elements
    from acefit.design import reference_energies
    from acefit.fit_settings import e0_setting, repulsion_setting

    if run.report is not None and (run.report.get("e0") or {}).get("values"):
        return dict(run.report["e0"]["values"]), "report.json"
    setting = e0_setting(run.cfg, basis_elements(basis))
    train = run.data().train if setting is None else ()
    values = reference_energies(setting, train, basis.elements,
                                repulsion_setting(run.cfg)).as_symbols()
    return values, "computed again from the config and training data (no report.json)"


def run_separated_atoms(run: RunFiles, basis):
    """The run's elements whose separated-atom energy no free atom pins
    (:func:`acefit.fit_settings.separated_atoms`): report.json's record, or, from a run
    without one (interrupted, or reported before the record), found again from the config
    and, only when an isolated atom could pin one, the training data."""
    from acefit.data_checks import basis_elements
    from acefit.fit_settings import isolated_atom_elements, separated_atoms

    e0 = (run.report or {}).get("e0") or {}
    if "separated_atoms" in e0:
        return e0["separated_atoms"]
    elements = basis_elements(basis)
    unpinned = separated_atoms(run.cfg, elements)
    if unpinned and run.cfg["basis"]["one_body"]:
        unpinned = separated_atoms(run.cfg, elements, isolated_atom_elements(run.data().train))
    return unpinned


def _choose_label(run: RunFiles, label):
    labels = list(run.paths)
    if label is not None:
        if label not in run.paths:
            raise RunSelectionError(f"{run.directory}: no solver path '{label}' with "
                                    f"evaluated errors; available: {', '.join(labels)}")
        return label
    if len(labels) == 1:
        return labels[0]
    headline = _headline_label(run.report)
    if headline in run.paths:
        return headline
    raise RunSelectionError(f"{run.directory} has {len(labels)} solver paths and no "
                            f"headline potential; choose one (--path): {', '.join(labels)}")


def _headline_label(report):
    """The label of the run's ``potential.h5`` (None without a report)."""
    from acefit.selection import headline

    if report is None:
        return None
    head = headline((report.get("selection") or {}).get("selected") or [])
    return None if head is None else head["label"]


def _choose_step(run: RunFiles, label, step, active, budget) -> int:
    from acefit.selection import best_step, path_scores, selection_split

    given = [name for name, v in (("step", step), ("active", active), ("budget", budget))
             if v is not None]
    if len(given) != 1:
        raise RunSelectionError(f"give exactly one of step, active, budget (found "
                                f"{', '.join(given) or 'none'})")
    where = f"{run.directory}: path '{label}'"
    sizes = run.paths[label].sizes
    n = len(sizes)
    if step is not None:
        if not -n <= step < n:
            raise RunSelectionError(f"{where} has steps 0 to {n - 1} (or -{n} to -1 from its "
                                    f"end); found step {step}")
        return int(step) % n
    entries = run.errors[label]
    scores = path_scores(entries, run.cfg["selection"]["metric"], selection_split(entries))
    if active is not None:
        i = best_step(scores, sizes, sizes == active)
        if i is None:
            below, above = sizes[sizes < active], sizes[sizes > active]
            near = [f"{side} {_first_step(sizes, v)}" if v is not None else f"none {side}"
                    for side, v in (("below", below.max() if below.size else None),
                                    ("above", above.min() if above.size else None))]
            raise RunSelectionError(
                f"{where} has no {'scored ' if np.any(sizes == active) else ''}step with "
                f"{active} active functions; nearest sizes: {', '.join(near)}")
        return i
    i = best_step(scores, sizes, sizes <= budget)
    if i is None:
        smallest = int(sizes.min()) if n else None
        raise RunSelectionError(
            f"{where}: budget {budget} is below its smallest step ({smallest} active "
            f"functions)" if smallest is not None and budget < smallest
            else f"{where} has no scored step with at most {budget} active functions")
    return i


def _first_step(sizes, n) -> str:
    return f"{n} (from step {int(np.flatnonzero(sizes == n)[0])})"


def checkpoint_potential(run_dir, label=None, *, step=None, active=None, budget=None,
                         run: RunFiles | None = None, committee: int = 0):
    """The potential of one checkpoint of a run, as the fit would have exported it.

    Parameters
    ----------
    run_dir : str or Path
        A run directory written by ``acefit fit``.
    label : str, optional
        The solver path (its label in ``paths.h5``). Default: the only path, else the
        path of the run's headline potential (``potential.h5``, from ``report.json``).
    step : int, optional
        That step of the path (0 to number of steps − 1; negative: from the end, −1 is
        the last).
    active : int, optional
        Of the steps with exactly this many active functions, the one with the best
        selection score (``selection.metric`` on the validation set; on the training
        set when the run has none), ties to the earlier step.
    budget : int, optional
        The step ``acefit fit`` selects for this size budget: the best score among
        the steps with at most ``budget`` active functions
        (:func:`acefit.selection.best_step`, the rule of ``select_checkpoints``).
    run : RunFiles, optional
        ``open_run(run_dir)``, when the caller has it already.
    committee : int, default 0
        With K >= 2, give the potential a committee of K members, as the fit does with
        ``export.committee: K`` (:func:`acefit.committee.posterior_committee`). It needs
        the run's assembled system: read from its cache, or assembled again when the
        cache no longer holds it (as long as the fit's assembly).

    Exactly one of ``step``, ``active``, ``budget`` is given.

    Returns
    -------
    potential : acefit.Potential
        The run's basis (checked, :func:`run_basis`), the step's coefficients, E0
        (:func:`run_e0`) and the fit's metadata (solver, label, step, n_active,
        budget, config_hash, run, provenance with ``exported_from``: the run directory).
    info : dict
        ``run``, ``label``, ``solver``, ``step``, ``n_active``, ``budget``, ``score``
        (NaN when unavailable), ``entry`` (the step's ``errors/<label>.json`` entry:
        lam, losses and ``train``/``val``/``test`` errors), ``e0_source``,
        ``labels`` (every path of the run with evaluated errors) and ``committee`` (its
        record, :func:`acefit.committee.posterior_committee`; None without one).

    Raises
    ------
    RunSelectionError
        No such run, path, step or size (the message lists what the run has).
    ValueError
        The basis built from the config no longer matches the run's.
    """
    from acefit.committee import posterior_committee, warn_unscaled_committee
    from acefit.fit_inputs import assemble_system
    from acefit.fit_settings import potential_metadata, prior_scale, repulsion_setting
    from acefit.potential import Potential
    from acefit.run_folder import cache_dir_of
    from acefit.selection import score, selection_split

    run = run if run is not None else open_run(run_dir)
    label = _choose_label(run, label)
    i = _choose_step(run, label, step, active, budget)
    path = run.paths[label]
    entry = run.errors[label][i]
    basis = run_basis(run)
    e0, e0_source = run_e0(run, basis)
    sel = {"label": label, "step": i, "n_active": int(path.sizes[i]), "budget": budget}
    meta = potential_metadata(run.cfg, path.solver, sel, run_separated_atoms(run, basis),
                              exported_from=str(run.directory.resolve()))
    members = record = None
    if committee and np.any(path.steps[i].coef):      # not assembled for the zero model
        system = assemble_system(run.cfg, run.data(), basis,
                                 cache_dir_of(run.cfg, run.directory), progress=False)
        warn_unscaled_committee(system)
        members, record = posterior_committee(path.steps[i].coef, system,
                                              prior_scale(run.cfg, basis), committee)
        meta["committee"] = record
    potential = Potential(basis, path.steps[i].coef, e0=e0, metadata=meta,
                          repulsion=repulsion_setting(run.cfg), committee=members,
                          committee_scale=record and record["scale"],
                          unfitted_elements=run.unfitted_elements)
    split = selection_split(run.errors[label])
    info = {"run": str(run.directory), **sel, "solver": path.solver,
            "score": score(entry, run.cfg["selection"]["metric"], split),
            "entry": entry, "e0_source": e0_source, "labels": list(run.paths),
            "committee": record}
    return potential, info


def export_checkpoint(run_dir, label=None, *, step=None, active=None, budget=None,
                      output=None, formats=None, yace_radial=None, committee=None) -> dict:
    """Write one checkpoint's potential (:func:`checkpoint_potential`) to files.

    Parameters
    ----------
    run_dir, label, step, active, budget
        As for :func:`checkpoint_potential`.
    output : str or Path, optional
        Output path stem; each format adds its suffix (``.h5`` for ``acefit``,
        ``.yace``), in place of one of these on the stem
        (:func:`acefit.export.formats.format_path`). Default: ``RUN/potentials/<label>_step<I>``.
    formats : list of str, optional
        ``acefit`` and/or ``yace`` (default: the run's ``export.formats``).
    yace_radial : {"spline", "recurrence"}, optional
        Radial dialect of ``.yace`` (default: the run's ``export.yace_radial``).
    committee : int, optional
        Committee size K, 0 (none) or >= 2, stored in the ``.h5`` (default: the run's
        ``export.committee`` when ``formats`` has ``acefit``, else none; a K >= 2 without
        ``acefit`` is refused).

    Returns
    -------
    dict
        The ``info`` of :func:`checkpoint_potential` plus ``files`` (format -> path
        written), ``not_written`` (formats that could not be written; the log
        says why, as in ``acefit fit``) and ``dimers`` (whether each pair's dimer has a
        repulsive core, :func:`acefit.short_range.dimer_verdicts`).

    Raises
    ------
    FileExistsError
        Before any file is written, when the ``.yace``'s LAMMPS pair commands would
        replace a ``<stem>.lammps`` that acefit did not write
        (:func:`acefit.export.lammps.check_pair_commands_path`).
    """
    from acefit.export.formats import format_path, write_format
    from acefit.export.lammps import check_pair_commands_path
    from acefit.short_range import dimer_verdicts

    if committee is not None and (isinstance(committee, bool) or committee not in range(2**31)
                                  or committee == 1):
        raise ValueError(f"committee: found {committee!r}; allowed: 0 (none) or an integer "
                         ">= 2 (a spread needs two members)")
    run = open_run(run_dir)
    export_cfg = dict(run.cfg["export"])     # validated: every key, defaults included
    formats = list(formats or export_cfg["formats"])
    if committee and "acefit" not in formats:
        raise ValueError(f"committee: found {committee}, but only the acefit format (.h5) "
                         f"stores a committee and the formats are {formats}; allowed: 0, or "
                         "add the acefit format")
    if committee is None:   # the run's own, where a file stores it: not in a .yace alone
        committee = export_cfg["committee"] if "acefit" in formats else 0
    potential, info = checkpoint_potential(run_dir, label, step=step, active=active,
                                           budget=budget, run=run, committee=committee)
    target = Path(output) if output is not None else \
        run.directory / "potentials" / f"{info['label']}_step{info['step']}"
    if "yace" in formats:   # refused after the .h5 was written, it left half an export
        check_pair_commands_path(format_path(target, "yace"), advice=(
            "nothing was written; move it away, or give another output name (acefit "
            "export -o)"))
    target.parent.mkdir(parents=True, exist_ok=True)
    files, not_written = {}, []
    if yace_radial is not None:
        export_cfg["yace_radial"] = yace_radial
    for fmt in formats:
        written = write_format(potential, target, fmt, export_cfg)
        if written is None:
            not_written.append(fmt)
        else:
            files[fmt] = written
    return {**info, "files": files, "not_written": not_written,
            "dimers": dimer_verdicts(potential)}

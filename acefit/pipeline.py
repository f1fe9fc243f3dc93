"""``acefit fit``: one configured run, from data files to exported potentials and a report.

Stages, each resumable (an interrupted run continues where it stopped)::

    load data -> basis -> assemble (cached) -> prior -> solver paths (checkpointed step
    by step) -> errors per checkpoint -> selection -> export -> report

The run folder and its files: :mod:`acefit.run_folder`.

Resuming: a finished solver path whose problem and parameters are unchanged is
read back from ``paths.h5``, not recomputed; an interrupted path is recomputed
(paths are deterministic, so the result equals an uninterrupted run; the log says
whether it reproduced every checkpoint the interrupted run had written); errors
already evaluated are read back; the cache makes re-assembly a file read. The stored
paths are read first, so that a damaged ``paths.h5`` stops the resume before any work. A
finished run is never overwritten unless ``force=True``, and then only once the new
run has passed its config, data and basis checks.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from acefit import __version__
from acefit.atomic import write_json, write_text
from acefit.checkpoint_errors import evaluate_errors
from acefit.committee import posterior_committee, warn_unscaled_committee
from acefit.config import dump_config
from acefit.data import ase_group_hints
from acefit.design import ROW_KINDS
from acefit.fit_settings import e0_setting, prior_scale, repulsion_setting, weight_table
from acefit.progress import bar, get_logger, holding_interrupts, interruption
from acefit.run_folder import (RUN_FILES, RunLock, add_file_handler, cache_dir_of, config_hash,
                               delete_trash, earlier_state, mark_interrupted, prepare_run_dir,
                               remove_file_handler, run_dir_of, set_aside, timestamp, to_trash)
from acefit.selection import (METRIC_KEYS, SE_RESAMPLES, best_outside, headline,
                              record_of_test_errors, resolution_on_test_set,
                              select_checkpoints, unmet_budgets)
from acefit.short_range import (alternatives_text, compression_verdicts, cored_alternatives,
                                dimer_verdicts, warn_collapse, warn_without_core)
from acefit.solver_runs import all_subbasis_masks, run_paths, solver_labels, stored_paths

__all__ = ["run_fit", "FitResult", "load_data", "build_basis", "assemble_system"]


@dataclass
class FitResult:
    """What :func:`run_fit` produced."""

    run_dir: Path
    report: dict
    wall_time: float
    resumed: bool = False
    timings: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- helpers


def data_set_record(data) -> dict:
    """The validation and test configurations of a run, in ``run.json``: their number
    and the hash of their structures and labels (:func:`acefit.cache.configs_hash`), so
    that ``acefit compare`` compares the errors only of runs on one set. Stresses are
    left out: ``data.stress_reading`` changes them on purpose, and compare notes it."""
    from acefit.cache import configs_hash

    return {name: {"configurations": len(configs),
                   "hash": configs_hash([replace(c, stress=None) for c in configs])}
            for name, configs in (("validation", data.val), ("test", data.test))}


# ---------------------------------------------------------------------------- stages

@dataclass
class Data:
    train: list
    val: list
    test: list


def _report_missing_labels(configs, name: str, quiet: bool = False) -> None:
    """Warn when some configurations of a set lack a label that others in it have (a
    stress: counted only among those periodic in all three directions, the only ones
    expected to carry one); ``quiet``: to the log only (the data of a finished run, whose
    fit said it)."""
    log = get_logger()
    say = log.debug if quiet else log.warning
    for label in ("energy", "forces", "stress"):
        # clusters and slabs first in a file would hide the periodic frames that lack one
        among = [c for c in configs if label != "stress" or c.fully_periodic]
        missing = [c for c in among if getattr(c, label) is None]
        if missing and len(missing) < len(among):
            shown = "; ".join(c.where for c in missing[:3]) + ("; ..." if len(missing) > 3 else "")
            aside = ""
            others = sum(getattr(c, label) is None for c in configs) - len(missing)
            if others:
                aside = (f" ({others} more, not periodic in all three directions, are not "
                         "counted: a stress is expected only of those that are)")
            say("%s data: %d of %d %sconfigurations have no %s (%s): they add no %s rows%s",
                name, len(missing), len(among), "periodic " if label == "stress" else "",
                label, shown, label, aside)


def _report_energy_choice(gaps, key, quiet: bool = False) -> None:
    """Say once which of ASE's two energies (:data:`acefit.data.ENERGY_KEYS`) the fit
    reads, when the training frames (``gaps``, :func:`acefit.data.energy_gap` per file)
    carry both and they differ: a warning for ``energy``, whose derivatives the forces
    and stresses are not, a note for ``free_energy``; ``quiet``: to the log only."""
    from acefit.data import energy_gap_note

    note = energy_gap_note(gaps, key)
    if note is None:
        return
    log = get_logger()
    if key == "free_energy":
        (log.debug if quiet else log.info)(
            "training data: %s; free_energy is the energy whose derivatives the forces and "
            "stresses are", note)
    else:
        (log.debug if quiet else log.warning)(
            "training data: %s; the forces and stresses of a smeared DFT run are the "
            "derivatives of free_energy, not of energy (extrapolated to zero smearing): "
            "data.keys.energy: free_energy fits the energy they belong to", note)


def load_data(cfg: dict, *, quiet: bool = False) -> Data:
    """Training, validation and test configurations as the config describes them;
    ``quiet``: the notes on labels some configurations lack to the log only (a finished
    run read again: its fit gave them). ``cfg`` is a completed config
    (:func:`acefit.config.load_config`: every key, defaults filled); from Python without a
    config, :func:`acefit.data.load_configurations` and :func:`acefit.data.split`
    (docs/fitting.md, "Fitting from Python")."""
    from acefit.consistency import read_stresses
    from acefit.data import changed_label_keys, read_configurations, split

    from acefit.config import config_error
    from acefit.data import MissingKeyError
    from acefit.readers import EmptyFileError

    data = cfg["data"]
    keys, reading = data["keys"], data["stress_reading"]

    def read(files, require=(), found=None, key="data.train"):
        # a key in no frame, or a file without one, named at its config line
        try:
            configs = read_configurations(files or [], keys, require, found=found,
                                          option=lambda label: f"data.keys.{label}")
        except MissingKeyError as exc:
            raise config_error(cfg, [(f"data.keys.{exc.label}", exc.detail)]) from None
        except EmptyFileError as exc:
            raise config_error(cfg, [(key, str(exc))]) from None
        return read_stresses(configs, reading["default"], reading["config_type"])

    # keys set on purpose must match something in the training data (typos)
    found = {}
    train = read(data["train"], require=changed_label_keys(keys), found=found)
    _report_missing_labels(train, "training", quiet)
    _report_energy_choice(found.get("energy_gaps", []), keys["energy"], quiet)
    v = data["validation"]
    if v["file"]:
        val = read(v["file"], key="data.validation.file")
    elif v["key"]:
        train, val = split(train, val_key=v["key"])
    elif v["fraction"] > 0:
        train, val = split(train, val_fraction=v["fraction"], seed=v["seed"],
                           stratify=v["stratify"])
    else:
        val = []
    test = read(data["test"], key="data.test")
    return Data(train=train, val=val, test=test)


def build_basis(cfg: dict, train=(), *, mirrored: bool = False):
    """The ACE basis of the config; elements default to those in the training data.
    ``mirrored``: acefit 0.1's basis (:class:`acefit.basis.ACEBasis`), for its runs.
    ``cfg`` is a completed config (:func:`acefit.config.load_config`); from Python
    without one, :class:`acefit.basis.ACEBasis` itself."""
    from ase.data import chemical_symbols

    from acefit.basis import ACEBasis

    b = cfg["basis"]
    elements = b["elements"]
    if elements is None:
        zs = sorted({int(z) for c in train for z in np.unique(c.atoms.numbers)})
        elements = [chemical_symbols[z] for z in zs]
    from acefit.config import check_radial_pairs, config_error

    check_radial_pairs(cfg, elements)    # per pair, keys named: the elements are known now
    try:
        return ACEBasis(elements, order=b["order"], totaldegree=b["totaldegree"], wL=b["wL"],
                        maxl=b["maxl"], maxn=b["maxn"], pair_degree=b["pair_degree"],
                        rcut=b["rcut"], r0=b["r0"], rin=b["rin"], transform=b["transform"],
                        p=b["transform_p"], q=b["transform_q"],
                        envelope=b["envelope"], pair_envelope=b["pair_envelope"],
                        pure2b=b["pure2b"], one_body=b["one_body"],
                        radial_orthonormal=b["radial_orthonormal"], mirrored=mirrored)
    except ValueError as exc:    # what the checks above cannot see
        raise config_error(cfg, [("basis", f"{exc} (elements {elements})")]) from exc


def assemble_system(cfg: dict, data: Data, basis, cache_dir: Path, *, progress=None):
    """The config's :class:`acefit.assembly.AssembledSystem` (weights, E0 and workers
    from ``cfg``), read from ``cache_dir`` when it is there.

    Parameters
    ----------
    cfg : dict
        The validated config (:func:`acefit.config.load_config`): its ``data.weights``,
        ``data.e0``, ``repulsion``, ``parallel`` and ``output.train_rows_gib``.
    data : Data
        Training, validation and test configurations (either of the last two may be
        empty).
    basis : acefit.ACEBasis
        The basis whose design rows are assembled.
    cache_dir : pathlib.Path
        Folder of the assembly cache (:func:`cache_dir_of`).
    progress : bool, optional
        Draw a bar (None: when stderr is a terminal), as in the other stages.

    Returns
    -------
    acefit.assembly.AssembledSystem
        The reduced training system, the dense validation and test blocks and the
        reference energies.
    """
    from acefit.assembly import assemble, quiet_dask

    n_configs = len(data.train) + len(data.val or []) + len(data.test or [])
    with quiet_dask(), bar(n_configs, "assemble", unit="cfg", enabled=progress) as pbar:
        return assemble(basis, data.train, val=data.val or None, test=data.test or None,
                        weights=weight_table(cfg), e0=e0_setting(cfg, basis_elements(basis)),
                        repulsion=repulsion_setting(cfg), n_workers=cfg["parallel"]["workers"],
                        scheduler=cfg["parallel"]["scheduler"], cache_dir=cache_dir,
                        train_rows_gib=cfg["output"]["train_rows_gib"], progress=pbar.update)


def _shortest_distances(configs, cutoff: float) -> np.ndarray:
    """Each configuration's shortest interatomic distance below ``cutoff`` (inf: none)."""
    from acefit.basis.neighbours import shortest_distance

    return np.array([shortest_distance(c.atoms, cutoff) for c in configs])


def _log_repulsion_reach(cfg: dict, data, nearest=None) -> None:
    """Say how far into the training data the core repulsion reaches: where it does, the
    fit learns the labels less the repulsion; where it does not, the fit is unchanged.
    ``nearest``: :attr:`DataChecks.nearest`, whose search serves when the repulsion ends
    within its cutoff (no second search of the training data)."""
    repulsion = repulsion_setting(cfg)
    if repulsion is None:
        return
    if nearest is None or repulsion.outer > nearest[0]:
        nearest = (repulsion.outer, _shortest_distances(data.train, repulsion.outer))
    inside = nearest[1][nearest[1] < repulsion.outer]
    if len(inside):
        get_logger().info("core repulsion %s: inside %g Å in %d of %d training configurations "
                          "(shortest distance %.2f Å); the fit learns their labels less it",
                          repulsion.kind.upper(), repulsion.outer, len(inside),
                          len(data.train), float(inside.min()))
    else:
        get_logger().info("core repulsion %s: no training pair inside %g Å, so the fit is the "
                          "one without it", repulsion.kind.upper(), repulsion.outer)


def huber_rows_problem(cfg: dict, m: int, n: int) -> list:
    """(key, message) of each ista solver with ``loss: huber`` whose dense training rows,
    ``m`` x ``n``, exceed ``output.train_rows_gib``: that path holds them in memory."""
    limit = cfg["output"]["train_rows_gib"]
    gib = 8.0 * m * n / 2 ** 30
    return [(f"solvers[{i}].loss", f"found 'huber', which fits the {m} x {n} dense weighted "
             f"training rows ({gib:.2f} GiB in memory) instead of the reduced system, above "
             f"output.train_rows_gib = {limit}; allowed: output.train_rows_gib of at least "
             f"{gib:.2f}, or loss: 'least_squares'")
            for i, spec in enumerate(cfg["solvers"])
            if spec.get("loss") == "huber" and gib > limit]


# ---------------------------------------------------------------------------- export

def _potential_name(sel) -> str:
    size = "any" if sel["budget"] is None else f"t{sel['budget']}"
    return f"{sel['label']}_{size}"


def export_potentials(selected, paths, basis, system, cfg, run_dir: Path,
                      train_pairs=None, train=None, unfitted=()) -> list[dict]:
    """Write the selected potentials; returns what was written (or why not) per selection,
    with each one's dimer verdicts and the headline potential's compressed crystals
    (``train_pairs``: :attr:`DataChecks.pairs`, and ``train``, the training
    configurations, which their warnings quote); ``unfitted``: the basis elements the
    training data lack (:func:`unfitted_elements`), which each potential records. A
    headline potential without a
    repulsive core is warned of with the selected potentials that have one for every
    pair."""
    from acefit.export.lammps import pair_commands_path
    from acefit.potential import Potential

    log = get_logger()
    formats = cfg["export"]["formats"]
    pot_dir = run_dir / RUN_FILES["potentials"]
    pot_dir.mkdir(exist_ok=True)
    overall = headline(selected)
    size = cfg["export"]["committee"]
    gamma = prior_scale(cfg, basis) if size else None
    if size:
        warn_unscaled_committee(system)
    records, top = [], None
    dimers = {}  # (label, step): budgets that select one step share its dimer curves
    committees = {}  # and its committee
    for sel in selected:
        step = paths[sel["label"]].steps[sel["step"]]
        meta = potential_metadata(cfg, paths[sel["label"]].solver, sel)
        key = (sel["label"], sel["step"])
        if size and key not in committees:
            committees[key] = posterior_committee(step.coef, system, gamma, size)
        members, committee = committees.get(key, (None, None))
        if committee:
            meta["committee"] = committee
        potential = Potential(basis, step.coef, e0=system.e0, metadata=meta, committee=members,
                              committee_scale=committee and committee["scale"],
                              unfitted_elements=unfitted)
        targets = [pot_dir / _potential_name(sel)]
        if sel is overall:
            targets.append(run_dir / "potential")
        files = {}
        for target in targets:
            for fmt in formats:
                written = write_format(potential, target, fmt, cfg["export"])
                if written is not None:
                    files.setdefault(fmt, []).append(str(written.relative_to(run_dir)))
                    if fmt == "yace":  # its pair commands, without which a repulsion is lost
                        files.setdefault("lammps", []).append(
                            str(pair_commands_path(written).relative_to(run_dir)))
        record = {**sel, "files": files}
        one_body = _one_body_energies(basis, step.coef)
        if one_body:
            record["one_body_eV"] = one_body
        if committee:
            record["committee"] = committee
        if key not in dimers:
            dimers[key] = dimer_verdicts(potential)
        record["dimers"] = dimers[key]
        if sel is overall:
            top = record
            t = time.perf_counter()
            record["compression"] = compression_verdicts(potential, train_pairs, train)
            log.info("compressed crystals of the headline potential checked in %.2f s",
                     time.perf_counter() - t)
        records.append(record)
    log.info("exported %d potential(s) to %s", len(records), pot_dir)
    if top is not None:     # once every selected potential's dimers are known
        on = "validation" if system.val is not None else "training"
        warn_without_core(top["dimers"], system.e0.repulsion, train_pairs,
                          alternatives_text(cored_alternatives(records, top),
                                            cfg["selection"]["metric"], on, top))
        warn_collapse(top["compression"])
    return records


def selected_errors_by_element(system, paths, selected, data, basis) -> list:
    """Force errors per element (:func:`acefit.metrics.errors_by_element`, the basis'
    elements) of each selected checkpoint, ``{"train", "val", "test"}``, each MAE with
    the bootstrap over the configurations with force rows of its element (``se``,
    ``low``, ``high``; ``SE_RESAMPLES`` draws, as ``acefit evaluate`` gives them); none
    (an empty list) for a basis of one element. The training rows are those the assembly
    kept; a run without them has no training entry (None) rather than the basis
    evaluated again."""
    from acefit.elements import atomic_number
    from acefit.metrics import errors_by_element

    if len(basis.elements) < 2 or not selected:
        return []
    t = time.perf_counter()
    numbers = [atomic_number(e) for e in basis.elements]
    coefs = np.stack([paths[s["label"]].steps[s["step"]].coef for s in selected], axis=1)
    splits = {name: (None if block is None else
                     errors_by_element(block, block.A @ coefs, configs, numbers,
                                       resamples=SE_RESAMPLES))
              for name, block, configs in (("val", system.val, data.val),
                                           ("test", system.test, data.test))}
    splits["train"] = _train_errors_by_element(system.train_rows, coefs, data.train, numbers)
    get_logger().info("force errors per element of %d selected potential(s) in %.3f s",
                      len(selected), time.perf_counter() - t)
    return [{name: None if splits[name] is None else splits[name][j]
             for name in ("train", "val", "test")} for j in range(len(selected))]


def _train_errors_by_element(files, coefs, train, numbers):
    """:func:`selected_errors_by_element` of the kept training rows ``files`` (their
    ``config`` indexes ``train``, as the assembly numbered it), or None without them."""
    from acefit.assembly import train_row_blocks
    from acefit.metrics import element_force_errors

    log = get_logger()
    if files is None:
        log.info("no force errors per element on the training set: its rows were not kept "
                 "(output.train_rows_gib)")
        return None
    total = None
    try:
        for block, _ in train_row_blocks(files):
            if block is not None:
                part = element_force_errors(block, block.A @ coefs, train, numbers)
                total = part if total is None else total + part
            del block   # not held while the next block is read
    except (OSError, KeyError, ValueError) as exc:      # e.g. removed by another run
        log.warning("no force errors per element on the training set: the kept training "
                    "rows could not be read (%s)", exc)
        return None
    return None if total is None else total.stats(resamples=SE_RESAMPLES)


def potential_metadata(cfg: dict, solver: str, sel: dict, **provenance) -> dict:
    """The metadata of a checkpoint's potential file: ``solver``, the ``label``, ``step``,
    ``n_active`` and ``budget`` of ``sel``, the config hash, the run name, the label keys
    of its data (``data_keys``: ``acefit evaluate`` reads new data with them) and the
    provenance (acefit version, time, training files, and the ``provenance`` items)."""
    return {"solver": solver, "label": sel["label"], "step": sel["step"],
            "n_active": sel["n_active"], "budget": sel["budget"],
            "config_hash": config_hash(cfg), "run": cfg["name"],
            "data_keys": dict(cfg["data"]["keys"]),
            "provenance": {"acefit": __version__, "created": timestamp(),
                           "train": cfg["data"]["train"], **provenance}}


def _one_body_energies(basis, coef) -> dict:
    """{element: coefficient} of the basis's one-body functions (eV per atom on top of E0)."""
    from ase.data import chemical_symbols

    return {chemical_symbols[f.centre]: float(c) for f, c in zip(basis.functions, coef)
            if f.kind == "onebody"}


FORMAT_SUFFIXES = {"acefit": ".h5", "yace": ".yace"}


def format_path(target, fmt: str) -> Path:
    """The file of format ``fmt`` for the path stem ``target``: a format's suffix on the
    stem is replaced (``pot.h5`` -> pot.h5, pot.yace), any other kept, since it is part of
    the name (a solver label ``omp.a``: ``omp.a_t10.h5``, not ``omp.h5``)."""
    target = Path(target)
    if target.suffix.lower() in FORMAT_SUFFIXES.values():      # pot.H5 too
        return target.with_suffix(FORMAT_SUFFIXES[fmt])
    return target.with_name(target.name.rstrip(".") + FORMAT_SUFFIXES[fmt])


def write_format(potential, target: Path, fmt: str, export_cfg: dict):
    """Write one format to :func:`format_path` of ``target``; ``export_cfg`` is the
    validated config's ``export`` section, whose yace options go to
    :func:`~acefit.export.yace.export_yace`."""
    log = get_logger()
    path = format_path(target, fmt)
    if fmt == "acefit":
        potential.save(path)
        return path
    try:
        from acefit.export.yace import export_yace
    except ImportError as exc:
        log.warning("yace export unavailable (%s); skipped %s", exc, path.name)
        return None
    names = {"yace_radial": "radial", "spline_rtol": "spline_rtol", "spline_rmin": "spline_rmin"}
    options = {names[k]: v for k, v in export_cfg.items() if k in names}
    try:
        export_yace(potential, path, **options)    # and its LAMMPS pair commands
    except Exception as exc:  # an export problem must not cost the finished fit
        log.warning("cannot write %s: %s: %s", path.name, type(exc).__name__, exc)
        return None
    return path


# ---------------------------------------------------------------------------- the run


def run_fit(cfg: dict, *, force: bool = False, progress: bool | None = None) -> FitResult:
    """Run a validated config (from :func:`acefit.config.load_config`) end to end.

    Parameters
    ----------
    cfg : dict
        The completed config.
    force : bool
        Replace the run in the output directory (finished, or unfinished with another
        config). It stays whole until the new run's config, data and basis checks pass;
        then a finished run moves to ``previous-run/`` in the directory, deleted when
        the new run finishes, and an unfinished one is deleted.
    progress : bool, optional
        Draw progress bars (default: when stderr is a terminal).

    Returns
    -------
    FitResult

    Raises
    ------
    RunExistsError
        If the output directory holds a finished run (or another config's run)
        and ``force`` is False.
    """
    from acefit.potential import Potential
    from acefit.report import build_report, unmet_budget_lines, write_report

    t0 = time.perf_counter()
    run_dir = run_dir_of(cfg)
    lock = RunLock(run_dir)
    try:
        resumed, replaced = prepare_run_dir(run_dir, cfg, force)
        for stray in run_dir.glob(".*.tmp"):  # half-written copies of a killed run (locked)
            stray.unlink(missing_ok=True)
        delete_trash(run_dir)     # what an interrupted deletion left
    except BaseException:
        lock.release(discard=True)  # a refused directory keeps no lock file of ours
        raise
    log = get_logger()
    timings = {}
    assembling = finished = False
    state = {"status": "running", "config_hash": config_hash(cfg), "started": timestamp(),
             "acefit_version": __version__, "config_file": cfg.get("config_file")}

    def claim_folder():     # the folder is this run's from here on
        write_json(run_dir / RUN_FILES["state"], state)
        write_text(run_dir / RUN_FILES["config"], dump_config(cfg))

    try:
        add_file_handler(run_dir / RUN_FILES["log"])
        if replaced is None:   # else the replaced run's run.json stays until set_aside
            before = earlier_state(run_dir)
            if before.get("previous_run"):  # a replacement resumed: it still owns that folder
                state["previous_run"] = before["previous_run"]
            claim_folder()
        log.info("acefit %s: run '%s' in %s%s", __version__, cfg["name"], run_dir,
                 " (resuming)" if resumed else " (replacing the run there once the checks "
                 "pass)" if replaced is not None else "")
        # first: a damaged path file found after the data, basis and assembly cost minutes
        stored = {} if replaced is not None else \
            stored_paths(run_dir / RUN_FILES["paths"], solver_labels(cfg))

        t = time.perf_counter()
        data = load_data(cfg)
        timings["load"] = time.perf_counter() - t
        log.info("data: %d training, %d validation, %d test configurations", len(data.train),
                 len(data.val), len(data.test))
        state["data_sets"] = data_set_record(data)      # for compare: which runs share a set
        if replaced is None:
            write_json(run_dir / RUN_FILES["state"], state)

        t = time.perf_counter()
        basis = build_basis(cfg, data.train)
        timings["basis"] = time.perf_counter() - t
        log.info("basis: %d functions (%s)", len(basis), basis_summary(basis))
        gamma = prior_scale(cfg, basis)  # a prior that overflows fails here, before assembly
        _check_sizes(cfg, len(basis))
        checks = check_against_data(cfg, data, basis)
        _log_repulsion_reach(cfg, data, checks.nearest)
        subbases = all_subbasis_masks(cfg, basis)  # an entry adding nothing fails here
        if replaced is not None:    # the checks passed: the new run starts for real
            with holding_interrupts():  # no folder half the old run's, half the new one's
                previous = set_aside(run_dir, replaced)
                if previous is not None:
                    state["previous_run"] = previous.name
                replaced = None
                claim_folder()
            if previous is not None:
                log.info("--force: the finished run replaced is in %s until this run finishes",
                         previous)
            else:
                log.info("--force: the unfinished run there was discarded")
            delete_trash(run_dir)
        unfitted = unfitted_elements(basis, data.train)
        write_json(run_dir / RUN_FILES["functions"], {
            "elements": basis_elements(basis),
            "unfitted_elements": unfitted,      # for acefit export
            "fields": ["centre", "order", "factors (z, n, l)", "kind", "coupling"],
            "functions": [function_record(f) for f in basis.functions]})

        cache_dir = cache_dir_of(cfg, run_dir)
        _remove_stale_temporaries(cache_dir)
        assembling = True
        started = time.time()
        t = time.perf_counter()
        workers = cfg["parallel"]["workers"]
        log.info("assembling the least-squares problem (%s)...",
                 f"scheduler {cfg['parallel']['scheduler']}" if cfg["parallel"]["scheduler"]
                 else f"{workers or 'all available'} local worker(s)")
        system = assemble_system(cfg, data, basis, cache_dir, progress=progress)
        timings["assemble"] = time.perf_counter() - t
        log.info("assembled %d x %d (rows E/F/V %s)%s in %.1f s", system.train.m, len(basis),
                 "/".join(str(system.row_counts[k]) for k in ROW_KINDS),
                 " from the cache" if system.cache_hit else "", timings["assemble"])
        if system.train_rows:
            log.info("training rows kept in %s for the errors stage: %.2f GiB", cache_dir,
                     sum(f.stat().st_size for f in system.train_rows) / 2 ** 30)
        _prune_cache(cache_dir, cfg["output"]["cache_gib"], started)

        t = time.perf_counter()
        paths = run_paths(cfg, system, basis, gamma, run_dir / RUN_FILES["paths"],
                          progress=progress, subbases=subbases, stored=stored,
                          train=data.train)
        del stored  # the paths run_paths kept are in `paths`
        timings["solvers"] = time.perf_counter() - t

        t = time.perf_counter()
        errs = evaluate_errors(paths, system, basis, data, run_dir / RUN_FILES["errors"],
                               n_workers=cfg["parallel"]["workers"],
                               scheduler=cfg["parallel"]["scheduler"], progress=progress)
        timings["errors"] = time.perf_counter() - t

        has_val = system.val is not None
        if not has_val:
            log.warning("no validation set: checkpoints are selected by their training error")
        selected = select_checkpoints(paths, errs, cfg, has_val)
        unmet = unmet_budgets(selected, paths, cfg["selection"]["budgets"])
        for line in filter(None, unmet_budget_lines(unmet, bool(selected))):
            # a path above every budget is often meant (a full-basis BLR): news, not a fault
            (log.info if selected else log.warning)(line)
        t = time.perf_counter()
        exported = export_potentials(selected, paths, basis, system, cfg, run_dir,
                                     train_pairs=checks.pairs, train=data.train,
                                     unfitted=unfitted)
        outside = best_outside(exported, paths, errs, cfg, has_val)
        if outside is not None:     # what `acefit export` of it would say of its dimers
            outside["dimers"] = dimer_verdicts(Potential(
                basis, paths[outside["label"]].steps[outside["step"]].coef, e0=system.e0,
                unfitted_elements=unfitted))
        timings["export"] = time.perf_counter() - t
        resolution, per_config = resolution_on_test_set(system, paths, exported)
        for sel, entry in zip(exported, resolution):
            sel["test_resolution"] = entry
        if per_config is not None:
            write_json(run_dir / RUN_FILES["test_errors"],
                       record_of_test_errors(per_config, exported, data.test))
        for sel, entry in zip(exported, selected_errors_by_element(system, paths, exported,
                                                                   data, basis)):
            sel["errors_by_element"] = entry

        wall = time.perf_counter() - t0
        state.update(status="finished", finished=timestamp(), wall_time_s=wall)
        report = build_report(cfg, run_dir=run_dir, basis=basis, data=data, system=system,
                              paths=paths, errors=errs, selected=exported, timings=timings,
                              wall_time=wall, resumed=resumed, stress_checks=checks.stress,
                              doubtful_stresses=checks.doubtful_stresses,
                              best_any_size=outside, unmet_budgets=unmet)
        write_report(report, run_dir)
        state.pop("previous_run", None)
        previous = run_dir / RUN_FILES["previous"]
        with holding_interrupts():
            write_json(run_dir / RUN_FILES["state"], state)
            finished = True
            # replaced now: its potentials have successors (and a previous-run/ that no
            # run.json named is an older run's leftover)
            trash = to_trash(run_dir, previous) if previous.exists() else None
        if trash is not None:
            try:
                delete_trash(run_dir)
            except KeyboardInterrupt as stop:
                note = (f"the run finished, but deleting {previous}, the run it replaced, "
                        f"was interrupted: the next fit in {run_dir} deletes the rest")
                log.warning(note, extra={"file_only": True})
                stop.add_note(note)     # what acefit says in place of "resume"
                raise
            log.info("deleted %s, the run this one replaced", previous)
        log.info("finished in %.1f s; report: %s", wall, run_dir / RUN_FILES["report_md"])
        return FitResult(run_dir=run_dir, report=report, wall_time=wall, resumed=resumed,
                         timings=timings)
    except BaseException as exc:
        log.debug("run stopped by %s: %s", type(exc).__name__, exc)
        stop = exc if isinstance(exc, KeyboardInterrupt) else interruption()
        if stop is not None:
            if replaced is None and not finished:
                mark_interrupted(run_dir, state, stop)
            if stop is not exc:     # e.g. a task cancelled as its worker died of the signal
                raise stop from None
        if not assembling and not resumed and replaced is None \
                and isinstance(exc, (ValueError, OSError)):
            # nothing was computed: a corrected config may reuse the directory
            with contextlib.suppress(OSError):  # the original error is the one to report
                write_json(run_dir / RUN_FILES["state"], {
                    "status": "invalid", "reason": f"{type(exc).__name__}: {exc}",
                    "config_hash": config_hash(cfg), "stopped": timestamp(),
                    **{k: state[k] for k in ("previous_run",) if k in state}})
        raise
    finally:
        remove_file_handler(run_dir / RUN_FILES["log"])
        lock.release()


def _check_sizes(cfg: dict, n_functions: int) -> None:
    """Sizes beyond the basis: a-priori sub-bases and ARD targets fail before assembly,
    not after it; budgets and max_active beyond it (no limit, then) are logged."""
    from acefit.config import config_error

    problems = [(f"solvers[{i}].sizes", (f"found {max(spec['sizes'])}; allowed: at most the "
                 f"{n_functions} functions of the basis"
                 + ("" if spec["name"] == "ard" else " (or a count of evenly spaced sizes)")))
                for i, spec in enumerate(cfg["solvers"])
                if isinstance(spec.get("sizes"), list) and max(spec["sizes"]) > n_functions]
    if problems:
        raise config_error(cfg, problems)
    log = get_logger()
    beyond = [f"selection.budgets {b}" for b in cfg["selection"]["budgets"] if b > n_functions]
    beyond += [f"solvers[{i}].max_active {spec['max_active']}"
               for i, spec in enumerate(cfg["solvers"])
               if (spec.get("max_active") or 0) > n_functions]
    if beyond:
        log.warning("%s: more than the %d functions of the basis (no limit, then)",
                    ", ".join(beyond), n_functions)


@dataclass
class DataChecks:
    """What :func:`check_against_data` found that a fit or its plan uses later:
    ``stress``, the stress checks (:func:`acefit.consistency.check_stresses`) of the
    training, validation and test data; ``doubtful_stresses``, the test stresses scored
    but in doubt (:func:`doubtful_test_stresses`: the fit's warning and report.md's note
    from one record); ``nearest``, a cutoff and each training
    configuration's shortest interatomic distance below it (inf where none is), from the
    cutoff check's neighbour search; ``train_rows``, the training rows per kind, all of
    them and those with a nonzero weight (:func:`acefit.plan.row_counts`), and
    ``val_rows`` those of the validation data; ``pairs``,
    the shortest distance of each element pair in the training data from the same search
    (``{"Cu-Au": Å}``, pairs farther apart than every cutoff left out), which the fit's
    compression check of its headline potential quotes."""

    stress: list
    doubtful_stresses: dict
    nearest: tuple
    train_rows: tuple
    val_rows: tuple
    pairs: dict = field(default_factory=dict)


def check_against_data(cfg: dict, data, basis) -> DataChecks:
    """What the loaded data and the config cannot do together, found before the assembly
    (so that a corrected config reuses the run directory): an error for an element the
    basis lacks (naming the file and frame), an error for a basis element without a
    ``data.e0`` value (and a note of those it has for no basis element) or for
    ``data.e0: fit`` without a training energy, an error for a
    selection metric whose
    quantity the selecting set lacks (nothing would be exported) or, for the loss, whose
    validation rows all weigh 0 (it would select the empty model), an error for cutoffs
    no two training atoms are within and a warning for a pair's cutoff within none of its
    distances, an element in no training configuration or a pair of elements never near
    each other (:func:`_check_cutoff_reach`), an error for config_type weights and stress
    readings that match no group of any data set (typos, :func:`_check_group_keys`), a
    warning for weights of groups with no training configuration and readings that read
    no stress, for stresses that disagree with their energies (weighed, or of the test
    data only) or are untested beside a converter's error (not fitted, but of the test
    data), and for a validation set too small to select on
    (:func:`acefit.data.validation_coverage`). Returns the :class:`DataChecks`."""
    from acefit.config import check_e0, config_error
    from acefit.data import check_elements, validation_coverage

    try:
        check_elements(data.train, basis.elements, advice="add them to basis.elements")
        # a held-out element with no training data would be scored by unfitted functions
        for part in (data.val, data.test):
            check_elements(part, basis.elements, advice=(
                "leave these configurations out of the file, or add training "
                "configurations with them and add them to basis.elements"))
    except ValueError as exc:
        raise config_error(cfg, [("basis.elements", str(exc))]) from None
    _warn_held_out_elements_without_training(data, basis)
    unused = check_e0(cfg, basis.elements)  # before the assembly, which needs each one
    if cfg["data"]["e0"] == "fit" and all(c.energy is None for c in data.train):
        why = " (data.keys.energy is null)" if cfg["data"]["keys"]["energy"] is None else ""
        raise config_error(cfg, [("data.e0", (
            f"found 'fit', but no training configuration has an energy{why} to fit E0 to; "
            "allowed: zero, or a mapping {element: eV} with a value for each element of "
            f"the basis ({', '.join(basis.elements)})"))])
    if unused:
        get_logger().info("data.e0: the values of %s are not used (no such element in the "
                          "basis)", ", ".join(unused))
    _check_group_keys(cfg, data)
    metric = cfg["selection"]["metric"]
    if metric in METRIC_KEYS:
        quantity = {"E": "energy", "F": "forces"}[METRIC_KEYS[metric][0]]
        on, name = (data.val, "validation") if data.val else (data.train, "training")
        if all(getattr(c, quantity) is None for c in on):
            raise config_error(cfg, [("selection.metric", (
                f"found {metric!r}, but the {name} data have no {quantity} to score it; "
                f"allowed: 'loss', or a metric of a quantity they have"))])
    from acefit.plan import row_counts

    table = weight_table(cfg)
    train_rows = row_counts(data.train, table)
    m = sum(train_rows[1].values())
    if m < len(basis):      # the reduced form needs m >= n (found by fuzzing `acefit init`)
        raise config_error(cfg, [("basis", (
            f"{len(basis)} functions, but the training data give only {m} weighted rows "
            f"(a fit needs at least one per function); allowed: a basis of at most {m} "
            "functions (a lower basis.totaldegree or order), or more training data"))])
    val_rows = row_counts(data.val, table)
    if data.val and metric == "loss" and not any(val_rows[1].values()):
        groups = sorted({c.config_type for c in data.val})
        held = {q for q, quantity in (("E", "energy"), ("F", "forces"))
                if any(getattr(c, quantity) is not None for c in data.val)}
        unweighted = [m for m, (q, _) in METRIC_KEYS.items() if q in held]
        raise config_error(cfg, [("selection.metric", (
            f"found 'loss', but every row of the validation data weighs 0 (config_type(s) "
            f"{groups} under data.weights), so the loss is 0 at every checkpoint and would "
            "select the first, an empty model; allowed: a nonzero weight for a validation "
            "group" + (f", or an unweighted metric ({', '.join(unweighted)})"
                       if unweighted else "")))])
    huber = huber_rows_problem(cfg, m, len(basis))
    if huber:
        raise config_error(cfg, huber)
    *nearest, pairs = _check_cutoff_reach(cfg, data.train, basis)
    _warn_underdetermined_centres(data.train, table, basis)
    warn_repeated_structures(data)
    checks, doubt = _warn_inconsistent_stresses(table, data, cfg["data"]["stress_reading"])
    _warn_unfitted_weights(cfg, data)
    _warn_unused_readings(data, cfg["data"]["stress_reading"])
    coverage = validation_coverage(data.train, data.val, cfg["data"]["validation"])
    if coverage:
        get_logger().warning(coverage)
    return DataChecks(stress=checks, doubtful_stresses=doubt, nearest=tuple(nearest),
                      train_rows=train_rows, val_rows=val_rows, pairs=pairs)


R0_FLOOR = 0.5
"""A pair's ``basis.r0`` below this share of its shortest training distance is warned of:
a user's r0 of 0.272 Å for 2.72 (shortest Cu-Au distance 1.88 Å) gave test errors 16-31x
those of the default, with no word. On the quickstart (shortest distances 2.06-2.41 Å),
r0 1.0 for every pair doubled OMP's validation loss at 300 functions (0.0144 against
0.0075) and 0.5 made it 4.4x."""

MAX_NEIGHBOURS = 5000
"""Neighbours per atom a cutoff may reach in a periodic training cell (about 25 Å in a
metal; the Zuo cutoffs reach about 60)."""


def _check_cutoff_reach(cfg: dict, train, basis) -> tuple:
    """Refuse cutoffs that no two training atoms are within (every function but the
    constants would see nothing), and warn about a pair whose training atoms come closer
    than the largest cutoff but never within the pair's own (its functions see nothing:
    a ``basis.rcut`` entry too short), a basis element in no training configuration and
    a pair of elements that no training configuration brings within its cutoff (their
    functions are not fitted: binary data of a ternary basis), and a given ``basis.r0``
    below ``R0_FLOOR`` of its pair's shortest training distance (a slip of the decimal
    point). Returns the largest cutoff, each training configuration's shortest distance
    below it (inf: none) and each element pair's (``{"Cu-Au": Å}``, basis order; pairs never that close left out)."""
    from acefit.basis.neighbours import neighbour_pairs
    from acefit.config import config_error
    from acefit.elements import pair_name

    radial = basis.radial
    # before any search: a cutoff of many shells would not fit in memory (1000 Å: one
    # allocation failure, named nowhere)
    for c in train:
        if c.atoms.pbc.all():
            crowd = c.n_atoms / c.atoms.get_volume() * 4 / 3 * np.pi * radial.max_cutoff ** 3
            if crowd > MAX_NEIGHBOURS:
                raise config_error(cfg, [("basis.rcut", (
                    f"found {cfg['basis']['rcut']}, which puts about {crowd:.3g} neighbours "
                    f"around each atom of {c.where}; allowed: a cutoff of a few neighbour "
                    f"shells, at most {MAX_NEIGHBOURS} neighbours (ACE uses 4-8 Å)"))])
    index = {z: k for k, z in enumerate(radial.elements)}
    inside, closest = set(), {}      # pairs (a, b) of element indices, a <= b
    shortest = np.full(len(train), np.inf)
    by_pair = np.full((len(index), len(index)), np.inf)
    for k, c in enumerate(train):
        i, j, _, d = neighbour_pairs(c.atoms, radial.max_cutoff)
        if not len(d):
            continue
        shortest[k] = d.min()
        kind = np.array([index[z] for z in c.atoms.numbers])
        a, b = np.minimum(kind[i], kind[j]), np.maximum(kind[i], kind[j])
        np.minimum.at(by_pair, (a, b), d)
        within = d < radial.rcut[a, b]
        inside.update(zip(a[within].tolist(), b[within].tolist()))
        for pair in set(zip(a[~within].tolist(), b[~within].tolist())) - inside:
            near = (a == pair[0]) & (b == pair[1])
            closest[pair] = min(closest.get(pair, np.inf), float(d[near].min()))
    if not inside:
        # (only now: how close the atoms do come, for the message)
        apart = float(_shortest_distances(train, 8.0).min(initial=np.inf))
        raise config_error(cfg, [("basis.rcut", (
            f"found {cfg['basis']['rcut']}, and no two atoms of the training data are that "
            f"close{f' (the closest are {apart:.3g} Å apart)' if apart < np.inf else ''}: the "
            "basis functions would see nothing; allowed: cutoffs beyond the neighbour "
            "distances of the data"))])
    # elements, and pairs of elements, whose functions see nothing (with three elements,
    # binary data leave a pair out)
    present = sorted({index[z] for c in train for z in set(c.atoms.numbers.tolist())})
    for a, b in itertools.combinations_with_replacement(present, 2):
        if (a, b) in inside:
            continue
        pair = pair_name(basis.elements[a], basis.elements[b])
        if (a, b) in closest:   # near, but not within the pair's own cutoff
            get_logger().warning(
                "basis.rcut: no %s pair of the training data is within its cutoff %g Å "
                "(the closest are %.3g Å apart), so its functions see nothing and are not "
                "fitted", pair, float(radial.rcut[a, b]), closest[a, b])
        else:
            get_logger().warning(
                "no %s pair of the training data is within the cutoff %g Å (no training "
                "configuration has them near each other), so its functions see nothing and "
                "are not fitted", pair, float(radial.rcut[a, b]))
    absent = [basis.elements[k] for k in range(len(index)) if k not in present]
    if absent:
        names = ", ".join(absent)
        e0 = (", nor is E0 (data.e0: fit gives it 0)" if cfg["data"]["e0"] == "fit"
              else "")
        get_logger().warning(
            "basis.elements: no training configuration holds %s, so the functions of %s are "
            "not fitted (zero)%s: the potential cannot describe atoms of %s", names, names,
            e0, names)
    names = basis_elements(basis)
    pairs = {f"{names[a]}-{names[b]}": float(by_pair[a, b])
             for a, b in itertools.combinations_with_replacement(range(len(index)), 2)
             if np.isfinite(by_pair[a, b])}
    given = cfg["basis"]["r0"]
    for a, b in itertools.combinations_with_replacement(range(len(index)), 2):
        # the reference crystals' default can sit far below a dilute pair's distances
        by_default = given is None or (isinstance(given, dict) and "default" not in given and
                                       not {f"{names[a]}-{names[b]}",
                                            f"{names[b]}-{names[a]}"} & set(given))
        if not by_default and np.isfinite(by_pair[a, b]) \
                and radial.r0[a, b] < R0_FLOOR * by_pair[a, b]:
            get_logger().warning(
                "basis.r0: %s has r0 %g Å, below %g of the pair's shortest training distance "
                "(%.3g Å): the distance transform then spends its resolution where no "
                "training pair is (a decimal-point slip?); r0 is usually near the pair's "
                "nearest-neighbour distance", f"{names[a]}-{names[b]}", float(radial.r0[a, b]),
                R0_FLOOR, float(by_pair[a, b]))
    return radial.max_cutoff, shortest, pairs


def _warn_underdetermined_centres(train, table, basis) -> None:
    """Warn about an element whose own functions outnumber the rows that can see them: a
    function centred on element X is nonzero only on the rows of training configurations
    holding X, so with fewer such rows (weighted: nonzero weight) than functions centred
    on X, the data cannot determine them all, whatever the rest of the data (a rare
    dopant, few frames of a phase). One element: the fit's own rows-against-functions
    check says it."""
    from acefit.design import row_weights
    from acefit.elements import atomic_number

    if len(basis.elements) < 2:
        return
    holding, rows = {}, {}      # per atomic number: configurations, weighted rows
    for c in train:             # each configuration's rows counted once, for all its elements
        weighted = sum(int(np.count_nonzero(w)) for w in row_weights(c, table).values())
        for z in np.unique(c.atoms.numbers).tolist():
            holding[z] = holding.get(z, 0) + 1
            rows[z] = rows.get(z, 0) + weighted
    centres = np.array([f.centre for f in basis.functions])
    for symbol in basis_elements(basis):
        z = atomic_number(symbol)
        if z not in holding:
            continue            # _check_cutoff_reach names an element in no configuration
        functions = int(np.count_nonzero(centres == z))
        if rows[z] < functions:
            get_logger().warning(
                "basis.elements: the %d training configuration(s) holding %s give %d weighted "
                "rows, fewer than the %d functions centred on %s, which only those rows see: "
                "the data cannot determine them all (a sparse solver chooses among them, a "
                "dense one leans on its prior); allowed: more training data with %s, or a "
                "smaller basis (basis.totaldegree, basis.order)", holding[z], symbol, rows[z],
                functions, symbol, symbol)


def _warn_held_out_elements_without_training(data, basis) -> None:
    """Warn about validation and test configurations holding a basis element that no
    training configuration has (:func:`unfitted_elements`): unfitted functions score them,
    and their errors enter the headline's (an element outside the basis is refused with
    the same advice)."""
    from acefit.elements import atomic_number

    unfitted = set(unfitted_elements(basis, data.train))
    for name, part in (("validation", data.val), ("test", data.test)):
        held = [c for c in part if unfitted & set(c.atoms.get_chemical_symbols())]
        if held:
            present = {e for c in held for e in c.atoms.get_chemical_symbols()}
            missing = sorted(unfitted & present, key=atomic_number)
            get_logger().warning(
                "%d %s configuration(s) hold %s, which no training configuration has "
                "(first: %s): unfitted functions score them, and their errors enter the "
                "%s errors; leave them out of the file, or add training configurations with "
                "%s", len(held), name, ", ".join(missing), held[0].where, name,
                "it" if len(missing) == 1 else "them")


def _check_group_keys(cfg: dict, data) -> None:
    """Refuse a config_type key of ``data.weights`` or ``data.stress_reading`` that names
    no group of the training, validation or test data: a typo, which would otherwise
    weigh or read nothing for a whole run. The error names the key's line, the groups
    there are, and the group ASE makes of a key it reads as a number."""
    from acefit.config import config_error
    from acefit.data import unknown_group

    groups = {c.config_type for part in (data.train, data.val, data.test) for c in part}
    problems = [(f"data.{setting}.config_type.{key}", unknown_group(key, groups))
                for setting in ("weights", "stress_reading")
                for key in cfg["data"][setting]["config_type"] if key not in groups]
    if problems:
        raise config_error(cfg, problems)


def _warn_unfitted_weights(cfg: dict, data) -> None:
    """Warn about config_type weights of groups with no training configuration: of the
    validation data, they weigh only the loss that selects the checkpoints; of the test
    data only, nothing (:func:`_check_group_keys` refuses those of no group)."""
    fitted = {c.config_type for c in data.train}
    held = {c.config_type for c in data.val}
    unfitted = sorted(set(cfg["data"]["weights"]["config_type"]) - fitted)
    for names, what in (
            ([k for k in unfitted if k in held], "they weigh only the validation loss that "
             "selects the checkpoints"),
            ([k for k in unfitted if k not in held], "of the test data only, where no weight "
             "enters, they are unused")):
        if names:
            get_logger().warning(
                "data.weights.config_type: %s match no training configuration (%s); "
                "config_types in the training data: %s", names, what, sorted(fitted))


def _warn_unused_readings(data, readings: dict) -> None:
    """Warn about stress readings (``data.stress_reading``) that read no stress: of a
    config_type with no stress in the training, validation or test data (a typo, or a
    group whose stresses are not read), or a default that every group with stresses
    overrides. Readings apply to every set: a group of the validation or test data only
    is read too."""
    stressed = {c.config_type for part in (data.train, data.val, data.test) for c in part
                if c.stress is not None}
    by_group = readings["config_type"]
    unused = sorted(set(by_group) - stressed)
    if unused:
        get_logger().warning(
            "data.stress_reading.config_type: %s match no configuration with a stress in the "
            "training, validation or test data (their readings read nothing); config_types "
            "with stresses: %s%s", unused, sorted(stressed), ase_group_hints(unused, stressed))
    if readings["default"] != "as_labelled" and not stressed - set(by_group):
        get_logger().warning(
            "data.stress_reading.default: %s reads no stress (%s); it applies to the "
            "config_types not in data.stress_reading.config_type", readings["default"],
            f"every config_type with stresses has its own reading: {sorted(stressed)}"
            if stressed else "no configuration has a stress")


def warn_repeated_structures(data) -> None:
    """Warn about structures that appear twice: within the training data (weighted twice)
    and, worse, in training and a held-out set (held-out errors that measure the fit).
    ``data``: a :class:`Data` (``acefit init`` gives its training and test files)."""
    from acefit.data import repeated_structures

    log = get_logger()
    parts = {"training": data.train, "validation": data.val, "test": data.test}
    configs = [c for part in parts.values() for c in part]
    # by position: one file can be both training and test data, its frames named alike
    part_of = [name for name, part in parts.items() for _ in part]
    groups = {}
    for k, first in repeated_structures(configs):
        groups.setdefault((part_of[k], part_of[first]), []).append(
            (configs[k].where, configs[first].where))
    for (held, fitted), pairs in groups.items():
        if held == fitted:
            log.warning("%d %s configuration%s an earlier one (first: %s = %s)%s",
                        len(pairs), held, " repeats" if len(pairs) == 1 else "s repeat",
                        *pairs[0], "; each copy is fitted as another configuration"
                        if held == "training" else "")
        else:
            log.warning("%d %s configuration%s also in the %s data (first: %s = %s): "
                        "%s the %s, not the prediction", len(pairs), held,
                        " is" if len(pairs) == 1 else "s are", fitted, *pairs[0],
                        "its error measures" if len(pairs) == 1 else "their errors measure",
                        "fit" if fitted == "training" else "selection")


def _warn_inconsistent_stresses(table: dict, data, readings: dict) -> tuple[list, dict]:
    """Warn about stresses that disagree with their energies (an error of sign, Voigt
    order or units in the labels; :mod:`acefit.consistency`) as ``readings``
    (``data.stress_reading``) reads them: those weighed in ``table``
    (:func:`weight_table`), and those of groups in the test data, unweighed or of the test
    data only, whose test stress errors they make meaningless; and about the groups
    untested beside a converter's error, not fitted but in the test data
    (:func:`doubtful_test_stresses`), whose test stresses are scored as labelled. A group
    is checked on its frames of every set together (a reading applies to them all). The
    checks, and the record of :func:`doubtful_test_stresses`."""
    from acefit.consistency import (MIN_PAIRS, check_stresses, converter_errors, converter_text,
                                    describe_reading, untested_beside_converters)
    from acefit.design import weights_for

    checks = check_stresses([*data.train, *(data.val or []), *(data.test or [])])
    found = converter_errors(checks, readings)
    beside = untested_beside_converters(checks, readings)
    fitted, weighed, tested = _stressed_groups(data)
    for check in checks:
        weight = weights_for(table, check.config_type)["V"]
        held = check.config_type not in weighed
        if check.verdict != "inconsistent" or (weight == 0 and check.config_type not in tested):
            continue
        reading = readings["config_type"].get(check.config_type, readings["default"])
        if reading == "as_labelled":
            what = check.describe()
        else:   # a reading found now would be one on top of the configured one
            what = (f"{check.config_type}: stresses read with {describe_reading(reading)} "
                    f"(data.stress_reading: {reading}) inconsistent with the energies: "
                    f"{check.bad} of {check.pairs} strain pairs miss ΔE; check that reading")
        if held:    # no weight silences it: these labels enter the test errors only
            get_logger().warning(
                "%s; they are in the test data only: the test stress errors (in total and "
                "of %s) measure these labels, not the fit", what, check.config_type)
        elif weight == 0:   # out of the fit, but not out of the test errors
            get_logger().warning(
                "%s; V 0 keeps them out of the fit, but the test data have them too: the "
                "test stress errors (in total and of %s) include these labels", what,
                check.config_type)
        else:   # validation rows are not fitted, but their loss selects the checkpoints
            how = "fitted" if check.config_type in fitted else \
                "in the validation data only, which select the checkpoints,"
            get_logger().warning(
                "%s; they are %s with V %g: fix the labels, or set "
                "data.weights.config_type: {%s: {V: 0.0}}", what, how, weight,
                json.dumps(check.config_type))
    doubt = doubtful_test_stresses(table, data, checks, beside, found)
    untested = [group for group, why in doubt["groups"].items() if why == "untested"]
    if untested:    # the inconsistent ones were warned of above
        held = [group for group in untested if group not in weighed]
        get_logger().warning(
            "%s: stresses not tested against their energies (fewer than %d strain pairs), "
            "beside a converter's error of sign or units found in %s, which would go unseen "
            "in these; not fitted (%s), but the test stress errors (in total and of each) "
            "include them as labelled: if they are in that convention too, read them so "
            "(data.stress_reading)", ", ".join(untested), MIN_PAIRS,
            converter_text(doubt["found"]),
            "V 0" if not held else "in the test data only" if held == untested else
            f"V 0; {', '.join(held)} in the test data only")
    weighed_untested = [group for group in beside
                        if group in weighed and weights_for(table, group)["V"] > 0]
    if weighed_untested:     # worse than scored: fitted, or selecting the checkpoints
        unfitted = [group for group in weighed_untested if group not in fitted]
        get_logger().warning(
            "%s: stresses %s as labelled (V > 0) but not tested against their energies "
            "(fewer than %d strain pairs), beside a converter's error of sign or units found "
            "in %s, which would go unseen in these: if they are in that convention too, read "
            "them so (data.stress_reading); if unsure, give them V 0",
            ", ".join(weighed_untested), "fitted" if not unfitted else
            "in the validation data only, which select the checkpoints, weighed"
            if unfitted == weighed_untested else
            f"fitted ({', '.join(unfitted)}: in the validation data only) and weighed",
            MIN_PAIRS, converter_text(found))
    return checks, doubt


def _stressed_groups(data) -> tuple[set, set, set]:
    """The config_types with stresses: fitted (training data), weighed (training or
    validation data: the validation loss selects the checkpoints) and tested (test
    data)."""
    def stressed(part):
        return {c.config_type for c in part or [] if c.stress is not None}

    fitted = stressed(data.train)
    return fitted, fitted | stressed(data.val), stressed(data.test)


def doubtful_test_stresses(table: dict, data, checks, untested, found) -> dict:
    """The config_types whose test stresses are scored, although they are not fitted (V 0
    in ``table``, or in the test data only) and their labels are in doubt, as the config's
    ``data.stress_reading`` reads them: inconsistent with their energies (``checks``,
    :func:`acefit.consistency.check_stresses`), or ``untested`` beside a converter's error
    of sign or units found in other groups
    (:func:`acefit.consistency.untested_beside_converters`), where that error would go
    unseen. ``{"groups": {config_type: "inconsistent" or "untested"}, "found":
    {config_type: reading}}`` (``found``, the converter's errors,
    :func:`acefit.consistency.converter_errors`; {} without such a group), for the fit's
    warning and the note beside report.md's stress errors, once per fit
    (:attr:`DataChecks.doubtful_stresses`)."""
    from acefit.design import weights_for

    _, weighed, tested = _stressed_groups(data)
    groups = {check.config_type: "inconsistent" if check.verdict == "inconsistent"
              else "untested" for check in checks
              if (check.verdict == "inconsistent" or check.config_type in untested)
              and check.config_type in tested
              and (check.config_type not in weighed
                   or weights_for(table, check.config_type)["V"] == 0)}
    return {"groups": groups, "found": dict(found) if groups else {}}


def basis_elements(basis) -> list[str]:
    from ase.data import chemical_symbols

    return [z if isinstance(z, str) else chemical_symbols[int(z)] for z in basis.elements]


def unfitted_elements(basis, train) -> list[str]:
    """The elements of ``basis`` that no configuration of ``train`` holds: their functions
    are not fitted (the fit warns; each exported potential records them,
    :attr:`acefit.Potential.unfitted_elements`)."""
    held = {int(z) for c in train for z in np.unique(c.atoms.numbers)}
    names = basis_elements(basis)
    return [name for name, z in zip(names, _basis_numbers(basis)) if z not in held]


def _basis_numbers(basis) -> list[int]:
    from acefit.elements import atomic_number

    return [atomic_number(e) for e in basis.elements]


def function_record(f) -> list:
    """One entry of ``basis_functions.json``: centre, order, factors (z, n, l), kind, coupling."""
    if hasattr(f, "to_list"):
        return f.to_list()
    return [int(f.centre), int(f.order), [list(map(int, t)) for t in f.factors], str(f.kind), 0]


#: Cache entries used this recently are never pruned: another run may be using them.
CACHE_IN_USE_S = 1800.0


def _remove_stale_temporaries(cache_dir: Path) -> None:
    """Delete what killed runs (or interrupted ones that could not clean up) left
    half-written in the cache, whatever the folder's size
    (:func:`acefit.cache.remove_stale_temporaries`): hidden files no entry ever reads."""
    from acefit import cache

    removed, freed = cache.remove_stale_temporaries(cache_dir)
    if removed:
        get_logger().info("deleted %d temporary file(s) of interrupted or killed runs in %s "
                          "(%.1f MiB)",
                          len(removed), cache_dir, freed / 2 ** 20)


def _prune_cache(cache_dir: Path, cap_gib, since: float) -> None:
    """Keep the cache folder under ``output.cache_gib`` (entries of this run, and any used
    in the last ``CACHE_IN_USE_S``, stay)."""
    if cap_gib is None:
        return
    from acefit import cache

    log = get_logger()
    # a run sharing the folder may still read what it used a while ago (found by review:
    # pruning by this run's start deleted a concurrent run's kept rows); file times come
    # from a coarse clock (a few ms behind time.time()): a margin
    keep_since = min(since, time.time() - CACHE_IN_USE_S) - 2.0
    removed, remaining = cache.prune(cache_dir, cap_gib * 2 ** 30, keep_since=keep_since)
    if removed:
        log.info("cache: removed %d least recently used file(s) from %s (output.cache_gib "
                 "%g)", len(removed), cache_dir, cap_gib)
    if remaining > cap_gib * 2 ** 30:
        log.info("cache: %s holds %.2f GiB, above output.cache_gib %g, in files this run "
                 "uses", cache_dir, remaining / 2 ** 30, cap_gib)


def basis_summary(basis) -> str:
    """How many functions of each kind a basis has, as text for the log and report."""
    kinds = {}
    for f in basis.functions:
        kinds[f.label] = kinds.get(f.label, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))



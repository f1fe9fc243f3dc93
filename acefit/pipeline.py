"""``acefit fit``: one configured run, from data files to exported potentials and a report.

Stages, each resumable (an interrupted run continues where it stopped)::

    load data -> basis -> assemble (cached) -> prior -> solver paths (checkpointed step
    by step) -> errors per checkpoint -> selection -> export -> report

This module joins the stages; each concept of them has its module: the run folder and its
files (:mod:`acefit.run_folder`), the config read as the stages' arguments
(:mod:`acefit.fit_settings`), what config and data cannot do together, found before the
assembly (:mod:`acefit.data_checks`), the solver paths run and stored
(:mod:`acefit.solver_runs`), and, at the export, the committees
(:mod:`acefit.committee`) and the short-range verdicts (:mod:`acefit.short_range`).

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
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from acefit import __version__
from acefit.atomic import write_json, write_text
from acefit.checkpoint_errors import evaluate_errors
from acefit.committee import posterior_committee, warn_unscaled_committee
from acefit.config import dump_config
from acefit.data_checks import (basis_elements, check_against_data, check_sizes,
                                log_repulsion_reach, unfitted_elements)
from acefit.basis.spec import basis_summary, function_record
from acefit.design import ROW_KINDS
from acefit.export.formats import FORMAT_SUFFIXES, format_path, write_format  # noqa: F401
from acefit.fit_inputs import Data, assemble_system, build_basis, load_data
from acefit.fit_settings import (isolated_atom_elements, potential_metadata, prior_scale,
                                 separated_atoms)
from acefit.progress import get_logger, holding_interrupts, interruption
from acefit.run_folder import (RUN_FILES, RunExistsError, RunLock, add_file_handler,
                               cache_dir_of, config_hash, delete_trash, earlier_state,
                               mark_interrupted, prepare_run_dir, remove_file_handler,
                               run_dir_of, set_aside, timestamp, to_trash)
from acefit.selection import (SE_RESAMPLES, best_outside, headline, record_of_test_errors,
                              resolution_on_test_set, select_checkpoints, unmet_budgets)
from acefit.short_range import (alternatives_text, compression_verdicts, cored_alternatives,
                                dimer_verdicts, warn_collapse, warn_without_core)
from acefit.solver_runs import all_subbasis_masks, run_paths, solver_labels, stored_paths

# RunExistsError lives with the run folder; run_fit raises it, so its callers find it here;
# the stages' inputs (acefit.fit_inputs) and format_path (acefit.export.formats) lived here
__all__ = ["run_fit", "FitResult", "RunExistsError", "Data", "load_data", "build_basis",
           "assemble_system", "format_path"]


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
    """The validation and test configurations of a run, in ``run.json``: their number,
    the hash of their structures and labels (:func:`acefit.cache.configs_hash`), so
    that ``acefit compare`` compares the errors only of runs on one set, and that of
    their structures alone, so that it can say which of the two differs. Stresses are
    left out: ``data.stress_reading`` changes them on purpose, and compare notes it."""
    from acefit.cache import configs_hash

    return {name: {"configurations": len(configs),
                   "hash": configs_hash([replace(c, stress=None) for c in configs]),
                   "structures": configs_hash(configs, labels=False)}
            for name, configs in (("validation", data.val), ("test", data.test))}


# ---------------------------------------------------------------------------- export

def _potential_name(sel) -> str:
    size = "any" if sel["budget"] is None else f"t{sel['budget']}"
    return f"{sel['label']}_{size}"


def export_potentials(selected, paths, basis, system, cfg, run_dir: Path,
                      train_pairs=None, train=None, unfitted=()) -> list[dict]:
    """Write the selected potentials; returns what was written (or why not) per selection,
    with each one's dimer verdicts and the headline potential's compressed crystals
    (``train_pairs``: :attr:`acefit.data_checks.DataChecks.pairs`, and ``train``, the
    training configurations, which their warnings quote); ``unfitted``: the basis
    elements the training data lack (:func:`acefit.data_checks.unfitted_elements`), which
    each potential records. A headline potential without a repulsive core is warned of
    with the selected potentials that have one for every pair."""
    from acefit.export.lammps import pair_commands_path
    from acefit.potential import Potential

    log = get_logger()
    formats = cfg["export"]["formats"]
    pot_dir = run_dir / RUN_FILES["potentials"]
    pot_dir.mkdir(exist_ok=True)
    overall = headline(selected)
    size = cfg["export"]["committee"]
    gamma = prior_scale(cfg, basis) if size else None
    separated = separated_atoms(cfg, basis_elements(basis), isolated_atom_elements(train or ()))
    if size:
        warn_unscaled_committee(system)
    records, top = [], None
    dimers = {}  # (label, step): budgets that select one step share its dimer curves
    committees = {}  # and its committee
    for sel in selected:
        step = paths[sel["label"]].steps[sel["step"]]
        meta = potential_metadata(cfg, paths[sel["label"]].solver, sel, separated)
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


def _one_body_energies(basis, coef) -> dict:
    """{element: coefficient} of the basis's one-body functions (eV per atom on top of E0)."""
    from ase.data import chemical_symbols

    return {chemical_symbols[f.centre]: float(c) for f, c in zip(basis.functions, coef)
            if f.kind == "onebody"}


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
        check_sizes(cfg, len(basis))
        checks = check_against_data(cfg, data, basis)
        log_repulsion_reach(cfg, data, checks.nearest)
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

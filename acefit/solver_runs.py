"""The solver paths of a fit, run and stored: each configured solver on the assembled
problem (:func:`run_solver`; an a-priori path over sizes or the sub-bases of smaller total
degrees, :func:`subbasis_masks`), its steps de-biased and checkpointed as they come, a
finished path read back from ``paths.h5`` unless its settings, problem or solver revision
(:data:`SOLVER_REVISIONS`) changed (:func:`run_paths`, :func:`stored_paths`), and why a
path ended, in words (:func:`path_stop`, :func:`stop_text`, :func:`unconverged_steps`)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from acefit.atomic import json_ready
from acefit.formatting import number
from acefit.progress import bar, get_logger, raise_if_interrupted

__all__ = ["run_paths", "run_solver", "stored_paths", "solver_labels", "subbasis_masks",
           "all_subbasis_masks", "dense_training_problem", "SOLVER_REVISIONS", "path_stop",
           "stop_text", "unconverged_steps"]


# Config keys of each solver that are not keyword arguments of the solver function.
_PIPELINE_KEYS = {"name", "label", "prior", "debias", "debias_every", "tsvd_truncation", "sizes",
                  "size_tol", "max_fits", "totaldegrees", "patience"}


_STOP_REASONS = {
    "unresolved_lambda": "rounding no longer resolves λ on this system (numerically "
                         "rank-deficient; see acefit.solvers.asp, acefit.solvers.lasso.lars_lasso)",
    "stalled": "more breakpoints at one λ than columns (ties that rounding decides)",
    "spanned": "no column could enter: each one left lies (numerically) in the span of the "
               "selected ones, or is orthogonal to the residual (the system's numerical "
               "rank, or a fit that is exact): more functions than that cannot be chosen",
    "kkt_failed": "scikit-learn's LARS lost the lasso path at the next knot (it broke the "
                  "lasso optimality conditions, as on columns that are exact combinations of "
                  "others); the path ends at the last knot that meets them: asp solves the "
                  "same path exactly",
    "degenerate": "scikit-learn's LARS ended its path above λ = 0 without saying why (its "
                  "knots meet the lasso optimality conditions); asp goes on where it stops",
    "max_iter": "the iteration limit (max_iter) was reached before ARD converged",
    "max_iter_at_max_active": "none: it reached max_active, then the iteration limit "
                              "(max_iter) before ARD converged (its last models are "
                              "approximate)",
    "exact_fit": "the model fits the data exactly (to rounding): ARD's noise precision has no "
                 "finite optimum",
    "noise_precision_diverged": "ARD's noise precision diverged; the path ends on the last "
                                "finite model",
    "grid_end": "the given λ values ended first",
    "no_growth": "the active set stopped growing below the λ grid (over a factor "
                 "min(lam_ratio, 1e-3) in λ)",
    "lambda_floor": "the λ grid, extended below lam_ratio, reached min_lambda "
                    "(default 1e-12 λ_max)",
}


# paths whose steps carry info["converged"] (False: max_iter ran out); config and function
# names (a stored path has its config name: an ard sweep's is "ard")
_CONVERGENCE_FLAGGED = ("cd", "cd_lasso", "ista", "blr", "blr_apriori", "ard", "ard_sweep")


def unconverged_steps(path) -> int:
    """Steps of a cd/ista/blr/ard path whose iterations stopped at max_iter
    (``info["converged"]`` False)."""
    if path.solver not in _CONVERGENCE_FLAGGED:
        return 0
    return sum(1 for s in path.steps if s.info.get("converged") is False)


def path_stop(path, spec: dict) -> str | None:
    """Why the path of solver ``spec`` ended (its last step's ``info["stop"]``), with
    ``max_iter_at_max_active`` for a path that reached ``max_active`` and then ran out of
    moves refining it: not an early end (an ARD path's)."""
    stop = path.steps[-1].info.get("stop") if len(path) else None
    if stop == "max_iter" and int(path.sizes[-1]) == spec.get("max_active"):
        return "max_iter_at_max_active"
    return stop


def stop_text(stop: str | None, unconverged: int, n_steps: int) -> str:
    """Why a path ended early and how many of its steps did not converge, in words."""
    parts = [_STOP_REASONS.get(stop, stop)] if stop else []
    if unconverged:
        parts.append(f"{unconverged} of {n_steps} steps unconverged (max_iter reached)")
    return "; ".join(parts)


def _apriori_costs(cfg, basis, gamma):
    """Order of the a-priori paths: the prior's γ, or (``prior: none``) the algebraic cost
    with p = 2."""
    if gamma is not None:
        return gamma
    from acefit.prior import algebraic_prior

    # p = 2, not the prior's default 4: the order runs without a prior have always had
    return algebraic_prior(basis.functions, p=2.0)


def _solver_function(name: str):
    import acefit.solvers as s

    return {"asp": s.asp, "omp": s.omp, "lars": s.lars_lasso, "cd": s.cd_lasso, "ista": s.ista,
            "qr": s.qr, "rrqr": s.rrqr, "tsvd": s.tsvd, "blr": s.blr, "ard": s.ard,
            "ard_path": s.ard_path}[name]


def subbasis_masks(spec: dict, basis) -> list | None:
    """The column sets of a solver's ``totaldegrees`` a-priori path (None without it)."""
    from acefit.basis.spec import within_totaldegree

    if not spec.get("totaldegrees"):
        return None
    masks = [within_totaldegree(basis.functions, d, wL=basis.spec.wL)
             for d in spec["totaldegrees"]]
    for j in range(1, len(masks)):
        if masks[j].sum() <= masks[j - 1].sum():
            raise ValueError(f"solvers ({spec['label']}).totaldegrees[{j}] = "
                             f"{spec['totaldegrees'][j]} adds no function to the entry before "
                             f"({int(masks[j - 1].sum())} functions); allowed: larger degrees")
    return masks


def all_subbasis_masks(cfg: dict, basis) -> dict:
    """:func:`subbasis_masks` of every solver, by label."""
    return {spec["label"]: subbasis_masks(spec, basis) for spec in cfg["solvers"]}


def run_solver(spec: dict, problem, *, gamma, validation, costs, on_step, subbases=None):
    """Run one configured solver path on the assembled problem; returns its Path.

    ``costs`` order the ``sizes`` of an a-priori path; ``subbases`` (from
    :func:`subbasis_masks`) replace both for a ``totaldegrees`` one.
    """
    from acefit.solvers import apriori

    prior = gamma if spec["prior"] else None
    kwargs = {k: v for k, v in spec.items() if k not in _PIPELINE_KEYS}
    name = spec["name"]
    common = dict(prior=prior, validation=validation, on_step=on_step)
    if name == "ard" and spec["sizes"]:
        threshold = kwargs.pop("threshold_lambda")
        return apriori.ard_sweep(problem, targets=spec["sizes"], rel_tol=spec["size_tol"],
                                 max_fits=spec["max_fits"], threshold_init=threshold,
                                 **common, **kwargs)
    if name in apriori.APRIORI_SOLVERS and (subbases is not None or spec.get("sizes")):
        patience = spec.get("patience")
        if patience is not None and validation is None:
            get_logger().warning("solver %s: no validation set, so `patience` is ignored and "
                                 "every size is fitted", spec["label"])
            patience = None
        levels = (dict(subbases=subbases) if subbases is not None
                  else dict(costs=costs, sizes=spec["sizes"]))
        return apriori.apriori_path(problem, solver=name, patience=patience, **levels,
                                    **common, **kwargs)
    return _solver_function(name)(problem, **common, **kwargs)


class _StepSink:
    """on_step callback: optional de-biasing, then the checkpoint file and the progress bar."""

    def __init__(self, writer, spec, problem, gamma, validation, progress):
        self.writer = writer
        self.spec = spec
        self.progress = progress
        self.count = 0
        self.debiaser = None
        self.every = spec.get("debias_every", 1)
        self.sizes_done = set()
        self.skipped = None  # the latest step not kept, refitted by finish() if it is last
        method = spec.get("debias", "none")
        if method != "none":
            from acefit.solvers.debias import DEFAULT_RTOLS, Debiaser

            # one per path: its QR follows the active set from step to step
            every_rank = spec.get("tsvd_truncation") == "rank"
            self.debiaser = Debiaser(problem, method, path_solver=spec["name"],
                                     validation=validation,
                                     rtols="rank" if every_rank else DEFAULT_RTOLS,
                                     select_rtol_by_validation=(method == "tsvd"
                                                                and validation is not None),
                                     prior=gamma if spec["prior"] else None)

    def _kept(self, step) -> bool:
        """With ``debias_every`` k: the first step of each active-set size divisible by k
        (and, through :meth:`finish`, the path's last step)."""
        n = step.n_active
        if self.every == 1:
            return True
        if n % self.every or n in self.sizes_done:
            return False
        self.sizes_done.add(n)
        return True

    def __call__(self, step):
        raise_if_interrupted()     # a Ctrl-C that Python swallowed stops the path here
        if self.debiaser is not None:
            if not self._kept(step):
                self.skipped = step
                return
            self.skipped = None
            step = self.debiaser(step)
        self._write(step)

    def finish(self):
        """After the solver: keep the path's last step even if its size was skipped."""
        if self.skipped is not None:
            step, self.skipped = self.skipped, None
            self._write(self.debiaser(step))

    def _write(self, step):
        self.writer(step)
        self.count += 1
        self.progress.set_postfix_str(f"step {self.count}, val {_fmt(step.val_error)}",
                                      refresh=False)
        self.progress.n = step.n_active
        self.progress.refresh()
        get_logger().debug("%s step %d: %d active, lam %.4g, train %.5g, val %s",
                           self.spec["label"], self.count - 1, step.n_active, step.lam,
                           step.train_error, _fmt(step.val_error))


def _fmt(x) -> str:
    # ASCII "-" for a path without validation data, in a log line; a NaN error as "nan"
    return number(x, ".5g", missing="-", keep_nan=True)


# Solvers whose paths changed for the same config: a finished path stored by an earlier
# revision is computed again when its run resumes. Revision 1 of ard, ard_path, lars, cd
# and ista: ard's threshold under a prior, ard_path's dependence check, lars past
# scikit-learn's floor, cd/ista's exact steps. lars 2, omp 1, asp 1: lars's support at the
# knots where a column leaves and its end before a knot that breaks the lasso optimality
# conditions; omp's stop once the residual is orthogonal to every column that could enter;
# asp's one step at a min_lambda >= lam_max. The paths differ only in those corners, but
# a resume must give a fresh run's.
SOLVER_REVISIONS = {"ard": 1, "ard_path": 1, "lars": 2, "cd": 1, "ista": 1, "omp": 1,
                    "asp": 1}


def _solver_params(spec, problem_key, gamma) -> dict:
    from acefit.cache import stable_hash

    params = {"config": spec, "problem_key": problem_key,
              "prior_hash": None if gamma is None else stable_hash(np.asarray(gamma))}
    if spec["name"] in SOLVER_REVISIONS:    # the others' stored paths stay as they were
        params["revision"] = SOLVER_REVISIONS[spec["name"]]
    return params


def run_paths(cfg, system, basis, gamma, paths_file: Path, *, progress=None,
              subbases=None, stored=None, train=None) -> dict:
    """Every configured solver path, reusing finished ones; ``{label: Path}``.
    ``subbases``: :func:`all_subbasis_masks` of the config, when already made;
    ``stored``: :func:`stored_paths` of ``paths_file``, when already read; ``train``: the
    training configurations, whose rows a Huber path evaluates again when the assembly
    did not keep them (:func:`dense_training_problem`)."""
    from acefit.checkpoints import CheckpointWriter, read_path

    log = get_logger()
    # column-major, as every solver takes it
    validation = system.val.weighted(order="F") if system.val is not None else None
    costs = _apriori_costs(cfg, basis, gamma)
    if subbases is None:  # before any path runs: a bad `totaldegrees` stops the run at once
        subbases = all_subbasis_masks(cfg, basis)
    if stored is None:
        stored = stored_paths(paths_file, solver_labels(cfg))
    paths = {}
    dense = None    # the weighted training rows, read once for the Huber paths
    for k, spec in enumerate(cfg["solvers"]):
        label = spec["label"]
        params = _solver_params(spec, system.key, gamma if spec["prior"] else None)
        done = stored.get(label)
        if done is not None and done.complete:
            if json_ready(done.params.get("acefit")) == json_ready(params):
                log.info("solver %s: finished path read back from %s (%d steps)", label,
                         paths_file.name, len(done))
                paths[label] = done
                continue
            log.info("solver %s: stored path was made with other settings; recomputing", label)
        interrupted = done if done is not None and not done.complete else None
        if interrupted is not None:
            log.info("solver %s: %s", label, _resume_note(len(interrupted)))
        total = spec.get("max_active") or len(basis)
        t = time.perf_counter()
        with bar(total, f"{label:>8s}", unit="fn", enabled=progress) as pbar, \
                CheckpointWriter(paths_file, spec["name"], {"acefit": params},
                                 n_features=len(basis), run=label, overwrite=True) as writer:
            sink = _StepSink(writer, spec, system.train, gamma, validation, pbar)
            problem = system.train
            if spec.get("loss") == "huber":     # a loss of the rows, not of (R, Q'y)
                dense = dense_training_problem(system, basis, train) if dense is None else dense
                problem = dense
            run_solver(spec, problem, gamma=gamma, validation=validation, costs=costs,
                       on_step=sink, subbases=subbases[label])
            del problem
            if not any(later.get("loss") == "huber" for later in cfg["solvers"][k + 1:]):
                dense = None    # no later path needs the rows
            sink.finish()
        paths[label] = read_path(paths_file, label, require_complete=True)
        if interrupted is not None:
            _check_reproduced(label, interrupted, paths[label])
        sizes = paths[label].sizes
        log.info("solver %s: %d checkpoints, %s active functions, %.1f s", label,
                 len(sizes), f"{sizes.min()}..{sizes.max()}" if len(sizes) else "no",
                 time.perf_counter() - t)
        stop = path_stop(paths[label], spec)
        if len(sizes) and sizes.max() == 0 and spec.get("min_lambda") is not None:
            # the stop reasons (min_lambda reached, the λ floor) would read as a path cut short
            log.warning("solver %s: every checkpoint is zero, the model E0 and core only: "
                        "min_lambda %g is at or above λ_max, where the first function "
                        "enters; lower it (or leave it out)", label, spec["min_lambda"])
        elif stop == "patience":
            log.info("solver %s: stopped at size %d, after %d sizes in a row did not lower the "
                     "validation loss (patience)", label, paths[label].steps[-1].info["size"],
                     spec["patience"])
        elif stop == "max_iter_at_max_active":
            log.warning("solver %s: the path reached max_active (%d functions), then the "
                        "iteration limit (max_iter) before ARD converged: its last models are "
                        "approximate", label, sizes[-1])
        elif stop:
            log.warning("solver %s: the path ended early, at %d active functions: %s", label,
                        sizes[-1], _STOP_REASONS.get(stop, stop))
        unconverged = unconverged_steps(paths[label])
        if unconverged:
            log.warning("solver %s: %d of %d steps stopped at max_iter without converging "
                        "(their coefficients are approximate; raise max_iter)", label,
                        unconverged, len(sizes))
    return paths


def dense_training_problem(system, basis, train=None):
    """The weighted training rows of ``system`` as a dense LeastSquaresProblem, for a
    loss that acts on each row (ista's Huber; the reduced (R, Q'y) mixes the rows): those
    the assembly kept in the cache, else evaluated again in this process from ``train``
    (the configurations the assembly numbered). Rows of weight 0 are left out, as in R.
    Holds 8·m·n bytes (:func:`acefit.data_checks.huber_rows_problem` bounds them before
    the assembly)."""
    from acefit.assembly import train_row_blocks
    from acefit.design import design_block
    from acefit.lsq import LeastSquaresProblem

    log = get_logger()
    m, n = system.train.m, system.train.n_features
    t = time.perf_counter()

    def fill(blocks):
        A, y, k = np.empty((m, n), order="F"), np.empty(m), 0
        for block in blocks:
            if block is None:
                continue
            Ab, yb = block.select(block.w != 0).weighted()
            if k + len(yb) <= m:
                A[k:k + len(yb)], y[k:k + len(yb)] = Ab, yb
            k += len(yb)
        if k != m:
            raise ValueError(f"{k} weighted training rows where the assembly folded {m}")
        return A, y

    A = None
    if system.train_rows is not None:
        try:
            A, y = fill(block for block, _ in train_row_blocks(system.train_rows))
            source = "read from the cache"
        except (OSError, KeyError, ValueError) as exc:     # e.g. removed by another run
            log.warning("the kept training rows could not be read (%s); evaluating them "
                        "again", exc)
    if A is None:
        if train is None:
            raise ValueError("the training rows were not kept in the cache and no training "
                             "configurations were given to evaluate them again")
        A, y = fill(design_block(basis, [cfg], system.weights, system.e0, first_index=i)
                    for i, cfg in enumerate(train))
        source = "evaluated again"
    log.info("dense training rows for the Huber loss: %d x %d (%.2f GiB), %s in %.1f s",
             m, n, A.nbytes / 2 ** 30, source, time.perf_counter() - t)
    return LeastSquaresProblem.from_dense(A, y)


def stored_paths(paths_file: Path, labels) -> dict:
    """The solver paths of ``labels`` that a run being resumed has stored, finished or
    interrupted ({} without a path file). A damaged path file stops the resume with its
    name and the way on (--force), instead of the same error at every later attempt;
    :func:`acefit.pipeline.run_fit` reads them before the data and the assembly, so it
    stops at once."""
    from acefit.checkpoints import CheckpointError, read_paths

    if not paths_file.exists():
        return {}
    try:    # one read: listing the runs first loaded an interrupted run's saved steps too
        return read_paths(paths_file, set(labels))
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; the run cannot be resumed from it: pass --force to "
                              "compute its solver paths again (the assembled problem is "
                              "read from the cache)") from None


def solver_labels(cfg: dict) -> list:
    return [spec["label"] for spec in cfg["solvers"]]


def _resume_note(finished: int) -> str:
    """What resuming a path that an interrupted run left with ``finished`` steps does."""
    if not finished:
        return "the interrupted run had finished no step of this path; computing it"
    return (f"resuming an interrupted path ({finished} finished step{'s' * (finished != 1)}); "
            "recomputing it")


def _check_reproduced(label, old, new) -> None:
    """Log whether a recomputed path reproduces the checkpoints of its interrupted run
    (nothing when that run had finished none)."""
    log = get_logger()
    if old.params.get("acefit") != new.params.get("acefit") or not len(old) or not len(new):
        return  # other settings, or no checkpoint to compare
    for i, (a, b) in enumerate(zip(old.steps, new.steps)):
        if not (np.array_equal(a.active, b.active)
                and np.allclose(a.coef, b.coef, rtol=1e-9, atol=1e-12)):
            log.warning("solver %s: the recomputed path differs from the interrupted one "
                        "from step %d on (the new path is kept)", label, i)
            return
    log.info("solver %s: the recomputed path reproduces all %d checkpoints of the "
             "interrupted run", label, min(len(old), len(new)))

"""What a run will hold, before it runs: ``acefit fit CONFIG --plan``.

A fit's size is set by its rows and basis functions: the reduced training system R is
n x n whatever the data, the validation and test rows stay in memory (one float per row
and function), and the training rows are kept on disk for the errors stage when small
enough. All of these follow from the data and the basis alone, so the plan reads the
data and builds the basis (seconds), counts the rows the assembly will make, and
assembles nothing.

The peak memory (:func:`memory_estimate`) is the largest of the stages' sums: what stays
held (R, the validation and test rows, the checkpoints' coefficients) plus what the stage
itself holds: the assembly R twice (three times while it merges the parts of several
workers), or the validation and test rows as they are built; each solver its working
set (the Gram matrix and a scaled copy of R for a path, an SVD of n x n for BLR: about
7 R); the errors stage every checkpoint's coefficients again, a block of training rows
and its predictions. The coefficients per solver were measured on reduced problems of
800 and 1600 functions (tracemalloc), the overhead (interpreter, libraries, compiled
kernels, freed memory the process keeps) on the quickstart, a 1698-function fit and Zuo
Mo; docs/benchmarks.md, "Memory of a fit", has the measurements and the commands.
"""

from __future__ import annotations

import numpy as np

from acefit.assembly import BLOCK_FLOATS
from acefit.checkpoint_errors import BATCH
from acefit.design import ROW_KINDS

__all__ = ["plan", "plan_text", "memory_estimate", "overhead_bytes", "solver_memory",
           "checkpoint_count"]

#: The fit's process besides its arrays: interpreter, numpy/scipy/numba/ASE, the compiled
#: kernels and the configurations (RSS at the start of the errors stage less the arrays
#: held then: 233-239 MiB on the quickstart, n = 676, with one worker) ...
BASE_BYTES = 224 * 2**20
#: ... and the n x n arrays of the assembly and the solvers, freed but kept in the heap:
#: glibc hands a freed block back to the system only from its mmap threshold on, which
#: rises to 32 MiB. Six R, at most 120 MiB: the overhead of a 1698-function fit and of Zuo
#: Mo's 5317 functions, 343 and 342 MiB, against the quickstart's 239.
RETAINED_SQUARES = 6
RETAINED_BYTES = 120 * 2**20
#: Libraries only some fits import: scikit-learn (lars, cd), 89 MiB of RSS, and
#: dask.distributed with its local cluster in the fit's process (the quickstart with two
#: assembly workers: 24 MiB more at the errors stage than with one).
SKLEARN_BYTES = 89 * 2**20
DASK_BYTES = 24 * 2**20
#: A local assembly worker: interpreter, libraries, kernels and its part of the
#: configurations (WORKER_BYTES), its factor R and a fifth more (WORKER_SQUARES (n+1)^2
#: floats), and its block of rows, at least 512 as evaluated, selected and weighted
#: (WORKER_ROWS x n floats). Fitted to the workers' peak RSS of 2-worker fits: 219-221 MiB
#: at n = 676 (quickstart), 242-244 at 1260, 344-351 at 3231 (4 workers: 337-342) and
#: 787-792 at 7377 (a ternary Cu-Au-Ni fit); the model gives 0.96-1.00x of them, where
#: 216 MiB and R alone gave 0.80-0.94x at n >= 1260.
WORKER_BYTES = 209 * 2**20
#: The estimate over the fit's process' measured peak RSS (docs/benchmarks.md, "Memory of
#: a fit"): 0.96-1.06 on the quickstart and Zuo fits, 0.94 on a 1698-function Ni-Al fit
#: (870 MiB against 928), 1.11-1.18 on Cu-Au-Ni fits of 3231-7377 functions. The plan and
#: README state it.
MEASURED_RATIO = (0.94, 1.2)
WORKER_SQUARES = 1.21
WORKER_ROWS = 1300
#: The errors stage's records of one checkpoint (nested dicts of every set and group).
CHECKPOINT_RECORD_BYTES = 20 * 2**10
#: Arrays of one batch's predictions alive at once in the errors stage (residuals, their
#: scaled and absolute values, the rows of a group): measured 5.9.
PREDICTION_COPIES = 6
#: Working set of the dense solvers in units of s x s floats (s: the basis they fit),
#: measured with tracemalloc at s = 800 and 1600 (the same to 1 %): the scaled copy
#: of R, the SVD's factors and LAPACK's workspace (blr, tsvd), Q and R (qr), the Gram
#: matrix and the posterior (ard).
DENSE_SQUARES = {"blr": 7.0, "tsvd": 7.0, "qr": 8.0, "rrqr": 3.0, "ard": 5.0}
#: The sparse paths: n x n floats (the Gram matrix, the scaled R, half of them
#: transient), and n x k per active function (the QR of the active columns, grown
#: by doubling): asp/omp/ard_path measured 2.5-4.4 n^2 with k = n/8 to 3n/8;
#: lars and cd call scikit-learn (its copies measured 4-6 n^2, without its import).
SPARSE_SQUARES = {"asp": 2.5, "omp": 2.5, "ard_path": 2.5, "ista": 2.0, "lars": 4.0,
                  "cd": 4.0}
SPARSE_PER_ACTIVE = 4.0
#: Checkpoints per active function of a path, its zero model besides, measured: asp 2.0,
#: 2.4, 2.4 and 3.2 on the quickstart (n = 676) at max_active 100, 200, 300 and none, 2.7
#: on a 1698-function fit at 850, 1.7 on a 230-function fit at 40;
#: lars, the same lasso path at its knots, 2.0 and 2.4 (quickstart, 100 and 300), 2.6 per
#: function reached to the full basis (ends at 488); ard_path 1.1-1.2 (quickstart, 100
#: and 300), 1.5 on Zuo Mo; omp 1.
STEPS_PER_ACTIVE = {"asp": 2.5, "lars": 2.5, "ard_path": 1.25, "omp": 1.0}
#: Steps of a λ grid (cd, ista) with a ``max_active``, in units of the grid's ``n_lams``:
#: the grid goes on below its end until the path has that many functions (quickstart,
#: n_lams 100: 174-262 steps for max_active 100 and 300).
GRID_EXTENSION = 2.0


def _listed(value) -> int:
    """How many values a solver setting gives (one per checkpoint and sub-basis)."""
    return len(value) if isinstance(value, (list, tuple)) else 1


def _fitted_sizes(spec: dict, n: int) -> list:
    """The sizes of the sub-bases a dense solver fits (the full basis: ``[n]``; ARD's
    ``sizes`` are targets, each reached by fits of the full basis)."""
    if spec["name"] == "ard":
        return [n] * _listed(spec.get("sizes"))
    if spec.get("subbasis_sizes"):
        return spec["subbasis_sizes"]
    sizes = spec.get("sizes")
    if isinstance(sizes, int):      # that many nested sub-bases, the full basis last
        from acefit.solvers.apriori import nested_sizes

        return [int(s) for s in nested_sizes(n, sizes)]
    return [min(int(s), n) for s in sizes] if sizes else [n]


def checkpoint_count(spec: dict, n: int) -> int:
    """About how many checkpoints the solver ``spec`` (a config's entry) writes for a basis
    of ``n`` functions.

    A dense solver writes one per sub-basis and ``lam`` (qr), ``rtol`` or ``lam`` (rrqr),
    ``rtol`` (tsvd) or target size (ard): exactly that many (fewer with ``patience``). A
    path writes its zero model and ``STEPS_PER_ACTIVE`` per active function up to
    ``max_active`` (at most ``max_steps`` or ``max_iter`` moves; it may end early), a λ
    grid (cd, ista) ``n_lams`` steps, or ``GRID_EXTENSION`` times as many with a
    ``max_active``, which extends the grid until it is reached; those counts are
    estimates. A path de-biased every k-th size keeps the first step of each size that is
    a multiple of k (the zero model too) and its last.
    """
    name = spec["name"]
    if name in DENSE_SQUARES:
        key = "lam" if name == "qr" or (name == "rrqr" and spec.get("rtol") is None) else "rtol"
        return len(_fitted_sizes(spec, n)) * _listed(spec.get(key))
    k = min(spec.get("max_active") or n, n)
    if name in STEPS_PER_ACTIVE:
        steps = STEPS_PER_ACTIVE[name] * k + 1
        cap = spec.get("max_steps" if name == "asp" else "max_iter")
        if cap is not None and name != "lars":      # lars asks for more knots as it needs
            steps = min(steps, cap + 1)
    else:                                           # a λ grid
        steps = spec.get("n_lams", 100) * (GRID_EXTENSION if spec.get("max_active") else 1)
    every = spec.get("debias_every", 1)
    if spec.get("debias", "none") != "none" and every > 1:
        steps = min(steps, k // every + 1 + (k % every != 0))
    return int(np.ceil(steps))


def solver_memory(spec: dict, n: int) -> tuple[int, str]:
    """Bytes the solver ``spec`` holds beyond R, the rows and the checkpoints, and what
    they scale with: ``SPARSE_SQUARES`` n^2 + ``SPARSE_PER_ACTIVE`` n·k for a path (k:
    ``max_active``), ``DENSE_SQUARES`` s^2 for a dense fit of s functions (the largest
    sub-basis; a sub-basis' problem, n x s, besides); a de-biased path the refit of its
    k active functions besides (their QR, n x k, and a TSVD's 7 k^2)."""
    name = spec["name"]
    if name in SPARSE_SQUARES:
        k = min(spec.get("max_active") or n, n)
        floats = SPARSE_SQUARES[name] * n * n + SPARSE_PER_ACTIVE * n * k
        scale = f"{SPARSE_SQUARES[name]:g} n^2 + {SPARSE_PER_ACTIVE:g} n·max_active"
        if spec.get("debias", "none") != "none":
            tsvd = spec["debias"] == "tsvd"
            floats += 2 * n * k + (DENSE_SQUARES["tsvd"] * k * k if tsvd else 0)
            scale = (f"{SPARSE_SQUARES[name]:g} n^2 + {SPARSE_PER_ACTIVE + 2:g} n·max_active"
                     + (" + 7 max_active^2" if tsvd else ""))
        return int(8 * floats), scale
    s = max(_fitted_sizes(spec, n))
    floats = DENSE_SQUARES[name] * s * s + (2 * n * s if s < n else 0)
    return int(8 * floats), (f"{DENSE_SQUARES[name]:g} n^2" if s == n
                             else f"{DENSE_SQUARES[name]:g} s^2 + 2 n·s, s = {s}")


def overhead_bytes(n: int, solvers, parallel: bool = False) -> int:
    """The fit's process besides its arrays, for a basis of ``n`` functions and the
    config's ``solvers``, with a Dask cluster for the assembly (``parallel``) or not:
    ``BASE_BYTES``, the freed n x n arrays the heap keeps (``RETAINED_SQUARES`` R, at
    most ``RETAINED_BYTES``), scikit-learn's import for lars and cd, Dask's."""
    retained = min(RETAINED_SQUARES * 8 * n * n, RETAINED_BYTES)
    sklearn = any(spec["name"] in ("lars", "cd") for spec in solvers)
    return BASE_BYTES + retained + SKLEARN_BYTES * sklearn + DASK_BYTES * parallel


def memory_estimate(n: int, val_rows: int, test_rows: int, train_rows: int, solvers,
                    *, rows_kept: bool = True, largest_config_rows: int = 0,
                    workers: int = 1, remote: bool = False) -> dict:
    """The fit's peak resident memory, stage by stage, in its own process, and that of
    each local assembly worker.

    Parameters
    ----------
    n : int
        Basis functions.
    val_rows, test_rows, train_rows : int
        Rows of the validation and test sets, and every training row.
    solvers : list of dict
        The config's solvers (``subbasis_sizes``: the sizes of a ``totaldegrees`` path's
        sub-bases, when it has them); an ista path of ``loss: huber`` holds the dense
        training rows besides (twice with its prior: the scaled copy).
    rows_kept : bool
        The training rows are read back for the errors stage (else evaluated again, each
        block built from its configurations' rows: twice its size).
    largest_config_rows : int
        Rows of the largest training configuration (a block holds at least one).
    workers : int
        Local assembly workers (1: the assembly runs in the fit's process). More write
        the kept training rows in as many parts, and a block read back holds one part's
        rows at most; the rows evaluated again are evaluated in the workers.
    remote : bool
        The workers are a ``parallel.scheduler``'s (``workers`` is then ignored).

    Returns
    -------
    dict
        ``overhead`` (:func:`overhead_bytes`), ``checkpoints`` (:func:`checkpoint_count`
        summed), ``stages``: a list of ``{"stage", "bytes", "scales"}``, each stage's
        peak with the overhead and the arrays held through it; ``peak``: their maximum,
        and ``peak_stage``; ``worker``: each local worker's peak, ``{"bytes", "scales"}``
        (None without them); ``machine``: the fit's process and its local workers
        together, ``{"bytes", "stage"}``: the largest stage with ``workers`` times a
        worker's peak added where the workers are alive (the assembly, and the errors
        stage when they evaluate the training rows again); the fit's ``peak`` without
        local workers.
    """
    f = 8      # bytes per float
    parallel = remote or workers > 1
    overhead = overhead_bytes(n, solvers, parallel)
    R, val, test = f * n * n, f * n * val_rows, f * n * test_rows
    held = overhead + R + val + test
    # a merge of the workers' parts holds the merged factor, a part's as Dask received it
    # and its aligned copy; an assembly in this process the factor and R copied out of it
    factors = ("R three times (3 n^2: the merged factor, a part's as received, its copy)"
               if parallel else "R twice (2 n^2)")
    stages = [{"stage": "assembly", "bytes": overhead + max(
        (3 if parallel else 2) * R, R + val + test + max(val, test)),
        "scales": f"{factors}, or R and the validation and test rows, the larger twice "
                  f"as built"}]
    done = 0      # checkpoints of the paths before, read back and held
    for spec in solvers:
        work, scale = solver_memory(spec, n)
        if spec.get("loss") == "huber":     # fits the dense rows (solver_runs.dense_training_problem)
            copies = 2 if spec.get("prior", True) else 1    # and their prior-scaled copy
            work += copies * f * n * train_rows
            scale += (f"; the dense weighted training rows ({train_rows} x n"
                      + (", and their prior-scaled copy)" if copies == 2 else ")"))
        k = checkpoint_count(spec, n)
        stages.append({"stage": f"solver {spec['label']}",
                       "bytes": held + val + f * n * (done + k) + work,
                       "scales": f"{scale}; the validation rows again; the coefficients "
                                 f"of ~{done + k} checkpoints so far"})
        done += k
    # a block holds whole configurations of one local worker's part (rows kept on disk
    # or evaluated again), at most BLOCK_FLOATS entries, at least one configuration
    part = train_rows if remote else -(-train_rows // workers)
    block = min(max(int(BLOCK_FLOATS // max(n, 1)), largest_config_rows),
                max(part, largest_config_rows), train_rows)
    # its rows (built twice when evaluated again) and its predictions
    rows_work = (f * n * block * (1 if rows_kept else 2)
                 + f * PREDICTION_COPIES * block * min(BATCH, max(done, 1)))
    in_workers = parallel and not rows_kept
    # the workers' errors come back as records: a part's, their merge and the results
    records = done * CHECKPOINT_RECORD_BYTES * (3 if in_workers else 1)
    where = ("the training rows evaluated in the workers, their records of errors thrice"
             if in_workers else
             f"{block} training rows x n at a time" + ("" if rows_kept else ", built twice")
             + f", and {PREDICTION_COPIES} x their predictions of {min(BATCH, max(done, 1))} "
               f"checkpoints")
    stages.append({"stage": "errors",
                   "bytes": held + 2 * f * n * done + records + (0 if in_workers else rows_work),
                   "scales": f"the coefficients of ~{done} checkpoints twice, and their "
                             f"errors; {where}"})
    top = max(stages, key=lambda st: st["bytes"])
    worker = None
    if parallel and not remote:
        errors = f * n * done + rows_work + done * CHECKPOINT_RECORD_BYTES
        assembly = f * (WORKER_SQUARES * (n + 1) ** 2 + WORKER_ROWS * n)
        worker = {"bytes": int(WORKER_BYTES + max(assembly, errors if in_workers else 0)),
                  "scales": f"R of its part and a fifth more, {WORKER_ROWS} rows x n" + (
                      f"; in the errors stage the coefficients of ~{done} checkpoints, "
                      f"{block} training rows x n built twice, their predictions and errors"
                      if in_workers else "")}
    machine = {"bytes": top["bytes"], "stage": top["stage"]}
    if worker is not None:
        alive = ("assembly", "errors") if in_workers else ("assembly",)
        machine = max(({"bytes": st["bytes"] + workers * worker["bytes"]
                        * (st["stage"] in alive), "stage": st["stage"]} for st in stages),
                      key=lambda m: m["bytes"])
    return {"overhead": overhead, "checkpoints": done, "stages": stages,
            "peak": top["bytes"], "peak_stage": top["stage"], "worker": worker,
            "machine": machine}


def plan(cfg: dict) -> dict:
    """Sizes of the run ``cfg`` (a config from :func:`acefit.config.load_config`).

    Raises
    ------
    ValueError
        A configuration with an element outside the basis (naming its file and frame), as
        the assembly would.

    Returns
    -------
    dict
        ``configs`` and ``atoms`` per split; ``basis`` (``n_functions``, ``composition``);
        ``rows``: the training rows with a nonzero weight per kind (the assembly's m,
        ``train``), every training row (``train_all``: what is kept on disk), and the
        validation and test rows (``val``, ``test``); ``bytes``: the reduced system R
        (the path solvers' Gram matrix is as large), the kept training rows and the
        validation and test rows, as float64; ``train_rows_limit_bytes``: ``output.train_rows_gib``;
        ``rows_kept``: the training rows are kept on disk for the errors stage (within
        that limit, no remote workers);
        ``remote_workers``: a ``parallel.scheduler`` is set (its rows are not kept);
        ``workers``: ``parallel.workers``; ``workers_used``: the local workers the
        assembly starts (``parallel.workers``, or one per available CPU for null);
        ``cpus``: the CPUs available to this process; ``memory``: :func:`memory_estimate`.
    """
    from acefit.assembly import default_workers
    from acefit.basis.spec import basis_summary
    from acefit.data_checks import check_against_data
    from acefit.design import row_count, row_counts
    from acefit.fit_inputs import build_basis, load_data
    from acefit.fit_settings import weight_table
    from acefit.solver_runs import all_subbasis_masks

    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    checks = check_against_data(cfg, data, basis)    # what the fit would stop at
    weights = weight_table(cfg)
    train_all, train = checks.train_rows
    val, _ = checks.val_rows
    test, _ = row_counts(data.test, weights)
    n = len(basis)
    splits = {"train": data.train, "val": data.val, "test": data.test}
    remote = cfg["parallel"]["scheduler"] is not None
    limit = int(cfg["output"]["train_rows_gib"] * 2**30)
    subbases = all_subbasis_masks(cfg, basis)
    solvers = [dict(spec, subbasis_sizes=None if subbases[spec["label"]] is None
                    else [int(np.count_nonzero(m)) for m in subbases[spec["label"]]])
               for spec in cfg["solvers"]]
    rows_kept = not remote and 8 * n * sum(train_all.values()) <= limit
    cpus = default_workers()
    workers = cfg["parallel"]["workers"] or cpus
    memory = memory_estimate(n, sum(val.values()), sum(test.values()),
                             sum(train_all.values()), solvers, rows_kept=rows_kept,
                             largest_config_rows=max(map(row_count, data.train), default=0),
                             workers=workers, remote=remote)
    return {
        "run": cfg["name"],
        "configs": {k: len(v) for k, v in splits.items()},
        "atoms": {k: sum(c.n_atoms for c in v) for k, v in splits.items()},
        "basis": {"n_functions": n, "composition": basis_summary(basis)},
        "rows": {"train": train, "train_all": train_all, "val": val, "test": test},
        "bytes": {"reduced_system": 8 * n * n,
                  "train_rows": 8 * n * sum(train_all.values()),
                  "val_rows": 8 * n * sum(val.values()), "test_rows": 8 * n * sum(test.values())},
        "train_rows_limit_bytes": limit,
        "rows_kept": rows_kept,
        "remote_workers": remote,
        "workers": cfg["parallel"]["workers"],
        "workers_used": workers,
        "cpus": cpus,
        "memory": memory,
    }


def _size(n_bytes: int, estimate: bool = False) -> str:
    """``n_bytes`` in GiB, MiB or KiB; an ``estimate`` to three significant figures (1000
    to 1023 MiB whole: ``.3g`` writes them as 1e+03)."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n_bytes >= scale or unit == "KiB":
            value = n_bytes / scale
            if not estimate:
                return f"{value:.{1 if unit == 'KiB' else 2}f} {unit}"
            text = f"{value:.3g}"
            return f"{value:.0f} {unit}" if "e" in text else f"{text} {unit}"


def plan_text(p: dict) -> str:
    """:func:`plan` as the lines ``acefit fit --plan`` prints."""
    rows, size, n = p["rows"], p["bytes"], p["basis"]["n_functions"]

    def count(split):
        return sum(rows[split].values())

    def kinds(split):
        return "/".join(str(rows[split][k]) for k in ROW_KINDS)

    dropped = count("train_all") - count("train")
    if p["remote_workers"]:
        kept = "(not kept with remote workers: evaluated again for the errors)"
    elif not p["rows_kept"]:
        kept = "(over output.train_rows_gib: not kept, evaluated again for the errors)"
    else:
        kept = "(kept: within output.train_rows_gib, if 2 GiB of the disk stay free)"
    return "\n".join([
        f"Plan for run '{p['run']}' (nothing assembled):",
        f"- configurations: {p['configs']['train']} train ({p['atoms']['train']} atoms), "
        f"{p['configs']['val']} validation, {p['configs']['test']} test",
        f"- basis: {n} functions ({p['basis']['composition']})",
        f"- training rows in the fit: {count('train')} (E/F/V {kinds('train')})"
        + (f"; {dropped} more with zero weight" if dropped else ""),
        f"- reduced system R: {n} x {n}, {_size(size['reduced_system'])}; the path solvers' "
        f"Gram matrix as much again",
        f"- training rows for the errors stage: {count('train_all')} x {n}, "
        f"{_size(size['train_rows'])} on disk {kept}",
        f"- validation and test rows in memory: {count('val')} and {count('test')} x {n}, "
        f"{_size(size['val_rows'])} and {_size(size['test_rows'])}",
        *memory_text(p),
    ])


def memory_text(p: dict) -> list:
    """The lines of :func:`plan_text` on the peak memory (:func:`memory_estimate`)."""
    mem = p["memory"]
    lines = [f"- peak memory: about {_size(mem['peak'], True)} in the fit's process, in stage "
             f"'{mem['peak_stage']}' (with {_size(mem['overhead'], True)} of interpreter, "
             f"libraries, kernels and freed memory the process keeps; an estimate, "
             f"{MEASURED_RATIO[0]:g}-{MEASURED_RATIO[1]:g}x the peaks measured). Per stage, "
             f"with what it scales "
             f"(n = {p['basis']['n_functions']} functions):"]
    lines += [f"  - {st['stage']}: {_size(st['bytes'], True)} ({st['scales']})"
              for st in mem["stages"]]
    worker = mem.get("worker")
    if worker is not None:
        lines += _worker_lines(p, worker, mem["machine"])
    return lines


def _worker_lines(p: dict, worker: dict, machine: dict) -> list:
    """The local assembly workers' lines of :func:`memory_text`: each one's peak, the
    machine-wide peak with them, and their count against the CPUs."""
    count = p.get("workers_used") or p["workers"]
    chosen = "" if p["workers"] else " (parallel.workers null: one per available CPU)"
    lines = [f"  - {count} assembly worker processes{chosen} each hold about "
             f"{_size(worker['bytes'], True)} more ({worker['scales']})",
             f"- machine-wide: at most about {_size(machine['bytes'], True)}, in stage "
             f"'{machine['stage']}': the fit's process and its {count} workers together "
             "(their peak resident sets added, as batch systems count memory; a bound, "
             "since they do not all peak at once)"]
    cpus = p.get("cpus")
    if cpus is not None and count > cpus:
        lines.append(f"- {count} workers on {cpus} available CPU(s): oversubscribed, they "
                     f"take turns on the cores (no faster than {cpus}) while each holds its "
                     f"memory; parallel.workers: {cpus} or fewer avoids it")
    return lines

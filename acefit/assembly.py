"""Parallel, out-of-core assembly of the training least-squares problem.

The weighted training matrix [WA | Wy] (m × (n+1)) is never held in memory.
Configurations are split into one part per worker (balanced by atom count);
each worker evaluates its configurations and folds every block of a few
hundred rows (``block_rows``, whole configurations) into a running triangular factor with LAPACK's triangular-pentagonal QR
(``dtpqrt``), which updates R in place at the cost of a dense QR of the same
rows. The workers' factors are merged the same way (stack two triangles,
re-triangularise). The result is R (n×n), Qᵀy, ||y||² and m: exactly what
:meth:`acefit.lsq.LeastSquaresProblem.from_reduced` takes.

Validation and test sets are small and kept dense (:class:`DesignBlock`), with
row metadata for unweighted errors.

Parallelism uses Dask: ``n_workers=1`` runs in-process with no Dask at all,
``n_workers>1`` starts a ``LocalCluster`` of single-threaded worker processes,
and ``scheduler="tcp://host:port"`` (or ``client=``) runs the same tasks on an
existing ``dask.distributed`` cluster. Results are cached in HDF5 (see
:mod:`acefit.cache`), keyed by the basis, the data, the weights and E0.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import time
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from scipy.linalg.lapack import dtpqrt

from acefit import cache
from acefit.basis.neighbours import neighbour_pairs
from acefit.data import check_elements, check_labels, unknown_group
from acefit.design import (ROW_KINDS, DesignBlock, ReferenceEnergies, config_rows,
                           design_block, reference_energies, resolve_weights, row_count)
from acefit.lsq import LeastSquaresProblem


@dataclass
class AssembledSystem:
    """Everything the solvers and the error reports need from the data.

    Attributes
    ----------
    train : LeastSquaresProblem
        The reduced, weighted training problem (R, Qᵀy, ||y||², m).
    val, test : DesignBlock or None
        Dense, unweighted rows with weights and metadata.
    e0 : ReferenceEnergies
        The E0 subtracted from every energy (given, or fitted to the training set),
        and the core repulsion subtracted from every label (if any).
    weights : dict
        The resolved weight table.
    key : str
        Cache key of the training problem.
    cache_hit : bool
        True when the training problem was loaded from the cache.
    row_counts : dict
        Training rows per kind ``{"E": ., "F": ., "V": .}`` with a nonzero weight: those
        in the problem (its ``m``, the Bayesian solvers' number of observations).
    timings : dict
        Wall times in seconds of the stages that ran.
    train_rows : tuple of Path or None
        Cached files that hold the dense, unweighted training rows (read them with
        :func:`train_row_blocks`), or None when they were not kept.
    """

    train: LeastSquaresProblem
    val: DesignBlock | None
    test: DesignBlock | None
    e0: ReferenceEnergies
    weights: dict
    key: str
    cache_hit: bool
    row_counts: dict
    timings: dict = field(default_factory=dict)
    train_rows: tuple | None = None


def assemble(basis, train, *, val=None, test=None, weights=None, e0=None, repulsion=None,
             n_workers=None, scheduler=None, client=None, block_rows=512, cache_dir=None,
             train_rows_gib=0.0, progress=None) -> AssembledSystem:
    """Assemble the reduced training problem and the dense validation/test rows.

    Parameters
    ----------
    basis : ACEBasis
        Anything with ``len``, ``evaluate(atoms)``, ``elements`` and ``to_dict()``.
    train : list of LabelledConfig
        Training configurations.
    val, test : list of LabelledConfig, optional
        Kept as dense :class:`DesignBlock` rows.
    weights : dict, optional
        ``{config_type: {"E", "F", "V"}}`` (see :func:`acefit.design.resolve_weights`);
        ``"default"`` weighs the groups not listed. Every other key must be the
        ``config_type`` of a configuration of ``train``, ``val`` or ``test`` (as ``acefit
        fit`` requires of ``data.weights.config_type``): a group of ``val`` only weighs
        only the validation rows (the loss that selects checkpoints), one of ``test`` only
        nothing.
    e0 : dict or None or "fit" or "auto"
        Reference energies per element (``{"Cu": -3.7, ...}``; the config's ``data.e0:
        zero`` is ``{"Cu": 0.0, ...}``); None, ``"fit"`` or ``"auto"`` fits them to
        ``train`` by least squares (:func:`acefit.design.reference_energies`).
    repulsion : acefit.repulsion.ZBL, optional
        Core repulsion under the model: subtracted from every label (and before E0 is
        fitted); it ends up in ``AssembledSystem.e0.repulsion``.
    n_workers : int, optional
        1: in-process, no Dask. >1: a local cluster of that many single-threaded
        worker processes. Default: the number of CPUs available to this process.
    scheduler : str, optional
        Address of a running ``dask.distributed`` scheduler (overrides ``n_workers``).
    client : distributed.Client, optional
        An existing client (overrides both).
    block_rows : int, default 512
        Rows (whole configurations) gathered before each fold into R: larger
        blocks use BLAS better, smaller ones use less memory.
    cache_dir : str or Path, optional
        Directory of the HDF5 cache; None disables caching.
    train_rows_gib : float, default 0
        Also keep the dense, unweighted training rows in the cache (one file per
        part, written by whoever evaluates the part) when they take at most this
        many GiB, so that training errors can be read back instead of evaluated
        again (``AssembledSystem.train_rows``). Only with a cache and local workers
        (not with ``scheduler`` or ``client``: their workers may not share this disk).
    progress : callable, optional
        Called with a number of configurations each time that many are done
        (train, validation and test together; cached parts count at once).

    Returns
    -------
    AssembledSystem

    Raises
    ------
    TypeError, ValueError
        For a configuration that is not a valid :class:`acefit.data.LabelledConfig`
        (:func:`acefit.data.check_labels`: a NaN label, forces of the wrong shape, ...),
        an element not in the basis, or a weight whose config_type no configuration has
        (naming it and the groups there are); each names the configuration or the key.
    """
    train = list(train)
    if not train:
        raise ValueError("no training configurations")
    # hand-built configurations are checked here only, and their labels made the readers'
    sets = {what: check_labels(part or [], what) for what, part in
            (("training", train), ("validation", val), ("test", test))}
    train, val, test = sets.values()
    for part in sets.values():
        check_elements(part, basis.elements)
    table = resolve_weights(weights)
    groups = {c.config_type for part in sets.values() for c in part}
    unknown = [key for key in table if key != "default" and key not in groups]
    if unknown:         # a typo would weigh nothing, silently (acefit fit refuses it too)
        raise ValueError(f"weights[{unknown[0]!r}]: "
                         f"{unknown_group(unknown[0], groups | {'default'})}")
    e0_values = reference_energies(e0, train, basis.elements, repulsion)
    base = {"basis": basis.to_dict(), "weights": table,
            "e0": {str(z): v for z, v in e0_values.values.items()}, "version": cache.FORMAT_VERSION}
    if repulsion is not None:  # absent otherwise, so that earlier keys still hit
        base["repulsion"] = repulsion.to_dict()
    timings = {}

    key = cache.stable_hash({**base, "what": "train-reduced", "data": cache.configs_hash(train)})
    with cache.entry_lock(cache_dir, key):  # a run assembling the same system: wait, then hit
        hit = _load_problem(cache_dir, key)
        if hit is not None:
            problem, counts = hit
            _tick(progress, len(train))
        else:
            rows_bytes = _rows_bytes(train, len(basis))
            keep = (cache_dir is not None and scheduler is None and client is None
                    and rows_bytes <= float(train_rows_gib) * 2 ** 30
                    and _room_for(cache_dir, rows_bytes))
            t = time.perf_counter()
            try:
                problem, counts = reduce_configurations(
                    basis, train, table, e0_values, n_workers=n_workers, scheduler=scheduler,
                    client=client, block_rows=block_rows, return_counts=True,
                    progress=progress, rows_to=(str(cache_dir), key) if keep else None)
            except BaseException:
                # The workers, stopped, left their row files half-written (up to a GiB
                # each): void, and under the key's lock no other writer's
                if keep:
                    cache.remove_temporaries(cache_dir, key)
                raise
            timings["reduce"] = time.perf_counter() - t
            _save_problem(cache_dir, key, problem, counts)

    blocks = {}
    for name, part in (("val", val), ("test", test)):
        if not part:
            blocks[name] = None
            continue
        part_key = cache.stable_hash({**base, "what": "dense", "data": cache.configs_hash(part)})
        block = _load_block(cache_dir, part_key)
        if block is None:
            t = time.perf_counter()
            block = design_block(basis, part, table, e0_values)
            timings[name] = time.perf_counter() - t
            _save_block(cache_dir, part_key, block)
        _tick(progress, len(part))
        blocks[name] = block
    train_rows = _row_files(cache_dir, key, len(train))
    if hit is None and keep and train_rows is None:
        logging.getLogger(__name__).warning(
            "the training rows were not kept in %s; the training errors will evaluate them "
            "again", cache_dir)
    return AssembledSystem(train=problem, val=blocks["val"], test=blocks["test"], e0=e0_values,
                           weights=table, key=key, cache_hit=hit is not None, row_counts=counts,
                           timings=timings, train_rows=train_rows)


def reduce_configurations(basis, configs, weights, e0: ReferenceEnergies, *, n_workers=None,
                          scheduler=None, client=None, block_rows=512, return_counts=False,
                          progress=None, rows_to=None):
    """The reduced weighted problem of ``configs`` without forming the m×n matrix.

    Parameters are as for :func:`assemble`; ``e0`` must be a
    :class:`ReferenceEnergies`; ``progress(k)`` is called as configurations are done
    (one by one in-process, a worker's share at a time in parallel). Returns a reduced :class:`LeastSquaresProblem`
    (and the row counts per kind with ``return_counts=True``). ``rows_to``: (cache
    folder, key) to also write each part's unweighted rows to the cache entry
    ``trainrows`` of ``key``, one part file per part, numbered by its first
    configuration (see :func:`train_row_blocks`).
    """
    configs = list(configs)
    table = resolve_weights(weights)
    if int(block_rows) < 1:
        raise ValueError(f"block_rows must be >= 1, got {block_rows}")
    if n_workers is None:
        n_workers = default_workers()
    if int(n_workers) < 1:
        raise ValueError(f"n_workers must be >= 1, got {n_workers}")
    check_elements(configs, basis.elements)
    total = None
    # Factors arrive one at a time, in part order, so that the merged R is
    # bit-reproducible run to run. Merging single-threaded: the cores belong to the
    # workers, and a multi-threaded BLAS on busy cores is many times slower than one
    # thread (the last merge, once the workers are idle, took 3.0 s on one thread and
    # 1.9-3.7 s on two: no gain).
    for state in map_configurations(_reduce_part_task, basis, configs, weights=table, e0=e0,
                                    block_rows=int(block_rows), n_workers=int(n_workers),
                                    scheduler=scheduler, client=client, progress=progress,
                                    rows_to=rows_to):
        part = StreamingQR.from_state(state)
        if total is None:
            total = part
        else:
            with _single_threaded():
                total.merge(part)
        del part, state  # the next factor arrives while only the running total is held
    problem = total.to_problem()
    return (problem, dict(total.counts)) if return_counts else problem


def map_configurations(task, basis, configs, *, n_workers=1, scheduler=None, client=None,
                       progress=None, **arguments):
    """``task(basis, part, **arguments)`` over parts of ``configs``, in-process or on Dask.

    Parameters
    ----------
    task : callable
        A module-level function ``task(basis, indexed, progress=None, **arguments)``
        of a list of ``(index, config)`` pairs; it calls ``progress(k)`` as it
        finishes configurations, when given one.
    basis : ACEBasis
        Sent to every worker once.
    configs : list of LabelledConfig
    n_workers, scheduler, client
        As for :func:`assemble` (``n_workers=None``: one per CPU); ``n_workers=1`` with neither ``scheduler`` nor
        ``client`` runs ``task`` once, in-process, on all configurations; otherwise
        the configurations are split into one part per worker of equal cost (atoms
        and neighbour pairs) and each part is one task.
    progress : callable, optional
        Called with a number of configurations as they are done (a part at a time
        on Dask).
    **arguments
        Passed to every task; arrays are sent to every worker once.

    Yields
    ------
    The tasks' results, in part order (one result in-process).
    """
    indexed = list(enumerate(configs))
    n_workers = default_workers() if n_workers is None else int(n_workers)
    if client is None and scheduler is None and n_workers == 1:
        yield task(basis, indexed, progress=progress, **arguments)
        return
    with _sync_cancel_unlogged(), _client(client, scheduler, n_workers) as c:
        n_parts = max(1, min(len(indexed), len(c.scheduler_info().get("workers", {})) or 1))
        parts = [part for part in _balanced_parts(indexed, n_parts, getattr(basis, "rcut", None))
                 if part]  # rcut: optional
        # hash=False: a content-hashed key would be shared with an earlier call's data
        # that the scheduler may still be releasing ("lost dependencies" on a reused client).
        basis_future = c.scatter(basis, broadcast=True, hash=False)
        sent = {k: c.scatter(v, broadcast=True, hash=False) if isinstance(v, np.ndarray) else v
                for k, v in arguments.items()}
        futures = [c.submit(task, basis_future, part, pure=False, **sent) for part in parts]
        # one result at a time, so that the caller holds at most one besides its own
        for future, n_configs in zip(futures, map(len, parts)):
            result = future.result()
            future.release()
            yield result
            del result
            _tick(progress, n_configs)


def default_workers() -> int:
    """CPUs available to this process (the default number of local workers)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class StreamingQR:
    """Running triangular factor of [A | y] fed by row blocks.

    After any sequence of ``add`` and ``merge``, ``R_aug`` is the (n+1)×(n+1)
    upper-triangular factor of all rows seen, stacked: its leading n×n block is R,
    its last column holds Qᵀy, and its corner is ± the residual norm.
    """

    def __init__(self, n: int):
        self.n = int(n)
        self.R_aug = np.zeros((self.n + 1, self.n + 1), order="F")
        self.yty = 0.0
        self.m = 0
        self.counts = {"E": 0, "F": 0, "V": 0}

    def state(self):
        """(R_aug, ||y||², m, row counts): everything, as plain values."""
        return self.R_aug, self.yty, self.m, dict(self.counts)

    @classmethod
    def from_state(cls, state) -> "StreamingQR":
        R_aug, yty, m, counts = state
        qr = cls.__new__(cls)  # no zero n×n allocation: the state brings R
        qr.n = R_aug.shape[0] - 1
        R_aug = np.asarray(R_aug, dtype=float)
        if not (R_aug.flags.f_contiguous and R_aug.flags.aligned and R_aug.flags.writeable):
            # Dask hands over arrays in unaligned receive buffers; copy once here,
            # or the LAPACK wrapper would copy both triangles at every merge.
            R_aug = np.array(R_aug, order="F")
        qr.R_aug = R_aug
        qr.yty, qr.m, qr.counts = float(yty), int(m), dict(counts)
        return qr

    def add(self, A, y) -> None:
        """Fold rows (already weighted) into the factor."""
        if A.shape[0] == 0:
            return
        block = np.empty((A.shape[0], self.n + 1), order="F")
        block[:, :self.n] = A
        block[:, self.n] = y
        self._fold(block, l=0)
        self.yty += float(y @ y)
        self.m += int(A.shape[0])

    def merge(self, other: "StreamingQR") -> None:
        """Fold another factor (of different rows) into this one."""
        if other.n != self.n:
            raise ValueError(f"cannot merge factors of {other.n} and {self.n} columns")
        self._fold(np.asfortranarray(other.R_aug), l=self.n + 1)
        self.yty += other.yty
        self.m += other.m
        for k, v in other.counts.items():
            self.counts[k] += v

    def to_problem(self) -> LeastSquaresProblem:
        n = self.n
        if self.m < n:
            raise ValueError(f"the training set has {self.m} weighted rows but the basis has {n} "
                             f"functions; the reduced form needs at least as many rows as columns")
        # One canonical form, whatever the number of workers and whether it comes
        # from the cache: diag(R) >= 0 (rows of [R | Q'y] are unique up to sign) and
        # C order (as the cache returns it). Equivalent numbers, but BLAS rounds each
        # layout differently and a lasso path can branch at near-ties. dtpqrt never
        # writes below the diagonal of the zero-initialised factor, so the leading
        # block is already triangular.
        flip = np.diag(self.R_aug)[:n] < 0
        self.R_aug[np.flatnonzero(flip)] *= -1.0  # still a valid factor of the same rows
        return LeastSquaresProblem.from_reduced(np.ascontiguousarray(self.R_aug[:n, :n]),
                                                self.R_aug[:n, n].copy(), self.yty, self.m)

    def _fold(self, block, l):
        # panel width 128: 15 % faster folds than 64 for n ~ 5000 (scripts/bench_assembly.py)
        nb = max(1, min(128, self.n + 1, block.shape[0]))
        self.R_aug, _, _, info = dtpqrt(l, nb, self.R_aug, block, overwrite_a=1, overwrite_b=1)
        if info != 0:
            raise RuntimeError(f"LAPACK dtpqrt failed (info={info})")


def _reduce_part(basis, indexed, weights, e0, block_rows, progress=None,
                 rows_to=None) -> StreamingQR:
    """Evaluate one part's configurations and fold their rows, ~``block_rows`` at a time
    (and write them, unweighted, with ``rows_to``: see :func:`reduce_configurations`)."""
    qr = StreamingQR(len(basis))
    pending = []

    def fold():
        rows = DesignBlock.concatenate(pending)
        pending.clear()
        keep(rows)  # all of them: the training errors report zero-weight labels too
        rows = rows.select(rows.w != 0)  # no observations: not in m, the Bayesian row count
        for kind in qr.counts:
            qr.counts[kind] += int(np.count_nonzero(rows.kind == kind))
        A, y = rows.weighted()
        del rows  # only one block of rows is alive at a time
        qr.add(A, y)

    with _single_threaded(), _row_writer(rows_to, indexed) as keep:
        for i, cfg in indexed:
            pending.append(config_rows(basis.evaluate(cfg.atoms), cfg, weights, e0, i))
            _tick(progress, 1)
            if sum(len(b) for b in pending) >= block_rows:
                fold()
        if pending:
            fold()
    return qr


def _reduce_part_task(basis, indexed, weights, e0, block_rows, progress=None, rows_to=None):
    """Task of :func:`map_configurations`: the part's factor as plain values (a bare
    ndarray is sent from a worker without copies)."""
    return _reduce_part(basis, indexed, weights, e0, block_rows, progress, rows_to).state()


# ---------------------------------------------------------------- kept training rows

@contextlib.contextmanager
def _row_writer(rows_to, indexed):
    """``keep(rows)`` for one part: appends to the part's row file, or does nothing.

    The rows are optional: a write that fails (a full disk) abandons the file, whose
    temporary is removed, and the reduction goes on without it.
    """
    if rows_to is None or not indexed:
        yield lambda rows: None
        return
    cache_dir, key = rows_to
    configs = np.array([i for i, _ in indexed], dtype=np.int64)
    writer = contextlib.ExitStack()
    state = {"append": None}

    def abandon(exc):
        state["append"] = None
        with contextlib.suppress(OSError):
            writer.__exit__(type(exc), exc, exc.__traceback__)   # removes the temporary
        logging.getLogger(__name__).warning("training rows not kept: %s", exc)

    def keep(rows):
        if state["append"] is not None:
            try:
                state["append"]({f.name: getattr(rows, f.name) for f in fields(rows)})
            except OSError as exc:
                abandon(exc)

    try:
        state["append"] = writer.enter_context(
            cache.appending(cache.cache_path(cache_dir, key, _ROWS, part=_part_id(configs)),
                            key, {"configs": configs}))
    except OSError as exc:
        abandon(exc)
    try:
        yield keep
    except BaseException as exc:
        if state["append"] is not None:
            writer.__exit__(type(exc), exc, exc.__traceback__)
        raise
    if state["append"] is not None:
        try:
            writer.close()
        except OSError as exc:
            logging.getLogger(__name__).warning("training rows not kept: %s", exc)


#: Matrix entries of a block of training rows read back (or evaluated again) for the
#: errors stage: 191 MiB as float64.
BLOCK_FLOATS = 2.5e7
#: Free disk space the kept training rows must leave behind them.
ROWS_DISK_MARGIN = 2 * 2 ** 30
_ROWS = "trainrows"  # cache prefix of the kept training rows (part files)


def _room_for(cache_dir, n_bytes) -> bool:
    """Whether ``n_bytes`` of rows fit in the cache's file system with the margin to spare."""
    folder = Path(cache_dir)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    free = shutil.disk_usage(folder).free
    if free - n_bytes >= ROWS_DISK_MARGIN:
        return True
    logging.getLogger(__name__).warning(
        "training rows not kept: %.2f GiB would leave %.2f GiB free in %s (at least %.0f GiB "
        "must stay free); the training errors will evaluate them again", n_bytes / 2 ** 30,
        (free - n_bytes) / 2 ** 30, folder, ROWS_DISK_MARGIN / 2 ** 30)
    return False


def _rows_bytes(configs, n_features) -> int:
    return 8 * sum(row_count(cfg) for cfg in configs) * int(n_features)


def _part_id(configs) -> int:
    """The file number of a part: a digest of its configuration indices. Runs that split
    the data differently (other worker counts) write other files, never over each
    other's; the same part is the same file, with the same rows."""
    digest = cache.stable_hash(np.asarray(configs, dtype=np.int64))
    return int(digest[:12], 16)


def _row_files(cache_dir, key, n_configs):
    """Row files of ``key`` that together hold every training configuration exactly once
    (of the splits different runs wrote, any complete one); None when there are none
    (then errors evaluate the rows again)."""
    if cache_dir is None:
        return None
    parts = []
    for path in cache.part_paths(cache_dir, key, _ROWS):
        f = cache.open_entry(path, key)
        if f is None:
            continue  # removed meanwhile, or incomplete
        with f:
            configs = np.asarray(f.attrs.get("configs", []), dtype=np.int64)
        if configs.size and configs.min() >= 0 and configs.max() < n_configs \
                and len(np.unique(configs)) == configs.size:
            parts.append((path, frozenset(configs.tolist())))
    chosen = _exact_cover(parts, n_configs)
    return None if chosen is None else tuple(sorted(chosen))


def _exact_cover(parts, n_configs):
    """Paths of ``parts`` ((path, set of indices)) whose sets partition range(n_configs),
    or None; the parts are few (one per worker of each split), so a search is cheap."""
    if n_configs == 0:
        return None
    by_first = {}
    for path, configs in parts:
        if configs:
            by_first.setdefault(min(configs), []).append((path, configs))

    def search(start, covered, chosen):
        if start == n_configs:
            return list(chosen)
        for path, configs in by_first.get(start, []):
            if covered.isdisjoint(configs):
                # the next uncovered index after adding this part
                joined = covered | configs
                nxt = start
                while nxt in joined:
                    nxt += 1
                found = search(nxt, joined, chosen + [path])
                if found is not None:
                    return found
        return None

    return search(0, frozenset(), [])


def train_row_blocks(files, max_floats=BLOCK_FLOATS):
    """Read kept training rows back: yields ``(DesignBlock, configurations)`` of whole
    configurations, at most ``max_floats`` matrix entries per block (or one
    configuration); ``configurations`` counts those finished with the block."""
    import h5py

    for path in files:
        with h5py.File(path, "r") as f:
            total = len(f.attrs.get("configs", []))
            if "config" not in f:          # a part without any labelled rows
                yield None, total
                continue
            config = f["config"][()]
            ends = np.append(np.flatnonzero(np.diff(config)) + 1, len(config))
            per_block = max(1, int(max_floats // max(1, f["A"].shape[1])))
            start, done = 0, 0
            while start < len(config):
                fit = ends[(ends > start) & (ends <= start + per_block)]
                stop = int(fit[-1] if fit.size else ends[ends > start][0])
                block = DesignBlock(**{
                    fld.name: f[fld.name].asstr()[start:stop].astype(str)
                    if h5py.check_string_dtype(f[fld.name].dtype) else f[fld.name][start:stop]
                    for fld in fields(DesignBlock)})
                n = int(np.unique(block.config).size)
                done += n
                yield block, n + (total - done if stop == len(config) else 0)
                del block   # not held while the next is read (the caller drops its own)
                start = stop


def _tick(progress, n):
    if progress is not None and n:
        progress(n)


def _balanced_parts(indexed, n_parts, cutoff=None):
    """Greedy largest-first assignment of configurations to parts of equal cost.

    Folding costs in proportion to rows (~3 per atom), evaluation to neighbour
    pairs within ``cutoff``; a configuration's load is its share of all atoms plus
    its share of all pairs, so both balance. (By atoms alone, the two Zuo Mo
    halves took 54.0 s and 49.8 s in-process: bulk and surface cells differ in
    pairs per atom.)
    """
    atoms = np.array([cfg.n_atoms for _, cfg in indexed], dtype=float)
    load = atoms / max(atoms.sum(), 1.0)
    if cutoff is not None:
        pairs = np.array([len(neighbour_pairs(cfg.atoms, cutoff)[0]) for _, cfg in indexed],
                         dtype=float)
        load = load + pairs / max(pairs.sum(), 1.0)
    loads = np.zeros(n_parts)
    parts = [[] for _ in range(n_parts)]
    for k in np.argsort(-load, kind="stable"):
        p = int(np.argmin(loads))
        parts[p].append(indexed[k])
        loads[p] += load[k]
    return [sorted(part, key=lambda ic: ic[0]) for part in parts]


@contextlib.contextmanager
def _client(client, scheduler, n_workers):
    if client is not None:
        yield client
        return
    from distributed import Client

    if scheduler is not None:
        with Client(scheduler) as c:
            yield c
        return
    from acefit.progress import holding_interrupts

    cluster, c = local_cluster(n_workers), None
    try:
        with holding_interrupts():  # after the client's start, not within Dask's sync()
            c = Client(cluster)
        yield c
    except KeyboardInterrupt:
        _stop_workers(cluster, c)
        raise
    finally:
        if c is not None:
            c.close()
        cluster.close()


def _interrupted_sync(record) -> bool:
    """False for the traceback that Dask logs when a Ctrl-C or SIGTERM interrupts its
    ``sync()`` before the task it runs began: its ``cancel`` callback reads ``future``
    before that is assigned (``NameError: cannot access free variable 'future'``, in
    ``distributed/utils.py``). There is nothing to cancel; the interrupt is the news."""
    error, traceback = (record.exc_info or (None, None, None))[1:]
    if not isinstance(error, NameError) or getattr(error, "name", None) != "future":
        return True
    while traceback is not None and traceback.tb_next is not None:
        traceback = traceback.tb_next
    return traceback is None or traceback.tb_frame.f_code.co_name != "cancel"


@contextlib.contextmanager
def _sync_cancel_unlogged():
    """Within the block, Dask's logger of event-loop callbacks drops
    :func:`_interrupted_sync`'s traceback (the callback may run after the interrupt has
    stopped the cluster, hence a block around the whole use of a client)."""
    log = logging.getLogger("tornado.application")
    log.addFilter(_interrupted_sync)
    try:
        yield
    finally:
        log.removeFilter(_interrupted_sync)


def _stop_workers(cluster, client=None) -> None:
    """End the worker processes of ``cluster`` at once (their work is void, and a worker
    busy in a reduction, asked to close, printed the scheduler's going as errors), then
    close ``client`` (if any) and ``cluster`` with Dask's log silenced. The cluster's own
    silencing (``silence_logs``) ends as it closes, before its event loop does: under
    load the scheduler's comms to the killed workers logged their end there (a
    ``CommClosedError`` traceback at INFO above the one-line message)."""
    for nanny in list(cluster.workers.values()):
        with contextlib.suppress(Exception):   # gone already, or not yet started
            os.kill(nanny.pid, signal.SIGKILL)
    names = [n for n in logging.root.manager.loggerDict
             if n == "distributed" or n.startswith("distributed.")]
    levels = {n: logging.getLogger(n).level for n in names}   # distributed.client's too
    for n in names:
        logging.getLogger(n).setLevel(logging.CRITICAL + 1)
    try:
        with contextlib.suppress(Exception):   # the interrupt is what the caller reports
            if client is not None:
                client.close()
            cluster.close()     # also stops the event loop: nothing of it logs afterwards
    finally:
        for n, level in levels.items():
            logging.getLogger(n).setLevel(level)


# Dask settings for the reduction's own cluster: a few long tasks, no dashboard.
_LOCAL_CLUSTER_CONFIG = {
    # Dask's 65536 turns off glibc's dynamic mmap threshold: every temporary array
    # above 128 KiB is then a fresh mmap, page-faulted in and unmapped again. In-process,
    # 40 Zuo Mo configurations took 4.3x the page faults with it (226 k against 52 k)
    # and 0.6 s more system time. None: the allocator's default (the user's
    # environment still wins).
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    # Housekeeping timers for the dashboard and for many short tasks. At the
    # defaults an idle 2-worker cluster used 4.9 % of a core in the client (the
    # scheduler's thread) and 4.4 % in each worker; with these, 1.0 % and 0.4 %.
    "distributed.worker.profile.enabled": False,        # 10 ms stack sampler
    "distributed.admin.tick.interval": "1s",            # 20 ms event-loop watchdog
    "distributed.admin.system-monitor.interval": "5s",  # 500 ms resource sampler
    "distributed.worker.memory.monitor-interval": "1s", # 100 ms memory-limit check
    "distributed.scheduler.work-stealing": False,       # parts are balanced up front
}


@contextlib.contextmanager
def quiet_dask():
    """Dask's warnings that mean nothing here silenced (a run needs no dashboard)."""
    with warnings.catch_warnings():
        # dask's "port 8787 in use" means nothing here
        warnings.filterwarnings("ignore", message=r"Port \d+ is already in use")
        yield


def local_cluster(n_workers: int):
    """A ``LocalCluster`` of single-threaded worker processes for the reduction.

    It runs with :data:`_LOCAL_CLUSTER_CONFIG`: glibc's malloc defaults in the
    workers and Dask's periodic housekeeping slowed down or off, since a reduction
    is one long task per worker with no dashboard. On the two cores of the benchmark
    machine that housekeeping otherwise takes CPU time from the workers.

    A Ctrl-C is the parent's (:func:`acefit.progress.starting_workers`, and
    :func:`acefit.progress.dask_setup` as their preload): the terminal sends it to the
    workers too, which printed their tracebacks. A Ctrl-C or SIGTERM while the workers
    start is raised once they are up, and stops them first.
    """
    import dask
    from distributed import LocalCluster

    from acefit.progress import starting_workers

    cluster = None
    try:
        with dask.config.set(_LOCAL_CLUSTER_CONFIG), starting_workers():
            cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR,
                                   preload=["acefit.progress"])    # a Ctrl-C is the parent's
    except KeyboardInterrupt:   # held while the workers started
        if cluster is not None:
            _stop_workers(cluster)
        raise
    return cluster


@contextlib.contextmanager
def _single_threaded():
    """One BLAS and numba thread: parallelism comes from worker processes."""
    from threadpoolctl import threadpool_limits

    restore = None
    try:
        import numba
        restore = numba.get_num_threads()
        numba.set_num_threads(1)
    except Exception:  # numba absent or not initialised for threading
        restore = None
    try:
        with threadpool_limits(limits=1):
            yield
    finally:
        if restore is not None:
            import numba
            numba.set_num_threads(restore)


# ---------------------------------------------------------------- cache I/O

def _load_problem(cache_dir, key):
    if cache_dir is None:
        return None
    found = cache.load(cache.cache_path(cache_dir, key, "train"), key)
    if found is None:
        return None
    arrays, attrs = found
    problem = LeastSquaresProblem.from_reduced(arrays["R"], arrays["qty"], float(attrs["yty"]),
                                               int(attrs["m"]))
    counts = {k: int(attrs[f"rows_{k}"]) for k in ROW_KINDS}
    return problem, counts


def _save_problem(cache_dir, key, problem, counts):
    if cache_dir is None:
        return
    with _optional_write(cache_dir):
        cache.save(cache.cache_path(cache_dir, key, "train"), key,
                   {"R": problem.A, "qty": problem.y},
                   {"yty": problem.yty, "m": problem.m,
                    **{f"rows_{k}": v for k, v in counts.items()}})


def _load_block(cache_dir, key):
    if cache_dir is None:
        return None
    found = cache.load(cache.cache_path(cache_dir, key, "rows"), key)
    return None if found is None else DesignBlock.from_arrays(found[0])


def _save_block(cache_dir, key, block):
    if cache_dir is not None:
        with _optional_write(cache_dir):
            cache.save(cache.cache_path(cache_dir, key, "rows"), key, block.to_arrays())


@contextlib.contextmanager
def _optional_write(cache_dir):
    """A cache entry that cannot be written (a full disk) costs a recomputation next time,
    not this run: log it and go on (the atomic write leaves no partial entry)."""
    try:
        yield
    except OSError as exc:
        logging.getLogger(__name__).warning("not cached in %s: %s", cache_dir, exc)

"""Progress bars and the run log.

Messages go to a log file in the run directory (everything, with times) and to
the terminal (INFO and above) without breaking tqdm bars. Bars are drawn only
when stderr is a terminal, unless forced.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

__all__ = ["get_logger", "setup_logging", "close_logging", "bar", "catching_interrupts",
           "raise_if_interrupted", "starting_workers", "holding_interrupts", "Terminated",
           "interruption"]

LOGGER_NAME = "acefit"


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


class _TqdmHandler(logging.StreamHandler):
    """Console handler that prints through ``tqdm.write`` so bars stay intact."""

    def emit(self, record):
        try:
            tqdm.write(self.format(record), file=self.stream)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def setup_logging(log_file: Path | None = None, *, verbose: bool = False,
                  quiet: bool = False) -> logging.Logger:
    """Send acefit's log to ``log_file`` (DEBUG) and to stderr (INFO; WARNING if quiet)."""
    log = get_logger()
    close_logging()
    log.setLevel(logging.DEBUG)
    log.propagate = False
    console = _TqdmHandler(sys.stderr)
    console.setLevel(logging.WARNING if quiet else (logging.DEBUG if verbose else logging.INFO))
    console.setFormatter(logging.Formatter("%(message)s"))
    console.addFilter(lambda record: not getattr(record, "file_only", False))
    log.addHandler(console)
    if log_file is not None:
        Path(log_file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setLevel(logging.DEBUG)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s",
                                               "%Y-%m-%d %H:%M:%S"))
        log.addHandler(handler)
    return log


def close_logging() -> None:
    """Undo :func:`setup_logging`: its handlers go, and records propagate again (to the
    caller's logging, e.g. pytest's caplog after an in-process CLI call)."""
    log = get_logger()
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    log.propagate = True


def bar(total=None, desc: str = "", *, unit: str = "it", enabled: bool | None = None):
    """A tqdm bar on stderr; silent (but still counting) when not on a terminal."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    return tqdm(total=total, desc=desc, unit=unit, disable=not enabled, leave=True,
                dynamic_ncols=True, file=sys.stderr)


class Terminated(KeyboardInterrupt):
    """A SIGTERM within :func:`catching_interrupts` (a batch system's time limit,
    ``kill PID``, ``timeout``): it stops a fit as a Ctrl-C does, so it is one (every
    clean-up for a Ctrl-C runs), and ``acefit`` says so and exits with 143 (128 + 15)."""


_RECEIVED = []   # the signal received within catching_interrupts; empty: none


def _interruption(signum: int) -> KeyboardInterrupt:
    return Terminated() if signum == signal.SIGTERM else KeyboardInterrupt()


@contextmanager
def catching_interrupts():
    """Ctrl-C and SIGTERM that are never lost. Python swallows a KeyboardInterrupt
    raised inside a garbage-collection callback (it prints "Exception ignored in ..." and
    goes on), so within this block a SIGINT is also remembered, and
    :func:`raise_if_interrupted` (called at every solver step) raises it again; the
    swallowed one is not printed. A SIGTERM raises :class:`Terminated` the same way
    (without a handler it ended the process at once: no message, no log line). The main
    thread only (signal handlers live there), and only where a signal has its default
    handling; elsewhere the caller's (SIGINT ignored: a background job)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    defaults = {signal.SIGINT: signal.default_int_handler, signal.SIGTERM: signal.SIG_DFL}
    ours = [s for s, default in defaults.items() if signal.getsignal(s) is default]

    def handler(signum, frame):
        _RECEIVED[:] = [signum]
        raise _interruption(signum)

    def hook(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    _RECEIVED.clear()
    previous = {s: signal.signal(s, handler) for s in ours}
    previous_hook, sys.unraisablehook = sys.unraisablehook, hook
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        sys.unraisablehook = previous_hook
        _RECEIVED.clear()


@contextmanager
def starting_workers():
    """The block in which acefit's own Dask workers start: a Ctrl-C or SIGTERM that comes
    meanwhile is held, as in :func:`holding_interrupts`, and raised at the block's end
    (once the workers are up, for the caller to stop them): honoured once, not lost, and
    not raised inside Dask's cluster start (which left a cluster that Dask's exit hook
    failed to close). The workers must leave a Ctrl-C, which a terminal sends to the
    whole process group, to the parent (one interrupted in its seconds of imports printed
    its traceback), so SIGINT is blocked in this thread meanwhile: the threads Dask starts
    here, and the worker processes they spawn, are born with it blocked (as CPython
    starts its resource tracker) and it waits in them until their preload,
    :func:`dask_setup`, ignores it, which discards it. In the parent it reaches another
    thread or waits for this one, and is held either way. The main thread only (signal
    handlers live there); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread() \
            or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    from multiprocessing import resource_tracker

    # started within the block, it would unblock SIGINT in the thread that then spawns
    # the first worker (it blocks and unblocks the signal around its own start)
    resource_tracker.ensure_running()
    with holding_interrupts():
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            yield
        finally:    # a Ctrl-C that waited comes now, to holding_interrupts' handler
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)


@contextmanager
def holding_interrupts():
    """A few quick steps that must all happen or none (the renames that replace one run's
    files with another's, and the new ``run.json``): a Ctrl-C or SIGTERM that comes
    within the block is held, and raised as it would have been at the block's end. Only
    signals with a Python handler (SIGINT's default one, or :func:`catching_interrupts`'s),
    in the main thread (signal handlers live there); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = []
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    handlers = {s: h for s, h in handlers.items() if callable(h)}
    for s in handlers:
        signal.signal(s, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        _put_back(handlers)
        if held:    # raises as the signal would have (over an error of the block: not lost)
            handlers[held[0]](held[0], None)


def _put_back(handlers: dict) -> None:
    """``signal.signal(s, h)`` for every ``s: h`` of ``handlers``, each one set even when a
    signal whose handler is back already comes meanwhile: Python runs a pending signal's
    handler before it sets another, and an interrupt it raised there left the next
    signal with :func:`holding_interrupts`'s handler for good (later SIGTERMs were
    dropped). The interrupt is raised once all are set."""
    stop = None
    for s, h in handlers.items():
        while True:
            try:
                signal.signal(s, h)
                break
            except KeyboardInterrupt as exc:     # its handler ran; set this one again
                stop = stop or exc
    if stop is not None:
        raise stop


def dask_setup(worker) -> None:
    """Run in each worker process of acefit's own Dask clusters (their ``preload``): a
    Ctrl-C, which the terminal sends to the whole process group, is left to the parent,
    which stops the workers. Handled in the workers too, it printed each one's traceback
    chains (78 lines for two workers) above the parent's one-line message. Workers are born
    with it blocked (:func:`starting_workers`): ignored now, one that came meanwhile is
    discarded."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to change
        pass


def interruption() -> KeyboardInterrupt | None:
    """The interruption (:class:`Terminated` for a SIGTERM) that the last
    :func:`catching_interrupts` block received, else None: an error can come first when
    the signal reached the workers too (a batch system signals every process of a job,
    and a worker that dies cancels its task), and is then the signal's doing."""
    return _interruption(_RECEIVED[0]) if _RECEIVED else None


def raise_if_interrupted() -> None:
    """KeyboardInterrupt (:class:`Terminated` for a SIGTERM) when a signal arrived within
    :func:`catching_interrupts`."""
    stop = interruption()
    if stop is not None:
        raise stop

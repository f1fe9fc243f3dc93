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
           "raise_if_interrupted", "starting_workers"]

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


_INTERRUPTED = threading.Event()


@contextmanager
def catching_interrupts():
    """Ctrl-C that is never lost. Python swallows a KeyboardInterrupt raised inside a
    garbage-collection callback (it prints "Exception ignored in ..." and goes on), so
    within this block a SIGINT is also remembered, and :func:`raise_if_interrupted`
    (called at every solver step) raises it again; the swallowed one is not printed.
    The main thread only (signal handlers live there), and only where SIGINT has Python's
    default handler; elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread() \
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler:
        yield       # SIGINT ignored (a background job) or handled by the caller: theirs
        return

    def handler(signum, frame):
        _INTERRUPTED.set()
        raise KeyboardInterrupt

    def hook(unraisable):
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous_hook(unraisable)

    _INTERRUPTED.clear()
    previous_handler = signal.signal(signal.SIGINT, handler)
    previous_hook, sys.unraisablehook = sys.unraisablehook, hook
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous_handler)
        sys.unraisablehook = previous_hook
        _INTERRUPTED.clear()


@contextmanager
def starting_workers():
    """The block in which acefit's own Dask workers start: SIGINT ignored, so that the
    worker processes are born ignoring it (their preload, :func:`dask_setup`, comes
    only after seconds of imports). A terminal's Ctrl-C reaches the whole process group:
    a worker interrupted in its imports printed its traceback, and the parent, stopped
    inside Dask's cluster start, left a cluster that Dask's exit hook failed to close
    with another. A Ctrl-C in these one or two seconds is lost: press it again. The
    main thread only (signal handlers live there); elsewhere a no-op."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def dask_setup(worker) -> None:
    """Run in each worker process of acefit's own Dask clusters (their ``preload``): a
    Ctrl-C, which the terminal sends to the whole process group, is left to the parent,
    which stops the workers. Handled in the workers too, it printed each one's traceback
    chains (78 lines for two workers) above the parent's one-line message. Workers born
    in :func:`starting_workers` ignore it already; this covers those Dask restarts."""
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: nothing to change
        pass


def raise_if_interrupted() -> None:
    """KeyboardInterrupt when a SIGINT arrived within :func:`catching_interrupts`."""
    if _INTERRUPTED.is_set():
        raise KeyboardInterrupt

"""A Ctrl-C is never lost: one that Python swallows is raised again at the next step."""

import os
import signal
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from test_cli import small_data  # noqa: F401  (a fixture)

from acefit.progress import (Terminated, catching_interrupts, holding_interrupts,
                             raise_if_interrupted, starting_workers)


def test_a_swallowed_interrupt_is_raised_again_and_only_within_the_block():
    # Python's own handler, as in a terminal (a job started without job control, as CI may
    # start the tests, inherits SIGINT ignored, and then catching_interrupts leaves it so)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    before_handler, before_hook = signal.getsignal(signal.SIGINT), sys.unraisablehook
    seen = []
    sys.unraisablehook = seen.append
    try:
        with catching_interrupts():
            try:
                os.kill(os.getpid(), signal.SIGINT)      # as if inside a GC callback:
                raise AssertionError("no KeyboardInterrupt")
            except KeyboardInterrupt:
                pass
            with pytest.raises(KeyboardInterrupt):
                raise_if_interrupted()
            # what Python reports as "Exception ignored" is not printed for an interrupt
            sys.unraisablehook(SimpleNamespace(exc_value=KeyboardInterrupt()))
            sys.unraisablehook(SimpleNamespace(exc_value=ValueError("shown")))
        raise_if_interrupted()                           # cleared when the block ends
        assert [type(u.exc_value) for u in seen] == [ValueError]
        assert signal.getsignal(signal.SIGINT) is before_handler
    finally:
        sys.unraisablehook = before_hook
        signal.signal(signal.SIGINT, outer)


def test_an_ignored_sigint_stays_ignored():
    """Found in review: a background fit (SIGINT ignored) was killed by its shell's Ctrl-C."""
    outer = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with catching_interrupts():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)         # nothing happens
            raise_if_interrupted()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, outer)


def test_a_remembered_interrupt_stops_a_fit_at_its_next_solver_step(tmp_path, small_data,  # noqa: F811
                                                                   monkeypatch):
    import json

    import acefit.progress
    from test_cli import fit, tiny_config

    from acefit.commands import EXIT_INTERRUPTED

    class Remembered(list):     # as if a SIGINT had arrived and Python had swallowed it
        def clear(self):        # (catching_interrupts clears it as the fit starts)
            pass

    # one state: the signal received (session 33: a flag and the signal were two)
    monkeypatch.setattr(acefit.progress, "_RECEIVED", Remembered([signal.SIGINT]))
    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 20}"])
    assert fit(config, tmp_path / "run") == EXIT_INTERRUPTED
    state = json.loads((tmp_path / "run" / "run.json").read_text())
    assert state["status"] != "finished"


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt),
                                            (signal.SIGTERM, Terminated)])
def test_an_interrupt_within_holding_interrupts_comes_at_its_end(signum, raised):
    """Session 33: the renames that replace a run's files, and its new run.json, happen
    all or none; the signal is raised as it would have been, once they are done."""
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with catching_interrupts():
            done = []
            with pytest.raises(raised):
                with holding_interrupts():
                    os.kill(os.getpid(), signum)
                    done.append("after the signal")
            assert done == ["after the signal"]
            assert signal.getsignal(signum) not in (signal.SIG_DFL, signal.SIG_IGN)
            with pytest.raises(raised):
                raise_if_interrupted()      # and remembered, as any other
    finally:
        signal.signal(signal.SIGINT, outer)


def _blocks_sigint() -> bool:
    return signal.SIGINT in signal.pthread_sigmask(signal.SIG_BLOCK, [])


@pytest.mark.parametrize("signum, raised", [(signal.SIGINT, KeyboardInterrupt),
                                            (signal.SIGTERM, Terminated)])
def test_a_signal_while_workers_start_comes_at_the_end_and_they_are_born_blocking_sigint(
        signum, raised):
    """Session 38: a Ctrl-C while the Dask workers started was ignored (SIGINT ignored in
    the parent, so that the workers were born ignoring it): the fit went on, and the
    user had to press it again. It is now held and raised at the block's end; the
    threads and processes started in the block are born with SIGINT blocked instead."""
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with catching_interrupts():
            seen = {}

            def start():    # as Dask's event loop thread spawns the worker processes
                seen["thread"] = _blocks_sigint()
                seen["process"] = subprocess.run(
                    [sys.executable, "-c", "import signal; print(signal.SIGINT in "
                     "signal.pthread_sigmask(signal.SIG_BLOCK, []))"],
                    capture_output=True, text=True, check=True).stdout.strip()

            with pytest.raises(raised):
                with starting_workers():
                    os.kill(os.getpid(), signum)
                    thread = threading.Thread(target=start)
                    thread.start()
                    thread.join()
                    seen["held"] = True
            assert seen == {"thread": True, "process": "True", "held": True}
            assert not _blocks_sigint()         # the main thread's mask is restored
    finally:
        signal.signal(signal.SIGINT, outer)


def test_an_error_while_workers_start_is_not_hidden_by_a_sigterm_handler_that_returns():
    """Session 38: with a SIGTERM held, an error of the cluster's start was dropped (taken
    for the signal's doing, as when a batch system signals the workers too); a caller's
    handler that returned then left the start without its error or its cluster. The
    error goes on when the handler returns; raised, the signal comes over it."""
    calls = []
    outer = signal.signal(signal.SIGTERM, lambda signum, frame: calls.append(signum))
    try:
        with pytest.raises(RuntimeError, match="the cluster did not start"):
            with starting_workers():
                os.kill(os.getpid(), signal.SIGTERM)
                raise RuntimeError("the cluster did not start")
        assert calls == [signal.SIGTERM]
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        with catching_interrupts():
            with pytest.raises(Terminated) as stop:
                with starting_workers():
                    os.kill(os.getpid(), signal.SIGTERM)
                    raise RuntimeError("the cluster did not start")
        assert isinstance(stop.value.__context__, RuntimeError)
    finally:
        signal.signal(signal.SIGTERM, outer)


def test_a_signal_while_holding_interrupts_restores_its_handlers_loses_none(monkeypatch):
    """Session 38: a Ctrl-C that came after holding_interrupts had put SIGINT's handler back
    but before SIGTERM's was raised from that second signal.signal() (Python runs pending
    handlers before it sets one), and SIGTERM kept the block's holding handler: every
    later SIGTERM was dropped. Both are back now, and the Ctrl-C is raised after."""
    term = []
    outer = {signal.SIGINT: signal.signal(signal.SIGINT, signal.default_int_handler),
             signal.SIGTERM: signal.signal(signal.SIGTERM, lambda s, f: term.append(s))}
    handler = signal.getsignal(signal.SIGTERM)
    real = signal.signal

    sent = []

    def put(signum, action):     # a Ctrl-C just after SIGINT's own handler is back
        previous = real(signum, action)
        if signum == signal.SIGINT and action is signal.default_int_handler and not sent:
            sent.append(signum)
            os.kill(os.getpid(), signal.SIGINT)
        return previous

    try:
        monkeypatch.setattr(signal, "signal", put)
        with pytest.raises(KeyboardInterrupt):
            with holding_interrupts():
                pass
        monkeypatch.undo()
        assert sent and signal.getsignal(signal.SIGTERM) is handler
        os.kill(os.getpid(), signal.SIGTERM)
        assert term == [signal.SIGTERM]
    finally:
        monkeypatch.undo()
        for s, h in outer.items():
            signal.signal(s, h)

"""A Ctrl-C is never lost: one that Python swallows is raised again at the next step."""

import os
import signal
import sys
from types import SimpleNamespace

import pytest

from test_cli import small_data  # noqa: F401  (a fixture)

from acefit.progress import (Terminated, catching_interrupts, holding_interrupts,
                             raise_if_interrupted)


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

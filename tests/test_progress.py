"""A Ctrl-C is never lost: one that Python swallows is raised again at the next step."""

import os
import signal
import sys
from types import SimpleNamespace

import pytest

from acefit.progress import catching_interrupts, raise_if_interrupted


def test_a_swallowed_interrupt_is_raised_again_and_only_within_the_block():
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

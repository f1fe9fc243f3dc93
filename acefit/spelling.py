"""The allowed name an unknown one likely stands for, in the words of every error that
refuses a name (``... (did you mean 'omp'?)``).

A module of its own, below everything that names options: :mod:`acefit.config` and
:mod:`acefit.data` both use it, and ``acefit.config`` imports ``acefit.data``.
"""

from __future__ import annotations

__all__ = ["close_match"]


def close_match(name, options) -> str:
    """`` (did you mean 'X'?)`` for the option ``name`` likely stands for, else "": the one
    that differs in case only ('OMP' for 'omp', 'e' for 'E'), the one that it begins
    (an abbreviation: 'dir' for 'directory'; two letters at least, and no other option
    begins so), else the closest spelling, case aside (difflib)."""
    import difflib

    text = str(name).lower()
    by_lower = {str(o).lower(): o for o in options}
    if text in by_lower:
        match = by_lower[text]
    else:
        begun = [o for lower, o in by_lower.items() if len(text) >= 2 and lower.startswith(text)]
        close = difflib.get_close_matches(text, list(by_lower), n=1)
        match = begun[0] if len(begun) == 1 else by_lower[close[0]] if close else None
    return f" (did you mean {match!r}?)" if match is not None else ""

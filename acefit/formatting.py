"""Numbers as the tables and messages print them: a value, or a dash where there is none.

One place for what every report, table and log line does with a value that was not
computed (None; NaN in a report read back from strict JSON): :func:`number` and its
fixed-point form :func:`fixed`, and an MAE with its standard error, :func:`mae_text`.
"""

from __future__ import annotations

import math

__all__ = ["DASH", "number", "fixed", "mae_text"]

DASH = "–"
"""What a table cell without a number shows (an en dash)."""


def number(x, spec: str, suffix: str = "", *, missing: str = DASH,
           keep_nan: bool = False) -> str:
    """``x`` formatted by the format ``spec`` and followed by ``suffix``, or ``missing``
    where there is no number.

    Parameters
    ----------
    x : float, int or None
        None where the value was not computed (or was NaN in strict JSON read back).
    spec : str
        A format spec, e.g. ``".2f"``, ``"+.2f"``, ``".5g"``.
    suffix : str
        After the number (not after ``missing``), e.g. ``" %"``.
    missing : str
        What None prints as (and NaN or ±inf, unless ``keep_nan``).
    keep_nan : bool
        Print NaN and ±inf as ``spec`` does ("nan", "inf"): where such a value says
        something went wrong (a diverged path's validation error), not that there is none.

    Examples
    --------
    >>> number(0.1234, ".2f"), number(None, ".2f"), number(float("nan"), ".2f")
    ('0.12', '–', '–')
    >>> number(float("nan"), ".5g", missing="-", keep_nan=True)
    'nan'
    """
    if x is None or (not keep_nan and not math.isfinite(x)):
        return missing
    return f"{x:{spec}}{suffix}"


def fixed(x, digits: int, **kwargs) -> str:
    """:func:`number` with ``digits`` decimals (``f"{x:.{digits}f}"``), "–" for none."""
    return number(x, f".{digits}f", **kwargs)


def mae_text(mae, se, digits: int) -> str:
    """An MAE with ``digits`` decimals, followed by " ± SE" where ``se`` is not None, or
    "–" where ``mae`` is None (no rows). Which standard errors count (a bootstrap of one
    configuration gives 0) is the caller's to say: pass None for one not to print."""
    if mae is None:
        return DASH
    return f"{mae:.{digits}f}" + ("" if se is None else f" ± {se:.{digits}f}")

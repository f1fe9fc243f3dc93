"""A solver path: the sequence of models a solver produces, one checkpoint a step.

Every solver, sparse or dense, returns a :class:`Path`. Consumers (checkpoint
files, selection rules, reports) only ever see this shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Step:
    """One model on a path.

    Attributes
    ----------
    active : ndarray of int
        Indices of the active (selected) columns, in the order the solver added them.
    coef : ndarray, shape (n_features,)
        Full coefficient vector in the caller's (unscaled) variables; zero off ``active``.
    lam : float
        Regularisation value of this step (lambda / alpha / tau; NaN where none applies).
    train_error : float or None
        Root-mean-square weighted training residual, sqrt(rss / m).
    val_error : float or None
        Root-mean-square weighted validation residual, when a validation set was given.
    info : dict
        Solver-specific extras (e.g. kind of breakpoint, number of iterations).
    """

    active: np.ndarray
    coef: np.ndarray
    lam: float = float("nan")
    train_error: float | None = None
    val_error: float | None = None
    info: dict = field(default_factory=dict)

    @property
    def n_active(self) -> int:
        return int(len(self.active))


@dataclass
class Path:
    """The steps of one solver run, plus what produced them.

    Attributes
    ----------
    solver : str
        The solver's name (``"asp"``, ``"omp"``, ...).
    params : dict
        The settings it ran with.
    steps : list of Step
        Its models, in the order it produced them.

    Per-step arrays: :attr:`sizes`, :attr:`lams`, :attr:`train_errors`,
    :attr:`val_errors`. Choosing a step (the best validation error within a size budget,
    ...) is :func:`acefit.selection.select`'s: ``select(path, "best_val", max_active=300)``.
    """

    solver: str
    params: dict = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)

    def append(self, step: Step, on_step: Callable[[Step], None] | None = None) -> None:
        """Add ``step`` and hand it to ``on_step`` (a checkpoint writer, a progress bar)."""
        self.steps.append(step)
        if on_step is not None:
            on_step(step)

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    @property
    def sizes(self) -> np.ndarray:
        """Each step's number of active functions."""
        return np.array([s.n_active for s in self.steps], dtype=int)

    @property
    def lams(self) -> np.ndarray:
        """Each step's regularisation value (NaN where none applies)."""
        return np.array([s.lam for s in self.steps], dtype=float)

    @property
    def train_errors(self) -> np.ndarray:
        """Each step's RMS weighted training residual (NaN where not recorded)."""
        return _floats(s.train_error for s in self.steps)

    @property
    def val_errors(self) -> np.ndarray:
        """Each step's RMS weighted validation residual (NaN without a validation set)."""
        return _floats(s.val_error for s in self.steps)


def _floats(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)

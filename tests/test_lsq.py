"""LeastSquaresProblem: its forms and the checks at its boundary."""

import numpy as np
import pytest

from acefit.lsq import LeastSquaresProblem
from acefit.solvers import asp


def test_from_reduced_refuses_a_norm_of_y_below_that_of_its_projection():
    # ||y||^2 = ||Q^T y||^2 / 2 was accepted, its offset clipped to 0: the problem's ||y||^2
    # became ||Q^T y||^2 and asp's first step reported a train RMS of 0.499 for 0.998
    rng = np.random.default_rng(0)
    A, y = rng.standard_normal((30, 5)), rng.standard_normal(30)
    red = LeastSquaresProblem.from_dense(A, y, reduce=True)
    qq = float(red.y @ red.y)
    with pytest.raises(ValueError, match=r"\|\|y\|\|\^2 = .* is smaller than \|\|Q\^T y\|\|\^2"):
        LeastSquaresProblem.from_reduced(red.A, red.y, 0.5 * qq, 30)
    # rounding is allowed: y in the span of A, its ||y||^2 a little below ||Q^T y||^2
    exact = LeastSquaresProblem.from_reduced(red.A, red.y, qq * (1 - 1e-14), 30)
    assert exact.offset == 0.0
    assert asp(red).steps[0].train_error == pytest.approx(np.sqrt(y @ y / 30), rel=1e-14)

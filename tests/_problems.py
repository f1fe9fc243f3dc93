"""Synthetic least-squares problems shared by the solver tests."""

import numpy as np


def correlated_problem(m=200, n=150, rho=0.95, seed=5):
    """AR(1)-correlated columns: a path with many drops."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((m, n))
    A = np.empty_like(Z)
    A[:, 0] = Z[:, 0]
    for j in range(1, n):
        A[:, j] = rho * A[:, j - 1] + np.sqrt(1 - rho ** 2) * Z[:, j]
    x = np.zeros(n)
    x[rng.choice(n, 10, replace=False)] = rng.standard_normal(10)
    return A, A @ x + 0.01 * rng.standard_normal(m)

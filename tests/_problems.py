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


def random_problem(m=60, n=40, k=5, noise=0.1, seed=0):
    """Gaussian columns and a planted k-sparse x of magnitudes 1-3: (A, y, x)."""
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((m, n))
    x = np.zeros(n)
    support = rng.choice(n, k, replace=False)
    x[support] = rng.choice([-1, 1], k) * rng.uniform(1.0, 3.0, k)
    y = A @ x + noise * rng.standard_normal(m)
    return A, y, x

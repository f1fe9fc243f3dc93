"""Smoothness priors Γ (acefit.prior)."""

from collections import namedtuple

import numpy as np
import pytest
from _toy_basis import PairBasis

from acefit import ACEBasis
from acefit.lsq import LeastSquaresProblem
from acefit.prior import algebraic_prior, exponential_prior, gaussian_prior, smoothness_prior

F = namedtuple("F", "centre order factors kind")
FUNCS = [
    F(42, 1, ((42, 3, 0),), "pair"),
    F(42, 2, ((42, 1, 1), (42, 2, 1)), "ace"),
    F(42, 3, ((42, 1, 0), (42, 2, 2), (42, 1, 2)), "ace"),
]


def test_algebraic_formula():
    g = algebraic_prior(FUNCS, p=2, wL=1.5)
    expected = [3 ** 2, (1 + 1.5) + (4 + 1.5), (1 + 0) + (4 + 1.5 * 4) + (1 + 1.5 * 4)]
    np.testing.assert_allclose(g, expected)
    g4 = algebraic_prior(FUNCS, p=4, wL=1.0, offset=1.0)
    np.testing.assert_allclose(g4, [1 + 81, 1 + 2 + 17, 1 + 1 + (16 + 16) + (1 + 16)])


def test_exponential_and_gaussian_formulas():
    np.testing.assert_allclose(exponential_prior(FUNCS, a_l=0.5, a_n=0.25),
                               np.exp([0.25 * 3, 0.5 * 2 + 0.25 * 3, 0.5 * 4 + 0.25 * 4]))
    np.testing.assert_allclose(gaussian_prior(FUNCS, sigma_l=0.1, sigma_n=0.2),
                               np.exp([0.2 * 9, 0.1 * 2 + 0.2 * 5, 0.1 * 8 + 0.2 * 6]))


def test_dispatch_and_basis_input():
    basis = PairBasis(K=3)
    g = smoothness_prior(basis, "algebraic", p=2)
    # pair functions: γ = n^p for n = 1..K, per element pair
    np.testing.assert_allclose(g, np.tile([1.0, 4.0, 9.0], 3))
    with pytest.raises(ValueError, match="unknown prior 'cubic'"):
        smoothness_prior(basis, "cubic")
    with pytest.raises(ValueError, match="bad parameters"):
        smoothness_prior(basis, "gaussian", p=2)


def test_overflow_is_reported():
    big = [F(1, 1, ((1, 30, 0),), "pair")]
    with pytest.raises(ValueError, match="gaussian prior is not a finite positive number"):
        gaussian_prior(big, sigma_n=2.0)
    with pytest.raises(ValueError, match="algebraic prior needs p > 0"):
        algebraic_prior(FUNCS, p=0)


def test_column_scaling_solves_the_prior_regularised_problem():
    """min ||y − Ac||² + λ||Γc||²  ==  scale columns by 1/γ, ridge on d, c = d/γ."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((40, 3))
    y = rng.standard_normal(40)
    gamma = algebraic_prior(FUNCS, p=2)
    lam = 0.7
    direct = np.linalg.solve(A.T @ A + lam * np.diag(gamma ** 2), A.T @ y)
    for problem in (LeastSquaresProblem.from_dense(A, y),
                    LeastSquaresProblem.from_dense(A, y, reduce=True)):
        scaled = problem.scale_columns(gamma)
        d = np.linalg.solve(scaled.gram() + lam * np.eye(3), scaled.aty())
        np.testing.assert_allclose(d / gamma, direct, rtol=1e-10)


def test_real_ace_basis_prior():
    ace = ACEBasis(["Cu", "Au"], order=2, totaldegree=4, rcut=4.5)
    g = algebraic_prior(ace, p=2, wL=1.5)
    assert g.shape == (len(ace),) and np.all(g > 0)
    for gk, f in zip(g, ace.functions):
        assert gk == pytest.approx(sum(n ** 2 + 1.5 * l ** 2 for _, n, l in f.factors))
        if f.kind == "pair":
            assert gk == f.factors[0][1] ** 2
    # one-body functions (no factors) get the smallest weight, 1
    with_one_body = ACEBasis(["Cu", "Au"], order=2, totaldegree=4, rcut=4.5, one_body=True)
    g1 = algebraic_prior(with_one_body, p=4)
    k = [i for i, f in enumerate(with_one_body.functions) if f.kind == "onebody"]
    assert len(k) == 2 and np.all(g1[k] == 1.0) and g1.min() == 1.0


def test_the_python_defaults_are_the_configs():
    """Found by a walk-through: ``algebraic_prior`` defaulted to p = 2 where the config's
    ``prior.p`` (and ``acefit init``) is 4: a prior from Python was not the YAML's."""
    import inspect

    from acefit.config import PRIOR
    from acefit.prior import DEFAULTS

    makers = {"algebraic": algebraic_prior, "exponential": exponential_prior,
              "gaussian": gaussian_prior}
    for kind, maker in makers.items():
        signature = {k: v.default for k, v in inspect.signature(maker).parameters.items()
                     if v.default is not inspect.Parameter.empty}
        assert signature == DEFAULTS[kind]
        section = PRIOR.variants[kind]
        assert {k: key.default for k, key in section.keys.items()} == DEFAULTS[kind]
    assert DEFAULTS["algebraic"]["p"] == 4.0
    np.testing.assert_allclose(algebraic_prior(FUNCS), algebraic_prior(FUNCS, p=4))

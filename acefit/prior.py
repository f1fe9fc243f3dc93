"""Smoothness priors Γ: one positive number per basis function.

Each basis function carries ``factors``, a tuple of ``(z, n, l)`` (radial index
n from 1, angular degree l). A pair function is one factor with l = 0, so every
prior below applies to it unchanged: its cost grows with its radial degree only.

The prior enters the fit as min ||W(y - Ac)||² + λ||Γc||² with Γ = diag(γ), which
the solvers realise by column scaling (``LeastSquaresProblem.scale_columns(γ)``:
columns A[:, k] / γ_k, variables d = Γc, coefficients mapped back c = d / γ).

Definitions (ACEpotentials' ``algebraic_smoothness_prior``,
``exp_smoothness_prior``, ``gaussian_smoothness_prior``; Torabi et al., eq. for
γ_{nlm}(p)):

- algebraic:   γ = offset + Σ_t (n_t^p + wL · l_t^p)
- exponential: γ = exp(a_l Σ_t l_t + a_n Σ_t n_t)
- Gaussian:    γ = exp(σ_l Σ_t l_t² + σ_n Σ_t n_t²)

A function without factors (the one-body functions of an ACEBasis built with
``one_body=True``) gets γ = 1, the smallest weight an algebraic prior with
offset 0 gives any function (a pair function with n = 1).
"""

from __future__ import annotations

import numpy as np

PRIORS = ("algebraic", "exponential", "gaussian")

DEFAULTS = {"algebraic": {"p": 4.0, "wL": 1.0, "offset": 0.0},
            "exponential": {"a_l": 1.0, "a_n": 1.0},
            "gaussian": {"sigma_l": 2.0, "sigma_n": 2.0}}
"""Each prior's parameters when not given: the defaults of the functions below and of the
config's ``prior`` keys (``acefit.config`` reads them here), so that a prior from Python
and one from YAML are the same prior."""


def algebraic_prior(functions, p=DEFAULTS["algebraic"]["p"], wL=DEFAULTS["algebraic"]["wL"],
                    offset=DEFAULTS["algebraic"]["offset"]) -> np.ndarray:
    """γ_k = offset + Σ_t (n_t^p + wL·l_t^p).

    Parameters
    ----------
    functions : ACEBasis or sequence of BasisFunction
        Anything with ``factors`` per function (or a basis with ``.functions``).
    p : float, default 4
        Exponent (the config's default; ACEpotentials' is 2, a weaker prior).
    wL : float, default 1
        Weight of the angular degree relative to the radial index.
    offset : float, default 0
        Added to every γ_k; ACEpotentials uses 1 (its ``1 .+ scaling``), the
        paper's formula uses 0.

    Returns
    -------
    ndarray, shape (n_functions,), all > 0
    """
    _check_params(p=p, wL=wL, offset=offset)
    if p <= 0 or wL < 0 or offset < 0:
        raise ValueError(f"algebraic prior needs p > 0, wL >= 0, offset >= 0; got p={p}, wL={wL}, offset={offset}")
    return _prior(functions, lambda n, l: offset + np.sum(n ** p + wL * l ** p), "algebraic")


def exponential_prior(functions, a_l=DEFAULTS["exponential"]["a_l"],
                      a_n=DEFAULTS["exponential"]["a_n"]) -> np.ndarray:
    """γ_k = exp(a_l Σ_t l_t + a_n Σ_t n_t) (ACEpotentials ``al``, ``an``)."""
    _check_params(a_l=a_l, a_n=a_n)
    return _prior(functions, lambda n, l: np.exp(a_l * l.sum() + a_n * n.sum()), "exponential")


def gaussian_prior(functions, sigma_l=DEFAULTS["gaussian"]["sigma_l"],
                   sigma_n=DEFAULTS["gaussian"]["sigma_n"]) -> np.ndarray:
    """γ_k = exp(σ_l Σ_t l_t² + σ_n Σ_t n_t²) (ACEpotentials ``σl``, ``σn``)."""
    _check_params(sigma_l=sigma_l, sigma_n=sigma_n)
    return _prior(functions, lambda n, l: np.exp(sigma_l * (l ** 2).sum() + sigma_n * (n ** 2).sum()),
                  "gaussian")


def smoothness_prior(functions, kind="algebraic", **params) -> np.ndarray:
    """The diagonal smoothness prior Γ of ``functions``, by name.

    Parameters
    ----------
    functions : ACEBasis or sequence of BasisFunction
        The basis (or its ``functions``).
    kind : {"algebraic", "exponential", "gaussian"}
        :func:`algebraic_prior`, :func:`exponential_prior` or :func:`gaussian_prior`.
    **params
        That prior's parameters (the config's ``prior`` keys other than ``kind``).

    Returns
    -------
    ndarray, shape (n_functions,)
        γ_k > 0 per function: the solvers' ``prior`` (columns scaled by 1 / γ_k).

    Raises
    ------
    ValueError
        For an unknown ``kind`` or parameter, naming the allowed ones.
    """
    makers = {"algebraic": algebraic_prior, "exponential": exponential_prior,
              "gaussian": gaussian_prior}
    if kind not in makers:
        raise ValueError(f"unknown prior {kind!r}; allowed: {', '.join(PRIORS)}")
    try:
        return makers[kind](functions, **params)
    except TypeError as exc:
        raise ValueError(f"bad parameters for the {kind} prior: {exc}") from exc


def _prior(functions, cost, name) -> np.ndarray:
    functions = getattr(functions, "functions", functions)
    gamma = np.empty(len(functions))
    for k, f in enumerate(functions):
        factors = getattr(f, "factors", None)
        if factors is None:
            raise ValueError(f"basis function {k} has no 'factors' (got {f!r})")
        if len(factors) == 0:
            gamma[k] = 1.0
            continue
        nl = np.array([(t[1], t[2]) for t in factors], dtype=float)
        with np.errstate(over="ignore"):
            gamma[k] = cost(nl[:, 0], nl[:, 1])
    if not np.all(np.isfinite(gamma)) or np.any(gamma <= 0):
        k = int(np.argmax(~np.isfinite(gamma) | (gamma <= 0)))
        raise ValueError(f"{name} prior is not a finite positive number for function {k} "
                         f"(factors {functions[k].factors}): γ = {gamma[k]}; "
                         f"use smaller parameters")
    return gamma


def _check_params(**params):
    for key, value in params.items():
        if not np.isfinite(float(value)):
            raise ValueError(f"prior parameter {key} must be finite, got {value}")

"""Solvers: a least-squares problem in, a :class:`~acefit.solvers.path.Path` out.

Sparse paths: :func:`asp` (BPDual homotopy), :func:`omp`, :func:`lars_lasso`,
:func:`cd_lasso`, :func:`ista`. Dense and Bayesian solvers: :func:`qr`,
:func:`rrqr`, :func:`tsvd`, :func:`blr`, :func:`ard`.
"""

from acefit.solvers.asp import asp
from acefit.solvers.greedy import omp
from acefit.solvers.lasso import cd_lasso, lars_lasso
from acefit.solvers.path import Path, Step

__all__ = ["Path", "Step", "asp", "cd_lasso", "lars_lasso", "omp"]

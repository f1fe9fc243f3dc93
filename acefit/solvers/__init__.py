"""Solvers: a least-squares problem in, a :class:`~acefit.solvers.path.Path` out.

Sparse paths: :func:`asp` (BPDual homotopy), :func:`omp`, :func:`lars_lasso`,
:func:`cd_lasso`, :func:`ista` (ISTA/FISTA, squared or Huber loss). Dense and
Bayesian solvers: :func:`qr`, :func:`rrqr`, :func:`tsvd`, :func:`blr`, :func:`ard`.
Every solver takes (A, y) or a :class:`~acefit.lsq.LeastSquaresProblem`, an
optional ``prior``, ``validation`` and ``on_step``, and returns a Path.
"""

from acefit.solvers.asp import asp
from acefit.solvers.bayes import ard, blr
from acefit.solvers.dense import qr, rrqr, tsvd
from acefit.solvers.greedy import omp
from acefit.solvers.ista import ista
from acefit.solvers.lasso import cd_lasso, lars_lasso
from acefit.solvers.path import Path, Step

__all__ = ["Path", "Step", "ard", "asp", "blr", "cd_lasso", "ista", "lars_lasso", "omp",
           "qr", "rrqr", "tsvd"]

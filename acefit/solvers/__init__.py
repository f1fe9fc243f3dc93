"""Solvers: a least-squares problem in, a :class:`~acefit.solvers.path.Path` out.

Sparse paths: :func:`asp` (BPDual homotopy), :func:`omp`, :func:`lars_lasso`,
:func:`cd_lasso`, :func:`ista` (ISTA/FISTA, squared or Huber loss), :func:`ard_path`
(ARD one precision at a time). Dense and
Bayesian solvers: :func:`qr`, :func:`rrqr`, :func:`tsvd`, :func:`blr`, :func:`ard`.
Learning curves for the dense ones: :func:`apriori_path` (nested sub-bases in
a-priori order) and :func:`ard_sweep` (ARD at target sparsities). De-biasing of
any path: :func:`debias_path`.
Every solver takes (A, y) or a :class:`~acefit.lsq.LeastSquaresProblem`, an
optional ``prior``, ``validation`` and ``on_step``, and returns a Path.

``validation=(A_val, y_val)`` gives every step its ``val_error``, the RMS residual of
those rows, which the selection minimises (:func:`acefit.selection.select`). The rows must
be weighted as the training rows are, (W A_val, W y_val): for an assembled system
``system.val.weighted()`` (:meth:`acefit.design.DesignBlock.weighted`), as ``acefit fit``
passes them. Unweighted rows, ``(system.val.A, system.val.y)``, are taken as any arrays are,
but score another loss: the energies without their weight w_E/√N against the forces'.
"""

from acefit.solvers.apriori import apriori_path, ard_sweep
from acefit.solvers.asp import asp
from acefit.solvers.bayes import ard, blr
from acefit.solvers.debias import debias_path
from acefit.solvers.dense import qr, rrqr, tsvd
from acefit.solvers.greedy import omp
from acefit.solvers.ista import ista
from acefit.solvers.lasso import cd_lasso, lars_lasso
from acefit.solvers.path import Path, Step
from acefit.solvers.sequential_ard import ard_path

__all__ = ["Path", "Step", "apriori_path", "ard", "ard_path", "ard_sweep", "asp", "blr", "cd_lasso",
           "debias_path", "ista", "lars_lasso", "omp", "qr", "rrqr", "tsvd"]

"""acefit: fast, sparse, linear Atomic Cluster Expansion potentials.

Data flows one way::

    atoms -> basis values -> weighted rows -> reduced system -> solver path
          -> checkpoints -> potential -> calculator / export

The public names below are imported lazily so that ``import acefit`` stays
cheap (numba kernels compile only when a basis is first evaluated).
"""

from importlib import import_module

__version__ = "0.3.0"

_LAZY = {
    "ACEBasis": "acefit.basis",
    "Potential": "acefit.potential",
    "ACECalculator": "acefit.calculator",
    "LeastSquaresProblem": "acefit.lsq",
}

__all__ = ["ACECalculator", "ACEBasis", "LeastSquaresProblem", "Potential", "__version__"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'acefit' has no attribute {name!r}")

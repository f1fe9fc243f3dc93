"""The ACE basis: specification, radial and angular parts, couplings, evaluation.

The names below are imported lazily, as ``acefit``'s are, so that a module that needs only
``basis.neighbours`` or ``basis.spec`` (the command line's parser through ``acefit.data``)
does not load numba and the kernels.
"""

from importlib import import_module

_LAZY = {
    "ACEBasis": "acefit.basis.ace",
    "BasisValues": "acefit.basis.ace",
    "BasisFunction": "acefit.basis.spec",
}

__all__ = ["ACEBasis", "BasisFunction", "BasisValues"]


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'acefit.basis' has no attribute {name!r}")

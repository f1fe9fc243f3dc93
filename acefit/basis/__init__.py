"""The ACE basis: specification, radial and angular parts, couplings, evaluation.

The names below are imported lazily, as ``acefit``'s are, so that a module that needs only
``basis.neighbours`` or ``basis.spec`` (the command line's parser through ``acefit.data``)
does not load numba and the kernels.
"""

import pkgutil
from importlib import import_module

_LAZY = {
    "ACEBasis": "acefit.basis.ace",
    "BasisValues": "acefit.basis.ace",
    "BasisFunction": "acefit.basis.spec",
}

__all__ = ["ACEBasis", "BasisFunction", "BasisValues"]


_SUBMODULES = tuple(m.name for m in pkgutil.iter_modules(__path__))


def __getattr__(name):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    if name in _SUBMODULES:    # ``acefit.basis.ace`` as an attribute, as before the lazy names
        return import_module(f"acefit.basis.{name}")
    raise AttributeError(f"module 'acefit.basis' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | set(_SUBMODULES))

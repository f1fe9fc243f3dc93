"""Which basis functions exist: admissible (z, n, l) multisets and the pair basis.

A many-body ACE function of correlation order nu is a product of nu one-particle
functions phi_{z n l m}(r_ij) = [Z_j = z] R_n(r_ij) Y_lm(r_ij/|r_ij|), summed over
neighbours and coupled over m to an O(3) invariant.  Its *factors* are the multiset
{(z_t, n_t, l_t)}; it is admitted when

    sum_t (n_t + wL * l_t) <= D_nu,   n_t >= 1,  l_t >= 0,  sum_t l_t even,

plus the optional caps ``l_t <= maxl`` and ``n_t <= maxn``, and the polygon
condition ``max_t l_t <= sum of the other l_t`` (necessary for an invariant
coupling to exist; the exact count of couplings comes from
:func:`acefit.basis.coupling.coupling_coefficients`).

Factors are stored in canonical order, sorted by ``(l, z, n)``, so that the
angular degrees are non-decreasing as the coupling routine expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

from acefit.elements import atomic_number

__all__ = ["BasisFunction", "BasisSpec", "basis_summary", "enumerate_multisets",
           "function_record", "parse_elements", "within_totaldegree"]

MAX_ORDER = 4


@dataclass(frozen=True)
class BasisFunction:
    """Metadata of one basis function.

    Attributes
    ----------
    centre : int
        Atomic number of the centre atom (the function is zero on other sites).
    order : int
        Correlation order nu (number of factors); 1 for pair functions, 0 for the
        one-body function.
    factors : tuple of (int, int, int)
        ``(z, n, l)`` per factor: neighbour atomic number, radial index (from 1)
        and angular degree, sorted by ``(l, z, n)``; empty for the one-body function.
    kind : str
        ``"pair"`` (order-1 radial function with the repulsive envelope), ``"ace"``
        (many-body invariant) or ``"onebody"`` (the nu = 0 term of the expansion:
        B(i) = 1 on every site of the centre species, a per-atom energy fitted with
        the rest).
    coupling : int
        Index q of the invariant coupling among those of the same factors
        (0 unless the multiset admits several couplings, possible for nu = 4).
    """

    centre: int
    order: int
    factors: tuple
    kind: str
    coupling: int = 0

    @property
    def label(self):
        """Size-table label: ``"one-body"``, ``"pair"`` or ``"nu=<order>"``."""
        return {"onebody": "one-body", "pair": "pair"}.get(self.kind, f"nu={self.order}")

    def to_list(self):
        """``[centre, order, factors, kind, coupling]``, as JSON keeps a function
        (``basis_functions.json``, potential files); :meth:`from_list` reads it back."""
        return [self.centre, self.order, [list(f) for f in self.factors], self.kind,
                self.coupling]

    @classmethod
    def from_list(cls, item):
        """The function of a :meth:`to_list` record."""
        centre, order, factors, kind, coupling = item
        return cls(int(centre), int(order), tuple(tuple(int(x) for x in f) for f in factors),
                   str(kind), int(coupling))


def parse_elements(elements):
    """Atomic numbers (sorted, unique) from symbols or numbers; ValueError otherwise."""
    if isinstance(elements, (str, Integral)):
        elements = [elements]
    out = [atomic_number(e) for e in elements]
    if not out:
        raise ValueError("elements must name at least one element")
    if len(set(out)) != len(out):
        raise ValueError(f"elements contains duplicates: {list(elements)}")
    return tuple(sorted(out))


def _degrees(totaldegree, order):
    if isinstance(totaldegree, Real) and not isinstance(totaldegree, bool):
        degrees = [float(totaldegree)] * order
    else:
        degrees = [float(d) for d in totaldegree]
        if len(degrees) != order:
            raise ValueError(f"totaldegree has {len(degrees)} entries but order is {order}; "
                             "give a scalar or one degree per correlation order")
    if any(not np.isfinite(d) or d < 1 for d in degrees):
        raise ValueError(f"totaldegree must be finite and >= 1, got {degrees}")
    return tuple(degrees)


@dataclass(frozen=True)
class BasisSpec:
    """Admissibility rules of the basis (see module docstring).

    Parameters
    ----------
    elements : tuple of int
        Atomic numbers, sorted.
    order : int
        Maximal correlation order, 1..4.
    degrees : tuple of float
        Total degree D_nu per order nu = 1..order.
    wL : float
        Weight of the angular degree in the total degree.
    maxl, maxn : int or None
        Optional caps on l and n.
    pair_degree : int
        Number of pair radial functions per (centre, neighbour) species pair
        (0: no pair basis).
    """

    elements: tuple
    order: int = 3
    degrees: tuple = (20.0, 16.0, 12.0)
    wL: float = 1.5
    maxl: int | None = None
    maxn: int | None = None
    pair_degree: int = 0

    @classmethod
    def create(cls, elements, order=3, totaldegree=(20, 16, 12), wL=1.5, maxl=None,
               maxn=None, pair_degree=None):
        """Validated spec; ``pair_degree=None`` means ``int(D_1)``."""
        elements = parse_elements(elements)
        if not isinstance(order, Integral) or not 1 <= order <= MAX_ORDER:
            raise ValueError(f"order must be an integer in 1..{MAX_ORDER}, got {order!r}")
        degrees = _degrees(totaldegree, int(order))
        if not (isinstance(wL, Real) and np.isfinite(wL) and wL > 0):
            raise ValueError(f"wL must be a positive number, got {wL!r}")
        for name, cap, low in (("maxl", maxl, 0), ("maxn", maxn, 1)):
            if cap is not None and (not isinstance(cap, Integral) or cap < low):
                raise ValueError(f"{name} must be None or an integer >= {low}, got {cap!r}")
        if pair_degree is None:
            pair_degree = int(degrees[0])
        if not isinstance(pair_degree, Integral) or pair_degree < 0:
            raise ValueError(f"pair_degree must be an integer >= 0, got {pair_degree!r}")
        return cls(elements, int(order), degrees, float(wL),
                   None if maxl is None else int(maxl), None if maxn is None else int(maxn),
                   int(pair_degree))

    def one_particle(self, budget):
        """All (z, n, l) with n + wL*l <= budget within the caps, sorted by cost."""
        out = []
        lmax = int(np.floor((budget - 1) / self.wL + 1e-9)) if budget >= 1 else -1
        if self.maxl is not None:
            lmax = min(lmax, self.maxl)
        for l in range(lmax + 1):
            nmax = int(np.floor(budget - self.wL * l + 1e-9))
            if self.maxn is not None:
                nmax = min(nmax, self.maxn)
            for n in range(1, nmax + 1):
                for z in self.elements:
                    out.append((z, n, l))
        out.sort(key=lambda f: (f[1] + self.wL * f[2], f))
        return out


def within_totaldegree(functions, totaldegree, *, wL: float) -> np.ndarray:
    """Which functions a basis of smaller total degrees would have: a boolean mask.

    A many-body function of order nu is kept when nu <= len(totaldegree) and
    sum_t (n_t + wL l_t) <= totaldegree[nu - 1]; a pair function when n <= int(D_1)
    (the default ``pair_degree``); one-body functions always. Within a basis whose
    degrees are at least these (and with the same wL and caps), the kept functions
    are exactly those of the basis built with ``totaldegree``, because admission
    depends on a function's own factors only.

    Parameters
    ----------
    functions : sequence of BasisFunction
    totaldegree : float or sequence of float
        One number (every order of the functions) or D_nu for nu = 1..len.
    wL : float
        The basis' weight of the angular degree.
    """
    functions = list(functions)
    if isinstance(totaldegree, Real) and not isinstance(totaldegree, bool):
        top = max((f.order for f in functions if f.kind == "ace"), default=1)
        degrees = _degrees(totaldegree, top)
    else:
        degrees = _degrees(totaldegree, len(totaldegree))
    tol = 1e-9
    keep = np.zeros(len(functions), dtype=bool)
    for i, f in enumerate(functions):
        if f.kind == "onebody":
            keep[i] = True
        elif f.kind == "pair":
            keep[i] = f.factors[0][1] <= int(degrees[0])
        else:
            cost = sum(n + wL * l for _, n, l in f.factors)
            keep[i] = f.order <= len(degrees) and cost <= degrees[f.order - 1] + tol
    return keep


def enumerate_multisets(spec: BasisSpec):
    """Candidate many-body multisets, per order, independent of the centre species.

    Returns
    -------
    dict
        ``{nu: [factors, ...]}`` with ``factors`` a tuple of ``(z, n, l)`` sorted by
        ``(l, z, n)``; parity and polygon conditions applied.
    """
    wL = spec.wL
    tol = 1e-9
    result = {}
    for nu in range(1, spec.order + 1):
        budget = spec.degrees[nu - 1]
        # each other factor costs at least 1 (n >= 1, l >= 0)
        ones = spec.one_particle(budget - (nu - 1))
        costs = [f[1] + wL * f[2] for f in ones]
        found = []

        def extend(start, chosen, spent):
            remaining = nu - len(chosen)
            if remaining == 0:
                ls = [f[2] for f in chosen]
                if sum(ls) % 2 == 0 and 2 * max(ls) <= sum(ls):
                    found.append(tuple(sorted(chosen, key=lambda f: (f[2], f[0], f[1]))))
                return
            for idx in range(start, len(ones)):
                # sorted by cost: the remaining factors cost at least costs[idx] each
                if spent + remaining * costs[idx] > budget + tol:
                    break
                chosen.append(ones[idx])
                extend(idx, chosen, spent + costs[idx])
                chosen.pop()

        extend(0, [], 0.0)
        found.sort(key=lambda fs: (sum(f[1] + wL * f[2] for f in fs), fs))
        result[nu] = found
    return result


def function_record(f) -> list:
    """One entry of ``basis_functions.json``: centre, order, factors (z, n, l), kind, coupling."""
    if hasattr(f, "to_list"):
        return f.to_list()
    return [int(f.centre), int(f.order), [list(map(int, t)) for t in f.factors], str(f.kind), 0]


def basis_summary(basis) -> str:
    """How many functions of each kind a basis has, as text for the log and report."""
    kinds = {}
    for f in basis.functions:
        kinds[f.label] = kinds.get(f.label, 0) + 1
    return ", ".join(f"{k}: {v}" for k, v in sorted(kinds.items()))

"""Basis specification: admissible multisets, calibration counts, pair basis, validation."""

import numpy as np
import pytest

from acefit.basis import ACEBasis
from acefit.basis.spec import BasisSpec, enumerate_multisets


def _by_order(basis):
    counts = {}
    for f in basis.functions:
        if f.kind == "ace":
            counts[f.order] = counts.get(f.order, 0) + 1
    return counts


@pytest.mark.parametrize("degree, by_order, total", [
    ([20, 16, 12], {1: 20, 2: 147, 3: 132}, 299),
    ([25, 21, 17], {1: 25, 2: 314, 3: 677}, 1016),
    (25, {1: 25, 2: 514, 3: 4753}, 5292),
])
def test_calibration_counts(degree, by_order, total):
    # ACEpotentials.jl: about 300 / 1000 / 5000 for one element, order 3, wL = 1.5
    basis = ACEBasis(["Mo"], order=3, totaldegree=degree, pair_degree=0)
    assert _by_order(basis) == by_order
    assert len(basis) == total


def test_pair_basis_adds_degree_per_unordered_species_pair():
    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 5], pair_degree=4)
    pair = [f for f in basis.functions if f.kind == "pair"]
    assert len(pair) == 4 * 3
    # Cu-Au bonds once, on the lighter centre
    assert {(f.centre, f.factors[0][0]) for f in pair} == {(29, 29), (29, 79), (79, 79)}
    assert len(basis) == len(pair) + sum(_by_order(basis).values())
    counts = basis.counts()
    assert counts[("Cu", "pair")] == 8 and counts[("Au", "pair")] == 4
    assert "pair" in basis.describe() and "Au" in basis.describe()


def test_order_one_functions_of_two_species_are_made_once():
    kw = dict(order=3, totaldegree=[8, 6, 5], pair_degree=3)
    basis = ACEBasis(["Ni", "Al", "Cu"], **kw)
    mirrored = ACEBasis(["Ni", "Al", "Cu"], mirrored=True, **kw)
    ones = [(f.kind, f.centre, f.factors[0][0], f.factors[0][1]) for f in basis.functions
            if f.order == 1]
    assert all(z >= zc for _, zc, z, _ in ones)
    # every (kind, unordered pair, n) once; three elements, six unordered pairs
    assert len(ones) == len(set(ones)) == 6 * (3 + 8)
    extra = [f for f in mirrored.functions if f not in basis.functions]
    assert len(extra) == 3 * (3 + 8)              # the other orientation of the 3 mixed pairs
    assert all(f.order == 1 and f.factors[0][0] < f.centre for f in extra)
    assert [f for f in mirrored.functions if f in basis.functions] == basis.functions


def test_admissibility_rules_hold_for_every_function():
    spec = BasisSpec.create(["Si", "O"], order=4, totaldegree=[9, 8, 7, 6], maxl=3, maxn=5)
    for nu, multisets in enumerate_multisets(spec).items():
        assert len(set(multisets)) == len(multisets)
        for factors in multisets:
            assert len(factors) == nu
            ls = [l for _, _, l in factors]
            assert sum(n + 1.5 * l for _, n, l in factors) <= spec.degrees[nu - 1] + 1e-12
            assert sum(ls) % 2 == 0 and 2 * max(ls) <= sum(ls)
            assert max(ls) <= 3 and max(n for _, n, _ in factors) <= 5
            assert min(n for _, n, _ in factors) >= 1
            assert list(factors) == sorted(factors, key=lambda f: (f[2], f[0], f[1]))


def test_order_four_has_several_couplings_for_some_multisets():
    basis = ACEBasis(["W"], order=4, totaldegree=[4, 4, 4, 13], maxl=2, pair_degree=0)
    fours = [f for f in basis.functions if f.order == 4]
    assert fours and max(f.coupling for f in fours) >= 1
    # each (factors, q) once
    keys = [(f.factors, f.coupling) for f in basis.functions]
    assert len(set(keys)) == len(keys)


def test_multi_element_coefficients_per_centre():
    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[5, 5], pair_degree=0)
    cu = [f for f in basis.functions if f.centre == 29]
    au = [f for f in basis.functions if f.centre == 79]
    # the same many-body functions on each centre; the order-1 ones of the Cu-Au bond on
    # the lighter centre (Cu) only
    assert [f.factors for f in cu if f.order > 1] == [f.factors for f in au if f.order > 1]
    assert sorted(f.factors for f in cu if f.order == 1) == [((z, n, 0),) for z in (29, 79)
                                                            for n in range(1, 6)]
    assert sorted(f.factors for f in au if f.order == 1) == [((79, n, 0),) for n in range(1, 6)]
    # neighbour species of factors span both elements
    assert {z for f in cu for z, _, _ in f.factors} == {29, 79}
    assert {z for f in au for z, _, _ in f.factors} == {29, 79}


@pytest.mark.parametrize("kwargs, match", [
    (dict(elements=["Xx"]), "unknown element"),
    (dict(elements=["Cu"], order=5), "order"),
    (dict(elements=["Cu"], order=3, totaldegree=[5, 4]), "totaldegree"),
    (dict(elements=["Cu"], wL=-1), "wL"),
    (dict(elements=["Cu"], maxl=-1), "maxl"),
    (dict(elements=["Cu"], pair_degree=-2), "pair_degree"),
    (dict(elements=["Cu", "Cu"]), "duplicates"),
    (dict(elements=[]), "at least one"),
])
def test_bad_spec_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ACEBasis(**kwargs)


def test_scalar_degree_equals_list():
    a = ACEBasis(["Fe"], order=2, totaldegree=7)
    b = ACEBasis(["Fe"], order=2, totaldegree=[7, 7])
    assert a.functions == b.functions
    assert np.array_equal(a.spec.degrees, b.spec.degrees)


@pytest.mark.parametrize("small, kwargs", [
    ([20, 16, 12], {"order": 3, "totaldegree": 25}),
    ([25, 21, 17], {"order": 3, "totaldegree": 25}),
    ([8, 6], {"order": 4, "totaldegree": [10, 9, 8, 7], "pair_degree": 12}),   # orders 3, 4 out
    (7, {"order": 3, "totaldegree": [10, 9, 8], "one_body": True}),
])
def test_within_totaldegree_is_the_smaller_basis(small, kwargs):
    from acefit.basis.spec import within_totaldegree

    big = ACEBasis(["Cu", "Au"] if kwargs["order"] == 4 else ["Mo"], **kwargs)
    keep = within_totaldegree(big.functions, small, wL=big.spec.wL)
    order = len(small) if isinstance(small, list) else kwargs["order"]
    expected = ACEBasis(big.elements, order=order, totaldegree=small,
                        one_body=kwargs.get("one_body", False),
                        pair_degree=None if "pair_degree" not in kwargs
                        else min(kwargs["pair_degree"], int(np.atleast_1d(small)[0])))
    kept = [f for f, k in zip(big.functions, keep) if k]
    assert 0 < len(kept) < len(big)
    assert sorted(kept, key=repr) == sorted(expected.functions, key=repr)


def test_within_totaldegree_rejects_bad_degrees():
    from acefit.basis.spec import within_totaldegree

    basis = ACEBasis(["Mo"], order=2, totaldegree=[6, 5])
    with pytest.raises(ValueError, match="totaldegree"):
        within_totaldegree(basis.functions, [6, 0.5], wL=basis.spec.wL)


def test_basis_package_names_and_submodules_resolve_lazily():
    """acefit.basis imports its names on first use (acefit --help loads no numba), yet offers
    them, and its submodules as attributes, as an eager package does."""
    import subprocess
    import sys

    code = ("import acefit.basis as b, sys\n"
            "assert 'acefit.basis.kernels' not in sys.modules\n"
            "assert {'ACEBasis', 'BasisValues', 'BasisFunction', 'ace', 'spec'} <= set(dir(b))\n"
            "assert b.ace.ACEBasis is b.ACEBasis and b.spec.BasisFunction is b.BasisFunction\n"
            "assert b.neighbours.neighbour_pairs\n")
    subprocess.run([sys.executable, "-c", code], check=True)

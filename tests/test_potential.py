"""Potential: pruning, contracted evaluation, save/load round trip, file errors."""

import json

import h5py
import numpy as np
import pytest
from ase.build import bulk

from acefit import ACEBasis, Potential
from acefit.potential import FORMAT_VERSION, PotentialFileError


@pytest.fixture(scope="module")
def basis():
    return ACEBasis(["Cu", "Au"], order=3, totaldegree=[7, 6, 5], rcut=4.5)


@pytest.fixture(scope="module")
def coef(basis):
    rng = np.random.default_rng(3)
    c = rng.normal(size=len(basis))
    c[rng.random(len(basis)) < 0.6] = 0.0
    return c


@pytest.fixture
def atoms():
    a = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((2, 2, 1))
    a.numbers[[1, 5, 6]] = 79
    a.rattle(0.08, seed=4)
    return a


def test_prunes_zero_coefficients_and_keeps_the_model(basis, coef, atoms):
    pot = Potential(basis, coef, e0={"Cu": -0.5, 79: -1.25})
    nz = np.flatnonzero(coef)
    assert len(pot) == len(pot.basis) == len(nz) < len(basis)
    assert pot.metadata["active_indices"] == nz.tolist()
    assert pot.metadata["n_basis_full"] == len(basis)
    assert np.all(pot.coefficients != 0)
    e, energies, forces, stress = pot.energy_forces_stress(atoms)
    full = basis.evaluate(atoms)
    e0 = np.where(atoms.numbers == 29, -0.5, -1.25)
    np.testing.assert_allclose(e, full.energy @ coef + e0.sum(), rtol=1e-12)
    np.testing.assert_allclose(energies, full.site_values @ coef + e0, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(forces, full.forces @ coef, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stress, full.stress @ coef, rtol=1e-10, atol=1e-13)


def test_save_load_round_trip(tmp_path, basis, coef, atoms):
    meta = {"solver": "omp", "step": 12, "config_hash": "abc123",
            "provenance": {"data": ["train.xyz"]}}
    pot = Potential(basis, coef, e0={"Cu": -0.5, "Au": -1.25}, metadata=meta)
    path = pot.save(tmp_path / "model.h5")
    back = Potential.load(path)
    assert back.basis.to_dict() == pot.basis.to_dict()
    np.testing.assert_array_equal(back.coefficients, pot.coefficients)
    assert back.e0 == pot.e0
    assert back.metadata == pot.metadata
    assert back.energy_forces_stress(atoms)[0] == pot.energy_forces_stress(atoms)[0]
    assert [p.name for p in tmp_path.iterdir()] == ["model.h5"]  # no temporary left
    with h5py.File(path) as f:  # the header is plain JSON
        header = json.loads(f["header"][()])
    # version 1 while there is no core repulsion: older readers keep reading these files
    assert header["format_version"] == 1 < FORMAT_VERSION
    assert header["n_functions"] == len(pot)


def test_unfitted_elements_are_kept_in_the_file_and_warned_of(tmp_path, basis, coef, atoms):
    """Walk-through H, finding M2: a basis element the fit had no data of (its functions
    zero) gave a potential that "predicted" it silently: E0 only, forces 0."""
    import warnings

    from acefit import ACECalculator
    from acefit.potential import UnfittedElementWarning

    pot = Potential(basis, coef, e0={"Cu": -0.5, "Au": -1.25}, unfitted_elements=["Au"])
    back = Potential.load(pot.save(tmp_path / "model.h5"))
    assert back.unfitted_elements == ["Au"]
    with h5py.File(tmp_path / "model.h5") as f:
        assert json.loads(f["header"][()])["unfitted_elements"] == ["Au"]
    calc = ACECalculator(back)
    atoms.calc = calc
    with pytest.warns(UnfittedElementWarning, match="atoms of Au: the potential's fit had "
                                                    "no training data of Au"):
        atoms.get_potential_energy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        atoms.rattle(0.01, seed=1)
        atoms.get_forces()                          # once per element
        cu = bulk("Cu", "fcc", a=3.65, cubic=True)
        cu.calc = ACECalculator(back)
        cu.get_potential_energy()                   # no atom of Au: no warning
        # a potential without them writes no key: files as before, and read as before
        plain = Potential(basis, coef).save(tmp_path / "plain.h5")
        with h5py.File(plain) as f:
            assert "unfitted_elements" not in json.loads(f["header"][()])
        assert Potential.load(plain).unfitted_elements == []
        atoms.calc = ACECalculator(plain)
        atoms.get_potential_energy()
    with pytest.raises(ValueError, match=r"unfitted_elements: found \['Pd'\]; allowed: "
                                         r"symbols of the basis' elements \['Cu', 'Au'\]"):
        Potential(basis, coef, unfitted_elements=["Pd"])
    with pytest.raises(ValueError, match=r"unfitted_elements: found the string 'Au'; "
                                         r"allowed: a list .* e.g. \['Au'\]"):
        Potential(basis, coef, unfitted_elements="Au")
    # a committee's spread (acefit query's score) warns too: those atoms add nothing to it
    draws = coef * (1 + 1e-3 * np.random.default_rng(0).standard_normal((4, len(coef))))
    with_committee = Potential(basis, coef, committee=draws, unfitted_elements=["Au"])
    with pytest.warns(UnfittedElementWarning, match="add nothing to a committee's spread"):
        with_committee.committee_spread(atoms, forces=True)
    with h5py.File(tmp_path / "model.h5", "r+") as f:
        _rewrite_header(f, lambda h: h.update(unfitted_elements="Au"))
    with pytest.raises(PotentialFileError, match="model.h5'?: invalid header: unfitted"):
        Potential.load(tmp_path / "model.h5")


def test_load_errors_name_the_file(tmp_path, basis, coef):
    pot = Potential(basis, coef)
    good = pot.save(tmp_path / "good.h5")
    data = good.read_bytes()

    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(PotentialFileError, match="truncated.h5"):
        Potential.load(truncated)

    garbage = tmp_path / "garbage.h5"
    garbage.write_text("not a potential\n")
    with pytest.raises(PotentialFileError, match="garbage.h5.*not a readable"):
        Potential.load(garbage)

    newer = tmp_path / "newer.h5"
    newer.write_bytes(data)
    with h5py.File(newer, "a") as f:
        f.attrs["format_version"] = FORMAT_VERSION + 1
    with pytest.raises(PotentialFileError, match="newer.h5.*newer than"):
        Potential.load(newer)

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(PotentialFileError, match="other.h5.*not an acefit potential"):
        Potential.load(other)

    tampered = tmp_path / "tampered.h5"
    tampered.write_bytes(data)
    with h5py.File(tampered, "a") as f:
        f["coefficients"][0] += 1.0
    with pytest.raises(PotentialFileError, match="checksum"):
        Potential.load(tampered)

    with pytest.raises(FileNotFoundError, match="missing.h5"):
        Potential.load(tmp_path / "missing.h5")


def _rewrite_header(f, change):
    """Change the header of an open potential file and store its new checksum (as an
    edit by hand or another tool would: only the structure is wrong)."""
    import hashlib

    header = json.loads(f["header"][()])
    change(header)
    text = json.dumps(header)
    del f["header"]
    f["header"] = text
    f.attrs["header_sha256"] = hashlib.sha256(text.encode()).hexdigest()


def _replace(name, value):
    def change(f):
        del f[name]
        if value is None:
            f.create_group(name)
        else:
            f[name] = value
    return change


@pytest.mark.parametrize("damage, message", [
    (_replace("coefficients", None), "'coefficients' is a group; allowed: a vector of floats"),
    (_replace("coefficients", 1.0), "'coefficients' is a 0-dimensional dataset of float64"),
    (_replace("coefficients", "abc"), "'coefficients' is a 0-dimensional dataset of object"),
    (_replace("coefficients", np.ones((2, 3))), "'coefficients' is a 2-dimensional dataset"),
    (_replace("coefficients", np.ones(3, dtype=complex)), "dataset of complex128"),
    (_replace("header", None), "'header' is a group; allowed: JSON text"),
    (_replace("committee", np.ones(4)), "'committee' is a 1-dimensional dataset"),
    (lambda f: f.__delitem__("committee"), "is incomplete: no 'committee' dataset"),
    (lambda f: f.__delitem__("header"), "is incomplete: no 'header' dataset"),
    (lambda f: f.attrs.__setitem__("format_version", "two"),
     "format_version attribute 'two'; allowed: an integer"),
    (lambda f: f.attrs.__setitem__("format_version", np.array([1, 1])),
     "format_version attribute array"),
    (lambda f: _rewrite_header(f, lambda h: h.pop("e0")), "header key 'e0' is missing"),
    (lambda f: _rewrite_header(f, lambda h: h.pop("metadata")),
     "header key 'metadata' is missing"),
    (lambda f: _rewrite_header(f, lambda h: h.update(e0=[1, 2])),
     "header key 'e0' is list [1, 2]; allowed: a mapping"),
    (lambda f: _rewrite_header(f, lambda h: h.update(metadata={"__ndarray__": [1],
                                                               "dtype": "nope"})),
     "the header is not the JSON acefit writes"),
    (lambda f: _rewrite_header(f, lambda h: h.clear()), "header key 'basis' is missing"),
])
def test_load_names_the_file_of_a_damaged_dataset_or_header(tmp_path, basis, coef, damage,
                                                             message):
    """Found by fuzzing: a dataset replaced by a group, of another shape or kind, a
    committee removed, a header without e0 or metadata were a TypeError, KeyError or
    AttributeError naming no file, or (committee removed) loaded without the committee."""
    active = np.flatnonzero(coef)
    members = np.zeros((2, len(coef)))
    members[:, active] = coef[active] * [[0.9], [1.1]]
    path = Potential(basis, coef, committee=members).save(tmp_path / "damaged.h5")
    with h5py.File(path, "a") as f:
        damage(f)
    with pytest.raises(PotentialFileError, match="damaged.h5") as err:
        Potential.load(path)
    assert message in str(err.value)


def test_load_says_what_is_there_when_no_file(tmp_path, basis, coef):
    """Found by fuzzing: a loop of links was 'does not exist', a folder an HDF5 error of
    several lines."""
    (tmp_path / "folder.h5").mkdir()
    loop = tmp_path / "loop.h5"
    loop.symlink_to(loop)
    with pytest.raises(FileNotFoundError, match="folder.h5 is a folder; allowed: a regular"):
        Potential.load(tmp_path / "folder.h5")
    with pytest.raises(FileNotFoundError, match="loop.h5 is a loop of symbolic links"):
        Potential.load(loop)


def test_failed_save_leaves_old_file(tmp_path, basis, coef, monkeypatch):
    pot = Potential(basis, coef)
    path = pot.save(tmp_path / "model.h5")
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(h5py.Group, "create_dataset", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        Potential(basis, coef * 2).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["model.h5"]


def test_bad_inputs(basis):
    with pytest.raises(ValueError, match="shape"):
        Potential(basis, np.ones(3))
    with pytest.raises(ValueError, match="NaN"):
        Potential(basis, np.full(len(basis), np.nan))
    with pytest.raises(ValueError, match="E0 keys"):
        Potential(basis, np.ones(len(basis)), e0={"Xx": 1.0})
    with pytest.raises(ValueError, match="finite"):
        Potential(basis, np.ones(len(basis)), e0={"Cu": float("inf")})


def test_from_step_records_provenance_and_composes_subsets(tmp_path, basis, coef):
    from acefit.solvers.path import Step

    active = np.flatnonzero(coef)[::2]
    c = np.zeros(len(basis))
    c[active] = coef[active]
    step = Step(active=active, coef=c, lam=0.25, train_error=0.01)
    pot = Potential.from_step(basis, step, {"Cu": -1.0}, solver="omp", step_index=7,
                              config_hash="h")
    assert pot.metadata["solver"] == "omp" and pot.metadata["step"] == 7
    assert pot.metadata["lam"] == 0.25 and pot.metadata["n_active"] == len(active)
    assert pot.metadata["active_indices"] == active.tolist()
    # pruning a loaded (already pruned) potential again keeps indices in the full basis
    half = pot.coefficients.copy()
    half[::2] = 0.0
    again = Potential(pot.basis, half, metadata=pot.metadata)
    assert again.metadata["active_indices"] == active[1::2].tolist()
    assert again.metadata["n_basis_full"] == len(basis)


def test_public_names_resolve():
    import acefit

    for name in acefit.__all__:
        assert getattr(acefit, name) is not None
    assert set(acefit.__all__) == set(acefit._LAZY) | {"__version__"}

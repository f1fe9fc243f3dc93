"""Weighted rows, E0 and weights (acefit.design), checked against direct computations."""

import re

import ase.io
import numpy as np
import pytest
from _toy_basis import PairBasis, emt_configs

from acefit import ACEBasis
from acefit.data import LabelledConfig, load_configurations
from acefit.design import (DesignBlock, ReferenceEnergies, config_rows, design_block,
                           fit_reference_energies, reference_energies, resolve_weights,
                           row_count)

VOIGT = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    path = tmp_path_factory.mktemp("d") / "emt.xyz"
    ase.io.write(path, emt_configs(8), format="extxyz")
    return load_configurations(path)


@pytest.fixture(scope="module")
def basis():
    return PairBasis(K=3)


E0 = ReferenceEnergies(values={29: -0.3, 79: -0.1}, method="given")


def test_resolve_weights_defaults_and_overrides():
    t = resolve_weights(None)
    assert t == {"default": {"E": 30.0, "F": 1.0, "V": 1.0}}
    t = resolve_weights({"default": {"F": 2}, "alloy": {"E": 5}})
    assert t["alloy"] == {"E": 5.0, "F": 2.0, "V": 1.0}
    assert t["default"] == {"E": 30.0, "F": 2.0, "V": 1.0}
    assert resolve_weights(t) == t
    with pytest.raises(ValueError, match=r"weights\['alloy'\] has unknown key 'X'"):
        resolve_weights({"alloy": {"X": 1}})
    with pytest.raises(ValueError, match=r"weights\['alloy'\]\['E'\] must be finite and >= 0"):
        resolve_weights({"alloy": {"E": -1}})


def test_reference_energies_given_and_fitted(configs):
    given = reference_energies({"Cu": -1.0, 79: -2.0}, configs, ["Cu", "Au"])
    assert given.method == "given" and given.values == {29: -1.0, 79: -2.0}
    assert given.total([29, 29, 79]) == pytest.approx(-4.0)
    with pytest.raises(ValueError, match="missing element"):
        reference_energies({"Cu": -1.0}, configs, ["Cu", "Au"])
    # synthetic energies exactly linear in composition: LS recovers E0
    fake = [LabelledConfig(atoms=c.atoms, energy=float(np.sum(np.where(c.atoms.numbers == 29, -3.5, -1.25))))
            for c in configs]
    fitted = fit_reference_energies(fake, ["Cu", "Au"])
    assert fitted.method == "least-squares"
    assert fitted.values[29] == pytest.approx(-3.5) and fitted.values[79] == pytest.approx(-1.25)
    assert reference_energies("auto", fake, ["Au", "Cu"]).values == fitted.values
    # the config's word (data.e0: fit) is Python's too
    assert reference_energies("fit", fake, ["Au", "Cu"]).values == fitted.values
    # the config's other word (data.e0: zero) is not: the error shows the dict that is
    with pytest.raises(ValueError, match=re.escape(
            "e0: found 'zero'; allowed: a dict {element: E0 in eV} with a value for every "
            "basis element ({'Cu': 0.0, 'Au': 0.0} for zero reference energies, the "
            "config's data.e0: zero), or None, 'fit' or 'auto' (fitted by least squares)")):
        reference_energies("zero", fake, ["Au", "Cu"])
    with pytest.raises(ValueError, match="no reference energy E0 for element"):
        fitted.total([29, 26])


def test_rows_of_one_configuration(configs, basis):
    cfg = configs[3]  # 8 atoms, CuAu, config_type "alloy"
    table = resolve_weights({"alloy": {"E": 7.0, "F": 0.5, "V": 3.0}})
    values = basis.evaluate(cfg.atoms)
    block = config_rows(values, cfg, table, E0, config_index=11)
    N, V = cfg.n_atoms, cfg.atoms.get_volume()
    assert len(block) == 1 + 3 * N + 6
    # energy row
    e0_sum = sum(E0.values[z] for z in cfg.atoms.numbers)
    np.testing.assert_allclose(block.A[0], values.energy)
    assert block.y[0] == pytest.approx(cfg.energy - e0_sum)
    assert block.w[0] == pytest.approx(7.0 / np.sqrt(N))
    # force rows: atom-major, x y z
    for r in range(3 * N):
        i, a = divmod(r, 3)
        np.testing.assert_allclose(block.A[1 + r], values.forces[i, a])
        assert block.y[1 + r] == cfg.forces[i, a]
        assert (block.atom[1 + r], block.component[1 + r]) == (i, a)
    np.testing.assert_allclose(block.w[1:1 + 3 * N], 0.5)
    # virial rows: -V * stress, Voigt order
    for s, (a, b) in enumerate(VOIGT):
        r = 1 + 3 * N + s
        np.testing.assert_allclose(block.A[r], -V * values.stress[s])
        assert block.y[r] == pytest.approx(-V * cfg.stress[s])
        assert block.w[r] == pytest.approx(3.0 / np.sqrt(N))
    assert list(block.kind) == ["E"] + ["F"] * 3 * N + ["V"] * 6
    assert set(block.config) == {11} and set(block.n_atoms) == {N}
    assert set(block.config_type) == {"alloy"}


def test_weighted_loss_equals_direct_sum(configs, basis):
    """||W(y − Ac)||² equals the loss written out per configuration with model predictions."""
    table = resolve_weights({"pure": {"E": 12.0, "F": 2.0, "V": 0.5}})
    block = design_block(basis, configs, table, E0)
    coef = np.random.default_rng(1).standard_normal(len(basis))
    WA, Wy = block.weighted()
    loss = float(np.sum((Wy - WA @ coef) ** 2))
    direct = 0.0
    for cfg in configs:
        v = basis.evaluate(cfg.atoms)
        w = table.get(cfg.config_type, table["default"])
        N, vol = cfg.n_atoms, cfg.atoms.get_volume()
        e_model = v.energy @ coef + sum(E0.values[z] for z in cfg.atoms.numbers)
        f_model = v.forces @ coef
        virial_model = -vol * (v.stress @ coef)
        virial_ref = -vol * cfg.stress
        direct += (w["E"] / np.sqrt(N)) ** 2 * (e_model - cfg.energy) ** 2
        direct += w["F"] ** 2 * np.sum((f_model - cfg.forces) ** 2)
        direct += (w["V"] / np.sqrt(N)) ** 2 * np.sum((virial_model - virial_ref) ** 2)
    assert loss == pytest.approx(direct, rel=1e-12)


def test_stress_rows_recover_the_generating_model(configs, basis):
    """Labels made by the basis itself: fitting stress rows alone recovers the coefficients."""
    coef = np.random.default_rng(2).standard_normal(len(basis))
    synthetic = []
    for cfg in configs:
        v = basis.evaluate(cfg.atoms)
        synthetic.append(LabelledConfig(atoms=cfg.atoms, stress=v.stress @ coef, source="synthetic",
                                        index=len(synthetic)))
    block = design_block(basis, synthetic, {"default": {"V": 1.0}}, E0)
    assert set(block.kind) == {"V"}
    sol = np.linalg.lstsq(*block.weighted(), rcond=None)[0]
    np.testing.assert_allclose(sol, coef, rtol=1e-8, atol=1e-8)


def test_per_atom_force_weights_and_missing_labels(configs, basis):
    cfg = configs[0]
    fw = np.arange(1, cfg.n_atoms + 1, dtype=float)
    weighted = LabelledConfig(atoms=cfg.atoms, forces=cfg.forces, force_weights=fw)
    block = design_block(basis, [weighted], {"default": {"F": 2.0}}, E0)
    assert set(block.kind) == {"F"}  # no energy, no stress label: no such rows
    np.testing.assert_allclose(block.w, np.repeat(2.0 * fw, 3))
    assert row_count(weighted) == len(block.y) == 3 * cfg.n_atoms


def test_row_count_is_the_rows_design_block_makes(configs, basis):
    """The count the assembly sizes its kept rows by, and the errors stage its chunks."""
    table = resolve_weights({"default": {"E": 1.0, "F": 1.0, "V": 0.0}})
    block = design_block(basis, configs, table, E0)
    assert sum(row_count(c) for c in configs) == len(block.y)
    for i, cfg in enumerate(configs):
        assert row_count(cfg) == np.count_nonzero(block.config == i)


def test_stress_label_on_cell_without_stress(configs, basis):
    cfg = configs[0]
    atoms = cfg.atoms.copy()
    atoms.pbc = False
    bad = LabelledConfig(atoms=atoms, energy=1.0, stress=np.zeros(6), source="x.xyz", index=4)
    with pytest.raises(ValueError, match=r"x\.xyz, frame 4: the basis gives no stress"):
        design_block(basis, [bad], None, E0)


def test_element_not_in_basis_at_assembly(configs):
    with pytest.raises(ValueError, match=r"frame 1: element\(s\) Au not in the basis"):
        design_block(PairBasis(elements=("Cu",)), configs, None, E0)


def test_block_round_trip_and_select(configs, basis):
    block = design_block(basis, configs[:3], None, E0)
    again = DesignBlock.from_arrays(block.to_arrays())
    for name in ("A", "y", "w", "config", "atom", "component", "n_atoms", "volume"):
        np.testing.assert_array_equal(getattr(again, name), getattr(block, name))
    assert list(again.kind) == list(block.kind)
    assert list(again.config_type) == list(block.config_type)
    forces = block.select(block.kind == "F")
    assert len(forces) == 3 * sum(c.n_atoms for c in configs[:3])


def test_real_ace_basis_stress_rows_recover_the_generating_model(configs):
    ace = ACEBasis(["Cu", "Au"], order=2, totaldegree=4, rcut=4.5)
    coef = np.random.default_rng(5).standard_normal(len(ace))
    synthetic = []
    for cfg in configs:
        v = ace.evaluate(cfg.atoms)
        synthetic.append(LabelledConfig(atoms=cfg.atoms, energy=float(v.energy @ coef) + E0.total(cfg.atoms.numbers),
                                        forces=v.forces @ coef, stress=v.stress @ coef,
                                        config_type=cfg.config_type, index=len(synthetic)))
    WA, Wy = design_block(ace, synthetic, None, E0).weighted()
    # the generating coefficients fit every row exactly (E0, signs and virial form consistent)
    np.testing.assert_allclose(WA @ coef, Wy, rtol=0, atol=1e-9 * np.abs(Wy).max())


def test_design_block_needs_the_training_e0(configs, basis):
    """``e0`` has no default: without it a call fails at once, never with rows of no E0."""
    with pytest.raises(TypeError, match="e0"):
        design_block(basis, configs, None)
    with pytest.raises(ValueError, match="ReferenceEnergies of the training set as e0"):
        design_block(basis, configs, None, {"Cu": 0.0})

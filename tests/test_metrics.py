"""Unweighted errors (acefit.metrics) against direct computation."""

import ase.io
import numpy as np
import pytest
from _toy_basis import PairBasis, emt_configs

from acefit.data import load_configurations
from acefit.design import ReferenceEnergies, design_block
from acefit.metrics import EV_PER_A3_TO_GPA, config_errors, errors, errors_of_predictions

E0 = ReferenceEnergies(values={29: -0.3, 79: -0.1}, method="given")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "emt.xyz"
    ase.io.write(path, emt_configs(6), format="extxyz")
    configs = load_configurations(path)
    basis = PairBasis(K=3)
    coef = np.random.default_rng(4).standard_normal(len(basis)) * 0.1
    return configs, basis, coef


def _direct(configs, basis, coef, select=lambda c: True):
    de, df, ds = [], [], []
    for cfg in configs:
        if not select(cfg):
            continue
        v = basis.evaluate(cfg.atoms)
        e = v.energy @ coef + sum(E0.values[z] for z in cfg.atoms.numbers)
        de.append(1e3 * (e - cfg.energy) / cfg.n_atoms)
        df.extend((v.forces @ coef - cfg.forces).ravel())
        ds.extend(EV_PER_A3_TO_GPA * (v.stress @ coef - cfg.stress))
    return [np.array(x) for x in (de, df, ds)]


def test_errors_match_direct_computation(setup):
    configs, basis, coef = setup
    # weights must not matter: errors are unweighted
    block = design_block(basis, configs, {"default": {"E": 100.0, "F": 3.0, "V": 7.0}}, E0)
    res = errors(block, coef)
    assert res["units"] == {"E": "meV/atom", "F": "eV/Å", "S": "GPa"}
    for scope, select in [("all", lambda c: True)] + [
            (ct, lambda c, ct=ct: c.config_type == ct) for ct in ("alloy", "pure")]:
        stats = res["all"] if scope == "all" else res["by_config_type"][scope]
        de, df, ds = _direct(configs, basis, coef, select)
        for key, d in (("E", de), ("F", df), ("S", ds)):
            assert stats[key]["n"] == d.size
            assert stats[key]["mae"] == pytest.approx(np.mean(np.abs(d)), rel=1e-10)
            assert stats[key]["rmse"] == pytest.approx(np.sqrt(np.mean(d ** 2)), rel=1e-10)
    assert res["all"]["E"]["n"] == len(configs)
    assert config_errors(basis, configs, coef, E0)["all"] == res["all"]


def test_missing_quantities_and_bad_coef(setup):
    configs, basis, coef = setup
    block = design_block(basis, configs, None, E0)
    only_forces = errors(block.select(block.kind == "F"), coef)
    assert only_forces["all"]["E"]["n"] == 0 and np.isnan(only_forces["all"]["E"]["mae"])
    assert only_forces["all"]["F"]["n"] > 0
    with pytest.raises(ValueError, match="coef must have shape"):
        errors(block, coef[:-1])
    with pytest.raises(ValueError, match="NaN or inf"):
        errors(block, np.full_like(coef, np.nan))


def test_many_models_at_once_equal_one_at_a_time(setup):
    configs, basis, _ = setup
    block = design_block(basis, configs, None, E0)
    coefs = np.random.default_rng(5).standard_normal((len(basis), 4)) * 0.1
    coefs[:, 2] = 0.0
    many = errors_of_predictions(block, block.A @ coefs)
    assert len(many) == 4
    for j, res in enumerate(many):
        one = errors(block, coefs[:, j])
        assert res.keys() == one.keys() and res["by_config_type"].keys() == \
            one["by_config_type"].keys()
        for a, b in [(res["all"], one["all"])] + [
                (res["by_config_type"][k], one["by_config_type"][k]) for k in one["by_config_type"]]:
            for q in ("E", "F", "S"):
                assert a[q]["n"] == b[q]["n"]
                assert a[q]["mae"] == pytest.approx(b[q]["mae"], rel=1e-12)
                assert a[q]["rmse"] == pytest.approx(b[q]["rmse"], rel=1e-12)
    with pytest.raises(ValueError, match="predictions must have shape"):
        errors_of_predictions(block, (block.A @ coefs)[:-1])

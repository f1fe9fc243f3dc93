"""Unweighted errors (acefit.metrics) against direct computation."""

import ase.io
import numpy as np
import pytest
from _toy_basis import PairBasis, emt_configs

from acefit.data import load_configurations
from acefit.design import ReferenceEnergies, design_block
from acefit.metrics import (ConfigurationErrors, bootstrap_differences, bootstrap_errors,
                            bootstrap_standard_errors, configuration_errors,
                            element_force_errors, errors, errors_by_element,
                            errors_of_predictions, force_row_numbers, interval_text)

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
        ds.extend(160.21766208 * (v.stress @ coef - cfg.stress))     # eV/Å³ -> GPa
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
    assert errors(design_block(basis, configs, None, E0), coef)["all"] == res["all"]


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


def _boot(block, predictions, **kwargs):
    return bootstrap_errors(configuration_errors(block, predictions), **kwargs)


def _diff(block, predictions, pairs, **kwargs):
    return bootstrap_differences(configuration_errors(block, predictions), pairs, **kwargs)


def _with_residuals(block, residual_of_row):
    """Predictions whose unscaled residual on each row is ``residual_of_row``."""
    return (block.y + residual_of_row)[:, None]


def test_bootstrap_mae_is_the_errors_mae_and_draws_are_shared(setup, monkeypatch):
    configs, basis, _ = setup
    block = design_block(basis, configs, None, E0)
    coefs = np.random.default_rng(6).standard_normal((len(basis), 3)) * 0.1
    pred = block.A @ coefs
    boot = _boot(block, pred, resamples=500)
    for res, b in zip(errors_of_predictions(block, pred), boot):
        for q in ("E", "F", "S"):
            assert b[q]["mae"] == pytest.approx(res["all"][q]["mae"], rel=1e-12)
            assert b[q]["low"] <= b[q]["mae"] <= b[q]["high"] and b[q]["se"] > 0
            assert b[q]["configs"] == len(configs)
    assert _boot(block, pred, resamples=500) == boot           # seeded
    monkeypatch.setattr("acefit.metrics._BOOTSTRAP_CHUNK", 7 * len(configs))  # in chunks
    assert _boot(block, pred, resamples=500) == boot
    assert _boot(block, pred, resamples=500, seed=1) != boot
    # every model on the same draws: a model twice as wrong has exactly twice the spread
    twice = block.y[:, None] + 2.0 * (pred[:, :1] - block.y[:, None])
    one, two = _boot(block, np.hstack([pred[:, :1], twice]), resamples=500)
    for q in ("E", "F", "S"):
        for key in ("mae", "se", "low", "high"):
            assert two[q][key] == pytest.approx(2.0 * one[q][key], rel=1e-9)


def test_bootstrap_se_of_energies_is_that_of_a_mean(setup):
    """One energy per configuration: the bootstrap SE of the MAE is sd(|e|) / sqrt(n)."""
    configs, basis, _ = setup
    block = design_block(basis, configs, None, E0)
    rng = np.random.default_rng(7)
    e = rng.uniform(0.5, 5.0, len(configs))                   # meV/atom, by configuration
    r = np.zeros(len(block.y))
    rows = np.flatnonzero(block.kind == "E")
    r[rows] = e[block.config[rows]] * block.n_atoms[rows] / 1e3 * rng.choice([-1, 1], rows.size)
    (b,) = _boot(block, _with_residuals(block, r), resamples=40000)
    assert b["E"]["mae"] == pytest.approx(e.mean(), rel=1e-12)
    assert b["E"]["se"] == pytest.approx(e.std() / np.sqrt(len(e)), rel=0.03)


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_bootstrap_interval_has_the_coverage_it_is_labelled_with(level):
    """A 95 % interval is 95 %, not 90 %: the resampled MAE of 200 configurations of one
    row each is close to normal, so the percentile interval is the MAE ± z·SE with z the
    normal quantile of the level (1.96 at 95 %; a 90 % interval would give 1.645, a
    width 16 % short, and paired differences that look significant when they are not)."""
    from scipy.stats import norm

    c = 200
    e = np.random.default_rng(11).uniform(0.0, 2.0, (c, 1))
    ones = np.ones(c, dtype=int)
    ce = ConfigurationErrors(np.arange(c), {q: e for q in "EFS"}, {q: ones for q in "EFS"})
    (b,) = bootstrap_errors(ce, resamples=40000, level=level, seed=2)
    half_width = (b["E"]["high"] - b["E"]["low"]) / 2
    assert half_width / b["E"]["se"] == pytest.approx(norm.ppf(0.5 + level / 2), rel=0.03)
    assert b["E"]["mae"] == pytest.approx(e.mean())
    assert b["E"]["low"] < b["E"]["mae"] < b["E"]["high"]


def test_bootstrap_draws_whole_configurations(setup):
    """Forces of one configuration move together: with every component of configuration
    c wrong by c + 1, the spread is that of the per-configuration errors, not the far
    smaller one of independent components; equal errors everywhere have no spread."""
    configs, basis, _ = setup
    block = design_block(basis, configs, None, E0)
    same_size = np.flatnonzero(block.n_atoms == 4)           # five 4-atom configurations
    block = block.select(same_size)
    ids = np.unique(block.config)
    level = {c: i + 1.0 for i, c in enumerate(ids)}
    r = np.array([level[c] for c in block.config])
    (b,) = _boot(block, _with_residuals(block, r), resamples=40000)
    means = np.array(list(level.values()))
    assert b["F"]["mae"] == pytest.approx(means.mean())
    assert b["F"]["se"] == pytest.approx(means.std() / np.sqrt(len(ids)), rel=0.03)
    (flat,) = _boot(block, _with_residuals(block, np.full(len(r), 0.25)),
                               resamples=200)
    assert flat["F"]["se"] == pytest.approx(0.0, abs=1e-15)
    assert flat["F"]["low"] == pytest.approx(0.25) and flat["F"]["high"] == pytest.approx(0.25)


def test_bootstrap_missing_quantity_and_bad_arguments(setup):
    configs, basis, coef = setup
    block = design_block(basis, configs, None, E0)
    only_forces = block.select(block.kind == "F")
    (b,) = _boot(only_forces, (only_forces.A @ coef)[:, None], resamples=50)
    assert b["E"]["configs"] == 0 and np.isnan(b["E"]["mae"]) and np.isnan(b["E"]["se"])
    assert b["F"]["configs"] == len(configs)
    pred = (block.A @ coef)[:, None]
    for kwargs, match in (({"resamples": 1}, "resamples"), ({"resamples": 10.5}, "resamples"),
                          ({"level": 1.0}, "level"), ({"level": 0.0}, "level")):
        with pytest.raises(ValueError, match=match):
            _boot(block, pred, **kwargs)
    with pytest.raises(ValueError, match="predictions must have shape"):
        _boot(block, pred[:-1])


def test_bootstrap_differences_are_paired(setup):
    """A model 10 % worse on every row differs from its original by exactly 10 % of its
    MAE in every draw: the paired spread is a tenth of the model's own, where unpaired
    intervals would overlap almost entirely."""
    configs, basis, coef = setup
    block = design_block(basis, configs, None, E0)
    base = (block.A @ coef)[:, None]
    worse = block.y[:, None] + 1.1 * (base - block.y[:, None])
    pred = np.hstack([base, worse])
    one, _ = _boot(block, pred, resamples=2000)
    diff, same = _diff(block, pred, [(1, 0), (0, 0)], resamples=2000)
    for q in ("E", "F", "S"):
        assert diff[q]["mae"] == pytest.approx(0.1 * one[q]["mae"], rel=1e-9)
        assert diff[q]["se"] == pytest.approx(0.1 * one[q]["se"], rel=1e-9)
        assert diff[q]["low"] > 0
        assert same[q]["mae"] == 0 and same[q]["se"] == 0
    with pytest.raises(ValueError, match="pairs must index the 2 models"):
        _diff(block, pred, [(0, 2)])


def test_configuration_errors_join_models_of_the_same_rows_only(setup):
    configs, basis, _ = setup
    block = design_block(basis, configs, None, E0)
    coefs = np.random.default_rng(8).standard_normal((len(basis), 3)) * 0.1
    together = configuration_errors(block, block.A @ coefs)
    apart = [configuration_errors(block, block.A @ coefs[:, [j]]) for j in range(3)]
    joined = ConfigurationErrors.join(apart)
    for q in ("E", "F", "S"):
        np.testing.assert_allclose(joined.sums[q], together.sums[q], rtol=1e-12)
    for a, b in zip(bootstrap_errors(joined, resamples=300),
                    bootstrap_errors(together, resamples=300), strict=True):
        for q in ("E", "F", "S"):
            assert a[q] == pytest.approx(b[q], rel=1e-10)
    fewer = block.select(block.config != block.config[0])
    with pytest.raises(ValueError, match="different rows cannot be paired"):
        ConfigurationErrors.join([together, configuration_errors(fewer, fewer.A @ coefs)])


def test_standard_errors_alone_are_those_of_the_full_bootstrap(setup):
    configs, basis, _ = setup
    block = design_block(basis, configs, None, E0)
    coefs = np.random.default_rng(9).standard_normal((len(basis), 4)) * 0.1
    per_config = configuration_errors(block, block.A @ coefs)
    se = bootstrap_standard_errors(per_config, resamples=700, seed=3)
    full = bootstrap_errors(per_config, resamples=700, seed=3)
    for q in ("E", "F", "S"):
        np.testing.assert_allclose(se[q], [b[q]["se"] for b in full], rtol=1e-12)
    no_energy = configuration_errors(block.select(block.kind != "E"),
                                     block.select(block.kind != "E").A @ coefs)
    assert np.isnan(bootstrap_standard_errors(no_energy, resamples=50)["E"]).all()


def test_one_configuration_has_no_standard_error(setup):
    """Every draw of one configuration is that one: its SE came out 0 or round-off
    (1e-16), and tables printed "0.71 ± 0.00" for one potential and "1.31" for another
    (session 38). Of one configuration there is none, and the MAE stands alone."""
    configs, basis, _ = setup
    block = design_block(basis, configs, None, E0)
    one = block.select(block.config == block.config[0])
    coefs = np.random.default_rng(10).standard_normal((len(basis), 2)) * 0.1
    per_config = configuration_errors(one, one.A @ coefs)
    for b in bootstrap_errors(per_config, resamples=50):
        for q in ("E", "F", "S"):
            assert b[q]["configs"] == 1 and b[q]["mae"] > 0
            assert np.isnan([b[q]["se"], b[q]["low"], b[q]["high"]]).all()
            assert interval_text(b[q], 2) == f"{b[q]['mae']:.2f}"
    assert all(np.isnan(se).all() for se in bootstrap_standard_errors(per_config,
                                                                      resamples=50).values())
    (d,) = bootstrap_differences(per_config, [(1, 0)], resamples=50)
    assert interval_text(d["E"], 2, signed=True) == f"{d['E']['mae']:+.2f}"
    two = block.select(np.isin(block.config, block.config[:1]) | (block.config == 1))
    (b,) = bootstrap_errors(configuration_errors(two, two.A @ coefs[:, :1]), resamples=50)
    assert b["E"]["configs"] == 2 and b["E"]["se"] > 0
    assert interval_text(b["E"], 2).count("±") == 1
    assert interval_text(b["E"], 2, bounds=False) == f"{b['E']['mae']:.2f} ± {b['E']['se']:.2f}"


def _direct_by_element(configs, basis, coefs):
    """Force errors per element, atom by atom: {z: (k models, components) residuals}."""
    out = {}
    for cfg in configs:
        v = basis.evaluate(cfg.atoms)
        for a, z in enumerate(cfg.atoms.numbers):
            residual = v.forces[a] @ coefs - cfg.forces[a][:, None]      # (3, k)
            out.setdefault(int(z), []).append(residual)
    return {z: np.concatenate(r) for z, r in out.items()}


def test_force_errors_per_element_match_an_atom_by_atom_computation(setup):
    configs, basis, coef = setup
    coefs = np.stack([coef, 0.5 * coef], axis=1)
    block = design_block(basis, configs, None, E0)
    got = errors_by_element(block, block.A @ coefs, configs)
    direct = _direct_by_element(configs, basis, coefs)
    assert sorted(direct) == [29, 79] and len(got) == 2
    for j, by_element in enumerate(got):
        assert list(by_element) == ["Cu", "Au"]       # by atomic number, not by name
        for symbol, z in (("Cu", 29), ("Au", 79)):
            d = direct[z][:, j]
            f = by_element[symbol]["F"]
            assert f["n"] == d.size
            assert f["mae"] == pytest.approx(np.mean(np.abs(d)), rel=1e-10)
            assert f["rmse"] == pytest.approx(np.sqrt(np.mean(d ** 2)), rel=1e-10)
    # the elements together are the total
    total = errors_of_predictions(block, block.A @ coefs)[0]["all"]["F"]
    cu, au = got[0]["Cu"]["F"], got[0]["Au"]["F"]
    assert (cu["mae"] * cu["n"] + au["mae"] * au["n"]) / total["n"] == pytest.approx(
        total["mae"], rel=1e-12)
    # an element asked for without atoms: no rows, NaN; one the rows have is required
    silver = errors_by_element(block, block.A @ coefs, configs, numbers=[29, 47, 79])[0]
    assert list(silver) == ["Cu", "Ag", "Au"] and silver["Ag"]["F"]["n"] == 0
    assert np.isnan(silver["Ag"]["F"]["mae"])
    with pytest.raises(ValueError, match=r"elements \[79\]; allowed: \[29\]"):
        errors_by_element(block, block.A @ coefs, configs, numbers=[29])


def test_force_errors_per_element_add_up_over_blocks_numbered_as_the_whole(setup):
    # the kept training rows come in parts whose config indices number the whole set
    configs, basis, coef = setup
    coefs = coef[:, None]
    whole = design_block(basis, configs, None, E0)
    first = design_block(basis, configs[:3], None, E0)
    rest = design_block(basis, configs[3:], None, E0, first_index=3)
    parts = (element_force_errors(first, first.A @ coefs, configs)
             + element_force_errors(rest, rest.A @ coefs, configs))
    one = element_force_errors(whole, whole.A @ coefs, configs)
    assert parts.numbers == one.numbers == (29, 79)
    np.testing.assert_array_equal(parts.counts, one.counts)
    np.testing.assert_allclose(parts.abs_sums, one.abs_sums, rtol=1e-12)
    np.testing.assert_allclose(parts.square_sums, one.square_sums, rtol=1e-12)
    # the configurations of the parts together: the same bootstrap draws as the whole's
    (together,), (whole,) = parts.stats(resamples=50), one.stats(resamples=50)
    for symbol in ("Cu", "Au"):
        assert together[symbol]["F"] == pytest.approx(whole[symbol]["F"], rel=1e-12)
        assert whole[symbol]["F"]["se"] > 0
    with pytest.raises(ValueError, match="share configurations"):
        parts + parts


def test_rows_of_other_configurations_are_refused(setup):
    # rows looked up in configurations of another order would put errors on other atoms
    configs, basis, coef = setup
    block = design_block(basis, configs, None, E0)
    z = force_row_numbers(block, configs)
    assert np.all(z[block.kind != "F"] == 0)
    forces = block.kind == "F"
    expected = np.concatenate([cfg.atoms.numbers.repeat(3) for cfg in configs])
    np.testing.assert_array_equal(z[forces], expected)
    swapped = [configs[1], configs[0], *configs[2:]]     # alloy and pure: other config_type
    with pytest.raises(ValueError, match="do not match .*emt.xyz.*rows and configurations"):
        force_row_numbers(block, swapped)
    with pytest.raises(ValueError, match="allowed: 0 to 2, the 3 configurations"):
        force_row_numbers(block, configs[:3])

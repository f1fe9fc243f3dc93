"""Committees: posterior draws on an active set, stored with a potential, evaluated by the
calculator and `acefit evaluate`, made and calibrated by the fit and by `acefit export`."""

import json

import h5py
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import PropertyNotImplementedError
from test_cli import EXIT_CONFIG, EXIT_OK, fit, main, small_data, tiny_config  # noqa: F401

from acefit import ACEBasis, Potential
from acefit.calculator import ACECalculator
from acefit.design import DesignBlock
from acefit.lsq import LeastSquaresProblem
from acefit.metrics import committee_calibration, committee_calibration_by_config_type
from acefit.potential import PotentialFileError
from acefit.solvers.bayes import blr, blr_posterior, committee_deviations

K = 6


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(120, 8))
    y = A @ rng.normal(size=8) + 0.3 * rng.normal(size=120)
    return A, y


def test_deviations_are_draws_from_the_blr_posterior(problem):
    A, y = problem
    prior = np.linspace(1.0, 3.0, 8)
    dev, info = committee_deviations(A, y, n_members=20000, prior=prior, seed=1)
    step = blr(A, y, prior=prior).steps[-1]
    assert (info["alpha"], info["beta"]) == (step.info["alpha"], step.info["beta"])
    post = blr_posterior(A, y, alpha=info["alpha"], beta=info["beta"], prior=prior)
    cov = post.cov()
    scale = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(dev.mean(axis=0) / scale, 0.0, atol=0.05)
    np.testing.assert_allclose(np.cov(dev.T) / np.outer(scale, scale),
                               cov / np.outer(scale, scale), atol=0.05)


def test_deviations_of_the_reduced_problem_are_those_of_the_dense_one(problem):
    A, y = problem
    dense, _ = committee_deviations(A, y, n_members=K, seed=3)
    reduced, _ = committee_deviations(LeastSquaresProblem.from_dense(A, y, reduce=True),
                                      n_members=K, seed=3)
    np.testing.assert_allclose(reduced, dense, rtol=1e-6, atol=1e-9)
    again, _ = committee_deviations(A, y, n_members=K, seed=3)
    np.testing.assert_array_equal(again, dense)
    with pytest.raises(ValueError, match="n_members"):
        committee_deviations(A, y, n_members=1)


@pytest.fixture(scope="module")
def basis():
    return ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 5], rcut=4.5)


@pytest.fixture(scope="module")
def model(basis):
    rng = np.random.default_rng(5)
    coef = rng.normal(size=len(basis)) * (rng.random(len(basis)) < 0.5)
    members = (coef + 0.05 * rng.normal(size=(K, len(basis)))) * (coef != 0.0)
    return Potential(basis, coef, e0={"Cu": -0.5, "Au": -1.0}, committee=members,
                     repulsion={"kind": "zbl", "inner": 1.0, "outer": 1.8})


@pytest.fixture
def atoms():
    a = bulk("Cu", "fcc", a=3.65, cubic=True).repeat((2, 1, 1))
    a.numbers[[1, 4]] = 79
    a.rattle(0.1, seed=2)
    return a


def _member(model, k):
    return Potential(model.basis, model.committee[k], e0=model.e0, prune=False,
                     repulsion=model.repulsion)


def test_member_predictions_are_those_of_the_members_as_potentials(model, atoms):
    energy, forces, stress = model.committee_predictions(atoms, forces=True)
    only_energy, none, nothing = model.committee_predictions(atoms)
    assert none is None and nothing is None
    assert energy.shape == (K,) and forces.shape == (K, len(atoms), 3) and stress.shape == (K, 6)
    np.testing.assert_allclose(only_energy, energy, rtol=1e-12)
    fit = model.energy_forces_stress(atoms)
    for spread, members, centre in zip(model.committee_spread(atoms, forces=True),
                                       (energy, forces, stress), (fit[0], fit[2], fit[3])):
        np.testing.assert_allclose(spread, members - centre, rtol=1e-9, atol=1e-12)
    for k in range(K):
        e, _, f, st = _member(model, k).energy_forces_stress(atoms)
        np.testing.assert_allclose(energy[k], e, rtol=1e-10)
        np.testing.assert_allclose(forces[k], f, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(stress[k], st, rtol=1e-9, atol=1e-14)


def test_committee_forces_need_no_design_rows(model, atoms, monkeypatch):
    """The members' forces and stresses are contracted (memory O(K x atoms)), never the
    (atoms, 3, functions) design rows, in the potential and in the calculator."""
    want = model.committee_predictions(atoms, forces=True)

    def no_rows(*args, **kwargs):
        raise AssertionError("design rows built")

    monkeypatch.setattr(type(model.basis), "evaluate", no_rows)
    for got, expected in zip(model.committee_predictions(atoms, forces=True), want):
        np.testing.assert_array_equal(got, expected)
    atoms.calc = ACECalculator(model, committee=True)
    np.testing.assert_array_equal(atoms.calc.get_property("forces_committee", atoms), want[1])


def test_committee_energies_come_from_the_models_own_pass(model, atoms, monkeypatch):
    """The members' energies need the site values summed over the atoms; the model's
    contracted pass finds them, so neither the potential nor the calculator takes a
    second pass of the basis for them."""
    want = model.committee_spread(atoms)[0]

    def second_pass(*args, **kwargs):
        raise AssertionError("site values computed in a pass of their own")

    monkeypatch.setattr(type(model.basis), "site_values", second_pass)
    fit = model.energy_forces_stress(atoms)
    np.testing.assert_allclose(model.committee_predictions(atoms)[0] - fit[0], want,
                               rtol=1e-12, atol=1e-14)
    atoms.calc = ACECalculator(model, committee=True)
    atoms.get_potential_energy()
    np.testing.assert_allclose(atoms.calc.results["energy_committee"] - fit[0], want,
                               rtol=1e-12, atol=1e-14)


def test_committee_scale_widens_each_quantity_on_its_own(model, atoms):
    scale = {"E": 2.0, "F": 3.0, "S": 0.5}
    scaled = Potential(model.basis, model.coefficients, e0=model.e0, prune=False,
                       repulsion=model.repulsion, committee=model.committee,
                       committee_scale=scale)
    fit = model.energy_forces_stress(atoms)
    for got, plain, q in zip(scaled.committee_predictions(atoms, forces=True),
                             model.committee_predictions(atoms, forces=True), "EFS"):
        centre = fit[{"E": 0, "F": 2, "S": 3}[q]]
        np.testing.assert_allclose(got - centre, scale[q] * (plain - centre), rtol=1e-9,
                                   atol=1e-14)
    with pytest.raises(ValueError, match="unknown quantities"):
        Potential(model.basis, model.coefficients, prune=False, committee=model.committee,
                  committee_scale={"V": 1.0})
    with pytest.raises(ValueError, match="positive"):
        Potential(model.basis, model.coefficients, prune=False, committee=model.committee,
                  committee_scale={"E": 0.0})


def test_calculator_gives_the_spread_only_when_asked(model, atoms):
    atoms.calc = ACECalculator(model, committee=True)
    energy = atoms.get_potential_energy()
    res = atoms.calc.results
    assert np.isclose(np.mean(res["energy_committee"]), energy, atol=5 * res["energy_std"])
    assert res["energy_std"] == pytest.approx(np.std(res["energy_committee"], ddof=1))
    assert "forces_std" not in res             # design rows only on request
    forces_std = atoms.calc.get_property("forces_std", atoms)
    members = [_member(model, k).energy_forces_stress(atoms)[2] for k in range(K)]
    np.testing.assert_allclose(forces_std, np.std(members, axis=0, ddof=1), rtol=1e-8,
                               atol=1e-14)
    plain = ACECalculator(model)
    atoms.calc = plain
    atoms.get_potential_energy()
    assert "energy_std" not in plain.results
    with pytest.raises(PropertyNotImplementedError):
        plain.get_property("energy_std", atoms)
    with pytest.raises(ValueError, match="has none; allowed: a potential fitted with "
                                         "export.committee >= 2 .* or made in Python with "
                                         "acefit.committee.posterior_committee"):
        ACECalculator(Potential(model.basis, model.coefficients, prune=False), committee=True)


def test_committee_file_round_trip_and_damage(tmp_path, model, basis, atoms):
    scaled = Potential(model.basis, model.coefficients, prune=False, committee=model.committee,
                       committee_scale={"F": 2.5})
    path = scaled.save(tmp_path / "m.h5")
    back = Potential.load(path)
    assert back.committee_scale == {"E": 1.0, "F": 2.5, "S": 1.0}
    np.testing.assert_array_equal(back.committee, model.committee)
    for got, want in zip(back.committee_predictions(atoms, forces=True),
                         scaled.committee_predictions(atoms, forces=True)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)
    with h5py.File(path, "r+") as f:
        f["committee"][0, 0] += 1.0
    with pytest.raises(PotentialFileError, match="committee checksum"):
        Potential.load(path)
    plain = Potential(basis, np.ones(len(basis))).save(tmp_path / "plain.h5")
    assert Potential.load(plain).committee is None
    with pytest.raises(ValueError, match="no committee"):
        Potential.load(plain).committee_predictions(atoms)


def test_committee_follows_pruning_and_is_checked(basis, model):
    full = np.zeros((K, len(basis)))
    active = np.asarray(model.metadata["active_indices"])
    full[:, active] = model.committee
    coef = np.zeros(len(basis))
    coef[active] = model.coefficients
    pruned = Potential(basis, coef, committee=full)
    np.testing.assert_array_equal(pruned.committee, model.committee)
    outside = full.copy()
    outside[:, np.flatnonzero(coef == 0.0)[0]] = 1.0
    with pytest.raises(ValueError, match="coefficient is zero"):
        Potential(basis, coef, committee=outside)
    with pytest.raises(ValueError, match="K >= 2"):
        Potential(basis, coef, committee=full[:1])
    with pytest.raises(ValueError, match="NaN"):
        Potential(basis, coef, committee=np.where(full != 0, np.nan, 0.0))


def test_calibration_statistics_match_a_direct_computation():
    rng = np.random.default_rng(7)
    n = 40
    kind = np.array(["E"] * 10 + ["F"] * 30)
    block = DesignBlock(A=np.zeros((n, 1)), y=rng.normal(size=n), w=np.ones(n),
                        config=np.repeat(np.arange(10), 4), kind=kind,
                        atom=np.zeros(n, dtype=np.int64), component=np.zeros(n, dtype=np.int64),
                        n_atoms=np.full(n, 4), volume=np.full(n, 50.0),
                        config_type=np.full(n, "bulk"))
    predictions = block.y + rng.normal(size=n)
    members = predictions[:, None] + rng.normal(size=(n, 5)) * rng.uniform(0.5, 2, (n, 1))
    out = committee_calibration(block, predictions, members)
    assert set(out) == {"E", "F"}
    for q, rows, scale in (("E", kind == "E", 1e3 / 4), ("F", kind == "F", 1.0)):
        e = (predictions - block.y)[rows] * scale
        sd = np.std(members[rows], axis=1, ddof=1) * scale
        z = np.abs(e) / sd
        assert out[q]["n"] == rows.sum()
        assert out[q]["rmse"] == pytest.approx(np.sqrt(np.mean(e ** 2)))
        assert out[q]["spread"] == pytest.approx(np.sqrt(np.mean(sd ** 2)))
        assert out[q]["z_rms"] == pytest.approx(np.sqrt(np.mean(z ** 2)))
        assert out[q]["within_2sd"] == pytest.approx(np.mean(z <= 2))
    with pytest.raises(ValueError, match="members"):
        committee_calibration(block, predictions, members[:, :1])


def test_calibration_per_config_type_splits_the_total():
    """Each config_type's statistics are those of its own rows; which rows have a spread
    is decided over all rows, so a config_type whose every SD is rounding is not judged
    against its own median."""
    rng = np.random.default_rng(11)
    n = 60
    kind = np.array((["E"] * 5 + ["F"] * 25) * 2)
    config_type = np.array(["bulk"] * 30 + ["slab"] * 30)
    block = DesignBlock(A=np.zeros((n, 1)), y=rng.normal(size=n), w=np.ones(n),
                        config=np.repeat(np.arange(12), 5), kind=kind,
                        atom=np.zeros(n, dtype=np.int64), component=np.zeros(n, dtype=np.int64),
                        n_atoms=np.full(n, 4), volume=np.full(n, 50.0), config_type=config_type)
    predictions = block.y + rng.normal(size=n)
    width = rng.uniform(0.5, 2, (n, 1))
    width[(config_type == "slab") & (kind == "F")] = 1e-9      # symmetry: rounding only
    members = predictions[:, None] + rng.normal(size=(n, 5)) * width
    total = committee_calibration(block, predictions, members)
    groups = committee_calibration_by_config_type(block, predictions, members)
    assert list(groups) == ["bulk", "slab"]
    for q in ("E", "F"):
        assert sum(g[q]["n"] for g in groups.values()) == total[q]["n"]
        assert (sum(g[q]["without_spread"] for g in groups.values())
                == total[q]["without_spread"])
    assert groups["slab"]["F"]["without_spread"] == 25
    assert np.isnan(groups["slab"]["F"]["z_rms"])
    bulk_rows = config_type == "bulk"
    direct = committee_calibration(block.select(bulk_rows), predictions[bulk_rows],
                                   members[bulk_rows])
    for q in ("E", "F"):
        for key, value in direct[q].items():
            assert groups["bulk"][q][key] == pytest.approx(value), (q, key)


@pytest.fixture(scope="module")
def committee_run(tmp_path_factory, small_data):  # noqa: F811
    folder = tmp_path_factory.mktemp("committee")
    config = tiny_config(folder, small_data, extra=f"export: {{committee: {K}}}\n")
    assert fit(config, folder / "run") == EXIT_OK
    return folder / "run"


def test_fit_stores_a_committee_calibrated_on_the_validation_set(committee_run):
    report = json.loads((committee_run / "report.json").read_text())
    for sel in report["selection"]["selected"]:
        pot = Potential.load(committee_run / "potentials" / f"{sel['label']}_t10.h5")
        record = sel["committee"]
        assert pot.committee.shape == (K, len(pot)) and record["members"] == K
        assert pot.committee_scale == record["scale"] == pot.metadata["committee"]["scale"]
        assert all(s > 1.0 for s in record["scale"].values())   # the posterior alone is narrow
        # each quantity's scale sets the mean squared error / SD of its validation rows to 1
        assert set(record["val"]) == set(record["test"]) == {"E", "F", "S"}
        for q, v in record["val"].items():
            assert v["z_rms"] == pytest.approx(1.0, rel=1e-9), q
        by_type = record["test_by_config_type"]
        for q, v in record["test"].items():
            assert sum(g[q]["n"] for g in by_type.values() if q in g) == v["n"]
    headline = [s for s in report["selection"]["selected"] if s["best"]][-1]
    text = (committee_run / "report.md").read_text()
    assert "The headline potential's per config_type" in text
    # its last column explained once, below the first table (session 38: report.md never
    # said what "rows without spread" counts)
    assert text.count("| rows without spread |") == 2
    assert text.count("Rows without spread: rows whose committee SD is rounding (at most "
                      "1e-6 of the median SD of their quantity)") == 1
    for name in headline["committee"]["test_by_config_type"]:
        assert f"| {headline['label']} ≤ 10, {name} | F |" in text


def test_a_committee_without_validation_data_says_its_spread_is_not_scaled(
        tmp_path, small_data, capsys):  # noqa: F811
    """Walk-through 5 (session 34), M2: without a validation set the committee kept the
    posterior's own spread (scale 1), several times below the errors, while report.md
    said it was scaled to the validation errors, and nothing warned."""
    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 10}"],
                         extra=f"export: {{committee: {K}}}\n")
    config.write_text(config.read_text().replace("{fraction: 0.2, seed: 1}", "{fraction: 0}"))
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    record = json.loads((run / "report.json").read_text())["selection"]["selected"][0][
        "committee"]
    assert set(record["scale"].values()) == {1.0} and "val" not in record
    log = (run / "acefit.log").read_text()
    assert "export.committee: the run has no validation set, so the committee's spread " \
           "is not scaled" in log
    text = (run / "report.md").read_text()
    assert "**not scaled** to the errors: the run has no validation set" in text
    assert "scaled to its validation errors" not in text
    capsys.readouterr()
    assert main(["export", str(run), "--budget", "10", "--committee", "3", "-o",
                 str(tmp_path / "p.h5")]) == EXIT_OK
    assert "committee: 3 members, spread not scaled (the run has no validation set)" in \
        capsys.readouterr().out


def test_export_and_evaluate_use_the_same_committee(committee_run, tmp_path, small_data,  # noqa: F811
                                                    capsys):
    assert main(["export", str(committee_run), "--path", "omp", "--budget", "10",
                 "-o", str(tmp_path / "omp"), "-q", "--no-progress"]) == EXIT_OK
    again = Potential.load(tmp_path / "omp.h5")
    fitted = Potential.load(committee_run / "potentials" / "omp_t10.h5")
    np.testing.assert_array_equal(again.committee, fitted.committee)
    # a .yace holds no committee: the run's is not drawn for it, and one asked for is refused
    from acefit.runs import export_checkpoint

    out = export_checkpoint(committee_run, "omp", budget=10, output=tmp_path / "y",
                            formats=["yace"])
    assert out["committee"] is None and set(out["files"]) == {"yace"}
    with pytest.raises(ValueError, match="only the acefit format"):
        export_checkpoint(committee_run, "omp", budget=10, output=tmp_path / "y",
                          formats=["yace"], committee=4)
    capsys.readouterr()
    assert main(["evaluate", str(committee_run / "potentials" / "omp_t10.h5"), "--data",
                 str(small_data / "test.xyz"), "--no-progress", "--json",
                 str(tmp_path / "ev.json")]) == EXIT_OK
    out = capsys.readouterr().out
    assert "| omp_t10 | F |" in out
    assert "| omp_t10, md | F |" in out and "| omp_t10, surface | E |" in out
    result = json.loads((tmp_path / "ev.json").read_text())
    calibration = result["committee"]["omp_t10"]
    by_type = result["committee_by_config_type"]["omp_t10"]
    assert set(by_type) == {"md", "strain", "surface", "vacancy"}
    assert sum(g["F"]["n"] for g in by_type.values()) == calibration["F"]["n"]
    record = fitted.metadata["committee"]["test"]   # the fit's test rows: the same data
    for q in ("E", "F", "S"):
        for key in ("rmse", "spread", "z_rms", "within_2sd"):
            assert calibration[q][key] == pytest.approx(record[q][key], rel=1e-6), (q, key)


@pytest.mark.parametrize("extra, message", [
    ("export: {committee: 1}\n", "a spread needs two members"),
    ("export: {committee: 4, formats: [yace]}\n", "only the acefit format"),
])
def test_config_rejects_a_committee_it_cannot_make(tmp_path, small_data, capsys,  # noqa: F811
                                                   extra, message):
    config = tiny_config(tmp_path, small_data, extra=extra)
    assert fit(config, tmp_path / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "export.committee" in err and message in err


def test_export_overrides_the_committee_size(committee_run, tmp_path, capsys):
    def export(size, name):
        return main(["export", str(committee_run), "--path", "asp", "--budget", "10",
                     "--committee", size, "-o", str(tmp_path / name), "--no-progress"])

    assert export("0", "none") == EXIT_OK
    assert Potential.load(tmp_path / "none.h5").committee is None
    assert export("3", "three") == EXIT_OK
    assert "committee: 3 members, spread scaled to the validation errors by E " in \
        capsys.readouterr().out
    assert Potential.load(tmp_path / "three.h5").committee.shape[0] == 3
    with pytest.raises(SystemExit) as stop:
        export("1", "one")
    assert stop.value.code == EXIT_CONFIG
    assert "--committee: found '1'; allowed: 0 (none) or an integer >= 2" in \
        capsys.readouterr().err


def test_a_test_set_too_small_for_some_statistics_still_gets_its_report(tmp_path,
                                                                      small_data):  # noqa: F811
    """Two test configurations give no rank correlation of the energies (NaN, null in
    report.json); the report shows '–' there (it had stopped the run with a TypeError)."""
    import ase.io

    data = tmp_path / "data"
    data.mkdir()
    (data / "train.xyz").write_text((small_data / "train.xyz").read_text())
    ase.io.write(data / "test.xyz", ase.io.read(small_data / "test.xyz", ":2"))
    config = tiny_config(tmp_path, data, solvers=["{name: omp, max_active: 10}"],
                         extra="export: {committee: 4}\n")
    assert fit(config, tmp_path / "run") == EXIT_OK
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    (sel,) = report["selection"]["selected"]
    assert sel["committee"]["test"]["E"]["rank_correlation"] is None
    assert "| omp ≤ 10 | E |" in (tmp_path / "run" / "report.md").read_text()
    row = next(line for line in (tmp_path / "run" / "report.md").read_text().splitlines()
               if line.startswith("| omp ≤ 10 | E |"))
    assert row.split(" | ")[7] == "–"


def test_the_spread_grows_away_from_the_training_data(committee_run):
    """The quickstart data are near the EMT lattice constants (Cu 3.6 Å); a crystal
    compressed by 11 % is far from them, and the committee says so."""
    calc = ACECalculator(committee_run / "potential.h5", committee=True)
    spread = {}
    for a in (3.2, 3.6):
        atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(2)
        atoms.rattle(0.02, seed=1)
        atoms.calc = calc
        atoms.get_potential_energy()
        spread[a] = calc.results["energy_std"]
    assert spread[3.2] > 2 * spread[3.6] > 0.0        # 2.8x for this 10-function model


def test_the_zero_model_gets_no_committee(committee_run, tmp_path):
    assert main(["export", str(committee_run), "--path", "omp", "--step", "0",
                 "--format", "acefit", "-o", str(tmp_path / "zero"), "-q",
                 "--no-progress"]) == EXIT_OK
    zero = Potential.load(tmp_path / "zero.h5")
    assert len(zero) == 0 and zero.committee is None and "committee" not in zero.metadata


def test_validate_reports_how_far_md_went_from_the_data(committee_run):
    from acefit.validate import validate

    pot = Potential.load(committee_run / "potential.h5")
    start = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    settings = dict(md_steps=20, nve_steps=0, check_every=10, properties=False,
                    progress=False, temperatures=[300], timesteps=[1.0])
    (run,) = validate(pot, [start], settings).md
    energies, _, _ = pot.committee_predictions(start)
    at_start = 1e3 * np.std(energies, ddof=1) / len(start)      # the first check
    assert run["max_energy_sd_meV_atom"] >= at_start * (1 - 1e-12) > 0
    assert run["max_force_sd_eV_A"] > 0      # zero by symmetry at the start, not in MD
    report = validate(pot, [start], settings)
    assert "max E SD (meV/atom) | max F SD (eV/Å) |" in report.to_markdown()
    # the force SD is the force deviation of active learning: per atom, the root of the
    # summed variances of its components over the members; the largest atom's
    from acefit.query import committee_deviation

    rattled = start.copy()
    rattled.rattle(0.05, seed=3)
    _, forces, _ = pot.committee_predictions(rattled, forces=True)
    per_atom = np.sqrt(np.var(forces, axis=0, ddof=1).sum(axis=1))
    energy_sd, force_sd = committee_deviation(rattled, pot)
    assert force_sd == pytest.approx(per_atom.max(), rel=1e-9)
    energies, _, _ = pot.committee_predictions(rattled)
    assert energy_sd == pytest.approx(1e3 * np.std(energies, ddof=1) / len(rattled), rel=1e-9)
    plain = Potential(pot.basis, pot.coefficients, e0=pot.e0, prune=False,
                      repulsion=pot.repulsion)
    (run,) = validate(plain, [start], settings).md
    assert "max_energy_sd_meV_atom" not in run and "max_force_sd_eV_A" not in run


def test_rows_that_symmetry_zeroes_do_not_decide_the_calibration():
    """A force component zero by symmetry in every member (SD at rounding) with a noisy
    label would make error / SD astronomical; it is left out, and counted."""
    from acefit.metrics import rows_with_spread

    n = 12
    block = DesignBlock(A=np.zeros((n, 1)), y=np.zeros(n), w=np.ones(n),
                        config=np.zeros(n, dtype=np.int64), kind=np.full(n, "F"),
                        atom=np.zeros(n, dtype=np.int64), component=np.zeros(n, dtype=np.int64),
                        n_atoms=np.full(n, 4), volume=np.full(n, 50.0),
                        config_type=np.full(n, "bulk"))
    spread = np.tile([-1.0, 1.0], (n, 1)) * 0.1
    spread[0] = [0.0, 1e-17]                       # the symmetry zero
    predictions = np.full(n, 0.1)
    predictions[0] = 0.05                          # its label noise
    out = committee_calibration(block, predictions, predictions[:, None] + spread)["F"]
    assert out["without_spread"] == 1 and out["n"] == n
    assert out["z_rms"] == pytest.approx(0.1 / np.std([-0.1, 0.1], ddof=1))
    assert rows_with_spread(block.kind, np.std(spread, axis=1, ddof=1)).tolist() == \
        [False] + [True] * (n - 1)


def test_a_committee_on_every_column_uses_the_system_as_it_is(problem):
    """A full-basis checkpoint (every coefficient nonzero) needs no re-triangularised
    sub-problem; its members are the posterior draws of the whole system."""
    from types import SimpleNamespace

    from acefit.committee import posterior_committee

    A, y = problem
    system = SimpleNamespace(train=LeastSquaresProblem.from_dense(A, y, reduce=True),
                             val=None, test=None)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    members, record = posterior_committee(coef, system, None, 5)
    deviations, _ = committee_deviations(system.train, n_members=5, seed=0)
    np.testing.assert_allclose(members, coef + deviations, rtol=1e-12)
    assert record["scale"] == {"E": 1.0, "F": 1.0, "S": 1.0}     # no validation set
    assert posterior_committee(np.zeros_like(coef), system, None, 5) == (None, None)


def test_bench_scaling_compares_the_rows_with_the_contraction(capsys):
    """scripts/bench_scaling.py committee: both ways agree to rounding in its table."""
    from _scripts import load_script

    load_script("bench_scaling").main(["committee", "--members", "2", "--cells", "1",
                                       "--random", "40"])
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| 2 |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].split("|")[1:-1]]
    assert cells[1] == "2" and float(cells[-1]) < 1e-12

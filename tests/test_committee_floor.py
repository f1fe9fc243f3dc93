"""scripts/committee_floor.py: a scale and a floor under a committee's spread."""

import json

import numpy as np
import pytest
from _scripts import load_script
from test_cli import fitted_run, small_data  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def floor():
    return load_script("committee_floor")


def _errors(scale, floor_value, n=40000, seed=0):
    rng = np.random.default_rng(seed)
    sd = rng.uniform(0.01, 1.0, n)
    return rng.normal(size=n) * np.sqrt((scale * sd) ** 2 + floor_value ** 2), sd


def test_scale_and_floor_are_the_maximum_likelihood_ones(floor):
    error, sd = _errors(3.0, 0.2)
    s, f = floor.scale_and_floor(error, sd)
    assert s == pytest.approx(3.0, rel=0.03) and f == pytest.approx(0.2, rel=0.05)

    def nll(a, b):
        v = (a * sd) ** 2 + b ** 2
        return np.sum(np.log(v) + error ** 2 / v)

    best = nll(s, f)
    for da, db in ((1.01, 1), (0.99, 1), (1, 1.05), (1, 0.95)):
        assert nll(s * da, f * db) > best
    # against the scale alone (its maximum-likelihood value), a real floor gains a lot
    alone = np.sqrt(np.mean((error / sd) ** 2))
    gain = floor.log_likelihood_gain(error, sd, alone, s, f)
    assert gain == pytest.approx(0.5 * (nll(alone, 0.0) - best))
    assert gain > 0.5 * np.log(len(error))


def test_without_a_floor_in_the_data_the_floor_is_small(floor):
    error, sd = _errors(2.0, 0.0, seed=1)
    s, f = floor.scale_and_floor(error, sd)
    assert s == pytest.approx(2.0, rel=0.03)
    assert f < 0.02 * np.sqrt(np.mean(error ** 2))
    alone = np.sqrt(np.mean((error / sd) ** 2))
    assert -1e-6 < floor.log_likelihood_gain(error, sd, alone, s, f) < 0.5 * np.log(len(error))
    # rows the model fits exactly do not send the likelihood to infinity
    s2, f2 = floor.scale_and_floor(np.append(error, np.zeros(50)), np.append(sd, np.full(50, 1e-12)))
    assert np.isfinite(s2) and np.isfinite(f2) and s2 == pytest.approx(s, rel=0.05)
    assert floor.scale_and_floor(np.zeros(5), np.ones(5)) == (0.0, 0.0)


def test_the_run_table_has_every_selected_checkpoint(floor, tmp_path_factory, small_data,  # noqa: F811
                                                    capsys):
    run = fitted_run(tmp_path_factory, small_data, ["{name: omp, max_active: 20}"])
    assert floor.main([str(run), "--members", "8"]) == 0
    out = capsys.readouterr().out.splitlines()
    report = json.loads((run / "report.json").read_text())
    selected = report["selection"]["selected"]
    rows = [line for line in out if line.startswith("| omp ")]
    assert len(rows) == 3 * len(selected)
    # the scale in use is the one the fit would store (committee.committee_scales)
    from acefit.fit_settings import prior_scale
    from acefit.pipeline import assemble_system
    from acefit.run_folder import cache_dir_of
    from acefit.runs import open_run, run_basis

    opened = open_run(run)
    basis = run_basis(opened)
    system = assemble_system(opened.cfg, opened.data(), basis,
                             cache_dir_of(opened.cfg, opened.directory), progress=False)
    coef = opened.paths["omp"].steps[selected[0]["step"]].coef
    cells, record = floor.checkpoint_rows(coef, system, prior_scale(opened.cfg, basis), 8)
    table = floor.floor_table(cells, record)
    assert [e["quantity"] for e in table] == ["E", "F", "S"]
    for e in table:
        z_in_use = record["test"][e["quantity"]]
        assert e["test_in_use"][0] == pytest.approx(z_in_use["z_rms"], rel=1e-9)
        assert e["test_in_use"][1] == pytest.approx(z_in_use["within_2sd"], rel=1e-9)
        assert e["scale_with_floor"] > 0 and e["floor"] >= 0

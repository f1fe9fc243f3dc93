"""ista's Huber loss from the config: keys checked at the boundary, the path run on the
dense weighted training rows (the reduced system mixes the rows), end to end."""

import json

import numpy as np
import pytest
from test_cli import EXIT_CONFIG, EXIT_OK, QUICKSTART, fit, tiny_config

from acefit.config import load_config

ISTA = "{name: ista, max_active: 6, n_lams: 10, prior: false"


@pytest.fixture(scope="module")
def outlier_data(tmp_path_factory):
    """A quarter of the quickstart training set, one of whose energies is 20 eV off."""
    import ase.io
    from ase.calculators.singlepoint import SinglePointCalculator

    folder = tmp_path_factory.mktemp("outlier")
    frames = ase.io.read(QUICKSTART / "train.xyz", ":")[::4]
    bad = frames[3]
    results = dict(bad.calc.results)
    results["energy"] += 20.0
    bad.calc = SinglePointCalculator(bad, **results)
    ase.io.write(folder / "train.xyz", frames)
    ase.io.write(folder / "test.xyz", ase.io.read(QUICKSTART / "test.xyz", ":")[::3])
    return folder


def _paths(tmp_path, data, solvers, extra=""):
    from acefit.checkpoints import read_paths

    config = tiny_config(tmp_path, data, solvers=solvers, extra=extra)
    assert fit(config, tmp_path / "run") == EXIT_OK
    return read_paths(tmp_path / "run" / "paths.h5", require_complete=True)


def test_a_huber_path_resists_an_outlier_and_is_least_squares_for_a_huge_delta(tmp_path,
                                                                               outlier_data):
    paths = _paths(tmp_path, outlier_data, [
        f"{ISTA}}}",
        f"{ISTA}, label: huber, loss: huber, delta: 0.5}}",
        f"{ISTA}, label: huge, loss: huber, delta: 1.0e+12}}"])
    ls, huber, huge = paths["ista"], paths["huber"], paths["huge"]
    assert huber.params["acefit"]["config"]["loss"] == "huber"
    # delta beyond every residual: the Huber loss is least squares, on the same λ grid
    assert len(huge) == len(ls)
    compared = 0
    for a, b in zip(ls.steps, huge.steps, strict=True):
        assert a.lam == pytest.approx(b.lam, rel=1e-9)
        if a.info["converged"] and b.info["converged"]:   # least squares' may be exact
            compared += 1
            assert b.info["objective"] == pytest.approx(a.info["objective"], rel=1e-6)
            if not a.info.get("exact"):
                np.testing.assert_allclose(b.coef, a.coef, rtol=1e-5,
                                           atol=1e-7 * np.abs(a.coef).max())
    assert compared >= len(ls) // 2
    # a small delta: the outlier's pull is capped, so the path differs, and its λ_max too
    assert huber.steps[0].lam < 0.99 * ls.steps[0].lam
    assert not np.allclose(huber.steps[-1].coef, ls.steps[-1].coef, rtol=1e-2)
    log = (tmp_path / "run" / "acefit.log").read_text()
    assert log.count("dense training rows for the Huber loss") == 1     # read once, used twice


def test_huber_rows_evaluated_again_without_the_kept_rows(tmp_path, outlier_data):
    """Rows not kept in the cache (output.train_rows_gib 0, or a cache entry made
    without them) are evaluated again; the path is the same."""
    solver = [f"{ISTA}, loss: huber, delta: 0.5}}"]
    kept = _paths(tmp_path / "a", outlier_data, solver)["ista"]
    extra = "output: {train_rows_gib: 1.0e-9}\n"     # nothing kept, and too little for Huber
    config = tiny_config(tmp_path / "b", outlier_data, solvers=solver, extra=extra)
    assert fit(config, tmp_path / "b" / "run") == EXIT_CONFIG
    # a cache entry without the rows, then a run that would keep them: evaluated again
    config = tiny_config(tmp_path / "c", outlier_data, solvers=["{name: omp, max_active: 3}"],
                         extra="output: {train_rows_gib: 0.0}\n")
    assert fit(config, tmp_path / "c" / "run") == EXIT_OK
    config = tiny_config(tmp_path / "c", outlier_data, solvers=solver, name="huber.yaml")
    assert fit(config, tmp_path / "c" / "run", "--force") == EXIT_OK
    log = (tmp_path / "c" / "run" / "acefit.log").read_text()
    assert "dense training rows for the Huber loss" in log and "evaluated again in" in log
    from acefit.checkpoints import read_paths

    again = read_paths(tmp_path / "c" / "run" / "paths.h5", require_complete=True)["ista"]
    assert [s.n_active for s in again.steps] == [s.n_active for s in kept.steps]
    for a, b in zip(kept.steps, again.steps, strict=True):
        np.testing.assert_allclose(b.coef, a.coef, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("solver, key, words", [
    ("{name: ista, loss: huber}", "solvers[0].delta",
     "found null with solvers[0].loss: 'huber', which needs it; allowed: a number > 0"),
    ("{name: ista, delta: 0.5}", "solvers[0].delta",
     "found 0.5 (number) with solvers[0].loss: 'least_squares', which ignores it; "
     "allowed: solvers[0].loss: 'huber', or leave `delta` out"),
    ("{name: ista, loss: huber, delta: 0}", "solvers[0].delta", "allowed: "),
    ("{name: ista, loss: absolute}", "solvers[0].loss", "'least_squares', 'huber'"),
    ("{name: cd, loss: huber, delta: 1}", "solvers[0]", "loss"),
])
def test_huber_keys_are_checked_at_the_boundary(tmp_path, outlier_data, solver, key, words):
    from acefit.config import ConfigError

    config = tiny_config(tmp_path, outlier_data, solvers=[solver])
    with pytest.raises(ConfigError) as err:
        load_config(config)
    text = str(err.value)
    assert key in text and words in text, text


def test_huber_rows_beyond_train_rows_gib_stop_the_fit_before_assembly(tmp_path, outlier_data,
                                                                       capsys):
    config = tiny_config(tmp_path, outlier_data, extra="output: {train_rows_gib: 1.0e-6}\n",
                         solvers=[f"{ISTA}, loss: huber, delta: 0.5}}"])
    assert fit(config, tmp_path / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "solvers[0].loss" in err and "found 'huber', which fits the" in err
    assert "above output.train_rows_gib = 1e-06; allowed: output.train_rows_gib of at least" \
        in err
    state = json.loads((tmp_path / "run" / "run.json").read_text())
    assert state["status"] == "invalid" and not (tmp_path / "run" / "cache").exists()

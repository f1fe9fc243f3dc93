"""scripts/zuo_benchmark.py: its tables, from results made up here (no Zuo data needed)."""

import pytest
from _scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("zuo_benchmark")


def _entry(mae, se, low, high):
    return {"mae": mae, "se": se, "low": low, "high": high, "configs": 23}


def _results(bench, with_intervals=True):
    row = {"label": "x", "method": "omp", "step": 1, "n_active": 10, "val_loss": 0.1,
           "E": 2.5, "F": 0.09}
    res = {"budgets": {size: {s: dict(row, label=s) for s in bench.TABLE_SOLVERS}
                       for size in bench.SIZES},
           "any": {}, "subbases": {"rrqr": {"0": dict(row, label="rrqr"),
                                            "1": dict(row, label="rrqr")}}}
    if with_intervals:
        inner = {s: {"E": _entry(2.5, 0.6, 1.4, 3.9), "F": _entry(0.09, 0.016, 0.06, 0.12)}
                 for s in bench.TABLE_SOLVERS}
        # the ARD energy interval holds its published large value (2.381), not the small one
        inner["ard"]["E"] = _entry(2.5, 0.3, 2.0, 3.0)
        inner["asp-omp"] = {"E": _entry(-0.15, 0.22, -0.6, 0.3),
                            "F": _entry(-0.0005, 0.0009, -0.002, 0.001)}
        res["intervals"] = {size: inner for size in bench.SIZES}
        res["intervals_resamples"] = 10000
    return {"Mo": res}


def test_resolution_table_names_the_published_values_outside_our_intervals(bench):
    text = bench.markdown(_results(bench), quick=False)
    assert "10000 draws of the test configurations" in text
    # ARD E [2.0, 3.0]: not 3.945 (small), but 2.381 (large); F [0.06, 0.12]: not 0.123
    # (RRQR small) nor 0.138 (ARD small); every other published value is inside
    assert ("Published values outside our interval: Mo small ARD E, Mo small RRQR F, "
            "Mo small ARD F.") in text
    assert "ASP − OMP, the same draws, Mo small -0.15 ± 0.22 meV/atom, -0.0005 ± 0.0009 eV/Å" \
        in text
    rows = [line for line in text.splitlines() if line.startswith("| Mo | small |")]
    assert len(rows) == 1                                  # the resolution row has no "(t=…)"
    assert rows[0].split(" | ")[3] == "±0.60 [1.40, 3.90]"     # ASP E
    assert rows[0].split(" | ")[7] == "±0.0160 [0.0600, 0.1200]"   # ASP F
    # it stands between the main table's legend and the baselines
    assert text.index("Cells: ours / published") < text.index("Test-set resolution") \
        < text.index("Baselines and sizes")


def test_quick_runs_compare_nothing_and_no_intervals_print_no_table(bench):
    quick = bench.markdown(_results(bench), quick=True)
    assert "Test-set resolution" in quick and "Published values outside" not in quick
    plain = bench.markdown(_results(bench, with_intervals=False), quick=False)
    assert "Test-set resolution" not in plain and "| Mo | small (t=300) |" in plain


def test_resamples_option_is_checked(bench, capsys):
    for bad in ("1", "-2"):
        with pytest.raises(SystemExit):
            bench.main(["--resamples", bad, "--out", "/nonexistent/zuo"])
        assert "--resamples must be 0 or at least 2" in capsys.readouterr().err

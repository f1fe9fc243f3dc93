"""scripts/zuo_benchmark.py end to end on a shrunken protocol (--quick), both elements
side by side. Needs the Zuo data next to the project; skipped when it is absent."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _zuo_data import ABSENT
from _zuo_data import ZUO as DATA

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(not (DATA / "Mo" / "train.xyz").is_file()
                                or not (DATA / "Si" / "train.xyz").is_file(),
                                reason=ABSENT)


def test_quick_benchmark_runs_both_elements_side_by_side(tmp_path):
    out = tmp_path / "zuo"
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "zuo_benchmark.py"),
                           "--element", "both", "--quick", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads((out / "zuo_benchmark.json").read_text())
    assert sorted(summary["results"]) == ["Mo", "Si"]
    for element in ("Mo", "Si"):
        timing = summary["timings"][element]
        assert timing["side_by_side"] and timing["wall_s"] > 0
        assert (out / element.lower() / "report.json").is_file()
    table = (out / "zuo_benchmark.md").read_text()
    assert "| Mo | small" in table and "| Si | large" in table
    # the RRQR cells: each of the config's two a-priori sub-bases (shrunk to [8, 6, 4] and
    # [10, 8, 6] by --quick), at its best-validation rtol
    assert "| element | size | RRQR E | ASP E | OMP E | ARD E | RRQR F |" in table
    for element in ("Mo", "Si"):
        rrqr = summary["results"][element]["subbases"]["rrqr"]
        assert sorted(rrqr) == ["0", "1"] and 0 < rrqr["0"]["n_active"] < rrqr["1"]["n_active"]
        row = next(line for line in table.splitlines() if line.startswith(f"| {element} | large"))
        assert row.split(" | ")[-1].split("/")[0] == str(rrqr["1"]["n_active"])
    assert "Whole run (Mo, Si, quick): wall" in table
    # ... and what it ran on: the BLAS kernel decides the last bits of every fit
    assert "Ran on: " in table and " kernel, " in table
    assert summary["environment"]["blas"] and summary["environment"]["packages"]["numpy"]
    # every cell's test MAEs with their bootstrap interval over the test configurations
    assert "Test-set resolution of the cells above" in table
    for element in ("Mo", "Si"):
        for size, cells in summary["results"][element]["intervals"].items():
            assert set(cells) == {"rrqr", "asp", "omp", "ard", "asp-omp"}
            for solver in ("asp", "omp"):
                b = cells[solver]["E"]
                assert b["mae"] == pytest.approx(
                    summary["results"][element]["budgets"][size][solver]["E"])
                assert b["low"] <= b["mae"] <= b["high"] and b["configs"] == 5
    # the exported potential files give the same cells through their own evaluation
    for element in ("Mo", "Si"):
        check = summary["results"][element]["exported"]
        assert check["cells"] == 6 and not check["missing"]
        assert check["max_dE"] < 1e-6 and check["max_dF"] < 1e-8
    assert "The exported potential files" in table
    # the two element runs overlapped in time
    starts = [json.loads((out / e / "run.json").read_text())["started"] for e in ("mo", "si")]
    ends = [json.loads((out / e / "run.json").read_text())["finished"] for e in ("mo", "si")]
    assert max(starts) < min(ends)
    # the Agnesi-radial models go to LAMMPS as spline .yace files that reproduce them
    from _yace_reference import YaceReference
    from ase.io import read

    from acefit import ACECalculator

    pot = out / "mo" / "potentials" / "asp_t60"
    atoms = read(DATA / "Mo" / "test.xyz", index=0)
    ours, theirs = atoms.copy(), atoms.copy()
    ours.calc = ACECalculator(pot.with_suffix(".h5"))
    theirs.calc = YaceReference(pot.with_suffix(".yace"))
    assert all("splinenodalvals" in b for b in theirs.calc.data["bonds"].values())
    # default spline_rtol 1e-6: measured 2e-10 eV/atom and 2e-7 eV/Å here
    np.testing.assert_allclose(theirs.get_potential_energies(), ours.get_potential_energies(),
                               rtol=0, atol=1e-8)
    np.testing.assert_allclose(theirs.get_forces(), ours.get_forces(), rtol=0, atol=2e-6)


def test_joint_constant_script_runs_both_fits_on_the_quick_protocol(tmp_path):
    if shutil.disk_usage(tmp_path).free < 3 * 2 ** 30:
        pytest.skip("needs 3 GiB free on the temporary disk: the script reads the training "
                    "rows its fit keeps, and a fit keeps them only if 2 GiB stay free")
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "zuo_joint_e0.py"),
                           "--element", "Mo", "--quick", "--out", str(tmp_path / "e0")],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert sorted(report) == ["joint", "plain"]
    assert sorted(report["plain"]) == sorted(report["joint"]) == [
        "asp/20", "asp/60", "omp/20", "omp/60"]
    assert all(r["constant_meV"] is None for r in report["plain"].values())
    assert all(np.isfinite(r["constant_meV"]) for r in report["joint"].values())
    # the plain fits are what zuo_benchmark.py --quick selects on the same split
    for r in report["plain"].values():
        assert r["k"] <= 60 and r["test_E"] > 0

"""scripts/zuo_splits.py: the benchmark table over seeded validation splits (no data needed)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "zuo_splits.py"


def _write_run(folder: Path, asp_small_e: float, omp_large_f: float):
    row = lambda e, f: {"E": e, "F": f, "n_active": 300}  # noqa: E731
    results = {"Mo": {"budgets": {
        "small": {"asp": row(asp_small_e, 0.09), "omp": row(2.0, 0.09), "ard": row(3.0, 0.1)},
        "large": {"asp": row(2.0, 0.08), "omp": row(1.9, omp_large_f)}}}}
    folder.mkdir(parents=True)
    (folder / "zuo_benchmark.json").write_text(json.dumps({"results": results}))


def _run(*args):
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120)


def test_mean_spread_and_count_at_or_below_published(tmp_path):
    # published Mo: ASP small E 2.261, OMP large F 0.086
    _write_run(tmp_path / "s0", asp_small_e=2.2, omp_large_f=0.080)
    _write_run(tmp_path / "s3", asp_small_e=2.4, omp_large_f=0.090)
    done = _run(str(tmp_path / "s{seed}"), "--seeds", "0", "1", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "seed 0 | seed 3 |" in lines[0] and "seed 1" not in lines[0]  # missing seed left out
    asp_e = next(x for x in lines if "| Mo | small | ASP | E" in x)
    assert "| 2.200 | 2.400 | 2.300 ± 0.141 | 2.261 | 1 of 2 |" in asp_e
    omp_f = next(x for x in lines if "| Mo | large | OMP | F" in x)
    assert "| 0.0800 | 0.0900 | 0.0850 ± 0.0071 | 0.0860 | 1 of 2 |" in omp_f
    assert not any("| Si |" in x for x in lines)
    assert not any("| ARD |" in x for x in lines)  # the ASP and OMP columns by default
    done = _run(str(tmp_path / "s{seed}"), "--seeds", "0", "3", "--solvers", "ard")
    lines = done.stdout.splitlines()
    assert [x.split("|")[3].strip() for x in lines[2:]] == ["ARD", "ARD"]  # small E, F only
    assert "| 3.000 | 3.000 | 3.000 ± 0.000 | 3.945 | 2 of 2 |" in lines[2]


def test_no_runs_and_bad_pattern_are_errors(tmp_path):
    done = _run(str(tmp_path / "s{seed}"))
    assert done.returncode == 2 and "no zuo_benchmark.json" in done.stderr
    done = _run(str(tmp_path / "fixed"))
    assert done.returncode == 2 and "has no {seed}" in done.stderr

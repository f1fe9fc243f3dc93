"""scripts/fit_from_python.py: the Python route to a fit gives ``acefit fit``'s checkpoint,
and docs/fitting.md shows its code ("Fitting from Python")."""

import json
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest
from _scripts import SCRIPTS, load_script

from acefit import Potential
from acefit.checkpoints import read_path
from acefit.cli import main

REPO = Path(__file__).resolve().parents[1]
BUDGET, TOTALDEGREE = 60, (10, 8, 6)      # a smaller basis and budget than the quickstart's


def _example() -> str:
    """The script's example: the body of ``fit`` between its markers, dedented."""
    text = (SCRIPTS / "fit_from_python.py").read_text()
    body = text.split("    # --- example\n")[1].split("    # --- end\n")[0]
    return textwrap.dedent(body).rstrip("\n")


def test_the_docs_show_the_scripts_example():
    """The docs' block is the script's body after the lines that set its parameters."""
    docs = (REPO / "docs" / "fitting.md").read_text().split("## Fitting from Python\n")[1]
    block = re.search(r"```python\n(.*?)```", docs, re.S).group(1)
    imports, settings, code = block.split("\n\n", 2)
    assert (imports, settings.split(" = ")[0]) == ("from pathlib import Path", "data, out")
    assert code.rstrip("\n") == _example()
    assert "[Fitting from Python](docs/fitting.md#fitting-from-python)" in \
        (REPO / "README.md").read_text()


@pytest.mark.slow
def test_the_python_fit_chooses_the_checkpoint_acefit_fit_chooses(tmp_path, monkeypatch):
    """The quickstart's config with ASP and OMP only, on a smaller basis: the same paths
    bit for bit, the same headline checkpoint, potential, and test errors (the fit's
    errors stage multiplies many checkpoints at once: equal to rounding)."""
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    run = tmp_path / "cli"
    settings = [f"solvers=[{{name: asp, max_active: {BUDGET}}}, "
                f"{{name: omp, max_active: {BUDGET}}}]",
                f"selection.budgets=[{BUDGET}]", f"basis.totaldegree={list(TOTALDEGREE)}",
                "export.committee=0", "export.formats=[acefit, yace]", "parallel.workers=1"]
    assert main(["fit", str(REPO / "configs" / "quickstart.yaml"), "-o", str(run),
                 "--no-progress", "-q", *[a for s in settings for a in ("--set", s)]]) == 0
    monkeypatch.chdir(REPO)     # the example's paths are the repository's
    fit = load_script("fit_from_python").fit(Path("datasets/quickstart"), tmp_path / "py",
                                              BUDGET, TOTALDEGREE)
    for name, path in fit["paths"].items():
        stored = read_path(run / "paths.h5", name)
        assert len(stored) == len(path)
        for a, b in zip(stored.steps, path.steps):
            np.testing.assert_array_equal(a.coef, b.coef)
            assert a.val_error == b.val_error
    report = json.loads((run / "report.json").read_text())
    head = next(s for s in report["selection"]["selected"] if s["best"])
    assert (head["label"], head["n_active"]) == (fit["solver"], fit["step"].n_active)
    stored = json.loads((run / "errors" / f"{head['label']}.json").read_text())
    test = stored["steps"][head["step"]]["test"]["all"]
    for q in "EFS":
        for stat in ("mae", "rmse"):
            assert fit["errors"][q][stat] == pytest.approx(test[q][stat], rel=1e-10)
    ours, theirs = Potential.load(tmp_path / "py" / "potential.h5"), Potential.load(
        run / "potential.h5")
    np.testing.assert_array_equal(ours.coefficients, theirs.coefficients)
    assert ours.e0 == theirs.e0 and ours.repulsion == theirs.repulsion
    assert (tmp_path / "py" / "potential.lammps").read_text() == \
        (run / "potential.lammps").read_text()

"""``acefit fit`` end to end on a tiny config: outputs, refusal to overwrite, resume, bad configs."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from acefit.cli import main
from acefit.commands import EXIT_CONFIG, EXIT_ERROR, EXIT_EXISTS, EXIT_OK

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "datasets" / "quickstart"


@pytest.fixture(scope="session")
def small_data(tmp_path_factory):
    """A quarter of the quickstart training set and a third of its test set."""
    import ase.io

    folder = tmp_path_factory.mktemp("data")
    ase.io.write(folder / "train.xyz", ase.io.read(QUICKSTART / "train.xyz", ":")[::4])
    ase.io.write(folder / "test.xyz", ase.io.read(QUICKSTART / "test.xyz", ":")[::3])
    return folder


def _reject_constant(file):
    def reject(name):
        raise AssertionError(f"{file} holds the non-JSON constant {name}")
    return reject


def tiny_config(folder: Path, data: Path, *, solvers=None, degrees="[6, 4]", extra="",
                name="tiny.yaml", rcut="4.5") -> Path:
    """A config that fits in seconds: order 2, a few dozen functions."""
    solvers = solvers or ["{name: asp, max_active: 20}", "{name: omp, max_active: 20}"]
    text = (f"data:\n  train: {data / 'train.xyz'}\n  test: {data / 'test.xyz'}\n"
            f"  validation: {{fraction: 0.2, seed: 1}}\n"
            f"basis:\n  elements: [Cu, Au]\n  order: 2\n  totaldegree: {degrees}\n"
            f"  rcut: {rcut}\n"
            "solvers:\n" + "".join(f"  - {s}\n" for s in solvers)
            + "selection: {budgets: [10]}\nparallel: {workers: 1}\n" + extra)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def fit(config, out, *extra):
    return main(["fit", str(config), "-o", str(out), "--no-progress", "-q", *extra])


def fitted_run(tmp_path_factory, data: Path, solvers) -> Path:
    """A finished tiny run in a fresh folder (for the script tests' module fixtures)."""
    folder = tmp_path_factory.mktemp("run")
    assert fit(tiny_config(folder, data, solvers=solvers), folder / "run") == EXIT_OK
    return folder / "run"


def test_fit_end_to_end(tmp_path, small_data, capsys):
    from ase.io import read

    from acefit.calculator import ACECalculator

    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    out = capsys.readouterr().out
    assert "| budget | solver | active |" in out and "Wall time:" in out
    for name in ("run.json", "config.yaml", "acefit.log", "paths.h5", "report.md",
                 "report.json", "potential.h5", "basis_functions.json", "test_errors.json",
                 "errors/asp.json", "errors/omp.json", "potentials/asp_t10.h5",
                 "potentials/omp_t10.h5"):
        assert (run / name).is_file(), name
    # Strict JSON everywhere (jq, JavaScript): no bare NaN or Infinity.
    for file in run.rglob("*.json"):
        json.loads(file.read_text(), parse_constant=_reject_constant(file))
    state = json.loads((run / "run.json").read_text())
    assert state["status"] == "finished"
    log = (run / "acefit.log").read_text()
    assert "training rows kept in" in log and "(training rows read from the cache)" in log
    report = json.loads((run / "report.json").read_text())
    selected = report["selection"]["selected"]
    assert {s["label"] for s in selected} == {"asp", "omp"}
    assert all(s["n_active"] <= 10 for s in selected)
    best = [s for s in selected if s["best"]]
    assert len(best) == 1 and best[0]["files"]["acefit"][-1] == "potential.h5"
    assert report["environment"]["blas"] and "Ran on: " in (run / "report.md").read_text()
    # Every checkpoint has train / validation / test errors.
    steps = json.loads((run / "errors" / "omp.json").read_text())["steps"]
    assert len(steps) == 21 and all(s["test"]["all"]["F"]["n"] > 0 for s in steps)
    assert all(s["lam"] is None for s in steps)   # OMP has no regularisation parameter
    # every total MAE carries its bootstrap SE over the split's configurations
    assert all(s[split]["all"][q]["mae_se"] > 0 for s in steps[1:] for split in ("val", "test")
               for q in ("E", "F"))
    assert set(steps[-1]["train"]["by_config_type"]) == {"md", "strain", "surface", "vacancy"}
    # The exported potential reproduces the reported test energy MAE through ASE.
    calc = ACECalculator(run / "potential.h5")
    frames = read(small_data / "test.xyz", ":")
    mae = np.mean([abs(calc.get_potential_energy(a.copy()) - a.get_potential_energy())
                   / len(a) for a in frames]) * 1e3
    assert mae == pytest.approx(best[0]["errors"]["test"]["all"]["E"]["mae"], rel=1e-6)
    md = (run / "report.md").read_text()
    assert "## Selected potentials" in md and "| md | test |" in md
    # the radial distances as the basis resolved them (a null r0: the reference crystals')
    from acefit.basis.radial import default_r0
    r0 = {"Cu-Cu": default_r0(29, 29), "Cu-Au": default_r0(29, 79), "Au-Au": default_r0(79, 79)}
    assert report["basis"]["radial"]["r0"] == r0
    assert ("r0 " + ", ".join(f"{pair} {v:.4g}" for pair, v in r0.items())
            + " Å (each pair's reference crystal distance)") in md
    # How precisely the test set measures them: bootstrap over its configurations, and the
    # paired difference to the headline potential.
    assert "How precisely the test set (" in md and "| (headline) | (headline) |" in md
    for s in selected:
        r, test = s["test_resolution"], s["errors"]["test"]["all"]
        for q in ("E", "F", "S"):
            assert r[q]["mae"] == pytest.approx(test[q]["mae"], rel=1e-10)
            assert r[q]["low"] <= r[q]["mae"] <= r[q]["high"] and r[q]["se"] > 0
        record = json.loads((run / "test_errors.json").read_text())
        sums = next(m["abs_error_sums"] for m in record["selected"]
                    if (m["label"], m["step"]) == (s["label"], s["step"]))
        assert np.sum(sums["F"]) / np.sum(record["counts"]["F"]) == pytest.approx(
            test["F"]["mae"], rel=1e-10)
        assert len(record["configurations"]) == len(sums["E"]) == r["E"]["configs"]
        stored = json.loads((run / "errors" / f"{s['label']}.json").read_text())["steps"]
        # the same draws in errors/*.json and the report: the same SE
        for q in ("E", "F", "S"):
            assert stored[s["step"]]["test"]["all"][q]["mae_se"] == pytest.approx(
                r[q]["se"], rel=1e-9)
        d = r["minus_headline"]
        if s is best[0]:
            assert d is None
        else:
            head = best[0]["errors"]["test"]["all"]
            assert d["E"]["mae"] == pytest.approx(test["E"]["mae"] - head["E"]["mae"], abs=1e-10)

    by_element = _check_errors_by_element(config, run, report, calc)
    assert "## Force errors per element of the headline potential" in md
    au = {split: by_element[split]["Au"]["F"] for split in ("train", "val", "test")}
    assert (f"| Au | {au['train']['n'] // 3}/{au['val']['n'] // 3}/{au['test']['n'] // 3} | "
            + " | ".join(f"{au[s]['mae']:.4f} ± {au[s]['se']:.4f}" for s in au)) in md

    # A finished run is never overwritten without --force.
    assert fit(config, run) == EXIT_EXISTS
    assert "--force" in capsys.readouterr().err
    from acefit.config import load_config
    from acefit.pipeline import RunExistsError, run_fit   # from Python: where run_fit lives
    with pytest.raises(RunExistsError):
        run_fit(load_config(config, [f"output.directory={run}"]), progress=False)
    assert fit(config, run, "--force") == EXIT_OK
    # again from the cache (problem, validation and test rows, kept training rows)
    again = json.loads((run / "report.json").read_text())
    assert again["assembly"]["cache_hit"]
    assert next(s for s in again["selection"]["selected"] if s["best"])[
        "errors_by_element"] == by_element


def _check_errors_by_element(config, run, report, calc):
    """The headline potential's force errors per element in ``report`` against its forces
    atom by atom on the run's own training, validation and test configurations (the
    rows' configuration indices must name these, in this order), and their bootstrap SEs
    against those `acefit evaluate` gives (the same draws)."""
    from acefit.config import load_config
    from acefit.evaluate import evaluate
    from acefit.pipeline import load_data
    from acefit.potential import Potential
    from acefit.selection import SE_RESAMPLES

    best = next(s for s in report["selection"]["selected"] if s["best"])
    by_element = best["errors_by_element"]
    assert all(len(s["errors_by_element"]) == 3 for s in report["selection"]["selected"])
    data = load_data(load_config(config))
    for split, configs in (("train", data.train), ("val", data.val), ("test", data.test)):
        residuals = {"Cu": [], "Au": []}
        for cfg in configs:
            atoms = cfg.atoms.copy()
            atoms.calc = calc
            for symbol, r in zip(atoms.get_chemical_symbols(), atoms.get_forces() - cfg.forces):
                residuals[symbol].extend(r)
        assert list(by_element[split]) == ["Cu", "Au"]
        evaluated = evaluate([Potential.load(run / "potential.h5")], configs,
                             resamples=SE_RESAMPLES).errors[0]["by_element"]
        for symbol, d in residuals.items():
            f = by_element[split][symbol]["F"]
            assert f["n"] == len(d) > 0
            assert f["mae"] == pytest.approx(np.mean(np.abs(d)), rel=1e-6)
            assert f["rmse"] == pytest.approx(np.sqrt(np.mean(np.square(d))), rel=1e-6)
            assert f["low"] <= f["mae"] <= f["high"] and f["se"] > 0
            for key in ("se", "low", "high"):
                assert f[key] == pytest.approx(evaluated[symbol]["F"][key], rel=1e-6)
    return by_element


def test_the_report_leaves_out_an_element_without_force_labels():
    """Two elements, force labels on frames of one only: the other is named once below
    the table of force errors per element, not given a row "0/0/0 | – | – | –"."""
    from acefit.report import _element_table

    def entry(n, mae=0.01, se=0.002):
        return {"F": {"n": n, "mae": mae if n else None, "rmse": 0.02 if n else None,
                      **({"se": se, "low": mae - se, "high": mae + se} if n else {})}}

    split = {"Cu": entry(30), "Au": entry(0), "Ag": entry(0)}
    sel = {"errors_by_element": {"train": split, "val": split, "test": split}}
    table = _element_table(sel)
    assert table.splitlines()[2] == ("| Cu | 10/10/10 | 0.0100 ± 0.0020 | 0.0100 ± 0.0020 | "
                                     "0.0100 ± 0.0020 | 0.0200 |")
    assert len(table.splitlines()) == 5 and "| Au |" not in table and "| Ag |" not in table
    assert table.endswith("No force labels on the Au, Ag atoms (no row).")
    # labels in one set only: a row, "–" where a set has none of them
    sel["errors_by_element"]["train"] = {**split, "Au": entry(6)}
    assert "| Au | 2/0/0 | 0.0100 ± 0.0020 | – | – | – |" in _element_table(sel)
    none = {"Cu": entry(0), "Au": entry(0)}
    assert _element_table({"errors_by_element": {"train": none, "val": none, "test": None}}) == ""


def test_the_report_names_the_pairs_whose_r0_comes_from_the_reference_crystals():
    """Found by review: a basis.r0 mapping without a default leaves pairs to their
    reference crystals; the report said so only for a null basis.r0."""
    from acefit.report import _radial_lines

    radial = {"rcut": dict.fromkeys(("Cu-Cu", "Cu-Au", "Au-Au"), 5.0),
              "r0": {"Cu-Cu": 2.6, "Cu-Au": 2.719, "Au-Au": 2.885},
              "rin": dict.fromkeys(("Cu-Cu", "Cu-Au", "Au-Au"), 0.0)}

    def line(r0):
        return _radial_lines({"radial": radial, "settings": {
            "transform": "agnesi", "envelope": "x", "r0": r0}})[0]

    assert line(None).endswith("Au-Au 2.885 Å (each pair's reference crystal distance)")
    assert line({"Cu-Cu": 2.6}).endswith("(Cu-Au, Au-Au: the reference crystals' distance)")
    for given in (2.6, {"Cu-Cu": 2.6, "default": 2.8}, {"Au-Cu": 2.7, "Cu-Cu": 2.6, "Au-Au": 2.9}):
        assert line(given).endswith("Au-Au 2.885 Å"), given


def _collapsing_cu(calc, symbol, structure, a):
    """Energy per atom of a crystal that holds for Au (minimum at 4.08 Å) and, for Cu
    (minimum at 3.6 Å), rises to 0.8 a and falls far below the crystal from 0.75 a in."""
    a0 = {"Cu": 3.6, "Au": 4.08}[symbol]
    return -3.0 if symbol == "Cu" and a < 0.75 * a0 else 5.0 * (a / a0 - 1.0) ** 2


def test_the_fit_compresses_the_crystals_of_its_headline_potential(tmp_path, small_data,
                                                                  monkeypatch):
    """Found by a user's walk-through: the headline potential collapsed at 85 % of its
    lattice constant, and only `acefit validate` said so; the fit runs the same check
    on it, warns with the first scale that fails, its nearest-neighbour distance and the
    training data's shortest distance of the element, and records it in the report."""
    from ase.neighborlist import neighbor_list

    from acefit.config import load_config
    from acefit.pipeline import load_data

    monkeypatch.setattr("acefit.validate._energy_per_atom", _collapsing_cu)
    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    report = json.loads((run / "report.json").read_text())
    selected = report["selection"]["selected"]
    best = next(s for s in selected if s["best"])
    assert all("compression" not in s for s in selected if s is not best)  # headline only
    cu, au = best["compression"]["Cu"], best["compression"]["Au"]
    assert au["holds"] and au["fails_at"] is None and au["structure"] == "fcc"
    assert au["a_A"] == pytest.approx(4.08, rel=1e-5)
    assert cu["holds"] is False and cu["fails_at"] == 0.7
    assert cu["nearest_A"] == pytest.approx(0.7 * 3.6 / np.sqrt(2), rel=1e-5)
    # the shortest Cu-Cu distance of the training configurations (the validation split's
    # are not among them)
    shortest = min(d[(a.numbers[i] == 29) & (a.numbers[j] == 29)].min(initial=np.inf)
                   for a in (c.atoms for c in load_data(load_config(config)).train)
                   for i, j, d in [neighbor_list("ijd", a, 4.5)])
    assert cu["train_nearest_A"] == pytest.approx(shortest, abs=1e-9)
    words = (f"fcc Cu at 0.7 a (nearest neighbours 1.78 Å; the training data's shortest "
             f"Cu-Cu distance: {shortest:.2f} Å): -3 eV/atom against +0.2 at 0.8 a")
    log = (run / "acefit.log").read_text()
    assert ("the selected potential's energy falls again under compression, so a crystal "
            f"pressed that far would collapse: {words}. MD") in log
    assert "add training data of compressed cells or short distances" in log
    md = (run / "report.md").read_text()
    assert ("Compressed crystals of the headline potential (60-90 % of its lattice constant "
            f"a; `acefit validate` shows the energies): fcc Au holds; **1 collapses**:\n"
            f"- {words}\n") in md


def test_crystals_that_collapse_within_the_data_s_distances_ask_for_dense_data(monkeypatch,
                                                                            caplog):
    """Found by a user's walk-through: the warning quoted the training data's shortest
    Al-Al distance, 0.36 Å, and then asked for short distances. Where the data reach
    below the crystal's failing nearest-neighbour distance, it asks for compressed
    crystals and counts the training configurations as dense as the failing crystal."""
    import logging
    from types import SimpleNamespace

    from ase import Atoms
    from ase.build import bulk

    from acefit import ACEBasis, Potential
    from acefit.short_range import compression_verdicts, warn_collapse

    monkeypatch.setattr("acefit.validate._energy_per_atom", _collapsing_cu)
    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 4], rcut=4.5)
    train = [SimpleNamespace(atoms=a) for a in (
        bulk("Cu", "fcc", a=0.68 * 3.6, cubic=True),     # 12 neighbours at 1.73 Å
        Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 1.0]]),  # closer, but not dense
        bulk("Au", "fcc", a=4.08))]
    verdicts = compression_verdicts(Potential(basis, np.zeros(len(basis))),
                                    {"Cu-Cu": 1.0, "Au-Au": 2.88}, train)
    cu = verdicts["Cu"]
    assert cu["fails_at"] == 0.7 and cu["train_nearest_A"] == 1.0
    assert cu["dense_train"] == {"configs": 1, "of": 3, "neighbours": 12}
    with caplog.at_level(logging.WARNING, logger="acefit"):
        warn_collapse(verdicts)
    assert ("fcc Cu at 0.7 a (nearest neighbours 1.78 Å; the training data's shortest Cu-Cu "
            "distance: 1.00 Å; 1 of 3 training configurations hold Cu atoms with 12 "
            "neighbours that close)") in caplog.text
    assert ("would collapse too: add training data of compressed crystals of Cu (dense "
            "environments: the training data's distances are short enough already) "
            "(acefit validate") in caplog.text
    assert "short distances" not in caplog.text


def test_a_headline_without_a_core_names_the_selected_potential_with_one(tmp_path, small_data,
                                                                          monkeypatch):
    """Found by a user's walk-through: the headline potential had no repulsive core and
    exploded in MD, while the fit's smaller pick had a core for every pair and ran stable;
    nothing pointed to it. The warning and report.md name it, with its file and score,
    and the headline stays the one the selection rule picks."""
    from acefit.potential import Potential

    def verdicts(potential):     # a Cu-Cu core for the OMP pick only
        entry = {"repulsive_core": True, "lowest_eV": -1.0, "lowest_at_A": 2.4,
                 "shortest_eV": 9.0}
        bad = {} if potential.metadata.get("label") == "omp" else {
            "repulsive_core": False, "lowest_eV": -30.0, "lowest_at_A": 1.0,
            "inner_minimum_A": 1.0, "inner_minimum_eV": -30.0}
        return {"Cu-Cu": {**entry, **bad}, "Cu-Au": entry, "Au-Au": entry}

    monkeypatch.setattr("acefit.pipeline.dimer_verdicts", verdicts)
    config = tiny_config(tmp_path, small_data, solvers=[
        "{name: asp, max_active: 20}", "{name: omp, max_active: 3}"])
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    selected = json.loads((run / "report.json").read_text())["selection"]["selected"]
    best = next(s for s in selected if s["best"])
    omp = next(s for s in selected if s["label"] == "omp")
    assert best["label"] == "asp" and best["score"] < omp["score"]   # the rule's headline
    assert Potential.load(run / "potential.h5").metadata["label"] == "asp"
    words = (f"`potentials/omp_t10.h5` (omp, {omp['n_active']} functions, validation loss "
             f"{omp['score']:.4g} "
             f"against the headline's {best['score']:.4g}) has a repulsive core for every "
             "pair: use it for MD, after `acefit validate`")
    log = (run / "acefit.log").read_text()
    assert "no repulsive core for Cu-Cu:" in log and words in log
    md = (run / "report.md").read_text()
    assert "**no repulsive core for Cu-Cu**" in md and words in md


def test_the_report_names_the_best_checkpoint_of_any_size(tmp_path, small_data, capsys):
    """Found by a user's walk-through: the checkpoint of the best validation loss, larger
    than the largest budget, was in no report; report.md names it with the export command
    that writes it (budget 10 here, paths to 20 functions)."""
    import shlex

    from acefit.potential import Potential

    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    printed = capsys.readouterr().out
    report = json.loads((run / "report.json").read_text())
    losses = {label: [s["val_loss"] for s in json.loads(
        (run / "errors" / f"{label}.json").read_text())["steps"]] for label in ("asp", "omp")}
    label = min(losses, key=lambda k: min(losses[k]))
    step = int(np.argmin(losses[label]))
    best = report["selection"]["best_any_size"]
    assert (best["label"], best["step"], best["score"]) == (label, step, min(losses[label]))
    assert best["n_active"] > 10 and set(best["dimers"]) == {"Cu-Cu", "Cu-Au", "Au-Au"}
    command = f"acefit export {run} --path {label} --step {step}"
    assert best["export_command"] == command
    test = best["errors"]["test"]["all"]
    line = next(line for line in (run / "report.md").read_text().splitlines()
                if line.startswith("Best loss on the validation set at any size: "))
    assert (f"{label} step {step}, {best['n_active']} active functions, above the largest "
            f"budget (10): loss {best['score']:.4g}, test MAE E {test['E']['mae']:.2f}, "
            f"F {test['F']['mae']:.4f}, S {test['S']['mae']:.3f}") in line
    assert line.endswith(f"Export it with `{command}`.")
    assert f"\n\n{line}\n\nRun directory: " in printed      # under the fit's table too
    assert main(shlex.split(command)[1:]) == EXIT_OK      # the command as written
    assert f"{best['n_active']} active functions" in capsys.readouterr().out
    # a budget that holds it: the table has it, and no line
    assert fit(config, run, "--force", "--set", "selection.budgets=[10, 40]") == EXIT_OK
    report = json.loads((run / "report.json").read_text())
    assert report["selection"]["best_any_size"] is None
    # potential.h5 (and .yace) is the best of the largest budget: the best of budget 10
    # would be a smaller, worse model under the headline's name
    top = next(s for s in report["selection"]["selected"] if s["budget"] == 40 and s["best"])
    meta = Potential.load(run / "potential.h5").metadata
    assert (meta["budget"], meta["label"], meta["step"]) == (40, top["label"], top["step"])
    assert meta["n_active"] == best["n_active"] > 10
    assert "at any size" not in (run / "report.md").read_text()
    assert "at any size" not in capsys.readouterr().out


def test_a_budget_below_every_checkpoint_is_reported(tmp_path, small_data, capsys):
    """A path with no checkpoint within a budget is named with its smallest size, in the
    log, report.md, report.json and the fit's summary; when no budget holds any
    checkpoint, the fit says no potential was exported (it had said nothing) and exits 1
    (it exited 0: a job's next step found no potential; session 37)."""
    config = tiny_config(tmp_path, small_data, solvers=["{name: blr, sizes: 2}"])
    run = tmp_path / "run"
    assert fit(config, run, "--set", "selection.budgets=[5]") == EXIT_ERROR
    printed = capsys.readouterr()
    assert printed.err.rstrip().endswith(
        "acefit: error: no potential exported: no budget holds a checkpoint (above); the run "
        f"in {run} is finished, its checkpoints there for `acefit export`")
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    report = json.loads((run / "report.json").read_text())
    smallest = report["solvers"]["blr"]["min_active"]
    assert smallest > 5 and report["selection"]["selected"] == []
    assert report["selection"]["unmet_budgets"] == [
        {"budget": 5, "label": "blr", "smallest": smallest}]
    line = (f"Budget ≤ 5: blr (smallest checkpoint: {smallest} functions) has no checkpoint "
            "to select; the table leaves it out.")
    md = (run / "report.md").read_text()
    for text in (md, printed.out, (run / "acefit.log").read_text()):
        assert line in text and "No potential was exported" in text
    assert "No potential was exported" in printed.err           # a warning, even with -q
    assert not (run / "potential.h5").exists()
    assert "| budget | solver |" not in printed.out and "| budget | solver |" not in md


def test_a_format_the_fit_could_not_write_exits_1(tmp_path, small_data, capsys, monkeypatch):
    """Found by review (session 37): a .yace the export could not write was a warning, and
    the fit exited 0 with only the .h5 files; a LAMMPS job after it found no potential."""
    import acefit.export.yace

    def refuse(potential, path, **options):
        raise ValueError("the spline misses rtol")

    monkeypatch.setattr(acefit.export.yace, "export_yace", refuse)
    config = tiny_config(tmp_path, small_data, extra="export: {formats: [acefit, yace]}\n")
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "cannot write potential.yace: ValueError: the spline misses rtol" in err
    n = len(json.loads((run / "report.json").read_text())["selection"]["selected"])
    assert err.rstrip().endswith(
        f"acefit: error: not written: yace of {n} of the {n} selected potential(s) "
        "(export.formats: acefit, yace; the warnings above say why); the run in "
        f"{run} is finished, its checkpoints there for `acefit export`")
    assert (run / "potential.h5").is_file() and not (run / "potential.yace").exists()
    monkeypatch.undo()      # every format written: exit 0
    assert fit(config, run, "--force") == EXIT_OK and (run / "potential.yace").is_file()


def test_a_validation_set_whose_rows_all_weigh_zero_is_refused(tmp_path, small_data, capsys):
    """Validation data whose every row weighs 0 score a loss of 0 at every checkpoint, and
    the selection took the first one, an empty model (found by a review: exit 0, a
    potential of 0 functions). Refused before the assembly; an unweighted metric is fine."""
    import ase.io

    frames = ase.io.read(small_data / "test.xyz", ":")
    for atoms in frames:
        atoms.info["config_type"] = "heldout"
    ase.io.write(tmp_path / "val.xyz", frames)
    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 20}"])
    config.write_text(config.read_text().replace(
        "  validation: {fraction: 0.2, seed: 1}",
        f"  validation: {{file: {tmp_path / 'val.xyz'}}}\n"
        "  weights: {config_type: {heldout: {E: 0, F: 0, V: 0}}}"))
    assert fit(config, tmp_path / "run") == EXIT_CONFIG
    assert ("selection.metric: found 'loss', but every row of the validation data weighs 0 "
            "(config_type(s) ['heldout'] under data.weights)") in capsys.readouterr().err
    assert not (tmp_path / "run" / "cache").exists()
    # without energies in the validation data, the energy metrics are not offered
    assert fit(config, tmp_path / "run", "--set", "data.keys.energy=null",
               "--set", "data.e0=zero") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "or an unweighted metric (forces_mae, forces_rmse)" in err and "energy_mae" not in err
    assert fit(config, tmp_path / "run", "--set", "selection.metric=forces_mae") == EXIT_OK
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["selection"]["selected"][0]["n_active"] > 0


def test_fit_with_a_cutoff_per_element_pair(tmp_path, small_data):
    """basis.rcut per pair end to end: the report shows each pair's cutoff, the exported
    potential.h5 reproduces the reported test MAE through ASE, and the .yace export (the
    independent reference evaluator of the ML-PACE format) evaluates as acefit does. Cu-Au
    is cut shorter than the others, with Cu-Au distances in the data between the two, so
    each pair's own cutoff matters."""
    from ase.io import read
    from matscipy.neighbours import neighbour_list

    config = tiny_config(tmp_path, small_data, rcut="{Cu-Cu: 4.5, Au-Au: 4.5, Au-Cu: 3.8}",
                         extra="export: {formats: [acefit, yace]}\n")
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    frames = read(small_data / "test.xyz", ":")
    between = 0
    for atoms in frames:
        i, j, d = neighbour_list("ijd", atoms, 4.5)
        between += np.sum((atoms.numbers[i] != atoms.numbers[j]) & (d >= 3.8))
    assert between > 100
    report = json.loads((run / "report.json").read_text())
    assert report["basis"]["radial"]["rcut"] == {"Cu-Cu": 4.5, "Cu-Au": 3.8, "Au-Au": 4.5}
    assert "rcut Cu-Cu 4.5, Cu-Au 3.8, Au-Au 4.5 Å" in (run / "report.md").read_text()
    calc, _ = _check_exported(run, report, frames, 4)
    assert calc.potential.cutoff == 4.5


def _check_exported(run, report, test, n_yace):
    """potential.h5 through ASE gives the report's test energy MAE on the frames ``test``,
    and potential.yace (the reference evaluator) its energies and forces on the first
    ``n_yace`` of them; returns the two calculators."""
    from _yace_reference import YaceReference

    from acefit.calculator import ACECalculator

    best = next(s for s in report["selection"]["selected"] if s["best"])
    calc = ACECalculator(run / "potential.h5")
    mae = np.mean([abs(calc.get_potential_energy(a.copy()) - a.get_potential_energy())
                   / len(a) for a in test]) * 1e3
    assert mae == pytest.approx(best["errors"]["test"]["all"]["E"]["mae"], rel=1e-6)
    ref = YaceReference(run / "potential.yace")
    for atoms in test[:n_yace]:
        a, b = atoms.copy(), atoms.copy()
        a.calc, b.calc = calc, ref
        e = a.get_potential_energies()
        np.testing.assert_allclose(b.get_potential_energies(), e, rtol=0,
                                   atol=1e-5 * np.abs(e).max())
        f = a.get_forces()
        np.testing.assert_allclose(b.get_forces(), f, rtol=0, atol=1e-5 * np.abs(f).max())
    return calc, ref


@pytest.mark.parametrize("edit, where, what", [
    ("basis:\n  elements: [Cu, Au]\n  colour: red\n", "basis.colour", "unknown key 'colour'"),
    ("basis:\n  elements: [Cu, Au]\n  wL: heavy\n", "basis.wL", "found 'heavy' (string)"),
    ("MISSING", "data.train", "does not exist"),
    ("SOLVER", "solvers[0].max_active", "found -5 (integer)"),
])
def test_bad_configs_exit_2_with_a_clear_message(tmp_path, small_data, capsys, edit, where,
                                                 what):
    config = tiny_config(tmp_path, small_data)
    text = config.read_text()
    if edit == "MISSING":
        text = text.replace(str(small_data / "train.xyz"), str(tmp_path / "absent.xyz"))
    elif edit == "SOLVER":
        text = text.replace("{name: asp, max_active: 20}", "{name: asp, max_active: -5}")
    else:
        text = text.replace("basis:\n  elements: [Cu, Au]\n", edit)
    config.write_text(text)
    assert fit(config, tmp_path / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"{config}:" in err and f": {where}: " in err and what in err
    assert not (tmp_path / "run").exists()  # nothing was started


def test_an_overflowing_prior_stops_the_run_before_assembly(tmp_path, small_data, capsys):
    config = tiny_config(tmp_path, small_data, degrees="[40, 4]",
                         extra="prior: {kind: gaussian, sigma_n: 3.0}\n")
    assert fit(config, tmp_path / "run") == EXIT_ERROR
    err = capsys.readouterr().err
    assert "gaussian prior is not a finite positive number" in err
    assert not (tmp_path / "run" / "cache").exists()  # nothing was assembled


def test_apriori_sizes_beyond_the_basis_stop_the_run_before_assembly(tmp_path, small_data,
                                                                     capsys):
    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 5}",
                                                        "{name: blr, sizes: [10, 100000]}"])
    assert fit(config, tmp_path / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "solvers[1].sizes: found 100000; allowed: at most the" in err
    assert not (tmp_path / "run" / "cache").exists()


def test_missing_config_file_and_check_mode(tmp_path, small_data, capsys):
    assert main(["fit", str(tmp_path / "nope.yaml")]) == EXIT_CONFIG
    assert "config file not found" in capsys.readouterr().err
    config = tiny_config(tmp_path, small_data)
    assert main(["fit", str(config), "--check"]) == EXIT_OK
    assert "max_active: 20" in capsys.readouterr().out


def test_check_says_config_type_names_are_left_to_the_data(tmp_path, capsys):
    """Walk-through H, finding L5: `--check` said "valid" of a config_type weight that
    matches no group; only --plan and fit read the data that name the groups."""
    (tmp_path / "train.xyz").write_text("placeholder")
    config = tmp_path / "run.yaml"
    config.write_text("data:\n  train: train.xyz\nsolvers:\n  - {name: asp}\n")
    assert main(["fit", str(config), "--check"]) == EXIT_OK
    assert capsys.readouterr().err == f"# {config}: valid\n"
    assert main(["fit", str(config), "--check", "--set",
                 "data.weights.config_type={surfce: {E: 3}}"]) == EXIT_OK
    assert capsys.readouterr().err == (
        f"# {config}: valid (the config_type names in data.weights.config_type are checked "
        "against the data by --plan and fit)\n")
    assert main(["fit", str(config), "--check", "--set", "data.weights.config_type={a: {}}",
                 "--set", "data.stress_reading.config_type={b: negated}"]) == EXIT_OK
    assert "in data.weights.config_type and data.stress_reading.config_type are checked" \
        in capsys.readouterr().err


def _wait_for(path: Path, text: str, proc, timeout=120.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.is_file() and text in path.read_text(errors="replace"):
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.02)
    return False


def _worker_pids(parent: int) -> list:
    """The Dask worker processes (multiprocessing spawns) among ``parent``'s children."""
    pids = []
    for task in Path(f"/proc/{parent}/task").glob("*"):
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):
                cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
                if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                    pids.append(int(child))
    return pids


def _ignores_sigint(pid: int) -> bool:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("SigIgn:"):
                return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def _start_parallel_fit(tmp_path, prelude=""):
    """A quickstart fit on two workers, started in its own session (a terminal's process
    group) with Python's SIGINT handler, after ``prelude`` (Python code); returns it and
    its stderr file. Its basis (676 functions) keeps the assembly going for seconds."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("needs /proc")
    config = tmp_path / "parallel.yaml"
    config.write_text(
        f"data: {{train: {QUICKSTART / 'train.xyz'}, test: {QUICKSTART / 'test.xyz'}}}\n"
        "basis: {elements: [Cu, Au], order: 3, totaldegree: [12, 10, 8], rcut: 5.0}\n"
        "solvers: [{name: omp, max_active: 50}]\nselection: {budgets: [50]}\n"
        "parallel: {workers: 2}\n")
    err = tmp_path / "stderr.txt"
    code = (f"{prelude}\nimport signal, sys; "
            "signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from acefit.cli import main; sys.exit(main(sys.argv[1:]))")
    with open(err, "wb") as handle:
        proc = subprocess.Popen([sys.executable, "-c", code, "fit", str(config), "-o",
                                 str(tmp_path / "run"), "--no-progress"],
                                stdout=subprocess.DEVNULL, stderr=handle,
                                start_new_session=True,
                                env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    return proc, err


def _parallel_fit(tmp_path):
    """:func:`_start_parallel_fit`'s fit and its stderr file, once a worker writes its
    part's training rows: the cluster is up, its workers leave a Ctrl-C to the parent,
    and the assembly has seconds to go. None (the process ended) when it never got
    there. (Session 38: it waited for signs that the workers had started and signalled
    3 s after they appeared in any case: under load, while they still started.)"""
    proc, err = _start_parallel_fit(tmp_path)
    rows = tmp_path / "run" / "cache"
    end = time.monotonic() + 120
    while time.monotonic() < end and proc.poll() is None:
        if list(rows.glob(".trainrows-*.tmp")):
            workers = _worker_pids(proc.pid)
            assert len(workers) == 2 and all(map(_ignores_sigint, workers)), workers
            return proc, err
        time.sleep(0.02)
    _stop(proc, timeout=0)
    return None, err


def _session_left(proc, timeout=10.0) -> list:
    """The processes still in the session of ``proc`` (a finished fit: none once the
    resource tracker has seen it go)."""
    end = time.monotonic() + timeout
    while True:
        left = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError):
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == proc.pid and fields[0] != "Z":   # session id, state
                    left.append(int(stat.parent.name))
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


def _stop(proc, timeout=60):
    """The exit status of ``proc``; killed (with its group) after ``timeout`` s."""
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return None
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _stopped_once(proc, err, signum):
    """Check that ``proc``, a fit in ``run`` beside ``err``, was stopped by ``signum`` as
    by one Ctrl-C (or ``kill PID``): its exit status, no traceback, acefit's one line last
    and in the log, run.json interrupted with the signal, and no process of it left."""
    name = signal.Signals(signum).name
    status, said = {"SIGINT": (130, "interrupted"), "SIGTERM": (143, "terminated")}[name]
    assert _stop(proc) == status, err.read_text()   # 143, not -15: not killed by the signal
    text = err.read_text()
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    line = f"{said}{' (SIGTERM)' if said == 'terminated' else ''}; run the same command again"
    assert text.splitlines()[-1] == f"acefit: {line} to resume", text
    run = err.parent / "run"
    assert f"{said} ({name}); run the same command again" in (run / "acefit.log").read_text()
    state = json.loads((run / "run.json").read_text())
    assert (state["status"], state["signal"]) == ("interrupted", name)
    assert not _session_left(proc)


def test_ctrl_c_in_a_parallel_assembly_prints_one_line(tmp_path):
    """Walk-through 3, finding 3: a Ctrl-C, which the terminal sends to the whole process
    group, printed each Dask worker's traceback chains (78 lines for two) above the one
    line that says what to do. The workers leave it to the parent, which stops them."""
    proc, err = _parallel_fit(tmp_path)
    assert proc is not None, f"the assembly ended before the workers ran: {err.read_text()}"
    os.killpg(proc.pid, signal.SIGINT)
    _stopped_once(proc, err, signal.SIGINT)


def test_sigterm_stops_a_fit_as_ctrl_c_does(tmp_path):
    """Walk-through 3, finding 5: a SIGTERM (a batch system's time limit, kill PID,
    timeout) ended a fit at once, with exit 143 and no word: no message, no log line,
    run.json left "running". It now stops the fit as a Ctrl-C does, the Dask workers
    with it, says so, and marks the run interrupted; the exit status stays 143."""
    proc, err = _parallel_fit(tmp_path)
    assert proc is not None, f"the assembly ended before the workers ran: {err.read_text()}"
    os.kill(proc.pid, signal.SIGTERM)          # the parent alone, as kill PID does
    _stopped_once(proc, err, signal.SIGTERM)


#: Launch code that sends the fit ``signum`` (to its process group, as a terminal's
#: Ctrl-C, or to itself, as kill PID) just after Dask spawns its first worker process.
_AT_WORKER_START = """
import multiprocessing.popen_spawn_posix as spawn, os, signal
launch = spawn.Popen._launch
def _launch(self, process):
    launch(self, process)
    if not getattr(spawn, "signalled", False):
        spawn.signalled = True
        {send}({target}, {signum})
spawn.Popen._launch = _launch
"""


@pytest.mark.parametrize("signum, send", [(signal.SIGINT, "os.killpg"),
                                          (signal.SIGTERM, "os.kill")])
def test_a_signal_while_the_workers_start_stops_the_fit_once(tmp_path, signum, send):
    """Session 38: a Ctrl-C in the second or two while the Dask workers started was
    ignored (the fit ran to its end: press it again), and a SIGTERM then once ended in a
    Dask traceback. Either now stops the fit as soon as the workers are up, as anywhere
    else: one line, exit 130 or 143, run.json interrupted, no worker left."""
    target = "0" if send == "os.killpg" else "os.getpid()"
    proc, err = _start_parallel_fit(
        tmp_path, _AT_WORKER_START.format(send=send, target=target, signum=int(signum)))
    _stopped_once(proc, err, signum)
    assert "assembled" not in err.read_text()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_parallel_assembly_removes_its_row_files(tmp_path, signum):
    """Walk-through H, finding L1: after a Ctrl-C or SIGTERM in a 2-worker assembly the
    workers' half-written training-row files (66-188 MB) stayed in the cache until the
    next run. The parent, alive, removes them once it has stopped the workers."""
    proc, err = _parallel_fit(tmp_path)     # once the workers write their row files
    assert proc is not None, f"the assembly ended before the workers ran: {err.read_text()}"
    os.kill(proc.pid, signum)                   # the parent alone: the workers ignore it
    assert _stop(proc) in (130, 143), err.read_text()
    assert not list((tmp_path / "run" / "cache").glob(".*.tmp")), err.read_text()


def test_resume_after_kill_mid_path_equals_uninterrupted_run(tmp_path, small_data):
    from acefit.checkpoints import list_runs, read_path

    solvers = ["{name: omp, max_active: 25}", "{name: asp, max_active: 60}"]
    config = tiny_config(tmp_path, small_data, solvers=solvers, degrees="[8, 6]")
    reference, run = tmp_path / "reference", tmp_path / "run"
    assert fit(config, reference) == EXIT_OK

    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen([sys.executable, "-m", "acefit.cli", "fit", str(config), "-o",
                             str(run), "--no-progress", "-q"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        reached = _wait_for(run / "acefit.log", "asp step 15:", proc)
        if reached:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    assert reached, f"the run ended before it could be killed: {proc.stderr.read().decode()}"
    assert json.loads((run / "run.json").read_text())["status"] == "running"
    runs = list_runs(run / "paths.h5")
    assert runs["omp"]["complete"] and not runs["asp"]["complete"]
    assert runs["asp"]["n_steps"] >= 15
    omp_before = read_path(run / "paths.h5", "omp")

    assert fit(config, run) == EXIT_OK  # the same command resumes
    log = (run / "acefit.log").read_text()
    assert "solver omp: finished path read back" in log
    assert "solver asp: resuming an interrupted path" in log
    assert "solver asp: the recomputed path reproduces all" in log
    report = json.loads((run / "report.json").read_text())
    assert report["resumed"] and report["assembly"]["cache_hit"]
    omp_after = read_path(run / "paths.h5", "omp")
    for a, b in zip(omp_before.steps, omp_after.steps):
        assert np.array_equal(a.coef, b.coef)

    ref_report = json.loads((reference / "report.json").read_text())
    for label in ("omp", "asp"):
        mine, ref = read_path(run / "paths.h5", label), read_path(reference / "paths.h5", label)
        assert len(mine) == len(ref)
        for a, b in zip(mine.steps, ref.steps):
            assert np.array_equal(a.active, b.active)
            np.testing.assert_allclose(a.coef, b.coef, rtol=1e-10, atol=1e-12)
    pick = lambda r: [(s["budget"], s["label"], s["step"], s["n_active"], s["best"])  # noqa: E731
                      for s in r["selection"]["selected"]]
    assert pick(report) == pick(ref_report)


def test_a_resume_of_a_path_with_no_finished_step_says_so_plainly(tmp_path, small_data,
                                                                    monkeypatch):
    """Found by a walk-through: a SIGTERM as the first path began left it with no step,
    and the resume said "resuming an interrupted path (0 finished steps)" and "reproduces
    all 0 checkpoints of the interrupted run"."""
    import acefit.solver_runs as solver_runs
    from acefit.commands import EXIT_INTERRUPTED

    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 8}"])
    run = tmp_path / "run"

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:    # stopped as the path's writer opens
        patch.setattr(solver_runs, "run_solver", interrupt)
        assert fit(config, run) == EXIT_INTERRUPTED
    assert fit(config, run) == EXIT_OK
    log = (run / "acefit.log").read_text()
    assert ("solver omp: the interrupted run had finished no step of this path; "
            "computing it") in log
    assert "0 finished steps" not in log and "reproduces all" not in log
    assert solver_runs._resume_note(1) == ("resuming an interrupted path (1 finished step); "
                                           "recomputing it")


def test_a_damaged_path_file_stops_the_resume_with_the_way_on(tmp_path, small_data, capsys,
                                                              monkeypatch):
    """Found by fuzzing: a truncated paths.h5 of an interrupted run stopped every resume,
    after the assembly, with the HDF5 error alone: --force computes the paths again. The
    file is read first: the data are not read, nor the problem assembled (minutes on the
    Zuo data when the cache is gone), before the resume stops."""
    import acefit.pipeline as pipeline

    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    state = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**state, "status": "running"}))
    data = (run / "paths.h5").read_bytes()
    (run / "paths.h5").write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    with monkeypatch.context() as patch:
        entered = []
        for stage in ("load_data", "assemble_system"):
            patch.setattr(pipeline, stage, lambda *a, stage=stage, **k: entered.append(stage))
        assert fit(config, run) == EXIT_ERROR
    assert entered == []
    err = capsys.readouterr().err
    assert f"checkpoint file {run / 'paths.h5'} cannot be opened as HDF5" in err
    assert "the run cannot be resumed from it: pass --force to compute its solver paths " \
           "again (the assembled problem is read from the cache)" in err
    assert fit(config, run, "--force") == EXIT_OK


def test_every_solver_kind_runs_through_the_pipeline(tmp_path, small_data):
    from acefit.checkpoints import read_paths

    solvers = ["{name: asp, max_active: 12, debias: ls}",
               "{name: omp, max_active: 12, debias: tsvd}",
               "{name: lars, max_active: 12}",
               "{name: cd, max_active: 12, n_lams: 12}",
               "{name: ista, max_active: 12, n_lams: 8}",
               "{name: qr, lam: [1.0e-6, 1.0e-3]}",
               "{name: qr, label: qr_apriori, lam: 1.0e-6, sizes: [10, 30]}",
               "{name: rrqr, rtol: [1.0e-8, 1.0e-4]}",
               "{name: tsvd, rtol: 1.0e-6, sizes: 2}",
               "{name: blr}",
               "{name: ard, sizes: [10, 25]}",
               "{name: ard_path, max_active: 20}"]
    config = tiny_config(tmp_path, small_data, solvers=solvers,
                         extra="prior: {kind: gaussian, sigma_l: 0.5, sigma_n: 0.2}\n")
    text = config.read_text().replace("validation: {fraction: 0.2, seed: 1}",
                                      "validation: {fraction: 0}")
    config.write_text(text.replace("budgets: [10]", "budgets: [15], metric: forces_mae"))
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    paths = read_paths(run / "paths.h5", require_complete=True)
    assert sorted(paths) == sorted(["asp", "omp", "lars", "cd", "ista", "qr", "qr_apriori",
                                    "rrqr", "tsvd", "blr", "ard", "ard_path"])
    assert [s.info["size"] for s in paths["qr_apriori"].steps] == [10, 30]
    assert len(paths["qr"]) == 2 and len(paths["rrqr"]) == 2
    assert [s.info["target"] for s in paths["ard"].steps] == [10, 25]
    assert paths["ard_path"].steps[-1].info["event"] in ("converged", "max_iter")
    assert 0 < paths["ard_path"].steps[-1].n_active <= 20
    assert all(s.info.get("debias") == "ls" for s in paths["asp"].steps)
    assert all(s.info.get("debias") == "tsvd" for s in paths["omp"].steps)
    report = json.loads((run / "report.json").read_text())
    assert report["selection"]["on"] == "training"  # no validation set
    assert all(s["n_active"] <= 15 for s in report["selection"]["selected"])


def _unconverged_reported(tmp_path, data, solvers, labels) -> dict:
    """Fit ``solvers``; check that each of ``labels`` has unconverged steps, in one warning
    with their count and in report.md's "ended early" column; return report.json."""
    config = tiny_config(tmp_path, data, solvers=solvers)
    assert fit(config, tmp_path / "run") == EXIT_OK
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    warned = [line.split("WARNING ", 1)[-1] for line in
              (tmp_path / "run" / "acefit.log").read_text().splitlines()
              if "without converging" in line]
    md = (tmp_path / "run" / "report.md").read_text()
    for label, line in zip(labels, warned, strict=True):
        s = report["solvers"][label]
        assert s["unconverged"] > 0
        assert line == (f"solver {label}: {s['unconverged']} of {s['n_checkpoints']} steps "
                        "stopped at max_iter without converging (their coefficients are "
                        "approximate; raise max_iter)")
        assert (f"| {s['unconverged']} of {s['n_checkpoints']} steps unconverged "
                "(max_iter reached) |") in md
    return report


def test_unconverged_bayesian_fits_are_logged_and_reported(tmp_path, small_data):
    """blr's fixed point, and the ard fits of a sweep, that hit max_iter say so as cd/ista's
    steps do: a blr fit's info["converged"] False was reported nowhere, and a sweep said only
    its last fit's, as the path having "ended early"."""
    solvers = ["{name: blr, max_iter: 1}",
               "{name: blr, label: blr_apriori, sizes: 2, max_iter: 1}",
               "{name: ard, sizes: [5, 10], max_iter: 2}"]
    report = _unconverged_reported(tmp_path, small_data, solvers, ("blr", "blr_apriori", "ard"))
    for s in report["solvers"].values():
        assert s["unconverged"] == s["n_checkpoints"] and s["stop"] is None


def test_unconverged_lasso_steps_are_logged_and_reported(tmp_path, small_data):
    """A cd/ista step that stopped at max_iter says so: one warning per path with the
    count, and the report's "ended early" column (solver audit S, findings 1 and 4)."""
    solvers = ["{name: cd, max_active: 12, n_lams: 6, max_iter: 1}",
               "{name: ista, max_active: 12, n_lams: 6, max_iter: 1}"]
    report = _unconverged_reported(tmp_path, small_data, solvers, ("cd", "ista"))
    for label in ("cd", "ista"):
        s = report["solvers"][label]
        assert 0 < s["unconverged"] < s["n_checkpoints"]  # lam_max needs no iteration
    # a grid that ended short of max_active says why, in words (finding 3)
    from acefit.report import to_markdown

    report["solvers"]["cd"].update(stop="no_growth", unconverged=0)
    assert ("| the active set stopped growing below the λ grid (over a factor "
            "min(lam_ratio, 1e-3) in λ) |") in to_markdown(report)


def test_min_lambda_above_lambda_max_is_said_to_leave_a_zero_model(tmp_path, small_data):
    """A min_lambda at or above λ_max leaves every checkpoint of a lasso path zero: the log
    said only that the path "ended early, at 0 active functions" because the λ grid "reached
    min_lambda", as if it had been cut short."""
    config = tiny_config(tmp_path, small_data, solvers=[
        "{name: cd, max_active: 10, min_lambda: 1.0e+9}", "{name: asp, min_lambda: 1.0e+9}",
        "{name: omp, max_active: 10}"], extra="export: {formats: [acefit, yace]}\n")
    # the zero models have no .yace: not a format the fit failed to write (exit 1)
    assert fit(config, tmp_path / "run") == EXIT_OK
    assert (tmp_path / "run" / "potential.yace").is_file()
    log = (tmp_path / "run" / "acefit.log").read_text()
    for label in ("cd", "asp"):
        assert (f"solver {label}: every checkpoint is zero, the model E0 and core only: "
                "min_lambda 1e+09 is at or above λ_max") in log
    assert "ended early" not in log


def test_an_ard_path_out_of_moves_at_its_size_is_not_said_to_end_early(tmp_path, small_data):
    """The Zuo ARD paths reach max_active, then refine the model until max_iter: the log
    said "the path ended early, at 1000 active functions" (session 32)."""
    from acefit.checkpoints import read_paths

    for max_iter in (11, 12, 14, 18, 25):
        config = tiny_config(tmp_path, small_data, solvers=[
            f"{{name: ard_path, max_active: 10, max_iter: {max_iter}}}"])
        run = tmp_path / f"run{max_iter}"
        assert fit(config, run) == EXIT_OK
        last = read_paths(run / "paths.h5", require_complete=True)["ard_path"].steps[-1]
        log = (run / "acefit.log").read_text()
        if last.info.get("stop") == "max_iter" and last.n_active == 10:
            assert "solver ard_path: the path reached max_active (10 functions), then the " \
                "iteration limit (max_iter) before ARD converged" in log
            assert "ended early" not in log
            # and report.md's "ended early" column says the same (it gave the plain max_iter)
            assert "| none: it reached max_active, then the iteration limit (max_iter) " \
                "before ARD converged" in (run / "report.md").read_text()
            return
    pytest.fail("no ard_path reached max_active and then max_iter")


def test_apriori_path_over_smaller_total_degrees(tmp_path, small_data, capsys):
    """`totaldegrees`: the sub-bases of smaller degrees, from the assembled columns; a
    sub-basis that adds nothing stops the run before any path."""
    from acefit.basis.spec import BasisFunction, within_totaldegree
    from acefit.checkpoints import read_paths

    solvers = ["{name: omp, max_active: 10}",
               "{name: rrqr, totaldegrees: [[4], [6, 3]], rtol: [1.0e-9, 1.0e-3]}",
               "{name: blr, totaldegrees: [[5, 4]]}"]
    config = tiny_config(tmp_path, small_data, solvers=solvers)
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    paths = read_paths(run / "paths.h5", require_complete=True)
    functions = [BasisFunction.from_list(f) for f in
                 json.loads((run / "basis_functions.json").read_text())["functions"]]
    masks = [within_totaldegree(functions, d, wL=1.5) for d in ([4], [6, 3], [5, 4])]
    rr = paths["rrqr"].steps
    assert [(s.info["subbasis"], s.info["size"]) for s in rr] == \
        [(0, masks[0].sum()), (0, masks[0].sum()), (1, masks[1].sum()), (1, masks[1].sum())]
    assert masks[0].sum() < masks[1].sum() < len(functions)
    assert all(functions[k].order == 1 for k in np.flatnonzero(masks[0]))   # order 2 left out
    for step in rr:
        assert masks[step.info["subbasis"]][step.active].all()
    assert rr[0].n_active > rr[1].n_active          # the rtols differ
    (b,) = paths["blr"].steps
    assert b.n_active == masks[2].sum() and masks[2][b.active].all()

    bad = tiny_config(tmp_path / "bad", small_data,
                      solvers=["{name: omp, max_active: 10}",
                               "{name: qr, totaldegrees: [[4, 3], [4.2, 3]]}"])
    assert fit(bad, tmp_path / "bad_run") != EXIT_OK
    err = capsys.readouterr().err
    assert "totaldegrees[1]" in err and "adds no function" in err
    assert not (tmp_path / "bad_run" / "paths.h5").exists()
    assert not (tmp_path / "bad_run" / "cache").exists()       # found before assembly
    # ... so the corrected config reuses the directory without --force
    bad.write_text(bad.read_text().replace("[4.2, 3]]}", "[6, 3]], lam: 1.0e-6}"))
    assert fit(bad, tmp_path / "bad_run") == EXIT_OK


def test_config_type_weights_may_give_some_of_e_f_v(tmp_path, small_data, capsys):
    """`data.weights.config_type: {strain: {V: 0}}` keeps the default E and F of strain
    frames, in the plan and in the fit (acefit 0.3.0 stopped both with "error: 'E'")."""
    config = tiny_config(tmp_path, small_data, extra="")
    config.write_text(config.read_text().replace(
        "  validation: {fraction: 0.2, seed: 1}\n",
        "  validation: {fraction: 0.2, seed: 1}\n"
        "  weights: {config_type: {strain: {V: 0.0}}}\n"))
    from acefit.config import load_config
    from acefit.plan import plan

    p = plan(load_config(config))
    assert 0 < p["rows"]["train"]["V"] < p["rows"]["train_all"]["V"]   # strain stresses out
    assert p["rows"]["train"]["E"] == p["rows"]["train_all"]["E"]       # their energies in
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    report = json.loads((run / "report.json").read_text())
    assert report["assembly"]["row_counts"] == p["rows"]["train"]


def test_plan_counts_what_the_fit_then_assembles(tmp_path, small_data, capsys):
    """`acefit fit --plan` reads the data and builds the basis only; its counts are the
    fit's. Stress rows of weight 0 are left out of the fit but kept for the errors."""
    config = tiny_config(tmp_path, small_data)
    config.write_text(config.read_text().replace(
        "  validation: {fraction: 0.2, seed: 1}\n",
        "  validation: {fraction: 0.2, seed: 1}\n  weights: {default: {E: 30.0, F: 1.0, V: 0.0}}\n"))
    run = tmp_path / "run"
    assert main(["fit", str(config), "-o", str(run), "--plan"]) == EXIT_OK
    out = capsys.readouterr().out
    assert not run.exists()                      # nothing assembled, nothing written
    from acefit.config import load_config
    from acefit.plan import plan

    p = plan(load_config(config))
    assert fit(config, run) == EXIT_OK
    report = json.loads((run / "report.json").read_text())
    assert p["rows"]["train"] == report["assembly"]["row_counts"]
    assert sum(p["rows"]["train"].values()) == report["assembly"]["rows"]
    assert p["rows"]["train"]["V"] == 0 < p["rows"]["train_all"]["V"]
    assert p["configs"] == report["data"]["n_configs"] and p["atoms"] == report["data"]["n_atoms"]
    assert p["basis"]["n_functions"] == report["basis"]["n_functions"]
    n = p["basis"]["n_functions"]
    assert p["bytes"]["reduced_system"] == 8 * n * n
    assert p["bytes"]["val_rows"] == 8 * n * sum(p["rows"]["val"].values()) > 0
    assert out.startswith("Plan for run 'tiny' (nothing assembled):")
    counts = "/".join(str(p["rows"]["train"][k]) for k in "EFV")
    assert f"- training rows in the fit: {report['assembly']['rows']} (E/F/V {counts}); " \
           f"{p['rows']['train_all']['V']} more with zero weight" in out
    assert f"- basis: {n} functions (" in out and "(kept: within output.train_rows_gib" in out
    # data the fit would stop at stop the plan, with the fit's message
    config.write_text(config.read_text().replace("elements: [Cu, Au]", "elements: [Cu]"))
    assert main(["fit", str(config), "-o", str(tmp_path / "cu"), "--plan"]) != EXIT_OK
    err = capsys.readouterr().err
    assert "frame" in err and "element(s) Au not in the basis (basis elements: Cu): add them " \
        "to basis.elements" in err
    line = config.read_text().splitlines().index("  elements: [Cu]") + 1
    assert f"{config}:{line}: basis.elements:" in err         # the key to change, and where
    # the fit stops there too, before the assembly, so the corrected config reuses the run
    assert fit(config, tmp_path / "cu") != EXIT_OK
    assert "element(s) Au not in the basis" in capsys.readouterr().err
    assert json.loads((tmp_path / "cu" / "run.json").read_text())["status"] == "invalid"
    assert not (tmp_path / "cu" / "cache").exists()
    config.write_text(config.read_text().replace("elements: [Cu]", "elements: [Cu, Au]"))
    assert fit(config, tmp_path / "cu") == EXIT_OK


def test_apriori_patience_stops_the_path_where_validation_stops_improving(tmp_path, small_data):
    """`patience` ends an a-priori path once the validation loss has stopped falling: the
    steps are those of the same path without it, up to the size it stops at."""
    from acefit.checkpoints import read_paths

    solvers = ["{name: omp, max_active: 10}",
               "{name: qr, label: every, lam: 0.0, sizes: 20}",
               "{name: qr, label: early, lam: 0.0, sizes: 20, patience: 1}"]
    config = tiny_config(tmp_path, small_data, solvers=solvers)
    run = tmp_path / "run"
    assert fit(config, run, "-v") == EXIT_OK
    paths = read_paths(run / "paths.h5", require_complete=True)
    every, early = paths["every"].steps, paths["early"].steps
    errors = [s.val_error for s in every]
    first_worse = next(i for i in range(1, len(errors)) if errors[i] >= min(errors[:i]))
    assert first_worse < len(every) - 1      # this data stops the path early
    assert len(early) == first_worse + 1
    for a, b in zip(early, every):
        np.testing.assert_array_equal(a.coef, b.coef)
    assert early[-1].info["stop"] == "patience"
    report = json.loads((run / "report.json").read_text())
    assert report["solvers"]["early"]["stop"] == "patience"
    assert report["solvers"]["every"]["stop"] is None
    md = (run / "report.md").read_text()
    assert f"| early | qr | {len(early)} |" in md and "| patience |" in md
    log = (run / "acefit.log").read_text()
    assert f"solver early: stopped at size {early[-1].info['size']}, after 1 sizes" in log


def test_tsvd_debiasing_by_validation_on_every_kth_size(tmp_path, small_data):
    """debias: tsvd chooses each truncation by the validation error; debias_every keeps
    the first step of each active-set size divisible by k, and the path's last step."""
    from acefit.checkpoints import read_paths
    from acefit.solvers.debias import DEFAULT_RTOLS

    solvers = ["{name: asp, max_active: 12, debias: tsvd, debias_every: 4}",
               "{name: omp, max_active: 13, debias: ls, debias_every: 3}",
               "{name: asp, label: asp_rank, max_active: 12, debias: tsvd, debias_every: 4, "
               "tsvd_truncation: rank}"]
    config = tiny_config(tmp_path, small_data, solvers=solvers)
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    paths = read_paths(run / "paths.h5", require_complete=True)
    sizes = [s.n_active for s in paths["asp"].steps]
    assert sizes == sorted(set(sizes)) and set(sizes) == {0, 4, 8, 12}
    assert all(s.info["selected_by"] == "validation" for s in paths["asp"].steps[1:])
    assert [s.n_active for s in paths["omp"].steps] == [0, 3, 6, 9, 12, 13]  # and the last
    # every rank: the same active sets, each refit at least as good on validation
    ranked = paths["asp_rank"]
    assert ranked.params["acefit"]["config"]["tsvd_truncation"] == "rank"
    assert paths["asp"].params["acefit"]["config"]["tsvd_truncation"] == "thresholds"
    for a, b in zip(paths["asp"].steps[1:], ranked.steps[1:], strict=True):
        np.testing.assert_array_equal(a.active, b.active)
        assert b.val_error <= a.val_error * (1 + 1e-12)
        assert a.info["rtol"] in DEFAULT_RTOLS and b.info["rtol"] not in DEFAULT_RTOLS


def test_validate_a_fitted_run(tmp_path, small_data, capsys):
    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    settings = tmp_path / "settings.yaml"
    settings.write_text("md_steps: 20\nnve_steps: 20\nmax_md_configs: 1\nproperties: false\n")
    capsys.readouterr()
    assert main(["validate", str(run), "--settings", str(settings), "--structures",
                 str(small_data / "test.xyz"), "--no-progress"]) == EXIT_OK
    assert (run / "validation.md").is_file() and (run / "validation.json").is_file()
    report = json.loads((run / "validation.json").read_text())
    assert report["md"] and all(r["stable"] and r["steps_done"] == 20 for r in report["md"])
    assert report["nve"] and all(r["stable"] for r in report["nve"])
    # data.e0: fit and no isolated atom: the dimers' absolute energies are not the data's,
    # as the fit's report and the potential's validation say (session 38)
    separated = {"e0": "fit", "elements": ["Cu", "Au"]}
    assert report["separated_atoms"] == separated
    assert "The separated atoms' energy of Cu, Au is not constrained by the data" in \
        (run / "validation.md").read_text()
    fitted = json.loads((run / "report.json").read_text())
    assert fitted["e0"]["separated_atoms"] == separated
    md = (run / "report.md").read_text()
    assert "no isolated-atom frame pins Cu, Au" in md
    assert "the shape of the dimer curves, and so the repulsive-core verdict, is" in next(
        line for line in md.splitlines() if line.startswith("Dimers of the headline"))
    settings.write_text("md_stepz: 20\n")     # a bad settings file exits 2 (session 33)
    assert main(["validate", str(run), "--settings", str(settings)]) == EXIT_CONFIG
    assert "md_stepz" in capsys.readouterr().err
    settings.write_text("md_steps: [20\n")
    assert main(["validate", str(run), "--settings", str(settings)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"{settings}: not valid YAML: line 2, column 1: expected ',' or ']'" in err
    assert "unicode string" not in err      # not the parser's own context lines
    assert main(["validate", str(run), "--structures", str(tmp_path / "none.xyz")]) == \
        EXIT_CONFIG     # a path the command line names that does not exist
    assert f"structures file {tmp_path / 'none.xyz'} does not exist" in capsys.readouterr().err
    assert main(["validate", str(tmp_path / "no_run")]) == EXIT_CONFIG
    assert f"potential file {tmp_path / 'no_run'} does not exist" in capsys.readouterr().err


def test_force_errors_per_element_need_two_elements_and_the_kept_training_rows(caplog,
                                                                               monkeypatch):
    import logging
    from types import SimpleNamespace

    from acefit.pipeline import selected_errors_by_element

    step = SimpleNamespace(coef=np.zeros(3))
    paths = {"omp": SimpleNamespace(steps=[step])}
    chosen = [{"label": "omp", "step": 0}]
    system = SimpleNamespace(val=None, test=None, train_rows=None)
    data = SimpleNamespace(train=[], val=[], test=[])
    one = SimpleNamespace(elements=["Cu"])
    assert selected_errors_by_element(system, paths, chosen, data, one) == []
    monkeypatch.setattr(logging.getLogger("acefit"), "propagate", True)
    with caplog.at_level("INFO", logger="acefit"):
        entries = selected_errors_by_element(system, paths, chosen, data,
                                             SimpleNamespace(elements=["Cu", "Au"]))
    assert entries == [{"train": None, "val": None, "test": None}]
    assert "its rows were not kept (output.train_rows_gib)" in caplog.text


def test_training_errors_from_kept_rows_and_on_two_workers_equal_the_in_process_ones(
        tmp_path, small_data, caplog, monkeypatch):
    pytest.importorskip("distributed")
    import dataclasses
    import logging

    from acefit.compare import load_run
    from acefit.config import load_config
    from acefit.checkpoint_errors import evaluate_errors
    from acefit.pipeline import assemble_system, build_basis, load_data

    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 12}"])
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    cfg = load_config(config)
    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    system = assemble_system(cfg, data, basis, run / "cache")
    assert system.cache_hit and system.train_rows is not None   # the run's errors read them
    paths = load_run(run).paths
    kept = json.loads((run / "errors" / "omp.json").read_text())["steps"]
    evaluated = dataclasses.replace(system, train_rows=None)
    one = evaluate_errors(paths, evaluated, basis, data, tmp_path / "errors1", n_workers=1)["omp"]
    two = evaluate_errors(paths, evaluated, basis, data, tmp_path / "errors2", n_workers=2)["omp"]
    assert len(two) == len(one) == len(kept) == 13
    for a, b, c in zip(one, two, kept):
        assert a["train"]["all"]["F"]["n"] == b["train"]["all"]["F"]["n"] > 0
        assert set(a["train"]["by_config_type"]) == set(b["train"]["by_config_type"])
        assert c["train"]["by_config_type"].keys() == a["train"]["by_config_type"].keys()
        for q in ("E", "F", "S"):
            for stat in ("mae", "rmse"):
                assert b["train"]["all"][q][stat] == pytest.approx(
                    a["train"]["all"][q][stat], rel=1e-9, abs=1e-12)
                assert c["train"]["all"][q][stat] == pytest.approx(
                    a["train"]["all"][q][stat], rel=1e-12, abs=1e-14)
        assert b["test"] == a["test"] == c["test"]
    # kept rows that vanished (another run replaced them): evaluated again, same numbers
    gone = dataclasses.replace(system, train_rows=(tmp_path / "gone.h5",))
    monkeypatch.setattr(logging.getLogger("acefit"), "propagate", True)  # the CLI turned it off
    with caplog.at_level("INFO", logger="acefit"):
        again = evaluate_errors(paths, gone, basis, data, tmp_path / "errors3")["omp"]
    assert [e["train"] for e in again] == [e["train"] for e in one]
    assert "could not be read" in caplog.text and "(training rows evaluated again)" in caplog.text


def test_one_body_functions_absorb_the_reference_energies(tmp_path, small_data):
    """Total energies with isolated-atom references in them (-4 eV per Cu, -3 eV per Au)
    and no E0 subtracted: OMP selects both one-body functions, and the potential
    carries them to ASE."""
    import ase.io

    from acefit.calculator import ACECalculator
    from acefit.potential import Potential

    shift = {29: -4.0, 79: -3.0}
    data = tmp_path / "shifted"
    data.mkdir()
    for name in ("train.xyz", "test.xyz"):
        frames = ase.io.read(small_data / name, ":")
        for atoms in frames:
            atoms.calc.results["energy"] += sum(shift[z] for z in atoms.numbers)
        ase.io.write(data / name, frames)
    maes = {}
    for one_body in (True, False):
        config = tiny_config(tmp_path, data, solvers=["{name: omp, max_active: 12}"],
                             name=f"one_body_{one_body}.yaml")
        text = config.read_text().replace("seed: 1}\n", "seed: 1}\n  e0: zero\n")
        config.write_text(text.replace("rcut: 4.5\n", f"rcut: 4.5\n  one_body: {one_body}\n"))
        run = tmp_path / f"run_{one_body}"
        assert fit(config, run) == EXIT_OK
        report = json.loads((run / "report.json").read_text())
        maes[one_body] = report["selection"]["selected"][0]["errors"]["test"]["all"]["E"]["mae"]
        if not one_body:
            assert "one_body_eV" not in report["selection"]["selected"][0]
            continue
        pot = Potential.load(run / "potential.h5")
        assert pot.e0 == {"Au": 0.0, "Cu": 0.0}
        # the report names the fitted one-body energies of every selected potential
        record = report["selection"]["selected"][0]
        k = {f.centre: i for i, f in enumerate(pot.basis.functions) if f.kind == "onebody"}
        assert record["one_body_eV"] == {"Cu": pot.coefficients[k[29]],
                                         "Au": pot.coefficients[k[79]]}
        assert f"Cu {pot.coefficients[k[29]]:+.4f} eV/atom" in (run / "report.md").read_text()
        # both are active (their split with the basis is not unique: pair functions
        # summed over neighbours are close to a per-atom constant in dense phases)
        assert sum(f.kind == "onebody" for f in pot.basis.functions) == 2
        calc = ACECalculator(pot)
        frames = ase.io.read(data / "test.xyz", ":")
        mae = np.mean([abs(calc.get_potential_energy(a.copy()) - a.get_potential_energy())
                       / len(a) for a in frames]) * 1e3
        assert mae == pytest.approx(maes[True], rel=1e-6)
    assert maes[True] < 0.75 * maes[False]  # measured: 13.2 against 23.0 meV/atom


def test_a_shared_cache_is_pruned_to_output_cache_gib(tmp_path, small_data):
    """Runs sharing a cache folder: a run with output.cache_gib 0 deletes what only
    other runs used, keeps its own entries, and its rerun reads them back."""
    shared = tmp_path / "shared_cache"
    solvers = ["{name: omp, max_active: 8}"]

    def entries():   # the cache's entries (its .lock-<key> files are not)
        return {p.name for p in shared.iterdir() if not p.name.startswith(".lock-")}

    def run(name, degrees, cap):
        config = tiny_config(tmp_path, small_data, solvers=solvers, degrees=degrees,
                             name=f"{name}.yaml",
                             extra=f"output: {{cache: {shared}, cache_gib: {cap}}}\n")
        assert fit(config, tmp_path / name, "--force") == EXIT_OK
        log = (tmp_path / name / "acefit.log").read_text()
        return log[log.rindex(": run '"):]          # this run's part of the log

    run("first", "[6, 4]", "null")
    first = entries()
    for name in first:                          # the first run was an hour ago
        os.utime(shared / name, (time.time() - 3600,) * 2)
    assert {n.split("-")[0] for n in first} == {"train", "rows", "trainrows"}
    log = run("second", "[5, 3]", 0)
    second = entries()
    assert not first & second and second
    assert f"removed {len(first)} least recently used file(s)" in log
    assert "above output.cache_gib 0, in files this run uses" in log
    log = run("second", "[5, 3]", 0)           # its own entries are still there
    assert "from the cache" in log and "removed" not in log
    assert entries() == second
    # entries another run used in the last half hour stay: it may still be reading them
    run("third", "[4, 3]", "null")
    third = entries() - second
    for name in third:
        os.utime(shared / name, (time.time() - 600,) * 2)
    run("second", "[5, 3]", 0)
    assert third <= entries()


def test_config_entries_the_data_cannot_serve(tmp_path, small_data, capsys):
    """Found by review: each of these finished with exit 0 and a silently wrong fit."""
    def run(name, solvers=None):
        config = tiny_config(tmp_path / name, small_data, solvers=solvers)
        code = fit(config, tmp_path / name / "run")
        return code, capsys.readouterr().err

    # a label key set on purpose that is in no frame: a typo, not a dataset without forces
    config = tiny_config(tmp_path / "forces", small_data)
    config.write_text(config.read_text().replace(
        "  validation:", "  keys: {forces: force}\n  validation:"))
    assert fit(config, tmp_path / "forces" / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    # at its config line, as every other config problem
    assert "tiny.yaml:4: data.keys.forces: key 'force' is in no frame" in err
    assert "train.xyz" in err and "calculator results: energy, forces, stress" in err
    # an empty data file: its key and line too
    (tmp_path / "empty.xyz").write_text("")
    config = tiny_config(tmp_path / "empty", small_data)
    config.write_text(config.read_text().replace(str(small_data / "test.xyz"),
                                                 str(tmp_path / "empty.xyz")))
    assert fit(config, tmp_path / "empty" / "run") == EXIT_CONFIG
    assert (f"tiny.yaml:3: data.test: no configurations in {tmp_path / 'empty.xyz'}: the "
            "file is empty") in capsys.readouterr().err
    # a selection metric of a quantity the validation data lack: nothing would be exported
    config = tiny_config(tmp_path / "metric", small_data)
    config.write_text(config.read_text().replace("  validation:", "  keys: {forces: null}\n"
                                                 "  validation:").replace(
        "budgets: [10]}", "budgets: [10], metric: forces_mae}"))
    assert fit(config, tmp_path / "metric" / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "selection.metric: found 'forces_mae'" in err and "no forces" in err
    # the corrected config may reuse the directory: nothing was computed there
    config.write_text(config.read_text().replace("metric: forces_mae", "metric: energy_mae"))
    assert fit(config, tmp_path / "metric" / "run") == EXIT_OK
    capsys.readouterr()
    # ARD targets beyond the basis fail before assembly, naming the key
    code, err = run("ard", solvers=["{name: ard, sizes: [5000]}"])
    assert code == EXIT_CONFIG and "solvers[0].sizes: found 5000" in err
    assert not (tmp_path / "ard" / "run" / "cache").exists()
    # a weight for a config_type that is in no data file: a typo, refused before the
    # assembly with its line (it was a warning, and the run went on: found by a user)
    config = tiny_config(tmp_path / "weights", small_data,
                         solvers=["{name: omp, max_active: 5000}"])
    config.write_text(config.read_text().replace(
        "  validation:", "  weights: {config_type: {surfce: {E: 100}}}\n  validation:"))
    assert fit(config, tmp_path / "weights" / "run2", "-v") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert (f"{config.resolve()}:{_line_of(config, 'surfce')}: data.weights.config_type.surfce: "
            "found the config_type 'surfce' (did you mean 'surface'?), which no "
            "configuration of the training, validation or test data has; allowed: 'md', "
            "'strain', 'surface', 'vacancy'") in err
    assert not (tmp_path / "weights" / "run2" / "cache").exists()
    # ... and budgets beyond the basis (the corrected config reuses the directory)
    config.write_text(config.read_text().replace("surfce", "surface"))
    assert fit(config, tmp_path / "weights" / "run2", "-v") == EXIT_OK
    log = (tmp_path / "weights" / "run2" / "acefit.log").read_text()
    assert "solvers[0].max_active 5000: more than the" in log
    # a cutoff no two atoms are within (found by fuzzing: a 0-function fit, exit 0)
    config = tiny_config(tmp_path / "rcut", small_data, rcut="1.5")
    config.write_text(config.read_text().replace("rcut: 1.5", "rcut: 1.5\n  r0: 1.0"))
    assert fit(config, tmp_path / "rcut" / "run") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "basis.rcut: found 1.5, and no two atoms of the training data are that close" in err
    assert f"{config.resolve()}:{_line_of(config, 'rcut: 1.5')}: basis.rcut: found 1.5" in err
    assert not (tmp_path / "rcut" / "run" / "cache").exists()
    # a cutoff of hundreds of shells: an allocation failure deep in the neighbour search
    config = tiny_config(tmp_path / "far", small_data, rcut="1000.0")
    assert fit(config, tmp_path / "far" / "run", "--plan") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "basis.rcut: found 1000.0, which puts about" in err and "train.xyz" in err
    # ... and a pair's cutoff within none of its distances: its functions see nothing
    config = tiny_config(tmp_path / "pair", small_data,
                         rcut="{Cu-Cu: 4.5, Au-Au: 4.5, Cu-Au: 2.1}")
    config.write_text(config.read_text().replace("rcut: {", "r0: 1.5\n  rcut: {"))
    assert fit(config, tmp_path / "pair" / "run", "-v") == EXIT_OK
    log = (tmp_path / "pair" / "run" / "acefit.log").read_text()
    assert "no Cu-Au pair of the training data is within its cutoff 2.1 Å" in log


def emt_frames(symbols, seed=0, a=3.7, repeat=(2, 1, 1)):
    """Rattled fcc cells labelled by ASE's EMT (energy, forces, stress), one per entry of
    ``symbols``: a list of each cell's element symbols (4 per conventional cell)."""
    from ase.build import bulk
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator

    out = []
    for k, names in enumerate(symbols):
        atoms = bulk("Cu", "fcc", a=a, cubic=True).repeat(repeat)
        atoms.set_chemical_symbols(list(names))
        atoms.rattle(0.1, seed=seed + k)
        atoms.calc = EMT()
        labels = {"energy": atoms.get_potential_energy(), "forces": atoms.get_forces(),
                  "stress": atoms.get_stress()}
        atoms.calc = SinglePointCalculator(atoms, **labels)
        out.append(atoms)
    return out


def test_elements_and_pairs_the_training_data_never_show_are_named(tmp_path, capsys):
    """Found with a ternary data set: an element of basis.elements in no training
    configuration (its functions unfitted, its fitted E0 the least-squares minimum norm,
    0), or two elements that never come within a cutoff of each other (Au only in pure Au
    cells: the Cu-Au and Ni-Au functions unfitted) passed without a word, and the test
    errors of configurations that mix them were those of an unfitted model."""
    import ase.io

    rng = np.random.default_rng(0)
    mixed = [rng.choice(["Cu", "Ni"], 8) for _ in range(6)]
    train = emt_frames(mixed + [["Au"] * 8] * 2)
    ase.io.write(tmp_path / "train.xyz", train)
    ase.io.write(tmp_path / "test.xyz", emt_frames(mixed[:2], seed=50))
    config = tiny_config(tmp_path, tmp_path, degrees="[4, 2]")
    config.write_text(config.read_text().replace("[Cu, Au]", "[Cu, Ni, Au, Pd]"))
    assert fit(config, tmp_path / "run", "--plan") == EXIT_OK
    err = capsys.readouterr().err
    assert "basis.elements: no training configuration holds Pd, so" in err
    assert "no Cu-Au pair of the training data is within the cutoff 4.5 Å" in err
    assert "no Ni-Au pair of the training data is within the cutoff 4.5 Å" in err
    for fitted in ("Cu-Ni", "Ni-Cu", "Cu-Cu", "Ni-Ni", "Au-Au", "-Pd", "Pd-"):
        assert f"{fitted} pair" not in err, fitted
    assert "functions centred on" not in err    # each element present has rows enough


def test_an_r0_far_below_the_training_distances_is_warned_of(tmp_path, small_data, capsys):
    """A pair's r0 given as 0.272 Å for 2.72 (a user's decimal slip) passed without a
    word and made the test errors 16-31x worse. A given r0 below half its pair's shortest
    training distance is warned of; the default r0 and one near the bond are not."""
    config = tiny_config(tmp_path, small_data)
    assert fit(config, tmp_path / "run", "--plan", "--set", "basis.r0={Cu-Au: 0.272}") == EXIT_OK
    err = capsys.readouterr().err
    assert "basis.r0: Cu-Au has r0 0.272 Å, below 0.5 of the pair's shortest training " \
           "distance (" in err and "decimal-point slip" in err
    assert "Cu-Cu has r0" not in err and "Au-Au has r0" not in err
    for fine in ("null", "{Cu-Au: 2.72}", "2.5"):
        assert fit(config, tmp_path / "run", "--plan", "--set", f"basis.r0={fine}") == EXIT_OK
        assert "basis.r0:" not in capsys.readouterr().err, fine
    # a pair no training configuration brings together has no shortest distance: no word
    # of r0 (it quoted '(inf Å)'), the element's own warning only
    assert fit(config, tmp_path / "run", "--plan", "--set", "basis.r0=2.5",
               "--set", "basis.elements=[Cu, Au, Ag]") == EXIT_OK
    err = capsys.readouterr().err
    assert "basis.r0:" not in err and "no training configuration holds Ag" in err


def test_a_held_out_element_without_training_data_gets_held_out_advice(tmp_path, small_data,
                                                                       capsys):
    """An element of the test data only: adding it to basis.elements (the training
    data's advice) gives unfitted functions that score it; the advice for held-out data
    is to leave the frames out or to add training data with it."""
    import ase.io

    frames = ase.io.read(small_data / "test.xyz", ":")
    frames[1][0].symbol = "Ag"
    ase.io.write(tmp_path / "test_ag.xyz", frames)
    config = tiny_config(tmp_path, small_data)
    config.write_text(config.read_text().replace(str(small_data / "test.xyz"),
                                                 str(tmp_path / "test_ag.xyz")))
    assert fit(config, tmp_path / "run", "--plan") == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "test_ag.xyz, frame 1: element(s) Ag not in the basis" in err
    assert ("leave these configurations out of the file, or add training configurations "
            "with them and add them to basis.elements") in err
    # with Ag in the basis but in no training configuration: scored by unfitted functions,
    # which was said of the basis only, not of the test frames
    assert fit(config, tmp_path / "run", "--plan", "--set",
               "basis.elements=[Cu, Au, Ag]") == EXIT_OK
    assert ("1 test configuration(s) hold Ag, which no training configuration has (first: "
            f"{tmp_path / 'test_ag.xyz'}, frame 1): unfitted functions score them, and their "
            "errors enter the test errors; leave them out of the file, or add training "
            "configurations with it") in capsys.readouterr().err


def test_a_potential_records_the_elements_it_had_no_data_of(tmp_path, capsys):
    """Walk-through H, finding M2: with Pd in basis.elements but in no configuration,
    the fit warned once, but its potential "predicted" Pd silently (E0, forces 0), and
    report.md called the Pd pairs' dimers cored (the core repulsion alone acts). The
    potentials record the element; the calculator, evaluate and report say so."""
    import re
    import warnings

    import ase.io

    from acefit.calculator import ACECalculator
    from acefit.potential import Potential, UnfittedElementWarning

    rng = np.random.default_rng(0)
    mixed = [rng.choice(["Cu", "Ni", "Au"], 8) for _ in range(8)]
    ase.io.write(tmp_path / "train.xyz", emt_frames(mixed))
    ase.io.write(tmp_path / "test.xyz", emt_frames(mixed[:2], seed=50))
    config = tiny_config(tmp_path, tmp_path, degrees="[4, 2]", extra=(
        "repulsion: {kind: zbl, inner: 0.9, outer: 1.8}\nexport: {formats: [acefit]}\n"))
    config.write_text(config.read_text().replace("[Cu, Au]", "[Cu, Ni, Au, Pd]"))
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    capsys.readouterr()
    potential = Potential.load(run / "potential.h5")
    assert potential.unfitted_elements == ["Pd"]
    dimers = next(line for line in (run / "report.md").read_text().splitlines()
                  if line.startswith("Dimers of the headline potential"))
    for pair in ("Cu-Pd", "Ni-Pd", "Au-Pd", "Pd-Pd"):
        name = pair if pair in dimers else "-".join(reversed(pair.split("-")))
        assert re.search(rf"{name} [^,]* eV at 0.5 Å \(no training data\)", dimers), dimers
    assert dimers.count("(no training data)") == 4
    pd = emt_frames([["Pd", "Cu"] * 4], seed=7)[0]
    pd.calc = ACECalculator(potential)
    with pytest.warns(UnfittedElementWarning, match="atoms of Pd"):
        pd.get_potential_energy()
    # acefit export of a checkpoint, and acefit evaluate of data with Pd
    assert main(["export", str(run), "--budget", "10", "-o", str(tmp_path / "exp")]) \
        == EXIT_OK
    assert Potential.load(tmp_path / "exp.h5").unfitted_elements == ["Pd"]
    ase.io.write(tmp_path / "pd.xyz", emt_frames([["Pd", "Cu"] * 4], seed=7))
    capsys.readouterr()
    with warnings.catch_warnings():     # the line, whatever filter -W or PYTHONWARNINGS set
        warnings.simplefilter("always", UnfittedElementWarning)
        assert main(["evaluate", str(run / "potential.h5"), "--data",
                     str(tmp_path / "pd.xyz")]) == EXIT_OK
    err = capsys.readouterr().err
    assert "warning: atoms of Pd: the potential's fit had no training data of Pd" in err
    assert "UnfittedElementWarning" not in err


@pytest.mark.parametrize("action", ["ignore", "error"])
def test_the_unfitted_element_line_is_shown_whatever_the_warnings_filters(
        tmp_path, capsys, action):
    """Found by review (session 38): the commands showed a potential's notice of atoms it
    has no fit of through the warnings machinery, so PYTHONWARNINGS=ignore (or -W ignore)
    hid it, and PYTHONWARNINGS=error ended evaluate with exit 1. The commands log it
    themselves; the Python API still warns (UnfittedElementWarning)."""
    import warnings

    import ase.io

    from acefit import ACEBasis
    from acefit.potential import Potential, UnfittedElementWarning

    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[4, 2], rcut=4.0)
    pot = Potential(basis, np.full(len(basis), 1e-3), unfitted_elements=["Au"])
    pot.save(tmp_path / "pot.h5")
    ase.io.write(tmp_path / "au.xyz", emt_frames([["Au", "Cu"] * 4], seed=7))
    settings = tmp_path / "settings.yaml"
    settings.write_text("properties: false\nmd_steps: 2\nnve_steps: 0\n")
    line = "warning: atoms of Au: the potential's fit had no training data of Au"
    for argv in (["evaluate", str(tmp_path / "pot.h5"), "--data", str(tmp_path / "au.xyz")],
                 ["validate", str(tmp_path / "pot.h5"), "--settings", str(settings),
                  "-o", str(tmp_path / "out")]):
        with warnings.catch_warnings():
            warnings.simplefilter(action)       # what PYTHONWARNINGS=<action> sets
            assert main(argv + ["--no-progress"]) == EXIT_OK, argv
        err = capsys.readouterr().err
        assert err.count(line) == 1 and "UnfittedElementWarning" not in err, (argv, err)
    with pytest.warns(UnfittedElementWarning, match="atoms of Au"):
        pot.energy_forces_stress(ase.io.read(tmp_path / "au.xyz"))


def test_an_element_with_fewer_rows_than_its_functions_is_named(tmp_path, capsys):
    """A function centred on Au is zero on every row of a configuration without Au: one
    16-atom CuAu frame among pure Cu ones gives 55 rows for the Au-centred functions, which
    cannot determine more than 55 of them; the fit said nothing."""
    import ase.io

    frames = ase.io.read(QUICKSTART / "train.xyz", ":")
    cu = [a for a in frames if set(a.get_chemical_symbols()) == {"Cu"}]
    mixed = next(a for a in frames if "Au" in a.get_chemical_symbols() and len(a) == 16)
    ase.io.write(tmp_path / "train.xyz", cu[:20] + [mixed])
    ase.io.write(tmp_path / "test.xyz", cu[20:25])
    config = tiny_config(tmp_path, tmp_path, degrees="[10, 8]")
    config.write_text(config.read_text().replace(      # the Au frame stays in training
        "{fraction: 0.2, seed: 1}", f"{{file: {tmp_path / 'test.xyz'}}}"))
    assert fit(config, tmp_path / "run", "--plan") == EXIT_OK
    err = capsys.readouterr().err
    au = "basis.elements: the 1 training configuration(s) holding Au give 55 weighted rows, " \
         "fewer than the "
    assert au in err and "functions centred on Au, which only those rows see" in err
    assert "holding Cu" not in err
    config.write_text(config.read_text().replace("[10, 8]", "[4, 2]"))
    assert fit(config, tmp_path / "run2", "--plan") == EXIT_OK
    assert "functions centred on" not in capsys.readouterr().err


def test_a_ternary_fit_keeps_every_element_pair_apart(tmp_path, capsys):
    """Three elements end to end, where two hide pair-indexing slips (a table filled only
    for (0, 1), an order that coincides): the config lists the elements out of order and
    cuts Ni-Au short, so that only Ni-Au loses its interactions beyond 3.2 Å; each
    dimer's energy through potential.h5 says whether its pair's cutoff reached it; the
    reported test MAE is that of potential.h5 through ASE; the .yace (the independent
    reference evaluator) evaluates as potential.h5 on ternary cells; the .lammps lines
    name the .yace's species order and a ZBL line of the right atomic numbers for every
    pair of types, and that ZBL is what potential.h5 adds to the .yace on a close
    dimer of each mixed pair."""
    import re

    import ase.io
    from ase import Atoms

    from acefit.repulsion import zbl_pair

    rng = np.random.default_rng(3)
    train = emt_frames([rng.choice(["Cu", "Ni", "Au"], 8) for _ in range(24)])
    test = emt_frames([rng.choice(["Cu", "Ni", "Au"], 8) for _ in range(5)], seed=100)
    ase.io.write(tmp_path / "train.xyz", train)
    ase.io.write(tmp_path / "test.xyz", test)
    config = tiny_config(tmp_path, tmp_path, rcut="{Au-Ni: 3.2, default: 4.5}",
                         extra="export: {formats: [acefit, yace]}\n"
                               "repulsion: {kind: zbl, inner: 1.0, outer: 1.8}\n")
    config.write_text(config.read_text().replace("[Cu, Au]", "[Au, Cu, Ni]"))
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    capsys.readouterr()
    report = json.loads((run / "report.json").read_text())
    assert report["basis"]["radial"]["rcut"] == {
        "Ni-Ni": 4.5, "Ni-Cu": 4.5, "Ni-Au": 3.2, "Cu-Cu": 4.5, "Cu-Au": 4.5, "Au-Au": 4.5}
    calc, ref = _check_exported(run, report, test, 3)

    def bond(a, b, r):      # a dimer's energy less that of its atoms apart
        def energy(d):
            return calc.get_potential_energy(Atoms(
                [a, b], positions=[[0, 0, 0], [d, 0.3, 0.2]], cell=[20] * 3, pbc=False))
        return energy(r) - energy(10.0)

    for a, b in [("Ni", "Au"), ("Au", "Ni"), ("Cu", "Ni"), ("Cu", "Au"), ("Ni", "Ni"),
                 ("Au", "Au")]:
        cut = {"Au", "Ni"} == {a, b}
        assert (bond(a, b, 3.6) == 0.0) == cut, (a, b)
        assert bond(a, b, 2.6) != 0.0, (a, b)
    lammps = (run / "potential.lammps").read_text()
    species = re.search(r"pair_coeff \* \* pace potential.yace (.*)", lammps).group(1).split()
    assert species == ["Ni", "Cu", "Au"] == ref.elements
    numbers = {k + 1: z for k, z in enumerate((28, 29, 79))}
    lines = {(int(i), int(j)): (int(zi), int(zj)) for i, j, zi, zj in
             re.findall(r"pair_coeff (\d+) (\d+) zbl (\d+) (\d+)", lammps)}
    assert lines == {(i, j): (numbers[i], numbers[j])
                     for i in (1, 2, 3) for j in (1, 2, 3) if i <= j}
    for a, b in [("Ni", "Au"), ("Cu", "Ni"), ("Au", "Cu")]:
        pair = tuple(sorted((species.index(a) + 1, species.index(b) + 1)))
        dimer = Atoms([a, b], positions=[[0, 0, 0], [1.4, 0, 0]], cell=[20] * 3, pbc=False)
        core = zbl_pair(1.4, *lines[pair], 1.0, 1.8)[0]
        assert calc.get_potential_energy(dimer) == pytest.approx(
            ref.get_potential_energy(dimer.copy()) + core, abs=1e-6)


def _line_of(path, text) -> int:
    """The number of the first line of the file ``path`` that holds ``text``."""
    return next(k for k, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_a_second_fit_on_a_live_run_directory_is_refused(tmp_path, small_data, capsys):
    """Two processes on one run directory would both resume it and write the same paths
    (found by review: both exited 0 with a truncated ASP path)."""
    from acefit.run_folder import RunLock

    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    held = RunLock(run)            # another live fit
    try:
        assert fit(config, run) == EXIT_EXISTS
        err = capsys.readouterr().err
        assert f"is in use by another acefit process (PID {os.getpid()})" in err
        assert not (run / "run.json").exists()
    finally:
        held.release()
    assert fit(config, run) == EXIT_OK          # released: the run goes ahead
    # a file system without locks (ENOLCK on some network mounts): the fit goes on unlocked
    import errno
    import fcntl

    def no_locks(handle, op):
        raise OSError(errno.ENOLCK, "No locks available")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(fcntl, "flock", no_locks)
        assert fit(config, run, "--force") == EXIT_OK
    # a directory that is refused keeps no lock file of ours
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert fit(config, foreign) == EXIT_EXISTS
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    capsys.readouterr()
    # a killed run's half-written temporary copies are removed by the next one, those in
    # its cache too (walk-through 3, finding 4: kill -9 in an assembly)
    key = "0123456789abcdef" * 2
    (run / "cache" / f".lock-{key}").touch()
    strays = [run / ".paths.h5.k1ll3d.tmp",
              run / "cache" / f".trainrows-{key}-000001.h5.qve2vrz8.tmp"]
    for stray in strays:
        stray.write_bytes(b"partial")
    assert fit(config, run, "--force") == EXIT_OK
    assert not any(stray.exists() for stray in strays)
    assert f"deleted 1 temporary file(s) of interrupted or killed runs in {run / 'cache'}" \
        in (run / "acefit.log").read_text()


def test_force_sets_aside_the_validation_report_of_the_replaced_potential(tmp_path, small_data,
                                                                           monkeypatch):
    """Found by a walk-through: `acefit validate RUN` writes validation.md/.json beside
    potential.h5; `fit --force` left them beside the new potential, which they do not
    describe."""
    import acefit.pipeline as pipeline
    from acefit.commands import EXIT_INTERRUPTED

    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 8}"])
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    for name in ("validation.md", "validation.json"):
        (run / name).write_text("the replaced potential's\n")

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:    # the replaced run waits in previous-run/
        patch.setattr(pipeline, "assemble_system", interrupt)
        assert fit(config, run, "--force") == EXIT_INTERRUPTED
    for name in ("validation.md", "validation.json"):
        assert not (run / name).exists()
        assert (run / "previous-run" / name).read_text() == "the replaced potential's\n"
    assert fit(config, run) == EXIT_OK
    assert not (run / "validation.md").exists() and not (run / "previous-run").exists()


def test_force_keeps_the_old_run_until_the_new_one_passes_its_checks(tmp_path, small_data,
                                                                   capsys, monkeypatch):
    """Walk-through 3, finding 1: --force deleted the finished run before the new run's
    checks, so a config or data error (or a Ctrl-C while the data were read) left no
    potentials. The old run now stays whole until the checks pass, then waits in
    previous-run/ until its replacement finishes; a folder that is not a run never has
    its files written over."""
    import acefit.pipeline as pipeline
    from acefit.commands import EXIT_INTERRUPTED

    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 8}"])
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    old = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()
           and p.name not in ("acefit.log", ".acefit.lock")}
    assert {"run.json", "potential.h5", "report.md", "paths.h5"} <= set(old)

    def unchanged(folder):
        return all((folder / n).read_bytes() == b for n, b in old.items()) \
            and (folder / "potentials").is_dir() and (folder / "errors").is_dir()

    # the data check fails: nothing of the old run is touched
    assert fit(config, run, "--force", "--set", "basis.elements=[Cu]") != EXIT_OK
    assert "element(s) Au not in the basis" in capsys.readouterr().err
    assert unchanged(run) and not (run / "previous-run").exists()

    def interrupt(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:    # a Ctrl-C while the data are read
        patch.setattr(pipeline, "load_data", interrupt)
        assert fit(config, run, "--force") == EXIT_INTERRUPTED
    assert unchanged(run)
    # a Ctrl-C in the assembly: the checks passed, the old run waits in previous-run/
    for attempt in range(2):    # a second --force keeps the finished run, not the first try
        with monkeypatch.context() as patch:
            patch.setattr(pipeline, "assemble_system", interrupt)
            assert fit(config, run, "--force") == EXIT_INTERRUPTED
        assert unchanged(run / "previous-run") and not (run / "potential.h5").exists()
        state = json.loads((run / "run.json").read_text())
        assert state["status"] == "interrupted" and state["previous_run"] == "previous-run"
    log = (run / "acefit.log").read_text()
    assert f"the finished run replaced is in {run / 'previous-run'} until this run " \
           "finishes" in log and "interrupted (SIGINT); run the same command again" in log
    # the replacement finishes (resumed without --force): previous-run/ goes
    assert fit(config, run) == EXIT_OK
    assert not (run / "previous-run").exists() and (run / "potential.h5").exists()
    assert "previous_run" not in json.loads((run / "run.json").read_text())

    # a folder that is not a run: its files keep their bytes, --force or not
    mine = tmp_path / "mine"
    (mine / "potentials").mkdir(parents=True)
    for name in ("report.md", "potential.h5", "notes.txt"):
        (mine / name).write_text(f"my {name}")
    capsys.readouterr()
    assert fit(config, mine, "--force") == EXIT_EXISTS
    assert "not an acefit run directory (no run.json) and holds files a run would write " \
           "over: potential.h5, potentials, report.md; move them away" \
           in capsys.readouterr().err
    assert all((mine / n).read_text() == f"my {n}"
               for n in ("report.md", "potential.h5", "notes.txt"))
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    assert fit(config, notes) == EXIT_EXISTS
    assert "(it holds notes.txt); pass --force to write the run beside these files (none " \
           "is replaced)" in capsys.readouterr().err
    assert fit(config, notes, "--force") == EXIT_OK
    assert (notes / "notes.txt").read_text() == "mine" and (notes / "potential.h5").exists()


def test_an_interrupted_deletion_of_the_replaced_run_leaves_no_half_run(tmp_path, small_data,
                                                                       monkeypatch, capsys):
    """Session 33: a Ctrl-C while the finished run's replacement deleted previous-run/ left
    part of it there, and the finished run was marked interrupted. The folder is renamed
    to a hidden trash folder first (atomic), the run stays finished, and the next fit
    deletes what is left; a trash folder never blocks a fit."""
    import shutil

    import acefit.run_folder as run_folder
    from acefit.commands import EXIT_INTERRUPTED

    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 8}"])
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    rmtree = shutil.rmtree

    def interrupted(path, *args, **kwargs):     # one file deleted, then the Ctrl-C
        if not Path(path).name.startswith(".acefit-trash-"):
            return rmtree(path, *args, **kwargs)
        next(p for p in Path(path).rglob("*") if p.is_file()).unlink()
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(run_folder.shutil, "rmtree", interrupted)
        assert fit(config, run, "--force") == EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip().splitlines()[-1] == (   # not "... to resume"
        f"acefit: interrupted; the run finished, but deleting {run / 'previous-run'}, the "
        f"run it replaced, was interrupted: the next fit in {run} deletes the rest")
    state = json.loads((run / "run.json").read_text())
    assert state["status"] == "finished" and "previous_run" not in state
    assert (run / "potential.h5").exists() and not (run / "previous-run").exists()
    trash = list(run.glob(".acefit-trash-*"))
    assert len(trash) == 1 and (trash[0] / "run.json").exists()
    assert "deleting " + str(run / "previous-run") + ", the run it replaced, was " \
           "interrupted: the next fit in" in (run / "acefit.log").read_text()
    # an older acefit's half-deleted previous-run/, named by no run.json, goes too
    (run / "previous-run" / "potentials").mkdir(parents=True)
    assert fit(config, run, "--force") == EXIT_OK
    assert not list(run.glob(".acefit-trash-*")) and not (run / "previous-run").exists()
    # a folder holding only a trash folder is no foreign folder: the fit runs, and deletes it
    other = tmp_path / "other"
    (other / ".acefit-trash-0123456789ab" / "errors").mkdir(parents=True)
    assert fit(config, other) == EXIT_OK
    assert not list(other.glob(".acefit-trash-*"))


def test_an_e0_table_may_hold_elements_the_basis_lacks(tmp_path, small_data, capsys):
    """Session 33: one E0 table serves fits of subsets of its elements. An element that the
    basis lacks was refused; it is allowed and logged as unused. A basis element without a
    value is still refused before the assembly, also where the data give the elements (it
    failed in the assembly, leaving the run unfinished), and so is a key that is no
    element."""
    from acefit.potential import Potential

    def config(e0, elements="[Cu, Au]", name="e0.yaml"):
        path = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 8}"],
                           name=name)
        text = path.read_text().replace("seed: 1}\n", f"seed: 1}}\n  e0: {e0}\n")
        path.write_text(text.replace("elements: [Cu, Au]", f"elements: {elements}"))
        return path

    table = "{Cu: -0.1, Au: -0.2, Ni: -0.3, H: -13.6}"
    run = tmp_path / "run"
    assert main(["fit", str(config(table)), "-o", str(run), "--plan", "--no-progress"]) \
        == EXIT_OK
    assert "data.e0: the values of Ni, H are not used (no such element in the basis)" \
        in capsys.readouterr().err
    assert fit(config(table, "null"), run) == EXIT_OK
    assert Potential.load(run / "potential.h5").e0 == {"Cu": -0.1, "Au": -0.2}
    assert "data.e0: the values of Ni, H are not used" in (run / "acefit.log").read_text()
    capsys.readouterr()
    for elements, source in (("[Cu, Au]", "basis.elements"),
                             ("null", "the training data's elements")):
        out = tmp_path / f"missing_{elements}"
        assert fit(config("{Cu: -0.1, Ni: -0.3}", elements), out) == EXIT_CONFIG
        assert f"e0.yaml:5: data.e0: no value for Au of {source} [Cu, Au]; allowed: a value " \
               "for every element of the basis" in capsys.readouterr().err
    assert json.loads((out / "run.json").read_text())["status"] == "invalid"
    assert fit(config("{Cu: -0.1, Au: -0.2, Nx: 1.0}"), tmp_path / "typo") == EXIT_CONFIG
    assert "data.e0.Nx: found 'Nx' (string); allowed: a chemical symbol" \
        in capsys.readouterr().err


def test_e0_fit_without_a_training_energy_is_refused_before_the_assembly(tmp_path, small_data,
                                                                         capsys):
    """Found by a walk-through: data.keys.energy: null with data.e0: fit passed --plan
    and failed in the assembly ("cannot estimate E0: no training configuration has an
    energy"), naming no key and no fix."""
    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 8}"])
    run = tmp_path / "run"
    for extra in ((), ("--plan",)):
        assert fit(config, run, "--set", "data.keys.energy=null", *extra) == EXIT_CONFIG
        # the files' energies, under the default key, are offered (session 38)
        assert ("data.e0: found 'fit', but no training configuration has an energy "
                "(data.keys.energy is null) to fit E0 to, and the files carry 'energy' in "
                f"{small_data / 'train.xyz'}, which looks like an energy; allowed: zero, a "
                "mapping {element: eV} with a value for each element of the basis (Cu, Au), "
                "or data.keys.energy: energy") in capsys.readouterr().err
    assert json.loads((run / "run.json").read_text())["status"] == "invalid"
    assert fit(config, tmp_path / "plan", "--set", "data.keys.energy=null", "--set",
               "data.e0=zero", "--plan") == EXIT_OK


def test_fit_set_overrides_a_key(tmp_path, capsys):
    (tmp_path / "train.xyz").write_text("placeholder")
    config = tmp_path / "run.yaml"
    config.write_text("data:\n  train: train.xyz\nsolvers:\n  - {name: asp, max_active: 50}\n")
    assert main(["fit", str(config), "--check", "--set", "basis.rcut=5.5",
                 "--set", "selection.budgets=[10, 50]"]) == EXIT_OK
    out = capsys.readouterr().out
    assert "rcut: 5.5" in out and "budgets:\n  - 10\n  - 50\n" in out
    assert main(["fit", str(config), "--check", "--set", "basis.rcut=-1"]) == EXIT_CONFIG
    assert "--set 'basis.rcut=-1': basis.rcut: found -1" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "pot.h5", "--data", "d.xyz", "--plot", "p.bmp"],
     "argument --plot: p.bmp: suffix .bmp is no figure format matplotlib writes; allowed: "
     "a file name ending in "),
    (["evaluate", "pot.h5", "--data", "d.xyz", "--plot", "parity"],
     "argument --plot: parity: no suffix to name the figure format; allowed: "),
    (["evaluate", "pot.h5", "--data", "d.xyz", "--predictions", "p.traj"],
     "argument --predictions: p.traj: suffix .traj names another format; the file is "
     "extended XYZ, the one format that keeps its per-atom arrays and info keys; allowed: a "
     "file name ending in .xyz or .extxyz"),
    (["query", "pot.h5", "--pool", "md.xyz", "-o", "next"],
     "argument -o/--output: next: no suffix to name its format; the file is extended XYZ"),
    (["query", "pot.h5", "--pool", "md.xyz", "-o", "next.traj"],
     "argument -o/--output: next.traj: suffix .traj names another format"),
    (["evaluate", "pot.h5", "--data", "d.xyz", "--json", "."],
     "argument --json: . is a folder; allowed: the path of a file to write"),
    (["evaluate", "pot.h5", "--data", "d.xyz", "--plot", "."],
     "argument --plot: . is a folder; allowed: the path of a file to write"),
])
def test_an_output_file_whose_suffix_names_another_format_is_refused_first(argv, message,
                                                                          tmp_path, capsys,
                                                                          monkeypatch):
    """Found by fuzzing (session 25): --plot p.pdf wrote PNG bytes into p.pdf, and
    --predictions and query -o extended XYZ into x.traj. Refused on the command line,
    before any file is read (none exists here)."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == EXIT_CONFIG and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_potential_file_is_named_by_evaluate_validate_and_query(tmp_path, capsys):
    """Found by fuzzing: validate made its -o folder before reading the potential, and a
    loop of links as the potential was 'not found' to query and validate."""
    pot = tmp_path / "pot.h5"
    pot.write_bytes(b"")
    data = Path(__file__).resolve().parents[1] / "datasets" / "quickstart" / "test.xyz"
    for argv in (["evaluate", str(pot), "--data", str(data)],
                 ["validate", str(pot), "-o", str(tmp_path / "out")],
                 ["query", str(pot), "--pool", str(data), "-o", str(tmp_path / "q.xyz")]):
        assert main(argv) == EXIT_ERROR
        err = capsys.readouterr().err
        assert f"'{pot}' is not a readable acefit potential (HDF5) file" in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pot.h5"]
    loop = tmp_path / "loop.h5"
    loop.symlink_to(loop)
    for argv in (["validate", str(loop)],
                 ["query", str(loop), "--pool", str(data), "-o", str(tmp_path / "q.xyz")]):
        assert main(argv) == EXIT_CONFIG
        assert f"potential file {loop} is a loop of symbolic links" in capsys.readouterr().err


def test_init_help_says_what_the_order_means(capsys):
    """--order is the correlation order ν: terms up to (ν + 1)-body, as the quickstart's
    `order: 3  # up to 4-body`; "body order + 1" read backwards."""
    with pytest.raises(SystemExit):
        main(["init", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "3: up to 4-body" in text and "body order + 1" not in text


def test_query_says_why_it_chose_fewer_frames_than_asked(tmp_path, capsys):
    """`-n 20 --gap 10` returned 3 frames without a word: the summary says how many were
    asked for and what kept the others out (--gap, or too few candidates)."""
    from ase.build import bulk

    from acefit import ACEBasis, Potential

    basis = ACEBasis(["Cu"], order=2, totaldegree=[6, 5], rcut=4.0)
    rng = np.random.default_rng(0)
    c = 0.05 * rng.normal(size=len(basis))
    path = Potential(basis, c, e0={"Cu": -0.3},
                     committee=c + 0.01 * rng.normal(size=(4, len(basis)))).save(
        tmp_path / "pot.h5")
    import ase.io

    frames = []
    for k in range(12):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True)
        atoms.rattle(0.02 * (k + 1), seed=k)
        frames.append(atoms)
    ase.io.write(tmp_path / "pool.xyz", frames)

    def summary(*extra):
        assert main(["query", str(path), "--pool", str(tmp_path / "pool.xyz"), "-o",
                     str(tmp_path / "out.xyz"), "--labelled", "--no-progress",
                     *extra]) == EXIT_OK
        return capsys.readouterr().out.strip().splitlines()[-1]

    text = summary("-n", "5", "--gap", "4")
    chosen = int(text.split(": ")[1].split()[0])
    assert chosen < 5 and f"(-n 5 asked for; --gap 4 left out the other {12 - chosen} " \
        "candidate(s)" in text
    # none chosen: no file written, and the one there (the first query's) named as such
    assert summary("-n", "5", "--threshold", "1e6").endswith(
        "(-n 5 asked for; only 0 of the 12 frames are candidates: 12 at or below "
        f"--threshold 1e+06); the {tmp_path / 'out.xyz'} there is an earlier one, left as "
        "it was")
    assert summary("-n", "5").endswith("5 of 12 frames, by force SD")     # nothing to explain
    with pytest.raises(SystemExit):
        main(["query", "--help"])
    assert "default 0: no such rule" in " ".join(capsys.readouterr().out.split())


def test_a_finished_run_of_another_config_names_the_keys_that_differ(tmp_path, small_data,
                                                                       capsys):
    """Walk-through 5 (session 34), L3: a finished run met with a changed config was
    refused as if the config were the same; an unfinished one named the keys."""
    from acefit.config import dump_config, load_config
    from acefit.run_folder import config_hash

    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    run.mkdir()
    old = load_config(config)
    (run / "config.yaml").write_text(dump_config(old))
    (run / "run.json").write_text(json.dumps({"status": "finished", "finished": "t",
                                              "config_hash": config_hash(old)}))
    assert fit(config, run) == EXIT_EXISTS
    err = " ".join(capsys.readouterr().err.split())
    assert f"{run} holds a finished run (finished t); pass --force" in err
    assert fit(config, run, "--set", "prior.p=3") == EXIT_EXISTS
    err = " ".join(capsys.readouterr().err.split())
    assert (f"{run} holds a finished run (finished t) of a different configuration (it "
            "differs in prior.p: 4.0 there, 3.0 here); pass --force") in err
    # a damaged config.yaml (a section of another type): refused without the keys, not a
    # crash (session 34 review: exit 1, "'int' object has no attribute 'get'")
    (run / "config.yaml").write_text("data: 3\nbasis: [1]\nsolvers: [asp]\n")
    assert fit(config, run, "--set", "prior.p=3") == EXIT_EXISTS
    assert (f"{run} holds a finished run (finished t) of a different configuration; pass "
            "--force") in " ".join(capsys.readouterr().err.split())


def test_an_unfinished_run_of_another_config_names_the_keys_that_differ(tmp_path, small_data,
                                                                         capsys):
    """"holds an unfinished run of a different configuration" said not which keys."""
    from acefit.config import dump_config, load_config

    config = tiny_config(tmp_path, small_data)
    run = tmp_path / "run"
    run.mkdir()
    old = load_config(config)
    old["prior"]["p"] = 3.0
    old["solvers"][1]["max_active"] = 30
    old["output"]["directory"] = "elsewhere"        # no key of the results: not named
    (run / "config.yaml").write_text(dump_config(old))
    (run / "run.json").write_text(json.dumps({"status": "running", "config_hash": "x"}))
    assert fit(config, run) == EXIT_EXISTS
    err = capsys.readouterr().err
    assert ("holds an unfinished run of a different configuration (it differs in prior.p: "
            "3.0 there, 4.0 here; solvers[1].max_active: 30 there, 20 here); pass --force") \
        in err
    # many keys: four named, the rest counted; a long value named by its key only
    old["basis"].update(order=3, rcut=6.0, totaldegree=[12, 10, 8])
    old["data"]["train"] = [str(tmp_path / ("a_long_file_name_" * 3 + ".xyz"))]
    (run / "config.yaml").write_text(dump_config(old))
    assert fit(config, run) == EXIT_EXISTS
    err = " ".join(capsys.readouterr().err.split())
    assert "(it differs in data.train; basis.order: 3 there, 2 here; " in err and \
        "; and 2 more); pass --force" in err      # prior.p and solvers[1].max_active
    # a run's config that does not read names no key
    (run / "config.yaml").write_text("{")
    assert fit(config, run) == EXIT_EXISTS
    assert "different configuration; pass --force" in capsys.readouterr().err


def test_the_readme_query_pool_is_written_by_its_ase_snippet():
    """The README's `acefit query --pool md.traj` needs the file that its ASE MD snippet
    writes (the recipe was run as written: 41 frames, 3 chosen with --gap 10)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    snippet = text.split("### In ASE")[1].split("```python\n")[1].split("```")[0]
    pool = text.split("acefit query runs/quickstart --pool ")[1].split()[0]
    assert f'Trajectory("{pool}", "w", atoms).write' in snippet


def test_compare_help_says_its_set_is_a_data_set(capsys):
    """compare --set {test,val,train} shares its name with fit --set KEY=YAML, not its
    meaning: the help says which it is."""
    with pytest.raises(SystemExit):
        main(["compare", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the data set whose errors the learning curves show" in text
    assert "not a config key as in `acefit fit --set KEY=YAML`" in text


def test_a_resumed_run_recomputes_a_finished_path_of_an_earlier_solver_revision(
        tmp_path, small_data, monkeypatch):
    """A solver whose paths changed (solver_runs.SOLVER_REVISIONS) does not reuse a finished
    path stored before the change (review, session 33: a resumed run mixed old and new
    lars paths); the other solvers' finished paths are read back."""
    import acefit.solver_runs

    solvers = ["{name: omp, max_active: 10}", "{name: lars, max_active: 10}"]
    config = tiny_config(tmp_path, small_data, solvers=solvers)
    run = tmp_path / "run"
    monkeypatch.setattr(acefit.solver_runs, "SOLVER_REVISIONS",
                        {**acefit.solver_runs.SOLVER_REVISIONS, "lars": 0})
    assert fit(config, run) == EXIT_OK
    state = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**state, "status": "running"}))  # unfinished
    monkeypatch.undo()
    assert fit(config, run) == EXIT_OK
    log = (run / "acefit.log").read_text()
    assert "solver omp: finished path read back" in log
    assert "solver lars: stored path was made with other settings; recomputing" in log


def test_an_ista_config_of_an_earlier_version_hashes_as_it_did():
    """ista's loss and delta (session 33) at their defaults leave the config hash: a run
    left unfinished before they existed resumes (review, session 33)."""
    from acefit.config import load_config
    from acefit.run_folder import config_hash

    cfg = load_config(ROOT / "configs" / "quickstart.yaml",
                      overrides=["solvers=[{name: ista, max_active: 5}]"])
    assert cfg["solvers"][0]["loss"] == "least_squares" and cfg["solvers"][0]["delta"] is None
    earlier = {**cfg, "solvers": [{k: v for k, v in cfg["solvers"][0].items()
                                   if k not in ("loss", "delta")}]}
    assert config_hash(cfg) == config_hash(earlier)
    huber = {**cfg, "solvers": [{**cfg["solvers"][0], "loss": "huber", "delta": 0.5}]}
    assert config_hash(huber) != config_hash(earlier)


def test_help_does_not_load_the_kernels():
    """`acefit --help` and a subcommand's help build the parser only: numba and the basis
    kernels (0.4 s of imports) load when a basis is built, not to print help."""
    code = ("import sys, contextlib, io\n"
            "from acefit.cli import main\n"
            "for argv in (['--help'], ['fit', '--help'], ['evaluate', '--help']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            "        try:\n"
            "            main(argv)\n"
            "        except SystemExit:\n"
            "            pass\n"
            "print(sorted(m for m in sys.modules if m == 'numba' or m == 'acefit.basis.kernels'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_ctrl_c_while_the_parser_loads_is_one_line(monkeypatch, capsys):
    """Found by review (session 37): a Ctrl-C in a command's first half second, while the
    parser imports numpy and ASE, printed a traceback. `acefit export` answered a SIGINT
    later in its run in 0.2-0.8 s with exit 130 (measured); the 6 s measured before were
    those of a background job (`acefit export ... &` in a script), whose SIGINT the shell
    ignores, so it ran to its end."""
    import acefit.cli

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(acefit.cli, "_parser", interrupted)
    assert main(["export", "run"]) == 130
    assert capsys.readouterr().err == "acefit: interrupted\n"


def _bad_data_files(folder: Path) -> dict:
    """Data files no command can use, by name: (path, what the message must say). Each
    text file's frame 1 (of 2) holds the problem."""
    text = (QUICKSTART / "test.xyz").read_text().splitlines()
    first = text[:int(text[0]) + 2]
    second = text[len(first):len(first) + int(text[len(first)]) + 2]

    def frames(edit):
        path = folder / f"{edit.__name__}.xyz"
        path.write_text("\n".join(first + edit(list(second))) + "\n")
        return path

    def not_an_element(lines):
        return lines[:2] + ["Xx" + lines[2][2:]] + lines[3:]

    def nan_energy(lines):
        import re
        return [lines[0], re.sub(r"energy=\S+", "energy=nan", lines[1])] + lines[2:]

    def ni_atom(lines):
        return lines[:2] + ["Ni" + lines[2][2:]] + lines[3:]

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "garbage.xyz").write_bytes(b"garbage\x00\x01 not xyz\n")
    (folder / "empty.xyz").write_bytes(b"")
    (folder / "folder.xyz").mkdir()
    (folder / "binary.xyz").write_bytes(bytes(range(256)) * 8)
    (folder / "unreadable.xyz").write_text("\n".join(first) + "\n")
    return {"garbage": (folder / "garbage.xyz", ("frame 0",)),
            "empty": (folder / "empty.xyz", ("the file is empty",)),
            "folder": (folder / "folder.xyz", ("is a folder",)),
            "binary": (folder / "binary.xyz", ("not text",)),
            "unreadable": (folder / "unreadable.xyz", ("no read permission",)),
            "not an element": (frames(not_an_element), ("frame 1: an atom's species 'Xx' "
                                                        "is not an element symbol",)),
            "NaN energy": (frames(nan_energy), ("frame 1: label 'energy' contains NaN",)),
            "unfitted element": (frames(ni_atom), ("frame 1", "Ni"))}


@pytest.fixture(scope="module")
def committee_potential(tmp_path_factory, small_data):
    folder = tmp_path_factory.mktemp("committee")
    config = tiny_config(folder, small_data, extra="export: {committee: 4}\n")
    assert fit(config, folder / "run") == EXIT_OK
    return folder / "run" / "potential.h5"


def test_a_missing_reader_module_is_not_a_data_problem(tmp_path, small_data, capsys,
                                                       monkeypatch):
    """Found by this session's review: ASE's netCDF reader without netCDF4 installed (or a
    MemoryError) read as a data problem, exit 2 "found before any work"; it is the
    machine's, exit 1, the file still named."""
    import ase.io

    def iread(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'netCDF4'")
        yield

    monkeypatch.setattr(ase.io, "iread", iread)
    path = small_data / "train.xyz"
    assert main(["init", str(path), "-o", str(tmp_path / "init.yaml")]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert f"cannot read configurations from {path}: ModuleNotFoundError: No module named " \
        "'netCDF4'" in err


def test_every_command_exits_2_for_a_data_file_it_cannot_use(tmp_path, small_data,
                                                             committee_potential, capsys,
                                                             monkeypatch):
    """Found by review (session 37): init, query, validate, fit and fit --plan exited 1 for
    a data file ASE cannot read or a frame with a NaN label or no element's symbol (evaluate
    alone exited 2), and evaluate, query and validate for an element the potential was not
    fitted for; a file without read permission was a PermissionError naming no role."""
    import os

    bad = _bad_data_files(tmp_path / "data")
    unreadable = str(bad["unreadable"][0])
    access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: str(path) != unreadable
                        and access(path, mode, **kw))   # the tests may run as root
    pot, out = str(committee_potential), tmp_path / "out"
    settings = tmp_path / "settings.yaml"
    settings.write_text("properties: false\nshort_range: false\nmd_steps: 2\nnve_steps: 2\n")
    # which commands read which problem: a pool and MD start structures carry no labels,
    # and init fits whatever elements the data have
    skip = {"query": ("NaN energy",), "validate": ("NaN energy",), "init": ("unfitted element",)}
    for problem, (path, says) in bad.items():
        config = tiny_config(tmp_path / problem, small_data)    # the file as data.test
        config.write_text(config.read_text().replace(str(small_data / "test.xyz"), str(path)))
        commands = {
            "init": ["init", str(path), "-o", str(out / "init.yaml")],
            "evaluate": ["evaluate", pot, "--data", str(path)],
            "query": ["query", pot, "--pool", str(path), "-o", str(out / "q.xyz")],
            "validate": ["validate", pot, "--structures", str(path), "-o", str(out),
                         "--settings", str(settings)],
            "fit --plan": ["fit", str(config), "--plan"],
            "fit": ["fit", str(config), "-o", str(tmp_path / problem / "run")]}
        for command, argv in commands.items():
            if problem in skip.get(command, ()):
                continue
            code = main(argv + ["--no-progress", "-q"])
            err = capsys.readouterr().err
            assert code == EXIT_CONFIG, (command, problem, err)
            assert all(part in err for part in (path.name, *says)), (command, problem, err)
            if command.startswith("fit"):       # at the config key
                assert "tiny.yaml:3: data.test: " in err or "basis.elements" in err, err

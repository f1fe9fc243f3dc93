"""``acefit compare`` on two runs: table, best per budget, PNG + Markdown."""

import json

import numpy as np
import pytest

from acefit.cli import main
from acefit.commands import EXIT_OK
from acefit.compare import best_checkpoint, entry_sizes, load_run
from test_cli import fit, small_data, tiny_config  # noqa: F401  (fixture)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, small_data):  # noqa: F811
    root = tmp_path_factory.mktemp("compare")
    a = tiny_config(root / "a", small_data, name="sparse.yaml")
    b = tiny_config(root / "b", small_data, name="dense.yaml",
                    solvers=["{name: omp, max_active: 15}", "{name: blr, sizes: [4, 8, 30]}"],
                    extra="prior: {kind: algebraic, p: 2}\n")   # another OMP path
    assert fit(a, root / "run_a") == EXIT_OK
    assert fit(b, root / "run_b") == EXIT_OK
    return root / "run_a", root / "run_b"


def test_compare_two_runs_writes_png_and_markdown(two_runs, tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", str(two_runs[0]), str(two_runs[1]), "-o", str(out),
                 "--budgets", "5", "10"]) == EXIT_OK
    printed = capsys.readouterr().out
    for name in ("compare.md", "compare.json", "learning_curve.png", "basis_selection.png"):
        assert (out / name).is_file(), name
    for png in ("learning_curve.png", "basis_selection.png"):
        data = (out / png).read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 10_000
    md = (out / "compare.md").read_text()
    assert "![learning curves](learning_curve.png)" in md and "| ≤ 5 | run_a | asp |" in md
    assert "| ≤ 10 | run_b | blr |" in md and printed.startswith("| budget | run | solver |")
    # named by their folders, the config's name beside (walk-through 2, finding 6: a run
    # fitted with -o runs/alcu2 was 'alcu', its config's name)
    assert f"`run_a` ({two_runs[0]}, its config's name 'sparse')" in md
    rows = json.loads((out / "compare.json").read_text())["rows"]
    assert {(r["run"], r["solver"]) for r in rows} == {("run_a", "asp"), ("run_a", "omp"),
                                                      ("run_b", "omp"), ("run_b", "blr")}
    assert all(r["n_active"] <= r["budget"] for r in rows)
    # the bold entry of each error column is the smallest in its budget
    for budget in (5, 10):
        group = [r for r in rows if r["budget"] == budget]
        best = min(r["test_E_mae"] for r in group)
        line = next(l for l in md.splitlines() if f"| **{best:.2f}** |" in l)
        assert f"| ≤ {budget} |" in line


def test_runs_on_one_test_set_are_compared_pairwise(two_runs, tmp_path):
    import shutil

    from acefit.compare import compare_runs

    out = compare_runs(two_runs, tmp_path / "cmp")
    reports = [json.loads((run / "report.json").read_text()) for run in two_runs]
    selected = [{(s["budget"], s["label"]): s for s in r["selection"]["selected"]}
                for r in reports]
    shared = sorted(set(selected[0]) & set(selected[1]), key=str)
    assert shared and [(r["budget"], r["solver"]) for r in out["paired"]] == shared
    for r in out["paired"]:
        assert (r["run"], r["reference"]) == ("run_b", "run_a")
        b, a = (sel[r["budget"], r["solver"]]["errors"]["test"]["all"] for sel in selected[::-1])
        for q in ("E", "F"):
            assert r[q]["mae"] == pytest.approx(b[q]["mae"] - a[q]["mae"], abs=1e-9)
            assert r[q]["se"] > 0 and r[q]["low"] <= r[q]["mae"] <= r[q]["high"]
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "Paired on the same" in md and "| ≤ 10 | omp | run_b |" in md
    # another test set (here: one configuration renamed) is not paired
    other = tmp_path / "other"
    shutil.copytree(two_runs[1], other)
    record = json.loads((other / "test_errors.json").read_text())
    record["configurations"][0] = "elsewhere.xyz:0"
    (other / "test_errors.json").write_text(json.dumps(record))
    assert compare_runs([two_runs[0], other], tmp_path / "cmp2")["paired"] == []
    assert "Paired on the same" not in (tmp_path / "cmp2" / "compare.md").read_text()


def test_runs_without_the_errors_of_the_learning_curve(two_runs, tmp_path, capsys):
    """`compare --set test` on a run without a test set drew an empty learning curve, with
    matplotlib's 'No artists with labels found to put in legend' (found by fuzzing,
    session 25)."""
    import shutil
    import warnings

    no_test = tmp_path / "no_test"          # as a run without data.test writes it
    shutil.copytree(two_runs[0], no_test)
    (no_test / "test_errors.json").unlink()
    for f in (no_test / "errors").glob("*.json"):
        record = json.loads(f.read_text())
        for entry in record["steps"]:
            entry["test"] = None
        f.write_text(json.dumps(record))
    # no run has them: refused, before anything is written
    assert main(["compare", str(no_test), "--set", "test", "-o", str(tmp_path / "c1")]) == 2
    assert capsys.readouterr().err == ("acefit: error: set 'test': no run has test errors "
                                       "(no_test has val, train); allowed: val or train\n")
    assert not (tmp_path / "c1").exists()
    # some have them: the others are left off the curves, with a note
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["compare", str(no_test), str(two_runs[1]), "--set", "test", "-o",
                     str(tmp_path / "c2")]) == EXIT_OK
    assert not [w for w in caught if "legend" in str(w.message)]
    note = "no_test has no test errors (it has val, train): not on the learning curves"
    assert f"\nnote: {note}\n" in capsys.readouterr().out
    assert f"Note: {note}." in (tmp_path / "c2" / "compare.md").read_text()
    # by default the first set every run has
    assert main(["compare", str(no_test), str(two_runs[1]), "-o", str(tmp_path / "c3")]) == 0
    assert json.loads((tmp_path / "c3" / "compare.json").read_text())["split"] == "val"
    assert "note:" not in capsys.readouterr().out


def test_the_learning_curves_name_their_set(two_runs, tmp_path, monkeypatch):
    """Training errors were labelled validation errors."""
    import matplotlib.pyplot as plt

    from acefit import compare

    labels = []

    def write_figure(fig, path, dpi):
        labels.append([ax.get_ylabel() for ax in fig.axes])
        plt.close(fig)
        return path

    monkeypatch.setattr(compare, "write_figure", write_figure)
    compare.compare_runs(two_runs[:1], tmp_path / "c", split="train")
    assert labels[0] == ["training energy MAE (meV/atom)", "training force MAE (eV/Å)"]


def test_learning_curves_carry_the_standard_error_where_stored():
    from acefit.compare import _curve

    def entry(n, mae, se=None):
        stats = {"mae": mae, "rmse": mae, "n": 5, **({} if se is None else {"mae_se": se})}
        return {"n_active": n, "test": {"all": {"E": stats}}}

    sizes, vals, se = _curve([entry(1, 3.0, 0.5), entry(2, 2.0), entry(2, 1.5, 0.25)],
                             "test", "E")
    assert list(sizes) == [1, 2] and list(vals) == [3.0, 1.5] and list(se) == [0.5, 0.25]
    _, _, old = _curve([entry(1, 3.0)], "test", "E")      # a run written before the SEs
    assert np.isnan(old).all()


def test_compare_and_export_read_a_run_folder_with_one_reader(two_runs):
    """compare.load_run and runs.open_run each read the run folder's files (compare's
    RunData half-duplicated runs' RunFiles, and each module imported the other): one
    reader, runs.read_run, now; compare adds what it reads off it."""
    from acefit.runs import RunFiles, open_run

    seen, opened = load_run(two_runs[1]), open_run(two_runs[1])
    assert isinstance(seen, RunFiles)
    for name in ("functions", "elements", "errors", "report", "state", "test_errors",
                 "unfitted_elements"):
        assert getattr(seen, name) == getattr(opened, name), name
    assert list(seen.paths) == list(opened.paths) == ["blr", "omp"]
    assert seen.finished and seen.name == "run_b" and seen.config_name == "dense"
    assert seen.data_config == seen.cfg["data"] and opened.cfg["data"]["keys"]


def test_best_checkpoint_respects_the_budget_and_the_validation_loss(two_runs):
    run = load_run(two_runs[0])
    entries = run.errors["asp"]
    i = best_checkpoint(entries, 10)
    ok = [e for e in entries if e["n_active"] <= 10]
    assert entries[i]["n_active"] <= 10
    assert entries[i]["val_loss"] == min(e["val_loss"] for e in ok)
    # entry sizes: every active function of the last step entered at a size <= that step's
    entry = entry_sizes(run.paths["asp"], len(run.functions))
    last = run.paths["asp"].steps[-1]
    assert np.all(entry[last.active] >= 1) and np.all(entry[last.active] <= last.n_active)


def test_compare_rejects_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2      # as export: a bad command line
    assert "not an acefit run directory" in capsys.readouterr().err
    assert main(["compare", str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize("file, content, message", [
    ("errors/omp.json", '{"broken', "is not valid JSON"),
    # found by fuzzing: valid JSON of another shape was a TypeError or KeyError naming no file
    ("errors/omp.json", "[1]", "holds an array; allowed: the JSON object acefit writes"),
    ("basis_functions.json", '{"elements": ["Cu"]}', "has no 'functions'; allowed: the JSON"),
    ("test_errors.json", "null", "holds null; allowed"),
])
def test_a_damaged_json_file_of_a_run_is_named(two_runs, tmp_path, capsys, file, content,
                                               message):
    import shutil

    run = tmp_path / "damaged"
    shutil.copytree(two_runs[0], run)
    (run / file).write_text(content)
    assert main(["compare", str(run), "-o", str(tmp_path / "cmp")]) == 1
    err = capsys.readouterr().err
    assert f"{run / file} {message}" in err, err
    assert main(["export", str(run), "--step", "1", "--path", "omp", "-o",
                 str(tmp_path / "x")]) == 1
    assert f"{run / file} {message}" in capsys.readouterr().err


def test_a_resumed_fit_evaluates_an_errors_file_of_another_shape_again(two_runs, tmp_path):
    """Found by fuzzing: errors/<label>.json holding an array stopped every resume with
    "'list' object has no attribute 'get'"; one that is no JSON was evaluated again."""
    import shutil

    run = tmp_path / "resumed"
    shutil.copytree(two_runs[0], run)
    state = json.loads((run / "run.json").read_text())
    (run / "run.json").write_text(json.dumps({**state, "status": "running"}))
    (run / "errors" / "omp.json").write_text("[1]")
    assert main(["fit", state["config_file"], "-o", str(run), "--no-progress"]) == EXIT_OK
    assert json.loads((run / "errors" / "omp.json").read_text())["steps"]


def test_paths_left_out_of_a_comparison_are_named(two_runs, tmp_path, capsys):
    """Found by fuzzing (session 29): a solver whose errors were not evaluated, or whose
    path is missing from paths.h5, was left out of compare with exit 0 and no word."""
    import shutil

    import h5py

    run = tmp_path / "stopped"
    shutil.copytree(two_runs[0], run)
    assert main(["compare", str(run), "-o", str(tmp_path / "all")]) == EXIT_OK
    assert "left out" not in capsys.readouterr().err
    # found by review: a path longer than its evaluated errors was a KeyError
    evaluated = (run / "errors" / "asp.json").read_text()
    errors = json.loads(evaluated)
    n_steps = len(errors["steps"])
    (run / "errors" / "asp.json").write_text(json.dumps({**errors,
                                                         "steps": errors["steps"][:-1]}))
    assert main(["compare", str(run), "-o", str(tmp_path / "cmp1")]) == EXIT_OK
    assert f"asp (errors of {n_steps - 1} of its {n_steps} steps)" in capsys.readouterr().err
    (run / "errors" / "asp.json").write_text(evaluated)
    (run / "errors" / "omp.json").unlink()
    assert main(["compare", str(run), "-o", str(tmp_path / "cmp")]) == EXIT_OK
    err = capsys.readouterr().err
    assert f"{run}: solver paths without errors, left out" in err
    assert "omp (no errors evaluated)" in err
    with h5py.File(run / "paths.h5", "a") as f:
        del f["runs"]["omp"]
    assert main(["compare", str(run), "-o", str(tmp_path / "cmp2")]) == EXIT_OK
    assert "omp (no path in paths.h5)" in capsys.readouterr().err


def test_compare_selects_as_the_fit_did(tmp_path, small_data):  # noqa: F811
    """With selection.metric other than loss, compare showed checkpoints the fit never
    selected (found by review)."""
    from acefit.compare import comparison_rows

    config = tiny_config(tmp_path, small_data, solvers=["{name: omp, max_active: 30}",
                                                         "{name: asp, max_active: 30}"])
    config.write_text(config.read_text().replace("budgets: [10]}",
                                                 "budgets: [10, 30], metric: energy_mae}"))
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    fitted = {(s["budget"], s["label"]): s["step"]
              for s in json.loads((run / "report.json").read_text())["selection"]["selected"]}
    rows = comparison_rows([load_run(run)], [10, 30])
    assert {(r["budget"], r["solver"]): r["step"] for r in rows} == fitted
    # and it is not what the validation loss would pick, for at least one cell
    by_loss = {(t, label): best_checkpoint(entries, t)
               for t in (10, 30) for label, entries in load_run(run).errors.items()}
    assert by_loss != fitted


def test_runs_that_read_their_stresses_differently_are_noted(two_runs, tmp_path):
    """Found by review: their S errors stood side by side without a word."""
    import shutil

    import yaml

    from acefit.compare import compare_runs

    compare_runs(two_runs, tmp_path / "same")
    assert "read their stress labels differently" not in \
        (tmp_path / "same" / "compare.md").read_text()
    other = tmp_path / "run_b"
    shutil.copytree(two_runs[1], other)
    cfg = yaml.safe_load((other / "config.yaml").read_text())
    cfg["data"]["stress_reading"] = {"default": "negated", "config_type": {}}
    (other / "config.yaml").write_text(yaml.safe_dump(cfg))
    compare_runs([two_runs[0], other], tmp_path / "differ")
    text = (tmp_path / "differ" / "compare.md").read_text()
    assert ("Note: the runs read their stress labels differently (data.stress_reading: "
            "`run_a` as labelled; `run_b` {default: negated}), so their S errors are against "
            "different labels") in text


def test_runs_whose_test_stresses_are_in_doubt_are_noted(two_runs, tmp_path):
    """Session 34 (walk-through M1, left for compare): report.md's Note on S was the only
    place that said a run's S test errors include stresses in doubt."""
    import json
    import shutil

    from acefit.compare import compare_runs

    compare_runs(two_runs, tmp_path / "same")
    assert "stresses in doubt" not in (tmp_path / "same" / "compare.md").read_text()
    other = tmp_path / "run_b"
    shutil.copytree(two_runs[1], other)
    report = json.loads((other / "report.json").read_text())
    report["data"]["doubtful_test_stresses"] = {
        "groups": {"md": "untested", "vacancy": "untested"}, "found": {"strain": "negated"}}
    (other / "report.json").write_text(json.dumps(report))
    compare_runs([two_runs[0], other], tmp_path / "doubt")
    assert ("Note: the S test errors of `run_b` (md, vacancy) include stresses in doubt: not "
            "fitted, and inconsistent with their energies or untested beside a converter's "
            "error of sign or units") in (tmp_path / "doubt" / "compare.md").read_text()


def _bold_cells(md, column):
    """{(budget, run, solver): whether the comparison table's ``column`` cell is bold}."""
    table = md.split("\n\n| budget | run | solver |", 1)[1].split("\n\n", 1)[0]
    lines = ("| budget | run | solver |" + table).splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    out = {}
    for line in lines[2:]:
        cells = dict(zip(head, (c.strip() for c in line.strip("|").split("|"))))
        out[cells["budget"], cells["run"], cells["solver"]] = cells[column].startswith("**")
    return out


def test_runs_on_other_validation_sets_are_not_ranked_together(two_runs, small_data,  # noqa: F811
                                                                tmp_path):
    """Walk-through 2, finding 6: runs validated on other configurations stood in one
    table with the best validation error in bold across them, without a word."""
    import shutil

    from acefit.compare import compare_runs

    seed2 = tmp_path / "seed2"
    assert fit(tiny_config(tmp_path, small_data), seed2, "--set",
               "data.validation.seed=2") == EXIT_OK
    sets = [json.loads((run / "run.json").read_text())["data_sets"]
            for run in (*two_runs, seed2)]
    assert sets[0] == sets[1] and sets[0]["test"] == sets[2]["test"]
    assert sets[0]["validation"]["hash"] != sets[2]["validation"]["hash"]
    n = sets[0]["validation"]["configurations"]
    assert n == sets[2]["validation"]["configurations"] > 0

    out = compare_runs([two_runs[0], seed2], tmp_path / "cmp")
    note = (f"the runs' validation sets differ in their structures ({n} configurations "
            "each) (by set: `run_a`; `seed2`), so their validation errors are not comparable: "
            "bold in the validation columns marks the best among the runs on one set")
    assert out["notes"] == [note]
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert f"Note: {note}." in md and "Note: the runs' validation sets differ (see" not in md
    assert out["paired"]                                # one test set: still paired
    # the best of each run in the validation columns, of both in the test columns
    for column, key, per_run in (("E MAE val", "val_E_mae", True),
                                 ("F MAE val", "val_F_mae", True),
                                 ("E MAE test", "test_E_mae", False)):
        bold = _bold_cells(md, column)
        for r in out["rows"]:
            rivals = [o[key] for o in out["rows"] if o["budget"] == r["budget"]
                      and (o["run"] == r["run"] or not per_run)]
            budget = "any" if r["budget"] is None else f"≤ {r['budget']}"
            assert bold[budget, r["run"], r["solver"]] == (r[key] == min(rivals)), (column, r)
    # on one set (the fixture's runs: other solvers, one split), no note
    assert compare_runs(two_runs, tmp_path / "same")["notes"] == []

    # runs from before run.json recorded the sets: their configs tell
    old = []
    for run in (two_runs[0], two_runs[1], seed2):
        copy = tmp_path / "old" / run.name
        shutil.copytree(run, copy)
        state = json.loads((copy / "run.json").read_text())
        del state["data_sets"]
        (copy / "run.json").write_text(json.dumps(state))
        old.append(copy)
    assert compare_runs(old[:2], tmp_path / "old_same")["notes"] == []
    out = compare_runs([old[0], old[2]], tmp_path / "old_differ")
    assert out["notes"] == [
        "the runs' validation sets differ (by set: `run_a`; `seed2`) (told by their configs' "
        "data.train, data.validation and data.keys: a run.json written before acefit "
        "recorded the sets holds none), so their validation errors are not comparable: bold "
        "in the validation columns marks the best among the runs on one set"]
    assert out["paired"]


def test_runs_on_other_test_sets_are_not_ranked_or_paired(two_runs, tmp_path):
    """A test set of other labels under the same file and frame names (test_errors.json
    alike) is another test set: no bold across the runs, no paired differences."""
    import shutil

    from acefit.compare import compare_runs

    other = tmp_path / "relabelled"
    shutil.copytree(two_runs[1], other)
    state = json.loads((other / "run.json").read_text())
    state["data_sets"]["test"]["hash"] = "another"
    (other / "run.json").write_text(json.dumps(state))
    out = compare_runs([two_runs[0], other], tmp_path / "cmp")
    n = state["data_sets"]["test"]["configurations"]
    # the same structures: it was "differ (by set: `run_a`: 26 configurations; `key2`: 26
    # configurations)", which read as a contradiction (session 38's audit)
    rest = ("so their test errors are not comparable: bold in the test columns marks the "
            "best among the runs on one set; no paired differences")
    assert out["paired"] == [] and out["notes"] == [
        f"the runs' test sets hold the same {n} structures with other labels (energies, "
        f"forces, force weights or config_types) (by set: `run_a`; `relabelled`), {rest}"]
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "Note: the runs' test sets differ (see the note under the table)." in md
    # other structures; a run.json from before the structures' own hash; another size
    for change, how in (({"structures": "other"}, f"differ in their structures ({n} "
                                                  "configurations each) (by set: "),
                        ({"structures": None}, f"differ in their structures or labels ({n} "
                                               "configurations each) (by set: "),
                        ({"configurations": n + 1}, f"differ (by set: `run_a`: {n} "
                                                    "configurations; `relabelled`: "
                                                    f"{n + 1} configurations), ")):
        record = {**state["data_sets"]["test"], **change}
        if record["structures"] is None:
            del record["structures"]
        (other / "run.json").write_text(json.dumps(
            {**state, "data_sets": {**state["data_sets"], "test": record}}))
        note = compare_runs([two_runs[0], other], tmp_path / f"cmp{len(how)}")["notes"][0]
        assert note.startswith(f"the runs' test sets {how}"), note


def test_a_stress_reading_leaves_the_sets_one(small_data, tmp_path):  # noqa: F811
    """data.stress_reading changes the stress labels on purpose (compare notes it): the
    runs' validation and test sets stay one, their E and F errors comparable and paired;
    another seed makes another validation set."""
    from acefit.config import load_config
    from acefit.pipeline import data_set_record, load_data

    config = tiny_config(tmp_path, small_data)
    plain = data_set_record(load_data(load_config(config)))
    negated = load_data(load_config(config, ["data.stress_reading={default: negated}"]))
    assert any(c.stress is not None for c in negated.test)
    assert data_set_record(negated) == plain
    other = data_set_record(load_data(load_config(config, ["data.validation.seed=2"])))
    assert other["test"] == plain["test"] and other["validation"] != plain["validation"]


def test_the_fits_short_range_checks_are_shown_per_run(two_runs, tmp_path):
    """A user picking among runs saw no word of their dimers or compressed crystals,
    which each fit checks and keeps in report.json: the selected checkpoints' dimer
    verdict in a column, the headline's crystals in a note per run; – where a fit
    recorded none (an older run)."""
    import shutil

    from acefit.compare import compare_runs
    from acefit.short_range import pairs_without_core
    from acefit.selection import headline

    old = tmp_path / "old"
    shutil.copytree(two_runs[1], old)
    report = json.loads((old / "report.json").read_text())
    for s in report["selection"]["selected"] + [report["selection"]["best_any_size"] or {}]:
        s.pop("dimers", None)
        s.pop("compression", None)
    (old / "report.json").write_text(json.dumps(report))
    bare = tmp_path / "bare"
    shutil.copytree(two_runs[1], bare)
    (bare / "report.json").unlink()
    result = compare_runs([two_runs[0], old, bare], tmp_path / "cmp")
    selection = json.loads((two_runs[0] / "report.json").read_text())["selection"]
    fitted = selection["selected"]
    verdicts = {(s["label"], s["step"]): s["dimers"]
                for s in fitted + [selection["best_any_size"] or {"label": None, "step": None,
                                                                  "dimers": None}]}
    assert all(v for k, v in verdicts.items() if k[0])
    shown = 0
    for r in result["rows"]:
        dimers = verdicts.get((r["solver"], r["step"])) if r["run"] == "run_a" else None
        bad = pairs_without_core(dimers)
        assert r["repulsive_core"] == (None if dimers is None else
                                       f"no: {', '.join(bad)}" if bad else "yes"), r
        shown += dimers is not None
    assert shown and any(r["repulsive_core"] is None for r in result["rows"])
    md = (tmp_path / "cmp" / "compare.md").read_text()
    assert "| S MAE test | core |" in md
    table = [line for line in md.splitlines() if line.count("|") == 14]     # 13 columns
    assert all(line.endswith("| – |") for line in table
               if "| old |" in line or "| bare |" in line)
    assert any(line.endswith(("| yes |", "| no: Cu-Cu |")) for line in table
               if "| run_a |" in line)
    top = headline(fitted)
    assert top["compression"]
    line = next(line for line in md.splitlines() if line.startswith(
        f"- `run_a` ({top['label']} ≤ {top['budget']}, {top['n_active']} functions): "))
    for el, v in top["compression"].items():
        words = (f"not compressed ({v['reason']})" if v["holds"] is None else
                 "holds to 0.6 a" if v["holds"] else f"collapses at {v['fails_at']:g} a")
        assert f"{v['structure']} {el} {words}" in line
    assert "- `old`: –" in md and "- `bare`: –" in md
    crystals = json.loads((tmp_path / "cmp" / "compare.json").read_text())["crystals"]
    assert [c["run"] for c in crystals] == ["run_a", "old", "bare"]
    assert crystals[0]["compression"] == top["compression"] and crystals[1]["compression"] is None


def test_values_printed_equal_are_bold_together():
    """Walk-through H, finding L2: of two E MAEs printed 0.67 and 0.67 (0.66505 and
    0.66509 unrounded), only the smaller was bold; bold marks what the table shows."""
    from acefit.compare import markdown_table

    keys = ["val_E_mae", "test_E_mae", "test_E_rmse", "val_F_mae", "test_F_mae",
            "test_F_rmse", "test_S_mae"]
    rows = [{"budget": None, "run": run, "solver": "asp", "n_active": 10, "val_loss": 1.0,
             **dict.fromkeys(keys), "val_E_mae": e}
            for run, e in (("a", 0.6650501124928), ("b", 0.665093), ("c", 0.6771))]
    cells = {line.split("|")[2].strip(): line.split("|")[6].strip()
             for line in markdown_table(rows, many_runs=True).splitlines()[2:]}
    assert cells == {"a": "**0.67**", "b": "**0.67**", "c": "0.68"}

"""acefit.evaluate and `acefit evaluate`: potentials scored on labelled files."""

import dataclasses
import json

import ase.io
import numpy as np
import pytest
from _toy_basis import emt_configs
from test_cli import QUICKSTART, fit, fitted_run, small_data, tiny_config  # noqa: F401

from acefit import ACEBasis, ACECalculator, Potential
from acefit.cli import main
from acefit.commands import EXIT_CONFIG, EXIT_OK
from acefit.data import load_configurations
from acefit.design import design_block, reference_energies
from acefit.evaluate import (element_table, errors_table, evaluate, paired_table, parity_plot,
                             potential_labels, worst_table, write_predictions)
from acefit.metrics import bootstrap_errors, configuration_errors, errors
from acefit.repulsion import ZBL


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    path = tmp_path_factory.mktemp("ev") / "emt.xyz"
    frames = emt_configs(10, seed=3)
    frames[4].calc.results.pop("stress")          # a frame without a stress label
    ase.io.write(path, frames, format="extxyz")
    return load_configurations(path)


@pytest.fixture(scope="module")
def basis():
    return ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 4], rcut=4.5)


def _potential(basis, seed, repulsion=None):
    c = 0.02 * np.random.default_rng(seed).standard_normal(len(basis))
    return Potential(basis, c, e0={"Cu": -3.1, "Au": -2.7}, repulsion=repulsion), c


def test_errors_are_those_of_the_fit_rows(configs, basis):
    # The fit scores a checkpoint from design rows with E0 and the core repulsion taken
    # off the labels; a potential file predicts the whole energy. Same numbers.
    zbl = ZBL(inner=1.0, outer=2.3)
    pot, c = _potential(basis, 0, repulsion=zbl)
    e0 = reference_energies({"Cu": -3.1, "Au": -2.7}, configs, basis.elements, repulsion=zbl)
    expected = errors(design_block(basis, configs, None, e0), c)
    got = evaluate([pot], configs, resamples=200).errors[0]
    for group in ["all", "pure", "alloy"]:
        want = expected["all"] if group == "all" else expected["by_config_type"][group]
        have = got["all"] if group == "all" else got["by_config_type"][group]
        for q in ("E", "F", "S"):
            assert have[q]["n"] == want[q]["n"]
            assert have[q]["mae"] == pytest.approx(want[q]["mae"], rel=1e-9)
            assert have[q]["rmse"] == pytest.approx(want[q]["rmse"], rel=1e-9)
    assert got["all"]["S"]["n"] == 6 * 9           # the frame without stress adds none


def test_bootstrap_and_paired_differences(configs, basis):
    a, _ = _potential(basis, 1)
    b, _ = _potential(basis, 2)
    result = evaluate([a, b, a], configs, ["a", "b", "a2"], resamples=500, seed=4)
    rows = result.rows
    boot = bootstrap_errors(configuration_errors(rows, rows.A), resamples=500, seed=4)
    for j in range(3):
        for q in ("E", "F", "S"):
            assert result.errors[j]["all"][q]["se"] == pytest.approx(boot[j][q]["se"])
            assert result.errors[j]["all"][q]["mae"] == pytest.approx(boot[j][q]["mae"])
    # per config_type: its own configurations only
    pure = rows.select(rows.config_type == "pure")
    (pure_boot,) = bootstrap_errors(configuration_errors(pure, pure.A[:, [1]]),
                                    resamples=500, seed=4)
    assert result.errors[1]["by_config_type"]["pure"]["F"]["se"] == pytest.approx(
        pure_boot["F"]["se"])
    b_minus_a, a_minus_a = result.paired
    assert b_minus_a["E"]["mae"] == pytest.approx(result.errors[1]["all"]["E"]["mae"]
                                                  - result.errors[0]["all"]["E"]["mae"])
    assert b_minus_a["F"]["se"] > 0
    assert a_minus_a["E"]["mae"] == 0 and a_minus_a["E"]["se"] == 0
    table = paired_table(result)
    assert "| b |" in table and "| a2 | +0.00 ± 0.00" in table
    assert errors_table(result, 1).splitlines()[2].startswith("| all | 10 |")


def test_a_group_of_one_configuration_has_no_standard_error(configs, basis):
    """Its SE, 0 or round-off by potential, printed "± 0.00" or nothing (session 38)."""
    one = next(c for c in configs if c.config_type == "alloy")
    subset = [c for c in configs if c.config_type == "pure"] + [one]
    result = evaluate([_potential(basis, 1)[0], _potential(basis, 2)[0]], subset,
                      ["a", "b"], resamples=200)
    for j in range(2):
        alloy = next(line for line in errors_table(result, j).splitlines()
                     if line.startswith("| alloy |"))
        assert alloy.startswith("| alloy | 1 |") and "±" not in alloy
        assert "±" in errors_table(result, j).splitlines()[2]     # all: several


def test_force_errors_per_element_atom_by_atom(configs, basis):
    a, _ = _potential(basis, 1)
    b, _ = _potential(basis, 2)
    result = evaluate([a, b], configs, ["a", "b"], resamples=300, seed=2)
    for j, pot in enumerate((a, b)):
        residuals = {29: [], 79: []}
        for cfg in configs:
            forces = pot.energy_forces_stress(cfg.atoms)[2]
            for z, r in zip(cfg.atoms.numbers, forces - cfg.forces):
                residuals[int(z)].extend(r)
        by_element = result.errors[j]["by_element"]
        assert list(by_element) == ["Cu", "Au"]
        for symbol, z in (("Cu", 29), ("Au", 79)):
            d, f = np.array(residuals[z]), by_element[symbol]["F"]
            assert f["n"] == d.size
            assert f["mae"] == pytest.approx(np.mean(np.abs(d)), rel=1e-9)
            assert f["rmse"] == pytest.approx(np.sqrt(np.mean(d ** 2)), rel=1e-9)
            assert f["low"] <= f["mae"] <= f["high"] and f["se"] > 0
    # Au's SE: a bootstrap over the configurations with Au atoms, as per config_type
    rows = result.rows
    au = np.zeros(len(rows), dtype=bool)
    for i, cfg in enumerate(configs):
        mine = (rows.config == i) & (rows.kind == "F")
        au[mine] = np.repeat(cfg.atoms.numbers == 79, 3)
    (boot,) = bootstrap_errors(configuration_errors(rows.select(au), rows.A[au][:, [1]]),
                               resamples=300, seed=2)
    assert result.errors[1]["by_element"]["Au"]["F"]["se"] == pytest.approx(boot["F"]["se"])
    table = element_table(result, 1).splitlines()
    assert table[0] == "| element | atoms | F MAE | F RMSE |"
    au_stats = result.errors[1]["by_element"]["Au"]["F"]
    assert table[3] == (f"| Au | {au_stats['n'] // 3} | {au_stats['mae']:.4f} ± "
                        f"{au_stats['se']:.4f} | {au_stats['rmse']:.4f} |")
    assert result.to_dict()["potentials"][1]["errors"]["by_element"]["Au"]["F"]["n"] == \
        au_stats["n"]
    # data of one element: no table (its one row would be the total)
    pure = [cfg for cfg in configs if cfg.config_type == "pure"]
    one = evaluate([a], pure, resamples=50)
    assert list(one.errors[0]["by_element"]) == ["Cu"] and element_table(one) == ""


def test_an_element_without_force_labels_has_no_row(configs, basis):
    """Two elements, force labels only on frames of one (the Au frames have none): Au is
    named once below the table, not given a row of 0 atoms and no errors."""
    a, _ = _potential(basis, 1)
    unlabelled = [dataclasses.replace(cfg, forces=None) if 79 in cfg.atoms.numbers else cfg
                  for cfg in configs]
    result = evaluate([a], unlabelled, resamples=50)
    assert result.errors[0]["by_element"]["Au"]["F"]["n"] == 0     # still in the JSON
    table = element_table(result)
    assert "| Au |" not in table and "| Cu |" in table
    assert table.count("Au") == 1 and table.endswith("No force labels on the Au atoms (no row).")
    no_forces = [dataclasses.replace(cfg, forces=None) for cfg in configs]
    assert element_table(evaluate([a], no_forces, resamples=50)) == ""


def test_predictions_file_holds_labels_and_predictions(tmp_path, configs, basis):
    """Every potential's energy, forces and (where the cell has a volume) stress, also of
    frames without that label (walk-through 2: a periodic frame without a stress label got
    no model stress)."""
    pot, _ = _potential(basis, 5, repulsion=ZBL(inner=1.0, outer=2.3))
    cluster = configs[0].atoms.copy()
    cluster.pbc = False       # a cell, but no periodic direction: no stress
    mixed = [*configs, dataclasses.replace(configs[1], forces=None),
             dataclasses.replace(configs[2], energy=None, stress=None),
             dataclasses.replace(configs[0], atoms=cluster, stress=None)]
    assert configs[4].stress is None
    result = evaluate([pot], mixed, ["fit"], resamples=50)
    frames = ase.io.read(write_predictions(tmp_path / "pred.xyz", result), ":")
    assert len(frames) == len(mixed)
    for cfg, frame in zip(mixed, frames):
        atoms = cfg.atoms.copy()
        atoms.calc = ACECalculator(pot)
        assert frame.info["fit_energy"] == pytest.approx(atoms.get_potential_energy(), rel=1e-12)
        # per-atom arrays: extended XYZ's fixed format, 8 decimals
        np.testing.assert_allclose(frame.arrays["fit_forces"], atoms.get_forces(), atol=1e-8)
        for key, label in (("ref_energy", cfg.energy), ("ref_forces", cfg.forces),
                           ("ref_stress", cfg.stress)):
            stored = frame.arrays.get(key, frame.info.get(key))
            if label is None:
                assert stored is None
            else:
                np.testing.assert_allclose(stored, label, rtol=1e-14, atol=1e-8)
        if atoms.pbc.any():
            np.testing.assert_allclose(frame.info["fit_stress"], atoms.get_stress(),
                                       rtol=1e-9, atol=1e-14)
        else:
            assert "fit_stress" not in frame.info
        assert frame.info["config_type"] == cfg.config_type


def test_predictions_go_only_to_an_extended_xyz_file(tmp_path, configs, basis):
    pot, _ = _potential(basis, 5)
    result = evaluate([pot], configs[:2], ["fit"], resamples=20)
    with pytest.raises(ValueError, match="pred.traj: suffix .traj names another format"):
        write_predictions(tmp_path / "pred.traj", result)
    assert list(tmp_path.iterdir()) == []


def test_parity_plot_has_a_panel_per_quantity_present(tmp_path, configs, basis):
    import matplotlib.image

    pot, _ = _potential(basis, 6)
    both = evaluate([pot, pot], configs, ["a", "b"], resamples=20)
    forces_only = [cfg.__class__(atoms=cfg.atoms, forces=cfg.forces, config_type="x")
                   for cfg in configs[:3]]
    one = evaluate([pot], forces_only, resamples=20)
    wide = matplotlib.image.imread(parity_plot(tmp_path / "all.png", both))
    narrow = matplotlib.image.imread(parity_plot(tmp_path / "f.png", one))
    assert wide.shape[1] == pytest.approx(3 * narrow.shape[1], abs=3)   # E, F, S against F


def test_parity_plot_and_residuals_in_report_units(monkeypatch, tmp_path, configs, basis):
    """The parity plot's points are the labels and predictions in eV/atom, eV/Å and GPa
    (stress tensile positive), and the report's residuals their difference with energies
    in meV/atom: one conversion (:func:`acefit.metrics.report_unit_scale`) for both."""
    import acefit.atomic
    from acefit.metrics import report_unit_residuals, report_unit_scale

    pot, _ = _potential(basis, 6)
    evaluation = evaluate([pot], configs, ["p"], resamples=20)
    figures = []
    monkeypatch.setattr(acefit.atomic, "write_figure",
                        lambda fig, path, **kw: figures.append(fig) or path)
    parity_plot(tmp_path / "p.png", evaluation)
    rows = evaluation.rows
    hand = {"E": 1.0 / rows.n_atoms, "F": np.ones(len(rows.y)),
            "V": -160.21766208 / rows.volume}        # eV/Å³ -> GPa, tensile positive
    for ax, kind in zip(figures[0].axes, "EFV"):
        mine = rows.kind == kind
        x, y = ax.lines[0].get_data()
        np.testing.assert_array_equal(x, rows.y[mine] * hand[kind][mine])
        np.testing.assert_array_equal(y, rows.A[mine, 0] * hand[kind][mine])
    residual = report_unit_residuals(rows, rows.A)[:, 0]
    hand["E"] = 1e3 / rows.n_atoms
    for kind in "EFV":
        mine = rows.kind == kind
        np.testing.assert_array_equal(residual[mine],
                                      (rows.A[mine, 0] - rows.y[mine]) * hand[kind][mine])
    with pytest.raises(ValueError, match="energy unit 'kJ/mol'; allowed: meV/atom, eV/atom"):
        report_unit_scale(rows, energy="kJ/mol")


def test_worst_configurations_come_first(configs, basis):
    import dataclasses

    pot, _ = _potential(basis, 7)
    shifted = list(configs)
    shifted[3] = dataclasses.replace(configs[3], energy=configs[3].energy + 50.0)  # a bad label
    before = evaluate([pot], configs, ["p"], resamples=20)
    after = evaluate([pot, pot], shifted, ["p", "q"], resamples=20)
    rows = before.rows
    e = rows.kind == "E"
    delta = (rows.A[e, 0] - rows.y[e]) * 1e3 / rows.n_atoms[e]
    lines = worst_table(after, 3).splitlines()
    assert len(lines) == 2 + 3
    expected = delta[3] - 5e4 / configs[3].n_atoms
    assert lines[2].startswith(f"| {configs[3].where} | {configs[3].config_type} | "
                               f"{configs[3].n_atoms} | {expected:+.2f} | {expected:+.2f} |")
    second = int(np.argsort(-np.abs(np.delete(delta, 3)))[0])
    second += second >= 3
    assert f"{configs[second].where} |" in lines[3]
    forces_only = [dataclasses.replace(cfg, energy=None, stress=None) for cfg in configs]
    by_force = worst_table(evaluate([pot], forces_only, resamples=20), 1).splitlines()
    assert by_force[2].split(" | ")[3] == "–"          # no energy: ranked by force MAE


def test_frames_of_elements_the_potential_lacks_are_listed_with_a_way_to_leave_them_out(
        tmp_path, basis, capsys):
    """Found by review (session 37): evaluate named the first such frame only, and said
    nothing of how to evaluate the rest of the file. The message lists them (the first
    five after the first, and the count), and the command it gives, run as written,
    writes the file's other frames, which evaluate."""
    import shlex
    import subprocess
    import sys

    frames = emt_configs(12, seed=5)
    for k, other in ((2, "Ni"), (5, "Fe"), (6, "Ni"), (7, "Ni"), (8, "Ni"), (9, "Ag"),
                     (10, "Ni"), (11, "Ni")):
        frames[k].symbols[0] = other
    path = tmp_path / "mixed.xyz"
    ase.io.write(path, frames, format="extxyz")
    pot, _ = _potential(basis, 0)
    with pytest.raises(ValueError) as err:
        evaluate([pot], load_configurations(path))
    message = str(err.value)
    assert message.startswith(
        f"{path}, frame 2: element(s) Ni not in the potential (potential elements: Cu, Au): "
        f"a potential predicts only the elements it was fitted with; also {path}, frame 5 "
        f"(Fe); {path}, frame 6 (Ni); {path}, frame 7 (Ni); {path}, frame 8 (Ni); {path}, "
        "frame 9 (Ag) and 2 more (8 of 12 configurations); to leave them out: `")
    command = shlex.split(message.split("to leave them out: `")[1].rstrip("`"))
    assert command[:2] == ["python", "-c"]
    subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, check=True)
    kept = tmp_path / "mixed_CuAu.xyz"
    assert len(ase.io.read(kept, ":")) == 4
    pot_file = tmp_path / "pot.h5"
    pot.save(pot_file)
    assert main(["evaluate", str(pot_file), "--data", str(kept), "--no-progress"]) == EXIT_OK
    assert "4 configurations" in capsys.readouterr().out


def test_the_command_that_leaves_frames_out_of_a_database_keeps_its_labels(
        tmp_path, basis, capsys):
    """Found by this session's review: for an ASE database the command wrote extended XYZ,
    which lost the labels kept as the rows' key-value pairs and data: evaluate then found
    none. It writes a database of the same format, rows whole (a new one: run twice, it
    held every row twice)."""
    import shlex
    import subprocess
    import sys

    import ase.db

    path = tmp_path / "mixed.db"
    with ase.db.connect(path) as db:
        for k, atoms in enumerate(emt_configs(6, seed=3)):
            energy, forces = atoms.get_potential_energy(), atoms.get_forces()
            if k in (1, 4):
                atoms.symbols[0] = "Ni"
            atoms.calc = None
            db.write(atoms, REF_energy=energy, data={"REF_forces": forces})
    pot, _ = _potential(basis, 0)
    keys = dict(energy_key="REF_energy", forces_key="REF_forces")
    with pytest.raises(ValueError) as err:
        evaluate([pot], load_configurations(path, **keys))
    command = shlex.split(str(err.value).split("to leave them out: `")[1].rstrip("`"))
    for _ in range(2):      # run again, it replaces the file, as ase.io.write does an .xyz
        subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, check=True)
    kept = tmp_path / "mixed_CuAu.db"
    pot_file = tmp_path / "pot.h5"
    pot.save(pot_file)
    assert main(["evaluate", str(pot_file), "--data", str(kept), "--energy-key", "REF_energy",
                 "--forces-key", "REF_forces", "--no-progress"]) == EXIT_OK
    assert "4 configurations" in capsys.readouterr().out


def test_the_command_that_leaves_frames_out_never_replaces_a_file_that_is_there(
        tmp_path, basis):
    """Found by review (session 38): the command wrote `<stem>_<elements>.xyz` (or `.db`)
    over a file of that name, the user's own perhaps. It names a file that is not there,
    `-2`, `-3`, ... added; run again, it replaces only what it wrote itself."""
    import shlex
    import subprocess
    import sys

    from acefit.data import keep_elements_command

    frames = emt_configs(4, seed=2)
    frames[1].symbols[0] = "Ni"
    path = tmp_path / "mixed.xyz"
    ase.io.write(path, frames, format="extxyz")
    mine = tmp_path / "mixed_CuAu.xyz"
    mine.write_text("the user's own file\n")
    (tmp_path / "mixed_CuAu-2.xyz").symlink_to(tmp_path / "gone.xyz")   # a dangling link
    pot, _ = _potential(basis, 0)
    with pytest.raises(ValueError) as err:
        evaluate([pot], load_configurations(path))
    command = shlex.split(str(err.value).split("to leave them out: `")[1].rstrip("`"))
    assert f'"{tmp_path / "mixed_CuAu-3.xyz"}"' in command[2]
    for _ in range(2):
        subprocess.run([sys.executable, *command[1:]], cwd=tmp_path, check=True)
    assert mine.read_text() == "the user's own file\n"
    assert len(ase.io.read(tmp_path / "mixed_CuAu-3.xyz", ":")) == 3
    from ase.db import connect

    connect(tmp_path / "x.db").write(frames[0])
    (tmp_path / "x_CuAu.db").touch()
    assert f'"{tmp_path / "x_CuAu-2.db"}"' in keep_elements_command(tmp_path / "x.db",
                                                                   ["Cu", "Au"])


def test_bad_input_names_the_frame(configs, basis):
    cu_only, _ = _potential(ACEBasis(["Cu"], order=2, totaldegree=[4, 3], rcut=4.0), 0)
    with pytest.raises(ValueError, match=r"frame 1: element\(s\) Au not in the potential"):
        evaluate([cu_only], configs)
    bare = configs[0].__class__(atoms=configs[0].atoms, source="x.xyz", index=7)
    pot, _ = _potential(basis, 0)
    with pytest.raises(ValueError, match="x.xyz, frame 7: no energy, forces or stress"):
        evaluate([pot], [bare])
    with pytest.raises(ValueError, match="no potentials"):
        evaluate([], configs)
    with pytest.raises(ValueError, match="2 labels for 1 potentials"):
        evaluate([pot], configs, ["a", "b"])


def test_labels_of_files_and_runs(tmp_path):
    (tmp_path / "r1").mkdir()
    (tmp_path / "r2").mkdir()
    assert potential_labels([tmp_path / "r1", tmp_path / "x" / "omp_t300.h5"]) == [
        "r1", "omp_t300"]
    assert potential_labels([tmp_path / "r1" / "potential.h5",
                             tmp_path / "r2" / "potential.h5"]) == ["r1_potential",
                                                                     "r2_potential"]
    assert potential_labels([tmp_path / "a.h5", tmp_path / "a.h5"]) == ["0_a", "1_a"]
    # the name it had before it moved to the library
    from acefit.commands.evaluate import potential_labels as command_labels

    assert command_labels is potential_labels


@pytest.fixture(scope="module")
def run(tmp_path_factory, small_data):  # noqa: F811
    return fitted_run(tmp_path_factory, small_data,
                      ["{name: asp, max_active: 20}", "{name: omp, max_active: 20}"])


def test_cli_reproduces_the_fit_test_errors(tmp_path, run, small_data, capsys):  # noqa: F811
    report = json.loads((run / "report.json").read_text())
    selected = {s["label"]: s for s in report["selection"]["selected"] if s["budget"] == 10}
    args = ["evaluate", str(run), str(run / "potentials" / "asp_t10.h5"), "--data",
            str(small_data / "test.xyz"), "--json", str(tmp_path / "ev.json"),
            "--predictions", str(tmp_path / "p.xyz"), "--plot", str(tmp_path / "p.png"),
            "--resamples", "100"]
    assert main(args) == EXIT_OK
    out = capsys.readouterr().out
    assert "| potential | E MAE − run |" in out and "wrote" in out and "ms/atom here" in out
    assert "Largest errors" in out
    # a force table per element after each potential's per config_type table
    assert out.count("Forces per element") == 2 and "| Au | " in out
    assert out.index("| config_type |") < out.index("Forces per element (run)")
    record = json.loads((tmp_path / "ev.json").read_text(), parse_constant=pytest.fail)
    assert list(record["potentials"][0]["errors"]["by_element"]) == ["Cu", "Au"]
    best = next(s for s in selected.values() if s["best"])
    for entry, sel in zip(record["potentials"], [best, selected["asp"]]):
        for q in ("E", "F"):
            assert entry["errors"]["all"][q]["mae"] == pytest.approx(
                sel["errors"]["test"]["all"][q]["mae"], rel=1e-9)
    assert record["potentials"][0]["file"] == str(run / "potential.h5")
    assert set(record["ms_per_atom"]) == {"run", "asp_t10"}
    assert all(t > 0 for t in record["ms_per_atom"].values())
    assert len(ase.io.read(tmp_path / "p.xyz", ":")) == len(record["configurations"])
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_bad_input(tmp_path, run, small_data, capsys):  # noqa: F811
    data = str(small_data / "test.xyz")
    assert main(["evaluate", str(tmp_path / "none.h5"), "--data", data]) == EXIT_CONFIG
    assert "none.h5" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--data", str(tmp_path / "none.xyz")]) == EXIT_CONFIG
    assert "none.xyz" in capsys.readouterr().err
    assert main(["evaluate", str(run), "--data", data, "--energy-key", "dft_e"]) == EXIT_CONFIG
    assert "--energy-key: key 'dft_e' is in no frame" in capsys.readouterr().err
    # named as the option is spelled
    assert main(["evaluate", str(run), "--data", data, "--config-type-key", "ct"]) == EXIT_CONFIG
    assert "--config-type-key: key 'ct' is in no frame" in capsys.readouterr().err
    yace = run / "potentials" / "asp_t10.yace"
    assert main(["evaluate", str(yace), "--data", data]) == EXIT_CONFIG
    assert "asp_t10.h5 beside it" in capsys.readouterr().err
    # found by fuzzing (session 25): --predictions replaced the data it read
    before = (small_data / "test.xyz").read_bytes()
    assert main(["evaluate", str(run), "--data", data, "--predictions", data]) == EXIT_CONFIG
    assert f"--predictions {data} is the --data file {data}: writing there would " \
           "overwrite it" in capsys.readouterr().err
    assert (small_data / "test.xyz").read_bytes() == before
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(run), "--data", data, "--worst", "-3"])
    assert exit_.value.code == EXIT_CONFIG and "--worst: found '-3'; allowed: an integer >= 0" \
        in capsys.readouterr().err


def test_cli_reads_stresses_in_another_convention(tmp_path, run, small_data, capsys):  # noqa: F811
    data = str(small_data / "test.xyz")
    scores = {}
    for extra in ([], ["--stress-reading", "negated"]):
        assert main(["evaluate", str(run), "--data", data, "--resamples", "10", "--json",
                     str(tmp_path / "e.json")] + extra) == EXIT_OK
        record = json.loads((tmp_path / "e.json").read_text())
        scores[len(extra)] = record["potentials"][0]["errors"]["all"]
    capsys.readouterr()
    assert scores[0]["E"] == scores[2]["E"] and scores[0]["F"] == scores[2]["F"]
    assert scores[2]["S"]["mae"] > 1.5 * scores[0]["S"]["mae"]      # labels of the other sign
    group = load_configurations(small_data / "test.xyz")[0].config_type
    assert main(["evaluate", str(run), "--data", data, "--resamples", "10", "--stress-reading",
                 f"{group}=negated", "--json", str(tmp_path / "e.json")]) == EXIT_OK
    capsys.readouterr()
    assert json.loads((tmp_path / "e.json").read_text())["potentials"][0]["errors"][
        "all"]["S"]["mae"] != scores[0]["S"]["mae"]
    assert main(["evaluate", str(run), "--data", data, "--stress-reading", "bulkk=kbar"]) \
        == EXIT_CONFIG
    assert "--stress-reading: config_type ['bulkk'] is in no configuration of --data" \
        in capsys.readouterr().err
    # found by review: the last of two readings of one group won unseen
    for twice, what in ((["kbar", "gpa"], "the default"),
                        ([f"{group}=kbar", f"{group}=negated"], f"config_type {group!r}")):
        assert main(["evaluate", str(run), "--data", data, "--stress-reading", twice[0],
                     "--stress-reading", twice[1]]) == EXIT_CONFIG
        assert (f"--stress-reading: {what} given two readings, {twice[0].split('=')[-1]} and "
                f"{twice[1].split('=')[-1]}; allowed: one reading each") \
            in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", str(run), "--data", data, "--stress-reading", "kbars"])
    assert exit_.value.code == EXIT_CONFIG
    assert "--stress-reading: found 'kbars'; allowed: NAME or CONFIG_TYPE=NAME, NAME one of " \
           "as_labelled, swap_yz_xz" in capsys.readouterr().err


def _ref_keyed(source, path):
    """The frames of ``source`` with their labels under REF_* keys, no calculator."""
    frames = ase.io.read(source, ":")
    for atoms in frames:
        results, atoms.calc = atoms.calc.results, None
        atoms.info["REF_energy"] = results["energy"]
        atoms.arrays["REF_forces"] = results["forces"]
        if "stress" in results:
            atoms.info["REF_stress"] = results["stress"]
    ase.io.write(path, frames, format="extxyz")
    return path


def _scores(args, json_file, capsys):
    """`acefit evaluate` run with ``args`` and ``--json json_file``: (the first potential's
    errors in total, the printed text)."""
    assert main([*map(str, args), "--resamples", "10", "--worst", "0", "--json",
                 str(json_file)]) == EXIT_OK
    record = json.loads(json_file.read_text())
    return record["potentials"][0]["errors"]["all"], capsys.readouterr().out


def test_potentials_carry_the_label_keys_of_their_fit(run):  # noqa: F811
    import yaml

    keys = yaml.safe_load((run / "config.yaml").read_text())["data"]["keys"]
    for f in (run / "potential.h5", run / "potentials" / "asp_t10.h5"):
        assert Potential.load(f).metadata["data_keys"] == keys


def test_cli_reads_the_labels_with_the_keys_of_the_fit(tmp_path, run, small_data,  # noqa: F811
                                                       capsys):
    """Found by the session 31 walk-through: `acefit evaluate RUN --data test.xyz` on data
    labelled as the run's (REF_energy, ...) found no label, and `--energy-key REF_energy`
    alone scored the energies only."""
    import shutil

    import yaml

    ref = _ref_keyed(small_data / "test.xyz", tmp_path / "ref.xyz")
    out_json = tmp_path / "e.json"
    plain, _ = _scores(["evaluate", run, "--data", small_data / "test.xyz"], out_json, capsys)
    pot = Potential.load(run / "potential.h5")
    ref_keys = {"energy": "REF_energy", "forces": "REF_forces", "stress": "REF_stress"}
    pot.metadata["data_keys"] = {**pot.metadata["data_keys"], **ref_keys}
    fitted = tmp_path / "fitted" / "ref_pot.h5"
    fitted.parent.mkdir()
    pot.save(fitted)
    scores, out = _scores(["evaluate", fitted, "--data", ref], out_json, capsys)
    assert f"Labels read as {fitted} was fitted (the metadata of {fitted}): energy <- " \
           "REF_energy, forces <- REF_forces, stress <- REF_stress; --energy-key and the " \
           "like override." in out
    assert scores == plain
    # one key given: the other labels keep the fit's keys
    scores, out = _scores(["evaluate", fitted, "--data", ref, "--energy-key", "REF_energy"],
                          out_json, capsys)
    assert scores == plain and "forces <- REF_forces, stress <- REF_stress;" in out
    # a potential whose keys are not known: the error names the frame's keys and options
    del pot.metadata["data_keys"]
    pot.save(tmp_path / "bare.h5")
    # exit 2, as every problem of the command line, config or data found before any work
    assert main(["evaluate", str(tmp_path / "bare.h5"), "--data", str(ref)]) == EXIT_CONFIG
    assert "keys of this frame that look like labels: energy: REF_energy; forces: " \
           "REF_forces; stress: REF_stress; allowed: --energy-key REF_energy, " \
           "--forces-key REF_forces, --stress-key REF_stress" in capsys.readouterr().err
    # an older run (no keys in its files' metadata): its config.yaml
    old = tmp_path / "old"
    (old / "potentials").mkdir(parents=True)
    shutil.copy(run / "run.json", old)
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    cfg["data"]["keys"].update(ref_keys)
    (old / "config.yaml").write_text(yaml.safe_dump(cfg))
    pot.save(old / "potential.h5")
    pot.save(old / "potentials" / "asp_t10.h5")
    for target in (old, old / "potentials" / "asp_t10.h5"):
        scores, out = _scores(["evaluate", target, "--data", ref], out_json, capsys)
        assert scores == plain and f"({old / 'config.yaml'}): energy <- REF_energy" in out
    cfg["name"] = "another"         # a potential put into another run's folder
    (old / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["evaluate", str(old), "--data", str(ref)]) == EXIT_CONFIG
    assert "no label found" in capsys.readouterr().err
    # potentials fitted with other keys: the labels read as the first was fitted, a note
    _, out = _scores(["evaluate", fitted, run, "--data", ref], out_json, capsys)
    assert f"note: {run} was fitted with other label keys (energy <- energy, forces <- " \
           f"forces, stress <- stress, the metadata of {run / 'potential.h5'}); every " \
           f"potential is scored on the labels read as {fitted} was fitted." in out


def test_cli_without_force_labels_says_so_once(tmp_path, run, small_data,  # noqa: F811
                                               capsys):
    """Found by the session 31 walk-through: a force table per element of 0 atoms each."""
    frames = ase.io.read(small_data / "test.xyz", ":")
    for atoms in frames:
        atoms.calc.results.pop("forces")
    ase.io.write(tmp_path / "no_forces.xyz", frames, format="extxyz")
    scores, out = _scores(["evaluate", run, run / "potentials" / "asp_t10.h5", "--data",
                           tmp_path / "no_forces.xyz"], tmp_path / "e.json", capsys)
    assert scores["F"]["n"] == 0 and scores["E"]["n"] == len(frames)
    assert out.count("No forces scored: no frame has a force label under 'forces' "
                     "(--forces-key names another).") == 1
    assert "Forces per element" not in out
    assert "No energies scored" not in out
    # nor energies (a review: the data's energy under another key than the fit's)
    for atoms in frames:
        atoms.info["dft_energy"] = atoms.calc.results.pop("energy")
    ase.io.write(tmp_path / "no_energies.xyz", frames, format="extxyz")
    scores, out = _scores(["evaluate", run, "--data", tmp_path / "no_energies.xyz"],
                          tmp_path / "e.json", capsys)
    assert scores["E"]["n"] == 0
    # the key that looks like an energy named, with the option that reads it (s38 audit)
    assert out.count("No energies scored: no frame has an energy label under 'energy' (the "
                     f"files carry 'dft_energy' in {tmp_path / 'no_energies.xyz'}, which "
                     "looks like an energy: --energy-key dft_energy reads it).") == 1


def test_cli_names_the_keys_that_look_like_a_label_it_scored_none_of(
        tmp_path, run, small_data, capsys):  # noqa: F811
    """Session 38's audit: "no frame has a force label under 'forces'" did not name the
    dft_forces every frame had; a stress under another key went without a word; and a
    frame without forces among frames with them was not scored without a word."""
    frames = ase.io.read(small_data / "test.xyz", ":")
    for atoms in frames:
        atoms.new_array("dft_forces", atoms.calc.results.pop("forces"))
        atoms.info["dft_stress"] = atoms.calc.results.pop("stress")
    data = tmp_path / "dft.xyz"
    ase.io.write(data, frames, format="extxyz")
    scores, out = _scores(["evaluate", run, "--data", data], tmp_path / "e.json", capsys)
    assert scores["F"]["n"] == 0 and scores["S"]["n"] == 0
    assert (f"No forces scored: no frame has a force label under 'forces' (the files carry "
            f"'dft_forces' in {data}, which looks like forces: --forces-key dft_forces reads "
            "it).") in out
    assert (f"No stresses scored: no frame has a stress label under 'stress' (the files carry "
            f"'dft_stress' in {data}, which looks like a stress: --stress-key dft_stress "
            "reads it).") in out
    scores, out = _scores(["evaluate", run, "--data", data, "--forces-key", "dft_forces",
                           "--stress-key", "dft_stress"], tmp_path / "e.json", capsys)
    assert scores["F"]["n"] > 0 and scores["S"]["n"] > 0 and "scored:" not in out
    # some frames without forces: named, as the fit names training frames without them
    frames = ase.io.read(small_data / "test.xyz", ":")
    frames[2].calc.results.pop("forces")
    ase.io.write(tmp_path / "some.xyz", frames, format="extxyz")
    _, out = _scores(["evaluate", run, "--data", tmp_path / "some.xyz"], tmp_path / "e.json",
                     capsys)
    assert (f"note: 1 of {len(frames)} configurations have no forces "
            f"({tmp_path / 'some.xyz'}, frame 2): they add nothing to the errors of "
            "forces.") in out.splitlines()
    # no stress is no note: many test sets have none
    for atoms in frames:
        atoms.calc.results.pop("stress")
    ase.io.write(tmp_path / "no_stress.xyz", frames, format="extxyz")
    _, out = _scores(["evaluate", run, "--data", tmp_path / "no_stress.xyz"],
                     tmp_path / "e.json", capsys)
    assert "No stresses scored" not in out and "have no stress" not in out


def test_cli_keeps_unlabelled_predictions_only_for_predictions(tmp_path, run, small_data,  # noqa: F811
                                                               monkeypatch, capsys):
    """Session 33: `acefit evaluate` kept the predictions of what the frames have no label
    of (every force of a frame without force labels) without --predictions, which alone
    reads them."""
    import acefit.evaluate

    frames = ase.io.read(small_data / "test.xyz", ":")
    for atoms in frames:
        atoms.calc.results.pop("forces")
    ase.io.write(tmp_path / "no_forces.xyz", frames, format="extxyz")
    kept, evaluate_all = [], acefit.evaluate.evaluate

    def evaluate_kept(*args, **kwargs):
        kept.append(evaluate_all(*args, **kwargs))
        return kept[-1]

    monkeypatch.setattr(acefit.evaluate, "evaluate", evaluate_kept)
    args = ["evaluate", str(run), "--data", str(tmp_path / "no_forces.xyz"), "--resamples",
            "20"]
    assert main(args) == EXIT_OK
    assert main(args + ["--predictions", str(tmp_path / "p.xyz")]) == EXIT_OK
    assert kept[0].unlabelled is None
    assert [u["forces"].shape for u in kept[1].unlabelled] == \
        [(len(atoms), 3, 1) for atoms in frames]
    assert json.dumps(kept[0].errors) == json.dumps(kept[1].errors)     # NaN: no label
    capsys.readouterr()
    with pytest.raises(ValueError, match="kept no predictions of what the configurations"):
        write_predictions(tmp_path / "q.xyz", kept[0])


def test_cli_stops_quietly_when_the_reader_goes_away(run, small_data):  # noqa: F811
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-m", "acefit.cli", "evaluate", str(run),
                             "--data", str(small_data / "test.xyz"), "--resamples", "20"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()             # `| head` that has read enough before the first line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 141
    assert "rror" not in err and "Traceback" not in err, err


def test_committee_calibration_one_configuration_at_a_time_is_the_whole_arrays(configs,
                                                                                basis):
    """`evaluate` takes a committee's SDs a configuration at a time (no (rows, K) array):
    the same bits as the calibration of the whole spread rows."""
    from acefit.evaluate import committee_spread_rows, prediction_rows
    from acefit.metrics import committee_calibration, committee_calibration_by_config_type

    model, c = _potential(basis, 5)
    members = c + 0.003 * np.random.default_rng(6).standard_normal((4, len(c))) * (c != 0)
    pot = Potential(basis, c, e0=model.e0, committee=members, committee_scale={"F": 2.0})
    result = evaluate([model, pot], configs, resamples=20, progress=False)
    assert result.committee[0] is None
    rows = prediction_rows([pot], configs, progress=False)
    spread = committee_spread_rows(pot, configs)
    whole = rows.A[:, 0, None] + spread.A
    assert result.committee[1] == committee_calibration(spread, rows.A[:, 0], whole)
    assert result.committee_by_config_type[1] == committee_calibration_by_config_type(
        spread, rows.A[:, 0], whole)


def test_evaluate_and_validate_list_elements_in_one_order():
    """A structure with elements a potential lacks: acefit evaluate and acefit validate
    name them, and the potential's, by atomic number, the basis' order (Zn before Ag,
    Ni before Au), not one of them alphabetically (found by an earlier session)."""
    from ase.build import bulk

    from acefit.data import LabelledConfig
    from acefit.validate import validate

    basis = ACEBasis(["Au", "Ni"], order=2, totaldegree=4, rcut=4.0)
    pot = Potential(basis, np.zeros(len(basis)))
    atoms = bulk("Ni", "fcc", a=3.52, cubic=True)
    atoms.numbers[:3] = [47, 30, 79]        # Ag, Zn, Au
    said = (r"element\(s\) Zn, Ag not in the potential \(potential elements: Ni, Au\): a "
            r"potential predicts only the elements it was fitted with")
    with pytest.raises(ValueError, match=said):
        evaluate([pot], [LabelledConfig(atoms, energy=0.0, source="x.xyz")])
    with pytest.raises(ValueError, match="structure 0: " + said):    # in the same words
        validate(pot, [atoms])


def test_cli_names_stresses_that_disagree_with_their_energies(tmp_path, run, capsys):  # noqa: F811
    """Found by a user's walk-through: stresses in another convention gave a stress MAE of
    thousands of GPa and no hint; evaluate checks them against the energies as init and
    fit do, and names the reading under which they agree."""
    frames = ase.io.read(QUICKSTART / "train.xyz", ":")
    for atoms in frames:
        if "stress" in atoms.calc.results:
            atoms.calc.results["stress"] = -atoms.calc.results["stress"]
    flipped = tmp_path / "flipped.xyz"
    ase.io.write(flipped, frames)
    assert main(["evaluate", str(run), "--data", str(flipped), "--resamples", "10"]) == EXIT_OK
    out = capsys.readouterr().out
    assert ("note: strain inconsistent (17 of 18 pairs miss; with the opposite sign, 0): the "
            "stress errors of strain measure these labels, not the potentials; they agree "
            "with the energies read with the opposite sign: --stress-reading strain=negated."
            ) in out
    assert out.count("measure these labels") == 1   # the other groups have no strain pairs
    assert main(["evaluate", str(run), "--data", str(flipped), "--resamples", "10",
                 "--stress-reading", "strain=negated"]) == EXIT_OK
    assert "inconsistent" not in capsys.readouterr().out


def test_cli_says_when_the_data_are_the_runs_own(tmp_path, run, small_data, capsys):  # noqa: F811
    """Found by the session 31 walk-through (finding 9): `acefit evaluate RUN --data` of
    the run's own training data gave a table that looked like a test score."""
    import shutil

    train = ase.io.read(small_data / "train.xyz", ":")
    test = ase.io.read(small_data / "test.xyz", ":")
    mixed = tmp_path / "mixed.xyz"
    ase.io.write(mixed, test[:2] + train[3:7])
    asp = run / "potentials" / "asp_t10.h5"
    args = ["--resamples", "10", "--worst", "0"]
    record = tmp_path / "errors.json"
    assert main(["evaluate", str(run), str(asp), "--data", str(mixed), *args,
                 "--json", str(record)]) == EXIT_OK
    out = capsys.readouterr().out
    assert out.count("training or validation data") == 1    # once per run
    assert (f"note: 4 of 6 configurations of --data are training or validation data of run "
            f"{run} (run, asp_t10): their errors measure the fit, not the prediction (first: "
            f"{mixed}, frame 2; {mixed}, frame 3; {mixed}, frame 4; ...).") in out
    # and in the JSON (walk-through 2: only the terminal said so)
    expected = {"run": str(run), "count": 4, "missing_files": [],
                "configurations": [f"{mixed}, frame {i}" for i in range(2, 6)]}
    assert [p["fitted_data"] for p in json.loads(record.read_text())["potentials"]] \
        == [expected, expected]
    # the run's test data, or a potential whose run is not known: nothing to say
    assert main(["evaluate", str(run), "--data", str(small_data / "test.xyz"), *args]) == 0
    assert "training or validation data" not in capsys.readouterr().out
    alone = tmp_path / "alone.h5"
    shutil.copy(asp, alone)
    assert main(["evaluate", str(alone), "--data", str(mixed), *args,
                 "--json", str(record)]) == EXIT_OK
    assert "training or validation data" not in capsys.readouterr().out
    assert json.loads(record.read_text())["potentials"][0]["fitted_data"] is None
    # a run whose data files are gone: said, not guessed
    moved = tmp_path / "moved"
    shutil.copytree(run, moved, ignore=shutil.ignore_patterns("cache"))
    text = (moved / "config.yaml").read_text()
    (moved / "config.yaml").write_text(text.replace(str(small_data / "train.xyz"),
                                                    str(tmp_path / "gone.xyz")))
    assert main(["evaluate", str(moved / "potentials" / "asp_t10.h5"), "--data", str(mixed),
                 *args, "--json", str(record)]) == EXIT_OK
    assert f"note: the data of run {moved} ({tmp_path / 'gone.xyz'}) are not there any " \
           "more: whether --data holds its configurations is not known." in \
           capsys.readouterr().out
    assert json.loads(record.read_text())["potentials"][0]["fitted_data"] == {
        "run": str(moved), "count": None, "configurations": None,
        "missing_files": [str(tmp_path / "gone.xyz")]}



def test_the_notes_of_acefit_evaluate_from_python(tmp_path, run, small_data, capsys):  # noqa: F811
    """What `acefit evaluate` prints beside its tables is the library's
    (acefit.evaluation_notes): a script that scores a run's potentials gets the same notes
    and the same JSON record, without the command."""
    from acefit.data import read_configurations
    from acefit.evaluate import evaluation_record
    from acefit.evaluation_notes import (evaluation_notes, fitted_data, label_keys,
                                         missing_label_notes, unscored_notes)

    train = ase.io.read(small_data / "train.xyz", ":")
    test = ase.io.read(small_data / "test.xyz", ":")
    mixed = tmp_path / "mixed.xyz"
    ase.io.write(mixed, test[:2] + train[3:7])
    paths = [run, run / "potentials" / "asp_t10.h5"]
    potentials = [Potential.load(run / "potential.h5"), Potential.load(paths[1])]
    keys, key_notes = label_keys(paths, potentials, {})
    assert keys["energy"] == "energy" and key_notes == []
    assert label_keys(paths, potentials, {"stress": "s"})[0]["virial"] is None
    configs = read_configurations([mixed], keys)
    result = evaluate(potentials, configs, potential_labels(paths), resamples=10)
    found = fitted_data(paths, potentials, configs)
    assert found[0] is found[1] and found[0]["count"] == 4
    readings = {"default": "as_labelled", "config_type": {}}
    notes = evaluation_notes(result, found, keys, readings, [mixed])
    assert notes == [f"note: 4 of 6 configurations of --data are training or validation data "
                     f"of run {run} (run, asp_t10): their errors measure the fit, not the "
                     f"prediction (first: {mixed}, frame 2; {mixed}, frame 3; {mixed}, "
                     "frame 4; ...)."]
    # the command prints the same lines, after its first one
    assert main(["evaluate", *map(str, paths), "--data", str(mixed), "--resamples", "10",
                 "--worst", "0", "--json", str(tmp_path / "e.json")]) == EXIT_OK
    printed = capsys.readouterr().out.splitlines()
    assert printed[1:1 + len(notes)] == notes
    record = evaluation_record(result, paths, found)
    assert record["potentials"][1]["fitted_data"] == found[1]
    assert record["potentials"][1]["file"] == str(paths[1])
    assert [p["fitted_data"] for p in evaluation_record(result, paths)["potentials"]] \
        == [None, None]
    # no label of a kind: said, with the key looked under and the option that names another
    unlabelled = [dataclasses.replace(c, energy=None) for c in configs]
    assert unscored_notes(unlabelled, keys) == [
        "No energies scored: no frame has an energy label under 'energy' (--energy-key names "
        "another)."]
    assert unscored_notes(unlabelled, {**keys, "energy": None}) == [
        "No energies scored: the energy key is null."]
    # a label some configurations lack: the library's notes end with it, as the command's
    partly = [dataclasses.replace(configs[0], forces=None), *configs[1:]]
    note = (f"note: 1 of 6 configurations have no forces ({mixed}, frame 0): they add "
            "nothing to the errors of forces.")
    assert missing_label_notes(partly) == [note]
    assert evaluation_notes(dataclasses.replace(result, configs=partly), found, keys,
                            readings, [mixed])[-1] == note


def _own_trajectory(pot, atoms, path, steps):
    """``steps`` frames of MD of ``atoms`` (rattled: they move) under ``pot``'s calculator,
    written by ASE as the README's snippet writes them (the calculator's results as the
    labels)."""
    from ase import units
    from ase.io.trajectory import Trajectory
    from ase.md.verlet import VelocityVerlet

    atoms = atoms.copy()
    atoms.calc = ACECalculator(pot)
    dyn = VelocityVerlet(atoms, 1 * units.fs)
    with Trajectory(path, "w", atoms) as traj:
        dyn.attach(traj.write, interval=1)
        dyn.run(steps - 1)
    return path


def test_labels_that_are_a_potentials_own_predictions_are_named(tmp_path, configs, basis):
    """Found by a user's walk-through: a trajectory of MD with the potential itself (the
    README's snippet) scored every MAE 0.00 with no note. Its frames are named as the
    own predictions of that potential, and of no other, also as extended XYZ rounds
    them; reference frames are not, nor frames whose only evidence is an energy (an
    isolated atom: E0, which may come from the label; a crystal without force or stress)."""
    from ase import Atoms
    from ase.build import bulk

    from acefit.data import LabelledConfig
    from acefit.evaluate import own_prediction_configs

    a, _ = _potential(basis, 1)
    b, _ = _potential(basis, 2)
    traj = _own_trajectory(a, configs[1].atoms, tmp_path / "md.traj", 4)
    md = load_configurations(traj)
    assert len(md) == 4 and all(cfg.stress is not None for cfg in md)
    crystal = bulk("Cu", "fcc", a=3.7, cubic=True)
    own = []
    for k, (x, stress) in enumerate(((Atoms("Cu"), False), (crystal, False), (crystal, True))):
        energy, _, forces, sigma = a.energy_forces_stress(x)
        own.append(LabelledConfig(x, energy=energy, forces=forces, source="x.xyz", index=k,
                                  stress=sigma if stress else None))
    assert np.abs(own[1].forces).max() < 1e-12        # forces say nothing here
    data = [*configs[:3], *md, *own]
    result = evaluate([b, a], data, ["b", "a"], resamples=20)
    assert result.own_predictions == [[], [3, 4, 5, 6, 9]]
    assert result.errors[1]["by_config_type"][md[0].config_type]["F"]["n"] > 0  # still scored
    assert result.to_dict()["own_predictions"]["a"][0] == f"{traj}, frame 0"
    # written as extended XYZ (8 decimals), still the potential's own; a miss of 1e-5 eV/Å
    # in one force component is not (a fit gets nowhere that close)
    ase.io.write(tmp_path / "md.xyz", ase.io.read(traj, ":"))
    rounded = load_configurations(tmp_path / "md.xyz")
    assert not np.array_equal(rounded[1].forces, md[1].forces)
    missed = rounded[2].forces.copy()
    missed[0, 1] += 1e-5
    rounded[2] = dataclasses.replace(rounded[2], forces=missed)
    rows = evaluate([a], rounded, resamples=20).rows
    assert own_prediction_configs([a], rounded, rows) == [[0, 1, 3]]


def test_cli_warns_of_a_trajectory_written_with_the_potential(tmp_path, run, capsys):  # noqa: F811
    """`acefit evaluate RUN --data md.traj` of the README's MD: a warning that names how
    many configurations are the potential's own and says they are no reference data."""
    pot = Potential.load(run / "potential.h5")
    start = ase.io.read(QUICKSTART / "test.xyz", 0)
    traj = _own_trajectory(pot, start, tmp_path / "md.traj", 3)
    assert main(["evaluate", str(run), "--data", str(traj), "--resamples", "10"]) == EXIT_OK
    out = capsys.readouterr().out
    assert ("warning: 3 of 3 configurations of --data carry labels equal to the predictions "
            "of run (every label, to 1e-06 relative): written with it") in out
    assert (f"and they are scored with the others (first: {traj}, frame 0; {traj}, frame 1; "
            f"{traj}, frame 2)") in out
    assert main(["evaluate", str(run), "--data", str(QUICKSTART / "test.xyz"),
                 "--resamples", "10"]) == EXIT_OK
    assert "equal to the predictions" not in capsys.readouterr().out
    # its run's own training data, which it may reproduce exactly, are named as such already
    # (session 34 review: a fit that interpolates its 3 frames was told to relabel them)
    from types import SimpleNamespace

    from acefit.evaluation_notes import own_prediction_notes

    configs = [SimpleNamespace(where=f"t.xyz, frame {i}") for i in range(3)]
    result = SimpleNamespace(labels=["run"], own_predictions=[[0, 2]], configs=configs)
    assert own_prediction_notes(result, [{"configurations": ["t.xyz, frame 0",
                                                              "t.xyz, frame 2"]}]) == []
    assert "warning: 1 of 3 configurations" in own_prediction_notes(
        result, [{"configurations": ["t.xyz, frame 0"]}])[0]
    assert "warning: 2 of 3" in own_prediction_notes(result, [None])[0]


def test_untested_stresses_beside_a_converters_error_are_named(tmp_path, small_data, capsys,  # noqa: F811
                                                               monkeypatch):
    """Found by a user's walk-through: every stress negated, init reads strain (tested)
    negated and gives the untested groups V 0, but their test stresses were scored as
    labelled, the headline's S MAE test 3.19 GPa against 0.023 on the clean data, with no
    word; evaluate on the test file alone (too few strain pairs) said nothing either.
    Named now by the fit's warning, report.md's note beside the S errors (with the MAE
    without them), and evaluate's note where the run read --data itself."""
    data = tmp_path / "neg"
    data.mkdir()
    for name in ("train.xyz", "test.xyz"):
        frames = ase.io.read(small_data / name, ":")
        for atoms in frames:
            atoms.calc.results["stress"] = -atoms.calc.results["stress"]
        ase.io.write(data / name, frames)
    config = tiny_config(tmp_path, data)
    v0 = "data.weights.config_type={md: {V: 0.0}, surface: {V: 0.0}, vacancy: {V: 0.0}}"
    reading = "data.stress_reading.config_type={strain: negated}"
    # the record is found once per fit, for the warning and the report alike (it was
    # found twice, and the groups beside the converter's error three times)
    import acefit.consistency
    import acefit.data_checks

    calls = {"doubtful_test_stresses": 0, "untested_beside_converters": 0}
    for module, name in ((acefit.data_checks, "doubtful_test_stresses"),
                         (acefit.consistency, "untested_beside_converters")):
        def counted(*args, _wrapped=getattr(module, name), _name=name, **kwargs):
            calls[_name] += 1
            return _wrapped(*args, **kwargs)
        monkeypatch.setattr(module, name, counted)
    assert fit(config, tmp_path / "run", "--set", v0, "--set", reading) == EXIT_OK
    assert calls == {"doubtful_test_stresses": 1, "untested_beside_converters": 1}
    monkeypatch.undo()
    out, err = capsys.readouterr()
    assert ("md, surface, vacancy: stresses not tested against their energies (fewer than 3 "
            "strain pairs), beside a converter's error of sign or units found in strain (the "
            "opposite sign), which would go unseen in these; not fitted (V 0), but the test "
            "stress errors (in total and of each) include them as labelled") in err
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["data"]["doubtful_test_stresses"] == {
        "groups": {"md": "untested", "surface": "untested", "vacancy": "untested"},
        "found": {"strain": "negated"}}
    headline = [s for s in report["selection"]["selected"] if s["best"]][-1]
    strain = headline["errors"]["test"]["by_config_type"]["strain"]["S"]["mae"]
    note = ("**Note on S**: the test stress errors include labels that are not fitted (V 0, or "
            "in the test data only) and are in doubt, as read: md, surface, vacancy: not "
            "tested against their energies (fewer than 3 strain pairs), beside a converter's "
            "error of sign or units in strain (the opposite sign) that would go unseen in "
            f"them. Without them, the headline potential's S MAE test is {strain:.3f} GPa "
            "(strain).")
    assert note in (tmp_path / "run" / "report.md").read_text()
    # the terminal has no markdown (session 35): the same note, its title plain
    assert note.replace("**Note on S**", "Note on S") in out and "**" not in out
    # fitted (V 1) beside the converter's error: worse, and warned of (session 34 review)
    assert main(["fit", str(config), "--plan", "--set", reading]) == EXIT_OK
    assert ("md, surface, vacancy: stresses fitted as labelled (V > 0) but not tested against "
            "their energies (fewer than 3 strain pairs), beside a converter's error of sign "
            "or units found in strain (the opposite sign)") in capsys.readouterr().err
    # the clean data: no converter's error beside them, no warning (an untested stress is no
    # doubt by itself)
    assert main(["fit", str(tiny_config(tmp_path / "clean", small_data)), "--plan"]) == EXIT_OK
    assert "not tested against their energies" not in capsys.readouterr().err
    # evaluate: the run read the test file itself with strain negated; a copy of it is
    # another file, whose converter the run says nothing of
    copy = tmp_path / "copy.xyz"
    copy.write_bytes((data / "test.xyz").read_bytes())
    for given, named in ((data / "test.xyz", True), (copy, False)):
        assert main(["evaluate", str(tmp_path / "run"), "--data", str(given),
                     "--resamples", "10"]) == EXIT_OK
        out = capsys.readouterr().out
        assert ("note: the stresses of md, strain, surface, vacancy are scored as labelled, "
                "but fewer than 3 strain pairs tested them against their energies, beside a "
                "converter's error of sign or units in the strain stresses that run "
                f"{tmp_path / 'run'} read from --data (the opposite sign)" in out) is named, given
        assert "(with --stress-reading negated)." in out or not named

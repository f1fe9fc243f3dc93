"""Query by committee: scoring a pool by a committee's spread and choosing what to label
(acefit.query, `acefit query`)."""

import logging
import os
import re

import ase.io
import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from test_cli import (EXIT_CONFIG, EXIT_ERROR, EXIT_OK, fit, main, small_data,  # noqa: F401
                      tiny_config)

from acefit import ACECalculator, Potential
from acefit.query import QUERY_SCORES, committee_deviation, query, read_pool


@pytest.fixture(scope="module")
def potential(tmp_path_factory, small_data):  # noqa: F811
    folder = tmp_path_factory.mktemp("query")
    config = tiny_config(folder, small_data, extra="export: {committee: 8}\n")
    assert fit(config, folder / "run") == EXIT_OK
    return folder / "run" / "potential.h5"


def _pool(n_near=6):
    """Rattled fcc Cu near the quickstart's lattice constant, then a crystal compressed
    far beyond the training data (neighbours at 2.2 Å; the data start at 2.06 Å only in
    a few strained cells)."""
    frames = []
    for k in range(n_near):
        atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 2, 1))
        atoms.rattle(0.03, seed=k)
        frames.append(atoms)
    squeezed = bulk("Cu", "fcc", a=3.61 * 0.86, cubic=True).repeat((2, 2, 1))
    squeezed.rattle(0.03, seed=99)
    return frames + [squeezed]


def test_deviation_is_the_calculators_committee_spread(potential):
    pot = Potential.load(potential)
    atoms = _pool()[0]
    energy_sd, force_sd = committee_deviation(atoms, pot)
    calc = ACECalculator(pot, committee=True)
    atoms.calc = calc
    atoms.get_potential_energy()
    assert energy_sd == pytest.approx(1e3 * calc.results["energy_std"] / len(atoms), rel=1e-10)
    per_atom = np.sqrt((calc.get_property("forces_std", atoms) ** 2).sum(axis=1))
    assert force_sd == pytest.approx(per_atom.max(), rel=1e-10)


def test_the_configuration_unlike_the_data_is_chosen_first(potential):
    pot = Potential.load(potential)
    pool = _pool()
    for by in ("force", "energy"):
        result = query(pot, pool, n=2, by=by)
        assert result.chosen[0] == len(pool) - 1, by
        assert result.scores[len(pool) - 1] > 1.4 * result.scores[:-1].max(), by
        assert list(result.chosen) == list(np.argsort(-result.scores)[:2])
    # a threshold keeps only what is above it; a gap keeps chosen frames apart
    result = query(pot, pool, threshold=float(np.sort(query(pot, pool).force_sd)[-3]))
    assert len(result.chosen) == 2
    spread = query(pot, pool, n=3, gap=2).chosen
    assert all(abs(a - b) > 2 for a in spread for b in spread if a != b)


def test_bad_requests_are_named(potential):
    pot = Potential.load(potential)
    with pytest.raises(ValueError, match="by='stress'; allowed: force, energy"):
        query(pot, _pool(), by="stress")
    alien = bulk("Al", "fcc", a=4.05, cubic=True)
    with pytest.raises(ValueError, match=r"frame 7: element\(s\) Al not in the potential"):
        query(pot, _pool() + [alien])
    plain = Potential(pot.basis, pot.coefficients, prune=False)
    with pytest.raises(ValueError, match="no committee to query"):
        query(plain, _pool())


def test_cli_writes_the_chosen_frames_with_their_scores(potential, tmp_path, capsys):
    pool = tmp_path / "pool.xyz"
    ase.io.write(pool, _pool(), format="extxyz")
    out = tmp_path / "label_me.xyz"
    assert main(["query", str(potential.parent), "--pool", str(pool), "-n", "2",
                 "-o", str(out), "--no-progress"]) == EXIT_OK
    text = capsys.readouterr().out
    assert f"wrote {out}: 2 of 7 frames, by force SD" in text
    chosen = ase.io.read(out, ":")
    assert [a.info["pool_frame"] for a in chosen][0] == 6
    assert chosen[0].info[QUERY_SCORES["force"]] >= chosen[1].info[QUERY_SCORES["force"]]
    assert chosen[0].info["pool_file"] == str(pool)
    # --every reads a thinned pool; frames keep their index in the file
    assert main(["query", str(potential), "--pool", str(pool), "--every", "2", "-n", "1",
                 "-o", str(out), "--no-progress"]) == EXIT_OK
    assert ase.io.read(out).info["pool_frame"] == 6 and "1 of 4 frames" in \
        capsys.readouterr().out
    # --gap counts frames of the file: read frames 2 apart are more than 1 apart
    assert main(["query", str(potential), "--pool", str(pool), "--every", "2", "--gap", "1",
                 "-n", "3", "-o", str(out), "--no-progress"]) == EXIT_OK
    assert len(ase.io.read(out, ":")) == 3
    capsys.readouterr()
    # a potential without a committee is refused, naming it, and nothing is written
    plain = tmp_path / "plain.h5"
    pot = Potential.load(potential)
    Potential(pot.basis, pot.coefficients, prune=False).save(plain)
    assert main(["query", str(plain), "--pool", str(pool), "-o", str(tmp_path / "x.xyz"),
                 "--no-progress"]) == EXIT_CONFIG
    assert "plain.h5 has no committee to query" in capsys.readouterr().err
    assert not (tmp_path / "x.xyz").exists()


def test_query_pool_from_python_is_what_the_command_prints(potential, small_data,  # noqa: F811
                                                          tmp_path, capsys):
    """`acefit query`'s scoring across files, its notes, table and summary are the
    library's (acefit.query.query_pool and the text functions beside it): a script gets
    the frames the command writes and the lines it prints."""
    from acefit.query import (chosen_frames, chosen_summary, chosen_table,
                              default_min_distance, file_summary, left_out_notes, query_pool,
                              read_labelled)
    from acefit.runs import run_labelled_files

    pool = _pool()
    a, b = tmp_path / "a.xyz", tmp_path / "b.xyz"
    ase.io.write(a, pool[:4], format="extxyz")
    train = ase.io.read(small_data / "train.xyz", 0)      # labelled: scored, never chosen
    ase.io.write(b, pool[4:] + [train], format="extxyz")
    run = potential.parent
    files = run_labelled_files(run)
    assert files and all(f.is_file() for f in files)
    assert run_labelled_files(tmp_path) == []             # no run: no labelled files
    pot = Potential.load(potential)
    labelled = read_labelled(files)
    limits = default_min_distance(labelled, pot.basis.numbers)
    summaries = []
    found = query_pool(pot, [a, b], n=5, gap=1, labelled=labelled.keys, min_distance=limits,
                       progress=False,
                       on_file=lambda f, result: summaries.append(file_summary(f, result)))
    assert found.scored == 8 and found.known == [(b, 3)] and found.close == []
    # the squeezed crystal first, then by score across the files, at most 5, 2 a file
    # (--gap 1 of 4 and 3 read frames; the labelled one never)
    scores = [score for score, *_ in found.picks]
    assert found.picks[0][1:3] == (b, 2) and scores == sorted(scores, reverse=True)
    assert len(found.picks) == 4 and (b, 3) not in [p[1:3] for p in found.picks]
    assert found.counts() == {"scored": 8, "candidates": 7, "labelled": 1, "too close": 0,
                              "below": 0}
    chosen = chosen_frames(found)
    assert [(x.info["pool_file"], x.info["pool_frame"]) for x in chosen] == [
        (str(f), frame) for _, f, frame, _, _ in found.picks]
    table, note = chosen_table(chosen, labelled, limits)
    summary = chosen_summary(found, len(chosen), n=5, n_given=True, by="force", gap=1,
                             threshold=None)
    assert summary == ("4 of 8 frames, by force SD (-n 5 asked for; --gap 1 left out the "
                       "other 3 candidate(s), each within 1 frames of a more uncertain one "
                       "chosen: a smaller --gap chooses more)")
    out = tmp_path / "chosen.xyz"
    assert main(["query", str(run), "--pool", str(a), str(b), "-n", "5", "--gap", "1",
                 "-o", str(out), "--no-progress"]) == EXIT_OK
    printed = capsys.readouterr().out
    expected = "\n".join([*summaries, *left_out_notes(found, files, limits),
                          "", table] + (["", note] if note else [])
                         + ["", f"wrote {out}: {summary}"]) + "\n"
    assert printed == expected
    assert [x.info["pool_frame"] for x in ase.io.read(out, ":")] == [
        frame for _, _, frame, _, _ in found.picks]


def test_query_check_script_compares_the_ranking_with_the_errors(potential, tmp_path, capsys):
    from _scripts import load_script
    from ase.calculators.singlepoint import SinglePointCalculator

    script = load_script("query_check")
    pot = Potential.load(potential)
    frames = _pool()
    for atoms in frames:               # labels from the model itself, but for the last frame
        atoms.calc = ACECalculator(pot)
        energy, forces = atoms.get_potential_energy(), atoms.get_forces()
        shift = 1.0 if atoms is frames[-1] else 0.0
        atoms.calc = SinglePointCalculator(atoms, energy=energy + shift * len(atoms),
                                           forces=forces + shift)
    data = tmp_path / "labelled.xyz"
    ase.io.write(data, frames, format="extxyz")
    assert script.main([str(potential), "--data", str(data)]) == 0
    out = capsys.readouterr().out
    # only the squeezed crystal has an error, and it is the most uncertain: top 1 of 7
    force_row = next(line for line in out.splitlines() if line.startswith("| largest"))
    cells = [c.strip() for c in force_row.split("|")[1:-1]]
    assert cells[3] == "1 (1.3)"                            # top 3 holds the worst one
    assert float(cells[4].split(" / ")[0]) == pytest.approx(np.sqrt(3) / 3, rel=1e-3)


def _dump(path, frames, columns="id type x y z", types=None):
    """``frames`` as a LAMMPS text dump (orthogonal cells) with these columns; ``types``:
    each atom's type (default: 1, 2, ... by element, in order of appearance)."""
    lines = []
    for k, atoms in enumerate(frames):
        kinds = list(dict.fromkeys(atoms.get_chemical_symbols()))
        atom_types = types or [kinds.index(s) + 1 for s in atoms.get_chemical_symbols()]
        lines += ["ITEM: TIMESTEP", str(100 * k), "ITEM: NUMBER OF ATOMS", str(len(atoms)),
                  "ITEM: BOX BOUNDS pp pp pp",
                  *(f"0 {length}" for length in atoms.cell.lengths()), f"ITEM: ATOMS {columns}"]
        for i, (atom, t) in enumerate(zip(atoms, atom_types)):
            value = {"id": i + 1, "type": t, "element": atom.symbol, "x": atom.position[0],
                     "y": atom.position[1], "z": atom.position[2]}
            lines.append(" ".join(str(value[c]) for c in columns.split()))
    path.write_text("\n".join(lines) + "\n")


def test_a_lammps_dump_with_atom_types_is_read_with_species(potential, tmp_path, capsys):
    pool = _pool()
    dump = tmp_path / "md.lammpstrj"
    _dump(dump, pool)
    out = tmp_path / "picked.xyz"
    assert main(["query", str(potential), "--pool", str(dump), "--species", "Cu", "-n", "1",
                 "-o", str(out), "--no-progress"]) == EXIT_OK
    picked = ase.io.read(out)
    assert picked.info["pool_frame"] == len(pool) - 1 and set(picked.get_chemical_symbols()) \
        == {"Cu"}
    # without --species, not read as hydrogen (ASE's reading of type 1), but refused
    assert main(["query", str(potential), "--pool", str(dump), "-o", str(out),
                 "--no-progress"]) == EXIT_CONFIG
    assert "md.lammpstrj: a LAMMPS dump of atom types without element names" in \
        capsys.readouterr().err


def _query(potential, pools, out, *extra):
    return main(["query", str(potential), "--pool", *map(str, pools), "-o", str(out),
                 "--no-progress", *extra])


def test_pool_frames_no_potential_can_evaluate_are_named(potential, tmp_path, capsys):
    pool, out = tmp_path / "pool.xyz", tmp_path / "next.xyz"
    overlap = _pool()
    overlap[2].positions[1] = overlap[2].positions[0]
    empty = _pool()[:3] + [Atoms(cell=[3.61] * 3, pbc=True)]   # was 'float division by zero'
    for frames, message in ((overlap, "frame 2: atoms 0 and 1 sit on one point"),
                            (empty, ("frame 3: no atoms; allowed: a structure of at least "
                                     "one atom"))):
        ase.io.write(pool, frames, format="extxyz")
        assert _query(potential, [pool], out) == EXIT_CONFIG
        err = capsys.readouterr().err
        assert f"{pool}, {message}" in err and "(run with --debug" not in err
        assert not out.exists()
    # frames are named by their number in the file, also when every K-th is read
    ase.io.write(pool, _pool()[:4] + [bulk("Al", "fcc", a=4.05, cubic=True)], format="extxyz")
    assert _query(potential, [pool], out, "--every", "2") == EXIT_CONFIG
    assert f"{pool}, frame 4: element(s) Al not in the potential" in capsys.readouterr().err
    nan_cell = _pool()
    nan_cell[4].cell[0, 0] = np.nan
    ase.io.write(pool, nan_cell, format="extxyz")
    with pytest.raises(ValueError, match=re.escape(f"{pool}, frame 4: the cell has "
                                                   "non-finite entries")):
        read_pool(pool, every=2)
    assert len(read_pool(pool, every=3)) == 3      # frames 0, 3 and 6
    pool.write_bytes(np.random.default_rng(0).bytes(512))
    with pytest.raises(ValueError, match=re.escape(f"cannot read configurations from {pool}: ")):
        read_pool(pool)


def test_frames_of_elements_the_potential_lacks_are_all_named_before_any_is_scored(
        potential, tmp_path, capsys, monkeypatch):
    """Found by review (session 38): query scored the frames before the first frame of an
    element the potential lacks, then named that frame only, in words of its own. Every
    file is checked first, every such frame named as evaluate names them, with the
    command that writes a file without them; nothing is scored."""
    import acefit.query

    scored = []
    score = acefit.query.committee_deviation
    monkeypatch.setattr(acefit.query, "committee_deviation",
                        lambda atoms, pot: scored.append(1) or score(atoms, pot))
    aluminium = bulk("Al", "fcc", a=4.05, cubic=True)
    pools, out = [tmp_path / "a.xyz", tmp_path / "b.xyz"], tmp_path / "next.xyz"
    ase.io.write(pools[0], _pool() + [aluminium], format="extxyz")
    ase.io.write(pools[1], _pool()[:2] + [aluminium], format="extxyz")
    assert _query(potential, pools, out) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert (f"{pools[0]}, frame 7: element(s) Al not in the potential (potential elements: "
            "Cu, Au): a potential predicts only the elements it was fitted with; also "
            f"{pools[1]}, frame 2 (Al) (2 of 11 configurations); to leave them out: `python "
            f"-c 'import ase.io; ase.io.write(\"{tmp_path / 'a_CuAu.xyz'}\"") in err
    assert err.rstrip().endswith(f"(and alike for {pools[1]})")
    assert not scored and not out.exists()
    with pytest.raises(ValueError, match=r"frame 1: element\(s\) Al .* also frame 9 \(Al\)"):
        query(Potential.load(potential), _pool()[:1] + [aluminium] + _pool() + [aluminium])
    assert not scored


def test_a_pool_cut_off_in_its_last_frame_is_refused_whatever_every_is(tmp_path):
    """Found by review: with --every 2 or 3 the cut frame 6, never read, was dropped unseen
    while --every 1 refused the file."""
    pool = tmp_path / "md.xyz"
    ase.io.write(pool, _pool(), format="extxyz")
    lines = pool.read_text().splitlines(keepends=True)
    pool.write_text("".join(lines[:-2]))        # frame 6 loses its last two atoms
    for every in (1, 2, 3, 4):
        with pytest.raises(ValueError, match=re.escape(f"{pool}, frame 6: the file ends after "
                                                       "14 of the frame's 16 atom lines")):
            read_pool(pool, every=every)
    pool.write_text("".join(lines[:-18]))       # frame 6 gone whole: frames 0 to 5 are read
    assert len(read_pool(pool, every=4)) == 2   # frames 0 and 4


@pytest.mark.parametrize("name", ["md.dump", "md.lammpstrj.gz"])
def test_a_lammps_dump_cut_off_in_its_last_frame_is_refused(tmp_path, name):
    """ASE's dump reader read a last frame cut in its atom lines with the atoms it found
    (silently), and one cut in its header with its own errors ('list index out of range',
    'Incomplete LAMMPS dump text chunk', ...), naming no frame."""
    import gzip

    dump, species = tmp_path / name, ["Cu"]
    _dump(dump, _pool())                    # 7 frames of 9 header lines and 16 atom lines
    lines = dump.read_text().splitlines(keepends=True)
    last = 6 * 25                           # frame 6's first line

    def write(text):
        dump.write_bytes(gzip.compress(text.encode()) if name.endswith(".gz") else text.encode())

    def refused(text, ends):
        write(text)
        for every in (1, 2, 3, 4):
            with pytest.raises(ValueError, match=re.escape(f"{dump}, frame 6: the file ends "
                                                           f"{ends}: it looks truncated; "
                                                           "allowed: complete frames")):
                read_pool(dump, every=every, species=species)

    refused("".join(lines[:-2]), "after 14 of the frame's 16 atom lines")
    refused("".join(lines[:-2]) + lines[-2][:6], "after 14 of the frame's 16 atom lines, "
                                                 "inside the 15th")
    refused("".join(lines[:-1]) + lines[-1].rsplit(" ", 1)[0], "after 15 of the frame's 16 "
                                                               "atom lines, inside the 16th")
    refused("".join(lines[:last + 9]), "after 0 of the frame's 16 atom lines")
    for header in range(1, 9):              # the frame's ITEM: TIMESTEP line to its box
        refused("".join(lines[:last + header]), "inside the frame's header, before its "
                                                "atom lines")
    refused("".join(lines[:last + 8]) + lines[last + 8][:8], "inside the frame's header, "
                                                             "before its atom lines")
    # a complete last line without its line end is read, as in any other format
    write("".join(lines)[:-1])
    assert [len(atoms) for atoms in read_pool(dump, species=species)] == [16] * 7


def test_the_output_never_replaces_a_pool_file(potential, tmp_path, capsys):
    pool, other = tmp_path / "pool.xyz", tmp_path / "other.xyz"
    ase.io.write(pool, _pool(), format="extxyz")
    ase.io.write(other, _pool()[:2], format="extxyz")
    data = pool.read_bytes()
    (tmp_path / "sub").mkdir()
    os.link(pool, tmp_path / "hard.xyz")
    os.symlink(pool, tmp_path / "soft.xyz")
    for out, pools in ((pool, [other, pool]), (tmp_path / "sub" / ".." / "pool.xyz", [pool]),
                       (tmp_path / "hard.xyz", [pool]), (pool, [tmp_path / "soft.xyz"])):
        assert _query(potential, pools, out, "-n", "2") == EXIT_CONFIG
        captured = capsys.readouterr()
        assert f"-o {out} is the --pool file {pools[-1]}: writing there would overwrite it; " \
               "allowed: a path that is none of the --pool files" in captured.err
        assert "frames scored" not in captured.out            # refused before any work
        assert pool.read_bytes() == data
    with pytest.raises(SystemExit) as stop:      # on the command line: before any work
        _query(potential, [pool], tmp_path / "sub", "-n", "2")
    assert stop.value.code == 2
    assert f"-o/--output: {tmp_path / 'sub'} is a folder; allowed: the path of a file to " \
        "write" in capsys.readouterr().err


def test_pool_paths_that_are_no_files_exit_2_before_any_work(potential, tmp_path, capsys):
    """Found by fuzzing: a FIFO, a folder or /dev/null as a pool file was 'not found'."""
    pool, out, fifo = tmp_path / "pool.xyz", tmp_path / "next.xyz", tmp_path / "md.fifo"
    ase.io.write(pool, _pool(), format="extxyz")
    os.mkfifo(fifo)
    assert _query(potential, [pool, fifo], out) == EXIT_CONFIG
    captured = capsys.readouterr()
    assert f"pool file {fifo} is a named pipe (FIFO); allowed: a regular file" in captured.err
    assert "frames scored" not in captured.out and not out.exists()


def test_a_pool_file_named_twice_is_refused(potential, tmp_path, capsys):
    """Found by fuzzing: `--pool f f` scored every frame twice and could choose one twice."""
    pool, out = tmp_path / "pool.xyz", tmp_path / "next.xyz"
    ase.io.write(pool, _pool(), format="extxyz")
    (tmp_path / "sub").mkdir()
    os.symlink(pool, tmp_path / "link.xyz")
    for pools, again in (([pool, pool], "named twice"),
                         ([pool, tmp_path / "sub" / ".." / "pool.xyz"], f"{pool} again"),
                         ([tmp_path / "link.xyz", pool], f"{tmp_path / 'link.xyz'} again")):
        assert _query(potential, pools, out, "-n", "3") == EXIT_CONFIG
        captured = capsys.readouterr()
        assert f"pool file {pools[1]} is {again}: its frames would be scored twice, and one " \
               "could be chosen twice; allowed: each pool file once" in captured.err
        assert "frames scored" not in captured.out and not out.exists()


def _usage_error(argv, capsys) -> str:
    """argparse's message for a bad command line, after checking it exits with 2."""
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2, argv
    return capsys.readouterr().err


def test_species_serve_lammps_dumps_and_must_be_elements(potential, tmp_path, capsys):
    pool, out = tmp_path / "pool.xyz", tmp_path / "next.xyz"
    ase.io.write(pool, _pool(), format="extxyz")
    # an XYZ file names its elements: --species, for LAMMPS dumps, is ignored with a note
    # (ase's XYZ reader refused the specorder it was given)
    assert _query(potential, [pool], out, "--species", "Cu", "Au", "-n", "1") == EXIT_OK
    captured = capsys.readouterr()
    assert f"note: --species ignored for {pool}: it names its elements; --species is for " \
        "LAMMPS dumps of atom types only" in captured.err and "1 of 7 frames" in captured.out
    assert captured.err.count("--species ignored") == 1    # not again when the chosen are read
    out.unlink()
    argv = ["query", str(potential), "--pool", str(pool), "-o", str(out), "--species"]
    for bad, name in ((["Xx", "Yy"], "Xx"), (["Cu", "au"], "au"), (["X"], "X")):
        assert f"argument --species: found {name!r}; allowed: chemical symbols such as Cu " \
               "or Au" in _usage_error(argv + bad, capsys), bad
    assert not out.exists()


def test_lammps_dumps_of_types_need_their_species(tmp_path, caplog):
    """Found by fuzzing: a dump of types only was read as H, He, ... without --species,
    and with too few species stopped with ASE's 'list index out of range'."""
    frames = []
    for atoms in _pool(4):
        atoms.symbols[[1, 2]] = "Au"
        frames.append(atoms)
    dump = tmp_path / "md.dump"
    _dump(dump, frames)
    read = read_pool(dump, species=["Cu", "Au"])
    assert [a.get_chemical_symbols() for a in read] == [a.get_chemical_symbols() for a in frames]
    assert np.allclose(read[3].positions, frames[3].positions)
    assert read_pool(dump, species=["Au", "Cu"])[0].get_chemical_symbols()[:3] == ["Au", "Cu", "Cu"]
    with pytest.raises(ValueError, match=re.escape(
            f"{dump}: a LAMMPS dump of atom types without element names (no element or mass "
            "column): ASE would read types 1, 2, ... as H, He, ...; allowed: the elements of "
            "its types, one per type in type order (acefit query --species)")):
        read_pool(dump)
    _dump(dump, frames[:2])
    _dump(tmp_path / "last.dump", frames[2:], types=[1, 2, 3, 2] * 4)  # frames 2, 3: type 3
    dump.write_text(dump.read_text() + (tmp_path / "last.dump").read_text())
    with pytest.raises(ValueError, match=re.escape(
            f"{dump}, frame 2: LAMMPS atom type 3, but 2 species given (Cu, Au); allowed: one "
            "element per type, in type order, for types 1 to 3")):
        read_pool(dump, every=2, species=["Cu", "Au"])
    _dump(dump, frames, types=[1, 0, 1, 1] * 4)
    with pytest.raises(ValueError, match=re.escape(f"{dump}, frame 0: LAMMPS atom type 0; "
                                                   "allowed: types 1 to 2")):
        read_pool(dump, species=["Cu", "Au"])
    # a dump that names its elements needs no species, and ignores them (as ASE does)
    _dump(dump, frames, columns="id type element x y z", types=[1] * 16)
    for species in (None, ["Ag"]):
        with caplog.at_level(logging.INFO, logger="acefit"):
            read = read_pool(dump, species=species)
        assert [a.get_chemical_symbols() for a in read] == \
            [a.get_chemical_symbols() for a in frames]
    assert f"note: --species ignored for {dump}: it names its elements" in caplog.text
    # compressed, as ASE reads it (found by review: a .gz dump was read as H, He, ...)
    import gzip

    _dump(dump, frames)
    packed = tmp_path / "md.lammpstrj.gz"
    packed.write_bytes(gzip.compress(dump.read_bytes()))
    read = read_pool(packed, species=["Cu", "Au"])
    assert [a.get_chemical_symbols() for a in read] == [a.get_chemical_symbols() for a in frames]
    with pytest.raises(ValueError, match="a LAMMPS dump of atom types without element names"):
        read_pool(packed)


def test_a_threshold_is_a_finite_number(potential, tmp_path, capsys):
    pool, out = tmp_path / "pool.xyz", tmp_path / "next.xyz"
    ase.io.write(pool, _pool(), format="extxyz")
    argv = ["query", str(potential), "--pool", str(pool), "-o", str(out)]
    for bad in (["--threshold", "nan"], ["--threshold", "inf"], ["--threshold=-inf"],
                ["--threshold", "high"]):
        text = bad[-1].split("=")[-1]
        assert f"argument --threshold: found {text!r}; allowed: a finite number" in \
            _usage_error(argv + bad, capsys), bad
    with pytest.raises(ValueError, match="threshold=nan; allowed: a finite number"):
        query(Potential.load(potential), _pool(), threshold=float("nan"))
    # the bounds of -n, --every and --gap hold, at the command line (exit 2)
    for bad, low in ((["-n", "0"], 1), (["-n", "-2"], 1), (["--every", "0"], 1),
                     (["--gap", "-1"], 0)):
        assert f"argument {bad[0]}: found {bad[1]!r}; allowed: an integer >= {low}" in \
            _usage_error(argv + bad, capsys), bad
    assert not out.exists()


def test_a_generator_pool_is_scored_as_a_list_is(potential):
    pot = Potential.load(potential)
    listed = query(pot, _pool(), n=3, gap=1)
    streamed = query(pot, (atoms for atoms in _pool()), n=3, gap=1)
    assert list(streamed.chosen) == list(listed.chosen)
    np.testing.assert_array_equal(streamed.force_sd, listed.force_sd)
    np.testing.assert_array_equal(streamed.energy_sd, listed.energy_sd)
    alien = (atoms for atoms in _pool()[:2] + [bulk("Al", "fcc", a=4.05, cubic=True)])
    with pytest.raises(ValueError, match=r"md.xyz, frame 4: element\(s\) Al not in"):
        query(pot, alien, where=lambda i: f"md.xyz, frame {2 * i}")


def test_the_cli_scores_a_pool_one_frame_at_a_time(potential, tmp_path, capsys, monkeypatch):
    """`acefit query` keeps no pool in memory: while a frame is scored, the frames scored
    before it are gone (it read the whole pool first, all 7 frames alive); the chosen
    frames are read again for writing, from several files, with --every."""
    import gc
    import weakref

    import acefit.query

    pools = [tmp_path / "a.xyz", tmp_path / "b.xyz"]
    ase.io.write(pools[0], _pool(), format="extxyz")
    ase.io.write(pools[1], _pool()[::-1], format="extxyz")
    seen, alive = [], []        # Atoms are unhashable: no WeakSet
    score = acefit.query.committee_deviation

    def counting(atoms, pot):
        seen.append(weakref.ref(atoms))
        gc.collect()
        alive.append(sum(ref() is not None for ref in seen))
        return score(atoms, pot)

    monkeypatch.setattr(acefit.query, "committee_deviation", counting)
    out = tmp_path / "next.xyz"
    assert _query(potential, pools, out, "-n", "3") == EXIT_OK
    assert len(alive) == 14 and max(alive) <= 2
    chosen = ase.io.read(out, ":")
    assert [(a.info["pool_file"], a.info["pool_frame"]) for a in chosen][:2] == \
        [(str(pools[0]), 6), (str(pools[1]), 0)]
    want = _pool()
    assert np.allclose(chosen[0].positions, want[6].positions)
    assert "wrote" in capsys.readouterr().out
    assert _query(potential, pools, out, "-n", "2", "--every", "3") == EXIT_OK
    assert [a.info["pool_frame"] for a in ase.io.read(out, ":")] == [6, 0]
    # a pool file cut short between the scoring and the writing is named (read three
    # times: for its elements, scored, its chosen frames written)
    calls = []
    iter_pool = acefit.query.iter_pool

    def cut_on_third_read(path, *args, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            ase.io.write(path, _pool()[:3], format="extxyz")
        return iter_pool(path, *args, **kwargs)

    monkeypatch.setattr(acefit.query, "iter_pool", cut_on_third_read)
    assert _query(potential, pools[:1], out, "-n", "1") == EXIT_ERROR
    assert f"pool file {pools[0]} has no frame 6 any more: it changed while it was scored" \
        in capsys.readouterr().err


def test_frames_are_yielded_before_a_later_frame_fails(tmp_path):
    from acefit.query import iter_pool

    pool = tmp_path / "md.xyz"
    frames = _pool()
    frames[5].positions[1] = frames[5].positions[0]
    ase.io.write(pool, frames, format="extxyz")
    read = []
    with pytest.raises(ValueError, match=re.escape(f"{pool}, frame 5: atoms 0 and 1 sit on")):
        for number, atoms in iter_pool(pool):
            read.append(number)
    assert read == [0, 1, 2, 3, 4]
    assert [number for number, _ in iter_pool(pool, every=2)][:2] == [0, 2]
    # a dump of types names a bad type's frame as it is read, and counted from the file's
    # end once all are read
    from acefit.readers import iter_frames

    dump = tmp_path / "md.dump"
    _dump(dump, _pool(3)[:2])
    _dump(tmp_path / "last.dump", _pool(1)[:1], types=[1, 2] * 8)
    dump.write_text(dump.read_text() + (tmp_path / "last.dump").read_text())
    frames = iter_frames(dump, "::2", species=["Cu"])
    assert len(next(frames)) == 16          # the frame before is yielded first
    with pytest.raises(ValueError, match=re.escape(f"{dump}, frame 2: LAMMPS atom type 2")):
        next(frames)
    with pytest.raises(ValueError, match=re.escape(f"{dump}, the last frame: LAMMPS atom "
                                                   "type 2")):
        next(iter_frames(dump, "-2:", species=["Cu"]))


def test_labelled_frames_are_scored_but_never_chosen(potential):
    pot = Potential.load(potential)
    pool = _pool()
    from acefit.data import structure_key

    result = query(pot, pool, n=2, labelled={structure_key(pool[-1])})
    assert list(result.labelled) == [False] * (len(pool) - 1) + [True]
    assert len(result.chosen) == 2 and len(pool) - 1 not in result.chosen
    assert result.scores[-1] > result.scores[:-1].max()      # the one it would have chosen
    assert list(result.chosen) == list(np.argsort(-result.scores[:-1])[:2])


def test_the_cli_leaves_out_the_runs_own_data(potential, small_data, tmp_path,  # noqa: F811
                                              capsys):
    """With a run directory, the frames of the run's data files are labelled already;
    --labelled names other files, or none."""
    labelled = ase.io.read(small_data / "test.xyz", ":")
    pool = tmp_path / "pool.xyz"
    ase.io.write(pool, labelled + _pool(), format="extxyz")
    out = tmp_path / "label_me.xyz"
    every = ["-n", "100", "-o", str(out), "--no-progress"]
    assert main(["query", str(potential.parent), "--pool", str(pool), *every]) == EXIT_OK
    text = capsys.readouterr().out
    assert f"{len(labelled)} pool frame(s) are labelled already" in text
    assert f"(first: {pool}, frame 0)" in text
    assert sorted(a.info["pool_frame"] for a in ase.io.read(out, ":")) == \
        list(range(len(labelled), len(labelled) + len(_pool())))
    for none in (["--labelled"], []):
        target = potential.parent if none else potential       # a file: no run data
        assert main(["query", str(target), "--pool", str(pool), *none, *every]) == EXIT_OK
        assert "labelled already" not in capsys.readouterr().out
        assert len(ase.io.read(out, ":")) == len(labelled) + len(_pool())
    assert main(["query", str(potential), "--pool", str(pool), "--labelled",
                 str(small_data / "test.xyz"), *every]) == EXIT_OK
    assert f"{len(labelled)} pool frame(s) are labelled already" in capsys.readouterr().out
    # the output is never a labelled file
    assert main(["query", str(potential), "--pool", str(pool), "--labelled", str(out),
                 "-o", str(out), "--no-progress"]) == EXIT_CONFIG
    assert "is the --labelled file" in capsys.readouterr().err


def test_a_query_that_chooses_nothing_writes_no_file(potential, small_data, tmp_path,  # noqa: F811
                                                    capsys):
    """New-user audit, L5: a pool of labelled frames only left a 0-byte extended XYZ file
    (one ase.io.read refuses). No file now, and a file there from before is named as such."""
    pool = tmp_path / "pool.xyz"
    ase.io.write(pool, ase.io.read(small_data / "test.xyz", ":"), format="extxyz")
    out = tmp_path / "label_me.xyz"
    args = ["query", str(potential.parent), "--pool", str(pool), "-n", "5", "-o", str(out),
            "--no-progress"]
    assert main(args) == EXIT_OK
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith(f"{out} not written: 0 of ") and "earlier" not in last, last
    assert not out.exists()
    out.write_text("kept\n")
    assert main(args) == EXIT_OK
    assert "earlier one, left as it was" in capsys.readouterr().out
    assert out.read_text() == "kept\n"


def test_the_cli_queries_a_run_whose_data_have_moved(potential, small_data, tmp_path,  # noqa: F811
                                                     capsys):
    """A run directory whose data files are gone (a run copied to another machine), or
    a folder holding only a potential.h5, is queried: its config is not validated again
    (a missing data file stopped the query with a config error), and a data file that is
    gone is warned about."""
    import shutil

    import yaml

    pool = tmp_path / "pool.xyz"
    ase.io.write(pool, ase.io.read(small_data / "test.xyz", ":") + _pool(), format="extxyz")
    moved = tmp_path / "moved"
    moved.mkdir()
    for name in ("potential.h5", "run.json"):
        shutil.copy(potential.parent / name, moved)
    cfg = yaml.safe_load((potential.parent / "config.yaml").read_text())
    test = cfg["data"]["test"]
    cfg["data"]["train"] = [str(tmp_path / "gone.xyz")]
    (moved / "config.yaml").write_text(yaml.safe_dump(cfg))
    out = tmp_path / "label_me.xyz"
    every = ["--pool", str(pool), "-n", "100", "-o", str(out), "--no-progress"]
    assert main(["query", str(moved), *every]) == EXIT_OK
    captured = capsys.readouterr()
    assert f"the run's data file {tmp_path / 'gone.xyz'} is not there any more" in captured.err
    # the test file that is still there is left out of the choice
    n_test = len(ase.io.read(test[0] if isinstance(test, list) else test, ":"))
    assert f"{n_test} pool frame(s) are labelled already" in captured.out
    (moved / "config.yaml").unlink()
    assert main(["query", str(moved), *every]) == EXIT_OK
    assert "labelled already" not in capsys.readouterr().out

def _collapsed(d=0.3):
    """A frame of the pool whose atoms 0 and 1 are ``d`` Å apart: an MD that collapsed."""
    atoms = _pool()[0]
    atoms.positions[1] = atoms.positions[0] + [d, 0.0, 0.0]
    return atoms


def test_frames_with_atoms_too_close_are_scored_but_never_chosen(potential):
    """Found by the session 31 walk-through (finding 4): query chose first the frames of
    an MD that had collapsed (atoms 0.07-0.8 Å apart), whose DFT fails and whose labels
    spoiled the next fit."""
    pot = Potential.load(potential)
    pool = _pool() + [_collapsed()]
    free = query(pot, pool, n=2)
    assert free.chosen[0] == len(pool) - 1 and not free.too_close.any()
    result = query(pot, pool, n=2, min_distance=1.0)
    assert list(result.too_close) == [False] * (len(pool) - 1) + [True]
    assert result.shortest[-1] == pytest.approx(0.3) and result.pairs[-1] == (29, 29)
    assert result.pairs[:-1] == [None] * (len(pool) - 1)
    assert len(pool) - 1 not in result.chosen and len(result.chosen) == 2
    np.testing.assert_array_equal(result.force_sd, free.force_sd)      # scored all the same
    assert list(result.chosen) == list(np.argsort(-result.scores[:-1], kind="stable")[:2])
    assert not query(pot, pool, n=2, min_distance=0.25).too_close.any()
    with pytest.raises(ValueError, match=r"min_distance=-1; allowed: a finite number >= 0"):
        query(pot, pool, min_distance=-1)
    # per pair: the limit of the frame's own pair
    from acefit.query import PairLimits

    assert query(pot, pool, n=2, min_distance=PairLimits({(29, 29): 1.0}, {(29, 29): ""})
                 ).too_close[-1]
    assert not query(pot, pool, n=2, min_distance=PairLimits({(13, 29): 1.0}, {(13, 29): ""})
                     ).too_close.any()


def _shortest(frames) -> float:
    from ase.neighborlist import neighbor_list

    return min(neighbor_list("d", atoms, 6.0).min() for atoms in frames)


def test_the_cli_leaves_out_frames_far_closer_than_the_labelled_data(
        potential, small_data, tmp_path, capsys):  # noqa: F811
    """The limit of a pair: half the labelled data's shortest distance of the pair (a run
    directory's files, or --labelled), else half of 1.1 times its covalent radii's sum;
    --min-distance sets one for every pair. The chosen frames' table shows each one's
    closest pair, relative to its limit."""
    pool, out = tmp_path / "pool.xyz", tmp_path / "next.xyz"
    frames = [*_pool()[:3], _collapsed(0.3), _collapsed(0.8), _pool()[-1]]
    ase.io.write(pool, frames, format="extxyz")
    data = [small_data / "train.xyz", small_data / "test.xyz"]
    shortest = _shortest(atoms for f in data for atoms in ase.io.read(f, ":"))
    assert shortest / 2 > 0.8          # the 0.8 Å frame is far closer too
    run, every = potential.parent, ["-n", "10"]
    assert _query(run, [pool], out, *every) == EXIT_OK
    text = capsys.readouterr().out
    assert (f"2 pool frame(s) have two atoms closer than their pair's limit and were not "
            f"chosen (first: {pool}, frame 3, Cu-Cu 0.30 Å against {shortest / 2:.2f} Å). "
            f"Limits: Cu-Cu {shortest / 2:.2f} Å (0.5 × the labelled data's shortest Cu-Cu, "
            f"{shortest:.2f} Å in ") in text
    assert "--min-distance D sets one for every pair, 0: none" in text
    assert sorted(a.info["pool_frame"] for a in ase.io.read(out, ":")) == [0, 1, 2, 5]
    d = _shortest(frames[5:])
    assert f"| {pool} | 5 | 16 | " in text and \
        f" | Cu-Cu {d:.2f} ({d / (shortest / 2):.2f}×) |" in text
    assert d < shortest     # the squeezed crystal: beyond the data
    assert f"note: 1 chosen frame(s) have a pair of atoms closer than any labelled " \
           f"configuration (first: {pool}, frame 5, Cu-Cu {d:.2f} Å; the labelled data's " \
           f"shortest: {shortest:.2f} Å, " in text
    # the same from --labelled files
    assert _query(potential, [pool], out, *every, "--labelled", *map(str, data)) == EXIT_OK
    assert f"Cu-Cu 0.30 Å against {shortest / 2:.2f} Å" in capsys.readouterr().out
    # a potential file alone: no labelled data, half of 1.1 times the covalent bond
    assert _query(potential, [pool], out, *every) == EXIT_OK
    reach = 1.1 * 2 * 1.32
    assert (f"2 pool frame(s) have two atoms closer than their pair's limit and were not "
            f"chosen (first: {pool}, frame 3, Cu-Cu 0.30 Å against {reach / 2:.2f} Å). "
            f"Limits: Cu-Cu {reach / 2:.2f} Å (0.5 × 1.1 × the sum of covalent radii, "
            f"{reach:.2f} Å: no labelled data)") in capsys.readouterr().out
    assert _query(run, [pool], out, *every, "--min-distance", "0.5") == EXIT_OK
    assert "1 pool frame(s) have two atoms closer than their pair's limit and were not " \
           f"chosen (first: {pool}, frame 3, Cu-Cu 0.30 Å against 0.50 Å). Limits: 0.50 Å " \
           "for every pair (--min-distance)" in capsys.readouterr().out
    assert 4 in [a.info["pool_frame"] for a in ase.io.read(out, ":")]
    assert _query(run, [pool], out, *every, "--min-distance", "0") == EXIT_OK
    text = capsys.readouterr().out
    assert "two atoms closer" not in text and "| Cu-Cu 0.30 |" in text \
        and "| Cu-Cu 0.80 |" in text and "closest pair (Å) |" in text
    assert len(ase.io.read(out, ":")) == len(frames)
    for bad in ("-1", "nan"):
        assert "allowed: a finite number" in _usage_error(
            ["query", str(run), "--pool", str(pool), "-o", str(out), "--min-distance", bad],
            capsys)



def _alcu(a=4.05, swap=(0, 5), seed=0, scale=1.0):
    """An fcc Al cell of 32 atoms with Cu on the sites ``swap``, rattled, scaled by
    ``scale``, labelled by EMT."""
    from ase.calculators.emt import EMT
    from ase.calculators.singlepoint import SinglePointCalculator

    atoms = bulk("Al", "fcc", a=a, cubic=True).repeat(2)
    atoms.numbers[list(swap)] = 29
    atoms.rattle(0.05, seed=seed)
    atoms.set_cell(atoms.cell * scale, scale_atoms=True)
    atoms.calc = EMT()
    atoms.calc = SinglePointCalculator(atoms, energy=atoms.get_potential_energy(),
                                       forces=atoms.get_forces())
    return atoms


def _pair_shortest(frames) -> dict:
    """Each element pair's shortest distance, by ASE's own neighbour list."""
    from ase.neighborlist import neighbor_list

    out = {}
    for atoms in frames:
        i, j, d = neighbor_list("ijd", atoms, 6.0)
        z = atoms.numbers
        for a, b, x in zip(np.minimum(z[i], z[j]), np.maximum(z[i], z[j]), d):
            out[int(a), int(b)] = min(out.get((int(a), int(b)), np.inf), float(x))
    return out


def test_each_element_pair_has_its_own_limit(tmp_path):
    """Al-Cu (EMT): half the labelled data's shortest distance of each pair, not one limit
    for all, which let a collapsed Cu-Cu pair through beside compressed Al-Al data; a
    frame is judged by its pair furthest below its own limit; a pair the data bring no
    closer than 1.1 covalent bonds gets half of that."""
    from acefit.basis.neighbours import shortest_by_pair
    from acefit.query import bond_reach, default_min_distance, read_labelled

    # the Al-Al pairs of a compressed cell come closer than any Cu pair
    frames = [_alcu(swap=(0, 1), seed=1), _alcu(swap=(0, 5), seed=2),
              _alcu(swap=(3, 9), seed=3, scale=0.85)]
    files = [tmp_path / "a.xyz", tmp_path / "b.traj"]
    ase.io.write(files[0], frames[:2], format="extxyz")
    ase.io.write(files[1], frames[2:])
    expected = _pair_shortest(frames)
    for atoms in frames:
        assert shortest_by_pair(atoms, 6.0) == pytest.approx(_pair_shortest([atoms]))
    labelled = read_labelled(files)
    assert {p: d for p, (d, _) in labelled.pairs.items()} == pytest.approx(expected)
    assert labelled.pairs[13, 13][1] == f"{files[1]}, frame 0"
    limits = default_min_distance(labelled, [13, 29])
    assert limits.limits == pytest.approx({p: d / 2 for p, d in expected.items()})
    assert limits.limit(29, 13) == limits.limits[13, 29]
    assert expected[13, 13] < expected[29, 29] and expected[13, 13] < expected[13, 29]
    # a Cu-Cu pair closer than its own limit, though farther apart than half the
    # shortest distance of all (the one limit before): out
    collapsed = _alcu(swap=(0, 1), seed=4)
    d_cu = 0.5 * (expected[13, 13] / 2 + expected[29, 29] / 2)
    collapsed.positions[1] = collapsed.positions[0] + [d_cu, 0, 0]
    assert d_cu > expected[13, 13] / 2
    d, pair = limits.violation(collapsed)
    assert pair == (29, 29) and d == pytest.approx(d_cu)
    # an Al-Al pair as close is within its limit
    near_al = _alcu(swap=(0, 1), seed=4)
    near_al.positions[3] = near_al.positions[2] + [1.02 * expected[13, 13] / 2, 0, 0]
    assert limits.violation(near_al) == (np.inf, None)
    # judged relative to each limit: Cu-Cu at 0.8 of its limit before Al-Al at 0.9
    both = _alcu(swap=(0, 1), seed=5)
    both.positions[1] = both.positions[0] + [0.8 * limits.limits[29, 29], 0, 0]
    both.positions[3] = both.positions[2] + [0.9 * limits.limits[13, 13], 0, 0]
    assert limits.violation(both)[1] == (29, 29)
    # Cu atoms only 4 Å apart: no Cu-Cu bond labelled, the covalent reach
    dilute = tmp_path / "dilute.xyz"
    ase.io.write(dilute, [_alcu(swap=(0, 10))], format="extxyz")
    assert _pair_shortest(ase.io.read(dilute, ":"))[29, 29] > bond_reach(29, 29)
    limits = default_min_distance(read_labelled([dilute]), [13, 29])
    assert limits.limits[29, 29] == pytest.approx(0.5 * 1.1 * 2 * 1.32)
    assert "none closer in the labelled data" in limits.reasons[29, 29]
    assert "the labelled data's shortest Al-Cu" in limits.reasons[13, 29]
    assert default_min_distance(None, [29, 13]).limits == pytest.approx(
        {(13, 13): 0.55 * 2.42, (13, 29): 0.55 * 2.53, (29, 29): 0.55 * 2.64})


def test_the_cli_judges_each_pair_by_its_own_limit(potential, small_data, tmp_path,  # noqa: F811
                                                   capsys):
    """Cu-Au: an Au-Au pair closer than half the data's shortest Au-Au distance is left
    out, though farther apart than half the data's shortest distance of any pair (the one
    limit before, which let it through); a Cu-Cu pair as close is within its own."""
    from acefit.query import default_min_distance, read_labelled

    data = [small_data / "train.xyz", small_data / "test.xyz"]
    limits = default_min_distance(read_labelled(data), [29, 79])
    cu, au = limits.limits[29, 29], limits.limits[79, 79]
    assert min(limits.limits.values()) == cu < 0.95 * au
    frames = []
    for k, (pair, d) in enumerate((((2, 3), (cu + au) / 2), ((0, 1), (cu + au) / 2))):
        atoms = _pool()[k]
        atoms.numbers[[2, 3]] = 79
        atoms.positions[pair[1]] = atoms.positions[pair[0]] + [d, 0, 0]
        frames.append(atoms)
    pool, out = tmp_path / "pool.xyz", tmp_path / "next.xyz"
    ase.io.write(pool, frames, format="extxyz")
    assert _query(potential.parent, [pool], out, "-n", "10") == EXIT_OK
    text = capsys.readouterr().out
    assert (f"1 pool frame(s) have two atoms closer than their pair's limit and were not "
            f"chosen (first: {pool}, frame 0, Au-Au {(cu + au) / 2:.2f} Å against "
            f"{au:.2f} Å)") in text
    assert [a.info["pool_frame"] for a in ase.io.read(out, ":")] == [1]
    assert f"| Cu-Cu {(cu + au) / 2:.2f} ({(cu + au) / 2 / cu:.2f}×) |" in text


def test_the_note_on_frames_beyond_the_data_needs_no_pair_within_reach(
        potential, tmp_path, capsys):
    """Labelled data whose every pair is farther apart than its covalent reach (an
    expanded Cu crystal, like fcc Al at equilibrium: 1.18 bonds) record no pair, yet a
    chosen frame closer than that reach is beyond them: the note says so (it was left out
    whenever no labelled pair came within its reach)."""
    from acefit.query import bond_reach

    labelled, pool, out = tmp_path / "wide.xyz", tmp_path / "pool.xyz", tmp_path / "next.xyz"
    wide = bulk("Cu", "fcc", a=4.2, cubic=True).repeat(2)       # neighbours 2.97 Å
    assert 4.2 / np.sqrt(2) > bond_reach(29, 29)
    ase.io.write(labelled, [wide], format="extxyz")
    ase.io.write(pool, _pool(), format="extxyz")
    assert _query(potential, [pool], out, "-n", "10", "--labelled", str(labelled)) == EXIT_OK
    text = capsys.readouterr().out
    assert re.search(r"note: \d+ chosen frame\(s\) have a pair of atoms closer than any "
                     r"labelled configuration \(first: .*Cu-Cu \d\.\d\d Å; none in the "
                     rf"labelled data within {bond_reach(29, 29):.2f} Å\)", text)
    # no labelled data at all: nothing to be beyond
    assert _query(potential, [pool], out, "-n", "10", "--labelled") == EXIT_OK
    assert "closer than any labelled" not in capsys.readouterr().out


def test_an_element_pair_is_keyed_in_one_place():
    """Session 33: PairLimits and Labelled each wrote the pair key out; one function, in
    the order shortest_by_pair keys the pairs."""
    from acefit.basis.neighbours import shortest_by_pair
    from acefit.query import Labelled, PairLimits, bond_reach, pair_key

    assert pair_key(79, 29) == pair_key(29, 79) == (29, 79)
    atoms = Atoms("AuCu", positions=[[0, 0, 0], [2.5, 0, 0]])
    assert list(shortest_by_pair(atoms, 3.0)) == [pair_key(79, 29)]
    limits = PairLimits({pair_key(79, 29): 1.2}, default=0.5)
    assert limits.limit(79, 29) == limits.limit(29, 79) == 1.2 and limits.limit(29, 29) == 0.5
    seen = Labelled(set(), {pair_key(29, 79): (2.5, "f, frame 0")})
    assert seen.shortest(79, 29) == (2.5, "f, frame 0")
    assert seen.shortest(79, 79) == (bond_reach(79, 79), None)

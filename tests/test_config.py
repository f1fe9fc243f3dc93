"""The YAML schema: validation messages, defaults, paths, and the generated docs."""

import os
from pathlib import Path

import pytest
import yaml
from _zuo_data import ABSENT, ZUO

from acefit.config import ConfigError, SCHEMA, SOLVER, load_config, render_markdown

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path, text, name="run.yaml"):
    (tmp_path / "train.xyz").write_text("placeholder")
    path = tmp_path / name
    path.write_text(text)
    return path


MINIMAL = """\
data:
  train: train.xyz
solvers:
  - {name: asp, max_active: 50}
"""


def problems(path):
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems, str(info.value)


def test_minimal_config_gets_every_default(tmp_path):
    cfg = load_config(write(tmp_path, MINIMAL))
    assert cfg["name"] == "run"
    assert cfg["data"]["train"] == [str((tmp_path / "train.xyz").resolve())]
    assert cfg["data"]["validation"] == {"fraction": 0.1, "seed": 0, "stratify": False,
                                         "file": None, "key": None}
    assert cfg["data"]["weights"]["default"] == {"E": 30.0, "F": 1.0, "V": 1.0}
    assert cfg["data"]["e0"] == "fit"
    assert cfg["basis"]["order"] == 3 and cfg["basis"]["rcut"] == 5.0
    assert cfg["basis"]["envelope"] == "x"          # spelled out: a run's config.yaml says it
    assert cfg["prior"] == {"kind": "algebraic", "p": 4.0, "wL": 1.0, "offset": 0.0}
    solver = cfg["solvers"][0]
    assert solver["label"] == "asp" and solver["max_active"] == 50
    assert solver["debias"] == "none" and solver["prior"] is True
    assert cfg["selection"]["budgets"] == [] and cfg["export"]["formats"] == ["acefit"]
    # every top-level section is present and complete
    assert set(cfg) == set(SCHEMA.keys) | {"config_file"}


def test_list_types_are_described_in_english(tmp_path):
    """'allowed: a increasing, list' and 'a non-empty, list' were the builder's grammar."""
    path = write(tmp_path, MINIMAL + "selection:\n  budgets: [20, 10]\n")
    (where, msg), = problems(path)[0]
    assert where.endswith(":6: selection.budgets")
    assert "allowed: an increasing list, each item an integer >= 1" in msg
    path = write(tmp_path, MINIMAL + "basis:\n  elements: []\n")
    assert "allowed: null or a non-empty list, each item a chemical symbol" in problems(path)[1]
    assert ", list" not in render_markdown()


def test_suggestions_ignore_case_and_complete_abbreviations(tmp_path):
    """'e' for 'E', 'OMP' for 'omp', 'cu' for 'Cu' and 'dir' for 'directory' got no hint."""
    text = problems(write(tmp_path, """\
data:
  train: train.xyz
  weights:
    default: {e: 30.0}
basis:
  elements: [cu, au]
solvers:
  - {name: OMP}
  - {name: omp, debias: LS}
output:
  dir: runs
"""))[1]
    for hint in ("unknown key 'e' (did you mean 'E'?)", "found 'cu' (string) (did you mean "
                 "'Cu'?)", "found 'OMP' (string) (did you mean 'omp'?)",
                 "found 'LS' (string) (did you mean 'ls'?)",
                 "unknown key 'dir' (did you mean 'directory'?)"):
        assert hint in text
    assert "without repeats" not in text        # two invalid items are no repeat
    repeated = MINIMAL + "basis:\n  elements: [Cu, Cu]\n"
    assert "without repeats" in problems(write(tmp_path, repeated))[1]
    # no symbol is guessed from a misspelling, nor a key from one letter it begins
    text = problems(write(tmp_path, MINIMAL + "basis:\n  elements: [Cux]\noutput:\n  c: 1\n"))[1]
    assert "'Cux' (string); allowed" in text and "unknown key 'c';" in text


@pytest.mark.parametrize("key, meant", [("Default", "default"), ("cu-au", "Cu-Au"),
                                        ("Cu\u2013Au", "Cu-Au"), ("Cu_Au", "Cu-Au"),
                                        ("Cu - Au", "Cu-Au"), ("au\u2212CU", "Au-Cu")])
def test_a_misspelt_pair_key_gets_a_suggestion(tmp_path, key, meant):
    """Walk-through H, finding L4: per-pair keys written in another case, or with an en
    dash, an underscore or spaces, got no "(did you mean ...)"."""
    rcut = f"basis:\n  rcut: {{default: 5.0, '{key}': 4.5}}\n"
    text = problems(write(tmp_path, MINIMAL + rcut))[1]
    assert f"basis.rcut.{key}: found '{key}' (string) (did you mean '{meant}'?)" in text
    text = problems(write(tmp_path, MINIMAL + "basis:\n  r0: {'Xx-Au': 2.5, CuAu: 2.5}\n"))[1]
    assert "found 'Xx-Au' (string); allowed" in text and "found 'CuAu' (string); allowed" in text


def test_unknown_key_is_an_error_with_line_and_suggestion(tmp_path):
    path = write(tmp_path, MINIMAL + "basis:\n  totaldegre: 10\n")
    found, text = problems(path)
    assert len(found) == 1
    where, msg = found[0]
    assert where == f"{path}:6: basis.totaldegre"
    assert "unknown key 'totaldegre'" in msg and "did you mean 'totaldegree'" in msg


def test_wrong_type_names_what_was_found_and_what_is_allowed(tmp_path):
    path = write(tmp_path, MINIMAL + "basis:\n  order: three\n")
    (where, msg), = problems(path)[0]
    assert where.endswith(":6: basis.order")
    assert "found 'three' (string)" in msg and "an integer in [1, 4]" in msg


def test_missing_file_is_reported_with_its_resolved_path(tmp_path):
    path = write(tmp_path, MINIMAL.replace("train.xyz", "nope/train.xyz"))
    (where, msg), = problems(path)[0]
    assert where.endswith(":2: data.train")
    assert "does not exist" in msg and str(tmp_path / "nope" / "train.xyz") in msg


def test_data_paths_that_are_no_files_are_named(tmp_path):
    """Found by fuzzing: a FIFO and /dev/null 'did not exist', a link loop stopped the
    config check with the system's 'Symlink loop from ...'."""
    os.mkfifo(tmp_path / "fifo.xyz")
    (tmp_path / "loop.xyz").symlink_to(tmp_path / "loop.xyz")
    for value, what in (("fifo.xyz", "is a named pipe (FIFO)"),
                        ("loop.xyz", "is a loop of symbolic links"), (os.devnull, "is a device")):
        _, msg = problems(write(tmp_path, MINIMAL.replace("train.xyz", value)))
        assert f"data.train: file {value!r} {what} (resolved to " in msg, value
        assert "allowed: a path to an existing regular file" in msg


def test_output_folders_that_can_be_no_folder_are_named(tmp_path, capsys):
    """Found by review: a loop of links as output.directory passed the config check, and
    the fit stopped with the system's '[Errno 17] File exists' (exit 3, as for a finished
    run); `fit -o` with one, with Python's 'Symlink loop from ...'."""
    from acefit.cli import main
    from acefit.commands import EXIT_CONFIG

    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    os.mkfifo(tmp_path / "fifo")
    for key in ("directory", "cache"):
        for value, what in (("loop", "is a loop of symbolic links"),
                            ("fifo", "is a named pipe (FIFO)")):
            (where, msg), = problems(write(tmp_path, MINIMAL + f"output: {{{key}: {value}}}\n"))[0]
            assert where.endswith(f": output.{key}")
            assert msg.startswith(f"{value!r} {what} (resolved to {tmp_path / value}); "
                                  "allowed: null or a path"), msg
    with pytest.raises(SystemExit) as exited:    # argparse names the option
        main(["fit", str(write(tmp_path, MINIMAL)), "--check", "-o", str(tmp_path / "loop")])
    assert exited.value.code == EXIT_CONFIG
    assert (f"argument -o/--output: {tmp_path / 'loop'} is a loop of symbolic links; "
            "allowed: a folder, or a path that does not exist yet") in capsys.readouterr().err


def test_solver_parameter_out_of_range_and_foreign_parameter(tmp_path):
    text = MINIMAL + "  - {name: omp, max_active: 0}\n  - {name: omp, label: o2, min_lambda: 1}\n"
    found, _ = problems(write(tmp_path, text))
    messages = dict(found)
    keys = [w.split(": ", 1)[1] for w, _ in found]
    assert keys == ["solvers[1].max_active", "solvers[2].min_lambda"]
    assert "found 0 (integer); allowed: null or an integer >= 1" in list(messages.values())[0]
    assert "'min_lambda' is a parameter of asp, lars, cd, ista" in list(messages.values())[1]


def test_a_key_of_another_kind_without_the_kind_asks_for_the_kind(tmp_path):
    """A prior without kind is algebraic; `{sigma_l: 3}` said only whose parameter sigma_l
    was, not that `kind: gaussian` was missing (found by fuzzing, session 25)."""
    (where, msg), = problems(write(tmp_path, MINIMAL + "prior: {sigma_l: 3}\n"))[0]
    assert where.endswith(": prior.sigma_l")
    assert msg == ("key 'sigma_l' belongs to kind 'gaussian'; add `kind: gaussian` (a prior "
                   "without kind is algebraic, whose keys are p, wL, offset)")
    # with the kind written, the key is foreign to the kind the user chose
    (_, msg), = problems(write(tmp_path, MINIMAL + "prior: {kind: algebraic, a_l: 1}\n"))[0]
    assert msg.startswith("unknown key 'a_l' for kind 'algebraic' ('a_l' is a parameter of "
                          "exponential)")


def test_every_problem_is_reported_at_once(tmp_path):
    text = MINIMAL + "selection: {metric: best}\nprior: {kind: gaussian, p: 2}\nfoo: 1\n"
    found, text_out = problems(write(tmp_path, text))
    keys = sorted(w.split(": ", 1)[1] for w, _ in found)
    assert keys == ["foo", "prior.p", "selection.metric"]
    assert text_out.startswith(f"invalid config {tmp_path / 'run.yaml'} (3 problems):")


def test_unknown_solver_and_missing_required_keys(tmp_path):
    path = write(tmp_path, "data: {}\nsolvers:\n  - {name: lassoo}\n")
    found, _ = problems(path)
    assert [w.split(": ", 1)[1] for w, _ in found] == ["data.train", "solvers[0].name"]
    assert "missing required key" in found[0][1]
    assert "did you mean 'lasso'" not in found[1][1] and "one of asp, omp" in found[1][1]


def test_a_config_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "utf16.yaml"
    path.write_bytes("data: {train: train.xyz}\n".encode("utf-16"))
    found, text = problems(path)
    assert "not UTF-8 text (byte 0xff at position 0)" in text and str(path) in text


def test_duplicate_key_and_bad_yaml(tmp_path):
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {order: 2}\nbasis: {order: 3}\n"))
    assert found == [(f"{tmp_path / 'run.yaml'}:6: basis", "duplicate key")]
    found, _ = problems(write(tmp_path, "data: [unclosed\n"))
    assert "not valid YAML" in found[0][1]


@pytest.mark.parametrize("text, where, written", [
    ("basis:\n  rcut: 1e1\n", "basis.rcut", "10.0"),
    ("basis:\n  rcut: {Cu-Cu: 5.5e0, default: 5}\n", "basis.rcut.Cu-Cu", "5.5"),
    ("prior: {kind: algebraic, p: 2E+0}\n", "prior.p", "2.0"),
    ("repulsion: {kind: zbl, inner: 1e-1, outer: 2.0}\n", "repulsion.inner", "0.1"),
])
def test_a_number_yaml_reads_as_text_is_named_so(tmp_path, text, where, written):
    """Found by fuzzing (session 28): PyYAML (YAML 1.1) reads 1e1, 5.0e1 and 2E+0 as
    strings, so `rcut: 1e1` was "found '1e1' (string); allowed: a number > 0", a
    number refused as not a number."""
    (found, msg), = problems(write(tmp_path, MINIMAL + text))[0]
    assert found.endswith(f": {where}")
    assert ("(string, as YAML 1.1 reads a number with an exponent but without a '.' or the "
            f"exponent's sign; the number is written {written})") in msg


def test_a_word_yaml_reads_as_a_boolean_is_named_so(tmp_path):
    """Found by the solver audit (session 32): `debias: yes` was "found True (boolean)",
    with no word of why a word became a boolean."""
    text = MINIMAL.replace("max_active: 50}", "max_active: 50, debias: yes}")
    (found, msg), = problems(write(tmp_path, text))[0]
    assert found.endswith(": solvers[0].debias")
    assert "found True (boolean, as YAML 1.1 reads yes, no, on, off, true and false; a word " \
        "meant as text is quoted, as 'no'); allowed: one of 'none', 'ls', 'tsvd'" in msg


def test_a_list_or_mapping_as_a_key_is_named(tmp_path):
    """Found by fuzzing (session 28): YAML allows a list as a mapping key, as in a pair
    written `rcut: {[Cu, Au]: 5.5}`, which Python cannot hold: `acefit: error: unhashable
    type: 'list'`, naming neither the file nor the key."""
    found, _ = problems(write(tmp_path, MINIMAL + "basis:\n  rcut: {[Cu, Au]: 5.5}\n"))
    assert found == [(f"{tmp_path / 'run.yaml'}:6: basis.rcut",
                      "found the key [Cu, Au] (list); allowed: a name or a number as a key")]
    found, _ = problems(write(tmp_path, MINIMAL + "basis:\n  ? {a: 1}\n  : 5\n"))
    assert found == [(f"{tmp_path / 'run.yaml'}:6: basis",
                      "found the key {a: 1} (mapping); allowed: a name or a number as a key")]


@pytest.mark.parametrize("value, where, message", [
    ("{Cu-Au: 5, Au-Au: 4, Cu-Au: 6}", "basis.rcut.Cu-Au", "duplicate key"),
    ("{[Cu, Au]: 5}", "basis.rcut", "found the key [Cu, Au] (list)"),
])
def test_an_override_is_parsed_as_the_file_is(tmp_path, value, where, message):
    """Found by fuzzing (session 28): `--set 'basis.rcut={Cu-Au: 5, Cu-Au: 6}'` kept the
    last value unremarked (the file refuses a duplicate key), and a list as a key was
    PyYAML's 'found unhashable key'."""
    path = write(tmp_path, MINIMAL + "basis:\n  rcut: 6.0\n")
    assignment = f"basis.rcut={value}"
    with pytest.raises(ConfigError) as info:
        load_config(path, [assignment])
    (found, msg), = info.value.problems
    assert found == f"--set '{assignment}': {where}" and msg.startswith(message)
    assert load_config(path, ["basis.rcut=5", "basis.r0="])["basis"]["r0"] is None


def test_cross_checks(tmp_path):
    text = MINIMAL + ("  - {name: asp}\n"                         # label clash
                      "basis: {order: 2, totaldegree: [10, 8, 6]}\n"
                      "export: {formats: [yace], yace_radial: recurrence}\n")
    found, _ = problems(write(tmp_path, text))
    keys = [w.split(": ", 1)[1] for w, _ in found]
    assert keys == ["basis.totaldegree", "solvers[1].label", "export.yace_radial"]
    assert found[0][1].startswith("found [10, 8, 6] (list)")   # as written, not 10.0, ...
    assert "already used by solvers[0]" in found[1][1]
    assert "'polynomial'" in found[2][1] and "export.yace_radial: spline" in found[2][1]
    # the default spline radials take the Agnesi basis
    load_config(write(tmp_path, MINIMAL + "export: {formats: [yace]}\n"))
    found, _ = problems(write(tmp_path, MINIMAL + "export: {yace_radial: splines}\n"))
    assert "spline, recurrence" in found[0][1] or "'spline'" in found[0][1]


def test_a_spline_tolerance_no_export_can_meet_is_refused_at_the_key(tmp_path):
    """Found by review (session 38): export.spline_rtol took 1e-15, which no spline in
    double precision meets (rounding stops the quickstart's at 1.1e-10): the fit ran, spent
    some 10 s a potential doubling bins, and wrote no .yace (exit 1). The key says so
    before any work, with the range allowed; the floor itself is still allowed."""
    from acefit.export.yace import SPLINE_RTOL_MIN

    found, text = problems(write(tmp_path, MINIMAL + "export: {spline_rtol: 1.0e-15}\n"))
    (where, message), = found
    assert where.endswith("export.spline_rtol")
    assert message == "found 1e-15 (number); allowed: a number >= 1e-09"
    ok = load_config(write(tmp_path, MINIMAL + "export: {spline_rtol: 1.0e-9}\n"))
    assert ok["export"]["spline_rtol"] == SPLINE_RTOL_MIN == 1e-9


def test_apriori_totaldegrees_are_checked_against_the_basis(tmp_path):
    def found_for(solver, basis="basis: {order: 3, totaldegree: [12, 10, 8]}\n"):
        text = MINIMAL + f"  - {solver}\n" + basis
        return [(w.split(": ", 1)[1], msg) for w, msg in problems(write(tmp_path, text))[0]]

    ok = MINIMAL + ("  - {name: rrqr, totaldegrees: [[8, 6], [10, 8, 6], 12], "
                    "rtol: [1.0e-6, 1.0e-9]}\nbasis: {order: 3, totaldegree: 12}\n")
    cfg = load_config(write(tmp_path, ok))
    assert cfg["solvers"][1]["totaldegrees"] == [[8, 6], [10, 8, 6], 12]
    # default basis degrees [20, 16, 12]
    load_config(write(tmp_path, MINIMAL + "  - {name: blr, totaldegrees: [[20, 16, 12]]}\n"))
    (key, msg), = found_for("{name: blr, totaldegrees: [[12, 11, 8]]}")
    assert key == "solvers[1].totaldegrees[0]" and "[12, 10, 8]" in msg
    (key, msg), = found_for("{name: blr, totaldegrees: [[10, 8, 6], [10, 7, 6]]}")
    assert key == "solvers[1].totaldegrees[1]" and "nested" in msg
    (key, msg), = found_for("{name: blr, totaldegrees: [[10, 8, 6], [10, 8]]}")
    assert key == "solvers[1].totaldegrees[1]" and "nested" in msg
    (key, msg), = found_for("{name: blr, totaldegrees: [[8, 6, 4, 2]]}")
    assert key == "solvers[1].totaldegrees[0]" and "at most 3 numbers" in msg
    (key, msg), = found_for("{name: blr, totaldegrees: [[8, 6, 4]], sizes: [10]}")
    assert key == "solvers[1].totaldegrees" and "one of them" in msg


def test_apriori_patience_needs_a_path_and_a_validation_set(tmp_path):
    def found_for(solver, data=""):
        text = MINIMAL.replace("  train: train.xyz\n", "  train: train.xyz\n" + data)
        return [(w.split(": ", 1)[1], msg)
                for w, msg in problems(write(tmp_path, text + f"  - {solver}\n"))[0]]

    cfg = load_config(write(tmp_path, MINIMAL + "  - {name: blr, sizes: [10, 20], patience: 2}\n"))
    assert cfg["solvers"][1]["patience"] == 2
    assert load_config(write(tmp_path, MINIMAL + "  - {name: qr}\n"))["solvers"][1]["patience"] \
        is None
    (key, msg), = found_for("{name: blr, patience: 2}")
    assert key == "solvers[1].patience" and "single fit" in msg and "`sizes`" in msg
    (key, msg), = found_for("{name: rrqr, rtol: 1.0e-6, totaldegrees: [6], patience: 1}",
                            "  validation: {fraction: 0.0}\n")
    assert key == "solvers[1].patience" and "without a validation set" in msg
    (key, msg), = found_for("{name: blr, sizes: 3, patience: 0}")
    assert key == "solvers[1].patience"
    load_config(write(tmp_path, MINIMAL.replace("  train: train.xyz\n", "  train: train.xyz\n"
                                                "  validation: {fraction: 0.0, key: hold}\n")
                      + "  - {name: blr, sizes: 3, patience: 1}\n"))


def test_debias_options_without_debias_are_errors(tmp_path):
    """tsvd_truncation without debias: tsvd, debias_every without debias: accepted and
    ignored before; an error naming both keys. Their defaults stay allowed (a run's
    config.yaml spells them out)."""
    def found_for(solver):
        return [(w.split(": ", 1)[1], msg)
                for w, msg in problems(write(tmp_path, MINIMAL + f"  - {solver}\n"))[0]]

    (key, msg), = found_for("{name: asp, label: a, tsvd_truncation: rank}")
    assert key == "solvers[1].tsvd_truncation"
    assert "solvers[1].debias: 'none'" in msg and "solvers[1].debias: 'tsvd'" in msg
    (key, msg), = found_for("{name: omp, debias: ls, tsvd_truncation: rank}")
    assert key == "solvers[1].tsvd_truncation" and "'ls'" in msg
    (key, msg), = found_for("{name: omp, debias_every: 10}")
    assert key == "solvers[1].debias_every" and "'ls' or 'tsvd'" in msg
    cfg = load_config(write(tmp_path, MINIMAL + "  - {name: omp, tsvd_truncation: thresholds, "
                            "debias_every: 1}\n  - {name: asp, label: a, debias: tsvd, "
                            "debias_every: 4, tsvd_truncation: rank}\n"))
    assert cfg["solvers"][2]["tsvd_truncation"] == "rank"


def test_default_totaldegree_matches_the_basis():
    from acefit.basis.ace import _DEFAULT_DEGREES
    from acefit.config.schema import DEFAULT_TOTALDEGREE

    assert tuple(DEFAULT_TOTALDEGREE) == tuple(_DEFAULT_DEGREES)


def test_agnesi_exponents_must_be_ordered(tmp_path):
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {transform_p: 3, transform_q: 3}\n"))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["basis.transform_q"]
    assert "greater than basis.transform_p = 3" in found[0][1]
    load_config(write(tmp_path, MINIMAL + "basis: {transform: polynomial, transform_p: 3, "
                                          "transform_q: 3}\n"))


def test_radial_distances_must_be_ordered(tmp_path):
    """rin < r0 < rcut is a config error naming the key, not a failure of the basis."""
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {rcut: 4.5, r0: 9.0}\n"))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["basis.r0"]
    assert "between basis.rin = 0.0 and basis.rcut = 4.5" in found[0][1]
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {rcut: 4.5, rin: 4.5}\n"))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["basis.rin"]
    load_config(write(tmp_path, MINIMAL + "basis: {rcut: 4.5, rin: 1.0, r0: 2.5}\n"))


def test_a_weight_entry_for_the_group_default_is_refused(tmp_path):
    """Found by review (session 28): `config_type: {default: {E: 10}}` replaced the
    default weights of every unlisted group, not those of the frames without a
    config_type alone."""
    weights = "  weights:\n    default: {E: 5, F: 2, V: 3}\n    config_type: {default: {E: 10}}\n"
    found, _ = problems(write(tmp_path, MINIMAL.replace("solvers:", weights + "solvers:")))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["data.weights.config_type.default"]
    assert "their weights in data.weights.default" in found[0][1]


def test_r0_per_element_pair_reaches_the_basis_and_bad_pairs_are_named(tmp_path):
    from acefit.pipeline import build_basis

    basis = "basis: {elements: [Cu, Au], order: 2, totaldegree: 6, rcut: 5.0, r0: %s}\n"
    cfg = load_config(write(tmp_path, MINIMAL + basis % "{Au-Au: 3.9, Cu-Au: 3.8, default: 3.6}"))
    assert cfg["basis"]["r0"] == {"Au-Au": 3.9, "Cu-Au": 3.8, "default": 3.6}
    assert build_basis(cfg).radial.r0.tolist() == [[3.6, 3.8], [3.8, 3.9]]   # Cu, Au
    for r0, key, message in [
            ("{Cu-Au: 3.8, Au-Cu: 3.7}", "basis.r0.Au-Cu", "the pair of basis.r0.Cu-Au again"),
            ("{Cu-Ag: 3.8}", "basis.r0.Cu-Ag", "not in basis.elements ['Cu', 'Au']"),
            ("{Cu-Cu: 5.5}", "basis.r0.Cu-Cu", "between basis.rin = 0.0 and basis.rcut = 5.0"),
            ("{default: 0.0}", "basis.r0.default", "allowed: a number > 0"),
            ("{CuAu: 3.8}", "basis.r0.CuAu", "allowed: an element pair such as 'Cu-Au', or "
                                             "'default'"),
            ("{Cu-Xx: 3.8}", "basis.r0.Cu-Xx", "an element pair such as 'Cu-Au'")]:
        found, _ = problems(write(tmp_path, MINIMAL + basis % r0))
        assert [(w.split(": ", 1)[1], message in m) for w, m in found] == [(key, True)], r0


def test_rcut_per_element_pair_reaches_the_basis_and_bad_pairs_are_named(tmp_path):
    from acefit.pipeline import build_basis

    basis = "basis: {elements: [Cu, Au], order: 2, totaldegree: 6, rcut: %s, r0: %s}\n"
    cfg = load_config(write(tmp_path, MINIMAL + basis % ("{Cu-Cu: 5.0, Au-Cu: 4.5, "
                                                         "default: 6.0}", "null")))
    assert cfg["basis"]["rcut"] == {"Cu-Cu": 5.0, "Au-Cu": 4.5, "default": 6.0}
    radial = build_basis(cfg).radial
    assert radial.rcut.tolist() == [[5.0, 4.5], [4.5, 6.0]]      # Cu, Au
    for rcut, r0, key, message in [
            ("{Cu-Au: 4.8, Au-Cu: 4.7, default: 6}", "null", "basis.rcut.Au-Cu",
             "the pair of basis.rcut.Cu-Au again"),
            ("{Cu-Ag: 4.8, default: 6}", "null", "basis.rcut.Cu-Ag",
             "not in basis.elements ['Cu', 'Au']"),
            ("{Cu-Cu: 0, default: 6}", "null", "basis.rcut.Cu-Cu", "allowed: a number > 0"),
            ("{Cu Au: 4.8}", "null", "basis.rcut.Cu Au", "an element pair such as 'Cu-Au'"),
            ("{Cu-Cu: 5.0, Cu-Au: 5.5}", "null", "basis.rcut",
             "no value for the pair Au-Au; allowed: one for every pair of basis.elements"),
            # r0 against the cutoff of each pair it applies to, the smallest named
            ("{Cu-Cu: 4.0, Au-Au: 3.5, default: 6}", "3.8", "basis.r0",
             "between basis.rin = 0.0 and basis.rcut.Au-Au = 3.5"),
            ("{Cu-Au: 3.5, default: 6}", "{Cu-Cu: 3.7, default: 3.6}", "basis.r0.default",
             "between basis.rin = 0.0 and basis.rcut.Cu-Au = 3.5"),
            ("5.0", "{Au-Au: 5.5}", "basis.r0.Au-Au",
             "between basis.rin = 0.0 and basis.rcut = 5.0"),
            ("{Cu-Cu: 3.6, default: 6}", "{Cu-Cu: 3.7}", "basis.r0.Cu-Cu",
             "between basis.rin = 0.0 and basis.rcut.Cu-Cu = 3.6")]:
        found, _ = problems(write(tmp_path, MINIMAL + basis % (rcut, r0)))
        assert [(w.split(": ", 1)[1], message in m) for w, m in found] == [(key, True)], \
            (rcut, r0, found)
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {rin: 4.0, rcut: {Cu-Cu: 4.0, "
                                                  "default: 6.0}}\n"))
    assert [(w.split(": ", 1)[1], m) for w, m in found] == [
        ("basis.rin", "found 4.0 (number); allowed: a distance below basis.rcut.Cu-Cu = 4.0")]


def test_rcut_pairs_of_the_datas_elements_are_checked_when_the_basis_is_built(tmp_path):
    """With basis.elements null the pairs are known only from the data; a null r0 is
    each pair's reference crystal distance, known only then too."""
    from types import SimpleNamespace

    from ase import Atoms

    from acefit.basis.radial import default_r0
    from acefit.pipeline import build_basis

    train = [SimpleNamespace(atoms=Atoms("Cu2Au"))]
    basis = "basis: {order: 2, totaldegree: 6, rcut: %s}\n"
    for rcut, key, message in [
            ("{Cu-Cu: 5.0, Cu-Au: 5.5}", "basis.rcut", "no value for the pair Au-Au"),
            ("{Cu-Ag: 5.0, default: 6}", "basis.rcut.Cu-Ag",
             "not in the training data's elements ['Cu', 'Au']"),
            ("{Cu-Au: 2.5, default: 6}", "basis.rcut.Cu-Au",
             f"r0 = {default_r0(29, 79):.4g} Å, the reference crystals'")]:
        cfg = load_config(write(tmp_path, MINIMAL + basis % rcut))
        with pytest.raises(ConfigError) as info:
            build_basis(cfg, train)
        found = info.value.problems
        assert [(w.split(": ", 1)[1], message in m) for w, m in found] == [(key, True)], \
            (rcut, found)
        # named with its line, as at load time (the basis line holds the flow mapping)
        line = len(MINIMAL.splitlines()) + 1
        assert found[0][0].startswith(f"{cfg['config_file']}:{line}: "), found
        # ... and a value given by --set, which has none in the file, with its option
        cfg = load_config(cfg["config_file"], [f"basis.rcut={rcut}"])
        with pytest.raises(ConfigError) as info:
            build_basis(cfg, train)
        assert info.value.problems[0][0] == f"--set 'basis.rcut={rcut}': {key}"
    cfg = load_config(write(tmp_path, MINIMAL + basis % "{Au-Au: 6.0, default: 5.0}"))
    assert build_basis(cfg, train).radial.rcut.tolist() == [[5.0, 5.0], [5.0, 6.0]]


def test_transform_exponents_reach_the_radial_basis(tmp_path):
    from acefit.pipeline import build_basis

    cfg = load_config(write(tmp_path, MINIMAL + "basis: {elements: [Si], order: 2, "
                                                "totaldegree: 6, transform_p: 1.5, "
                                                "transform_q: 6}\n"))
    radial = build_basis(cfg).radial
    assert (radial.p, radial.q) == (1.5, 6.0)


def test_pure2b_reaches_the_basis_and_blocks_yace(tmp_path):
    from acefit.pipeline import build_basis

    cfg = load_config(write(tmp_path, MINIMAL + "basis: {elements: [Si], order: 3, "
                                                "totaldegree: 6, pure2b: true}\n"))
    basis = build_basis(cfg)
    assert basis.pure2b and set(basis.radial.diagonal) == {2, 3}
    assert not build_basis(load_config(write(tmp_path, MINIMAL + "basis: {elements: [Si], "
                                                                 "order: 2}\n"))).pure2b
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {transform: polynomial, "
                                                  "pair_degree: 0, pure2b: true}\n"
                                                  "export: {formats: [yace]}\n"))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["export.formats"]
    assert "basis.pure2b: true" in found[0][1]


def test_radial_orthonormal_reaches_the_basis_and_blocks_recurrence_yace_and_pure2b(tmp_path):
    from acefit.pipeline import build_basis

    basis = build_basis(load_config(write(tmp_path, MINIMAL + "basis: {elements: [Si], "
                                          "order: 2, totaldegree: 6, "
                                          "radial_orthonormal: true}\n")))
    assert basis.radial.orthonormal
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {transform: polynomial, "
                                                  "pair_degree: 0, radial_orthonormal: true}\n"
                                                  "export: {formats: [yace], "
                                                  "yace_radial: recurrence}\n"))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["export.yace_radial"]
    assert "basis.radial_orthonormal is true" in found[0][1]
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {pure2b: true, "
                                                  "radial_orthonormal: true}\n"))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["basis.radial_orthonormal"]


def test_one_body_reaches_the_basis(tmp_path):
    from acefit.pipeline import build_basis

    basis = build_basis(load_config(write(tmp_path, MINIMAL + "basis: {elements: [Si, C], "
                                                              "order: 2, one_body: true}\n")))
    assert [(f.centre, f.kind) for f in basis.functions if f.order == 0] == [(6, "onebody"),
                                                                           (14, "onebody")]
    assert not any(f.kind == "onebody" for f in build_basis(load_config(
        write(tmp_path, MINIMAL + "basis: {elements: [Si], order: 2}\n"))).functions)
    found, _ = problems(write(tmp_path, MINIMAL + "basis: {one_body: maybe}\n"))
    assert [w.split(": ", 1)[1] for w, _ in found] == ["basis.one_body"]


def test_bad_input_found_by_fuzzing_session_25(tmp_path):
    """Each was accepted, refused under another key, or refused late with a raw message."""
    from acefit.pipeline import build_basis
    from acefit.runs import run_config

    def found_for(extra):
        return [(w.split(": ", 1)[1], msg) for w, msg in problems(write(tmp_path,
                                                                         MINIMAL + extra))[0]]

    # a prior without its kind is the default kind's, as docs/config.md says
    assert load_config(write(tmp_path, MINIMAL + "prior: {p: 3}\n"))["prior"] == {
        "kind": "algebraic", "p": 3.0, "wL": 1.0, "offset": 0.0}
    assert [k for k, _ in found_for("prior: {p: -2}\n")] == ["prior.p"]
    # names that become file names and HDF5 groups
    (key, msg), = found_for("  - {name: omp, label: a/b}\n")
    assert key == "solvers[1].label" and "without '/'" in msg
    for name in ("..", "../../escape", "/abs", "a/../../b"):
        (key, msg), = found_for(f"name: {name}\n")
        assert key == "name" and "a relative path without '..'" in msg, name
    assert load_config(write(tmp_path, MINIMAL + "name: Cu/asp_v1\n"))["name"] == "Cu/asp_v1"
    # no row would weigh anything (refused after the assembly before)
    zero = MINIMAL.replace("train.xyz\n", "train.xyz\n  weights: {default: {E: 0, F: 0, V: 0}}\n")
    (key, msg), = [(w.split(": ", 1)[1], m) for w, m in problems(write(tmp_path, zero))[0]]
    assert key == "data.weights.default" and "at least one positive weight" in msg
    # YAML errors: line and column, not the parser's "<unicode string>" context
    _, text = problems(write(tmp_path, MINIMAL + "test: [a.xyz\nbasis: {order: 2}\n"))
    assert "not valid YAML: line 6, column 6: expected ',' or ']'" in text
    assert "unicode string" not in text
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("data: [\n")
    with pytest.raises(ConfigError, match=r"run/config.yaml: not valid YAML: line 2"):
        run_config(run)
    (run / "config.yaml").write_text("- a list\n")
    with pytest.raises(ConfigError, match=r"run/config.yaml: found list; allowed: the "):
        run_config(run)
    # an existing file where the run or its cache goes
    (key, msg), = found_for("output: {cache: train.xyz}\n")
    assert key == "output.cache" and "is an existing file" in msg
    # what only the built basis knows (a null r0: the reference crystal's) names the key
    cfg = load_config(write(tmp_path, MINIMAL + "basis: {elements: [Cu], rcut: 0.5}\n"))
    with pytest.raises(ConfigError, match=r"basis.rcut: found 0.5 .*allowed: a distance "
                                          r"above Cu-Cu's r0 = 2.553 Å, the reference"):
        build_basis(cfg)


def test_relative_paths_resolve_against_the_config_folder(tmp_path, monkeypatch):
    sub = tmp_path / "configs"
    sub.mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "a.xyz").write_text("x")
    (sub / "c.yaml").write_text("data: {train: ../data/a.xyz, test: [../data/a.xyz]}\n"
                                "solvers: [{name: omp}]\noutput: {directory: ../out}\n")
    monkeypatch.chdir(ROOT)
    cfg = load_config(sub / "c.yaml")
    assert cfg["data"]["train"] == [str(tmp_path / "data" / "a.xyz")]
    assert cfg["data"]["test"] == [str(tmp_path / "data" / "a.xyz")]
    assert cfg["output"]["directory"] == str(tmp_path / "out")


def test_docs_config_md_is_generated_from_the_schema():
    text = (ROOT / "docs" / "config.md").read_text(encoding="utf-8")
    assert text == render_markdown(), (
        "docs/config.md is out of date: run `python -m acefit.config > docs/config.md`")
    for name in SOLVER.variants:
        assert f"### `name: {name}`" in text


@pytest.mark.parametrize("name", ["quickstart.yaml", "zuo_mo.yaml", "zuo_si.yaml"])
def test_shipped_configs_are_valid(name):
    if name.startswith("zuo") and not ZUO.is_dir():
        pytest.skip(ABSENT)
    cfg = load_config(ROOT / "configs" / name)
    assert cfg["solvers"]


def test_shipped_validation_settings_are_valid():
    import yaml

    from acefit.validate import ValidationSettings

    raw = yaml.safe_load((ROOT / "configs" / "zuo_validate.yaml").read_text())
    settings = ValidationSettings.from_dict(raw)
    assert settings.timesteps == [5.0] and settings.temperatures == [300.0, 500.0]


def test_overrides_change_keys_before_validation(tmp_path):
    path = write(tmp_path, MINIMAL + "basis:\n  rcut: 6.0\n  order: 2\n")
    cfg = load_config(path, ["basis.rcut=5.5", "prior={kind: none}",
                             "solvers=[{name: omp, max_active: 20}]"])
    assert cfg["basis"]["rcut"] == 5.5 and cfg["basis"]["order"] == 2     # the rest stays
    assert cfg["prior"] == {"kind": "none"}
    assert [(s["name"], s["max_active"]) for s in cfg["solvers"]] == [("omp", 20)]
    # a bad value is checked like any other, but reported against its --set option, not
    # at the file's old line or as if the file held it (walk-through 2, finding 8)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["basis.rcut=-1"])
    (where, msg), = info.value.problems
    assert where == "--set 'basis.rcut=-1': basis.rcut" and "found -1" in msg
    with pytest.raises(ConfigError) as info:
        load_config(path, ["basis.rcutt=4"])
    assert "did you mean 'rcut'" in str(info.value)


@pytest.mark.parametrize("assignment, message", [
    ("basis.rcut", "allowed: dotted.key=value"),
    ("basis..rcut=1", "allowed: dotted.key=value"),
    ("basis.rcut=[1, 2", "the value is not valid YAML"),
    ("basis.rcut.x=1", "basis.rcut is found 6.0 (number), not a mapping"),
])
def test_malformed_overrides_are_named(tmp_path, assignment, message):
    path = write(tmp_path, MINIMAL + "basis:\n  rcut: 6.0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, [assignment])
    assert f"--set '{assignment}'" in str(info.value) and message in str(info.value)


TWO_SOLVERS = """\
data:
  train: [train.xyz, train.xyz]
solvers:
  - {name: asp, max_active: 50}
  - {name: omp, max_active: 50}
"""


def test_an_override_sets_a_list_item_as_the_problems_name_it(tmp_path):
    """Walk-through 2, finding 8: the problems name keys `solvers[1].max_active`, and
    `--set 'solvers[0].max_active=100'` was an unknown key 'solvers[0]'."""
    path = write(tmp_path, TWO_SOLVERS)
    cfg = load_config(path, ["solvers[1].max_active=100", "data.train[1]=train.xyz"])
    assert [(s["name"], s["max_active"]) for s in cfg["solvers"]] == [("asp", 50), ("omp", 100)]
    cfg = load_config(path, ["solvers[0]={name: omp, label: first, max_active: 7}"])
    assert [(s["label"], s["max_active"]) for s in cfg["solvers"]] == [("first", 7), ("omp", 50)]
    # a problem of the item's value is its option's, named by the key the problems use
    with pytest.raises(ConfigError) as info:
        load_config(path, ["solvers[1].max_activ=100"])
    (where, msg), = info.value.problems
    assert where == "--set 'solvers[1].max_activ=100': solvers[1].max_activ"
    assert "did you mean 'max_active'" in msg


SET_SYNTAX = "allowed: dotted.key=value, e.g. basis.rcut=5.5 or solvers[0].max_active=300"


@pytest.mark.parametrize("assignment, message", [
    ("solvers[2].max_active=1", "solvers has 2 items, so no solvers[2]; allowed: an index 0 "
                                "to 1, or the whole list, solvers=[...]"),
    ("solvers.0.max_active=1", "solvers is a list, not a mapping; allowed: an item by its "
                               "index, solvers[0]"),
    ("basis.rcut[0]=1", "basis.rcut is found 6.0 (number), not a list"),
    ("data.test[0]=train.xyz", "data.test is not in the config, so it has no items; allowed: "
                               "the whole list, data.test=[...]"),
    ("solvers[x]=1", SET_SYNTAX),
    ("solvers[0]max_active=1", SET_SYNTAX),
])
def test_list_items_out_of_reach_are_named(tmp_path, assignment, message):
    path = write(tmp_path, TWO_SOLVERS + "basis:\n  rcut: 6.0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, [assignment])
    (where, msg), = info.value.problems
    assert (where, msg) == (f"--set '{assignment}'", message)


def test_a_bad_override_value_is_blamed_on_its_option(tmp_path):
    """Walk-through 2, finding 8: `--set data.weights.default.E=abc` was reported as
    'run.yaml: data.weights.default.E', as if the file held it. The option is quoted as
    the shell takes it back (a value's own ': ' apart from the message's), and a later
    --set inside an earlier one's value is named for what it set."""
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as info:
        load_config(path, ["data.weights={default: {E: abc}}", "data.weights.default.F=x",
                           "data.weights.config_type={'T': {E: -1}}"])
    assert info.value.problems == [
        ("--set 'data.weights={default: {E: abc}}': data.weights.default.E",
         "found 'abc' (string); allowed: a number >= 0"),
        ("--set 'data.weights.default.F=x': data.weights.default.F",
         "found 'x' (string); allowed: a number >= 0"),
        ('--set "data.weights.config_type={\'T\': {E: -1}}": data.weights.config_type.T.E',
         "found -1 (integer); allowed: null or a number >= 0"),
    ]


def test_a_data_check_names_the_option_that_set_a_value_inside_its_key(tmp_path):
    """A walk-through: `--set data.weights.config_type.bulk.E=3` with no group 'bulk' was
    refused as 'invalid config run.yaml: data.weights.config_type.bulk', as if the file
    held the key; the check names the config_type key, the option set a value inside it."""
    from acefit.config import config_error

    cfg = load_config(write(tmp_path, MINIMAL), ["data.weights.config_type.bulk.E=3"])
    error = config_error(cfg, [("data.weights.config_type.bulk", "no such group")])
    assert error.problems == [("--set 'data.weights.config_type.bulk.E=3': "
                               "data.weights.config_type.bulk", "no such group")]
    # a key the file holds is still named by its line
    error = config_error(cfg, [("data.train", "x")])
    assert error.problems[0][0] == f"{cfg['config_file']}:2: data.train"


@pytest.mark.parametrize("transform, envelope", [("agnesi", "y"), ("polynomial", "x")])
def test_runs_of_acefit_before_0_3_keep_their_null_envelope(tmp_path, transform, envelope):
    """A run's config.yaml with `envelope: null` was written by acefit < 0.3, whose null
    was "y" with the Agnesi transform: `acefit export` must rebuild that basis."""
    from acefit.runs import run_config

    cfg = load_config(write(tmp_path, MINIMAL))
    cfg["basis"].update(envelope=None, transform=transform)
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert run_config(tmp_path)["basis"]["envelope"] == envelope
    cfg["basis"]["envelope"] = "x"                  # spelled out: as it was fitted
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(cfg))
    assert run_config(tmp_path)["basis"]["envelope"] == "x"


def test_numbers_as_config_type_keys_name_their_groups(tmp_path):
    """An unquoted `1:` is an integer to YAML (and `config_type=1` one to ASE): it names
    the group '1', as the quoted key does; refused as no string before."""
    def data(weights, readings):
        return load_config(write(tmp_path, MINIMAL.replace("train.xyz\n", (
            f"train.xyz\n  weights: {{config_type: {weights}}}\n"
            f"  stress_reading: {{config_type: {readings}}}\n"))))["data"]

    unquoted = data("{1: {E: 10}, 2.5: {V: 0}, md: {F: 2}}", "{1: negated, 2.5: gpa}")
    quoted = data("{'1': {E: 10}, '2.5': {V: 0}, md: {F: 2}}", "{'1': negated, '2.5': gpa}")
    assert unquoted == quoted       # one config, one cache key
    assert list(unquoted["weights"]["config_type"]) == ["1", "2.5", "md"]
    assert unquoted["stress_reading"]["config_type"] == {"1": "negated", "2.5": "gpa"}


def test_config_type_keys_that_are_one_name_or_no_name_are_refused(tmp_path):
    def found_for(weights):
        path = write(tmp_path, MINIMAL.replace("train.xyz\n", "train.xyz\n  weights:\n"
                                               "    config_type:\n" + weights))
        return [(w.removeprefix(f"{path}:"), msg) for w, msg in problems(path)[0]]

    (where, msg), = found_for("      1: {E: 1}\n      '1': {E: 2}\n")
    assert where == "6: data.weights.config_type.1"
    assert msg == ("found the keys 1 (integer) and '1' (string), which are both '1'; "
                   "allowed: one of them")
    # YAML 1.1 reads yes, on, ... as booleans: str(True) is not the name written
    (where, msg), = found_for("      yes: {E: 1}\n")
    assert where == "5: data.weights.config_type.True"
    assert msg.startswith("found the unquoted key yes, which is the boolean True, as YAML 1.1 "
                          "reads an unquoted true, false, yes")
    assert msg.endswith("; quote the name: 'yes'")
    (where, _), = found_for("      ~: {E: 1}\n")
    assert where == "5: data.weights.config_type.None"
    # keys Python cannot tell apart are named as written, not as 'duplicate key' of True
    (where, msg), = found_for("      1: {E: 1}\n      on: {E: 2}\n")
    assert where == "6: data.weights.config_type.True"
    assert msg == ("duplicate key: on (boolean True) equals the key 1 (integer) before it; "
                   "allowed: distinct keys, e.g. 'on' quoted")


# an unquoted key: the group YAML 1.1 names, the group ASE's extended XYZ reader names
# config_type=<key> (a name: the two agree on it, the key is taken)
_UNQUOTED_GROUP_KEYS = [
    ("md", "md"), ("1", "1"), ("1.5", "1.5"), ("1.50", "1.5"), ("1_000", "1000"),
    ("1.0e+3", "1000.0"), ("nan", "nan"), ("bulk fcc", "bulk fcc"),
    ("010", ("integer 8", "'8'", "the integer 10", "'10'")),
    ("0x10", ("integer 16", "'16'", "the text '0x10'", "'0x10'")),
    ("1e3", ("string '1e3'", "'1e3'", "the number 1000.0", "'1000.0'")),
    ("T", ("string 'T'", "'T'", "the boolean True", "'True'")),
    (".inf", ("number inf", "'inf'", "the text '.inf'", "'.inf'")),
]


@pytest.mark.parametrize("key, readings", _UNQUOTED_GROUP_KEYS)
def test_unquoted_group_keys_yaml_and_ase_read_differently_are_refused(tmp_path, key,
                                                                         readings):
    """YAML 1.1 reads an unquoted 010 as the octal 8 and keeps 1e3 and T as text, while
    ASE reads config_type=010 as 10, 1e3 as 1000.0 and T as True: such a key would weigh
    no frame of the group it was written for. Refused with the key's line, naming each
    reading and the quoted names to write; a key both read alike is taken."""
    path = write(tmp_path, MINIMAL.replace("train.xyz\n", (
        "train.xyz\n  weights:\n    config_type:\n      " + key + ": {E: 1}\n")))
    if isinstance(readings, str):
        assert list(load_config(path)["data"]["weights"]["config_type"]) == [readings]
        return
    yaml_reads, yaml_name, ase_reads, ase_name = readings
    (where, msg), = problems(path)[0]
    assert where == f"{path}:5: data.weights.config_type.{yaml_name[1:-1]}"
    assert msg.startswith(f"found the unquoted key {key}, which YAML 1.1 reads as the "
                          f"{yaml_reads} (the group {yaml_name}) and ASE's extended XYZ "
                          f"reader as {ase_reads} (the group {ase_name}); allowed: the "
                          f"group's name quoted: {ase_name}")
    if ase_name != f"'{key}'":
        assert msg.endswith(f"or '{key}' for a group named {key} as text (from a file that "
                            "keeps it, such as an ASE trajectory)")
    quoted = load_config(write(tmp_path, MINIMAL.replace("train.xyz\n", (
        f"train.xyz\n  weights:\n    config_type:\n      {ase_name}: {{E: 1}}\n"))))
    assert list(quoted["data"]["weights"]["config_type"]) == [ase_name[1:-1]]


def test_unquoted_group_keys_of_overrides_are_checked_as_the_files(tmp_path):
    """``--set`` keys are YAML too; a key it replaces loses its text (so that a quoted
    override of an unquoted key is taken)."""
    path = write(tmp_path, MINIMAL.replace("train.xyz\n", (
        "train.xyz\n  weights:\n    config_type:\n      T: {E: 1}\n")))
    with pytest.raises(ConfigError, match="found the unquoted key 010, which YAML 1.1"):
        load_config(path, ["data.weights.config_type={010: {E: 2}}"])
    cfg = load_config(path, ["data.weights.config_type={'T': {E: 2}}"])
    assert cfg["data"]["weights"]["config_type"] == {"T": {"E": 2.0, "F": None, "V": None}}
    # a dotted key is unquoted text too (found by review: it was taken as the group '1e3')
    with pytest.raises(ConfigError, match="found the unquoted key 1e3, which YAML 1.1"):
        load_config(path, ["data.weights.config_type.1e3.E=2"])
    cfg = load_config(path, ["data.weights.config_type={'T': {E: 2}}",
                             "data.weights.config_type.md.E=2", "basis.rcut=5.5"])
    assert cfg["data"]["weights"]["config_type"]["md"]["E"] == 2.0


def test_a_completed_config_is_read_back_to_the_same_settings(tmp_path):
    """The run's config.yaml and `acefit fit --check` print dump_config: `acefit fit` must
    take it as it is (it was refused for its provenance key config_file, and would be for
    a plain 1e3 or T group key), from another folder too (paths are absolute)."""
    from acefit.config import dump_config

    path = write(tmp_path, MINIMAL.replace(
        "  train: train.xyz\n",
        "  train: train.xyz\n  weights:\n    config_type: {'1e3': {E: 3.0}, 'T': {F: 2.0}, "
        "'1000.0': {E: 4.0}, md: {V: 0.0}}\n"))
    cfg = load_config(path, ["basis.rcut=5.5"])
    elsewhere = tmp_path / "run" / "config.yaml"
    elsewhere.parent.mkdir()
    elsewhere.write_text(dump_config(cfg))
    text = elsewhere.read_text()
    assert "config_file" not in text and "'1e3':" in text and "'T':" in text
    assert "'F':" not in text and "\n      F: 1.0\n" in text    # only group names quoted
    again = load_config(elsewhere)
    assert again.pop("config_file") == str(elsewhere.resolve())
    assert cfg.pop("config_file") == str(path.resolve())
    assert again == cfg
    assert list(again["data"]["weights"]["config_type"]) == ["1e3", "T", "1000.0", "md"]


def test_solver_defaults_match_the_python_functions():
    """A key of a solver's config section defaults to what its Python function does
    (ard's were 300 / 1e-8 against the function's 1000 / 1e-5: it stopped unconverged
    and hardly pruned). Known, deliberate differences are listed."""
    import inspect

    from acefit.solver_runs import _solver_function

    deliberate = {"prior",          # config: whether to scale; Python: the scales
                  "max_active",     # config: 1000 bounds a path's cost (null: the basis)
                  "debias"}         # 'none' is the function's None
    for name, section in SOLVER.variants.items():
        params = inspect.signature(_solver_function(name)).parameters
        for key, spec in section.keys.items():
            if key in params and key not in deliberate and (name, key) not in deliberate:
                assert spec.default == params[key].default, (name, key)


def test_a_boolean_for_a_number_is_not_told_to_be_quoted(tmp_path):
    """Quoting a word is the remedy where a word is wanted (`debias: yes`); where a number
    is (`max_active: yes`, `committee: on`) a quoted 'yes' is as wrong, and the hint of
    2ffc4b2 misled."""
    text = MINIMAL.replace("max_active: 50}", "max_active: yes}") + "export: {committee: on}\n"
    found = problems(write(tmp_path, text))[0]
    assert [key.rsplit(": ", 1)[-1] for key, _ in found] == ["solvers[0].max_active",
                                                             "export.committee"]
    for _, msg in found:
        assert msg.startswith("found True (boolean); allowed: ") and "quoted" not in msg


def test_close_match_is_the_one_did_you_mean():
    """Session 33: acefit.validate and the pipeline imported the private _close_match;
    it is public, one helper for every unknown name (the pipeline's modules checked
    since its split)."""
    import acefit.committee
    import acefit.data_checks
    import acefit.fit_settings
    import acefit.pipeline
    import acefit.run_folder
    import acefit.short_range
    import acefit.solver_runs
    import acefit.validate
    from acefit.config import close_match

    options = ["directory", "cache", "omp", "E"]
    assert close_match("OMP", options) == " (did you mean 'omp'?)"     # case only
    assert close_match("dir", options) == " (did you mean 'directory'?)"   # begun
    assert close_match("cahce", options) == " (did you mean 'cache'?)"   # spelling
    assert close_match("zzz", options) == ""
    for module in (acefit.validate, acefit.pipeline, acefit.run_folder, acefit.data_checks,
                   acefit.short_range, acefit.committee, acefit.solver_runs, acefit.fit_settings):
        assert "_close_match" not in Path(module.__file__).read_text(encoding="utf-8")


def test_a_config_without_a_file_names_base_dir_for_its_relative_paths(tmp_path):
    """Found by a walk-through: validate_config(mapping, base_dir=...) from Python said
    "relative to the config file's folder", where there is no file."""
    from acefit.config import validate_config

    raw = {"data": {"train": "missing.xyz", "validation": {"file": 3}},
           "solvers": [{"name": "omp"}]}
    with pytest.raises(ConfigError) as info:
        validate_config(raw, base_dir=tmp_path)
    text = str(info.value)
    assert (f"data.train: file 'missing.xyz' does not exist (resolved to "
            f"{tmp_path.resolve() / 'missing.xyz'}); allowed: a path to an existing regular "
            f"file, relative to base_dir ({tmp_path.resolve()})") in text
    assert f"a path (relative to base_dir ({tmp_path.resolve()})) to an existing file" in text
    assert "config file" not in text
    # from a file, the file's folder
    path = tmp_path / "run.yaml"
    path.write_text("data: {train: missing.xyz}\nsolvers: [{name: omp}]\n")
    with pytest.raises(ConfigError, match="relative to the config file's folder"):
        load_config(path)

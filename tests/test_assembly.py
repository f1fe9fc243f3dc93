"""Out-of-core reduction, Dask parallelism and the HDF5 cache (acefit.assembly, acefit.cache)."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import ase.io
import numpy as np
import pytest
from _toy_basis import PairBasis, emt_configs

import acefit.assembly as assembly
from acefit import ACEBasis, cache
from acefit.assembly import StreamingQR, assemble, local_cluster, reduce_configurations
from acefit.data import LabelledConfig, load_configurations
from acefit.design import ReferenceEnergies, design_block

E0 = ReferenceEnergies(values={29: -0.3, 79: -0.1}, method="given")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def configs(tmp_path_factory):
    path = tmp_path_factory.mktemp("a") / "emt.xyz"
    ase.io.write(path, emt_configs(10), format="extxyz")
    return load_configurations(path)


@pytest.fixture(scope="module")
def basis():
    return PairBasis(K=4)


def _ls(problem):
    return np.linalg.solve(problem.gram(), problem.aty())


def test_streaming_qr_matches_dense_qr():
    rng = np.random.default_rng(0)
    A, y = rng.standard_normal((57, 6)), rng.standard_normal(57)
    left, right = StreamingQR(6), StreamingQR(6)
    for s in range(0, 30, 4):  # uneven blocks, some with fewer rows than columns
        left.add(A[s:min(s + 4, 30)], y[s:min(s + 4, 30)])
    right.add(A[30:], y[30:])
    left.merge(right)
    p = left.to_problem()
    dense = np.linalg.lstsq(A, y, rcond=None)
    np.testing.assert_allclose(p.gram(), A.T @ A, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(p.aty(), A.T @ y, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(_ls(p), dense[0], rtol=1e-10)
    assert p.m == 57 and p.yty == pytest.approx(y @ y)
    assert p.rss(dense[0]) == pytest.approx(dense[1][0], rel=1e-10)


@pytest.mark.parametrize("block_rows", [1, 60])
def test_reduced_problem_equals_dense(configs, basis, block_rows):
    weights = {"alloy": {"E": 10.0, "F": 2.0, "V": 0.5}}
    reduced = reduce_configurations(basis, configs, weights, E0, block_rows=block_rows,
                                    n_workers=1)
    WA, Wy = design_block(basis, configs, weights, E0).weighted()
    assert reduced.reduced and reduced.m == len(Wy)
    coef = np.linalg.lstsq(WA, Wy, rcond=None)[0]
    np.testing.assert_allclose(_ls(reduced), coef, rtol=1e-8)
    c = np.random.default_rng(3).standard_normal(len(basis))
    assert reduced.rss(c) == pytest.approx(np.sum((Wy - WA @ c) ** 2), rel=1e-10)


def test_zero_weight_rows_are_no_observations(configs, basis):
    """They add nothing to R or Qᵀy; counted in m they would bias the Bayesian noise."""
    weights = {"default": {"E": 10.0, "F": 2.0, "V": 0.0}, "alloy": {"E": 10.0, "F": 0.0,
                                                                       "V": 0.5}}
    reduced, counts = reduce_configurations(basis, configs, weights, E0, n_workers=1,
                                            return_counts=True)
    rows = design_block(basis, configs, weights, E0)
    WA, Wy = rows.weighted()
    assert reduced.m == np.count_nonzero(rows.w) < len(Wy)
    assert counts == {k: int(np.count_nonzero((rows.kind == k) & (rows.w != 0)))
                      for k in ("E", "F", "V")}
    np.testing.assert_allclose(reduced.gram(), WA.T @ WA, rtol=1e-10, atol=1e-10)
    assert reduced.yty == pytest.approx(Wy @ Wy, rel=1e-12)


def test_underdetermined_training_set_is_refused(configs):
    big = PairBasis(K=60)  # 180 columns > rows of one configuration
    with pytest.raises(ValueError, match="needs at least as many rows as columns"):
        reduce_configurations(big, configs[:1], None, E0, n_workers=1)


def test_hand_built_configurations_are_refused_at_assembly_naming_the_label(configs, basis):
    """A NaN energy surfaced as "Q^T y contains NaN or inf", forces of shape (3, 3) on
    4 atoms as numpy's IndexError: named by set, configuration and label, before any
    evaluation."""
    atoms = configs[0].atoms
    with pytest.raises(ValueError, match=r"^training configuration 10 \(in memory\): label "
                                         r"'energy' contains NaN or inf"):
        assemble(basis, configs + [LabelledConfig(atoms, energy=np.nan)], e0=E0.as_symbols(),
                 n_workers=1)
    with pytest.raises(ValueError, match=r"^validation configuration 0 \(in memory\): forces "
                                         r"'forces' must have shape \(4, 3\), got \(3, 3\)"):
        assemble(basis, configs, val=[LabelledConfig(atoms, forces=np.zeros((3, 3)))],
                 e0=E0.as_symbols(), n_workers=1)


def test_weights_of_a_group_no_configuration_has_are_refused(configs, basis):
    """``assemble(weights={"bulk_typo": ...})`` weighed nothing, silently; ``acefit fit``
    stops on it. A group of the held-out data only is a group (it weighs the validation
    loss, or nothing), as for the fit."""
    weights = {"default": {"E": 30.0}, "puer": {"E": 1000.0}}
    with pytest.raises(ValueError, match=r"^weights\['puer'\]: found the config_type 'puer' "
                                         r"\(did you mean 'pure'\?\), which no configuration of "
                                         r"the training, validation or test data has; allowed: "
                                         r"'alloy', 'default', 'pure'$"):
        assemble(basis, configs, weights=weights, e0=E0.as_symbols(), n_workers=1)
    with pytest.raises(ValueError, match=r"^weights\['defualt'\]: .* \(did you mean "
                                         r"'default'\?\)"):      # session 34 review
        assemble(basis, configs, weights={"defualt": {"E": 1.0}}, e0=E0.as_symbols(),
                 n_workers=1)
    held = [LabelledConfig(configs[0].atoms, energy=configs[0].energy, config_type="held")]
    system = assemble(basis, configs, test=held, weights={"held": {"E": 1000.0}},
                      e0=E0.as_symbols(), n_workers=1)
    assert system.weights["held"]["E"] == 1000.0


def test_hand_built_labels_go_on_as_the_readers_make_them(configs, basis):
    """Session 34 review: a list stress or force weights, or a shape-(1,) energy, passed
    check_labels and then failed deep in the assembly, naming no configuration."""
    import dataclasses

    plain = assemble(basis, configs[:6], val=configs[6:8], e0=E0.as_symbols(), n_workers=1)
    listed = [dataclasses.replace(c, energy=np.array([c.energy]),
                                  forces=c.forces.tolist(),
                                  stress=None if c.stress is None else c.stress.tolist(),
                                  force_weights=[1.0] * c.n_atoms) for c in configs[:8]]
    again = assemble(basis, listed[:6], val=listed[6:8], e0=E0.as_symbols(), n_workers=1)
    np.testing.assert_array_equal(again.train.A, plain.train.A)
    np.testing.assert_array_equal(again.val.y, plain.val.y)


def test_cache_reused_and_invalidated(tmp_path, configs, basis, monkeypatch):
    train, val = configs[:8], configs[8:]
    ticks = []
    first = assemble(basis, train, val=val, e0={"Cu": -0.3, "Au": -0.1}, cache_dir=tmp_path,
                     n_workers=1, progress=ticks.append)
    assert not first.cache_hit and first.e0.method == "given"
    assert ticks == [1] * len(train) + [len(val)]  # one tick per training configuration
    files = sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".lock-"))
    assert len(files) == 2 and not any(f.endswith(".tmp") for f in files)

    def boom(*a, **k):
        raise AssertionError("assembly ran although the cache should have been used")

    monkeypatch.setattr(assembly, "reduce_configurations", boom)
    monkeypatch.setattr(assembly, "design_block", boom)
    ticks.clear()
    second = assemble(basis, train, val=val, e0={"Cu": -0.3, "Au": -0.1}, cache_dir=tmp_path,
                     n_workers=1, progress=ticks.append)
    assert second.cache_hit and second.key == first.key
    assert ticks == [len(train), len(val)]
    np.testing.assert_array_equal(second.train.A, first.train.A)
    np.testing.assert_array_equal(second.val.A, first.val.A)
    assert second.row_counts == first.row_counts
    monkeypatch.undo()

    perturbed = [c for c in train]
    moved = perturbed[2].atoms.copy()
    moved.positions[0, 0] += 1e-6
    perturbed[2] = type(perturbed[2])(**{**perturbed[2].__dict__, "atoms": moved})
    changes = {
        "basis": dict(basis=PairBasis(K=3)),
        "data": dict(train=perturbed),
        "weights": dict(weights={"pure": {"F": 2.0}}),
        "e0": dict(e0={"Cu": -0.3, "Au": -0.2}),
    }
    keys = {first.key}
    for name, change in changes.items():
        args = dict(basis=basis, train=train, e0={"Cu": -0.3, "Au": -0.1}) | change
        res = assemble(args.pop("basis"), args.pop("train"), cache_dir=tmp_path, n_workers=1,
                       **args)
        assert not res.cache_hit, f"changing {name} must invalidate the cache"
        keys.add(res.key)
    assert len(keys) == 5


def test_interrupted_write_leaves_no_valid_cache(tmp_path, monkeypatch):
    import h5py

    target = tmp_path / "entry.h5"
    calls = {"n": 0}
    original = h5py.Group.create_dataset

    def failing(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated interruption")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(h5py.Group, "create_dataset", failing)
    with pytest.raises(KeyboardInterrupt):
        cache.save(target, "k", {"a": np.ones(3), "b": np.zeros(2)})
    monkeypatch.undo()
    assert not target.exists() and list(tmp_path.iterdir()) == []
    assert cache.load(target, "k") is None
    cache.save(target, "k", {"a": np.ones(3)})
    assert cache.load(target, "k") is not None
    assert cache.load(target, "other-key") is None


def test_killed_writer_leaves_no_valid_cache(tmp_path):
    """SIGKILL a process while it writes an entry: nothing at the entry path loads."""
    target = tmp_path / "entry.h5"
    script = textwrap.dedent(f"""
        import time, h5py, numpy as np
        from acefit import cache
        original = h5py.Group.create_dataset
        def slow(self, *a, **k):
            out = original(self, *a, **k)
            self.file.flush()
            print("written", flush=True)
            time.sleep(60)
            return out
        h5py.Group.create_dataset = slow
        cache.save({str(target)!r}, "k", {{"R": np.ones((50, 50)), "qty": np.ones(50)}})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                            cwd=REPO)
    try:
        assert proc.stdout.readline().strip() == "written"
        temps = list(tmp_path.glob(".entry.h5.*.tmp"))
        assert len(temps) == 1
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert not target.exists()
    assert cache.load(target, "k") is None
    # even a partial file moved into place (e.g. copied by hand) is not accepted
    os.replace(temps[0], target)
    assert cache.load(target, "k") is None


def _ace_basis():
    return ACEBasis(["Cu", "Au"], order=2, totaldegree=4, rcut=4.5)


def test_real_ace_basis_reduction_equals_dense(configs):
    ace = _ace_basis()
    weights = {"alloy": {"E": 10.0, "V": 2.0}}
    reduced = reduce_configurations(ace, configs, weights, E0, block_rows=50, n_workers=1)
    WA, Wy = design_block(ace, configs, weights, E0).weighted()
    scale = np.abs(WA.T @ WA).max()
    np.testing.assert_allclose(reduced.gram(), WA.T @ WA, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(reduced.aty(), WA.T @ Wy, rtol=0,
                               atol=1e-10 * np.abs(WA.T @ Wy).max())
    assert reduced.m == len(Wy) and reduced.yty == pytest.approx(Wy @ Wy)


def test_two_worker_cluster_gives_the_same_factor(configs, basis):
    distributed = pytest.importorskip("distributed")
    import cloudpickle
    import dask

    import _toy_basis

    cloudpickle.register_pickle_by_value(_toy_basis)  # workers cannot import tests/
    weights = {"alloy": {"E": 10.0}}
    bases = [basis, _ace_basis()]
    singles = [reduce_configurations(b, configs, weights, E0, block_rows=40, n_workers=1)
               for b in bases]
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        # the workers keep glibc's malloc defaults, not Dask's trim threshold
        inherited = os.environ.get("MALLOC_TRIM_THRESHOLD_")
        assert set(client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_").values()) == {inherited}
        # ... and run without the dashboard's 10 ms stack sampler
        assert set(client.run(dask.config.get, "distributed.worker.profile.enabled")
                   .values()) == {False}
        # the first through a scheduler address, the others through the client
        multis = [reduce_configurations(bases[0], configs, weights, E0, block_rows=40,
                                        scheduler=cluster.scheduler_address)]
        multis += [reduce_configurations(b, configs, weights, E0, block_rows=40, client=client)
                   for b in bases[1:]]
        ticks = []
        again = reduce_configurations(bases[-1], configs, weights, E0, block_rows=40,
                                      client=client, progress=ticks.append)
    assert sum(ticks) == len(configs) and len(ticks) == 2  # a worker's share at a time
    # factors are merged in a fixed order: the same inputs give the same bits
    np.testing.assert_array_equal(again.A, multis[-1].A)
    np.testing.assert_array_equal(again.y, multis[-1].y)
    for single, multi in zip(singles, multis):
        # R is unique up to row signs: compare RᵀR, Rᵀ(Qᵀy), |R| and the solution
        scale = np.abs(single.gram()).max()
        np.testing.assert_allclose(multi.gram(), single.gram(), rtol=0, atol=1e-11 * scale)
        np.testing.assert_allclose(multi.aty(), single.aty(), rtol=0,
                                   atol=1e-11 * np.abs(single.aty()).max())
        assert multi.m == single.m and multi.yty == pytest.approx(single.yty)
    np.testing.assert_allclose(np.abs(multis[0].A), np.abs(singles[0].A), rtol=1e-8, atol=1e-10)
    for problem in singles + multis:  # one canonical form whatever the number of workers
        assert problem.A.flags.c_contiguous and np.all(np.diag(problem.A) >= 0)
    np.testing.assert_allclose(multis[0].A, singles[0].A, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(_ls(multis[0]), _ls(singles[0]), rtol=1e-8)


def _read_rows(files, **kw):
    read = list(assembly.train_row_blocks(files, **kw))
    blocks = [b for b, _ in read if b is not None]
    return blocks, sum(n for _, n in read)


def _assert_same_rows(blocks, expected):
    from dataclasses import fields

    from acefit.design import DesignBlock

    got = DesignBlock.concatenate(blocks)
    order = np.argsort(got.config, kind="stable")   # parts hold configurations out of order
    for f in fields(DesignBlock):
        np.testing.assert_array_equal(getattr(got, f.name)[order], getattr(expected, f.name),
                                      err_msg=f.name)


def test_kept_training_rows_are_the_design_rows(tmp_path, configs, basis, monkeypatch):
    weights = {"alloy": {"E": 10.0, "F": 2.0, "V": 0.5}}
    system = assemble(basis, configs, weights=weights, e0=E0.as_symbols(), cache_dir=tmp_path,
                      n_workers=1, train_rows_gib=1.0)
    assert system.train_rows is not None and len(system.train_rows) == 1
    expected = design_block(basis, configs, weights, E0)
    # whole configurations per block, however small the block limit
    n_features = len(basis)
    for max_floats in (1, 7 * n_features, 1e9):
        blocks, n_configs = _read_rows(system.train_rows, max_floats=max_floats)
        assert n_configs == len(configs)
        seen = [set(b.config) for b in blocks]
        assert sum(len(s) for s in seen) == len(configs)   # no configuration split
        _assert_same_rows(blocks, expected)
    assert len(_read_rows(system.train_rows, max_floats=1)[0]) == len(configs)
    # a cache hit finds them again without evaluating anything
    monkeypatch.setattr(assembly, "reduce_configurations", None)
    again = assemble(basis, configs, weights=weights, e0=E0.as_symbols(), cache_dir=tmp_path,
                     n_workers=1, train_rows_gib=1.0)
    assert again.cache_hit and again.train_rows == system.train_rows


def test_training_rows_over_the_limit_or_incomplete_are_not_used(tmp_path, configs, basis):
    kw = {"e0": E0.as_symbols(), "n_workers": 1}
    rows_bytes = 8 * len(basis) * sum(1 + 3 * c.n_atoms + 6 for c in configs)
    small = assemble(basis, configs, cache_dir=tmp_path / "a", train_rows_gib=0.99 * rows_bytes
                     / 2 ** 30, **kw)
    assert small.train_rows is None and not list((tmp_path / "a").glob("trainrows-*"))
    assert assemble(basis, configs, cache_dir=tmp_path / "b", **kw).train_rows is None  # default 0
    kept = assemble(basis, configs, cache_dir=tmp_path / "c",
                    train_rows_gib=1.01 * rows_bytes / 2 ** 30, **kw).train_rows
    assert kept is not None
    (only,) = kept
    # a second complete file of the same configurations: either one is a partition
    copy = only.with_name(only.name.replace(".h5", "9.h5"))
    copy.write_bytes(only.read_bytes())
    assert assembly._row_files(tmp_path / "c", small.key, len(configs)) in ((only,), (copy,))
    copy.unlink()
    assert assembly._row_files(tmp_path / "c", small.key, len(configs)) == kept
    # one configuration fewer (a different training set with the same key cannot happen,
    # but a missing part can): not used either
    assert assembly._row_files(tmp_path / "c", small.key, len(configs) + 1) is None
    only.write_bytes(only.read_bytes()[:1000])   # truncated
    assert assembly._row_files(tmp_path / "c", small.key, len(configs)) is None
    # a new reduction (the reduced problem gone) replaces stale row files
    for p in (tmp_path / "c").glob("train-*.h5"):
        p.unlink()
    again = assemble(basis, configs, cache_dir=tmp_path / "c",
                     train_rows_gib=1.01 * rows_bytes / 2 ** 30, **kw)
    assert again.train_rows == kept
    _assert_same_rows(_read_rows(again.train_rows)[0], design_block(basis, configs, None, E0))


def test_runs_that_split_the_data_differently_keep_rows_side_by_side(tmp_path, configs, basis):
    """Two runs on one cache with other worker counts: each split writes its own part
    files, and the rows read back are one complete split, never a mix (found by review:
    a shared file name per first configuration gave duplicated rows and wrong training
    errors)."""
    weights = {"alloy": {"E": 10.0}}
    one = assemble(basis, configs, weights=weights, e0=E0.as_symbols(), cache_dir=tmp_path,
                   n_workers=1, train_rows_gib=1.0)
    (whole,) = one.train_rows
    # a two-worker run that missed the same cache entry writes its parts meanwhile
    indexed = list(enumerate(configs))
    halves = [indexed[::2], indexed[1::2]]
    for part in halves:
        assembly._reduce_part(basis, part, one.weights, one.e0, 40,
                              rows_to=(str(tmp_path), one.key))
    files = assembly._row_files(tmp_path, one.key, len(configs))
    assert len(list(tmp_path.glob("trainrows-*"))) == 3 and whole.exists()
    assert files in ((whole,), tuple(sorted(set(tmp_path.glob("trainrows-*")) - {whole})))
    blocks, n_configs = _read_rows(files)
    assert n_configs == len(configs)
    _assert_same_rows(blocks, design_block(basis, configs, weights, E0))
    # without the one-part file the two halves are the complete split
    whole.unlink()
    files = assembly._row_files(tmp_path, one.key, len(configs))
    assert len(files) == 2
    _assert_same_rows(_read_rows(files)[0], design_block(basis, configs, weights, E0))
    # and half of them is not
    files[0].unlink()
    assert assembly._row_files(tmp_path, one.key, len(configs)) is None


def test_two_workers_keep_one_row_file_per_part(tmp_path, configs, basis):
    pytest.importorskip("distributed")
    import cloudpickle

    import _toy_basis

    cloudpickle.register_pickle_by_value(_toy_basis)
    system = assemble(basis, configs, e0=E0.as_symbols(), cache_dir=tmp_path, n_workers=2,
                      train_rows_gib=1.0)
    assert system.train_rows is not None and len(system.train_rows) == 2
    blocks, n_configs = _read_rows(system.train_rows)
    assert n_configs == len(configs)
    _assert_same_rows(blocks, design_block(basis, configs, None, E0))


def test_a_failing_row_write_drops_the_rows_not_the_reduction(tmp_path, configs, basis,
                                                              monkeypatch, caplog):
    import contextlib

    real = cache.appending

    @contextlib.contextmanager
    def disk_fills_up(path, key, attrs=None):
        with real(path, key, attrs) as append:
            calls = []

            def failing(arrays):
                calls.append(1)
                if len(calls) > 1:
                    raise OSError(28, "No space left on device")
                append(arrays)
            yield failing

    monkeypatch.setattr(cache, "appending", disk_fills_up)
    kw = {"e0": E0.as_symbols(), "n_workers": 1, "block_rows": 40}
    with caplog.at_level("WARNING", logger="acefit"):
        system = assemble(basis, configs, cache_dir=tmp_path / "full", train_rows_gib=1.0, **kw)
    assert system.train_rows is None
    assert "No space left on device" in caplog.text and "training rows were not kept" in caplog.text
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "full").iterdir()
                  if not p.name.startswith(".lock-")) == ["train"]
    plain = assemble(basis, configs, cache_dir=None, **kw)
    np.testing.assert_array_equal(system.train.A, plain.train.A)


def test_rows_are_not_kept_without_disk_room_and_failed_cache_writes_do_not_stop_a_run(
        tmp_path, configs, basis, monkeypatch, caplog):
    import collections

    kw = {"e0": E0.as_symbols(), "n_workers": 1}
    rows = assembly._rows_bytes(configs, len(basis))
    usage = collections.namedtuple("usage", "total used free")
    monkeypatch.setattr(assembly.shutil, "disk_usage",
                        lambda p: usage(10 * rows, 0, rows + assembly.ROWS_DISK_MARGIN - 1))
    with caplog.at_level("WARNING", logger="acefit"):
        tight = assemble(basis, configs, cache_dir=tmp_path / "tight", train_rows_gib=1.0, **kw)
    assert tight.train_rows is None and "must stay free" in caplog.text
    monkeypatch.undo()

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(assembly.cache, "save", full)
    caplog.clear()
    with caplog.at_level("WARNING", logger="acefit"):
        system = assemble(basis, configs[:8], val=configs[8:], cache_dir=tmp_path / "full", **kw)
    assert system.val is not None and "not cached in" in caplog.text
    plain = assemble(basis, configs[:8], cache_dir=None, **kw)
    np.testing.assert_array_equal(system.train.A, plain.train.A)
    monkeypatch.undo()
    again = assemble(basis, configs[:8], val=configs[8:], cache_dir=tmp_path / "full", **kw)
    assert not again.cache_hit       # nothing was cached, so it is assembled again


def test_prune_deletes_least_recently_used_entries_first(tmp_path):
    def entry(name, size, age):
        path = tmp_path / name
        path.write_bytes(b"x" * size)
        t = 1_000_000.0 - age
        os.utime(path, (t, t))
        return path

    hexkey = "0123456789abcdef" * 2
    old = entry(f"train-{hexkey}.h5", 300, age=500)
    older = entry(f"rows-{hexkey}.h5", 200, age=900)
    part = entry(f"trainrows-{hexkey}-000012.h5", 100, age=100)
    stray = entry(f".train-{'f' * 32}.h5.abc123.tmp", 50, age=10 ** 7)
    foreign = entry("notes.h5", 10 ** 6, age=10 ** 7)            # not ours: never touched
    # 650 bytes of entries and a stray temporary; keep at most 400
    removed, remaining = cache.prune(tmp_path, 400, keep_since=1_000_000.0 - 50)
    assert removed == [stray, older] and remaining == 400
    assert old.exists() and part.exists() and foreign.exists()
    # entries used since keep_since stay even when the folder is over the limit
    removed, remaining = cache.prune(tmp_path, 0, keep_since=1_000_000.0 - 200)
    assert removed == [old] and remaining == 100 and part.exists()
    assert cache.prune(tmp_path / "missing", 0, keep_since=0.0) == ([], 0)


def test_prune_deletes_the_locks_of_gone_entries_unless_held(tmp_path):
    """One lock file per system ever assembled piled up in shared caches."""
    from acefit.atomic import flock

    def lock(key, age=10 ** 6):
        path = tmp_path / f".lock-{key}"
        path.touch()
        os.utime(path, (time.time() - age,) * 2)
        return path

    kept, gone, held, fresh = "a" * 32, "b" * 32, "c" * 32, "d" * 32
    (tmp_path / f"trainrows-{kept}-000001.h5").write_bytes(b"x")
    locks = {k: lock(k) for k in (kept, gone, held)} | {fresh: lock(fresh, age=0)}
    with open(locks[held], "a+") as handle:
        if flock(handle, wait=False) is None:
            pytest.skip("no file locks on this file system")
        cache.prune(tmp_path, 10 ** 9, keep_since=time.time() - 60)
        assert locks[held].exists()      # a run is assembling that key
    assert locks[kept].exists() and locks[fresh].exists() and not locks[gone].exists()
    cache.prune(tmp_path, 10 ** 9, keep_since=time.time() - 60)
    assert not locks[held].exists()


def test_the_temporaries_of_killed_writers_go_whatever_the_folder_size(tmp_path):
    """Walk-through 3, finding 4: a kill -9 in an assembly left its kept training rows'
    temporaries (up to a GiB each, hidden) in the cache, and the successful resume kept
    them: prune removed them only when the folder was over output.cache_gib. A key's
    temporaries go when its lock is free (no writer of it is alive), those of a key
    without a lock once an hour old; a live writer's are kept."""
    from acefit.atomic import flock

    killed, live, unlocked = "a" * 32, "b" * 32, "c" * 32
    for key in (killed, live):
        (tmp_path / f".lock-{key}").touch()

    def temporary(name, age=0.0):
        path = tmp_path / name
        path.write_bytes(b"x" * 10)
        os.utime(path, (time.time() - age,) * 2)
        return path

    gone = [temporary(f".trainrows-{killed}-000001.h5.qve2vrz8.tmp"),
            temporary(f".train-{killed}.h5.k1ll3d.tmp"),
            temporary(f".rows-{unlocked}.h5.old.tmp", age=2 * cache.STALE_TEMPORARY_S)]
    kept = [temporary(f".trainrows-{live}-000001.h5.wr1t1ng.tmp"),
            temporary(f".rows-{unlocked}.h5.fresh.tmp", age=60),
            temporary(f"trainrows-{killed}-000001.h5"),       # an entry
            temporary(f".notes-{killed}.tmp")]                # not a cache temporary
    with open(tmp_path / f".lock-{live}", "a+") as handle:   # a run assembling `live`
        if flock(handle, wait=False) is None:
            pytest.skip("no file locks on this file system")
        removed, freed = cache.remove_stale_temporaries(tmp_path)
    assert sorted(removed) == sorted(gone) and freed == 30
    assert all(p.exists() for p in kept)
    assert cache.remove_stale_temporaries(tmp_path / "missing") == ([], 0)


def test_reading_an_entry_marks_it_used(tmp_path):
    path = cache.save(tmp_path / f"train-{'a' * 32}.h5", "k", {"a": np.ones(2)})
    os.utime(path, (1000.0, 1000.0))
    assert cache.load(path, "other") is None and path.stat().st_mtime == 1000.0
    assert cache.load(path, "k") is not None and path.stat().st_mtime > 1000.0


def test_a_damaged_cache_entry_is_computed_again(tmp_path, configs, basis, caplog):
    """Bytes changed inside a cached array (disk trouble) were loaded as a hit and changed
    the fit (found by review); a checksum of the arrays makes them a miss."""
    import h5py

    kw = dict(e0={"Cu": -0.3, "Au": -0.1}, cache_dir=tmp_path, n_workers=1)
    first = assemble(basis, configs, **kw)
    (entry,) = tmp_path.glob("train-*.h5")
    with h5py.File(entry, "r+") as f:
        f["R"][0, 0] = f["R"][0, 0] * (1 + 1e-9)
    with caplog.at_level("WARNING"):
        again = assemble(basis, configs, **kw)
    assert not again.cache_hit and "is damaged" in caplog.text
    np.testing.assert_array_equal(again.train.A, first.train.A)
    assert assemble(basis, configs, **kw).cache_hit        # rewritten whole


def test_a_second_run_waits_for_the_same_assembly_then_reads_it(tmp_path, configs, basis):
    """Two runs starting together on one cache assembled the same system twice (found by
    review); the second now waits for the first's entry and reads it."""
    import threading

    kw = dict(e0={"Cu": -0.3, "Au": -0.1}, n_workers=1)
    made = assemble(basis, configs, **kw)            # no cache: the system and its key
    held, release = threading.Event(), threading.Event()

    def first_run():   # holds the entry's lock, then saves the entry
        with cache.entry_lock(tmp_path, made.key):
            held.set()
            release.wait(30)
            assembly._save_problem(tmp_path, made.key, made.train, made.row_counts)

    first = threading.Thread(target=first_run)
    first.start()
    assert held.wait(30)
    result = {}
    second = threading.Thread(
        target=lambda: result.update(s=assemble(basis, configs, cache_dir=tmp_path, **kw)))
    second.start()
    second.join(1.0)
    assert second.is_alive()          # waiting for the first run's entry
    release.set()
    first.join(60)
    second.join(60)
    assert result["s"].cache_hit and result["s"].key == made.key
    np.testing.assert_array_equal(result["s"].train.A, made.train.A)


def test_a_dask_sync_interrupted_before_its_task_began_logs_no_traceback():
    """Session 38: a SIGTERM right after the workers started once printed a Dask
    traceback under acefit's one line: distributed's sync(), interrupted before its task
    began, cancels it from a callback that reads the task before it exists (NameError:
    cannot access free variable 'future'). Within acefit's use of a client it is not
    logged; the interrupt itself still comes."""
    import logging
    import threading

    import distributed

    from acefit.assembly import _sync_cancel_unlogged

    logged = []
    log = logging.getLogger("tornado.application")   # Dask's event-loop callbacks
    handler = logging.Handler()
    handler.emit = logged.append
    log.addHandler(handler)
    outer = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with distributed.LocalCluster(n_workers=1, processes=False, dashboard_address=None) \
                as cluster, distributed.Client(cluster) as client, _sync_cancel_unlogged():
            client.loop.add_callback(time.sleep, 0.5)   # the loop busy: sync's task waits
            threading.Timer(0.1, os.kill, (os.getpid(), signal.SIGINT)).start()
            with pytest.raises(KeyboardInterrupt):
                client.scatter(1)
            client.run_on_scheduler(len, "")            # after the cancel callback
    finally:
        signal.signal(signal.SIGINT, outer)
        log.removeHandler(handler)
    assert not [r for r in logged if r.exc_info and isinstance(r.exc_info[1], NameError)]

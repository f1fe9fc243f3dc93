"""What a completed config makes before any solver runs: its training, validation and
test configurations (:func:`load_data`), its basis (:func:`build_basis`) and its
assembled least-squares system (:func:`assemble_system`).

``acefit fit`` (:mod:`acefit.pipeline`) runs them one after the other; ``acefit fit
--plan`` (:mod:`acefit.plan`) the first two, and a finished run read back
(:mod:`acefit.runs`) whichever it needs again. ``cfg`` is a completed config
(:func:`acefit.config.load_config`: every key, defaults filled); from Python without one,
:func:`acefit.data.load_configurations`, :func:`acefit.data.split` and
:class:`acefit.basis.ACEBasis` (docs/fitting.md, "Fitting from Python").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from acefit.data_checks import basis_elements
from acefit.fit_settings import e0_setting, repulsion_setting, weight_table
from acefit.progress import bar, get_logger

__all__ = ["Data", "load_data", "build_basis", "assemble_system"]


@dataclass
class Data:
    """A fit's training, validation and test configurations
    (:class:`acefit.data.LabelledConfig`; either of the last two may be empty), and
    ``offered``: for each label of :data:`acefit.data.FITTED_LABELS` that no training
    configuration has, the keys of the training files that look like it
    (:func:`acefit.data.offered_keys`)."""

    train: list
    val: list
    test: list
    offered: dict = field(default_factory=dict)


_CONSEQUENCES = {"training": "they add no {label} rows",
                "validation": "they add no {label} rows to the validation loss",
                "test": "they add nothing to the test errors of {label}"}
"""What a label that configurations of a data set lack costs, by the set's name."""


def _report_missing_labels(configs, name: str, quiet: bool = False) -> None:
    """Warn when some configurations of the ``name`` set (a key of :data:`_CONSEQUENCES`)
    lack a label that others in it have (:func:`acefit.data.missing_labels`); ``quiet``:
    to the log only (the data of a finished run, whose fit said it)."""
    from acefit.data import missing_labels

    log = get_logger()
    say = log.debug if quiet else log.warning
    for label, what, aside in missing_labels(configs):
        say("%s data: %s: %s%s", name, what, _CONSEQUENCES[name].format(label=label), aside)


def _check_absent_labels(cfg: dict, train, found: dict, quiet: bool = False) -> dict:
    """Refuse a label that no training configuration has under its key when a key of the
    training files looks like it (the key was not set: the fit would silently have no rows
    of it), naming the key looked for, those that look like it and the settings that read
    them; warn of one that none looks like (a fit of energies alone, or without stresses,
    is one to make on purpose). ``found``: what :func:`acefit.data.read_configurations`
    recorded of the training files; ``quiet``: a finished run read again, to the log only.

    Returns
    -------
    dict
        The label -> :func:`acefit.data.offered_keys` of each label no training
        configuration has (its key null too), for the checks that need the label
        (``data.e0: fit``).
    """
    from acefit.config import config_error
    from acefit.data import (FITTED_LABELS, absent_labels, config_key, offered_keys,
                             offered_text, read_key)

    keys = cfg["data"]["keys"]
    offered = {label: offered_keys(found, label, keys) for label in FITTED_LABELS
               if all(getattr(c, label) is None for c in train)}
    log = get_logger()
    for label in absent_labels(train, keys):
        key = read_key(label, keys)
        if not offered[label]:
            (log.debug if quiet else log.warning)(
                "training data: no configuration has %s under %r, and no key of the files "
                "looks like %s: the fit has no %s rows (data.keys.%s names another key)",
                label, key, label, label, label)
            continue
        shown, settings = offered_text(offered[label], config_key)
        text = (f"no training configuration has {label} under {key!r}, so the fit would have "
                f"no {label} rows, but the files carry {shown}; allowed: "
                + ", ".join(settings) + f", or {config_key(label)}: null for a fit without "
                + label)
        if quiet:
            log.debug("training data: %s", text)
        else:
            raise config_error(cfg, [(config_key(label), text)])
    return offered


def _report_absent_held_out_labels(configs, name: str, trained, found: dict,
                                   keys: dict, quiet: bool = False) -> None:
    """Warn of a label that the training configurations (``trained``) have and no
    configuration of the held-out ``name`` set (a key of :data:`_CONSEQUENCES`), naming
    the keys of its files that look like it (``found``: as
    :func:`acefit.data.read_configurations` fills it); ``quiet``: to the log only."""
    from acefit.data import absent_labels, offered_keys, offered_text, read_key

    say = get_logger().debug if quiet else get_logger().warning
    for label in absent_labels(configs, keys):
        if all(getattr(c, label) is None for c in trained):
            continue                    # the training data's own warning said it
        offered = offered_keys(found, label, keys)
        carry = (f"; its files carry {offered_text(offered)[0]}, but data.keys names one key "
                 "for every file" if offered else "")
        say("%s data: no configuration has %s under %r%s: %s", name, label,
            read_key(label, keys), carry, _CONSEQUENCES[name].format(label=label))


def _report_energy_choice(gaps, key, quiet: bool = False) -> None:
    """Say once which of ASE's two energies (:data:`acefit.data.ENERGY_KEYS`) the fit
    reads, when the training frames (``gaps``, :func:`acefit.data.energy_gap` per file)
    carry both and they differ: a warning for ``energy``, whose derivatives the forces
    and stresses are not, a note for ``free_energy``; ``quiet``: to the log only."""
    from acefit.data import energy_gap_note

    note = energy_gap_note(gaps, key)
    if note is None:
        return
    log = get_logger()
    if key == "free_energy":
        (log.debug if quiet else log.info)(
            "training data: %s; free_energy is the energy whose derivatives the forces and "
            "stresses are", note)
    else:
        (log.debug if quiet else log.warning)(
            "training data: %s; the forces and stresses of a smeared DFT run are the "
            "derivatives of free_energy, not of energy (extrapolated to zero smearing): "
            "data.keys.energy: free_energy fits the energy they belong to", note)


def load_data(cfg: dict, *, quiet: bool = False) -> Data:
    """Training, validation and test configurations as the config describes them, with
    a warning for labels that some configurations of a set lack, or all of a held-out set,
    and for a label that no training configuration has; a config error when a key of the
    training files looks like that label (:func:`_check_absent_labels`). ``quiet``: those
    to the log only, none an error (a finished run read again: its fit gave them).
    ``cfg`` is a completed config
    (:func:`acefit.config.load_config`: every key, defaults filled); from Python without a
    config, :func:`acefit.data.load_configurations` and :func:`acefit.data.split`
    (docs/fitting.md, "Fitting from Python")."""
    from acefit.consistency import read_stresses
    from acefit.data import changed_label_keys, config_key, read_configurations, split

    from acefit.config import config_error
    from acefit.data import MissingKeyError
    from acefit.readers import DataError

    data = cfg["data"]
    keys, reading = data["keys"], data["stress_reading"]

    def read(files, require=(), found=None, key="data.train"):
        # a key in no frame, or a file or frame that cannot be used, named at its config line
        try:
            configs = read_configurations(files or [], keys, require, found=found,
                                          option=config_key)
        except MissingKeyError as exc:
            raise config_error(cfg, [(config_key(exc.label), exc.detail)]) from None
        except DataError as exc:
            raise config_error(cfg, [(key, str(exc))]) from None
        return read_stresses(configs, reading["default"], reading["config_type"])

    # keys set on purpose must match something in the training data (typos)
    found = {}
    train = read(data["train"], require=changed_label_keys(keys), found=found)
    _report_missing_labels(train, "training", quiet)
    offered = _check_absent_labels(cfg, train, found, quiet)
    _report_energy_choice(found.get("energy_gaps", []), keys["energy"], quiet)
    trained, held_out = train, []       # held out: (name, configurations, their files)
    v = data["validation"]
    if v["file"]:
        val_found = {}
        val = read(v["file"], found=val_found, key="data.validation.file")
        held_out.append(("validation", val, val_found))
    elif v["key"]:
        train, val = split(train, val_key=v["key"])
    elif v["fraction"] > 0:
        train, val = split(train, val_fraction=v["fraction"], seed=v["seed"],
                           stratify=v["stratify"])
    else:
        val = []
    test_found = {}
    test = read(data["test"], found=test_found, key="data.test")
    held_out.append(("test", test, test_found))
    for name, configs, files in held_out:
        _report_missing_labels(configs, name, quiet)
        _report_absent_held_out_labels(configs, name, trained, files, keys, quiet)
    return Data(train=train, val=val, test=test, offered=offered)


def build_basis(cfg: dict, train=(), *, mirrored: bool = False):
    """The ACE basis of the config; elements default to those in the training data.
    ``mirrored``: acefit 0.1's basis (:class:`acefit.basis.ACEBasis`), for its runs.
    ``cfg`` is a completed config (:func:`acefit.config.load_config`); from Python
    without one, :class:`acefit.basis.ACEBasis` itself."""
    from ase.data import chemical_symbols

    from acefit.basis import ACEBasis

    b = cfg["basis"]
    elements = b["elements"]
    if elements is None:
        zs = sorted({int(z) for c in train for z in np.unique(c.atoms.numbers)})
        elements = [chemical_symbols[z] for z in zs]
    from acefit.config import check_radial_pairs, config_error

    check_radial_pairs(cfg, elements)    # per pair, keys named: the elements are known now
    try:
        return ACEBasis(elements, order=b["order"], totaldegree=b["totaldegree"], wL=b["wL"],
                        maxl=b["maxl"], maxn=b["maxn"], pair_degree=b["pair_degree"],
                        rcut=b["rcut"], r0=b["r0"], rin=b["rin"], transform=b["transform"],
                        p=b["transform_p"], q=b["transform_q"],
                        envelope=b["envelope"], pair_envelope=b["pair_envelope"],
                        pure2b=b["pure2b"], one_body=b["one_body"],
                        radial_orthonormal=b["radial_orthonormal"], mirrored=mirrored)
    except ValueError as exc:    # what the checks above cannot see
        raise config_error(cfg, [("basis", f"{exc} (elements {elements})")]) from exc


def assemble_system(cfg: dict, data: Data, basis, cache_dir: Path, *, progress=None):
    """The config's :class:`acefit.assembly.AssembledSystem` (weights, E0 and workers
    from ``cfg``), read from ``cache_dir`` when it is there.

    Parameters
    ----------
    cfg : dict
        The validated config (:func:`acefit.config.load_config`): its ``data.weights``,
        ``data.e0``, ``repulsion``, ``parallel`` and ``output.train_rows_gib``.
    data : Data
        Training, validation and test configurations (either of the last two may be
        empty).
    basis : acefit.ACEBasis
        The basis whose design rows are assembled.
    cache_dir : pathlib.Path
        Folder of the assembly cache (:func:`acefit.run_folder.cache_dir_of`).
    progress : bool, optional
        Draw a bar (None: when stderr is a terminal), as in the other stages.

    Returns
    -------
    acefit.assembly.AssembledSystem
        The reduced training system, the dense validation and test blocks and the
        reference energies.
    """
    from acefit.assembly import assemble, quiet_dask

    n_configs = len(data.train) + len(data.val or []) + len(data.test or [])
    with quiet_dask(), bar(n_configs, "assemble", unit="cfg", enabled=progress) as pbar:
        return assemble(basis, data.train, val=data.val or None, test=data.test or None,
                        weights=weight_table(cfg), e0=e0_setting(cfg, basis_elements(basis)),
                        repulsion=repulsion_setting(cfg), n_workers=cfg["parallel"]["workers"],
                        scheduler=cfg["parallel"]["scheduler"], cache_dir=cache_dir,
                        train_rows_gib=cfg["output"]["train_rows_gib"], progress=pbar.update)

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

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from acefit.data_checks import basis_elements
from acefit.fit_settings import e0_setting, repulsion_setting, weight_table
from acefit.progress import bar, get_logger

__all__ = ["Data", "load_data", "build_basis", "assemble_system"]


@dataclass
class Data:
    """A fit's training, validation and test configurations
    (:class:`acefit.data.LabelledConfig`; either of the last two may be empty)."""

    train: list
    val: list
    test: list


def _report_missing_labels(configs, name: str, quiet: bool = False) -> None:
    """Warn when some configurations of a set lack a label that others in it have (a
    stress: counted only among those periodic in all three directions, the only ones
    expected to carry one); ``quiet``: to the log only (the data of a finished run, whose
    fit said it)."""
    log = get_logger()
    say = log.debug if quiet else log.warning
    for label in ("energy", "forces", "stress"):
        # clusters and slabs first in a file would hide the periodic frames that lack one
        among = [c for c in configs if label != "stress" or c.fully_periodic]
        missing = [c for c in among if getattr(c, label) is None]
        if missing and len(missing) < len(among):
            shown = "; ".join(c.where for c in missing[:3]) + ("; ..." if len(missing) > 3 else "")
            aside = ""
            others = sum(getattr(c, label) is None for c in configs) - len(missing)
            if others:
                aside = (f" ({others} more, not periodic in all three directions, are not "
                         "counted: a stress is expected only of those that are)")
            say("%s data: %d of %d %sconfigurations have no %s (%s): they add no %s rows%s",
                name, len(missing), len(among), "periodic " if label == "stress" else "",
                label, shown, label, aside)


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
    """Training, validation and test configurations as the config describes them;
    ``quiet``: the notes on labels some configurations lack to the log only (a finished
    run read again: its fit gave them). ``cfg`` is a completed config
    (:func:`acefit.config.load_config`: every key, defaults filled); from Python without a
    config, :func:`acefit.data.load_configurations` and :func:`acefit.data.split`
    (docs/fitting.md, "Fitting from Python")."""
    from acefit.consistency import read_stresses
    from acefit.data import changed_label_keys, read_configurations, split

    from acefit.config import config_error
    from acefit.data import MissingKeyError
    from acefit.readers import DataError

    data = cfg["data"]
    keys, reading = data["keys"], data["stress_reading"]

    def read(files, require=(), found=None, key="data.train"):
        # a key in no frame, or a file or frame that cannot be used, named at its config line
        try:
            configs = read_configurations(files or [], keys, require, found=found,
                                          option=lambda label: f"data.keys.{label}")
        except MissingKeyError as exc:
            raise config_error(cfg, [(f"data.keys.{exc.label}", exc.detail)]) from None
        except DataError as exc:
            raise config_error(cfg, [(key, str(exc))]) from None
        return read_stresses(configs, reading["default"], reading["config_type"])

    # keys set on purpose must match something in the training data (typos)
    found = {}
    train = read(data["train"], require=changed_label_keys(keys), found=found)
    _report_missing_labels(train, "training", quiet)
    _report_energy_choice(found.get("energy_gaps", []), keys["energy"], quiet)
    v = data["validation"]
    if v["file"]:
        val = read(v["file"], key="data.validation.file")
    elif v["key"]:
        train, val = split(train, val_key=v["key"])
    elif v["fraction"] > 0:
        train, val = split(train, val_fraction=v["fraction"], seed=v["seed"],
                           stratify=v["stratify"])
    else:
        val = []
    test = read(data["test"], key="data.test")
    return Data(train=train, val=val, test=test)


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

"""Fitted potentials scored on labelled configurations: any potential file, any data.

The fit reports errors on its own validation and test split; this is for the data that
comes later (a new DFT batch, another group's test set, an MD snapshot recomputed in
DFT). What the potentials predict for a configuration (energy, forces, virial: E0 and
core repulsion included) is laid out as design rows with one column per potential, so
:mod:`acefit.metrics` scores them exactly as it scores a fit's checkpoints: MAE and RMSE
in total and per ``config_type``, the bootstrap standard error and interval of each MAE
over the configurations, and the paired differences between potentials. A potential
with a committee is also asked whether its committee's spread measures its errors
(:func:`acefit.metrics.committee_calibration`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from acefit.basis.angular import thread_limit
from acefit.data import LabelledConfig, check_potential_elements, config_frames
from acefit.design import DesignBlock, ReferenceEnergies, config_rows, resolve_weights
from acefit.formatting import mae_text, number
from acefit.metrics import (SPREAD_RTOL, ConfigurationErrors, bootstrap_differences,
                            bootstrap_errors, calibration_of_rows, committee_sd,
                            configuration_errors, errors_by_element, errors_of_predictions,
                            interval_text, report_unit_residuals, report_unit_scale)
from acefit.progress import bar

__all__ = ["Evaluation", "evaluate", "prediction_rows", "write_predictions", "parity_plot",
           "errors_table", "element_table", "paired_table", "worst_table", "committee_table",
           "committee_by_config_type_table", "committee_spread_rows", "committee_row_sd",
           "mae_cell", "without_force_labels", "own_prediction_configs", "OWN_RTOL",
           "potential_labels", "evaluation_record"]

QUANTITY_DIGITS = (("E", 2), ("F", 4), ("S", 3))

OWN_RTOL = 1e-6
"""Labels within this of a potential's predictions, relative to the frame's largest label of
their kind (at least 1 eV, eV/Å), are that potential's own: a frame that ASE wrote with
its calculator (MD with :class:`acefit.ACECalculator`) holds the results bit for bit in a
``.traj``, and to 1.3e-7 in extended XYZ (forces and positions written to 8 decimals;
measured on 21 frames of the README's MD), while a fit to reference data misses a force by
1e-3 of the largest or more. Only frames with a nonzero force or stress are named: an
energy alone (an isolated atom, whose E0 may come from the label) is no such evidence."""


@dataclass
class Evaluation:
    """Potentials scored on configurations (:func:`evaluate`).

    Attributes
    ----------
    labels : list of str
        One name per potential (columns of ``rows.A``).
    configs : list of LabelledConfig
    rows : DesignBlock
        The labels (``y``: total energy, forces, virial −V·σ) and, in ``A`` (rows ×
        potentials), each potential's prediction of them.
    errors : list of dict
        Per potential, :func:`acefit.metrics.errors` form (``all``, ``by_config_type``)
        and ``by_element``, the force errors per element of the data
        (:func:`acefit.metrics.errors_by_element`); each MAE entry also has ``se``,
        ``low``, ``high`` (bootstrap over the configurations of the group, or with atoms
        of the element).
    per_config : ConfigurationErrors
        The potentials' absolute errors summed per configuration (what the bootstrap and
        the list of the largest errors are computed from).
    paired : list of dict
        For potentials 1, 2, ...: the difference of their MAEs to potential 0 on the same
        bootstrap draws (:func:`acefit.metrics.bootstrap_differences`), ``{"E", "F",
        "S"}`` entries.
    ms_per_atom : list of float
        Per potential, the wall time of its energy, forces and stress over all
        configurations per atom (ms; after one untimed call that compiles the kernels):
        the cost side of choosing a checkpoint, on this machine, in Python.
    committee : list of (dict or None)
        Per potential, :func:`acefit.metrics.committee_calibration` of its committee on
        the labels (None for a potential without one).
    committee_by_config_type : list of (dict or None)
        The same per ``config_type``
        (:func:`acefit.metrics.committee_calibration_by_config_type`).
    unlabelled : list of dict or None
        Per configuration, the potentials' predictions of what it has no label of (none
        in ``rows``), a column per potential: ``energy`` (k,) eV, ``forces`` (atoms, 3, k)
        eV/Å, ``stress`` (6, k) eV/Å³ (ASE sign, Voigt; NaN where the atoms have no
        periodic direction, or a cell without volume: a zero cell vector, such as a slab's
        along its non-periodic direction), for :func:`write_predictions`; None where
        :func:`evaluate` was asked not to keep them.
    own_predictions : list of list of int
        Per potential, the configurations whose labels are its own predictions
        (:func:`own_prediction_configs`: a trajectory it wrote), scored like the others;
        its errors on them are zero by construction.
    """

    labels: list
    configs: list
    rows: DesignBlock
    errors: list
    per_config: ConfigurationErrors
    paired: list
    ms_per_atom: list
    committee: list
    committee_by_config_type: list
    unlabelled: list
    own_predictions: list = None

    def to_dict(self) -> dict:
        return {"units": self.errors[0]["units"], "potentials": [
            {"label": label, "errors": {k: v for k, v in e.items() if k != "units"}}
            for label, e in zip(self.labels, self.errors)],
            "minus_first": [{"label": label, **d} for label, d in
                            zip(self.labels[1:], self.paired)],
            "ms_per_atom": dict(zip(self.labels, self.ms_per_atom)),
            "committee": dict(zip(self.labels, self.committee)),
            "committee_by_config_type": dict(zip(self.labels, self.committee_by_config_type)),
            "own_predictions": {label: [self.configs[i].where for i in own] for label, own
                                in zip(self.labels, self.own_predictions or [])},
            "configurations": [cfg.where for cfg in self.configs]}


def potential_labels(paths) -> list[str]:
    """Short distinct names of potential files or run directories, for tables and keys
    (:func:`evaluate`'s ``labels``): the file stem (or the run directory's name), with its
    folder's name where two stems are the same, and a number where that is not enough."""
    paths = [Path(p) for p in paths]
    names = [p.name if p.is_dir() else p.stem for p in paths]
    if len(set(names)) == len(names):
        return names
    qualified = [f"{p.resolve().parent.name}_{n}" for p, n in zip(paths, names)]
    if len(set(qualified)) == len(qualified):
        return qualified
    return [f"{j}_{n}" for j, n in enumerate(names)]


def evaluation_record(evaluation: Evaluation, files, fitted=None) -> dict:
    """:meth:`Evaluation.to_dict` with, per potential, its ``file`` (``files``, one per
    potential) and ``fitted_data``: the configurations its run was fitted on
    (:func:`acefit.evaluation_notes.fitted_data`; None where not known or not given), as
    ``acefit evaluate --json`` writes it."""
    record = evaluation.to_dict()
    fitted = [None] * len(files) if fitted is None else fitted
    record["potentials"] = [{"file": str(f), **p, "fitted_data": d}
                            for f, p, d in zip(files, record["potentials"], fitted)]
    return record


def prediction_rows(potentials, configs, seconds=None, progress=None,
                    unlabelled=None) -> DesignBlock:
    """Rows of ``configs`` whose column j is potential j's prediction of each label.

    ``y`` holds the labels as they are (total energy, forces, virial) and ``A`` the
    predictions of the whole models, so ``A[:, j] - y`` is potential j's residual.
    ``seconds``, a list with one number per potential, gains the wall time of each
    potential's calls. ``progress``: a progress bar (None: when stderr is a terminal).
    ``unlabelled``, a list, gains per configuration the predictions of what it has no
    label of (:attr:`Evaluation.unlabelled`).
    """
    configs = list(configs)
    if not configs:
        raise ValueError("no configurations to evaluate")
    for pot in potentials:
        check_potential_elements(config_frames(configs), pot.elements)
    numbers = set().union(*(set(cfg.atoms.numbers.tolist()) for cfg in configs))
    as_given = ReferenceEnergies(values={int(z): 0.0 for z in numbers}, method="given")
    weights = resolve_weights(None)
    blocks = []
    # the calculator's thread policy, so that the timing is what MD costs
    with thread_limit(), bar(len(configs), "evaluate", unit="cfg", enabled=progress) as pbar:
        if seconds is not None:          # compile the kernels outside the timing
            for pot in potentials:
                pot.energy_forces_stress(configs[0].atoms)
        for i, cfg in enumerate(configs):
            blocks.append(_config_predictions(potentials, cfg, i, as_given, weights, seconds,
                                              unlabelled))
            pbar.update(1)
    return DesignBlock.concatenate(blocks)


def _config_predictions(potentials, cfg, index, as_given, weights, seconds,
                        unlabelled) -> DesignBlock:
    """The rows of one configuration, a column per potential (:func:`prediction_rows`)."""
    if cfg.energy is None and cfg.forces is None and cfg.stress is None:
        raise ValueError(f"{cfg.where}: no energy, forces or stress label to compare with")
    predicted = []
    for j, pot in enumerate(potentials):
        start = time.perf_counter()
        predicted.append(pot.energy_forces_stress(cfg.atoms))
        if seconds is not None:
            seconds[j] += time.perf_counter() - start
    values = SimpleNamespace(energy=np.array([p[0] for p in predicted]),
                             forces=np.stack([p[2] for p in predicted], axis=-1),
                             stress=np.stack([p[3] for p in predicted], axis=-1))
    if unlabelled is not None:      # no copy of what the rows hold (forces: the bulk)
        unlabelled.append({name: getattr(values, name)
                           for name in ("energy", "forces", "stress")
                           if getattr(cfg, name) is None})
    return config_rows(values, cfg, weights, as_given, index)


def evaluate(potentials, configs: list[LabelledConfig], labels=None, *,
             resamples: int = 10000, seed: int = 0, progress=None,
             unlabelled: bool = True) -> Evaluation:
    """Score ``potentials`` (:class:`acefit.Potential`) on labelled ``configs``.

    Parameters
    ----------
    potentials : sequence of Potential
    configs : list of LabelledConfig
        From :func:`acefit.data.load_configurations`; every label a frame has is scored.
    labels : list of str, optional
        Names of the potentials (default ``p0``, ``p1``, ...).
    resamples, seed
        Of the bootstrap over configurations (:func:`acefit.metrics.bootstrap_errors`).
    progress : bool, optional
        A progress bar over the configurations (default: when stderr is a terminal).
    unlabelled : bool
        Keep the predictions of what the configurations have no label of
        (:attr:`Evaluation.unlabelled`), which only :func:`write_predictions` reads: a
        periodic frame's stress without a stress label, and every force of frames
        without force labels (False: ``acefit evaluate`` without ``--predictions``).

    Raises
    ------
    ValueError
        A frame with an element a potential does not cover, or without any label, or
        with a stress label in a cell without a volume (the message names the frame).
    """
    potentials = list(potentials)
    if not potentials:
        raise ValueError("no potentials to evaluate")
    labels = [f"p{j}" for j in range(len(potentials))] if labels is None else list(labels)
    if len(labels) != len(potentials):
        raise ValueError(f"{len(labels)} labels for {len(potentials)} potentials")
    configs = list(configs)
    seconds, unlabelled = [0.0] * len(potentials), [] if unlabelled else None
    rows = prediction_rows(potentials, configs, seconds, progress, unlabelled)
    n_atoms = sum(cfg.n_atoms for cfg in configs)
    ms_per_atom = [1e3 * t / n_atoms for t in seconds]
    errors = errors_of_predictions(rows, rows.A)
    per_config = configuration_errors(rows, rows.A)
    types = np.array([configs[c].config_type for c in per_config.configs])
    groups = [(None, np.ones(len(types), dtype=bool))]     # None: the total
    groups += [(name, types == name) for name in errors[0]["by_config_type"]]
    for name, mask in groups:
        boots = bootstrap_errors(per_config.select(mask), resamples=resamples, seed=seed)
        for err, boot in zip(errors, boots):
            stats = err["all"] if name is None else err["by_config_type"][name]
            for q, b in boot.items():
                stats[q].update({k: b[k] for k in ("se", "low", "high")})
    _add_errors_by_element(errors, rows, configs, resamples, seed)
    paired = []
    if len(potentials) > 1:
        paired = bootstrap_differences(per_config, [(j, 0) for j in range(1, len(potentials))],
                                       resamples=resamples, seed=seed)
    committee, committee_by_type = [], []
    for j, pot in enumerate(potentials):
        if pot.committee is None:
            committee.append(None)
            committee_by_type.append(None)
            continue
        error = report_unit_residuals(rows, rows.A[:, j, None])[:, 0]
        sd = committee_row_sd(pot, configs, rows.A[:, j])
        committee.append(calibration_of_rows(rows, error, sd))
        committee_by_type.append(calibration_of_rows(rows, error, sd, by_config_type=True))
    return Evaluation(labels, configs, rows, errors, per_config, paired, ms_per_atom,
                      committee, committee_by_type, unlabelled,
                      own_prediction_configs(potentials, configs, rows))


def own_prediction_configs(potentials, configs, rows: DesignBlock) -> list[list[int]]:
    """Per potential, the indices of ``configs`` whose every label in ``rows``
    (:func:`prediction_rows`) is its prediction to :data:`OWN_RTOL`, a force or stress among
    them nonzero: labels that ASE stored from this potential's calculator (an MD trajectory
    it ran), not reference data."""
    n = len(configs)
    scale = np.ones(len(rows.y))
    for kind in np.unique(rows.kind):
        mask = rows.kind == kind
        largest = np.ones(n)
        np.maximum.at(largest, rows.config[mask], np.abs(rows.y[mask]))
        scale[mask] = largest[rows.config[mask]]
    tol = OWN_RTOL * scale
    moving = np.bincount(rows.config, (rows.kind != "E") & (np.abs(rows.y) > tol),
                         minlength=n) > 0
    found = []
    for j in range(len(potentials)):
        missed = np.bincount(rows.config, np.abs(rows.A[:, j] - rows.y) > tol,
                             minlength=n) > 0
        found.append(np.flatnonzero(moving & ~missed).tolist())
    return found


def _add_errors_by_element(errors, rows, configs, resamples, seed) -> None:
    """Each potential's ``by_element`` force errors, with the bootstrap over the
    configurations that have force rows of the element (as per config_type)."""
    for err, by_element in zip(errors, errors_by_element(rows, rows.A, configs,
                                                         resamples=resamples, seed=seed)):
        err["by_element"] = by_element


def committee_spread_rows(potential, configs) -> DesignBlock:
    """The rows of ``configs`` with, in ``A``, each committee member's difference to
    ``potential``'s prediction (the model is not evaluated again: a member's prediction is
    the potential's column of the prediction rows plus its spread)."""
    return DesignBlock.concatenate(list(_committee_spread_blocks(potential, configs)))


def committee_row_sd(potential, configs, predictions) -> np.ndarray:
    """Per row of the prediction rows of ``configs`` (:func:`prediction_rows`), the SD of
    ``potential``'s committee members in report units (:func:`acefit.metrics.committee_sd`),
    given the potential's column ``predictions`` of those rows: a configuration at a time,
    never the (rows, K) spread of :func:`committee_spread_rows` (10^4 frames of 8-32 atoms
    and 32 members: 180 MB each, and the calibration made several)."""
    sds, start = [], 0
    for block in _committee_spread_blocks(potential, configs):
        stop = start + len(block.y)
        sds.append(committee_sd(block, predictions[start:stop, None] + block.A))
        start = stop
    return np.concatenate(sds) if sds else np.zeros(0)


def _committee_spread_blocks(potential, configs):
    """The rows of :func:`committee_spread_rows`, one configuration's block at a time."""
    as_given = ReferenceEnergies(values={int(z): 0.0 for z in potential.basis.numbers},
                                 method="given")
    weights = resolve_weights(None)
    for i, cfg in enumerate(configs):
        design = cfg.forces is not None or cfg.stress is not None
        with thread_limit():
            energy, forces, stress = potential.committee_spread(cfg.atoms, forces=design)
        k = len(energy)
        values = SimpleNamespace(
            energy=energy,
            forces=forces.transpose(1, 2, 0) if design else np.zeros((cfg.n_atoms, 3, k)),
            stress=stress.T if design else np.zeros((6, k)))
        yield config_rows(values, cfg, weights, as_given, i)   # rows are linear in values


def write_predictions(path, evaluation: Evaluation) -> Path:
    """Extended XYZ of the configurations with their labels and every potential's
    predictions, for parity plots elsewhere: ``<label>_energy`` (eV), ``<label>_stress``
    (eV/Å³, ASE sign, Voigt) in ``info``, ``<label>_forces`` (eV/Å) in ``arrays``;
    predictions also of what a configuration has no label of (a stress wherever the cell
    has a volume along a periodic direction). Written atomically; ``path`` ends in .xyz
    or .extxyz (:func:`acefit.atomic.write_extxyz`)."""
    from acefit.atomic import check_extxyz_path, write_extxyz

    check_extxyz_path(path)             # before the frames are made
    if evaluation.unlabelled is None:
        raise ValueError("this evaluation kept no predictions of what the configurations "
                         "have no label of; allowed: one from evaluate(..., unlabelled=True)")
    rows = evaluation.rows
    frames = []
    for i, cfg in enumerate(evaluation.configs):
        atoms = cfg.atoms.copy()
        atoms.info.update({"config_type": cfg.config_type, "source": cfg.where})
        if cfg.energy is not None:
            atoms.info["ref_energy"] = cfg.energy
        if cfg.forces is not None:
            atoms.arrays["ref_forces"] = np.asarray(cfg.forces, dtype=float)
        if cfg.stress is not None:
            atoms.info["ref_stress"] = np.asarray(cfg.stress, dtype=float)
        mine = rows.config == i
        kind, unlabelled = rows.kind[mine], evaluation.unlabelled[i]
        for j, label in enumerate(evaluation.labels):
            pred = rows.A[mine, j]
            energy = unlabelled["energy"][j] if "energy" in unlabelled \
                else pred[kind == "E"][0]
            atoms.info[f"{label}_energy"] = float(energy)
            atoms.arrays[f"{label}_forces"] = unlabelled["forces"][..., j] \
                if "forces" in unlabelled else pred[kind == "F"].reshape(-1, 3)
            stress = unlabelled["stress"][:, j] if "stress" in unlabelled \
                else -pred[kind == "V"] / cfg.volume
            if np.all(np.isfinite(stress)):       # NaN: a cell without a volume
                atoms.info[f"{label}_stress"] = stress
        frames.append(atoms)
    return write_extxyz(path, frames)


def parity_plot(path, evaluation: Evaluation) -> Path:
    """Predicted against reference values, one panel per quantity present (energy per atom,
    force components, stress components), one colour per potential, its MAE in the
    legend; written atomically, in the format the suffix of ``path`` names (.png, .pdf,
    .svg, ...: :func:`acefit.atomic.write_figure`)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from acefit.atomic import write_figure

    rows = evaluation.rows
    scale = report_unit_scale(rows, energy="eV/atom")    # the labels' own scale, not meV
    panels = [(kind, q, title) for kind, q, title in
              (("E", "E", "energy (eV/atom)"), ("F", "F", "force components (eV/Å)"),
               ("V", "S", "stress components (GPa)")) if np.any(rows.kind == kind)]
    fig, axes = plt.subplots(1, len(panels), figsize=(4.3 * len(panels), 4.3),
                             constrained_layout=True, squeeze=False)
    units = evaluation.errors[0]["units"]
    for ax, (kind, q, title) in zip(axes[0], panels):
        mine = rows.kind == kind
        ref = rows.y[mine] * scale[mine]
        for j, label in enumerate(evaluation.labels):
            mae = evaluation.errors[j]["all"][q]["mae"]
            ax.plot(ref, rows.A[mine, j] * scale[mine], "o", ms=2.5, alpha=0.5,
                    label=f"{label}: MAE {mae:.3g} {units[q]}")
        low, high = float(np.min(ref)), float(np.max(ref))
        pad = 0.05 * (high - low or 1.0)
        ax.plot([low - pad, high + pad], [low - pad, high + pad], "k-", lw=0.8)
        ax.set_xlabel(f"reference {title}")
        ax.set_ylabel(f"predicted {title}")
        ax.legend(fontsize=7, markerscale=2)
        ax.grid(True, alpha=0.3)
    return write_figure(fig, path, dpi=120)


def mae_cell(stats, digits) -> str:
    """A table cell of an error entry: "MAE ± SE" (the SE where a bootstrap gave one:
    none of a single configuration, :data:`acefit.metrics.MIN_SE_CONFIGS`), "–" without
    rows."""
    se = stats.get("se")
    return mae_text(stats["mae"] if stats["n"] else None,
                    se if se is not None and np.isfinite(se) else None, digits)


def errors_table(evaluation: Evaluation, j: int = 0) -> str:
    """Markdown: potential j's MAE ± bootstrap SE and RMSE, in total and per config_type."""
    err = evaluation.errors[j]
    rows = evaluation.rows
    head = ["| config_type | configs | E MAE | E RMSE | F MAE | F RMSE | S MAE | S RMSE |",
            "|---|---:|---:|---:|---:|---:|---:|---:|"]
    groups = [("all", err["all"], np.ones(len(rows), dtype=bool))]
    groups += [(name, stats, rows.config_type == name)
               for name, stats in err["by_config_type"].items()]
    for name, stats, mask in groups:
        n_configs = np.unique(rows.config[mask]).size
        cells = []
        for q, digits in QUANTITY_DIGITS:
            rmse = f"{stats[q]['rmse']:.{digits}f}" if stats[q]["n"] else "–"
            cells += [mae_cell(stats[q], digits), rmse]
        head.append(f"| {name} | {n_configs} | " + " | ".join(cells) + " |")
    return "\n".join(head)


def element_table(evaluation: Evaluation, j: int = 0) -> str:
    """Markdown: potential j's force MAE ± bootstrap SE and RMSE per element (atoms: those
    with force labels; an element without any is named below the table, not given a
    row); empty for data of one element, or without force labels."""
    by_element = evaluation.errors[j].get("by_element") or {}
    labelled = [symbol for symbol, stats in by_element.items() if stats["F"]["n"]]
    if len(by_element) < 2 or not labelled:
        return ""
    digits = dict(QUANTITY_DIGITS)["F"]
    lines = ["| element | atoms | F MAE | F RMSE |", "|---|---:|---:|---:|"]
    for symbol in labelled:
        f = by_element[symbol]["F"]
        lines.append(f"| {symbol} | {f['n'] // 3} | {mae_cell(f, digits)} | "
                     f"{f['rmse']:.{digits}f} |")
    return "\n".join(lines) + without_force_labels(s for s in by_element if s not in labelled)


def without_force_labels(symbols) -> str:
    """The note below a table of force errors per element that names the elements left
    out of it, having no force labels ("" when there are none)."""
    symbols = list(symbols)
    return (f"\n\nNo force labels on the {', '.join(symbols)} atoms (no row)." if symbols
            else "")


def paired_table(evaluation: Evaluation) -> str:
    """Markdown: each later potential's MAE minus the first one's, paired on the same
    bootstrap draws of the configurations (empty for one potential)."""
    if not evaluation.paired:
        return ""
    lines = [f"| potential | E MAE − {evaluation.labels[0]} | F MAE − {evaluation.labels[0]} "
             f"| S MAE − {evaluation.labels[0]} |", "|---|---|---|---|"]
    for label, d in zip(evaluation.labels[1:], evaluation.paired):
        cells = [interval_text(d[q], k, signed=True) for q, k in QUANTITY_DIGITS]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


WITHOUT_SPREAD_NOTE = (
    "Rows without spread: rows whose committee SD is rounding (at most "
    f"{SPREAD_RTOL:.0e}".replace("e-0", "e-") + " of "
    "the median SD of their quantity), as symmetry makes the forces of a perfect crystal "
    "or the shear stresses of a cubic cell in every member alike; RMS of error / SD, "
    "within 2 SD and the rank correlation leave them out.")


def committee_table(labels, calibrations, scales, note: bool = True) -> str:
    """Markdown: per potential with a committee, how its spread compares with its errors
    (:func:`acefit.metrics.committee_calibration`, one per label, None without a
    committee) and the scale of each quantity's spread (``Potential.committee_scale``),
    and below it (``note``) what its last column counts; empty when none has a
    committee."""
    lines = ["| potential | quantity | scale | RMSE | committee SD (RMS) | RMS of error / SD "
             "| within 2 SD | rank correlation SD ~ error | rows without spread |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, calibration, scale in zip(labels, calibrations, scales):
        for q, c in (calibration or {}).items():
            digits = dict(QUANTITY_DIGITS)[q]
            within = None if c["within_2sd"] is None else 100 * c["within_2sd"]
            lines.append(f"| {label} | {q} | {scale[q]:.3g} | {c['rmse']:.{digits}f} | "
                         f"{c['spread']:.{digits}f} | {number(c['z_rms'], '.2f')} | "
                         f"{number(within, '.0f', ' %')} | "
                         f"{number(c['rank_correlation'], '.2f')} | "
                         f"{c['without_spread']} of {c['n']} |")
    if len(lines) == 2:
        return ""
    return "\n".join(lines) + (f"\n\n{WITHOUT_SPREAD_NOTE}" if note else "")


def committee_by_config_type_table(labels, by_config_type, scales) -> str:
    """:func:`committee_table` per ``config_type`` (rows "potential, config_type"; the
    ``committee_by_config_type`` of an :class:`Evaluation`); empty when no potential has
    a committee or the data have one config_type."""
    flat = [(f"{label}, {name}", calibration, scale)
            for label, groups, scale in zip(labels, by_config_type, scales)
            if groups and len(groups) > 1 for name, calibration in groups.items()]
    return committee_table(*zip(*flat), note=False) if flat else ""


def worst_table(evaluation: Evaluation, n: int = 5) -> str:
    """Markdown: the ``n`` configurations with the largest energy error per atom of the
    first potential (or, without energies, the largest force MAE): where to look for an
    extrapolation or a doubtful label. Signed errors are prediction − label."""
    rows, per_config = evaluation.rows, evaluation.per_config
    energy = rows.kind == "E"
    signed = np.full((len(evaluation.configs), rows.A.shape[1]), np.nan)
    energies = rows.select(energy)
    signed[energies.config] = report_unit_residuals(energies, energies.A)
    with np.errstate(invalid="ignore", divide="ignore"):
        force_mae = per_config.sums["F"][:, 0] / per_config.counts["F"]
    forces = np.full(len(evaluation.configs), np.nan)
    forces[per_config.configs] = force_mae
    key = np.abs(signed[:, 0]) if energy.any() else forces
    order = [i for i in np.argsort(-np.nan_to_num(key, nan=-1.0)) if np.isfinite(key[i])][:n]
    if not order:
        return ""
    names = " | ".join(f"ΔE {label}" for label in evaluation.labels)
    lines = [f"| configuration | config_type | atoms | {names} | F MAE "
             f"{evaluation.labels[0]} |", "|---|---|---:|" + "---:|" * (len(evaluation.labels) + 1)]
    for i in order:
        cfg = evaluation.configs[i]
        cells = " | ".join(number(v, "+.2f") for v in signed[i])
        force = number(forces[i], ".4f")
        lines.append(f"| {cfg.where} | {cfg.config_type} | {cfg.n_atoms} | {cells} | {force} |")
    return "\n".join(lines)

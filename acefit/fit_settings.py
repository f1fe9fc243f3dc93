"""The validated config read as the arguments of a fit's stages: the weight table of the
assembly (:func:`weight_table`), E0 (:func:`e0_setting`), the core repulsion
(:func:`repulsion_setting`), the prior's γ (:func:`prior_scale`), what pins the
separated atoms' energy (:func:`separated_atoms`) and the metadata of a checkpoint's
potential file (:func:`potential_metadata`). ``cfg`` is a completed config
(:func:`acefit.config.load_config`)."""

from __future__ import annotations

__all__ = ["weight_table", "e0_setting", "repulsion_setting", "prior_scale",
           "separated_atoms", "isolated_atom_elements", "potential_metadata"]


def weight_table(cfg: dict) -> dict:
    """The config's weights, completed by :func:`acefit.design.resolve_weights` (a
    config_type entry may give only some of E, F, V)."""
    from acefit.design import resolve_weights

    w = cfg["data"]["weights"]
    table = {"default": dict(w["default"])}
    for name, entry in w["config_type"].items():
        table[name] = {k: v for k, v in entry.items() if v is not None}
    return resolve_weights(table)


def e0_setting(cfg: dict, elements):
    """``data.e0`` as the assembly takes it: None to fit the reference energies with the
    basis (``fit``), zeros (``zero``), or the given energy per element."""
    e0 = cfg["data"]["e0"]
    if e0 == "fit":
        return None
    if e0 == "zero":
        return {e: 0.0 for e in elements}
    return dict(e0)


def separated_atoms(cfg: dict, elements, isolated=()) -> dict | None:
    """The elements whose separated-atom energy the fit did not tie to a free atom's, as
    ``{"e0": "fit" or "zero", "elements": [...]}``; None when there are none.

    A potential's lone atom has E0 (and the one-body term of ``basis.one_body``, exported
    as part of it): no basis function reaches a neighbour. Given E0 values are the user's
    free-atom energies (`acefit init` writes them off isolated-atom frames). Fitted E0 is
    the mean energy per atom over the compositions (docs/fitting.md), and zero is the
    labels' zero: neither is a free atom's energy, unless the training data hold an
    isolated atom of the element (``isolated``, :func:`isolated_atom_elements`) and the
    one-body term lets the fit match it. Without that, energies relative to the separated
    atoms (a dimer's, a low-coordination structure's) are not the data's
    (:func:`acefit.validate.separated_atoms_note` says so).

    Parameters
    ----------
    cfg : dict
        A completed config (its ``data.e0`` and ``basis.one_body``).
    elements : iterable of str
        The basis elements.
    isolated : iterable of str, optional
        The elements with an isolated-atom frame with an energy in the training data.
    """
    e0 = cfg["data"]["e0"]
    if not isinstance(e0, str):
        return None
    pinned = set(isolated) if cfg["basis"]["one_body"] else set()
    free = [e for e in elements if e not in pinned]
    return {"e0": e0, "elements": free} if free else None


def isolated_atom_elements(configs) -> list[str]:
    """The elements of the isolated-atom frames with an energy among ``configs``
    (:func:`acefit.data.is_isolated_atom`)."""
    from acefit.data import is_isolated_atom

    return sorted({c.atoms.get_chemical_symbols()[0] for c in configs
                   if c.energy is not None and is_isolated_atom(c)})


def repulsion_setting(cfg: dict):
    """The config's core repulsion (None for ``kind: none``)."""
    from acefit.repulsion import repulsion_from_dict

    return repulsion_from_dict(cfg["repulsion"])


def prior_scale(cfg: dict, basis):
    """The prior's γ per basis function (None for ``kind: none``)."""
    from acefit.prior import smoothness_prior

    params = dict(cfg["prior"])
    kind = params.pop("kind")
    if kind == "none":
        return None
    return smoothness_prior(basis.functions, kind, **params)


def potential_metadata(cfg: dict, solver: str, sel: dict, separated=None,
                       **provenance) -> dict:
    """The metadata of a checkpoint's potential file: ``solver``, the ``label``, ``step``,
    ``n_active`` and ``budget`` of ``sel``, the config hash, the run name, the label keys
    of its data (``data_keys``: ``acefit evaluate`` reads new data with them), the
    elements whose separated-atom energy no free atom pins (``separated_atoms``, when
    ``separated``, a record of :func:`separated_atoms`, names any: ``acefit validate``
    says so beside the dimers) and the provenance (acefit version, time, training files,
    and the ``provenance`` items)."""
    from acefit import __version__
    from acefit.run_folder import config_hash, timestamp

    return {"solver": solver, "label": sel["label"], "step": sel["step"],
            "n_active": sel["n_active"], "budget": sel["budget"],
            "config_hash": config_hash(cfg), "run": cfg["name"],
            "data_keys": dict(cfg["data"]["keys"]),
            **({"separated_atoms": separated} if separated else {}),
            "provenance": {"acefit": __version__, "created": timestamp(),
                           "train": cfg["data"]["train"], **provenance}}

"""The validated config read as the arguments of a fit's stages: the weight table of the
assembly (:func:`weight_table`), E0 (:func:`e0_setting`), the core repulsion
(:func:`repulsion_setting`), the prior's γ (:func:`prior_scale`) and the metadata of a
checkpoint's potential file (:func:`potential_metadata`). ``cfg`` is a completed config
(:func:`acefit.config.load_config`)."""

from __future__ import annotations

__all__ = ["weight_table", "e0_setting", "repulsion_setting", "prior_scale",
           "potential_metadata"]


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


def potential_metadata(cfg: dict, solver: str, sel: dict, **provenance) -> dict:
    """The metadata of a checkpoint's potential file: ``solver``, the ``label``, ``step``,
    ``n_active`` and ``budget`` of ``sel``, the config hash, the run name, the label keys
    of its data (``data_keys``: ``acefit evaluate`` reads new data with them) and the
    provenance (acefit version, time, training files, and the ``provenance`` items)."""
    from acefit import __version__
    from acefit.run_folder import config_hash, timestamp

    return {"solver": solver, "label": sel["label"], "step": sel["step"],
            "n_active": sel["n_active"], "budget": sel["budget"],
            "config_hash": config_hash(cfg), "run": cfg["name"],
            "data_keys": dict(cfg["data"]["keys"]),
            "provenance": {"acefit": __version__, "created": timestamp(),
                           "train": cfg["data"]["train"], **provenance}}

"""The validated config read as the arguments of a fit's stages: the weight table of the
assembly (:func:`weight_table`), E0 (:func:`e0_setting`), the core repulsion
(:func:`repulsion_setting`) and the prior's γ (:func:`prior_scale`). ``cfg`` is a
completed config (:func:`acefit.config.load_config`)."""

from __future__ import annotations

__all__ = ["weight_table", "e0_setting", "repulsion_setting", "prior_scale"]


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

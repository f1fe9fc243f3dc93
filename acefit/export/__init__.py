"""Exports of fitted potentials to other codes (LAMMPS ML-PACE ``.yace``)."""

from .yace import export_yace

__all__ = ["export_yace"]

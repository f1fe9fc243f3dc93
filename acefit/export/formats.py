"""The files of an exported potential: the suffix of each format on a path stem
(:func:`format_path`) and one format written there (:func:`write_format`), as ``acefit fit``
and ``acefit export`` write them."""

from __future__ import annotations

from pathlib import Path

from acefit.progress import get_logger

__all__ = ["FORMAT_SUFFIXES", "format_path", "write_format"]


FORMAT_SUFFIXES = {"acefit": ".h5", "yace": ".yace"}


def format_path(target, fmt: str) -> Path:
    """The file of format ``fmt`` for the path stem ``target``: a format's suffix on the
    stem is replaced (``pot.h5`` -> pot.h5, pot.yace), any other kept, since it is part of
    the name (a solver label ``omp.a``: ``omp.a_t10.h5``, not ``omp.h5``)."""
    target = Path(target)
    if target.suffix.lower() in FORMAT_SUFFIXES.values():      # pot.H5 too
        return target.with_suffix(FORMAT_SUFFIXES[fmt])
    return target.with_name(target.name.rstrip(".") + FORMAT_SUFFIXES[fmt])


def write_format(potential, target: Path, fmt: str, export_cfg: dict):
    """Write one format to :func:`format_path` of ``target``; ``export_cfg`` is the
    validated config's ``export`` section, whose yace options go to
    :func:`~acefit.export.yace.export_yace`."""
    log = get_logger()
    path = format_path(target, fmt)
    if fmt == "acefit":
        potential.save(path)
        return path
    try:
        from acefit.export.yace import export_yace
    except ImportError as exc:
        log.warning("yace export unavailable (%s); skipped %s", exc, path.name)
        return None
    names = {"yace_radial": "radial", "spline_rtol": "spline_rtol", "spline_rmin": "spline_rmin"}
    options = {names[k]: v for k, v in export_cfg.items() if k in names}
    try:
        export_yace(potential, path, **options)    # and its LAMMPS pair commands
    except Exception as exc:  # an export problem must not cost the finished fit
        log.warning("cannot write %s: %s: %s", path.name, type(exc).__name__, exc)
        return None
    return path

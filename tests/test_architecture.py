"""docs/architecture.md stays the current map of the package: every module of acefit/ is
named in its module table, every module it names exists, and every entry point it gives
is an attribute of one of its row's modules."""

import importlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MAP = ROOT / "docs" / "architecture.md"


def package_modules() -> set[str]:
    """Every module of acefit/ as a dotted name below ``acefit`` (packages' __init__ and
    __main__ files are not modules of their own here)."""
    found = set()
    for file in (ROOT / "acefit").rglob("*.py"):
        if file.stem in ("__init__", "__main__"):
            continue
        found.add(".".join(file.relative_to(ROOT / "acefit").with_suffix("").parts))
    return found


def table_rows() -> list[tuple[list[str], list[str]]]:
    """(modules, entry points) of each row of the module table, as backticked names."""
    rows = []
    for line in MAP.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) != 3:
            continue
        rows.append((re.findall(r"`([^`]+)`", cells[0]), re.findall(r"`([^`]+)`", cells[2])))
    return rows


def test_every_module_is_on_the_map_and_every_name_on_it_exists():
    named = [m for modules, _ in table_rows() for m in modules]
    assert len(named) == len(set(named)), "a module has two rows"
    missing = sorted(package_modules() - set(named))
    unknown = sorted(set(named) - package_modules())
    assert not missing, f"docs/architecture.md does not name {missing}"
    assert not unknown, f"docs/architecture.md names modules that do not exist: {unknown}"


def test_every_entry_point_on_the_map_exists():
    absent = []
    for modules, entries in table_rows():
        loaded = [importlib.import_module(f"acefit.{m}") for m in modules]
        absent += [f"{e} ({', '.join(modules)})" for e in entries
                   if not any(hasattr(mod, e) for mod in loaded)]
    assert not absent, f"entry points on docs/architecture.md that do not exist: {absent}"

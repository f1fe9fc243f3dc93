"""docs/architecture.md stays the current map of the package: every module of acefit/ is
named in its module table, every module it names exists, and every entry point it gives
is an attribute of one of its row's modules; and the imports among the modules flow one
way (no cycles; the pipeline imported by the fit command only)."""

import ast
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


def imports_of(module: str) -> set[str]:
    """The modules of acefit/ (dotted below ``acefit``, as :func:`package_modules` names
    them; a package's ``__init__`` is the package) that ``module`` imports, at its top or
    inside its functions (lazily) alike; an ``import_module`` by name (the lazy attributes
    of ``acefit`` and ``acefit.basis``) is not an import statement and not seen."""
    known = package_modules()
    parts = module.split(".")
    file = ROOT / "acefit" / Path(*parts).with_suffix(".py")
    if not file.is_file():
        file = ROOT / "acefit" / Path(*parts) / "__init__.py"
    package = parts if file.stem == "__init__" else parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = (["acefit"] + package[:len(package) - node.level + 1] if node.level
                    else [])
            stem = ".".join(base + ([node.module] if node.module else []))
            names = [stem] + [f"{stem}.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name.startswith("acefit."):
                below = name[len("acefit."):]
                # the longest module the name is, or lies in (acefit.config.load_config:
                # the package config)
                while below and below not in known and not _is_package(below):
                    below = below.rpartition(".")[0]
                if below and below != module:
                    found.add(below)
    return found


def _is_package(name: str) -> bool:
    return (ROOT / "acefit" / Path(*name.split(".")) / "__init__.py").is_file()


def import_graph(top_level: bool = False) -> dict[str, set[str]]:
    """module -> the acefit modules it imports (:func:`imports_of`), every module and
    package of acefit/; ``top_level``: a package's modules are the package
    (``config.types`` is ``config``) and imports within one are left out."""
    modules = package_modules() | {p.relative_to(ROOT / "acefit").parent.as_posix()
                                   .replace("/", ".") for p in (ROOT / "acefit").rglob(
                                       "*/__init__.py")}
    graph = {m: imports_of(m) for m in modules}
    if not top_level:
        return graph
    merged = {}
    for module, targets in graph.items():
        head = module.split(".")[0]
        merged.setdefault(head, set()).update(t.split(".")[0] for t in targets)
    return {m: targets - {m} for m, targets in merged.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while not component or component[-1] != v:
                component.append(stack.pop())
                on_stack.discard(component[-1])
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_import_graph_is_read_whole():
    """The reader of the imports sees lazy and relative ones: a test of the tests."""
    graph = import_graph()
    assert "export.yace" in graph["export"]                 # from .yace import export_yace
    assert "pipeline" in graph["commands.fit"]              # inside run()
    assert "cache" in graph["assembly"]                     # from acefit import cache
    assert cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_imports_among_the_top_level_modules_have_no_cycles():
    """Data flow one way (docs/architecture.md): no module imports, even lazily, one that
    imports it back (config and data did, for close_match; pipeline, plan, report and
    data_checks, for the stages' helpers that lived in pipeline and plan; compare and runs,
    each reading a run folder with the other's help)."""
    assert cycles(import_graph(top_level=True)) == []


def test_only_the_fit_command_imports_the_pipeline():
    """``pipeline`` is one ``acefit fit``, at the top of the fit's stage modules: what the
    others need of it (the data, basis and system of a config, a potential's metadata, its
    files) lives in the module of its concept (found by a review: runs, plan, report and
    starter reached up into it)."""
    importers = sorted(m for m, targets in import_graph().items() if "pipeline" in targets)
    assert importers == ["commands.fit"]

"""The package layout: one package per pipeline stage, data flowing one way, a light ``import gridmap``.

Stages, first to last: the base modules (errors, vocabulary, findings, CRS, sample data), then
io → division → codes → cases → people → fieldwork → stats → maps → cli. A module may import from its own
stage and from stages before it, never from a later one, and no two modules import each other (at module
level or inside a function: a lazy import still ties the two together).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import gridmap

PACKAGE = Path(gridmap.__file__).parent

#: Stage of each top-level name under ``gridmap``; the base modules are ordered among themselves too.
STAGES = {
    "_interrupt": 0.0,  # Ctrl-C and SIGTERM handling, installed before anything else loads
    "errors": 0.0,
    "schema": 0.1,
    "findings": 0.2,
    "crs": 0.3,
    "io": 1,
    "datasets": 1.5,  # the sample city is read with gridmap.io
    "division": 2,
    "codes": 3,
    "cases": 4,
    "people": 4.5,  # roster, roles, party organisation, liaison, service centres
    "fieldwork": 4.7,  # patrols, patrol zones, walking circles, escalation, satisfaction
    "stats": 5,
    "maps": 6,
    "cli": 7,
    "__main__": 8,
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, statements: list) -> set[str]:
    """Every ``gridmap.*`` module a file imports, anywhere in it (lazy imports inside functions included).

    ``statements``: the file's import statements as ``package_syntax`` (tests/conftest.py) parsed them,
    ``[level, module, names]`` each (level 0 and module None for ``import names``).
    """
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    found = set()
    for level, module, aliases in statements:
        if module is None and not level:  # import names
            found.update(name for name in aliases if name.startswith("gridmap"))
            continue
        if level:
            base = package.rsplit(".", level - 1)[0] if level > 1 else package
            module = f"{base}.{module}" if module else base
        if module.startswith("gridmap"):
            # `from gridmap.x import y` may import the submodule gridmap.x.y
            names = {f"{module}.{alias}" for alias in aliases}
            found.add(module)
            found.update(name for name in names if name in MODULES)
    return found


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


@pytest.fixture(scope="module")
def graph(package_syntax) -> dict[str, set[str]]:
    """The gridmap modules each module imports, parsed when a test needs them (not at collection)."""
    return {name: _imports(path, package_syntax[path.relative_to(PACKAGE.parent).as_posix()]["imports"])
            - {name} for name, path in MODULES.items()}


def _stage(module: str) -> float | None:
    parts = module.split(".")
    return STAGES.get(parts[1]) if len(parts) > 1 else None


def test_every_module_belongs_to_a_stage():
    loose = sorted(name for name in MODULES if name != "gridmap" and _stage(name) is None)
    assert not loose, f"modules outside every stage (add them to a stage package): {loose}"


def test_no_module_imports_from_a_later_stage(graph):
    backwards = []
    for name, imported in graph.items():
        if name == "gridmap":  # the package itself re-exports the public API of every stage
            continue
        for target in imported:
            if target != "gridmap" and _stage(target) > _stage(name):
                backwards.append(f"{name} → {target}")
    assert not backwards, "imports against the pipeline order:\n" + "\n".join(sorted(backwards))


def test_no_two_modules_import_each_other(graph):
    loops = sorted({tuple(sorted((a, b))) for a, targets in graph.items() for b in targets
                    if b in graph and a in graph[b] and "gridmap" not in (a, b)
                    and not (MODULES[a].name == "__init__.py" and b.startswith(a + "."))
                    and not (MODULES[b].name == "__init__.py" and a.startswith(b + "."))})
    assert not loops, f"modules that import each other: {loops}"


def test_the_graph_sees_real_imports(graph):
    # the walker itself: a known lazy import and a known top-level one are found
    assert "gridmap.io" in graph["gridmap.cases.read"]  # top level
    assert "gridmap.io.read" in graph["gridmap.io.validation"]
    assert "gridmap.stats.summary" in graph["gridmap.maps.cockpit"]  # inside a function
    assert "gridmap.division.order" in graph["gridmap.codes.scheme"]
    assert _stage("gridmap.cli.build") > _stage("gridmap.maps.base") > _stage("gridmap.io.read")


HEAVY = ["folium", "branca", "matplotlib", "openpyxl", "dask", "esda", "libpysal", "scipy", "rapidfuzz"]


@pytest.fixture(scope="module")
def fresh_import() -> dict:
    """What a fresh ``import gridmap`` loads, seen by one new interpreter (not one per library): which heavy
    libraries are in ``sys.modules``, the gridmap modules loaded, and whether ``gridmap.read_layer`` then
    loads ``gridmap.io.read``."""
    code = ("import gridmap, sys; heavy = {name: name in sys.modules for name in sys.argv[1:]}; "
            "before = sorted(m for m in sys.modules if m.startswith('gridmap')); "
            "gridmap.read_layer; after = 'gridmap.io.read' in sys.modules; "
            "import json; print(json.dumps({'heavy': heavy, 'before': before, 'after': after}))")
    result = subprocess.run([sys.executable, "-c", code, *HEAVY], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


@pytest.mark.parametrize("heavy", HEAVY)
def test_import_gridmap_leaves_heavy_libraries_unloaded(heavy, fresh_import):
    assert fresh_import["heavy"][heavy] is False, f"`import gridmap` loads {heavy}"


def test_lazy_maps_package_is_there_when_asked_for():
    code = ("import gridmap, sys; assert 'folium' not in sys.modules; "
            "m = gridmap.maps; print(m.__name__, 'folium' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["gridmap.maps", "True"]


def test_import_gridmap_loads_no_stage_until_a_name_is_used(fresh_import):
    # the public names are imported on first use (PEP 562), so `import gridmap` costs ~0 beyond geopandas
    assert fresh_import["before"] == ["gridmap", "gridmap._interrupt", "gridmap.errors"]
    assert fresh_import["after"] is True


def test_every_public_name_resolves():
    for name in gridmap.__all__:
        assert getattr(gridmap, name) is not None, name
    assert set(gridmap.__all__) <= set(dir(gridmap))

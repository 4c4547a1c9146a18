"""The architecture DESIGN.md draws, checked on the source: dependencies point one way
between the package's rooms (subpackages and top-level modules), counting imports inside
functions and ``importlib.import_module("literal")``; every dask and GPU variant has its
public twin's signature."""

from __future__ import annotations

import ast
import graphlib
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import napari_segkit
from napari_segkit import backend

PACKAGE = Path(napari_segkit.__file__).parent
#: rooms that must not reach these (directly or through others)
NEVER = {
    "backend": {"methods", "io", "tiling", "widgets", "unet", "cli", "kernels"},
    "tiling": {"methods", "io", "widgets", "unet", "cli"},
    "kernels": {"methods", "io", "tiling", "widgets", "unet"},
    "io": {"methods", "widgets", "unet", "cli", "kernels"},
    "methods": {"io", "widgets", "unet", "cli", "recipe"},
    "unet": {"widgets", "cli"},
    "recipe": {"widgets", "cli"},
}
#: rooms of the library that never import napari or Qt (the faces that may: widgets, the npe2
#: targets, and cli/demo, whose ``--gui`` opens a viewer)
HEADLESS = (
    "backend",
    "tiling",
    "kernels",
    "io",
    "methods",
    "unet",
    "recipe",
    "progress",
    "_checks",
    "samples",
    "render",
)


def _module_name(path: Path) -> tuple[str, str]:
    """(module, package) of a source file."""
    parts = ("napari_segkit", *path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), ".".join(parts[:-1])
    return ".".join(parts), ".".join(parts[:-1])


def _absolute(name: str, level: int, package: str) -> str:
    if not level:
        return name
    base = package.split(".")[: len(package.split(".")) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _imported(tree: ast.AST, package: str) -> set[str]:
    """Every module a file imports, wherever the import is, as absolute names; ``from X
    import name`` counts as ``X.name`` (a submodule or an attribute of X)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node.module or "", node.level, package)
            found.update(f"{base}.{a.name}" for a in node.names)
        elif (
            isinstance(node, ast.Call)
            and node.args
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and isinstance(node.args[0], ast.Constant)
        ):
            name = node.args[0].value
            level = len(name) - len(name.lstrip("."))
            found.add(_absolute(name.lstrip("."), level, package))
    return found


def _room(module: str) -> str | None:
    """The room of a module of the package ("methods" for napari_segkit.methods.x), None for
    the package itself (the facade every submodule's import passes through anyway)."""
    parts = module.split(".")
    if parts[0] != "napari_segkit" or len(parts) == 1:
        return None
    room = parts[1]
    is_module = (PACKAGE / room).is_dir() or (PACKAGE / f"{room}.py").exists()
    return room if is_module else None


def _graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], str], dict[str, set[str]]]:
    """(room -> rooms it imports, (room, room) -> a file that does it, room -> every outside
    top-level package it imports)."""
    edges: dict[str, set[str]] = {}
    where: dict[tuple[str, str], str] = {}
    outside: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        module, package = _module_name(path)
        here = _room(module) or "__init__"
        for name in _imported(ast.parse(path.read_text()), package):
            there = _room(name)
            if name.split(".")[0] != "napari_segkit":
                outside.setdefault(here, set()).add(name.split(".")[0])
            elif there is not None and there != here:
                edges.setdefault(here, set()).add(there)
                where.setdefault((here, there), str(path.relative_to(PACKAGE)))
    return edges, where, outside


def test_the_rooms_import_each_other_one_way():
    edges, where, _ = _graph()
    edges.pop("__init__", None)  # the facade: it imports the API on first use
    try:
        tuple(graphlib.TopologicalSorter(edges).static_order())
    except graphlib.CycleError as err:
        cycle = err.args[1]
        steps = [f"{a} -> {b} ({where[a, b]})" for a, b in zip(cycle, cycle[1:])]
        pytest.fail("import cycle: " + "; ".join(steps))


def test_the_package_itself_gives_submodules_only_its_version():
    """``from napari_segkit import X`` inside the package is only for ``__version__`` (the
    rest of the facade is the public API, which the library must not route through)."""
    found = []
    for path in PACKAGE.rglob("*.py"):
        module, package = _module_name(path)
        if module == "napari_segkit":
            continue
        for name in _imported(ast.parse(path.read_text()), package):
            if (
                name.startswith("napari_segkit.")
                and _room(name) is None
                and name != "napari_segkit.__version__"
            ):
                found.append(f"{path.relative_to(PACKAGE)}: {name}")
    assert found == []


def _reach(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for there in edges.get(todo.pop(), ()):
            if there not in seen:
                seen.add(there)
                todo.append(there)
    return seen


@pytest.mark.parametrize("room", sorted(NEVER))
def test_lower_rooms_never_reach_higher_ones(room):
    edges, _, _ = _graph()
    assert _reach(edges, room) & NEVER[room] == set()


@pytest.mark.parametrize("room", HEADLESS)
def test_the_library_never_imports_napari_or_qt(room):
    edges, _, outside = _graph()
    rooms = {room, *_reach(edges, room)}
    gui = {"napari", "qtpy", "magicgui", "PyQt5", "PyQt6", "PySide2", "PySide6", "superqt"}
    assert {r for r in rooms if outside.get(r, set()) & gui} == set()


def test_the_check_sees_a_cycle_inside_a_function(tmp_path):
    """The scan counts late imports and import_module strings (what hid the old cycles)."""
    code = (
        "def f():\n    from ..tiling import run\n"
        "def g():\n    importlib.import_module('napari_segkit.widgets')\n"
    )
    found = _imported(ast.parse(code), "napari_segkit.methods")
    assert {"napari_segkit.tiling.run", "napari_segkit.widgets"} <= found


def _parameters(function) -> tuple[list, dict]:
    """(positional parameters in order, keyword-only ones by name) with kinds and defaults."""
    signature = inspect.signature(function)
    positional = [
        (p.name, p.kind, p.default)
        for p in signature.parameters.values()
        if p.kind is not p.KEYWORD_ONLY
    ]
    keywords = {
        p.name: p.default for p in signature.parameters.values() if p.kind is p.KEYWORD_ONLY
    }
    return positional, keywords


def _blockwise_versions() -> list[tuple[str, object, object]]:
    importlib.import_module("napari_segkit.methods")
    backend.blockwise_version(napari_segkit.threshold)  # loads every registered version
    found = []
    for key, lazy in sorted(backend.LAZY.items()):
        module, name = key.rsplit(".", 1)
        found.append((key, getattr(importlib.import_module(module), name), lazy))
    return found


def test_every_blockwise_version_is_registered_for_a_public_method():
    found = _blockwise_versions()
    assert len(found) >= 10
    public = set(napari_segkit.__all__) | {
        n for n in dir(napari_segkit.methods.postprocess) if not n.startswith("_")
    }
    assert {key.rsplit(".", 1)[1] for key, _, _ in found} <= public


@pytest.mark.parametrize(
    "key, public, lazy", _blockwise_versions(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_blockwise_version_takes_its_public_twins_parameters(key, public, lazy):
    """Same names, kinds and defaults (keyword-only ones in any order): a dask array can be
    given wherever a NumPy array is, with the same call."""
    assert _parameters(lazy) == _parameters(public)


def _gpu_twins() -> list[tuple[str, object, object]]:
    """(name, GPU function, NumPy twin) of every kernel module: functions whose names differ
    only by "gpu" and "twin" (``roots_gpu``/``roots_twin``, ``_gpu_step``/``_twin_step``)."""
    pairs = []
    kernels = importlib.import_module("napari_segkit.kernels")
    for info in pkgutil.iter_modules(kernels.__path__):
        module = importlib.import_module(f"napari_segkit.kernels.{info.name}")
        functions = {
            n: f
            for n, f in vars(module).items()
            if inspect.isfunction(f) and f.__module__ == module.__name__
        }
        for name, function in functions.items():
            if re.search(r"(^|_)gpu(_|$)", name):
                twin = re.sub(r"(^|_)gpu(_|$)", r"\1twin\2", name)
                if twin in functions:
                    pairs.append((f"{info.name}.{name}", function, functions[twin]))
    return pairs


def test_the_gpu_twins_are_found():
    assert {"label.roots_gpu", "watershed._gpu_step", "growcut._step_gpu"} <= {
        name for name, _, _ in _gpu_twins()
    }


@pytest.mark.parametrize(
    "name, gpu, twin", _gpu_twins(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_a_gpu_function_and_its_numpy_twin_take_the_same_parameters(name, gpu, twin):
    assert _parameters(gpu) == _parameters(twin)

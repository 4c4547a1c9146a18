"""Segmentation algorithms. Nothing here imports napari or Qt.

Each family module lists its public functions in its ``__all__``; they are this package's
(and :mod:`napari_segkit`'s) public methods, so a new algorithm is added by writing it, with
its docstring and test, in its family's module. The command line (``segkit run NAME``) and
the napari panels find it from there too. :mod:`.postprocess` and :mod:`.metrics` stay
namespaces of their own.
"""

import importlib
import inspect
import re
from collections.abc import Callable

from ..backend import on_dask_input
from . import (
    adaptive,
    cluster,
    components,
    contours,
    distance,
    edges,
    global_threshold,
    grabcut,
    graphcut,
    growcut,
    measure,
    metrics,  # noqa: F401  (a public namespace)
    postprocess,
    regions,
    scale,
    separate,
)

#: the family modules whose ``__all__`` make up the public methods
FAMILIES = (
    global_threshold,
    adaptive,
    separate,
    edges,
    regions,
    cluster,
    contours,
    graphcut,
    grabcut,
    growcut,
    components,
    distance,
    scale,
    measure,
)

globals().update({name: getattr(family, name) for family in FAMILIES for name in family.__all__})
on_dask_input(lambda: importlib.import_module("._blockwise", __name__))


def label_methods(module) -> dict[str, Callable]:
    """name -> function for the functions of a family module's ``__all__`` that give labels:
    every post-processing function, and the others that take an ``image`` first and whose
    docstring's Returns is an integer or bool array. The command line and the panels offer
    these."""
    return {
        name: getattr(module, name)
        for name in module.__all__
        if module is postprocess or _segments_an_image(getattr(module, name))
    }


def _segments_an_image(function) -> bool:
    first = next(iter(inspect.signature(function).parameters), None)
    return first == "image" and _returns_labels(function)


def _returns_labels(function) -> bool:
    doc = inspect.getdoc(function) or ""
    match = re.search(r"^Returns\n-+\n\w+ : (.+)$", doc, re.MULTILINE)
    kind = match.group(1) if match else ""
    return "array" in kind and "float" not in kind and ("int" in kind or "bool" in kind)


__all__ = sorted(
    {name for family in FAMILIES for name in family.__all__}
    | {"cluster", "contours", "edges", "metrics", "postprocess", "regions"}
)

"""Every public function and class has a numpydoc docstring (issue 24), listed in the API pages.

Checked with numpydoc's own parser: the Parameters (when there are any), Returns (or Yields;
functions only) and Examples sections are there, every parameter of the public signature is
documented (with ``device`` and ``progress``, which the backend's decorators add) and nothing
else is, and the Examples hold at least one ``>>>`` line (they run as doctests: see tox.ini).
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
from numpydoc.docscrape import ClassDoc, FunctionDoc

import napari_segkit
from napari_segkit.methods import metrics, postprocess

API_PAGES = Path(__file__).resolve().parents[1] / "docs" / "api"
IO_NAMES = {"read", "write", "Volume", "ReadError", "write_labels", "pick_series"}


def _callables(module, names) -> dict[str, object]:
    """``{"module.name": object}`` for the functions and classes among ``names``."""
    objects = {name: getattr(module, name) for name in names}
    return {
        f"{module.__name__}.{name}": obj
        for name, obj in objects.items()
        if inspect.isfunction(obj) or inspect.isclass(obj)
    }


def _defined_in(module) -> list[str]:
    """Public functions defined in ``module`` itself (not imported into it)."""
    return [
        name
        for name, obj in vars(module).items()
        if not name.startswith("_")
        and inspect.isfunction(obj)
        and obj.__module__ == module.__name__
    ]


def _unet() -> dict[str, object]:
    try:  # PyTorch is imported only when a function runs; the docstrings need none
        unet = importlib.import_module("napari_segkit.unet")
    except ImportError:
        return {}
    return _callables(unet, ["train", "predict", "preview", "load_model", "Model"])


def public_objects() -> dict[str, object]:
    top = [n for n in napari_segkit.__all__ if n not in IO_NAMES]
    return {
        **_callables(napari_segkit, top),
        **_callables(postprocess, _defined_in(postprocess)),
        **_callables(metrics, metrics.__all__),
        **_callables(napari_segkit.io, sorted(IO_NAMES)),
        **_unet(),
        **_callables(
            importlib.import_module("napari_segkit.tiling"),
            ["scheduler", "compute", "current_client"],
        ),
    }


PUBLIC = public_objects()


def _parse(obj):
    if inspect.isclass(obj):
        return ClassDoc(obj, config={"show_class_members": False})
    return FunctionDoc(inspect.unwrap(obj))


def _signature_names(obj) -> list[str]:
    """Parameter names of the public signature (``self`` and ``*``/``**`` stars dropped)."""
    try:
        signature = inspect.signature(obj)
    except ValueError:  # an exception class keeping a builtin __init__
        return []
    return [p.name for p in signature.parameters.values() if p.name != "self"]


def _documented(entries) -> set[str]:
    """Names in a numpydoc Parameters list; ``x, y : float`` documents both."""
    return {part.strip().lstrip("*") for entry in entries for part in entry.name.split(",")}


def problems(obj) -> list[str]:
    """What the docstring of ``obj`` lacks, in words (empty when it is complete)."""
    doc = _parse(obj)
    is_class = inspect.isclass(obj)
    names = _signature_names(obj)
    found = []
    if names and not doc["Parameters"]:
        found.append("no Parameters section")
    if not is_class and not (doc["Returns"] or doc["Yields"]):  # Yields: a context manager
        found.append("no Returns section")
    examples = "\n".join(doc["Examples"])
    if not examples.strip():
        found.append("no Examples section")
    elif ">>>" not in examples:
        found.append("Examples without a '>>>' line")
    documented = _documented(doc["Parameters"])
    if is_class:  # a dataclass may describe its fields as Attributes
        documented |= _documented(doc["Attributes"])
    if missing := [n for n in names if n not in documented]:
        found.append(f"parameters not documented: {', '.join(missing)}")
    if names and (extra := sorted(_documented(doc["Parameters"]) - set(names))):
        found.append(f"documented but not parameters: {', '.join(extra)}")
    return found


def test_the_list_is_complete():
    """The names come from the modules' ``__all__``; a broken import would empty the list."""
    assert len(PUBLIC) > 60
    assert {
        "napari_segkit.kmeans",
        "napari_segkit.io.read",
        "napari_segkit.methods.metrics.dice",
        "napari_segkit.methods.postprocess.fill_holes",
        "napari_segkit.tiling.scheduler",
    } <= set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_numpydoc_docstring(name):
    found = problems(PUBLIC[name])
    assert not found, f"{name}: {'; '.join(found)}"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_in_the_api_reference(name):
    """Each public object has a ``::: module.name`` entry, or its module's, in docs/api."""
    obj = PUBLIC[name]
    text = "\n".join(page.read_text() for page in API_PAGES.glob("*.md"))
    entries = {
        line.split(":::", 1)[1].split()[0] for line in text.splitlines() if line.startswith(":::")
    }
    defined = f"{obj.__module__}.{obj.__name__}"
    places = {defined, name, obj.__module__, name.rsplit(".", 1)[0]}
    assert places & entries, f"{name} ({defined}) is not in docs/api"


def test_problems_finds_what_is_missing():
    """The checker itself: a complete docstring passes, a sloppy one names each gap."""

    def complete(image, k=3, *, device="auto"):
        """Do it.

        Parameters
        ----------
        image : array
            The image.
        k, device : int, str
            Two at once.

        Returns
        -------
        labels : array
            The labels.

        Examples
        --------
        >>> 1 + 1
        2
        """

    def sloppy(image, k=3, **options):
        """Do it.

        Parameters
        ----------
        image : array
            The image.
        size : int
            Gone.

        Examples
        --------
        Call it.
        """

    assert problems(complete) == []
    assert problems(sloppy) == [
        "no Returns section",
        "Examples without a '>>>' line",
        "parameters not documented: k, options",
        "documented but not parameters: size",
    ]

"""One source of truth per method: a function written in a family module (its ``__all__``,
docstring and signature) is a public method, a `segkit run` command with typed options, and
an option of its family's panel with fields and tooltips; nothing else is edited."""

import inspect

import numpy as np
import pytest
import tifffile

import napari_segkit
from napari_segkit import _docstrings, cli, io, methods
from napari_segkit.backend import cpu_only
from napari_segkit.methods import regions


@cpu_only
def brightest_region(image, *, level: float = 0.5, mode: str = "bright"):
    """Label the pixels above a fraction of the intensity range.

    Parameters
    ----------
    image : (M, N) array
        Grey image.
    level : float, default 0.5
        Fraction of the range (0 to 1) above which pixels are kept.
    mode : {"bright", "dark"}, default "bright"
        Keep the bright pixels, or the dark ones.

    Returns
    -------
    labels : (M, N) int32 array
        1 where kept, 0 elsewhere.
    """
    cut = image.min() + level * np.ptp(image)
    return ((image > cut) if mode == "bright" else (image <= cut)).astype(np.int32)


@pytest.fixture
def added(monkeypatch):
    """``brightest_region`` written into methods/regions.py, as a developer would add it."""
    monkeypatch.setattr(regions, "brightest_region", brightest_region, raising=False)
    monkeypatch.setattr(regions, "__all__", [*regions.__all__, "brightest_region"])
    cli.classic_commands.cache_clear()
    cli._methods.cache_clear()
    yield
    cli.classic_commands.cache_clear()
    cli._methods.cache_clear()


def test_a_new_method_is_a_command_with_typed_options(added, tmp_path):
    assert cli.classic_commands()["brightest-region"] is brightest_region
    assert cli._methods()["brightest-region"][1] == {"level": float, "mode": str}
    image = np.zeros((16, 16), np.uint8)
    image[4:8, 4:8] = 200
    tifffile.imwrite(tmp_path / "in.tif", image)
    code = cli.main(
        [
            "run",
            "brightest-region",
            str(tmp_path / "in.tif"),
            "-o",
            str(tmp_path / "out.tif"),
            "--level",
            "0.25",
        ]
    )
    assert code == 0
    labels = np.asarray(io.read(tmp_path / "out.tif").data)
    np.testing.assert_array_equal(labels, brightest_region(image, level=0.25))
    assert labels.sum() == 16


@pytest.mark.gui
def test_a_new_method_is_offered_by_its_panel_with_documented_choices(added, qtbot):
    from napari_segkit.widgets._family import _field
    from napari_segkit.widgets.regions import RegionsWidget

    method = RegionsWidget.more_methods()["brightest region"]
    assert method.function is brightest_region and method.seeds == "none"
    parameters = method.parameters()
    assert list(parameters) == ["level", "mode"]
    mode = _field("mode", parameters["mode"], method, "mode_0")
    assert list(mode.choices) == ["bright", "dark"] and mode.value == "bright"
    level = _field("level", parameters["level"], method, "level_0")
    assert level.value == 0.5 and level.tooltip.startswith("Fraction of the range")


def test_every_labels_method_is_a_command_under_its_old_name_too():
    commands = cli.classic_commands()
    old = {
        "split",
        "voronoi-otsu",
        "edges",
        "kmeans",
        "fuzzy-cmeans",
        "mean-shift",
        "slic",
        "felzenszwalb",
        "normalized-cut",
        "split-merge",
        "chan-vese",
        "geodesic",
        "watershed",
        "region-grow",
        "graph-cut",
        "grow-from-seeds",
        "grab-cut",
        "fill-holes",
        "remove-small",
        "remove-small-holes",
        "morphology",
        "expand",
        "smooth",
        "clear-border",
        "relabel",
        "keep-largest",
        "fill-between-slices",
    }
    assert old <= set(commands)
    values = {
        "threshold_value",
        "adaptive_threshold_map",
        "fuzzy_memberships",
        "edge_map",
        "distance_transform",
        "estimate_object_size",
        "measure",
    }
    assert not {f.__name__ for f in commands.values()} & values  # not labels


def test_the_family_modules_make_up_the_public_methods():
    listed = {name for family in methods.FAMILIES for name in family.__all__}
    assert listed <= set(napari_segkit.__all__)
    for name in listed:
        function = getattr(napari_segkit, name)
        assert inspect.unwrap(function).__module__ in {f.__name__ for f in methods.FAMILIES}


def test_parameter_docs_read_numpydoc_entries():
    docs = _docstrings.parameter_docs(napari_segkit.kmeans)
    assert docs["k"].kind == "int, default 3" and docs["k"].text.startswith("Number of")
    assert docs["mode"].choices == ("semantic", "instance")
    assert docs["device"].choices == ("auto", "cpu", "gpu")
    together = _docstrings.parameter_docs(napari_segkit.threshold_value)
    assert {"method", "nbins", "dark"} <= set(together)  # "a, b, c" lines document each
    assert _docstrings.parameter_docs(lambda x: x) == {}

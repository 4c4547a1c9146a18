"""The Measure and Recipe widgets in a real napari viewer: segment with the panels, measure,
hover, sort, go to an object, colour, filter, save CSV, save a recipe, run it on a second
image, and compare with the Python script the recipe wrote."""

import subprocess
import sys

import napari
import numpy as np
import pandas as pd
import pytest
import tifffile
from gui_helpers import run_widget
from qtpy.QtCore import Qt

import napari_segkit as sk
from napari_segkit import samples
from napari_segkit.recipe import Recipe
from napari_segkit.widgets.recipe import recipe_of

pytestmark = pytest.mark.gui

SPACING = (0.325, 0.325)  # µm, from samples.nuclei_2d


def _tiff(path, data):
    tifffile.imwrite(
        path,
        data,
        imagej=True,
        resolution=(1 / SPACING[1], 1 / SPACING[0]),
        metadata={"unit": "um", "axes": "YX"},
    )
    return path


def dock(viewer, name):
    return viewer.window.add_plugin_dock_widget("napari-segkit", name)[1]


def wait(qtbot, widget):
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)


@pytest.fixture
def segmented(make_napari_viewer, qtbot, tmp_path):
    """Nuclei opened by the plugin's reader (moved to x = 10 µm), split into objects by the
    Segment panel, and small objects removed by the Post-process panel."""
    viewer = make_napari_viewer()
    first = _tiff(tmp_path / "first.tif", samples.nuclei_2d(touching=True, seed=0).data)
    (image,) = viewer.open(first, plugin="napari-segkit")
    image.translate = (0.0, 10.0)
    segment = dock(viewer, "Segment")
    run_widget(qtbot, segment)
    post = dock(viewer, "Post-process")
    post.image.value = viewer.layers["first split touching objects"]
    post.method.value = "remove small objects"
    post.fields["remove small objects"]["min_size"].value = 15.0  # µm²
    run_widget(qtbot, post)
    labels = viewer.layers["first split touching objects remove small objects"]
    return viewer, image, labels, tmp_path


def test_measure_hover_sort_go_to_colour_filter_and_save(segmented, qtbot):
    viewer, image, labels, tmp_path = segmented
    widget = dock(viewer, "Measure")
    widget.labels.value, widget.image.value = labels, image
    run_widget(qtbot, widget)

    expected = sk.measure(labels.data, image.data, spacing=SPACING, origin=(0.0, 10.0))
    assert len(expected) > 20 and "intensity_mean" in expected
    features = labels.features
    np.testing.assert_array_equal(features["index"], expected["label"])
    pd.testing.assert_frame_equal(features.drop(columns="index"), expected)
    assert widget.table.rowCount() == len(expected)
    assert f"{len(expected)} objects" in widget.result.value and "µm²" in widget.result.value

    # hovering over an object shows its features (napari's status line)
    row = expected.iloc[3]
    centre = (row["centroid-0"], row["centroid-1"])  # world µm; the nuclei are convex
    assert labels.get_value(centre, world=True) == row["label"]
    status = labels.get_status(centre, world=True)["coordinates"]
    assert f"area: {row['area']:.3g}" in status or f"area: {row['area']:.4g}" in status, status

    # sort by area, largest first; clicking the first row goes to the largest object
    area = list(expected.columns).index("area")
    widget.table.sortItems(area, Qt.SortOrder.DescendingOrder)
    largest = expected.loc[expected["area"].idxmax()]
    widget.table.selectRow(0)
    assert labels.selected_label == largest["label"]
    np.testing.assert_allclose(
        viewer.camera.center[-2:], (largest["centroid-0"], largest["centroid-1"])
    )

    # colour by area: the largest object gets the top of the colormap
    widget.column.value, widget.colormap.value = "area", "viridis"
    coloured = widget.colour()
    top = napari.utils.colormaps.ensure_colormap("viridis").map(np.array([1.0]))[0]
    np.testing.assert_allclose(coloured.colormap.map(np.array([int(largest["label"])]))[0], top)
    assert coloured.data is labels.data

    # filter by area into a new layer: the objects in range, untouched
    assert widget.low.value <= expected["area"].min()
    assert widget.high.value >= expected["area"].max()  # the range starts with them all
    widget.low.value = float(expected["area"].median())
    low, high = widget.low.value, widget.high.value  # as the fields hold them
    widget.filter()
    wait(qtbot, widget)
    kept = viewer.layers[-1]
    inside = expected["label"][(expected["area"] >= low) & (expected["area"] <= high)]
    assert kept.name.startswith(f"{labels.name} area") and 0 < len(inside) < len(expected)
    assert set(np.unique(kept.data)) - {0} == set(inside)
    np.testing.assert_array_equal(kept.data, np.where(np.isin(labels.data, inside), labels.data, 0))
    np.testing.assert_allclose(kept.scale, labels.scale)

    # save CSV: reads back as measure()'s table
    path = widget.save_csv(tmp_path / "table")
    assert path == tmp_path / "table.csv"
    pd.testing.assert_frame_equal(pd.read_csv(path), expected, rtol=1e-12)


def test_saved_recipe_runs_again_on_a_second_image_like_its_script(segmented, qtbot):
    viewer, image, labels, tmp_path = segmented
    widget = dock(viewer, "Recipe")
    widget.labels.value = labels
    yaml_path, script = widget.save_recipe(tmp_path / "nuclei")
    assert (yaml_path.name, script.name) == ("nuclei.yaml", "nuclei.py")
    recipe = Recipe.load(yaml_path)
    assert [s["function"] for s in recipe.steps] == [
        "napari_segkit.split_touching_objects",
        "napari_segkit.postprocess.remove_small_objects",
    ]
    # the recipe makes the layer again from its image
    np.testing.assert_array_equal(recipe.run(image.data, spacing=SPACING), labels.data)

    second = _tiff(tmp_path / "second.tif", samples.nuclei_2d(touching=True, seed=5).data)
    (other,) = viewer.open(second, plugin="napari-segkit")
    widget.image.value = other
    widget.load_recipe(yaml_path)
    wait(qtbot, widget)
    result = viewer.layers["second nuclei"]
    np.testing.assert_allclose(result.scale, other.scale)
    assert result.data.max() > 10

    out = tmp_path / "second_labels.tif"
    done = subprocess.run(
        [sys.executable, str(script), str(second), str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(sk.read(out).data, result.data)

    # the layer made by the recipe saves the same recipe again
    widget.labels.value = result
    again, _ = widget.save_recipe(tmp_path / "again.yaml")
    assert Recipe.load(again).steps == recipe.steps


def test_threshold_layer_recipe_numbers_the_objects(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    volume = samples.nuclei_2d(seed=2)
    image = viewer.add_image(volume.data, name="cells", scale=SPACING)
    threshold = dock(viewer, "Threshold")
    run_widget(qtbot, threshold)
    layer = viewer.layers["cells threshold"]
    assert layer.metadata["segkit"]["instances"] and layer.data.max() > 1
    recipe = recipe_of(layer, viewer.layers)
    assert [s["function"] for s in recipe.steps] == [
        "napari_segkit.threshold",
        "napari_segkit.label",
    ]
    np.testing.assert_array_equal(recipe.run(image.data, spacing=SPACING), layer.data)


def test_layers_a_recipe_cannot_repeat_are_refused():
    wand = napari.layers.Labels(
        np.zeros((4, 4), np.uint8),
        name="wand",
        metadata={
            "segkit": {"function": "napari_segkit.magic_wand", "parameters": {"tolerance": 1.0}}
        },
    )
    with pytest.raises(ValueError, match="'wand' cannot be made again.*clicks"):
        recipe_of(wand, {})
    with pytest.raises(ValueError, match="no segkit record"):
        recipe_of(napari.layers.Labels(np.zeros((4, 4), np.uint8)), {})

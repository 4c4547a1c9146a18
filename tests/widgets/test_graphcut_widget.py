"""The Graph cut widget in a real napari viewer: scribbles painted into a Labels layer update
the result as strokes finish (and on undo), boxes drawn in a Shapes layer are cut (GrabCut).
Every result is compared with the library call on the same scribbles."""

import numpy as np
import pytest
import tifffile
from gui_helpers import run_widget

import napari_segkit as sk
from napari_segkit import metrics, samples
from napari_segkit.widgets.graphcut import cut_each_box

from ..methods.test_grabcut import two_stain_slide
from ..methods.test_graphcut import ellipse_image

pytestmark = pytest.mark.gui


def dock(viewer):
    return viewer.window.add_plugin_dock_widget("napari-segkit", "Graph cut")[1]


def stroke(layer, box, label):
    """Paint ``box`` (a slice of the data) with ``label`` as one undoable stroke."""
    mask = np.zeros(layer.data.shape, bool)
    mask[box] = True
    layer.selected_label = label
    layer.data_setitem(np.nonzero(mask), label)


def shows(viewer, name, expected):
    return name in viewer.layers and np.array_equal(viewer.layers[name].data, expected)


@pytest.fixture
def ellipse(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    image, truth = ellipse_image()
    path = tmp_path / "ellipse.tif"
    tifffile.imwrite(path, image)
    (layer,) = viewer.open(path, plugin="napari-segkit")
    return viewer, layer, image, truth


def test_the_cut_follows_each_stroke_and_undo(ellipse, qtbot):
    viewer, layer, image, truth = ellipse
    widget = dock(viewer)
    assert widget.image.value.name == layer.name and widget.auto.value
    scribbles = widget.add_seeds_layer()
    assert scribbles.data.shape == image.shape and scribbles.mode == "paint"
    name = f"{layer.name} graph cut"
    window = tuple(float(v) for v in layer.contrast_limits)

    stroke(scribbles, np.s_[95:105, 105:115], 1)  # object only: says what is missing
    qtbot.waitUntil(lambda: "at least two labels" in widget.result.value, timeout=30_000)
    assert name not in viewer.layers

    stroke(scribbles, np.s_[5:12, 5:60], 2)
    first = sk.graph_cut(image, scribbles.data, window=window)
    qtbot.waitUntil(lambda: shows(viewer, name, first), timeout=30_000)
    assert metrics.dice(viewer.layers[name].data == 1, truth) >= 0.95

    stroke(scribbles, np.s_[60:140, 108:112], 1)
    second = sk.graph_cut(image, scribbles.data, window=window)
    qtbot.waitUntil(lambda: shows(viewer, name, second), timeout=30_000)
    assert not np.array_equal(first, second)

    scribbles.undo()  # back to the first two strokes
    qtbot.waitUntil(lambda: shows(viewer, name, first), timeout=30_000)
    record = viewer.layers[name].metadata["segkit"]
    assert record["function"] == "napari_segkit.graph_cut"
    assert record["seeds"] == scribbles.name


def test_a_newer_stroke_supersedes_a_running_cut(ellipse, qtbot):
    viewer, layer, image, _ = ellipse
    widget = dock(viewer)
    widget.auto.value = False
    scribbles = widget.add_seeds_layer()
    stroke(scribbles, np.s_[95:105, 105:115], 1)
    stroke(scribbles, np.s_[5:12, 5:60], 2)
    widget.run()
    superseded = widget._state
    stroke(scribbles, np.s_[190:196, 20:200], 2)
    run_widget(qtbot, widget)
    assert superseded.cancelled and not widget._state.cancelled
    window = tuple(float(v) for v in layer.contrast_limits)
    expected = sk.graph_cut(image, scribbles.data, window=window)
    qtbot.waitUntil(lambda: shows(viewer, f"{layer.name} graph cut", expected), timeout=30_000)


def test_grow_from_seeds_on_two_slices_of_a_stack_in_microns(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    volume = samples.nuclei_3d()
    path = tmp_path / "nuclei.tif"
    tifffile.imwrite(
        path,
        volume.data,
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={"spacing": 1.0, "unit": "um", "axes": "ZYX"},
    )
    (layer,) = viewer.open(path, plugin="napari-segkit")
    widget = dock(viewer)
    widget.auto.value = False
    widget.method.value = "grow from seeds"
    scribbles = widget.add_seeds_layer()
    truth = volume.metadata["truth"]
    for plane in (truth.shape[0] // 3, 2 * truth.shape[0] // 3):
        scribbles.data[plane][truth[plane] > 0] = 1  # inside every nucleus of the slice
        scribbles.data[plane][:2] = 2
    run_widget(qtbot, widget)
    result = viewer.layers[f"{layer.name} grow from seeds"]
    window = tuple(float(v) for v in layer.contrast_limits)
    expected = sk.grow_from_seeds(
        volume.data, scribbles.data, spacing=volume.spacing, window=window
    )
    np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_allclose(result.scale, layer.scale)
    assert result.metadata["segkit"]["parameters"]["spacing"] == list(volume.spacing)
    assert (result.data[truth.shape[0] // 2] > 0).any()  # it grew between the slices


def test_grabcut_cuts_each_drawn_box(make_napari_viewer, qtbot, tmp_path):
    viewer = make_napari_viewer()
    image, truth = two_stain_slide()
    path = tmp_path / "slide.tif"
    tifffile.imwrite(path, image, photometric="rgb")
    (layer,) = viewer.open(path, plugin="napari-segkit")
    assert layer.rgb
    widget = dock(viewer)
    widget.method.value = "GrabCut box"
    assert widget.boxes.visible is not None
    run_widget(qtbot, widget)
    assert "draw a rectangle" in widget.result.value
    boxes = widget.add_boxes_layer()
    boxes.add_rectangles(np.array([[25, 15], [135, 125]]))  # auto update: runs by itself
    name = f"{layer.name} GrabCut box"
    expected = cut_each_box(image, [((25, 15), (135, 125))], rgb=True)
    qtbot.waitUntil(lambda: shows(viewer, name, expected), timeout=30_000)
    assert metrics.dice(viewer.layers[name].data == 1, truth) >= 0.95
    assert expected.max() == 1


def test_cut_each_box_numbers_the_objects():
    image, truth = two_stain_slide()
    out = cut_each_box(
        image, [((25, 15), (135, 125)), ((0, 130), (20, 159))], rgb=True, model="histogram"
    )
    first = sk.grab_cut(image, ((25, 15), (135, 125)), rgb=True, model="histogram")
    np.testing.assert_array_equal(out == 1, first == 1)
    assert set(np.unique(out)) <= {0, 1, 2}


def test_bad_scribbles_and_images_get_one_clear_line(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    image, _ = ellipse_image((60, 60))
    image[0, 0] = np.nan
    layer = viewer.add_image(image, name="holes")
    widget = dock(viewer)
    widget.auto.value = False
    wrong = viewer.add_labels(np.zeros((50, 60), np.uint8), name="wrong")
    widget.seeds.value = wrong
    run_widget(qtbot, widget)
    assert "has shape (50, 60)" in widget.result.value
    scribbles = widget.add_seeds_layer()
    scribbles.data[28:32, 28:32], scribbles.data[50:55] = 1, 2
    run_widget(qtbot, widget)
    assert "NaN" in widget.result.value
    assert f"{layer.name} graph cut" not in viewer.layers


def test_a_closed_dock_stops_watching_the_scribbles(make_napari_viewer, qtbot):
    from qtpy.QtCore import QCoreApplication, QEvent

    viewer = make_napari_viewer()
    viewer.add_image(ellipse_image((40, 40))[0], name="small")
    dock_widget, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Graph cut")
    scribbles = widget.add_seeds_layer()

    def watching():
        return [
            cb
            for e in (scribbles.events.paint, scribbles.events.set_data)
            for cb in e.callbacks
            if isinstance(cb, tuple) and cb[0]() is widget
        ]

    assert len(watching()) == 2
    viewer.window.remove_dock_widget(dock_widget)
    widget.native.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: not watching(), timeout=5_000)

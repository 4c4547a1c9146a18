"""The Evaluate widget in a real napari viewer, on label files opened by the plugin."""

import csv

import numpy as np
import pytest
from gui_helpers import run_widget

from napari_segkit import label, metrics, samples, threshold, write

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer_and_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Evaluate")
    return viewer, widget


@pytest.fixture
def label_files(tmp_path):
    """An anisotropic stack's true nuclei and a thresholded prediction with one nucleus
    removed (missed) and one blob added (spurious), as label TIFFs with the voxel size."""
    volume = samples.nuclei_3d()
    truth = volume.metadata["truth"]
    pred = label(threshold(volume.data, "otsu")).astype(np.uint16)
    pred[pred == pred[truth == 5][0]] = 0  # misses nucleus 5
    pred[0:2, 0:6, 0:6] = pred.max() + 1  # and finds something where nothing is
    write(tmp_path / "nuclei_labels.tif", truth, like=volume)
    write(tmp_path / "nuclei_pred.tif", pred, like=volume)  # no label word: marked by segkit
    return tmp_path / "nuclei_pred.tif", tmp_path / "nuclei_labels.tif", volume.spacing


def test_instance_evaluation_table_jump_errors_layer_and_csv(
    viewer_and_widget, qtbot, label_files, tmp_path
):
    viewer, widget = viewer_and_widget
    pred_path, ref_path, spacing = label_files
    (ref,) = viewer.open(ref_path, plugin="napari-segkit")
    (pred,) = viewer.open(pred_path, plugin="napari-segkit")
    assert ref._type_string == pred._type_string == "labels"  # label files open as Labels
    np.testing.assert_allclose(ref.scale, spacing)
    assert (widget.prediction.value, widget.reference.value) == (pred, ref)  # newest = pred

    widget.mode.value = "instance"
    widget.tolerance.value = 0.5
    run_widget(qtbot, widget)

    rows, summary = metrics.evaluate(
        pred.data, ref.data, spacing=spacing, mode="instance", tolerance=0.5
    )
    assert widget.rows == rows
    assert f"f1: {summary['f1']:.4g}" in widget.summary.value
    assert "µm" in widget.summary.value  # distances are physical
    assert widget.table.shape == (len(rows), len(widget.table.column_headers))
    statuses = [r["status"] for r in rows]
    assert "missed" in statuses and "spurious" in statuses

    errors = viewer.layers["nuclei_pred errors"]
    np.testing.assert_array_equal(
        errors.data, metrics.error_map(pred.data, ref.data, mode="instance")
    )
    np.testing.assert_allclose(errors.scale, spacing)
    missed_voxels = ref.data == rows[statuses.index("missed")]["reference_id"]
    assert np.all(errors.data[missed_voxels] == 2)

    # clicking the missed object's row moves the slice and the camera onto it
    index = statuses.index("missed")
    widget.table.native.selectRow(index)
    centre = np.asarray(rows[index]["centroid"]) * spacing
    assert viewer.dims.point[0] == pytest.approx(centre[0], abs=spacing[0])
    np.testing.assert_allclose(viewer.camera.center[-2:], centre[1:], atol=1e-6)
    assert ref.selected_label == rows[index]["reference_id"]
    assert missed_voxels[viewer.dims.current_step[0]].any()  # the shown slice cuts it

    out = widget.save_csv(path=tmp_path / "table.csv")
    with open(out, newline="") as f:
        saved = list(csv.DictReader(f))
    assert [r["status"] for r in saved] == statuses
    assert float(saved[0]["iou"]) == pytest.approx(rows[0]["iou"])


def test_semantic_evaluation_in_voxels(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    ref = np.zeros((30, 40), np.uint8)
    ref[5:15, 5:15], ref[20:28, 20:35] = 1, 2
    pred = np.zeros_like(ref)
    pred[6:15, 5:15], pred[20:28, 22:38] = 1, 2
    viewer.add_labels(ref, name="expert", scale=(2.0, 2.0))
    viewer.add_labels(pred, name="method", scale=(2.0, 2.0))
    widget.physical.value = False
    run_widget(qtbot, widget)
    rows, summary = metrics.evaluate(pred, ref)  # spacing 1: voxels
    assert widget.rows == rows
    assert [row[0] for row in widget.table.data] == ["1", "2"]
    assert f"dice_macro: {summary['dice_macro']:.4g}" in widget.summary.value
    assert "voxels" in widget.summary.value
    np.testing.assert_array_equal(viewer.layers["method errors"].data, metrics.error_map(pred, ref))

    widget.go_to(1)  # class 2's row: the camera goes to its centre, in world units
    np.testing.assert_allclose(viewer.camera.center[-2:], np.array([23.5, 27.0]) * 2.0)
    assert viewer.layers["method"].selected_label == 2

    widget.show_errors.value = False  # evaluating again replaces nothing it was not asked for
    widget.mode.value = "instance"
    run_widget(qtbot, widget)
    assert widget.rows[0]["status"] == "matched"
    assert "method errors" in viewer.layers


def test_bad_choices_are_explained_and_nothing_is_lost(viewer_and_widget, qtbot, tmp_path):
    viewer, widget = viewer_and_widget
    assert widget.run() is None
    assert "choose a prediction" in widget.summary.value
    a = viewer.add_labels(np.ones((10, 10), np.uint8), name="a")
    b = viewer.add_labels(np.ones((10, 12), np.uint8), name="b")
    widget.prediction.value = widget.reference.value = a
    assert widget.run() is None
    assert "same layer" in widget.summary.value
    assert widget.save_csv(path=tmp_path / "t.csv") is None
    assert "evaluate first" in widget.summary.value

    widget.reference.value = b
    run_widget(qtbot, widget)
    assert "differ in shape" in widget.summary.value
    assert [layer.name for layer in viewer.layers] == ["a", "b"]  # no errors layer

    b.data = np.zeros((10, 10), np.uint8)
    run_widget(qtbot, widget)
    assert widget.save_csv(path=tmp_path / "table.txt") is None
    assert "choose a .csv" in widget.summary.value
    (tmp_path / "keep.csv").write_text("old")
    assert widget.save_csv(path=tmp_path / "missing" / "t.csv") is None
    assert "could not save" in widget.summary.value
    assert (tmp_path / "keep.csv").read_text() == "old"

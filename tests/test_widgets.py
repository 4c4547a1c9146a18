"""The Threshold widget in a real napari viewer (needs a display: Xvfb under CI)."""

import numpy as np
import pytest
import tifffile

import napari_segkit
from napari_segkit import label, read, samples, threshold

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer_and_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Threshold")
    return viewer, widget


def run_widget(qtbot, widget):
    """Run and wait: the button comes back when the worker has finished (a signal could be
    missed if the worker ends before we listen)."""
    worker = widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    return worker


@pytest.mark.parametrize(
    "sample, dark",
    [("nuclei-2d", False), ("nuclei-3d", False), ("ihc-slide", True)],
)
def test_threshold_widget_on_each_sample(viewer_and_widget, qtbot, sample, dark):
    viewer, widget = viewer_and_widget
    (image,) = viewer.open_sample("napari-segkit", sample)
    widget.image.value = image
    widget.dark.value = dark
    run_widget(qtbot, widget)

    result = viewer.layers[f"{image.name} threshold"]
    assert result._type_string == "labels"
    expected_mask, value = threshold(image.data, dark=dark, return_threshold=True, device="cpu")
    np.testing.assert_array_equal(result.data, label(expected_mask))
    np.testing.assert_allclose(result.scale, image.scale)
    np.testing.assert_allclose(result.translate, image.translate)
    assert widget.result.value == f"{value:.6g}"
    record = result.metadata["segkit"]
    assert record["function"] == "napari_segkit.threshold"
    assert record["parameters"] == {"method": "otsu", "dark": dark, "rgb": image.rgb,
                                    "device": "auto"}
    assert record["threshold"] == value
    assert record["version"] == napari_segkit.__version__
    assert record["backend"] in ("cpu", "gpu")


def test_anisotropic_tiff_opened_by_the_plugin_keeps_its_voxel_size(
        viewer_and_widget, qtbot, tmp_path):
    viewer, widget = viewer_and_widget
    volume = samples.nuclei_3d()
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, volume.data, imagej=True, resolution=(4.0, 4.0),
                     metadata={"spacing": 1.0, "unit": "um", "axes": "ZYX"})
    (image,) = viewer.open(path, plugin="napari-segkit")
    np.testing.assert_allclose(image.scale, (1.0, 0.25, 0.25))

    widget.image.value = image
    assert widget.value.native.isHidden()  # the value only shows for "manual"
    widget.method.value = "manual"
    assert not widget.value.native.isHidden()
    widget.value.value = 400
    widget.instances.value = False
    run_widget(qtbot, widget)
    result = viewer.layers["stack threshold"]
    np.testing.assert_array_equal(result.data, (volume.data > 400).astype(np.uint8))
    np.testing.assert_allclose(result.scale, (1.0, 0.25, 0.25))
    assert result.metadata["segkit"]["parameters"]["value"] == 400

    # running again updates the same layer instead of adding another
    widget.method.value = "yen"
    run_widget(qtbot, widget)
    assert [layer.name for layer in viewer.layers] == ["stack", "stack threshold"]
    np.testing.assert_array_equal(result.data, threshold(volume.data, "yen").astype(np.uint8))

    # and the plugin's writer saves it so that the voxel size survives
    out = tmp_path / "labels.tif"
    result.save(str(out), plugin="napari-segkit")
    saved = read(out)
    np.testing.assert_array_equal(saved.data, result.data)
    assert saved.spacing == pytest.approx((1.0, 0.25, 0.25))


def test_bad_input_is_shown_not_raised(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    widget.image.value = viewer.add_image(np.full((20, 20), 5.0), name="flat")
    run_widget(qtbot, widget)
    assert widget.result.value.startswith("failed: image is constant")
    assert "flat threshold" not in viewer.layers
    assert widget.run_button.enabled


def test_demo_gui_opens_one_sample_with_the_widget_run(qtbot):
    from napari_segkit.demo import show_in_napari

    viewer, widget = show_in_napari("ihc_slide", device="cpu")
    try:
        qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
        image, result = viewer.layers
        assert image.rgb and widget.dark.value
        np.testing.assert_array_equal(result.data, label(threshold(image.data, dark=True)))
    finally:
        viewer.close()

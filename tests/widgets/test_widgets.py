"""The Threshold widget in a real napari viewer (needs a display: Xvfb under CI)."""

import sys
import time

import numpy as np
import pytest
import tifffile
from gui_helpers import GapMeter, run_widget
from napari.utils import progress

import napari_segkit
from napari_segkit import adaptive_threshold, label, read, samples, threshold, threshold_value
from napari_segkit.methods.adaptive import auto_window
from napari_segkit.widgets.threshold import TRY_ALL

pytestmark = pytest.mark.gui


@pytest.fixture
def viewer_and_widget(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Threshold")
    return viewer, widget


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
    expected_mask, value = (
        threshold(image.data, dark=dark, device="cpu"),
        threshold_value(image.data, dark=dark, device="cpu"),
    )
    np.testing.assert_array_equal(result.data, label(expected_mask))
    np.testing.assert_allclose(result.scale, image.scale)
    np.testing.assert_allclose(result.translate, image.translate)
    assert widget.result.value == f"{value:.6g}"
    record = result.metadata["segkit"]
    assert record["function"] == "napari_segkit.threshold"
    expected = {"method": "otsu", "dark": dark, "rgb": image.rgb, "device": "auto"}
    if image.rgb:
        expected["channel"] = "luminance"
    if image.ndim == 3:
        expected["per_slice"] = False
    assert record["parameters"] == expected
    assert record["threshold"] == value
    assert record["version"] == napari_segkit.__version__
    assert record["backend"] in ("cpu", "gpu")


def test_anisotropic_tiff_opened_by_the_plugin_keeps_its_voxel_size(
    viewer_and_widget, qtbot, tmp_path
):
    viewer, widget = viewer_and_widget
    volume = samples.nuclei_3d()
    path = tmp_path / "stack.tif"
    tifffile.imwrite(
        path,
        volume.data,
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={"spacing": 1.0, "unit": "um", "axes": "ZYX"},
    )
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
        assert image.rgb and widget.channel.value == "hematoxylin" and not widget.dark.value
        np.testing.assert_array_equal(
            result.data, label(threshold(image.data, channel="hematoxylin"))
        )
    finally:
        viewer.close()


def wait_preview(qtbot, widget):
    qtbot.waitUntil(
        lambda: (
            widget._preview_worker is not None
            and not widget._preview_worker.is_running
            and not widget._preview_again
        ),
        timeout=30_000,
    )
    qtbot.wait(50)  # let the returned signal reach the layer


def test_live_preview_follows_parameters_and_slice(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    (image,) = viewer.open_sample("napari-segkit", "nuclei-3d")
    widget.image.value = image
    viewer.dims.set_current_step(0, 9)
    widget.preview.value = True
    wait_preview(qtbot, widget)
    preview = viewer.layers[f"{image.name} preview"]
    t = threshold_value(image.data)  # the whole volume's threshold
    np.testing.assert_array_equal(preview.data, image.data[9] > t)
    np.testing.assert_allclose(preview.scale, image.scale[-2:])

    widget.method.value = "yen"
    wait_preview(qtbot, widget)
    t = threshold_value(image.data, "yen")
    np.testing.assert_array_equal(preview.data, image.data[9] > t)
    assert widget.result.value == f"{t:.6g}"

    viewer.dims.set_current_step(0, 14)
    wait_preview(qtbot, widget)
    np.testing.assert_array_equal(preview.data, image.data[14] > t)


@pytest.mark.parametrize("method", ["niblack", "bernsen"])
def test_adaptive_preview_on_3d_equals_the_whole_volume_run(viewer_and_widget, qtbot, method):
    viewer, widget = viewer_and_widget
    (sample,) = viewer.open_sample("napari-segkit", "nuclei-3d")
    data = sample.data.copy()
    data[0, 0, 0] = 60000  # a hot pixel far from plane 11 sets the volume's range
    image = viewer.add_image(data, name="hot", scale=sample.scale)
    widget.image.value = image
    widget.kind.value = "adaptive"
    widget.method.value = method
    widget.auto_window.value = False
    widget.block_size.value = 4.0
    widget.physical.value = True  # 4 µm: a (5, 17, 17) window at 1 × 0.25 × 0.25 µm
    viewer.dims.set_current_step(0, 11)
    widget.preview.value = True
    wait_preview(qtbot, widget)
    qtbot.waitUntil(lambda: "hot preview" in viewer.layers, timeout=10_000)  # a busy machine
    whole = adaptive_threshold(image.data, method, block_size=4.0, spacing=image.scale)
    np.testing.assert_array_equal(viewer.layers["hot preview"].data, whole[11])


def test_adaptive_apply_shows_progress_and_labels(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    (image,) = viewer.open_sample("napari-segkit", "nuclei-2d")
    widget.image.value = image
    widget.kind.value = "adaptive"
    widget.method.value = "sauvola"
    assert not widget.k.native.isHidden() and widget.offset.native.isHidden()
    assert widget.k.value == 0.2
    widget.auto_window.value = False
    widget.block_size.value = 41
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    result = viewer.layers[f"{image.name} threshold"]
    expected = label(adaptive_threshold(image.data, "sauvola", block_size=41))
    np.testing.assert_array_equal(result.data, expected)
    assert result.metadata["segkit"]["function"] == "napari_segkit.adaptive_threshold"
    assert result.metadata["segkit"]["parameters"]["block_size"] == 41
    assert not widget.progress.visible and not widget.cancel_button.enabled


def test_adaptive_auto_window_shows_and_uses_the_library_defaults(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    (image,) = viewer.open_sample("napari-segkit", "nuclei-2d")
    widget.image.value = image
    widget.kind.value = "adaptive"
    widget.method.value = "mean"
    assert widget.auto_window.value and not widget.block_size.enabled
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    block, offset = auto_window(image.data)
    assert widget.block_size.value == pytest.approx(block, abs=0.01)
    assert widget.offset.value == pytest.approx(offset, abs=0.01) and offset < 0
    expected = label(adaptive_threshold(image.data))  # the library's own "auto"
    np.testing.assert_array_equal(viewer.layers[f"{image.name} threshold"].data, expected)
    widget.auto_window.value = False
    assert widget.block_size.enabled and widget.offset.enabled


def test_auto_window_of_a_method_without_offset_sizes_the_objects_only(
    viewer_and_widget, qtbot, monkeypatch
):
    """Sauvola's auto window is the library's block size, and the noise (which only the
    offset of mean, Gaussian and median uses) is not measured."""
    scale = sys.modules["napari_segkit.methods.scale"]
    noise_calls = []
    real_noise = scale.noise_level
    monkeypatch.setattr(scale, "noise_level", lambda g: noise_calls.append(1) or real_noise(g))
    viewer, widget = viewer_and_widget
    (image,) = viewer.open_sample("napari-segkit", "nuclei-2d")
    widget.image.value = image
    widget.kind.value = "adaptive"
    widget.method.value = "sauvola"
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    by_panel = len(noise_calls)  # sizing the objects measures the noise once itself
    block, offset = auto_window(image.data, "sauvola")
    assert len(noise_calls) - by_panel == by_panel  # the panel measured nothing more
    assert widget.block_size.value == pytest.approx(block, abs=0.01) and offset == 0.0
    expected = label(adaptive_threshold(image.data, "sauvola"))
    np.testing.assert_array_equal(viewer.layers[f"{image.name} threshold"].data, expected)


@pytest.mark.parametrize("where", ["panel", "activity dock"])
def test_cancel_stops_a_long_run_without_a_result(viewer_and_widget, qtbot, monkeypatch, where):
    adaptive = sys.modules["napari_segkit.methods.adaptive"]
    monkeypatch.setattr(adaptive, "_SLAB_VOXELS", 64 * 64)  # block 3: 4-plane slabs, 10 of them
    slabs_done = []
    real = adaptive._local_threshold

    def slow(*args):
        time.sleep(0.2)
        slabs_done.append(1)
        return real(*args)

    monkeypatch.setattr(adaptive, "_local_threshold", slow)
    viewer, widget = viewer_and_widget
    big = np.random.default_rng(0).integers(0, 4000, (40, 64, 64), dtype=np.uint16)
    widget.image.value = viewer.add_image(big, name="big")
    widget.kind.value = "adaptive"
    widget.auto_window.value = False
    widget.block_size.value = 3
    widget.run()
    qtbot.waitUntil(lambda: widget.progress.value > 0, timeout=30_000)
    (activity,) = [bar for bar in progress._all_instances if bar.desc == "Threshold"]
    qtbot.waitUntil(lambda: activity.n == widget.progress.value, timeout=5_000)
    if where == "panel":
        widget.cancel_button.changed.emit(True)
    else:
        activity.cancel()  # what the activity dock's cancel button does
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=30_000)
    assert widget.result.value == "cancelled"
    assert "big threshold" not in viewer.layers
    assert len(slabs_done) < 8  # it stopped, it did not run to the end
    assert activity not in progress._all_instances  # gone from the activity dock


def test_try_all_shows_every_global_method_named(viewer_and_widget, qtbot):
    viewer, widget = viewer_and_widget
    (image,) = viewer.open_sample("napari-segkit", "ihc-slide")
    widget.image.value = image
    assert not widget.channel.native.isHidden()  # colour input: the channel choice shows
    widget.channel.value = "hematoxylin"
    with GapMeter() as gaps:
        widget.try_all()
        qtbot.waitUntil(lambda: widget.try_all_button.enabled, timeout=30_000)
    print("Try all: longest GUI gap (ms)", round(gaps.longest))
    assert gaps.longest < 400  # computed in a worker; napari adding the montage layer is most
    names = widget.try_all_names
    assert [n.split(":")[0] for n in names] == TRY_ALL
    montage = viewer.layers[f"{image.name} try all"]
    assert montage.rgb and montage.data.shape[0] > image.data.shape[0]  # 4 rows of 256²
    tinted = np.all(montage.data == [255, 0, 255], axis=-1) | (
        (montage.data[..., 0] > 150) & (montage.data[..., 2] > 150) & (montage.data[..., 1] < 120)
    )
    assert tinted.any()  # foreground shows

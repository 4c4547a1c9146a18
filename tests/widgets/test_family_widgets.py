"""The Segment, Edges, Regions, Cluster, Contours and Post-process widgets in a real napari
viewer (needs a display: Xvfb under CI). Each result is compared with the library call."""

import numpy as np
import pytest
import tifffile
from gui_helpers import run_widget

import napari_segkit as sk
from napari_segkit import postprocess, samples

pytestmark = pytest.mark.gui


@pytest.fixture
def stack(make_napari_viewer, tmp_path):
    """A viewer with touching 3D nuclei (1 × 0.25 × 0.25 µm voxels) opened from a TIFF by the
    plugin's reader."""
    viewer = make_napari_viewer()
    volume = samples.nuclei_3d(touching=True)
    path = tmp_path / "nuclei.tif"
    tifffile.imwrite(
        path,
        volume.data,
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={"spacing": 1.0, "unit": "um", "axes": "ZYX"},
    )
    (image,) = viewer.open(path, plugin="napari-segkit")
    return viewer, image, volume


def dock(viewer, name):
    return viewer.window.add_plugin_dock_widget("napari-segkit", name)[1]


def test_split_touching_objects_in_physical_units_matches_the_library(stack, qtbot):
    viewer, image, volume = stack
    widget = dock(viewer, "Segment")
    assert widget.image.value is image and widget.method.value == "split touching objects"
    run_widget(qtbot, widget)

    result = viewer.layers[f"{image.name} split touching objects"]
    expected = sk.split_touching_objects(volume.data, spacing=volume.spacing)
    np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_allclose(result.scale, image.scale)
    record = result.metadata["segkit"]
    assert record["function"] == "napari_segkit.split_touching_objects"
    assert record["parameters"]["spacing"] == list(volume.spacing)
    assert widget._state.fraction == 1.0  # the progress bar reached the end
    _, summary = sk.metrics.evaluate(result.data, volume.metadata["truth"], mode="instance")
    assert summary["f1"] > 0.9


def test_a_method_only_its_family_lists_runs_in_its_panel(stack, qtbot):
    """find_seeds is in methods/separate.py's __all__ but not in the Segment panel's table:
    the panel offers it, with tooltips from its docstring, and runs it as the library does."""
    viewer, image, volume = stack
    widget = dock(viewer, "Segment")
    widget.method.value = "find seeds"
    assert widget.fields["find seeds"]["sigma"].tooltip.startswith("Gaussian smoothing")
    run_widget(qtbot, widget)

    result = viewer.layers[f"{image.name} find seeds"]
    expected = sk.find_seeds(volume.data, spacing=volume.spacing)
    assert expected.max() > 5  # a seed per nucleus, not an empty image
    np.testing.assert_array_equal(result.data, expected)
    np.testing.assert_allclose(result.scale, image.scale)


def test_watershed_from_clicked_points(stack, qtbot):
    viewer, image, volume = stack
    widget = dock(viewer, "Segment")
    widget.method.value = "watershed from seeds"
    run_widget(qtbot, widget)  # no seeds yet: a clear message and no layer
    assert "needs seeds" in widget.result.value
    assert f"{image.name} watershed from seeds" not in viewer.layers

    points = widget.add_seeds_layer()
    assert widget.seeds.value.name == points.name == "nuclei seeds"
    assert points.mode == "add", points.mode
    voxels = np.array([[12, 40, 40], [12, 120, 120], [3, 5, 5]])
    points.data = voxels  # the layer has the image's scale, so its data are voxel indices
    run_widget(qtbot, widget)

    result = viewer.layers[f"{image.name} watershed from seeds"].data
    expected = sk.watershed(
        volume.data, voxels, landscape="edges", sigma=1.0, spacing=volume.spacing
    )
    np.testing.assert_array_equal(result, expected)
    assert set(np.unique(result)) == {1, 2, 3}
    record = viewer.layers[f"{image.name} watershed from seeds"].metadata["segkit"]
    assert record["seeds"] == "nuclei seeds" and record["function"] == "napari_segkit.watershed"

    # points in world coordinates (µm, a layer without scale) land on the same voxels
    widget.seeds.value = viewer.add_points(voxels * np.asarray(volume.spacing), name="µm")
    viewer.layers.remove(f"{image.name} watershed from seeds")
    run_widget(qtbot, widget)
    np.testing.assert_array_equal(
        viewer.layers[f"{image.name} watershed from seeds"].data, expected
    )


def test_seed_labels_of_another_shape_are_refused(stack, qtbot):
    viewer, image, _ = stack
    widget = dock(viewer, "Regions")
    widget.seeds.value = viewer.add_labels(np.zeros((5, 5), np.uint8), name="small")
    run_widget(qtbot, widget)
    assert "has shape (5, 5)" in widget.result.value
    assert f"{image.name} region growing" not in viewer.layers


def test_region_growing_from_painted_seeds(stack, qtbot):
    viewer, image, volume = stack
    widget = dock(viewer, "Regions")
    painted = np.zeros(volume.data.shape, np.uint8)
    painted[12, 78:82, 78:82] = 1
    painted[2, 2:6, 2:6] = 2
    widget.seeds.value = viewer.add_labels(painted, name="strokes", scale=image.scale)
    tolerance = widget.fields["region growing"]["tolerance"].value
    lo, hi = image.contrast_limits_range
    assert tolerance == pytest.approx(0.1 * (hi - lo), rel=1e-5)  # starts at 10 % of the range
    run_widget(qtbot, widget)
    expected = sk.region_grow(volume.data, painted, tolerance=tolerance)
    np.testing.assert_array_equal(viewer.layers[f"{image.name} region growing"].data, expected)


def test_magic_wand_adds_a_region_per_click(make_napari_viewer):
    viewer = make_napari_viewer()
    volume = samples.nuclei_2d()
    image = viewer.add_image(volume.data, scale=volume.spacing, name="nuclei")
    widget = dock(viewer, "Regions")
    widget.wand.value = True
    assert widget._on_click in image.mouse_drag_callbacks
    truth = volume.metadata["truth"]
    centres = [np.argwhere(truth == i).mean(axis=0).round() for i in (1, 2)]
    tolerance = widget.fields["region growing"]["tolerance"].value
    for expected_id, centre in enumerate(centres, start=1):
        assert widget.wand_click(centre * np.asarray(volume.spacing)) == expected_id
        region = sk.magic_wand(volume.data, centre, tolerance=tolerance)
        assert (viewer.layers["nuclei wand"].data[region] == expected_id).all()
    assert widget.wand_click((-5.0, -5.0)) is None  # outside the image: nothing added
    widget.wand.value = False
    assert widget._on_click not in image.mouse_drag_callbacks


def test_panoptic_clusters_give_two_layers(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    slide = samples.ihc_slide()
    image = viewer.add_image(slide.data, rgb=True, name="ihc")
    widget = dock(viewer, "Cluster")
    widget.fields["k-means"]["mode"].value = "panoptic"
    run_widget(qtbot, widget)
    classes = sk.kmeans(slide.data, k=3, rgb=True)
    objects = sk.objects_of_classes(classes, slide.data, rgb=True)
    np.testing.assert_array_equal(viewer.layers["ihc k-means classes"].data, classes)
    np.testing.assert_array_equal(viewer.layers["ihc k-means objects"].data, objects)
    assert viewer.layers["ihc k-means classes"].data.shape == image.data.shape[:2]


def test_chan_vese_mask_split_into_objects(stack, qtbot):
    viewer, image, volume = stack
    widget = dock(viewer, "Contours")
    widget.fields["Chan-Vese"]["iterations"].value = 20
    run_widget(qtbot, widget)
    mask = sk.chan_vese(volume.data, iterations=20)
    np.testing.assert_array_equal(viewer.layers[f"{image.name} Chan-Vese"].data, sk.label(mask))


def test_edge_map_is_shown_as_an_image(stack, qtbot):
    viewer, image, volume = stack
    widget = dock(viewer, "Edges")
    widget.method.value = "edge map (image)"
    widget.fields["edge map (image)"]["sigma"].value = 1.0
    run_widget(qtbot, widget)
    shown = viewer.layers[f"{image.name} edge map (image)"]
    assert shown._type_string == "image"
    np.testing.assert_allclose(
        shown.data, sk.edge_map(volume.data, sigma=1.0, spacing=volume.spacing)
    )


def test_postprocess_makes_a_new_layer_and_keeps_the_input(stack, qtbot):
    viewer, image, volume = stack
    truth = volume.metadata["truth"]
    labels = viewer.add_labels(truth.copy(), name="truth", scale=image.scale)
    widget = dock(viewer, "Post-process")
    assert widget.image.value is labels
    widget.method.value = "remove small objects"
    widget.fields["remove small objects"]["min_size"].value = 60.0  # µm³
    run_widget(qtbot, widget)
    expected = postprocess.remove_small_objects(truth, 60.0, spacing=volume.spacing)
    np.testing.assert_array_equal(viewer.layers["truth remove small objects"].data, expected)
    np.testing.assert_array_equal(labels.data, truth)  # the input is untouched
    assert expected.max() > 0 and len(np.unique(expected)) < len(np.unique(truth))


def test_live_preview_is_the_method_on_the_displayed_slice(stack, qtbot):
    viewer, image, volume = stack
    widget = dock(viewer, "Segment")
    widget.method.value = "Voronoi-Otsu"
    viewer.dims.set_point(0, 10.0)  # z = 10 µm: slice 10
    widget.preview.value = True
    name = f"{image.name} preview"
    qtbot.waitUntil(lambda: name in viewer.layers, timeout=30_000)
    qtbot.waitUntil(lambda: not widget._preview_worker.is_running, timeout=30_000)
    expected = sk.voronoi_otsu_labeling(volume.data[10], spacing=volume.spacing[1:])
    np.testing.assert_array_equal(viewer.layers[name].data, expected)


def test_cancel_stops_a_long_run_and_adds_nothing(stack, qtbot):
    viewer, image, _ = stack
    widget = dock(viewer, "Contours")
    widget.fields["Chan-Vese"]["iterations"].value = 100_000
    widget.run()
    widget.cancel()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    assert widget.result.value == "cancelled"
    assert f"{image.name} Chan-Vese" not in viewer.layers


def test_auto_fields_and_an_empty_viewer(make_napari_viewer, qtbot):
    viewer = make_napari_viewer()
    widget = dock(viewer, "Segment")
    run_widget(qtbot, widget)
    assert widget.result.value == "choose an image layer first"
    viewer.add_image(samples.nuclei_2d().data, name="nuclei")
    assert widget.image.value.name == "nuclei"  # the new layer is picked
    sigma = widget.fields["split touching objects"]["sigma"]
    assert widget.parameters()["sigma"] is None  # auto: the method chooses
    sigma.value = 0.8
    assert not sigma.auto.value and widget.parameters()["sigma"] == 0.8
    assert "spacing" not in widget.parameters()  # scale 1: nothing physical to offer


def test_segment_shows_the_object_size_estimate_and_passes_auto(stack, qtbot):
    viewer, image, volume = stack
    widget = dock(viewer, "Segment")
    expected = sk.estimate_object_size(volume.data, spacing=volume.spacing)
    qtbot.waitUntil(lambda: widget.estimate is not None, timeout=30_000)
    assert widget.estimate == pytest.approx(expected)
    assert widget.size.value == f"objects ≈ {expected:.3g} µm"
    assert not widget.size.native.isHidden()
    size = widget.fields["split touching objects"]["object_size"]
    assert widget.parameters()["object_size"] is None  # auto: the library estimates it
    assert "channel" not in widget.parameters()  # a grey image: no channel to choose
    size.auto.value = False  # off auto: the field starts at the estimate
    assert widget.parameters()["object_size"] == pytest.approx(expected, abs=0.01)  # 2 decimals

    viewer.add_image(np.zeros((64, 64), np.float32), name="blank")
    qtbot.waitUntil(
        lambda: "constant" in widget.size.value or "no objects" in widget.size.value.lower(),
        timeout=30_000,
    )
    assert widget.estimate is None


def test_segment_channel_is_a_choice_on_rgb_images(make_napari_viewer, qtbot):
    from magicgui.widgets import ComboBox

    from napari_segkit.methods.channels import CHOICES

    viewer = make_napari_viewer()
    widget = dock(viewer, "Segment")
    viewer.add_image(samples.nuclei_2d().data, name="grey")
    channel = widget.fields["split touching objects"]["channel"]
    assert isinstance(channel, ComboBox) and tuple(channel.choices) == CHOICES
    assert channel.native.isHidden()  # grey input: no channel
    slide = samples.ihc_slide().data
    viewer.add_image(slide, name="slide", rgb=True)
    assert widget.image.value.name == "slide" and not channel.native.isHidden()
    assert widget.parameters()["channel"] == "auto" and widget.parameters()["rgb"] is True
    channel.value = "hematoxylin"
    expected = sk.estimate_object_size(slide, rgb=True, channel="hematoxylin")
    qtbot.waitUntil(lambda: widget.estimate == pytest.approx(expected), timeout=30_000)
    assert widget.size.value == f"objects ≈ {expected:.3g} px"
    run_widget(qtbot, widget)
    np.testing.assert_array_equal(
        viewer.layers["slide split touching objects"].data,
        sk.split_touching_objects(slide, rgb=True, channel="hematoxylin"),
    )


@pytest.mark.parametrize(
    "panel, method, names",
    [
        ("Edges", "regions enclosed by edges", ("sigma", "min_size")),
        ("Regions", "Felzenszwalb", ("scale", "min_size")),
        ("Regions", "split and merge", ("tolerance",)),
    ],
)
def test_optional_sizes_show_auto_and_pass_none(make_napari_viewer, panel, method, names):
    viewer = make_napari_viewer()
    widget = dock(viewer, panel)
    viewer.add_image(samples.nuclei_2d().data, name="nuclei")
    widget.method.value = method
    for name in names:
        assert widget.fields[method][name].auto.value, name
        assert widget.parameters()[name] is None, name


@pytest.mark.parametrize(
    "name",
    ["Threshold", "Segment", "Graph cut", "Train U-Net", "Apply U-Net", "Post-process", "Evaluate"],
)
def test_a_closed_dock_stops_listening_to_the_viewer(make_napari_viewer, qtbot, name):
    from qtpy.QtCore import QCoreApplication, QEvent

    viewer = make_napari_viewer()
    dock_widget, widget = viewer.window.add_plugin_dock_widget("napari-segkit", name)

    def listeners():
        emitters = (
            viewer.layers.events.inserted,
            viewer.layers.events.removed,
            viewer.dims.events.current_step,
        )
        return [
            cb
            for e in emitters
            for cb in e.callbacks
            if isinstance(cb, tuple) and cb[0]() is widget
        ]

    assert len(listeners()) > 2 and not widget._closed
    viewer.window.remove_dock_widget(dock_widget)
    widget.native.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: widget._closed, timeout=5_000)
    names = [cb[1] for cb in listeners()]  # napari may keep its own reset_choices links
    assert set(names) <= {"reset_choices"} and len(names) <= 2
    viewer.add_image(np.zeros((8, 8)))  # nothing calls into the closed widget


def test_every_panel_method_records_a_name_a_recipe_can_call():
    """Provenance names a public function that exists (Post-process once recorded
    "napari_segkit.fill_holes", which does not), so a recipe re-runs it."""
    from napari_segkit import widgets
    from napari_segkit.recipe import resolve
    from napari_segkit.widgets._layers import public_name

    panels = [getattr(widgets, name) for name in widgets.__all__]
    methods = [m for panel in panels for m in getattr(panel, "METHODS", {}).values()]
    assert len(methods) > 20
    for method in methods:
        name = public_name(method.function)
        assert resolve(name)[1] is method.function, name


def test_post_process_records_the_function_and_the_device_that_ran(stack, qtbot):
    from napari_segkit.recipe import resolve

    viewer, image, volume = stack
    labels = viewer.add_labels(volume.metadata["truth"], name="truth", scale=image.scale)
    widget = dock(viewer, "Post-process")
    widget.image.value = labels
    widget.method.value = "fill holes"
    run_widget(qtbot, widget)
    record = viewer.layers["truth fill holes"].metadata["segkit"]
    assert resolve(record["function"])[1] is sk.postprocess.fill_holes
    assert record["function"] == "napari_segkit.postprocess.fill_holes"
    assert record["backend"] == "cpu"  # no GPU here; "auto" is recorded as what ran

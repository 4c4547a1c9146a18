import subprocess
import sys
from importlib import resources
from pathlib import Path

import npe2
import numpy as np
import pytest
import tifffile


def test_manifest_is_inside_the_installed_package():
    manifest = resources.files("napari_segkit") / "napari.yaml"
    assert manifest.is_file()
    top = Path(__file__).parents[1] / "napari.yaml"
    assert manifest.read_text() == top.read_text()


def test_npe2_validates_with_imports():
    npe2_cli = Path(sys.executable).parent / "npe2"
    done = subprocess.run(
        [str(npe2_cli), "validate", "napari-segkit", "--imports"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_napari_lists_the_plugin_and_its_contributions():
    pm = npe2.PluginManager.instance()
    pm.discover()
    manifest = pm.get_manifest("napari-segkit")
    assert [w.display_name for w in manifest.contributions.widgets] == [
        "Threshold",
        "Segment",
        "Edges",
        "Regions",
        "Cluster",
        "Contours",
        "Graph cut",
        "Train U-Net",
        "Apply U-Net",
        "Post-process",
        "Evaluate",
        "Measure",
        "Recipe",
    ]
    assert {s.key for s in manifest.contributions.sample_data} == {
        "nuclei-2d",
        "nuclei-3d",
        "ihc-slide",
    }


def _manifest() -> npe2.PluginManifest:
    return npe2.PluginManifest.from_file(Path(__file__).parents[1] / "napari.yaml")


def test_hub_metadata_and_every_widget_in_a_layers_menu():
    from napari._app_model.constants._menus import is_menu_contributable

    manifest = _manifest()
    assert manifest.display_name == "napari-segkit"
    assert set(manifest.categories) == {"Segmentation", "Measurement", "IO"}
    menus = {
        menu: [item.command for item in items]
        for menu, items in manifest.contributions.menus.items()
    }
    assert all(is_menu_contributable(menu) for menu in menus)  # napari drops the others
    assert set(menus["napari/layers/measure"]) == {
        "napari-segkit.measure_widget",
        "napari-segkit.evaluate_widget",
    }
    assert "napari-segkit.threshold_widget" in menus["napari/layers/segment"]
    listed = sorted(command for commands in menus.values() for command in commands)
    assert listed == sorted(w.command for w in manifest.contributions.widgets)  # each once


@pytest.mark.gui
def test_napari_shows_the_widgets_under_layers_segment_and_measure(make_napari_viewer):
    from napari._app_model import get_app_model

    make_napari_viewer()
    menus = get_app_model().menus

    def commands(menu_id):
        return {item.command.id for item in menus.get_menu(menu_id) if hasattr(item, "command")}

    assert {
        "napari-segkit.threshold_widget",
        "napari-segkit.graphcut_widget",
        "napari-segkit.apply_unet_widget",
    } <= commands("napari/layers/segment")
    assert {"napari-segkit.measure_widget"} <= commands("napari/layers/measure")


def _anisotropic_tif(tmp_path) -> str:
    path = tmp_path / "stack.tif"
    tifffile.imwrite(
        path,
        np.zeros((3, 8, 8), np.uint8),
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={"axes": "ZYX", "spacing": 1.0, "unit": "um"},
    )
    return str(path)


def test_segkit_is_among_the_readers_napari_offers_for_tif(tmp_path):
    pm = npe2.PluginManager.instance()
    pm.discover()
    offered = {r.plugin_name for r in pm.iter_compatible_readers(_anisotropic_tif(tmp_path))}
    assert {"napari-segkit", "napari"} <= offered


@pytest.mark.gui
def test_tif_keeps_its_voxel_size_once_segkit_is_the_preferred_reader(
    make_napari_viewer, tmp_path, monkeypatch
):
    """What the README says: napari asks (File > Open, drag and drop) until a reader is
    remembered for *.tif; with segkit remembered, opening keeps the voxel size."""
    from napari import settings
    from napari.errors import MultipleReaderError

    monkeypatch.setattr(settings, "_SETTINGS", settings.NapariSettings(config_path=None))
    path = _anisotropic_tif(tmp_path)
    viewer = make_napari_viewer()
    with pytest.raises(MultipleReaderError):  # the GUI shows its "choose a reader" dialog
        viewer.open(path, plugin=None)
    (builtin,) = viewer.open(path)  # the Python default is napari's own reader
    np.testing.assert_allclose(builtin.scale, (1, 1, 1))

    settings.get_settings().plugins.extension2reader = {"*.tif": "napari-segkit"}
    (layer,) = viewer.open(path, plugin=None)  # what File > Open and drag and drop call
    assert layer.source.reader_plugin == "napari-segkit"
    np.testing.assert_allclose(layer.scale, (1.0, 0.25, 0.25))
    (layer,) = viewer.open(path, plugin="napari-segkit")
    np.testing.assert_allclose(layer.scale, (1.0, 0.25, 0.25))


@pytest.mark.gui
def test_first_panel_offers_segkit_as_reader_once(make_napari_viewer, tmp_path, monkeypatch, qtbot):
    """The first segkit panel offers (once, remembered beside napari's settings) to make
    segkit the reader for TIFF, NIfTI and DICOM; accepting keeps a .tif's voxel size."""
    from napari import settings
    from napari.utils.notifications import notification_manager

    from napari_segkit.widgets import MeasureWidget, ThresholdWidget, _reader_offer

    monkeypatch.setattr(
        settings, "_SETTINGS", settings.NapariSettings(config_path=tmp_path / "settings.yaml")
    )
    monkeypatch.setattr(_reader_offer, "_offered_this_session", False)
    shown = []
    monkeypatch.setattr(notification_manager, "dispatch", shown.append)
    viewer = make_napari_viewer()
    viewer.window.add_dock_widget(ThresholdWidget(viewer))
    viewer.window.add_dock_widget(MeasureWidget(viewer))
    qtbot.waitUntil(lambda: len(shown) > 0, timeout=5_000)
    qtbot.wait(800)
    (offer,) = shown  # one offer for two panels
    assert "voxel size" in offer.message and not settings.get_settings().plugins.extension2reader
    ((button, accept),) = offer.actions
    assert button == "Use napari-segkit"
    accept(offer)  # what the notification's button calls
    assert settings.get_settings().plugins.extension2reader["*.nii.gz"] == "napari-segkit"
    (layer,) = viewer.open(_anisotropic_tif(tmp_path), plugin=None)  # File > Open, drag and drop
    assert layer.source.reader_plugin == "napari-segkit"
    np.testing.assert_allclose(layer.scale, (1.0, 0.25, 0.25))

    # a new session: the marker says it was offered, so nothing is shown again
    monkeypatch.setattr(_reader_offer, "_offered_this_session", False)
    settings.get_settings().plugins.extension2reader = {}
    assert not _reader_offer.offer_reader_preference() and len(shown) == 1


def test_no_offer_when_the_user_already_chose_a_reader(tmp_path, monkeypatch):
    from napari import settings
    from napari.utils.notifications import notification_manager

    from napari_segkit.widgets import _reader_offer

    monkeypatch.setattr(
        settings, "_SETTINGS", settings.NapariSettings(config_path=tmp_path / "settings.yaml")
    )
    settings.get_settings().plugins.extension2reader = {"*.tif": "napari"}
    monkeypatch.setattr(_reader_offer, "_offered_this_session", False)
    shown = []
    monkeypatch.setattr(notification_manager, "dispatch", shown.append)
    assert not _reader_offer.offer_reader_preference() and not shown
    assert settings.get_settings().plugins.extension2reader == {"*.tif": "napari"}

"""Make docs/images/napari-threshold.png, widget-segment.png and widget-unet.png from a real
napari window (run under xvfb-run).

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshot.py
"""

from pathlib import Path

import imageio.v3 as iio
import napari
import numpy as np
from qtpy.QtWidgets import QApplication

from napari_segkit.demo import show_in_napari

IMAGES = Path(__file__).parent / "images"


def save(viewer, name: str) -> None:
    viewer.reset_view()
    QApplication.processEvents()
    IMAGES.mkdir(parents=True, exist_ok=True)
    iio.imwrite(IMAGES / name, viewer.screenshot(canvas_only=False, flash=False)[..., :3])
    viewer.close()
    print(f"wrote {IMAGES / name}")


def threshold_screenshot() -> None:
    viewer, widget = show_in_napari("nuclei_2d", device="cpu")
    viewer.window.resize(1200, 760)
    viewer.window._qt_window.show()
    while widget.worker.is_running or "nuclei 2D (generated) threshold" not in viewer.layers:
        QApplication.processEvents()
    save(viewer, "napari-threshold.png")


def segment_screenshot() -> None:
    """The Segment widget after "split touching objects" on the 3D nuclei, slice 12."""
    viewer = napari.Viewer()
    viewer.window.resize(1300, 800)
    (image,) = viewer.open_sample("napari-segkit", "nuclei-3d")
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Segment")
    widget.run()
    while not widget.run_button.enabled:
        QApplication.processEvents()
    viewer.dims.set_point(0, 12 * image.scale[0])
    save(viewer, "widget-segment.png")


def unet_screenshot() -> None:
    """Train U-Net on the 2D nuclei with painted labels (object 1, background 2), then
    Apply U-Net to the same image: the dock shows the loss and Dice curves."""
    viewer = napari.Viewer()
    viewer.window.resize(1300, 820)
    (image,) = viewer.open_sample("napari-segkit", "nuclei-2d")
    truth = image.metadata.get("truth")
    if truth is None:
        from napari_segkit import samples

        truth = samples.nuclei_2d().metadata["truth"]
    viewer.add_labels(np.where(truth > 0, 1, 2).astype(np.uint8), name="painted",
                      scale=image.scale, units=image.units, opacity=0.3)
    _, train = viewer.window.add_plugin_dock_widget("napari-segkit", "Train U-Net")
    train.epochs.value = 12
    train.run()
    while not train.run_button.enabled:
        QApplication.processEvents()
    train.folder.value = Path("/tmp/segkit-screenshot-model")
    train.model.save(train.folder.value, overwrite=train.folder.value.exists())
    _, apply = viewer.window.add_plugin_dock_widget("napari-segkit", "Apply U-Net")
    apply.folder.value = train.folder.value
    apply.image.value = image
    apply.run()
    while not apply.run_button.enabled:
        QApplication.processEvents()
    viewer.layers["painted"].visible = False
    save(viewer, "widget-unet.png")


if __name__ == "__main__":
    threshold_screenshot()
    segment_screenshot()
    unet_screenshot()

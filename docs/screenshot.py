"""Make docs/images/napari-threshold.png and widget-segment.png from a real napari window
(run under xvfb-run).

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshot.py
"""

from pathlib import Path

import imageio.v3 as iio
import napari
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


if __name__ == "__main__":
    threshold_screenshot()
    segment_screenshot()

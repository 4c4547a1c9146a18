"""Make docs/images/measure-panel.png, the picture in docs/measure.md: scikit-image's coins
opened with the segkit reader, found by the Threshold panel (adaptive, 101 pixels) and
Post-process (small objects removed), measured by the
Measure panel (image as intensities), coloured by area, the largest coin selected.

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/make_measure_figure.py
"""

from pathlib import Path

import imageio.v3 as iio
import napari
import skimage
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QApplication

IMAGES = Path(__file__).parent / "images"


def wait(widget) -> None:
    while not widget.run_button.enabled:
        QApplication.processEvents()


def main() -> None:
    viewer = napari.Viewer()
    viewer.window.resize(1280, 800)
    coins = Path(skimage.data.__file__).parent / "coins.png"
    (image,) = viewer.open(coins, plugin="napari-segkit")
    _, threshold = viewer.window.add_plugin_dock_widget("napari-segkit", "Threshold")
    threshold.kind.value, threshold.block_size.value = "adaptive", 101
    threshold.run()
    wait(threshold)
    _, post = viewer.window.add_plugin_dock_widget("napari-segkit", "Post-process")
    post.image.value = viewer.layers[f"{image.name} threshold"]
    post.method.value = "remove small objects"
    post.fields["remove small objects"]["min_size"].value = 300.0  # pixels
    post.run()
    wait(post)
    labels = viewer.layers[f"{image.name} threshold remove small objects"]
    for dock in (threshold, post):
        viewer.window.remove_dock_widget(dock.native.parent())
    viewer.layers[f"{image.name} threshold"].visible = False
    _, panel = viewer.window.add_plugin_dock_widget("napari-segkit", "Measure")
    panel.labels.value, panel.image.value = labels, image
    panel.run()
    wait(panel)
    panel.column.value = "area"
    panel.colour()
    labels.visible = False
    panel.table.sortItems(list(panel.frame.columns).index("area"), Qt.SortOrder.DescendingOrder)
    panel.table.selectRow(0)
    viewer.reset_view()
    QApplication.processEvents()
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / "measure-panel.png"
    iio.imwrite(path, viewer.screenshot(canvas_only=False, flash=False)[..., :3])
    print(f"wrote {path}: {len(panel.frame)} coins")
    viewer.close()


if __name__ == "__main__":
    main()

"""Make the pictures of every panel (docs/images/napari-threshold.png, widget-segment.png,
panel-*.png) and widget-unet.png from a real napari window at a laptop's 1280×800 (run
under xvfb-run; name panels to make only those):

    xvfb-run -a -s "-screen 0 1280x800x24" python docs/screenshot.py [Evaluate ...]
"""

from pathlib import Path

import imageio.v3 as iio
import napari
import numpy as np
from qtpy.QtWidgets import QApplication

IMAGES = Path(__file__).parent / "images"


def save(viewer, name: str) -> None:
    QApplication.processEvents()
    viewer.reset_view()
    QApplication.processEvents()
    IMAGES.mkdir(parents=True, exist_ok=True)
    iio.imwrite(IMAGES / name, viewer.screenshot(canvas_only=False, flash=False)[..., :3])
    viewer.close()
    print(f"wrote {IMAGES / name}")


#: panel -> picture (the Threshold and Segment ones replace older, larger pictures)
PANELS = {
    "Threshold": "napari-threshold.png",
    "Segment": "widget-segment.png",
    "Edges": "panel-edges.png",
    "Regions": "panel-regions.png",
    "Cluster": "panel-cluster.png",
    "Contours": "panel-contours.png",
    "Graph cut": "panel-graphcut.png",
    "Train U-Net": "panel-train-unet.png",
    "Apply U-Net": "panel-apply-unet.png",
    "Post-process": "panel-postprocess.png",
    "Evaluate": "panel-evaluate.png",
}


def wait_for(widget) -> None:
    while not widget.run_button.enabled:
        QApplication.processEvents()


def panel_screenshot(name: str, picture: str) -> None:
    """One panel docked in a 1280×800 window on scikit-image's coins, after one run (the
    panels that need labels get "coins split touching objects" from Segment first)."""
    from skimage import data

    viewer = napari.Viewer()
    viewer.window.resize(1280, 800)
    viewer.window._qt_window.show()
    coins = viewer.add_image(data.coins(), name="coins")
    if name in ("Post-process", "Evaluate", "Train U-Net"):
        _, segment = viewer.window.add_plugin_dock_widget("napari-segkit", "Segment")
        segment.run()
        wait_for(segment)
        viewer.window.remove_dock_widget(segment.native)
        viewer.layers.selection.active = coins
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", name)
    if name == "Evaluate":
        objects = viewer.layers["coins split touching objects"]
        viewer.add_labels(objects.data, name="coins reference")
        _, threshold = viewer.window.add_plugin_dock_widget("napari-segkit", "Threshold")
        threshold.image.value = coins
        threshold.run()
        wait_for(threshold)
        viewer.window.remove_dock_widget(threshold.native)
        widget.prediction.value = viewer.layers["coins threshold"]
        widget.reference.value = viewer.layers["coins reference"]
    if name == "Post-process":
        widget.image.value = viewer.layers["coins split touching objects"]
    if name == "Graph cut":
        scribble_coins(widget.add_seeds_layer())
    if name == "Train U-Net":
        widget.pairs[0].annotations.value = viewer.layers["coins split touching objects"]
        widget.labels_are.value = "objects"
        widget.epochs.value, widget.patch.value = 3, 64
    if name == "Regions":  # the magic wand: one click per coin
        widget.wand.value = True
        for point in ((105, 90), (105, 215), (230, 150)):
            widget.wand_click(point)
    elif name != "Apply U-Net":
        widget.run()
        wait_for(widget)
    viewer.layers.selection.active = coins
    save(viewer, picture)


def scribble_coins(scribbles) -> None:
    """Strokes on coins: label 1 across six coins, label 2 on the background between them
    (the bright top band, the gaps between the rows, the left and bottom edges)."""
    data = scribbles.data
    for y, x in ((52, 45), (50, 215), (125, 103), (120, 265), (192, 213), (260, 172)):
        data[y - 1 : y + 2, x - 12 : x + 12] = 1  # a short line inside the coin
    for rows, cols in (
        (np.s_[3:8], np.s_[:]),
        (np.s_[86:91], np.s_[5:380]),
        (np.s_[150:155], np.s_[5:380]),
        (np.s_[295:300], np.s_[:]),
        (np.s_[15:290], np.s_[4:9]),
        (np.s_[225:230], np.s_[130:160]),
    ):
        data[rows, cols] = 2
    scribbles.refresh()


def unet_screenshot() -> None:
    """Train U-Net on the 2D nuclei with painted labels (object 1, background 2), then
    Apply U-Net to the same image: the dock shows the loss and Dice curves."""
    viewer = napari.Viewer()
    viewer.window.resize(1280, 800)
    (image,) = viewer.open_sample("napari-segkit", "nuclei-2d")
    truth = image.metadata.get("truth")
    if truth is None:
        from napari_segkit import samples

        truth = samples.nuclei_2d().metadata["truth"]
    viewer.add_labels(
        np.where(truth > 0, 1, 2).astype(np.uint8),
        name="painted",
        scale=image.scale,
        units=image.units,
        opacity=0.3,
    )
    _, train = viewer.window.add_plugin_dock_widget("napari-segkit", "Train U-Net")
    train.labels_are.value, train.epochs.value = "scribbles", 12
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
    import sys

    from napari_segkit.widgets import _reader_offer

    _reader_offer._offered_this_session = True  # no reader-offer toast in the pictures
    chosen = sys.argv[1:] or [*PANELS, "U-Net training"]
    for panel in chosen:
        if panel == "U-Net training":
            unet_screenshot()
        else:
            panel_screenshot(panel, PANELS[panel])

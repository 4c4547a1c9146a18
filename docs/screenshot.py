"""Make docs/images/napari-threshold.png from a real napari window (run under xvfb-run).

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshot.py
"""

from pathlib import Path

import imageio.v3 as iio
from qtpy.QtWidgets import QApplication

from napari_segkit.demo import show_in_napari

OUT = Path(__file__).parent / "images" / "napari-threshold.png"


def main() -> None:
    viewer, widget = show_in_napari("nuclei_2d", device="cpu")
    viewer.window.resize(1200, 760)
    viewer.window._qt_window.show()
    while widget.worker.is_running or "nuclei 2D (generated) threshold" not in viewer.layers:
        QApplication.processEvents()
    viewer.reset_view()
    QApplication.processEvents()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    iio.imwrite(OUT, viewer.screenshot(canvas_only=False, flash=False)[..., :3])
    viewer.close()
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

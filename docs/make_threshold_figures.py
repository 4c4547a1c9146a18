"""Make docs/images/threshold-global.png and threshold-adaptive.png.

python docs/make_threshold_figures.py
"""

from pathlib import Path

import imageio.v3 as iio
from skimage import data

from napari_segkit import adaptive_threshold, threshold, threshold_value
from napari_segkit.methods import adaptive
from napari_segkit.methods.channels import to_grey
from napari_segkit.render import montage, tinted
from napari_segkit.widgets.threshold import TRY_ALL

OUT = Path(__file__).parent / "images"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    slide = data.immunohistochemistry()[::2, ::2]
    stain = to_grey(slide, channel="hematoxylin")
    tiles, names = [], []
    for method in TRY_ALL:
        mask, t = threshold(stain, method), threshold_value(stain, method)
        tiles.append(tinted(slide, mask, rgb=True))
        names.append(f"{method}: {t:.3g}")
    iio.imwrite(OUT / "threshold-global.png", montage(tiles, names, columns=4))

    page = data.page()
    tiles, names = [], []
    for method in adaptive.METHODS:
        tiles.append(tinted(page, adaptive_threshold(page, method, block_size=25, dark=True)))
        names.append(method)
    iio.imwrite(OUT / "threshold-adaptive.png", montage(tiles, names, columns=2))
    print(f"wrote {OUT / 'threshold-global.png'} and {OUT / 'threshold-adaptive.png'}")


if __name__ == "__main__":
    main()

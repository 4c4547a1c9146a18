"""Make docs/images/scale-dsb2018.png, the automatic object scale in docs/segmentation.md:
stardist's DSB 2018 nuclei (real, 512², the middle 352² shown) with the estimated diameter
drawn as a circle at each detected blob, and the outlines of ``split_touching_objects`` at its
defaults.

    python docs/make_scale_figure.py   (downloads the stardist wheel once, see tests/real_data.py)
"""

import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from skimage.draw import circle_perimeter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import napari_segkit as sk  # noqa: E402
from napari_segkit.render import as_rgb, montage, overview  # noqa: E402
from tests import real_data as rd  # noqa: E402

OUT = Path(__file__).parent / "images" / "scale-dsb2018.png"


def with_circles(picture, centres, radius):
    """Yellow circles of ``radius`` (pixels) around ``centres`` (row, column)."""
    picture = picture.copy()
    for y, x in centres:
        rows, cols = circle_perimeter(int(y), int(x), int(round(radius)), shape=picture.shape)
        picture[rows, cols] = (255, 220, 0)
    return picture


def main():
    image, reference = rd.dsb2018()
    diameter = sk.estimate_object_size(image)
    # blob centres: maxima of the image smoothed at the estimate's scale, brighter than
    # 1.3 × the median (dim nuclei too)
    seeds = sk.find_seeds(
        image,
        min_distance=0.4 * diameter,
        sigma=diameter / (2 * np.sqrt(2)),
        threshold_abs=1.3 * float(np.median(image)),
    )
    centres = [np.argwhere(seeds == i)[0] for i in range(1, int(seeds.max()) + 1)]
    labels = sk.split_touching_objects(image)
    f1 = sk.metrics.f1(labels, reference, threshold=0.5)
    crop = (slice(80, 432), slice(80, 432))  # the middle 352², to keep the PNG small
    tiles = [
        with_circles(as_rgb(image), centres, diameter / 2)[crop],
        overview(image, labels)[crop],
    ]
    names = [f"estimated D = {diameter:.0f} px (circles)", f"split, defaults: F1 {f1:.2f}"]
    OUT.parent.mkdir(exist_ok=True)
    iio.imwrite(OUT, montage(tiles, names, columns=2))
    print(
        f"wrote {OUT} ({OUT.stat().st_size // 1024} KB): D = {diameter:.1f} px, "
        f"{len(centres)} blobs, {labels.max()} objects, F1 {f1:.2f}"
    )


if __name__ == "__main__":
    main()

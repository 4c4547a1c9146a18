"""Make docs/images/unet.png, the picture in docs/unet.md: a U-Net trained on strokes on one
generated nuclei image, applied to another (classes, and objects split apart), and a 3D
model applied to a new stack.

    python docs/make_unet_figure.py
"""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from scipy import ndimage

from napari_segkit import metrics, samples, unet
from napari_segkit.render import as_rgb, montage, overview, tinted

IMAGES = Path(__file__).parent / "images"


def strokes(truth: np.ndarray, rng) -> np.ndarray:
    """A line across every other nucleus (1) and a dozen lines over the background (2)."""
    marks = np.zeros(truth.shape, np.uint8)
    for box in ndimage.find_objects(truth)[::2]:
        if box is not None:
            y = (box[0].start + box[0].stop) // 2
            marks[y, box[1]][truth[y, box[1]] > 0] = 1
    background = ndimage.binary_erosion(truth == 0, iterations=1)
    for y in rng.choice(truth.shape[0], 12, replace=False):
        marks[y][background[y]] = 2
    return marks


def main() -> None:
    train = samples.nuclei_2d((256, 256), count=60, seed=3, touching=True)
    marks = strokes(train.metadata["truth"], np.random.default_rng(0))
    picture = as_rgb(train.data)
    picture[ndimage.binary_dilation(marks == 1)] = (255, 220, 0)
    picture[ndimage.binary_dilation(marks == 2)] = (0, 160, 255)
    model = unet.train(train, marks, epochs=20, device="cpu")
    objects_model = unet.train(
        train, train.metadata["truth"], labels_are="objects", epochs=20, device="cpu"
    )
    new = samples.nuclei_2d((256, 256), count=60, seed=8, touching=True)
    truth = new.metadata["truth"]
    classes = unet.predict(model, new)
    objects = unet.predict(objects_model, new)
    stack = samples.nuclei_3d(seed=1)
    model_3d = unet.train(
        stack, stack.metadata["truth"], labels_are="objects", epochs=15, device="cpu"
    )
    other = samples.nuclei_3d(seed=5)
    objects_3d = unet.predict(model_3d, other)
    z = other.data.shape[0] // 2
    slice_3d = overview(other.data[z], objects_3d[z])
    framed = np.zeros_like(picture)  # the 160² slice in the middle of a 256² tile
    top, left = ((n - m) // 2 for n, m in zip(picture.shape[:2], slice_3d.shape[:2]))
    framed[top : top + slice_3d.shape[0], left : left + slice_3d.shape[1]] = slice_3d
    tiles = [picture, tinted(new.data, classes > 0), overview(new.data, objects), framed]
    names = [
        f"strokes ({100 * (marks > 0).mean():.1f} %)",
        f"strokes model: Dice {metrics.dice(classes > 0, truth > 0):.2f}",
        f"objects model: F1 {metrics.f1(objects, truth):.2f}",
        f"3D model: F1 {metrics.f1(objects_3d, other.metadata['truth']):.2f}",
    ]
    IMAGES.mkdir(exist_ok=True)
    iio.imwrite(IMAGES / "unet.png", montage(tiles, names, columns=4))
    print(f"wrote {IMAGES / 'unet.png'}: " + "; ".join(names))


if __name__ == "__main__":
    main()

"""Make docs/images/metrics-*.png, the pictures in docs/metrics.md.

python docs/make_metrics_figures.py
"""

from pathlib import Path

import imageio.v3 as iio
import numpy as np
from scipy import ndimage
from skimage.draw import disk, ellipse
from skimage.segmentation import find_boundaries

from napari_segkit import label, metrics, samples, threshold
from napari_segkit.render import as_rgb, montage

OUT = Path(__file__).parent / "images"
COLOURS = {k: (np.array(v[:3]) * 255).astype(np.uint8) for k, v in metrics.ERROR_COLOURS.items()}


def painted(errors: np.ndarray, background=None) -> np.ndarray:
    """The error map's colours over a grey picture (white when none)."""
    picture = (
        np.full(errors.shape + (3,), 255, np.uint8) if background is None else as_rgb(background)
    )
    for value, colour in COLOURS.items():
        where = errors == value
        picture[where] = (0.35 * picture[where] + 0.65 * colour).astype(np.uint8)
    return picture


def larger(picture: np.ndarray, factor: int = 2) -> np.ndarray:
    return picture.repeat(factor, axis=0).repeat(factor, axis=1)


def overlap_figure():
    ref, pred = np.zeros((200, 200), np.uint8), np.zeros((200, 200), np.uint8)
    ref[disk((100, 95), 60)] = 1
    pred[ellipse(108, 112, 52, 68)] = 1
    short = {"dice": "Dice", "iou": "IoU", "precision": "P", "recall": "R"}
    name = " ".join(f"{short[m]} {getattr(metrics, m)(pred, ref):.2f}" for m in short)
    return painted(metrics.error_map(pred, ref)), name, metrics.class_counts(pred, ref)[1]


def boundary_figure(tolerance=4.0):
    ref, pred = np.zeros((200, 200), np.uint8), np.zeros((200, 200), np.uint8)
    ref[disk((100, 100), 60)] = 1
    pred[disk((100, 100), 60)] = 1
    pred[ellipse(40, 100, 14, 30)] = 1  # a bump the reference does not have
    picture = np.full((200, 200, 3), 255, np.uint8)
    picture[find_boundaries(ref, mode="inner")] = (60, 60, 60)
    edge = find_boundaries(pred, mode="inner")
    distance = ndimage.distance_transform_edt(~find_boundaries(ref, mode="inner"))
    far = edge & (distance > tolerance)
    picture[edge & ~far] = COLOURS[1]
    picture[far] = COLOURS[3]
    name = (
        f"HD95 {metrics.hd95(pred, ref):.0f}"
        f" ASD {metrics.average_surface_distance(pred, ref):.1f}"
        f" BF1 {metrics.boundary_f1(pred, ref, tolerance=tolerance):.2f}"
    )
    return picture, name


def instance_figure():
    volume = samples.nuclei_2d(shape=(200, 200), count=24)
    truth = volume.metadata["truth"]
    pred = label(threshold(volume.data, "otsu"))
    pred[pred == pred[truth == 3][0]] = 0  # a missed nucleus
    pred[disk((12, 188), 7)] = pred.max() + 1  # and a spurious one
    rows, summary = metrics.evaluate(pred, truth, mode="instance")
    picture = painted(metrics.error_map(pred, truth, mode="instance", rows=rows), volume.data)
    name = (
        f"F1 {summary['f1']:.2f} AP {summary['mean_average_precision']:.2f} "
        f"PQ {summary['panoptic_quality']:.2f}"
    )
    return picture, name, summary


def main() -> None:
    OUT.mkdir(exist_ok=True)
    tile, name, counts = overlap_figure()
    iio.imwrite(OUT / "metrics-overlap.png", montage([larger(tile)], [name]))
    tile, name = boundary_figure()
    iio.imwrite(OUT / "metrics-boundary.png", montage([larger(tile)], [name]))
    tile, name, summary = instance_figure()
    iio.imwrite(OUT / "metrics-instances.png", montage([larger(tile)], [name]))
    print("overlap counts (TP, FP, FN):", counts)
    print("instance summary:", {k: round(v, 3) for k, v in summary.items()})
    print(f"wrote {OUT}/metrics-overlap.png, metrics-boundary.png, metrics-instances.png")


if __name__ == "__main__":
    main()

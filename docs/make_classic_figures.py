"""Make docs/images/classic-*.png, the pictures in docs/segmentation.md.

python docs/make_classic_figures.py
"""

from pathlib import Path

import imageio.v3 as iio
import numpy as np

import napari_segkit as sk
from napari_segkit import metrics, samples
from napari_segkit.render import as_rgb, montage, overview, tinted

IMAGES = Path(__file__).parent / "images"


def save(name: str, tiles: list, names: list, columns: int) -> None:
    IMAGES.mkdir(exist_ok=True)
    iio.imwrite(IMAGES / name, montage(tiles, names, columns=columns))
    print(f"wrote {IMAGES / name}: " + "; ".join(names))


def with_points(picture: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Red squares at ``points`` (row, column)."""
    picture = picture.copy()
    for y, x in np.rint(points).astype(int):
        picture[max(y - 2, 0) : y + 3, max(x - 2, 0) : x + 3] = (255, 0, 0)
    return picture


def methods_figure() -> None:
    volume = samples.nuclei_2d(count=60, touching=True)
    image, truth, spacing = volume.data, volume.metadata["truth"], volume.spacing
    results = {
        "threshold + label": sk.label(sk.threshold(image)),
        "split touching objects": sk.split_touching_objects(image, spacing=spacing),
        "Voronoi-Otsu": sk.voronoi_otsu_labeling(
            image, spot_sigma=1.0, outline_sigma=0.3, spacing=spacing
        ),
        "edges (Canny)": sk.edge_regions(
            image, "canny", sigma=0.6, close_gaps=0.35, min_size=5, spacing=spacing
        ),
        "k-means, k=2": sk.kmeans(image, 2, mode="instance") * (sk.kmeans(image, 2) == 2),
        "SLIC superpixels": sk.slic(image, n_segments=600),
        "Felzenszwalb": sk.felzenszwalb(image, scale=300, min_size=30),
        "Chan-Vese": sk.label(sk.chan_vese(image, iterations=60)),
    }
    tiles, names = [], []
    for name, labels in results.items():
        tiles.append(overview(image, labels))
        names.append(f"{name}: F1 {metrics.f1(labels, truth):.2f}")
    save("classic-methods.png", tiles, names, columns=4)


def seeds_figure() -> None:
    """Seeds clicked on four nuclei and one on the background: watershed and region growing."""
    volume = samples.nuclei_2d(count=30, seed=3)
    image, truth = volume.data, volume.metadata["truth"]
    ids = [i for i in np.unique(truth) if i][:4]
    points = np.array([np.argwhere(truth == i).mean(axis=0) for i in ids] + [[4.0, 4.0]])
    shed = sk.watershed(image, points, landscape="edges", sigma=1.0)
    tolerance = 0.25 * float(np.ptp(image))
    grown = sk.region_grow(image, points[:-1], tolerance=tolerance)
    save(
        "classic-seeds.png",
        [
            with_points(as_rgb(image), points),
            with_points(overview(image, shed), points),
            with_points(overview(image, grown), points[:-1]),
        ],
        ["seeds (Points layer)", "watershed of edges", "region growing, 25 % tolerance"],
        columns=3,
    )


def colour_figure() -> None:
    """Clustering an IHC slide: classes, the DAB class's fuzzy membership, superpixels."""
    slide = samples.ihc_slide().data[:256, :256]
    classes = sk.kmeans(slide, 3, rgb=True)
    membership = sk.fuzzy_memberships(slide, 3, rgb=True)
    dab = int(np.argmin([slide[..., 2][classes == c].mean() for c in (1, 2, 3)]))  # brown
    # (the class with the least blue)
    save(
        "classic-colour.png",
        [
            as_rgb(slide, rgb=True),
            overview(slide, classes, rgb=True),
            as_rgb(membership[dab]),
            overview(slide, sk.slic(slide, n_segments=150, rgb=True), rgb=True),
        ],
        [
            "IHC slide (scikit-image)",
            "k-means, k=3 (classes)",
            "fuzzy c-means: DAB membership",
            "SLIC superpixels",
        ],
        columns=4,
    )


def cleanup_figure() -> None:
    """Post-processing a rough mask, and filling between two drawn slices."""
    volume = samples.nuclei_2d(count=30, seed=5)
    image = volume.data
    rough = sk.threshold(image, "triangle")
    filled = sk.postprocess.fill_holes(rough)
    clean = sk.postprocess.morphology_op(sk.postprocess.remove_small_objects(filled, 30), "open", 2)
    objects = sk.postprocess.remove_border_objects(sk.split_touching_objects(clean))
    drawn = np.zeros((11, 80, 80), np.uint8)
    yy, xx = np.mgrid[:80, :80]
    drawn[0] = (yy - 34) ** 2 + (xx - 36) ** 2 < 10**2
    drawn[10] = (yy - 44) ** 2 / 28**2 + (xx - 44) ** 2 / 16**2 < 1
    between = sk.postprocess.fill_between_slices(drawn)
    strip = np.concatenate([drawn[0], between[5], drawn[10]], axis=1)
    strip = np.pad(strip, ((88, 88), (8, 8)))  # centred in a 256 × 256 tile
    save(
        "classic-cleanup.png",
        [
            tinted(image, rough > 0),
            tinted(image, clean > 0),
            overview(image, objects),
            tinted(np.zeros(strip.shape), strip > 0),
        ],
        [
            "rough mask (triangle threshold)",
            "fill holes, remove small, open",
            "split, clear border",
            "slices 0 | 5 (filled in) | 10",
        ],
        columns=4,
    )


def with_strokes(picture: np.ndarray, scribbles: np.ndarray) -> np.ndarray:
    """Scribbles painted over the picture: 1 in red, 2 in cyan."""
    picture = picture.copy()
    picture[scribbles == 1], picture[scribbles == 2] = (230, 20, 20), (0, 220, 230)
    return picture


def with_box(picture: np.ndarray, box) -> np.ndarray:
    """A yellow rectangle between two corners (row, column)."""
    picture = picture.copy()
    (y0, x0), (y1, x1) = box
    for rows, cols in (
        (slice(y0, y0 + 2), slice(x0, x1)),
        (slice(y1 - 1, y1 + 1), slice(x0, x1)),
        (slice(y0, y1), slice(x0, x0 + 2)),
        (slice(y0, y1), slice(x1 - 1, x1 + 1)),
    ):
        picture[rows, cols] = (255, 230, 0)
    return picture


def graphcut_figure() -> None:
    """Before and after on the IHC slide: DAB-stained glands from a few strokes, and the
    gland inside a box."""
    slide = samples.ihc_slide().data
    scribbles = np.zeros(slide.shape[:2], np.uint8)
    for rows, cols in (
        (np.s_[180:186], np.s_[80:200]),
        (np.s_[370:376], np.s_[280:340]),
        (np.s_[150:156], np.s_[330:400]),
    ):
        scribbles[rows, cols] = 1  # glands
    for rows, cols in (
        (np.s_[240:246], np.s_[220:300]),
        (np.s_[300:460], np.s_[440:446]),
        (np.s_[480:486], np.s_[250:380]),
        (np.s_[320:440], np.s_[200:206]),
    ):
        scribbles[rows, cols] = 2  # stroma
    cut = sk.graph_cut(slide, scribbles, rgb=True, model="gmm")
    grown = sk.grow_from_seeds(slide, scribbles, rgb=True)
    box = ((285, 235), (478, 395))
    gland = sk.grab_cut(slide, box, rgb=True)
    picture = as_rgb(slide, rgb=True)
    tiles = [
        with_strokes(picture, scribbles),
        tinted(slide, cut == 1, rgb=True),
        tinted(slide, grown == 1, rgb=True),
        with_box(tinted(slide, gland == 1, rgb=True), box),
    ]
    save(
        "graphcut.png",
        [tile[::2, ::2] for tile in tiles],  # half size: a lighter file
        [
            "scribbles: gland (red), stroma (cyan)",
            "graph cut (Gaussian mixtures)",
            "grow from seeds",
            "GrabCut from the box",
        ],
        columns=4,
    )


def main() -> None:
    methods_figure()
    seeds_figure()
    colour_figure()
    cleanup_figure()
    graphcut_figure()


if __name__ == "__main__":
    main()

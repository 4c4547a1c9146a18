"""napari-segkit against the fastest peer that computes the same result, operation by operation.

    python benchmarks/compare.py [--repeat 3] [--only NAME ...] [--out docs/benchmarks/peers.md]

Each operation runs at two sizes, each size in a fresh process: the two results are compared
first (exactly, or within the tolerance the row states), then the two calls are timed
interleaved (segkit, peer, segkit, …; best of ``--repeat``) on both cores, then each call
runs once more for its memory: the rise of the process's peak RSS above what it held before
(Linux ``VmHWM`` after resetting it, so memory that C/C++ libraries allocate counts too). At
the larger size a second process pinned to one core (``sched_setaffinity`` before anything
is imported, so every thread pool sees one core) times both again: the 1-core columns.

Peers: OpenCV (2D uint8 filters and Otsu; Sobel, flood fill, k-means, opening), cc3d
(labels; dust, largest objects), edt (distances), scikit-image (watershed, Otsu, local
maxima; Felzenszwalb, SLIC, normalised cut, morphological snakes, flood), SciPy (hole
filling), nsbatwm (Voronoi-Otsu, from its cached wheel as in ``bench_real_data.py``) and
tifffile (reading).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

if __name__ == "__main__" and sys.argv[1:2] == ["--child"] and sys.argv[3] == "1":
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # before any thread pool starts

import numpy as np

HERE = Path(__file__).resolve().parent
SPACING = (2.0, 1.0, 1.0)


# --- inputs ---------------------------------------------------------------------------------


def grey_2d(side: int) -> np.ndarray:
    """uint8 blobs on a slowly varying background, with noise."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    blobs = ndimage.gaussian_filter(rng.random((side, side), np.float32), 4)
    blobs = (blobs - blobs.mean()) / blobs.std()
    ramp = np.linspace(-20, 20, side, dtype=np.float32)
    image = 128 + 30 * blobs + ramp[None, :] + rng.normal(0, 8, (side, side))
    return image.clip(0, 255).astype(np.uint8)


def spheres(side: int):
    """(mask, truth labels, centre markers) of touching spheres, spacing (2, 1, 1)."""
    sys.path.insert(0, str(HERE))
    from bench_classic import touching_spheres

    return touching_spheres(side)


def grey_3d(side: int) -> np.ndarray:
    """uint16 nuclei-like blobs: the spheres blurred, plus noise."""
    from scipy import ndimage

    mask = spheres(side)[0]
    rng = np.random.default_rng(1)
    image = ndimage.gaussian_filter(mask.astype(np.float32) * 1000, 1.5) + 200
    return (image + rng.normal(0, 40, image.shape)).clip(0, 65535).astype(np.uint16)


def random_mask_3d(side: int) -> np.ndarray:
    """Many irregular objects: smoothed noise above a level."""
    from scipy import ndimage

    noise = np.random.default_rng(2).random((side,) * 3, np.float32)
    return ndimage.uniform_filter(noise, 5) > 0.52


def smooth_3d(side: int) -> np.ndarray:
    """float32 smooth noise with isolated maxima (no flat tops)."""
    from scipy import ndimage

    return ndimage.gaussian_filter(np.random.default_rng(3).random((side,) * 3, np.float32), 2)


# --- agreement ------------------------------------------------------------------------------


def exact(a, b) -> tuple[bool, str]:
    return bool(np.array_equal(np.asarray(a), np.asarray(b))), "equal"


def exact_or_inverse(a, b) -> tuple[bool, str]:
    """Two-region masks equal, or one the other's complement."""
    a, b = np.asarray(a).astype(bool), np.asarray(b).astype(bool)
    same = bool(np.array_equal(a, b) or np.array_equal(a, ~b))
    return same, "equal" if np.array_equal(a, b) else "equal up to inversion"


def same_partition(a, b) -> tuple[bool, str]:
    """Equal up to renumbering: as many distinct (a, b) pairs as ids in each."""
    a, b = a.ravel().astype(np.int64), b.ravel().astype(np.int64)
    pairs = len(np.unique(a * (int(b.max()) + 1) + b))
    return pairs == len(np.unique(a)) == len(np.unique(b)), "equal up to renumbering"


def fraction(least: float) -> Callable:
    def agree(a, b) -> tuple[bool, str]:
        same = float(np.mean(np.asarray(a) == np.asarray(b)))
        return same >= least, "equal" if same == 1 else f"{same:.3%} of pixels equal"

    return agree


def close(a, b) -> tuple[bool, str]:
    diff = float(np.max(np.abs(a.astype(np.float64) - b)))
    return diff <= 1e-4, f"max difference {diff:.1e}"


def same_points(most: float) -> Callable:
    """segkit's seed image and the peer's maxima (a boolean image or coordinates) mark the
    same voxels, but for at most a fraction ``most`` of them."""

    def agree(a, b) -> tuple[bool, str]:
        if b.shape != a.shape:  # coordinates
            b = _marked(a, b)
        differ = int(np.count_nonzero((a > 0) != b))
        return differ <= most * b.sum(), f"{int(b.sum())} maxima, {differ} differ"

    return agree


def _marked(like: np.ndarray, points) -> np.ndarray:
    marked = np.zeros(like.shape, bool)
    marked[tuple(np.asarray(points).T)] = True
    return marked


def instances(least: float) -> Callable:
    def agree(a, b) -> tuple[bool, str]:
        from napari_segkit import metrics

        f1 = float(metrics.f1(a, b))
        return f1 >= least, f"instance F1 between them {f1:.3f}"

    return agree


# --- the operations -------------------------------------------------------------------------


@dataclass
class Op:
    name: str
    peer: str
    sizes: tuple
    make: Callable  # size -> dict of inputs
    segkit: Callable  # inputs -> result
    other: Callable  # inputs -> result
    agree: Callable
    note: str = ""


def _cv2():
    import cv2

    return cv2


def _mod(name: str):
    """Module ``name``, imported on first use (in the child that needs it)."""
    return importlib.import_module(name)


def _ns():
    sys.path.insert(0, str(HERE))
    from bench_real_data import nsbatwm

    return nsbatwm()


def _tiff_file(megabytes: int) -> dict:
    import tifffile

    planes = max(1, megabytes * 2**20 // (2 * 1024 * 1024))
    path = Path(tempfile.gettempdir()) / f"segkit-compare-{megabytes}mib.tif"
    if not path.exists():
        y, x = np.mgrid[:1024, :1024]
        base = ((x + y) % 4096).astype(np.uint16)
        tifffile.imwrite(
            path,
            (base + i for i in range(planes)),
            shape=(planes, 1024, 1024),
            dtype=np.uint16,
            imagej=True,
            metadata={"axes": "ZYX"},
        )
    return {"path": path}


def _skimage_watershed(x):
    from skimage import segmentation

    return segmentation.watershed(x["landscape"], x["markers"], mask=x["mask"])


def _watershed_inputs(side: int) -> dict:
    import napari_segkit as sk

    mask, _, markers = spheres(side)
    return {
        "landscape": -sk.distance_transform(mask, spacing=SPACING),
        "markers": markers,
        "mask": mask,
    }


def _sk():
    import napari_segkit as sk

    return sk


def _cv_sobel(grey: np.ndarray) -> np.ndarray:
    """scikit-image's Sobel magnitude with OpenCV: √((gx² + gy²) / 2), kernels [1, 2, 1]/4."""
    cv2 = _cv2()
    gx, gy = (
        cv2.Sobel(grey, cv2.CV_32F, dx, 1 - dx, ksize=3, scale=0.25, borderType=cv2.BORDER_REFLECT)
        for dx in (1, 0)
    )
    return cv2.magnitude(gx, gy) * np.float32(np.sqrt(0.5))


EDGE_T = 8.0  # edge_regions' edge threshold (fixed, so both sides cut at the same level)


def _edge_regions_peer(x):
    """The recipe with OpenCV (blur, Sobel), SciPy (fill holes), cc3d and scikit-image."""
    from scipy import ndimage
    from skimage import segmentation

    cv2 = _cv2()
    grey = cv2.GaussianBlur(
        x["image"].astype(np.float32), (17, 17), 2, borderType=cv2.BORDER_REFLECT
    )
    strength = _cv_sobel(grey)
    edges = strength > EDGE_T
    filled = ndimage.binary_fill_holes(edges)
    cc3d = _mod("cc3d")
    inside = cc3d.connected_components(filled & ~edges, connectivity=4)
    parts = cc3d.connected_components(filled, connectivity=4)  # edge-only parts: one object
    seeded = np.bincount(parts[inside > 0], minlength=int(parts.max()) + 1) > 0
    seeded[0] = True
    inside = np.where(seeded[parts], inside, parts + inside.max())
    return segmentation.watershed(strength, inside, mask=filled)


def _unit(image: np.ndarray, top: float) -> np.ndarray:
    """float32 rescaled to 0…top, as segkit does before scikit-image's calls."""
    data = image.astype(np.float32)
    lo, hi = data.min(), data.max()
    return (data - lo) * (top / (hi - lo))


def _ncut_peer(x):
    from skimage import graph, segmentation

    image = x["image"]
    superpixels = segmentation.slic(
        _unit(image, 100), n_segments=400, compactness=10, start_label=1, channel_axis=None
    )
    values = _unit(image, 255)[..., None]
    rag = graph.rag_mean_color(
        np.repeat(values / np.sqrt(3.0), 3, axis=-1), superpixels, mode="similarity"
    )
    return graph.cut_normalized(superpixels, rag, thresh=0.001, rng=np.random.default_rng(0))


def _flood_2d(x):
    cv2 = _cv2()
    image = x["image"]
    mask = np.zeros((image.shape[0] + 2, image.shape[1] + 2), np.uint8)
    flags = 4 | cv2.FLOODFILL_FIXED_RANGE | cv2.FLOODFILL_MASK_ONLY | (1 << 8)
    cv2.floodFill(image, mask, x["point"][::-1], 0, WAND, WAND, flags)
    return mask[1:-1, 1:-1].view(bool)


def _wand_3d_inputs(side: int) -> dict:
    return {"image": grey_3d(side), "point": (side // 2,) * 3}


KMEANS_SAMPLE = 50_000  # pixels the centres are fitted on (segkit's default: 200 000)


def _cv_kmeans(x):
    """OpenCV's k-means (k-means++, 10 attempts, 30 iterations) on the same sample, then
    every pixel to its nearest centre, classes 1…3 by brightness."""
    cv2 = _cv2()
    pixels = x["image"].reshape(-1, 1).astype(np.float32)
    sample = pixels[np.random.default_rng(0).choice(len(pixels), KMEANS_SAMPLE, replace=False)]
    cv2.setRNGSeed(0)
    criteria = (cv2.TERM_CRITERIA_MAX_ITER + cv2.TERM_CRITERIA_EPS, 30, 0)
    centres = np.sort(cv2.kmeans(sample, 3, None, criteria, 10, cv2.KMEANS_PP_CENTERS)[2][:, 0])
    nearest = np.abs(pixels - centres[None]).argmin(axis=1).astype(np.uint8) + 1
    return nearest.reshape(x["image"].shape)


def _cv_open(x):
    cv2 = _cv2()
    kernel = _sk().methods._geometry.ball(OPEN_RADIUS, None, 2).astype(np.uint8)
    opened = cv2.morphologyEx(
        x["mask"].view(np.uint8),
        cv2.MORPH_OPEN,
        kernel,
        borderType=cv2.BORDER_CONSTANT,
        borderValue=0,
    )
    return opened.view(bool)


def _pp():
    from napari_segkit.methods import postprocess

    return postprocess


OFFSET = 5
BLOCK = 51
WAND = 20  # the magic wand's tolerance (grey levels)
OPEN_RADIUS = 3

OPS = [
    Op(
        "adaptive mean, 2D uint8, block 51",
        "OpenCV boxFilter (float32) + compare",
        (1024, 4096),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().adaptive_threshold(x["image"], "mean", block_size=BLOCK, offset=OFFSET),
        lambda x: (
            x["image"]
            > _cv2().boxFilter(
                x["image"], _cv2().CV_32F, (BLOCK, BLOCK), borderType=_cv2().BORDER_REFLECT
            )
            - OFFSET
        ),
        fraction(0.9999),
    ),
    Op(
        "adaptive mean, 2D uint8, block 51",
        "OpenCV adaptiveThreshold",
        (1024, 4096),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().adaptive_threshold(x["image"], "mean", block_size=BLOCK, offset=OFFSET),
        lambda x: (
            _cv2()
            .adaptiveThreshold(
                x["image"], 1, _cv2().ADAPTIVE_THRESH_MEAN_C, _cv2().THRESH_BINARY, BLOCK, OFFSET
            )
            .view(bool)
        ),
        fraction(0.95),
        "not the same result: OpenCV rounds the local mean to an integer and replicates the border",
    ),
    Op(
        "adaptive Gaussian, 2D uint8, block 51",
        "OpenCV GaussianBlur (float32, σ 8.33) + compare",
        (1024, 4096),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().adaptive_threshold(x["image"], "gaussian", block_size=BLOCK, offset=OFFSET),
        lambda x: (
            x["image"]
            > _cv2().GaussianBlur(
                x["image"].astype(np.float32),
                (67, 67),
                (BLOCK - 1) / 6,
                borderType=_cv2().BORDER_REFLECT,
            )
            - OFFSET
        ),
        fraction(0.9999),
        "segkit repeats scipy's float64 sums bit for bit (4 SIMD lanes); OpenCV sums in "
        "float32 (8 lanes), so a pixel on the threshold can differ",
    ),
    Op(
        "Otsu, 2D uint8",
        "OpenCV threshold(THRESH_OTSU)",
        (1024, 4096),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().threshold(x["image"]),
        lambda x: (
            _cv2()
            .threshold(x["image"], 0, 1, _cv2().THRESH_BINARY + _cv2().THRESH_OTSU)[1]
            .view(bool)
        ),
        exact,
    ),
    Op(
        "Otsu, 3D uint16",
        "scikit-image threshold_otsu + compare",
        (128, 256),
        lambda n: {"image": grey_3d(n)},
        lambda x: _sk().threshold(x["image"]),
        lambda x: x["image"] > _mod("skimage.filters").threshold_otsu(x["image"]),
        exact,
    ),
    Op(
        "label, 2D, 8-connected",
        "cc3d connected_components",
        (1024, 4096),
        lambda n: {"mask": grey_2d(n) > 128},
        lambda x: _sk().label(x["mask"]),
        lambda x: _mod("cc3d").connected_components(x["mask"], connectivity=8),
        same_partition,
        "cc3d's 2D pass numbers objects out of raster order; segkit labels runs on both cores "
        "and keeps scikit-image's numbering",
    ),
    Op(
        "label, 3D, 26-connected",
        "cc3d connected_components",
        (128, 256),
        lambda n: {"mask": random_mask_3d(n)},
        lambda x: _sk().label(x["mask"]),
        lambda x: _mod("cc3d").connected_components(x["mask"], connectivity=26),
        same_partition,
    ),
    Op(
        "distance transform, 3D, spacing (2, 1, 1)",
        "edt (mask as uint8, all cores)",
        (128, 256),
        lambda n: {"mask": spheres(n)[0]},
        lambda x: _sk().distance_transform(x["mask"], spacing=SPACING),
        lambda x: _mod("edt").edt(
            x["mask"].view(np.uint8), anisotropy=SPACING, parallel=os.cpu_count() or 1
        ),
        close,
    ),
    Op(
        "watershed from markers, 3D",
        "scikit-image watershed",
        (128, 256),
        _watershed_inputs,
        lambda x: _sk().watershed(x["landscape"], x["markers"], mask=x["mask"]),
        _skimage_watershed,
        fraction(0.999),
    ),
    Op(
        "local maxima, 3D float32 (3×3×3)",
        "scikit-image peak_local_max",
        (128, 256),
        lambda n: {"image": smooth_3d(n)},
        lambda x: _sk().find_seeds(x["image"], sigma=0, min_distance=1),
        lambda x: _mod("skimage.feature").peak_local_max(
            x["image"], min_distance=1, exclude_border=False
        ),
        same_points(0),
    ),
    Op(
        "local maxima, 3D float32 (3×3×3)",
        "scikit-image local_maxima",
        (128, 256),
        lambda n: {"image": smooth_3d(n)},
        lambda x: _sk().find_seeds(x["image"], sigma=0, min_distance=1),
        lambda x: _mod("skimage.morphology").local_maxima(
            x["image"], connectivity=3, allow_borders=True
        ),
        same_points(0.001),
        "not the same on plateaus: local_maxima drops a flat top that touches a higher voxel",
    ),
    Op(
        "Voronoi-Otsu labelling, 3D uint16",
        "nsbatwm voronoi_otsu_labeling",
        (128, 256),
        lambda n: {"image": grey_3d(n), "ns": _ns()},
        lambda x: _sk().voronoi_otsu_labeling(
            x["image"], spot_sigma=2, outline_sigma=1, min_size=0
        ),  # nsbatwm keeps every object
        lambda x: x["ns"].voronoi_otsu_labeling(x["image"], spot_sigma=2, outline_sigma=1),
        instances(0.95),
    ),
    Op(
        "edge map, Sobel, 2D uint8",
        "OpenCV Sobel (float32, ×¼) + magnitude",
        (1024, 4096),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().edge_map(x["image"], "sobel"),
        lambda x: _cv_sobel(x["image"].astype(np.float32)),
        close,
    ),
    Op(
        "edge regions, Sobel σ 2, 2D uint8",
        "OpenCV blur + Sobel, SciPy fill holes, cc3d, scikit-image watershed",
        (512, 1024),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().edge_regions(
            x["image"], "sobel", sigma=2, edge_threshold=EDGE_T, min_size=0
        ),
        _edge_regions_peer,
        instances(0.99),
        "OpenCV's blur differs from SciPy's in the last bits",
    ),
    Op(
        "Felzenszwalb, 2D uint8",
        "scikit-image felzenszwalb (float32)",
        (256, 512),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().felzenszwalb(x["image"], scale=200, min_size=50),
        lambda x: (
            _mod("skimage.segmentation").felzenszwalb(
                x["image"].astype(np.float32), scale=200, sigma=0.8, min_size=50
            )
            + 1
        ),
        exact,
    ),
    Op(
        "SLIC, 2D uint8, 400 superpixels",
        "scikit-image slic (0…100)",
        (256, 512),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().slic(x["image"], n_segments=400),
        lambda x: _mod("skimage.segmentation").slic(
            _unit(x["image"], 100), n_segments=400, compactness=10, start_label=1, channel_axis=None
        ),
        exact,
    ),
    Op(
        "normalised cut, 2D uint8",
        "scikit-image slic + rag_mean_color + cut_normalized",
        (128, 256),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().normalized_cut(x["image"], n_segments=400),
        _ncut_peer,
        same_partition,
    ),
    Op(
        "magic wand, 2D uint8, tolerance 20",
        "OpenCV floodFill (fixed range, 4-connected)",
        (1024, 4096),
        lambda n: {"image": grey_2d(n), "point": (n // 2, n // 2)},
        lambda x: _sk().magic_wand(x["image"], x["point"], tolerance=WAND),
        _flood_2d,
        exact,
        "both fill run by run (this porous region: ~940 000 runs of ~5 pixels at 4096²)",
    ),
    Op(
        "magic wand, 3D uint16, tolerance 300",
        "scikit-image flood (6-connected)",
        (128, 256),
        _wand_3d_inputs,
        lambda x: _sk().magic_wand(x["image"], x["point"], tolerance=300),
        lambda x: _mod("skimage.segmentation").flood(
            x["image"], x["point"], tolerance=300, connectivity=1
        ),
        exact,
    ),
    Op(
        "k-means, 2D uint8, k 3, 50 000-pixel sample",
        "OpenCV kmeans (same sample) + nearest centre",
        (1024, 2048),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().kmeans(x["image"], 3, sample=KMEANS_SAMPLE),
        _cv_kmeans,
        fraction(0.95),
        "the same classes at 1024²; at 2048² OpenCV's Lloyd stops at a fixed point whose "
        "within-class cost on the sample is 0.18 % above the one segkit's Hartigan exchange "
        "reaches (the global optimum there), so 4 % of pixels differ",
    ),
    Op(
        "Chan-Vese (morphological), 2D uint8, 50 iterations",
        "scikit-image morphological_chan_vese (0…1)",
        (128, 256),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().chan_vese(x["image"], iterations=50),
        lambda x: _mod("skimage.segmentation").morphological_chan_vese(
            _unit(x["image"], 1), 50, init_level_set="checkerboard", smoothing=1
        ),
        exact_or_inverse,
        "segkit returns the brighter region as 1",
    ),
    Op(
        "geodesic active contour, 2D uint8, 100 iterations",
        "scikit-image inverse_gaussian_gradient + morphological_geodesic_active_contour",
        (128, 256),
        lambda n: {"image": grey_2d(n)},
        lambda x: _sk().geodesic_active_contour(x["image"], iterations=100),
        lambda x: _mod("skimage.segmentation").morphological_geodesic_active_contour(
            _mod("skimage.segmentation").inverse_gaussian_gradient(
                _unit(x["image"], 1), alpha=100, sigma=2
            ),
            100,
            init_level_set="disk",
            smoothing=1,
            threshold="auto",
            balloon=1,
        ),
        exact,
    ),
    Op(
        "fill holes, 3D mask",
        "SciPy binary_fill_holes",
        (128, 192),
        lambda n: {"mask": random_mask_3d(n)},
        lambda x: _pp().fill_holes(x["mask"]),
        lambda x: _mod("scipy.ndimage").binary_fill_holes(x["mask"]),
        exact,
    ),
    Op(
        "remove small objects, 3D mask, < 64 voxels",
        "cc3d dust (6-connected)",
        (128, 256),
        lambda n: {"mask": random_mask_3d(n)},
        lambda x: _pp().remove_small_objects(x["mask"], 64),
        lambda x: _mod("cc3d").dust(x["mask"], 64, connectivity=6),
        exact,
    ),
    Op(
        "keep largest object, 3D mask",
        "cc3d largest_k (26-connected)",
        (128, 256),
        lambda n: {"mask": random_mask_3d(n)},
        lambda x: _pp().keep_largest(x["mask"]),
        lambda x: _mod("cc3d").largest_k(x["mask"], 1, connectivity=26) > 0,
        exact,
    ),
    Op(
        "opening, 2D mask, radius 3",
        "OpenCV morphologyEx (same disc, border 0)",
        (1024, 4096),
        lambda n: {"mask": grey_2d(n) > 128},
        lambda x: _pp().morphology_op(x["mask"], "open", OPEN_RADIUS),
        _cv_open,
        exact,
    ),
    Op(
        "read an ImageJ stack into NumPy",
        "tifffile.imread",
        (64, 640),
        _tiff_file,
        lambda x: np.asarray(_sk().read(x["path"]).data),
        lambda x: _mod("tifffile").imread(x["path"]),
        exact,
        "640 MiB opens lazily (dask); 64 MiB is read at once",
    ),
]


#: public operations without a row above, and why
NOT_HERE = (
    "Not in this table: `split_touching_objects` (the scikit-image recipe picks its seeds "
    "differently, so only F1 against the truth compares: classic-cpu.md); `graph_cut` "
    "(a plain PyMaxflow grid with the same energy: graphcut-cpu.md); `grow_from_seeds` and "
    "`grab_cut` (no peer computes the same result; random walker and OpenCV grabCut: "
    "grow-cpu.md); `measure` (measure-cpu.md); `split_and_merge`, `fuzzy_cmeans`, "
    "`smooth_labels`, `fill_between_slices` and the per-object (label image) clean-ups "
    "(no peer computes them); `mean_shift` (Gaussian kernel: scikit-learn's MeanShift "
    "has a flat one and finds other modes); `remove_small_holes` (scikit-image's also "
    "fills small background touching the border); `region_grow` with several seeds "
    "(the magic wand rows are its one-seed case); the other `edge_map` methods, "
    "`expand_labels`, `remove_border_objects` and `relabel_sequential` (one "
    "scikit-image or SciPy call each, on float32 for the filters)."
)


# --- measuring (child process) ----------------------------------------------------------------


def _status(field: str) -> int:
    """A /proc/self/status value in bytes (VmRSS, VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(field)


def rss_rise(call: Callable) -> float:
    """MiB by which ``call()`` raises this process's peak RSS above its RSS before."""
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = _status("VmRSS")
    result = call()
    rise = (_status("VmHWM") - before) / 2**20
    del result
    return rise


#: seconds between timed calls: what one library leaves running after a call (OpenCV's
#: idle workers) is not timed in the other's next call (it doubled a 5 ms call)
PAUSE = 0.01
#: short calls are repeated until each side has run this long (best of at least ``repeat``,
#: at most MOST_CALLS): the first few calls of a millisecond op vary twofold
LEAST_SECONDS, MOST_CALLS = 0.25, 30


def child(index: int, size: int, cores: int, repeat: int) -> dict:
    op = OPS[index]
    inputs = op.make(size)
    ours, theirs = (lambda: op.segkit(inputs)), (lambda: op.other(inputs))
    out = {}
    a, b = ours(), theirs()  # also the first-use set-up of both (imports, thread pools)
    if cores > 1:
        agree, out["how"] = op.agree(a, b)
        out["agree"] = bool(agree)
    del a, b
    best, spent, calls = [float("inf"), float("inf")], [0.0, 0.0], 0
    while calls < repeat or (min(spent) < LEAST_SECONDS and calls < MOST_CALLS):
        calls += 1
        for k, call in enumerate((ours, theirs)):
            time.sleep(PAUSE)
            start = time.perf_counter()
            call()
            seconds = time.perf_counter() - start
            best[k], spent[k] = min(best[k], seconds), spent[k] + seconds
    out["seconds"] = best
    if cores > 1:
        out["mib"] = [rss_rise(ours), rss_rise(theirs)]
    return out


# --- driving and the report -----------------------------------------------------------------

#: glibc: allocations above 128 KiB map fresh pages and return them when freed (by default
#: the threshold grows, and freed arrays stay in the heap, hiding the next call's memory)
CHILD_ENV = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "131072", "MALLOC_TRIM_THRESHOLD_": "0"}


def run_child(index: int, size: int, cores: int, repeat: int) -> dict:
    command = [sys.executable, __file__, "--child", f"{index},{size}", str(cores), str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True, env=CHILD_ENV)
    if done.returncode:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(op: Op, size: int, two: dict, one: dict | None) -> str:
    shape = f"{size}²" if "2D" in op.name else f"{size}³" if "3D" in op.name else f"{size} MiB"
    if "error" in two:
        return f"| {op.name} | {shape} | {op.peer} | | | | | | | failed: {two['error']} |"
    (s, p), (ms, mp) = two["seconds"], two["mib"]
    note = op.note or ("" if two["agree"] else "**results disagree**")
    note = f"{note}; " if note else ""
    cores = (
        f"{one['seconds'][0]:.3g} | {one['seconds'][1]:.3g}" if one and "seconds" in one else " | "
    )
    return (
        f"| {op.name} | {shape} | {op.peer} | {s:.3g} | {p:.3g} | {p / s:.2f} | "
        f"{ms:.0f} / {mp:.0f} | {cores} | {note}{two['how']} |"
    )


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        index, size = map(int, sys.argv[2].split(","))
        print(json.dumps(child(index, size, int(sys.argv[3]), int(sys.argv[4]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="operations whose name contains a word")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    import napari_segkit

    lines = []
    started = time.perf_counter()
    try:
        for index, op in enumerate(OPS):
            if args.only and not any(w.lower() in op.name.lower() for w in args.only):
                continue
            for size in op.sizes:
                two = run_child(index, size, 2, args.repeat)
                one = run_child(index, size, 1, args.repeat) if size == op.sizes[-1] else None
                lines.append(row(op, size, two, one))
                print(lines[-1], flush=True)
    finally:
        for leftover in Path(tempfile.gettempdir()).glob("segkit-compare-*.tif"):
            leftover.unlink()
    head = [
        "# napari-segkit against the fastest peer",
        "",
        f"`python benchmarks/compare.py`, napari-segkit {napari_segkit.__version__}, Python "
        f"{platform.python_version()}, NumPy {np.__version__}, {os.cpu_count()} CPU cores "
        f"({platform.machine()}); {time.perf_counter() - started:.0f} s in all.",
        "",
        "Each row: the results are compared first (last column), then segkit and the peer are "
        f"timed interleaved in a fresh process, best of {args.repeat} (short calls: of as many "
        "as fill 0.25 s, up to 30), on both cores and on "
        "one (the process pinned to one core). Ratio = peer s / segkit s: above 1 segkit is "
        "faster (a 10 ms pause before each timed call). Memory: rise of the peak RSS during "
        "one call (segkit / peer). 1-core times "
        "at the larger size only. The 2 cores are shared with other work, so ratios within "
        "about ±10 % of 1 are noise.",
        "",
        "| operation | size | peer | segkit s | peer s | ratio | memory MiB | segkit 1-core s "
        "| peer 1-core s | note; agreement |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    text = "\n".join(head + lines + ["", NOT_HERE]) + "\n"
    print(text)
    if args.out:
        old = args.out.read_text() if args.out.exists() else ""
        kept = old[old.index(KEEP) :] if KEEP in old else ""
        args.out.write_text(text + ("\n" + kept if kept else ""))


#: what follows this line in the report is written by hand and kept by a rerun
KEEP = "<!-- written by hand below: kept when compare.py rewrites the table -->"


if __name__ == "__main__":
    main()

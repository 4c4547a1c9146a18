"""Classic 3D steps: napari-segkit against the plain scikit-image/SciPy pipeline, same run.

    python benchmarks/bench_classic.py [--size 256] [--repeat 3] [--out FILE.md]

The volume: ``size``³ voxels of touching spheres (radius 6–12 voxels, about 15 % of the
volume, packed so that most touch a neighbour), spacing (2, 1, 1). Steps: connected
components, the anisotropic distance transform, a watershed from the true centres, and the
whole "split touching objects" recipe. Results are compared before timing (labels equal up to
renumbering; distances to 1e-4; the recipe: both reach instance F1 ≥ 0.9 against the truth).
Time is the best of ``--repeat`` runs; memory the peak of traced allocations in one run.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
from _timing import measure_call
from scipy import ndimage
from skimage import feature, measure, segmentation

import napari_segkit as sk
from napari_segkit import metrics

SPACING = (2.0, 1.0, 1.0)


def touching_spheres(size: int, seed: int = 0):
    """(mask, truth labels, centres): spheres split between their centres (Voronoi)."""
    rng = np.random.default_rng(seed)
    count = int(0.15 * size**3 / (4 / 3 * np.pi * 9**3))
    centres = rng.integers(12, size - 12, (count, 3))
    markers = np.zeros((size,) * 3, np.int32)
    markers[tuple(centres.T)] = np.arange(1, count + 1)
    # in physical units (Z twice as coarse), every voxel within 9 of a centre
    truth = segmentation.expand_labels(markers, 9.0, spacing=SPACING)
    return truth > 0, truth, markers


def skimage_split(mask, sigma=2.0, min_distance=4.0):
    """The recipe as a script writes it with scikit-image and SciPy."""
    distance = ndimage.distance_transform_edt(mask, sampling=SPACING)
    distance = ndimage.gaussian_filter(distance, [sigma / s for s in SPACING])
    footprint = np.ones([2 * int(min_distance / s) + 1 for s in SPACING], bool)
    peaks = feature.peak_local_max(
        distance, footprint=footprint, labels=measure.label(mask), exclude_border=False
    )
    markers = np.zeros(mask.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return segmentation.watershed(-distance, markers, mask=mask)


def same_partition(a, b) -> bool:
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    return pairs.shape[1] == len(np.unique(a)) == len(np.unique(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="also write the markdown table to this file")
    args = parser.parse_args()
    mask, truth, markers = touching_spheres(args.size)
    distance = sk.distance_transform(mask, spacing=SPACING)
    print(
        f"{args.size}³: {int(truth.max())} spheres, {mask.mean():.1%} foreground, "
        f"{int(sk.label(mask).max())} connected clumps",
        flush=True,
    )

    steps = [
        (
            "connected components (26)",
            lambda: sk.label(mask),
            lambda: measure.label(mask),
            lambda a, b: np.array_equal(a, b),
        ),
        (
            "distance transform, spacing (2, 1, 1)",
            lambda: sk.distance_transform(mask, spacing=SPACING),
            lambda: ndimage.distance_transform_edt(mask, sampling=SPACING),
            lambda a, b: np.allclose(a, b, atol=1e-4),
        ),
        (
            "watershed from the true centres",
            lambda: sk.watershed(-distance, markers, mask=mask),
            lambda: segmentation.watershed(-distance, markers, mask=mask),
            lambda a, b: np.array_equal(a, b),
        ),
        (
            "split touching objects (whole recipe)",
            lambda: sk.split_touching_objects(mask, spacing=SPACING, sigma=2.0, min_distance=4.0),
            lambda: skimage_split(mask),
            lambda a, b: min(metrics.f1(a, truth), metrics.f1(b, truth)) >= 0.9,
        ),
    ]
    rows = []
    for name, ours, theirs, agree in steps:
        a, b = ours(), theirs()
        assert agree(a, b), f"{name}: the results disagree"
        quality = ""
        if name.startswith("split"):
            quality = f"F1 {metrics.f1(a, truth):.3f} / {metrics.f1(b, truth):.3f}"
        t_ours, m_ours = measure_call(ours, args.repeat)
        t_ref, m_ref = measure_call(theirs, args.repeat)
        rows.append((name, t_ours, t_ref, m_ours, m_ref, quality))
        print(
            f"{name:40} segkit {t_ours:7.3f} s  reference {t_ref:7.3f} s  "
            f"speed-up {t_ref / t_ours:5.2f}×  peak {m_ours / 2**20:6.0f} / "
            f"{m_ref / 2**20:6.0f} MiB {quality}",
            flush=True,
        )

    where = f"{platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"# Classic 3D steps: napari-segkit {sk.__version__} vs scikit-image/SciPy",
        "",
        f"{args.size}³ touching spheres ({int(truth.max())}), spacing (2, 1, 1); CPU ({where}); "
        f"Python {platform.python_version()}, NumPy {np.__version__}; best of {args.repeat} "
        "runs. Produced by `python benchmarks/bench_classic.py"
        + (f" --size {args.size}" if args.size != 256 else "")
        + "`. Results are compared "
        "before timing; peak memory is traced allocation.",
        "",
        "| step | segkit s | reference s | speed-up | segkit peak MiB | reference peak MiB | "
        "instance F1 (segkit / reference) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for name, t_ours, t_ref, m_ours, m_ref, quality in rows:
        lines.append(
            f"| {name} | {t_ours:.3f} | {t_ref:.3f} | {t_ref / t_ours:.2f}× | "
            f"{m_ours / 2**20:.0f} | {m_ref / 2**20:.0f} | {quality} |"
        )
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""napari_segkit.measure against skimage.measure.regionprops_table: time and peak memory.

Label images: a 2D 4096² and a 3D 256³ image of a few thousand random blobs (smoothed noise,
thresholded, labelled), with a float32 intensity image; anisotropic spacing. Two property
sets: "moments" (size, centroid, bbox, equivalent diameter, axis lengths, intensity
mean/min/max/std) and, in 2D, "all" (plus perimeter and solidity).

    python benchmarks/bench_measure.py [--out docs/benchmarks/measure-cpu.md] [--repeat 2]
"""

import argparse
import platform
from pathlib import Path

import numpy as np
from _timing import measure_call
from scipy import ndimage
from skimage.measure import label, regionprops_table

from napari_segkit import measure

REF = {
    "area": "area",
    "centroid": "centroid",
    "bbox": "bbox",
    "equivalent_diameter": "equivalent_diameter_area",
    "axis_major_length": "axis_major_length",
    "axis_minor_length": "axis_minor_length",
    "intensity_mean": "intensity_mean",
    "intensity_min": "intensity_min",
    "intensity_max": "intensity_max",
    "intensity_std": "intensity_std",
    "perimeter": "perimeter",
    "solidity": "solidity",
}
MOMENTS = [
    "area",
    "centroid",
    "bbox",
    "equivalent_diameter",
    "axis_major_length",
    "axis_minor_length",
    "intensity_mean",
    "intensity_min",
    "intensity_max",
    "intensity_std",
]


def blobs(shape, sigma, seed=0):
    rng = np.random.default_rng(seed)
    smooth = ndimage.gaussian_filter(rng.random(shape, dtype=np.float32), sigma)
    labels = label(smooth > np.quantile(smooth, 0.8)).astype(np.int32)
    return labels, (smooth * 1000).astype(np.float32)


def case(name, labels, image, spacing, props, repeat):
    ours = [("volume" if p == "area" and labels.ndim == 3 else p) for p in props]
    theirs = ["label", *(REF[p] for p in props)]
    t_ours, m_ours = measure_call(
        lambda: measure(labels, image, spacing=spacing, properties=ours), repeat
    )
    t_ref, m_ref = measure_call(
        lambda: regionprops_table(labels, image, spacing=spacing, properties=theirs), repeat
    )
    objects = int(labels.max())
    row = (
        f"| {name} | {objects} | {t_ours:.2f} | {t_ref:.2f} | {t_ref / t_ours:.1f}× | "
        f"{m_ours / 2**20:.0f} | {m_ref / 2**20:.0f} |"
    )
    print(row, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    rows = []
    labels, image = blobs((4096, 4096), 6)
    rows.append(case("2D 4096², moments", labels, image, (0.5, 0.5), MOMENTS, args.repeat))
    rows.append(
        case(
            "2D 4096², all",
            labels,
            image,
            (0.5, 0.5),
            MOMENTS + ["perimeter", "solidity"],
            args.repeat,
        )
    )
    labels, image = blobs((256, 256, 256), 2.5)
    rows.append(case("3D 256³, moments", labels, image, (2.0, 0.5, 0.5), MOMENTS, args.repeat))
    text = "\n".join(
        [
            "# measure() vs regionprops_table (CPU)",
            "",
            f"`python benchmarks/bench_measure.py --repeat {args.repeat}` on {platform.machine()}, "
            f"{platform.python_version()}; best of {args.repeat} runs; peak memory traced by "
            "tracemalloc (NumPy allocations) during one more run. Ratio = regionprops time / "
            "measure time (> 1: measure is faster). Values are equal "
            "(tests/methods/test_measure.py).",
            "",
            "| case | objects | measure s | regionprops_table s | ratio | measure peak MiB | "
            "regionprops peak MiB |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    )
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()

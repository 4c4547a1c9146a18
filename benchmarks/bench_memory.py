"""Peak memory (and time) of the methods whose memory once followed something other than
the image: split touching objects, grow from seeds, the adaptive median at block 101 and
remove small objects with a huge id, beside the obvious scikit-image alternative.

    python benchmarks/bench_memory.py [--side 256] [--out docs/benchmarks/memory-cpu.md]

The image is generated: nuclei-like blobs (Gaussian-blurred random points, touching in
places) in noise, uint16, ``side``³. Each case runs in a fresh process that loads the image
(and seeds) from a .npy file, notes its peak resident memory (``ru_maxrss``), runs the one
call and reports the increase of that peak: what the call needs beyond its input. Ratios are
to the input's bytes. scikit-image's ``random_walker`` (the alternative to grow from seeds)
is left out: it takes minutes at 128³ already (see grow-cpu.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

CASES = {  # case: (description, library)
    "split": ("split touching objects (Otsu, distance, watershed)", "segkit"),
    "split-skimage": ("the same recipe with scikit-image/SciPy", "scikit-image"),
    "grow": ("grow from seeds (GrowCut by Dijkstra), one seed per nucleus + background", "segkit"),
    "median": ("adaptive threshold, median, block 101", "segkit"),
    "small-huge-id": ("remove small objects, labels with an id of 2**31 - 1 (uint32)", "segkit"),
    "small-huge-id-skimage": (
        "skimage.morphology.remove_small_objects, same labels, id 2**27",
        "scikit-image",
    ),
}


def make_image(side: int) -> np.ndarray:
    """Nuclei-like blobs in noise, uint16."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    points = np.zeros((side,) * 3, np.float32)
    count = max(8, (side // 16) ** 3 // 4)
    points[tuple(rng.integers(6, side - 6, (3, count)))] = 1.0
    blobs = ndimage.gaussian_filter(points, side / 64)
    blobs *= 3000 / blobs.max()
    blobs = np.minimum(blobs, 1200) + rng.normal(200, 40, blobs.shape)
    return np.clip(blobs, 0, 65535).astype(np.uint16)


def prepare(side: int, folder: str) -> None:
    from scipy import ndimage

    image = make_image(side)
    np.save(os.path.join(folder, "image.npy"), image)
    objects, _ = ndimage.label(image > 700)
    np.save(os.path.join(folder, "objects.npy"), objects.astype(np.uint32))
    seeds = np.zeros(image.shape, np.uint8)
    seeds[ndimage.binary_erosion(image > 1000, iterations=2)] = 1
    seeds[ndimage.binary_erosion(image < 300, iterations=3)] = 2
    np.save(os.path.join(folder, "seeds.npy"), seeds)


def run_case(case: str, folder: str) -> dict:
    """In a fresh process: the peak memory increase and time of one call."""
    import napari_segkit as sk

    image = np.load(os.path.join(folder, "image.npy"))
    extra = {}
    if case == "grow":
        extra["seeds"] = np.load(os.path.join(folder, "seeds.npy"))
    if case.startswith("small"):
        labels = np.load(os.path.join(folder, "objects.npy"))
        labels[labels == labels.max()] = 2**31 - 1 if case == "small-huge-id" else 2**27
        image = labels
    call = {
        "split": lambda: sk.split_touching_objects(image, device="cpu"),
        "split-skimage": lambda: _skimage_split(image),
        "grow": lambda: sk.grow_from_seeds(image, extra["seeds"], device="cpu"),
        "median": lambda: sk.adaptive_threshold(
            image, "median", block_size=101, offset=0, device="cpu"
        ),
        "small-huge-id": lambda: sk.postprocess.remove_small_objects(image, 50),
        "small-huge-id-skimage": lambda: _skimage_small(image),
    }[case]
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    call()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "case": case,
        "seconds": seconds,
        "extra_bytes": (peak - before) * 1024,
        "input_bytes": int(np.load(os.path.join(folder, "image.npy"), mmap_mode="r").nbytes),
    }


def _skimage_split(image):
    from scipy import ndimage
    from skimage import feature, filters, segmentation

    mask = image > filters.threshold_otsu(image)
    distance = ndimage.distance_transform_edt(mask)
    peaks = feature.peak_local_max(distance, min_distance=4, labels=ndimage.label(mask)[0])
    markers = np.zeros(image.shape, np.int32)
    markers[tuple(peaks.T)] = np.arange(1, len(peaks) + 1)
    return segmentation.watershed(-distance, markers, mask=mask)


def _skimage_small(labels):
    from skimage import morphology

    return morphology.remove_small_objects(labels, 50)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument("--out", default=None, help="write the markdown table here")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # the child
        print(json.dumps(run_case(args.case, args.folder)))
        return
    with tempfile.TemporaryDirectory() as folder:
        prepare(args.side, folder)
        rows = []
        for case in args.cases:
            done = subprocess.run(
                [sys.executable, __file__, "--case", case, "--folder", folder],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                rows.append({"case": case, "error": done.stderr.strip().splitlines()[-1]})
            else:
                rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(rows[-1], flush=True)
    table = _markdown(rows, args.side)
    print(table)
    if args.out:
        with open(args.out, "w") as out:
            out.write(table)


def _markdown(rows, side) -> str:
    lines = [
        "# Peak memory on the CPU",
        "",
        f"`python benchmarks/bench_memory.py --side {side}`: generated nuclei-like uint16 "
        f"{side}³ image; each case in a fresh process; *extra* is the rise of its peak "
        "resident memory during the one call, *ratio* that over the input's bytes.",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}.",
        "",
        "| case | what | library | time (s) | extra (MiB) | ratio to input |",
        "|---|---|---|---:|---:|---:|",
    ]
    for row in rows:
        what, library = CASES[row["case"]]
        if "error" in row:
            lines.append(
                f"| {row['case']} | {what} | {library} | – | failed: {row['error'][:80]} | – |"
            )
            continue
        lines.append(
            f"| {row['case']} | {what} | {library} | {row['seconds']:.1f} | "
            f"{row['extra_bytes'] / 2**20:.0f} | "
            f"{row['extra_bytes'] / row['input_bytes']:.1f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

"""napari-segkit against the fastest peer that computes the same result, operation by operation.

    python benchmarks/compare.py [--repeat 3] [--only NAME ...] [--out docs/benchmarks/peers.md]

Each operation runs at two sizes, each size in a fresh process: the two results are compared
first (exactly, or within the tolerance the row states), then the two calls are timed
interleaved (segkit, peer, segkit, …; best of ``--repeat``) on both cores, then each call
runs once more for its memory: the rise of the process's peak RSS above what it held before
(Linux ``VmHWM`` after resetting it, so memory that C/C++ libraries allocate counts too). At
the larger size a second process pinned to one core (``sched_setaffinity`` before anything
is imported, so every thread pool sees one core) times both again: the 1-core columns.

Peers: OpenCV (2D uint8 filters and Otsu), cc3d (labels), edt (distances), scikit-image
(watershed, Otsu, local maxima), nsbatwm (Voronoi-Otsu, from its cached wheel as in
``bench_real_data.py``) and tifffile (reading).
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
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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
        tifffile.imwrite(path, (base + i for i in range(planes)), shape=(planes, 1024, 1024),
                         dtype=np.uint16, imagej=True, metadata={"axes": "ZYX"})
    return {"path": path}


def _skimage_watershed(x):
    from skimage import segmentation

    return segmentation.watershed(x["landscape"], x["markers"], mask=x["mask"])


def _watershed_inputs(side: int) -> dict:
    import napari_segkit as sk

    mask, _, markers = spheres(side)
    return {"landscape": -sk.distance_transform(mask, spacing=SPACING), "markers": markers,
            "mask": mask}


def _sk():
    import napari_segkit as sk

    return sk


OFFSET = 5
BLOCK = 51

OPS = [
    Op("adaptive mean, 2D uint8, block 51", "OpenCV boxFilter (float32) + compare",
       (1024, 4096), lambda n: {"image": grey_2d(n)},
       lambda x: _sk().adaptive_threshold(x["image"], "mean", block_size=BLOCK, offset=OFFSET),
       lambda x: x["image"] > _cv2().boxFilter(x["image"], _cv2().CV_32F, (BLOCK, BLOCK),
                                               borderType=_cv2().BORDER_REFLECT) - OFFSET,
       fraction(0.9999)),
    Op("adaptive mean, 2D uint8, block 51", "OpenCV adaptiveThreshold",
       (1024, 4096), lambda n: {"image": grey_2d(n)},
       lambda x: _sk().adaptive_threshold(x["image"], "mean", block_size=BLOCK, offset=OFFSET),
       lambda x: _cv2().adaptiveThreshold(x["image"], 1, _cv2().ADAPTIVE_THRESH_MEAN_C,
                                          _cv2().THRESH_BINARY, BLOCK, OFFSET).view(bool),
       fraction(0.95),
       "not the same result: OpenCV rounds the local mean to an integer and replicates the "
       "border"),
    Op("adaptive Gaussian, 2D uint8, block 51", "OpenCV GaussianBlur (float32, σ 8.33) + compare",
       (1024, 4096), lambda n: {"image": grey_2d(n)},
       lambda x: _sk().adaptive_threshold(x["image"], "gaussian", block_size=BLOCK,
                                          offset=OFFSET),
       lambda x: x["image"] > _cv2().GaussianBlur(
           x["image"].astype(np.float32), (67, 67), (BLOCK - 1) / 6,
           borderType=_cv2().BORDER_REFLECT) - OFFSET,
       fraction(0.9999)),
    Op("Otsu, 2D uint8", "OpenCV threshold(THRESH_OTSU)", (1024, 4096),
       lambda n: {"image": grey_2d(n)},
       lambda x: _sk().threshold(x["image"]),
       lambda x: _cv2().threshold(x["image"], 0, 1, _cv2().THRESH_BINARY
                                  + _cv2().THRESH_OTSU)[1].view(bool),
       exact),
    Op("Otsu, 3D uint16", "scikit-image threshold_otsu + compare", (128, 256),
       lambda n: {"image": grey_3d(n)},
       lambda x: _sk().threshold(x["image"]),
       lambda x: x["image"] > _mod("skimage.filters").threshold_otsu(x["image"]),
       exact),
    Op("label, 2D, 8-connected", "cc3d connected_components", (1024, 4096),
       lambda n: {"mask": grey_2d(n) > 128},
       lambda x: _sk().label(x["mask"]),
       lambda x: _mod("cc3d").connected_components(x["mask"], connectivity=8),
       same_partition),
    Op("label, 3D, 26-connected", "cc3d connected_components", (128, 256),
       lambda n: {"mask": random_mask_3d(n)},
       lambda x: _sk().label(x["mask"]),
       lambda x: _mod("cc3d").connected_components(x["mask"], connectivity=26),
       same_partition),
    Op("distance transform, 3D, spacing (2, 1, 1)", "edt (mask as uint8, all cores)",
       (128, 256), lambda n: {"mask": spheres(n)[0]},
       lambda x: _sk().distance_transform(x["mask"], spacing=SPACING),
       lambda x: _mod("edt").edt(x["mask"].view(np.uint8), anisotropy=SPACING,
                                 parallel=os.cpu_count() or 1),
       close),
    Op("watershed from markers, 3D", "scikit-image watershed", (128, 256), _watershed_inputs,
       lambda x: _sk().watershed(x["landscape"], x["markers"], mask=x["mask"]),
       _skimage_watershed, fraction(0.999)),
    Op("local maxima, 3D float32 (3×3×3)", "scikit-image peak_local_max", (128, 256),
       lambda n: {"image": smooth_3d(n)},
       lambda x: _sk().find_seeds(x["image"], sigma=0, min_distance=1),
       lambda x: _mod("skimage.feature").peak_local_max(x["image"], min_distance=1,
                                                        exclude_border=False),
       same_points(0)),
    Op("local maxima, 3D float32 (3×3×3)", "scikit-image local_maxima", (128, 256),
       lambda n: {"image": smooth_3d(n)},
       lambda x: _sk().find_seeds(x["image"], sigma=0, min_distance=1),
       lambda x: _mod("skimage.morphology").local_maxima(
           x["image"], connectivity=3, allow_borders=True),
       same_points(0.001),
       "not the same on plateaus: local_maxima drops a flat top that touches a higher voxel"),
    Op("Voronoi-Otsu labelling, 3D uint16", "nsbatwm voronoi_otsu_labeling", (128, 256),
       lambda n: {"image": grey_3d(n), "ns": _ns()},
       lambda x: _sk().voronoi_otsu_labeling(x["image"], spot_sigma=2, outline_sigma=1,
                                             min_size=0),  # nsbatwm keeps every object
       lambda x: x["ns"].voronoi_otsu_labeling(x["image"], spot_sigma=2, outline_sigma=1),
       instances(0.95)),
    Op("read an ImageJ stack into NumPy", "tifffile.imread", (64, 640), _tiff_file,
       lambda x: np.asarray(_sk().read(x["path"]).data),
       lambda x: _mod("tifffile").imread(x["path"]),
       exact, "640 MiB opens lazily (dask); 64 MiB is read at once"),
]


#: public operations without a row above, and why
NOT_HERE = (
    "Not in this table: `split_touching_objects` (the scikit-image recipe picks its seeds "
    "differently, so only F1 against the truth compares: classic-cpu.md); `graph_cut` "
    "(a plain PyMaxflow grid with the same energy: graphcut-cpu.md); `grow_from_seeds` and "
    "`grab_cut` (no peer computes the same result; random walker and OpenCV grabCut: "
    "grow-cpu.md); `measure` (measure-cpu.md); the other region, clustering, contour and "
    "edge methods have no benchmark row yet."
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
    best = [float("inf"), float("inf")]
    for _ in range(repeat):
        for k, call in enumerate((ours, theirs)):
            start = time.perf_counter()
            call()
            best[k] = min(best[k], time.perf_counter() - start)
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
    cores = (f"{one['seconds'][0]:.3g} | {one['seconds'][1]:.3g}" if one and "seconds" in one
             else " | ")
    return (f"| {op.name} | {shape} | {op.peer} | {s:.3g} | {p:.3g} | {p / s:.2f} | "
            f"{ms:.0f} / {mp:.0f} | {cores} | {note}{two['how']} |")


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
        f"timed interleaved in a fresh process, best of {args.repeat}, on both cores and on "
        "one (the process pinned to one core). Ratio = peer s / segkit s: above 1 segkit is "
        "faster. Memory: rise of the peak RSS during one call (segkit / peer). 1-core times "
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
        args.out.write_text(text)


if __name__ == "__main__":
    main()

"""Adaptive mean, adaptive Gaussian and Otsu: napari-segkit against OpenCV and scikit-image.

    python benchmarks/bench_thresholds_peers.py [--sizes 1024 4096] [--repeat 7]

Inputs: scikit-image's camera tiled to N × N, as uint8 and as uint16 (× 257). Before
timing, every peer's mask is compared with segkit's (the share of equal pixels is printed);
then the calls run interleaved (one of each in turn) and the best of ``--repeat`` counts.
Peak memory: the growth of the peak resident set (Linux VmHWM, reset just before) of a
fresh process running the call once, output included (tracemalloc would not see OpenCV's
or numba's buffers). Ratio: peer time / segkit time (> 1:
segkit is faster). Prints a markdown table.

Peers (what a script would call):
- mean: ``cv2.adaptiveThreshold(MEAN_C)`` (8-bit only; the window mean rounded to an
  integer, so masks differ where the mean is within half a grey level), ``cv2.boxFilter``
  to float32 then ``image > mean - offset`` (the same result), ``threshold_local``.
- Gaussian: ``cv2.adaptiveThreshold(GAUSSIAN_C)`` (8-bit only; its own σ and a window of
  ``block`` taps, a different threshold), ``cv2.sepFilter2D`` with segkit's weights to
  float32 then compare (the same result), ``threshold_local``.
- Otsu: ``cv2.threshold(THRESH_OTSU)`` (8-bit only here), ``image > threshold_otsu(image)``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import cv2
import numpy as np
from skimage import data, filters

from napari_segkit import adaptive_threshold, threshold
from napari_segkit.methods.adaptive import _gaussian_weights

BLOCK, OFFSET = 51, 2.0


def image(size, dtype):
    """Camera tiled to ``size`` × ``size``, uint8 or uint16 (× 257)."""
    camera = data.camera()
    reps = -(-size // camera.shape[0])
    tiled = np.tile(camera, (reps, reps))[:size, :size]
    return np.ascontiguousarray(tiled if dtype == "uint8" else tiled.astype(np.uint16) * 257)


def _cv_mean(x):
    mean = cv2.boxFilter(x, cv2.CV_32F, (BLOCK, BLOCK), borderType=cv2.BORDER_REFLECT)
    return x > mean - OFFSET


def _cv_gaussian(x):
    k = _gaussian_weights(BLOCK)
    blurred = cv2.sepFilter2D(x, cv2.CV_32F, k, k, borderType=cv2.BORDER_REFLECT)
    return x > blurred - OFFSET


def _cv_adaptive(kind):
    method = cv2.ADAPTIVE_THRESH_MEAN_C if kind == "mean" else cv2.ADAPTIVE_THRESH_GAUSSIAN_C
    return lambda x: cv2.adaptiveThreshold(x, 255, method, cv2.THRESH_BINARY, BLOCK, OFFSET) > 0


def _cv_otsu(x):
    return cv2.threshold(x, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)[1] > 0


CASES = {  # operation -> {implementation: (call, dtypes)}; segkit first
    "adaptive mean": {
        "segkit": (
            lambda x: adaptive_threshold(x, "mean", block_size=BLOCK, offset=OFFSET),
            ("uint8", "uint16"),
        ),
        "OpenCV adaptiveThreshold": (_cv_adaptive("mean"), ("uint8",)),
        "OpenCV boxFilter + compare": (_cv_mean, ("uint8", "uint16")),
        "scikit-image threshold_local": (
            lambda x: x > filters.threshold_local(x, BLOCK, "mean", offset=OFFSET),
            ("uint8", "uint16"),
        ),
    },
    "adaptive Gaussian": {
        "segkit": (
            lambda x: adaptive_threshold(x, "gaussian", block_size=BLOCK, offset=OFFSET),
            ("uint8", "uint16"),
        ),
        "OpenCV adaptiveThreshold": (_cv_adaptive("gaussian"), ("uint8",)),
        "OpenCV sepFilter2D + compare": (_cv_gaussian, ("uint8", "uint16")),
        "scikit-image threshold_local": (
            lambda x: x > filters.threshold_local(x, BLOCK, "gaussian", offset=OFFSET),
            ("uint8", "uint16"),
        ),
    },
    "Otsu": {
        "segkit": (lambda x: threshold(x, "otsu"), ("uint8", "uint16")),
        "OpenCV threshold OTSU": (_cv_otsu, ("uint8",)),
        "scikit-image threshold_otsu": (
            lambda x: x > filters.threshold_otsu(x),
            ("uint8", "uint16"),
        ),
    },
}


def peak_growth(op, name, size, dtype) -> float:
    """MiB the peak resident set grows by while a fresh process runs the call once."""
    here = os.path.dirname(os.path.abspath(__file__))
    script = (
        f"import sys; sys.path.insert(0, {here!r}); import bench_thresholds_peers as b;"
        f" b._child({op!r}, {name!r}, {size}, {dtype!r})"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _status_kib(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field))


def _child(op, name, size, dtype):
    call = CASES[op][name][0]
    x = image(size, dtype)
    call(x[:64, :64].copy())  # imports, compilation
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # the peak resident set (VmHWM) starts again from here
    before = _status_kib("VmRSS:")
    call(x)
    print(json.dumps((_status_kib("VmHWM:") - before) / 1024))


def run_case(op, size, dtype, repeat):
    impls = {n: c for n, (c, dtypes) in CASES[op].items() if dtype in dtypes}
    x = image(size, dtype)
    reference = impls["segkit"](x)
    agree = {n: float((c(x) == reference).mean()) for n, c in impls.items()}
    best = dict.fromkeys(impls, float("inf"))
    for r in range(repeat):
        for n, c in impls.items():
            if n.startswith("scikit") and r >= 2 and size > 2048:
                continue  # seconds a run: two are enough
            start = time.perf_counter()
            c(x)
            best[n] = min(best[n], time.perf_counter() - start)
    return [(n, best[n], peak_growth(op, n, size, dtype), agree[n]) for n in impls]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1024, 4096])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"OpenCV {cv2.__version__} ({cv2.getNumThreads()} threads); best of {args.repeat}\n")
    print("| operation | size | dtype | implementation | ms | peak MiB | ratio | same mask |")
    print("|---|---|---|---|---|---|---|---|")
    for op in CASES:
        for size in args.sizes:
            for dtype in ("uint8", "uint16"):
                rows = run_case(op, size, dtype, args.repeat)
                ours = rows[0][1]
                for n, t, mem, agree in rows:
                    ratio = "" if n == "segkit" else f"{ours and t / ours:.2f}"
                    print(
                        f"| {op} | {size}² | {dtype} | {n} | {t * 1e3:.1f} | {mem:.0f} | "
                        f"{ratio} | {agree:.4%} |",
                        flush=True,
                    )


if __name__ == "__main__":
    main()

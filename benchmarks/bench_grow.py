"""Grow from seeds and GrabCut: napari-segkit against the usual alternatives, same run.

    python benchmarks/bench_grow.py [--repeat 3] [--out FILE.md]

- grow from seeds (GrowCut's result by Dijkstra) against scikit-image's random walker
  (``random_walker``, default mode and β), with the same seeds: a 512² grey image of three
  discs in noise (a stroke in each disc, background strokes around them) and a 128³ ball in
  noise (seeds on three slices, background strokes on their borders).
- GrabCut from a box around one disc of a 512² RGB image against OpenCV's ``grabCut``
  (5 iterations both; OpenCV only when ``opencv-python-headless`` is installed: it is not a
  dependency of napari-segkit).

Time: best of ``--repeat`` runs. Memory: peak resident memory of a fresh process running
one call, less its resident memory before. Dice of the object(s) against the truth.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

CASES = {  # case: (description, ours, reference)
    "grow-512": ("grow from seeds, 512² grey", "grow_from_seeds", "skimage random_walker"),
    "grow-128": ("grow from seeds, 128³ grey", "grow_from_seeds", "skimage random_walker"),
    "box-512": ("GrabCut box, 512² RGB", "grab_cut", "OpenCV grabCut"),
}
_DISCS = ((140, 150, 70), (330, 360, 90), (400, 120, 50))


def make_case(name: str):
    """(image, seeds or box, truth)."""
    rng = np.random.default_rng(0)
    if name == "grow-128":
        n = 128
        z, y, x = np.ogrid[:n, :n, :n]
        truth = (z - n / 2) ** 2 + (y - n / 2) ** 2 + (x - n / 2) ** 2 < (n / 4) ** 2
        image = (rng.normal(100, 20, truth.shape) + 60 * truth).astype(np.float32)
        seeds = np.zeros(truth.shape, np.uint8)
        for plane in (n // 2 - 10, n // 2, n // 2 + 10):
            seeds[plane, n // 2 - 5 : n // 2 + 5, n // 2 - 5 : n // 2 + 5] = 1
            seeds[plane, 2:6, :] = seeds[plane, -6:-2, :] = 2
            seeds[plane, :, 2:6] = seeds[plane, :, -6:-2] = 2
        return image, seeds, truth
    yy, xx = np.mgrid[:512, :512]
    truth = np.zeros((512, 512), bool)
    for cy, cx, r in _DISCS:
        truth |= (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    if name == "grow-512":
        image = (rng.normal(100, 20, truth.shape) + 60 * truth).astype(np.float32)
        seeds = np.zeros(truth.shape, np.uint8)
        for cy, cx, r in _DISCS:
            seeds[cy - 3 : cy + 3, cx - r // 2 : cx + r // 2] = 1
        seeds[4:8, :], seeds[-8:-4, :], seeds[:, 4:8], seeds[:, -8:-4] = 2, 2, 2, 2
        seeds[250:254, :], seeds[:, 250:254] = 2, 2
        return image, seeds, truth
    image = np.empty((512, 512, 3), np.float32)
    image[:] = (200, 190, 220)
    image[truth] = (120, 80, 50)
    image = np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)
    cy, cx, r = _DISCS[1]
    box = ((cy - r - 15, cx - r - 15), (cy + r + 15, cx + r + 15))
    one = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
    return image, box, one


def call(case: str, impl: str, image, given):
    import napari_segkit as sk

    if case.startswith("grow"):
        if impl == "segkit":
            return sk.grow_from_seeds(image, given) == 1
        from skimage.segmentation import random_walker

        return random_walker(image, given) == 1
    if impl == "segkit":
        return sk.grab_cut(image, given, rgb=True) == 1
    import cv2

    (y0, x0), (y1, x1) = given
    mask = np.zeros(image.shape[:2], np.uint8)
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(
        np.ascontiguousarray(image[..., ::-1]),
        mask,
        (x0, y0, x1 - x0, y1 - y0),
        *models,
        5,
        cv2.GC_INIT_WITH_RECT,
    )
    return (mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD)


def run_one(case: str, impl: str, repeat: int) -> dict:
    """Time ``repeat`` calls in this process; report the best and the peak memory."""
    from napari_segkit import metrics

    image, given, truth = make_case(case)
    if case == "box-512" and impl == "segkit":
        import sklearn.mixture  # noqa: F401  (imported once, as in a session)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best, mask = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        mask = call(case, impl, image, given)
        best = min(best, time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {"seconds": best, "peak_mib": peak / 1024, "dice": metrics.dice(mask, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="also write the markdown table to this file")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "IMPL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(*args.one, args.repeat)))
        return
    rows = []
    for case, (title, ours_name, ref_name) in CASES.items():
        found = {}
        for impl in ("segkit", "reference"):
            done = subprocess.run(
                [sys.executable, __file__, "--one", case, impl, "--repeat", str(args.repeat)],
                capture_output=True,
                text=True,
            )
            if done.returncode:
                print(f"{case} {impl}: skipped ({done.stderr.strip().splitlines()[-1]})")
                continue
            found[impl] = json.loads(done.stdout.strip().splitlines()[-1])
        if len(found) == 2:
            rows.append((title, ours_name, ref_name, found["segkit"], found["reference"]))
            ours, ref = found["segkit"], found["reference"]
            print(
                f"{case:9} segkit {ours['seconds']:7.3f} s {ours['peak_mib']:6.0f} MiB Dice "
                f"{ours['dice']:.4f} | {ref_name} {ref['seconds']:7.3f} s "
                f"{ref['peak_mib']:6.0f} MiB Dice {ref['dice']:.4f}",
                flush=True,
            )

    import napari_segkit as sk

    lines = [
        f"# Grow from seeds and GrabCut: napari-segkit {sk.__version__} vs scikit-image and OpenCV",
        "",
        f"CPU ({platform.machine()}, {os.cpu_count()} cores); Python "
        f"{platform.python_version()}, NumPy {np.__version__}; best of {args.repeat} runs. "
        "Produced by `python benchmarks/bench_grow.py`. Memory: peak resident memory of a "
        "fresh process over one call. Dice against the generated truth.",
        "",
        "| case | segkit | reference | segkit s | reference s | speed-up | segkit peak MiB | "
        "reference peak MiB | Dice segkit | Dice reference |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for title, ours_name, ref_name, ours, ref in rows:
        lines.append(
            f"| {title} | {ours_name} | {ref_name} | {ours['seconds']:.3f} | "
            f"{ref['seconds']:.3f} | {ref['seconds'] / ours['seconds']:.2f}× | "
            f"{ours['peak_mib']:.0f} | {ref['peak_mib']:.0f} | {ours['dice']:.4f} | "
            f"{ref['dice']:.4f} |"
        )
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Marker watershed and Voronoi-Otsu labelling against their peers, on the CPU.

    python benchmarks/bench_watershed_peers.py [--repeat 3] [--sizes 128 256] [--out FILE]

Rows: the marker watershed of generated touching balls (inverted distance to the
background, spacing (2, 1, 1); markers at the distance peaks; inside the mask), napari-segkit
``watershed`` against ``skimage.segmentation.watershed``, whose labels must be equal; and
Voronoi-Otsu labelling of the balls as a blurred, noisy uint16 image (spot_sigma 2,
outline_sigma 1 and min_size 0, so both compute the same recipe: no size estimate, no
small objects dropped) against nsbatwm's
``voronoi_otsu_labeling`` (its wheel, loaded as ``bench_real_data.py`` does), compared by
instance F1 at IoU 0.5. Results are compared first; then the two calls are timed
interleaved (segkit, peer, segkit, …; best of ``--repeat``); then each runs once in a fresh
process for its memory: the rise of the process's peak RSS (``VmHWM`` after resetting it)
above what it held before the call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SPACING = (2.0, 1.0, 1.0)


def _balls(side: int):
    sys.path.insert(0, str(HERE))
    from bench_classic import touching_spheres

    return touching_spheres(side)[0]


def watershed_inputs(side: int) -> dict:
    """Inverted distance (float32), peak markers (int32) and the mask of touching balls."""
    import napari_segkit as sk

    mask = _balls(side)
    distance = sk.distance_transform(mask, spacing=SPACING)
    markers = sk.find_seeds(distance, sigma=0, min_distance=4, spacing=SPACING, mask=mask)
    return {"landscape": np.negative(distance, out=distance), "markers": markers, "mask": mask}


def voronoi_inputs(side: int) -> dict:
    """The balls blurred to uint16 nuclei-like blobs, plus noise."""
    from scipy import ndimage

    image = ndimage.gaussian_filter(_balls(side).astype(np.float32) * 1000, 1.5) + 200
    noise = np.random.default_rng(1).normal(0, 40, image.shape)
    return {"image": (image + noise).clip(0, 65535).astype(np.uint16)}


def _nsbatwm():
    sys.path.insert(0, str(HERE))
    from bench_real_data import nsbatwm

    return nsbatwm()


def _segkit():
    import napari_segkit as sk

    return sk


def _skimage_watershed(x):
    from skimage import segmentation

    return segmentation.watershed(x["landscape"], x["markers"], mask=x["mask"])


def _equal(a, b) -> tuple[bool, str]:
    same = bool(np.array_equal(a, b))
    return same, "labels equal" if same else f"{(a != b).mean():.2%} voxels differ"


def _f1(a, b) -> tuple[bool, str]:
    from napari_segkit import metrics

    f1 = metrics.f1(a, b)
    return f1 >= 0.95, f"instance F1 {f1:.3f} (IoU 0.5)"


#: name -> (peer, inputs, segkit call, peer call, agreement)
OPS = {
    "marker watershed, 3D float32": (
        "scikit-image watershed",
        watershed_inputs,
        lambda x: _segkit().watershed(x["landscape"], x["markers"], mask=x["mask"]),
        _skimage_watershed,
        _equal,
    ),
    "Voronoi-Otsu, 3D uint16": (
        "nsbatwm voronoi_otsu_labeling",
        voronoi_inputs,
        lambda x: _segkit().voronoi_otsu_labeling(
            x["image"], spot_sigma=2, outline_sigma=1, min_size=0
        ),
        lambda x: _nsbatwm().voronoi_otsu_labeling(x["image"], spot_sigma=2, outline_sigma=1),
        _f1,
    ),
}


def _hwm_rise(fn, x) -> int:
    """Bytes the peak RSS rises above the RSS before ``fn(x)`` (Linux)."""

    def status(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return 0

    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to VmRSS
    before = status("VmRSS")
    fn(x)
    return status("VmHWM") - before


def child(name: str, side: int, which: str) -> None:
    """In a fresh process: one warm-up on a small input (compiling), then the memory of one
    call at ``side``."""
    _, inputs, ours, peer, _ = OPS[name]
    fn = ours if which == "segkit" else peer
    fn(inputs(32))
    x = inputs(side)
    print(json.dumps({"bytes": _hwm_rise(fn, x)}))


def _memory(name: str, side: int, which: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", name, str(side), which],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])["bytes"] / 2**20


def row(name: str, side: int, repeat: int) -> dict:
    peer_name, inputs, ours, peer, agree = OPS[name]
    x = inputs(side)
    a, b = ours(x), peer(x)  # warm-up (compiling) and the agreement check
    same, how = agree(a, b)
    times = {"segkit": [], "peer": []}
    for _ in range(repeat):
        for which, fn in (("segkit", ours), ("peer", peer)):
            start = time.perf_counter()
            fn(x)
            times[which].append(time.perf_counter() - start)
    best = {k: min(v) for k, v in times.items()}
    return {
        "op": name,
        "peer": peer_name,
        "size": f"{side}³",
        "agree": same,
        "how": how,
        "segkit_s": best["segkit"],
        "peer_s": best["peer"],
        "ratio": best["peer"] / best["segkit"],
        "segkit_mib": _memory(name, side, "segkit"),
        "peer_mib": _memory(name, side, "peer"),
    }


def table(rows) -> str:
    lines = [
        "| operation | size | peer | agreement | segkit s | peer s | ratio (peer/segkit) "
        "| segkit MiB | peer MiB |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['op']} | {r['size']} | {r['peer']} | {r['how']} | "
            f"{r['segkit_s']:.3f} | {r['peer_s']:.3f} | {r['ratio']:.2f} | "
            f"{r['segkit_mib']:.0f} | {r['peer_mib']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 256])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = [row("marker watershed, 3D float32", side, args.repeat) for side in args.sizes]
    rows.append(row("Voronoi-Otsu, 3D uint16", max(args.sizes), args.repeat))
    cores = len(os.sched_getaffinity(0))
    text = (
        f"{platform.processor() or platform.machine()}, {cores} cores, Python "
        f"{platform.python_version()}\n\n{table(rows)}\n"
    )
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    else:
        main()

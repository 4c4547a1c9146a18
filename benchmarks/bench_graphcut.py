"""Graph cut from scribbles: napari-segkit against a plain PyMaxflow grid graph, same run.

    python benchmarks/bench_graphcut.py [--repeat 3] [--out FILE.md]

Cases: a 512² RGB image (brown stained discs on a pale background, colour noise) and a
256³ grey volume (a ball in noise), each with a few synthetic scribbles (object strokes in
one object, background strokes along one side; 3D: on three slices). The reference builds
the whole grid with PyMaxflow's grid calls (``add_grid_edges`` per direction with the same
contrast-sensitive weights, ``add_grid_tedges`` with the same data costs) and solves once:
the straightforward way. Time per update = read scribbles, models, graph build and solve;
best of ``--repeat`` runs. Memory = peak resident memory of a fresh process running one
update, less its resident memory before (PyMaxflow's C++ graph is not seen by tracemalloc).
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

CASES = ("rgb-512", "grey-256")


def make_case(name: str):
    """(image, scribbles, truth, rgb)."""
    rng = np.random.default_rng(0)
    if name == "rgb-512":
        yy, xx = np.mgrid[:512, :512]
        truth = np.zeros((512, 512), bool)
        for cy, cx, r in ((140, 150, 70), (330, 360, 90), (400, 120, 50)):
            truth |= (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
        image = np.empty((512, 512, 3), np.float32)
        image[:] = (200, 190, 220)
        image[truth] = (120, 80, 50)
        image = np.clip(image + rng.normal(0, 25, image.shape), 0, 255).astype(np.uint8)
        seeds = np.zeros(truth.shape, np.uint8)
        seeds[135:145, 120:180] = 1
        seeds[4:10, 4:508] = 2
        return image, seeds, truth, True
    n = 256
    z, y, x = np.ogrid[:n, :n, :n]
    truth = (z - n / 2) ** 2 + (y - n / 2) ** 2 + (x - n / 2) ** 2 < (n / 4) ** 2
    image = (rng.normal(100, 20, truth.shape) + 60 * truth).astype(np.float32)
    seeds = np.zeros(truth.shape, np.uint8)
    for plane in (n // 2 - 10, n // 2, n // 2 + 10):
        seeds[plane, n // 2 - 5 : n // 2 + 5, n // 2 - 5 : n // 2 + 5] = 1
        seeds[plane, 2:6, :] = 2
    return image, seeds, truth, False


def reference_cut(image, seeds, rgb, lam=10.0):
    """The same energy on a full PyMaxflow grid graph, built the straightforward way."""
    import maxflow

    from napari_segkit.methods import graphcut as gc

    values = image.astype(np.float32)
    values = values if rgb else values[..., None]
    ids = np.unique(seeds[seeds > 0])
    costs = gc.data_costs(values, [seeds == i for i in ids])
    gc.fix_scribbles(costs, seeds, ids)
    shape = seeds.shape
    beta = gc._beta(values, 1, None)
    graph = maxflow.Graph[float]()
    nodes = graph.add_grid_nodes(shape)
    for axis in range(len(shape)):
        diff = (np.diff(values, axis=axis) ** 2).sum(axis=-1)
        weights = np.zeros(shape, np.float32)
        weights[tuple(slice(0, n - (k == axis)) for k, n in enumerate(shape))] = lam * np.exp(
            -beta * diff
        )
        structure = np.zeros((3,) * len(shape))
        structure[tuple(2 if k == axis else 1 for k in range(len(shape)))] = 1
        graph.add_grid_edges(nodes, weights=weights, structure=structure, symmetric=True)
    graph.add_grid_tedges(nodes, costs[1], costs[0])
    graph.maxflow()
    return np.where(graph.get_grid_segments(nodes), ids[1], ids[0])


def run_one(case: str, impl: str, repeat: int) -> dict:
    """Time ``repeat`` updates in this process; report the best and the peak memory."""
    import napari_segkit as sk
    from napari_segkit import metrics

    image, seeds, truth, rgb = make_case(case)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    best, labels = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        if impl == "segkit":
            labels = sk.graph_cut(image, seeds, rgb=rgb, lam=10.0, window=None)
        else:
            labels = reference_cut(image, seeds, rgb)
        best = min(best, time.perf_counter() - start)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    return {"seconds": best, "peak_mib": peak / 1024, "dice": metrics.dice(labels == 1, truth)}


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
    for case in CASES:
        found = {}
        for impl in ("segkit", "reference"):
            done = subprocess.run(
                [sys.executable, __file__, "--one", case, impl, "--repeat", str(args.repeat)],
                capture_output=True,
                text=True,
                check=True,
            )
            found[impl] = json.loads(done.stdout.strip().splitlines()[-1])
        ours, ref = found["segkit"], found["reference"]
        rows.append((case, ours, ref))
        print(
            f"{case:9} segkit {ours['seconds']:6.3f} s {ours['peak_mib']:6.0f} MiB "
            f"Dice {ours['dice']:.4f} | reference {ref['seconds']:6.3f} s "
            f"{ref['peak_mib']:6.0f} MiB Dice {ref['dice']:.4f} | speed-up "
            f"{ref['seconds'] / ours['seconds']:.2f}×",
            flush=True,
        )

    import napari_segkit as sk

    where = f"{platform.machine()}, {os.cpu_count()} cores"
    lines = [
        f"# Graph cut from scribbles: napari-segkit {sk.__version__} vs a plain PyMaxflow grid",
        "",
        f"CPU ({where}); Python {platform.python_version()}, NumPy {np.__version__}; "
        f"best of {args.repeat} updates. Produced by `python benchmarks/bench_graphcut.py`. "
        "Time per update: models, graph build and max-flow. Memory: peak resident memory "
        "of a fresh process over one update. Dice of the object against the generated truth.",
        "",
        "| case | segkit s | reference s | speed-up | segkit peak MiB | reference peak MiB | "
        "Dice segkit | Dice reference |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    names = {"rgb-512": "512² RGB, 4-connected", "grey-256": "256³ grey, 6-connected"}
    for case, ours, ref in rows:
        lines.append(
            f"| {names[case]} | {ours['seconds']:.3f} | {ref['seconds']:.3f} | "
            f"{ref['seconds'] / ours['seconds']:.2f}× | {ours['peak_mib']:.0f} | "
            f"{ref['peak_mib']:.0f} | {ours['dice']:.4f} | {ref['dice']:.4f} |"
        )
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Memory and time per voxel of the interactive 3D tools: grow from seeds and graph cut, from
128³ up, beside a plain PyMaxflow grid graph of the same energy.

    python benchmarks/bench_interactive_memory.py [--sizes 128 256 384] [--peer-max 256]
                                                  [--out FILE.md]

The image is generated: twelve bright balls (radius side/12) on a shaded background with
noise, uint16; scribbles: a cube in each ball (label 1) and background strokes on three planes
(label 2). Each case runs in a fresh process that loads the image and scribbles from .npy
files, runs a tiny call first (numba's compiled code, PyMaxflow's import), resets its peak
resident memory (``/proc/self/clear_refs``) and reports the rise of that peak over the one
call: what the call needs beyond its input. Cases:

- ``grow``: ``grow_from_seeds`` (CPU, defaults: σ = 2, 6 neighbours).
- ``cut``: ``graph_cut`` (defaults: histogram model, λ = 10, 6 neighbours; coarse to fine).
- ``maxflow``: the same energy (segkit's data costs and edge weights) cut at full resolution
  on a PyMaxflow grid (``add_grid_nodes``/``add_grid_edges`` per axis/``add_grid_tedges``),
  as a user of PyMaxflow alone would; *graph* is what PyMaxflow's graph itself holds (the
  rise of resident memory from before ``add_grid_nodes`` to after ``add_grid_tedges``).
  Run up to ``--peer-max`` only (it needs ~250 B/voxel).

Both tools are single-threaded (a Dijkstra queue; Boykov–Kolmogorov max-flow), so thread
counts are not varied.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import numpy as np

CASES = ("grow", "cut", "maxflow")


def make_case(side: int, seed: int = 0):
    """(uint16 image, uint8 scribbles) of ``side``³ voxels."""
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[:side, :side, :side]
    image = np.full((side,) * 3, 300.0, np.float32)
    image += 150 * np.sin(z / side * 3.0) * np.cos(y / side * 2.0) + 100 * np.sin(x / side * 4.0)
    balls = np.zeros(image.shape, bool)
    seeds = np.zeros(image.shape, np.uint8)
    r = max(side // 12, 2)
    zz, yy, xx = np.ogrid[-r : r + 1, -r : r + 1, -r : r + 1]
    for centre in rng.integers(r + 2, side - r - 2, (12, 3)):
        balls[tuple(slice(c - r, c + r + 1) for c in centre)] |= zz**2 + yy**2 + xx**2 <= r * r
        s = max(r // 3, 1)
        seeds[tuple(slice(c - s, c + s + 1) for c in centre)] = 1
    image[balls] += 600
    image += rng.normal(0, 80, image.shape).astype(np.float32)
    for plane in (side // 8, side // 2, 7 * side // 8):
        for row in range(4, side, max(side // 6, 1)):
            stroke = (plane, slice(row, row + 2), slice(2, side - 2))
            seeds[stroke] = np.where(balls[stroke], seeds[stroke], 2)
    return np.clip(image, 0, 65535).astype(np.uint16), seeds


def _status(field: str) -> int:
    """A field of /proc/self/status in bytes (VmRSS: now, VmHWM: peak)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field):
                return int(line.split()[1]) * 1024
    raise KeyError(field)


def plain_maxflow(image, seeds, lam: float = 10.0) -> tuple[np.ndarray, int]:
    """graph_cut's full-resolution energy on a PyMaxflow grid graph: (labels, graph bytes)."""
    import maxflow

    from napari_segkit.methods import graphcut

    values = image.astype(np.float32)[..., None]
    ids = (1, 2)
    costs = graphcut.data_costs(values, [seeds == i for i in ids])
    graphcut.fix_scribbles(costs, seeds, ids)
    beta = graphcut._beta(values, 1, None)
    before = _status("VmRSS")
    graph = maxflow.Graph[float]()
    nodes = graph.add_grid_nodes(image.shape)
    graph_bytes = _status("VmRSS") - before
    for axis in range(image.ndim):
        step = np.zeros(image.shape, np.float32)  # weight of the edge to the next voxel
        cut = tuple(slice(0, -1) if a == axis else slice(None) for a in range(image.ndim))
        later = tuple(slice(1, None) if a == axis else slice(None) for a in range(image.ndim))
        step[cut] = lam * np.exp(-beta * (values[later][..., 0] - values[cut][..., 0]) ** 2)
        structure = np.zeros((3,) * image.ndim)
        structure[tuple(2 if a == axis else 1 for a in range(image.ndim))] = 1
        before = _status("VmRSS")
        graph.add_grid_edges(nodes, weights=step, structure=structure, symmetric=True)
        graph_bytes += _status("VmRSS") - before
        del step
    before = _status("VmRSS")
    graph.add_grid_tedges(nodes, costs[1], costs[0])
    graph_bytes += _status("VmRSS") - before
    graph.maxflow()
    return graph.get_grid_segments(nodes), graph_bytes


def run_case(case: str, folder: str) -> dict:
    """In a fresh process: time and peak memory rise of one call."""
    import napari_segkit as sk

    image = np.load(os.path.join(folder, "image.npy"))
    seeds = np.load(os.path.join(folder, "seeds.npy"))
    call = {
        "grow": lambda a, b: sk.grow_from_seeds(a, b, device="cpu"),
        "cut": sk.graph_cut,
        "maxflow": plain_maxflow,
    }[case]
    call(*make_case(24))  # compiled code and imports loaded: not per voxel
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # the peak resident memory restarts from now
    before = _status("VmRSS")
    start = time.perf_counter()
    result = call(image, seeds)
    seconds = time.perf_counter() - start
    row = {
        "case": case,
        "voxels": image.size,
        "seconds": seconds,
        "extra_bytes": _status("VmHWM") - before,
    }
    if case == "maxflow":
        row["graph_bytes"] = result[1]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[128, 256, 384])
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    parser.add_argument(
        "--peer-max", type=int, default=256, help="largest side the plain PyMaxflow grid is run at"
    )
    parser.add_argument("--out", default=None, help="write the markdown table here")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:  # the child
        print(json.dumps(run_case(args.case, args.folder)))
        return
    rows = []
    for side in args.sizes:
        with tempfile.TemporaryDirectory() as folder:
            image, seeds = make_case(side)
            np.save(os.path.join(folder, "image.npy"), image)
            np.save(os.path.join(folder, "seeds.npy"), seeds)
            del image, seeds
            for case in args.cases:
                if case == "maxflow" and side > args.peer_max:
                    continue
                done = subprocess.run(
                    [sys.executable, __file__, "--case", case, "--folder", folder],
                    capture_output=True,
                    text=True,
                )
                row = {"case": case, "side": side}
                if done.returncode:
                    row["error"] = (done.stderr.strip().splitlines() or ["killed"])[-1]
                else:
                    row.update(json.loads(done.stdout.strip().splitlines()[-1]))
                rows.append(row)
                print(row, flush=True)
    table = _markdown(rows)
    print(table)
    if args.out:
        with open(args.out, "w") as out:
            out.write(table)


def _markdown(rows) -> str:
    names = {
        "grow": "grow from seeds",
        "cut": "graph cut (segkit)",
        "maxflow": "graph cut, plain PyMaxflow grid",
    }
    lines = [
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, NumPy {np.__version__}. Peak: the rise of "
        "resident memory over one call in a fresh process (input not counted).",
        "",
        "| case | size | time (s) | s / Mvoxel | peak (MiB) | B/voxel | graph B/voxel |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        name, side = names[row["case"]], f"{row['side']}³"
        if "error" in row:
            failed = row["error"][:60]
            lines.append(f"| {name} | {side} | – | – | failed: {failed} | – | – |")
            continue
        n = row["voxels"]
        graph = f"{row['graph_bytes'] / n:.0f}" if "graph_bytes" in row else "–"
        lines.append(
            f"| {name} | {side} | {row['seconds']:.1f} | "
            f"{row['seconds'] / n * 1e6:.2f} | {row['extra_bytes'] / 2**20:.0f} | "
            f"{row['extra_bytes'] / n:.1f} | {graph} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

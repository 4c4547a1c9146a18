"""Images larger than memory: threshold + label + remove small objects, block by block.

    python benchmarks/bench_scale.py [--gb 4] [--rgb-side 20000] [--limit 1GB] [--out FILE.md]

- A generated uint16 stack of fluorescent nuclei (``--gb`` GB, in an uncompressed Zarr store
  on disk, blocks of 64 × 512 × 512) is segmented end to end into an OME-Zarr of labels:
  Otsu's threshold from the blockwise histogram, labels joined across blocks, objects under
  50 voxels removed. On a LocalCluster of 1 and of 2 worker processes, each held to
  ``--limit``, and on threads in one process.
- A generated 2D RGB slide (``--rgb-side``² pixels, Zarr) goes through the same pipeline
  (luminance, dark objects) into an OME-Zarr with a pyramid, on threads.
- The same stack pipeline at a size that fits in memory (128 × 1024 × 1024), in memory
  (NumPy: the same functions as one call each) and block by block, for the ratio.

Each run is a fresh process; memory is the peak of the summed resident memory of it and
all its children (workers), sampled every 0.1 s. Throughput is voxels per second of wall
time for the whole pipeline, reading and writing included.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

BLOCK = (64, 512, 512)
MIN_SIZE = 50


def nuclei_block(block_info=None, dtype=np.uint16):
    """One block of the generated stack: balls of radius 4-7 voxels, blurred, with noise;
    every block is different (seeded by its position)."""
    import edt
    from scipy import ndimage

    info = block_info[None]
    shape = info["chunk-shape"]
    rng = np.random.default_rng(abs(hash(tuple(info["chunk-location"]))) % 2**32)
    count = max(1, int(np.prod(shape) / 6000))
    points = np.ones(shape, np.uint8)
    points[tuple(rng.integers(0, s, count) for s in shape)] = 0
    radius = edt.edt(points, parallel=1)
    image = np.where(radius < 5.5, 700, 120).astype(np.float32)
    image = ndimage.uniform_filter(image, 3)
    image += rng.normal(0, 30, shape).astype(np.float32)
    return np.clip(image, 0, 65535).astype(dtype)


def slide_block(block_info=None):
    """One block of the generated RGB slide: dark purple nuclei on pink."""
    info = block_info[None]
    shape = info["chunk-shape"]
    grey = nuclei_block(
        block_info={
            None: {"chunk-shape": (1, *shape[:2]), "chunk-location": info["chunk-location"]}
        }
    )[0]
    darkness = (grey.astype(np.float32) - 120) / 600
    pink, purple = np.array([235, 180, 210], np.float32), np.array([90, 50, 140], np.float32)
    rgb = pink + np.clip(darkness, 0, 1)[..., None] * (purple - pink)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def make_stack(path, shape):
    import dask.array as da
    import zarr

    z = zarr.create_array(
        path,
        shape=shape,
        chunks=BLOCK,
        dtype=np.uint16,
        compressors=None,
        zarr_format=2,
        overwrite=True,
    )
    da.map_blocks(nuclei_block, dtype=np.uint16, chunks=_chunks(shape, BLOCK)).store(z, lock=False)


def make_slide(path, side):
    import dask.array as da
    import zarr

    shape, chunks = (side, side, 3), (2048, 2048, 3)
    z = zarr.create_array(
        path,
        shape=shape,
        chunks=chunks,
        dtype=np.uint8,
        compressors=None,
        zarr_format=2,
        overwrite=True,
    )
    da.map_blocks(slide_block, dtype=np.uint8, chunks=_chunks(shape, chunks)).store(z, lock=False)


def _chunks(shape, block):
    return tuple(tuple([b] * (s // b) + ([s % b] if s % b else [])) for s, b in zip(shape, block))


def run_case(case: dict) -> dict:
    """The measured pipeline (in this process)."""
    import dask.array as da

    import napari_segkit as sk
    from napari_segkit import io, tiling
    from napari_segkit.methods.postprocess import remove_small_objects

    start = time.perf_counter()
    if case["where"] == "memory":
        import zarr

        image = zarr.open_array(case["input"], mode="r")[...]
        labels = remove_small_objects(sk.label(sk.threshold(image)), MIN_SIZE)
        sk.write(case["output"], labels)
        top = int(labels.max())
    else:
        image = da.from_zarr(case["input"])
        options = {"rgb": True, "dark": True} if image.ndim == 3 and image.shape[-1] == 3 else {}
        with tiling.scheduler(
            case["scheduler"], workers=case.get("workers"), memory_limit=case.get("limit")
        ):
            labels = remove_small_objects(sk.label(sk.threshold(image, **options)), MIN_SIZE)
            top = io.write_labels(case["output"], labels)["max"]
    return {"seconds": time.perf_counter() - start, "largest_id": top}


def measure(case: dict) -> dict:
    """Run ``case`` in a fresh process; its wall time and the peak memory of its tree."""
    import psutil

    process = subprocess.Popen(
        [sys.executable, __file__, "--case", json.dumps(case)], stdout=subprocess.PIPE, text=True
    )
    parent, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [parent, *parent.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
        except psutil.Error:
            pass
        time.sleep(0.1)
    out = process.stdout.read()
    if process.returncode:
        raise RuntimeError(f"case {case} failed")
    return {**json.loads(out.strip().splitlines()[-1]), "peak_gib": peak / 2**30}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case")
    parser.add_argument("--gb", type=float, default=4.0)
    parser.add_argument("--rgb-side", type=int, default=20000)
    parser.add_argument("--limit", default="1GB")
    parser.add_argument("--out")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(json.loads(args.case))))
        return
    work = tempfile.mkdtemp(prefix="segkit-bench-scale-", dir=os.environ.get("TMPDIR"))
    rows = []
    try:
        depth = max(BLOCK[0], int(args.gb * 2**30 / 2 / 4096**2) // BLOCK[0] * BLOCK[0])
        cases = [("fits", (128, 1024, 1024)), ("large", (depth, 4096, 4096))]
        for name, shape in cases:
            t = time.perf_counter()
            make_stack(f"{work}/{name}.zarr", shape)
            print(f"made {name} {shape} in {time.perf_counter() - t:.0f} s", flush=True)
        t = time.perf_counter()
        make_slide(f"{work}/slide.zarr", args.rgb_side)
        print(f"made slide {args.rgb_side}² in {time.perf_counter() - t:.0f} s", flush=True)
        plans = [
            ("fits", "memory", {}),
            ("fits", "threads", {"scheduler": "threads"}),
            ("large", "threads", {"scheduler": "threads"}),
            ("large", "1 worker", {"scheduler": "local", "workers": 1, "limit": args.limit}),
            ("large", "2 workers", {"scheduler": "local", "workers": 2, "limit": args.limit}),
            ("slide", "threads", {"scheduler": "threads"}),
        ]
        for data, where, options in plans:
            output = f"{work}/out-{len(rows)}.{'tif' if where == 'memory' else 'zarr'}"
            case = {
                "input": f"{work}/{data}.zarr",
                "output": output,
                "where": "memory" if where == "memory" else "dask",
                **options,
            }
            import zarr

            shape = zarr.open_array(case["input"], mode="r").shape
            voxels = int(np.prod(shape[:2] if data == "slide" else shape))
            result = measure(case)
            size_gb = voxels * (3 if data == "slide" else 2) / 1e9
            rows.append(
                {
                    "data": data,
                    "shape": shape,
                    "gb": size_gb,
                    "where": where,
                    "limit": options.get("limit", ""),
                    **result,
                    "mvox_s": voxels / result["seconds"] / 1e6,
                }
            )
            print(rows[-1], flush=True)
            shutil.rmtree(output, ignore_errors=True) if output.endswith("zarr") else os.remove(
                output
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(rows, args)


def report(rows, args) -> None:
    cpu = platform.processor() or platform.machine()
    lines = [
        f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}.",
        "",
        "| data | shape | GB | run | memory limit per worker | seconds | Mvox/s "
        "| peak memory, all processes (GiB) | largest id |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['data']} | {' × '.join(map(str, r['shape']))} | {r['gb']:.2f} | "
            f"{r['where']} | {r['limit']} | {r['seconds']:.1f} | {r['mvox_s']:.1f} | "
            f"{r['peak_gib']:.2f} | {r['largest_id']} |"
        )
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()

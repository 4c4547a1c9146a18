"""GPU kernels against the CPU path and CuPy's own (cupyx) equivalents, same inputs, same run.

    python benchmarks/bench_gpu.py [--quick] [--only WORD ...] [--out docs/benchmarks/gpu-X.md]

For each operation on 256³ and 512³ (float32 and uint16) and 4096² images:

- GPU-resident time: CUDA events around the call on device arrays, after a warm-up,
  median of ``--repeat`` (≥ 20) runs; as Gvox/s and as a fraction of the device's measured
  copy bandwidth (a device-to-device copy of the same image, read + write) where the
  operation is one pass over the data;
- end to end: NumPy in, NumPy out (transfers included), median of 5;
- the CPU path (device="cpu"), best of 2 (skipped at 512³ with ``--quick``);
- cupyx.scipy.ndimage / cupy equivalents where they exist, GPU-resident.

Before timing, each GPU result is checked against the CPU's (labels equal; masks ≥ 99.99 %).
Needs a CUDA GPU; without one it says so and exits with status 2.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
from scipy import ndimage

import napari_segkit as sk
from napari_segkit import backend


def image(shape, dtype, seed=0):
    """Blobs with noise (about a third foreground), uint16 0–4095 or float32 0–1."""
    rng = np.random.default_rng(seed)
    small = tuple(max(1, n // 4) for n in shape)
    blobs = ndimage.zoom(rng.random(small, dtype=np.float32), 4, order=1)[
        tuple(slice(0, n) for n in shape)
    ]
    values = np.clip(blobs + rng.normal(0, 0.05, shape).astype(np.float32), 0, 1)
    return values if dtype == np.float32 else (values * 4095).astype(np.uint16)


def gpu_median(cupy, fn, repeat):
    """Median seconds of ``fn()`` on device data, by CUDA events, after one warm-up."""
    fn()
    cupy.cuda.Device().synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop) / 1e3)
    return statistics.median(times)


def wall(fn, repeat, reduce=statistics.median):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return reduce(times)


def copy_bandwidth(cupy, array, repeat):
    """Bytes moved per second by a device-to-device copy (read + write) of ``array``."""
    out = cupy.empty_like(array)
    seconds = gpu_median(cupy, lambda: cupy.copyto(out, array), repeat)
    return 2 * array.nbytes / seconds


def operations(cupy):
    """(name, segkit call, cupyx equivalent or None, one pass over the data?) per operation."""
    from cupyx.scipy import ndimage as cndi

    def cupyx_otsu(x):  # what a CuPy user writes: histogram, threshold on the host, compare
        counts, edges = cupy.histogram(x, bins=256)
        centres = ((edges[:-1] + edges[1:]) / 2).get()
        from skimage.filters import threshold_otsu

        return x > threshold_otsu(hist=(counts.get(), centres))

    def cupyx_mean(x):
        return x > cndi.uniform_filter(x.astype(cupy.float32), 25, mode="reflect")

    return [
        ("threshold otsu", lambda x, d: sk.threshold(x, "otsu", device=d), cupyx_otsu, True),
        (
            "adaptive mean 25",
            lambda x, d: sk.adaptive_threshold(x, "mean", block_size=25, offset=0, device=d),
            cupyx_mean,
            False,
        ),
        (
            "adaptive sauvola 25",
            lambda x, d: sk.adaptive_threshold(x, "sauvola", block_size=25, device=d),
            None,
            False,
        ),
        (
            "label (of x > mean)",
            lambda m, d: sk.label(m, device=d),
            lambda m: cndi.label(m, structure=cndi.generate_binary_structure(m.ndim, m.ndim))[0],
            False,
        ),
        ("kmeans k=3 assign", lambda x, d: sk.kmeans(x, 3, device=d, starts=1), None, False),
    ]


def run(args) -> str:
    ok, why = backend.gpu_status()
    if not ok:
        print(f"bench_gpu: no GPU here ({why}); nothing to measure.", file=sys.stderr)
        sys.exit(2)
    import cupy

    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    cases = [
        ((4096, 4096), np.float32),
        ((256,) * 3, np.float32),
        ((256,) * 3, np.uint16),
        ((512,) * 3, np.float32),
        ((512,) * 3, np.uint16),
    ]
    about = (
        f"`python benchmarks/bench_gpu.py{' --quick' if args.quick else ''}`; "
        f"CuPy {cupy.__version__}, napari-segkit {sk.__version__}. GPU-resident: median "
        f"of {args.repeat} runs by CUDA events after a warm-up; end to end: NumPy in and "
        "out, median of 5; CPU: best of 2. Gvox/s = voxels / GPU-resident time; "
        "% copy = the bytes one pass reads and writes over the measured device copy "
        "bandwidth (one-pass operations only)."
    )
    header = (
        "| operation | image | GPU Gvox/s | % copy | end to end s | CPU s | "
        "GPU vs CPU | cupyx s | segkit vs cupyx |"
    )
    lines = [
        f"# GPU kernels on {name}",
        "",
        about,
        "",
        header,
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for shape, dtype in cases:
        host = image(shape, dtype)
        device = cupy.asarray(host)
        bandwidth = copy_bandwidth(cupy, device, args.repeat)
        mask_host = host > host.mean()
        mask = cupy.asarray(mask_host)
        for title, call, other, one_pass in operations(cupy):
            if args.only and not any(word in title for word in args.only):
                continue
            data, data_host = (mask, mask_host) if title.startswith("label") else (device, host)
            if title.startswith("kmeans") and len(shape) == 3 and shape[0] == 512 and args.quick:
                continue
            result = call(data, "gpu")
            result = result[0] if isinstance(result, tuple) else result
            skip_cpu = args.quick and host.size > 256**3
            cpu_time = None
            if not skip_cpu:
                cpu_result = call(data_host, "cpu")
                agree = float((cupy.asnumpy(result) == cpu_result).mean())
                if agree < 0.9999:
                    raise SystemExit(f"{title} {shape}: GPU and CPU agree on {agree:.5f} only")
                cpu_time = wall(lambda c=call, d=data_host: c(d, "cpu"), 2, min)
            seconds = gpu_median(cupy, lambda c=call, d=data: c(d, "gpu"), args.repeat)
            end_to_end = wall(lambda c=call, d=data_host: cupy.asnumpy(c(d, "gpu")), 5)
            moved = data.nbytes + data.size  # reads the image, writes a 1-byte mask
            fraction = f"{moved / seconds / bandwidth:.0%}" if one_pass else "–"
            cupyx_time = (
                gpu_median(cupy, lambda o=other, d=data: o(d), args.repeat) if other else None
            )
            lines.append(
                f"| {title} | {'×'.join(map(str, shape))} {np.dtype(dtype).name} | "
                f"{data.size / seconds / 1e9:.2f} | {fraction} | {end_to_end:.3f} | "
                + (f"{cpu_time:.3f} | {cpu_time / seconds:.0f}× | " if cpu_time else "– | – | ")
                + (f"{cupyx_time:.4f} | {cupyx_time / seconds:.2f}× |" if other else "– | – |")
            )
            print(lines[-1], flush=True)
        lines.append(
            f"| device copy | {'×'.join(map(str, shape))} {np.dtype(dtype).name} | "
            f"{bandwidth / 1e9:.0f} GB/s | | | | | | |"
        )
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no CPU runs at 512³")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--only", nargs="+", help="operations whose name has one of these words")
    parser.add_argument("--out", help="write the Markdown table here")
    args = parser.parse_args()
    text = run(args)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()

"""Global threshold + labelling: napari-segkit against scikit-image, same inputs, same run.

    python benchmarks/bench_threshold.py [--device cpu|gpu] [--out docs/benchmarks/FILE.md]

Time is the best of ``--repeat`` runs; memory is the peak of Python-traced allocations
(NumPy reports to tracemalloc) above the input, for one run. The scikit-image baseline is
what a script would write: ``image > threshold_otsu(image)`` then ``measure.label``.
"""

from __future__ import annotations

import argparse
import platform
import time
import tracemalloc

import numpy as np
from skimage import filters, measure

import napari_segkit
from napari_segkit import backend, label, threshold


def cases():
    rng = np.random.default_rng(0)
    yield "2D uint8 4096²", rng.integers(0, 256, (4096, 4096), dtype=np.uint8)
    stack = rng.normal(1000, 300, (64, 1024, 1024)).clip(0, 65535).astype(np.uint16)
    yield "3D uint16 64×1024²", stack
    yield "3D float32 64×512²", rng.random((64, 512, 512), dtype=np.float32)


def measure_call(fn, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return best, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", help="also write the markdown table to this file")
    args = parser.parse_args()
    device_name = backend.gpu_status()[1] if args.device == "gpu" else platform.processor() or platform.machine()

    rows = []
    for name, image in cases():
        for step, ours, theirs in (
            ("threshold (Otsu)",
             lambda: threshold(image, device=args.device),
             lambda: image > filters.threshold_otsu(image)),
            ("threshold + label",
             lambda: label(threshold(image, device=args.device), device=args.device),
             lambda: measure.label(image > filters.threshold_otsu(image))),
        ):
            np.testing.assert_array_equal(backend.to_host(ours()), theirs())  # same answer first
            t_ours, m_ours = measure_call(ours, args.repeat)
            t_ref, m_ref = measure_call(theirs, args.repeat)
            rows.append((name, step, image.nbytes, t_ours, t_ref, m_ours, m_ref))
            print(f"{name:22} {step:18} segkit {t_ours:7.3f} s  skimage {t_ref:7.3f} s  "
                  f"speed-up {t_ref / t_ours:5.2f}×  memory {m_ours / 2**20:7.1f} / "
                  f"{m_ref / 2**20:7.1f} MiB", flush=True)

    lines = [
        f"# Global threshold and labelling: napari-segkit {napari_segkit.__version__} vs scikit-image",
        "",
        f"Device: `{args.device}` ({device_name}); {platform.python_implementation()} "
        f"{platform.python_version()}, NumPy {np.__version__}; best of {args.repeat} runs.",
        "Produced by `python benchmarks/bench_threshold.py"
        + (f" --device {args.device}" if args.device != "cpu" else "") + "`. "
        "Results are checked equal before timing. Memory is the traced peak above the input.",
        "",
        "| image | step | input MiB | segkit s | skimage s | speed-up | segkit peak MiB | "
        "skimage peak MiB | memory ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, step, nbytes, t_ours, t_ref, m_ours, m_ref in rows:
        lines.append(f"| {name} | {step} | {nbytes / 2**20:.0f} | {t_ours:.3f} | {t_ref:.3f} | "
                     f"{t_ref / t_ours:.2f}× | {m_ours / 2**20:.0f} | {m_ref / 2**20:.0f} | "
                     f"{m_ref / max(m_ours, 1):.2f}× |")
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

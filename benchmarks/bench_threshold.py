"""Global and adaptive thresholds: napari-segkit against scikit-image, same inputs, same run.

    python benchmarks/bench_threshold.py [--device cpu|gpu] [--quick] [--out FILE.md]

Time is the best of ``--repeat`` runs; memory is the peak of traced allocations (NumPy
reports to tracemalloc) during one run, beyond the input. Before timing, the two results
are compared: equal masks for global thresholds; for adaptive ones (float32 here, float64
in scikit-image) at least 99.99 % of pixels equal, the rest lying on the threshold.
The scikit-image side is what a script would write, e.g. ``image > threshold_otsu(image)``.
"""

from __future__ import annotations

import argparse
import os
import platform

import numpy as np
from _timing import measure_call
from scipy import ndimage
from skimage import filters, measure

import napari_segkit
from napari_segkit import adaptive_threshold, backend, label, threshold


def volume(shape, dtype, seed=0):
    """Blobs on a gradient with noise, scaled to the dtype (uint16: 0–4095, float32: 0–1)."""
    rng = np.random.default_rng(seed)
    blobs = ndimage.uniform_filter(rng.random(shape, dtype=np.float32), 9)
    ramp = np.linspace(0, 0.3, shape[-1], dtype=np.float32)
    image = (blobs - blobs.min()) / np.ptp(blobs) * 0.7 + ramp
    image += rng.normal(0, 0.03, shape).astype(np.float32)
    image = np.clip(image, 0, 1)
    if dtype == np.float32:
        return image
    top = 4095 if dtype == np.uint16 else 255
    return (image * top).astype(dtype)


def cases(quick, device):
    sizes = (128,) if quick else (256, 512)
    for n in sizes:
        for dtype in (np.uint16, np.float32):
            image = volume((n, n, n), dtype)
            yield (
                f"{n}³ {np.dtype(dtype).name}",
                "Otsu",
                image,
                lambda im=image: threshold(im, device=device),
                lambda im=image: im > filters.threshold_otsu(im),
                True,
            )
    n = 128 if quick else 256
    stack = volume((n, n, n), np.uint16, seed=1)
    yield (
        f"{n}³ uint16",
        "Otsu + label",
        stack,
        lambda: label(threshold(stack, device=device), device=device),
        lambda: measure.label(stack > filters.threshold_otsu(stack)),
        True,
    )
    flat = volume((1024, 1024) if quick else (4096, 4096), np.uint8, seed=2)
    for name, image in ((f"{n}³ uint16", stack), (f"{flat.shape[0]}² uint8", flat)):
        for block in (15, 51):
            yield (
                name,
                f"adaptive mean, block {block}",
                image,
                lambda im=image, b=block: adaptive_threshold(
                    im, "mean", block_size=b, offset=0, device=device
                ),
                lambda im=image, b=block: im > filters.threshold_local(im, b, "mean"),
                False,
            )
            yield (
                name,
                f"Sauvola, block {block}",
                image,
                lambda im=image, b=block: adaptive_threshold(
                    im, "sauvola", block_size=b, device=device
                ),
                lambda im=image, b=block: im > filters.threshold_sauvola(im, b),
                False,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    parser.add_argument("--out", help="also write the markdown table to this file")
    args = parser.parse_args()
    if args.device == "gpu":
        where = backend.gpu_status()[1]
    else:
        where = f"{platform.machine()}, {os.cpu_count()} cores"

    rows = []
    for name, step, image, ours, theirs, exact in cases(args.quick, args.device):
        a, b = backend.to_host(ours()), theirs()
        if exact:
            np.testing.assert_array_equal(a, b)
        else:
            assert (a == b).mean() > 0.9999, f"{name} {step}: results differ"
        t_ours, m_ours = measure_call(ours, args.repeat)
        t_ref, m_ref = measure_call(theirs, args.repeat)
        rows.append((name, step, image.nbytes, t_ours, t_ref, m_ours, m_ref))
        print(
            f"{name:14} {step:26} segkit {t_ours:7.3f} s  skimage {t_ref:7.3f} s  "
            f"speed-up {t_ref / t_ours:5.2f}×  peak {m_ours / 2**20:7.0f} / "
            f"{m_ref / 2**20:7.0f} MiB",
            flush=True,
        )

    lines = [
        f"# Thresholds: napari-segkit {napari_segkit.__version__} vs scikit-image",
        "",
        f"Device: `{args.device}` ({where}); {platform.python_implementation()} "
        f"{platform.python_version()}, NumPy {np.__version__}; best of {args.repeat} runs.",
        "Produced by `python benchmarks/bench_threshold.py"
        + (f" --device {args.device}" if args.device != "cpu" else "")
        + (" --quick" if args.quick else "")
        + "`. "
        "Results are compared before timing. Peak memory is traced allocation beyond the input.",
        "",
        "| image | step | input MiB | segkit s | skimage s | speed-up | segkit peak MiB | "
        "skimage peak MiB | memory ratio |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, step, nbytes, t_ours, t_ref, m_ours, m_ref in rows:
        lines.append(
            f"| {name} | {step} | {nbytes / 2**20:.0f} | {t_ours:.3f} | {t_ref:.3f} | "
            f"{t_ref / t_ours:.2f}× | {m_ours / 2**20:.0f} | {m_ref / 2**20:.0f} | "
            f"{m_ref / max(m_ours, 1):.2f}× |"
        )
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

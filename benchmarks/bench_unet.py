"""U-Net (MONAI) on the CPU: how fast napari-segkit trains and predicts, and how well.

    python benchmarks/bench_unet.py [--out FILE.md]

- train-2d: the default model trained for 15 s (the callback cancels it; the best epoch is
  kept) on the left half of a generated 512² image of touching fluorescent nuclei, then
  applied to the right half. Dice of the foreground against the truth, beside Otsu's
  threshold on the same half (what a user would do without a model).
- train-3d: seconds per epoch (16 batches of 2 patches of 64³) of the default 3D model on a
  generated 256³ stack of nuclei.
- predict-3d: that model on the whole 256³ stack: ``unet.predict`` (slabs, Gaussian
  blending) against MONAI's ``sliding_window_inference`` on the whole volume at once (the
  same network, tiles and blending; the obvious way to write it). Throughput in voxels/s.

Each case runs in a fresh process that loads the stack from a .npy file made beforehand;
memory is the peak resident memory of that process less its resident memory before the
measured step. Inference: best of two runs. 256³ voxels fit in one slab (2²⁵ voxels), so
this compares the same work; slabs matter for larger volumes.
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


_TMP = os.environ.get("TMPDIR", "/tmp")
STACK, TRUTH = (os.path.join(_TMP, f"segkit-bench-unet-{n}.npy") for n in ("stack", "truth"))
MODEL = os.path.join(_TMP, "segkit-bench-unet-3d")


def stack_256(seed: int = 0):
    """A 256³ uint16 stack of ~300 nuclei (balls of 5–9 voxels' radius) with blur and shot
    noise, and its truth mask."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    n = 256
    centres = np.zeros((n, n, n), bool)
    centres[tuple(rng.integers(8, n - 8, (3, 300)))] = True
    distance = ndimage.distance_transform_edt(~centres)
    truth = distance < 7
    signal = ndimage.gaussian_filter(truth.astype(np.float32), 1.0)
    return rng.poisson(60 + 900 * signal).astype(np.uint16), truth


def peak_mib(before: int) -> float:
    return (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024


def run_case(case: str) -> dict:
    from napari_segkit import samples, threshold, unet
    from napari_segkit.methods.metrics import dice
    from napari_segkit.progress import Cancelled

    if case == "make-stack":  # in its own process: a child inherits its parent's peak RSS
        image, truth = stack_256()
        np.save(STACK, image)
        np.save(TRUTH, truth)
        return {}
    if case == "train-2d":
        volume = samples.nuclei_2d((512, 512), count=160, seed=3, touching=True)
        image, truth = volume.data, volume.metadata["truth"] > 0
        start = time.perf_counter()

        def fifteen_seconds(_epoch):
            if time.perf_counter() - start > 15:
                raise Cancelled

        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        model = unet.train(image[:, :256], truth[:, :256].astype(np.uint8),
                           labels_are="classes", callback=fifteen_seconds, device="cpu")
        seconds = time.perf_counter() - start
        result = unet.predict(model, image[:, 256:], device="cpu")
        return {"seconds": seconds, "epochs": len(model.history), "peak_mib": peak_mib(before),
                "dice": dice(result > 0, truth[:, 256:]),
                "otsu_dice": dice(threshold(image[:, 256:], "otsu"), truth[:, 256:])}
    image, truth = np.load(STACK), np.load(TRUTH)
    if case == "train-3d":
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        model = unet.train(image, truth.astype(np.uint8), labels_are="classes", epochs=3,
                           device="cpu")
        seconds = time.perf_counter() - start
        model.save(MODEL, overwrite=os.path.exists(MODEL))
        epochs = [e["seconds"] for e in model.history]
        return {"seconds": seconds, "per_epoch": float(np.median(epochs)),
                "patch": model.config["patch"], "peak_mib": peak_mib(before),
                "dice_val": model.config["best_dice"]}
    import torch

    model = unet.load_model(MODEL)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    seconds = float("inf")
    for _ in range(2):
        start = time.perf_counter()
        if case == "predict-3d":
            result = unet.predict(model, image, device="cpu")
        else:  # MONAI on the whole volume
            from monai.inferers import sliding_window_inference

            from napari_segkit.unet.data import normalise

            x = torch.from_numpy(normalise(image[None].astype(np.float32),
                                           model.config["normalisation"]))[None]
            with torch.no_grad():
                logits = sliding_window_inference(x, model.config["patch"], 4, model.network,
                                                  overlap=0.25, mode="gaussian")
            result = logits[0].argmax(0).numpy().astype(np.uint8)
        seconds = min(seconds, time.perf_counter() - start)
    return {"seconds": seconds, "voxels_per_s": image.size / seconds,
            "peak_mib": peak_mib(before), "dice": dice(result > 0, truth)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="also write the markdown report to this file")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one)))
        return
    found = {}
    for case in ("make-stack", "train-2d", "train-3d", "predict-3d", "monai-3d"):
        done = subprocess.run([sys.executable, __file__, "--one", case], capture_output=True,
                              text=True)
        if done.returncode:
            sys.exit(f"{case} failed:\n{done.stderr}")
        found[case] = json.loads(done.stdout.strip().splitlines()[-1])
        print(case, found[case], flush=True)

    import torch

    import napari_segkit as sk

    t2, t3, ours, monai = (found[c] for c in ("train-2d", "train-3d", "predict-3d", "monai-3d"))
    lines = [
        f"# U-Net (MONAI) on the CPU: napari-segkit {sk.__version__}",
        "",
        f"CPU ({platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} torch "
        f"threads); PyTorch {torch.__version__}. Produced by `python benchmarks/bench_unet.py`."
        " Default model: MONAI UNet, channels 16-32-64-128, 2 residual units per block.",
        "",
        "## Training",
        "",
        "| case | result |",
        "|---|---|",
        f"| 2D: 15 s on the left half of a 512² nuclei image | {t2['epochs']} epochs in "
        f"{t2['seconds']:.1f} s; right half foreground Dice **{t2['dice']:.3f}** (Otsu "
        f"{t2['otsu_dice']:.3f}); peak {t2['peak_mib']:.0f} MiB |",
        f"| 3D: 256³ stack, patch {'×'.join(map(str, t3['patch']))}, 16 batches of 2 | "
        f"{t3['per_epoch']:.1f} s per epoch; validation Dice after 3 epochs "
        f"{t3['dice_val']:.3f}; peak {t3['peak_mib']:.0f} MiB |",
        "",
        "## Inference on the 256³ stack (the 3D model above)",
        "",
        "| | seconds | voxels/s | peak MiB | Dice |",
        "|---|---:|---:|---:|---:|",
        f"| segkit `unet.predict` (slabs) | {ours['seconds']:.1f} | {ours['voxels_per_s']:.3g} |"
        f" {ours['peak_mib']:.0f} | {ours['dice']:.3f} |",
        f"| MONAI `sliding_window_inference`, whole volume | {monai['seconds']:.1f} | "
        f"{monai['voxels_per_s']:.3g} | {monai['peak_mib']:.0f} | {monai['dice']:.3f} |",
        "",
        f"Speed ratio (MONAI time / segkit time): {monai['seconds'] / ours['seconds']:.2f}×; "
        f"memory ratio: {monai['peak_mib'] / max(ours['peak_mib'], 1):.2f}×.",
    ]
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

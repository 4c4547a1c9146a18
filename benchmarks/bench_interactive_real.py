"""Interactive tools on real nuclei images: graph cut and grow-from-seeds from scribbles,
GrabCut from one box per nucleus, scribbles and boxes simulated from the reference labels.

    python benchmarks/bench_interactive_real.py [--grid]

Scribbles (:func:`strokes`): a short stroke across the middle of each of 12 nuclei (every
n-th reference nucleus, dim ones included) and 4 background strokes at least 0.75 of a
nucleus diameter from every nucleus. Graph cut and grow-from-seeds are scored by foreground
Dice and IoU against all reference nuclei (the unscribbled ones too: the tool has to find
them). GrabCut: the bounding box of each of 20 reference nuclei grown by 4 pixels, scored by
the IoU of its mask with that nucleus (median over boxes). Times are per update (one cut,
one growth, one box). Data: tests/real_data.py (dsb2018 and the first BBBC007 image).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import napari_segkit as sk  # noqa: E402
from tests import real_data as rd  # noqa: E402

NUCLEI, BACKGROUND, BOXES, BOX_MARGIN = 12, 4, 20, 4


def images():
    """name -> (image, reference labels) of the 2D real images."""
    name, image, labels = rd.bbbc007()[0]
    return {"dsb2018": rd.dsb2018(), "bbbc007": (image, labels)}


def strokes(labels: np.ndarray) -> np.ndarray:
    """Scribbles (1 nuclei, 2 background) simulated from reference ``labels``."""
    seeds = np.zeros(labels.shape, np.uint8)
    ids = np.unique(labels[labels > 0])
    for i in ids[:: max(len(ids) // NUCLEI, 1)][:NUCLEI]:
        inside = ndimage.binary_erosion(labels == i, iterations=2)
        rows, cols = np.nonzero(inside)
        if rows.size == 0:
            continue
        middle = int(np.median(rows))
        row = cols[rows == middle]
        half = max((row.max() - row.min()) // 4, 1)
        centre = int(np.median(row))
        seeds[middle, centre - half : centre + half + 1] = inside[
            middle, centre - half : centre + half + 1
        ]
    diameter = np.sqrt(4 / np.pi * np.median(np.bincount(labels.ravel())[ids]))
    far = ndimage.distance_transform_edt(labels == 0) > 0.75 * diameter
    rows = np.flatnonzero(far.sum(axis=1) > diameter)
    for r in rows[np.linspace(0, len(rows) - 1, BACKGROUND).astype(int)]:
        cols = np.flatnonzero(far[r])
        seeds[r, cols[: int(diameter)]] = 2
    return seeds


def foreground_scores(result, reference) -> tuple[float, float]:
    a, b = result > 0, reference > 0
    overlap = float((a & b).sum())
    return 2 * overlap / max(a.sum() + b.sum(), 1), overlap / max((a | b).sum(), 1)


def timed(function):
    start = time.perf_counter()
    out = function()
    return out, time.perf_counter() - start


def scribble_runs(image, size, grid: bool):
    """name -> function(image, seeds) of the scribble tools (defaults first)."""
    runs = {
        "graph_cut (defaults)": lambda im, s: sk.graph_cut(im, s),
        "grow_from_seeds (defaults)": lambda im, s: sk.grow_from_seeds(im, s),
    }
    if grid:
        for lam in (1.0, 3.0, 10.0, 30.0):
            for model in ("histogram", "gmm"):
                runs[f"graph_cut lam={lam:g} model={model}"] = lambda im, s, lam=lam, m=model: (
                    sk.graph_cut(im, s, lam=lam, model=m)
                )
        for bins in (16, 32):
            runs[f"graph_cut bins={bins}"] = lambda im, s, b=bins: sk.graph_cut(im, s, bins=b)
        for fraction in (0.0, 0.03, 0.06, 0.1, 0.15):
            runs[f"grow_from_seeds sigma={fraction}D"] = lambda im, s, f=fraction: (
                sk.grow_from_seeds(im, s, sigma=f * size)
            )
        runs["grow_from_seeds sigma=2"] = lambda im, s: sk.grow_from_seeds(im, s, sigma=2.0)
    return runs


def box_runs(grid: bool):
    runs = {"grab_cut (defaults)": lambda im, box: sk.grab_cut(im, box)}
    if grid:
        for model in ("histogram", "gmm"):
            for lam in (3.0, 10.0, 30.0):
                runs[f"grab_cut model={model} lam={lam:g}"] = lambda im, box, m=model, lam=lam: (
                    sk.grab_cut(im, box, model=m, lam=lam)
                )
    return runs


def boxes(labels):
    ids = np.unique(labels[labels > 0])
    found = ndimage.find_objects(labels)
    for i in ids[:: max(len(ids) // BOXES, 1)][:BOXES]:
        rows, cols = found[i - 1]
        yield (
            i,
            (
                (rows.start - BOX_MARGIN, cols.start - BOX_MARGIN),
                (rows.stop - 1 + BOX_MARGIN, cols.stop - 1 + BOX_MARGIN),
            ),
        )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", action="store_true", help="also the parameter grid")
    args = parser.parse_args(argv)
    for name, (image, labels) in images().items():
        seeds = strokes(labels)
        size = sk.estimate_object_size(image)
        print(
            f"## {name}: {int((seeds == 1).sum())} object / {int((seeds == 2).sum())} "
            f"background scribbled pixels, D = {size:.1f}"
        )
        print("| tool | Dice | IoU | s per update |\n|---|---|---|---|")
        for tool, run in scribble_runs(image, size, args.grid).items():
            out, seconds = timed(lambda r=run, im=image, s=seeds: r(im, s))
            dice, iou = foreground_scores(out, labels)
            print(f"| {tool} | {dice:.3f} | {iou:.3f} | {seconds:.3f} |", flush=True)
        for tool, run in box_runs(args.grid).items():
            ious, total = [], 0.0
            for i, box in boxes(labels):
                try:
                    out, seconds = timed(lambda r=run, im=image, b=box: r(im, b))
                except ValueError:
                    out, seconds = np.zeros(labels.shape, bool), 0.0
                ious.append(foreground_scores(out, labels == i)[1])
                total += seconds
            print(
                f"| {tool} | – | {np.median(ious):.3f} (median of {len(ious)} boxes) | "
                f"{total / len(ious):.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

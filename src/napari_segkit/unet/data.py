"""Training data: images and labels as arrays, normalised intensities, targets with an
"unlabelled" value, a held-out validation split, patches sampled towards labelled voxels.

Inside, a target is uint8 with 0 = not labelled (ignored by the loss) and 1…C = the
network's output channel + 1. Objects also get a float32 distance target (0 at an object's
edge, 1 at its centre), learnt by one more output channel and used to split touching objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import ndimage
from skimage.segmentation import find_boundaries

from ..backend import to_host

#: what the values of a labels image mean
LABELS_ARE = ("auto", "scribbles", "classes", "objects")
#: intensity normalisation of the network's input
NORMALISATIONS = ("percentile", "fixed")
_PERCENTILES = (1.0, 99.8)
_INDEX_SAMPLE = 200_000  # per class and image: enough centres to draw patches from
_MANY_IDS = 5  # "auto": this many non-zero ids or more are objects


def layer_parts(item: Any) -> tuple[Any, tuple[float, ...] | None, bool | None]:
    """An array, a napari layer (``data``, ``scale``, ``rgb``) or a segkit Volume, as
    (data, spacing or None, rgb or None)."""
    if hasattr(item, "axes") and hasattr(item, "spacing"):  # a segkit Volume
        return item.data, tuple(item.spacing), item.axes.endswith("S")
    if hasattr(item, "data") and hasattr(item, "scale"):  # a napari layer
        data = item.data[0] if getattr(item, "multiscale", False) else item.data
        rgb = bool(getattr(item, "rgb", False))
        return data, tuple(float(s) for s in item.scale), rgb
    return item, None, None


def channels_first(image, rgb: bool) -> np.ndarray:
    """float32 (C, *spatial): a grey image gets one channel, RGB(A) its colour axis first."""
    image = to_host(image)
    if rgb:
        return np.moveaxis(image[..., :3], -1, 0).astype(np.float32)
    return image[None].astype(np.float32)


def normalisation(images: Sequence[np.ndarray], mode: str) -> dict:
    """The normalisation recorded with a model: "percentile" rescales each image's 1–99.8th
    percentiles per channel to 0–1 (microscopy: exposure differs between images);
    "fixed" uses one window from the training images (CT: intensities mean something)."""
    if mode not in NORMALISATIONS:
        raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {mode!r}")
    record = {"mode": mode, "percentiles": list(_PERCENTILES)}
    if mode == "fixed":
        values = np.concatenate([im.reshape(im.shape[0], -1) for im in images], axis=1)
        low, high = np.percentile(
            values[:, :: max(1, values.shape[1] // 10**6)], _PERCENTILES, axis=1
        )
        record.update(low=low.tolist(), high=high.tolist())
    return record


def normalise(image, record: dict, xp=np):
    """``image`` (C, *spatial) rescaled per ``record`` (from :func:`normalisation`), float32."""
    flat = image.reshape(image.shape[0], -1)
    if record["mode"] == "fixed":
        low, high = (xp.asarray(record[k], dtype=xp.float32) for k in ("low", "high"))
    else:
        step = max(1, flat.shape[1] // 10**6)  # a million voxels estimate the percentiles
        low, high = xp.percentile(flat[:, ::step], xp.asarray(record["percentiles"]), axis=1)
    shape = (-1,) + (1,) * (image.ndim - 1)
    scale = xp.maximum(high - low, 1e-6).reshape(shape)
    return ((image - low.reshape(shape)) / scale).astype(xp.float32)


def labels_kind(labels: Sequence[np.ndarray], background: int | None) -> str:
    """What ``labels_are="auto"`` means for these labels: "objects" with 5 or more non-zero
    ids (an instance image); "scribbles" when ``background``'s id is there and less than half
    of the voxels are labelled (strokes, 0 = not labelled); else "classes" (a dense mask, 0 =
    background, e.g. a 0/1 mask from another tool)."""
    values = np.unique(np.concatenate([np.unique(to_host(lab)) for lab in labels]))
    if np.count_nonzero(values) >= _MANY_IDS:
        return "objects"
    labelled = sum(np.count_nonzero(to_host(lab)) for lab in labels)
    if background in values and labelled < 0.5 * sum(lab.size for lab in labels):
        return "scribbles"
    return "classes"


def classes_of(labels: Sequence[np.ndarray], labels_are: str, background: int | None) -> dict:
    """The classes of a model: the label value each output channel stands for in the
    user's labels (``values``) and in the predicted labels (``output``; background → 0),
    and the channels that are foreground."""
    if labels_are not in LABELS_ARE:
        raise ValueError(f"labels_are must be one of {LABELS_ARE}, got {labels_are!r}")
    if labels_are == "auto":
        raise ValueError('settle labels_are="auto" with labels_kind first')
    if not any(np.any(lab) for lab in labels):
        raise ValueError(
            "the labels have no labelled pixels: paint some (1 = object, "
            "2 = background) or choose another labels layer"
        )
    if labels_are == "objects":
        return {
            "values": [0, 1, 2],
            "output": [0, 1, 2],
            "names": ["background", "object", "boundary"],
        }
    values = np.unique(np.concatenate([np.unique(lab) for lab in labels]))
    if labels_are == "scribbles":
        values = values[values > 0]
    if values.size < 2:
        raise ValueError(
            f"the labels have one class only ({int(values[0])}); a network needs "
            "two or more: paint background too (label 2)"
        )
    output = [0 if (labels_are == "scribbles" and v == background) else int(v) for v in values]
    names = ["background" if o == 0 else f"class {int(v)}" for v, o in zip(values, output)]
    return {"values": [int(v) for v in values], "output": output, "names": names}


def target(labels: np.ndarray, classes: dict, labels_are: str) -> np.ndarray:
    """uint8: 0 = not labelled, channel + 1 elsewhere."""
    labels = to_host(labels)
    if labels_are == "objects":
        out = np.where(labels > 0, 2, 1).astype(np.uint8)
        out[find_boundaries(labels, mode="inner") & (labels > 0)] = 3
        return out
    lookup = np.zeros(int(labels.max()) + 1, np.uint8)
    known = [v for v in classes["values"] if v <= labels.max()]
    lookup[known] = [classes["values"].index(v) + 1 for v in known]
    if labels.min() < 0:
        raise ValueError("labels must be 0 or more")
    return lookup[labels]


def distance_target(labels: np.ndarray, spacing=None) -> np.ndarray:
    """float32: each object's distance to its own edge (touching objects part at their
    shared edge), divided by the object's largest, so 1 at its centre; 0 outside objects."""
    labels = to_host(labels)
    inside = (labels > 0) & ~find_boundaries(labels, mode="inner")
    distance = (
        ndimage.distance_transform_edt(inside, sampling=spacing)
        if inside.any()
        else np.zeros(labels.shape)
    )
    peak = np.zeros(int(labels.max()) + 1)
    peak[1:] = ndimage.maximum(distance, labels, np.arange(1, peak.size))
    return (distance / np.maximum(peak, 1e-6)[labels]).astype(np.float32)


def split(
    targets: list[np.ndarray], fraction: float, block: Sequence[int], channels: int, seed: int
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Training and validation targets: whole blocks of about half a patch go to validation
    until they hold ``fraction`` of the labelled voxels, each class in both parts; the other
    part's voxels are 0 (not labelled) in each."""
    if fraction <= 0:
        return targets, [np.zeros_like(t) for t in targets]
    if not 0 < fraction < 1:
        raise ValueError(f"validation must be a fraction from 0 to 1, got {fraction}")
    blocks = []  # (image index, block index, count per class)
    block_ids = []
    for i, t in enumerate(targets):
        grid = [(np.arange(n) // b).astype(np.int32) for n, b in zip(t.shape, block)]
        counts_per_axis = [int(g[-1]) + 1 for g in grid]
        ids = np.ravel_multi_index(np.ix_(*grid), counts_per_axis)  # block of each voxel
        block_ids.append(ids)
        counts = np.bincount(
            (ids * (channels + 1) + t).ravel(),
            minlength=int(np.prod(counts_per_axis)) * (channels + 1),
        )
        counts = counts.reshape(-1, channels + 1)
        blocks += [(i, b, counts[b, 1:]) for b in np.flatnonzero(counts[:, 1:].sum(1))]
    total = sum(c for _, _, c in blocks)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        order = rng.permutation(len(blocks))
        taken, held = [], np.zeros(channels, np.int64)
        for k in order:
            if held.sum() >= fraction * total.sum():
                break
            taken.append(k)
            held += blocks[k][2]
        if ((held > 0) & (held < total))[total > 0].all():
            break
    else:
        raise ValueError(
            "the labels are in too few places to hold some of every class out "
            "for validation: label more places, or set validation to 0"
        )
    train = [t.copy() for t in targets]
    val = [np.zeros_like(t) for t in targets]
    for i, ids in enumerate(block_ids):
        inside = np.isin(ids, [blocks[k][1] for k in taken if blocks[k][0] == i])
        val[i][inside], train[i][inside] = targets[i][inside], 0
    return train, val


class PatchSampler:
    """Random patches (C, *patch) of the images with their targets (and distance targets,
    when given), each centred near a labelled voxel of a class drawn uniformly (rare classes
    are seen as often as common ones). Augmentation (NumPy, per patch, no per-voxel Python):
    flips on every axis, 90° turns in the image plane (square patches), then per batch
    contrast (gamma), gain, offset and a little noise."""

    def __init__(
        self,
        images: list[np.ndarray],
        targets: list[np.ndarray],
        patch: Sequence[int],
        augment: bool,
        seed: int,
        distances: list[np.ndarray] | None = None,
    ):
        self.images, self.targets, self.patch = images, targets, tuple(patch)
        self.distances = distances
        self.rng = np.random.default_rng(seed)
        self.augment = augment
        self.centres = {}  # class -> list of (image, flat indices)
        for i, t in enumerate(targets):
            flat = t.ravel()
            order = np.argsort(flat, kind="stable")
            ends = np.cumsum(np.bincount(flat, minlength=256))
            for c in np.flatnonzero(np.bincount(flat, minlength=256)[1:]) + 1:
                where = order[ends[c - 1] : ends[c]]
                if where.size > _INDEX_SAMPLE:
                    where = where[self.rng.integers(where.size, size=_INDEX_SAMPLE)]
                self.centres.setdefault(int(c), []).append((i, where))

    def batch(self, size: int):
        """(images, targets) or, with distances, (images, targets, distances), stacked."""
        parts = [self._one() for _ in range(size)]
        out = [np.stack(p) for p in zip(*parts)]
        if self.augment:
            out[0] = self._intensity(out[0])
        return tuple(out)

    def _one(self) -> tuple[np.ndarray, ...]:
        rng = self.rng
        classes = list(self.centres)
        c = classes[rng.integers(len(classes))]
        i, where = self.centres[c][rng.integers(len(self.centres[c]))]
        t = self.targets[i]
        centre = np.unravel_index(where[rng.integers(where.size)], t.shape)
        start = [
            int(np.clip(x - rng.integers(p), 0, n - p))
            for x, p, n in zip(centre, self.patch, t.shape)
        ]
        box = tuple(slice(s, s + p) for s, p in zip(start, self.patch))
        parts = [self.images[i][(slice(None),) + box], t[box][None]]
        if self.distances is not None:
            parts.append(self.distances[i][box][None])
        if self.augment:  # every part as (1 or C, *patch): the same flips and turns
            spatial = len(self.patch)
            for axis in range(1, spatial + 1):
                if rng.random() < 0.5:
                    parts = [np.flip(p, axis=axis) for p in parts]
            if self.patch[-1] == self.patch[-2]:
                turns = int(rng.integers(4))
                parts = [np.rot90(p, turns, axes=(-2, -1)) for p in parts]
        return (np.ascontiguousarray(parts[0]),) + tuple(
            np.ascontiguousarray(p[0]) for p in parts[1:]
        )

    def _intensity(self, x: np.ndarray) -> np.ndarray:
        """Per patch: gamma 0.7–1.5 (30 %), gain ±20 %, offset ±0.1, noise σ 0.05 (20 %)."""
        rng, n = self.rng, x.shape[0]
        shape = (n,) + (1,) * (x.ndim - 1)
        gamma = np.where(rng.random(n) < 0.3, rng.uniform(0.7, 1.5, n), 1.0).reshape(shape)
        low = x.min(axis=tuple(range(1, x.ndim)), keepdims=True)
        span = np.maximum(x.max(axis=tuple(range(1, x.ndim)), keepdims=True) - low, 1e-6)
        x = ((x - low) / span) ** gamma * span + low
        x = x * rng.uniform(0.8, 1.2, shape) + rng.uniform(-0.1, 0.1, shape)
        noisy = (rng.random(n) < 0.2).reshape(shape)
        x = x + noisy * rng.normal(0, 0.05, x.shape)
        return x.astype(np.float32)

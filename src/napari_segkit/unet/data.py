"""Training data: images and labels as arrays, normalised intensities, targets with an
"unlabelled" value, a held-out validation split, patches sampled towards labelled voxels.

Inside, a target is uint8 with 0 = not labelled (ignored by the loss) and 1…C = the
network's output channel + 1.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
from skimage.segmentation import find_boundaries

from ..backend import to_host

#: what the values of a labels image mean
LABELS_ARE = ("scribbles", "classes", "objects")
#: intensity normalisation of the network's input
NORMALISATIONS = ("percentile", "fixed")
_PERCENTILES = (1.0, 99.8)
_INDEX_SAMPLE = 200_000  # per class and image: enough centres to draw patches from


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
        low, high = np.percentile(values[:, ::max(1, values.shape[1] // 10**6)],
                                  _PERCENTILES, axis=1)
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


def classes_of(labels: Sequence[np.ndarray], labels_are: str, background: int | None) -> dict:
    """The classes of a model: the label value each output channel stands for in the
    user's labels (``values``) and in the predicted labels (``output``; background → 0),
    and the channels that are foreground."""
    if labels_are not in LABELS_ARE:
        raise ValueError(f"labels_are must be one of {LABELS_ARE}, got {labels_are!r}")
    if labels_are == "objects":
        return {"values": [0, 1, 2], "output": [0, 1, 2], "names": ["background", "object",
                                                                    "boundary"]}
    values = np.unique(np.concatenate([np.unique(lab) for lab in labels]))
    if labels_are == "scribbles":
        values = values[values > 0]
    if values.size == 0 or (labels_are == "scribbles" and not any(lab.any() for lab in labels)):
        raise ValueError("the labels have no labelled pixels: paint some (1 = object, "
                         "2 = background) or choose another labels layer")
    if values.size < 2:
        raise ValueError(f"the labels have one class only ({int(values[0])}); a network needs "
                         "two or more: paint background too (label 2)")
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


def split(targets: list[np.ndarray], fraction: float, block: Sequence[int], channels: int,
          seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
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
        counts = np.bincount((ids * (channels + 1) + t).ravel(),
                             minlength=int(np.prod(counts_per_axis)) * (channels + 1))
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
        raise ValueError("the labels are in too few places to hold some of every class out "
                         "for validation: label more places, or set validation to 0")
    train = [t.copy() for t in targets]
    val = [np.zeros_like(t) for t in targets]
    for i, ids in enumerate(block_ids):
        inside = np.isin(ids, [blocks[k][1] for k in taken if blocks[k][0] == i])
        val[i][inside], train[i][inside] = targets[i][inside], 0
    return train, val


class PatchSampler:
    """Random patches (C, *patch) of the images with their targets, each centred near a
    labelled voxel of a class drawn uniformly (rare classes are seen as often as common
    ones), with flips, 90° turns in the image plane, and intensity changes."""

    def __init__(self, images: list[np.ndarray], targets: list[np.ndarray],
                 patch: Sequence[int], augment: bool, seed: int):
        self.images, self.targets, self.patch = images, targets, tuple(patch)
        self.rng = np.random.default_rng(seed)
        self.transforms = augmentation(self.patch, seed) if augment else None
        self.centres = {}  # class -> list of (image, flat indices)
        for i, t in enumerate(targets):
            for c in np.unique(t[t > 0]):
                where = np.flatnonzero(t == c)
                if where.size > _INDEX_SAMPLE:
                    where = self.rng.choice(where, _INDEX_SAMPLE, replace=False)
                self.centres.setdefault(int(c), []).append((i, where))

    def batch(self, size: int) -> tuple[np.ndarray, np.ndarray]:
        pairs = [self._one() for _ in range(size)]
        return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])

    def _one(self) -> tuple[np.ndarray, np.ndarray]:
        rng = self.rng
        c = rng.choice(list(self.centres))
        i, where = self.centres[c][rng.integers(len(self.centres[c]))]
        image, t = self.images[i], self.targets[i]
        centre = np.unravel_index(where[rng.integers(where.size)], t.shape)
        start = [int(np.clip(x - rng.integers(p), 0, n - p))
                 for x, p, n in zip(centre, self.patch, t.shape)]
        box = tuple(slice(s, s + p) for s, p in zip(start, self.patch))
        x, y = image[(slice(None),) + box], t[box]
        if self.transforms is not None:
            x, y = self._augmented(x, y)
        return np.ascontiguousarray(x), np.ascontiguousarray(y)

    def _augmented(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.transforms({"image": x, "label": y[None]})
        return np.asarray(out["image"], np.float32), np.asarray(out["label"][0], np.uint8)


def augmentation(patch: Sequence[int], seed: int):
    """MONAI transforms for (image, label) patches: flips on every axis, 90° turns (square
    patches) and small rotations/zooms in the image plane (labels nearest-neighbour, padding =
    not labelled), then contrast (gamma), gain, offset and a little noise."""
    from monai import transforms as T

    spatial_dims = len(patch)
    plane = (spatial_dims - 2, spatial_dims - 1)
    keys = ["image", "label"]
    rotate = (np.pi / 12, 0.0, 0.0) if spatial_dims == 3 else np.pi / 12  # in the YX plane
    compose = T.Compose([
        *[T.RandFlipd(keys, prob=0.5, spatial_axis=axis) for axis in range(spatial_dims)],
        *([T.RandRotate90d(keys, prob=0.75, spatial_axes=plane)]
          if patch[-1] == patch[-2] else []),
        T.RandAffined(keys, prob=0.3, rotate_range=rotate, scale_range=0.1,
                      mode=("bilinear", "nearest"), padding_mode="zeros"),
        T.RandAdjustContrastd("image", prob=0.3, gamma=(0.7, 1.5)),
        T.RandScaleIntensityd("image", prob=0.5, factors=0.2),
        T.RandShiftIntensityd("image", prob=0.5, offsets=0.1),
        T.RandGaussianNoised("image", prob=0.2, std=0.05),
    ])
    compose.set_random_state(seed)
    return compose

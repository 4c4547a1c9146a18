"""The GrowCut automaton on the GPU (growcut.cu) and its NumPy twin, run by one driver
(:func:`napari_segkit.kernels.until_stable`)."""

from __future__ import annotations

import numpy as np

from ..backend import get_xp
from . import grid, kernel, shifted, until_stable

KERNELS = ("growcut_step",)


def grow(values, seeds, steps, decay, max_drop: float):
    """Run the automaton until nothing changes; uint8 labels (0 where no seed reached).

    ``values``: float32 (*shape, channels); ``seeds``: uint8 labels of shape ``shape`` (0 =
    unseeded; seeds start at strength 1); ``steps``: (n, ndim) neighbour offsets (both signs);
    ``decay``: float32 factor per offset for its length; ``max_drop``: the largest
    intensity drop one step can count (below 1, so g never reaches 0).
    """
    xp = get_xp(values)
    labels = xp.ascontiguousarray(seeds, dtype=xp.uint8)
    args = _arguments(values, seeds.shape, steps, decay, max_drop, xp)
    step = _step_twin if xp is np else _step_gpu
    labels, _ = until_stable(
        lambda state, spare, changed: step(*state, *spare, changed, *args),
        (labels, (labels > 0).astype(xp.float32)),
        xp,
    )
    return labels


def _arguments(values, shape, steps, decay, max_drop, xp):
    steps = np.asarray(steps, np.int32).reshape(len(decay), len(shape))
    decay = np.asarray(decay, np.float32)
    if xp is np:
        return values, steps, decay, np.float32(max_drop)
    padded = np.zeros((len(steps), 3), np.int32)  # as (dz, dy, dx)
    padded[:, 3 - len(shape) :] = steps
    return (
        xp.ascontiguousarray(values, dtype=xp.float32),
        xp.asarray(padded),
        xp.asarray(decay),
        np.float32(max_drop),
    )


def _step_gpu(labels, strength, new_labels, new_strength, changed, values, steps, decay, max_drop):
    dims = (1,) * (3 - labels.ndim) + labels.shape
    kernel("growcut", "growcut_step")(
        grid(labels.size),
        (256,),
        (
            values,
            np.int32(values.shape[-1]),
            labels,
            strength,
            new_labels,
            new_strength,
            *(np.int32(n) for n in dims),
            steps,
            decay,
            np.int32(len(decay)),
            max_drop,
            changed,
        ),
    )


def _step_twin(labels, strength, new_labels, new_strength, changed, values, steps, decay, max_drop):
    """One synchronous step, neighbours in the kernel's order, in its float32 operations."""
    new_labels[...] = labels
    new_strength[...] = strength
    shape = labels.shape
    for step, factor in zip(steps, decay):
        here, there = shifted(step, shape)
        drop2 = np.zeros(new_strength[here].shape, np.float32)
        for c in range(values.shape[-1]):
            d = values[here + (c,)] - values[there + (c,)]
            drop2 += d * d
        g = (np.float32(1) - np.minimum(np.sqrt(drop2), max_drop)) * factor
        attack = strength[there] * g
        wins = attack > new_strength[here]
        new_strength[here][wins] = attack[wins]
        new_labels[here][wins] = labels[there][wins]
    if (new_strength != strength).any() or (new_labels != labels).any():
        changed[0] = 1

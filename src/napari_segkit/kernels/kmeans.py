"""k-means assignment on the GPU (kmeans.cu) and its NumPy twin: every pixel to its nearest
centre. The centres are fitted on a sample (small), the assignment runs over every pixel."""

from __future__ import annotations

import numpy as np

from ..backend import get_xp
from . import grid, kernel

KERNELS = ("nearest_centre",)
_CHUNK = 1 << 20  # rows per block of the twin (bounded memory)


def nearest(features, centres):
    """Index of the nearest of ``centres`` (k × d) for every row of ``features`` (n × d):
    uint8 for fewer than 256 centres, else int32; NaN rows go to centre 0."""
    xp = get_xp(features)
    if xp is np or len(centres) > 255:
        return nearest_twin(features, centres)
    features = xp.ascontiguousarray(features, dtype=xp.float32)
    out = xp.empty(len(features), xp.uint8)
    kernel("kmeans", "nearest_centre")(
        grid(len(features)),
        (256,),
        (
            features,
            np.int64(len(features)),
            np.int32(features.shape[1]),
            xp.asarray(centres, xp.float32),
            np.int32(len(centres)),
            out,
        ),
    )
    return out


def nearest_twin(features, centres):
    """:func:`nearest` with the array module of ``features``, a chunk of rows at a time."""
    xp = get_xp(features)
    centres = xp.asarray(centres)
    out = xp.empty(len(features), xp.uint8 if len(centres) < 256 else xp.int32)
    for start in range(0, len(features), _CHUNK):
        block = features[start : start + _CHUNK]
        d = ((block[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
        out[start : start + _CHUNK] = xp.argmin(xp.nan_to_num(d, nan=xp.inf), axis=1)
    return out

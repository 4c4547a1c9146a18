"""Histograms on the GPU (histogram.cu) and their NumPy twins (bincount, numpy.histogram)."""

from __future__ import annotations

import numpy as np

from ..backend import get_xp
from . import kernel

#: integer types the kernel takes (others: use numpy/cupy bincount)
INTEGER_TYPES = ("uint8", "int8", "uint16", "int16", "uint32", "int32")
_FLOAT = ("float32", "float64")
#: the kernels of histogram.cu used here
KERNELS = (*(f"hist_int_{t}" for t in INTEGER_TYPES), *(f"hist_float_{t}" for t in _FLOAT))
_BLOCKS_PER_SM = 8


def integer_counts(values, lo: int, hi: int):
    """Counts of every integer ``lo`` … ``hi`` among ``values`` (int64, on their device);
    values outside are not counted."""
    xp = get_xp(values)
    flat = values.reshape(-1)
    if xp is np or flat.dtype.name not in INTEGER_TYPES:
        inside = flat[(flat >= lo) & (flat <= hi)]
        return xp.bincount((inside.astype(xp.int64) - lo), minlength=hi - lo + 1)
    counts = xp.zeros(hi - lo + 1, xp.uint64)
    _launch(f"hist_int_{flat.dtype.name}", flat, np.int64(lo), counts)
    return counts.astype(xp.int64)


def float_counts(values, edges):
    """Counts in the bins between ``edges`` (equal widths, as numpy.histogram makes them;
    the last bin includes its right edge), int64 on the values' device."""
    xp = get_xp(values)
    flat = values.reshape(-1)
    if xp is np or flat.dtype.name not in _FLOAT:
        return xp.histogram(flat, bins=xp.asarray(edges))[0].astype(xp.int64)
    counts = xp.zeros(len(edges) - 1, xp.uint64)
    _launch(f"hist_float_{flat.dtype.name}", flat, xp.asarray(edges, flat.dtype), counts)
    return counts.astype(xp.int64)


def _launch(name, flat, bins_from, counts):
    import cupy

    flat = cupy.ascontiguousarray(flat)
    device = cupy.cuda.Device()
    blocks = min(
        device.attributes["MultiProcessorCount"] * _BLOCKS_PER_SM, max(1, -(-flat.size // 256))
    )
    kernel("histogram", name)(
        (blocks,), (256,), (flat, np.int64(flat.size), bins_from, np.int32(counts.size), counts)
    )

"""Global thresholds of dask images from a blockwise histogram (exact for integer data), then
applied block by block: the histogram is computed when :func:`threshold` is called, the mask
when the result is used."""

from __future__ import annotations

import dask.array as da
import numpy as np

from ...backend import lazy_version_of
from ...progress import reporting, share
from ...tiling.blocks import as_dask, per_block
from ..global_threshold import (
    NothingToSeparate,
    apply_threshold,
    check_method,
    from_histogram,
    histogram,
)
from ..global_threshold import threshold as in_memory
from ..global_threshold import threshold_value as in_memory_value
from .grey import grey_of

_SMALL_INTEGERS = (np.uint8, np.uint16, np.int8, np.int16, np.bool_)


@lazy_version_of(in_memory)
def threshold(
    image,
    method: str = "otsu",
    *,
    value=None,
    percentile: float = 50.0,
    classes: int = 3,
    dark: bool = False,
    mask=None,
    per_slice: bool = False,
    channel=None,
    rgb=None,
    nbins: int = 256,
    device: str = "auto",
    progress=None,
):
    """:func:`napari_segkit.threshold` of a dask array: the same threshold (a histogram of
    every block, summed) and a lazy mask."""
    grey, mask, options = _prepared(
        image,
        method,
        mask,
        channel,
        rgb,
        value=value,
        percentile=percentile,
        classes=classes,
        nbins=nbins,
    )
    if per_slice and grey.ndim >= 3:
        return _per_slice(grey, mask, method, dark, options, device)
    with reporting(progress):
        t = grey_value(grey, method, mask=mask, **options)
    return grey.map_blocks(
        apply_threshold,
        t,
        method=method,
        dark=dark,
        classes=classes,
        dtype=np.uint8 if method == "multiotsu" else bool,
    )


@lazy_version_of(in_memory_value)
def threshold_value(
    image,
    method: str = "otsu",
    *,
    value=None,
    percentile: float = 50.0,
    classes: int = 3,
    dark: bool = False,
    mask=None,
    per_slice: bool = False,
    channel=None,
    rgb=None,
    nbins: int = 256,
    device: str = "auto",
    progress=None,
):
    """:func:`napari_segkit.threshold_value` of a dask array (computed now)."""
    grey, mask, options = _prepared(
        image,
        method,
        mask,
        channel,
        rgb,
        value=value,
        percentile=percentile,
        classes=classes,
        nbins=nbins,
    )
    with reporting(progress):
        if per_slice and grey.ndim >= 3:
            return _slice_values(grey, mask, method, options)
        return grey_value(grey, method, mask=mask, **options)


def _prepared(image, method, mask, channel, rgb, **options):
    """(grey dask image, dask mask or None, options) after the in-memory checks."""
    check_method(
        method,
        options["value"],
        classes=options["classes"],
        nbins=options["nbins"],
        percentile=options["percentile"],
    )
    grey = grey_of(image, rgb=rgb, channel=channel)
    if grey.dtype == bool:
        grey = grey.astype(np.uint8)
    if mask is not None:
        if tuple(mask.shape) != tuple(grey.shape):
            raise ValueError(
                f"mask shape {tuple(mask.shape)} does not match the image's {tuple(grey.shape)}"
            )
        mask = as_dask(mask, grey).astype(bool)
    return grey, mask, options


def grey_value(
    grey,
    method: str = "otsu",
    *,
    mask=None,
    value=None,
    percentile: float = 50.0,
    classes: int = 3,
    nbins: int = 256,
):
    """The threshold of a dask grey image by ``method``, from all of its pixels (inside
    ``mask``): one pass for 8- and 16-bit data, two (range, then histogram) otherwise."""
    if method == "manual":
        return float(value)
    if grey.size == 0:
        raise NothingToSeparate("image is empty (it has no pixels)")
    arrays = (grey,) if mask is None else (grey, mask)
    if grey.dtype.type in _SMALL_INTEGERS:
        with share(0.0, 1.0):
            counts = sum(per_block(_full_range_counts, *arrays).ravel())
        return _from_full_range(counts, grey.dtype, method, percentile, classes)
    with share(0.0, 0.4):
        ranges = [r for r in per_block(_finite_range, *arrays).ravel() if r is not None]
    if not ranges:
        raise NothingToSeparate(
            "the mask selects no pixels; draw or choose a non-empty region"
            if mask is not None
            else "every pixel to threshold is NaN or infinite"
        )
    lo, hi = min(r[0] for r in ranges), max(r[1] for r in ranges)
    _check_not_constant(lo, hi)
    if method == "mean":
        with share(0.4, 1.0):
            sums = per_block(_sum_count, *arrays).ravel()
        return float(sum(s for s, _ in sums) / sum(n for _, n in sums))
    with share(0.4, 1.0):
        parts = per_block(_counts, *arrays, value_range=(lo, hi), nbins=nbins).ravel()
    counts = sum(p[0] for p in parts)
    return from_histogram(counts, parts[0][1], method, percentile=percentile, classes=classes)


def _check_not_constant(lo, hi) -> None:
    if lo == hi:
        raise NothingToSeparate(
            f"image is constant (every pixel is {lo}); no threshold can separate objects "
            "from background"
        )


def _selected(block, mask_block=None):
    values = block if mask_block is None else block[mask_block]
    if values.dtype.kind == "f":
        values = values[np.isfinite(values)]
    return values.reshape(-1)


def _full_range_counts(block, mask_block=None, *, block_index):
    """Counts of every value of an 8/16-bit block, indexed from the dtype's minimum."""
    values = _selected(np.asarray(block), mask_block)
    info = np.iinfo(values.dtype) if values.dtype != bool else np.iinfo(np.uint8)
    shifted = values.astype(np.int64) - info.min if info.min else values
    return np.bincount(shifted, minlength=int(info.max) - int(info.min) + 1)


def _from_full_range(counts, dtype, method, percentile, classes):
    present = np.flatnonzero(counts)
    if present.size == 0:
        raise NothingToSeparate("the mask selects no pixels; draw or choose a non-empty region")
    start = int(np.iinfo(dtype).min) if dtype.kind != "b" else 0
    first, last = int(present[0]), int(present[-1])
    _check_not_constant(first + start, last + start)
    if method == "mean":
        values = np.arange(first, last + 1, dtype=np.float64) + start
        window = counts[first : last + 1]
        return float((window * values).sum() / window.sum())
    centers = np.arange(first, last + 1, dtype=np.int64) + start
    return from_histogram(
        counts[first : last + 1], centers, method, percentile=percentile, classes=classes
    )


def _finite_range(block, mask_block=None, *, block_index):
    values = _selected(np.asarray(block), mask_block)
    return (values.min().item(), values.max().item()) if values.size else None


def _sum_count(block, mask_block=None, *, block_index):
    values = _selected(np.asarray(block), mask_block)
    return float(values.sum(dtype=np.float64)), values.size


def _counts(block, mask_block=None, *, block_index, value_range, nbins):
    values = _selected(np.asarray(block), mask_block)
    if values.size == 0:
        values = np.asarray(value_range[:1], dtype=block.dtype)[:0]
    counts, centers = histogram(values, nbins=nbins, value_range=_typed(value_range, values))
    return counts, centers


def _typed(value_range, values):
    """The range in the values' own type, as the in-memory histogram gets it."""
    return tuple(values.dtype.type(v) for v in value_range)


def _per_slice(grey, mask, method, dark, options, device):
    """A mask from a threshold for each plane: blocks hold whole planes (split along the
    first axis only), each block is done in memory."""
    grey, arrays = _whole_planes(grey, mask)
    dtype = np.uint8 if method == "multiotsu" else bool
    return da.map_blocks(
        _slices_block, *arrays, method=method, dark=dark, device=device, dtype=dtype, **options
    )


def _slice_values(grey, mask, method, options):
    """The threshold of each plane (computed now)."""
    grey, arrays = _whole_planes(grey, mask)
    values = per_block(_slices_values, *arrays, method=method, **options)
    return np.concatenate(list(values.ravel()))


def _whole_planes(grey, mask):
    grey = grey.rechunk(dict.fromkeys(range(1, grey.ndim), -1))
    return grey, (grey,) if mask is None else (grey, mask.rechunk(grey.chunks))


def _slices_block(block, mask_block=None, *, device, **options):
    return in_memory(block, mask=mask_block, per_slice=True, rgb=False, device=device, **options)


def _slices_values(block, mask_block=None, *, block_index, **options):
    return in_memory_value(
        block, mask=mask_block, per_slice=True, rgb=False, device="cpu", **options
    )

"""Compiled local mean and Gaussian thresholds of a 2D plane, row by row (numba).

They repeat scipy.ndimage's arithmetic step for step, so the mask and the threshold are
bit for bit those of :func:`scipy.ndimage.uniform_filter` / ``gaussian_filter`` on the
plane as float32 (``mode="reflect"``), minus ``offset`` in float32:

- mean: window sums along the columns (exact integers), divided by the window height in
  float64 and rounded to float32 (scipy's first pass); then a running float64 sum along
  each row, started and updated as scipy's ``uniform_filter1d`` does, divided by the
  width and rounded to float32. Integer images only (the column sums must be exact).
- Gaussian: the symmetric 1D correlation of scipy's ``correlate1d`` (centre tap first,
  then the outermost pair inwards, in float64), down the columns, rounded to float32,
  then along the rows.

Nothing the size of the plane is allocated: a row of sums and a padded row of the first
pass, and the mask rows are written straight into ``out``. No GIL: threads run slabs.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload


@numba.njit(cache=True, nogil=True, inline="always")
def _reflect(i, n):
    """Index ``i`` of a length-``n`` axis extended by scipy's "reflect" (d c b a | a b c d)."""
    if n == 1:
        return 0
    i = i % (2 * n)
    return i if i < n else 2 * n - 1 - i


@numba.njit(cache=True, nogil=True, inline="always")
def _pad_row(line, pad, width):
    """Fill the ``pad`` cells either side of ``line[pad:pad + width]`` by reflection."""
    for j in range(pad):
        line[pad - 1 - j] = line[pad + _reflect(-1 - j, width)]
        line[pad + width + j] = line[pad + _reflect(width + j, width)]


@numba.njit(cache=True, nogil=True, inline="always")
def _decide(x, t, offset, dark, out, thresholds, row):
    """``t -= offset`` (float32), then the mask row: ``x > t`` (``x <= t`` when dark)."""
    for j in range(t.size):
        t[j] = t[j] - offset
    if dark:
        for j in range(t.size):
            out[row, j] = x[j] <= t[j]
    else:
        for j in range(t.size):
            out[row, j] = x[j] > t[j]
    if thresholds.shape[0] > 0:
        thresholds[row] = t


def _pair(a, b):
    """float64(a) + float64(b), exactly (compiled code only)."""


@overload(_pair, inline="always")
def _pair_sum(a, b):
    """:func:`_pair`, chosen when compiling: integers of up to 16 bits add as integers,
    then convert once (exact, and cheaper than two conversions)."""
    if isinstance(a, types.Integer) and a.bitwidth <= 16:
        return lambda a, b: np.float64(np.int32(a) + np.int32(b))
    return lambda a, b: np.float64(a) + np.float64(b)


@numba.njit(cache=True, nogil=True)
def _column_sums(plane, start, r0):
    """int64 sums down each column of the rows ``start - r0 … start + r0`` (reflected)."""
    h, w = plane.shape
    sums = np.zeros(w, np.int64)
    for k in range(start - r0, start + r0 + 1):
        row = plane[_reflect(k, h)]
        for j in range(w):
            sums[j] += row[j]
    return sums


@numba.njit(cache=True, nogil=True)
def mean_rows(plane, start, stop, height, width, offset, dark, out, thresholds, lut):
    """Mask rows ``start:stop`` of the local mean threshold of integer ``plane`` over
    ``height`` × ``width`` windows (odd) into ``out[0:stop - start]``, and the threshold
    into ``thresholds`` unless it has no rows. ``lut``: ``float32(s / height)`` for every
    column sum ``s`` (uint8 planes), or empty to divide."""
    h, w = plane.shape
    r0, r1 = height // 2, width // 2
    sums = _column_sums(plane, start, r0)
    line = np.empty(w + width - 1, np.float32)
    acc = np.empty(w, np.float64)
    t = np.empty(w, np.float32)
    off = np.float32(offset)
    for i in range(start, stop):
        if i > start:
            add, sub = plane[_reflect(i + r0, h)], plane[_reflect(i - r0 - 1, h)]
            for j in range(w):
                sums[j] += np.int64(add[j]) - np.int64(sub[j])
        if lut.size > 0:
            for j in range(w):
                line[r1 + j] = lut[sums[j]]
        else:
            for j in range(w):
                line[r1 + j] = np.float32(sums[j] / height)
        _pad_row(line, r1, w)
        tmp = 0.0  # scipy's uniform_filter1d: sum the first window, then add and drop
        for k in range(width):
            tmp += line[k]
        acc[0] = tmp
        for j in range(1, w):
            tmp += np.float64(line[j + width - 1]) - np.float64(line[j - 1])
            acc[j] = tmp
        for j in range(w):
            t[j] = np.float32(acc[j] / width)
        _decide(plane[i], t, off, dark, out, thresholds, i - start)
    return out


@numba.njit(cache=True, nogil=True)
def gaussian_rows(plane, start, stop, down, across, offset, dark, out, thresholds):
    """Mask rows ``start:stop`` of the Gaussian-weighted local mean threshold of ``plane``
    (integer or float32) with the symmetric float64 weights ``down`` the columns and
    ``across`` the rows (odd lengths), written as :func:`mean_rows` does."""
    h, w = plane.shape
    r0, r1 = down.size // 2, across.size // 2
    acc = np.empty(w, np.float64)
    line = np.empty(w + 2 * r1, np.float32)
    t = np.empty(w, np.float32)
    off = np.float32(offset)
    for i in range(start, stop):
        centre = plane[i]
        weight = down[r0]
        for j in range(w):
            acc[j] = np.float64(centre[j]) * weight
        for k in range(r0, 0, -1):  # correlate1d: outermost pair first
            up, low, weight = plane[_reflect(i - k, h)], plane[_reflect(i + k, h)], down[r0 - k]
            for j in range(w):
                acc[j] += _pair(up[j], low[j]) * weight
        for j in range(w):
            line[r1 + j] = np.float32(acc[j])
        _pad_row(line, r1, w)
        weight = across[r1]
        for j in range(w):
            acc[j] = np.float64(line[r1 + j]) * weight
        for k in range(r1, 0, -1):
            left, right, weight = (
                line[r1 - k : r1 - k + w],
                line[r1 + k : r1 + k + w],
                across[r1 - k],
            )
            for j in range(w):
                acc[j] += (np.float64(left[j]) + np.float64(right[j])) * weight
        for j in range(w):
            t[j] = np.float32(acc[j])
        _decide(centre, t, off, dark, out, thresholds, i - start)
    return out


@numba.njit(cache=True, nogil=True)
def mean_rows_fixed(plane, start, stop, height, width, dark, out, fixed, below):
    """:func:`mean_rows` for uint8 planes without a division: each column sum's float32
    mean is ``fixed[s]`` · 2^-K (an exact integer, K from :func:`fixed_point_tables`), so
    the row sums are exact int64; a pixel ``x`` is foreground where that sum is below
    ``below[x]`` (at or above it when dark), the same decision as scipy's float path."""
    h, w = plane.shape
    r0, r1 = height // 2, width // 2
    sums = _column_sums(plane, start, r0)
    line = np.empty(w + width - 1, np.int64)
    acc = np.empty(w, np.int64)
    for i in range(start, stop):
        if i > start:
            add, sub = plane[_reflect(i + r0, h)], plane[_reflect(i - r0 - 1, h)]
            for j in range(w):
                sums[j] += np.int64(add[j]) - np.int64(sub[j])
        for j in range(w):
            line[r1 + j] = fixed[sums[j]]
        _pad_row(line, r1, w)
        tmp = np.int64(0)
        for k in range(width):
            tmp += line[k]
        acc[0] = tmp
        for j in range(1, w):
            tmp += line[j + width - 1] - line[j - 1]
            acc[j] = tmp
        x, o = plane[i], out[i - start]
        if dark:
            for j in range(w):
                o[j] = acc[j] >= below[x[j]]
        else:
            for j in range(w):
                o[j] = acc[j] < below[x[j]]
    return out

"""Compiled 2D connected-component labelling by runs (numba), split between threads.

Each band of rows is turned into runs (stretches of foreground along a row) and its runs
are joined to the overlapping runs of the row above (one pixel further for 8-connectivity)
in a union-find whose root is always the component's first run in raster order; bands run
in the pool's threads, their seams are joined after. Numbering the roots in run order then
gives scikit-image's numbering (objects by their first pixel in raster order), and the
labels are written band by band, each pixel once.
"""

from __future__ import annotations

import numba
import numpy as np

from ._pages import empty
from ._pool import map_tasks
from ._pool import workers as pool_workers

#: pixels from which the rows are split between threads (below, waking one costs more)
THREADED = 1 << 20


def label_2d(mask: np.ndarray, connectivity: int) -> np.ndarray:
    """int32 labels of a 2D mask, equal to ``skimage.measure.label(mask, connectivity=
    connectivity)`` (1: 4-connected, 2: 8-connected)."""
    pixels = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    ny, nx = pixels.shape
    if pixels.size == 0:
        return np.zeros((ny, nx), np.int32)
    bands = min(pool_workers(), ny) if pixels.size >= THREADED else 1
    edges = np.linspace(0, ny, bands + 1).astype(np.int64)
    runs = np.zeros(ny + 1, np.int64)
    map_tasks(lambda b: _count_runs(pixels, edges[b], edges[b + 1], runs), range(bands))
    first = np.zeros(ny + 1, np.int64)  # the first run of each row (and the total)
    np.cumsum(runs[:ny], out=first[1:])
    index = np.int32 if first[-1] < 2**31 else np.int64
    starts, ends = np.empty(first[-1], index), np.empty(first[-1], index)
    parent = np.empty(first[-1], index)
    reach = connectivity - 1  # how far past a run's end a run of the next row still touches
    map_tasks(
        lambda b: _band_runs(pixels, edges[b], edges[b + 1], first, starts, ends, parent, reach),
        range(bands),
    )
    for seam in edges[1:-1]:
        _join_rows(seam, first, starts, ends, parent, reach)
    ids = _number(parent)
    out = empty((ny, nx), np.int32 if ids.size < 2**31 else np.int64)
    map_tasks(lambda b: _write(out, edges[b], edges[b + 1], first, starts, ends, ids), range(bands))
    return out


@numba.njit(cache=True, nogil=True)
def _count_runs(pixels, r0, r1, runs):
    """``runs[r]`` = how many runs row ``r`` holds, for rows ``r0`` … ``r1 - 1``."""
    nx = pixels.shape[1]
    for r in range(r0, r1):
        row = pixels[r]
        count = np.int64(row[0])
        for x in range(1, nx):
            count += row[x] > row[x - 1]
        runs[r] = count


@numba.njit(cache=True, nogil=True)
def _band_runs(pixels, r0, r1, first, starts, ends, parent, reach):
    """The runs of rows ``r0`` … ``r1 - 1`` (each its own root), joined row by row. A row's
    run ends are found without branching on the pixels (a store per pixel, kept only at a
    change), which noisy masks with runs of a few pixels would mispredict."""
    nx = pixels.shape[1]
    row_starts = np.empty(nx + 1, np.int64)
    row_ends = np.empty(nx + 1, np.int64)
    for r in range(r0, r1):
        row = pixels[r]
        a = b = 0
        before = np.uint8(0)
        for x in range(nx):
            here = row[x]
            row_starts[a] = x
            a += here > before
            row_ends[b] = x - 1
            b += here < before
            before = here
        row_ends[b] = nx - 1
        k = first[r]
        for i in range(a):
            starts[k + i], ends[k + i], parent[k + i] = row_starts[i], row_ends[i], k + i
        if r > r0:
            _join_rows(r, first, starts, ends, parent, reach)


@numba.njit(cache=True, nogil=True)
def _join_rows(r, first, starts, ends, parent, reach):
    """Join each run of row ``r`` to the runs of row ``r - 1`` it touches."""
    i, j = first[r - 1], first[r]
    while i < first[r] and j < first[r + 1]:
        if starts[i] <= ends[j] + reach and starts[j] <= ends[i] + reach:
            a, b = _root(parent, i), _root(parent, j)
            if a < b:
                parent[b] = a
            elif b < a:
                parent[a] = b
        if ends[i] < ends[j]:
            i += 1
        else:
            j += 1


@numba.njit(cache=True, nogil=True, inline="always")
def _root(parent, i):
    """The root of run ``i`` (the component's first run), halving the path on the way."""
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


@numba.njit(cache=True, nogil=True)
def _number(parent):
    """The object id of each run: roots numbered 1, 2, … in run (raster) order."""
    ids = np.empty(parent.size, parent.dtype)
    count = 0
    for i in range(parent.size):
        root = _root(parent, i)
        if root == i:
            count += 1
            ids[i] = count
        else:
            ids[i] = ids[root]  # an earlier run: numbered already
    return ids


@numba.njit(cache=True, nogil=True)
def _write(out, r0, r1, first, starts, ends, ids):
    """Rows ``r0`` … ``r1 - 1`` of the labels, each pixel written once."""
    for r in range(r0, r1):
        row = out[r]
        x = 0
        for k in range(first[r], first[r + 1]):
            row[x : starts[k]] = 0
            x = ends[k] + 1
            row[starts[k] : x] = ids[k]
        row[x:] = 0

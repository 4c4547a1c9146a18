"""Compiled binary erosion and dilation (numba) for balls: SciPy's results, border 0.

A ball (:func:`._geometry.ball`, any spacing) is a stack of rows along the last axis, each a
run centred on that axis. Eroding by one such row is, per voxel, whether the nearest 0 along
the row is more than the run's half-width away: that distance (capped just above the largest
half-width) is found once per row, kept in a ring of the rows the footprint reaches, and each
output row is the AND of the footprint's rows of distances, compared with their half-widths
(a vectorised loop per row). Blocks of rows go to the pool's threads.
Dilation is the erosion of the background, with the outside then counted as background too.
"""

from __future__ import annotations

import numba
import numpy as np

from ._pages import empty
from ._pool import map_tasks
from ._pool import workers as pool_workers


def footprint_rows(footprint: np.ndarray) -> np.ndarray:
    """(k × 3) int64 (z offset, y offset, half-width) of the footprint's rows along the last
    axis, offsets from the centre, 1-3D; every row must be a run centred on the axis (balls
    and ellipsoids are)."""
    footprint = np.asarray(footprint, dtype=bool)
    cube = footprint.reshape((1,) * (3 - footprint.ndim) + footprint.shape)
    counts = cube.sum(axis=2)
    z, y = np.nonzero(counts)
    centre = np.array(cube.shape[:2]) // 2
    return np.stack([z - centre[0], y - centre[1], counts[z, y] // 2], axis=1).astype(np.int64)


def erode(mask: np.ndarray, footprint: np.ndarray, *, reuse: bool = False) -> np.ndarray:
    """``scipy.ndimage.binary_erosion(mask, footprint)`` (outside 0) for 1-3D masks; with
    ``reuse``, written over ``mask`` (a C-contiguous bool array) where one thread does it."""
    return _filter(mask, footprint_rows(footprint), erosion=True, reuse=reuse)


def dilate(mask: np.ndarray, footprint: np.ndarray, *, reuse: bool = False) -> np.ndarray:
    """``scipy.ndimage.binary_dilation(mask, footprint)`` (outside 0) for 1-3D masks;
    ``reuse`` as for :func:`erode`."""
    return _filter(mask, footprint_rows(footprint), erosion=False, reuse=reuse)


def _filter(mask: np.ndarray, rows: np.ndarray, erosion: bool, reuse: bool) -> np.ndarray:
    """Erosion of the voxels that are 1 (``erosion``) or 0 (dilation, inverted after), with
    the outside as 0; the rows are split between the pool's threads. With ``reuse`` and one
    thread, each output line overwrites its input line: the ring has read every line the
    footprint reaches from it before it is written (no new array to map: a 1024² opening
    takes 10 % less)."""
    mask = np.asarray(mask)
    cube = (1,) * (3 - mask.ndim) + mask.shape
    voxels = np.ascontiguousarray(mask, dtype=bool).reshape(cube).view(np.uint8)
    cap = int(rows[:, 2].max()) + 1  # distances above every half-width all pass alike
    dtype = np.uint8 if cap <= 255 else np.uint16 if cap <= 65535 else np.int64
    lines = cube[0] * cube[1]
    # a block per thread, far longer than the lines its ring finds again at its start
    reach = int((np.abs(rows[:, 0]) * cube[1] + np.abs(rows[:, 1])).max())
    parts = pool_workers() if voxels.size >= THREADED else 1
    step = max(-(-lines // parts), 8 * reach, 1)
    if reuse and step >= lines and mask.dtype == bool and np.shares_memory(mask, voxels):
        out = mask
    else:
        out = empty(mask.shape, bool)  # mapped at once: threads faulting pages contend
    args = (
        voxels,
        1 if erosion else 0,
        0 if erosion else cap,
        cap,
        cap <= RELAX_CAP,
        rows[:, :2].copy(),
        rows[:, 2].astype(dtype),
        not erosion,
        out.reshape(cube).view(np.uint8),
        np.empty(0, dtype),
    )
    map_tasks(
        lambda first: _filter_lines(*args, first, min(first + step, lines)), range(0, lines, step)
    )
    return out


#: up to this cap the distances come from cap - 1 vectorised erosion sweeps per row, above it
#: from one sequential scan per direction
RELAX_CAP = 24
#: voxels from which the rows are split between threads
THREADED = 1 << 21


@numba.njit(cache=True, nogil=True)
def _filter_lines(
    voxels, want, outside, cap, relax, offsets, halves, dilation, out, like, first, stop
):
    """Output lines ``first`` … ``stop - 1`` (line = z * ny + y) of :func:`_filter`: the
    distances of the lines the footprint reaches are kept in a ring of lines, each found
    once, just before the first output line that needs it."""
    nz, ny, nx = voxels.shape
    reach = 0
    for r in range(offsets.shape[0]):
        reach = max(reach, abs(offsets[r, 0]) * ny + abs(offsets[r, 1]))
    lines = nz * ny
    begin = max(first - reach, 0)
    size = min(stop + reach, lines) - begin
    size = min(size, 2 * reach + 1)
    ring = np.empty((size, nx), like.dtype)
    old = np.empty(nx + 2, np.uint8)
    new = np.empty(nx + 2, np.uint8)
    found = begin  # the next line whose distances are to be found
    for line in range(first, stop):
        while found < min(line + reach + 1, lines):
            row = voxels[found // ny, found % ny]
            if relax:
                _relaxed(row, want, outside, cap, old, new, ring[found % size])
            else:
                _scanned(row, want, outside, cap, ring[found % size])
            found += 1
        _combine(
            ring,
            size,
            line // ny,
            line % ny,
            nz,
            ny,
            offsets,
            halves,
            dilation,
            out[line // ny, line % ny],
        )


@numba.njit(cache=True, nogil=True)
def _relaxed(row, want, outside, cap, old, new, out):
    """``out`` = per voxel of ``row`` the distance to the nearest voxel that is not
    ``want``, at most ``cap``; the outside counts as ``outside`` (0: not ``want``; ``cap``:
    ``want`` without end). Found as the count of k = 0 … cap - 1 for which the voxel
    survives k erosions of the ``want`` voxels by 3 (distance > k), in uint8 AND sweeps;
    ``old`` and ``new`` are scratch rows of ``row.size + 2``."""
    nx = row.size
    pad = np.uint8(1 if outside else 0)
    old[0] = old[nx + 1] = new[0] = new[nx + 1] = pad
    for x in range(nx):
        kept = np.uint8(row[x] == want)
        old[x + 1] = kept
        out[x] = kept
    for _ in range(cap - 1):
        for x in range(nx):
            kept = old[x] & old[x + 1] & old[x + 2]
            new[x + 1] = kept
            out[x] += kept
        old, new = new, old


@numba.njit(cache=True, nogil=True)
def _scanned(row, want, outside, cap, out):
    """:func:`_relaxed` by a scan in each direction (run lengths of ``want``)."""
    nx = row.size
    count = outside
    for x in range(nx):
        count = min(count + 1, cap) if row[x] == want else 0
        out[x] = count
    count = outside
    for x in range(nx - 1, -1, -1):
        count = min(count + 1, cap) if row[x] == want else 0
        out[x] = min(out[x], count)


@numba.njit(cache=True, nogil=True)
def _combine(ring, size, z, y, nz, ny, offsets, halves, dilation, line):
    """``line`` (uint8, output row z, y) = 1 where, in every footprint row (``offsets``
    from the voxel, each of half-width ``halves``), the distance (line ``l`` of the image
    at ``ring[l % size]``) exceeds the half-width; a row outside the image fails an
    erosion and passes a dilation, whose result is then inverted."""
    nx = line.size
    unset = True  # no row compared yet: the first one is written, not ANDed
    for r in range(offsets.shape[0]):
        zz, yy = z + offsets[r, 0], y + offsets[r, 1]
        if zz < 0 or zz >= nz or yy < 0 or yy >= ny:
            if not dilation:
                line[:] = 0
                unset = False
                break
            continue
        source, half = ring[(zz * ny + yy) % size], halves[r]
        if unset:
            for x in range(nx):
                line[x] = np.uint8(source[x] > half)
            unset = False
        else:
            for x in range(nx):
                line[x] &= np.uint8(source[x] > half)
    if unset:
        line[:] = 1
    if dilation:
        for x in range(nx):
            line[x] ^= np.uint8(1)

"""Compiled binary erosion and dilation (numba) for balls: SciPy's results, border 0.

A ball (:func:`._geometry.ball`, any spacing) is a stack of rows along the last axis, each a
run centred on that axis. Eroding by one such row is, per voxel, whether the nearest 0 along
the row is more than the run's half-width away: that distance (capped just above the largest
half-width) is found for every voxel first, then each output row is the AND of the
footprint's rows of distances, compared with their half-widths (a vectorised loop per row).
Dilation is the erosion of the background, with the outside then counted as background too.
"""

from __future__ import annotations

import numba
import numpy as np


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


def erode(mask: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_erosion(mask, footprint)`` (outside 0) for 1-3D masks."""
    return _filter(mask, footprint_rows(footprint), erosion=True)


def dilate(mask: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """``scipy.ndimage.binary_dilation(mask, footprint)`` (outside 0) for 1-3D masks."""
    return _filter(mask, footprint_rows(footprint), erosion=False)


def _filter(mask: np.ndarray, rows: np.ndarray, erosion: bool) -> np.ndarray:
    """Erosion of the voxels that are 1 (``erosion``) or 0 (dilation, inverted after), with
    the outside as 0."""
    mask = np.asarray(mask)
    cube = (1,) * (3 - mask.ndim) + mask.shape
    voxels = np.ascontiguousarray(mask, dtype=bool).reshape(cube).view(np.uint8)
    cap = int(rows[:, 2].max()) + 1  # distances above every half-width all pass alike
    dtype = np.uint8 if cap <= 255 else np.uint16 if cap <= 65535 else np.int64
    distance = np.empty(cube, dtype)
    want = 1 if erosion else 0
    _distances(voxels, want, 0 if erosion else cap, cap, distance)
    out = np.empty(mask.shape, bool)
    _combine(distance, rows[:, :2].copy(), rows[:, 2].astype(dtype), not erosion,
             out.reshape(cube).view(np.uint8))
    return out


#: up to this cap the distances come from relaxation (cap - 1 vectorised sweeps per row),
#: above it from one sequential scan per direction
RELAX_CAP = 24


def _distances(voxels, want, outside, cap, out):
    """``out`` = per voxel the distance along the last axis to the nearest voxel that is not
    ``want``, at most ``cap``; the outside counts as ``outside`` voxels of ``want`` already
    passed (0: not ``want``; ``cap``: ``want`` without end)."""
    if cap <= RELAX_CAP:
        _relaxed(voxels, want, outside, cap, out)
    else:
        _scanned(voxels, want, outside, cap, out)


@numba.njit(cache=True, nogil=True)
def _relaxed(voxels, want, outside, cap, out):
    """:func:`_distances` by relaxation: start at ``cap`` on ``want`` voxels and 0 elsewhere,
    then ``cap - 1`` times take the smaller neighbour's value + 1 (on ``want`` voxels)."""
    nz, ny, nx = voxels.shape
    old = np.empty(nx + 2, out.dtype)
    new = np.empty(nx + 2, out.dtype)
    old[0] = old[nx + 1] = new[0] = new[nx + 1] = outside
    top, zero = out.dtype.type(cap), out.dtype.type(0)
    below = out.dtype.type(cap - 1)
    one, mark = out.dtype.type(1), voxels.dtype.type(want)
    for z in range(nz):
        for y in range(ny):
            row = voxels[z, y]
            for x in range(nx):
                old[x + 1] = top if row[x] == mark else zero
            for _ in range(cap - 1):
                for x in range(nx):
                    step = min(min(old[x], old[x + 2]), below) + one
                    new[x + 1] = step if row[x] == mark else zero
                old, new = new, old
            out[z, y] = old[1:nx + 1]


@numba.njit(cache=True, nogil=True)
def _scanned(voxels, want, outside, cap, out):
    """:func:`_distances` by a scan in each direction (run lengths of ``want``)."""
    nz, ny, nx = voxels.shape
    for z in range(nz):
        for y in range(ny):
            count = outside
            for x in range(nx):
                count = min(count + 1, cap) if voxels[z, y, x] == want else 0
                out[z, y, x] = count
            count = outside
            for x in range(nx - 1, -1, -1):
                count = min(count + 1, cap) if voxels[z, y, x] == want else 0
                out[z, y, x] = min(out[z, y, x], count)


@numba.njit(cache=True, nogil=True)
def _combine(distance, offsets, halves, dilation, out):
    """``out`` (uint8) = 1 where, in every footprint row (``offsets`` from the voxel, each of
    half-width ``halves``), the distance exceeds the half-width; a row outside the image
    fails an erosion and passes a dilation, whose result is then inverted."""
    nz, ny, nx = distance.shape
    for z in range(nz):
        for y in range(ny):
            line = out[z, y]
            line[:] = 1
            for r in range(offsets.shape[0]):
                zz, yy = z + offsets[r, 0], y + offsets[r, 1]
                if zz < 0 or zz >= nz or yy < 0 or yy >= ny:
                    if not dilation:
                        line[:] = 0
                        break
                    continue
                source, half = distance[zz, yy], halves[r]
                for x in range(nx):
                    line[x] &= np.uint8(source[x] > half)
            if dilation:
                for x in range(nx):
                    line[x] ^= np.uint8(1)

"""Compiled magic wand (numba): the voxels connected to a seed whose value is within a
tolerance of a reference, by a scanline flood that tests each voxel as it reaches it.

Only the region and its rim are read: no mask of the voxels within the tolerance is made
first. The flood takes a voxel off a stack, extends it along its row (the last axis) over
the unvisited voxels within the tolerance, then scans the neighbouring rows alongside that
run (one voxel wider where the connectivity allows diagonal steps) and pushes the first
voxel of each stretch of unvisited voxels within the tolerance. Visited voxels carry the
seed's id in ``owner``; the set found is the connected component, whatever the order.
"""

from __future__ import annotations

import numba
import numpy as np


def neighbour_rows(ndim: int, connectivity: int) -> np.ndarray:
    """(k × 3) int64 (z step, y step, reach) of the rows a row touches at ``connectivity``
    (1…ndim; 1-3D): reach 1 where diagonal steps along the row are allowed too."""
    rows = []
    for dz in (-1, 0, 1) if ndim == 3 else (0,):
        for dy in (-1, 0, 1) if ndim >= 2 else (0,):
            steps = abs(dz) + abs(dy)
            if 0 < steps <= connectivity:
                rows.append((dz, dy, int(steps < connectivity)))
    return np.array(rows, np.int64).reshape(-1, 3)


def grow(values, shape, connectivity, seeds, label, owner, claims, table, reference, tolerance):
    """Flood from ``seeds`` (flat voxel indices, taken whatever their values) over the
    voxels within the tolerance; each voxel reached gets ``label`` in ``owner`` (flat int32,
    any other id counts as unvisited) and one more in ``claims`` (flat uint8; empty: none).

    ``values`` (voxels × channels) are read as float32. With a ``table`` (bool, indexed by
    the grey value's unsigned bits) a voxel is within the tolerance where the table says so;
    without one (empty) where √(Σ (value − ``reference``)² in float32) ≤ ``tolerance``
    (float64, holding the threshold as NumPy would compare it), channels summed in order.
    """
    nz, ny, nx = (1,) * (3 - len(shape)) + tuple(shape)
    _grow(
        values,
        nz,
        ny,
        nx,
        neighbour_rows(len(shape), connectivity),
        seeds,
        label,
        owner,
        claims,
        table,
        reference,
        tolerance,
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _within(values, j, table, reference, tolerance):
    """Whether voxel ``j`` is within the tolerance (see :func:`grow`)."""
    if table.size:
        return table[np.int64(values[j, 0])]
    total = np.float32(0)
    for c in range(values.shape[1]):
        d = np.float32(values[j, c]) - reference[c]
        total = d * d if c == 0 else total + d * d
    return np.float64(np.sqrt(total)) <= tolerance


@numba.njit(cache=True, nogil=True)
def _grow(values, nz, ny, nx, rows, seeds, label, owner, claims, table, reference, tolerance):
    """Mark and stack the seeds, then flood (:func:`_spans`), growing the stack between
    calls: kept out of the hot loop, whose arrays are then never reassigned."""
    counting = claims.size > 0
    room = rows.shape[0] * (nx // 2 + 2)  # the most voxels one run can stack
    stack = np.empty(seeds.size + 4 * room, np.int64)
    top = 0
    for s in seeds:
        if owner[s] != label:
            owner[s] = label
            if counting:
                claims[s] += 1
            stack[top] = s
            top += 1
    while top > 0:
        if stack.size - top < room:
            bigger = np.empty(2 * stack.size, np.int64)
            bigger[:top] = stack[:top]
            stack = bigger
        top = _spans(
            values,
            nz,
            ny,
            nx,
            rows,
            label,
            owner,
            claims,
            table,
            reference,
            tolerance,
            stack,
            top,
            room,
        )


@numba.njit(cache=True, nogil=True)
def _spans(
    values, nz, ny, nx, rows, label, owner, claims, table, reference, tolerance, stack, top, room
):
    """Flood from the ``top`` voxels on ``stack`` until none is left or fewer than
    ``room`` places are free; returns how many are stacked."""
    counting = claims.size > 0
    plane = ny * nx
    while top > 0 and stack.size - top >= room:
        top -= 1
        p = stack[top]
        start = p - p % nx  # the row's first voxel
        z, y = p // plane, (p % plane) // nx
        x0 = x1 = p - start
        while (
            x0 > 0
            and owner[start + x0 - 1] != label
            and _within(values, start + x0 - 1, table, reference, tolerance)
        ):
            x0 -= 1
            owner[start + x0] = label
            if counting:
                claims[start + x0] += 1
        while (
            x1 + 1 < nx
            and owner[start + x1 + 1] != label
            and _within(values, start + x1 + 1, table, reference, tolerance)
        ):
            x1 += 1
            owner[start + x1] = label
            if counting:
                claims[start + x1] += 1
        for r in range(rows.shape[0]):
            zz, yy, reach = z + rows[r, 0], y + rows[r, 1], rows[r, 2]
            if zz < 0 or zz >= nz or yy < 0 or yy >= ny:
                continue
            base = (zz * ny + yy) * nx
            open_ = False  # inside a stretch whose first voxel is already stacked
            for x in range(max(x0 - reach, 0), min(x1 + reach + 1, nx)):
                j = base + x
                if owner[j] != label and _within(values, j, table, reference, tolerance):
                    if not open_:
                        owner[j] = label
                        if counting:
                            claims[j] += 1
                        stack[top] = j
                        top += 1
                        open_ = True
                else:
                    open_ = False
    return top

"""Marker-based watershed as a cellular automaton on the GPU (watershed.cu) and its NumPy
twin, run by one driver (:func:`napari_segkit.kernels.until_stable`).

It floods by minimax paths: each voxel goes to the marker whose flood reaches it at the
lowest level; on a tie, to the flood that came from the lower neighbour, then the nearer one
on a plateau, then the smaller id. That is the order in which a priority flood
(scikit-image's watershed) takes voxels, so the two agree except where floods truly tie.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..backend import get_xp
from . import grid, kernel, shifted, until_stable

KERNELS = ("flood_step",)


def flood(landscape, markers, mask=None, connectivity: int = 1):
    """int32 labels: ``markers`` (int32 ids, 0 = none) flooded over ``landscape`` (float32),
    only inside ``mask`` (default everywhere); 1–3 axes, NumPy or CuPy."""
    xp = get_xp(landscape)
    if not 1 <= landscape.ndim <= 3:
        raise ValueError(f"the flood kernel takes 1 to 3 axes, not {landscape.ndim}")
    landscape = xp.ascontiguousarray(landscape, dtype=xp.float32)
    markers = xp.ascontiguousarray(markers, dtype=xp.int32)
    mask = (
        xp.ones(landscape.shape, bool) if mask is None else xp.ascontiguousarray(mask, dtype=bool)
    )
    markers = xp.where(mask, markers, 0).astype(xp.int32)
    cost = xp.where(markers > 0, landscape, xp.float32(np.inf)).astype(xp.float32)
    state = (cost, cost.copy(), xp.zeros(landscape.shape, xp.int32), markers.copy())
    offsets = flood_offsets(landscape.ndim, connectivity)
    if xp is np:
        step = _twin_step(landscape, mask, markers, offsets)
    else:
        step = _gpu_step(landscape, mask, markers, offsets)
    return until_stable(step, state, xp)[3]


def flood_offsets(ndim: int, connectivity: int) -> np.ndarray:
    """Every neighbour offset within ``connectivity`` (both signs), in raster order."""
    found = [
        o
        for o in itertools.product((-1, 0, 1), repeat=ndim)
        if 1 <= sum(v != 0 for v in o) <= connectivity
    ]
    return np.asarray(found, np.int32)


def _gpu_step(landscape, mask, markers, offsets):
    import cupy

    dims = (1,) * (3 - landscape.ndim) + landscape.shape
    padded = np.zeros((len(offsets), 3), np.int32)
    padded[:, 3 - landscape.ndim :] = offsets
    padded = cupy.asarray(padded)
    mask = mask.view(cupy.uint8)
    function = kernel("watershed", "flood_step")

    def step(state, spare, changed):
        function(
            grid(landscape.size),
            (256,),
            (
                landscape,
                mask,
                markers,
                *state,
                *spare,
                *(np.int32(n) for n in dims),
                padded,
                np.int32(len(offsets)),
                changed,
            ),
        )

    return step


def _twin_step(landscape, mask, markers, offsets):
    """One synchronous step of the automaton, neighbours in the kernel's order."""
    free = mask & (markers <= 0)
    shape = landscape.shape

    def step(state, spare, changed):
        cost, _, steps, labels = state
        for new, old in zip(spare, state):
            np.copyto(new, old)
        best = spare
        for offset in offsets:
            here, there = shifted(offset, shape)
            c_j, d_j, l_j = cost[there], steps[there], labels[there]
            c = np.maximum(c_j, landscape[here])
            d = np.where(c == c_j, d_j + 1, 0)
            bc, bp, bd, bl = (b[here] for b in best)
            take = (
                free[here]
                & (l_j != 0)
                & (
                    (c < bc)
                    | (
                        (c == bc)
                        & ((c_j < bp) | ((c_j == bp) & ((d < bd) | ((d == bd) & (l_j < bl)))))
                    )
                )
            )
            bc[take], bp[take], bd[take], bl[take] = c[take], c_j[take], d[take], l_j[take]
        if any((a != b).any() for a, b in zip(spare, state)):
            changed[0] = 1

    return step

"""Instance labels of dask images with globally unique ids across blocks.

Two passes, so that memory stays bounded by a few blocks whatever the image's size: the
first (when the function is called) labels every block, keeps only what lies on block
borders, and joins objects across them (a union-find over all ids); the second (when the
result is used) labels each block again and renumbers it through its part of the join.
"""

from __future__ import annotations

import dask
import dask.array as da
import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from ...backend import lazy_version_of
from ...progress import reporting
from ...tiling.blocks import per_block
from .. import components

_MAX_ID = np.iinfo(np.int32).max


@lazy_version_of(components.label)
def label(mask, *, connectivity: int | None = None, device: str = "auto", progress=None):
    """:func:`napari_segkit.label` of a dask mask: int32 ids 1…N, equal to the in-memory
    result up to renumbering (objects are numbered by the first block they reach)."""
    if mask.ndim < 1:
        raise ValueError("label needs an array with at least one axis")
    connectivity = mask.ndim if connectivity is None else connectivity
    if not 1 <= connectivity <= mask.ndim:
        raise ValueError(f"connectivity must be between 1 and {mask.ndim}, not {connectivity}")
    options = {"connectivity": connectivity, "device": device}
    with reporting(progress):
        found = per_block(_label_and_faces, mask, grid=mask.numblocks, **options)
    counts = np.vectorize(lambda f: f[0], otypes=[np.int64])(found)
    offsets = np.cumsum(counts.ravel()).reshape(counts.shape) - counts
    pairs = _face_pairs(found, offsets, connectivity)
    lut = _join(int(counts.sum()), pairs)
    return _renumbered(mask, _label_block, counts, offsets, lut, options)


def _label_and_faces(block, *, block_index, grid, connectivity, device):
    """A block's object count and its labels on each face that borders another block."""
    labels = components.label(np.asarray(block), connectivity=connectivity, device=device)
    return int(labels.max(initial=0)), _faces(labels, block_index, grid)


def _faces(labels, index, grid) -> dict:
    faces = {}
    for axis in range(labels.ndim):
        if index[axis] > 0:
            faces[axis, 0] = np.take(labels, 0, axis=axis)
        if index[axis] < grid[axis] - 1:
            faces[axis, 1] = np.take(labels, -1, axis=axis)
    return faces


def _label_block(block, connectivity, device):
    return components.label(np.asarray(block), connectivity=connectivity, device=device)


def _face_pairs(found, offsets, connectivity) -> np.ndarray:
    """(id, id) of objects that touch across block borders, in global ids: for each border
    plane, the last plane before it and the first after it, compared at every offset the
    connectivity allows (so diagonal touches across block corners count too)."""
    grid = found.shape
    pairs = [np.zeros((0, 2), np.int64)]
    for axis in range(len(grid)):
        for k in range(grid[axis] - 1):
            before = _plane(found, offsets, axis, k, side=1)
            after = _plane(found, offsets, axis, k + 1, side=0)
            pairs.append(touching(before, after, connectivity - 1))
    return np.concatenate(pairs)


def _plane(found, offsets, axis, k, side) -> np.ndarray:
    """The whole image's plane on one side of a border, from the faces of its blocks."""
    pieces = np.take(found, k, axis=axis)
    starts = np.take(offsets, k, axis=axis)
    shifted = np.empty(pieces.shape, dtype=object)
    for index in np.ndindex(*pieces.shape):
        face = pieces[index][1][axis, side].astype(np.int64)
        shifted[index] = np.where(face > 0, face + starts[index], 0)
    return assemble(shifted)


def assemble(grid: np.ndarray, axis: int = 0) -> np.ndarray:
    """One array from an object array of blocks laid out as the grid."""
    if grid.ndim == 1:
        return np.concatenate(list(grid), axis=axis)
    return np.concatenate([assemble(g, axis + 1) for g in grid], axis=axis)


def touching(before: np.ndarray, after: np.ndarray, sideways: int) -> np.ndarray:
    """Pairs of non-zero ids at voxels of two adjacent planes that are neighbours: the same
    position, or up to ``sideways`` axes shifted by one (diagonals)."""
    pairs = []
    for shift in np.ndindex(*(3,) * before.ndim):
        shift = np.asarray(shift) - 1
        if np.count_nonzero(shift) > sideways:
            continue
        a = before[tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(shift, before.shape))]
        b = after[tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(shift, after.shape))]
        both = (a > 0) & (b > 0)
        pairs.append(np.stack([a[both], b[both]], axis=1))
    return np.unique(np.concatenate(pairs), axis=0) if pairs else np.zeros((0, 2), np.int64)


def _join(count: int, pairs: np.ndarray) -> np.ndarray:
    """For ids 0…count, the final id of each: joined ids share one, numbered 1…M in the
    order of their smallest member (0 stays 0)."""
    if count > _MAX_ID:
        raise ValueError(f"{count} objects before joining: more than int32 labels can hold")
    graph = sparse.coo_matrix(
        (np.ones(len(pairs), np.int8), (pairs[:, 0], pairs[:, 1])), shape=(count + 1, count + 1)
    )
    _, lut = csgraph.connected_components(graph, directed=False)
    return lut.astype(np.int32)


def _renumbered(source, block_function, counts, offsets, lut, options) -> da.Array:
    """The lazy result: each block of ``source`` labelled again by ``block_function`` and
    renumbered through its slice of ``lut``."""
    pieces = source.to_delayed()
    blocks = np.empty(source.numblocks, dtype=object)
    for index in np.ndindex(*source.numblocks):
        start, n = int(offsets[index]), int(counts[index])
        local = lut[start : start + n + 1].copy()
        local[0] = 0
        shape = tuple(source.chunks[axis][i] for axis, i in enumerate(index))
        task = dask.delayed(_through, pure=True)(block_function, pieces[index], local, options)
        blocks[index] = da.from_delayed(task, shape=shape, dtype=np.int32)
    return da.block(blocks.tolist())


def _through(block_function, block, local, options):
    return local[block_function(block, **options)]

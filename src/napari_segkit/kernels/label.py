"""Connected components on the GPU (label.cu) and their NumPy twin.

Both give every voxel of an object a link to the object's first voxel in raster order (its
smallest linear index); :func:`number_roots` then numbers the objects 1…N in raster order,
which is exactly :func:`skimage.measure.label`'s numbering.
"""

from __future__ import annotations

import numpy as np

from ..backend import get_xp
from . import grid, kernel, shifted

#: the kernels of label.cu used here
KERNELS = ("ccl_local", "ccl_merge", "ccl_flatten")
#: tile (z, y, x) a thread block labels in shared memory, per number of axes
_TILES = {1: (1, 1, 512), 2: (1, 16, 32), 3: (8, 8, 8)}


def label(mask, connectivity: int | None = None):
    """int32 labels 1…N of the connected objects of ``mask`` (1D to 3D, NumPy or CuPy),
    numbered in raster order; ``connectivity`` 1…ndim as in :func:`skimage.measure.label`."""
    if not 1 <= mask.ndim <= 3:
        raise ValueError(f"label kernels take 1 to 3 axes, not {mask.ndim}")
    if mask.size >= 2**31:
        raise ValueError(f"at most 2**31 - 1 voxels, got {mask.size}")
    connectivity = mask.ndim if connectivity is None else connectivity
    xp = get_xp(mask)
    foreground = mask if mask.dtype == bool else mask != 0
    find = roots_twin if xp is np else roots_gpu
    return number_roots(find(foreground, connectivity)).reshape(mask.shape)


def number_roots(parent):
    """Labels 1…N from root links (-1 background): roots numbered in raster order."""
    xp = get_xp(parent)
    flat = parent.reshape(-1)
    index = xp.arange(flat.size, dtype=xp.int32)
    ids = xp.cumsum(flat == index, dtype=xp.int32)
    return xp.where(flat >= 0, ids[xp.maximum(flat, 0)], 0).astype(xp.int32, copy=False)


def roots_gpu(foreground, connectivity: int):
    """Root links by union-find on the GPU: tiles in shared memory, then across tiles."""
    import cupy

    shape = (1,) * (3 - foreground.ndim) + foreground.shape
    tile = _TILES[foreground.ndim]
    mask = cupy.ascontiguousarray(foreground).view(cupy.uint8)
    parent = cupy.empty(shape, cupy.int32)
    dims = tuple(np.int32(n) for n in shape)
    tiles = tuple(np.int32(t) for t in tile)
    count = int(np.prod([-(-n // t) for n, t in zip(shape, tile)]))
    size = int(np.prod(tile))
    kernel("label", "ccl_local")(
        (count,), (size,), (mask, parent, *dims, *tiles, np.int32(connectivity))
    )
    kernel("label", "ccl_merge")(
        grid(parent.size), (256,), (parent, *dims, *tiles, np.int32(connectivity))
    )
    kernel("label", "ccl_flatten")(grid(parent.size), (256,), (parent, np.int32(parent.size)))
    return parent


def roots_twin(foreground, connectivity: int):
    """The NumPy twin of :func:`roots_gpu`: the same root links, by repeated hooking of each
    larger root under the smaller one across every neighbour pair, then path halving."""
    flat = foreground.reshape(-1)
    parent = np.where(flat, np.arange(flat.size, dtype=np.int64), -1)
    pairs = list(_neighbour_pairs(foreground, connectivity))
    changed = True
    while changed:
        changed = False
        for here, there in pairs:
            a, b = parent[here], parent[there]
            differ = a != b
            if differ.any():
                np.minimum.at(parent, np.maximum(a, b)[differ], np.minimum(a, b)[differ])
                changed = True
                _flatten(parent)
    return parent.astype(np.int32)


def _flatten(parent) -> None:
    """Link every voxel straight to its root, in place."""
    while True:
        on = parent >= 0
        up = parent[parent[on]]
        if (up == parent[on]).all():
            return
        parent[on] = up


def _neighbour_pairs(foreground, connectivity):
    """(voxel, earlier neighbour) linear indices of foreground pairs, one array per offset."""
    shape = foreground.shape
    index = np.arange(foreground.size).reshape(shape)
    for offset in np.ndindex(*(3,) * len(shape)):
        step = tuple(o - 1 for o in offset)
        nonzero = sum(s != 0 for s in step)
        if not 1 <= nonzero <= connectivity or step > (0,) * len(shape):
            continue  # one of each ± pair: the neighbour before the voxel in raster order
        here, there = shifted(step, shape)
        both = foreground[here] & foreground[there]
        yield index[here][both], index[there][both]

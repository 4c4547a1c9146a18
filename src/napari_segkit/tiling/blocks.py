"""What every blockwise method needs: dask input chunked like the image, local work with a
halo, and a pass over the blocks that returns small per-block facts. Nothing here knows the
methods; they use it (:mod:`napari_segkit.methods._blockwise`), and so do the chunked writers
(:mod:`napari_segkit.io.chunked`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np

from ..backend import is_dask


def as_dask(array: Any, like: da.Array) -> da.Array:
    """``array`` (NumPy, zarr or dask) as a dask array chunked like ``like``."""
    if is_dask(array):
        return array.rechunk(like.chunks)
    return da.from_array(np.asarray(array), chunks=like.chunks)


def overlapping(
    function: Callable, image: da.Array, *others: da.Array, halo, dtype, **kwargs
) -> da.Array:
    """``function(block, *other_blocks, **kwargs)`` on every block with ``halo`` voxels of
    its neighbours per axis (none beyond the image's edge, so border blocks see the image's
    real border as the in-memory run does), the halo cut off afterwards."""
    depth = {axis: int(h) for axis, h in enumerate(halo)}
    return da.map_overlap(
        function,
        image,
        *others,
        depth=depth,
        boundary="none",
        trim=True,
        dtype=dtype,
        align_arrays=False,
        **kwargs,
    )


def per_block(function: Callable, *arrays: da.Array, **kwargs) -> np.ndarray:
    """``function(*blocks, block_index=..., **kwargs)`` for every block, computed now (through
    :func:`napari_segkit.tiling.run.compute`, so with progress and on the active scheduler);
    an object array of the results, shaped like the block grid."""
    from .run import compute

    grid = arrays[0].numblocks
    pieces = [a.to_delayed() for a in arrays]
    tasks = [
        dask.delayed(function)(*(p[index] for p in pieces), block_index=index, **kwargs)
        for index in np.ndindex(*grid)
    ]
    results = np.empty(grid, dtype=object)
    for index, result in zip(np.ndindex(*grid), compute(tasks)):
        results[index] = result
    return results

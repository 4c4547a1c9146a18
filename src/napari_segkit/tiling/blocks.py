"""What every blockwise method needs: the registry of lazy versions, grey images from colour
blocks, local work with a halo, and a pass over the blocks that returns small per-block facts."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dask
import dask.array as da
import numpy as np

from ..backend import is_dask
from ..methods.channels import to_grey

#: "module.function" of a public method -> its version for dask arrays
LAZY: dict[str, Callable] = {}


def key(function: Callable) -> str:
    """The registry key of a public method (its module and name)."""
    return f"{function.__module__}.{function.__name__}"


def lazy_version_of(public: Callable) -> Callable:
    """Register the decorated function as what ``public`` does with a dask array."""
    def register(implementation: Callable) -> Callable:
        LAZY[key(public)] = implementation
        return implementation
    return register


def as_dask(array: Any, like: da.Array) -> da.Array:
    """``array`` (NumPy, zarr or dask) as a dask array chunked like ``like``."""
    if is_dask(array):
        return array.rechunk(like.chunks)
    return da.from_array(np.asarray(array), chunks=like.chunks)


def grey_of(image: da.Array, *, rgb: bool | None, channel) -> da.Array:
    """The grey image of a dask image (colour blocks hold all of their pixel's channels)."""
    if rgb is None:
        rgb = image.ndim >= 3 and image.shape[-1] in (3, 4)
    sample = np.zeros((1,) * (image.ndim - 1) + (image.shape[-1],), image.dtype)
    grey = to_grey(sample, rgb=rgb, channel=channel)  # checks rgb and channel as in memory
    if not rgb:
        return image
    image = image.rechunk({image.ndim - 1: -1})
    return image.map_blocks(to_grey, rgb=True, channel=channel, drop_axis=image.ndim - 1,
                            dtype=grey.dtype)


def overlapping(function: Callable, image: da.Array, *others: da.Array, halo, dtype,
                **kwargs) -> da.Array:
    """``function(block, *other_blocks, **kwargs)`` on every block with ``halo`` voxels of
    its neighbours per axis (none beyond the image's edge, so border blocks see the image's
    real border as the in-memory run does), the halo cut off afterwards."""
    depth = {axis: int(h) for axis, h in enumerate(halo)}
    return da.map_overlap(function, image, *others, depth=depth, boundary="none",
                          trim=True, dtype=dtype, align_arrays=False, **kwargs)


def per_block(function: Callable, *arrays: da.Array, **kwargs) -> np.ndarray:
    """``function(*blocks, block_index=..., **kwargs)`` for every block, computed now (through
    :func:`napari_segkit.tiling.run.compute`, so with progress and on the active scheduler);
    an object array of the results, shaped like the block grid."""
    from .run import compute

    grid = arrays[0].numblocks
    pieces = [a.to_delayed() for a in arrays]
    tasks = [dask.delayed(function)(*(p[index] for p in pieces), block_index=index, **kwargs)
             for index in np.ndindex(*grid)]
    results = np.empty(grid, dtype=object)
    for index, result in zip(np.ndindex(*grid), compute(tasks)):
        results[index] = result
    return results


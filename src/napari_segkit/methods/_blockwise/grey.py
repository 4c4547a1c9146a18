"""Grey images of dask colour images, as the in-memory methods make them."""

from __future__ import annotations

import dask.array as da
import numpy as np

from ..channels import to_grey


def grey_of(image: da.Array, *, rgb: bool | None, channel) -> da.Array:
    """The grey image of a dask image (colour blocks hold all of their pixel's channels)."""
    if rgb is None:
        rgb = image.ndim >= 3 and image.shape[-1] in (3, 4)
    sample = np.zeros((1,) * (image.ndim - 1) + (image.shape[-1],), image.dtype)
    grey = to_grey(sample, rgb=rgb, channel=channel)  # checks rgb and channel as in memory
    if not rgb:
        return image
    image = image.rechunk({image.ndim - 1: -1})
    return image.map_blocks(
        to_grey, rgb=True, channel=channel, drop_axis=image.ndim - 1, dtype=grey.dtype
    )

"""Connected components: a mask into instance labels."""

from __future__ import annotations

import importlib
from typing import Any

import cc3d
import numpy as np

from .._checks import check_connectivity
from ..backend import get_xp, on_device
from ..kernels import label as label_kernel


@on_device
def label(mask: Any, *, connectivity: int | None = None):
    """Number the connected objects of ``mask`` 1, 2, … in raster order (0 = background).

    Parameters
    ----------
    mask : array, 2D or 3D (any nD); non-zero pixels are foreground.
    connectivity : int, 1 … mask.ndim, default mask.ndim
        Neighbours that touch: 1 = faces only (4 in 2D, 6 in 3D); mask.ndim = faces,
        edges and corners (8 in 2D, 26 in 3D), as :func:`skimage.measure.label`.
    device : {"auto", "cpu", "gpu"}, default "auto"

    Returns
    -------
    labels : int32 array of the mask's shape (equal to ``skimage.measure.label``); int64
        if a 2D or 3D mask holds 2**31 objects or more.
    """
    xp = get_xp(mask)
    ndimage = importlib.import_module(
        "scipy.ndimage" if xp.__name__ == "numpy" else "cupyx.scipy.ndimage")
    connectivity = check_connectivity(connectivity, mask.ndim, optional=True) or mask.ndim
    foreground = mask if mask.dtype == bool else mask != 0
    if xp.__name__ != "numpy" and mask.ndim <= 3:  # block-based union-find (kernels/label.cu)
        return label_kernel.label(foreground, connectivity)
    if xp.__name__ == "numpy" and mask.ndim in (2, 3):  # cc3d: 1.3-3× faster, same numbering
        return _cc3d_label(foreground, connectivity)
    structure = ndimage.generate_binary_structure(mask.ndim, connectivity)
    labels, _ = ndimage.label(foreground, structure=structure, output=xp.int32)
    return labels


def _cc3d_label(foreground, connectivity: int):
    """cc3d's labels as int32 without a copy: its uint32 output seen as int32 (ids < 2**31;
    more objects than int32 holds come back as int64). cc3d numbers objects in the raster
    order of the memory layout, and 2D 8-connected ones not even so: a mask goes in C order,
    a 2D one as one 3D slice."""
    volume = np.ascontiguousarray(foreground).reshape((1,) * (3 - foreground.ndim)
                                                      + foreground.shape)
    labels, count = cc3d.connected_components(volume, connectivity=(6, 18, 26)[connectivity - 1],
                                              out_dtype="uint32", return_N=True)
    labels = labels.reshape(foreground.shape)
    return labels.view("int32") if count < 2**31 else labels.astype("int64")

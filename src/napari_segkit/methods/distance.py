"""Euclidean distance transforms in physical units (the `edt` library on the CPU)."""

from __future__ import annotations

import os

import edt
import numpy as np

from ..backend import get_xp, on_device
from ._geometry import spacing_for

__all__ = ["distance_transform"]


@on_device
def distance_transform(mask, *, spacing=None, black_border: bool = False):
    """Compute the Euclidean distance from each foreground voxel to the background.

    Equals ``scipy.ndimage.distance_transform_edt`` with ``sampling=spacing``. On the CPU it
    runs the ``edt`` library (about 10× faster, multithreaded), which also takes a label
    image: each object's distance is then to the nearest voxel not in that object, so
    touching objects get separate distance peaks. On the GPU it runs
    :func:`cupyx.scipy.ndimage.distance_transform_edt` (masks only).

    Parameters
    ----------
    mask : (M, N) or (P, M, N) bool or integer array
        Foreground (non-zero) and background (0), or object ids (CPU only). Any array-like
        (NumPy, CuPy, dask, zarr); the result is CuPy for CuPy input, else NumPy.
    spacing : sequence of float, optional
        Physical voxel size per axis (default 1 per axis); distances are in its units.
    black_border : bool, default False
        Count outside the image as background.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to run: "auto" uses the GPU when CuPy and a CUDA device work, else the CPU; on
        GPU out-of-memory it runs again on the CPU, with a warning.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    distance : float32 array
        Of the mask's shape: the distance in the units of ``spacing``, 0 on the background.

    Raises
    ------
    TypeError
        If ``mask`` is not an array.
    ValueError
        If ``mask`` is a float array (CPU) or a label image on the GPU; if ``spacing`` is
        not one positive number per axis.
    GPUUnavailableError
        If ``device="gpu"`` and no CUDA device works.

    See Also
    --------
    label : Objects from a mask.

    Notes
    -----
    A mask without background has no finite distance: the CPU returns inf there
    (SciPy measures to a background just outside the image instead).

    References
    ----------
    .. [1] P. F. Felzenszwalb and D. P. Huttenlocher, "Distance transforms of sampled
           functions", Theory of Computing 8:415-428, 2012. :doi:`10.4086/toc.2012.v008a019`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import distance_transform
    >>> mask = np.zeros((7, 7), bool); mask[1:6, 1:6] = True
    >>> distance = distance_transform(mask)
    >>> distance.dtype.name, distance[3].tolist()
    ('float32', [0.0, 1.0, 2.0, 3.0, 2.0, 1.0, 0.0])
    >>> distance_transform(mask, spacing=(2.0, 0.5))[3].tolist()  # in physical units
    [0.0, 0.5, 1.0, 1.5, 1.0, 0.5, 0.0]

    Two touching objects in a label image get a peak each (the mask would get one):

    >>> labels = np.zeros((5, 8), np.uint8); labels[1:4, 1:4] = 1; labels[1:4, 4:7] = 2
    >>> distance_transform(labels)[2].tolist()
    [0.0, 1.0, 2.0, 1.0, 1.0, 2.0, 1.0, 0.0]
    >>> distance_transform(labels > 0)[2].tolist()
    [0.0, 1.0, 2.0, 2.0, 2.0, 2.0, 1.0, 0.0]
    """
    xp = get_xp(mask)
    spacing = spacing_for(spacing, mask.ndim)
    if xp is np:
        labels = np.asarray(mask)
        labels = labels.view(np.uint8) if labels.dtype == bool else labels
        if labels.dtype.kind not in "biu":
            raise ValueError(f"distance_transform needs a mask or labels, not {labels.dtype}")
        return edt.edt(
            labels, anisotropy=spacing, black_border=black_border, parallel=os.cpu_count() or 1
        ).astype(np.float32, copy=False)
    from cupyx.scipy import ndimage

    if mask.dtype != bool and mask.dtype.kind in "iu" and int(mask.max()) > 1:
        raise ValueError("on the GPU, distance_transform takes a mask, not labels")
    if black_border:
        mask = xp.pad(mask != 0, 1)
    out = ndimage.distance_transform_edt(mask != 0, sampling=spacing, float64_distances=False)
    return out[(slice(1, -1),) * mask.ndim] if black_border else out

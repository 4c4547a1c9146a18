"""Global (histogram) thresholding.

The histogram is computed where the image lives (NumPy or CuPy), with the same bins as
:func:`skimage.exposure.histogram` (one bin per integer value for integer images, ``nbins``
equal bins between min and max for float images), in chunks so that a large integer stack
is never copied whole. The threshold is then found on that small histogram with
scikit-image's own functions, so the values equal scikit-image's.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from skimage import filters

from ..backend import as_xp, get_xp, on_device, to_host

#: method name -> scikit-image function that accepts ``hist=(counts, centers)``
_HISTOGRAM_METHODS = {
    "otsu": filters.threshold_otsu,
    "isodata": filters.threshold_isodata,
    "minimum": filters.threshold_minimum,
    "yen": filters.threshold_yen,
}
METHODS = (*_HISTOGRAM_METHODS, "mean", "manual")

#: Rec. 709 luminance weights, as in :func:`skimage.color.rgb2gray`.
LUMINANCE = (0.2125, 0.7154, 0.0721)

_CHUNK = 1 << 21  # elements per bincount pass: bounds the int64 temporary to 16 MiB
_MAX_INTEGER_BINS = 1 << 24  # wider integer ranges use ``nbins`` equal bins instead


@on_device
def threshold(
    image: Any,
    method: str = "otsu",
    *,
    value: float | None = None,
    dark: bool = False,
    mask: Any = None,
    nbins: int = 256,
    rgb: bool | None = None,
    return_threshold: bool = False,
):
    """Segment ``image`` with one global threshold.

    Parameters
    ----------
    image : array, 2D or 3D (or any nD), grey or RGB(A) in the last axis
    method : {"otsu", "isodata", "minimum", "yen", "mean", "manual"}, default "otsu"
        Histogram method (the value equals the scikit-image function of the same name),
        or "manual" to use ``value``.
    value : float, only for ``method="manual"``, in image intensity units.
    dark : bool, default False
        Objects are darker than the background (e.g. nuclei in H&E): foreground is
        ``image <= t`` instead of ``image > t``.
    mask : bool array of the image's spatial shape, optional
        Compute the threshold from these pixels only (the result covers the whole image).
    nbins : int, default 256
        Bins for float images (integer images get one bin per value).
    rgb : bool or None, default None (guess: last axis of length 3 or 4 with ndim >= 3)
        Threshold the luminance of an RGB(A) image.
    return_threshold : bool, default False
        Also return the threshold value.
    device : {"auto", "cpu", "gpu"}, default "auto"

    Returns
    -------
    mask : bool array, the image's spatial shape; ``(mask, t)`` with ``return_threshold``.
    """
    grey = as_grey(image, rgb=rgb)
    t = _threshold_value(grey, method, value=value, mask=mask, nbins=nbins)
    result = grey <= t if dark else grey > t
    return (result, t) if return_threshold else result


def _threshold_value(
    image: Any,
    method: str = "otsu",
    *,
    value: float | None = None,
    mask: Any = None,
    nbins: int = 256,
) -> float:
    """The threshold of a grey ``image`` by ``method``, on the image's own device."""
    if method not in METHODS:
        raise ValueError(f"unknown threshold method {method!r}; choose one of {METHODS}")
    if method == "manual":
        if value is None:
            raise ValueError("method='manual' needs a value, e.g. value=120")
        return float(value)
    if value is not None:
        raise ValueError(f"value={value} is only used with method='manual', not {method!r}")
    xp = get_xp(image)
    values = _selected(image, mask, xp)
    lo, hi = values.min(), values.max()
    if values.dtype.kind == "f" and not bool(xp.isfinite(lo) and xp.isfinite(hi)):
        raise ValueError(
            "image contains NaN or infinite values; replace them (numpy.nan_to_num) "
            "or leave them out with a mask"
        )
    if lo == hi:
        raise ValueError(
            f"image is constant (every pixel is {lo.item()}); no threshold can separate "
            "objects from background"
        )
    if method == "mean":
        return float(xp.mean(values, dtype=xp.float64))
    counts, centers = histogram(values, nbins=nbins, value_range=(lo, hi))
    try:
        t = _HISTOGRAM_METHODS[method](hist=(counts, centers))
    except RuntimeError as err:  # threshold_minimum: histogram never becomes bimodal
        raise ValueError(f"threshold method {method!r} failed on this image: {err}") from err
    return float(t)


def histogram(
    values: Any, *, nbins: int = 256, value_range: tuple | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin centres of ``values``, as :func:`skimage.exposure.histogram`.

    Computed with the array's own module (NumPy or CuPy); returned as small NumPy arrays.
    """
    xp = get_xp(values)
    flat = values.reshape(-1)
    lo, hi = value_range if value_range is not None else (flat.min(), flat.max())
    if flat.dtype.kind in "iu" and int(hi) - int(lo) < _MAX_INTEGER_BINS:
        lo, hi = int(lo), int(hi)
        counts = xp.zeros(hi - lo + 1, dtype=xp.int64)
        for start in range(0, flat.size, _CHUNK):
            chunk = flat[start : start + _CHUNK].astype(xp.int64)
            chunk -= lo
            counts += xp.bincount(chunk, minlength=hi - lo + 1)
            del chunk  # before the next astype, so only one chunk is ever alive
        centers = np.arange(lo, hi + 1)
    else:
        counts, edges = xp.histogram(flat, bins=nbins, range=(lo, hi))
        edges = to_host(edges)
        centers = (edges[:-1] + edges[1:]) / 2.0
    return to_host(counts), centers


def as_grey(image: Any, *, rgb: bool | None = None) -> Any:
    """Luminance (float32, the image's intensity scale) of RGB(A) input; grey input as is."""
    if rgb is None:
        rgb = image.ndim >= 3 and image.shape[-1] in (3, 4)
    if not rgb:
        return image
    if image.shape[-1] not in (3, 4):
        raise ValueError(
            f"rgb=True needs colour in the last axis (3 or 4 values), got shape {image.shape}"
        )
    xp = get_xp(image)
    weights = xp.asarray(LUMINANCE, dtype=xp.float32)
    return image[..., :3].astype(xp.float32) @ weights


def _selected(image: Any, mask: Any, xp) -> Any:
    if image.size == 0:
        raise ValueError("image is empty (it has no pixels)")
    if mask is None:
        return image
    mask = as_xp(mask, xp)
    if mask.shape != image.shape:
        raise ValueError(f"mask shape {mask.shape} does not match the image's {image.shape}")
    values = image[mask.astype(bool)]
    if values.size == 0:
        raise ValueError("the mask selects no pixels; draw or choose a non-empty region")
    return values

"""Global (histogram) thresholding: one threshold for the image, or one per slice.

The histogram is computed where the image lives (NumPy or CuPy), with the same bins as
:func:`skimage.exposure.histogram` (one bin per integer value for integer images, ``nbins``
equal bins between min and max for float images), in chunks so that a large integer stack
is never copied whole. The threshold is then chosen on that small histogram by
:mod:`.histogram_thresholds` (scikit-image's own functions where it has the method).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from skimage import filters

from .._checks import check_number
from ..backend import as_xp, get_xp, on_device, to_host
from ..kernels.histogram import INTEGER_TYPES, float_counts, integer_counts
from ._pages import empty
from ._pool import map_tasks
from ._pool import workers as pool_workers
from .channels import auto_channel, to_grey
from .histogram_thresholds import HISTOGRAM_METHODS, multiotsu, otsu_of_integers

__all__ = ["threshold", "threshold_value"]

#: every global method; "multiotsu" gives class labels, "manual" uses ``value``
METHODS = (*sorted(HISTOGRAM_METHODS), "multiotsu", "manual")

_CHUNK = 1 << 21  # elements per bincount pass: bounds the int64 temporary to 16 MiB
_MAX_INTEGER_BINS = 1 << 24  # wider integer ranges use ``nbins`` equal bins instead
_COUNTED = (np.dtype(np.uint8), np.dtype(np.uint16))  # counted in one compiled pass
_THREADED = 1 << 21  # elements from which the counting is split between threads (below,
# waking a second thread costs more than it saves: 1024² counts in 0.36 ms on one, 0.46 on two)


class NothingToSeparate(ValueError):
    """The pixels to threshold are all equal (or there are none)."""


@on_device
def threshold(
    image: Any,
    method: str = "otsu",
    *,
    value: float | None = None,
    percentile: float = 50.0,
    classes: int = 3,
    dark: bool = False,
    mask: Any = None,
    per_slice: bool = False,
    channel: str | int | None = None,
    rgb: bool | None = None,
    nbins: int = 256,
):
    """Segment ``image`` with a global threshold chosen from its histogram.

    One threshold ``t`` for the whole image (or, with ``per_slice``, one per 2D plane) is
    chosen by ``method`` from the histogram of the grey image, and the foreground is
    ``image > t`` (``image <= t`` with ``dark``). The histogram is counted where the image
    lives (NumPy, or CuPy on the GPU), with the bins of :func:`skimage.exposure.histogram`:
    one bin per integer value for integer images (``nbins`` equal bins when the values span
    more than 2**24 integers), ``nbins`` equal bins between the minimum and maximum for
    float images. It is counted in chunks, so a large integer stack is never copied whole;
    NaN and ±inf pixels are left out. A dask array gives the same threshold (the histograms
    of its blocks, summed) and a lazy mask. Cost: one pass to count (8- and 16-bit images on
    the CPU) or two (range, then counts), and one to compare.

    Parameters
    ----------
    image : (M, N), (P, M, N) or nD array, or (..., 3) or (..., 4) colour array
        The image: 2D, 3D or nD (e.g. T, Z, Y, X); grey, or RGB(A) in the last axis (see
        ``channel`` and ``rgb``). Any array-like (NumPy, CuPy, dask, zarr); the result is the
        same kind.
    method : str, default "otsu"
        One of :data:`METHODS`: Fiji's Auto Threshold set ("default", "huang",
        "intermodes", "isodata", "li", "max_entropy", "mean", "min_error", "minimum",
        "moments", "otsu", "percentile", "renyi_entropy", "shanbhag", "triangle", "yen"),
        "multiotsu" (``classes`` intensity classes → labels 0 … classes-1) or "manual"
        (``value``). Methods scikit-image has give its values exactly; "li" on a float image
        iterates on the pixel values, as :func:`skimage.filters.threshold_li` does.
    value : float, optional
        The threshold for "manual" (required there, refused with any other method), in image
        intensity units.
    percentile : float, default 50
        For "percentile": the % of pixels at or below the threshold, 0 < ``percentile`` < 100.
    classes : int, default 3
        For "multiotsu": the number of intensity classes, 2 to 256.
    dark : bool, default False
        Objects are darker than the background: foreground is ``image <= t``
        (multi-Otsu: class 0 is the brightest).
    mask : bool array of the grey image's shape, optional
        Compute the threshold from these pixels only; it applies to the whole image.
    per_slice : bool, default False
        For 3D and more: a threshold for each 2D plane (the last two axes). A plane with
        nothing to separate (constant) gets no foreground and threshold NaN.
    channel : str or int, optional
        Which grey image to use from colour input, see
        :func:`napari_segkit.methods.channels.to_grey`: "luminance", a colour ("red",
        "green", "blue" or 0, 1, 2), or "hematoxylin", "eosin", "dab" for stains. Default
        None = "auto": on a brightfield slide (bright background) the haematoxylin stain
        (nuclei), else luminance (:func:`~napari_segkit.methods.channels.auto_channel`).
        Must be None or "luminance" for grey input.
    rgb : bool, optional
        Whether the last axis holds colour. Default None: guessed (3 or more axes and a last
        axis of length 3 or 4).
    nbins : int, default 256
        Histogram bins for float images (integer images: one per value), at least 2.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to run: "auto" uses the GPU when CuPy and a CUDA device work, else the CPU
        (and re-runs on the CPU, with a warning, when the GPU runs out of memory); "gpu"
        raises :class:`~napari_segkit.backend.GPUUnavailableError` when none works.
    progress : callable, optional
        Called with the fraction done (0 to 1; here 1.0 when the mask is ready); see
        :mod:`napari_segkit.progress`.

    Returns
    -------
    mask : bool array of the grey image's shape
        The foreground (uint8 class labels 0 … ``classes`` - 1 for "multiotsu", 0 the
        darkest class unless ``dark``). NaN pixels are never foreground (class 0 for
        "multiotsu"). Same array kind as ``image``. The threshold itself:
        :func:`threshold_value` with the same arguments.

    Raises
    ------
    ValueError
        If ``method`` is unknown, ``value`` is missing for "manual" or given for another
        method, ``classes``, ``nbins`` or ``percentile`` is out of range, ``mask`` does not
        have the grey image's shape, ``channel`` is unknown or given for a grey image,
        ``device`` is not one of the three, or the method finds no threshold on this
        histogram (e.g. "intermodes" or "minimum" when it never becomes bimodal).
    NothingToSeparate
        A :class:`ValueError` subclass: the pixels to threshold are all equal (a constant
        image), there are none (an empty ``mask``), or every one is NaN or infinite. With
        ``per_slice`` such a plane gets threshold NaN instead.
    TypeError
        If ``image`` is not an array, or ``value``, ``percentile``, ``classes`` or ``nbins``
        is not a number.
    GPUUnavailableError
        If ``device="gpu"`` and no CUDA GPU works.

    See Also
    --------
    adaptive_threshold : A threshold for every pixel from its neighbourhood, for uneven
        backgrounds.
    skimage.filters.threshold_otsu : scikit-image's version of the "otsu" method.

    Notes
    -----
    Methods, by their papers: "otsu" [1]_, "isodata" [2]_ ("default" is ImageJ's variant of
    it), "li" [3]_ [4]_, "max_entropy" [5]_, "triangle" [6]_, "yen" [7]_, "huang" [8]_,
    "intermodes" and "minimum" [9]_ [10]_, "mean" [10]_, "min_error" [11]_, "moments" [12]_,
    "shanbhag" [13]_, "multiotsu" [14]_, "renyi_entropy" [15]_, "percentile" [16]_. The
    methods scikit-image lacks follow their papers as Fiji's Auto Threshold does [17]_, on
    bin indices, returning the centre of the chosen bin.

    References
    ----------
    .. [1] N. Otsu, "A threshold selection method from gray-level histograms", IEEE
           Transactions on Systems, Man, and Cybernetics 9(1):62-66, 1979.
           :doi:`10.1109/TSMC.1979.4310076`
    .. [2] T. W. Ridler and S. Calvard, "Picture thresholding using an iterative selection
           method", IEEE Transactions on Systems, Man, and Cybernetics 8(8):630-632, 1978.
           :doi:`10.1109/TSMC.1978.4310039`
    .. [3] C. H. Li and C. K. Lee, "Minimum cross entropy thresholding", Pattern Recognition
           26(4):617-625, 1993. :doi:`10.1016/0031-3203(93)90115-D`
    .. [4] C. H. Li and P. K. S. Tam, "An iterative algorithm for minimum cross entropy
           thresholding", Pattern Recognition Letters 19(8):771-776, 1998.
           :doi:`10.1016/S0167-8655(98)00057-9`
    .. [5] J. N. Kapur, P. K. Sahoo and A. K. C. Wong, "A new method for gray-level picture
           thresholding using the entropy of the histogram", Computer Vision, Graphics, and
           Image Processing 29(3):273-285, 1985. :doi:`10.1016/0734-189X(85)90125-2`
    .. [6] G. W. Zack, W. E. Rogers and S. A. Latt, "Automatic measurement of sister
           chromatid exchange frequency", Journal of Histochemistry and Cytochemistry
           25(7):741-753, 1977. :doi:`10.1177/25.7.70454`
    .. [7] J.-C. Yen, F.-J. Chang and S. Chang, "A new criterion for automatic multilevel
           thresholding", IEEE Transactions on Image Processing 4(3):370-378, 1995.
           :doi:`10.1109/83.366472`
    .. [8] L.-K. Huang and M.-J. J. Wang, "Image thresholding by minimizing the measures of
           fuzziness", Pattern Recognition 28(1):41-51, 1995.
           :doi:`10.1016/0031-3203(94)E0043-K`
    .. [9] J. M. S. Prewitt and M. L. Mendelsohn, "The analysis of cell images", Annals of
           the New York Academy of Sciences 128:1035-1053, 1966.
           :doi:`10.1111/j.1749-6632.1965.tb11715.x`
    .. [10] C. A. Glasbey, "An analysis of histogram-based thresholding algorithms", CVGIP:
            Graphical Models and Image Processing 55(6):532-537, 1993.
            :doi:`10.1006/cgip.1993.1040`
    .. [11] J. Kittler and J. Illingworth, "Minimum error thresholding", Pattern Recognition
            19(1):41-47, 1986. :doi:`10.1016/0031-3203(86)90030-0`
    .. [12] W.-H. Tsai, "Moment-preserving thresholding: a new approach", Computer Vision,
            Graphics, and Image Processing 29(3):377-393, 1985.
            :doi:`10.1016/0734-189X(85)90133-1`
    .. [13] A. G. Shanbhag, "Utilization of information measure as a means of image
            thresholding", CVGIP: Graphical Models and Image Processing 56(5):414-419, 1994.
            :doi:`10.1006/cgip.1994.1037`
    .. [14] P.-S. Liao, T.-S. Chen and P.-C. Chung, "A fast algorithm for multilevel
            thresholding", Journal of Information Science and Engineering 17(5):713-727,
            2001.
    .. [15] P. K. Sahoo, C. Wilkins and J. Yeager, "Threshold selection using Renyi's
            entropy", Pattern Recognition 30(1):71-84, 1997.
            :doi:`10.1016/S0031-3203(96)00065-9`
    .. [16] W. Doyle, "Operations useful for similarity-invariant pattern recognition",
            Journal of the ACM 9(2):259-267, 1962. :doi:`10.1145/321119.321123`
    .. [17] G. Landini, "Auto Threshold", ImageJ/Fiji plugin documentation,
            https://imagej.net/plugins/auto-threshold

    Examples
    --------
    A bright square on a dark background:

    >>> import numpy as np
    >>> from napari_segkit import threshold, threshold_value
    >>> image = np.full((32, 32), 20, np.uint8); image[8:24, 8:24] = 200
    >>> mask = threshold(image)
    >>> mask.dtype.name, int(mask.sum())  # the 16 x 16 square
    ('bool', 256)

    The threshold itself, on a noisy float copy:

    >>> noisy = image + np.random.default_rng(0).normal(0, 10, image.shape)
    >>> mask, t = threshold(noisy, "otsu"), threshold_value(noisy, "otsu")
    >>> int(mask.sum()), 20 < t < 200
    (256, True)

    Three intensity classes with multi-Otsu (left, middle and right thirds):

    >>> bands = np.zeros((32, 48)); bands[:, 16:32] = 0.5; bands[:, 32:] = 1.0
    >>> bands += np.random.default_rng(0).normal(0, 0.05, bands.shape)
    >>> labels = threshold(bands, "multiotsu", classes=3)
    >>> cuts = threshold_value(bands, "multiotsu", classes=3)
    >>> labels.dtype.name, labels[16, [8, 24, 40]].tolist(), len(cuts)
    ('uint8', [0, 1, 2], 2)

    A constant image has nothing to separate:

    >>> threshold(np.ones((8, 8)))  # doctest: +IGNORE_EXCEPTION_DETAIL
    Traceback (most recent call last):
    ...
    NothingToSeparate: image is constant (every pixel is 1.0); ...
    """
    return _mask_and_value(
        image,
        method,
        value=value,
        percentile=percentile,
        classes=classes,
        dark=dark,
        mask=mask,
        per_slice=per_slice,
        channel=channel,
        rgb=rgb,
        nbins=nbins,
    )[0]


@on_device
def threshold_value(
    image: Any,
    method: str = "otsu",
    *,
    value: float | None = None,
    percentile: float = 50.0,
    classes: int = 3,
    dark: bool = False,
    mask: Any = None,
    per_slice: bool = False,
    channel: str | int | None = None,
    rgb: bool | None = None,
    nbins: int = 256,
):
    """Find the global threshold(s) that :func:`threshold` applies, in intensity units.

    Takes the same arguments as :func:`threshold` (``dark`` matters only on colour input,
    where it picks the channel) and returns the value(s) it compares the image with.

    Parameters
    ----------
    image : array
        As for :func:`threshold`.
    method, value, percentile, classes, dark, mask, per_slice, channel, rgb, nbins
        As for :func:`threshold`.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where the histogram is counted.
    progress : callable, optional
        Called with the fraction done (0 to 1).

    Returns
    -------
    threshold : float or float64 array
        A Python int for a bin of an integer image, a float otherwise; with ``per_slice`` a
        NumPy array of one per plane (shape ``image.shape[:-2]``, NaN for a constant plane);
        for "multiotsu" the ``classes - 1`` thresholds (per plane: one more axis).

    Raises
    ------
    ValueError
        As :func:`threshold` (NothingToSeparate for a constant image).

    See Also
    --------
    threshold : The mask (or classes) for the same arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import threshold_value
    >>> image = np.full((32, 32), 20, np.uint8); image[8:24, 8:24] = 200
    >>> threshold_value(image)  # Otsu: any value from 20 up to 199 separates the two
    20
    >>> threshold_value(image, "manual", value=120)
    120.0
    """
    return _grey_and_value(
        image,
        method,
        value=value,
        percentile=percentile,
        classes=classes,
        dark=dark,
        mask=mask,
        per_slice=per_slice,
        channel=channel,
        rgb=rgb,
        nbins=nbins,
    )[1]


@on_device
def threshold_and_value(image, method: str = "otsu", **options):
    """(mask, threshold(s)) of one :func:`threshold` call, from one histogram: for the faces
    that show the value (the Threshold panel, ``segkit run threshold``). Not a public method
    (it returns two things); ``options`` are :func:`threshold`'s."""
    return _mask_and_value(image, method, **options)


def _mask_and_value(image, method, *, classes: int = 3, per_slice: bool = False, **options):
    grey, t, dark = _grey_and_value(image, method, classes=classes, per_slice=per_slice, **options)
    mask = apply_threshold(
        grey, t, method=method, dark=dark, classes=classes, per_slice=per_slice and grey.ndim >= 3
    )
    return mask, t


def _grey_and_value(
    image,
    method,
    *,
    value=None,
    percentile=50.0,
    classes=3,
    dark=False,
    mask=None,
    per_slice=False,
    channel=None,
    rgb=None,
    nbins=256,
):
    """(grey image, threshold(s), dark) of a :func:`threshold` call."""
    check_method(method, value, classes=classes, nbins=nbins, percentile=percentile)
    xp = get_xp(image)
    channel, dark = auto_channel(image, rgb=rgb, channel=channel, dark=dark)
    grey = to_grey(image, rgb=rgb, channel=channel)
    if grey.dtype.kind == "b":
        grey = grey.view(xp.uint8)
    if mask is not None:
        mask = as_xp(mask, xp).astype(bool, copy=False)
        if mask.shape != grey.shape:
            raise ValueError(f"mask shape {mask.shape} does not match the image's {grey.shape}")
    options = {"value": value, "percentile": percentile, "classes": classes, "nbins": nbins}
    if per_slice and grey.ndim >= 3:
        return grey, _per_slice(grey, mask, method, options), dark
    return grey, grey_value(grey, method, mask=mask, **options), dark


def check_method(
    method: str,
    value: float | None,
    *,
    classes: int = 3,
    nbins: int = 256,
    percentile: float = 50.0,
) -> None:
    """Refuse an unknown method, a value given without "manual" or missing with it, and
    ``classes`` (2…256), ``nbins`` (≥ 2) or ``percentile`` (0…100, exclusive) out of range."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"unknown threshold method {method!r}; choose one of {METHODS}")
    if method == "manual" and value is None:
        raise ValueError("method='manual' needs a value, e.g. value=120")
    if method != "manual" and value is not None:
        raise ValueError(f"value={value} is only used with method='manual', not {method!r}")
    check_number("value", value, optional=True)
    check_number("classes", classes, minimum=2, maximum=256, integer=True)
    check_number("nbins", nbins, minimum=2, integer=True)
    check_number("percentile", percentile, above=0, below=100)


def grey_value(
    values: Any,
    method: str = "otsu",
    *,
    mask: Any = None,
    value: float | None = None,
    percentile: float = 50.0,
    classes: int = 3,
    nbins: int = 256,
):
    """The threshold of grey ``values`` by ``method`` (see :func:`threshold`), on their device."""
    if method == "manual":
        return float(value)
    xp = get_xp(values)
    values = _finite_selection(values, mask, xp)
    if method == "otsu" and xp is np and values.dtype in _COUNTED:  # the default: no
        counts = _dtype_counts(values.reshape(-1))  # trimming and no centres to build
        found = otsu_of_integers(counts)
        if found is None:
            raise NothingToSeparate(_constant(int(counts.nonzero()[0][0])))
        return found
    if method != "mean" and xp is np and values.dtype in _COUNTED:  # no min/max passes
        counts, centers = histogram(values, nbins=nbins)
        if counts.size == 1:
            raise NothingToSeparate(_constant(centers[0]))
        return from_histogram(counts, centers, method, percentile=percentile, classes=classes)
    lo, hi = values.min(), values.max()
    if lo == hi:
        raise NothingToSeparate(_constant(lo.item()))
    if method == "li" and values.dtype.kind == "f":  # scikit-image iterates on the values
        return float(filters.threshold_li(to_host(values)))
    if method == "mean":
        return float(xp.mean(values, dtype=xp.float64))
    counts, centers = histogram(values, nbins=nbins, value_range=(lo, hi))
    return from_histogram(counts, centers, method, percentile=percentile, classes=classes)


def from_histogram(
    counts: np.ndarray,
    centers: np.ndarray,
    method: str,
    *,
    percentile: float = 50.0,
    classes: int = 3,
):
    """The threshold by ``method`` from a histogram (as :func:`histogram` gives).

    For float images "li" here works on the histogram, an approximation of
    :func:`threshold`, which iterates on the pixel values as scikit-image does.
    """
    try:
        if method == "multiotsu":
            return np.asarray(multiotsu(counts, centers, classes=classes), dtype=np.float64)
        extra = {"percentile": percentile} if method == "percentile" else {}
        # .item(): an integer bin stays an exact int (a uint64 threshold would not fit a float)
        return np.asarray(HISTOGRAM_METHODS[method](counts, centers, **extra)).item()
    except RuntimeError as err:  # e.g. the histogram never becomes bimodal
        raise ValueError(f"threshold method {method!r} failed on this image: {err}") from err


def histogram(
    values: Any, *, nbins: int = 256, value_range: tuple | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Counts and bin centres of ``values``, as :func:`skimage.exposure.histogram`.

    Computed with the array's own module (NumPy or CuPy); returned as small NumPy arrays.
    """
    xp = get_xp(values)
    flat = values.reshape(-1)
    if value_range is None and xp is np and flat.dtype in _COUNTED:  # min, max from the counts
        counts = _dtype_counts(flat)
        non_empty = counts.nonzero()[0]
        lo, hi = non_empty[0], non_empty[-1]
        return counts[lo : hi + 1], np.arange(lo, hi + 1, dtype=np.int64)
    lo, hi = value_range if value_range is not None else (flat.min(), flat.max())
    if flat.dtype.kind in "iu" and int(hi) - int(lo) < _MAX_INTEGER_BINS:
        kind = np.uint64 if flat.dtype == np.uint64 else np.int64  # exact up to 2**64 - 1
        centers = np.arange(int(hi) - int(lo) + 1, dtype=kind) + kind(int(lo))
        if xp is not np and flat.dtype.name in INTEGER_TYPES:  # one kernel pass
            return to_host(integer_counts(flat, int(lo), int(hi))), centers
        return to_host(_integer_counts(flat, lo, hi, xp)), centers
    if xp is not np:
        # numpy.histogram's own edges (in the image's float type), counted by the kernel
        lo, hi = (np.asarray(to_host(v)).astype(flat.dtype)[()] for v in (lo, hi))
        edges = np.histogram_bin_edges(np.empty(0, flat.dtype), bins=nbins, range=(lo, hi))
        counts = float_counts(flat, edges)
    else:
        counts, edges = xp.histogram(flat, bins=nbins, range=(lo, hi))
    centers = (edges[:-1] + edges[1:]) / 2.0
    return to_host(counts), centers


def _integer_counts(flat, lo, hi, xp):
    """Counts of every integer lo … hi, a chunk at a time (bounded temporaries)."""
    lo_value, lo, hi = lo, int(lo), int(hi)
    if xp is np and flat.dtype in _COUNTED:
        return _dtype_counts(flat)[lo : hi + 1]
    counts = xp.zeros(hi - lo + 1, dtype=xp.int64)
    small = flat.dtype.kind == "u" and flat.dtype.itemsize <= 2  # bincount takes as is
    for start in range(0, flat.size, _CHUNK):
        if small:
            counts += xp.bincount(flat[start : start + _CHUNK], minlength=hi + 1)[lo:]
            continue
        # subtract in the image's dtype (no overflow: values >= lo), then widen
        chunk = (flat[start : start + _CHUNK] - lo_value).astype(xp.int64)
        counts += xp.bincount(chunk, minlength=hi - lo + 1)
        del chunk  # before the next one, so only one chunk is ever alive
    return counts


def _dtype_counts(flat):
    """Counts (int64) of every value of ``flat``'s dtype (uint8 or uint16), in one compiled
    pass, split between threads for large arrays."""
    if flat.size == 0:
        return np.zeros(1 << (8 * flat.dtype.itemsize), np.int64)
    if not flat.flags.c_contiguous:
        flat = np.ascontiguousarray(flat)
    count = _compiled(_count_bytes if flat.dtype.itemsize == 1 else _count_values)
    if flat.size < _THREADED or pool_workers() == 1:
        return count(flat)
    step = min(-(-flat.size // pool_workers()), 1 << 31)  # uint32 counters cannot overflow
    parts = [flat[start : start + step] for start in range(0, flat.size, step)]
    return functools.reduce(np.add, map_tasks(count, parts))


@functools.cache
def _compiled(function):
    """``function`` compiled by numba (imported here: it takes a while to load)."""
    import numba

    return numba.njit(cache=True, nogil=True)(function)


def _count_bytes(flat):
    """Counts (int64, 256) of the values of uint8 ``flat`` (fewer than 2**32), read as
    aligned 64-bit words: each of the 8 byte places has its own table, so that runs of
    equal values do not wait on one counter."""
    tables = np.zeros(8 * 256, np.uint32)
    head = min(flat.size, -flat.ctypes.data % 8)
    size = (flat.size - head) // 8 * 8
    words = flat[head : head + size].view(np.uint64)
    for i in range(words.size):
        v = words[i]
        tables[v & 255] += 1
        tables[256 + ((v >> 8) & 255)] += 1
        tables[512 + ((v >> 16) & 255)] += 1
        tables[768 + ((v >> 24) & 255)] += 1
        tables[1024 + ((v >> 32) & 255)] += 1
        tables[1280 + ((v >> 40) & 255)] += 1
        tables[1536 + ((v >> 48) & 255)] += 1
        tables[1792 + (v >> 56)] += 1
    for i in range(head):
        tables[flat[i]] += 1
    for i in range(head + size, flat.size):
        tables[flat[i]] += 1
    counts = np.zeros(256, np.int64)
    for place in range(8):
        for value in range(256):
            counts[value] += tables[256 * place + value]
    return counts


def _count_values(flat):
    """Counts (int64, 65 536) of the values of uint16 ``flat`` (one table: eight would not
    fit the cache)."""
    counts = np.zeros(1 << 16, np.int64)
    for i in range(flat.size):
        counts[flat[i]] += 1
    return counts


def _constant(value) -> str:
    return (
        f"image is constant (every pixel is {value}); no threshold can separate "
        "objects from background"
    )


def _finite_selection(values, mask, xp):
    """The pixels to compute a threshold from: inside ``mask``, NaN and ±inf left out."""
    if values.size == 0:
        raise NothingToSeparate("image is empty (it has no pixels)")
    keep = mask
    if values.dtype.kind == "f" and not bool(xp.isfinite(values.min() + values.max())):
        finite = xp.isfinite(values)
        keep = finite if keep is None else keep & finite
    if keep is not None:
        values = values[keep]
    if values.size == 0:
        if mask is not None and not bool(mask.any()):
            raise NothingToSeparate("the mask selects no pixels; draw or choose a non-empty region")
        raise NothingToSeparate("every pixel to threshold is NaN or infinite")
    return values


def _per_slice(grey, mask, method, options):
    planes = grey.reshape(-1, *grey.shape[-2:])
    masks = None if mask is None else mask.reshape(planes.shape)
    found = []
    for i, plane in enumerate(planes):
        try:
            found.append(
                grey_value(plane, method, mask=None if masks is None else masks[i], **options)
            )
        except NothingToSeparate:
            found.append(
                np.full(options["classes"] - 1, np.nan) if method == "multiotsu" else np.nan
            )
    return np.asarray(found, dtype=np.float64).reshape(*grey.shape[:-2], *np.shape(found[0]))


def apply_threshold(
    grey, t, *, method: str = "otsu", dark: bool = False, classes: int = 3, per_slice: bool = False
):
    """The mask (or multi-Otsu class labels) of a grey image for threshold(s) ``t``."""
    xp = get_xp(grey)
    if method == "multiotsu":
        if per_slice:
            planes = grey.reshape(-1, *grey.shape[-2:])
            cuts = np.reshape(t, (len(planes), classes - 1))
            labels = xp.stack([_classes(p, c, classes, dark, xp) for p, c in zip(planes, cuts)])
            return labels.reshape(grey.shape)
        return _classes(grey, t, classes, dark, xp)
    if per_slice:
        t = xp.asarray(t)[..., None, None]
    # a Python float compares in the image's own precision, as scikit-image's `image > t`
    scalar = type(t) is int or type(t) is float or np.ndim(t) == 0  # (np.ndim is slow)
    if xp is np and scalar and grey.flags.c_contiguous:
        compare = np.less_equal if dark else np.greater
        if grey.dtype.kind in "iu" and math.isfinite(t):
            # for integers x > t exactly where x > floor(t) (x <= t where x <= floor(t)):
            # compared as the image's own integers, 10x faster than as float64
            cut, (least, most) = math.floor(t), integer_range(grey.dtype)
            if not least <= cut < most:  # every pixel on one side
                return np.full(grey.shape, (cut < least) != dark)
            t = cut  # a Python int in the dtype's range: compared as the dtype
        return compare(grey, t, out=empty(grey.shape, bool))
    return grey <= t if dark else grey > t


@functools.cache
def integer_range(dtype) -> tuple[int, int]:
    """(min, max) of an integer dtype: np.iinfo, kept (on a cold call it costs as much as
    a 1024² compare's Python around it); also the magic wand's."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _classes(grey, cuts, classes, dark, xp):
    if np.isnan(cuts).any():
        return xp.zeros(grey.shape, xp.uint8)
    labels = xp.digitize(grey, xp.asarray(cuts)).astype(xp.uint8)
    if dark:
        labels = (classes - 1) - labels
    if grey.dtype.kind == "f":
        labels[~xp.isfinite(grey)] = 0
    return labels

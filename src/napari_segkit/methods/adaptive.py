"""Adaptive (local) thresholding: a threshold for every pixel from its neighbourhood.

Fiji's Auto Local Threshold set plus scikit-image's: local mean, Gaussian, median,
mid-grey, Bernsen, contrast, Niblack, Sauvola, Phansalkar and local Otsu.

- Local mean and standard deviation come from running sums (``uniform_filter``, O(1) per
  voxel whatever the block size, accumulated in float64 along each line), centred on the
  image mean so that the variance does not lose precision.
- The image is processed in slabs along its first spatial axis with a halo as wide as the
  window reaches, so the result equals a whole-image run while memory stays bounded, and
  progress can be reported (and a run cancelled) between slabs.
- The local mean and Gaussian of 2D planes (8/16-bit integers; float32 for the Gaussian)
  run in compiled row kernels (:mod:`._adaptive_rows`) that repeat scipy's arithmetic:
  the same mask and threshold, with no float32 copy of the image and no compare pass.
- ``block_size`` is in pixels, or in physical units when ``spacing`` is given (anisotropic
  3D windows: the same extent in µm along every axis).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from typing import Any

import numpy as np

from .._checks import check_number, check_numbers, check_range
from ..backend import as_xp, get_xp, on_device, to_device, to_host
from ..kernels import adaptive as fused
from ._geometry import spacing_for
from ._pool import submit
from ._pool import workers as pool_workers
from .channels import to_grey
from .global_threshold import NothingToSeparate

__all__ = ["adaptive_threshold", "adaptive_threshold_map"]

METHODS = (
    "mean",
    "gaussian",
    "median",
    "midgrey",
    "bernsen",
    "contrast",
    "niblack",
    "sauvola",
    "phansalkar",
    "otsu",
)
#: default ``k`` per method (Niblack and Sauvola as scikit-image, Phansalkar as its paper)
DEFAULT_K = {"niblack": 0.2, "sauvola": 0.2, "phansalkar": 0.25}
_SLAB_VOXELS = 1 << 24  # core voxels per slab at most (64 MiB of float32)
_EXACT_WINDOW = 125  # median windows of at most this many voxels: scipy's exact median_filter
_LEVELS = 256  # intensity levels of the median by counting
#: local mean and Gaussian of 2D planes (integer; float32 for the Gaussian) by the compiled
#: row kernels of :mod:`._adaptive_rows`: scipy's results bit for bit, without float copies
COMPILED = True


@on_device
def adaptive_threshold(
    image: Any,
    method: str = "mean",
    *,
    block_size: float | tuple | None = None,
    spacing: tuple | None = None,
    offset: float | None = None,
    k: float | None = None,
    r: float | None = None,
    contrast: float | None = None,
    dark: bool = False,
    mask: Any = None,
    per_slice: bool = False,
    channel: str | int | None = None,
    rgb: bool | None = None,
    intensity_range: tuple[float, float] | None = None,
    progress: Callable[[float], None] | None = None,
):
    """Segment ``image`` with a threshold that follows the local background.

    Every pixel gets its own threshold ``t`` from the window around it (Fiji's Auto Local
    Threshold set plus scikit-image's), and the foreground is ``image > t`` (``image >= t``
    for "bernsen", "contrast" and "otsu"; the other side with ``dark``). Unlike
    :func:`skimage.filters.threshold_local`, the window is 2D or 3D, may be given in
    physical units (anisotropic voxels), and the window and offset default to values sized
    from the image. Local means and standard deviations come from running sums (O(1) per
    voxel whatever the window, in float64 along each line, centred on the image mean). The
    image is done in slabs along its first spatial axis with a halo as wide as the window
    reaches: the result equals a whole-image run, memory stays bounded, and progress is
    reported (and a run can be cancelled) between slabs, which run in threads on the CPU.
    The local mean and Gaussian of 2D planes (8/16-bit integers; float32 for the Gaussian)
    run in compiled row kernels that repeat scipy's arithmetic without float32 copies. A
    dask array is done block by block with a halo (the same result, lazily).

    Parameters
    ----------
    image : (M, N), (P, M, N) or nD array, or (..., 3) or (..., 4) colour array
        The image: 2D or 3D (leading axes beyond Z, e.g. time, are done one by one); grey,
        or RGB(A) in the last axis (see ``channel``). Any array-like (NumPy, CuPy, dask,
        zarr); the result is the same kind.
    method : str, default "mean"
        One of :data:`METHODS`. With ``x`` the pixel and ``m``, ``s``, ``min``, ``max`` the
        mean, standard deviation, minimum and maximum in its window:

        - "mean": ``m - offset`` (= scikit-image ``threshold_local(method="mean")``)
        - "gaussian": Gaussian-weighted mean, σ = (block - 1) / 6 (truncated at 4σ), minus
          ``offset``
        - "median": median minus ``offset``
        - "midgrey": ``(max + min) / 2 - offset``
        - "bernsen" (Bernsen 1986 [1]_): foreground if ``x >= (max + min) / 2``; where
          ``max - min < contrast`` the window is one class, decided by whether its
          mid-grey lies above the image's mid-grey
        - "contrast": foreground if ``x`` is nearer ``max`` than ``min``
        - "niblack" (Niblack 1986 [2]_): ``m - k s - offset``, k = 0.2 (= scikit-image)
        - "sauvola" (Sauvola & Pietikäinen 2000 [3]_): ``m (1 + k (s / r - 1)) - offset``,
          k = 0.2, r = half the dtype range (1 for float images; = scikit-image)
        - "phansalkar" (Phansalkar et al. 2011 [4]_): on intensities scaled to [0, 1],
          ``m (1 + 2 exp(-10 m) + k (s / r - 1))``, k = 0.25, r = 0.5 (fixed)
        - "otsu": Otsu's threshold [5]_ of the window (8-bit quantised,
          :func:`skimage.filters.rank.otsu`; computed on the CPU)
    block_size : float or tuple, default None ("auto")
        Window edge, one value or one per spatial axis: pixels (odd; even sizes are rounded
        up), or physical units when ``spacing`` is given. Auto: 4 × the typical object
        diameter (:func:`auto_window`; 51 pixels when the image has no objects to size, with
        a warning).
    spacing : tuple of float, optional
        The spatial axes' voxel size (default 1 per axis); ``block_size`` is then in its
        units, so a 3D window has the same extent in µm along every axis.
    offset : float, default None ("auto")
        Subtracted from the threshold of "mean", "gaussian", "median", "midgrey", "niblack"
        and "sauvola" (the others ignore it), in intensity units. Auto: for "mean",
        "gaussian" and "median", 2 × the noise's standard deviation, so flat background does
        not pass its own mean (negative for bright objects, positive with ``dark``; 0 gives
        scikit-image's ``threshold_local``); 0 for the other methods.
    k : float, optional
        The weight of ``s`` for "niblack", "sauvola" and "phansalkar" (defaults as above).
    r : float, optional
        For "sauvola": the dynamic range of ``s`` (> 0; default half the dtype range).
    contrast : float, optional
        For "bernsen": the least ``max - min`` of a window with two classes, in intensity
        units (≥ 0); default 15/255 of the intensity range (Fiji's 15 for 8-bit).
    dark : bool, default False
        Objects darker than their surroundings: foreground is ``image <= t`` (``< t`` for
        "bernsen", "contrast" and "otsu").
    mask : bool array of the grey image's shape, optional
        Foreground only inside it (the thresholds still see the whole image).
    per_slice : bool, default False
        2D windows on each plane of a stack, instead of 3D windows.
    channel : str or int, optional
        For colour input, the grey image to use (see
        :func:`napari_segkit.methods.channels.to_grey`): "luminance" (the default), "red",
        "green", "blue" (or 0, 1, 2), "hematoxylin", "eosin" or "dab".
    rgb : bool, optional
        Whether the last axis holds colour. Default None: guessed (3 or more axes and a last
        axis of length 3 or 4).
    intensity_range : (float, float), optional
        (min, max) with min < max: the intensities that Bernsen's contrast and mid-grey,
        Phansalkar's [0, 1] scaling of float images and local Otsu's 8-bit quantisation
        refer to; default this image's. Give the whole image's range when ``image`` is a
        piece of it (a preview, a block), so the piece matches the whole.
    progress : callable, optional
        Called with the fraction done (0 to 1) after each slab; see
        :mod:`napari_segkit.progress`. Raising in it (e.g.
        :class:`~napari_segkit.progress.Cancelled`) stops the run.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to run: "auto" uses the GPU when CuPy and a CUDA device work, else the CPU
        (and re-runs on the CPU, with a warning, when the GPU runs out of memory); "gpu"
        raises :class:`~napari_segkit.backend.GPUUnavailableError` when none works. On the
        GPU, "mean", "gaussian", "niblack", "sauvola" and "phansalkar" run in fused kernels.

    Returns
    -------
    mask : bool array of the grey image's shape
        The foreground; NaN pixels are never foreground. Same array kind as ``image``.
        Each pixel's threshold: :func:`adaptive_threshold_map` with the same arguments.

    Raises
    ------
    ValueError
        If ``method`` is unknown, the grey image has fewer than 2 axes, ``mask`` does not
        have its shape, ``block_size``, ``spacing`` or ``r`` is not positive, ``contrast``
        is negative, ``offset`` or ``k`` is not finite, ``spacing`` does not give one value
        per spatial axis, ``intensity_range`` is not two numbers with min < max,
        ``channel`` is unknown or given for a grey image, or ``device`` is not one of the
        three.
    NothingToSeparate
        A :class:`ValueError` subclass: the image is constant (and no ``intensity_range``
        is given), or every pixel is NaN or infinite.
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    GPUUnavailableError
        If ``device="gpu"`` and no CUDA GPU works.

    Warns
    -----
    UserWarning
        When ``block_size`` is "auto" and no objects stand out of the noise to size it (the
        window is then 51 pixels).

    See Also
    --------
    threshold : One global threshold from the histogram.
    auto_window : The "auto" window and offset.
    skimage.filters.threshold_local : scikit-image's local mean, Gaussian and median.

    Notes
    -----
    "median" is exact (:func:`scipy.ndimage.median_filter`) on the GPU and for windows of at
    most 125 voxels. Larger windows count, for each of 256 intensity levels, the voxels at or
    below it (a box sum): exact for integer data spanning at most 256 values, else within
    half a level (1/512 of the intensity range); the time grows with the levels, not the
    window. "niblack", "sauvola" and "phansalkar" see mirrored borders, as scikit-image; the
    others reflected ones. Phansalkar's [0, 1] scaling is the dtype's range for integer
    images, the data's (or ``intensity_range``) for float images. Fiji's plugin [6]_
    describes the methods it shares.

    References
    ----------
    .. [1] J. Bernsen, "Dynamic thresholding of grey-level images", Proceedings of the 8th
           International Conference on Pattern Recognition, Paris, pp. 1251-1255, 1986.
    .. [2] W. Niblack, "An Introduction to Digital Image Processing", Prentice-Hall, 1986.
    .. [3] J. Sauvola and M. Pietikäinen, "Adaptive document image binarization", Pattern
           Recognition 33(2):225-236, 2000. :doi:`10.1016/S0031-3203(99)00055-2`
    .. [4] N. Phansalkar, S. More, A. Sabale and M. Joshi, "Adaptive local thresholding for
           detection of nuclei in diversity stained cytology images", International
           Conference on Communications and Signal Processing (ICCSP), pp. 218-220, 2011.
           :doi:`10.1109/ICCSP.2011.5739305`
    .. [5] N. Otsu, "A threshold selection method from gray-level histograms", IEEE
           Transactions on Systems, Man, and Cybernetics 9(1):62-66, 1979.
           :doi:`10.1109/TSMC.1979.4310076`
    .. [6] G. Landini, "Auto Local Threshold", ImageJ/Fiji plugin documentation,
           https://imagej.net/plugins/auto-local-threshold

    Examples
    --------
    Nine bright discs on a background that brightens from left to right, where one global
    threshold also takes the bright side of the background:

    >>> import numpy as np
    >>> from napari_segkit import adaptive_threshold, threshold
    >>> y, x = np.mgrid[:48, :48]
    >>> discs = (y % 16 - 8) ** 2 + (x % 16 - 8) ** 2 <= 9  # radius 3, on a 3 x 3 grid
    >>> image = (2 * x + 40 * discs).astype(np.uint8)
    >>> int(discs.sum()), int(threshold(image).sum())
    (261, 1245)
    >>> mask = adaptive_threshold(image, block_size=15, offset=-10)
    >>> mask.dtype.name, bool((mask == discs).all())
    ('bool', True)

    The threshold image: foreground is where the image is above it.

    >>> from napari_segkit import adaptive_threshold_map
    >>> t = adaptive_threshold_map(image, block_size=15, offset=-10)
    >>> t.dtype.name, bool((mask == (image > t)).all())
    ('float32', True)

    Bernsen's method needs no offset: flat windows are one class.

    >>> mask = adaptive_threshold(image, "bernsen", block_size=15)
    >>> bool((mask == discs).all())
    True
    """
    return _finish(
        iter_adaptive_threshold(
            image,
            method,
            block_size=block_size,
            spacing=spacing,
            offset=offset,
            k=k,
            r=r,
            contrast=contrast,
            dark=dark,
            mask=mask,
            per_slice=per_slice,
            channel=channel,
            rgb=rgb,
            intensity_range=intensity_range,
        ),
        progress,
    )


@on_device
def adaptive_threshold_map(
    image: Any,
    method: str = "mean",
    *,
    block_size: float | tuple | None = None,
    spacing: tuple | None = None,
    offset: float | None = None,
    k: float | None = None,
    r: float | None = None,
    contrast: float | None = None,
    dark: bool = False,
    per_slice: bool = False,
    channel: str | int | None = None,
    rgb: bool | None = None,
    intensity_range: tuple[float, float] | None = None,
    progress: Callable[[float], None] | None = None,
):
    """Compute each pixel's threshold that :func:`adaptive_threshold` compares it with.

    The local threshold image of the same call (as :func:`skimage.filters.threshold_local`
    gives it): foreground is ``image > t`` (``image <= t`` with ``dark``, where the offset
    works the other way).

    Parameters
    ----------
    image : array
        As for :func:`adaptive_threshold`.
    method, block_size, spacing, offset, k, r, contrast, dark, per_slice, channel, rgb
        As for :func:`adaptive_threshold`.
    intensity_range : (float, float), optional
        As for :func:`adaptive_threshold`.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to run.
    progress : callable, optional
        Called with the fraction done (0 to 1) after each slab.

    Returns
    -------
    threshold : float32 array of the grey image's shape
        Each pixel's threshold in intensity units (±inf in Bernsen's one-class windows).
        Same array kind as ``image``.

    Raises
    ------
    ValueError
        As :func:`adaptive_threshold`.

    See Also
    --------
    adaptive_threshold : The mask for the same arguments.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import adaptive_threshold_map
    >>> ramp = np.tile(np.arange(64, dtype=np.float32), (32, 1))  # brighter to the right
    >>> t = adaptive_threshold_map(ramp, block_size=9, offset=0)
    >>> t.dtype.name, round(float(t[16, 32]), 3)  # the mean of a 9 x 9 window of a ramp
    ('float32', 32.0)
    """
    return _finish(
        iter_adaptive_threshold(
            image,
            method,
            block_size=block_size,
            spacing=spacing,
            offset=offset,
            k=k,
            r=r,
            contrast=contrast,
            dark=dark,
            per_slice=per_slice,
            channel=channel,
            rgb=rgb,
            return_threshold=True,
            intensity_range=intensity_range,
        ),
        progress,
    )[1]


def _finish(steps, progress):
    """Run a generator from :func:`iter_adaptive_threshold`, reporting its progress."""
    while True:
        try:
            fraction = next(steps)
        except StopIteration as done:
            return done.value
        if progress is not None:
            progress(fraction)


def iter_adaptive_threshold(
    image,
    method="mean",
    *,
    block_size=None,
    spacing=None,
    offset=None,
    k=None,
    r=None,
    contrast=None,
    dark=False,
    mask=None,
    per_slice=False,
    channel=None,
    rgb=None,
    return_threshold=False,
    intensity_range=None,
) -> Iterator[float]:
    """:func:`adaptive_threshold` as a generator on the image's own device.

    Yields the fraction done after each slab; ``return`` gives what
    :func:`adaptive_threshold` returns. Closing the generator stops the work.
    """
    _check_options(block_size, spacing, offset, k, r, contrast, intensity_range)
    if method not in METHODS:
        raise ValueError(f"unknown adaptive method {method!r}; choose one of {METHODS}")
    xp = get_xp(image)
    grey = to_grey(image, rgb=rgb, channel=channel)
    if grey.dtype == bool:
        grey = grey.view(xp.uint8)
    spatial = 2 if per_slice or grey.ndim == 2 else min(grey.ndim, 3)
    if grey.ndim < 2:
        raise ValueError(f"adaptive thresholding needs a 2D or 3D image, got shape {grey.shape}")
    if mask is not None:
        mask = as_xp(mask, xp).astype(bool, copy=False)
        if mask.shape != grey.shape:
            raise ValueError(f"mask shape {mask.shape} does not match the image's {grey.shape}")
    block_size, offset = auto_window(
        grey,
        method,
        block_size=block_size,
        offset=offset,
        spacing=spacing,
        dark=dark,
        per_slice=per_slice,
    )
    size = window(block_size, spacing, grey.shape[-spatial:])
    stats = _global_stats(grey, xp, intensity_range)
    params = _parameters(method, grey.dtype, stats, offset=offset, k=k, r=r, contrast=contrast)

    volumes = grey.reshape(-1, *grey.shape[-spatial:])
    out = xp.zeros(volumes.shape, dtype=bool)
    thresholds = xp.zeros(volumes.shape, xp.float32) if return_threshold else None
    halo = _halo(method, size)
    inclusive = method in ("bernsen", "contrast", "otsu")
    compiled = _compiled_rows(
        method, grey.dtype, spatial, xp, stats, size, params, dark, return_threshold
    )
    no_thresholds = np.empty((0, volumes.shape[-1]), np.float32)

    def run(v, start, stop):
        if compiled is not None:  # straight from the plane: no slab copy, no halo
            compiled(
                volumes[v],
                start,
                stop,
                out[v, start:stop],
                no_thresholds if thresholds is None else thresholds[v, start:stop],
            )
            return
        lo, hi = max(0, start - halo), min(volumes.shape[1], stop + halo)
        slab = volumes[v, lo:hi]
        core = slice(start - lo, stop - lo)
        if xp is not np and method in fused.METHODS:  # the mask straight from the kernels
            found, t = _fused(method, slab, size, params, stats, dark, return_threshold)
            out[v, start:stop] = found[core]
            if thresholds is not None:
                thresholds[v, start:stop] = t[core]
            return
        t = _local_threshold(method, slab, size, params, stats, xp)
        x, t = slab[core], t[core]
        if dark:
            out[v, start:stop] = x < t if inclusive else x <= t
        else:
            out[v, start:stop] = x >= t if inclusive else x > t
        if thresholds is not None:
            thresholds[v, start:stop] = t

    # slabs run in threads (scipy.ndimage releases the GIL); on the GPU one after another
    workers = pool_workers() if xp is np else 1
    slabs = _slabs(volumes.shape, halo, workers)
    if workers == 1 or len(slabs) == 1:
        for done, slab in enumerate(slabs, 1):
            run(*slab)
            yield done / len(slabs)
    else:
        pending = [submit(run, *slab) for slab in slabs]
        try:
            for done, future in enumerate(as_completed(pending), 1):
                future.result()
                yield done / len(slabs)
        finally:  # also when the caller closes the generator (cancel)
            for future in pending:
                future.cancel()
    out = out.reshape(grey.shape)
    if mask is not None:
        out &= mask
    if return_threshold:
        return out, thresholds.reshape(grey.shape)
    return out


def _check_options(block_size, spacing, offset, k, r, contrast, intensity_range) -> None:
    """The numbers of :func:`adaptive_threshold`, refused before any work."""
    if block_size is not None:
        check_numbers("block_size", block_size, above=0)
    if spacing is not None:
        check_numbers("spacing", spacing, above=0)
    check_number("offset", offset, optional=True)
    check_number("k", k, optional=True)
    check_number("r", r, above=0, optional=True)
    check_number("contrast", contrast, minimum=0, optional=True)
    check_range("intensity_range", intensity_range)


def _slabs(shape, halo, workers) -> list[tuple[int, int, int]]:
    """(volume, start, stop) along the first spatial axis: as few slabs as memory allows
    (at most :data:`_SLAB_VOXELS` each), a multiple of the workers so they finish together,
    and at least two halos thick so the halo adds at most as much again."""
    count, depth = shape[0], shape[1]
    plane = max(1, int(np.prod(shape[2:])))
    per_volume = max(1, -(-depth * plane // _SLAB_VOXELS))
    if count < workers:
        per_volume = -(-max(per_volume, workers // count) // workers) * workers
    per_volume = max(1, min(per_volume, depth // max(1, 2 * halo)))
    rows = -(-depth // per_volume)
    return [
        (v, start, min(depth, start + rows))
        for v in range(count)
        for start in range(0, depth, rows)
    ]


#: "auto" window and offset: the window's edge is WINDOW_OBJECTS typical object diameters
#: (:func:`~napari_segkit.methods.scale.estimate_object_size`), the offset NOISE_OFFSETS
#: noise standard deviations (objects must stand that far above the local mean);
#: measured on real nuclei, docs/benchmarks/real-data.md
WINDOW_OBJECTS, NOISE_OFFSETS = 4.0, 2.0
#: the methods whose ``offset`` is compared with the noise (the others keep 0)
NOISE_METHODS = ("mean", "gaussian", "median")
#: the window when the image has no objects to size (with a warning)
FALLBACK_BLOCK = 51
#: both are measured on the central box of at most this many voxels (also of a dask image)
AUTO_SAMPLE = 1 << 24


def auto_window(
    grey,
    method: str = "mean",
    *,
    block_size=None,
    offset: float | None = None,
    spacing=None,
    dark: bool = False,
    per_slice: bool = False,
    rgb: bool = False,
    channel: str | int | None = None,
) -> tuple:
    """(block_size, offset) that :func:`adaptive_threshold` uses when they are left on None:
    a window :data:`WINDOW_OBJECTS` (4) × the typical object diameter (physical units with
    ``spacing``; sized on the middle plane with ``per_slice``), and for "mean", "gaussian"
    and "median" an offset of :data:`NOISE_OFFSETS` (2) × the noise's standard deviation
    (robust, from neighbour differences), so that flat background does not pass its own
    local mean (the offset is negative for bright objects, positive with ``dark``). Both
    come from the central box of at most :data:`AUTO_SAMPLE` voxels (a NumPy, CuPy or
    dask image: only that box is read; colour with ``rgb``: its ``channel``). A
    ``block_size`` or ``offset`` given is returned as it is, and only what is missing is
    measured (sizing the objects takes about 2 s on a 4096² image)."""
    from .scale import estimate_or_warn, noise_level

    need_block = block_size is None
    need_noise = offset is None and method in NOISE_METHODS
    if offset is None and not need_noise:
        offset = 0.0
    if not (need_block or need_noise):
        return block_size, float(offset)

    shape = grey.shape[:-1] if rgb else grey.shape
    sample, sample_spacing = grey, spacing
    if len(shape) > 3 or (per_slice and len(shape) == 3):  # sized on the middle plane
        sample = grey[tuple(n // 2 for n in shape[:-2])]
        sample_spacing = None if spacing is None else tuple(spacing)[-2:]
        shape = shape[-2:]
    shrink = min(1.0, (AUTO_SAMPLE / max(int(np.prod(shape)), 1)) ** (1 / len(shape)))
    box = []
    for n in shape:
        keep = max(1, int(n * shrink))
        box.append(slice((n - keep) // 2, (n - keep) // 2 + keep))
    sample = to_grey(to_host(sample[tuple(box)]), rgb=rgb, channel=channel)
    if need_block:
        size = estimate_or_warn(sample, spacing=sample_spacing, dark=dark)
        block_size = float(
            WINDOW_OBJECTS * size
            if size
            else FALLBACK_BLOCK * min(spacing_for(sample_spacing, sample.ndim))
        )
    if need_noise:
        offset = NOISE_OFFSETS * noise_level(sample) * (1.0 if dark else -1.0)
    return block_size, float(offset)


def window(block_size, spacing, shape) -> tuple[int, ...]:
    """Odd window size in pixels per axis from a block size in pixels or physical units."""
    n = len(shape)
    block = np.broadcast_to(np.asarray(block_size, dtype=np.float64), (n,))
    if spacing is not None:
        spacing = np.asarray(spacing, dtype=np.float64)[-n:]
        if spacing.shape != (n,) or (spacing <= 0).any():
            raise ValueError(f"spacing needs {n} positive values, got {spacing.tolist()}")
        block = block / spacing
    if (block <= 0).any():
        raise ValueError(f"block_size must be positive, got {block_size}")
    size = np.maximum(1, np.rint(block).astype(int))
    size += size % 2 == 0
    return tuple(int(s) for s in size)


def _global_stats(grey, xp, intensity_range=None) -> dict:
    lo, hi = grey.min(), grey.max()
    finite = True
    if grey.dtype.kind == "f" and not bool(xp.isfinite(lo + hi)):
        good = grey[xp.isfinite(grey)]
        if good.size == 0:
            raise NothingToSeparate("every pixel to threshold is NaN or infinite")
        lo, hi, finite = good.min(), good.max(), False
    if intensity_range is not None:  # a piece of a larger image: its range decides
        lo, hi = (np.float64(v) for v in intensity_range)
    if lo == hi:
        raise NothingToSeparate(
            f"image is constant (every pixel is {lo.item()}); no threshold can separate "
            "objects from background"
        )
    step = max(1, grey.size // 65_536)  # the centre only needs to be near the mean
    sample = grey.reshape(-1)[::step]
    if not finite:
        sample = sample[xp.isfinite(sample)]
    centre = float(sample.mean(dtype=xp.float64)) if sample.size else (float(lo) + float(hi)) / 2
    return {"min": float(lo), "max": float(hi), "centre": centre, "finite": finite}


def _parameters(method, dtype, stats, *, offset, k, r, contrast) -> dict:
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        dtype_lo, dtype_hi = float(info.min), float(info.max)
    else:
        dtype_lo, dtype_hi = -1.0, 1.0  # scikit-image's dtype_limits for float images
    span = stats["max"] - stats["min"]
    return {
        "offset": float(offset),
        "k": DEFAULT_K.get(method, 0.0) if k is None else float(k),
        "r": 0.5 * (dtype_hi - dtype_lo) if r is None else float(r),
        "contrast": 15 / 255 * span if contrast is None else float(contrast),
        # Phansalkar's [0, 1] scaling: the dtype's range for integers, the data's for floats
        "unit_lo": dtype_lo if dtype.kind in "iu" else stats["min"],
        "unit_span": (dtype_hi - dtype_lo) if dtype.kind in "iu" else span,
    }


def _halo(method, size) -> int:
    first = size[0]
    if method == "gaussian":
        return int(4.0 * (first - 1) / 6.0 + 0.5)
    return first // 2


def _compiled_rows(method, dtype, spatial, xp, stats, size, params, dark, keep):
    """``fn(plane, start, stop, out, thresholds)`` filling mask (and threshold) rows of a 2D
    plane by :mod:`._adaptive_rows`, or None where scipy's path runs: not on the CPU, 3D
    windows, other methods or dtypes (mean: 8/16-bit integers, whose column sums are exact;
    Gaussian: those and finite float32), or :data:`COMPILED` off."""
    if not COMPILED or xp is not np or spatial != 2 or method not in ("mean", "gaussian"):
        return None
    small_integer = dtype.kind in "iu" and dtype.itemsize <= 2
    if not (small_integer or (method == "gaussian" and dtype == np.float32 and stats["finite"])):
        return None
    from . import _adaptive_rows as rows

    height, width = size
    if method == "mean" and dtype == np.uint8 and not keep:
        tables = _fixed_point_tables(height, width, params["offset"])
        if tables is not None:
            return lambda plane, start, stop, out, t: rows.mean_rows_fixed(
                plane, start, stop, height, width, dark, out, *tables
            )
    if method == "mean":  # uint8: every column sum's float32 mean looked up, not divided
        sums = np.arange(255 * height + 1) if dtype == np.uint8 else np.empty(0)
        lut = (sums / height).astype(np.float32)
        return lambda plane, start, stop, out, t: rows.mean_rows(
            plane, start, stop, height, width, params["offset"], dark, out, t, lut
        )
    down, across = _gaussian_weights(height), _gaussian_weights(width)
    return lambda plane, start, stop, out, t: rows.gaussian_rows(
        plane, start, stop, down, across, params["offset"], dark, out, t
    )


@functools.lru_cache(maxsize=16)
def _fixed_point_tables(height, width, offset):
    """For :func:`._adaptive_rows.mean_rows_fixed` on uint8: ``fixed[s]``, the float32 mean
    ``float32(s / height)`` of each column sum ``s`` times 2^K (K the least that makes them
    all integers), and ``below[x]``, the least row sum ``a`` of those for which scipy's
    threshold ``float32(float32(a 2^-K / width) - offset)`` reaches ``x`` (it only grows
    with ``a``), found by bisection. None where float64 sums of the means would round."""
    means = (np.arange(255 * height + 1) / height).astype(np.float32)
    k = 24 - int(np.frexp(means[1:])[1].min())  # float32: 24-bit mantissas
    top = 255 * width << k
    if top >= 1 << 52:  # scipy's float64 running sum would no longer be exact
        return None
    fixed = (means.astype(np.float64) * 2.0**k).astype(np.int64)
    x = np.arange(256, dtype=np.float32)
    lo, hi = np.zeros(256, np.int64), np.full(256, top + 1, np.int64)
    while (lo < hi).any():  # least a in [lo, hi] with threshold(a) >= x; top + 1: none
        mid = (lo + hi) // 2
        t = (mid.astype(np.float64) * 2.0**-k / width).astype(np.float32) - np.float32(offset)
        reached = t >= x
        hi, lo = np.where(reached, mid, hi), np.where(reached, lo, mid + 1)
    return fixed, lo


def _gaussian_weights(size):
    """scipy's ``gaussian_filter`` weights for a window of ``size`` pixels: σ = (size - 1) / 6,
    truncated at 4σ, float64, summing to 1 (one tap of 1 where σ is 0)."""
    sigma = (size - 1) / 6.0
    if sigma <= 1e-15:
        return np.ones(1)
    radius = int(4.0 * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    phi = np.exp(-0.5 / (sigma * sigma) * x**2)
    return phi / phi.sum()


def _fused(method, slab, size, params, stats, dark, keep):
    """Mask (and threshold with ``keep``) of ``slab`` by the fused GPU kernels."""
    return fused.fused_threshold(
        slab,
        size,
        method,
        dark=dark,
        keep=keep,
        fill=None if stats["finite"] else stats["centre"],
        centre=stats["centre"],
        offset=params["offset"],
        k=params["k"],
        r=params["r"],
        unit_lo=params["unit_lo"],
        unit_span=params["unit_span"],
    )


def _local_threshold(method, slab, size, params, stats, xp):
    """The threshold image (float32) of ``slab`` for ``method``."""
    ndi = importlib.import_module("scipy.ndimage" if xp is np else "cupyx.scipy.ndimage")
    x = slab.astype(xp.float32)
    if not stats["finite"]:
        x[~xp.isfinite(x)] = stats["centre"]  # NaN/inf do not spread into their windows
    if method == "mean":
        t = ndi.uniform_filter(x, size, mode="reflect")
    elif method == "gaussian":
        t = ndi.gaussian_filter(x, [(s - 1) / 6.0 for s in size], mode="reflect", truncate=4.0)
    elif method == "median":
        t = _window_median(x, slab.dtype, size, stats, ndi, xp)
    elif method in ("midgrey", "bernsen", "contrast"):
        top = ndi.maximum_filter(x, size, mode="reflect")
        bottom = ndi.minimum_filter(x, size, mode="reflect")
        t = (top + bottom) / 2
        if method == "bernsen":
            flat = (top - bottom) < params["contrast"]
            image_mid = (stats["max"] + stats["min"]) / 2
            t[flat] = xp.where(t[flat] >= image_mid, -xp.inf, xp.inf)
        if method != "midgrey":
            return t
    elif method in ("niblack", "sauvola", "phansalkar"):
        m, s = _mean_std(x, size, stats["centre"], ndi, xp)
        kk = params["k"]
        if method == "niblack":
            t = m - kk * s
        elif method == "sauvola":
            t = m * (1 + kk * (s / params["r"] - 1))
        else:
            lo, span = params["unit_lo"], params["unit_span"]
            m_unit, s_unit = (m - lo) / span, s / span
            t_unit = m_unit * (1 + 2.0 * xp.exp(-10.0 * m_unit) + kk * (s_unit / 0.5 - 1))
            return (lo + span * t_unit).astype(xp.float32)
    else:  # otsu
        return _local_otsu(x, size, stats, xp)
    t -= params["offset"]
    return t


def _window_median(x, dtype, size, stats, ndi, xp):
    """Median in the window (reflected borders). On the GPU, or for windows of at most
    :data:`_EXACT_WINDOW` voxels: ``median_filter``, exact. Else by counting: for each
    intensity level, the number of window voxels at or below it is a box sum, and the median
    is the first level where that count passes half the window. Levels are the integers
    when the data are integers spanning at most 256 values (exact), else 256 equal bins of
    the intensity range, the median given as its bin's centre (within half a bin, 1/512 of
    the range, of the exact median). Time grows with the levels, not the window."""
    if xp is not np or int(np.prod(size)) <= _EXACT_WINDOW:
        return ndi.median_filter(x, size, mode="reflect")
    lo, hi = stats["min"], stats["max"]
    exact = dtype.kind in "iub" and hi - lo < _LEVELS
    step = 1.0 if exact else (hi - lo) / _LEVELS
    levels = x - np.float32(lo)
    levels /= np.float32(step)
    q = np.clip(
        levels if exact else np.floor(levels, out=levels), 0, _LEVELS - 1, out=levels
    ).astype(np.uint8)
    del levels
    need = (np.prod(size) // 2 + 0.5) / np.prod(size)  # window share at or below the median
    median = np.full(q.shape, q.min(), np.uint8)
    below, count = np.empty(q.shape, np.float32), np.empty(q.shape, np.float32)
    for level in range(int(q.min()), int(q.max())):
        np.less_equal(q, level, out=below, casting="unsafe")
        ndi.uniform_filter(below, size, output=count, mode="reflect")
        short = count < need
        if not short.any():  # every window's median is found
            break
        median += short
    t = median.astype(np.float32) * np.float32(step) + np.float32(lo)
    return t if exact else t + np.float32(step / 2)


def _mean_std(x, size, centre, ndi, xp):
    """Window mean and standard deviation by running sums (mirror borders, as scikit-image)."""
    centred = x - xp.float32(centre)
    m = ndi.uniform_filter(centred, size, mode="mirror")
    centred *= centred
    var = ndi.uniform_filter(centred, size, mode="mirror")
    del centred
    var -= m * m
    xp.maximum(var, 0, out=var)
    m += xp.float32(centre)
    return m, xp.sqrt(var, out=var)


def _local_otsu(x, size, stats, xp):
    from skimage.filters import rank

    lo, span = stats["min"], stats["max"] - stats["min"]
    quantised = np.clip(np.rint((to_host(x) - lo) / span * 255), 0, 255).astype(np.uint8)
    level = rank.otsu(quantised, footprint=np.ones(size, dtype=bool)).astype(np.float32)
    # compare in quantised units: foreground where quantised >= level
    t = lo + (level - 0.5) / 255 * span
    return to_device(t.astype(np.float32), "gpu" if xp is not np else "cpu")

"""The typical size of the objects in an image: one estimate that every size parameter left
on "auto" (smoothing, seed distance, minimum object size, block size) is derived from.

The estimate is the scale of the strongest blobs of the scale-normalised Laplacian of
Gaussian (Lindeberg 1998): ``-σ² ∇²(G_σ * I)`` peaks at ``σ = r / √ndim`` at the centre of a
bright disc (ball) of radius ``r``. Over a geometric series of σ (physical units with
``spacing``), each voxel keeps its strongest response and the σ giving it; the blob centres
are the local maxima of that response which stand out of the noise (more than
:data:`NOISE_FACTOR` times what the same filter gives on the image's own noise, measured from
neighbour differences); the typical diameter is the median over them of ``2 √ndim σ``,
weighted by squared response × volume, so many small specks do not set it. The Laplacian
ignores smooth background, so uneven illumination does not shift it.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

from ._geometry import sigma_voxels, spacing_for
from ._pool import map_tasks
from ._pool import workers as pool_workers
from .channels import to_grey

__all__ = ["estimate_object_size"]

#: a blob counts when its response exceeds this many standard deviations of the noise's
NOISE_FACTOR = 6.0
_BUDGET = 1 << 20  # voxels the scale space is computed on (larger images are binned)
#: pixels the noise is measured on (the median of 2 M differences is within about 0.1 %)
_NOISE_SAMPLE = 1 << 21
_STEPS_PER_OCTAVE = 4


class NoObjects(ValueError):
    """Nothing in the image stands out of its noise (or the image is constant)."""


def estimate_object_size(
    image, *, spacing=None, channel=None, rgb: bool | None = None, dark: bool = False
) -> float:
    """Estimate the typical diameter of the objects in an image.

    Every size parameter left on "auto" by the methods is derived from this estimate: the
    scale of the strongest blobs of the scale-normalised Laplacian of Gaussian (Lindeberg),
    whose response ``-σ² ∇²(G_σ * I)`` peaks at ``σ = r / √ndim`` at the centre of a bright
    disc (ball) of radius ``r``. Over a geometric series of σ (4 per octave, from one voxel
    to a twelfth of the image's largest extent), the blob centres are the local maxima that
    stand out of the noise (more than :data:`NOISE_FACTOR` (6) times what the same filter
    gives on the image's own noise, measured from neighbour differences); the diameter is
    the median of their ``2 √ndim σ``, weighted by squared response × volume, so many small
    specks do not set it. The Laplacian ignores smooth background, so uneven illumination
    does not shift it. Images over 2**20 voxels are binned first.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., 3 or 4)
        Grey intensities, or RGB(A) colour in the last axis. NumPy, or an array-like that
        NumPy can read (dask, zarr).
    spacing : sequence of float, optional
        Physical voxel size per axis (default 1 per axis); the diameter is in its units.
    channel : str or int, optional
        For colour: the channel to size, as in :func:`~napari_segkit.methods.channels.to_grey`
        ("luminance" (default), "red", "green", "blue", "hematoxylin", "eosin", "dab" or an
        index), or "auto": haematoxylin on a brightfield slide, else luminance.
    rgb : bool, optional
        The last axis holds colour. None: guessed, colour when there are 3 or more axes and
        the last has 3 or 4 values.
    dark : bool, default False
        The objects are darker than the background.

    Returns
    -------
    diameter : float
        The typical object diameter, in the units of ``spacing`` (voxels without).

    Raises
    ------
    NoObjects
        (a ValueError) If the image is constant or only noise: no object stands out of it.
    ValueError
        If the image is not 2D or 3D (after the colour axis), ``spacing`` is not one
        positive number per axis, or ``channel`` does not fit the image.

    See Also
    --------
    measure : The sizes of segmented objects.

    Notes
    -----
    The largest σ tried is a twelfth of the image's largest extent, so objects wider than
    about a quarter of it (√ndim / 6) are not seen: the estimate then comes from smaller
    structures (noise specks, texture), or :class:`NoObjects` is raised.

    References
    ----------
    .. [1] T. Lindeberg, "Feature detection with automatic scale selection", International
           Journal of Computer Vision 30(2):79-116, 1998. :doi:`10.1023/A:1008045108935`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import estimate_object_size
    >>> yy, xx = np.mgrid[:64, :64]
    >>> image = np.zeros((64, 64))
    >>> for cy, cx in [(16, 16), (16, 48), (48, 16), (48, 48)]:  # discs of diameter 12
    ...     image[(yy - cy) ** 2 + (xx - cx) ** 2 < 6 ** 2] = 1.0
    >>> round(estimate_object_size(image), 1)
    11.3
    >>> round(estimate_object_size(image, spacing=0.5), 2)  # µm at 0.5 µm per pixel
    5.66
    >>> round(estimate_object_size(1 - image, dark=True), 1)  # dark discs on white
    11.3
    """
    grey, spacing = _prepared(image, spacing, channel, rgb, dark)
    sigmas = _sigmas(grey.shape, spacing)
    response, index = _scale_space(grey, spacing, sigmas)
    centres = response >= ndimage.maximum_filter(response, size=3, mode="nearest")
    centres &= response > NOISE_FACTOR * _noise_gain(grey, spacing, sigmas)[index]
    centres &= index < len(sigmas) - 1  # still growing at the largest σ: not a blob's scale
    for axis in range(grey.ndim):  # the filters' edge handling is not the image's noise
        edges = [slice(None)] * grey.ndim
        for end in (0, -1):
            edges[axis] = end
            centres[tuple(edges)] = False
    if not centres.any():
        raise NoObjects("no objects stand out of the noise in this image; nothing to size")
    diameters = 2 * np.sqrt(grey.ndim) * sigmas[index[centres]]
    # weighted by squared response × volume: strong, large blobs set it, not specks
    return _weighted_median(diameters, response[centres] ** 2 * diameters**grey.ndim)


def estimate_or_warn(image, **options) -> float | None:
    """:func:`estimate_object_size`, or None with a warning naming the reason."""
    try:
        return estimate_object_size(image, **options)
    except NoObjects as err:
        warnings.warn(f"{err}; the result is empty", stacklevel=3)
        return None


def _prepared(image, spacing, channel, rgb, dark):
    """float32 grey image (bright objects), binned to at most :data:`_BUDGET` voxels, and
    its spacing; refuses what cannot be sized."""
    if channel == "auto":
        from .channels import auto_channel

        channel, dark = auto_channel(image, rgb=rgb, channel=channel, dark=dark)
    grey = np.asarray(to_grey(np.asarray(image), rgb=rgb, channel=channel), dtype=np.float32)
    if grey.ndim not in (2, 3):
        raise ValueError(f"estimate_object_size needs a 2D or 3D image, got shape {grey.shape}")
    grey, spacing = _binned(grey, spacing_for(spacing, grey.ndim))  # before the full passes
    finite = np.isfinite(grey)
    if not finite.all():
        grey = np.where(finite, grey, np.median(grey[finite]) if finite.any() else 0)
    lo, hi = np.percentile(grey, (0.5, 99.9))
    if hi <= lo:
        raise NoObjects(
            "the image is constant (or nearly: 99 % of it has one value); "
            "there are no objects to size"
        )
    grey = (grey - lo) / (hi - lo)
    return (-grey if dark else grey), spacing


def _binned(grey, spacing, factor=None):
    """The image averaged over blocks of ``factor`` voxels a side (default: so that it has
    at most :data:`_BUDGET` voxels), and its spacing."""
    if factor is None:
        factor = int(np.ceil((grey.size / _BUDGET) ** (1 / grey.ndim)))
    if factor <= 1:
        return grey, spacing
    factors = [min(factor, n) for n in grey.shape]  # a thin axis (a few slices) stays ≥ 1
    shape = [n // f for n, f in zip(grey.shape, factors)]
    blocks = grey[tuple(slice(0, n * f) for n, f in zip(shape, factors))]
    for axis, (n, f) in enumerate(zip(shape, factors)):
        blocks = blocks.reshape(*blocks.shape[:axis], n, f, *blocks.shape[axis + 1 :])
        blocks = blocks.mean(axis=axis + 1)
    return blocks.astype(np.float32), tuple(s * f for s, f in zip(spacing, factors))


def _sigmas(shape, spacing) -> np.ndarray:
    """Geometric σ series from one voxel to a twelfth of the image's largest extent."""
    smallest = min(spacing)
    largest = max(n * s for n, s in zip(shape, spacing)) / 12
    count = max(int(np.log2(max(largest / smallest, 1)) * _STEPS_PER_OCTAVE) + 1, 1)
    return smallest * 2.0 ** (np.arange(count) / _STEPS_PER_OCTAVE)


def _normalised_log(grey, sigma, spacing):
    """-σ² ∇²(G_σ * grey), derivatives in physical units. Along an axis where σ is under a
    voxel, the second difference of the smoothed image: a Gaussian-derivative kernel that
    narrow is not zero-sum, so it would answer the intensity itself."""
    sigmas = [sigma / s for s in spacing]
    smooth = None
    total = np.zeros(grey.shape, np.float32)
    for axis, s in enumerate(spacing):
        if sigmas[axis] >= 1:
            order = [0] * grey.ndim
            order[axis] = 2
            second = ndimage.gaussian_filter(grey, sigmas, order=order, mode="nearest")
        else:
            if smooth is None:
                smooth = ndimage.gaussian_filter(grey, sigmas, mode="nearest")
            second = ndimage.correlate1d(smooth, [1.0, -2.0, 1.0], axis=axis, mode="nearest")
        total -= second / np.float32(s**2)
    return total * np.float32(sigma**2)


def _scale_space(grey, spacing, sigmas):
    """Each voxel's strongest normalised-LoG response and the index of the σ giving it."""

    def response(sigma):
        # large σ on a coarser copy (at least 2 voxels per σ), brought back to full size
        factor = max(1, 2 ** int(np.log2(max(sigma / max(spacing) / 2, 1))))
        coarse, coarse_spacing = _binned(grey, spacing, factor)
        return _upsampled(_normalised_log(coarse, sigma, coarse_spacing), factor, grey.shape)

    best = np.full(grey.shape, -np.inf, np.float32)
    index = np.zeros(grey.shape, np.uint8)
    batch = pool_workers()  # σ at once on the pool's threads (SciPy's filters free the GIL)
    for start in range(0, len(sigmas), batch):
        for i, found in enumerate(map_tasks(response, sigmas[start : start + batch]), start):
            stronger = found > best  # in σ order, as one after another
            best[stronger] = found[stronger]
            index[stronger] = i
    return best, index


def _upsampled(image, factor, shape):
    """``image`` (binned by ``factor``) interpolated back to ``shape`` (linear, so that its
    maxima stay points, not plateaus)."""
    if factor == 1:
        return image
    zoom = [n / m for n, m in zip(shape, image.shape)]
    return ndimage.zoom(image, zoom, order=1, mode="nearest", grid_mode=True)


def noise_level(grey) -> float:
    """Standard deviation of the image's pixel noise, robust to edges and objects: the median
    absolute deviation of neighbour differences along the last axis (NaN/inf ignored), from
    evenly spaced lines of at most :data:`_NOISE_SAMPLE` pixels in all."""
    lines = np.asarray(grey).reshape(-1, np.shape(grey)[-1] if np.ndim(grey) else 1)
    lines = lines[:: max(1, lines.size // _NOISE_SAMPLE)]
    steps = np.diff(lines.astype(np.float32), axis=-1).ravel()
    steps = steps[np.isfinite(steps)]
    if not steps.size:
        return 0.0
    deviations = np.abs(steps - np.median(steps))
    return 1.4826 * float(np.median(deviations, overwrite_input=True)) / np.sqrt(2)


def _noise_gain(grey, spacing, sigmas) -> np.ndarray:
    """The standard deviation of the image's noise after the filter of each σ: the noise
    (from neighbour differences, robust to edges) times the filter's L2 norm."""
    noise = noise_level(grey)
    if noise == 0:  # a quantised, flat background: one grey level of rounding noise
        levels = np.unique(grey.ravel()[:: max(grey.size // 100_000, 1)])
        noise = float(np.min(np.diff(levels))) / np.sqrt(12) if levels.size > 1 else 0.0
    gains = []
    for sigma in sigmas:
        if sigma / min(spacing) > 3:  # white noise's response falls as σ^(-ndim/2)
            gains.append(gains[-1] * (sigmas[len(gains) - 1] / sigma) ** (grey.ndim / 2))
            continue
        size = [2 * int(np.ceil(4 * sigma / s)) + 1 for s in spacing]
        impulse = np.zeros(size, np.float32)
        impulse[tuple(n // 2 for n in size)] = 1
        gains.append(np.sqrt((_normalised_log(impulse, sigma, spacing) ** 2).sum()))
    return noise * np.asarray(gains, np.float32)


def _weighted_median(values, weights) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


#: objects smaller than this fraction of the typical object's volume (area in 2D) are
#: dropped by the recipes when ``min_size`` is left on "auto"
MIN_FRACTION = 0.2


def typical_volume(diameter: float, ndim: int) -> float:
    """Area (2D) or volume (3D) of a disc/ball of ``diameter``, in the same units."""
    return np.pi / 4 * diameter**2 if ndim == 2 else np.pi / 6 * diameter**3


def auto_min_size(min_size, diameter, shape, spacing=None) -> float:
    """``min_size`` as given, or :data:`MIN_FRACTION` of the typical object's volume in an
    image of ``shape`` (a stack of a few slices holds flat objects: at most the disc's area
    × the stack's depth)."""
    if min_size is not None:
        return float(min_size)
    if not diameter:
        return 0.0
    volume = typical_volume(diameter, len(shape))
    if len(shape) == 3:
        depth = min(n * s for n, s in zip(shape, spacing_for(spacing, 3)))
        volume = min(volume, typical_volume(diameter, 2) * depth)
    return MIN_FRACTION * volume


def without_small(labels, min_size: float, spacing):
    """Label ids (numbered 1…N after) whose volume in physical units is at least
    ``min_size``; any array module (NumPy/CuPy)."""
    from ..backend import get_xp

    xp = get_xp(labels)
    if min_size <= 0 or not int(labels.max()):
        return labels
    voxel = float(np.prod(spacing_for(spacing, labels.ndim)))
    counts = xp.bincount(labels.ravel())
    keep = counts * voxel >= min_size
    keep[0] = False
    lut = xp.zeros(counts.size, labels.dtype)
    lut[keep] = xp.arange(1, int(keep.sum()) + 1, dtype=labels.dtype)
    return lut[labels]


#: the seed-scale search (:func:`stable_sigma`): candidate sigmas from FIRST × the typical
#: diameter, growing by STEP, at most STEPS of them; a step is "stable" when the number of
#: maxima falls by less than STEP ** STABLE_SLOPE (about 4 %). Measured on real nuclei,
#: docs/benchmarks/real-data.md.
FIRST, STEP, STEPS, STABLE_SLOPE = 0.096, 1.2, 6, 0.2


def stable_sigma(image, mask, diameter: float, spacing, *, ndi=ndimage):
    """(sigma, image smoothed by it): the smallest Gaussian sigma (physical units) at which
    the number of local maxima of ``image`` inside ``mask`` stops falling as sigma grows.

    Too little smoothing leaves several maxima per object (texture, irregular outlines),
    too much merges neighbours; between the two the count has a plateau. The candidates run
    from :data:`FIRST` × ``diameter`` (0.096) up by :data:`STEP` (1.2×) to 0.24 ×; the first
    whose next step loses under 4 % of the maxima wins, else the step that loses the fewest.
    Smoothing is incremental (Gaussians compose), so the search costs about one blur per candidate
    at the size of the difference. ``ndi``: scipy.ndimage or cupyx.scipy.ndimage.
    """
    ndim = image.ndim
    sigmas = FIRST * diameter * STEP ** np.arange(STEPS + 1)
    smoothed, counts, done = [], [], 0.0
    current = image.astype(np.float32, copy=False)
    for sigma in sigmas:
        extra = float(np.sqrt(sigma**2 - done**2))
        current = ndi.gaussian_filter(current, sigma_voxels(extra, spacing, ndim))
        done = sigma
        counts.append(max(int(ndi.label(_maxima_3x3(current, mask, ndi))[1]), 1))
        smoothed.append(current)
        if len(counts) >= 2:
            if np.log(counts[-2] / counts[-1]) < STABLE_SLOPE * np.log(STEP):
                return float(sigmas[len(counts) - 2]), smoothed[-2]
            smoothed[-2] = None  # keep at most two blurred copies
    drops = np.log(np.asarray(counts[:-1]) / np.asarray(counts[1:]))
    sigma = float(sigmas[int(np.argmin(drops))])
    return sigma, ndi.gaussian_filter(
        image.astype(np.float32, copy=False), sigma_voxels(sigma, spacing, ndim)
    )


def _maxima_3x3(image, mask, ndi):
    """``(image >= maximum_filter(image, 3, mode="nearest")) & mask``: compiled on the host
    up to 3D (:func:`._flood.local_maxima`), else with ``ndi``."""
    if ndi is ndimage:
        from ._flood import local_maxima

        peaks = local_maxima(image, mask)
        if peaks is not None:
            return peaks
    return (image >= ndi.maximum_filter(image, size=3, mode="nearest")) & mask

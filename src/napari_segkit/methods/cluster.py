"""Clustering pixels by intensity or colour (k-means, fuzzy c-means, mean shift) and
superpixels (SLIC).

Cluster centres are learnt from a random sample of at most ``sample`` pixels (default
200 000; seeded, so results repeat) and every pixel then goes to its nearest centre, so
memory stays at a few copies of the image. Classes are numbered 1…k by increasing brightness
(mean over the channels), so the same settings give the same class ids on similar images.
In "instance" mode the darkest class is the background (the brightest with ``dark=True``)
and every connected part of the other classes is an object.
"""

from __future__ import annotations

import numpy as np
from skimage import segmentation

from .._checks import check_choice, check_number
from ..backend import cpu_only, get_xp, on_device, to_host
from ..kernels.kmeans import nearest
from ..progress import report
from ._geometry import spacing_for
from .components import label
from .scale import auto_min_size, estimate_or_warn, without_small

MODES = ("semantic", "instance", "panoptic")
SAMPLE = 200_000


def _features(image, rgb: bool, cast: bool = True):
    """Pixels as rows of float32 features (1 for grey, 3–4 for colour), on their device;
    without ``cast``, rows of the image's own real dtype (a view where the layout allows)."""
    xp = get_xp(image)
    image = xp.asarray(image)
    if image.dtype.kind == "c" or (not rgb and image.ndim not in (1, 2, 3)):
        raise ValueError(f"expected a 1D, 2D or 3D grey image (or RGB with rgb=True), got "
                         f"shape {image.shape} of {image.dtype}")
    rows = image.reshape(-1, image.shape[-1] if rgb else 1)
    if not cast:
        return rows.view(xp.uint8) if rows.dtype == bool else rows
    return rows.astype(xp.float32)


def _sample(features, sample: int, seed: int) -> np.ndarray:
    """At most ``sample`` finite rows picked at random (seeded), as a NumPy array."""
    xp = get_xp(features)
    pool = features
    if features.dtype.kind == "f":
        finite = xp.isfinite(features).all(axis=1)
        pool = features if bool(finite.all()) else features[finite]
    if len(pool) == 0:
        raise ValueError("the image has no finite pixels to cluster")
    if len(pool) > sample:
        pool = pool[xp.asarray(np.random.default_rng(seed).choice(len(pool), sample,
                                                                  replace=False))]
    return to_host(pool)


def _by_brightness(centres: np.ndarray) -> np.ndarray:
    return centres[np.argsort(centres.mean(axis=1), kind="stable")]


def _as_output(classes, mode: str, dark: bool = False, *, image=None, rgb=False,
               min_size: float | None = None):
    """Class ids as asked: semantic (classes), instance (connected parts of every class but
    the background, numbered 1…N; the background is class 1, or the brightest class with
    ``dark``) or panoptic ((classes, instances)); on the classes' device. Parts smaller
    than ``min_size`` voxels are dropped; None: :data:`~.scale.MIN_FRACTION` × the typical
    object of a 2D/3D ``image`` (:func:`~.scale.estimate_object_size`); none when the image
    has no objects (pure noise: a warning)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if mode == "semantic":
        return classes
    xp = get_xp(classes)
    instances = xp.zeros(classes.shape, xp.int32)
    count, last = 0, int(classes.max())
    for c in range(1, last + 1):
        if c == (last if dark else 1):
            continue
        parts = label(classes == c, connectivity=1, device="cpu" if xp is np else "gpu")
        instances[parts > 0] = parts[parts > 0] + count
        count += int(parts.max())
    if min_size is None and image is not None and count and classes.ndim in (2, 3):
        size = estimate_or_warn(to_host(image), rgb=rgb)
        min_size = auto_min_size(None, size, classes.shape) if size else np.inf  # no objects
    instances = without_small(instances, min_size or 0.0, None)
    return instances if mode == "instance" else (classes, instances)


def _check_k(k: int) -> None:
    check_number("k", k, minimum=2, maximum=255, integer=True)


def _check_sampling(mode: str, seed: int, sample: int, iterations: int,
                    min_size: float | None) -> None:
    """The arguments every clustering method shares, refused before any work."""
    check_choice("mode", mode, MODES)
    check_number("min_size", min_size, minimum=0, optional=True)
    check_number("seed", seed, minimum=0, integer=True)
    check_number("sample", sample, minimum=1, integer=True)
    check_number("iterations", iterations, minimum=1, integer=True)


@on_device
def kmeans(image, k: int = 3, *, rgb: bool = False, mode: str = "semantic", seed: int = 0,
           iterations: int = 30, starts: int = 10, sample: int = SAMPLE, dark: bool = False,
           min_size: float | None = None):
    """k-means on intensity or colour; classes 1…k by brightness. Each of ``starts`` runs
    (greedy k-means++ start, as scikit-learn's) is at most ``iterations`` Lloyd steps, ending
    early when no pixel changes class or no centre moves by over 1e-4 × the spread, then
    Hartigan's exchange, which only lowers the within-class variance; the lowest is kept.
    Sums in float64; one channel: on the sample's histogram (exact, O(levels)); colour:
    compiled (:mod:`._kmeans`). Every pixel then goes to its nearest centre (compiled).

    ``mode``: "semantic" (uint8 class ids), "instance" (int32 ids of the connected parts
    of every class but the background: the darkest class, or the brightest with ``dark``)
    or "panoptic" (both, as a tuple); instance parts smaller than ``min_size`` voxels are
    dropped (None, "auto": 0.2 × the area/volume of the image's typical object,
    :func:`~napari_segkit.methods.scale.estimate_object_size`; 0 keeps every part).
    ``device``: "auto", "cpu" or "gpu";
    on the GPU every pixel is assigned there (kernels/kmeans.cu), the centres are fitted on
    the host from the same sample, so the classes are the CPU's.
    """
    _check_sampling(mode, seed, sample, iterations, min_size)
    check_number("starts", starts, minimum=1, integer=True)
    _check_k(k)
    from . import _kmeans

    shape = np.shape(image)[:-1] if rgb else np.shape(image)
    rows = _features(image, rgb, cast=False)  # no float copy: the GPU kernel casts as it reads
    points = _sample(rows, sample, seed)  # the same on either device
    centres = _by_brightness(_kmeans_centres(points, k, seed, iterations, starts))
    assign = _kmeans.nearest if get_xp(rows) is np else nearest
    classes = (assign(rows, centres) + 1).reshape(shape)
    return _as_output(classes.astype(np.uint8, copy=False), mode, dark, image=image, rgb=rgb,
                      min_size=min_size)


@cpu_only
def fuzzy_cmeans(image, k: int = 3, *, m: float = 2.0, rgb: bool = False,
                 mode: str = "semantic", return_membership: bool = False, seed: int = 0,
                 iterations: int = 200, sample: int = SAMPLE, dark: bool = False,
                 min_size: float | None = None):
    """Fuzzy c-means (Bezdek) on intensity or colour: each pixel belongs to every class with
    a membership in 0…1; the label is the class with the largest. ``m`` > 1 is the
    fuzziness (2 is usual); the centres start from k-means'. With ``return_membership``
    also returns float32 memberships of shape (k, *image shape), classes ordered as the
    labels (1…k by brightness). ``mode``, ``dark`` and ``min_size`` as in :func:`kmeans`.
    """
    _check_sampling(mode, seed, sample, iterations, min_size)
    check_number("m", m, above=1)
    _check_k(k)
    if m <= 1:
        raise ValueError(f"m (fuzziness) must be greater than 1, got {m}")
    shape = np.shape(image)[:-1] if rgb else np.shape(image)
    features = _features(image, rgb)
    points = _sample(features, sample, seed).astype(np.float64)
    centres = _kmeans_centres(points, k, seed)  # started from k-means, as is usual
    for i in range(iterations):
        report(0.3 + 0.6 * i / iterations)
        u = _memberships(points, centres, m)
        weights = u ** m
        moved = (weights.T @ points) / weights.sum(axis=0)[:, None]
        step, centres = np.abs(moved - centres).max(), moved
        if step <= 1e-6 * (np.ptp(points) + 1e-12):
            break
    centres = _by_brightness(centres)
    classes = (nearest(features, centres) + 1).reshape(shape).astype(np.uint8)
    result = _as_output(classes, mode, dark, image=image, rgb=rgb, min_size=min_size)
    if not return_membership:
        return result
    u = np.concatenate([_memberships(features[i:i + (1 << 20)].astype(np.float64), centres, m)
                        for i in range(0, len(features), 1 << 20)])
    return result, np.moveaxis(u.astype(np.float32), 1, 0).reshape((k, *shape))


def _kmeans_centres(points, k, seed, iterations=30, starts=10):
    """The best (lowest within-class sum of squares) of ``starts`` k-means runs from
    k-means++ starts (:func:`._kmeans.fit`), k × d float64."""
    from . import _kmeans  # numba: loaded only when clustering

    if _fewer_distinct(points, k):
        raise ValueError(f"the image has fewer than k={k} distinct values to cluster")
    return _kmeans.fit(points, k, seed, iterations, starts)


def _fewer_distinct(points: np.ndarray, k: int) -> bool:
    """Whether ``points`` (finite rows) hold fewer than ``k`` distinct rows: k passes that
    each drop the rows equal to the first left (sorting rows, np.unique's way, is slower)."""
    for _ in range(k):
        if len(points) == 0:
            return True
        points = points[(points != points[0]).any(axis=1)]
    return False


def _memberships(points, centres, m):
    d = np.sqrt(((points[:, None, :] - centres[None]) ** 2).sum(axis=2))
    d = np.maximum(d, 1e-12)
    ratio = (d[:, :, None] / d[:, None, :]) ** (2 / (m - 1))
    return 1.0 / ratio.sum(axis=2)


@cpu_only
def mean_shift(image, *, bandwidth: float | None = None, rgb: bool = False,
               mode: str = "semantic", seed: int = 0, sample: int = 1000,
               iterations: int = 100, dark: bool = False, min_size: float | None = None):
    """Mean shift on intensity or colour: the number of classes follows from the data (the
    modes of its density, smoothed by a Gaussian of ``bandwidth`` in intensity units;
    default: Silverman's rule). Classes 1…n by brightness; at most 255 modes. ``mode``,
    ``dark`` and ``min_size`` as in :func:`kmeans`.
    """
    _check_sampling(mode, seed, sample, iterations, min_size)
    check_number("bandwidth", bandwidth, above=0, optional=True)
    shape = np.shape(image)[:-1] if rgb else np.shape(image)
    features = _features(image, rgb)
    points = _sample(features, sample, seed).astype(np.float64)
    if bandwidth is None:
        spread = float(np.mean(points.std(axis=0)))
        bandwidth = 1.06 * spread * len(points) ** (-1 / 5) if spread > 0 else 1.0
    if bandwidth <= 0:
        raise ValueError(f"bandwidth must be positive, got {bandwidth}")
    modes = points.copy()
    for i in range(iterations):
        report(0.8 * i / iterations)
        w = np.exp(-((modes[:, None, :] - points[None]) ** 2).sum(axis=2) / (2 * bandwidth ** 2))
        moved = (w @ points) / w.sum(axis=1, keepdims=True)
        done = np.abs(moved - modes).max() < 1e-3 * bandwidth
        modes = moved
        if done:
            break
    centres = []
    for peak in modes[np.argsort(modes.mean(axis=1))]:
        if not centres or np.min(np.linalg.norm(np.array(centres) - peak, axis=1)) > bandwidth:
            centres.append(peak)
    if len(centres) > 255:
        raise ValueError(f"mean shift found {len(centres)} modes; use a larger bandwidth")
    classes = (nearest(features, _by_brightness(np.array(centres))) + 1).reshape(shape)
    return _as_output(classes.astype(np.uint8), mode, dark, image=image, rgb=rgb,
                      min_size=min_size)


@cpu_only
def slic(image, *, n_segments: int = 100, compactness: float = 10.0, sigma: float = 0.0,
         spacing=None, rgb: bool = False):
    """SLIC superpixels (:func:`skimage.segmentation.slic`): about ``n_segments`` compact
    regions that follow edges; ``compactness`` trades shape for colour (higher = squarer;
    grey images are scaled to 0…100 like Lab lightness, so 10 suits grey and colour);
    ``spacing`` makes 3D superpixels round in physical units. int32 labels 1…N."""
    check_number("n_segments", n_segments, minimum=1, integer=True)
    check_number("compactness", compactness, above=0)
    check_number("sigma", sigma, minimum=0)
    image = np.asarray(image)
    ndim = image.ndim - (1 if rgb else 0)
    if ndim not in (2, 3):
        raise ValueError(f"slic needs a 2D or 3D image, got shape {image.shape}")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError("the image has NaN or infinite values; SLIC needs finite ones, so "
                         "fill or crop them first")
    data = image  # colour: scikit-image scales it and converts to Lab
    if not rgb:  # grey to 0…100 like Lab lightness, so compactness means the same for both
        data = image.astype(np.float32)
        lo, hi = np.nanmin(data), np.nanmax(data)
        data = (data - lo) * (100 / (hi - lo)) if hi > lo else np.zeros_like(data)
    return segmentation.slic(data, n_segments=n_segments, compactness=compactness,
                             sigma=sigma, spacing=spacing_for(spacing, ndim),
                             channel_axis=-1 if rgb else None, start_label=1,
                             convert2lab=rgb and image.shape[-1] == 3).astype(np.int32)

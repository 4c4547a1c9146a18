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

__all__ = [
    "kmeans",
    "fuzzy_cmeans",
    "fuzzy_memberships",
    "mean_shift",
    "slic",
    "objects_of_classes",
]

MODES = ("semantic", "instance")
SAMPLE = 200_000


def _features(image, rgb: bool, cast: bool = True):
    """Pixels as rows of float32 features (1 for grey, 3–4 for colour), on their device;
    without ``cast``, rows of the image's own real dtype (a view where the layout allows)."""
    xp = get_xp(image)
    image = xp.asarray(image)
    if image.dtype.kind == "c" or (not rgb and image.ndim not in (1, 2, 3)):
        raise ValueError(
            f"expected a 1D, 2D or 3D grey image (or RGB with rgb=True), got "
            f"shape {image.shape} of {image.dtype}"
        )
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
        pool = pool[
            xp.asarray(np.random.default_rng(seed).choice(len(pool), sample, replace=False))
        ]
    return to_host(pool)


def _by_brightness(centres: np.ndarray) -> np.ndarray:
    return centres[np.argsort(centres.mean(axis=1), kind="stable")]


def _as_output(
    classes, mode: str, dark: bool = False, *, image=None, rgb=False, min_size: float | None = None
):
    """Class ids as asked: "semantic" (the classes) or "instance" (see
    :func:`objects_of_classes`)."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    if mode == "semantic":
        return classes
    return objects_of_classes(classes, image, dark=dark, rgb=rgb, min_size=min_size)


def objects_of_classes(
    classes, image=None, *, dark: bool = False, rgb: bool = False, min_size: float | None = None
):
    """Number the connected parts of every class but the background as objects.

    What the clustering methods give with ``mode="instance"``, from their classes (so one
    clustering gives both the classes and the objects). The background is class 1 (the
    darkest), or the brightest class with ``dark``; parts are face-connected.

    Parameters
    ----------
    classes : (N,), (M, N) or (P, M, N) integer array
        Class ids 1…k, as :func:`kmeans` gives with ``mode="semantic"`` (NumPy or CuPy).
    image : array, optional
        The clustered image, for the "auto" ``min_size``.
    dark : bool, default False
        The objects are dark: the brightest class is the background.
    rgb : bool, default False
        ``image`` holds colour in its last axis.
    min_size : float, optional
        Parts smaller than this many voxels are dropped and the ids renumbered 1…N. None
        (auto): 0.2 × the area/volume of a disc/ball of the typical object diameter of a 2D
        or 3D ``image`` (:func:`~napari_segkit.methods.scale.estimate_object_size`; a
        warning and no objects when none stands out of the noise; every part without an
        ``image``). 0 keeps every part.

    Returns
    -------
    objects : int32 array of ``classes``' shape
        Object ids 1…N, 0 the background; on ``classes``' device.

    See Also
    --------
    kmeans, fuzzy_cmeans, mean_shift : The classes.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import kmeans, objects_of_classes
    >>> image = np.zeros((32, 32)); image[4:12, 4:12] = 1.0; image[20:28, 20:28] = 1.0
    >>> classes = kmeans(image, k=2)
    >>> objects = objects_of_classes(classes, min_size=0)
    >>> objects.dtype.name, int(objects.max())  # two squares
    ('int32', 2)
    """
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
    return without_small(instances, min_size or 0.0, None)


def _check_k(k: int) -> None:
    check_number("k", k, minimum=2, maximum=255, integer=True)


def _check_sampling(
    mode: str, seed: int, sample: int, iterations: int, min_size: float | None
) -> None:
    """The arguments every clustering method shares, refused before any work."""
    check_choice("mode", mode, MODES)
    check_number("min_size", min_size, minimum=0, optional=True)
    check_number("seed", seed, minimum=0, integer=True)
    check_number("sample", sample, minimum=1, integer=True)
    check_number("iterations", iterations, minimum=1, integer=True)


@on_device
def kmeans(
    image,
    k: int = 3,
    *,
    rgb: bool = False,
    mode: str = "semantic",
    seed: int = 0,
    iterations: int = 30,
    starts: int = 10,
    sample: int = SAMPLE,
    dark: bool = False,
    min_size: float | None = None,
):
    """Cluster pixels by intensity or colour with k-means; classes 1…k by brightness.

    The centres are learnt from a seeded random sample of at most ``sample`` finite pixels
    (so results repeat and memory stays at a few copies of the image). Each of ``starts``
    runs (a greedy k-means++ start, as scikit-learn's) is at most ``iterations`` Lloyd
    steps, ending early when no pixel changes class or no centre moves by over 1e-4 × the
    spread, then Hartigan's exchange, which only lowers the within-class variance; the run
    with the lowest is kept. Sums are in float64; one channel works on the sample's histogram
    (exact, O(levels)), colour is compiled (:mod:`~napari_segkit.methods._kmeans`). Every
    pixel then goes to its nearest centre (compiled). Classes are numbered by increasing
    brightness (mean over the channels), so similar images get the same class ids.

    Parameters
    ----------
    image : (N,), (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Intensities, or colour in the last axis (clustered as vectors). Any array-like
        (NumPy, CuPy, dask, zarr); the result is CuPy for CuPy input, else NumPy.
    k : int, default 3
        Number of classes, 2 to 255.
    rgb : bool, default False
        The last axis holds colour channels.
    mode : {"semantic", "instance"}, default "semantic"
        "semantic": uint8 class ids; "instance": int32 ids of the connected parts (faces
        touching) of every class but the background (both: :func:`objects_of_classes` of
        the semantic result).
    seed : int, default 0
        Seed (≥ 0) of the pixel sample and of the k-means++ starts.
    iterations : int, default 30
        Most Lloyd steps per start (≥ 1); Hartigan's exchange then takes as many passes.
    starts : int, default 10
        Runs from different k-means++ starts (≥ 1); the lowest within-class sum of squares
        wins.
    sample : int, default 200000
        Most pixels the centres are learnt from (≥ 1).
    dark : bool, default False
        For "instance": the objects are dark, so the brightest class is the
        background (else the darkest).
    min_size : float, optional
        For "instance": parts smaller than this many voxels are dropped and
        the ids renumbered 1…N. None (auto): 0.2 × the area/volume of a disc/ball of the
        typical object diameter of a 2D or 3D image
        (:func:`~napari_segkit.methods.scale.estimate_object_size`); when no object stands
        out of the noise, a warning and empty labels. 0 keeps every part.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to run: "auto" uses the GPU when CuPy and a CUDA device work, else the CPU; on
        GPU out-of-memory it runs again on the CPU, with a warning. On the GPU every pixel
        is assigned there (kernels/kmeans.cu); the centres are fitted on the host from the
        same sample, so the classes are the CPU's.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : uint8 or int32 array
        Of the image's shape (without the colour axis). "semantic": uint8 class ids 1…k,
        1 the darkest; "instance": int32 object ids 1…N, 0 the background.

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``k`` is not an integer from 2 to 255, ``mode`` is unknown, ``seed`` < 0,
        ``sample``, ``iterations`` or ``starts`` < 1, ``min_size`` < 0; if the image is
        not 1D-3D grey (or ``rgb`` colour), has no finite pixel or fewer than ``k``
        distinct values.
    GPUUnavailableError
        If ``device="gpu"`` and no CUDA device works.

    See Also
    --------
    fuzzy_cmeans : Soft memberships instead of one class per pixel.
    mean_shift : The number of classes from the data.
    slic : Superpixels: compact regions, not classes.

    References
    ----------
    .. [1] S. Lloyd, "Least squares quantization in PCM", IEEE Transactions on Information
           Theory 28(2):129-137, 1982. :doi:`10.1109/TIT.1982.1056489`
    .. [2] D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful seeding",
           Proceedings of the 18th ACM-SIAM Symposium on Discrete Algorithms (SODA),
           1027-1035, 2007.
    .. [3] J. A. Hartigan, Clustering Algorithms, Wiley, 1975.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import kmeans
    >>> image = np.zeros((32, 48)); image[4:28, 4:20] = 1.0; image[4:28, 28:44] = 2.0
    >>> classes = kmeans(image, k=3)
    >>> classes.dtype.name, np.unique(classes).tolist()
    ('uint8', [1, 2, 3])
    >>> int(classes[0, 0]), int(classes[16, 12]), int(classes[16, 36])  # dark to bright
    (1, 2, 3)

    In "instance" mode the darkest class is the background and each rectangle an object:

    >>> objects = kmeans(image, k=3, mode="instance")
    >>> objects.dtype.name, int(objects.max())
    ('int32', 2)
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
    return _as_output(
        classes.astype(np.uint8, copy=False), mode, dark, image=image, rgb=rgb, min_size=min_size
    )


@cpu_only
def fuzzy_cmeans(
    image,
    k: int = 3,
    *,
    m: float = 2.0,
    rgb: bool = False,
    mode: str = "semantic",
    seed: int = 0,
    iterations: int = 200,
    sample: int = SAMPLE,
    dark: bool = False,
    min_size: float | None = None,
):
    """Cluster pixels by intensity or colour with fuzzy c-means (Bezdek).

    Each pixel belongs to every class with a membership in 0…1 (summing to 1); the label is
    the class with the largest, which is the nearest centre. The centres start from
    k-means' (:func:`kmeans`'s sample, starts and steps) and are then refined on the same
    sample of at most ``sample`` pixels, in float64, until none moves by more than 1e-6 × the
    sample's range or after ``iterations``. Classes are numbered 1…k by brightness, as in
    :func:`kmeans`. Each step costs O(sample × k²).

    Parameters
    ----------
    image : (N,), (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Intensities, or colour in the last axis. Any array-like (NumPy, CuPy, dask, zarr);
        the result is CuPy for CuPy input, else NumPy.
    k : int, default 3
        Number of classes, 2 to 255.
    m : float, default 2.0
        Fuzziness, > 1 (2 is usual; near 1 the memberships approach k-means' 0 or 1).
    rgb : bool, default False
        The last axis holds colour channels.
    mode : {"semantic", "instance"}, default "semantic"
        As in :func:`kmeans`.
    seed : int, default 0
        Seed (≥ 0) of the pixel sample and of the k-means start.
    iterations : int, default 200
        Most fuzzy c-means steps (≥ 1).
    sample : int, default 200000
        Most pixels the centres are learnt from (≥ 1).
    dark : bool, default False
        As in :func:`kmeans`: for "instance", the brightest class is the
        background.
    min_size : float, optional
        As in :func:`kmeans`: parts smaller than this many voxels are dropped (None: 0.2 ×
        the typical object's area/volume; 0 keeps every part).
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : uint8 or int32 array
        As in :func:`kmeans`: uint8 classes 1…k ("semantic"), int32 objects ("instance") or
        The memberships themselves: :func:`fuzzy_memberships`.

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``m`` ≤ 1, ``k`` is not an integer from 2 to 255, ``mode`` is unknown, ``seed``
        < 0, ``sample`` or ``iterations`` < 1, ``min_size`` < 0; if the image is not 1D-3D
        grey (or ``rgb`` colour), has no finite pixel or fewer than ``k`` distinct values.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    kmeans : Hard classes, on the CPU or the GPU.
    fuzzy_memberships : Each pixel's membership of each class.

    References
    ----------
    .. [1] J. C. Bezdek, R. Ehrlich and W. Full, "FCM: the fuzzy c-means clustering
           algorithm", Computers & Geosciences 10(2-3):191-203, 1984.
           :doi:`10.1016/0098-3004(84)90020-7`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import fuzzy_cmeans, fuzzy_memberships
    >>> image = np.zeros((32, 48)); image[4:28, 4:20] = 1.0; image[4:28, 28:44] = 2.0
    >>> image += np.random.default_rng(0).normal(0, 0.2, image.shape)
    >>> labels = fuzzy_cmeans(image, k=3)
    >>> membership = fuzzy_memberships(image, k=3)
    >>> np.unique(labels).tolist(), membership.shape, membership.dtype.name
    ([1, 2, 3], (3, 32, 48), 'float32')

    A pixel of the dim rectangle is mostly, but not only, in class 2:

    >>> [round(float(u), 2) for u in membership[:, 16, 12]]
    [0.07, 0.9, 0.03]
    """
    _check_sampling(mode, seed, sample, iterations, min_size)
    features, centres, shape = _fuzzy_centres(image, k, m, rgb, seed, iterations, sample)
    classes = (nearest(features, centres) + 1).reshape(shape).astype(np.uint8)
    return _as_output(classes, mode, dark, image=image, rgb=rgb, min_size=min_size)


@cpu_only
def fuzzy_memberships(
    image,
    k: int = 3,
    *,
    m: float = 2.0,
    rgb: bool = False,
    seed: int = 0,
    iterations: int = 200,
    sample: int = SAMPLE,
):
    """Compute each pixel's fuzzy c-means membership of each class.

    The memberships behind :func:`fuzzy_cmeans`'s classes, for the same arguments: in 0…1,
    summing to 1 over the classes at each pixel.

    Parameters
    ----------
    image : (N,), (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        As for :func:`fuzzy_cmeans`.
    k, m, rgb, seed, iterations, sample
        As for :func:`fuzzy_cmeans`.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1).

    Returns
    -------
    membership : (k, ...) float32 array
        Of shape (k, *image shape): class ``i + 1`` of :func:`fuzzy_cmeans` at index ``i``.

    Raises
    ------
    ValueError
        As :func:`fuzzy_cmeans`.

    See Also
    --------
    fuzzy_cmeans : The classes (the largest membership).

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import fuzzy_memberships
    >>> image = np.repeat([0.0, 1.0, 2.0], 16).reshape(3, 16).repeat(8, axis=0)
    >>> u = fuzzy_memberships(image, k=3)
    >>> u.shape, [round(float(v), 2) for v in u[:, 0, 0]]  # a pixel of the darkest band
    ((3, 24, 16), [1.0, 0.0, 0.0])
    """
    _check_sampling("semantic", seed, sample, iterations, None)
    features, centres, shape = _fuzzy_centres(image, k, m, rgb, seed, iterations, sample)
    u = np.concatenate(
        [
            _memberships(features[i : i + (1 << 20)].astype(np.float64), centres, m)
            for i in range(0, len(features), 1 << 20)
        ]
    )
    return np.moveaxis(u.astype(np.float32), 1, 0).reshape((k, *shape))


def _fuzzy_centres(image, k, m, rgb, seed, iterations, sample):
    """(features, class centres by brightness, image shape) of fuzzy c-means."""
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
        weights = u**m
        moved = (weights.T @ points) / weights.sum(axis=0)[:, None]
        step, centres = np.abs(moved - centres).max(), moved
        if step <= 1e-6 * (np.ptp(points) + 1e-12):
            break
    return features, _by_brightness(centres), shape


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
def mean_shift(
    image,
    *,
    bandwidth: float | None = None,
    rgb: bool = False,
    mode: str = "semantic",
    seed: int = 0,
    sample: int = 1000,
    iterations: int = 100,
    dark: bool = False,
    min_size: float | None = None,
):
    """Cluster pixels by intensity or colour with mean shift; the number of classes is found.

    The classes are the modes of the intensity (colour) density, smoothed by a Gaussian of
    ``bandwidth``: each of a seeded sample of at most ``sample`` pixels climbs to its mode
    (at most ``iterations`` steps, until none moves by 1e-3 × ``bandwidth``), modes closer
    than ``bandwidth`` are joined, and every pixel goes to the nearest mode. Classes 1…n by
    brightness; at most 255 modes. Each step costs O(sample²), so the sample is small.

    Parameters
    ----------
    image : (N,), (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Intensities, or colour in the last axis. Any array-like (NumPy, CuPy, dask, zarr);
        the result is CuPy for CuPy input, else NumPy.
    bandwidth : float, optional
        Width (> 0) of the Gaussian kernel, in intensity units. None: Silverman's rule,
        1.06 × the sample's standard deviation (mean over the channels) × n^(-1/5), or 1 for
        a flat sample.
    rgb : bool, default False
        The last axis holds colour channels.
    mode : {"semantic", "instance"}, default "semantic"
        As in :func:`kmeans`.
    seed : int, default 0
        Seed (≥ 0) of the pixel sample.
    sample : int, default 1000
        Most pixels whose modes are sought (≥ 1).
    iterations : int, default 100
        Most mean-shift steps (≥ 1).
    dark : bool, default False
        As in :func:`kmeans`: for "instance", the brightest class is the
        background.
    min_size : float, optional
        As in :func:`kmeans`: parts smaller than this many voxels are dropped (None: 0.2 ×
        the typical object's area/volume; 0 keeps every part).
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : uint8 or int32 array
        As in :func:`kmeans`: uint8 classes 1…n ("semantic"), int32 objects ("instance") or


    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``bandwidth`` ≤ 0, ``mode`` is unknown, ``seed`` < 0, ``sample`` or
        ``iterations`` < 1, ``min_size`` < 0; if the image is not 1D-3D grey (or ``rgb``
        colour) or has no finite pixel; if more than 255 modes are found (use a larger
        ``bandwidth``).
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    kmeans : A given number of classes.

    References
    ----------
    .. [1] D. Comaniciu and P. Meer, "Mean shift: a robust approach toward feature space
           analysis", IEEE Transactions on Pattern Analysis and Machine Intelligence
           24(5):603-619, 2002. :doi:`10.1109/34.1000236`
    .. [2] B. W. Silverman, Density Estimation for Statistics and Data Analysis, Chapman and
           Hall, 1986.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import mean_shift
    >>> image = np.zeros((32, 48)); image[4:28, 4:20] = 1.0; image[4:28, 28:44] = 2.0
    >>> image += np.random.default_rng(0).normal(0, 0.1, image.shape)
    >>> classes = mean_shift(image)  # three intensity levels: three classes
    >>> np.unique(classes).tolist()
    [1, 2, 3]
    >>> int(classes[0, 0]), int(classes[16, 12]), int(classes[16, 36])
    (1, 2, 3)
    >>> np.unique(mean_shift(image, bandwidth=2.0)).tolist()  # wider: one mode
    [1]
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
        w = np.exp(-((modes[:, None, :] - points[None]) ** 2).sum(axis=2) / (2 * bandwidth**2))
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
    return _as_output(classes.astype(np.uint8), mode, dark, image=image, rgb=rgb, min_size=min_size)


@cpu_only
def slic(
    image,
    *,
    n_segments: int = 100,
    compactness: float = 10.0,
    sigma: float = 0.0,
    spacing=None,
    rgb: bool = False,
):
    """Divide the image into SLIC superpixels: compact regions that follow edges.

    Runs :func:`skimage.segmentation.slic`: k-means in (intensity or colour, position) space
    from a grid of about ``n_segments`` centres. Grey images are scaled to 0…100 like Lab
    lightness first (3-channel colour is converted to Lab by scikit-image), so the same
    ``compactness`` (10) suits grey and colour, whatever the bit depth.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Finite intensities, or colour in the last axis (3 channels: converted to Lab). Any
        array-like (NumPy, CuPy, dask, zarr); the result is CuPy for CuPy input, else NumPy.
    n_segments : int, default 100
        About how many superpixels (≥ 1).
    compactness : float, default 10.0
        Trades shape for colour (> 0): higher gives squarer superpixels, lower ones that
        follow intensity more closely.
    sigma : float, default 0.0
        Gaussian smoothing first (≥ 0; 0 = none), in the units of ``spacing``.
    spacing : sequence of float, optional
        Physical voxel size per axis (default 1 per axis): 3D superpixels are round in
        physical units.
    rgb : bool, default False
        The last axis holds colour channels.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : int32 array
        Superpixel ids 1…N, of the image's shape (without the colour axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``n_segments`` < 1, ``compactness`` ≤ 0 or ``sigma`` < 0; if the image is not 2D
        or 3D (plus colour), or has NaN or infinite values; if ``spacing`` is not one
        positive number per axis.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    normalized_cut : Joins superpixels into regions.
    felzenszwalb : Graph-based regions of any shape.

    References
    ----------
    .. [1] R. Achanta, A. Shaji, K. Smith, A. Lucchi, P. Fua and S. Süsstrunk, "SLIC
           superpixels compared to state-of-the-art superpixel methods", IEEE Transactions
           on Pattern Analysis and Machine Intelligence 34(11):2274-2282, 2012.
           :doi:`10.1109/TPAMI.2012.120`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import slic
    >>> image = np.zeros((32, 32)); image[:, 12:] = 1.0  # an edge off the 4 × 4 grid
    >>> labels = slic(image, n_segments=16, compactness=1)
    >>> labels.dtype.name, int(labels.max())
    ('int32', 16)
    >>> all(np.ptp(image[labels == i]) == 0 for i in range(1, 17))  # none crosses the edge
    True
    >>> squarer = slic(image, n_segments=16, compactness=10)
    >>> all(np.ptp(image[squarer == i]) == 0 for i in range(1, 17))
    False
    """
    check_number("n_segments", n_segments, minimum=1, integer=True)
    check_number("compactness", compactness, above=0)
    check_number("sigma", sigma, minimum=0)
    image = np.asarray(image)
    ndim = image.ndim - (1 if rgb else 0)
    if ndim not in (2, 3):
        raise ValueError(f"slic needs a 2D or 3D image, got shape {image.shape}")
    if image.dtype.kind == "f" and not np.isfinite(image).all():
        raise ValueError(
            "the image has NaN or infinite values; SLIC needs finite ones, so "
            "fill or crop them first"
        )
    data = image  # colour: scikit-image scales it and converts to Lab
    if not rgb:  # grey to 0…100 like Lab lightness, so compactness means the same for both
        data = image.astype(np.float32)
        lo, hi = np.nanmin(data), np.nanmax(data)
        data = (data - lo) * (100 / (hi - lo)) if hi > lo else np.zeros_like(data)
    return segmentation.slic(
        data,
        n_segments=n_segments,
        compactness=compactness,
        sigma=sigma,
        spacing=spacing_for(spacing, ndim),
        channel_axis=-1 if rgb else None,
        start_label=1,
        convert2lab=rgb and image.shape[-1] == 3,
    ).astype(np.int32)

"""Watershed: from seeds the user places, from seeds found in the image, and the two recipes
users know by name, "split touching objects" and "Voronoi-Otsu labelling".

Distances and smoothing are in physical units when ``spacing`` is given, so an anisotropic
3D stack is split like the real objects, not like their voxels.
"""

from __future__ import annotations

import importlib

import numpy as np
from scipy import ndimage
from skimage import segmentation

from .._checks import check_choice, check_connectivity, check_number, check_same_shape
from ..backend import cpu_only, get_xp, is_cupy, on_device, to_host
from ..kernels.watershed import flood
from ..progress import report
from ._geometry import sigma_voxels, spacing_for
from .channels import auto_channel, to_grey
from .components import label
from .distance import distance_transform
from .global_threshold import METHODS, threshold
from .scale import auto_min_size, estimate_or_warn, stable_sigma, without_small

__all__ = ["watershed", "find_seeds", "split_touching_objects", "voronoi_otsu_labeling"]

#: "auto" sizes as fractions of the typical object diameter (measured on real images, see
#: docs/benchmarks/real-data.md): smoothing before the threshold, the outline sigma
#: (Voronoi-Otsu), smoothing and seed distance (find_seeds). The seed smoothing of the two
#: recipes is searched per image (:func:`~napari_segkit.methods.scale.stable_sigma`).
DENOISE = 0.03
OUTLINE_SIGMA = 0.03
SEED_DISTANCE = 0.4


def seeds_to_markers(seeds, shape) -> np.ndarray:
    """Markers (int32 label image) from point coordinates (N × ndim, in voxel indices; each
    point its own id) or from a label image of the same shape (used as is)."""
    seeds = np.asarray(seeds)
    if seeds.shape == tuple(shape):
        if seeds.dtype.kind not in "biu":
            raise ValueError(f"seed labels must be integers, not {seeds.dtype}")
        return seeds.astype(np.int32, copy=False)
    index = seed_points(seeds, shape)
    markers = np.zeros(shape, np.int32)
    markers[tuple(index.T)] = np.arange(1, len(index) + 1, dtype=np.int32)
    return markers


def seed_points(seeds, shape) -> np.ndarray:
    """Point coordinates (N × ndim) rounded to voxel indices (int), checked to lie in an
    image of ``shape``."""
    seeds = np.asarray(seeds)
    if seeds.ndim != 2 or seeds.shape[1] != len(shape):
        raise ValueError(
            f"seeds must be a label image of shape {tuple(shape)} or points "
            f"(N × {len(shape)} coordinates), got shape {seeds.shape}"
        )
    index = np.rint(seeds).astype(int)
    inside = np.all((index >= 0) & (index < np.asarray(shape)), axis=1)
    if not inside.all():
        raise ValueError(
            f"{int((~inside).sum())} seed point(s) lie outside the image {tuple(shape)}"
        )
    return index


#: what a seeded watershed floods: the image as given (an edge or distance map), its
#: gradient magnitude (Sobel; regions meet on edges) or the image inverted (bright objects
#: grow from their peaks)
LANDSCAPES = ("image", "edges", "inverted")


@cpu_only
def watershed(
    image,
    seeds,
    *,
    landscape: str = "image",
    sigma: float = 0.0,
    spacing=None,
    mask=None,
    compactness: float = 0.0,
    connectivity: int = 1,
    rgb: bool = False,
):
    """Flood a landscape from seeds: each seed's id grows until it meets another.

    The marker-controlled watershed of :func:`skimage.segmentation.watershed` (Meyer's
    flooding [1]_): voxels are taken in order of their height in the landscape, each by the
    seed whose flood reaches it first. ``landscape`` chooses what is flooded: the image as
    given, its Sobel gradient magnitude, or the image inverted; ``sigma`` smooths it first.
    Every voxel a seed can reach is labelled, so put a seed in the background too, or give
    ``mask`` to limit where labels go. With ``compactness`` 0 the flood is compiled and makes
    no float64 copy of the image (1-3D, when no NaN is reached), with labels equal to
    scikit-image's; otherwise, and beyond 3D, scikit-image floods.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or (M, N, 3) colour array with ``rgb``
        The landscape to flood, or the image it is made from (see ``landscape``). Any
        array-like (NumPy, CuPy, dask, zarr); it is read into host memory.
    seeds : (K, ndim) array of points, or int label image of ``image``'s shape
        Points in voxel indices (rounded; point k gets id k + 1, in the order given), or a
        label image used as it is (0 = no seed), see :func:`seeds_to_markers`.
    landscape : {"image", "edges", "inverted"}, default "image"
        What is flooded (:data:`LANDSCAPES`): "image" as given (e.g. an edge map or an
        inverted distance map), "edges" (Sobel magnitude, so regions meet on edges) or
        "inverted" (bright objects grow from their peaks).
    sigma : float, default 0
        Gaussian smoothing before flooding, in voxels (physical units with ``spacing``);
        0 = none.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis; one number applies to every
        axis); ``sigma`` is in its units.
    mask : array of bool, optional
        Where labels may go, of ``image``'s shape (without the colour axis); voxels
        outside it stay 0.
    compactness : float, default 0
        ≥ 0; above 0 regions grow rounder (compact watershed [2]_, by scikit-image).
    connectivity : int, default 1
        Neighbours a flood steps to: 1 = faces (4 in 2D, 6 in 3D) up to ndim = faces,
        edges and corners (8 in 2D, 26 in 3D).
    rgb : bool, default False
        ``image`` is colour (3 or 4 values in the last axis); its luminance is flooded.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : (M, N) or (P, M, N) int32 array
        The seeds' ids; 0 outside ``mask``. NumPy, or CuPy for CuPy input.

    Raises
    ------
    ValueError
        If ``landscape`` is not one of :data:`LANDSCAPES`; ``sigma`` or ``compactness`` is
        negative; ``spacing``, ``connectivity`` or ``mask``'s shape does not fit the image;
        ``seeds`` is neither an integer label image of the image's shape nor (K, ndim)
        points inside it; ``rgb`` is set but the last axis does not hold 3 or 4 values;
        ``image`` is complex, text or empty; or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or a number argument is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    find_seeds : Seeds from the local maxima of an image.
    split_touching_objects : The whole distance-transform recipe, from an image or mask.
    skimage.segmentation.watershed : The same flood (this function's reference).

    References
    ----------
    .. [1] F. Meyer, "Topographic distance and watershed lines", Signal Processing
           38(1):113-125, 1994. :doi:`10.1016/0165-1684(94)90060-4`
    .. [2] P. Neubert and P. Protzel, "Compact watershed and preemptive SLIC: on improving
           trade-offs of superpixel segmentation algorithms", 22nd International Conference
           on Pattern Recognition (ICPR), pp. 996-1001, 2014. :doi:`10.1109/ICPR.2014.181`

    Examples
    --------
    Two overlapping discs, flooded from their centres over the inverted distance map, are
    split into two equal halves:

    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from napari_segkit import watershed
    >>> yy, xx = np.mgrid[:32, :48]
    >>> discs = ((yy - 16) ** 2 + (xx - 16) ** 2 < 100) | ((yy - 16) ** 2 + (xx - 31) ** 2 < 100)
    >>> distance = ndimage.distance_transform_edt(discs)
    >>> labels = watershed(distance, [[16, 16], [16, 31]], landscape="inverted", mask=discs)
    >>> labels.dtype.name, np.bincount(labels.ravel()).tolist()
    ('int32', [966, 285, 285])
    >>> int(labels[16, 10]), int(labels[16, 38])
    (1, 2)
    """
    check_choice("landscape", landscape, LANDSCAPES)
    check_number("sigma", sigma, minimum=0)
    check_number("compactness", compactness, minimum=0)
    grey = to_grey(np.asarray(image), rgb=rgb, channel=None)
    spacing_for(spacing, grey.ndim)
    check_connectivity(connectivity, grey.ndim)
    if mask is not None:
        check_same_shape("mask", mask, grey.shape)
    markers = seeds_to_markers(seeds, grey.shape)
    if landscape != "image" or sigma > 0:
        grey = grey.astype(np.float32)
        if sigma > 0:
            spacing = spacing_for(spacing, grey.ndim)
            grey = ndimage.gaussian_filter(grey, sigma_voxels(sigma, spacing, grey.ndim))
        if landscape == "edges":
            from ._gradient import gradient_magnitude  # numba: loaded where used

            grey = gradient_magnitude(grey, "sobel")
        elif landscape == "inverted":
            grey = -grey
    return _flooded(grey, markers, mask=mask, compactness=compactness, connectivity=connectivity)


def _flooded(
    landscape, markers, *, mask=None, compactness: float = 0.0, connectivity: int = 1
) -> np.ndarray:
    """int32 labels of ``skimage.segmentation.watershed(landscape, markers, ...)``
    (``landscape`` None: a constant one, the Voronoi partition of ``mask``): the same
    flood compiled (:mod:`._flood`, no float64 copy) when ``compactness`` is 0 and it
    applies (1-3D, no NaN reached), else scikit-image's."""
    if compactness == 0:
        from ._flood import flood

        labels = flood(landscape, markers, mask, connectivity)
        if labels is not None:
            return labels
    if landscape is None:
        landscape = np.zeros(np.shape(markers), np.uint8)
    return segmentation.watershed(
        landscape, markers, mask=mask, compactness=compactness, connectivity=connectivity
    ).astype(np.int32, copy=False)


@cpu_only
def find_seeds(
    image,
    *,
    min_distance: float | None = None,
    sigma: float | None = None,
    spacing=None,
    mask=None,
    threshold_abs: float | None = None,
    object_size: float | None = None,
):
    """Find the local maxima of an image, as seeds for a watershed.

    The image is first smoothed by a Gaussian of ``sigma``; a voxel is a maximum when
    nothing in the box of half-width ``min_distance`` around it is brighter, as in
    :func:`skimage.feature.peak_local_max`; maxima outside ``mask`` or at or below
    ``threshold_abs`` are dropped. Each maximum becomes one int32 marker; a flat top (a
    plateau of equal maxima) counts once, at its voxel nearest the plateau's centre. Unlike
    ``peak_local_max``, sizes are physical with ``spacing`` (an anisotropic stack gets a box
    per axis) and, left on None ("auto"), follow the typical object size. The box maximum is
    compiled up to 3D (SciPy's maximum filter beyond, or for very large boxes).

    Parameters
    ----------
    image : (M, N) or (P, M, N) array
        Grey image whose bright spots are wanted (e.g. a fluorescence image or a distance
        map). Any array-like (NumPy, CuPy, dask, zarr); it is read as float32 on the host.
    min_distance : float, optional
        Half-width of the box in which a maximum must be the brightest, in voxels (physical
        units with ``spacing``), ≥ 0. Default ("auto"): equal to ``sigma``, or 0.4 ×
        ``object_size`` when ``sigma`` is 0.
    sigma : float, optional
        Gaussian smoothing first, in voxels (physical units with ``spacing``), ≥ 0; 0 =
        none. Default ("auto"): the smallest between about 0.1 × and 0.24 × ``object_size``
        at which the number of maxima inside ``mask`` (default: the Otsu foreground) stops
        falling (:func:`~napari_segkit.methods.scale.stable_sigma`).
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis); the sizes above are in its units.
    mask : array of bool, optional
        Keep only the maxima inside it (``image``'s shape); also where the "auto" ``sigma``
        counts maxima.
    threshold_abs : float, optional
        Drop maxima at or below this value; default the smoothed image's minimum.
    object_size : float, optional
        The typical object diameter (voxels, or physical units with ``spacing``), > 0,
        from which the "auto" sizes follow; default
        :func:`~napari_segkit.methods.scale.estimate_object_size` of the image. Used only
        when ``min_distance`` or ``sigma`` is None.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    markers : (M, N) or (P, M, N) int32 array
        One voxel per maximum, numbered 1…N in raster order of the maxima; 0 elsewhere.
        NumPy, or CuPy for CuPy input.

    Raises
    ------
    ValueError
        If ``min_distance`` or ``sigma`` is negative, ``threshold_abs`` is not finite,
        ``object_size`` is not above 0, ``mask``'s shape differs from the image's,
        ``spacing`` does not fit the image, or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or a number argument is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    Warns
    -----
    UserWarning
        When a size is "auto", ``object_size`` is not given and the image has no objects
        to size (constant, pure noise): no seeds are returned.

    See Also
    --------
    watershed : Flood from these seeds.
    skimage.feature.peak_local_max : The textbook version (voxel sizes only).

    Examples
    --------
    Two Gaussian spots 15 pixels apart, the right one dimmer: both are found with
    ``min_distance=5``, only the brighter one when a maximum must be the brightest within
    20 pixels:

    >>> import numpy as np
    >>> from napari_segkit import find_seeds
    >>> yy, xx = np.mgrid[:32, :48]
    >>> spots = np.exp(-((yy - 16) ** 2 + (xx - 16) ** 2) / 50)
    >>> spots += 0.8 * np.exp(-((yy - 16) ** 2 + (xx - 31) ** 2) / 50)
    >>> seeds = find_seeds(spots, min_distance=5, sigma=0)
    >>> seeds.dtype.name, np.argwhere(seeds).tolist()
    ('int32', [[16, 16], [16, 31]])
    >>> np.argwhere(find_seeds(spots, min_distance=20, sigma=0)).tolist()
    [[16, 16]]
    """
    check_number("min_distance", min_distance, minimum=0, optional=True)
    check_number("sigma", sigma, minimum=0, optional=True)
    check_number("threshold_abs", threshold_abs, optional=True)
    check_number("object_size", object_size, above=0, optional=True)
    if mask is not None:
        check_same_shape("mask", mask, np.shape(image))
    image = np.asarray(image, dtype=np.float32)
    if min_distance is None or sigma is None:
        size = object_size or estimate_or_warn(image, spacing=spacing)
        if size is None:
            return np.zeros(image.shape, np.int32)
        if sigma is None:
            among = threshold(image, "otsu", device="cpu") if mask is None else mask
            sigma, image = stable_sigma(image, np.asarray(among, dtype=bool), size, spacing)
        elif sigma > 0:
            image = ndimage.gaussian_filter(image, sigma_voxels(sigma, spacing, image.ndim))
        if min_distance is None:
            min_distance = sigma if sigma > 0 else SEED_DISTANCE * size
    elif sigma > 0:
        image = ndimage.gaussian_filter(image, sigma_voxels(sigma, spacing, image.ndim))
    size = [
        2 * int(max(min_distance, 0.0) / s + 1e-9) + 1 for s in spacing_for(spacing, image.ndim)
    ]
    peaks = box_maxima(image, size, mask)
    peaks &= image > (image.min() if threshold_abs is None else threshold_abs)
    return _one_voxel_per_seed(label(peaks, device="cpu"))


def _one_voxel_per_seed(markers: np.ndarray) -> np.ndarray:
    """Shrink each plateau of maxima to its voxel nearest the plateau's centre."""
    flat = np.flatnonzero(markers)  # faster than np.nonzero's one array per axis
    ids = markers.reshape(-1)[flat]
    out = np.zeros(markers.shape, markers.dtype)  # calloc: untouched pages cost nothing
    if ids.size == 0:
        return out
    where = np.unravel_index(flat, markers.shape)
    points = np.stack(where, axis=1).astype(np.float64)
    counts = np.bincount(ids)
    centres = (
        np.stack([np.bincount(ids, weights=points[:, d]) for d in range(points.shape[1])], axis=1)[
            ids
        ]
        / counts[ids, None]
    )
    gap = ((points - centres) ** 2).sum(axis=1)
    order = np.lexsort((gap, ids))  # by id, nearest first
    first = order[np.r_[True, ids[order][1:] != ids[order][:-1]]]
    out.reshape(-1)[flat[first]] = ids[first]
    return out


@on_device
def split_touching_objects(
    image,
    *,
    spacing=None,
    sigma: float | None = None,
    min_distance: float | None = None,
    method: str = "otsu",
    dark: bool = False,
    rgb: bool = False,
    compactness: float = 0.0,
    channel: str | None = None,
    object_size: float | None = None,
    min_size: float | None = None,
    denoise: float | None = None,
):
    """Label touching round objects (nuclei, cells, beads) as separate instances.

    The classic distance-transform watershed [1]_: a raw image is smoothed by a Gaussian of
    ``denoise`` and thresholded with ``method`` (a bool mask is used as it is); the distance
    to the background (physical units with ``spacing``) is smoothed by a Gaussian of
    ``sigma``; its local maxima at least ``min_distance`` apart are the seeds
    (:func:`find_seeds`), plus a whole-part seed for each connected part the smoothing left
    without one; and the inverted distance is flooded from them inside the mask. Objects
    smaller than ``min_size`` are dropped and the ids renumbered 1…N. Unlike the textbook
    recipe, every size left on None ("auto") follows ``object_size``, the typical object
    diameter. On the GPU (``device``) the flood is the watershed automaton
    (kernels/watershed.cu), which may differ from the CPU's at voxels where two objects'
    floods tie; with ``compactness`` > 0 or beyond 3D the flood runs on the CPU.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or (M, N, 3) colour array with ``rgb``
        A mask (bool) or a raw image. Any array-like (NumPy, CuPy, dask, zarr); CuPy input
        gives a CuPy result, the others NumPy.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis); every size below is in its units.
    sigma : float, optional
        Gaussian smoothing of the distance map, ≥ 0 (0 = none). Default ("auto"): the
        smallest between about 0.1 × and 0.24 × ``object_size`` at which the number of
        distance maxima stops falling (:func:`~napari_segkit.methods.scale.stable_sigma`);
        lower it to split more.
    min_distance : float, optional
        Least distance between two seeds (half-width of the box in which a seed is the
        highest distance), ≥ 0; default 2 × ``sigma``.
    method : str, default "otsu"
        How a raw image is thresholded: a global method of
        :func:`~napari_segkit.methods.global_threshold.threshold` (e.g. "otsu", "li", "triangle";
        not "multiotsu" or "manual").
    dark : bool, default False
        The objects are darker than the background.
    rgb : bool, default False
        ``image`` is colour (3 or 4 values in the last axis).
    compactness : float, default 0
        ≥ 0; above 0 the flood is scikit-image's compact watershed (rounder objects).
    channel : str, optional
        With ``rgb``, the channel thresholded, as in
        :func:`~napari_segkit.methods.global_threshold.threshold`; "auto" (or None) =
        "hematoxylin" on a brightfield slide, else "luminance" (always with ``dark``).
    object_size : float, optional
        The typical object diameter. Default: for a raw image
        :func:`~napari_segkit.methods.scale.estimate_object_size`; for a mask twice the
        median over its connected parts of their largest distance to the background (at
        least 6 voxels).
    min_size : float, optional
        Objects smaller than this area (2D) or volume (3D) are dropped, ≥ 0. Default
        :data:`~napari_segkit.methods.scale.MIN_FRACTION` × the typical object's (a disc or
        ball of ``object_size``; see :func:`~napari_segkit.methods.scale.auto_min_size`).
    denoise : float, optional
        Gaussian sigma applied to a raw image before the threshold, ≥ 0; default 0.03 ×
        ``object_size``. Not used for a mask.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to run: "auto" uses the GPU when CuPy and a CUDA device work, else the CPU;
        on GPU out-of-memory the call is repeated on the CPU with a warning.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : (M, N) or (P, M, N) int32 array
        Objects numbered 1…N, 0 = background. Same array kind as ``image`` (CuPy or
        NumPy).

    Raises
    ------
    ValueError
        If ``spacing`` does not fit the image; ``sigma``, ``min_distance``,
        ``compactness``, ``object_size``, ``min_size`` or ``denoise`` is negative;
        ``method`` is not a global threshold method; ``channel`` is not a channel name;
        ``rgb`` is set but the last axis does not hold 3 or 4 values; or ``device`` is not
        a device name.
    TypeError
        If ``image`` is not an array, or a number argument is not a number.
    GPUUnavailableError
        If ``device="gpu"`` and no CUDA GPU works through CuPy.

    Warns
    -----
    UserWarning
        When ``object_size`` is not given and a raw image has no objects to size
        (constant, pure noise): the labels are empty.

    See Also
    --------
    voronoi_otsu_labeling : Seeds from the blurred image instead of the distance map.
    find_seeds : The seed step on its own.
    watershed : Flood from seeds of your own.

    References
    ----------
    .. [1] S. Beucher and F. Meyer, "The morphological approach to segmentation: the
           watershed transformation", in E. R. Dougherty (ed.), Mathematical Morphology in
           Image Processing, Marcel Dekker, pp. 433-481, 1993.

    Examples
    --------
    A mask of two overlapping discs (one connected part) is split into two objects:

    >>> import numpy as np
    >>> from napari_segkit import split_touching_objects
    >>> yy, xx = np.mgrid[:32, :48]
    >>> discs = ((yy - 16) ** 2 + (xx - 16) ** 2 < 100) | ((yy - 16) ** 2 + (xx - 31) ** 2 < 100)
    >>> labels = split_touching_objects(discs)
    >>> labels.dtype.name, np.bincount(labels.ravel()).tolist()
    ('int32', [966, 285, 285])
    >>> int(labels[16, 10]), int(labels[16, 38])
    (1, 2)
    """
    check_split_options(image.ndim - rgb, spacing, sigma, min_distance, method, compactness)
    for name, value in (("object_size", object_size), ("min_size", min_size), ("denoise", denoise)):
        check_number(name, value, minimum=0, optional=True)
    xp = get_xp(image)
    where = "cpu" if xp is np else "gpu"
    ndi = ndimage if xp is np else importlib.import_module("cupyx.scipy.ndimage")
    if rgb:
        channel, dark = auto_channel(image, rgb=True, channel=channel, dark=dark)
    size = object_size
    if size is None and image.dtype != bool:  # a mask: sized by its distance map below
        size = estimate_or_warn(
            to_host(image), spacing=spacing, rgb=rgb, channel=channel, dark=dark
        )
    if size is None and image.dtype != bool:
        return xp.zeros(image.shape[: image.ndim - rgb], xp.int32)
    spacing = spacing_for(spacing, image.ndim - rgb)
    denoise = DENOISE * (size or 0) if denoise is None else denoise
    mask = _as_mask(
        image,
        method=method,
        dark=dark,
        rgb=rgb,
        channel=channel,
        sigma=sigma_voxels(denoise, spacing, len(spacing)),
        ndi=ndi,
    )
    report(0.1)
    distance = distance_transform(mask, spacing=spacing, device=where)
    parts = label(mask, device=where)
    report(0.25)
    if size is None:  # a mask: twice the median over its parts of their largest depth
        size = max(2 * typical_radius(distance, parts), 6 * min(spacing))  # ≥ 6 voxels
    if sigma is None:
        sigma, distance = stable_sigma(distance, mask, size, spacing, ndi=ndi)
    elif sigma > 0:
        distance = ndi.gaussian_filter(distance, sigma_voxels(sigma, spacing, mask.ndim))
    min_distance = 2 * sigma if min_distance is None else min_distance
    seeds = find_seeds(
        distance,
        min_distance=min_distance,
        sigma=0,
        spacing=spacing,
        mask=to_host(mask),
        device="auto",
    )  # on the host: maxima are few
    seeds = seed_every_part(xp.asarray(seeds), parts)  # small objects the smoothing flattened
    report(0.5)
    if xp is np or compactness > 0 or mask.ndim > 3:
        landscape = np.negative(distance, out=distance) if xp is np else -to_host(distance)
        labels = xp.asarray(_flood_by_parts(landscape, to_host(seeds), to_host(parts), compactness))
    else:  # the flood automaton on the GPU (kernels/watershed.cu)
        labels = flood(-distance, seeds, mask)
    labels = _renumbered(labels.astype(xp.int32, copy=False))
    return without_small(labels, auto_min_size(min_size, size, mask.shape, spacing), spacing)


def _flood_by_parts(landscape, seeds, parts, compactness: float) -> np.ndarray:
    """scikit-image's watershed of ``landscape`` from ``seeds`` inside ``parts > 0``: one
    compiled flood of the whole mask (:func:`_flooded`) when ``compactness`` is 0, else
    scikit-image on groups of parts (consecutive ids, their box at most 1/16 of the image
    unless one part is larger), so its float64 copies cover a box, not the image. No flood
    crosses from one part to another and each call keeps the parts' own order, so the
    labels are those of one call over the whole mask (but where seeds of equal height tie:
    scikit-image's heap layout orders them)."""
    if compactness == 0 and parts.ndim <= 3:
        from ._flood import flood

        labels = flood(landscape, seeds, parts > 0)
        if labels is not None:
            return labels
    labels = np.zeros(parts.shape, np.int32)
    boxes = ndimage.find_objects(parts)
    budget = parts.size // 16
    first = 0
    while first < len(boxes):
        box, last = boxes[first], first + 1
        while last < len(boxes):
            wider = tuple(
                slice(min(a.start, b.start), max(a.stop, b.stop)) for a, b in zip(box, boxes[last])
            )
            if np.prod([s.stop - s.start for s in wider]) > budget:
                break
            box, last = wider, last + 1
        inside = (parts[box] > first) & (parts[box] <= last)
        flooded = segmentation.watershed(
            landscape[box], seeds[box], mask=inside, compactness=compactness
        )
        labels[box][inside] = flooded[inside]
        first = last
    return labels


def check_split_options(ndim, spacing, sigma, min_distance, method, compactness) -> None:
    """The arguments of :func:`split_touching_objects`, refused before any work."""
    spacing_for(spacing, ndim)
    check_number("sigma", sigma, minimum=0, optional=True)
    check_number("min_distance", min_distance, minimum=0, optional=True)
    check_choice("method", method, tuple(m for m in METHODS if m not in ("multiotsu", "manual")))
    check_number("compactness", compactness, minimum=0)


def _renumbered(labels):
    """Ids renumbered 1…N in the order of their values, 0 kept; on the labels' device."""
    xp = get_xp(labels)
    ids = xp.unique(labels)
    ids = ids[ids != 0]
    lut = xp.zeros(int(ids[-1]) + 1 if ids.size else 1, xp.int32)
    lut[ids] = xp.arange(1, ids.size + 1, dtype=xp.int32)
    return lut[labels]


def seed_every_part(markers: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """``markers`` plus, for each connected part of ``parts`` holding no marker, the whole
    part as one more marker (ids after the existing ones)."""
    xp = get_xp(parts)
    has_seed = xp.bincount(parts[markers > 0], minlength=int(parts.max()) + 1) > 0
    has_seed[0] = True
    if has_seed.all():
        return markers
    bare = ~has_seed[parts]
    return xp.where(bare, parts + int(markers.max()), markers).astype(markers.dtype)


def typical_radius(distance: np.ndarray, parts: np.ndarray) -> float:
    """The median over connected parts of their largest distance to the background."""
    count = int(parts.max())
    if count == 0:
        return 0.0
    xp = get_xp(parts)
    ndi = ndimage if xp is np else importlib.import_module("cupyx.scipy.ndimage")
    peaks = ndi.maximum(distance, parts, xp.arange(1, count + 1))
    return float(np.median(to_host(peaks)))


@cpu_only
def voronoi_otsu_labeling(
    image,
    *,
    spot_sigma: float | None = None,
    outline_sigma: float | None = None,
    spacing=None,
    dark: bool = False,
    rgb: bool = False,
    channel: str | None = None,
    object_size: float | None = None,
    min_size: float | None = None,
):
    """Label objects by Voronoi-Otsu labelling, in the manner of clEsperanto.

    The image blurred by ``spot_sigma`` gives one seed per local maximum in its 3×3(×3)
    neighbourhood (the objects' centres); the image blurred by ``outline_sigma`` and
    thresholded by Otsu [1]_ gives the foreground; the foreground is shared among the seeds
    by a flood from them (a Voronoi partition within the mask, as in clEsperanto [2]_).
    Larger ``spot_sigma`` merges nearby objects, smaller splits more. Unlike clEsperanto,
    sizes left on None ("auto") follow ``object_size``, the typical object diameter, and
    objects smaller than ``min_size`` are dropped. Runs on the CPU: two Gaussian blurs (a
    few more to find an "auto" ``spot_sigma``), one threshold and one breadth-first flood.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or (M, N, 3) colour array with ``rgb``
        The image, bright objects on a dark background (see ``dark``). Any array-like
        (NumPy, CuPy, dask, zarr); it is read as float32 on the host.
    spot_sigma : float, optional
        Gaussian sigma of the seed image, in voxels (physical units with ``spacing``),
        ≥ 0. Default ("auto"): the smallest between about 0.1 × and 0.24 × ``object_size``
        at which the number of maxima stops falling
        (:func:`~napari_segkit.methods.scale.stable_sigma`).
    outline_sigma : float, optional
        Gaussian sigma before the Otsu threshold, ≥ 0; default 0.03 × ``object_size``.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis); every size is in its units.
    dark : bool, default False
        The objects are darker than the background (the image is inverted first).
    rgb : bool, default False
        ``image`` is colour (3 or 4 values in the last axis).
    channel : str, optional
        With ``rgb``, the channel segmented, as in
        :func:`~napari_segkit.methods.global_threshold.threshold`; "auto" (or None) =
        "hematoxylin" on a brightfield slide, else "luminance" (always with ``dark``).
    object_size : float, optional
        The typical object diameter, ≥ 0; default
        :func:`~napari_segkit.methods.scale.estimate_object_size` of the image, estimated
        whenever ``spot_sigma``, ``outline_sigma`` or ``min_size`` is None. Give it (or all
        three sizes) for small images with few objects, which the estimate cannot size.
    min_size : float, optional
        Objects smaller than this area (2D) or volume (3D) are dropped, ≥ 0. Default
        :data:`~napari_segkit.methods.scale.MIN_FRACTION` × the typical object's (a disc or
        ball of ``object_size``).
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : (M, N) or (P, M, N) int32 array
        Objects numbered 1…N, 0 = background. NumPy, or CuPy for CuPy input.

    Raises
    ------
    ValueError
        If ``spot_sigma``, ``outline_sigma``, ``object_size`` or ``min_size`` is negative;
        ``spacing`` does not fit the image; ``channel`` is not a channel name; ``rgb`` is
        set but the last axis does not hold 3 or 4 values; or ``device`` is not a device
        name.
    TypeError
        If ``image`` is not an array, or a number argument is not a number.
    GPUUnavailableError
        If ``device="gpu"``.

    Warns
    -----
    UserWarning
        When ``object_size`` is needed but not given and the image has no objects to size
        (constant, pure noise): the labels are empty.

    See Also
    --------
    split_touching_objects : Seeds from the distance map of the mask instead.
    napari_segkit.methods.global_threshold.threshold : The Otsu threshold and the channels.

    References
    ----------
    .. [1] N. Otsu, "A threshold selection method from gray-level histograms", IEEE
           Transactions on Systems, Man, and Cybernetics 9(1):62-66, 1979.
           :doi:`10.1109/TSMC.1979.4310076`
    .. [2] R. Haase et al., "CLIJ: GPU-accelerated image processing for everyone", Nature
           Methods 17:5-6, 2020. :doi:`10.1038/s41592-019-0650-1`

    Examples
    --------
    Two overlapping blurred discs become two objects; a spot sigma as large as the discs
    merges them:

    >>> import numpy as np
    >>> from scipy import ndimage
    >>> from napari_segkit import voronoi_otsu_labeling
    >>> yy, xx = np.mgrid[:32, :48]
    >>> discs = ((yy - 16) ** 2 + (xx - 16) ** 2 < 100) | ((yy - 16) ** 2 + (xx - 31) ** 2 < 100)
    >>> image = ndimage.gaussian_filter(discs.astype(float), 1)
    >>> labels = voronoi_otsu_labeling(image, object_size=20)
    >>> labels.dtype.name, np.bincount(labels.ravel()).tolist()
    ('int32', [966, 285, 285])
    >>> merged = voronoi_otsu_labeling(image, spot_sigma=8, outline_sigma=1, min_size=0)
    >>> int(merged.max())
    1
    """
    for name, value in (
        ("spot_sigma", spot_sigma),
        ("outline_sigma", outline_sigma),
        ("object_size", object_size),
        ("min_size", min_size),
    ):
        check_number(name, value, minimum=0, optional=True)
    if rgb:
        channel, dark = auto_channel(np.asarray(image), rgb=True, channel=channel, dark=dark)
    grey = to_grey(np.asarray(image), rgb=rgb, channel=channel if rgb else None)
    grey = grey.astype(np.float32)
    if dark:
        grey = grey.max() - grey
    spacing = spacing_for(spacing, grey.ndim)
    size = object_size
    if size is None and None in (spot_sigma, outline_sigma, min_size):
        size = estimate_or_warn(grey, spacing=spacing)
        if size is None:
            return np.zeros(grey.shape, np.int32)
    outline_sigma = OUTLINE_SIGMA * size if outline_sigma is None else outline_sigma
    outline = ndimage.gaussian_filter(grey, sigma_voxels(outline_sigma, spacing, grey.ndim))
    mask = threshold(outline, "otsu", device="cpu")
    del outline
    if spot_sigma is None:
        spot_sigma, spots = stable_sigma(grey, mask, size, spacing)
    else:
        spots = ndimage.gaussian_filter(grey, sigma_voxels(spot_sigma, spacing, grey.ndim))
    report(0.5)
    peaks = local_maxima_3x3(spots, mask)
    del spots
    seeds = _one_voxel_per_seed(label(peaks, device="cpu"))
    labels = _flooded(None, seeds, mask=mask)
    # every seed lies in the mask and keeps its voxel: the ids are 1…N already
    return without_small(labels, auto_min_size(min_size, size, grey.shape, spacing), spacing)


def local_maxima_3x3(image: np.ndarray, mask) -> np.ndarray:
    """Voxels of ``mask`` with no higher neighbour in the 3×3(×3) box (bool)."""
    return box_maxima(image, 3, mask)


def box_maxima(image: np.ndarray, size, mask=None) -> np.ndarray:
    """Voxels (of ``mask``) with no higher voxel in the box of odd edges ``size`` (bool),
    i.e. ``(image >= maximum_filter(image, size, mode="nearest")) & mask``: compiled
    (:func:`._flood.local_maxima`) up to 3D, scipy beyond or for very large boxes."""
    from ._flood import local_maxima

    peaks = local_maxima(image, mask, size)
    if peaks is None:
        peaks = image >= ndimage.maximum_filter(image, size=size, mode="nearest")
        if mask is not None:
            peaks &= np.asarray(mask, dtype=bool)
    return peaks


def _as_mask(image, *, method: str, dark: bool, rgb: bool, channel=None, sigma=None, ndi=ndimage):
    """``image`` if it is a mask, else its threshold by ``method`` after a Gaussian of
    ``sigma`` (voxels per axis); on its device."""
    if image.dtype == bool:
        return image
    if rgb:
        image = to_grey(image, rgb=True, channel=channel)
    if sigma is not None and max(sigma) > 0:
        image = ndi.gaussian_filter(image.astype(np.float32, copy=False), sigma)
    where = "gpu" if is_cupy(image) else "cpu"
    return threshold(image, method, dark=dark, device=where).astype(bool, copy=False)

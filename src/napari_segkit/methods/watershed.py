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
from .scale import auto_min_size, estimate_or_warn, stable_sigma, without_small
from .threshold import METHODS, threshold

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
    if seeds.ndim != 2 or seeds.shape[1] != len(shape):
        raise ValueError(f"seeds must be a label image of shape {tuple(shape)} or points "
                         f"(N × {len(shape)} coordinates), got shape {seeds.shape}")
    index = np.rint(seeds).astype(int)
    inside = np.all((index >= 0) & (index < np.asarray(shape)), axis=1)
    if not inside.all():
        raise ValueError(f"{int((~inside).sum())} seed point(s) lie outside the image "
                         f"{tuple(shape)}")
    markers = np.zeros(shape, np.int32)
    markers[tuple(index.T)] = np.arange(1, len(index) + 1, dtype=np.int32)
    return markers


#: what a seeded watershed floods: the image as given (an edge or distance map), its
#: gradient magnitude (Sobel; regions meet on edges) or the image inverted (bright objects
#: grow from their peaks)
LANDSCAPES = ("image", "edges", "inverted")


@cpu_only
def watershed(image, seeds, *, landscape: str = "image", sigma: float = 0.0, spacing=None,
              mask=None, compactness: float = 0.0, connectivity: int = 1, rgb: bool = False):
    """Flood from ``seeds`` (points or a label image, see :func:`seeds_to_markers`); each
    seed's id grows until it meets another.

    ``landscape`` is what is flooded (:data:`LANDSCAPES`): "image" as given (e.g. an edge
    or inverted distance map), "edges" (Sobel magnitude, so regions meet on edges) or
    "inverted" (bright objects grow from their peaks). ``sigma`` smooths first (voxels, or
    physical units with ``spacing``). Put a seed in the background too, or give ``mask`` to
    limit where labels go. ``compactness`` > 0 gives rounder regions (compact watershed).
    Returns int32 labels (:func:`skimage.segmentation.watershed`)."""
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
    return _flooded(grey, markers, mask=mask, compactness=compactness,
                    connectivity=connectivity)


def _flooded(landscape, markers, *, mask=None, compactness: float = 0.0,
             connectivity: int = 1) -> np.ndarray:
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
    return segmentation.watershed(landscape, markers, mask=mask, compactness=compactness,
                                  connectivity=connectivity).astype(np.int32, copy=False)


@cpu_only
def find_seeds(image, *, min_distance: float | None = None, sigma: float | None = None,
               spacing=None, mask=None, threshold_abs: float | None = None,
               object_size: float | None = None):
    """Local maxima of ``image`` as int32 markers, one id per maximum (a flat top counts once).

    The image is first smoothed by a Gaussian of ``sigma``; a voxel is a maximum when
    nothing in the box of half-width ``min_distance`` around it is brighter, as in
    :func:`skimage.feature.peak_local_max`; maxima outside ``mask`` or at or below
    ``threshold_abs`` (default: the image's minimum) are dropped. Sizes are in voxels, or
    physical units with ``spacing``; left on None ("auto") they are fractions of
    ``object_size``, the typical object diameter (default
    :func:`~napari_segkit.methods.scale.estimate_object_size`): ``sigma`` the smallest
    between 0.1 × and 0.24 × at which the number of maxima inside ``mask`` (default: the
    Otsu foreground) stops falling (:func:`~napari_segkit.methods.scale.stable_sigma`), and
    ``min_distance`` equal to ``sigma`` (0.4 × the diameter when ``sigma`` is 0). An image
    with no objects (constant, pure noise) gives no seeds and a warning.
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
    size = [2 * int(max(min_distance, 0.0) / s + 1e-9) + 1
            for s in spacing_for(spacing, image.ndim)]
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
    centres = np.stack([np.bincount(ids, weights=points[:, d]) for d in range(points.shape[1])],
                       axis=1)[ids] / counts[ids, None]
    gap = ((points - centres) ** 2).sum(axis=1)
    order = np.lexsort((gap, ids))  # by id, nearest first
    first = order[np.r_[True, ids[order][1:] != ids[order][:-1]]]
    out.reshape(-1)[flat[first]] = ids[first]
    return out


@on_device
def split_touching_objects(image, *, spacing=None, sigma: float | None = None,
                           min_distance: float | None = None, method: str = "otsu",
                           dark: bool = False, rgb: bool = False, compactness: float = 0.0,
                           channel: str | None = None, object_size: float | None = None,
                           min_size: float | None = None, denoise: float | None = None):
    """Instance labels with touching round objects (nuclei, cells, beads) split apart.

    ``image`` is a mask (bool) or a raw image (colour with ``rgb``: ``channel`` as in
    :func:`~napari_segkit.methods.threshold.threshold`, "auto" = haematoxylin on a
    brightfield slide), smoothed by a Gaussian of ``denoise`` and thresholded with
    ``method`` first. Then the classic recipe: distance to the background (physical units
    with ``spacing``), smoothed by a Gaussian of ``sigma``, its local maxima at least
    ``min_distance`` apart (default ``2 × sigma``) as seeds, and a watershed of the inverted
    distance inside the mask. Objects smaller than ``min_size`` (area/volume, physical
    units with ``spacing``) are dropped.

    Sizes left on None ("auto") follow ``object_size``, the typical object diameter
    (default: :func:`~napari_segkit.methods.scale.estimate_object_size` of the image):
    ``denoise`` 0.03 ×, ``min_size`` :data:`~napari_segkit.methods.scale.MIN_FRACTION` ×
    the typical object's volume, and ``sigma`` the smallest between 0.1 × and 0.24 × at
    which the number of distance maxima stops falling
    (:func:`~napari_segkit.methods.scale.stable_sigma`; lower it to split more). An
    image with no objects (constant, pure noise) gives empty labels and a warning.
    On the GPU (``device``) the flood is the watershed automaton (kernels/watershed.cu),
    which may differ from the CPU's at voxels where two objects' floods tie.
    Returns int32 labels numbered 1…N.
    """
    check_split_options(image.ndim - rgb, spacing, sigma, min_distance, method, compactness)
    for name, value in (("object_size", object_size), ("min_size", min_size),
                        ("denoise", denoise)):
        check_number(name, value, minimum=0, optional=True)
    xp = get_xp(image)
    where = "cpu" if xp is np else "gpu"
    ndi = ndimage if xp is np else importlib.import_module("cupyx.scipy.ndimage")
    if rgb:
        channel, dark = auto_channel(image, rgb=True, channel=channel, dark=dark)
    size = object_size
    if size is None and image.dtype != bool:  # a mask: sized by its distance map below
        size = estimate_or_warn(to_host(image), spacing=spacing, rgb=rgb, channel=channel,
                                dark=dark)
    if size is None and image.dtype != bool:
        return xp.zeros(image.shape[:image.ndim - rgb], xp.int32)
    spacing = spacing_for(spacing, image.ndim - rgb)
    denoise = DENOISE * (size or 0) if denoise is None else denoise
    mask = _as_mask(image, method=method, dark=dark, rgb=rgb, channel=channel,
                    sigma=sigma_voxels(denoise, spacing, len(spacing)), ndi=ndi)
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
    seeds = find_seeds(distance, min_distance=min_distance, sigma=0, spacing=spacing,
                       mask=to_host(mask), device="auto")  # on the host: maxima are few
    seeds = seed_every_part(xp.asarray(seeds), parts)  # small objects the smoothing flattened
    report(0.5)
    if xp is np or compactness > 0 or mask.ndim > 3:
        landscape = np.negative(distance, out=distance) if xp is np else -to_host(distance)
        labels = xp.asarray(_flood_by_parts(landscape, to_host(seeds), to_host(parts),
                                            compactness))
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
            wider = tuple(slice(min(a.start, b.start), max(a.stop, b.stop))
                          for a, b in zip(box, boxes[last]))
            if np.prod([s.stop - s.start for s in wider]) > budget:
                break
            box, last = wider, last + 1
        inside = (parts[box] > first) & (parts[box] <= last)
        flooded = segmentation.watershed(landscape[box], seeds[box], mask=inside,
                                         compactness=compactness)
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
def voronoi_otsu_labeling(image, *, spot_sigma: float | None = None,
                          outline_sigma: float | None = None, spacing=None, dark: bool = False,
                          rgb: bool = False, channel: str | None = None,
                          object_size: float | None = None, min_size: float | None = None):
    """Instance labels in the manner of clEsperanto's Voronoi-Otsu labelling.

    The image blurred by ``spot_sigma`` gives one seed per local maximum (objects' centres);
    the image blurred by ``outline_sigma`` and thresholded by Otsu gives the foreground; the
    foreground is shared among the seeds by a flood from them (a Voronoi partition within
    the mask). Sigmas are in voxels, or physical units with ``spacing``; larger
    ``spot_sigma`` merges nearby objects, smaller splits more. Colour input (``rgb``): the
    ``channel`` as in :func:`~napari_segkit.methods.threshold.threshold` ("auto":
    haematoxylin on a brightfield slide). Left on None ("auto"), the sizes follow
    ``object_size``, the typical object diameter (default
    :func:`~napari_segkit.methods.scale.estimate_object_size`): ``spot_sigma`` the
    smallest between 0.1 × and 0.24 × at which the number of maxima stops falling
    (:func:`~napari_segkit.methods.scale.stable_sigma`), ``outline_sigma`` 0.03 ×,
    ``min_size`` (area/volume; smaller objects are dropped)
    :data:`~napari_segkit.methods.scale.MIN_FRACTION` × the typical object's. An image with
    no objects gives empty labels and a warning. Returns int32 labels 1…N.
    """
    for name, value in (("spot_sigma", spot_sigma), ("outline_sigma", outline_sigma),
                        ("object_size", object_size), ("min_size", min_size)):
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


def _as_mask(image, *, method: str, dark: bool, rgb: bool, channel=None, sigma=None,
             ndi=ndimage):
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

"""Region-based segmentation: region growing and the magic wand, split-and-merge,
Felzenszwalb's graph method and normalised cuts on a region adjacency graph."""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage import graph, segmentation

from .._checks import check_connectivity, check_number, check_numbers
from ..backend import cpu_only
from ..progress import report, steps
from ._pages import populate
from .cluster import slic
from .components import label
from .global_threshold import integer_range
from .scale import auto_min_size, estimate_or_warn, typical_volume, without_small
from .separate import seed_points, seeds_to_markers

__all__ = ["region_grow", "magic_wand", "split_and_merge", "felzenszwalb", "normalized_cut"]

#: felzenszwalb's automatic ``scale``: this many times the typical object's area (pixels)
FELZENSZWALB_SCALE = 5.0
#: split_and_merge's automatic ``tolerance``: this fraction of the intensity range
SPLIT_TOLERANCE = 0.1


def _values(image, rgb: bool) -> np.ndarray:
    """float32 intensities with the colour axis last (a length-1 axis for grey)."""
    image = np.asarray(image, dtype=np.float32)
    return image if rgb else image[..., None]


@cpu_only
def region_grow(image, seeds, *, tolerance: float, connectivity: int = 1, rgb: bool = False):
    """Grow each seed over the connected voxels whose intensity is close to the seed's.

    A region is every voxel connected to its seed through voxels whose intensity (colour:
    Euclidean distance in colour space, float32) is within ``tolerance`` of the seed's
    reference: its value for a point seed, its mean for a painted one. Voxels within reach
    of two seeds go to the region they are connected to first (a flood from the uncontested
    parts). The flood is compiled for 1D to 3D images with up to 4 channels, one seed at a
    time.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Intensities, or colour in the last axis. Any array-like (NumPy, CuPy, dask, zarr);
        the result is CuPy for CuPy input, else NumPy.
    seeds : (K, ndim) array or label image
        Points (voxel coordinates, rounded; one region each, ids 1…K in their order) or a
        label image of the image's shape (each id one region, e.g. strokes in a Labels
        layer).
    tolerance : float
        Largest distance (≥ 0, intensity units) of a voxel's value to the seed's reference;
        required.
    connectivity : int, default 1
        Neighbours that touch: 1 = faces only (4 in 2D, 6 in 3D) up to ndim (faces, edges
        and corners: 8 in 2D, 26 in 3D).
    rgb : bool, default False
        The last axis holds colour channels.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : int32 array
        Each region with its seed's id, 0 where no seed reached; of the image's shape
        (without the colour axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or ``tolerance`` is not a number.
    ValueError
        If ``tolerance`` < 0 or ``connectivity`` is not from 1 to ndim; if there is no seed,
        a point lies outside the image, or ``seeds`` are neither a label image (integers) of
        the image's shape nor K × ndim points.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    magic_wand : One region around a point, as a mask.
    watershed : Seeds that flood until they meet.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import region_grow
    >>> image = np.zeros((16, 16))
    >>> image[2:7, 2:7] = 10; image[7:12, 2:7] = 11; image[9:14, 9:14] = 20
    >>> labels = region_grow(image, [[4, 4], [11, 11]], tolerance=2)
    >>> labels.dtype.name, np.bincount(labels.ravel()).tolist()
    ('int32', [181, 50, 25])

    Seed 1 (value 10) took its square and the touching one of 11; a tighter tolerance
    keeps it to its own:

    >>> np.bincount(region_grow(image, [[4, 4], [11, 11]], tolerance=0.5).ravel()).tolist()
    [206, 25, 25]
    >>> painted = np.zeros((16, 16), int); painted[3, 3:6] = 5  # a stroke with id 5
    >>> np.unique(region_grow(image, painted, tolerance=2)).tolist()
    [0, 5]
    """
    return _grown_regions(image, seeds, tolerance, connectivity, rgb, np.int32)


def _grown_regions(image, seeds, tolerance, connectivity, rgb, dtype) -> np.ndarray:
    """:func:`region_grow` into labels of ``dtype``."""
    image, shape = _checked(image, tolerance, connectivity, rgb)
    voxels, ids, bounds = _seed_voxels(seeds, shape)
    if ids.size == 0:
        raise ValueError("no seeds: place at least one point or paint at least one label")
    return _grown(image, shape, voxels, ids, bounds, tolerance, connectivity, rgb, dtype)


def _checked(image, tolerance, connectivity, rgb):
    """(the image as NumPy, its shape without the colour axis); refuses a negative or
    non-number ``tolerance`` and a ``connectivity`` outside 1…ndim."""
    check_number("tolerance", tolerance, minimum=0)
    image = np.asarray(image)
    shape = image.shape[:-1] if rgb else image.shape
    check_connectivity(connectivity, len(shape))
    return image, shape


def _grown(image, shape, voxels, ids, bounds, tolerance, connectivity, rgb, dtype):
    """Grow seed ``ids[k]`` from flat ``voxels[bounds[k]:bounds[k + 1]]``, in turn."""
    one = len(ids) == 1  # the magic wand: nothing contested, no progress between seeds
    claims = None if one else np.zeros(shape, np.uint8)
    owner = np.zeros(shape, dtype)
    populate(owner)  # its pages mapped at once: the flood reaches across the image
    grower = _grower(image, rgb, connectivity, owner, claims)
    flat = image.reshape((-1, image.shape[-1]) if rgb else -1)
    for k in range(1) if one else steps(range(len(ids)), end=0.9):
        seed = voxels[bounds[k] : bounds[k + 1]]
        values = _values(flat[seed], rgb)
        reference = values[0] if len(seed) == 1 else values.mean(axis=0)
        if grower is not None:
            grower(seed, int(ids[k]), reference, tolerance)
            continue
        seed = np.zeros(shape, bool)
        seed.reshape(-1)[voxels[bounds[k] : bounds[k + 1]]] = True
        region = _reached(
            _within(_values(image, rgb), reference, tolerance) | seed, seed, connectivity
        )
        if claims is not None:
            claims += region
        np.copyto(owner, ids[k], where=region)
    if one:  # the seed's voxels are its own: the flood starts from them
        return owner
    seed_ids = np.repeat(ids, np.diff(bounds))  # of each seed voxel
    contested = claims > 1
    if contested.any():
        owner[contested] = 0
        owner.reshape(-1)[voxels] = seed_ids
        return segmentation.watershed(
            np.zeros(shape, np.uint8), owner, mask=claims > 0, connectivity=connectivity
        ).astype(np.int32, copy=False)
    owner.reshape(-1)[voxels] = seed_ids
    return owner


def _point_voxel(point: tuple[float, ...], shape) -> int:
    """The flat index of one point (coordinates rounded half to even, as np.rint), refused
    unless it has one coordinate per axis and lies in the image."""
    if len(point) != len(shape):
        raise ValueError(
            f"point must have one coordinate per axis ({len(shape)}), got {len(point)}"
        )
    voxel = 0
    for coordinate, size in zip(point, shape, strict=True):
        index = round(coordinate)
        if not 0 <= index < size:
            raise ValueError(f"point {tuple(point)} lies outside the image {tuple(shape)}")
        voxel = voxel * size + index
    return voxel


def _seed_voxels(seeds, shape):
    """(flat indices of the seed voxels, by id then in raster order; the ids, ascending;
    where each id's voxels start and end in the first) of a label image or of points (each
    its own id, 1, 2, …; the last of two on one voxel), without a voxel-sized image of them."""
    if np.shape(seeds) == tuple(shape):
        flat = seeds_to_markers(seeds, shape).reshape(-1)
        voxels = np.flatnonzero(flat > 0)
        labels = flat[voxels]
    else:
        points = seed_points(seeds, shape)
        flat = np.ravel_multi_index(tuple(points.T), shape)[::-1]
        voxels, last = np.unique(flat, return_index=True)  # the last point on each voxel
        labels = (len(flat) - last).astype(np.int32)
    order = np.argsort(labels, kind="stable")
    voxels, labels = voxels[order], labels[order]
    starts = (
        np.flatnonzero(np.r_[True, labels[1:] != labels[:-1]])
        if labels.size
        else np.zeros(0, np.int64)
    )
    return voxels, labels[starts], np.r_[starts, labels.size]


#: the magic wand's one seed: its id and where its voxels start and end in the voxel list
_ONE_ID, _ONE_SEED = np.ones(1, np.int32), np.array([0, 1])
_ONE_ID.flags.writeable = _ONE_SEED.flags.writeable = False

#: the most colour channels the compiled flood sums in NumPy's order
_WAND_CHANNELS = 4


def _grower(
    image: np.ndarray, rgb: bool, connectivity: int, owner: np.ndarray, claims: np.ndarray | None
):
    """``grow(seed voxels, id, reference, tolerance)``: the compiled flood
    (:mod:`._wand`) for 1-3D images of real numbers with up to :data:`_WAND_CHANNELS`
    channels, writing ``owner`` and ``claims`` (None: not counted); None otherwise."""
    from ._wand import grey_range, grow

    shape = image.shape[:-1] if rgb else image.shape
    if (
        len(shape) > 3
        or image.dtype.kind not in "biuf"
        or (rgb and image.shape[-1] > _WAND_CHANNELS)
    ):
        return None
    if image.dtype == bool:
        image = image.view(np.uint8)
    elif image.dtype == np.float16:
        image = image.astype(np.float32)  # exact
    grey = not rgb and image.dtype.kind in "iu" and image.dtype.itemsize <= 2
    if not image.flags.c_contiguous:
        image = np.ascontiguousarray(image)
    values = image.reshape(-1 if grey else (-1, image.shape[-1] if rgb else 1))
    lowest, highest = integer_range(image.dtype) if grey else (0, 0)
    counts = None if claims is None else claims.reshape(-1)

    def grown(seed, label, reference, tolerance):
        # the threshold in the precision NumPy compares float32 distances with it
        if type(tolerance) is float or type(tolerance) is int:
            threshold = float(np.float32(tolerance))
        else:
            threshold = float(np.result_type(np.float32, tolerance).type(tolerance))
        # grey: the values within the tolerance are one range (distance is monotone)
        bounds = grey_range(lowest, highest, reference[0], threshold) if grey else (0, 0)
        grow(
            values,
            shape,
            connectivity,
            seed,
            label,
            owner.reshape(-1),
            counts,
            bounds,
            reference,
            threshold,
        )

    return grown


def _within(values: np.ndarray, reference: np.ndarray, tolerance: float) -> np.ndarray:
    """Where the Euclidean distance (float32) of ``values`` to ``reference`` is at most
    ``tolerance``; grey without the length-1 colour axis (the same numbers, fewer passes)."""
    if values.shape[-1] == 1:
        distance = values[..., 0] - reference[0]
        distance *= distance
    else:
        distance = ((values - reference) ** 2).sum(axis=-1)
    return np.sqrt(distance, out=distance) <= tolerance


def _reached(allowed: np.ndarray, seed: np.ndarray, connectivity: int) -> np.ndarray:
    """The voxels of ``allowed`` connected to ``seed``: the connected parts that hold it."""
    parts = label(allowed, connectivity=connectivity, device="cpu")
    return np.isin(parts, np.unique(parts[seed]))


@cpu_only
def magic_wand(
    image, point: tuple[float, ...], *, tolerance: float, connectivity: int = 1, rgb: bool = False
):
    """Select the connected region around a point whose intensity is close to the point's.

    Fiji's and Photoshop's wand tool, in 2D or 3D: :func:`region_grow` from one point seed,
    the voxels connected to ``point`` whose intensity or colour is within ``tolerance`` of
    its own.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Intensities, or colour in the last axis. Any array-like (NumPy, CuPy, dask, zarr);
        the result is CuPy for CuPy input, else NumPy.
    point : sequence of float
        Voxel coordinates of the start, one per axis (rounded).
    tolerance : float
        Largest distance (≥ 0, intensity units; colour: Euclidean) of a voxel's value to the
        point's; required.
    connectivity : int, default 1
        Neighbours that touch: 1 = faces only, up to ndim (faces, edges and corners).
    rgb : bool, default False
        The last axis holds colour channels.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    mask : bool array
        True on the selected region; of the image's shape (without the colour axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or ``point`` or ``tolerance`` is not numbers.
    ValueError
        If ``tolerance`` < 0 or ``connectivity`` is not from 1 to ndim; if ``point`` has
        not one coordinate per axis or lies outside the image.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    region_grow : Several seeds at once, as labels.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import magic_wand
    >>> image = np.zeros((16, 16)); image[2:7, 2:7] = 10; image[7:12, 2:7] = 11
    >>> mask = magic_wand(image, (4, 4), tolerance=2)  # both squares: 10 and 11
    >>> mask.dtype.name, int(mask.sum())
    ('bool', 50)
    >>> int(magic_wand(image, (4, 4), tolerance=0.5).sum())  # only the square of 10
    25
    """
    point = check_numbers("point", point)
    image, shape = _checked(image, tolerance, connectivity, rgb)
    voxel = np.array([_point_voxel(point, shape)])
    # uint8: a quarter of the memory the flood reads and writes (15 % faster at 4096²)
    owner = _grown(image, shape, voxel, _ONE_ID, _ONE_SEED, tolerance, connectivity, rgb, np.uint8)
    return owner.view(bool)


@cpu_only
def split_and_merge(
    image,
    *,
    tolerance: float | None = None,
    min_block: int = 1,
    merge_tolerance: float | None = None,
    rgb: bool = False,
    min_size: float | None = None,
):
    """Segment by split-and-merge (Horowitz & Pavlidis) into regions of even intensity.

    Blocks (quadtree in 2D, octree in 3D, over the image padded to a power of 2) are split
    until the intensity range inside each is at most ``tolerance`` or they reach
    ``min_block`` voxels on a side; neighbouring blocks whose mean intensities (colour: mean
    colours, Euclidean) differ by less than ``merge_tolerance`` are then joined, on the
    graph of the blocks (so a chain of similar blocks joins). Regions smaller than
    ``min_size`` voxels are then given to their nearest neighbours.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Intensities, or colour in the last axis (the merge uses the first 3 channels). Any
        array-like (NumPy, CuPy, dask, zarr); the result is CuPy for CuPy input, else NumPy.
    tolerance : float, optional
        Largest intensity range (≥ 0) inside a block. None: :data:`SPLIT_TOLERANCE` (0.1) ×
        the image's intensity range (0.5-99.5 percentiles; colour: the largest channel's).
    min_block : int, default 1
        Smallest block side, in voxels (≥ 1).
    merge_tolerance : float, optional
        Largest difference (≥ 0) of the mean intensities of blocks that are joined. None:
        ``tolerance``.
    rgb : bool, default False
        The last axis holds colour channels.
    min_size : float, optional
        Regions smaller than this many voxels (≥ 0) are filled by the nearest larger region.
        None (auto): 0.2 × the area/volume of a disc/ball of the typical object diameter
        (:func:`~napari_segkit.methods.scale.estimate_object_size`), or 0 with a warning
        when no object stands out of the noise; 0 keeps every region.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : int32 array
        Region ids 1…N (every voxel in one); of the image's shape (without the colour axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``tolerance``, ``merge_tolerance`` or ``min_size`` < 0, or ``min_block`` < 1.
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    felzenszwalb : Graph-based regions.
    region_grow : Regions grown from seeds.

    References
    ----------
    .. [1] S. L. Horowitz and T. Pavlidis, "Picture segmentation by a tree traversal
           algorithm", Journal of the ACM 23(2):368-388, 1976.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import split_and_merge
    >>> yy, xx = np.mgrid[:64, :64]
    >>> image = np.zeros((64, 64))
    >>> for cy, cx in [(16, 16), (16, 48), (48, 16), (48, 48)]:  # four discs of 109 pixels
    ...     image[(yy - cy) ** 2 + (xx - cx) ** 2 < 6 ** 2] = 1.0
    >>> labels = split_and_merge(image)
    >>> labels.dtype.name, np.bincount(labels.ravel())[1:].tolist()  # background, 4 discs
    ('int32', [3660, 109, 109, 109, 109])
    """
    check_number("tolerance", tolerance, minimum=0, optional=True)
    check_number("min_block", min_block, minimum=1, integer=True)
    check_number("merge_tolerance", merge_tolerance, minimum=0, optional=True)
    check_number("min_size", min_size, minimum=0, optional=True)
    values = _values(image, rgb)
    if tolerance is None:
        lo, hi = np.percentile(values.reshape(-1, values.shape[-1]), (0.5, 99.5), axis=0)
        tolerance = SPLIT_TOLERANCE * float(np.max(hi - lo))
    leaves = _split(values, tolerance, min_block)
    report(0.5)
    labels = _merge(values, leaves, tolerance if merge_tolerance is None else merge_tolerance)
    if min_size is None:
        size = estimate_or_warn(np.asarray(image), rgb=rgb)
        min_size = auto_min_size(None, size, labels.shape) if size else 0.0
    return _absorb_small(labels, min_size)


def _absorb_small(labels: np.ndarray, min_size: float) -> np.ndarray:
    """``labels`` with regions under ``min_size`` voxels filled by the nearest larger region
    (numbered 1…N after); unchanged when none is large enough."""
    kept = without_small(labels, min_size, None)
    if not kept.max() or kept.all():
        return kept if kept.max() else labels
    nearest = ndimage.distance_transform_edt(kept == 0, return_distances=False, return_indices=True)
    return kept[tuple(nearest)]


def _split(values: np.ndarray, tolerance: float, min_block: int) -> np.ndarray:
    shape = values.shape[:-1]
    top = 1 << int(np.ceil(np.log2(max(max(shape), 1))))
    padded = np.pad(values, [(0, top - n) for n in shape] + [(0, 0)], mode="edge")
    ndim = len(shape)
    leaves = np.zeros((1,) * ndim, np.int32)  # ids per block of the current size
    size, count = top, 0
    while True:
        grid = top // size
        blocks = padded.reshape(sum(((grid, size) for _ in range(ndim)), ()) + (-1,))
        axes = tuple(range(1, 2 * ndim, 2))
        spread = (blocks.max(axis=axes) - blocks.min(axis=axes)).max(axis=-1)
        open_ = leaves == 0
        done = open_ & ((spread <= tolerance) | (size <= min_block))
        leaves[done] = np.arange(count + 1, count + 1 + int(done.sum()))
        count += int(done.sum())
        if not (leaves == 0).any():
            break
        for axis in range(ndim):  # each block becomes 2^ndim children
            leaves = leaves.repeat(2, axis=axis)
        size //= 2
    for axis in range(ndim):
        leaves = leaves.repeat(size, axis=axis)
    return leaves[tuple(slice(0, n) for n in shape)]


def _rag_colours(values: np.ndarray) -> np.ndarray:
    """Three channels for :func:`skimage.graph.rag_mean_color` (which sums three): colour
    without alpha, or grey spread as v/√3 over three so that distances stay grey levels."""
    if values.shape[-1] == 1:
        return np.repeat(values / np.sqrt(3.0), 3, axis=-1)
    return values[..., :3]


def _merge(values: np.ndarray, leaves: np.ndarray, tolerance: float) -> np.ndarray:
    leaves = segmentation.relabel_sequential(leaves)[0]
    if leaves.max() <= 1:  # one region: nothing to merge (and no graph to build)
        return leaves.astype(np.int32)
    rag = graph.rag_mean_color(_rag_colours(values), leaves, mode="distance")
    merged = graph.cut_threshold(leaves, rag, tolerance, in_place=True)
    return segmentation.relabel_sequential(merged + 1)[0].astype(np.int32)


@cpu_only
def felzenszwalb(
    image,
    *,
    scale: float | None = None,
    sigma: float = 0.8,
    min_size: int | None = None,
    rgb: bool = False,
):
    """Segment by Felzenszwalb and Huttenlocher's graph method into regions of any shape.

    Runs :func:`skimage.segmentation.felzenszwalb`: pixels are joined along the edges of the
    pixel graph, weakest first, while the difference between two regions is small next to
    the variation inside them; larger ``scale`` gives larger regions. Grey images are scaled
    to 0…255 first, so the same ``scale`` suits any bit depth. 2D; a 3D stack is done slice
    by slice, with ids unique across slices.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        An image or a stack of 2D slices; colour in the last axis. Any array-like (NumPy,
        CuPy, dask, zarr); the result is CuPy for CuPy input, else NumPy.
    scale : float, optional
        Larger gives larger regions (> 0). None: 5 × the area of a disc of the typical
        object diameter (:func:`~napari_segkit.methods.scale.estimate_object_size`, in
        pixels, of the middle slice of a stack); 100, with a warning, for an image without
        objects.
    sigma : float, default 0.8
        Gaussian smoothing first, in pixels (≥ 0).
    min_size : int, optional
        Smallest region, in pixels (≥ 0). None: 0.2 × the area of a disc of the typical
        object diameter; 20, with a warning, for an image without objects.
    rgb : bool, default False
        The last axis holds colour channels.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : int32 array
        Region ids 1…N (every pixel in one); of the image's shape (without the colour
        axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``scale`` ≤ 0, ``sigma`` < 0, or ``min_size`` is not an integer ≥ 0; if the
        image is neither 2D nor a 3D stack (plus colour).
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    slic : Compact superpixels.
    split_and_merge : Regions of even intensity.

    References
    ----------
    .. [1] P. F. Felzenszwalb and D. P. Huttenlocher, "Efficient graph-based image
           segmentation", International Journal of Computer Vision 59(2):167-181, 2004.
           :doi:`10.1023/B:VISI.0000022288.19776.77`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import felzenszwalb
    >>> yy, xx = np.mgrid[:64, :64]
    >>> image = np.zeros((64, 64))
    >>> for cy, cx in [(16, 16), (16, 48), (48, 16), (48, 48)]:  # four discs of 109 pixels
    ...     image[(yy - cy) ** 2 + (xx - cx) ** 2 < 6 ** 2] = 1.0
    >>> labels = felzenszwalb(image, sigma=0)
    >>> labels.dtype.name, np.bincount(labels.ravel())[1:].tolist()  # background, 4 discs
    ('int32', [3660, 109, 109, 109, 109])
    >>> int(felzenszwalb(np.stack([image, image]), sigma=0).max())  # 5 new ids per slice
    10
    """
    check_number("scale", scale, above=0, optional=True)
    check_number("sigma", sigma, minimum=0)
    check_number("min_size", min_size, minimum=0, integer=True, optional=True)
    image = np.asarray(image)
    ndim = image.ndim - (1 if rgb else 0)
    if scale is None or min_size is None:
        size = estimate_or_warn(image[len(image) // 2] if ndim == 3 else image, rgb=rgb)
        area = typical_volume(size, 2) if size else None
        scale = (FELZENSZWALB_SCALE * area if area else 100.0) if scale is None else scale
        min_size = (
            (int(auto_min_size(None, size, (1, 1))) if size else 20)
            if min_size is None
            else min_size
        )
    if ndim == 3:
        out, offset = [], 0
        for plane in steps(image):
            part = felzenszwalb(
                plane, scale=scale, sigma=sigma, min_size=min_size, rgb=rgb, device="cpu"
            )
            out.append(part + offset)
            offset += int(part.max())
        return np.stack(out)
    if ndim != 2:
        raise ValueError(f"felzenszwalb needs a 2D image or a 3D stack, got {image.shape}")
    if not rgb:  # grey to 0…255, the range its ``scale`` is meant for (as an 8-bit image)
        grey = image.astype(np.float32)
        lo, hi = float(grey.min()), float(grey.max())
        image = (grey - lo) * (255 / (hi - lo)) if hi > lo else np.zeros_like(grey)
    return (
        segmentation.felzenszwalb(
            image, scale=scale, sigma=sigma, min_size=min_size, channel_axis=-1 if rgb else None
        )
        + 1
    ).astype(np.int32)


@cpu_only
def normalized_cut(
    image,
    *,
    n_segments: int = 400,
    compactness: float = 10.0,
    threshold: float = 0.001,
    spacing=None,
    rgb: bool = False,
    seed: int = 0,
):
    """Segment by normalised cuts (Shi & Malik) of a graph of SLIC superpixels.

    The image is divided into :func:`slic` superpixels; on their region adjacency graph,
    edges weighted by mean-colour similarity (:func:`skimage.graph.rag_mean_color` on the
    image scaled to 0…255), :func:`skimage.graph.cut_normalized` cuts recursively in two
    while a cut costs less than ``threshold``. 2D or 3D. Each cut solves an eigenproblem of
    the graph, so the cost grows quickly with ``n_segments``.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or a colour array (..., C) with ``rgb=True``
        Finite intensities, or colour in the last axis. Any array-like (NumPy, CuPy, dask,
        zarr); the result is CuPy for CuPy input, else NumPy.
    n_segments : int, default 400
        About how many superpixels (≥ 1), as in :func:`slic`.
    compactness : float, default 10.0
        Superpixel shape against colour (> 0), as in :func:`slic`.
    threshold : float, default 0.001
        Largest normalised-cut value (> 0) that still splits a region: smaller gives more
        regions.
    spacing : sequence of float, optional
        Physical voxel size per axis (default 1 per axis), as in :func:`slic`.
    rgb : bool, default False
        The last axis holds colour channels.
    seed : int, default 0
        Seed of the eigensolver's random start, so results repeat.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Runs on the CPU ("auto" and "cpu"); "gpu" raises GPUUnavailableError.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : int32 array
        Region ids 1…N (every voxel in one); of the image's shape (without the colour axis).

    Raises
    ------
    TypeError
        If ``image`` is not an array, or a numeric argument is not a number.
    ValueError
        If ``threshold`` ≤ 0; as :func:`slic` (``n_segments`` < 1, ``compactness`` ≤ 0,
        an image not 2D or 3D or with NaN or infinite values, a bad ``spacing``).
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    slic : The superpixels alone.
    felzenszwalb : Another graph method, on pixels.

    References
    ----------
    .. [1] J. Shi and J. Malik, "Normalized cuts and image segmentation", IEEE Transactions
           on Pattern Analysis and Machine Intelligence 22(8):888-905, 2000.
           :doi:`10.1109/34.868688`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import normalized_cut
    >>> image = np.zeros((32, 32)); image[:, 16:] = 1.0; image[16:, :16] = 0.5  # 3 regions
    >>> image += np.random.default_rng(0).normal(0, 0.05, image.shape)
    >>> labels = normalized_cut(image, n_segments=16, compactness=1)
    >>> labels.dtype.name, np.bincount(labels.ravel())[1:].tolist()
    ('int32', [256, 512, 256])
    """
    check_number("threshold", threshold, above=0)
    superpixels = slic(
        image,
        n_segments=n_segments,
        compactness=compactness,
        spacing=spacing,
        rgb=rgb,
        device="cpu",
    )
    report(0.5)
    if superpixels.max() <= 1:  # one region: nothing to cut (and no graph to build)
        return superpixels
    values = _values(image, rgb)
    lo, hi = float(values.min()), float(values.max())
    values = (values - lo) * (255.0 / (hi - lo) if hi > lo else 0.0)  # the weights' scale
    rag = graph.rag_mean_color(_rag_colours(values), superpixels, mode="similarity")
    cut = graph.cut_normalized(superpixels, rag, thresh=threshold, rng=np.random.default_rng(seed))
    return segmentation.relabel_sequential(cut + 1)[0].astype(np.int32)

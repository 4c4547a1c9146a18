"""Per-object measurements of a 2D or 3D label image: size, position, shape and intensity in
physical units, as a pandas table with one row per object.

Sums that add up over parts of an image (voxel counts, coordinate moments, intensity sums,
minima, maxima, bounding boxes) are gathered per block of rows (NumPy) or per dask block and
combined per label, so an object cut by block borders is measured whole. Shape properties
that need the whole object (perimeter or surface area, solidity) come from the object's
bounding-box crop. Values equal :func:`skimage.measure.regionprops` with the same spacing.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import ndimage

from .._checks import check_array
from ..backend import to_host
from ._geometry import spacing_for

__all__ = ["measure"]

_COMMON = (
    "centroid",
    "bbox",
    "equivalent_diameter",
    "axis_major_length",
    "axis_minor_length",
    "solidity",
    "intensity_mean",
    "intensity_min",
    "intensity_max",
    "intensity_std",
    "intensity_sum",
)
#: the properties measure() knows, per number of spatial axes
PROPERTIES = {
    2: ("area", "perimeter", "circularity", *_COMMON),
    3: ("volume", "surface_area", "sphericity", *_COMMON),
}
_SHAPE = {"perimeter", "circularity", "surface_area", "sphericity", "solidity"}
_SLAB = 1 << 22  # voxels per row block of an in-memory image (bounds temporary memory)


def measure(labels, image=None, *, spacing=None, origin=None, properties="all"):
    """Measure every object of a label image: size, position, shape and intensity.

    Values equal :func:`skimage.measure.regionprops` with the same spacing, as a pandas
    table with one row per object (non-zero id). Runs on the CPU; CuPy input is copied to
    the host. Sums that add up over parts of an image (voxel counts, coordinate moments,
    intensity sums, minima, maxima, bounding boxes) are gathered per block of rows (NumPy)
    or per dask block and combined per label, so an object cut by block borders is measured
    whole: a dask ``labels`` (and ``image``) is measured block by block, and only objects
    that span several blocks are read whole (their bounding box) for the shape properties.

    Parameters
    ----------
    labels : (M, N) or (P, M, N) integer or bool array
        Object ids (0 = background; bool counts as one object). NumPy, CuPy, zarr or dask.
    image : array, optional
        Intensities of the labels' shape, or with one more axis of channels (last, or first
        when the last does not fit); per channel ``c`` the columns are ``intensity_mean-c``
        etc., without the suffix for a single channel.
    spacing : sequence of float, optional
        Physical voxel size per axis (default 1 per axis); sizes, lengths and centroids are
        in its units.
    origin : sequence of float, optional
        World position of voxel (0, 0[, 0]) (default 0), added to the centroids.
    properties : "all", str or list of str, default "all"
        Names from ``PROPERTIES[ndim]`` (the columns below); ``label`` is always there.

    Returns
    -------
    table : pandas.DataFrame
        One row per object, by increasing id. Columns: ``label``; ``area`` (2D, units²)
        or ``volume`` (3D, units³); ``centroid-i`` (world units); ``bbox-i`` (voxel
        indices: start of each axis, then end, exclusive, as in ``regionprops_table``);
        ``equivalent_diameter`` (of the disc or ball of that size); ``perimeter`` (2D:
        scikit-image's 4-connected estimate on square pixels, else the Cauchy-Crofton
        estimate from crossings in four directions) or ``surface_area`` (3D: marching-cubes
        mesh with spacing); ``circularity`` 4πA/P² or ``sphericity`` π^⅓(6V)^⅔/S (about 1
        for a disc or ball); ``axis_major_length``/``axis_minor_length`` (of the ellipse or
        ellipsoid with the same second moments); ``solidity`` (size / convex hull size; NaN
        for flat objects); with ``image``, ``intensity_mean/min/max/std`` and
        ``intensity_sum`` (the sum of the object's values, "integrated intensity").

    Raises
    ------
    TypeError
        If ``labels`` or ``image`` is not an array.
    ValueError
        If ``labels`` is not 2D or 3D, not integer (or bool) or has negative ids; if a
        property is unknown for its dimension; if ``image`` has another shape, ``origin``
        not one finite number per axis, or ``spacing`` not one positive number per axis.

    See Also
    --------
    label : Object ids from a mask.
    estimate_object_size : The typical object size, before segmenting.

    References
    ----------
    .. [1] T. Lewiner, H. Lopes, A. W. Vieira and G. Tavares, "Efficient implementation of
           marching cubes' cases with topological guarantees", Journal of Graphics Tools
           8(2):1-15, 2003. :doi:`10.1080/10867651.2003.10487582`

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import measure
    >>> labels = np.zeros((8, 10), np.int32); labels[1:4, 1:4] = 1; labels[4:8, 5:10] = 2
    >>> table = measure(labels, properties=["area", "centroid"])
    >>> table.columns.tolist()
    ['label', 'area', 'centroid-0', 'centroid-1']
    >>> table.values.tolist()  # 3 × 3 and 4 × 5 pixels
    [[1.0, 9.0, 2.0, 2.0], [2.0, 20.0, 5.5, 7.0]]

    In physical units, at 0.5 µm per pixel and with the image's corner at (10, 20) µm:

    >>> measure(labels, spacing=0.5, origin=(10, 20), properties=["area", "centroid"]
    ...         ).values.tolist()
    [[1.0, 2.25, 11.0, 21.0], [2.0, 5.0, 12.75, 23.5]]
    >>> image = np.arange(80.0).reshape(8, 10)
    >>> measure(labels, image, properties="intensity_mean")["intensity_mean"].tolist()
    [22.0, 62.0]
    >>> yy, xx = np.mgrid[:64, :64]
    >>> disc = ((yy - 32) ** 2 + (xx - 32) ** 2 < 20 ** 2).astype(np.uint8)
    >>> round(float(measure(disc, properties="circularity")["circularity"][0]), 2)
    0.95
    """
    import pandas as pd

    check_array("labels", labels)
    ndim = len(labels.shape)
    if ndim not in (2, 3):
        raise ValueError(f"labels must be 2D or 3D, got {ndim} axes {tuple(labels.shape)}")
    if np.dtype(labels.dtype).kind not in "iub":
        raise ValueError(
            f"labels must hold integer object ids, not {labels.dtype} values; "
            "make ids first, e.g. with napari_segkit.label"
        )
    wanted = _wanted(properties, ndim)
    spacing = np.asarray(spacing_for(spacing, ndim))
    origin = np.zeros(ndim) if origin is None else _origin(origin, ndim)
    from ..backend import is_dask

    image = _channels_last(image, tuple(labels.shape))
    shape = bool(wanted & _SHAPE)
    if is_dask(labels) or is_dask(image):
        table = _dask_sums(labels, image, spacing, shape)
    else:
        table = _block_sums(
            _host_labels(labels),
            None if image is None else to_host(image),
            (0,) * ndim,
            spacing,
            shape,
        )
    return pd.DataFrame(_columns(table, wanted, spacing, origin, image is not None))


def _wanted(properties, ndim: int) -> set:
    known = PROPERTIES[ndim]
    if isinstance(properties, str) and properties == "all":
        return set(known)
    names = [properties] if isinstance(properties, str) else list(properties)
    unknown = [n for n in names if n not in known and n != "label"]
    if unknown:
        raise ValueError(
            f"properties {unknown} are not measured in {ndim}D; choose from {', '.join(known)}"
        )
    return set(names)


def _origin(origin, ndim: int) -> np.ndarray:
    values = np.atleast_1d(np.asarray(origin, dtype=float))
    if values.shape != (ndim,) or not np.all(np.isfinite(values)):
        raise ValueError(f"origin needs {ndim} finite numbers (one per axis), got {origin!r}")
    return values


def _host_labels(labels) -> np.ndarray:
    labels = to_host(labels)
    if labels.dtype == bool:
        return labels.view(np.uint8)
    if labels.dtype.kind == "i" and labels.size and labels.min() < 0:
        raise ValueError("labels must not be negative (0 is background, objects are 1, 2, …)")
    return labels


def _channels_last(image, shape: tuple):
    """``image`` with a channel axis last (one channel when it had none), or None."""
    if image is None:
        return None
    check_array("image", image)
    if tuple(image.shape) == shape:
        return image[..., None]
    if tuple(image.shape[:-1]) == shape:
        return image
    if tuple(image.shape[1:]) == shape:
        return (
            np.moveaxis(image, 0, -1)
            if not hasattr(image, "map_blocks")
            else image.transpose(*range(1, image.ndim), 0)
        )
    raise ValueError(
        f"image must have the labels' shape {shape} (plus a channel axis), got {tuple(image.shape)}"
    )


# -- sums over a block --------------------------------------------------------------------


def _index(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(index image, ids): ``labels`` themselves and None when their largest id is small (no
    copy), else each voxel's rank among the ids present (0 stays background) and the ids."""
    top = int(labels.max(initial=0))
    if top <= 4 * labels.size + 65536:
        return labels, None
    ids, index = np.unique(labels, return_inverse=True)
    return (index + (ids[0] != 0)).reshape(labels.shape), np.concatenate([[0], ids[ids > 0]])


def _block_sums(labels: np.ndarray, image, offset, spacing, shape: bool) -> dict:
    """The additive facts of every object in one block whose first voxel is at ``offset``
    (global voxel indices): counts, coordinate sums and products, boxes, intensity sums,
    squares, minima and maximum, and (``shape``) the crop-based shape facts."""
    index, ids = _index(labels)
    k = int(index.max(initial=0)) + 1
    ndim = labels.ndim
    n = np.zeros(k)
    s1 = np.zeros((k, ndim))
    s2 = np.zeros((k, ndim, ndim))
    channels = 0 if image is None else image.shape[-1]
    isum, isq = np.zeros((k, channels)), np.zeros((k, channels))
    rows = max(1, _SLAB // max(1, int(np.prod(labels.shape[1:]))))
    for start in range(0, labels.shape[0], rows):  # row blocks bound the temporaries
        part = index[start : start + rows]
        flat = part.ravel()
        n += np.bincount(flat, minlength=k)
        grids = [
            g.astype(float) + o
            for g, o in zip(np.ogrid[tuple(slice(0, s) for s in part.shape)], offset)
        ]
        grids[0] = grids[0] + start
        for a in range(ndim):
            s1[:, a] += np.bincount(flat, np.broadcast_to(grids[a], part.shape).ravel(), k)
            for b in range(a, ndim):
                s2[:, a, b] += np.bincount(
                    flat, np.broadcast_to(grids[a] * grids[b], part.shape).ravel(), k
                )
        for c in range(channels):
            values = np.asarray(image[start : start + rows, ..., c], dtype=float).ravel()
            isum[:, c] += np.bincount(flat, values, k)
            isq[:, c] += np.bincount(flat, values * values, k)
    for a in range(ndim):
        for b in range(a):
            s2[:, a, b] = s2[:, b, a]
    present = np.flatnonzero(n[1:]) + 1
    boxes = ndimage.find_objects(index)
    boxes = [boxes[i - 1] for i in present]
    lo = np.array([[s.start for s in box] for box in boxes]).reshape(-1, ndim) + offset
    hi = np.array([[s.stop for s in box] for box in boxes]).reshape(-1, ndim) + offset
    imin, imax = np.empty((len(present), channels)), np.empty((len(present), channels))
    boundary, hull = np.empty(len(present)), np.empty(len(present))
    if channels or shape:  # one pass over the objects' bounding-box crops
        for j, (i, box) in enumerate(zip(present, boxes)):
            mask = index[box] == i
            if channels:
                inside = image[box][mask]
                imin[j], imax[j] = inside.min(axis=0), inside.max(axis=0)
            if shape:
                boundary[j], hull[j] = _shape_facts(mask, spacing)
    table = {
        "ids": present if ids is None else ids[present],
        "n": n[present],
        "s1": s1[present],
        "s2": s2[present],
        "lo": lo,
        "hi": hi,
        "isum": isum[present],
        "isq": isq[present],
        "imin": imin,
        "imax": imax,
        "blocks": np.ones(len(present)),
    }
    if shape:
        table["boundary"], table["hull"] = boundary, hull
    return table


def _shape_facts(mask: np.ndarray, spacing) -> tuple[float, float]:
    """(perimeter or surface area in physical units, voxels in the convex hull) of one
    object's bounding-box crop."""
    from skimage.measure import marching_cubes, mesh_surface_area, perimeter
    from skimage.morphology import convex_hull_image

    if mask.ndim == 2 and spacing[0] == spacing[1]:
        boundary = perimeter(mask, 4) * spacing[0]
    elif mask.ndim == 2:
        boundary = _crofton(mask, spacing)
    else:
        verts, faces, _, _ = marching_cubes(
            np.pad(mask, 1).astype(np.float32), 0.5, spacing=tuple(spacing)
        )
        boundary = mesh_surface_area(verts, faces)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a flat object has no hull: NaN below
        hull = int(convex_hull_image(mask).sum())
    return float(boundary), float(hull) if hull else np.nan


def _crofton(mask: np.ndarray, spacing) -> float:
    """Perimeter (physical units) of a 2D mask on non-square pixels by the Cauchy-Crofton
    formula: boundary crossings along the rows, columns and both diagonals, each direction
    weighted by its line spacing and by its share of the angles (in physical space)."""
    m = np.pad(mask, 1).astype(np.int8)
    sy, sx = spacing
    steps = [
        ((1, 0), sx),
        ((0, 1), sy),
        ((1, 1), sy * sx / np.hypot(sy, sx)),
        ((1, -1), sy * sx / np.hypot(sy, sx)),
    ]
    angles = np.array([np.arctan2(dy * sy, dx * sx) % np.pi for (dy, dx), _ in steps])
    order = np.argsort(angles)
    gaps = np.diff(np.concatenate([angles[order], [angles[order][0] + np.pi]]))
    weight = np.empty(4)
    weight[order] = (gaps + np.roll(gaps, 1)) / 2  # half the gap on each side
    crossings = [
        np.abs(m[1:] - m[:-1]).sum(),
        np.abs(m[:, 1:] - m[:, :-1]).sum(),
        np.abs(m[1:, 1:] - m[:-1, :-1]).sum(),
        np.abs(m[1:, :-1] - m[:-1, 1:]).sum(),
    ]
    return float(sum(n * d * w for n, (_, d), w in zip(crossings, steps, weight)) / 2)


def _merge(tables: list[dict]) -> dict:
    """One table per label from per-block tables (sums added, boxes and extremes joined)."""
    ids = np.concatenate([t["ids"] for t in tables])
    order = np.argsort(ids, kind="stable")
    unique, starts = np.unique(ids[order], return_index=True)
    merged = {"ids": unique}
    for key, reduce in (
        ("n", np.add),
        ("s1", np.add),
        ("s2", np.add),
        ("isum", np.add),
        ("isq", np.add),
        ("blocks", np.add),
        ("lo", np.minimum),
        ("hi", np.maximum),
        ("imin", np.minimum),
        ("imax", np.maximum),
        ("boundary", np.add),
        ("hull", np.add),
    ):
        if key in tables[0]:
            values = np.concatenate([t[key] for t in tables])[order]
            merged[key] = reduce.reduceat(values, starts, axis=0) if len(unique) else values
    return merged


# -- dask ---------------------------------------------------------------------------------


def _dask_sums(labels, image, spacing, shape: bool) -> dict:
    """:func:`_block_sums` on every dask block, merged; shape facts of objects that span
    several blocks from their whole bounding box."""
    import dask
    import dask.array as da

    from ..tiling.blocks import is_dask
    from ..tiling.run import compute

    if not is_dask(labels):
        labels = da.from_array(np.asarray(to_host(labels)), chunks=image.chunksize[:-1])
    grid = labels.numblocks
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in labels.chunks]
    pieces = labels.to_delayed()
    if image is not None:
        image = image if is_dask(image) else da.from_array(to_host(image))
        image = image.rechunk(labels.chunks + ((image.shape[-1],),))
        image_pieces = image.to_delayed().reshape(grid)
    tasks = [
        dask.delayed(_block_sums)(
            dask.delayed(_host_labels)(pieces[i]),
            None if image is None else image_pieces[i],
            tuple(int(s[j]) for s, j in zip(starts, i)),
            spacing,
            shape,
        )
        for i in np.ndindex(*grid)
    ]
    table = _merge(compute(tasks))
    if shape:
        whole = np.flatnonzero(table["blocks"] > 1)
        crops = [
            labels[tuple(slice(a, b) for a, b in zip(table["lo"][j], table["hi"][j]))]
            for j in whole
        ]
        for j, crop in zip(whole, dask.compute(*crops)):
            table["boundary"][j], table["hull"][j] = _shape_facts(
                np.asarray(crop) == table["ids"][j], spacing
            )
    return table


# -- columns ------------------------------------------------------------------------------


def _columns(t: dict, wanted: set, spacing, origin, has_image: bool) -> dict:
    """The table's columns from the merged sums (see :func:`measure`)."""
    ndim = len(spacing)
    n = t["n"]
    size = n * float(np.prod(spacing))
    columns = {"label": t["ids"].astype(np.int64)}
    if "area" in wanted or "volume" in wanted:
        columns["area" if ndim == 2 else "volume"] = size
    mean = t["s1"] / n[:, None]
    if "centroid" in wanted:
        for a in range(ndim):
            columns[f"centroid-{a}"] = origin[a] + mean[:, a] * spacing[a]
    if "bbox" in wanted:
        for a, values in enumerate([*t["lo"].T, *t["hi"].T]):
            columns[f"bbox-{a}"] = values.astype(np.int64)
    if "equivalent_diameter" in wanted:
        columns["equivalent_diameter"] = (2 * ndim * size / np.pi) ** (1 / ndim)
    if "axis_major_length" in wanted or "axis_minor_length" in wanted:
        major, minor = _axis_lengths(
            t["s2"] / n[:, None, None] - mean[:, :, None] * mean[:, None, :], spacing
        )
        for name, values in (("axis_major_length", major), ("axis_minor_length", minor)):
            if name in wanted:
                columns[name] = values
    _shape_columns(columns, t, wanted, size, ndim, spacing)
    if has_image:
        _intensity_columns(columns, t, wanted)
    return columns


def _axis_lengths(covariance: np.ndarray, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Major and minor axis lengths from each object's coordinate covariance (voxels²), as
    scikit-image derives them from the inertia tensor."""
    ndim = len(spacing)
    covariance = covariance * np.outer(spacing, spacing)
    inertia = np.trace(covariance, axis1=1, axis2=2)[:, None, None] * np.eye(ndim) - covariance
    ev = np.clip(np.linalg.eigvalsh(inertia)[:, ::-1], 0, None)  # largest first
    if ndim == 2:
        return 4 * np.sqrt(ev[:, 0]), 4 * np.sqrt(ev[:, 1])
    return (
        np.sqrt(np.clip(10 * (ev[:, 0] + ev[:, 1] - ev[:, 2]), 0, None)),
        np.sqrt(np.clip(10 * (-ev[:, 0] + ev[:, 1] + ev[:, 2]), 0, None)),
    )


def _shape_columns(columns: dict, t: dict, wanted: set, size, ndim: int, spacing) -> None:
    boundary_name, round_name = (
        ("perimeter", "circularity") if ndim == 2 else ("surface_area", "sphericity")
    )
    if boundary_name in wanted:
        columns[boundary_name] = t["boundary"]
    if round_name in wanted:
        with np.errstate(divide="ignore", invalid="ignore"):
            value = (
                4 * np.pi * size / t["boundary"] ** 2
                if ndim == 2
                else np.pi ** (1 / 3) * (6 * size) ** (2 / 3) / t["boundary"]
            )
        columns[round_name] = np.where(t["boundary"] > 0, value, np.nan)
    if "solidity" in wanted:
        columns["solidity"] = t["n"] / t["hull"]


def _intensity_columns(columns: dict, t: dict, wanted: set) -> None:
    n = t["n"][:, None]
    mean = t["isum"] / n
    std = np.sqrt(np.clip(t["isq"] / n - mean * mean, 0, None))
    single = t["isum"].shape[1] == 1
    for name, values in (
        ("intensity_mean", mean),
        ("intensity_min", t["imin"]),
        ("intensity_max", t["imax"]),
        ("intensity_std", std),
        ("intensity_sum", t["isum"]),
    ):
        if name in wanted:
            for c in range(values.shape[1]):
                columns[name if single else f"{name}-{c}"] = values[:, c]

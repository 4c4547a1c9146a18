"""Write labels chunk by chunk to OME-Zarr (standalone, or as the label image of an
OME-Zarr image) or tiled OME-TIFF, with a pyramid for 2D images, so that results larger than
memory are written without being held, and napari, Fiji and QuPath open them lazily."""

from __future__ import annotations

import json
import time
from contextlib import suppress
from pathlib import Path
from typing import NamedTuple

import dask.array as da
import numpy as np
import tifffile
import zarr

from ..progress import reporting, share
from ..tiling.blocks import is_dask, per_block
from ._atomic import atomic_path, remove_own_temporaries, scratch_folder
from .tiff import LABELS_SOFTWARE
from .volume import Volume
from .zarr import NGFF_UNITS, ngff_image, transform_of

#: chunk edge (voxels) for new stores: 1024² tiles in 2D, 128³ in 3D
CHUNK_2D, CHUNK_3D = 1024, 128
#: a 2D result larger than this (either side, pixels) gets a pyramid down to this size
PYRAMID_FROM = 2048
_TILE = 512  # TIFF tile edge
#: NGFF versions written, with their Zarr format: 0.4 on Zarr v2, 0.5 on Zarr v3
NGFF_ZARR = {"0.4": 2, "0.5": 3}
#: NGFF version of a standalone store: 0.4, which every OME-Zarr reader opens today (0.5
#: needs Zarr v3, which readers built on zarr-python 2 cannot open); a label image written
#: into an OME-Zarr image takes the image's version
DEFAULT_NGFF = "0.4"


def write_labels(
    path,
    labels,
    *,
    like: Volume | None = None,
    overwrite: bool = False,
    pyramid: bool | None = None,
    ngff: str | None = None,
    progress=None,
) -> dict:
    """Write labels block by block to OME-Zarr or a tiled OME-TIFF, with a pyramid.

    The work runs block by block on the current scheduler (see
    :func:`napari_segkit.tiling.scheduler`), so a result larger than memory is never held
    whole; nothing is left at ``path`` if it fails or is cancelled.

    A label image of an OME-Zarr image follows that image, as NGFF asks: its NGFF version,
    its space axes, one level per image level with that level's shape and coordinate
    transformations (each pixel takes the id of the nearest full-resolution pixel), and
    ``"source": {"image": "../../"}``; NAME is added to the ``labels`` list of
    ``IMAGE.zarr/labels``. The image's own arrays are never touched.

    Parameters
    ----------
    path : str or Path
        ".zarr" (an OME-Zarr folder), ``IMAGE.zarr/labels/NAME`` (a label image of the
        OME-Zarr image IMAGE.zarr, see :func:`labels_path`) or ".tif"/".tiff" (tiled,
        zlib-compressed OME-TIFF).
    labels : (M, N) or (P, M, N) integer or bool array
        NumPy, zarr or dask; bool is written as uint8.
    like : Volume, optional
        The image the labels belong to: its voxel size and origin are written with them.
        Not used for a label image of an OME-Zarr image (that image's geometry is).
    overwrite : bool, default False
        Replace an existing ``path``; without it an existing path is an error.
    pyramid : bool, optional
        Add levels halved each time (every other pixel, so ids stay ids) down to
        :data:`PYRAMID_FROM` pixels. Default: for 2D labels larger than that.
    ngff : {"0.4", "0.5"}, optional
        NGFF version of a new store: "0.4" on Zarr v2 (the default, which every OME-Zarr
        reader opens) or "0.5" on Zarr v3.
    progress : callable, optional
        Called with the fraction done (0 to 1); raising from it cancels the write.

    Returns
    -------
    info : dict
        ``{"max": largest id written, "levels": number of levels}``.

    Raises
    ------
    ValueError
        If ``labels`` is not integer or bool, not 2D or 3D, or ``path`` is not a ".zarr",
        a label image path or a TIFF.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.

    See Also
    --------
    napari_segkit.io.write : Any format, in memory; picks this writer for ".zarr".

    References
    ----------
    .. [1] J. Moore et al., "OME-NGFF: a next-generation file format for expanding
           bioimaging data-access strategies", Nature Methods 18:1496-1498, 2021.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_segkit.io import read, write_labels
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> labels = np.zeros((64, 64), np.uint16); labels[8:24, 8:24] = 1; labels[40:56, 30:60] = 2
    >>> write_labels(folder / "labels.zarr", labels)
    {'max': 2, 'levels': 1}
    >>> np.array_equal(np.asarray(read(folder / "labels.zarr").data), labels)
    True
    """
    path = Path(path)
    labels = labels if is_dask(labels) else da.from_array(np.asarray(labels))
    if labels.dtype.kind not in "biu":
        raise ValueError(f"labels must be an integer or boolean array, not {labels.dtype}")
    if labels.ndim not in (2, 3):
        raise ValueError(f"can only write 2D or 3D labels, got shape {labels.shape}")
    if labels.dtype == bool:
        labels = labels.astype(np.uint8)
    tiff = path.suffix.lower() in (".tif", ".tiff")
    layout = None if tiff else _source_layout(path, labels.shape, ngff)
    if layout is None:
        if not tiff and not path.name.lower().endswith(".zarr"):
            raise ValueError(
                f"cannot write {path.name} block by block: use .zarr or .tif, "
                "or IMAGE.zarr/labels/NAME for labels of an OME-Zarr image"
            )
        if pyramid is None:
            pyramid = labels.ndim == 2 and max(labels.shape) > PYRAMID_FROM
        layout = _own_layout(labels.shape, like, pyramid, ngff or DEFAULT_NGFF)
    made = layout.image is not None and not path.parent.exists()
    if made:
        path.parent.mkdir()
    try:
        with reporting(progress):
            top = _write(path, labels, layout, like, overwrite, tiff)
    except BaseException:
        time.sleep(0.5)  # blocks already running on threads finish (they find no store)
        remove_own_temporaries(path)  # in case one wrote after the first clean-up
        if made:
            with suppress(OSError):  # only while empty: another writer may have used it
                path.parent.rmdir()
        raise
    return {"max": top, "levels": len(layout.levels)}


def labels_path(image, name: str) -> Path:
    """Where :func:`write_labels` puts label image ``name`` of the OME-Zarr image ``image``:
    ``image/labels/name``, as NGFF lays it out."""
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise ValueError(f"a label image name is one plain folder name, not {name!r}")
    return Path(image) / "labels" / name


class _Level(NamedTuple):
    """One resolution level of a label image: its shape and, per axis, NGFF scale and
    translation (the pixel centre of index i is at translation + i * scale)."""

    shape: tuple[int, ...]
    scale: tuple[float, ...]
    translation: tuple[float, ...]


class _Layout(NamedTuple):
    """What a label image looks like on disk before its pixels are written."""

    version: str  # NGFF version
    axes: list[dict]
    levels: list[_Level]
    transforms: list[dict] | None = None  # multiscale-wide coordinateTransformations
    image: str | None = None  # relative path to the image the labels belong to


def _own_layout(shape, like: Volume | None, pyramid: bool, version: str) -> _Layout:
    """A standalone label image: ``like``'s voxel size, units and origin; levels that keep
    every other pixel in y and x, so pixel i of level k is pixel i * 2^k of level 0 and
    every level has level 0's origin as its translation."""
    if version not in NGFF_ZARR:
        raise ValueError(f"NGFF version must be one of {', '.join(NGFF_ZARR)}, not {version!r}")
    ndim = len(shape)
    spacing = tuple(like.spacing[-ndim:]) if like is not None else (1.0,) * ndim
    units = list(like.units[-ndim:]) if like is not None else ["pixel"] * ndim
    origin = tuple(like.origin[-ndim:]) if like is not None else (0.0,) * ndim
    axes = []
    for letter, unit in zip("zyx"[-ndim:], units):
        axis = {"name": letter, "type": "space"}
        if unit in NGFF_UNITS:
            axis["unit"] = NGFF_UNITS[unit]
        axes.append(axis)
    levels = [_Level(tuple(shape), spacing, origin)]
    while pyramid and max(levels[-1].shape[-2:]) > PYRAMID_FROM:
        last = levels[-1]
        factor = (1,) * (ndim - 2) + (2, 2)
        levels.append(
            _Level(
                tuple(-(-n // f) for n, f in zip(last.shape, factor)),
                tuple(s * f for s, f in zip(last.scale, factor)),
                origin,
            )
        )
    return _Layout(version, axes, levels)


def _source_layout(path: Path, shape, version: str | None) -> _Layout | None:
    """The layout of labels at ``path`` = ``IMAGE/labels/NAME`` for the OME-Zarr image IMAGE:
    its space axes and one level per image level, same shapes and transformations. None
    when ``path`` is not inside an image's labels group."""
    image = path.parent.parent
    found = ngff_image(image) if path.parent.name == "labels" else None
    if found is None:
        return None
    source_version, multiscale = found
    labels_path(image, path.name)  # checks the name
    if source_version not in NGFF_ZARR:
        raise ValueError(
            f"{image.name} is OME-Zarr {source_version or '(no version)'}; "
            f"labels are written into OME-Zarr {' and '.join(NGFF_ZARR)} images"
        )
    if version not in (None, source_version):
        raise ValueError(
            f"labels of {image.name} must be NGFF {source_version} like the image, not {version}"
        )
    _labels_group(path.parent, source_version)  # refuses a "labels" that is not a group
    axes = multiscale["axes"]
    space = [i for i, a in enumerate(axes) if a.get("type") == "space"]
    group = zarr.open_group(str(image), mode="r")
    levels = []
    for dataset in multiscale["datasets"]:
        full = group[dataset["path"]].shape
        scale, shift = transform_of(dataset.get("coordinateTransformations"), len(axes))
        levels.append(
            _Level(
                tuple(full[i] for i in space),
                tuple(scale[i] for i in space),
                tuple(shift[i] for i in space),
            )
        )
    if tuple(shape) != levels[0].shape:
        raise ValueError(
            f"labels of shape {tuple(shape)} do not fit {image.name}: its space "
            f"axes ({''.join(axes[i]['name'] for i in space)}) are "
            f"{levels[0].shape} at full resolution"
        )
    transforms = None
    if multiscale.get("coordinateTransformations"):
        scale, shift = transform_of(multiscale["coordinateTransformations"], len(axes))
        transforms = _transforms([scale[i] for i in space], [shift[i] for i in space])
    return _Layout(source_version, [axes[i] for i in space], levels, transforms, "../../")


def _write(path: Path, labels, layout: _Layout, like, overwrite: bool, tiff: bool) -> int:
    """Write the store (and the TIFF) beside ``path`` and swap it in; the largest id."""
    if tiff:
        with (
            atomic_path(path, overwrite=overwrite, what="a TIFF file") as target,
            scratch_folder(path) as work,
        ):
            with share(0.0, 0.9):
                top = _write_zarr(work / "store.zarr", labels, layout, path.stem)
            with share(0.9, 1.0):
                _zarr_to_tiff(work / "store.zarr", target, like, top, len(layout.levels))
        return top
    with atomic_path(
        path,
        overwrite=overwrite,
        folder=True,
        replaceable=is_label_store,
        what="an OME-Zarr label store written by napari-segkit",
    ) as store:
        top = _write_zarr(store, labels, layout, path.name.split(".")[0] or path.name)
    if layout.image is not None:
        _list_label(path.parent, path.name, layout.version)
    return top


def is_label_store(path: Path) -> bool:
    """Whether ``path`` is an OME-Zarr label store that :func:`write_labels` wrote."""
    for name, keys in ((".zattrs", ()), ("zarr.json", ("attributes", "ome"))):
        try:
            attrs = json.loads((Path(path) / name).read_text())
            for key in keys:
                attrs = attrs[key]
            return attrs["image-label"]["source"]["software"] == LABELS_SOFTWARE
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return False


def _labels_group(group: Path, version: str) -> tuple[Path, dict, list]:
    """(metadata file, its content, the ``labels`` list in it) of the labels group
    ``group`` of an NGFF ``version`` image, new ones where it has none yet; refuses a
    ``labels`` node that is not a group."""
    if NGFF_ZARR[version] == 2:
        if (group / ".zarray").exists():
            raise ValueError(f"{group} is a Zarr array, not a labels group")
        file = group / ".zattrs"
        content = _read_json(file, {})
        return file, content, content.setdefault("labels", [])
    file = group / "zarr.json"
    content = _read_json(file, {"zarr_format": 3, "node_type": "group", "attributes": {}})
    if content.get("node_type") != "group":
        raise ValueError(f"{group} is a Zarr array, not a labels group")
    ome = content.setdefault("attributes", {}).setdefault("ome", {})
    ome.setdefault("version", version)
    return file, content, ome.setdefault("labels", [])


def _list_label(group: Path, name: str, version: str) -> None:
    """Add ``name`` to the ``labels`` list of the labels group ``group`` (made a group if
    it is a bare folder); each metadata file is replaced in one step."""
    file, content, names = _labels_group(group, version)
    if NGFF_ZARR[version] == 2 and not (group / ".zgroup").exists():
        _write_json(group / ".zgroup", {"zarr_format": 2})
    if name not in names:
        names.append(name)
    _write_json(file, content)


def _read_json(file: Path, default: dict) -> dict:
    try:
        return json.loads(file.read_text())
    except FileNotFoundError:
        return default


def _write_json(file: Path, content: dict) -> None:
    with atomic_path(file, overwrite=True, what="a metadata file") as tmp:
        tmp.write_text(json.dumps(content, indent=2))


def _chunks(labels) -> tuple[int, ...]:
    """Regular chunks for the store: the array's own when they are regular, else tiles."""
    if all(len(set(c[:-1])) <= 1 and c[-1] <= c[0] for c in labels.chunks):
        return tuple(c[0] for c in labels.chunks)
    edge = CHUNK_2D if labels.ndim == 2 else CHUNK_3D
    return tuple(min(edge, n) for n in labels.shape)


def _write_zarr(path: Path, labels, layout: _Layout, name: str) -> int:
    """Write every level of ``layout`` into a new Zarr group at ``path``; the largest id.
    Each level after the first is read from the coarsest level written before it that holds
    all the full-resolution pixels it needs (the previous one, for every-other-pixel
    levels)."""
    chunks = _chunks(labels)
    root = zarr.open_group(str(path), mode="w", zarr_format=NGFF_ZARR[layout.version])
    spans = np.linspace(0.85 if len(layout.levels) > 1 else 1.0, 1.0, len(layout.levels))
    base = layout.levels[0]
    held = [[np.arange(n) for n in base.shape]]  # level-0 pixels that each level holds
    top = 0
    for k, level in enumerate(layout.levels):
        if k:
            wanted = _nearest(level, base)
            m = max(
                i
                for i, have in enumerate(held)
                if all(np.isin(w, h).all() for w, h in zip(wanted, have))
            )
            labels = _take(
                da.from_zarr(str(path / str(m))),
                [np.searchsorted(h, w) for h, w in zip(held[m], wanted)],
            )
            held.append(wanted)
        labels = labels.rechunk(tuple(min(c, n) for c, n in zip(chunks, labels.shape)))
        _create_level(root, str(k), labels, layout)
        with share(*((0.0, spans[0]) if k == 0 else spans[k - 1 : k + 1])):
            tops = per_block(_store_block, labels, target=str(path / str(k)))
        if k == 0:
            top = int(max(tops.ravel(), default=0))
    root.attrs.update(_attributes(layout, name))
    return top


def _create_level(root, name: str, labels, layout: _Layout) -> None:
    """An empty array for one level: "/"-separated chunk keys on Zarr v2 (NGFF 0.4), axis
    names as dimension names on Zarr v3 (NGFF 0.5)."""
    options = (
        {"chunk_key_encoding": {"name": "v2", "separator": "/"}}
        if NGFF_ZARR[layout.version] == 2
        else {"dimension_names": [a["name"] for a in layout.axes]}
    )
    root.create_array(
        name,
        shape=labels.shape,
        chunks=labels.chunksize,
        dtype=labels.dtype,
        fill_value=0,
        **options,
    )


def _nearest(level: _Level, base: _Level) -> list[np.ndarray]:
    """Per axis, the index in ``base`` of the pixel whose centre is nearest to each pixel
    centre of ``level`` (both placed in the world by their scale and translation)."""
    return [
        np.clip(np.floor((t - t0 + np.arange(n) * s) / s0 + 0.5), 0, n0 - 1).astype(np.intp)
        for n, s, t, n0, s0, t0 in zip(
            level.shape, level.scale, level.translation, base.shape, base.scale, base.translation
        )
    ]


def _take(array, indices: list[np.ndarray]):
    """``array`` at ``indices`` (one index vector per axis): a strided slice where the
    steps are even, else fancy indexing."""
    for axis, index in enumerate(indices):
        steps = np.unique(np.diff(index))
        key = index
        if len(index) == 1 or (len(steps) == 1 and steps[0] > 0):
            step = int(steps[0]) if len(index) > 1 else 1
            key = slice(int(index[0]), int(index[-1]) + 1, step)
        array = array[(slice(None),) * axis + (key,)]
    return array


def _store_block(block, *, block_index, target):
    """Write one block where it belongs in the zarr array at ``target``; its largest id.
    Nothing is written once the store is gone (a cancelled or failed write cleaned it up)."""
    block = np.asarray(block)
    if not Path(target).is_dir():
        return 0
    array = zarr.open_array(target, mode="r+")
    starts = [i * c for i, c in zip(block_index, array.chunks)]
    array[tuple(slice(s, s + n) for s, n in zip(starts, block.shape))] = block
    return int(block.max(initial=0))


def _transforms(scale, translation) -> list[dict]:
    return [
        {"type": "scale", "scale": [float(s) for s in scale]},
        {"type": "translation", "translation": [float(t) for t in translation]},
    ]


def _attributes(layout: _Layout, name: str) -> dict:
    """The group attributes of a label image in NGFF ``layout.version``: multiscales (axes
    with units, scale and translation per level) and ``image-label``."""
    datasets = [
        {"path": str(k), "coordinateTransformations": _transforms(level.scale, level.translation)}
        for k, level in enumerate(layout.levels)
    ]
    multiscale = {"name": name, "axes": layout.axes, "datasets": datasets, "type": "nearest"}
    if layout.transforms:
        multiscale["coordinateTransformations"] = layout.transforms
    source = ({"image": layout.image} if layout.image else {}) | {"software": LABELS_SOFTWARE}
    if layout.version == "0.4":
        return {
            "multiscales": [{"version": "0.4", **multiscale}],
            "image-label": {"version": "0.4", "source": source},
        }
    return {
        "ome": {
            "version": layout.version,
            "multiscales": [multiscale],
            "image-label": {"source": source},
        }
    }


def _zarr_to_tiff(store: Path, target: Path, like, top: int, levels: int) -> None:
    """A tiled OME-TIFF (pyramid levels as SubIFDs) read tile by tile from the zarr store."""
    dtype = np.uint8 if top <= 0xFF else np.uint16 if top <= 0xFFFF else np.uint32
    arrays = [zarr.open_array(str(store / str(level)), mode="r") for level in range(levels)]
    ndim = arrays[0].ndim
    axes = "ZYX"[-ndim:]
    spacing = dict(zip(axes, like.spacing[-ndim:])) if like is not None else {}
    unit = next((u for u in (like.units if like else ()) if u != "pixel"), None)
    metadata = {"axes": axes}
    for a in axes:
        metadata[f"PhysicalSize{a}"] = spacing.get(a, 1.0)
        if unit:
            metadata[f"PhysicalSize{a}Unit"] = "µm" if unit in ("um", "µm", "micron") else unit
    tile = (_TILE, _TILE)
    with tifffile.TiffWriter(target, bigtiff=arrays[0].nbytes > 2**31, ome=True) as tif:
        for level, array in enumerate(arrays):
            options = (
                {"subifds": levels - 1, "metadata": metadata, "software": LABELS_SOFTWARE}
                if level == 0
                else {"subfiletype": 1}
            )
            tif.write(
                _tiles(array, dtype),
                shape=array.shape,
                dtype=dtype,
                tile=tile,
                compression="zlib",
                **options,
            )


def _tiles(array, dtype):
    """The tiles of a 2D or 3D array in TIFF order (plane by plane, rows of tiles), read
    one row of tiles at a time."""
    planes = array.shape[:-2]
    height, width = array.shape[-2:]
    for plane in np.ndindex(*planes):
        for y in range(0, height, _TILE):
            band = np.asarray(array[plane + (slice(y, y + _TILE),)]).astype(dtype, copy=False)
            for x in range(0, width, _TILE):
                piece = band[:, x : x + _TILE]
                if piece.shape != (_TILE, _TILE):
                    piece = np.pad(
                        piece, ((0, _TILE - piece.shape[0]), (0, _TILE - piece.shape[1]))
                    )
                yield piece

"""OME-Zarr (NGFF 0.4 on zarr v2, 0.5 on zarr v3) and plain Zarr arrays in, read lazily:
every pyramid level as a dask array, voxel size and units from the multiscales metadata."""

from __future__ import annotations

from pathlib import Path

from .volume import ReadError, Volume, reader_errors

#: segkit's short unit names <-> NGFF (UDUNITS-2) names
NGFF_UNITS = {
    "µm": "micrometer",
    "um": "micrometer",
    "nm": "nanometer",
    "mm": "millimeter",
    "cm": "centimeter",
    "m": "meter",
    "s": "second",
    "ms": "millisecond",
}
_SHORT = {v: k for k, v in NGFF_UNITS.items() if k != "um"}


def is_zarr_path(path) -> bool:
    """True for names that mean Zarr: "x.zarr", "x.ome.zarr", and a name without an
    extension inside such a folder (a group or array in it: "image.zarr/labels/nuclei")."""
    path = Path(path)
    return path.name.lower().endswith(".zarr") or (
        not path.suffix and any(p.lower().endswith(".zarr") for p in path.parts[:-1])
    )


def ngff_image(path) -> tuple[str, dict] | None:
    """(NGFF version, first multiscales entry) of the OME-Zarr image group at ``path``; None
    when ``path`` is not one (no folder, not Zarr, an array, a group without multiscales, a
    label image)."""
    import zarr

    try:
        group = zarr.open_group(str(path), mode="r")
        attrs = dict(group.attrs)
    except Exception:  # noqa: BLE001 (zarr raises several kinds for what is not a group)
        return None
    attrs = attrs.get("ome", attrs)  # NGFF 0.5 keeps its metadata under "ome"
    if not attrs.get("multiscales") or "image-label" in attrs:
        return None
    multiscale = attrs["multiscales"][0]
    return str(attrs.get("version") or multiscale.get("version") or ""), multiscale


def transform_of(transforms, ndim: int) -> tuple[list[float], list[float]]:
    """(scale, translation) of NGFF ``coordinateTransformations`` (identity if None)."""
    transforms = transforms or []
    scale = next((t["scale"] for t in transforms if t["type"] == "scale"), [1.0] * ndim)
    shift = next((t["translation"] for t in transforms if t["type"] == "translation"), [0.0] * ndim)
    return list(scale), list(shift)


@reader_errors
def read_zarr(path) -> Volume:
    """Read an OME-Zarr image or label image (its first multiscales, all levels) or a plain
    Zarr array, lazily."""
    import dask.array as da
    import zarr

    path = Path(path)
    try:
        node = zarr.open(str(path), mode="r")
    except Exception as err:  # zarr raises several kinds for a folder that is not zarr
        raise ReadError(f"cannot read {path.name}: not a Zarr store ({err})") from None
    if isinstance(node, zarr.Array):
        data = da.from_zarr(node)
        return Volume.plain(
            data,
            "ZYX"[-data.ndim :] if data.ndim <= 3 else "TZYX"[-data.ndim :],
            path=str(path),
            reader="segkit zarr",
            name=_name(path),
            lazy=True,
        )
    attrs = dict(node.attrs)
    attrs = attrs.get("ome", attrs)  # NGFF 0.5 keeps its metadata under "ome"
    if "multiscales" not in attrs:
        raise ReadError(
            f"cannot read {path.name}: a Zarr group without OME multiscales "
            "metadata (open one of its arrays instead)"
        )
    multiscale = attrs["multiscales"][0]
    levels = [da.from_zarr(node[d["path"]]) for d in multiscale["datasets"]]
    axes = multiscale.get("axes") or [{"name": n} for n in "tczyx"[-levels[0].ndim :]]
    names = "".join(str(a["name"] if isinstance(a, dict) else a).upper() for a in axes)
    scale, shift = transform_of(
        multiscale["datasets"][0].get("coordinateTransformations"), len(axes)
    )
    outer, move = transform_of(multiscale.get("coordinateTransformations"), len(axes))
    scale, shift = (
        [o * s for o, s in zip(outer, scale)],
        [o * t + m for o, t, m in zip(outer, shift, move)],
    )  # the multiscale's own goes last
    units = tuple(
        _SHORT.get(a.get("unit", ""), a.get("unit") or "pixel") if isinstance(a, dict) else "pixel"
        for a in axes
    )
    metadata = {
        "path": str(path),
        "reader": "segkit ome-zarr",
        "name": _name(path),
        "labels": "image-label" in attrs,
        "lazy": True,
    }
    return Volume(
        levels[0], names, tuple(scale), tuple(shift), units, metadata, pyramid=tuple(levels[1:])
    )


def _name(path: Path) -> str:
    return path.name.split(".")[0]

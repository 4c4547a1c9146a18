"""NIfTI in (3D/4D, reoriented by flips only) and label NIfTI out that overlays on its source."""

from __future__ import annotations

import math
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ._atomic import atomic_path
from .orientation import (
    describe,
    ras_from_world,
    to_canonical,
    undo_canonical,
    with_leading_axis,
    world_from_ras,
)
from .volume import ReadError, Volume, check_size, reader_errors

if TYPE_CHECKING:
    import nibabel as nib

_SPACE_UNITS = {"mm": "mm", "micron": "µm", "meter": "m", "unknown": "mm"}  # unknown: NIfTI's mm
_TIME_UNITS = {"sec": "s", "msec": "ms", "usec": "us"}
_NIFTI_UNIT = {"mm": "mm", "µm": "micron", "um": "micron", "m": "meter"}


def nifti_suffix(path) -> str:
    """ ".nii.gz" or ".nii" (lower case) if ``path`` names a NIfTI file, else ""."""
    name = Path(path).name.lower()
    return next((s for s in (".nii.gz", ".nii") if name.endswith(s)), "")


@reader_errors
def read_nifti(path) -> Volume:
    """Read a 3D or 4D NIfTI; axes become (T,) Z, Y, X running to superior, posterior, left.

    Only flips and axis swaps are applied (never resampling); what was done is in
    ``metadata["reoriented"]`` and the header facts needed to write labels back are in
    ``metadata["nifti"]``.

    The header's data size is checked first (see :func:`_check_data_size`): a truncated
    file, or a gzip file whose header claims more than gzip can hold or than memory can
    take, is refused before anything is allocated.
    """
    import nibabel as nib

    path = Path(path)
    try:
        image = nib.load(path)
        _check_data_size(path, image)
        data = np.asanyarray(image.dataobj)  # applies scl_slope/inter; memory-maps plain .nii
    except (nib.filebasedimages.ImageFileError, OSError, EOFError, ValueError, zlib.error) as err:
        if isinstance(err, (ReadError, FileNotFoundError, PermissionError)):
            raise
        raise ReadError(f"cannot read {path.name}: not a readable NIfTI file ({err})") from None
    header = image.header
    _check_voxel_size(path, image)
    if data.dtype.fields is not None:
        raise ReadError(
            f"cannot read {path.name}: RGB/vector NIfTI data ({data.dtype}) "
            "is not supported; save the channels as separate volumes"
        )
    if not data.dtype.isnative:  # big-endian files: GPU code and some libraries need native
        data = data.astype(data.dtype.newbyteorder("="))
    if data.ndim == 2:
        data = data[..., np.newaxis]
    if data.ndim > 4:
        data = _squeeze_trailing(data, path)
    ras = image.affine
    if data.ndim == 4:
        data = np.moveaxis(data, 3, 0)
    data = data.transpose(
        list(range(data.ndim - 3)) + [data.ndim - 1, data.ndim - 2, data.ndim - 3]
    )
    data, affine, transform = to_canonical(data, world_from_ras(ras))
    spacing = list(np.linalg.norm(affine[:3, :3], axis=0))
    space_unit, time_unit = header.get_xyzt_units()
    units = [_SPACE_UNITS.get(space_unit, "mm")] * 3
    if data.ndim == 4:
        step = float(header.get_zooms()[3]) if len(header.get_zooms()) > 3 else 0.0
        has_time = step > 0 and time_unit in _TIME_UNITS
        spacing.insert(0, step if has_time else 1.0)
        units.insert(0, _TIME_UNITS[time_unit] if has_time else "pixel")
        affine = with_leading_axis(affine, spacing[0])
    qform, qcode = header.get_qform(coded=True)
    sform, scode = header.get_sform(coded=True)
    metadata = {
        "path": str(path),
        "reader": "segkit nifti (nibabel)",
        "labels": header.get_intent()[0] == "label",
        "name": path.name[: -len(nifti_suffix(path))] if nifti_suffix(path) else path.stem,
        "source_space": "RAS",
        "reoriented": describe(transform, ("k", "j", "i")),
        "oblique_degrees": _obliquity(affine[-4:, -4:]),
        "nifti": {
            "affine": ras.tolist(),
            "qform": None if qform is None else qform.tolist(),
            "qform_code": int(qcode),
            "sform": None if sform is None else sform.tolist(),
            "sform_code": int(scode),
            "shape": [int(s) for s in image.shape],
            "transform": transform.tolist(),
            "xyzt_units": [space_unit, time_unit],
            "zooms": [float(z) for z in header.get_zooms()],
        },
    }
    return Volume(
        data,
        "TZYX"[-data.ndim :],
        tuple(spacing),
        tuple(affine[:-1, -1]),
        tuple(units),
        metadata,
        affine=affine,
        space="LPS",
    )


def write_nifti(path, labels, *, like: Volume | None = None, overwrite=False) -> None:
    """Write labels as NIfTI (uint8, uint16 or int32, no scaling).

    For labels of an image read from NIfTI, the source's affine and qform/sform codes are
    reused and the flips made on reading are undone, so the file overlays exactly on the
    source in ITK-SNAP or 3D Slicer. Otherwise the affine comes from ``like`` (patient
    coordinates for DICOM, the voxel size for microscopy).
    """
    path = Path(path)
    labels = np.asarray(labels)
    if labels.dtype.kind not in "biu":
        raise ValueError(f"labels must be an integer or boolean array, not {labels.dtype}")
    if labels.size and labels.min() < 0:
        raise ValueError("labels must not be negative")
    if not 2 <= labels.ndim <= 4:
        raise ValueError(f"NIfTI labels must be 2D, 3D or 4D, got shape {labels.shape}")
    top = int(labels.max()) if labels.size else 0
    if top > np.iinfo(np.int32).max:
        raise ValueError(f"labels go to {top}, more than NIfTI's int32 labels can hold")
    dtype = np.uint8 if top <= 255 else np.uint16 if top <= 65535 else np.int32
    source = like.metadata.get("nifti") if like is not None else None
    if source is not None and labels.ndim >= 3:
        image = _image_like_source(labels.astype(dtype, copy=False), source)
    else:
        image = _image_from_geometry(labels.astype(dtype, copy=False), like)
    image.header.set_data_dtype(dtype)
    image.header.set_slope_inter(1.0, 0.0)
    image.header.set_intent("label")  # NIFTI_INTENT_LABEL: values are indices, not intensities
    import nibabel as nib

    with atomic_path(path, overwrite=overwrite, suffix=nifti_suffix(path) or ".nii") as tmp:
        nib.save(image, tmp)


def _image_like_source(labels: np.ndarray, source: dict) -> nib.Nifti1Image:
    """Undo the reading's reorientation and reuse the source header's geometry."""
    import nibabel as nib

    data = undo_canonical(labels, np.asarray(source["transform"]))
    data = data.transpose(
        list(range(data.ndim - 3)) + [data.ndim - 1, data.ndim - 2, data.ndim - 3]
    )
    if data.ndim == 4:
        data = np.moveaxis(data, 0, 3)
    shape = tuple(source["shape"]) + (1,) * (3 - len(source["shape"]))
    if data.shape[:3] != shape[:3] or (data.ndim == 4 and data.shape != shape[:4]):
        raise ValueError(
            f"labels of shape {labels.shape} do not fit the image they are "
            f"meant for (NIfTI shape {tuple(source['shape'])})"
        )
    if len(source["shape"]) == 2:
        data = data[..., 0]
    image = nib.Nifti1Image(np.ascontiguousarray(data), np.asarray(source["affine"]))
    if source["qform"] is not None:
        image.set_qform(np.asarray(source["qform"]), code=source["qform_code"])
    else:
        image.set_qform(None, code=0)
    if source["sform"] is not None:
        image.set_sform(np.asarray(source["sform"]), code=source["sform_code"])
    else:
        image.set_sform(None, code=0)
    zooms = list(image.header.get_zooms())
    zooms[3:] = source["zooms"][3 : len(zooms)]
    image.header.set_zooms(zooms)
    image.header.set_xyzt_units(*source["xyzt_units"])
    return image


def _image_from_geometry(labels: np.ndarray, like: Volume | None) -> nib.Nifti1Image:
    """Labels of a DICOM or microscopy image: the affine from ``like``, axes reversed."""
    import nibabel as nib

    n = labels.ndim
    affine = np.eye(n + 1) if like is None else like.affine[-(n + 1) :, -(n + 1) :]
    if affine.shape != (n + 1, n + 1):
        raise ValueError(
            f"labels with {n} axes do not fit an image with {like.affine.shape[0] - 1} spatial axes"
        )
    if n == 2:  # a 2D image is one slice: z spacing 1
        affine = with_leading_axis(affine)
        labels = labels[np.newaxis]
    step = None
    if labels.ndim == 4:
        step = affine[0, 0]
        affine = affine[1:, 1:]
        labels = np.moveaxis(labels, 0, 3)
        labels = labels.transpose(2, 1, 0, 3)
    else:
        labels = labels.transpose(2, 1, 0)
    ras = ras_from_world(affine)
    image = nib.Nifti1Image(np.ascontiguousarray(labels), ras)
    code = 1 if like is not None and like.space == "LPS" else 2  # scanner, else aligned
    image.set_qform(ras, code=code)
    image.set_sform(ras, code=code)
    if step is not None:
        image.header.set_zooms(image.header.get_zooms()[:3] + (float(step),))
    unit = next((u for u in (like.units[-3:] if like else ()) if u != "pixel"), "mm")
    image.header.set_xyzt_units(_NIFTI_UNIT.get(unit, "unknown"))
    return image


def _check_voxel_size(path: Path, image) -> None:
    """Refuse a zero or invalid voxel size, which nibabel would quietly set to 1 on loading."""
    from nibabel.openers import ImageOpener

    with ImageOpener(path) as f:
        raw = type(image.header).from_fileobj(f, check=False)
    pixdim = raw["pixdim"][1:4]
    sizes = np.linalg.norm(image.affine[:3, :3], axis=0)
    uses_pixdim = raw["sform_code"] == 0  # the qform and the fallback affine scale by pixdim
    if (
        not np.all(np.isfinite(image.affine))
        or np.any(sizes < 1e-9)
        or (uses_pixdim and not np.all(np.isfinite(pixdim) & (np.abs(pixdim) > 0)))
    ):
        raise ReadError(
            f"cannot read {path.name}: the header gives voxel size "
            f"{tuple(float(z) for z in pixdim)} (a zero or invalid voxel size), "
            "so its geometry is unknown; fix pixdim or the sform"
        )


def _check_data_size(path: Path, image) -> None:
    """Compare the header's data size with the file: a plain .nii must hold it all (it is
    memory-mapped); a .nii.gz may be smaller, but not beyond gzip's limit, and its data
    (like scaled or byte-swapped data) must fit in memory."""
    proxy = image.dataobj
    scaled = proxy.slope != 1 or proxy.inter != 0
    itemsize = 8 if scaled else proxy.dtype.itemsize  # scaling gives float32 or float64
    stored = path.stat().st_size
    gz = nifti_suffix(path) == ".nii.gz"
    if not gz:
        check_size(
            path,
            math.prod(proxy.shape) * proxy.dtype.itemsize,
            stored=stored - proxy.offset,
            in_memory=False,
        )
    else:
        check_size(
            path,
            math.prod(proxy.shape) * proxy.dtype.itemsize,
            stored=stored,
            compressed=True,
            in_memory=False,
        )
    if gz or scaled or not proxy.dtype.isnative:
        check_size(path, math.prod(proxy.shape) * itemsize)


def _squeeze_trailing(data: np.ndarray, path: Path) -> np.ndarray:
    """Drop trailing length-1 axes of a >4D array; refuse real 5D (vector) data."""
    while data.ndim > 4 and data.shape[-1] == 1:
        data = data[..., 0]
    if data.ndim > 4:
        raise ReadError(
            f"cannot read {path.name}: {data.ndim}D NIfTI (shape {data.shape}) "
            "is not supported; 3D and 4D are"
        )
    return data


def _obliquity(affine: np.ndarray) -> float:
    """Largest angle (degrees) between an index axis and the world axis it is shown along."""
    columns = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    return float(np.degrees(np.arccos(np.clip(np.min(np.abs(np.diag(columns))), -1, 1))))

"""DICOM in: single files, multi-frame files and folders of series, in patient geometry.

Slices are grouped by SeriesInstanceUID, sorted by their position along the slice normal
(ImagePositionPatient · normal, never InstanceNumber), and spaced by those positions.
Nothing is resampled: uneven spacing, missing slices and gantry tilt are reported, and the
true positions stay in the metadata.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .orientation import describe, to_canonical, with_leading_axis, world_from_lps
from .volume import (
    MAX_COMPRESSION_RATIO,
    ReadError,
    Volume,
    available_memory,
    check_size,
    reader_errors,
)

if TYPE_CHECKING:
    import pydicom

log = logging.getLogger(__name__)

_IMAGE_DATA = ("PixelData", "FloatPixelData", "DoubleFloatPixelData")
_DIRECTORY = "1.2.840.10008.1.3.10"  # Media Storage Directory Storage (DICOMDIR)
_ORIENTATION_TOLERANCE = 1e-3  # direction cosines that differ less are the same orientation
_POSITION_TOLERANCE = 1e-3  # mm: slices closer than this share a position
_EXTRA_HINT = "pip install 'napari-segkit[dicom]'"


class DicomWarning(UserWarning):
    """Geometry that is read but deserves the user's attention (gaps, tilt, no positions)."""


@dataclass
class _Frame:
    """One 2D image: a single-frame file or one frame of a multi-frame file."""

    dataset: pydicom.Dataset
    path: Path
    index: int | None  # frame number in a multi-frame file
    position: np.ndarray | None  # ImagePositionPatient (mm, LPS)
    orientation: np.ndarray | None  # ImageOrientationPatient (row, column cosines)
    pixel_spacing: tuple[float, float] | None  # (between rows, between columns) mm
    slope: float
    intercept: float
    order: tuple  # tie-break for frames at one position (time, instance, frame)


def is_dicom_file(path) -> bool:
    """True if ``path`` is a file with the DICOM preamble ("DICM" at byte 128)."""
    try:
        with open(path, "rb") as f:
            return f.read(132)[128:] == b"DICM"
    except OSError:
        return False


def folder_has_dicom(path, *, limit: int = 200) -> bool:
    """True if one of the first ``limit`` files under folder ``path`` is DICOM."""
    files = (p for p in Path(path).rglob("*") if p.is_file())
    return any(is_dicom_file(p) for _, p in zip(range(limit), files))


@reader_errors
def read_dicom(path) -> Volume | list[Volume]:
    """Read a DICOM file or a folder (searched recursively) of DICOM files.

    A folder with several series gives a list of volumes (one per series, ordered by
    SeriesNumber and named "<folder> — <modality> <SeriesDescription or series number>",
    a single file "<file> — …"); one series gives one volume. A series
    that cannot be stacked (mixed orientations or sizes) is left out with a warning, or
    refused with a :class:`ReadError` when nothing else is there.

    Damaged values are handled as a radiologist would want to see them: a PixelSpacing
    (or ImagerPixelSpacing) of zero, below zero or not a number opens in pixel units with
    a warning; a RescaleSlope/Intercept that is not a finite number (or a zero slope) is
    ignored with a warning, so the anatomy is shown in stored values rather than as an
    all-NaN image. Pixel data that the header says are larger than the file (or, when
    compressed, than memory) are refused before decoding.
    """
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    dataset = _read_header(path, strict=True)
    if "SOPClassUID" not in dataset and not any(tag in dataset for tag in _IMAGE_DATA):
        raise ReadError(
            f"cannot read {path.name}: not a readable DICOM file "
            "(no SOP class and no pixel data found)"
        )
    if not any(tag in dataset for tag in _IMAGE_DATA):
        raise ReadError(
            f"cannot read {path.name}: it is a DICOM file without pixel data "
            f"({_kind(dataset)}); open the image files of the series instead"
        )
    source = path.name[: -len(path.suffix)] if _dicom_name(path) else path.name
    return _stack(_frames(dataset, path), _series_name(dataset, source))


def _read_folder(folder: Path) -> Volume | list[Volume]:
    series: dict[str, list[_Frame]] = {}
    skipped = {"not DICOM": 0, "without pixel data": 0}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        dataset = _read_header(path, strict=False)
        if dataset is None:
            skipped["not DICOM"] += 1
            continue
        if not any(tag in dataset for tag in _IMAGE_DATA):
            skipped["without pixel data"] += 1
            continue
        key = str(dataset.get("SeriesInstanceUID", folder))
        if int(dataset.get("NumberOfFrames", 1) or 1) > 1:  # a multi-frame file is a volume
            key += f"/{dataset.get('SOPInstanceUID', path)}"
        series.setdefault(key, []).extend(_frames(dataset, path))
    if not series:
        found = ", ".join(f"{n} {what}" for what, n in skipped.items() if n)
        raise ReadError(f"no DICOM images in folder {folder} ({found or 'no files'})")
    volumes, errors = [], []
    for frames in series.values():
        first = frames[0].dataset
        try:
            volumes.append(_stack(frames, _series_name(first, folder.name)))
        except ReadError as err:
            errors.append(str(err))
    if not volumes:
        raise ReadError(
            errors[0]
            if len(errors) == 1
            else f"none of the {len(errors)} series in {folder} can be read: " + "; ".join(errors)
        )
    for message in errors:
        warnings.warn(f"left out: {message}", DicomWarning, stacklevel=2)
    volumes.sort(key=lambda v: (v.metadata["series_number"], v.name))
    _unique_names(volumes)
    return volumes[0] if len(volumes) == 1 else volumes


def _read_header(path: Path, *, strict: bool) -> pydicom.Dataset | None:
    """The dataset with large elements (pixel data) deferred until they are used."""
    import pydicom

    try:
        _check_deflated(path)
        dataset = pydicom.dcmread(path, defer_size=4096, force=strict and _dicom_name(path))
    except (FileNotFoundError, PermissionError, MemoryError):
        raise
    except Exception as err:  # noqa: BLE001 (pydicom raises many kinds on damaged files)
        if isinstance(err, ReadError) and strict:
            raise
        if strict:
            raise ReadError(f"cannot read {path.name}: not a readable DICOM file ({err})") from None
        return None
    meta = getattr(dataset, "file_meta", None)
    if meta is not None and meta.get("MediaStorageSOPClassUID") == _DIRECTORY:
        if strict:
            raise ReadError(f"{path.name} is a DICOMDIR (an index); open its folder instead")
        return None
    return dataset


def _check_deflated(path: Path) -> None:
    """Refuse a Deflated transfer syntax file that inflates beyond
    :data:`MAX_COMPRESSION_RATIO` or memory (pydicom inflates it whole on reading)."""
    if not is_dicom_file(path):
        return
    import pydicom

    meta = pydicom.filereader.read_file_meta_info(path)
    if (
        meta.get("TransferSyntaxUID") != pydicom.uid.DeflatedExplicitVRLittleEndian
        or "FileMetaInformationGroupLength" not in meta
    ):
        return
    import zlib

    size = path.stat().st_size
    limit = min(MAX_COMPRESSION_RATIO * size, available_memory())
    inflate, total = zlib.decompressobj(-zlib.MAX_WBITS), 0
    with open(path, "rb") as f:
        f.seek(132 + 12 + int(meta.FileMetaInformationGroupLength))
        while chunk := f.read(2**16):
            while chunk and total <= limit:
                total += len(inflate.decompress(chunk, 2**24))
                chunk = inflate.unconsumed_tail
            if total > limit:  # refused on the ratio or on memory
                check_size(path, total, stored=size, compressed=True)


def _dicom_name(path: Path) -> bool:
    return path.suffix.lower() in (".dcm", ".dicom", ".ima")


def _frames(dataset: pydicom.Dataset, path: Path) -> list[_Frame]:
    """Every 2D frame of a file with its own geometry and rescale."""
    count = int(dataset.get("NumberOfFrames", 1) or 1)
    shared = _first(dataset, "SharedFunctionalGroupsSequence")
    per_frame = dataset.get("PerFrameFunctionalGroupsSequence")
    offsets = dataset.get("GridFrameOffsetVector")  # RT dose: positions along the normal
    _check_file_size(dataset, path, count)
    if (
        per_frame is not None
        and len(per_frame) < count
        or offsets is not None
        and len(offsets) < count
    ):
        raise ReadError(
            f"cannot read {path.name}: it announces {count} frames but describes "
            "fewer (damaged NumberOfFrames or functional groups)"
        )
    frames, noted = [], set()
    for i in range(count):
        groups = [g for g in (per_frame[i] if per_frame else None, shared) if g is not None]
        position = _vector(
            _attribute(groups, dataset, "PlanePositionSequence", "ImagePositionPatient")
        )
        orientation = _vector(
            _attribute(groups, dataset, "PlaneOrientationSequence", "ImageOrientationPatient")
        )
        spacing = _valid_spacing(
            _vector(_attribute(groups, dataset, "PixelMeasuresSequence", "PixelSpacing")),
            path,
            noted,
        )
        if offsets is not None and position is not None and orientation is not None:
            position = position + float(offsets[i]) * _normal(orientation)
        slope = _attribute(groups, dataset, "PixelValueTransformationSequence", "RescaleSlope")
        intercept = _attribute(
            groups, dataset, "PixelValueTransformationSequence", "RescaleIntercept"
        )
        slope = 1.0 if slope is None else float(slope)
        slope *= float(dataset.get("DoseGridScaling", 1.0) or 1.0)
        intercept = 0.0 if intercept is None else float(intercept)
        if not (np.isfinite(slope) and np.isfinite(intercept) and slope != 0):
            _warn_once(
                noted,
                f"{path.name}: RescaleSlope {slope:g} / RescaleIntercept "
                f"{intercept:g} is not a usable rescale; the stored pixel values are "
                "shown unscaled (not in calibrated units such as HU)",
            )
            slope, intercept = 1.0, 0.0
        content = _first(per_frame[i], "FrameContentSequence") if per_frame else None
        order = (
            int(getattr(content, "TemporalPositionIndex", 0) or 0),
            int(dataset.get("TemporalPositionIdentifier", 0) or 0),
            float(dataset.get("TriggerTime", 0) or 0),
            str(dataset.get("AcquisitionTime", "")),
            int(dataset.get("InstanceNumber", 0) or 0),
            i,
        )
        frames.append(
            _Frame(
                dataset,
                path,
                i if count > 1 else None,
                position,
                orientation,
                spacing,
                slope,
                intercept,
                order,
            )
        )
    return frames


def _valid_spacing(spacing, path: Path, noted: set) -> tuple[float, float] | None:
    """(row, column) spacing in mm, or None (pixel units, with a warning) when the file's
    value is zero, negative, not a number or not two values."""
    if spacing is None:
        return None
    if spacing.shape == (2,) and np.all(np.isfinite(spacing) & (spacing > 0)):
        return float(spacing[0]), float(spacing[1])
    _warn_once(
        noted,
        f"{path.name}: pixel spacing {list(spacing)} is not a usable size; "
        "the image opens in pixel units",
    )
    return None


def _warn_once(noted: set, message: str) -> None:
    if message not in noted:
        noted.add(message)
        warnings.warn(message, DicomWarning, stacklevel=4)


def _first(dataset, keyword: str):
    sequence = dataset.get(keyword) if dataset is not None else None
    return sequence[0] if sequence else None


def _attribute(groups: list, dataset, sequence: str, keyword: str):
    """A value from a functional group (per-frame, then shared), else from the top level."""
    for group in groups:
        item = _first(group, sequence)
        if item is not None and item.get(keyword) not in (None, ""):
            return item.get(keyword)
    value = dataset.get(keyword)
    return None if value in (None, "") else value


def _vector(value) -> np.ndarray | None:
    return None if value is None else np.array(value, dtype=float)


def _normal(orientation: np.ndarray) -> np.ndarray:
    return np.cross(orientation[:3], orientation[3:])


def _stack(frames: list[_Frame], name: str) -> Volume:
    """Sort, check and stack the frames of one series into a volume."""
    first = frames[0]
    sizes = {(int(f.dataset.Rows), int(f.dataset.Columns)) for f in frames}
    if len(sizes) > 1:
        raise ReadError(
            f"series {name!r} mixes image sizes {sorted(sizes)}; open its files one at a time"
        )
    geometric = all(f.position is not None and f.orientation is not None for f in frames)
    if geometric:
        _check_orientations(frames, name)
    pixel_spacing = first.pixel_spacing
    note = None
    if pixel_spacing is None and first.dataset.get("ImagerPixelSpacing") not in (None, ""):
        pixel_spacing = _valid_spacing(_vector(first.dataset.ImagerPixelSpacing), first.path, set())
        if pixel_spacing is not None:
            note = "pixel size from ImagerPixelSpacing (at the detector, not at the patient)"
    metadata = _metadata(first, name)
    if note:
        metadata["note"] = note
    if len(frames) == 1 or not geometric:
        return _without_positions(frames, pixel_spacing, name, metadata)
    normal = _normal(first.orientation)
    frames = sorted(
        frames, key=lambda f: (round(float(f.position @ normal) / _POSITION_TOLERANCE), f.order)
    )
    distance = np.array([float(f.position @ normal) for f in frames])
    positions, counts = _unique_positions(distance)
    if len(set(counts)) > 1:
        raise ReadError(
            f"series {name!r} has {len(frames)} images at {len(positions)} "
            "positions, not the same number at each; open its files one at a time"
        )
    repeats = counts[0]
    steps = np.diff(positions)
    metadata["slice_positions"] = [float(p) for p in positions]
    even = len(steps) == 0 or np.ptp(steps) <= max(0.01 * np.median(steps), _POSITION_TOLERANCE)
    plane = _plane_affine(first.orientation, pixel_spacing)
    start = frames[0].position
    if even and len(positions) > 1:
        step = (frames[-1].position - start) / (len(positions) - 1)
        tilt = float(np.degrees(np.arccos(min(1.0, abs(step @ normal) / np.linalg.norm(step)))))
        if tilt > 0.01:
            metadata["gantry_tilt_degrees"] = tilt
            warnings.warn(
                f"{name}: gantry tilt of {tilt:.2f}° (slices are sheared); napari "
                "shows them unsheared, the true geometry is in the volume's affine",
                DicomWarning,
                stacklevel=3,
            )
        slice_spacing, slice_unit = float(step @ normal), "mm"
    else:
        step, slice_spacing, slice_unit = normal, 1.0, "pixel"
        if len(positions) > 1:
            warnings.warn(_uneven_message(name, steps), DicomWarning, stacklevel=3)
    lps = plane.copy()
    lps[:3, 2] = step
    lps[:3, 3] = start
    data = _pixels(frames)
    data = data.reshape((len(positions), repeats) + data.shape[1:])
    data = np.moveaxis(data, 1, 0) if repeats > 1 else data[:, 0]
    rgb = _is_colour(first.dataset)
    spatial = data if not rgb else np.moveaxis(data, -1, 0)  # to_canonical needs Z, Y, X last
    spatial, affine, transform = to_canonical(spatial, world_from_lps(lps))
    data = np.moveaxis(spatial, 0, -1) if rgb else spatial
    metadata["reoriented"] = describe(transform, ("slice", "row", "column"))
    spacing = np.linalg.norm(affine[:3, :3], axis=0)
    index_of_slice = int(transform[0, 0])  # where the slice axis went
    spacing[index_of_slice] = abs(slice_spacing)
    units = ["mm" if pixel_spacing is not None else "pixel"] * 3
    units[index_of_slice] = slice_unit
    axes = "ZYX"
    if repeats > 1:
        affine = with_leading_axis(affine)
        spacing, units, axes = np.r_[1.0, spacing], ["pixel", *units], "TZYX"
        metadata["repeats_per_position"] = repeats
    return Volume(
        data,
        axes + ("S" if rgb else ""),
        tuple(spacing),
        tuple(affine[:-1, -1]),
        tuple(units),
        metadata,
        affine=affine,
        space="LPS",
    )


def _is_colour(dataset: pydicom.Dataset) -> bool:
    return (
        int(dataset.get("SamplesPerPixel", 1)) > 1
        or dataset.get("PhotometricInterpretation") == "PALETTE COLOR"
    )


def _check_orientations(frames: list[_Frame], name: str) -> None:
    orientations = np.array([f.orientation for f in frames])
    distinct = [orientations[0]]
    for o in orientations:
        if all(np.abs(o - d).max() > _ORIENTATION_TOLERANCE for d in distinct):
            distinct.append(o)
    if len(distinct) > 1:
        raise ReadError(
            f"series {name!r} mixes {len(distinct)} slice orientations (a localizer "
            "or scout?) and cannot be stacked into one volume; open its files one "
            "at a time"
        )


def _unique_positions(distance: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Distinct sorted positions and how many frames sit at each."""
    positions, counts = [distance[0]], [1]
    for d in distance[1:]:
        if abs(d - positions[-1]) <= _POSITION_TOLERANCE:
            counts[-1] += 1
        else:
            positions.append(d)
            counts.append(1)
    return np.array(positions), counts


def _uneven_message(name: str, steps: np.ndarray) -> str:
    smallest = float(steps.min())
    missing = round(float(np.sum(np.round(steps / smallest) - 1))) if smallest > 0 else 0
    gaps = f"; about {missing} slice(s) missing" if missing > 0 else ""
    return (
        f"{name}: slices are unevenly spaced (steps from {steps.min():.4g} to "
        f"{steps.max():.4g} mm{gaps}); the slice axis is in slice numbers, not mm, and the "
        "true positions are in metadata['slice_positions']"
    )


def _plane_affine(orientation: np.ndarray, pixel_spacing) -> np.ndarray:
    """(column, row, slice) index → LPS affine for the in-plane axes."""
    dy, dx = pixel_spacing if pixel_spacing is not None else (1.0, 1.0)
    lps = np.eye(4)
    lps[:3, 0] = orientation[:3] * dx
    lps[:3, 1] = orientation[3:] * dy
    lps[:3, 2] = _normal(orientation)
    return lps


def _without_positions(frames: list[_Frame], pixel_spacing, name: str, metadata: dict) -> Volume:
    """A 2D image, or frames that carry no position: stacked in their own order."""
    if len(frames) > 1:
        frames = sorted(frames, key=lambda f: f.order[3:])
        warnings.warn(
            f"{name}: the images carry no position, so they are stacked in "
            "instance/frame order and the slice spacing is unknown",
            DicomWarning,
            stacklevel=3,
        )
    data = _pixels(frames)
    if len(frames) == 1:
        data = data[0]
    rgb = _is_colour(frames[0].dataset)
    spatial = data.ndim - rgb
    unit = "mm" if pixel_spacing is not None else "pixel"
    spacing = (1.0,) * (spatial - 2) + tuple(pixel_spacing or (1.0, 1.0))
    units = ("pixel",) * (spatial - 2) + (unit, unit)
    if frames[0].position is not None:
        metadata["image_position"] = [float(p) for p in frames[0].position]
        metadata["image_orientation"] = [float(p) for p in frames[0].orientation]
    axes = "ZYX"[-spatial:] + ("S" if rgb else "")
    return Volume(data, axes, spacing, (0.0,) * spatial, units, metadata)


def _pixels(frames: list[_Frame]) -> np.ndarray:
    """The frames' pixel values, rescaled, stacked on a new first axis (one copy in memory)."""
    multi_frame: dict[int, np.ndarray] = {}  # decoded multi-frame files, by dataset
    _check_pixel_size(frames)
    out = None
    for k, frame in enumerate(frames):
        if frame.index is None:
            plane = _decode(frame.dataset, frame.path)
        else:
            key = id(frame.dataset)
            if key not in multi_frame:
                multi_frame[key] = _decode(frame.dataset, frame.path)
            plane = multi_frame[key][frame.index]
        if out is None:
            out = np.empty((len(frames), *plane.shape), plane.dtype)
        out[k] = plane
    return _rescale(out, [(f.slope, f.intercept) for f in frames])


def _frame_bytes(dataset: pydicom.Dataset) -> int:
    """Decoded bytes of one frame, from Rows, Columns, SamplesPerPixel and BitsAllocated."""
    return (
        int(dataset.Rows)
        * int(dataset.Columns)
        * int(dataset.get("SamplesPerPixel", 1))
        * max(1, -(-int(dataset.get("BitsAllocated", 8)) // 8))
    )


def _check_file_size(dataset: pydicom.Dataset, path: Path, count: int) -> None:
    """Refuse a header that claims more frames or pixels than the file can hold (each
    compressed frame takes at least one byte)."""
    from pydicom.uid import DeflatedExplicitVRLittleEndian

    syntax = getattr(dataset, "file_meta", {}).get("TransferSyntaxUID")
    deflated = syntax == DeflatedExplicitVRLittleEndian
    if syntax is not None and syntax.is_compressed:
        check_size(path, count, stored=path.stat().st_size, in_memory=False)
    else:
        check_size(
            path,
            count * _frame_bytes(dataset),
            stored=path.stat().st_size,
            compressed=deflated,
            in_memory=False,
        )


def _check_pixel_size(frames: list[_Frame]) -> None:
    """Refuse a series that does not fit in memory (stored values and a rescaled copy)."""
    check_size(frames[0].path, len(frames) * _frame_bytes(frames[0].dataset) * 2)


def _decode(dataset: pydicom.Dataset, path: Path) -> np.ndarray:
    try:
        array = dataset.pixel_array
        if dataset.get("PhotometricInterpretation") == "PALETTE COLOR":
            from pydicom.pixels import apply_color_lut

            array = apply_color_lut(array, dataset)
    except Exception as err:  # noqa: BLE001 (pydicom raises many kinds; each becomes one sentence)
        syntax = getattr(dataset, "file_meta", {}).get("TransferSyntaxUID")
        if syntax is not None and syntax.is_compressed and "missing" in str(err).lower():
            raise ReadError(
                f"cannot decode {path.name}: its pixel data are compressed "
                f"({syntax.name}) and no decoder for that is installed; install "
                f"the decoders with: {_EXTRA_HINT}"
            ) from None
        raise ReadError(f"cannot read the pixel data of {path.name}: {err}") from None
    if not array.dtype.isnative:
        array = array.astype(array.dtype.newbyteorder("="))
    return array


def _rescale(data: np.ndarray, rescale: list[tuple[float, float]]) -> np.ndarray:
    """Apply RescaleSlope/Intercept; keep an integer dtype when the rescale is integral.

    The integer type is the smallest that holds the stored values times the slope and the
    result (checked on each frame's extremes), so the arithmetic runs in it without overflow.
    """
    if all(s == 1 and i == 0 for s, i in rescale):
        return data
    shape = (-1,) + (1,) * (data.ndim - 1)
    slopes = np.array([s for s, _ in rescale]).reshape(shape)
    intercepts = np.array([i for _, i in rescale]).reshape(shape)
    integral = (
        data.dtype.kind in "iu"
        and np.all(slopes == np.round(slopes))
        and np.all(intercepts == np.round(intercepts))
    )
    if integral:
        axes = tuple(range(1, data.ndim))
        ends = np.stack([data.min(axis=axes, keepdims=True), data.max(axis=axes, keepdims=True)])
        products = ends.astype(np.int64) * slopes.astype(np.int64)
        values = np.concatenate([products, products + intercepts.astype(np.int64)])
        low, high = int(values.min()), int(values.max())
        for dtype in (data.dtype, np.int16, np.uint16, np.int32):
            info = np.iinfo(dtype)
            if info.min <= low and high <= info.max:
                return _in_place(data.astype(dtype, copy=False), slopes, intercepts)
    return _in_place(data.astype(np.float32), slopes, intercepts)


def _in_place(out: np.ndarray, slopes: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    if np.any(slopes != 1):
        out *= slopes.astype(out.dtype)
    out += intercepts.astype(out.dtype)
    return out


def _metadata(frame: _Frame, name: str) -> dict:
    ds = frame.dataset
    meta = {
        "path": str(frame.path),
        "reader": "segkit dicom (pydicom)",
        "name": name,
        "source_space": "LPS",
        "modality": str(ds.get("Modality", "")),
        "series_number": int(ds.get("SeriesNumber", 0) or 0),
        "series_uid": str(ds.get("SeriesInstanceUID", "")),
        "study_uid": str(ds.get("StudyInstanceUID", "")),
        "frame_of_reference_uid": str(ds.get("FrameOfReferenceUID", "")),
        "photometric": str(ds.get("PhotometricInterpretation", "")),
    }
    window = _window(ds)
    if window is not None:
        meta["window"] = window
    if "GantryDetectorTilt" in ds and ds.GantryDetectorTilt not in (None, ""):
        meta["gantry_detector_tilt"] = float(ds.GantryDetectorTilt)
    return meta


def _window(ds: pydicom.Dataset) -> list[float] | None:
    """The first VOI window (center, width) as a (low, high) display range, if any."""
    from pydicom.multival import MultiValue

    center, width = ds.get("WindowCenter"), ds.get("WindowWidth")
    if center in (None, "") or width in (None, ""):
        return None
    center = float(center[0] if isinstance(center, MultiValue) else center)
    width = float(width[0] if isinstance(width, MultiValue) else width)
    return [center - width / 2, center + width / 2] if width > 0 else None


def _series_name(ds: pydicom.Dataset, source: str) -> str:
    """The layer name: "<file or folder> — <modality> <description, or series number>",
    e.g. "MR_small — MR series 1", so that two opened files or series differ at a glance.
    No patient data: screenshots get shared (3D Slicer, too, names a series by its number
    and description only)."""
    description = str(ds.get("SeriesDescription", "") or "").strip()
    number = ds.get("SeriesNumber", "")
    series = description or (f"series {number}" if number not in (None, "") else "")
    label = " ".join(part for part in (str(ds.get("Modality", "") or ""), series) if part)
    return f"{source} — {label}" if label else source


def _unique_names(volumes: list[Volume]) -> None:
    names = [v.name for v in volumes]
    for volume in volumes:
        if names.count(volume.name) > 1:
            volume.metadata["name"] = f"{volume.name} ({volume.metadata['series_number']})"
    names = [v.name for v in volumes]
    for i, volume in enumerate(volumes):
        if names.count(volume.name) > 1:
            volume.metadata["name"] = f"{volume.name} #{i + 1}"


def _kind(dataset: pydicom.Dataset) -> str:
    uid = dataset.get("SOPClassUID")
    return getattr(uid, "name", None) or "no SOP class"

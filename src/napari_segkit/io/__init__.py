"""Read images with their geometry, write labels that other tools overlay correctly."""

from __future__ import annotations

from pathlib import Path

from .dicom import is_dicom_file, read_dicom
from .image import read_image, write_png
from .nifti import nifti_suffix, read_nifti, write_nifti
from .series import pick_series
from .tiff import read_tiff, write_tiff
from .volume import ReadError, Volume
from .zarr import is_zarr_path, read_zarr

READERS = {".tif": read_tiff, ".tiff": read_tiff, ".nii": read_nifti, ".nii.gz": read_nifti,
           ".dcm": read_dicom, ".dicom": read_dicom, ".ima": read_dicom,
           ".png": read_image, ".jpg": read_image, ".jpeg": read_image, ".bmp": read_image}
WRITERS = {".tif": write_tiff, ".tiff": write_tiff, ".nii": write_nifti, ".nii.gz": write_nifti,
           ".png": write_png}


def read(path) -> Volume | list[Volume]:
    """Read ``path`` into a :class:`Volume` with its geometry.

    The format comes from the extension; a folder, or a file without a known extension
    that starts like DICOM, is read as DICOM. A folder holding several DICOM series gives
    a list of volumes, one per series. Whatever is wrong with the file, the error is a
    :class:`ReadError` naming it (or FileNotFoundError / PermissionError).
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    if not (path.is_file() or path.is_dir()):  # reading a FIFO or a device would block
        raise ReadError(f"cannot read {path.name}: not a regular file or folder")
    if is_zarr_path(path):
        return read_zarr(path)
    if path.is_dir():
        return read_dicom(path)
    if suffix(path) not in READERS and is_dicom_file(path):
        return read_dicom(path)
    return _by_extension(READERS, path, "read")(path)


def write(path, labels, *, like: Volume | None = None, overwrite: bool = False) -> None:
    """Write ``labels`` to ``path`` (format from the extension) with the geometry of ``like``.

    ".zarr" (OME-Zarr), and TIFF for dask arrays, are written block by block (tiled
    OME-TIFF) through :func:`napari_segkit.io.write_labels`; dask arrays written to
    other formats are computed into memory first.
    """
    path = Path(path)
    if is_zarr_path(path) or (suffix(path) in (".tif", ".tiff")
                              and type(labels).__module__.startswith("dask")):
        from .chunked import write_labels

        write_labels(path, labels, like=like, overwrite=overwrite)
        return
    _by_extension(WRITERS, path, "write")(path, labels, like=like, overwrite=overwrite)


def suffix(path) -> str:
    """The lower-case extension that picks the format (".nii.gz" counts as one)."""
    return nifti_suffix(path) or Path(path).suffix.lower()


def _by_extension(table: dict, path: Path, verb: str):
    function = table.get(suffix(path))
    if function is None:
        raise ValueError(
            f"cannot {verb} {path.name}: unsupported file type {suffix(path) or '(none)'!r} "
            f"(napari-segkit can {verb} {', '.join(sorted(table))})"
        )
    return function


def __getattr__(name: str):
    """``write_labels`` (the chunked writer) imports dask and zarr on first use."""
    if name == "write_labels":
        from .chunked import write_labels

        return write_labels
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["READERS", "WRITERS", "ReadError", "Volume", "pick_series", "read", "write",
           "write_labels"]

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

READERS = {
    ".tif": read_tiff,
    ".tiff": read_tiff,
    ".nii": read_nifti,
    ".nii.gz": read_nifti,
    ".dcm": read_dicom,
    ".dicom": read_dicom,
    ".ima": read_dicom,
    ".png": read_image,
    ".jpg": read_image,
    ".jpeg": read_image,
    ".bmp": read_image,
}
WRITERS = {
    ".tif": write_tiff,
    ".tiff": write_tiff,
    ".nii": write_nifti,
    ".nii.gz": write_nifti,
    ".png": write_png,
}


def read(path) -> Volume | list[Volume]:
    """Read an image or label file into a :class:`Volume` with its geometry.

    The format comes from the extension (see :data:`READERS`: TIFF, NIfTI, DICOM, PNG,
    JPEG, BMP); a ".zarr" path is read as (OME-)Zarr, lazily; a folder, or a file without a
    known extension that starts like DICOM, is read as DICOM. The volume carries the voxel
    size, origin, units and, for medical formats, the affine in patient coordinates, so
    labels drawn on it overlay correctly and :func:`write` can put them back. Whatever is
    wrong with the file, the error is a :class:`ReadError` naming it (or FileNotFoundError
    / PermissionError).

    Parameters
    ----------
    path : str or os.PathLike
        A file, a DICOM folder or a Zarr store.

    Returns
    -------
    volume : Volume or list of Volume
        The image with its geometry; a folder holding several DICOM series gives a list of
        volumes, one per series.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    PermissionError
        If it cannot be opened.
    ReadError
        If it is damaged, not what its extension says, not a regular file or folder (a FIFO
        or a device), a folder without DICOM images, or too large for the memory available.
    ValueError
        If its extension is not one napari-segkit reads.

    See Also
    --------
    write : Write labels with the geometry of a volume read here.
    Volume : What is returned.
    pick_series : Choose one volume from a list of series.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_segkit import io
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> labels = np.zeros((4, 16, 16), np.uint8); labels[1:3, 4:12, 4:12] = 1
    >>> like = io.Volume(labels, "ZYX", spacing=(2.0, 0.5, 0.5), origin=(0, 0, 0),
    ...                  units=("µm", "µm", "µm"))
    >>> io.write(folder / "cells_labels.tif", labels, like=like)
    >>> volume = io.read(folder / "cells_labels.tif")
    >>> volume.axes, volume.spacing, volume.units
    ('ZYX', (2.0, 0.5, 0.5), ('µm', 'µm', 'µm'))
    >>> volume.is_labels, int(volume.data.sum())
    (True, 128)
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
    """Write labels to a file that other tools overlay correctly on the source image.

    The format comes from the extension (see :data:`WRITERS`: TIFF, NIfTI, PNG, and
    ".zarr" for OME-Zarr); the voxel size, origin and orientation come from ``like``, so
    Fiji, QuPath, ITK-SNAP or 3D Slicer put the labels where they belong. TIFF, NIfTI and
    PNG get the smallest integer type that holds the ids. The file is written completely or
    not at all (a temporary file renamed into place). ".zarr" (OME-Zarr), and TIFF for dask arrays,
    are written block by block (tiled OME-TIFF) through
    :func:`napari_segkit.io.write_labels`; dask arrays written to other formats are
    computed into memory first.

    Parameters
    ----------
    path : str or os.PathLike
        The file (or Zarr store) to write; its folder must exist.
    labels : array of int or bool
        The labels (0 = background), 2D or 3D (NIfTI: up to 4D; PNG: 2D, ids up to 65535).
        NumPy or dask.
    like : Volume, optional
        The image the labels belong to (usually from :func:`read`); its geometry is
        written with them. Without it: unit voxels at the origin.
    overwrite : bool, default False
        Replace an existing file (only a plain file, or a Zarr store of labels).

    Returns
    -------
    None
        When it returns, the complete file is at ``path``.

    Raises
    ------
    ValueError
        If the extension is not one napari-segkit writes, or the labels do not fit the
        format (not integer or boolean, negative for NIfTI, too many axes, ids too large).
    FileExistsError
        If ``path`` exists and ``overwrite`` is False, or it exists and is not a file that
        may be replaced.
    FileNotFoundError
        If the folder of ``path`` does not exist.

    See Also
    --------
    read : Read an image with the geometry to pass as ``like``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from napari_segkit import io
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> labels = np.zeros((4, 16, 16), np.uint8); labels[1:3, 4:12, 4:12] = 1
    >>> like = io.Volume(labels, "ZYX", spacing=(2.0, 0.5, 0.5), origin=(0, 0, 0),
    ...                  units=("mm", "mm", "mm"))
    >>> io.write(folder / "liver_seg.nii.gz", labels, like=like)
    >>> volume = io.read(folder / "liver_seg.nii.gz")
    >>> volume.spacing, volume.data.dtype.name, volume.is_labels
    ((2.0, 0.5, 0.5), 'uint8', True)
    >>> io.write(folder / "liver_seg.nii.gz", labels)
    Traceback (most recent call last):
    ...
    FileExistsError: ...liver_seg.nii.gz already exists; choose another name or allow overwrite
    """
    path = Path(path)
    if is_zarr_path(path) or (
        suffix(path) in (".tif", ".tiff") and type(labels).__module__.startswith("dask")
    ):
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


__all__ = [
    "READERS",
    "WRITERS",
    "ReadError",
    "Volume",
    "pick_series",
    "read",
    "write",
    "write_labels",
]

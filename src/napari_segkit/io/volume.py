"""The image type every reader returns and every writer and method understands."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

#: words in a file name that say it holds labels ("case1_seg.nii.gz", "nuclei_masks.tif")
LABEL_WORDS = {
    "label",
    "labels",
    "seg",
    "segmentation",
    "segmentations",
    "mask",
    "masks",
    "annotation",
    "annotations",
    "gt",
    "groundtruth",
}
#: starts of folder names that hold label files ("labelsTr" in nnU-Net datasets, "masks")
LABEL_FOLDERS = ("label", "mask", "annotation", "groundtruth", "ground_truth")


class ReadError(ValueError):
    """A file that cannot be read; the message names the file and what is wrong with it.

    Raised by :func:`napari_segkit.io.read` and every reader for whatever is wrong with a
    file: damaged, truncated, not what its extension says, a header claiming more data
    than the file holds or memory can take (a decompression bomb). The library's own
    exception is not passed on, so one ``except ReadError`` covers every format. A
    subclass of ValueError. A missing or unreadable file raises FileNotFoundError or
    PermissionError instead.

    See Also
    --------
    napari_segkit.io.read : Read an image file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from napari_segkit import io
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "broken.tif").write_bytes(b"not a TIFF")
    >>> try:
    ...     io.read(folder / "broken.tif")
    ... except io.ReadError as err:
    ...     print(err)
    cannot read broken.tif: not a readable TIFF file (...)
    """


#: deflate (zlib, gzip) and LZW expand at most about 1030× and 1300×; a header that claims
#: more than this many times the stored bytes of such data is impossible (or a bomb)
MAX_COMPRESSION_RATIO = 2000


def reader_errors(read: Callable) -> Callable:
    """Make ``read(path, ...)`` raise only :class:`ReadError` (naming the file),
    FileNotFoundError or PermissionError, whatever the library underneath raises."""

    @functools.wraps(read)
    def wrapper(path, *args, **kwargs):
        name = Path(path).name
        try:
            return read(path, *args, **kwargs)
        except (FileNotFoundError, PermissionError):
            raise
        except ReadError as err:
            if name in str(err):
                raise
            raise ReadError(f"cannot read {name}: {err}") from None
        except MemoryError:
            raise ReadError(
                f"cannot read {name}: not enough memory for the image it "
                f"holds ({format_bytes(available_memory())} available)"
            ) from None
        except Exception as err:  # noqa: BLE001 (libraries raise anything on broken files)
            reason = str(err).strip() or type(err).__name__
            raise ReadError(
                f"cannot read {name}: the file is damaged or not what its "
                f"extension says ({type(err).__name__}: {reason})"
            ) from None

    return wrapper


def available_memory() -> int:
    """Bytes that an allocation can take now: free RAM, or the process's address-space
    limit when that is lower."""
    import resource

    import psutil

    free = psutil.virtual_memory().available
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    return free if limit == resource.RLIM_INFINITY else min(free, limit)


def check_size(
    path,
    claimed: int,
    *,
    stored: int | None = None,
    compressed: bool = False,
    in_memory: bool = True,
) -> None:
    """Refuse a header whose claimed data size (``claimed`` bytes, decoded) is impossible.

    ``stored`` is the number of bytes the file holds for that data. Uncompressed data must
    fit in them (else the file is truncated); compressed data may be smaller, but not by
    more than :data:`MAX_COMPRESSION_RATIO` (``compressed=True``, deflate or LZW). Data
    read into memory (``in_memory``) must fit in :func:`available_memory`.
    """
    name = Path(path).name
    if stored is not None and not compressed and claimed > stored:
        raise ReadError(
            f"cannot read {name}: its header claims {format_bytes(claimed)} of "
            f"image data but the file holds only {format_bytes(stored)} "
            "(truncated or damaged)"
        )
    if stored is not None and compressed and claimed > MAX_COMPRESSION_RATIO * max(stored, 1):
        raise ReadError(
            f"cannot read {name}: its header claims {format_bytes(claimed)} of "
            f"image data in {format_bytes(stored)} of compressed data, more "
            f"than {MAX_COMPRESSION_RATIO}× which no real image compresses "
            "(a damaged header or a decompression bomb)"
        )
    if in_memory and claimed > available_memory():
        raise ReadError(
            f"cannot read {name}: its image needs {format_bytes(claimed)} of "
            f"memory and only {format_bytes(available_memory())} is available"
        )


def format_bytes(n: float) -> str:
    """``n`` bytes as "1.5 GiB"."""
    if n < 1024:
        return f"{n:.0f} bytes"
    for unit in ("KiB", "MiB", "GiB"):
        n /= 1024
        if n < 1024:
            return f"{n:.1f} {unit}"
    return f"{n / 1024:.1f} TiB"


@dataclass
class Volume:
    """An image array with its geometry.

    What every reader returns (:func:`napari_segkit.io.read`) and every writer and method
    understands: the pixels, the name of each axis, and where the voxels are in the world.
    ``spacing``, ``origin`` and ``units`` have one entry per *spatial* axis, i.e. per axis
    of ``data`` except a trailing colour axis (``axes`` ending in "S"), which is what napari
    calls the layer's dimensions: they become the layer's ``scale``, ``translate`` and
    ``units`` (:meth:`layer_kwargs`). Spacing and origin are stored as floats.

    Parameters
    ----------
    data : array
        The pixels: NumPy, or a lazy array (dask, zarr) that is read when used.
    axes : str
        One letter per axis of ``data``, e.g. "YX", "ZYX", "CZYX", or "YXS" for colour
        samples (RGB or RGBA) last.
    spacing : sequence of float
        Voxel size per spatial axis, each positive and finite, in ``units``.
    origin : sequence of float
        World position of the first voxel's centre per spatial axis, in ``units``.
    units : sequence of str
        Unit per spatial axis, e.g. "µm", "mm" or "pixel".
    metadata : dict, optional
        What the reader found: e.g. "path", "name", "reader", "labels" (True when the file
        marks itself as labels), "source_space", DICOM tags. Default empty.
    affine : ((n+1), (n+1)) array, optional
        The matrix that maps an index of ``data`` (spatial axes, in array order) to a
        position in the world, with the world axes in the same order as the array axes.
        By default ``diag(spacing)`` plus ``origin``; a source with a rotation (oblique
        scans) or a shear (gantry tilt), which napari's scale and translate cannot show,
        keeps them here.
    space : str, default ""
        Names the world: "" for plain image coordinates (microscopy) or "LPS" for patient
        coordinates (x to the patient's left, y to posterior, z to superior, in mm), stored
        in array order, i.e. as (z, y, x). The source's own convention (RAS for NIfTI, LPS
        for DICOM) is in ``metadata["source_space"]``.
    pyramid : tuple of arrays, default ()
        Lower-resolution copies of ``data`` (whole-slide images), largest first; napari
        shows them as a multiscale layer.
    loader : callable, optional
        Set by a lazy reader: a function that reads all of ``data`` at once faster than
        chunk by chunk (used by :meth:`load`).

    Attributes
    ----------
    rgb : bool
        True when the last axis holds colour samples (RGB or RGBA).
    is_labels : bool
        True for integer data meant as labels: marked so in the file or named so
        ("case1_seg.nii.gz", a "labelsTr" folder; see :data:`LABEL_WORDS`).
    name : str
        A short name for the layer: the series description or the file name.

    Raises
    ------
    ValueError
        If ``axes`` does not have one letter per axis of ``data``, ``spacing``, ``origin``
        or ``units`` does not have one entry per spatial axis, a voxel size is not positive
        and finite, or ``affine`` is not (n+1)×(n+1).

    See Also
    --------
    napari_segkit.io.read : Read a file into a Volume.
    napari_segkit.io.write : Write labels with a Volume's geometry.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit.io import Volume
    >>> volume = Volume(np.zeros((5, 64, 64), np.uint16), "ZYX", spacing=(2.0, 0.5, 0.5),
    ...                 origin=(10.0, 0.0, 0.0), units=("µm", "µm", "µm"))
    >>> volume.affine.tolist()  # diag(spacing) plus origin
    [[2.0, 0.0, 0.0, 10.0], [0.0, 0.5, 0.0, 0.0], [0.0, 0.0, 0.5, 0.0], [0.0, 0.0, 0.0, 1.0]]
    >>> volume.layer_kwargs()["scale"], volume.layer_kwargs()["translate"]
    ((2.0, 0.5, 0.5), (10.0, 0.0, 0.0))

    A colour picture has two spatial axes, so two voxel sizes:

    >>> photo = Volume.plain(np.zeros((32, 32, 3), np.uint8), "YXS")
    >>> photo.rgb, photo.spacing, photo.units
    (True, (1.0, 1.0), ('pixel', 'pixel'))
    """

    data: Any
    axes: str
    spacing: tuple[float, ...]
    origin: tuple[float, ...]
    units: tuple[str, ...]
    metadata: dict = field(default_factory=dict)
    affine: np.ndarray | None = None
    space: str = ""
    pyramid: tuple = ()
    loader: Callable[[], Any] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if len(self.axes) != self.data.ndim:
            raise ValueError(f"axes {self.axes!r} do not match data with {self.data.ndim} axes")
        n = self.data.ndim - self.rgb
        for name in ("spacing", "origin", "units"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"{name} needs {n} values (one per spatial axis)")
        self.spacing = tuple(float(s) for s in self.spacing)
        self.origin = tuple(float(o) for o in self.origin)
        if not all(np.isfinite(s) and s > 0 for s in self.spacing):
            raise ValueError(f"voxel size must be positive and finite, got {self.spacing}")
        if self.affine is None:
            self.affine = np.eye(n + 1)
            self.affine[:n, :n] = np.diag(self.spacing)
            self.affine[:n, n] = self.origin
        self.affine = np.asarray(self.affine, dtype=float)
        if self.affine.shape != (n + 1, n + 1):
            raise ValueError(f"affine must be {n + 1}×{n + 1}, got {self.affine.shape}")

    @property
    def rgb(self) -> bool:
        """True when the last axis holds colour samples (RGB or RGBA)."""
        return self.axes.endswith("S") and self.data.shape[-1] in (3, 4)

    @property
    def is_labels(self) -> bool:
        """True for integer data meant as labels: marked so in the file (segkit's label
        TIFFs, NIfTI intent "label") or named so (see :data:`LABEL_WORDS`, :data:`LABEL_FOLDERS`).
        """
        if self.rgb or np.dtype(self.data.dtype).kind not in "biu":
            return False
        if self.metadata.get("labels"):
            return True
        path = Path(self.metadata.get("path", ""))
        words = set(re.split(r"[^a-z]+", path.name.lower()))
        return bool(words & LABEL_WORDS) or path.parent.name.lower().startswith(LABEL_FOLDERS)

    @property
    def name(self) -> str:
        """A short name for the layer: the series description or the file name."""
        return str(self.metadata.get("name") or "image")

    @classmethod
    def plain(cls, data: Any, axes: str, **metadata: Any) -> Volume:
        """A volume with unit spacing, zero origin and pixel units."""
        n = data.ndim - (axes.endswith("S") and data.shape[-1] in (3, 4))
        return cls(data, axes, (1.0,) * n, (0.0,) * n, ("pixel",) * n, metadata)

    def load(self) -> Volume:
        """This volume with its data in memory (a lazy stack is read plane by plane into one
        array, never holding a second copy); pyramids keep only the full resolution."""
        if isinstance(self.data, np.ndarray):
            return self
        if self.loader is not None:
            data = self.loader()
        else:
            data = np.empty(self.data.shape, self.data.dtype)
            if hasattr(self.data, "store"):  # dask: each chunk goes straight to its place
                self.data.store(data, lock=False)
            else:
                data[...] = self.data
        return replace(
            self, data=data, pyramid=(), loader=None, metadata={**self.metadata, "lazy": False}
        )

    def layer_kwargs(self) -> dict:
        """Keyword arguments for a napari layer of this volume."""
        return {
            "scale": self.spacing,
            "translate": self.origin,
            "units": self.units,
            "axis_labels": tuple(self.axes[: len(self.spacing)]),
            "rgb": self.rgb,
            "metadata": {"segkit_source": self.source_record()},
        }

    def source_record(self) -> dict:
        """What a writer needs to put labels back on this image: metadata, affine, space."""
        return {**self.metadata, "affine": self.affine.tolist(), "space": self.space}

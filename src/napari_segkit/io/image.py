"""Ordinary 2D pictures (PNG, JPEG, BMP): H&E tiles, screenshots, label PNGs."""

from __future__ import annotations

from pathlib import Path

import imageio.v3 as iio
import numpy as np

from ._atomic import atomic_path
from .volume import ReadError, Volume, reader_errors


@reader_errors
def read_image(path) -> Volume:
    """Read a 2D grey or colour picture (pixel units; these formats carry no pixel size).
    Pillow refuses decompression bombs (above about 179 million pixels)."""
    data = iio.imread(path)
    if data.ndim == 3 and data.shape[-1] in (3, 4):
        axes = "YXS"
    elif data.ndim == 2:
        axes = "YX"
    else:
        raise ReadError(
            f"cannot read {Path(path).name}: expected a 2D grey or RGB picture, "
            f"got shape {data.shape}"
        )
    return Volume.plain(
        data,
        axes,
        path=str(path),
        reader="segkit image (imageio)",
        name=Path(path).name.split(".")[0],
    )


def write_png(path, labels: np.ndarray, *, like: Volume | None = None, overwrite=False) -> None:
    """Write 2D labels as an 8- or 16-bit PNG (values up to 65535)."""
    labels = np.asarray(labels)
    if labels.ndim != 2:
        raise ValueError(
            f"cannot write {Path(path).name}: PNG holds 2D labels only and these "
            f"are {labels.ndim}D (shape {labels.shape}); save them as TIFF (.tif) "
            "or NIfTI (.nii.gz), which hold 3D"
        )
    top = int(labels.max()) if labels.size else 0
    if top > np.iinfo(np.uint16).max:
        raise ValueError(f"PNG holds labels up to 65535, these go to {top}; use .tif")
    dtype = np.uint8 if top <= 255 else np.uint16
    with atomic_path(path, overwrite=overwrite) as tmp:
        iio.imwrite(tmp, labels.astype(dtype, copy=False), extension=".png")

"""npe2 reader target: TIFF stacks with their voxel size."""

from __future__ import annotations

from pathlib import Path

from .io.tiff import read_tiff


def get_tiff_reader(path):
    """Return a reader for a single .tif/.tiff path, else None (napari tries other readers)."""
    if isinstance(path, list) or Path(path).suffix.lower() not in (".tif", ".tiff"):
        return None
    return read_tiff_layers


def read_tiff_layers(path) -> list[tuple]:
    volume = read_tiff(path)
    kwargs = volume.layer_kwargs()
    kwargs["name"] = Path(path).name.split(".")[0]
    return [(volume.data, kwargs, "image")]

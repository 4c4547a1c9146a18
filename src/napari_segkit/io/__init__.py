"""Read images with their geometry, write labels that other tools overlay correctly."""

from __future__ import annotations

from pathlib import Path

from .image import read_image, write_png
from .tiff import read_tiff, write_tiff
from .volume import Volume

READERS = {".tif": read_tiff, ".tiff": read_tiff, ".png": read_image, ".jpg": read_image,
           ".jpeg": read_image, ".bmp": read_image}
WRITERS = {".tif": write_tiff, ".tiff": write_tiff, ".png": write_png}


def read(path) -> Volume:
    """Read ``path`` into a :class:`Volume`; the reader is chosen by the file extension."""
    path = Path(path)
    reader = _by_extension(READERS, path, "read")
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {path}")
    return reader(path)


def write(path, labels, *, like: Volume | None = None, overwrite: bool = False) -> None:
    """Write ``labels`` to ``path`` (format from the extension) with the geometry of ``like``."""
    path = Path(path)
    _by_extension(WRITERS, path, "write")(path, labels, like=like, overwrite=overwrite)


def _by_extension(table: dict, path: Path, verb: str):
    function = table.get(path.suffix.lower())
    if function is None:
        raise ValueError(
            f"cannot {verb} {path.name}: unsupported file type {path.suffix!r} "
            f"(napari-segkit can {verb} {', '.join(sorted(table))})"
        )
    return function


__all__ = ["READERS", "WRITERS", "Volume", "read", "write"]

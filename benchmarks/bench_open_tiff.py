"""Opening a large TIFF stack: segkit's lazy reader against tifffile.imread, same file, same run.

    python benchmarks/bench_open_tiff.py [--gib 2] [--folder DIR] [--napari] [--out FILE.md]

Writes an ImageJ uint16 stack of about ``--gib`` GiB (kept between runs), then times, with
the file evicted from the page cache before each cold run (posix_fadvise DONTNEED):

- ``tifffile.imread``: the whole stack into memory (what most readers do);
- segkit ``read``: opening (header and geometry; data stay on disk), the first plane, and
  the whole stack read through dask;
- with ``--napari`` (needs a display, e.g. ``xvfb-run``): ``viewer.open`` until the layer
  shows its first plane, through segkit's reader and through napari's own TIFF reader.

Memory is the peak of traced allocations (NumPy and dask report to tracemalloc) per step.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import tifffile

if "--napari" in sys.argv:  # import napari first: a late import has failed in vispy's set-up
    import napari  # noqa: F401

import napari_segkit
from napari_segkit import read

PLANE = (2048, 2048)


def make_stack(path: Path, gib: float) -> tuple[int, ...]:
    """A uint16 stack of ``gib`` GiB: smooth gradients plus the plane number, written plane
    by plane so that it never sits in memory whole."""
    planes = max(1, int(gib * 2**30 // (2 * PLANE[0] * PLANE[1])))
    shape = (planes, *PLANE)
    if path.exists() and tifffile.TiffFile(path).series[0].shape == shape:
        return shape
    y, x = np.mgrid[: PLANE[0], : PLANE[1]]
    base = ((x + y) % 4096).astype(np.uint16)
    tifffile.imwrite(path, (base + i for i in range(planes)), shape=shape, dtype=np.uint16,
                     imagej=True, resolution=(2.0, 2.0),
                     metadata={"axes": "ZYX", "spacing": 2.0, "unit": "um"})
    return shape


def evict(path: Path) -> None:
    """Drop the file from the page cache so that the next read comes from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


REPEAT = 3


def measure(function, path: Path):
    """(median seconds, peak MiB, result) of ``REPEAT`` calls, each from a cold page cache."""
    times = []
    for _ in range(REPEAT):
        result = None  # free the previous result first
        evict(path)
        tracemalloc.start()
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return float(np.median(times)), peak, result


def library_rows(path: Path) -> list[tuple[str, float, float]]:
    rows = []
    seconds, peak, full = measure(lambda: tifffile.imread(path), path)
    rows.append(("tifffile.imread (whole stack)", seconds, peak))
    first_reference = full[0].copy()
    del full
    seconds, peak, volume = measure(lambda: read(path), path)
    rows.append(("segkit read (open, lazy)", seconds, peak))
    seconds, peak, first = measure(lambda: np.asarray(read(path).data[0]), path)
    rows.append(("segkit read + first plane", seconds, peak))
    assert np.array_equal(first, first_reference)
    seconds, peak, whole = measure(lambda: read(path).load().data, path)
    rows.append(("segkit read + whole stack (`Volume.load`)", seconds, peak))
    assert whole.shape == volume.data.shape and np.array_equal(whole[0], first_reference)
    return rows


def napari_rows(path: Path) -> list[tuple[str, float, float]]:
    import napari

    rows = []
    for plugin, label in (("napari-segkit", "napari + segkit reader: first plane shown"),
                          ("napari", "napari + napari's reader: first plane shown")):
        viewer = napari.Viewer(show=True)
        viewer.add_image(np.zeros((2, 2)), units="mm")  # napari's one-time set-up (pint)
        viewer.layers.clear()

        def show(viewer=viewer, plugin=plugin):
            (layer,) = viewer.open(str(path), plugin=plugin)
            napari.qt.get_qapp().processEvents()
            return layer

        def show_once(viewer=viewer, show=show):
            viewer.layers.clear()
            return show()

        seconds, peak, layer = measure(show_once, path)
        assert layer.data.shape[0] > 1
        rows.append((label, seconds, peak))
        viewer.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--folder", type=Path, default=Path("/tmp"))
    parser.add_argument("--napari", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    path = args.folder / f"segkit-bench-{args.gib:g}gib.tif"
    shape = make_stack(path, args.gib)
    size = path.stat().st_size / 2**30
    rows = library_rows(path) + (napari_rows(path) if args.napari else [])
    reference = rows[0][1]
    lines = [
        "# Opening a large TIFF stack",
        "",
        f"`benchmarks/bench_open_tiff.py --gib {args.gib:g}{' --napari' if args.napari else ''}`"
        f", napari-segkit {napari_segkit.__version__}, tifffile {tifffile.__version__}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPU cores, {platform.machine()}.",
        "",
        f"File: ImageJ TIFF, uint16, {shape[0]} × {shape[1]} × {shape[2]} "
        f"({size:.2f} GiB), uncompressed. Each step starts with the file evicted from the "
        f"page cache; seconds are the median of {REPEAT} runs. The virtual disk of this "
        "machine has a host cache under it, so \"cold\" times vary from run to run.",
        "",
        "| step | seconds | × tifffile.imread | peak MiB |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds, peak in rows:
        lines.append(f"| {name} | {seconds:.3f} | {seconds / reference:.3f} | {peak:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()

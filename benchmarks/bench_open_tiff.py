"""Opening a large TIFF stack: segkit's lazy reader against tifffile.imread, same file, same run.

    python benchmarks/bench_open_tiff.py [--gib 2] [--folder DIR] [--napari] [--keep]
                                         [--out FILE.md]

Writes an ImageJ uint16 stack of about ``--gib`` GiB (deleted at the end unless ``--keep``),
then times, with the file evicted from the page cache before each cold run (posix_fadvise
DONTNEED):

- ``tifffile.imread``: the whole stack into memory (what most readers do);
- segkit ``read``: opening (header and geometry; data stay on disk), the first plane, and
  the whole stack read through dask;
- with ``--napari`` (needs a display, e.g. ``xvfb-run``): ``viewer.open`` until the layer
  shows its first plane, through segkit's reader and through napari's own TIFF reader.

Memory is the peak of traced allocations (NumPy and dask report to tracemalloc) per step.

Then the whole stack into NumPy, each case in a fresh process (imports done before the
clock starts; the file in the page cache, so that the reader's own cost shows), cases
interleaved, best of ``WHOLE_REPEAT``: ``tifffile.imread`` against ``np.asarray(read(path).data)``
of the lazily opened stack and ``read(path).load()``; memory is the rise of the process's
peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
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
    tifffile.imwrite(
        path,
        (base + i for i in range(planes)),
        shape=shape,
        dtype=np.uint16,
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "ZYX", "spacing": 2.0, "unit": "um"},
    )
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
    assert volume.metadata["lazy"], "a stack this small opens in memory: use --gib 0.6 or more"
    rows.append(("segkit read (open, lazy)", seconds, peak))
    seconds, peak, first = measure(lambda: np.asarray(read(path).data[0]), path)
    rows.append(("segkit read + first plane", seconds, peak))
    assert np.array_equal(first, first_reference)
    seconds, peak, whole = measure(lambda: np.asarray(read(path).data), path)
    rows.append(("segkit read + `np.asarray(data)` (whole stack)", seconds, peak))
    assert whole.shape == volume.data.shape and np.array_equal(whole[0], first_reference)
    del whole
    seconds, peak, whole = measure(lambda: read(path).load().data, path)
    rows.append(("segkit read + whole stack (`Volume.load`)", seconds, peak))
    assert whole.shape == volume.data.shape and np.array_equal(whole[0], first_reference)
    return rows


#: runs of each whole-stack case (fresh processes, cheap)
WHOLE_REPEAT = 5
#: whole-stack cases run in fresh processes: name -> (row label, the call)
WHOLE = {
    "imread": ("`tifffile.imread(path)`", lambda path: tifffile.imread(path)),
    "asarray": (
        "`np.asarray(read(path).data)` (lazy stack)",
        lambda path: np.asarray(read(path).data),
    ),
    "load": ("`read(path).load().data`", lambda path: read(path).load().data),
}


def peak_rss() -> int:
    """This process's peak resident memory in bytes (Linux VmHWM; unlike ru_maxrss it does
    not start from the parent's peak, and clear_refs resets it)."""
    status = Path("/proc/self/status").read_text()
    return (
        int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))
        * 1024
    )


def whole_case(name: str, path: Path) -> None:
    """Child process: print seconds and the rise of peak RSS (MiB) of one whole-stack read."""
    import dask.array  # noqa: F401  (imports are not part of the read)
    import zarr  # noqa: F401

    np.asarray(read(path).data[0])  # dask's and zarr's first-use set-up, as in napari
    WHOLE[name][1](path)  # once untimed: the file into the page cache, the result freed
    Path("/proc/self/clear_refs").write_text("5")  # peak RSS := current RSS
    before = peak_rss()
    start = time.perf_counter()
    data = WHOLE[name][1](path)
    seconds = time.perf_counter() - start
    rise = (peak_rss() - before) / 2**20
    print(json.dumps({"seconds": seconds, "mib": rise, "sum": int(data[-1, :8, :8].sum())}))


def whole_rows(path: Path) -> list[tuple[str, float, float]]:
    """(label, best seconds, peak-RSS rise MiB) per case; the cases interleave, warm cache."""
    found: dict[str, list[dict]] = {name: [] for name in WHOLE}
    for _ in range(WHOLE_REPEAT):
        for name in WHOLE:
            out = subprocess.run(
                [sys.executable, __file__, "--case", name, str(path)],
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            found[name].append(json.loads(out.splitlines()[-1]))
    assert len({run["sum"] for runs in found.values() for run in runs}) == 1  # same values
    return [
        (WHOLE[name][0], min(r["seconds"] for r in runs), max(r["mib"] for r in runs))
        for name, runs in found.items()
    ]


def napari_rows(path: Path) -> list[tuple[str, float, float]]:
    import napari

    rows = []
    for plugin, label in (
        ("napari-segkit", "napari + segkit reader: first plane shown"),
        ("napari", "napari + napari's reader: first plane shown"),
    ):
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
    if sys.argv[1:2] == ["--case"]:  # a child of whole_rows
        return whole_case(sys.argv[2], Path(sys.argv[3]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gib", type=float, default=2.0)
    parser.add_argument("--folder", type=Path, default=Path("/tmp"))
    parser.add_argument("--napari", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the stack for the next run")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    path = args.folder / f"segkit-bench-{args.gib:g}gib.tif"
    try:
        shape = make_stack(path, args.gib)
        size = path.stat().st_size / 2**30
        rows = library_rows(path) + (napari_rows(path) if args.napari else [])
        whole = whole_rows(path)
    finally:
        if not args.keep:
            path.unlink(missing_ok=True)
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
        'machine has a host cache under it, so "cold" times vary from run to run.',
        "",
        "| step | seconds | × tifffile.imread | peak MiB |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds, peak in rows:
        lines.append(f"| {name} | {seconds:.3f} | {seconds / reference:.3f} | {peak:.0f} |")
    lines += [
        "",
        "Whole stack into NumPy, each run in a fresh process with the file in the page cache "
        f"(the reader's own cost), cases interleaved, best of {WHOLE_REPEAT}; memory is the rise "
        "of the process's peak RSS (largest of the runs):",
        "",
        "| call | seconds | × tifffile.imread | peak RSS rise MiB |",
        "|---|---:|---:|---:|",
    ]
    for name, seconds, peak in whole:
        lines.append(f"| {name} | {seconds:.3f} | {seconds / whole[0][1]:.2f} | {peak:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()

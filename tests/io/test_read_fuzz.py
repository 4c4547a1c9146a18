"""Fuzzing the readers with broken copies of real files: truncated, bit-flipped, and with
headers that claim a huge image.

Every case must, within a few seconds, either give a Volume or raise ReadError /
FileNotFoundError naming the file; napari's reader getter must never raise. The cases run
in a subprocess per format with a per-case alarm, so a hang fails the test instead of
stalling CI; the worker's address space is capped so that a reader which tries to allocate
what a header claims fails fast instead of exhausting the machine.
"""

from __future__ import annotations

import gzip
import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CASE_SECONDS = 10  # a case slower than this counts as a hang
MEMORY_CAP = 6 * 2**30  # bytes of address space for the worker


# --- the corpus -------------------------------------------------------------------------------


def _sources(folder: Path) -> dict[str, list[Path]]:
    """Real files from installed packages (and real images written as ImageJ/OME TIFF)."""
    import nibabel.testing
    import pydicom.data
    import skimage
    import skimage.data
    import tifffile

    folder.mkdir()
    skimage_data = Path(skimage.__file__).parent / "data"
    camera = skimage.data.camera()[:64, :80]
    stack = np.stack([np.roll(camera, 7 * k, axis=0) for k in range(6)])
    tifffile.imwrite(
        folder / "imagej.tif",
        stack,
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "ZYX", "spacing": 1.5, "unit": "um"},
    )
    tifffile.imwrite(
        folder / "ome_zlib.ome.tif",
        stack.reshape(3, 2, 64, 80),
        ome=True,
        compression="zlib",
        metadata={"axes": "ZCYX", "PhysicalSizeX": 0.5},
    )
    tifffile.imwrite(folder / "coins_tiled.tif", skimage.data.coins()[:128, :128], tile=(32, 32))
    tiffs = [
        skimage_data / "multipage.tif",
        skimage_data / "multipage_rgb.tif",
        folder / "imagej.tif",
        folder / "ome_zlib.ome.tif",
        folder / "coins_tiled.tif",
    ]
    nifti_data = Path(nibabel.testing.data_path)
    niftis = [
        nifti_data / n
        for n in ("anatomical.nii", "example4d.nii.gz", "standard.nii.gz", "example_nifti2.nii.gz")
    ]
    dicoms = [
        Path(pydicom.data.get_testdata_file(n))
        for n in (
            "CT_small.dcm",
            "MR_small.dcm",
            "rtdose.dcm",
            "SC_rgb_small_odd.dcm",
            "image_dfl.dcm",
            "MR_small_bigendian.dcm",
            "liver_1frame.dcm",
        )
    ]
    return {"tiff": tiffs, "nifti": niftis, "dicom": dicoms}


def _name(source: Path, tag: str) -> str:
    """A mutant's file name: same extension(s) as its source."""
    name = source.name
    stem = name.split(".")[0]
    return f"{stem}__{tag}{name[len(stem) :]}"


def _truncations(raw: bytes) -> list[tuple[str, bytes]]:
    sizes = {0, 8, 100, 132, 300, len(raw) - 1}
    sizes |= {int(len(raw) * f) for f in (0.1, 0.25, 0.5, 0.75, 0.9, 0.99)}
    return [(f"cut{n}", raw[:n]) for n in sorted(sizes) if n < len(raw)]


def _flips(raw: bytes, seed: int, count: int = 14) -> list[tuple[str, bytes]]:
    """Random single-byte changes in the first 2 KiB (headers, IFDs, tags), and a few
    anywhere."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        data = bytearray(raw)
        span = len(raw) if k % 4 == 3 else min(len(raw), 2048)
        for _ in range(1 + k % 3):
            i = int(rng.integers(span))
            data[i] = int(rng.integers(256)) if k % 2 else data[i] ^ (1 << int(rng.integers(8)))
        out.append((f"flip{k}", bytes(data)))
    return out


def _huge_tiff(path: Path) -> list[tuple[str, bytes]]:
    """Image width and length (and the ImageJ plane count) set to huge values."""
    import tifffile

    raw = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages.first.tags
        fields = [(tags[n].valueoffset, tags[n].dtype) for n in ("ImageWidth", "ImageLength")]
    for offset, dtype in fields:
        fmt, value = ("<H", 65000) if dtype == 3 else ("<I", 2**30)
        struct.pack_into(fmt, raw, offset, value)
    out = [("huge", bytes(raw))]
    original = path.read_bytes()
    if b"images=6" in original:
        out.append(
            (
                "manyplanes",
                original.replace(b"images=6", b"images=9").replace(b"slices=6", b"slices=9"),
            )
        )
    return out


def _huge_nifti(path: Path) -> list[tuple[str, bytes]]:
    """dim[1:4] set to huge values (NIfTI-1 int16 at byte 40, NIfTI-2 int64 at byte 16)."""
    gz = path.name.endswith(".gz")
    raw = bytearray(gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
    order = "<" if struct.unpack_from("<i", raw, 0)[0] in (348, 540) else ">"
    if struct.unpack_from(f"{order}i", raw, 0)[0] == 540:
        struct.pack_into(f"{order}3q", raw, 24, 2**20, 2**20, 2**20)
    else:
        struct.pack_into(f"{order}3h", raw, 42, 32000, 32000, 32000)
    data = gzip.compress(bytes(raw), mtime=0) if gz else bytes(raw)
    return [("huge", data)]


def _huge_dicom(path: Path) -> list[tuple[str, bytes]]:
    """Rows, Columns (and NumberOfFrames) set to huge values."""
    import io

    import pydicom

    ds = pydicom.dcmread(path)
    ds.Rows = ds.Columns = 65000
    if "NumberOfFrames" in ds:
        ds.NumberOfFrames = 99999
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=False)
    return [("huge", buffer.getvalue())]


HUGE = {"tiff": _huge_tiff, "nifti": _huge_nifti, "dicom": _huge_dicom}


def make_corpus(folder: Path) -> dict[str, list[str]]:
    """Write every mutant of every source under ``folder``; paths by format."""
    cases: dict[str, list[str]] = {}
    for kind, sources in _sources(folder / "sources").items():
        cases[kind] = []
        for seed, source in enumerate(sources):
            raw = source.read_bytes()
            for tag, data in _truncations(raw) + _flips(raw, seed) + HUGE[kind](source):
                target = folder / _name(source, tag)
                target.write_bytes(data)
                cases[kind].append(str(target))
    return cases


# --- the worker (runs in a subprocess) ------------------------------------------------------


def _check_one(path: Path) -> str:
    """ "ok ...", "refused ..." or "BAD ..." for one file."""
    import napari_segkit
    from napari_segkit._reader import get_reader, layer_data
    from napari_segkit.io import ReadError, Volume

    try:
        getter = get_reader(str(path))
    except Exception as err:  # noqa: BLE001
        return f"BAD getter raised {type(err).__name__}: {err}"
    try:
        result = napari_segkit.read(path)
    except (ReadError, FileNotFoundError) as err:
        if path.name not in str(err):
            return f"BAD {type(err).__name__} does not name the file: {err}"
        return f"refused {type(err).__name__}: {err}"
    except Exception as err:  # noqa: BLE001
        return f"BAD escaped {type(err).__name__}: {err}"
    volumes = result if isinstance(result, list) else [result]
    if not all(isinstance(v, Volume) for v in volumes):
        return f"BAD returned {type(result).__name__}"
    for volume in volumes:
        first = volume.data[(0,) * (volume.data.ndim - 2)]
        np.asarray(first)  # a lazy volume must give its first plane
        layer_data(volume)
    if getter is None:
        return f"BAD getter declined a file that read opens: {path.name}"
    return f"ok {[tuple(v.data.shape) for v in volumes]}"


class Hang(BaseException):
    """Raised by the alarm; not an Exception, so no reader can turn it into a ReadError."""


def _alarm(signum, frame):
    raise Hang(f"no answer in {CASE_SECONDS} s")


def worker(paths: list[str]) -> None:
    """Print one JSON line per case: its path and its outcome."""
    import resource
    import signal
    import warnings

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    warnings.simplefilter("ignore")
    signal.signal(signal.SIGALRM, _alarm)
    for path in paths:
        print(json.dumps({"start": path}), flush=True)
        signal.alarm(CASE_SECONDS)
        try:
            outcome = _check_one(Path(path))
        except Hang as err:
            outcome = f"BAD hang: {err}"
        except Exception as err:  # noqa: BLE001 (e.g. touching a lazy volume's data)
            outcome = f"BAD data of the volume: {type(err).__name__}: {err}"
        signal.alarm(0)
        print(json.dumps({"path": path, "outcome": outcome}), flush=True)


def run_batch(paths: list[str], timeout: float) -> dict[str, str]:
    """Outcome per path; a worker that dies or stalls marks the case it was on."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    outcomes: dict[str, str] = {}
    remaining = list(paths)
    while remaining:
        try:
            done = subprocess.run(
                [sys.executable, __file__, *remaining],
                capture_output=True,
                text=True,
                timeout=timeout,
                env=env,
            )
            stdout, failure = done.stdout, f"worker died ({done.returncode}): {done.stderr[-300:]}"
        except subprocess.TimeoutExpired as err:
            stdout = err.stdout.decode() if isinstance(err.stdout, bytes) else err.stdout or ""
            failure = f"hang (worker killed after {timeout:.0f} s)"
        current = None
        for line in stdout.splitlines():
            record = json.loads(line)
            if "start" in record:
                current = record["start"]
            else:
                outcomes[record["path"]] = record["outcome"]
                current = None
        remaining = [p for p in remaining if p not in outcomes]
        if remaining:  # the worker stopped on `current` (or before the first case)
            stuck = current or remaining[0]
            outcomes[stuck] = f"BAD {failure}"
            remaining.remove(stuck)
    return outcomes


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("fuzz"))


@pytest.mark.parametrize("kind", ["tiff", "nifti", "dicom"])
def test_broken_copies_of_real_files_are_read_or_refused_by_name(corpus, kind):
    paths = corpus[kind]
    assert len(paths) > 50
    outcomes = run_batch(paths, timeout=120)
    bad = {Path(p).name: o for p, o in outcomes.items() if o.startswith("BAD")}
    assert not bad, "\n".join(f"{name}: {outcome}" for name, outcome in sorted(bad.items()))
    refused = sum(o.startswith("refused") for o in outcomes.values())
    assert 0 < refused < len(paths)  # the corpus has both readable and broken files


if __name__ == "__main__":
    worker(sys.argv[1:])

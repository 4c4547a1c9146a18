"""Overwriting: a killed write leaves the complete old or the complete new result, its
temporaries are swept, and nothing segkit did not write is replaced."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest
import tifffile
from conftest import needs_unet

from napari_segkit import cli, read, write
from napari_segkit.io import write_labels
from napari_segkit.io._atomic import TEMP_NAME, sweep, temp_name
from napari_segkit.tiling import scheduler

SHAPE = (160, 160)
OLD = np.ones(SHAPE, np.uint16)
NEW = (np.arange(np.prod(SHAPE)).reshape(SHAPE) % 250 + 2).astype(np.uint16)

# The child overwrites ``path`` after printing "go". Deleting and swapping are slowed (each
# file removal 5 ms, each rename onto or from ``path`` 0.2 s before and after) so that
# kill -9 lands inside those steps; EXCHANGE=0 takes away the atomic folder exchange.
CHILD = textwrap.dedent("""
    import os, sys, time
    import numpy as np
    from napari_segkit import write
    from napari_segkit.io import _atomic
    from napari_segkit.io import write_labels

    path = sys.argv[1]

    def slow(function, before, after):
        def slowed(*args, **kwargs):
            mine = any(str(a).endswith(os.path.basename(path)) for a in args[:2])
            time.sleep(before if mine else 0)
            result = function(*args, **kwargs)
            time.sleep(after if mine else 0)
            return result
        return slowed

    unlink = os.unlink
    os.unlink = os.remove = lambda *args, **kwargs: time.sleep(0.005) or unlink(*args, **kwargs)
    os.replace = slow(os.replace, 0.2, 0.2)
    os.rename = slow(os.rename, 0.2, 0.2)
    if os.environ["EXCHANGE"] == "0":
        _atomic._exchange = lambda a, b: False
    elif hasattr(_atomic, "_exchange"):
        _atomic._exchange = slow(_atomic._exchange, 0.2, 0.2)
    new = (np.arange(160 * 160).reshape(160, 160) % 250 + 2).astype(np.uint16)
    print("go", flush=True)
    start = time.perf_counter()
    if path.endswith(".zarr"):
        write_labels(path, new, overwrite=True)
    else:
        write(path, new, overwrite=True)
    print(time.perf_counter() - start, flush=True)
""")


def _child(path: Path, exchange: bool, kill_after: float | None = None) -> float | None:
    """Overwrite ``path`` in a child; kill -9 it ``kill_after`` s after it starts writing.
    Returns how long the write took when it was not killed."""
    env = {**os.environ, "EXCHANGE": "1" if exchange else "0"}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path)], env=env, stdout=subprocess.PIPE, text=True
    )
    assert child.stdout.readline().strip() == "go"
    if kill_after is None:
        out, _ = child.communicate(timeout=120)
        assert child.returncode == 0
        return float(out)
    time.sleep(kill_after)
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    return None


def _result(path: Path) -> str:
    """ "old" or "new": what ``path`` holds, which must be one of them, complete."""
    data = np.asarray(read(path).data)
    for name, expected in (("old", OLD), ("new", NEW)):
        if data.shape == expected.shape and np.array_equal(data, expected):
            return name
    raise AssertionError(f"{path} holds neither the old nor the new result")


@pytest.mark.slow
@pytest.mark.parametrize(
    "name, exchange, fractions",
    [
        ("labels.zarr", True, (0.1, 0.3, 0.6, 0.9)),
        ("labels.zarr", False, (0.1, 0.45, 0.6, 0.9)),  # 0.45, 0.6: the old store moved aside
        ("labels.tif", True, (0.1, 0.5, 0.9)),
    ],
)
def test_kill_during_overwrite_leaves_the_old_or_the_new_result(
    tmp_path, name, exchange, fractions
):
    path = tmp_path / name
    _write_old(path)
    seconds = _child(path, exchange)  # an overwrite that runs to the end
    assert _result(path) == "new" and sorted(os.listdir(tmp_path)) == [name]
    seen = set()
    for fraction in fractions:  # of the time the whole overwrite took
        _write_old(path)
        _child(path, exchange, kill_after=fraction * seconds)
        sweep(tmp_path)  # what the next write into the folder does first
        seen.add(_result(path))
        assert sorted(os.listdir(tmp_path)) == [name], "temporaries were left"
    assert seen == {"old", "new"}  # the kills landed before and after the swap


def _write_old(path: Path) -> None:
    """The old result; a store in 100 chunks, so that deleting it takes a while."""
    if path.suffix == ".zarr":
        import dask.array as da

        write_labels(path, da.from_array(OLD, chunks=16), overwrite=True)
    else:
        write(path, OLD, overwrite=True)


def _dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_sweep_removes_only_stale_segkit_temporaries(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    stale_file = tmp_path / f".a.tif.segkit-tmp-{dead}-0123abcd.tif"
    stale_folder = tmp_path / f".b.zarr.segkit-tmp-{dead}-0123abcd.zarr"
    reused = tmp_path / f".c.tif.segkit-tmp-{alive}-0123abcd.tif"  # older than this process
    current = temp_name(tmp_path / "d.tif", suffix=".tif")  # being written by this process
    others = [
        tmp_path / n
        for n in (
            ".hidden",
            ".e.tif.x8Jk2pQa.tif",
            "f.tif",
            f".g.segkit-tmp-{dead}-nothex00",
            f"h.segkit-tmp-{dead}-01234567",
        )
    ]
    for p in (stale_file, reused, current, *others):
        p.write_text("x")
    stale_folder.mkdir()
    (stale_folder / "0").write_text("x")
    os.utime(reused, (time.time() - 86400, time.time() - 86400))
    # a killed writer had moved the old x.zarr aside and not yet moved the new one in
    trash = tmp_path / f".x.zarr.segkit-trash-{dead}-0123abcd"
    (trash / "x.zarr").mkdir(parents=True)
    (trash / "x.zarr" / "keep").write_text("old")

    removed = sweep(tmp_path)

    assert sorted(removed) == sorted([stale_file, stale_folder, reused, trash])
    assert all(p.exists() for p in (current, *others))
    assert (tmp_path / "x.zarr" / "keep").read_text() == "old"
    assert TEMP_NAME.fullmatch(current.name) and not TEMP_NAME.fullmatch(others[1].name)


def test_a_write_sweeps_its_folder_first(tmp_path):
    stale = tmp_path / f".y.tif.segkit-tmp-{_dead_pid()}-0123abcd.tif"
    stale.write_text("x")
    write(tmp_path / "z.tif", OLD)
    assert sorted(os.listdir(tmp_path)) == ["z.tif"]


@pytest.mark.parametrize("name", ["x.zarr", "x.tif"])
def test_overwrite_refuses_a_folder_segkit_did_not_write(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "thesis.docx").write_text("years of work")
    import dask.array as da

    for labels in (OLD, da.from_array(OLD)):
        with pytest.raises(FileExistsError, match="it is left as it is"):
            write(folder, labels, overwrite=True)
    with pytest.raises(FileExistsError, match="it is left as it is"):
        write_labels(folder, OLD, overwrite=True)
    assert os.listdir(folder) == ["thesis.docx"]
    assert (folder / "thesis.docx").read_text() == "years of work"


def test_a_zarr_store_from_another_tool_is_left_alone(tmp_path):
    import zarr

    root = zarr.open_group(str(tmp_path / "image.zarr"), mode="w", zarr_format=2)
    root.create_array("0", shape=SHAPE, dtype=np.uint16)[:] = 7
    with pytest.raises(FileExistsError, match="not an OME-Zarr label store written by"):
        write_labels(tmp_path / "image.zarr", OLD, overwrite=True)
    assert np.asarray(zarr.open_array(str(tmp_path / "image.zarr" / "0")))[0, 0] == 7


def test_a_plain_tiff_is_replaced_only_with_overwrite(tmp_path):
    path = tmp_path / "photo.tif"
    tifffile.imwrite(path, np.full(SHAPE, 9, np.uint8))
    with pytest.raises(FileExistsError, match="already exists"):
        write(path, OLD)
    assert np.asarray(read(path).data).max() == 9
    write(path, NEW, overwrite=True)
    np.testing.assert_array_equal(read(path).data, NEW)


@pytest.mark.parametrize("ext", [".tif", ".nii.gz", ".png", ".zarr"])
def test_a_250_byte_file_name_is_written(tmp_path, ext):
    path = tmp_path / ("é" * 40 + "x" * (250 - 80 - len(ext)) + ext)
    assert len(path.name.encode()) == 250
    labels = (OLD[:20, :20] * 3).astype(np.uint8)
    write(path, labels)
    write(path, labels + 1, overwrite=True)
    np.testing.assert_array_equal(np.squeeze(np.asarray(read(path).data)), labels + 1)
    assert os.listdir(tmp_path) == [path.name]


def test_demo_twice_writes_a_new_folder_or_asks_for_overwrite(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    demo = ["demo", "--sample", "nuclei_2d"]
    assert cli.main(demo) == 0
    first = (tmp_path / "segkit-demo" / "nuclei_2d_labels.tif").stat().st_mtime_ns
    assert cli.main(demo) == 0
    assert "segkit-demo-2" in capsys.readouterr().out
    assert (tmp_path / "segkit-demo-2" / "nuclei_2d_overview.png").is_file()
    assert (tmp_path / "segkit-demo" / "nuclei_2d_labels.tif").stat().st_mtime_ns == first

    assert cli.main([*demo, "--out", "segkit-demo"]) == 1
    error = capsys.readouterr().err
    assert "already holds demo results" in error and "--overwrite" in error
    assert (tmp_path / "segkit-demo" / "nuclei_2d_labels.tif").stat().st_mtime_ns == first
    assert cli.main([*demo, "--out", "segkit-demo", "--overwrite"]) == 0
    assert (tmp_path / "segkit-demo" / "nuclei_2d_labels.tif").stat().st_mtime_ns != first


def test_an_inproc_scheduler_is_refused_with_the_accepted_forms():
    with pytest.raises(ValueError, match=r"'threads', 'local' or .*tcp://host:port"):
        with scheduler("inproc://x"):
            pass


@needs_unet
def test_train_checks_the_output_folder_and_free_space_before_training(
    tmp_path, monkeypatch, capsys
):
    write(tmp_path / "image.tif", NEW)
    write(tmp_path / "labels.tif", (NEW > 100).astype(np.uint8))
    trained = []
    monkeypatch.setattr(cli.unet, "train", lambda *a, **k: trained.append(1))
    args = ["train", "--image", tmp_path / "image.tif", "--labels", tmp_path / "labels.tif"]
    args = [str(a) for a in args]

    assert cli.main([*args, "-o", str(tmp_path / "missing" / "model")]) == 1
    assert "missing for the output does not exist" in capsys.readouterr().err

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(cli.shutil, "disk_usage", lambda p: usage(10**9, 10**9 - 10**5, 10**5))
    assert cli.main([*args, "-o", str(tmp_path / "model")]) == 1
    error = capsys.readouterr().err
    assert "0 MB free" in error and "the model needs about" in error
    assert not trained and not (tmp_path / "model").exists()

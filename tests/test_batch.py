"""`segkit run ... -o OUTDIR` batches and `segkit measure`."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import tifffile
from skimage import data

import napari_segkit as sk
from napari_segkit.cli import main
from napari_segkit.recipe import Recipe

SEGKIT = str(Path(sys.executable).parent / "segkit")


def write_tif(path, image, pixel=0.5):
    tifffile.imwrite(
        path,
        image,
        imagej=True,
        resolution=(1 / pixel, 1 / pixel),
        metadata={"unit": "um", "axes": "YX"},
    )


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    coins = data.coins()
    write_tif(images / "a.tif", coins)
    write_tif(images / "b.tif", coins[:200, :250])
    (images / "c.tif").write_bytes(b"II*\x00 this is not a TIFF")
    return images


@pytest.mark.slow
def test_batch_folder_with_a_corrupt_file_and_resume(folder, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [SEGKIT, "run", "threshold", str(folder), "-o", str(out), "--measure", "--method", "li"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    assert "c.tif" in done.stderr and "1 input(s) failed" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "a_labels.tif",
        "a_measure.csv",
        "b_labels.tif",
        "b_measure.csv",
        "summary.csv",
    ]
    labels = sk.read(out / "a_labels.tif")
    np.testing.assert_array_equal(labels.data, sk.label(sk.threshold(data.coins(), "li")))
    assert labels.spacing == pytest.approx((0.5, 0.5))
    table = pd.read_csv(out / "a_measure.csv")
    expected = sk.measure(labels.data, data.coins(), spacing=(0.5, 0.5))
    pd.testing.assert_frame_equal(table, expected, check_dtype=False, rtol=1e-9)
    summary = pd.read_csv(out / "summary.csv").set_index("file")
    a = summary.loc[str(folder / "a.tif")]
    assert a["status"] == "done" and a["objects"] == len(expected)
    assert a["area_total"] == pytest.approx(expected["area"].sum())
    assert a["area_median"] == pytest.approx(expected["area"].median())
    assert summary.loc[str(folder / "c.tif"), "status"] == "failed"
    before = (out / "a_labels.tif").stat().st_mtime_ns
    again = subprocess.run(
        [
            SEGKIT,
            "run",
            "threshold",
            str(folder / "*.tif"),
            "-o",
            str(out),
            "--measure",
            "--method",
            "li",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 1 and "2 skipped" in again.stdout
    assert (out / "a_labels.tif").stat().st_mtime_ns == before
    resumed = pd.read_csv(out / "summary.csv").set_index("file")
    assert resumed.loc[str(folder / "a.tif"), "objects"] == len(expected)


def test_batch_with_a_recipe_in_parallel_threads(folder, tmp_path, capsys):
    (folder / "c.tif").unlink()
    recipe = Recipe()
    recipe.add("threshold", {"method": "otsu"})
    recipe.add("label")
    recipe.save(tmp_path / "r.yaml")
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(tmp_path / "r.yaml"),
            str(folder / "a.tif"),
            str(folder / "b.tif"),
            str(tmp_path / "missing.tif"),
            "-o",
            str(out),
            "--scheduler",
            "threads",
            "--workers",
            "2",
        ]
    )
    assert code == 1 and "missing.tif does not exist" in capsys.readouterr().err
    np.testing.assert_array_equal(
        sk.read(out / "b_labels.tif").data, sk.label(sk.threshold(data.coins()[:200, :250]))
    )
    assert (
        main(
            [
                "run",
                str(tmp_path / "r.yaml"),
                str(folder / "a.tif"),
                "-o",
                str(tmp_path / "one.tif"),
            ]
        )
        == 0
    )  # one file, one output
    np.testing.assert_array_equal(
        sk.read(tmp_path / "one.tif").data, sk.read(out / "a_labels.tif").data
    )


def test_measure_command_writes_the_table(tmp_path, capsys):
    coins = data.coins()
    labels = sk.label(sk.threshold(coins))
    write_tif(tmp_path / "labels.tif", labels.astype(np.uint16), pixel=0.25)
    write_tif(tmp_path / "image.tif", coins, pixel=0.25)
    assert (
        main(
            [
                "measure",
                str(tmp_path / "labels.tif"),
                "--image",
                str(tmp_path / "image.tif"),
                "-o",
                str(tmp_path / "t.csv"),
            ]
        )
        == 0
    )
    assert "objects" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "t.csv")
    pd.testing.assert_frame_equal(
        table, sk.measure(labels, coins, spacing=0.25), check_dtype=False, rtol=1e-9
    )
    assert main(["measure", str(tmp_path / "labels.tif"), "-o", str(tmp_path / "t.csv")]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["run", "nonsense", str(tmp_path / "image.tif"), "-o", str(tmp_path / "x")]) == 1
    assert "METHOD must be one of" in capsys.readouterr().err

import os
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pydicom
import pytest

import napari_segkit
from napari_segkit import label, read, samples, threshold, write

from .conftest import needs_unet

SEGKIT = str(Path(sys.executable).parent / "segkit")


def segkit(*args, cwd=None):
    return subprocess.run(
        [SEGKIT, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.fixture
def stack(tmp_path):
    volume = samples.nuclei_3d()
    path = tmp_path / "stack.tif"
    import tifffile

    tifffile.imwrite(
        path,
        volume.data,
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={"spacing": 1.0, "unit": "um", "axes": "ZYX"},
    )
    return path, volume


def test_run_threshold_writes_the_same_labels_as_the_api(stack, tmp_path):
    path, volume = stack
    done = segkit("run", "threshold", path, "-o", tmp_path / "labels.tif", "--method", "yen")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "(yen)" in done.stdout
    out = read(tmp_path / "labels.tif")
    np.testing.assert_array_equal(out.data, label(threshold(volume.data, "yen")))
    assert out.spacing == pytest.approx((1.0, 0.25, 0.25))


def test_run_semantic_dark_on_rgb_png(tmp_path):
    rgb = samples.ihc_slide().data
    iio.imwrite(tmp_path / "slide.png", rgb)
    done = segkit(
        "run",
        "threshold",
        tmp_path / "slide.png",
        "-o",
        tmp_path / "mask.png",
        "--no-instances",
        "--dark",
        "--method=otsu",
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        iio.imread(tmp_path / "mask.png"), threshold(rgb, dark=True).astype(np.uint8)
    )


def test_version_prints_the_package_version():
    done = segkit("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"napari-segkit {napari_segkit.__version__}"


def test_run_help_lists_each_methods_parameters():
    """The run options are added when `segkit run` is used: its help lists the methods and
    their parameters, taken from their signatures."""
    done = segkit("run", "--help")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "one of: adaptive, chan-vese," in text and "watershed; or a recipe" in text
    assert "threshold parameters: --method (str), --value (float)" in text
    assert "remove-small parameters: --min_size (float)" in text


def test_info_describes_the_file(stack):
    path, _ = stack
    done = segkit("info", path)
    assert done.returncode == 0, done.stderr
    assert "(24, 160, 160)" in done.stdout and "uint16" in done.stdout
    assert "1 µm × 0.25 µm × 0.25 µm" in done.stdout and "imagej" in done.stdout


@pytest.mark.slow
def test_demo_writes_labels_and_overviews(tmp_path):
    done = segkit("demo", "--out", tmp_path / "demo")
    assert done.returncode == 0, done.stderr
    for name in ("nuclei_2d", "nuclei_3d", "ihc_slide"):
        labels = read(tmp_path / "demo" / f"{name}_labels.tif").data
        assert labels.max() > 10
        picture = iio.imread(tmp_path / "demo" / f"{name}_overview.png")
        assert picture.ndim == 3 and picture.shape[-1] == 3
    assert "nuclei_2d" in done.stdout and "Dice" in done.stdout


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "threshold", "missing.tif", "-o", "out.tif"], "no such file"),
        (
            ["run", "threshold", "in.tif", "-o", "out.tif", "--colour", "red"],
            "no parameter --colour",
        ),
        (["run", "threshold", "in.tif", "-o", "out.tif", "--nbins", "many"], "takes a int"),
        (["run", "threshold", "in.tif", "-o", "in.tif"], "already exists"),
        (["run", "threshold", "flat.tif", "-o", "out.tif"], "constant"),
        (["run", "threshold", "in.tif", "-o", "out.tif", "--device", "gpu"], "device='gpu'"),
        (
            ["run", "threshold", "in.tif", "-o", "out.tif", "--scheduler", "inproc://x"],
            "tcp://host:port",
        ),
    ],
)
def test_bad_input_exits_non_zero_with_one_line(tmp_path, args, message):
    write(tmp_path / "in.tif", np.arange(64, dtype=np.uint8).reshape(8, 8))
    write(tmp_path / "flat.tif", np.full((8, 8), 3, np.uint8))
    done = segkit(*args, cwd=tmp_path)
    if "gpu" in args and done.returncode == 0:
        pytest.skip("this machine has a GPU")
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("segkit: error:"), done.stderr
    assert message in lines[0]
    assert not (tmp_path / "out.tif").exists()


@pytest.mark.slow
def test_run_adaptive_in_physical_units(stack, tmp_path):
    path, volume = stack
    done = segkit(
        "run",
        "adaptive",
        path,
        "-o",
        tmp_path / "labels.tif",
        "--method",
        "sauvola",
        "--block_size",
        "4",
        "--physical",
        "--k",
        "0.3",
    )
    assert done.returncode == 0, done.stderr
    from napari_segkit import adaptive_threshold

    expected = label(
        adaptive_threshold(volume.data, "sauvola", block_size=4, spacing=(1.0, 0.25, 0.25), k=0.3)
    )
    np.testing.assert_array_equal(read(tmp_path / "labels.tif").data, expected)


def test_run_multiotsu_writes_classes(stack, tmp_path):
    path, volume = stack
    done = segkit(
        "run",
        "threshold",
        path,
        "-o",
        tmp_path / "classes.tif",
        "--method",
        "multiotsu",
        "--classes",
        "3",
    )
    assert done.returncode == 0, done.stderr
    assert "3 classes" in done.stdout
    np.testing.assert_array_equal(
        read(tmp_path / "classes.tif").data, threshold(volume.data, "multiotsu", classes=3)
    )


DICOM_SERIES = Path(os.path.dirname(pydicom.data.__file__)) / "test_files" / "dicomdirtests"


def test_info_lists_every_series_of_a_dicom_folder_with_one_line_warnings():
    done = segkit("info", DICOM_SERIES)
    assert done.returncode == 0, done.stderr
    assert "(9 series)" in done.stdout and "SmartScore - Gated 0.5 sec" in done.stdout
    assert "2.5 mm × 0.488281 mm × 0.488281 mm" in done.stdout
    warnings = done.stderr.strip().splitlines()
    assert warnings and all(w.startswith("segkit: warning:") for w in warnings)


def test_run_on_a_dicom_folder_needs_a_series_and_writes_nifti(tmp_path):
    out = tmp_path / "ct.nii.gz"
    refused = segkit("run", "threshold", DICOM_SERIES, "-o", out)
    assert refused.returncode == 1 and "choose one with --series" in refused.stderr
    done = segkit(
        "run",
        "threshold",
        DICOM_SERIES,
        "-o",
        out,
        "--series",
        "smartscore",
        "--value",
        "0",
        "--method",
        "manual",
    )
    assert done.returncode == 0, done.stderr
    ct = read(DICOM_SERIES / "98892001" / "CT5N")
    back = read(out)
    np.testing.assert_array_equal(back.data > 0, ct.data > 0)
    np.testing.assert_allclose(back.affine, ct.affine, atol=1e-5)


def test_eval_over_two_folders_writes_one_table(tmp_path):
    reference = label(samples.nuclei_2d().data > 400)
    worse = reference.copy()
    worse[worse == 3] = 0  # one object missed
    for folder, images in (("pred", (reference, worse)), ("ref", (reference, reference))):
        (tmp_path / folder).mkdir()
        for name, image in zip(("a", "b"), images):
            write(tmp_path / folder / f"{name}.tif", image)
    done = segkit("eval", tmp_path / "pred", tmp_path / "ref", "-o", tmp_path / "table.csv")
    assert done.returncode == 0, done.stderr
    assert f"a: tp {int(reference.max())}, fp 0, fn 0" in done.stdout
    assert f"b: tp {int(reference.max()) - 1}, fp 0, fn 1" in done.stdout
    lines = (tmp_path / "table.csv").read_text().splitlines()
    assert lines[0].startswith("file,status,prediction_id,reference_id,iou")
    assert sum(",missed," in line for line in lines) == 1
    assert len(lines) == 1 + 2 * int(reference.max())


# --- classic methods and post-processing ------------------------------------------------------


@pytest.mark.slow
def test_run_split_uses_the_files_voxel_size_and_equals_the_api(tmp_path):
    volume = samples.nuclei_3d(count=40, touching=True)
    write(tmp_path / "nuclei.tif", volume.data, like=volume)
    done = segkit("run", "split", str(tmp_path / "nuclei.tif"), "-o", str(tmp_path / "out.tif"))
    assert done.returncode == 0, done.stderr
    assert "in µm" in done.stdout
    saved = read(tmp_path / "out.tif")
    expected = napari_segkit.split_touching_objects(volume.data, spacing=volume.spacing)
    np.testing.assert_array_equal(saved.data, expected)
    assert saved.spacing == pytest.approx(volume.spacing)


def test_run_post_processing_steps_on_a_label_file(tmp_path):
    labels = np.zeros((40, 50), np.uint16)
    labels[2:6, 2:6] = 1  # 16 px
    labels[10:30, 10:30] = 2
    labels[15:18, 15:18] = 0  # a hole
    write(tmp_path / "labels.tif", labels)
    assert (
        segkit(
            "run", "fill-holes", str(tmp_path / "labels.tif"), "-o", str(tmp_path / "a.tif")
        ).returncode
        == 0
    )
    assert (
        segkit(
            "run",
            "remove-small",
            str(tmp_path / "a.tif"),
            "-o",
            str(tmp_path / "b.tif"),
            "--min_size",
            "20",
        ).returncode
        == 0
    )
    out = read(tmp_path / "b.tif").data
    expected = napari_segkit.postprocess.remove_small_objects(
        napari_segkit.postprocess.fill_holes(labels), 20
    )
    np.testing.assert_array_equal(out, expected)
    assert set(np.unique(out)) == {0, 2} and out[16, 16] == 2


@pytest.mark.slow
def test_run_clustering_mode_and_bad_options(tmp_path):
    volume = samples.nuclei_2d()
    write(tmp_path / "n.tif", volume.data, like=volume)
    done = segkit(
        "run", "kmeans", str(tmp_path / "n.tif"), "-o", str(tmp_path / "k.tif"), "--k", "2"
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        read(tmp_path / "k.tif").data, napari_segkit.kmeans(volume.data, 2)
    )
    bad = segkit(
        "run",
        "kmeans",
        str(tmp_path / "n.tif"),
        "-o",
        str(tmp_path / "p.tif"),
        "--mode",
        "panoptic",
    )
    assert bad.returncode == 1 and "mode must be one of" in bad.stderr
    bad = segkit(
        "run", "split", str(tmp_path / "n.tif"), "-o", str(tmp_path / "p.tif"), "--radius", "2"
    )
    assert bad.returncode == 1 and "no parameter --radius" in bad.stderr
    assert not (tmp_path / "p.tif").exists()


def test_run_seeded_methods_with_points_or_a_label_image(tmp_path):
    volume = samples.nuclei_3d(touching=True)
    write(tmp_path / "n.tif", volume.data, like=volume)
    points = np.array([[12, 40, 40], [12, 120, 120], [3, 5, 5]])
    (tmp_path / "seeds.csv").write_text(
        "z,y,x\n" + "\n".join(",".join(map(str, p)) for p in points) + "\n"
    )
    done = segkit(
        "run",
        "watershed",
        tmp_path / "n.tif",
        "-o",
        tmp_path / "w.tif",
        "--seeds",
        tmp_path / "seeds.csv",
        "--landscape",
        "edges",
        "--sigma",
        "1",
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        read(tmp_path / "w.tif").data,
        napari_segkit.watershed(
            volume.data, points, landscape="edges", sigma=1.0, spacing=volume.spacing
        ),
    )

    painted = np.zeros(volume.data.shape, np.uint8)
    painted[12, 78:82, 78:82] = 1
    write(tmp_path / "strokes.tif", painted, like=volume)
    done = segkit(
        "run",
        "region-grow",
        tmp_path / "n.tif",
        "-o",
        tmp_path / "g.tif",
        "--seeds",
        tmp_path / "strokes.tif",
        "--tolerance",
        "300",
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        read(tmp_path / "g.tif").data,
        napari_segkit.region_grow(volume.data, painted, tolerance=300),
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["watershed"], "watershed needs --seeds"),
        (["region-grow", "--seeds", "SEEDS"], "region-grow needs --tolerance"),
        (["remove-small"], "remove-small needs --min_size"),
        (["kmeans", "--seeds", "SEEDS"], "kmeans takes no --seeds"),
        (["threshold", "--seeds", "SEEDS"], "threshold takes no --seeds"),
        (["watershed", "--seeds", "BAD"], "must be numbers"),
    ],
)
def test_seeds_and_required_options_are_checked(tmp_path, args, message):
    write(tmp_path / "n.tif", samples.nuclei_2d().data)
    (tmp_path / "seeds.csv").write_text("10,10\n")
    (tmp_path / "bad.csv").write_text("y,x\n10,ten\n")
    paths = {"SEEDS": tmp_path / "seeds.csv", "BAD": tmp_path / "bad.csv"}
    args = [paths.get(a, a) for a in args]
    done = segkit("run", args[0], tmp_path / "n.tif", "-o", tmp_path / "out.tif", *args[1:])
    assert done.returncode == 1 and message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out.tif").exists()


def test_run_graph_cut_from_a_scribble_file_with_a_window(tmp_path):
    volume = samples.nuclei_2d()
    truth = volume.metadata["truth"]
    scribbles = np.zeros(truth.shape, np.uint8)
    scribbles[truth == 1], scribbles[:3] = 1, 2
    write(tmp_path / "n.tif", volume.data, like=volume)
    write(tmp_path / "scribbles.tif", scribbles, like=volume)
    done = segkit(
        "run",
        "graph-cut",
        tmp_path / "n.tif",
        "--seeds",
        tmp_path / "scribbles.tif",
        "-o",
        tmp_path / "cut.tif",
        "--lam",
        "5",
        "--window",
        "0,2000",
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        read(tmp_path / "cut.tif").data,
        napari_segkit.graph_cut(
            volume.data, scribbles, lam=5.0, window=(0.0, 2000.0), spacing=volume.spacing
        ),
    )


def test_run_grow_from_seeds_and_grab_cut(tmp_path):
    volume = samples.nuclei_2d()
    truth = volume.metadata["truth"]
    scribbles = np.zeros(truth.shape, np.uint8)
    scribbles[truth == 1], scribbles[:3] = 1, 2
    write(tmp_path / "n.tif", volume.data, like=volume)
    write(tmp_path / "scribbles.tif", scribbles, like=volume)
    done = segkit(
        "run",
        "grow-from-seeds",
        tmp_path / "n.tif",
        "--seeds",
        tmp_path / "scribbles.tif",
        "-o",
        tmp_path / "grown.tif",
        "--sigma",
        "0.5",
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        read(tmp_path / "grown.tif").data,
        napari_segkit.grow_from_seeds(volume.data, scribbles, sigma=0.5, spacing=volume.spacing),
    )
    ys, xs = np.nonzero(truth == 1)
    box = (ys.min() - 5, xs.min() - 5, ys.max() + 5, xs.max() + 5)
    done = segkit(
        "run",
        "grab-cut",
        tmp_path / "n.tif",
        "-o",
        tmp_path / "box.tif",
        "--box",
        ",".join(map(str, box)),
        "--model",
        "histogram",
    )
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(
        read(tmp_path / "box.tif").data,
        napari_segkit.grab_cut(volume.data, box, model="histogram", spacing=volume.spacing),
    )
    done = segkit("run", "grab-cut", tmp_path / "n.tif", "-o", tmp_path / "none.tif")
    assert done.returncode == 1 and "grab-cut needs --box" in done.stderr


@pytest.mark.slow
@needs_unet
def test_train_then_run_unet_writes_a_model_and_labels(stack, tmp_path):
    path, volume = stack
    truth = volume.metadata["truth"]
    labels = tmp_path / "truth.tif"
    write(labels, (truth > 0).astype(np.uint8), like=read(path))
    done = segkit(
        "train",
        "--image",
        path,
        "--labels",
        labels,
        "--labels-are",
        "classes",
        "--epochs",
        "6",
        "--steps",
        "16",
        "--device",
        "cpu",
        "-o",
        tmp_path / "model",
    )
    assert done.returncode == 0, done.stderr
    assert "epoch 6: loss" in done.stdout and "Dice background" in done.stdout
    assert (tmp_path / "model" / "config.json").is_file()
    again = segkit("train", "--image", path, "--labels", labels, "-o", tmp_path / "model")
    assert again.returncode == 1 and "already exists" in again.stderr

    done = segkit(
        "run",
        "unet",
        path,
        "--model",
        tmp_path / "model",
        "-o",
        tmp_path / "pred.tif",
        "--no-instances",
    )
    assert done.returncode == 0, done.stderr
    out = read(tmp_path / "pred.tif")
    expected = napari_segkit.unet.predict(
        tmp_path / "model", volume.data, spacing=(1.0, 0.25, 0.25), instances=False
    )
    np.testing.assert_array_equal(out.data, expected)
    assert out.spacing == pytest.approx((1.0, 0.25, 0.25))
    assert napari_segkit.methods.metrics.dice(out.data > 0, truth > 0) > 0.7

    missing = segkit("run", "unet", path, "-o", tmp_path / "x.tif")
    assert missing.returncode == 1 and "needs --model" in missing.stderr
    wrong = segkit("run", "unet", path, "--model", tmp_path, "-o", tmp_path / "x.tif")
    assert wrong.returncode == 1 and "not a segkit model folder" in wrong.stderr
    empty = tmp_path / "empty.tif"
    write(empty, np.zeros(truth.shape, np.uint8), like=read(path))
    none = segkit("train", "--image", path, "--labels", empty, "-o", tmp_path / "m2")
    assert none.returncode == 1 and "no labelled pixels" in none.stderr
    assert not (tmp_path / "m2").exists()


def test_run_block_by_block_to_ome_zarr_equals_in_memory(stack, tmp_path):
    path, volume = stack
    out = tmp_path / "labels.zarr"
    done = segkit("run", "threshold", path, "-o", out, "--chunks", "48", "--min-size", "3")
    assert done.returncode == 0, done.stderr
    assert "block by block" in done.stdout
    from napari_segkit.methods.postprocess import remove_small_objects

    # the file's voxel is 1 × 0.25 × 0.25 µm: 3 µm³ is 48 voxels
    expected = remove_small_objects(label(threshold(volume.data)), 48)
    back = read(out)
    assert back.spacing == (1.0, 0.25, 0.25) and back.is_labels
    written = back.data.compute()
    assert ((written > 0) == (expected > 0)).all()
    assert len(np.unique(written)) == len(np.unique(expected))


def test_run_on_a_local_cluster(stack, tmp_path):
    path, volume = stack
    done = segkit(
        "run",
        "threshold",
        path,
        "-o",
        tmp_path / "l.tif",
        "--scheduler",
        "local",
        "--workers",
        "2",
        "--memory-limit",
        "1GB",
    )
    assert done.returncode == 0, done.stderr
    assert "tcp://" in done.stdout and "Nanny" not in done.stderr
    np.testing.assert_array_equal(
        np.asarray(read(tmp_path / "l.tif").data) > 0, threshold(volume.data)
    )


def test_run_block_by_block_refuses_whole_image_methods(stack, tmp_path):
    path, _ = stack
    done = segkit("run", "split", path, "-o", tmp_path / "s.zarr")
    assert done.returncode == 1
    assert "needs the whole image in memory" in done.stderr
    assert not (tmp_path / "s.zarr").exists()

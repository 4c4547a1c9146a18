import os
from pathlib import Path

import numpy as np
import pytest
import skimage
import tifffile

from napari_segkit import Volume, read, samples, write

SKIMAGE_DATA = Path(skimage.__file__).parent / "data"


def test_real_multipage_tiff_ignores_the_72_dpi_default():
    volume = read(SKIMAGE_DATA / "multipage.tif")
    assert volume.data.shape == (2, 15, 10)
    assert volume.axes == "ZYX"
    assert volume.spacing == (1.0, 1.0, 1.0)  # the file says 72 pixels per inch: not a size
    assert volume.units == ("pixel",) * 3
    np.testing.assert_array_equal(volume.data, tifffile.imread(SKIMAGE_DATA / "multipage.tif"))


def test_real_planar_rgb_tiff_puts_colour_last():
    volume = read(SKIMAGE_DATA / "multipage_rgb.tif")
    assert volume.rgb and volume.axes == "ZYXS"
    assert volume.data.shape == (2, 10, 10, 3)


def test_labels_round_trip_through_imagej_tiff_with_voxel_size(tmp_path):
    source = samples.nuclei_3d()
    labels = np.arange(np.prod(source.data.shape), dtype=np.int64).reshape(source.data.shape) % 300
    write(tmp_path / "labels.tif", labels, like=source)
    back = read(tmp_path / "labels.tif")
    np.testing.assert_array_equal(back.data, labels)
    assert back.data.dtype == np.uint16  # smallest ImageJ type that holds 299
    assert back.spacing == pytest.approx(source.spacing)
    assert back.units == ("µm",) * 3
    with tifffile.TiffFile(tmp_path / "labels.tif") as tif:
        assert tif.is_imagej and tif.imagej_metadata["spacing"] == pytest.approx(1.0)


def test_many_labels_go_to_ome_tiff(tmp_path):
    like = Volume(np.zeros((2, 300, 300)), "ZYX", (2.0, 0.5, 0.5), (0.0,) * 3, ("µm",) * 3)
    labels = np.arange(2 * 300 * 300, dtype=np.uint32).reshape(2, 300, 300)  # up to 179999
    write(tmp_path / "many.tif", labels, like=like)
    back = read(tmp_path / "many.tif")
    np.testing.assert_array_equal(back.data, labels)
    assert back.spacing == pytest.approx((2.0, 0.5, 0.5))
    assert "ome" in back.metadata["reader"]


def test_png_labels_round_trip(tmp_path):
    labels = np.random.default_rng(0).integers(0, 1000, (20, 30))
    write(tmp_path / "labels.png", labels)
    np.testing.assert_array_equal(read(tmp_path / "labels.png").data, labels)
    with pytest.raises(ValueError, match="2D labels only"):
        write(tmp_path / "stack.png", np.zeros((2, 3, 3), np.uint8))


def test_refuses_to_overwrite_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "labels.tif"
    write(path, np.ones((4, 4), np.uint8))
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="already exists"):
        write(path, np.zeros((4, 4), np.uint8))
    assert path.read_bytes() == before
    write(path, np.zeros((4, 4), np.uint8), overwrite=True)
    assert read(path).data.max() == 0


def test_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "labels.tif"
    write(path, np.ones((4, 4), np.uint8))
    before = path.read_bytes()

    def broken(file, *args, **kwargs):
        Path(file).write_bytes(b"half a tiff")
        raise OSError("disk full")

    monkeypatch.setattr(tifffile, "imwrite", broken)
    with pytest.raises(OSError, match="disk full"):
        write(path, np.zeros((4, 4), np.uint8), overwrite=True)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["labels.tif"]


def test_written_files_have_normal_permissions(tmp_path):
    write(tmp_path / "labels.tif", np.ones((4, 4), np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "labels.tif").stat().st_mode & 0o777 == 0o666 & ~umask


def _file(path):
    path.write_bytes(b"not an image")
    return path


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda p: read(p / "missing.tif"), FileNotFoundError, "no such file"),
        (lambda p: read(_file(p / "scan.xyz")), ValueError, "unsupported file type '.xyz'"),
        (lambda p: write(p / "out.xyz", np.ones((2, 2), np.uint8)), ValueError, "unsupported"),
        (lambda p: write(p / "out.tif", np.ones((2, 2), np.float32)), ValueError, "integer"),
        (
            lambda p: write(p / "no" / "out.tif", np.ones((2, 2), np.uint8)),
            FileNotFoundError,
            "does not exist",
        ),
    ],
)
def test_bad_paths_and_data_get_clear_errors(tmp_path, call, error, message):
    with pytest.raises(error, match=message):
        call(tmp_path)


def test_labels_of_a_channel_first_image_take_its_yx_geometry(tmp_path):
    like = Volume(np.zeros((2, 8, 8)), "CYX", (1.0, 0.5, 0.25), (0.0,) * 3, ("pixel", "µm", "µm"))
    write(tmp_path / "labels.tif", np.ones((8, 8), np.uint8), like=like)
    back = read(tmp_path / "labels.tif")
    assert back.axes == "YX"
    assert back.spacing == pytest.approx((0.5, 0.25))


# --- which files hold labels ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["out.tif", "out.ome.tif", "out.nii.gz"])
def test_labels_segkit_writes_read_back_as_labels_whatever_their_name(tmp_path, name):
    labels = np.zeros((3, 8, 9), np.uint32)
    labels[1, 2:5, 3:6] = 70_000 if name == "out.ome.tif" else 4  # OME only above uint16
    path = tmp_path / name
    write(path, labels)
    assert read(path).is_labels


@pytest.mark.parametrize(
    "name, expected",
    [
        ("case_00001_seg.nii.gz", True),
        ("nuclei-masks.tif", True),
        ("labels.tif", True),
        ("labelsTr/case_1.nii.gz", True),
        ("masks/a.tif", True),
        ("GT_001.tif", True),
        ("segkit_out.tif", False),
        ("stage.tif", False),
        ("image.tif", False),
    ],
)
def test_label_files_are_recognised_by_their_name(tmp_path, name, expected):
    path = tmp_path / name
    path.parent.mkdir(exist_ok=True)
    data = np.arange(2 * 5 * 6, dtype=np.uint16).reshape(2, 5, 6)
    if name.endswith(".nii.gz"):
        import nibabel as nib

        nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    else:
        tifffile.imwrite(path, data)
    assert read(path).is_labels is expected


def test_float_or_colour_images_are_never_labels(tmp_path):
    tifffile.imwrite(tmp_path / "seg.tif", np.zeros((5, 6), np.float32))
    tifffile.imwrite(tmp_path / "mask.tif", np.zeros((5, 6, 3), np.uint8), photometric="rgb")
    assert not read(tmp_path / "seg.tif").is_labels
    assert not read(tmp_path / "mask.tif").is_labels

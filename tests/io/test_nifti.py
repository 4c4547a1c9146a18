"""NIfTI reading (flips and swaps only, true affine kept) and label NIfTI writing."""

import gzip
import itertools
import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from napari_segkit import Volume, read, write
from napari_segkit.io import ReadError

DATA = Path(os.path.dirname(nib.__file__)) / "tests" / "data"
REAL = [
    "anatomical.nii",
    "example4d.nii.gz",
    "standard.nii.gz",
    "reoriented_anat_moved.nii",
    "functional.nii",
]


def _lps_zyx(ras_affine, ijk):
    """World position of voxel ijk in segkit's convention: LPS as (z, y, x)."""
    x, y, z = (ras_affine @ np.r_[ijk, 1.0])[:3]
    return np.array([z, -y, -x])


def _check_voxels(volume, image, count=40, seed=0):
    """Random voxels of the NIfTI have the same value at the same world position in ours."""
    source = np.asanyarray(image.dataobj)
    rng = np.random.default_rng(seed)
    inverse = np.linalg.inv(volume.affine[-4:, -4:])
    for _ in range(count):
        ijk = [int(rng.integers(n)) for n in source.shape[:3]]
        index = inverse @ np.r_[_lps_zyx(image.affine, ijk), 1.0]
        rounded = np.round(index[:3]).astype(int)
        assert np.allclose(index[:3], rounded, atol=1e-4)
        ours = volume.data[(0,) * (volume.data.ndim - 3) + tuple(rounded)]
        theirs = source[tuple(ijk) + (0,) * (source.ndim - 3)]
        assert ours == theirs


@pytest.mark.parametrize("name", REAL)
def test_real_files_keep_every_voxel_at_its_world_position(name):
    image = nib.load(DATA / name)
    volume = read(DATA / name)
    _check_voxels(volume, image)
    assert volume.space == "LPS" and volume.metadata["source_space"] == "RAS"
    assert sorted(volume.data.shape[-3:]) == sorted(image.shape[:3])
    assert np.all(np.diag(volume.affine)[-4:-1] > 0)  # index axes run to S, P, L
    assert sorted(volume.spacing[-3:]) == pytest.approx(sorted(image.header.get_zooms()[:3]))


def test_4d_file_has_time_first():
    volume = read(DATA / "example4d.nii.gz")
    assert volume.axes == "TZYX"
    assert volume.data.shape == (2, 24, 96, 128)
    assert volume.units[0] == "s" and volume.units[1:] == ("mm", "mm", "mm")
    assert volume.metadata["oblique_degrees"] > 5  # this file's sform is rotated


@pytest.mark.parametrize(
    "permutation, flips",
    [
        (p, f)
        for p in itertools.permutations(range(3))
        for f in itertools.product((1, -1), repeat=3)
    ],
)
def test_all_48_storage_orders_read_as_the_same_array(tmp_path, permutation, flips):
    rng = np.random.default_rng(1)
    canonical = rng.integers(0, 1000, (4, 5, 6)).astype(np.int16)  # (i, j, k) = (L, P, S)
    affine = np.diag([-0.5, -0.7, 2.0, 1.0])  # i to the left, j posterior, k superior
    affine[:3, 3] = (10, 20, -30)
    stored, stored_affine = canonical, affine
    for axis, flip in enumerate(flips):
        if flip < 0:
            stored = np.flip(stored, axis)
            stored_affine = stored_affine @ _flip_affine(axis, canonical.shape[axis])
    stored = np.transpose(stored, permutation)
    columns = list(permutation) + [3]
    stored_affine = stored_affine[:, columns]
    nib.save(nib.Nifti1Image(stored, stored_affine), tmp_path / "scan.nii")
    volume = read(tmp_path / "scan.nii")
    np.testing.assert_array_equal(volume.data, canonical.transpose(2, 1, 0))
    assert volume.spacing == pytest.approx((2.0, 0.7, 0.5))
    assert volume.origin == pytest.approx((-30, -20, -10))  # LPS (z, y, x) of voxel 0
    flipped = any(f < 0 for f in flips) or permutation != (0, 1, 2)
    assert (volume.metadata["reoriented"] != "none") == flipped


def _flip_affine(axis, size):
    flip = np.eye(4)
    flip[axis, axis] = -1
    flip[axis, 3] = size - 1
    return flip


def test_oblique_file_is_not_resampled_and_keeps_its_affine(tmp_path):
    angle = np.radians(20)
    rotation = np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]]
    )
    affine = np.eye(4)
    affine[:3, :3] = rotation @ np.diag([1.0, 1.5, 3.0])
    data = np.random.default_rng(2).integers(0, 50, (7, 8, 9)).astype(np.uint8)
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "oblique.nii.gz")
    volume = read(tmp_path / "oblique.nii.gz")
    image = nib.load(tmp_path / "oblique.nii.gz")
    _check_voxels(volume, image, count=100)
    assert volume.metadata["oblique_degrees"] == pytest.approx(20, abs=0.01)
    assert np.array_equal(np.sort(volume.data, axis=None), np.sort(data, axis=None))


@pytest.mark.parametrize(
    "name", ["anatomical.nii", "example4d.nii.gz", "standard.nii.gz", "reoriented_anat_moved.nii"]
)
def test_labels_round_trip_with_the_source_header(tmp_path, name):
    source = nib.load(DATA / name)
    volume = read(DATA / name)
    labels = (volume.data > np.median(volume.data)).astype(np.uint16)
    labels.flat[7] = 300  # needs uint16
    write(tmp_path / "labels.nii.gz", labels, like=volume)
    written = nib.load(tmp_path / "labels.nii.gz")
    np.testing.assert_array_equal(written.affine, source.affine)
    for which in ("qform", "sform"):
        ours, code = getattr(written.header, f"get_{which}")(coded=True)
        theirs, source_code = getattr(source.header, f"get_{which}")(coded=True)
        assert code == source_code
        if code:
            np.testing.assert_allclose(ours, theirs, atol=1e-6)
    assert written.get_data_dtype() == np.uint16
    slope, inter = written.header.get_slope_inter()
    assert slope in (None, 1.0) and inter in (None, 0.0)
    assert written.shape == source.shape
    back = read(tmp_path / "labels.nii.gz")
    np.testing.assert_array_equal(back.data, labels)
    np.testing.assert_allclose(back.affine, volume.affine)
    # the stored voxels are where the source's are: same (i, j, k) for the same world point
    stored = np.asanyarray(written.dataobj)
    values = np.asanyarray(source.dataobj)
    moved = stored == 300
    assert moved.sum() == 1
    np.testing.assert_array_equal((stored != 0)[~moved], (values > np.median(values))[~moved])


def test_microscopy_labels_as_nifti_come_back_unchanged(tmp_path):
    like = Volume(
        np.zeros((3, 8, 9)), "ZYX", (2.0, 0.25, 0.25), (0.0, 0.0, 0.0), ("µm", "µm", "µm")
    )
    labels = np.random.default_rng(3).integers(0, 5, (3, 8, 9)).astype(np.uint8)
    write(tmp_path / "labels.nii", labels, like=like)
    back = read(tmp_path / "labels.nii")
    np.testing.assert_array_equal(back.data, labels)
    assert back.spacing == pytest.approx(like.spacing)
    assert back.units == ("µm", "µm", "µm")
    assert back.metadata["reoriented"] == "none"


def test_zero_voxel_size_is_refused(tmp_path):
    image = nib.Nifti1Image(np.zeros((4, 4, 4), np.int16), None)
    image.header.set_zooms((1.0, 0.0, 1.0))
    image.set_qform(None, code=0)
    image.set_sform(None, code=0)
    nib.save(image, tmp_path / "flat.nii")
    with pytest.raises(ReadError, match="flat.nii.*zero or invalid voxel size"):
        read(tmp_path / "flat.nii")


def test_truncated_and_garbage_files_are_refused(tmp_path):
    noise = np.random.default_rng(4).random((30, 30, 30), np.float32)
    nib.save(nib.Nifti1Image(noise, np.eye(4)), tmp_path / "a.nii")
    raw = (tmp_path / "a.nii").read_bytes()
    (tmp_path / "cut.nii.gz").write_bytes(gzip.compress(raw)[:3000])
    (tmp_path / "junk.nii").write_bytes(b"\x00" * 100)
    for name in ("cut.nii.gz", "junk.nii"):
        with pytest.raises(ReadError, match=f"cannot read {name}: not a readable NIfTI"):
            read(tmp_path / name)


def test_labels_that_do_not_fit_the_source_are_refused_and_nothing_is_written(tmp_path):
    volume = read(DATA / "anatomical.nii")
    with pytest.raises(ValueError, match="do not fit"):
        write(tmp_path / "labels.nii", np.zeros((3, 3, 3), np.uint8), like=volume)
    with pytest.raises(ValueError, match="integer"):
        write(tmp_path / "labels.nii", np.zeros(volume.data.shape, np.float32), like=volume)
    assert list(tmp_path.iterdir()) == []


def test_2d_labels_are_written_as_a_single_slice(tmp_path):
    like = Volume(np.zeros((6, 7)), "YX", (0.5, 0.25), (0.0, 0.0), ("µm", "µm"))
    labels = np.arange(42, dtype=np.uint8).reshape(6, 7)
    write(tmp_path / "slice.nii.gz", labels, like=like)
    back = read(tmp_path / "slice.nii.gz")
    np.testing.assert_array_equal(back.data, labels[np.newaxis])
    assert back.spacing[1:] == pytest.approx((0.5, 0.25))

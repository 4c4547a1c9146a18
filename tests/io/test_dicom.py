"""DICOM reading: pydicom's own test files and series generated with known geometry."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import pytest
from dicom_series import assert_geometry, make_slices, write_enhanced, write_series
from pydicom.data import get_testdata_file

from napari_segkit import read, write
from napari_segkit.io import ReadError
from napari_segkit.io.dicom import DicomWarning

FILES = Path(os.path.dirname(pydicom.data.__file__)) / "test_files"
SERIES = FILES / "dicomdirtests"
AXIAL = [1, 0, 0, 0, 1, 0]


def _stored(path):
    return pydicom.dcmread(path).pixel_array


# --- real files -----------------------------------------------------------------------------


def test_real_ct_series_is_sorted_by_position_not_instance_number():
    folder = SERIES / "98892001" / "CT5N"
    volume = read(folder)
    files = [pydicom.dcmread(p) for p in folder.iterdir()]
    by_position = sorted(files, key=lambda ds: float(ds.ImagePositionPatient[2]))
    # instance numbers run the other way (head first), so they would give the reverse stack
    assert [int(ds.InstanceNumber) for ds in by_position] == [10, 9, 8, 7, 6]
    expected = np.stack([ds.pixel_array.astype(np.int32) - 1024 for ds in by_position])
    np.testing.assert_array_equal(volume.data, expected)
    assert volume.data.dtype == np.int16  # integral rescale keeps an integer type
    assert volume.axes == "ZYX"
    assert volume.spacing == pytest.approx((2.5, 0.488281, 0.488281))
    assert volume.units == ("mm", "mm", "mm")
    first = by_position[0].ImagePositionPatient
    assert volume.origin == pytest.approx((first[2], first[1], first[0]))
    assert volume.space == "LPS" and volume.metadata["source_space"] == "LPS"
    assert volume.name == "CT5N — CT SmartScore - Gated 0.5 sec"  # folder, modality, series
    assert volume.metadata["window"] == [-160.0, 240.0]


def test_file_names_and_folder_order_do_not_change_the_stack(tmp_path):
    source = SERIES / "98892001" / "CT5N"
    for i, path in enumerate(sorted(source.iterdir(), reverse=True)):
        (tmp_path / "deep" / str(i % 2)).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, tmp_path / "deep" / str(i % 2) / f"z{i}")  # no extension, nested
    np.testing.assert_array_equal(read(tmp_path).data, read(source).data)


def test_folder_of_many_series_gives_one_volume_each_and_leaves_out_mixed_orientations():
    with pytest.warns(DicomWarning) as caught:
        volumes = read(SERIES)
    messages = [str(w.message) for w in caught]
    assert sum("mixes" in m and "orientations" in m for m in messages) == 4  # scout, pilots, angio
    names = [v.name for v in volumes]
    assert len(names) == len(set(names))
    assert {
        "dicomdirtests — CT SmartScore - Gated 0.5 sec",
        "dicomdirtests — CT Routine Brain",
        "dicomdirtests — CR Cervical LAT",
    } <= set(names)
    assert len(volumes) == 9


def test_series_with_only_mixed_orientations_is_refused_with_a_clear_message():
    with pytest.raises(ReadError, match="'CT2N — CT Scout' mixes 2 slice orientations"):
        read(SERIES / "98892001" / "CT2N")


def test_missing_slices_warn_and_do_not_make_up_a_spacing():
    with pytest.warns(DicomWarning, match="unevenly spaced.*161 slice.*missing"):
        volume = read(SERIES / "77654033" / "CT2")
    assert volume.spacing[0] == 1.0 and volume.units[0] == "pixel"
    assert volume.spacing[1:] == pytest.approx((0.488281, 0.488281))
    assert volume.metadata["slice_positions"] == pytest.approx([-99.48, 103.02, 104.27, 105.52])


def test_rescale_slope_gives_float_values():
    path = next((SERIES / "77654033" / "CR1").iterdir())
    volume = read(path)
    ds = pydicom.dcmread(path)
    np.testing.assert_allclose(volume.data, ds.pixel_array * 0.684 + 200, rtol=1e-6)
    assert volume.data.dtype == np.float32
    assert volume.spacing == pytest.approx(tuple(float(s) for s in ds.ImagerPixelSpacing))
    assert "ImagerPixelSpacing" in volume.metadata["note"]


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "MR_small_RLE.dcm",
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
    ],
)
def test_byte_orders_and_compressed_syntaxes_give_the_same_pixels(name):
    reference = read(FILES / "MR_small.dcm").data
    volume = read(FILES / name)
    assert volume.data.dtype.isnative
    np.testing.assert_array_equal(volume.data, reference)
    assert volume.data.dtype == reference.dtype == np.int16


def test_missing_decoder_names_the_extra():
    # no JPEG 2000 decoder at all: pylibjpeg, GDCM and Pillow are hidden from pydicom
    code = (
        "import sys\n"
        "for m in ('pylibjpeg', 'openjpeg', 'libjpeg', 'gdcm', 'PIL'): sys.modules[m] = None\n"
        "from napari_segkit.io import read\n"
        f"read({str(FILES / 'MR_small_jp2klossless.dcm')!r})\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode != 0
    assert "pip install 'napari-segkit[dicom]'" in result.stderr
    assert "JPEG 2000" in result.stderr


def test_multi_frame_dose_grid_uses_frame_offsets_and_dose_scaling():
    path = FILES / "rtdose.dcm"
    volume = read(path)
    ds = pydicom.dcmread(path)
    assert volume.data.shape == (15, 10, 10)
    np.testing.assert_allclose(volume.data, ds.pixel_array * float(ds.DoseGridScaling), rtol=1e-6)
    assert volume.spacing == pytest.approx((5.0, 10.0, 10.0))  # GridFrameOffsetVector steps


def test_colour_files_are_rgb():
    volume = read(FILES / "SC_rgb_jpeg_dcmtk.dcm")
    assert volume.rgb and volume.data.shape == (100, 100, 3)
    palette = read(FILES / "examples_palette.dcm")
    assert palette.rgb and palette.data.shape[-1] == 3


@pytest.mark.parametrize(
    "path, message",
    [
        (SERIES / "TINY_ALPHA", "no DICOM images in folder.*50 without pixel data"),
        (next((SERIES / "TINY_ALPHA").rglob("IM000001")), "without pixel data"),
        (SERIES / "DICOMDIR", "DICOMDIR"),
        (FILES / "MR_truncated.dcm", "MR_truncated.dcm.*less than expected"),
    ],
)
def test_header_only_index_and_truncated_files_get_one_clear_message(path, message):
    with pytest.raises(ReadError, match=message):
        read(path)


def test_folder_without_dicom_and_garbage_dcm(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ReadError, match="no DICOM images.*1 not DICOM"):
        read(tmp_path)
    bad = tmp_path / "bad.dcm"
    bad.write_bytes(os.urandom(3000))
    with pytest.raises(ReadError, match="bad.dcm"):
        read(bad)


# --- generated series with known geometry ---------------------------------------------------


@pytest.mark.parametrize(
    "orientation",
    [
        AXIAL,
        [0, 1, 0, 0, 0, -1],  # sagittal
        [1, 0, 0, 0, 0, -1],  # coronal
        [-1, 0, 0, 0, -1, 0],  # axial, rows and columns reversed
        [np.cos(0.3), np.sin(0.3), 0, -np.sin(0.3), np.cos(0.3), 0],  # oblique, 17°
    ],
)
def test_every_pixel_lands_at_its_patient_position(tmp_path, orientation):
    slices = make_slices(orientation)
    write_series(tmp_path, slices)
    volume = read(tmp_path)
    assert_geometry(volume, slices)
    # shown in napari's order without resampling: axes run to superior, posterior, left
    diagonal = np.diag(volume.affine)[:3]
    assert np.all(diagonal > 0) and volume.data.size == 5 * 6 * 7
    assert sorted(volume.spacing) == pytest.approx(sorted((2.0, 0.5, 0.8)))


def test_gantry_tilt_is_reported_and_kept_in_the_affine(tmp_path):
    slices = make_slices(AXIAL, tilt=(0.0, 0.35, 0.0))  # each slice shifted 0.35 mm in y
    write_series(tmp_path, slices)
    with pytest.warns(DicomWarning, match="gantry tilt of 9.9"):
        volume = read(tmp_path)
    assert volume.metadata["gantry_tilt_degrees"] == pytest.approx(np.degrees(np.arctan(0.175)))
    assert volume.spacing[0] == pytest.approx(2.0)  # the distance between slice planes
    assert_geometry(volume, slices)  # the shear is in the affine


def test_one_missing_slice_is_named(tmp_path):
    slices = make_slices(AXIAL, count=6)
    write_series(tmp_path, slices[:3] + slices[4:])
    with pytest.warns(DicomWarning, match="about 1 slice"):
        volume = read(tmp_path)
    assert volume.metadata["slice_positions"] == pytest.approx([30, 32, 34, 38, 40])


def test_repeated_positions_become_a_time_axis(tmp_path):
    first, second = make_slices(AXIAL, count=3, seed=1), make_slices(AXIAL, count=3, seed=2)
    write_series(tmp_path, first + second, instance_numbers=[1, 2, 3, 4, 5, 6])
    volume = read(tmp_path)
    assert volume.axes == "TZYX" and volume.data.shape == (2, 3, 6, 7)
    np.testing.assert_array_equal(volume.data[1, 2], second[2].pixels - 1024)


def test_series_with_two_image_sizes_is_refused(tmp_path):
    slices = make_slices(AXIAL, count=3)
    slices[1].pixels = slices[1].pixels[:, :5]
    write_series(tmp_path, slices)
    with pytest.raises(ReadError, match="mixes image sizes"):
        read(tmp_path)


def test_enhanced_multi_frame_is_sorted_by_frame_position(tmp_path):
    slices = make_slices([0, 1, 0, 0, 0, -1], count=4)
    path = write_enhanced(tmp_path / "enhanced.dcm", slices, order=[2, 0, 3, 1])
    volume = read(path)
    assert_geometry(volume, slices, slope=2, intercept=5)


def test_dicom_labels_written_as_nifti_overlay_in_patient_space(tmp_path):
    slices = make_slices([0, 1, 0, 0, 0, -1], count=4)
    write_series(tmp_path / "series", slices)
    volume = read(tmp_path / "series")
    labels = (volume.data > 500).astype(np.uint8)
    write(tmp_path / "labels.nii.gz", labels, like=volume)
    image = nib.load(tmp_path / "labels.nii.gz")
    stored = np.asanyarray(image.dataobj)
    assert image.header.get_sform(coded=True)[1] == 1  # scanner coordinates
    for s in slices:
        for r, c in [(0, 0), (5, 6), (2, 3)]:
            z, y, x = s.world(r, c)
            ras = np.array([-x, -y, z, 1.0])  # LPS -> RAS
            i, j, k = np.round(np.linalg.inv(image.affine) @ ras)[:3].astype(int)
            assert stored[i, j, k] == (s.pixels[r, c] - 1024 > 500)
    back = read(tmp_path / "labels.nii.gz")
    np.testing.assert_array_equal(back.data, labels)
    np.testing.assert_allclose(back.affine, volume.affine, atol=1e-5)


def test_real_localizer_file_keeps_its_position_in_metadata():
    path = get_testdata_file("CT_small.dcm")
    volume = read(path)
    assert volume.axes == "YX"
    ds = pydicom.dcmread(path)
    assert volume.metadata["image_position"] == pytest.approx(
        [float(v) for v in ds.ImagePositionPatient]
    )


def test_integral_rescale_picks_a_type_that_holds_every_step():
    from napari_segkit.io.dicom import _rescale

    stored = np.array([[[33000, 0]], [[2, 5]]], np.uint16)
    # 33000 - 1024 fits int16, but 33000 itself does not: int16 arithmetic would wrap
    out = _rescale(stored.copy(), [(1.0, -1024.0), (3.0, 10.0)])
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [[[31976, -1024]], [[16, 25]]])
    ct = _rescale(np.array([[[0, 3000]]], np.int16), [(1.0, -1024.0)])
    assert ct.dtype == np.int16 and ct.tolist() == [[[-1024, 1976]]]


def test_two_files_of_the_same_series_number_get_names_that_tell_them_apart(tmp_path):
    # both real files are series 1 without a description; they used to be "MR series 1" twice
    shutil.copy(get_testdata_file("MR_small.dcm"), tmp_path / "knee.dcm")
    names = [
        read(p).name
        for p in (
            get_testdata_file("MR_small.dcm"),
            get_testdata_file("CT_small.dcm"),
            tmp_path / "knee.dcm",
        )
    ]
    assert names == ["MR_small — MR series 1", "CT_small — CT series 1", "knee — MR series 1"]
    patient = str(pydicom.dcmread(get_testdata_file("MR_small.dcm")).PatientName)
    assert not any(patient in n or "CompressedSamples" in n for n in names)  # no patient data
    uid = "1.2.840.10008.5.1.4.1.1.4.7"  # a file named by a UID keeps every part of it
    shutil.copy(get_testdata_file("MR_small.dcm"), tmp_path / uid)
    assert read(tmp_path / uid).name == f"{uid} — MR series 1"

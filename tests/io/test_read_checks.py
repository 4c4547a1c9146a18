"""What the readers check before they trust a file: truncated stacks, impossible headers,
decompression bombs, damaged DICOM values, special files."""

import gzip
import os
import struct
import time
import tracemalloc
import zlib

import numpy as np
import pydicom
import pytest
import tifffile
from pydicom.data import get_testdata_file

from napari_segkit import read
from napari_segkit._reader import get_reader
from napari_segkit.io import ReadError, dicom, volume
from napari_segkit.io.dicom import DicomWarning

STACK = np.arange(6 * 16 * 20, dtype=np.uint16).reshape(6, 16, 20)


def _cut(path, fraction):
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * fraction)])


@pytest.mark.parametrize("kind", ["imagej", "ome", "shaped"])
def test_truncated_stack_is_refused_with_the_number_of_missing_planes(tmp_path, kind):
    path = tmp_path / f"{kind}.tif"
    options = {
        "imagej": {"imagej": True, "metadata": {"axes": "ZYX"}},
        "ome": {"ome": True, "metadata": {"axes": "ZYX"}},
        "shaped": {},
    }[kind]
    tifffile.imwrite(path, STACK, **options)
    assert read(path).data.shape == (6, 16, 20)
    _cut(path, 0.6)  # before: ImageJ and OME opened as one (16, 20) plane, without a word
    with pytest.raises(
        ReadError,
        match=rf"cannot read {kind}.tif: (it holds 4 of the 6 planes"
        r"|its list of planes breaks off after plane 1)",
    ):
        read(path)


def test_tiff_header_claiming_a_huge_plane_is_refused_without_allocating(tmp_path):
    path = tmp_path / "huge.tif"
    tifffile.imwrite(path, STACK[0])
    raw = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        for name in ("ImageWidth", "ImageLength"):
            tag = tif.pages.first.tags[name]
            struct.pack_into("<H" if tag.dtype == 3 else "<I", raw, tag.valueoffset, 60000)
    path.write_bytes(bytes(raw))
    tracemalloc.start()
    with pytest.raises(
        ReadError,
        match="huge.tif: its header claims 6.7 GiB of image data but the file holds only 640 bytes",
    ):
        read(path)
    assert tracemalloc.get_traced_memory()[1] < 20 * 2**20
    tracemalloc.stop()


def test_nifti_header_claiming_a_huge_volume_is_refused_without_allocating(tmp_path):
    import nibabel as nib

    nib.save(nib.Nifti1Image(np.ones((8, 8, 8), np.int16), np.eye(4)), tmp_path / "big.nii.gz")
    raw = bytearray(gzip.decompress((tmp_path / "big.nii.gz").read_bytes()))
    struct.pack_into("<3h", raw, 42, 30000, 30000, 30000)  # dim[1:4]
    (tmp_path / "big.nii.gz").write_bytes(gzip.compress(bytes(raw)))
    (tmp_path / "big.nii").write_bytes(bytes(raw))
    tracemalloc.start()
    with pytest.raises(
        ReadError,
        match=r"big.nii.gz: its header claims 49.1 TiB of image data "
        r"in .* of compressed data, more than 2000×",
    ):
        read(tmp_path / "big.nii.gz")  # before: MemoryError (or the machine's memory)
    with pytest.raises(ReadError, match="big.nii: its header claims 49.1 TiB .* holds only"):
        read(tmp_path / "big.nii")
    assert tracemalloc.get_traced_memory()[1] < 20 * 2**20
    tracemalloc.stop()


def test_damaged_compressed_tiff_gives_a_read_error_not_a_zlib_error(tmp_path):
    path = tmp_path / "zipped.tif"
    tifffile.imwrite(path, STACK, compression="zlib")
    raw = bytearray(path.read_bytes())
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages.first.dataoffsets[0]
    raw[offset + 4 : offset + 40] = bytes(36)  # before: zlib.error escaped
    path.write_bytes(bytes(raw))
    with pytest.raises(ReadError, match="cannot read zipped.tif: not a readable TIFF file"):
        read(path)


def _dicom_copy(tmp_path, name, **changes):
    ds = pydicom.dcmread(get_testdata_file(name))
    for keyword, value in changes.items():
        setattr(ds, keyword, value)
    ds.save_as(tmp_path / name)
    return tmp_path / name, ds


@pytest.mark.parametrize("slope", ["NaN", "inf", "0"])
def test_unusable_rescale_is_ignored_with_a_warning(tmp_path, slope):
    path, ds = _dicom_copy(tmp_path, "CT_small.dcm", RescaleSlope=slope)
    with pytest.warns(DicomWarning, match="CT_small.dcm: RescaleSlope .* shown unscaled"):
        image = read(path)
    np.testing.assert_array_equal(image.data, ds.pixel_array)  # before: all NaN (or all 0)


@pytest.mark.parametrize("spacing", [[0, 0], [-0.2, 0.2], ["NaN", 0.2]])
def test_radiograph_with_unusable_pixel_spacing_opens_in_pixels(tmp_path, spacing):
    path, ds = _dicom_copy(tmp_path, "MR_small.dcm", Modality="CR", PixelSpacing=spacing)
    del ds.ImagePositionPatient  # a CR image: no position in the patient
    ds.save_as(path)
    with pytest.warns(DicomWarning, match="MR_small.dcm: pixel spacing .* opens in pixel units"):
        image = read(path)  # before: ValueError "voxel size must be positive and finite"
    assert image.spacing == (1.0, 1.0) and image.units == ("pixel", "pixel")
    np.testing.assert_array_equal(image.data, ds.pixel_array)


def test_deflated_dicom_that_inflates_beyond_memory_is_refused(tmp_path, monkeypatch):
    source = pydicom.dcmread(get_testdata_file("image_dfl.dcm"))
    raw = open(get_testdata_file("image_dfl.dcm"), "rb").read()
    start = 132 + 12 + int(source.file_meta.FileMetaInformationGroupLength)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = deflate.compress(bytes(64 * 2**20)) + deflate.flush()  # 64 MiB in about 64 KiB
    (tmp_path / "bomb.dcm").write_bytes(raw[:start] + bomb)
    monkeypatch.setattr(volume, "available_memory", lambda: 32 * 2**20)
    monkeypatch.setattr(dicom, "available_memory", lambda: 32 * 2**20)
    with pytest.raises(
        ReadError,
        match="cannot read bomb.dcm: its image needs .* of memory and only 32.0 MiB is available",
    ):
        read(tmp_path / "bomb.dcm")


def test_fifo_is_declined_by_napari_and_refused_by_read_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.tif"
    os.mkfifo(fifo)
    start = time.monotonic()
    assert get_reader(str(fifo)) is None  # before: blocked forever opening the pipe
    with pytest.raises(ReadError, match="cannot read pipe.tif: not a regular file"):
        read(fifo)
    assert time.monotonic() - start < 2

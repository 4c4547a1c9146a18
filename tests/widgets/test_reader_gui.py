"""The plugin's reader and writer in a real napari viewer (needs a display: Xvfb under CI)."""

import os
from pathlib import Path

import napari
import nibabel as nib
import numpy as np
import pydicom
import pytest
import skimage
import tifffile
from dicom_series import make_slices, write_series

from napari_segkit import read
from napari_segkit._reader import get_reader
from napari_segkit.io import ReadError
from napari_segkit.io.dicom import DicomWarning

pytestmark = pytest.mark.gui

NIFTI = Path(os.path.dirname(nib.__file__)) / "tests" / "data"
DICOM = Path(os.path.dirname(pydicom.data.__file__)) / "test_files" / "dicomdirtests"


def _run_threshold(viewer, qtbot, image):
    _, widget = viewer.window.add_plugin_dock_widget("napari-segkit", "Threshold")
    widget.image.value = image
    widget.run()
    qtbot.waitUntil(lambda: widget.run_button.enabled, timeout=60_000)
    return viewer.layers[f"{image.name} threshold"]


def test_nifti_opens_with_geometry_and_labels_save_onto_the_source(
    make_napari_viewer, qtbot, tmp_path
):
    viewer = make_napari_viewer()
    (image,) = viewer.open(str(NIFTI / "anatomical.nii"), plugin="napari-segkit")
    volume = read(NIFTI / "anatomical.nii")
    np.testing.assert_allclose(image.scale, volume.spacing)
    np.testing.assert_allclose(image.translate, volume.origin)
    assert image.name == "anatomical"
    assert [str(u) for u in image.units] == ["millimeter"] * 3

    labels = _run_threshold(viewer, qtbot, image)
    out = tmp_path / "anatomical_labels.nii.gz"
    labels.save(str(out), plugin="napari-segkit")
    written, source = nib.load(out), nib.load(NIFTI / "anatomical.nii")
    np.testing.assert_array_equal(written.affine, source.affine)  # overlays in ITK-SNAP/Slicer
    assert written.shape == source.shape
    (reopened,) = viewer.open(str(out), plugin="napari-segkit", layer_type="labels")
    np.testing.assert_array_equal(reopened.data, labels.data)
    np.testing.assert_allclose(reopened.scale, image.scale)
    np.testing.assert_allclose(reopened.translate, image.translate)


def test_labels_drawn_by_hand_on_a_nifti_save_in_its_space(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    (image,) = viewer.open(str(NIFTI / "anatomical.nii"), plugin="napari-segkit")
    drawn = viewer.add_labels(
        np.zeros(image.data.shape, np.uint8),
        scale=image.scale,
        translate=image.translate,
        units=image.units,
    )
    drawn.data[3:6, 10:20, 5:9] = 2
    drawn.save(str(tmp_path / "drawn.nii"), plugin="napari-segkit")
    written, source = nib.load(tmp_path / "drawn.nii"), nib.load(NIFTI / "anatomical.nii")
    # the same voxel grid in RAS, stored in segkit's order instead of the source's
    np.testing.assert_allclose(
        nib.as_closest_canonical(written).affine, nib.as_closest_canonical(source).affine, atol=1e-5
    )
    assert written.header.get_xyzt_units()[0] == "mm"
    np.testing.assert_array_equal(read(tmp_path / "drawn.nii").data, drawn.data)


def test_dicom_folder_opens_one_layer_per_series(make_napari_viewer):
    viewer = make_napari_viewer()
    with pytest.warns(DicomWarning):
        layers = viewer.open(str(DICOM), plugin="napari-segkit")
    names = [layer.name for layer in layers]
    assert len(layers) == 9 and "dicomdirtests — CT SmartScore - Gated 0.5 sec" in names
    ct = viewer.layers["dicomdirtests — CT SmartScore - Gated 0.5 sec"]
    assert ct.data.shape == (5, 16, 16)
    np.testing.assert_allclose(ct.scale, (2.5, 0.488281, 0.488281))
    np.testing.assert_allclose(ct.contrast_limits, (-160, 240))  # the file's VOI window


def test_dicom_series_labels_save_as_nifti_in_patient_space(make_napari_viewer, qtbot, tmp_path):
    slices = make_slices([0, 1, 0, 0, 0, -1], count=4)  # sagittal: reoriented for display
    write_series(tmp_path / "series", slices, description="sagittal")
    viewer = make_napari_viewer()
    (image,) = viewer.open(str(tmp_path / "series"), plugin="napari-segkit")
    assert image.name.startswith("series — ") and image.name.endswith("sagittal")
    labels = _run_threshold(viewer, qtbot, image)
    labels.save(str(tmp_path / "labels.nii"), plugin="napari-segkit")
    back = read(tmp_path / "labels.nii")
    np.testing.assert_array_equal(back.data, labels.data)
    np.testing.assert_allclose(back.affine, read(tmp_path / "series").affine, atol=1e-5)


def test_channels_become_layers_named_by_the_file(make_napari_viewer, tmp_path):
    data = np.random.default_rng(0).integers(0, 999, (4, 2, 16, 20)).astype(np.uint16)
    tifffile.imwrite(
        tmp_path / "cells.tif",
        data,
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "ZCYX", "spacing": 1.5, "unit": "um", "Labels": ["dapi", "gfp"] * 4},
    )
    viewer = make_napari_viewer()
    layers = viewer.open(str(tmp_path / "cells.tif"), plugin="napari-segkit")
    assert [layer.name for layer in layers] == ["cells [dapi]", "cells [gfp]"]
    np.testing.assert_array_equal(layers[1].data, data[:, 1])
    np.testing.assert_allclose(layers[1].scale, (1.5, 0.5, 0.5))


def test_broken_file_gives_the_readers_message(make_napari_viewer, tmp_path):
    (tmp_path / "broken.nii.gz").write_bytes(b"\x1f\x8b" + bytes(50))
    viewer = make_napari_viewer()
    with pytest.raises(ReadError, match="cannot read broken.nii.gz: not a readable NIfTI"):
        viewer.open(str(tmp_path / "broken.nii.gz"), plugin="napari-segkit")
    assert len(viewer.layers) == 0


def test_reader_getter_declines_what_it_does_not_read(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "empty").mkdir()
    assert get_reader(str(tmp_path / "notes.txt")) is None
    assert get_reader(str(tmp_path / "empty")) is None
    assert get_reader(str(tmp_path / "clip.gif")) is None
    assert get_reader([str(tmp_path / "a.tif"), str(tmp_path / "b.tif")]) is None
    assert get_reader(str(DICOM)) is not None
    assert get_reader(str(tmp_path / "anything.nii.gz")) is not None


def test_lazy_stack_opens_as_dask_and_the_threshold_widget_runs_on_it(
    make_napari_viewer, qtbot, tmp_path, monkeypatch
):
    import dask.array as da

    from napari_segkit import threshold
    from napari_segkit.io import tiff

    data = np.random.default_rng(1).integers(0, 4000, (10, 48, 64)).astype(np.uint16)
    tifffile.imwrite(tmp_path / "big.tif", data, imagej=True, metadata={"axes": "ZYX"})
    monkeypatch.setattr(tiff, "LAZY_BYTES", 1000)
    viewer = make_napari_viewer()
    (image,) = viewer.open(str(tmp_path / "big.tif"), plugin="napari-segkit")
    assert isinstance(image.data, da.Array)
    labels = _run_threshold(viewer, qtbot, image)
    np.testing.assert_array_equal(labels.data, threshold(data).astype(np.uint8))


def test_slide_pyramid_opens_as_a_multiscale_layer(make_napari_viewer, tmp_path):
    base = np.random.default_rng(2).integers(0, 255, (256, 320, 3)).astype(np.uint8)
    with tifffile.TiffWriter(tmp_path / "slide.ome.tif") as tif:
        tif.write(
            base,
            subifds=1,
            tile=(64, 64),
            photometric="rgb",
            metadata={"axes": "YXS", "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5},
        )
        tif.write(base[::2, ::2], subfiletype=1, tile=(64, 64), photometric="rgb")
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(tmp_path / "slide.ome.tif"), plugin="napari-segkit")
    assert layer.multiscale and layer.rgb
    assert [level.shape for level in layer.data] == [(256, 320, 3), (128, 160, 3)]
    np.testing.assert_allclose(layer.scale, (0.5, 0.5))


def test_blockwise_labels_open_lazily_as_a_multiscale_labels_layer(make_napari_viewer, tmp_path):
    """A result written block by block (OME-Zarr with a pyramid) opens through the plugin's
    reader as a lazy multiscale Labels layer with the source's pixel size."""
    import dask.array as da

    from napari_segkit import io, label, threshold
    from napari_segkit.samples import nuclei_2d

    source = nuclei_2d(shape=(300, 400), count=60)
    image = da.from_array(np.tile(source.data, (8, 7)), chunks=512)
    path = tmp_path / "nuclei.ome.zarr"
    io.write_labels(path, label(threshold(image)), like=source)
    viewer = make_napari_viewer()
    (layer,) = viewer.open(path, plugin="napari-segkit")
    assert isinstance(layer, napari.layers.Labels) and layer.multiscale
    assert [tuple(level.shape) for level in layer.data] == [(2400, 2800), (1200, 1400)]
    assert isinstance(layer.data[0], da.Array)
    np.testing.assert_allclose(layer.scale, source.spacing)
    assert int(layer.data[1].max().compute()) > 100


SKIMAGE_DATA = Path(os.path.dirname(skimage.__file__)) / "data"


@pytest.mark.parametrize("name", ["ihc.png", "rocket.jpg"])
def test_png_and_jpeg_slides_open_with_segkit(make_napari_viewer, name):
    import imageio.v3 as iio

    path = SKIMAGE_DATA / name
    assert get_reader(str(path)) is not None
    viewer = make_napari_viewer()
    (layer,) = viewer.open(str(path), plugin="napari-segkit")
    assert layer.rgb and layer.name == name.split(".")[0]
    np.testing.assert_array_equal(layer.data, iio.imread(path))
    assert layer.metadata["segkit_source"]["reader"] == "segkit image (imageio)"


def test_3d_labels_saved_as_png_are_refused_in_one_sentence(make_napari_viewer, tmp_path):
    from napari_segkit._writer import LabelsNotWritten

    viewer = make_napari_viewer()
    labels = viewer.add_labels(np.ones((5, 32, 32), np.uint8), name="stack")
    # a ValueError would be taken by napari for "no writer" and reduced to a generic warning
    with pytest.raises(
        LabelsNotWritten,
        match=r"cannot write stack.png: PNG holds 2D labels "
        r"only and these are 3D \(shape \(5, 32, 32\)\); save them as TIFF "
        r"\(.tif\) or NIfTI \(.nii.gz\)",
    ):
        labels.save(str(tmp_path / "stack.png"), plugin="napari-segkit")
    assert list(tmp_path.iterdir()) == []


def test_two_dicom_files_open_as_layers_that_tell_them_apart(make_napari_viewer, tmp_path):
    import shutil

    from pydicom.data import get_testdata_file

    shutil.copy(get_testdata_file("MR_small.dcm"), tmp_path / "knee.dcm")
    viewer = make_napari_viewer()
    for path in (get_testdata_file("MR_small.dcm"), tmp_path / "knee.dcm"):
        viewer.open(str(path), plugin="napari-segkit")
    assert [layer.name for layer in viewer.layers] == [
        "MR_small — MR series 1",
        "knee — MR series 1",
    ]


def test_labels_saved_from_a_translated_layer_reopen_in_place(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    drawn = viewer.add_labels(
        np.zeros((3, 20, 30), np.uint8), scale=(2.0, 0.5, 0.5), translate=(4.0, -10.0, 25.0)
    )
    drawn.data[1, 5:9, 10:20] = 3
    drawn.save(str(tmp_path / "moved.tif"), plugin="napari-segkit")
    (back,) = viewer.open(str(tmp_path / "moved.tif"), plugin="napari-segkit")
    np.testing.assert_array_equal(back.data, drawn.data)
    np.testing.assert_allclose(back.translate, drawn.translate)
    np.testing.assert_allclose(back.scale, drawn.scale)

"""TIFF reading: axes, hyperstacks, OME, lazy stacks, pyramids and broken files."""

import dask.array as da
import numpy as np
import pytest
import tifffile

from napari_segkit import read
from napari_segkit.io import ReadError, tiff


def test_odd_axis_order_is_put_in_z_y_x_order(tmp_path):
    data = np.random.default_rng(0).integers(0, 255, (64, 48, 5)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "odd.tif", data, metadata={"axes": "YXZ"})
    volume = read(tmp_path / "odd.tif")
    assert volume.axes == "ZYX"
    np.testing.assert_array_equal(volume.data, data.transpose(2, 0, 1))


def test_ome_time_and_z_order_with_physical_sizes(tmp_path):
    data = np.random.default_rng(1).integers(0, 999, (3, 4, 32, 40)).astype(np.uint16)
    tifffile.imwrite(
        tmp_path / "zt.ome.tif",
        data,
        ome=True,
        metadata={
            "axes": "ZTYX",
            "PhysicalSizeX": 0.5,
            "PhysicalSizeY": 0.6,
            "PhysicalSizeZ": 2.0,
            "TimeIncrement": 30.0,
        },
    )
    volume = read(tmp_path / "zt.ome.tif")
    assert volume.axes == "TZYX"
    np.testing.assert_array_equal(volume.data, data.transpose(1, 0, 2, 3))
    assert volume.spacing == pytest.approx((30.0, 2.0, 0.6, 0.5))
    assert volume.units == ("s", "µm", "µm", "µm")


def test_imagej_hyperstack_channels_and_frame_interval(tmp_path):
    data = np.random.default_rng(2).integers(0, 999, (2, 3, 2, 16, 20)).astype(np.uint16)
    tifffile.imwrite(
        tmp_path / "hyper.tif",
        data,
        imagej=True,
        resolution=(4.0, 4.0),
        metadata={
            "axes": "TZCYX",
            "spacing": 1.5,
            "unit": "um",
            "finterval": 0.5,
            "Labels": ["dapi", "gfp"] * 6,
        },
    )
    volume = read(tmp_path / "hyper.tif")
    assert volume.axes == "TCZYX"
    np.testing.assert_array_equal(volume.data, data.transpose(0, 2, 1, 3, 4))
    assert volume.spacing == pytest.approx((0.5, 1.0, 1.5, 0.25, 0.25))
    assert volume.units == ("s", "pixel", "µm", "µm", "µm")
    assert volume.metadata["channel_names"] == ["dapi", "gfp"]


def test_large_stacks_open_lazily_one_plane_per_chunk(tmp_path, monkeypatch):
    data = np.random.default_rng(3).integers(0, 4000, (12, 64, 80)).astype(np.uint16)
    tifffile.imwrite(
        tmp_path / "stack.tif", data, imagej=True, metadata={"axes": "ZYX", "spacing": 3.0}
    )
    assert not isinstance(read(tmp_path / "stack.tif").data, da.Array)
    monkeypatch.setattr(tiff, "LAZY_BYTES", data.nbytes - 1)
    volume = read(tmp_path / "stack.tif")
    assert isinstance(volume.data, da.Array) and volume.metadata["lazy"]
    assert volume.data.chunks[0] == (1,) * 12  # a plane is read on its own
    np.testing.assert_array_equal(volume.data[5].compute(), data[5])
    np.testing.assert_array_equal(volume.data.compute(), data)
    loaded = volume.load()  # one read into memory, same values and geometry
    assert isinstance(loaded.data, np.ndarray) and not loaded.metadata["lazy"]
    np.testing.assert_array_equal(loaded.data, data)
    assert volume.spacing[0] == loaded.spacing[0] == 3.0


@pytest.mark.parametrize("kind", ["imagej", "plain", "ome"])
def test_a_whole_lazy_stack_is_read_in_one_pass_without_a_second_copy(tmp_path, kind):
    """np.asarray of a lazy stack reads the file whole (as tifffile.imread), not chunk by
    chunk into a second array; slices stay lazy dask arrays."""
    import tracemalloc

    data = np.random.default_rng(6).integers(0, 4000, (2, 8, 128, 96)).astype(np.uint16)
    path = tmp_path / "stack.tif"
    if kind == "plain":
        tifffile.imwrite(path, data, metadata={"axes": "CZYX"})
    else:  # stored Z, C, Y, X: segkit reorders to C, Z, Y, X
        tifffile.imwrite(
            path,
            data.transpose(1, 0, 2, 3),
            ome=kind == "ome",
            imagej=kind == "imagej",
            metadata={"axes": "ZCYX"},
        )
    volume = tiff.read_tiff(path, lazy=True)
    assert isinstance(volume.data, da.Array) and volume.data.shape == data.shape
    plane = volume.data[1, 3]
    assert type(plane) is da.Array and plane.chunks == ((128,), (96,))
    np.testing.assert_array_equal(plane.compute(), data[1, 3])
    tracemalloc.start()
    whole = np.asarray(volume.data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    np.testing.assert_array_equal(whole, data)
    assert peak < 1.5 * data.nbytes  # gathering the chunks holds them and the result (2×)
    np.testing.assert_array_equal(volume.data.compute(), data)
    np.testing.assert_array_equal(np.asarray(volume.data, dtype=np.float32), data)


def test_pyramid_levels_are_kept_for_napari(tmp_path):
    base = np.random.default_rng(4).integers(0, 255, (256, 320, 3)).astype(np.uint8)
    with tifffile.TiffWriter(tmp_path / "slide.ome.tif") as tif:
        tif.write(
            base,
            subifds=2,
            tile=(64, 64),
            photometric="rgb",
            metadata={"axes": "YXS", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25},
        )
        tif.write(base[::2, ::2], subfiletype=1, tile=(64, 64), photometric="rgb")
        tif.write(base[::4, ::4], subfiletype=1, tile=(64, 64), photometric="rgb")
    volume = read(tmp_path / "slide.ome.tif")
    assert volume.rgb and isinstance(volume.data, da.Array)
    assert [level.shape for level in volume.pyramid] == [(128, 160, 3), (64, 80, 3)]
    np.testing.assert_array_equal(volume.pyramid[0].compute(), base[::2, ::2])
    np.testing.assert_array_equal(volume.data.compute(), base)
    assert volume.spacing == pytest.approx((0.25, 0.25))


def test_truncated_and_garbage_tiffs_are_refused_by_name(tmp_path):
    data = np.random.default_rng(5).integers(0, 255, (10, 64, 64)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "full.tif", data)
    raw = (tmp_path / "full.tif").read_bytes()
    (tmp_path / "half.tif").write_bytes(raw[: len(raw) // 2])
    (tmp_path / "head.tif").write_bytes(raw[:100])
    (tmp_path / "junk.tif").write_bytes(b"GIF89a" + bytes(200))
    for name in ("head.tif", "junk.tif"):
        with pytest.raises(ReadError, match=f"cannot read {name}: not a readable TIFF"):
            read(tmp_path / name)
    with pytest.raises(ReadError, match="cannot read half.tif: it holds 5 of the 10 planes"):
        read(tmp_path / "half.tif")


def test_impossible_z_spacing_is_ignored_not_fatal(tmp_path):
    tifffile.imwrite(
        tmp_path / "neg.tif",
        np.zeros((3, 8, 8), np.uint8),
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "ZYX", "spacing": -1.0},
    )
    volume = read(tmp_path / "neg.tif")
    assert volume.spacing == (1.0, 0.5, 0.5)
    assert volume.units == ("pixel", "µm", "µm")


@pytest.mark.parametrize("top, kind", [(7, "imagej"), (70_000, "ome")])
def test_labels_of_a_translated_layer_keep_their_origin(tmp_path, top, kind):
    from napari_segkit._writer import write_labels

    labels = np.zeros((4, 6, 8), np.uint32)
    labels[1, 2:4, 3:6] = top
    layer = {
        "scale": (2.0, 0.5, 0.25),
        "translate": (10.0, -3.0, 7.5),
        "units": ("micrometer",) * 3,
    }  # what napari hands the writer
    path = tmp_path / "moved.tif"
    write_labels(str(path), labels, layer)
    back = read(path)
    assert back.metadata["reader"] == f"segkit tiff ({kind})"
    np.testing.assert_array_equal(back.data, labels)
    assert back.origin == pytest.approx((10.0, -3.0, 7.5))
    assert back.spacing == pytest.approx((2.0, 0.5, 0.25))
    with tifffile.TiffFile(path) as tif:  # where Fiji looks: ImageJ origins in pixels, OME Plane
        if kind == "imagej":
            ij = tif.imagej_metadata
            assert (ij["xorigin"], ij["yorigin"], ij["zorigin"]) == (-30.0, 6.0, -5.0)
        else:
            planes = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]["Pixels"]["Plane"]
            assert [p["PositionZ"] for p in planes] == [10.0, 12.0, 14.0, 16.0]
            assert planes[0]["PositionX"] == 7.5 and planes[0]["PositionXUnit"] == "µm"

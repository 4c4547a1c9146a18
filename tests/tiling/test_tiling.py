"""Blockwise runs on dask arrays equal the in-memory runs; the chunked writer and reader;
schedulers (threads, LocalCluster), progress and cancel."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import tifffile
from skimage import measure

import napari_segkit as sk
from napari_segkit import io, tiling
from napari_segkit.methods import postprocess
from napari_segkit.methods.global_threshold import NothingToSeparate
from napari_segkit.progress import Cancelled
from napari_segkit.samples import nuclei_2d, nuclei_3d

CHUNKS_3D = (7, 45, 50)  # uneven: blocks end inside objects along every axis


def same_objects(a, b) -> None:
    """``a`` and ``b`` are the same instance labels up to renumbering."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape
    assert ((a > 0) == (b > 0)).all(), "the foreground differs"
    pairs = np.unique(np.stack([a.ravel(), b.ravel()]), axis=1)
    assert len(np.unique(pairs[0])) == pairs.shape[1] == len(np.unique(pairs[1])), (
        "ids do not match one to one"
    )


@pytest.fixture(scope="module")
def stack():
    return nuclei_3d(touching=True)


@pytest.fixture(scope="module")
def mask(stack):
    return sk.threshold(stack.data)


@pytest.mark.parametrize("method", ["otsu", "li", "triangle", "mean", "yen", "multiotsu"])
@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.int32])
def test_threshold_from_blockwise_histogram_equals_in_memory(stack, method, dtype):
    image = (stack.data.astype(np.float64) / (7 if dtype == np.float32 else 1)).astype(dtype)
    expected, t = sk.threshold(image, method), sk.threshold_value(image, method)
    lazy, t_lazy = (
        sk.threshold(da.from_array(image, chunks=CHUNKS_3D), method),
        sk.threshold_value(da.from_array(image, chunks=CHUNKS_3D), method),
    )
    assert isinstance(lazy, da.Array)
    if method == "li" and dtype == np.float32:  # in memory Li iterates on the values,
        bin_width = (image.max() - image.min()) / 256  # blockwise on the 256-bin histogram
        assert abs(t_lazy - t) < bin_width
        return
    np.testing.assert_array_equal(np.asarray(t_lazy), np.asarray(t))
    np.testing.assert_array_equal(lazy.compute(), expected)


def test_threshold_not_from_one_block():
    """A block of background alone must not decide the threshold: the whole histogram does."""
    image = np.full((64, 64), 10, np.uint8)
    image[40:, 40:] = 200
    lazy, t = (
        sk.threshold(da.from_array(image, chunks=32)),
        sk.threshold_value(da.from_array(image, chunks=32)),
    )
    assert 10 <= t < 200
    np.testing.assert_array_equal(lazy.compute(), image > t)


def test_threshold_options_on_dask(stack):
    image = stack.data
    lazy = da.from_array(image, chunks=CHUNKS_3D)
    inside = np.zeros(image.shape, bool)
    inside[:, :80] = True
    for options in (
        {"per_slice": True},
        {"mask": inside},
        {"dark": True},
        {"method": "manual", "value": 300},
        {"method": "percentile", "percentile": 90},
    ):
        expected = sk.threshold(image, **options)
        np.testing.assert_array_equal(sk.threshold(lazy, **options).compute(), expected)
    rgb = nuclei_2d().data[..., None].repeat(3, axis=-1).astype(np.uint8)
    np.testing.assert_array_equal(
        sk.threshold(da.from_array(rgb, chunks=(100, 90, 1))).compute(), sk.threshold(rgb)
    )


def test_bad_dask_input_is_refused_before_any_work():
    with pytest.raises(NothingToSeparate, match="constant"):
        sk.threshold(da.zeros((64, 64), chunks=32, dtype=np.uint16))
    with pytest.raises(ValueError, match="unknown threshold method"):
        sk.threshold(da.zeros((8, 8), chunks=4), "otsuu")
    with pytest.raises(ValueError, match="mask shape"):
        sk.threshold(da.zeros((8, 8), chunks=4), mask=np.ones((4, 4), bool))
    for bad in ({"classes": 1}, {"nbins": 1}, {"percentile": 100}):  # as in memory
        with pytest.raises(ValueError, match=next(iter(bad))):
            sk.threshold(da.zeros((8, 8), chunks=4), "multiotsu", **bad)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mean", "gaussian", "median", "sauvola", "bernsen", "otsu"])
def test_adaptive_threshold_with_halo_equals_in_memory(stack, method):
    expected = sk.adaptive_threshold(stack.data, method, block_size=9)
    lazy = sk.adaptive_threshold(da.from_array(stack.data, chunks=CHUNKS_3D), method, block_size=9)
    np.testing.assert_array_equal(lazy.compute(), expected)


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_label_joined_across_blocks_equals_in_memory(mask, connectivity):
    lazy = sk.label(da.from_array(mask, chunks=CHUNKS_3D), connectivity=connectivity)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.int32
    result = lazy.compute()
    expected = measure.label(mask, connectivity=connectivity)
    same_objects(result, expected)
    assert result.max() == expected.max()  # numbered 1…N


def test_label_joins_diagonal_touch_at_a_block_corner():
    """Two pixels that touch only by their corners, each in a different block (diagonal
    blocks): one object with 8-connectivity, two with 4."""
    mask = np.zeros((8, 8), bool)
    mask[3, 3] = mask[4, 4] = True
    lazy = da.from_array(mask, chunks=4)
    assert sk.label(lazy, connectivity=2).compute().max() == 1
    assert sk.label(lazy, connectivity=1).compute().max() == 2


def test_label_of_a_spiral_crossing_many_blocks():
    """One object that leaves and re-enters blocks many times is still one object."""
    mask = np.zeros((60, 60), bool)
    for i in range(0, 30, 4):
        mask[i, i : 60 - i] = mask[59 - i, i : 60 - i] = True
        mask[i : 60 - i, i] = mask[i : 60 - i, 59 - i] = True
        mask[i + 1, i + 2] = mask[i + 2, i + 2] = mask[i + 3, i + 2] = False
    expected = measure.label(mask, connectivity=1)
    same_objects(sk.label(da.from_array(mask, chunks=7), connectivity=1).compute(), expected)


def test_postprocess_on_dask_equals_in_memory(stack, mask):
    labels = sk.label(mask)
    holes = mask.copy()
    holes[:, 20:30, 20:30] = False
    cases = [
        (postprocess.remove_small_objects, mask, {"min_size": 200}),
        (postprocess.remove_small_objects, labels, {"min_size": 20.0, "spacing": stack.spacing}),
        (postprocess.keep_largest, labels, {"count": 3}),
        (postprocess.remove_border_objects, mask, {}),
        (postprocess.remove_border_objects, labels, {"buffer": 2}),
        (postprocess.relabel_sequential, labels * 3, {}),
        (postprocess.fill_holes, holes, {}),
        (postprocess.fill_holes, labels, {"per_slice": True}),
        (postprocess.expand_labels, labels, {"distance": 3}),
        (postprocess.smooth_labels, labels, {"radius": 1.5}),
    ] + [
        (postprocess.morphology_op, image, {"operation": op, "radius": 2.0})
        for op in postprocess.OPERATIONS
        for image in (mask, labels)
    ]
    for function, image, options in cases:
        lazy = function(da.from_array(image, chunks=CHUNKS_3D), **options)
        assert isinstance(lazy, da.Array), function.__name__
        np.testing.assert_array_equal(
            lazy.compute(), function(image, **options), err_msg=f"{function.__name__} {options}"
        )


def test_fill_holes_of_each_object_needs_the_whole_image(mask):
    with pytest.raises(ValueError, match="needs the whole image"):
        postprocess.fill_holes(da.from_array(sk.label(mask), chunks=CHUNKS_3D))


def test_methods_without_a_blockwise_version_read_the_image(mask):
    result = postprocess.remove_small_holes(da.from_array(mask, chunks=CHUNKS_3D), 50)
    np.testing.assert_array_equal(result, postprocess.remove_small_holes(mask, 50))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["labels.zarr", "labels.ome.tif"])
def test_write_chunked_with_pyramid_and_read_back(tmp_path, name):
    source = nuclei_2d(shape=(300, 400), count=60)
    image = np.tile(source.data, (8, 7))  # 2400 × 2800: gets a pyramid
    labels = sk.label(sk.threshold(da.from_array(image, chunks=512)))
    seen = []
    info = io.write_labels(tmp_path / name, labels, like=source, progress=seen.append)
    assert seen and seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    expected = measure.label(sk.threshold(image))
    assert info == {"max": expected.max(), "levels": 2}
    back = sk.read(tmp_path / name)
    assert back.is_labels and back.spacing == source.spacing and back.units == ("µm", "µm")
    assert isinstance(back.data, da.Array)  # opened lazily
    same_objects(back.data.compute(), expected)
    assert len(back.pyramid) == 1
    np.testing.assert_array_equal(back.pyramid[0].compute(), back.data.compute()[::2, ::2])
    assert [p.name for p in tmp_path.iterdir()] == [name]  # no temporary left


def test_written_tiff_is_tiled_ome_that_others_read(tmp_path):
    labels = da.from_array(
        np.arange(600 * 700, dtype=np.int32).reshape(600, 700) % 70000, chunks=256
    )
    io.write_labels(tmp_path / "big.tif", labels)
    with tifffile.TiffFile(tmp_path / "big.tif") as tif:
        assert tif.is_ome and tif.pages.first.is_tiled
        assert tif.pages.first.dtype == np.uint32  # ids above 65535 kept
        np.testing.assert_array_equal(tif.asarray(), labels.compute())


def test_write_refuses_and_keeps_what_is_there(tmp_path):
    target = tmp_path / "out.zarr"
    target.mkdir()
    (target / "precious").write_text("keep me")
    labels = da.zeros((64, 64), chunks=32, dtype=np.uint8)
    with pytest.raises(FileExistsError):
        io.write_labels(target, labels)
    assert (target / "precious").read_text() == "keep me"
    with pytest.raises(ValueError, match="integer"):
        io.write_labels(tmp_path / "f.zarr", labels.astype(np.float32))
    with pytest.raises(ValueError, match=".zarr or .tif"):
        io.write_labels(tmp_path / "f.nii", labels)


def test_cancel_stops_and_leaves_nothing(tmp_path, mask):
    labels = sk.label(da.from_array(mask, chunks=(4, 40, 40)))

    def cancel(fraction):
        if fraction > 0.2:
            raise Cancelled

    with pytest.raises(Cancelled):
        io.write_labels(tmp_path / "out.zarr", labels, progress=cancel)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(Cancelled):
        sk.label(da.from_array(mask, chunks=(4, 40, 40)), progress=cancel)


@pytest.mark.slow
def test_local_cluster_run_equals_in_memory(tmp_path, mask):
    """threshold → label → remove small objects → OME-Zarr, on two worker processes."""
    image = nuclei_3d(touching=True).data
    with tiling.scheduler("local", workers=2) as client:
        assert client is not None and len(client.scheduler_info()["workers"]) == 2
        lazy = da.from_array(image, chunks=CHUNKS_3D)
        result = postprocess.remove_small_objects(sk.label(sk.threshold(lazy)), 100)
        io.write_labels(tmp_path / "out.zarr", result)
    expected = postprocess.remove_small_objects(sk.label(mask), 100)
    same_objects(sk.read(tmp_path / "out.zarr").data.compute(), expected)


@pytest.mark.slow
def test_scheduler_errors():
    with pytest.raises(ValueError, match="tcp://"):
        with tiling.scheduler("nowhere"):
            pass
    with pytest.raises(OSError, match="no dask scheduler answers"):
        with tiling.scheduler("tcp://127.0.0.1:1"):
            pass

"""napari_segkit.measure against scikit-image's regionprops on real 2D and 3D data."""

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import real_data
from skimage import data, filters
from skimage import measure as skmeasure

from napari_segkit import measure

#: our column -> regionprops_table's property
SAME = {
    "label": "label",
    "centroid": "centroid",
    "bbox": "bbox",
    "equivalent_diameter": "equivalent_diameter_area",
    "axis_major_length": "axis_major_length",
    "axis_minor_length": "axis_minor_length",
    "solidity": "solidity",
    "intensity_mean": "intensity_mean",
    "intensity_min": "intensity_min",
    "intensity_max": "intensity_max",
    "intensity_std": "intensity_std",
}


@pytest.fixture(scope="module")
def coins():
    image = data.coins()
    return image, skmeasure.label(image > filters.threshold_otsu(image))


@pytest.fixture(scope="module")
def nuclei():
    try:
        image, labels, spacing = real_data.cells3d()
    except real_data.Unavailable as err:
        pytest.skip(str(err))
    return image, labels, spacing


def assert_equals_regionprops(table, labels, image, spacing, extra=()):
    size = "area" if labels.ndim == 2 else "volume"
    ref = skmeasure.regionprops_table(
        labels, image, spacing=spacing, properties=[*SAME.values(), "area", *extra]
    )
    names = {**SAME, size: "area", **{e: e for e in extra}}
    assert len(table) == len(ref["label"]) > 10
    for ours, theirs in names.items():
        for column in ref:
            if column == theirs or column.startswith(theirs + "-"):
                mine = ours + column[len(theirs) :]
                np.testing.assert_allclose(
                    table[mine], ref[column], rtol=1e-7, atol=1e-9, err_msg=mine
                )


@pytest.mark.parametrize("spacing", [(1.0, 1.0), (0.5, 0.5), (2.0, 0.7)])
def test_2d_coins_equal_regionprops(coins, spacing):
    image, labels = coins
    table = measure(labels, image, spacing=spacing)
    square = spacing[0] == spacing[1]
    assert_equals_regionprops(table, labels, image, spacing, ("perimeter",) if square else ())
    edge = table["perimeter"] > 0  # tiny objects have none: circularity NaN
    np.testing.assert_allclose(
        table["circularity"][edge], 4 * np.pi * table["area"][edge] / table["perimeter"][edge] ** 2
    )
    assert table["circularity"][~edge].isna().all()
    np.testing.assert_allclose(
        table["intensity_sum"], table["intensity_mean"] * (table["area"] / np.prod(spacing))
    )


@pytest.mark.slow
def test_3d_nuclei_equal_regionprops(nuclei):
    image, labels, spacing = nuclei
    table = measure(labels, image, spacing=spacing)
    assert_equals_regionprops(table, labels, image, spacing)
    assert table["sphericity"].between(0.5, 1.0).all()  # round nuclei


def test_dask_equals_in_memory_with_objects_across_blocks(coins, nuclei):
    image, labels = coins
    expected = measure(labels, image, spacing=(0.5, 0.25))
    blocks = measure(da.from_array(labels, chunks=(70, 90)), image, spacing=(0.5, 0.25))
    pd.testing.assert_frame_equal(blocks, expected, rtol=1e-9)
    image, labels, spacing = nuclei
    labels, image = labels[:, 64:192, 64:192], image[:, 64:192, 64:192]
    expected = measure(labels, image, spacing=spacing)
    blocks = measure(
        da.from_array(labels, chunks=(25, 50, 40)),
        da.from_array(image, chunks=(60, 30, 30)),
        spacing=spacing,
    )
    pd.testing.assert_frame_equal(blocks, expected, rtol=1e-9)


def test_multichannel_first_or_last_and_origin(coins):
    image, labels = coins
    channels = np.stack([image, 255 - image], axis=-1)
    last = measure(labels, channels, spacing=(2.0, 0.7), origin=(100.0, -5.0))
    ref = skmeasure.regionprops_table(
        labels,
        channels,
        spacing=(2.0, 0.7),
        properties=["intensity_mean", "intensity_std", "centroid"],
    )
    for column in ("intensity_mean-0", "intensity_mean-1", "intensity_std-1"):
        np.testing.assert_allclose(last[column], ref[column])
    np.testing.assert_allclose(last["centroid-0"], ref["centroid-0"] + 100.0)
    np.testing.assert_allclose(last["centroid-1"], ref["centroid-1"] - 5.0)
    first = measure(labels, np.moveaxis(channels, -1, 0), spacing=(2.0, 0.7), origin=(100.0, -5.0))
    pd.testing.assert_frame_equal(first, last)


def test_anisotropic_perimeter_and_surface_of_a_disc_and_ball():
    # a disc of radius 50 µm on 2 × 1 µm pixels; a ball of radius 20 µm on 2 × 1 × 1 µm voxels
    y, x = np.ogrid[-30:31, -60:61]
    disc = ((2.0 * y) ** 2 + x**2 <= 50**2).astype(np.uint8)
    row = measure(disc, spacing=(2.0, 1.0)).iloc[0]
    assert row["perimeter"] == pytest.approx(2 * np.pi * 50, rel=0.02)
    assert row["area"] == pytest.approx(np.pi * 50**2, rel=0.02)
    assert row["circularity"] == pytest.approx(1.0, abs=0.05)
    z, y, x = np.ogrid[-12:13, -24:25, -24:25]
    ball = ((2.0 * z) ** 2 + y**2 + x**2 <= 20**2).astype(np.uint8)
    row = measure(ball, spacing=(2.0, 1.0, 1.0)).iloc[0]
    # marching cubes on a voxel mask overestimates a smooth surface (staircase): ~12 %
    assert row["surface_area"] == pytest.approx(4 * np.pi * 20**2, rel=0.15)
    assert row["volume"] == pytest.approx(4 / 3 * np.pi * 20**3, rel=0.03)
    assert 0.85 < row["sphericity"] < 1.0
    assert row["axis_major_length"] == pytest.approx(40, rel=0.05)


def test_surface_area_of_a_box_by_hand():
    # the level-0.5 mesh of a 4 × 6 × 9 voxel box: flat faces between the outer voxel
    # centres, chamfered edges, one triangle per corner; voxels 3 × 1 × 0.5 µm
    a, s = np.array([4, 6, 9]), np.array([3.0, 1.0, 0.5])
    box = np.zeros(a + 4, np.uint8)
    box[2:-2, 2:-2, 2:-2] = 7
    length = (a - 1) * s
    faces = 2 * (length[0] * length[1] + length[0] * length[2] + length[1] * length[2])
    edges = 4 * sum(length[i] * np.hypot(*(0.5 * np.delete(s, i))) for i in range(3))
    corners = 8 * 0.5 * np.linalg.norm(np.cross([-s[0] / 2, s[1] / 2, 0], [-s[0] / 2, 0, s[2] / 2]))
    row = measure(box, spacing=s).iloc[0]
    assert row["label"] == 7 and row["volume"] == pytest.approx(np.prod(a * s))
    assert row["surface_area"] == pytest.approx(faces + edges + corners, rel=1e-9)
    assert row["solidity"] == pytest.approx(1.0)


def test_chosen_properties_sparse_ids_and_bad_input(coins):
    image, labels = coins
    sparse = np.where(labels > 0, labels.astype(np.int64) * 10**9, 0)
    table = measure(sparse, properties=["area", "centroid"])
    assert list(table.columns) == ["label", "area", "centroid-0", "centroid-1"]
    assert list(table["label"]) == sorted(np.unique(sparse)[1:].tolist())
    np.testing.assert_array_equal(table["area"], np.bincount(labels.ravel())[1:])
    with pytest.raises(ValueError, match="volume.*not measured in 2D"):
        measure(labels, properties=["volume"])
    with pytest.raises(ValueError, match="integer object ids"):
        measure(labels.astype(float))
    with pytest.raises(ValueError, match="2D or 3D"):
        measure(labels[None, None])
    with pytest.raises(ValueError, match="image must have the labels' shape"):
        measure(labels, image[:10])
    with pytest.raises(ValueError, match="negative"):
        measure(-labels.astype(np.int32))
    assert len(measure(np.zeros((5, 5), np.uint8))) == 0

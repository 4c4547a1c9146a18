"""CUDA kernels: every source compiles (NVRTC, as CuPy builds them) and exports the kernels
the launch code names; every NumPy twin matches its reference; on a GPU every kernel
matches its twin."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import numpy as np
import pytest
from conftest import gpu
from skimage import measure

from napari_segkit import kernels
from napari_segkit.kernels import histogram as khist
from napari_segkit.kernels import label as klabel


def _nvrtc():
    try:
        from cupy.cuda import compiler, nvrtc

        nvrtc.getVersion()
        return compiler
    except Exception as err:  # no CuPy, or no libnvrtc
        pytest.skip(f"NVRTC is not available here ({err})")


def _launched(source: Path) -> set[str]:
    """Kernel names the Python module next to ``source`` declares, and checks that every
    name it launches literally is declared."""
    module = importlib.import_module(f"napari_segkit.kernels.{source.stem}")
    literal = set(
        re.findall(rf'kernel\("{source.stem}", "(\w+)"\)', source.with_suffix(".py").read_text())
    )
    assert literal <= set(module.KERNELS)
    return set(module.KERNELS)


@pytest.mark.parametrize("source", kernels.sources(), ids=lambda p: p.name)
def test_every_kernel_source_compiles_and_has_its_kernels(source):
    compiler = _nvrtc()
    program = compiler._NVRTCProgram(source.read_text(), source.name)
    ptx, _ = program.compile(("--std=c++17", "-arch=compute_80"))
    ptx = ptx.decode() if isinstance(ptx, bytes) else ptx
    entries = set(re.findall(r"\.entry\s+(\w+)", ptx))
    launched = _launched(source)
    assert launched, f"{source.stem}.py launches no kernel of {source.name}"
    assert launched <= entries, f"missing in {source.name}: {launched - entries}"


def test_every_kernel_module_ships_its_source():
    modules = {p.stem for p in Path(kernels.__file__).parent.glob("[!_]*.py")}
    assert modules == {p.stem for p in kernels.sources()}


# -- connected components -------------------------------------------------------------


def _masks():
    rng = np.random.default_rng(0)
    yield rng.random(200) > 0.5
    yield rng.random((61, 75)) > 0.45
    yield rng.random((17, 23, 29)) > 0.6
    yield rng.random((19, 26, 35)) > 0.8  # sparse: many objects joined by edges or corners
    yield rng.random((70, 90)) > 0.7
    yield np.zeros((8, 9), bool)
    yield np.ones((5, 6, 7), bool)
    yield np.indices((9, 9, 9)).sum(axis=0) % 2 == 0  # 3D checkerboard: corners only
    spiral = np.zeros((41, 41), bool)  # one long object that folds back on itself
    for k in range(0, 20, 2):
        spiral[k, k : 41 - k] = spiral[k : 41 - k, 40 - k] = spiral[40 - k, k + 2 : 41 - k] = True
        spiral[k + 2 : 41 - k, k] = True
        spiral[k + 2, k : k + 3] = True
    yield spiral


@pytest.mark.parametrize("mask", list(_masks()), ids=lambda m: f"{m.ndim}d-{m.size}")
def test_label_twin_equals_scikit_image(mask):
    for connectivity in range(1, mask.ndim + 1):
        got = klabel.label(mask, connectivity)
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, measure.label(mask, connectivity=connectivity))


def test_number_roots_numbers_in_raster_order():
    parent = np.array([-1, 1, 1, 3, -1, 3, 1], np.int32)
    np.testing.assert_array_equal(klabel.number_roots(parent), [0, 1, 1, 2, 0, 2, 1])


def test_label_refuses_more_than_three_axes():
    with pytest.raises(ValueError, match="1 to 3 axes"):
        klabel.label(np.ones((2, 2, 2, 2), bool))


@gpu
@pytest.mark.parametrize("mask", list(_masks()), ids=lambda m: f"{m.ndim}d-{m.size}")
def test_label_kernel_equals_twin(mask):
    import cupy

    for connectivity in range(1, mask.ndim + 1):
        got = klabel.label(cupy.asarray(mask), connectivity)
        np.testing.assert_array_equal(got.get(), klabel.label(mask, connectivity))


@gpu
def test_label_kernel_on_a_large_volume_crossing_many_tiles():
    import cupy

    rng = np.random.default_rng(1)
    mask = rng.random((70, 130, 150)) > 0.5
    for connectivity in (1, 3):
        got = klabel.label(cupy.asarray(mask), connectivity).get()
        np.testing.assert_array_equal(got, measure.label(mask, connectivity=connectivity))


# -- histograms --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", khist.INTEGER_TYPES)
def test_integer_counts_twin(dtype):
    info = np.iinfo(dtype)
    values = np.random.default_rng(2).integers(max(info.min, -300), min(info.max, 300), 5000)
    values = values.astype(dtype)
    counts = khist.integer_counts(values, -20 if info.min < 0 else 3, 250)
    expected = [
        (values.astype(np.int64) == v).sum() for v in range(-20 if info.min < 0 else 3, 251)
    ]
    np.testing.assert_array_equal(counts, expected)


@gpu
@pytest.mark.parametrize("dtype", khist.INTEGER_TYPES)
@pytest.mark.parametrize("span", [255, 40000])  # shared-memory and global counters
def test_integer_counts_kernel_equals_twin(dtype, span):
    import cupy

    info = np.iinfo(dtype)
    lo, hi = max(info.min, -span // 2), min(info.max, span)
    values = np.random.default_rng(3).integers(lo, hi, 300_001).astype(dtype)
    got = khist.integer_counts(cupy.asarray(values), int(lo) + 1, int(hi) - 1)
    np.testing.assert_array_equal(got.get(), khist.integer_counts(values, int(lo) + 1, int(hi) - 1))


@gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_counts_kernel_equals_numpy_histogram(dtype):
    import cupy

    rng = np.random.default_rng(4)
    values = rng.normal(0, 1, 200_000).astype(dtype)
    values[:1000] = np.round(values[:1000], 1)  # many values on or near bin edges
    values[5] = np.nan
    lo, hi = np.float64(-2).astype(dtype), np.float64(2.5).astype(dtype)
    for bins in (256, 20_000):
        edges = np.histogram_bin_edges(np.empty(0, dtype), bins=bins, range=(lo, hi))
        got = khist.float_counts(cupy.asarray(values), edges).get()
        expected, _ = np.histogram(values, bins=bins, range=(lo, hi))
        np.testing.assert_array_equal(got, expected)


# -- adaptive thresholds -------------------------------------------------------------------


def _adaptive_case(method, image, size, dark, xp=np):
    """(fused mask, fused threshold) and the CPU method's, for the same parameters."""
    from napari_segkit.kernels import adaptive as kadaptive
    from napari_segkit.methods import adaptive

    stats = adaptive._global_stats(image, np)
    params = adaptive._parameters(
        method, image.dtype, stats, offset=0.01 * stats["max"], k=None, r=None, contrast=None
    )
    mask, t = kadaptive.fused_threshold(
        xp.asarray(image),
        size,
        method,
        dark=dark,
        keep=True,
        fill=None if stats["finite"] else stats["centre"],
        centre=stats["centre"],
        offset=params["offset"],
        k=params["k"],
        r=params["r"],
        unit_lo=params["unit_lo"],
        unit_span=params["unit_span"],
    )
    cpu_mask, cpu_t = (
        adaptive.adaptive_threshold(
            image, method, block_size=size, offset=params["offset"], dark=dark, device="cpu"
        ),
        adaptive.adaptive_threshold_map(
            image, method, block_size=size, offset=params["offset"], dark=dark, device="cpu"
        ),
    )
    return mask, t, cpu_mask, cpu_t


def _adaptive_images():
    rng = np.random.default_rng(6)
    y, x = np.mgrid[:90, :110]
    flat = 80 + 0.6 * x + 40 * (np.hypot(y - 45, x - 50) < 20) + rng.normal(0, 8, y.shape)
    yield flat.astype(np.uint8), (31, 21)
    volume = rng.normal(20000, 3000, (19, 40, 37)) + 15000 * (rng.random((19, 40, 37)) > 0.8)
    yield volume.astype(np.uint16), (7, 15, 9)
    noisy = rng.normal(0.5, 0.2, (33, 150)).astype(np.float32)  # windows longer than a line
    noisy[3, 4] = np.nan
    yield noisy, (51, 201)


ADAPTIVE = ["mean", "gaussian", "niblack", "sauvola", "phansalkar"]


@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize(
    "case", list(_adaptive_images()), ids=["2d-uint8", "3d-uint16", "2d-float-nan"]
)
def test_fused_adaptive_twin_equals_the_cpu_method(method, case):
    image, size = case
    for dark in (False, True):
        mask, t, cpu_mask, cpu_t = _adaptive_case(method, image, size, dark)
        finite = np.isfinite(image)
        np.testing.assert_allclose(t[finite], cpu_t[finite], rtol=1e-6, atol=1e-6)
        assert (mask == cpu_mask).mean() >= 0.9999
        assert 0 < mask.sum() < mask.size  # a real split, not all or nothing


@gpu
@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize(
    "case", list(_adaptive_images()), ids=["2d-uint8", "3d-uint16", "2d-float-nan"]
)
def test_fused_adaptive_kernels_equal_the_twin(method, case):
    import cupy

    image, size = case
    mask, t, _, _ = _adaptive_case(method, image, size, False, xp=cupy)
    twin_mask, twin_t, _, _ = _adaptive_case(method, image, size, False)
    np.testing.assert_allclose(t.get(), twin_t, rtol=2e-6, atol=1e-5)
    assert (mask.get() == twin_mask).mean() >= 0.9999


# -- GrowCut ------------------------------------------------------------------------------


def _growcut_case(shape, channels, connectivity, seed):
    from napari_segkit.methods import growcut

    rng = np.random.default_rng(seed)
    image = rng.random((*shape, channels)).astype(np.float32)
    image[..., : shape[-1] // 2, :] += 0.8  # an edge the seeds should stop at
    seeds = np.zeros(shape, np.uint8)
    for k in (1, 2, 3):
        seeds[tuple(rng.integers(0, n) for n in shape)] = k
    values = growcut._normalised(image, None, channels > 1)
    steps, decay = growcut.automaton_steps((1.0,) * len(shape), connectivity)
    return values, seeds, steps, decay


@pytest.mark.parametrize("connectivity", [1, 2])
def test_growcut_twin_reaches_the_automatons_fixed_point(connectivity):
    from napari_segkit.kernels import growcut as kgrowcut
    from napari_segkit.methods import growcut

    from ..methods.test_growcut import automaton

    values, seeds, steps, decay = _growcut_case((30, 34), 1, connectivity, connectivity)
    grown = kgrowcut.grow(values, seeds, steps, decay, growcut._MAX_DROP)
    assert (grown == automaton(values, seeds, connectivity)).mean() >= 0.999
    cpu = growcut._dijkstra(values, seeds, (1.0, 1.0), connectivity)
    assert (grown == cpu).mean() >= 0.999  # ties may go either way
    assert set(np.unique(grown)) == {1, 2, 3}


def test_growcut_twin_in_3d_colour_equals_dijkstra():
    from napari_segkit.kernels import growcut as kgrowcut
    from napari_segkit.methods import growcut

    values, seeds, steps, decay = _growcut_case((9, 14, 16), 3, 3, 7)
    grown = kgrowcut.grow(values, seeds, steps, decay, growcut._MAX_DROP)
    cpu = growcut._dijkstra(values, seeds, (1.0, 1.0, 1.0), 3)
    assert (grown == cpu).mean() >= 0.995


@gpu
@pytest.mark.parametrize(
    "shape, channels, connectivity", [((60, 70), 1, 1), ((60, 70), 3, 2), ((12, 30, 31), 1, 3)]
)
def test_growcut_kernel_equals_twin(shape, channels, connectivity):
    import cupy

    from napari_segkit.kernels import growcut as kgrowcut
    from napari_segkit.methods import growcut

    values, seeds, steps, decay = _growcut_case(shape, channels, connectivity, 11)
    got = kgrowcut.grow(cupy.asarray(values), cupy.asarray(seeds), steps, decay, growcut._MAX_DROP)
    np.testing.assert_array_equal(
        got.get(), kgrowcut.grow(values, seeds, steps, decay, growcut._MAX_DROP)
    )


@gpu
def test_grow_from_seeds_on_the_gpu_matches_the_cpu():
    import napari_segkit as sk

    from ..methods.test_graphcut import ellipse_image, strokes
    from ..methods.test_growcut import FRAME

    image, _ = ellipse_image()
    seeds = strokes(image.shape, [np.s_[95:105, 105:115]], FRAME)
    on_gpu = sk.grow_from_seeds(image, seeds, device="gpu")
    assert (on_gpu == sk.grow_from_seeds(image, seeds, device="cpu")).mean() >= 0.999


# -- k-means assignment ---------------------------------------------------------------------


def _kmeans_case(dims):
    rng = np.random.default_rng(dims)
    features = rng.normal(0, 1, (50_000, dims)).astype(np.float32)
    features[500] = np.nan
    centres = rng.normal(0, 1, (5, dims)).astype(np.float32)
    features[:100] = centres[rng.integers(0, 5, 100)] + 1e-3  # near the centres
    return features, centres


@pytest.mark.parametrize("dims", [1, 3])
def test_nearest_twin_is_the_brute_force_nearest_centre(dims):
    from napari_segkit.kernels import kmeans as kkmeans

    features, centres = _kmeans_case(dims)
    got = kkmeans.nearest(features, centres)
    distance = ((features[:, None, :].astype(np.float64) - centres[None]) ** 2).sum(axis=2)
    expected = np.argmin(np.nan_to_num(distance, nan=np.inf), axis=1)
    assert got.dtype == np.uint8 and got[500] == 0
    assert (got == expected).mean() >= 0.9999  # float32 vs float64 distances at near-ties


@gpu
@pytest.mark.parametrize("dims", [1, 3, 4])
def test_nearest_kernel_equals_twin(dims):
    import cupy

    from napari_segkit.kernels import kmeans as kkmeans

    features, centres = _kmeans_case(dims)
    got = kkmeans.nearest(cupy.asarray(features), centres).get()
    np.testing.assert_array_equal(got, kkmeans.nearest(features, centres))


@gpu
@pytest.mark.parametrize("mode", ["semantic", "instance"])
def test_kmeans_on_the_gpu_gives_the_cpu_classes(mode):
    import cupy
    from skimage import data

    import napari_segkit as sk

    image = data.astronaut()[::2, ::2]
    on_gpu = sk.kmeans(cupy.asarray(image), 4, rgb=True, mode=mode, device="gpu")
    assert isinstance(on_gpu, cupy.ndarray)
    np.testing.assert_array_equal(
        on_gpu.get(), sk.kmeans(image, 4, rgb=True, mode=mode, device="cpu")
    )


# -- watershed ------------------------------------------------------------------------------


def _touching_discs():
    """Two and three overlapping discs and balls, their markers at the centres."""
    from scipy import ndimage

    y, x = np.mgrid[:80, :120]
    mask2 = (np.hypot(y - 40, x - 35) < 22) | (np.hypot(y - 40, x - 72) < 20)
    mask2 |= np.hypot(y - 15, x - 100) < 10
    centres2 = [(40, 35), (40, 72), (15, 100)]
    z, y, x = np.mgrid[:30, :40, :60]
    mask3 = np.sqrt((z - 15) ** 2 + (y - 20) ** 2 + (x - 20) ** 2) < 12
    mask3 |= np.sqrt((z - 15) ** 2 + (y - 20) ** 2 + (x - 39) ** 2) < 11
    centres3 = [(15, 20, 20), (15, 20, 39)]
    for mask, centres in ((mask2, centres2), (mask3, centres3)):
        markers = np.zeros(mask.shape, np.int32)
        for k, c in enumerate(centres, 1):
            markers[c] = k
        yield -ndimage.distance_transform_edt(mask).astype(np.float32), markers, mask


@pytest.mark.parametrize("case", list(_touching_discs()), ids=["2d", "3d"])
@pytest.mark.parametrize("connectivity", [1, 2])
def test_flood_twin_agrees_with_scikit_image_watershed(case, connectivity):
    from skimage import segmentation

    from napari_segkit.kernels import watershed as kwatershed

    landscape, markers, mask = case
    got = kwatershed.flood(landscape, markers, mask, connectivity)
    expected = segmentation.watershed(landscape, markers, mask=mask, connectivity=connectivity)
    assert set(np.unique(got)) == set(np.unique(expected))
    assert (got[mask] == expected[mask]).mean() >= 0.99  # only tied voxels may differ
    assert (got[~mask] == 0).all()


def test_flood_on_a_plateau_goes_to_the_nearer_marker():
    from napari_segkit.kernels import watershed as kwatershed

    markers = np.zeros((5, 21), np.int32)
    markers[2, 2], markers[2, 15] = 1, 2
    got = kwatershed.flood(np.zeros((5, 21), np.float32), markers)
    columns = np.arange(21)
    expected = np.where(np.abs(columns - 2) <= np.abs(columns - 15), 1, 2)
    np.testing.assert_array_equal(got[2], expected)


@gpu
@pytest.mark.parametrize("case", list(_touching_discs()), ids=["2d", "3d"])
@pytest.mark.parametrize("connectivity", [1, 2])
def test_flood_kernel_equals_twin(case, connectivity):
    import cupy

    from napari_segkit.kernels import watershed as kwatershed

    landscape, markers, mask = case
    got = kwatershed.flood(
        cupy.asarray(landscape), cupy.asarray(markers), cupy.asarray(mask), connectivity
    )
    np.testing.assert_array_equal(
        got.get(), kwatershed.flood(landscape, markers, mask, connectivity)
    )

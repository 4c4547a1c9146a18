import sys

import numpy as np
import pytest
from scipy import ndimage
from skimage import data, filters
from skimage.filters import rank

from napari_segkit import adaptive_threshold, adaptive_threshold_map, samples
from napari_segkit.methods import _adaptive_rows as rows
from napari_segkit.methods.adaptive import window

adaptive = sys.modules["napari_segkit.methods.adaptive"]


def assert_same_split(image, mask, t, t_ref, rtol=1e-4):
    """Thresholds agree to float32 precision; masks agree wherever the pixel is not on it."""
    np.testing.assert_allclose(t, t_ref, rtol=rtol, atol=1e-3)
    clear = np.abs(image.astype(np.float64) - t_ref) > 1e-2
    np.testing.assert_array_equal(mask[clear], (image > t_ref)[clear])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mean", "gaussian", "median"])
def test_local_mean_gaussian_median_equal_scikit_image(method):
    volume = samples.nuclei_3d().data[:, :64, :80]
    for image, block in ((data.page(), 35), (volume, (5, 21, 21))):
        mask, t = (
            adaptive_threshold(image, method, block_size=block, offset=2.5),
            adaptive_threshold_map(image, method, block_size=block, offset=2.5),
        )
        t_ref = filters.threshold_local(image, block, method, offset=2.5)
        if method == "median" and image is volume:  # 1028 grey levels: 256 bins, see below
            step = (int(volume.max()) - int(volume.min())) / 256
            assert np.abs(t - t_ref).max() <= step / 2 + 1e-3
            continue
        assert_same_split(image, mask, t, t_ref)


def test_large_median_windows_against_scipy_exact_median():
    """Counting levels: exact on 8-bit data; on wider data the threshold lies within half
    of 1/256 of the intensity range of scipy's exact median, and masks agree ≥ 99%."""
    from scipy import ndimage

    rng = np.random.default_rng(0)
    stack = rng.integers(0, 256, (12, 30, 34)).astype(np.uint8)
    stack[:, 10:20, 5:25] //= 3  # some structure
    for image, block in ((data.page()[:, :200], 35), (stack, (7, 9, 11))):
        mask, t = (
            adaptive_threshold(image, "median", block_size=block, offset=0),
            adaptive_threshold_map(image, "median", block_size=block, offset=0),
        )
        exact = ndimage.median_filter(image.astype(np.float32), block, mode="reflect")
        np.testing.assert_array_equal(t, exact)
        np.testing.assert_array_equal(mask, image > exact)
    floats = rng.random((20, 24, 28)).astype(np.float32)
    mask, t = (
        adaptive_threshold(floats, "median", block_size=9, offset=0),
        adaptive_threshold_map(floats, "median", block_size=9, offset=0),
    )
    exact = ndimage.median_filter(floats, 9, mode="reflect")
    span = float(floats.max() - floats.min())
    assert np.abs(t - exact).max() <= span / 512 * 1.001
    assert (mask == (floats > exact)).mean() >= 0.99


@pytest.mark.parametrize(
    "method, reference",
    [
        ("niblack", lambda im, w: filters.threshold_niblack(im, w, k=0.3)),
        ("sauvola", lambda im, w: filters.threshold_sauvola(im, w, k=0.3)),
    ],
)
def test_niblack_and_sauvola_equal_scikit_image(method, reference):
    for image, block in (
        (data.page(), 25),
        (samples.nuclei_3d().data, (3, 15, 15)),
        (data.camera().astype(np.float32) / 255, 51),
    ):
        mask, t = (
            adaptive_threshold(image, method, block_size=block, k=0.3),
            adaptive_threshold_map(image, method, block_size=block, k=0.3),
        )
        assert_same_split(image, mask, t, reference(image, block))


def test_local_otsu_equals_scikit_image_rank_otsu():
    image = data.camera()
    assert image.min() == 0 and image.max() == 255  # so quantising to 8 bits changes nothing
    mask = adaptive_threshold(image, "otsu", block_size=31)
    np.testing.assert_array_equal(mask, image >= rank.otsu(image, np.ones((31, 31), bool)))


def _windows(image, size):
    """Every pixel's window, borders mirrored as scipy's "reflect" mode (numpy "symmetric")."""
    h = size // 2
    padded = np.pad(image.astype(np.float64), h, mode="symmetric")
    for y in range(image.shape[0]):
        for x in range(image.shape[1]):
            yield (y, x), padded[y : y + size, x : x + size]


def brute_force(image, method, size, contrast=None):
    out = np.zeros(image.shape, bool)
    lo, hi = image.min(), image.max()
    for (y, x), w in _windows(image, size):
        v = float(image[y, x])
        top, bottom = w.max(), w.min()
        if method == "midgrey":
            out[y, x] = v > (top + bottom) / 2
        elif method == "contrast":
            out[y, x] = abs(top - v) <= abs(v - bottom)
        elif method == "bernsen":
            mid = (top + bottom) / 2
            out[y, x] = (mid >= (lo + hi) / 2) if top - bottom < contrast else v >= mid
        elif method == "phansalkar":  # the paper, on intensities scaled to [0, 1]
            m, s = w.mean() / 255, np.sqrt(np.mean((w / 255) ** 2) - (w.mean() / 255) ** 2)
            out[y, x] = v / 255 > m * (1 + 2 * np.exp(-10 * m) + 0.25 * (s / 0.5 - 1))
    return out


@pytest.mark.parametrize("method", ["midgrey", "contrast", "bernsen", "phansalkar"])
def test_fiji_local_methods_equal_a_window_by_window_reference(method):
    rng = np.random.default_rng(2)
    image = (rng.random((24, 30)) * 60 + np.linspace(0, 180, 30)).astype(np.uint8)
    image[5:9, 5:12] = 250
    image[15:20, 18:22] = 5
    mask = adaptive_threshold(image, method, block_size=7, contrast=20)
    if method == "phansalkar":  # the paper's formula there; phansalkar's mirror borders differ
        inner = (slice(3, -3), slice(3, -3))
        np.testing.assert_array_equal(mask[inner], brute_force(image, method, 7)[inner])
    else:
        np.testing.assert_array_equal(mask, brute_force(image, method, 7, contrast=20))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["mean", "gaussian", "median", "niblack", "bernsen", "otsu"])
def test_slabs_with_halo_equal_one_whole_volume_run(monkeypatch, method):
    volume = samples.nuclei_3d().data[:, :64, :64]
    whole, t_whole = (
        adaptive_threshold(volume, method, block_size=(5, 9, 9)),
        adaptive_threshold_map(volume, method, block_size=(5, 9, 9)),
    )
    monkeypatch.setattr(adaptive, "_SLAB_VOXELS", 64 * 64 * 3)  # three planes a slab
    steps = []
    slabbed = adaptive_threshold(volume, method, block_size=(5, 9, 9), progress=steps.append)
    t_slabbed = adaptive_threshold_map(volume, method, block_size=(5, 9, 9))
    np.testing.assert_array_equal(slabbed, whole)
    np.testing.assert_allclose(t_slabbed, t_whole, rtol=1e-6)
    assert len(steps) > 1 and steps == sorted(steps) and steps[-1] == 1.0


@pytest.mark.slow
def test_block_in_physical_units_respects_anisotropy():
    volume = samples.nuclei_3d()
    assert window(5.0, volume.spacing, volume.data.shape) == (5, 21, 21)
    assert window(8, None, (10, 10)) == (9, 9)  # even sizes round up to odd
    mask, t = (
        adaptive_threshold(volume.data, block_size=5.0, spacing=volume.spacing, offset=0),
        adaptive_threshold_map(volume.data, block_size=5.0, spacing=volume.spacing, offset=0),
    )
    assert_same_split(
        volume.data, mask, t, filters.threshold_local(volume.data, (5, 21, 21), "mean")
    )


def test_per_slice_uses_2d_windows():
    volume = samples.nuclei_3d().data[:4]
    mask, t = (
        adaptive_threshold(volume, block_size=15, per_slice=True, offset=0),
        adaptive_threshold_map(volume, block_size=15, per_slice=True, offset=0),
    )
    for z in range(4):
        assert_same_split(volume[z], mask[z], t[z], filters.threshold_local(volume[z], 15, "mean"))


def test_running_sums_do_not_drift_along_a_long_line():
    rng = np.random.default_rng(3)
    line = (60000 + rng.integers(-3000, 3000, 200_000)).astype(np.uint16)[None, :]
    t = adaptive_threshold_map(line, block_size=(1, 101), offset=0)
    sums = np.concatenate([[0], np.cumsum(line[0].astype(np.int64))])
    exact = (sums[101:] - sums[:-101]) / 101  # windows fully inside the line
    np.testing.assert_allclose(t[0, 50:-50], exact, atol=0.01)


def test_dark_mask_and_nan():
    image = data.page().astype(np.float32)
    bright = adaptive_threshold(image, block_size=25, offset=5)
    dark = adaptive_threshold(image, block_size=25, offset=5, dark=True)
    assert not (bright & dark).any()
    roi = np.zeros(image.shape, bool)
    roi[:, :100] = True
    assert not adaptive_threshold(image, block_size=25, mask=roi)[:, 100:].any()
    holed = image.copy()
    holed[10:20, 10:20] = np.nan
    mask, t = (
        adaptive_threshold(holed, "sauvola", block_size=25),
        adaptive_threshold_map(holed, "sauvola", block_size=25),
    )
    assert not mask[10:20, 10:20].any()
    t_full = adaptive_threshold_map(image, "sauvola", block_size=25)
    far = (slice(60, None), slice(60, None))  # beyond the window, NaN changes nothing
    assert_same_split(image[far], mask[far], t[far], t_full[far])


@pytest.mark.parametrize(
    "image, kwargs, message",
    [
        (np.full((8, 8), 3, np.uint8), {}, "constant"),
        (np.full((8, 8), np.nan), {}, "NaN"),
        (np.arange(8), {}, "2D or 3D"),
        (np.arange(64).reshape(8, 8), {"method": "bradley"}, "unknown adaptive method"),
        (np.arange(64).reshape(8, 8), {"block_size": 0}, "block_size must be a finite number > 0"),
        (np.arange(64).reshape(8, 8), {"spacing": (1.0,)}, "spacing needs 2"),
    ],
)
def test_bad_input_gets_a_clear_error(image, kwargs, message):
    with pytest.raises(ValueError, match=message):
        adaptive_threshold(image, **kwargs)


@pytest.mark.parametrize("method", ["bernsen", "phansalkar", "otsu"])
def test_a_piece_given_the_whole_range_matches_the_whole_run(method):
    volume = samples.nuclei_3d().data[:, :64, :64].astype(np.float32) / 1000
    whole = adaptive_threshold(volume, method, block_size=(5, 9, 9))
    piece = volume[8:15]  # planes 10..12 see the same window as in the whole run
    alone = adaptive_threshold(piece, method, block_size=(5, 9, 9))
    matched = adaptive_threshold(
        piece, method, block_size=(5, 9, 9), intensity_range=(volume.min(), volume.max())
    )
    np.testing.assert_array_equal(matched[2:5], whole[10:13])
    assert (alone[2:5] != whole[10:13]).any()  # without it the piece's own range differs


def _both_paths(monkeypatch, image, method, **kwargs):
    """(mask, threshold) from the compiled row kernels and from scipy's path; fails unless
    the compiled kernel really ran."""
    name = f"{method}_rows"
    calls = []
    kernel = getattr(rows, name)
    monkeypatch.setattr(rows, name, lambda *a: calls.append(1) or kernel(*a))
    compiled = (
        adaptive_threshold(image, method, **kwargs),
        adaptive_threshold_map(image, method, **kwargs),
    )
    assert calls, "the compiled kernel did not run"
    monkeypatch.setattr(adaptive, "COMPILED", False)
    reference = (
        adaptive_threshold(image, method, **kwargs),
        adaptive_threshold_map(image, method, **kwargs),
    )
    monkeypatch.setattr(adaptive, "COMPILED", True)
    return compiled, reference


@pytest.mark.parametrize("method", ["mean", "gaussian"])
@pytest.mark.parametrize(
    "name, block, options",
    [
        ("camera", 51, {}),
        ("coins", 35, {"offset": 2.5}),
        ("page", 25, {"dark": True, "offset": -3.0}),
        ("camera uint16", 31, {"offset": 100.0}),
        ("camera int16", (9, 45), {}),
        ("coins corner, window beyond the image", 201, {}),
        ("page, one row", 7, {}),
        ("page, one column", 7, {}),
        ("nuclei planes uint16", 15, {"per_slice": True}),
        ("camera bool", 9, {}),
    ],
)
def test_compiled_rows_equal_the_scipy_path(monkeypatch, method, name, block, options):
    """The compiled 2D mean and Gaussian repeat scipy's arithmetic: mask and threshold are
    bit for bit those of uniform_filter / gaussian_filter on float32 (reflect borders)."""
    camera, page = data.camera(), data.page()
    image = {
        "camera": camera,
        "coins": data.coins(),
        "page": page,
        "camera uint16": camera.astype(np.uint16) * 257 + 11,
        "camera int16": camera.astype(np.int16) * 3 - 400,
        "coins corner, window beyond the image": data.coins()[:101, :77],
        "page, one row": page[:1],
        "page, one column": page[:, :1],
        "nuclei planes uint16": samples.nuclei_3d().data[10:14],
        "camera bool": camera > 100,
    }[name]
    (mask, t), (mask_ref, t_ref) = _both_paths(
        monkeypatch, image, method, block_size=block, **options
    )
    np.testing.assert_array_equal(t, t_ref)
    np.testing.assert_array_equal(mask, mask_ref)
    assert mask.any() and not mask.all()


def test_compiled_gaussian_on_float32_and_many_slabs(monkeypatch):
    """Finite float32 planes take the compiled Gaussian too; slabs (threads) cut anywhere."""
    image = data.camera().astype(np.float32) / 255
    monkeypatch.setattr(adaptive, "_SLAB_VOXELS", 512 * 40)  # 13 slabs
    steps = []
    (mask, t), (mask_ref, t_ref) = _both_paths(
        monkeypatch, image, "gaussian", block_size=21, offset=0.01, progress=steps.append
    )
    np.testing.assert_array_equal(t, t_ref)
    np.testing.assert_array_equal(mask, mask_ref)
    assert len(steps) > 10 and steps[-1] == 1.0
    coins = data.coins()
    roi = np.zeros(coins.shape, bool)
    roi[100:200] = True
    inside = adaptive_threshold(coins, block_size=35, mask=roi)
    np.testing.assert_array_equal(inside, adaptive_threshold(coins, block_size=35) & roi)


@pytest.mark.slow
def test_compiled_rows_are_not_used_for_3d_windows_floats_means_or_nan(monkeypatch):
    """3D windows, float means and NaN images stay on scipy's path."""
    monkeypatch.setattr(rows, "mean_rows", None)
    monkeypatch.setattr(rows, "gaussian_rows", None)
    volume = samples.nuclei_3d().data[:, :32, :32]
    adaptive_threshold(volume, "mean", block_size=(3, 9, 9))
    adaptive_threshold(volume, "gaussian", block_size=(3, 9, 9))
    adaptive_threshold(data.camera().astype(np.float32), "mean", block_size=9)
    holed = data.camera().astype(np.float32)
    holed[5, 5] = np.nan
    adaptive_threshold(holed, "gaussian", block_size=9)


@pytest.mark.parametrize(
    "name, block, options",
    [
        ("camera", 51, {}),
        ("page", 35, {"offset": 2.5}),
        ("coins", 3, {"offset": -0.3, "dark": True}),
        ("text", (5, 301), {"offset": 7.0}),
        ("noise", 11, {"offset": 0.1}),
        ("camera tiled", 1001, {}),
    ],
)
def test_integer_mean_of_8_bit_masks_equals_the_scipy_path(monkeypatch, name, block, options):
    """The mask-only 8-bit mean sums fixed-point means and compares with a table of the
    least sum per grey level: still scipy's mask, pixel for pixel."""
    rng = np.random.default_rng(4)
    image = {
        "camera": data.camera(),
        "page": data.page(),
        "coins": data.coins(),
        "text": data.text(),
        "noise": rng.integers(0, 256, (300, 301)).astype(np.uint8),
        "camera tiled": np.tile(data.camera(), (2, 2)),
    }[name]
    calls = []
    kernel = rows.mean_rows_fixed
    monkeypatch.setattr(rows, "mean_rows_fixed", lambda *a: calls.append(1) or kernel(*a))
    mask = adaptive_threshold(image, "mean", block_size=block, **options)
    assert calls
    monkeypatch.setattr(adaptive, "COMPILED", False)
    np.testing.assert_array_equal(
        mask, adaptive_threshold(image, "mean", block_size=block, **options)
    )


def test_auto_window_and_offset_follow_the_objects_and_the_noise():
    """Left on None, the window is 4 object diameters and the offset 2 noise standard
    deviations above the local mean (below it with dark): flat noisy background stays out."""
    from napari_segkit.methods.adaptive import auto_window
    from napari_segkit.methods.scale import estimate_object_size

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:256, :256]
    image = np.zeros((256, 256), np.float32)
    for cy, cx in rng.uniform(20, 236, (25, 2)):
        image[(yy - cy) ** 2 + (xx - cx) ** 2 <= 8**2] = 1.0
    image += 0.3 * xx / 256 + rng.normal(0, 0.1, image.shape).astype(np.float32)
    block, offset = auto_window(image)
    assert block == pytest.approx(4 * estimate_object_size(image))
    assert offset == pytest.approx(-0.2, rel=0.15)  # 2 sigma, sigma = 0.1
    assert auto_window(image, dark=True)[1] == -offset
    assert auto_window(image, "sauvola")[1] == 0.0
    mask, t = adaptive_threshold(image), adaptive_threshold_map(image)
    reference = filters.threshold_local(
        image, window(block, None, image.shape)[0], "mean", offset=offset, mode="reflect"
    )
    assert_same_split(image, mask, t, reference)
    background = ~ndimage.binary_dilation(image > 0.5, iterations=3)
    assert mask[background].mean() < 0.05  # offset 0 lets over a quarter of it through
    assert adaptive_threshold(image, offset=0)[background].mean() > 0.2


def test_auto_window_measures_only_what_is_missing(monkeypatch):
    """A block size given skips sizing the objects (2 s at 4096²); an offset given, or a
    method that uses none, skips the noise; each missing one is still measured."""
    from napari_segkit.methods import adaptive, scale

    calls = []
    size, noise = scale.estimate_or_warn, scale.noise_level
    monkeypatch.setattr(
        scale, "estimate_or_warn", lambda *a, **k: calls.append("size") or size(*a, **k)
    )
    monkeypatch.setattr(
        scale, "noise_level", lambda *a, **k: calls.append("noise") or noise(*a, **k)
    )
    rng = np.random.default_rng(1)
    image = ndimage.gaussian_filter(rng.random((96, 96)), 3).astype(np.float32)
    assert adaptive.auto_window(image, "sauvola", block_size=25) == (25, 0.0)
    assert adaptive.auto_window(image, block_size=(9, 11), offset=-0.5) == ((9, 11), -0.5)
    assert calls == []
    adaptive_threshold(image, "sauvola", block_size=25)
    adaptive_threshold(image, "mean", block_size=25, offset=0)
    assert calls == []
    block, offset = adaptive.auto_window(image, block_size=25)
    assert (block, calls) == (25, ["noise"]) and offset < 0
    calls.clear()
    block, offset = adaptive.auto_window(image, "sauvola")
    assert "size" in calls and offset == 0.0 and block > 0

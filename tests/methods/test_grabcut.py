"""GrabCut from a box: the object inside, on its slice, refined by scribbles."""

import numpy as np
import pytest

import napari_segkit as sk
from napari_segkit import metrics


def two_stain_slide(seed=7, size=160):
    """A round object of purple and pink specks on a pale background (H&E-like)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    truth = (yy - 80) ** 2 + (xx - 70) ** 2 < 45**2
    image = np.empty((size, size, 3), np.float32)
    image[:] = (235, 220, 235)
    speck = rng.random(truth.shape) < 0.5
    image[truth & speck], image[truth & ~speck] = (110, 60, 150), (200, 90, 150)
    return np.clip(image + rng.normal(0, 35, image.shape), 0, 255).astype(np.uint8), truth


@pytest.mark.parametrize("model", ["gmm", "histogram"])
def test_the_object_in_a_loose_box(model):
    image, truth = two_stain_slide()
    mask = sk.grab_cut(image, ((25, 15), (135, 125)), rgb=True, model=model)
    assert metrics.dice(mask == 1, truth) >= 0.95


def test_a_box_on_one_slice_cuts_that_slice_and_a_3d_box_the_volume():
    rng = np.random.default_rng(3)
    z, y, x = np.mgrid[:24, :64, :64]
    truth = (z - 12) ** 2 * 4 + (y - 32) ** 2 + (x - 30) ** 2 < 20**2
    image = (rng.normal(100, 15, truth.shape) + 70 * truth).astype(np.float32)
    flat = sk.grab_cut(image, ((12, 8, 6), (12, 56, 56)), model="histogram")
    assert not flat[:12].any() and not flat[13:].any()
    assert metrics.dice(flat[12] == 1, truth[12]) >= 0.95
    solid = sk.grab_cut(
        image, ((0, 8, 6), (23, 56, 56)), model="histogram", spacing=(2.0, 1.0, 1.0)
    )
    assert metrics.dice(solid == 1, truth) >= 0.95


def test_scribbles_take_out_what_the_box_alone_keeps():
    """A grey-green object inside the box with the stained one: the box alone keeps it; a
    background stroke over it teaches the background model its colour, so it goes."""
    image, truth = two_stain_slide()
    yy, xx = np.mgrid[:160, :160]
    extra = (yy - 80) ** 2 + (xx - 140) ** 2 < 12**2
    image[extra] = np.clip(
        np.random.default_rng(1).normal((120, 140, 120), 35, (extra.sum(), 3)), 0, 255
    )
    box = ((25, 15), (135, 155))
    alone = sk.grab_cut(image, box, rgb=True)
    seeds = np.zeros(truth.shape, np.uint8)
    seeds[78:82, 132:148] = 2
    refined = sk.grab_cut(image, box, rgb=True, seeds=seeds)
    assert alone[extra].mean() > 0.5  # the box alone keeps it
    assert refined[extra].mean() < 0.05
    assert metrics.dice(refined == 1, truth) >= metrics.dice(alone == 1, truth)
    assert metrics.dice(refined == 1, truth) >= 0.95


@pytest.mark.parametrize(
    "box, message",
    [
        (((10, 10), (20, 20), (30, 30)), "two corners of 2"),
        (((200, 200), (300, 300)), "outside the image"),
        (((0, 0), (159, 159)), "covers the whole image"),
    ],
)
def test_bad_boxes_are_refused_clearly(box, message):
    image, _ = two_stain_slide()
    with pytest.raises(ValueError, match=message):
        sk.grab_cut(image, box, rgb=True)


def test_real_coins_at_any_lam_give_the_coin_or_a_clear_sentence():
    from skimage import data, filters, measure

    image = data.coins()  # real photograph, bundled with scikit-image
    parts = measure.label(image > filters.threshold_otsu(image))
    coins = sorted(measure.regionprops(parts), key=lambda p: -p.area)[1:6]  # [0]: a merged blob
    for coin in coins:
        r0, c0, r1, c1 = coin.bbox
        box = ((r0 - 3, c0 - 3), (r1 + 2, c1 + 2))
        for lam in (10, 50):
            cut = sk.grab_cut(image, box, lam=lam).astype(bool)
            truth = parts == coin.label
            assert (cut & truth).sum() / (cut | truth).sum() > 0.8, (coin.label, lam)
        try:  # so strong a smoothness that the object shrinks away: no scikit-learn error
            assert sk.grab_cut(image, box, lam=1000).sum() <= coin.area
        except ValueError as error:
            assert "no object in the box at lam=1000" in str(error)

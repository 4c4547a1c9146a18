"""The global methods scikit-image lacks: known answers and slow, literal references.

The references below transcribe the published algorithms loop by loop (as Fiji's
Auto_Threshold does), independent of the vectorised code they check.
"""

import math

import numpy as np
import pytest
from skimage import data, exposure, filters

from napari_segkit import threshold, threshold_value
from napari_segkit.methods import histogram_thresholds as ht


def _histograms():
    rng = np.random.default_rng(7)
    bimodal = np.concatenate([rng.normal(60, 8, 7000), rng.normal(170, 12, 3000)])
    skewed = np.concatenate([rng.gamma(2.0, 10.0, 9000), rng.normal(150, 20, 1000)])
    yield "camera", exposure.histogram(data.camera())
    yield "coins", exposure.histogram(data.coins())
    yield "bimodal", exposure.histogram(np.clip(bimodal, 0, 255).astype(np.uint8))
    yield "skewed", exposure.histogram(np.clip(skewed, 0, 255).astype(np.uint8))


HISTOGRAMS = dict(_histograms())


def ref_huang(h):
    first, last = np.flatnonzero(h)[[0, -1]]
    S, W = np.zeros(len(h)), np.zeros(len(h))
    S[first], W[first] = h[first], first * h[first]
    for i in range(first + 1, last + 1):
        S[i], W[i] = S[i - 1] + h[i], W[i - 1] + i * h[i]
    C = last - first
    Smu = [0.0]
    for i in range(1, C + 1):
        mu = 1 / (1 + i / C)
        Smu.append(-mu * math.log(mu) - (1 - mu) * math.log(1 - mu))
    best, best_t = math.inf, 0
    for t in range(first, last + 1):
        e, mu = 0.0, int(math.floor(W[t] / S[t] + 0.5))
        for i in range(first, t + 1):
            e += Smu[abs(i - mu)] * h[i]
        if t < last:
            mu = int(math.floor((W[last] - W[t]) / (S[last] - S[t]) + 0.5))
            for i in range(t + 1, last + 1):
                e += Smu[abs(i - mu)] * h[i]
        if best > e:
            best, best_t = e, t
    return best_t


def _p(h):
    p = h / h.sum()
    P1 = np.cumsum(p)
    return p, P1, 1 - P1


def _range(P1, P2):
    eps = np.finfo(float).eps
    first = next(i for i in range(len(P1)) if abs(P1[i]) >= eps)
    last = next(i for i in range(len(P2) - 1, first - 1, -1) if abs(P2[i]) >= eps)
    return first, last


def ref_entropy(h, alpha):
    p, P1, P2 = _p(h)
    first, last = _range(P1, P2)
    best, best_t = -math.inf, 0
    for t in range(first, last + 1):
        if alpha == 1:
            back = -sum(p[i] / P1[t] * math.log(p[i] / P1[t]) for i in range(t + 1) if p[i] > 0)
            obj = -sum(
                p[i] / P2[t] * math.log(p[i] / P2[t]) for i in range(t + 1, len(p)) if p[i] > 0
            )
            total = back + obj
        else:
            back = sum((p[i] / P1[t]) ** alpha for i in range(t + 1))
            obj = sum((p[i] / P2[t]) ** alpha for i in range(t + 1, len(p)))
            total = math.log(back * obj) / (1 - alpha) if back * obj > 0 else 0.0
        if total > best:
            best, best_t = total, t
    return best_t


def ref_renyi(h):
    p, P1, P2 = _p(h)
    t1, t2, t3 = sorted(ref_entropy(h, a) for a in (0.5, 1, 2))
    if abs(t1 - t2) <= 5:
        b = (1, 2, 1) if abs(t2 - t3) <= 5 else (0, 1, 3)
    else:
        b = (3, 1, 0) if abs(t2 - t3) <= 5 else (1, 2, 1)
    omega = P1[t3] - P1[t1]
    return int(
        t1 * (P1[t1] + 0.25 * omega * b[0])
        + 0.25 * t2 * omega * b[1]
        + t3 * (P2[t3] + 0.25 * omega * b[2])
    )


def ref_shanbhag(h):
    p, P1, P2 = _p(h)
    first, last = _range(P1, P2)
    best, best_t = math.inf, 0
    for t in range(first, last + 1):
        term = 0.5 / P1[t]
        back = -sum(p[i] * math.log(1 - term * P1[i - 1]) for i in range(1, t + 1)) * term
        term = 0.5 / P2[t]
        obj = -sum(p[i] * math.log(1 - term * P2[i]) for i in range(t + 1, len(p))) * term
        if abs(back - obj) < best:
            best, best_t = abs(back - obj), t
    return best_t


def ref_min_error(h):
    best, best_t = math.inf, None
    x = np.arange(len(h))
    for t in range(len(h) - 1):
        a, b = h[: t + 1], h[t + 1 :]
        if a.sum() == 0 or b.sum() == 0:
            continue
        m1, m2 = np.average(x[: t + 1], weights=a), np.average(x[t + 1 :], weights=b)
        v1 = np.average((x[: t + 1] - m1) ** 2, weights=a)
        v2 = np.average((x[t + 1 :] - m2) ** 2, weights=b)
        if v1 <= 1e-12 or v2 <= 1e-12:
            continue
        P1, P2 = a.sum() / h.sum(), b.sum() / h.sum()
        j = (
            1
            + 2 * (P1 * math.log(math.sqrt(v1)) + P2 * math.log(math.sqrt(v2)))
            - 2 * (P1 * math.log(P1) + P2 * math.log(P2))
        )
        if j < best:
            best, best_t = j, t
    return best_t


def ref_default(h):
    h = h.astype(float).copy()
    h[0] = h[-1] = 0
    lo = next(i for i in range(len(h)) if h[i])
    hi = next(i for i in range(len(h) - 1, 0, -1) if h[i])
    moving = lo
    while True:
        s1 = sum(i * h[i] for i in range(lo, moving + 1))
        s2 = sum(h[i] for i in range(lo, moving + 1))
        s3 = sum(i * h[i] for i in range(moving + 1, hi + 1))
        s4 = sum(h[i] for i in range(moving + 1, hi + 1))
        result = (s1 / s2 + s3 / s4) / 2
        moving += 1
        if not ((moving + 1) <= result and moving < hi - 1):
            return int(math.floor(result + 0.5))


def ref_moments(h):
    p = h / h.sum()
    m1 = sum(i * p[i] for i in range(len(p)))
    m2 = sum(i * i * p[i] for i in range(len(p)))
    m3 = sum(i**3 * p[i] for i in range(len(p)))
    cd = m2 - m1 * m1
    c0, c1 = (-m2 * m2 + m1 * m3) / cd, (-m3 + m2 * m1) / cd
    z0 = 0.5 * (-c1 - math.sqrt(c1 * c1 - 4 * c0))
    z1 = 0.5 * (-c1 + math.sqrt(c1 * c1 - 4 * c0))
    p0, total = (z1 - m1) / (z1 - z0), 0.0
    for i in range(len(p)):
        total += p[i]
        if total > p0:
            return i


REFERENCES = {
    "huang": ref_huang,
    "max_entropy": lambda h: ref_entropy(h, 1),
    "renyi_entropy": ref_renyi,
    "shanbhag": ref_shanbhag,
    "min_error": ref_min_error,
    "default": ref_default,
    "moments": ref_moments,
}


@pytest.mark.parametrize("method", sorted(REFERENCES))
@pytest.mark.parametrize("name", sorted(HISTOGRAMS))
def test_vectorised_equals_the_literal_algorithm(method, name):
    counts, centers = HISTOGRAMS[name]
    expected = centers[REFERENCES[method](counts.astype(float))]
    assert getattr(ht, method)(counts, centers) == expected


@pytest.mark.parametrize("name", sorted(HISTOGRAMS))
def test_scikit_image_methods_on_histograms(name):
    counts, centers = HISTOGRAMS[name]
    assert ht.triangle(counts, centers) == filters.threshold_triangle(
        np.repeat(centers, counts).astype(np.uint8)
    )


def test_known_answers():
    centers = np.arange(4)
    # p-tile: a quarter of the pixels per level; 50 % at or below level 1
    assert ht.percentile(np.array([10, 10, 10, 10]), centers, percentile=50) == 1
    assert ht.percentile(np.array([10, 10, 10, 10]), centers, percentile=75) == 2
    # intermodes: symmetric peaks at 2 and 8 → midway, 5
    counts = np.array([1, 20, 60, 20, 1, 0, 1, 20, 60, 20, 1])
    assert ht.intermodes(counts, np.arange(11)) == 5.0
    # Huang and MaxEntropy split two separated blocks between them
    counts = np.array([5, 9, 5, 0, 0, 0, 0, 5, 9, 5])
    for method in ("huang", "max_entropy", "renyi_entropy", "min_error", "default"):
        assert 2 <= getattr(ht, method)(counts, np.arange(10)) < 7, method


def test_every_method_separates_two_clear_classes():
    rng = np.random.default_rng(0)
    image = (
        np.where(
            rng.random((200, 200)) < 0.3,
            rng.normal(200, 6, (200, 200)),
            rng.normal(50, 6, (200, 200)),
        )
        .clip(0, 255)
        .astype(np.uint8)
    )
    for method in (
        "default",
        "huang",
        "intermodes",
        "isodata",
        "li",
        "max_entropy",
        "mean",
        "min_error",
        "minimum",
        "moments",
        "otsu",
        "renyi_entropy",
        "shanbhag",
        "yen",
    ):
        mask, t = threshold(image, method), threshold_value(image, method)
        assert 50 < t < 200, method  # between the two class means
        assert 0.25 < mask.mean() < 0.35, method
    assert threshold(image, "percentile", percentile=70).mean() == pytest.approx(0.3, abs=0.01)


def test_wide_histograms_are_merged_for_quadratic_methods():
    rng = np.random.default_rng(1)
    image = np.concatenate([rng.normal(8000, 900, 5000), rng.normal(40000, 3000, 5000)])
    image = image.clip(0, 65535).astype(np.uint16)
    for method in ("huang", "shanbhag"):
        t = threshold_value(image, method)
        assert 8000 < t < 40000, method  # between the two class means


def test_otsu_of_integers_picks_scikit_images_bin_on_random_histograms():
    """The compiled Otsu for integer histograms repeats scikit-image's arithmetic (float32
    counts): the same bin on 2000 random histograms, sparse, near-tied and with counts up to
    2**40, at any offset; empty bins at either end are left out, one non-empty bin is None."""
    rng = np.random.default_rng(11)
    for trial in range(2000):
        n = int(rng.integers(2, 300))
        counts = [
            rng.integers(0, 5, n),
            rng.integers(0, 1 << 40, n),
            np.round(rng.normal(0, 1, n) ** 2 * 1000),
            np.where(rng.random(n) < 0.5, 0, rng.integers(1, 3, n)),
        ][trial % 4].astype(np.int64)
        counts[[0, -1]] = np.maximum(counts[[0, -1]], 1)
        first = int(rng.integers(-1000, 60000))
        centers = np.arange(first, first + n, dtype=np.int64)
        expected = filters.threshold_otsu(hist=(counts, centers))
        assert ht.otsu(counts, centers) == expected
        padded = np.concatenate([np.zeros(3, np.int64), counts, np.zeros(2, np.int64)])
        assert ht.otsu_of_integers(padded, first - 3) == expected
    assert ht.otsu_of_integers(np.array([0, 5, 0], np.int64)) is None
    assert ht.otsu_of_integers(np.zeros(4, np.int64)) is None
    one = np.array([0, 5, 0], np.int64), np.arange(7, 10)
    for otsu in (ht.otsu, lambda *hist: filters.threshold_otsu(hist=hist)):
        with pytest.raises(ValueError):  # nothing to split, as scikit-image's own
            otsu(*one)
    # float centres (a float image's bins) go to scikit-image itself
    counts, centers = np.array([3, 0, 5, 2]), np.array([0.5, 1.5, 2.5, 3.5])
    assert ht.otsu(counts, centers) == filters.threshold_otsu(hist=(counts, centers))

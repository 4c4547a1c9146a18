"""Threshold selection on a histogram: Fiji's Auto Threshold set and scikit-image's.

Every function takes ``counts`` (1D, the number of pixels per bin, first and last bin
non-empty) and ``centers`` (the intensity of each bin) and returns the threshold ``t`` in
intensity units; foreground is ``image > t``. Methods that scikit-image has call it (or
repeat its code exactly where it only accepts an image); the others follow the cited
papers, as Fiji's Auto_Threshold does, working on bin indices and returning the centre
of the chosen bin.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage
from skimage import filters

from .._checks import check_number

_EPS = np.finfo(np.float64).eps
#: bins above which the O(bins²) methods (Huang, Shanbhag) merge neighbouring bins
MAX_QUADRATIC_BINS = 4096


def otsu(counts, centers):
    """Otsu (1979), maximum between-class variance: :func:`skimage.filters.threshold_otsu`
    (for an integer image's histogram, :func:`otsu_of_integers`)."""
    if counts.dtype == centers.dtype == np.int64 and centers[-1] - centers[0] == counts.size - 1:
        found = otsu_of_integers(counts, int(centers[0]))
        if found is not None:  # (one non-empty bin: scikit-image's own refusal)
            return found
    return filters.threshold_otsu(hist=(counts, centers))


def otsu_of_integers(counts, first: int = 0) -> int | None:
    """Otsu's threshold of the consecutive integers ``first``, ``first`` + 1, … counted in
    int64 ``counts`` (empty bins at either end are left out); None when fewer than two
    are non-empty.

    A compiled copy of :func:`skimage.filters.threshold_otsu`'s arithmetic (float32 counts,
    the same sums in the same order), so it picks the same bin: 8 µs where scikit-image's
    dozen array operations take 55 µs, a twentieth of a 1024² uint8 threshold.
    """
    found = _compiled_otsu()(counts, first)
    return None if found < 0 else first + found


@functools.cache
def _compiled_otsu():
    import numba  # here: it takes a while to load

    @numba.njit(cache=True, nogil=True)
    def best_bin(counts, first):
        # scikit-image on the non-empty range lo … hi, bin centres x = first + index:
        # w1 = cumsum(c), m1 = cumsum(c * x) / w1 (w2, m2 the same from the top),
        # argmax over i of w1[i] * w2[i + 1] * (m1[i] - m2[i + 1]) ** 2, c as float32
        lo, hi = 0, counts.size - 1
        while lo < hi and counts[lo] == 0:
            lo += 1
        while hi > lo and counts[hi] == 0:
            hi -= 1
        if lo == hi:
            return -1
        below = np.empty(hi + 1, np.float32)
        mean_below = np.empty(hi + 1)
        w, s = np.float32(0), 0.0
        for i in range(lo, hi + 1):
            c = np.float32(counts[i])
            w += c
            s += np.float64(c) * np.float64(first + i)
            below[i], mean_below[i] = w, s / np.float64(w)
        best, best_i, w2, s2 = -np.inf, lo, np.float32(0), 0.0
        for i in range(hi - 1, lo - 1, -1):
            c = np.float32(counts[i + 1])
            w2 += c
            s2 += np.float64(c) * np.float64(first + i + 1)
            weights = np.float64(below[i] * w2)  # a float32 product, as NumPy's
            score = weights * (mean_below[i] - s2 / np.float64(w2)) ** 2
            if score >= best:  # walking down, >= keeps the first maximum as argmax does
                best, best_i = score, i
        return best_i

    return best_bin


def isodata(counts, centers):
    """Ridler & Calvard (1978) iterative intermeans: :func:`skimage.filters.threshold_isodata`."""
    return filters.threshold_isodata(hist=(counts, centers))


def yen(counts, centers):
    """Yen, Chang & Chang (1995), maximum correlation: :func:`skimage.filters.threshold_yen`."""
    return filters.threshold_yen(hist=(counts, centers))


def minimum(counts, centers):
    """Prewitt & Mendelsohn (1966), valley of the smoothed histogram:
    :func:`skimage.filters.threshold_minimum`."""
    return filters.threshold_minimum(hist=(counts, centers))


def mean(counts, centers):
    """Glasbey (1993): the mean intensity (equals :func:`skimage.filters.threshold_mean`)."""
    return float(np.sum(counts * centers.astype(np.float64)) / np.sum(counts))


def li(counts, centers):
    """Li & Tam (1998) minimum cross entropy on a histogram: for integer images exactly the
    integer branch of :func:`skimage.filters.threshold_li` (tolerance 0.5, start at the
    mean); for float bins the tolerance is half a bin."""
    hist = counts.astype(np.float32)
    values = centers.astype(np.float64) - centers[0]
    tolerance = 0.5 if centers.dtype.kind in "iu" else (values[1] - values[0]) / 2
    t_next = float(np.sum(counts * values) / np.sum(counts))
    t_curr = -2 * tolerance
    while abs(t_next - t_curr) > tolerance:
        t_curr = t_next
        fore = values > t_curr
        mean_fore = np.average(values[fore], weights=hist[fore])
        mean_back = np.average(values[~fore], weights=hist[~fore])
        if mean_back == 0:
            break
        t_next = (mean_back - mean_fore) / (np.log(mean_back) - np.log(mean_fore))
    return t_next + centers[0]


def triangle(counts, centers):
    """Zack, Rogers & Latt (1977) triangle method, as :func:`skimage.filters.threshold_triangle`."""
    nbins = len(counts)
    hist = counts
    peak = int(np.argmax(hist))
    peak_height = float(hist[peak])
    low, high = np.flatnonzero(hist)[[0, -1]]
    flip = peak - low < high - peak
    if flip:
        hist = hist[::-1]
        low = nbins - high - 1
        peak = nbins - peak - 1
    width = peak - low
    x1 = np.arange(width)
    y1 = hist[x1 + low]
    norm = np.sqrt(peak_height**2 + width**2)
    level = int(np.argmax(peak_height / norm * x1 - width / norm * y1)) + low
    if flip:
        level = nbins - level - 1
    return centers[level]


def multiotsu(counts, centers, classes=3):
    """Liao, Chen & Chung (2001) multi-level Otsu: ``classes - 1`` thresholds,
    :func:`skimage.filters.threshold_multiotsu`."""
    classes = check_number("classes", classes, minimum=2, maximum=256, integer=True)
    return filters.threshold_multiotsu(hist=(counts, centers), classes=classes)


def default(counts, centers):
    """ImageJ's "Default": its variant of Ridler & Calvard's IsoData (1978).

    The first and last bins (saturated pixels) are left out; the threshold moves up from
    the lowest level until it passes the mean of the two class means.
    """
    h = counts.astype(np.float64)
    h[0] = h[-1] = 0.0
    nonzero = np.flatnonzero(h)
    if nonzero.size == 0 or nonzero[0] >= nonzero[-1]:
        return centers[len(h) // 2]
    low, high = nonzero[0], nonzero[-1]
    index = np.arange(len(h))
    below, below_sum = np.cumsum(h), np.cumsum(index * h)
    moving = low
    while True:
        above = below[high] - below[moving]
        result = (
            below_sum[moving] / below[moving] + (below_sum[high] - below_sum[moving]) / above
        ) / 2.0
        moving += 1
        if not (moving + 1 <= result and moving < high - 1):
            break
    return centers[int(np.floor(result + 0.5))]


def huang(counts, centers):
    """Huang & Wang (1995) fuzzy thresholding by minimum Shannon fuzziness.

    Each pixel's membership in its class is ``1 / (1 + |i - μ| / C)`` with ``μ`` the class
    mean and ``C = last - first`` bin; the threshold minimises the summed entropy of the
    memberships. O(bins²): histograms wider than :data:`MAX_QUADRATIC_BINS` are merged first.
    """
    counts, centers = _at_most(counts, centers, MAX_QUADRATIC_BINS)
    h = counts.astype(np.float64)
    index = np.arange(len(h))
    first, last = np.flatnonzero(h)[[0, -1]]
    s, w = np.cumsum(h), np.cumsum(index * h)
    span = last - first
    distance = np.arange(span + 1)
    mu = 1.0 / (1.0 + distance / span)
    with np.errstate(divide="ignore", invalid="ignore"):
        entropy_of = np.nan_to_num(-mu * np.log(mu) - (1 - mu) * np.log(1 - mu))
    entropy_of[0] = 0.0
    best, best_t = np.inf, first
    for t in range(first, last + 1):
        m_back = int(np.floor(w[t] / s[t] + 0.5))
        e = np.dot(entropy_of[np.abs(index[first : t + 1] - m_back)], h[first : t + 1])
        if t < last:
            m_fore = int(np.floor((w[last] - w[t]) / (s[last] - s[t]) + 0.5))
            e += np.dot(entropy_of[np.abs(index[t + 1 : last + 1] - m_fore)], h[t + 1 : last + 1])
        if e < best:
            best, best_t = e, t
    return centers[best_t]


def intermodes(counts, centers):
    """Prewitt & Mendelsohn (1966): smooth the histogram (3-bin mean, as scikit-image's
    minimum method) until it has two peaks; the threshold is midway between them."""
    smooth = counts.astype(np.float32)
    for _ in range(10000):
        smooth = ndimage.uniform_filter1d(smooth, 3)
        peaks = _local_maxima(smooth)
        if len(peaks) < 3:
            break
    if len(peaks) != 2:
        raise RuntimeError("the histogram never has exactly two peaks")
    return (float(centers[peaks[0]]) + float(centers[peaks[1]])) / 2.0


def max_entropy(counts, centers):
    """Kapur, Sahoo & Wong (1985): maximise the sum of the two classes' Shannon entropies."""
    p, p1, p2 = _probabilities(counts)
    return centers[_best(_renyi(p, p1, p2, 1.0), p1, p2, np.argmax)]


def renyi_entropy(counts, centers):
    """Sahoo, Wilkins & Yeager (1997): Rényi entropies of order 0.5, 1 and 2 give three
    thresholds, combined with weights set by how far apart they are."""
    p, p1, p2 = _probabilities(counts)
    thresholds = [_best(_renyi(p, p1, p2, alpha), p1, p2, np.argmax) for alpha in (0.5, 1.0, 2.0)]
    t1, t2, t3 = sorted(thresholds)
    if abs(t1 - t2) <= 5:
        beta = (1, 2, 1) if abs(t2 - t3) <= 5 else (0, 1, 3)
    else:
        beta = (3, 1, 0) if abs(t2 - t3) <= 5 else (1, 2, 1)
    omega = p1[t3] - p1[t1]
    level = (
        t1 * (p1[t1] + 0.25 * omega * beta[0])
        + 0.25 * t2 * omega * beta[1]
        + t3 * (p2[t3] + 0.25 * omega * beta[2])
    )
    return centers[min(int(level), len(centers) - 1)]  # truncated, as in the paper's code


def shanbhag(counts, centers):
    """Shanbhag (1994): fuzzy memberships from the cumulative histogram; the threshold makes
    the two classes' information measures most nearly equal. O(bins²) (see :func:`huang`)."""
    counts, centers = _at_most(counts, centers, MAX_QUADRATIC_BINS)
    p, p1, p2 = _probabilities(counts)
    n = len(p)
    best, best_t = np.inf, 0
    for t in _valid(p1, p2):
        back = -np.dot(p[1 : t + 1], np.log(1.0 - 0.5 * p1[:t] / p1[t])) * 0.5 / p1[t]
        fore = -np.dot(p[t + 1 : n], np.log(1.0 - 0.5 * p2[t + 1 : n] / p2[t])) * 0.5 / p2[t]
        if abs(back - fore) < best:
            best, best_t = abs(back - fore), t
    return centers[best_t]


def min_error(counts, centers):
    """Kittler & Illingworth (1986) minimum error: the threshold minimising
    ``J = 1 + 2(P1 ln σ1 + P2 ln σ2) − 2(P1 ln P1 + P2 ln P2)`` over all levels
    (the global minimum, not the iterative local one)."""
    h = counts.astype(np.float64)
    x = np.arange(len(h), dtype=np.float64)
    n1, s1, q1 = np.cumsum(h), np.cumsum(h * x), np.cumsum(h * x * x)
    n2, s2, q2 = n1[-1] - n1, s1[-1] - s1, q1[-1] - q1
    with np.errstate(divide="ignore", invalid="ignore"):
        var1 = q1 / n1 - (s1 / n1) ** 2
        var2 = q2 / n2 - (s2 / n2) ** 2
        p1, p2 = n1 / n1[-1], n2 / n1[-1]
        j = 1 + (p1 * np.log(var1) + p2 * np.log(var2)) - 2 * (p1 * np.log(p1) + p2 * np.log(p2))
    j[~((var1 > 1e-12) & (var2 > 1e-12))] = np.inf
    if not np.isfinite(j).any():
        raise RuntimeError("no level splits the histogram into two classes with spread")
    return centers[int(np.argmin(j))]


def moments(counts, centers):
    """Tsai (1985) moment-preserving: the binary image keeps the first three moments."""
    p = counts / counts.sum()
    x = np.arange(len(p), dtype=np.float64)
    m1, m2, m3 = np.dot(p, x), np.dot(p, x**2), np.dot(p, x**3)
    cd = m2 - m1 * m1
    c0 = (-m2 * m2 + m1 * m3) / cd
    c1 = (-m3 + m2 * m1) / cd
    root = np.sqrt(c1 * c1 - 4 * c0)
    z0, z1 = 0.5 * (-c1 - root), 0.5 * (-c1 + root)
    p0 = (z1 - m1) / (z1 - z0)  # the fraction of background pixels
    return centers[min(int(np.searchsorted(np.cumsum(p), p0, side="right")), len(p) - 1)]


def percentile(counts, centers, percentile=50.0):
    """Doyle (1962) p-tile: the level with ``percentile`` % of pixels at or below it."""
    if not 0 < percentile < 100:
        raise ValueError(f"percentile must be between 0 and 100, not {percentile}")
    below = np.cumsum(counts) / counts.sum()
    return centers[int(np.argmin(np.abs(below - percentile / 100.0)))]


# -- helpers ---------------------------------------------------------------------------


def _probabilities(counts):
    p = counts.astype(np.float64) / counts.sum()
    p1 = np.cumsum(p)
    return p, p1, 1.0 - p1


def _valid(p1, p2):
    """Levels where both classes hold pixels (Fiji's first_bin … last_bin)."""
    return np.flatnonzero((p1 > _EPS) & (p2 > _EPS))


def _best(score, p1, p2, pick):
    valid = _valid(p1, p2)
    if valid.size == 0:
        raise RuntimeError("the histogram has a single level")
    return int(valid[pick(score[valid])])


def _xlogx(p):
    out = np.zeros_like(p)
    np.multiply(p, np.log(p, where=p > 0, out=np.zeros_like(p)), out=out)
    return out


def _renyi(p, p1, p2, alpha):
    """Sum of the two classes' Rényi entropies of order ``alpha`` at every level."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if alpha == 1.0:
            plogp = _xlogx(p)
            back = np.log(p1) - np.cumsum(plogp) / p1
            fore = np.log(p2) - _above(plogp) / p2
            return back + fore
        power = p**alpha
        back = np.cumsum(power) / p1**alpha
        fore = _above(power) / p2**alpha
        product = back * fore
        # an empty class contributes nothing (Fiji: the total is 0 unless the product is > 0)
        return np.where(product > 0, np.log(product) / (1.0 - alpha), 0.0)


def _above(x):
    """``sum(x[t + 1:])`` for every ``t``, summed from the top so small tails stay exact."""
    return np.append(np.cumsum(x[::-1])[::-1][1:], 0.0)


def _local_maxima(hist):
    """Peak indices, plateaus counted once (scikit-image's rule for threshold_minimum)."""
    peaks, rising = [], True
    for i in range(len(hist) - 1):
        if rising and hist[i + 1] < hist[i]:
            rising = False
            peaks.append(i)
        elif not rising and hist[i + 1] > hist[i]:
            rising = True
    return peaks


def _at_most(counts, centers, bins):
    """Merge runs of neighbouring bins so that there are at most ``bins``."""
    if len(counts) <= bins:
        return counts, centers
    group = -(-len(counts) // bins)
    pad = (-len(counts)) % group
    c = np.pad(counts.astype(np.float64), (0, pad)).reshape(-1, group)
    x = np.pad(centers.astype(np.float64), (0, pad), mode="edge").reshape(-1, group)
    return c.sum(axis=1), x.mean(axis=1)


#: method name -> function(counts, centers, **parameters)
HISTOGRAM_METHODS = {
    "default": default,
    "huang": huang,
    "intermodes": intermodes,
    "isodata": isodata,
    "li": li,
    "max_entropy": max_entropy,
    "mean": mean,
    "min_error": min_error,
    "minimum": minimum,
    "moments": moments,
    "otsu": otsu,
    "percentile": percentile,
    "renyi_entropy": renyi_entropy,
    "shanbhag": shanbhag,
    "triangle": triangle,
    "yen": yen,
}

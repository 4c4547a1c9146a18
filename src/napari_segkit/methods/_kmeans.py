"""k-means from greedy k-means++ starts, the best of several, and the nearest-centre
assignment of every pixel, on the CPU (numba, no GIL).

A run is Lloyd's iterations, then Hartigan's exchange: Lloyd stops at a fixed point, often
one of the many that discrete levels make, and moving single points to the class where that
lowers the within-class sum of squares takes it on to a better one (on the grey test images,
the global optimum; never a worse one). Sums are float64.

- One channel: the sample becomes its sorted distinct values and their counts (a histogram
  for integer data), and each Lloyd iteration works on prefix sums of that histogram: the
  classes are the runs between the midpoints of the sorted centres, so an iteration costs
  O(k log levels) and gives exactly the centres of Lloyd on the pixels themselves.
- Several channels (colour): compiled Lloyd over the sample's distinct colours (8-bit) or
  its points, with their counts; the runs go on the pool's threads.

Lloyd stops when no assignment changes, when no centre moves by more than :data:`TOL` × the
sample's spread, or after ``iterations`` (the exchange after as many passes); a class left
empty moves to the point farthest from its centre (as scikit-learn does). k-means++ is
scikit-learn's greedy form (2 + ln k trials per centre), drawn from
``numpy.random.default_rng(seed)``, so the same seed gives the same centres.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from ..progress import steps
from ._pool import map_tasks, workers

TOL = 1e-4  # largest centre move that ends a run, relative to the sample's spread
_LEVELS = 1 << 16  # integer data spanning at most this many values: np.bincount histogram


def fit(points, k: int, seed: int, iterations: int = 30, starts: int = 10) -> np.ndarray:
    """Centres (k × d float64) of the best (lowest within-class sum of squares; the first of
    equals) of ``starts`` k-means runs of at most ``iterations`` on ``points`` (n × d,
    finite, ≥ k distinct). Colour runs go on the pool's threads, as many at once as cores."""
    rng = np.random.default_rng(seed)
    one = points.shape[1] == 1
    data, weights = histogram(points[:, 0]) if one else distinct_rows(points)
    data = data.reshape(len(weights), -1)
    tol = TOL * float(np.mean(_spread(data, weights)))
    trials = 2 + int(math.log(k))
    draws = rng.random((max(1, starts), 1 + (k - 1) * trials))

    def run(uniforms):
        start = plusplus(data, weights, k, uniforms, trials)
        if one:
            centres = lloyd_1d(data[:, 0], weights, start[:, 0], iterations, tol)[:, None]
        else:
            centres = lloyd(data, weights, start, iterations, tol)
        return exchange(data, weights, centres, iterations)

    batch = 1 if one else workers()
    runs = []
    for first in steps(range(0, len(draws), batch), end=0.8):
        runs += map_tasks(run, draws[first : first + batch])
    return min(runs, key=lambda result: result[1])[0]


def distinct_rows(points):
    """Distinct rows of ``points`` (float64) and their counts: 8-bit colour (3–4 channels)
    repeats a lot, and Lloyd on the distinct colours with their counts is Lloyd on all;
    other data: every row, weight 1."""
    n, d = points.shape
    if points.dtype != np.uint8 or d > 4:
        return np.ascontiguousarray(points, np.float64), np.ones(n)
    packed = np.zeros((n, 4), np.uint8)
    packed[:, :d] = points
    keys, counts = np.unique(packed.view(np.uint32)[:, 0], return_counts=True)
    rows = keys.view(np.uint8).reshape(-1, 4)[:, :d]
    return rows.astype(np.float64), counts.astype(np.float64)


def histogram(values):
    """Sorted distinct ``values`` and their counts, both float64 (np.bincount for integer
    data spanning at most 65 536 values, else np.unique)."""
    if values.dtype.kind in "biu" and len(values):
        lo = int(values.min())
        if int(values.max()) - lo < _LEVELS:
            counts = np.bincount((values - lo).astype(np.intp, copy=False))
            present = np.flatnonzero(counts)
            return (present + lo).astype(np.float64), counts[present].astype(np.float64)
    distinct, counts = np.unique(values, return_counts=True)
    return distinct.astype(np.float64), counts.astype(np.float64)


def _spread(data, weights):
    """Weighted standard deviation of each column of ``data``."""
    mean = weights @ data / weights.sum()
    return np.sqrt(weights @ (data - mean) ** 2 / weights.sum())


def lloyd_1d(values, weights, centres, iterations: int, tol: float):
    """Lloyd on sorted distinct ``values`` with ``weights`` (counts) from ``centres`` (k):
    the sorted centres that :func:`lloyd` reaches on the points."""
    cum_w = np.concatenate([[0.0], np.cumsum(weights)])
    cum_x = np.concatenate([[0.0], np.cumsum(weights * values)])
    centres = np.sort(np.asarray(centres, np.float64))
    bounds = None
    for _ in range(iterations):
        cut = np.searchsorted(values, (centres[1:] + centres[:-1]) / 2, side="right")
        if bounds is not None and np.array_equal(cut, bounds):
            break  # no assignment changed: the centres are their classes' means
        bounds = cut
        edges = np.concatenate([[0], cut, [len(values)]])
        count = cum_w[edges[1:]] - cum_w[edges[:-1]]
        moved = (cum_x[edges[1:]] - cum_x[edges[:-1]]) / np.where(count > 0, count, 1)
        if (count == 0).any():
            far = (values - np.repeat(centres, np.diff(edges))) ** 2
            moved = np.sort(_relocate(moved, count, far, values[:, None])[:, 0])
        shift, centres = float(np.abs(moved - centres).max()), moved
        if shift <= tol:
            break
    return centres


def _relocate(moved, count, far, points):
    """Move the centres of empty classes to the points farthest (``far``: squared distance
    to their centre) from their centres, one point each."""
    moved = moved.reshape(len(count), -1).copy()
    order = np.argsort(-far, kind="stable")
    for i, c in enumerate(np.flatnonzero(count == 0)):
        moved[c] = points[order[i % len(order)]]
    return moved


@numba.njit(cache=True, nogil=True)
def _pick(cumulative, target):
    """First index whose cumulative weight exceeds ``target`` (the last one at most)."""
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return lo


@numba.njit(cache=True, nogil=True, inline="always")
def _squared(points, i, centres, c):
    """Squared distance from row ``i`` of ``points`` to row ``c`` of ``centres`` (no slices:
    each would cost a reference count in the inner loop)."""
    total = 0.0
    for j in range(points.shape[1]):
        diff = points[i, j] - centres[c, j]
        total += diff * diff
    return total


@numba.njit(cache=True, nogil=True)
def plusplus(points, weights, k, uniforms, trials):
    """Greedy k-means++ (scikit-learn's): the first centre drawn by weight, each next one the
    best (lowest potential) of ``trials`` drawn by weight × squared distance to the nearest
    centre so far. ``uniforms``: 1 + (k - 1) × trials numbers in [0, 1)."""
    n, d = points.shape
    centres = np.empty((k, d))
    cumulative = np.cumsum(weights)
    centres[0] = points[_pick(cumulative, uniforms[0] * cumulative[-1])]
    closest = np.empty(n)
    for i in range(n):
        closest[i] = _squared(points, i, centres, 0)
    for c in range(1, k):
        cumulative = np.cumsum(weights * closest)
        best, best_potential = 0, np.inf
        for t in range(trials):
            candidate = _pick(cumulative, uniforms[1 + (c - 1) * trials + t] * cumulative[-1])
            potential = 0.0
            for i in range(n):
                potential += weights[i] * min(closest[i], _squared(points, i, points, candidate))
            if potential < best_potential:
                best, best_potential = candidate, potential
        centres[c] = points[best]
        for i in range(n):
            closest[i] = min(closest[i], _squared(points, i, centres, c))
    return centres


@numba.njit(cache=True, nogil=True)
def _nearest_centre(points, i, centres):
    """(index, squared distance) of the centre nearest row ``i`` (the first of equals; a
    NaN row: 0, inf)."""
    best, best_d = 0, np.inf
    for c in range(centres.shape[0]):
        dist = _squared(points, i, centres, c)
        if dist < best_d:
            best, best_d = c, dist
    return best, best_d


@numba.njit(cache=True, nogil=True)
def _assign(points, centres, labels, distances):
    """Each point's nearest centre (the first of equals) into ``labels`` and its squared
    distance into ``distances``; returns how many labels changed."""
    changed = 0
    for i in range(points.shape[0]):
        best, best_d = _nearest_centre(points, i, centres)
        changed += labels[i] != best
        labels[i], distances[i] = best, best_d
    return changed


@numba.njit(cache=True, nogil=True)
def _means(points, weights, labels, distances, centres):
    """Class means; an empty class moves to the point farthest from its centre (the
    first of equals; each point used once)."""
    k, d = centres.shape
    sums, count = np.zeros((k, d)), np.zeros(k)
    for i in range(points.shape[0]):
        count[labels[i]] += weights[i]
        for j in range(d):
            sums[labels[i], j] += weights[i] * points[i, j]
    for c in range(k):
        if count[c] > 0:
            sums[c] /= count[c]
        else:
            far = np.argmax(distances)
            sums[c], distances[far] = points[far], -1.0
    return sums


@numba.njit(cache=True, nogil=True)
def lloyd(points, weights, centres, iterations, tol):
    """Lloyd on ``points`` (n × d float64) with ``weights`` from ``centres`` (k × d): the
    centres."""
    labels = np.full(points.shape[0], -1, np.intp)
    distances = np.empty(points.shape[0])
    for _ in range(iterations):
        if _assign(points, centres, labels, distances) == 0:
            break  # no assignment changed: the centres are their classes' means
        moved = _means(points, weights, labels, distances, centres)
        shift = np.abs(moved - centres).max()
        centres = moved
        if shift <= tol:
            break
    return centres


@numba.njit(cache=True, nogil=True)
def _nearest_rows(rows, centres, out):
    """:func:`nearest` for one slab of rows, into ``out``."""
    for i in range(rows.shape[0]):
        out[i] = _nearest_centre(rows, i, centres)[0]


def nearest(rows, centres) -> np.ndarray:
    """Index (uint8) of the nearest of ``centres`` (k ≤ 255 × d, float64; the first of
    equals) for every row of ``rows`` (n × d, any real dtype, not copied; NaN rows: 0),
    compiled, in slabs on the pool's threads."""
    out = np.empty(len(rows), np.uint8)
    step = max(-(-len(rows) // workers()), 1 << 16)
    map_tasks(
        lambda s: _nearest_rows(rows[s : s + step], centres, out[s : s + step]),
        range(0, len(rows), step),
    )
    return out


@numba.njit(cache=True, nogil=True)
def exchange(points, weights, centres, passes):
    """Hartigan's exchange from the classes of ``centres`` over ``points`` with ``weights``:
    point by point, a point moves to the class where that lowers the within-class sum of
    squares most (leaving A for B changes it by w·nB/(nB+w)·|x−μB|² −
    w·nA/(nA−w)·|x−μA|²), the two means updated at once; until a pass moves none, or
    ``passes``. Returns (centres, within-class sum of squares), no worse than Lloyd's; no
    class is emptied."""
    n, d = points.shape
    k = centres.shape[0]
    labels = np.full(n, -1, np.intp)
    distances = np.empty(n)
    _assign(points, centres, labels, distances)
    sums, count = np.zeros((k, d)), np.zeros(k)
    for i in range(n):
        count[labels[i]] += weights[i]
        for j in range(d):
            sums[labels[i], j] += weights[i] * points[i, j]
    means = centres.copy()
    for c in range(k):
        if count[c] > 0:
            means[c] = sums[c] / count[c]
    for _ in range(passes):
        moves = 0
        for i in range(n):
            a, w = labels[i], weights[i]
            if count[a] <= w:
                continue
            leave = w * count[a] / (count[a] - w) * _squared(points, i, means, a)
            best, best_join = a, leave * (1 - 1e-12)
            for b in range(k):
                if b != a and count[b] > 0:
                    join = w * count[b] / (count[b] + w) * _squared(points, i, means, b)
                    if join < best_join:
                        best, best_join = b, join
            if best == a:
                continue
            count[a] -= w
            count[best] += w
            for j in range(d):
                sums[a, j] -= w * points[i, j]
                sums[best, j] += w * points[i, j]
                means[a, j] = sums[a, j] / count[a]
                means[best, j] = sums[best, j] / count[best]
            labels[i] = best
            moves += 1
        if moves == 0:
            break
    cost = 0.0
    for i in range(n):
        cost += weights[i] * _squared(points, i, means, labels[i])
    return means, cost

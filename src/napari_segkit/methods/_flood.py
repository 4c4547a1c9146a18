"""Compiled marker watershed (numba): scikit-image's priority-queue flood, step for step.

:func:`skimage.segmentation.watershed` (compactness 0, no watershed line) queues every marker
in raster order at (its value, age 0), then pops the smallest (value, age) and gives each
unlabelled neighbour inside the mask, in its neighbour order, the popped voxel's label and
a place in the queue at (the larger of its value and the popped one, the next age). Here
values become unsigned keys of the same order (read through an unsigned view of the
landscape, no float64 copy, no padding), and the queue is first scikit-image's own binary
heap (same sift-up and sift-down: markers of one value tie at age 0, and the heap's layout
orders them), for as long as two waiting markers share a value. From then on every queued
item has its own (value, age) and pops never go down, so a radix queue (FIFO within a
value = age order) pops the same sequence at a fraction of the cost. On a constant
landscape (the Voronoi partition) that is a breadth-first flood. The labels are equal to
scikit-image's.
"""

from __future__ import annotations

import numba
import numpy as np
from numba.cpython.unsafe.numbers import leading_zeros
from scipy import ndimage

#: the small helpers of the hot loops: compiled without reference counting of their array
#: arguments (numba's NRT), which costs more than their work (they allocate nothing)
_inner = numba.njit(cache=True, nogil=True, _nrt=False)

#: how a landscape's bits map to an order-preserving unsigned key (CONSTANT: all equal)
UNSIGNED, SIGNED, FLOAT, CONSTANT = 0, 1, 2, 3
_AGE_BITS = np.uint64(32)


def neighbour_offsets(ndim: int, connectivity: int) -> np.ndarray:
    """(k × ndim) int64 neighbour steps in scikit-image's order: the footprint's voxels in
    raster order, stably sorted by distance from the centre, the centre dropped."""
    footprint = ndimage.generate_binary_structure(ndim, connectivity)
    offsets = np.argwhere(footprint) - 1
    order = np.argsort(np.sqrt((offsets**2).sum(axis=1)), kind="stable")
    return offsets[order][1:].astype(np.int64)


def _key_view(landscape: np.ndarray):
    """(unsigned view of the landscape's bits, its kind, its sign bit), no copy."""
    kind = {"f": FLOAT, "i": SIGNED}.get(landscape.dtype.kind, UNSIGNED)
    if landscape.dtype == bool:
        landscape = landscape.view(np.uint8)
    elif kind == FLOAT and landscape.dtype.itemsize not in (4, 8):
        landscape = landscape.astype(np.float32)  # float16: exact in float32
    bits = landscape.dtype.itemsize * 8
    view = landscape.view(f"u{landscape.dtype.itemsize}")
    return view, kind, np.uint64(1) << np.uint64(bits - 1)


def flood(landscape, markers, mask=None, connectivity: int = 1) -> np.ndarray | None:
    """int32 labels equal to ``skimage.segmentation.watershed(landscape, markers,
    mask=mask, connectivity=connectivity)``, for 1 to 3 dimensions; ``landscape``: any
    real or bool dtype, or None for a constant one (the Voronoi partition of the mask, a
    breadth-first flood). None when scikit-image must do it: more than 3 dimensions, or
    the flood meets a NaN (its comparisons with NaN have no order to copy)."""
    markers = np.asarray(markers)
    if markers.ndim > 3:
        return None
    shape = (1,) * (3 - markers.ndim) + markers.shape
    offsets = neighbour_offsets(markers.ndim, connectivity)
    offsets = np.hstack([np.zeros((len(offsets), 3 - markers.ndim), np.int64), offsets])
    labels = np.empty(markers.shape, np.int32)
    status = np.empty(shape, np.uint8)
    inside = (
        np.ones((0, 0, 0), np.uint8)
        if mask is None
        else np.ascontiguousarray(mask, dtype=bool).reshape(shape).view(np.uint8)
    )
    seeds = _prepare(
        np.ascontiguousarray(markers, dtype=np.int32).reshape(shape),
        inside,
        labels.reshape(shape),
        status,
    )
    if landscape is None:
        view, kind, sign = np.zeros(1, np.uint8), CONSTANT, np.uint64(0)
    else:
        view, kind, sign = _key_view(np.ascontiguousarray(landscape))
    wide = view.itemsize == 8 or labels.size >= 2**32 - 1
    strides = np.array([shape[1] * shape[2], shape[2], 1])
    done = _flood(
        view.ravel(),
        kind,
        sign,
        labels.ravel(),
        status.ravel(),
        seeds,
        _forbidden(offsets),
        offsets @ strides,
        wide,
    )
    return labels if done else None


#: ``status`` bits of a voxel: inside the mask, at the low / high edge of axis 0, 1, 2,
#: labelled
INSIDE, TAKEN = np.uint8(1), np.uint8(128)


def _forbidden(offsets: np.ndarray) -> np.ndarray:
    """Per neighbour step (k × 3), the edge bits of ``status`` that rule it out."""
    bits = np.zeros(len(offsets), np.uint8)
    for axis in range(3):
        bits |= np.where(offsets[:, axis] < 0, 2 << (2 * axis), 0).astype(np.uint8)
        bits |= np.where(offsets[:, axis] > 0, 4 << (2 * axis), 0).astype(np.uint8)
    return bits


@numba.njit(cache=True, nogil=True)
def _prepare(markers, mask, labels, status):
    """``labels`` = the markers inside ``mask`` (empty: everywhere), ``status`` (uint8) =
    INSIDE | edge bits | TAKEN; returns the markers' flat indices in raster order."""
    nz, ny, nx = markers.shape
    masked = mask.size > 0
    count = 0
    for z in range(nz):
        for y in range(ny):
            edges = (
                (2 if z == 0 else 0)
                | (4 if z == nz - 1 else 0)
                | (8 if y == 0 else 0)
                | (16 if y == ny - 1 else 0)
            )
            for x in range(nx):
                inside = not masked or mask[z, y, x] != 0
                label = markers[z, y, x] if inside else 0
                labels[z, y, x] = label
                bits = edges | (32 if x == 0 else 0) | (64 if x == nx - 1 else 0)
                if inside:
                    bits |= 1
                if label != 0:
                    bits |= 128
                    count += 1
                status[z, y, x] = bits
    seeds = np.empty(count, np.int64)
    flat = status.ravel()
    count = 0
    for i in range(flat.size):  # a second, lighter pass: one byte a voxel
        if flat[i] & TAKEN:
            seeds[count] = i
            count += 1
    return seeds


@_inner
def _key(values, j, kind, sign):
    """The uint64 key of ``values[j]``, in the order of the values; 2⁶⁴-1 for a NaN."""
    if kind == CONSTANT:
        return np.uint64(0)
    v = np.uint64(values[j])
    if kind == SIGNED:
        return v ^ sign
    if kind == FLOAT:
        magnitude = v & (sign - np.uint64(1))
        infinity = (
            np.uint64(0x7FF0000000000000)
            if sign == np.uint64(1) << np.uint64(63)
            else np.uint64(0x7F800000)
        )
        if magnitude > infinity:
            return ~np.uint64(0)
        if magnitude == 0:  # -0.0 == 0.0
            return sign
        if v & sign:
            return (sign | (sign - np.uint64(1))) & ~v
        return v | sign
    return v


@_inner
def _less(key, age, other_key, other_age, wide):
    """(key, age) < (other_key, other_age); ages count only with ``wide`` keys (packed
    keys hold them)."""
    if key != other_key:
        return key < other_key
    return wide and age < other_age


@_inner
def _age(ha, p, wide):
    """The age of heap item ``p`` (0 when the keys hold it)."""
    return ha[p] if wide else np.uint64(0)


@numba.njit(cache=True, nogil=True)
def _grown(a, n):
    """``a`` with twice the room, its first ``n`` items kept."""
    b = np.empty(max(2 * a.size, 1024), a.dtype)
    b[:n] = a[:n]
    return b


@_inner
def _push(hk, ha, hi, n, key, age, index, wide):
    """scikit-image's ``heappush`` onto a heap of ``n`` items (room for one more): at the
    end, then up while strictly before the parent."""
    child = n
    while child > 0:
        parent = (child - 1) >> 1
        if not _less(key, age, hk[parent], _age(ha, parent, wide), wide):
            break
        hk[child], hi[child] = hk[parent], hi[parent]
        if wide:
            ha[child] = ha[parent]
        child = parent
    hk[child], hi[child] = key, index
    if wide:
        ha[child] = age


@_inner
def _pop(hk, ha, hi, n, wide):
    """scikit-image's ``heappop`` from a heap of ``n`` items: (key, age, index) of the top; the
    last item moves to the top and down while a child is strictly before it (the right
    one only when strictly before the left)."""
    top_key, top_age, top_index = hk[0], _age(ha, 0, wide), hi[0]
    n -= 1
    key, age, index = hk[n], _age(ha, n, wide), hi[n]
    i = 0
    while 2 * i + 1 < n:
        smallest, small_key, small_age = i, key, age
        left = 2 * i + 1
        if _less(hk[left], _age(ha, left, wide), small_key, small_age, wide):
            smallest, small_key, small_age = left, hk[left], _age(ha, left, wide)
        right = left + 1
        if right < n and _less(hk[right], _age(ha, right, wide), small_key, small_age, wide):
            smallest = right
        if smallest == i:
            break
        hk[i], hi[i] = hk[smallest], hi[smallest]
        if wide:
            ha[i] = ha[smallest]
        i = smallest
    hk[i], hi[i] = key, index
    if wide:
        ha[i] = age
    return top_key, top_age, top_index


@_inner
def _spread(index, labels, status, forbidden, jumps, fresh):
    """Give the free neighbours of ``index`` (inside the mask, unlabelled) its label, in
    neighbour order; their flat indices go to ``fresh``. Returns how many."""
    edges = status[index]
    label = labels[index]
    count = 0
    for k in range(jumps.size):
        if edges & forbidden[k]:
            continue
        j = index + jumps[k]
        if status[j] & (INSIDE | TAKEN) != INSIDE:
            continue
        status[j] |= TAKEN
        labels[j] = label
        fresh[count] = j
        count += 1
    return count


@numba.njit(cache=True, nogil=True)
def _tied_groups(keys):
    """(sorted distinct keys, how many markers hold each, how many keys more than one)."""
    ordered = np.sort(keys)
    first = np.ones(ordered.size, np.bool_)
    first[1:] = ordered[1:] != ordered[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, ordered.size))
    return ordered[starts], counts, int(np.sum(counts > 1))


#: what a compiled stretch of the flood stopped for
DONE, NAN, FULL = 0, 1, 2


@numba.njit(cache=True, nogil=True)
def _flood(values, kind, sign, labels, status, seeds, forbidden, jumps, wide):
    """scikit-image's flood on flat ``labels`` (int32, markers set; filled in place) and
    ``status`` (:func:`_prepare`); False when it reaches a NaN (the labels are then
    partial).

    First scikit-image's heap itself, while two markers of one value wait in it (their
    order depends on the heap's layout). After that every queued item has its own
    (value, age), so any exact queue pops the same sequence: :func:`_radix_flood`."""
    marker_keys = np.empty(seeds.size, np.uint64)
    for i in range(seeds.size):
        marker_keys[i] = _key(values, seeds[i], kind, sign)
        if marker_keys[i] == ~np.uint64(0):
            return False
    distinct, waiting, tied = _tied_groups(marker_keys)
    capacity = max(1024, 2 * seeds.size)
    hk = np.empty(capacity, np.uint64)
    hi = np.empty(capacity, np.int64)
    ha = np.empty(capacity if wide else 0, np.uint64)
    for i in range(seeds.size):
        key = marker_keys[i] if wide else marker_keys[i] << _AGE_BITS
        _push(hk, ha, hi, i, key, np.uint64(0), seeds[i], wide)
    counts = np.array([seeds.size, tied])  # heap items, values held by several markers
    marks = np.array([1, 0], np.uint64)  # the last age given, the last value popped
    while True:
        stop = _heap_steps(
            values,
            kind,
            sign,
            labels,
            status,
            forbidden,
            jumps,
            wide,
            hk,
            ha,
            hi,
            counts,
            marks,
            distinct,
            waiting,
        )
        if stop == NAN:
            return False
        if stop == DONE:
            break
        n = counts[0]
        hk, hi = _grown(hk, n), _grown(hi, n)
        if wide:
            ha = _grown(ha, n)
    n = counts[0]
    ages = ha[:n] if wide else hk[:n] & ((np.uint64(1) << _AGE_BITS) - np.uint64(1))
    order = np.argsort(ages)  # oldest first: within a value, the radix queue keeps age order
    return _radix_flood(
        values, kind, sign, labels, status, forbidden, jumps, hi[:n][order], marks[1]
    )


@numba.njit(cache=True, nogil=True)
def _heap_steps(
    values,
    kind,
    sign,
    labels,
    status,
    forbidden,
    jumps,
    wide,
    hk,
    ha,
    hi,
    counts,
    marks,
    distinct,
    waiting,
):
    """Pop and flood with the heap until no two waiting markers share a value (DONE), a
    NaN (NAN) or the heap may lack room for a voxel's neighbours (FULL: grow it, call
    again). The state lives in ``counts`` and ``marks`` (:func:`_flood`); nothing is
    reallocated here, which keeps the loop fast."""
    n, tied = counts[0], counts[1]
    age, level = marks[0], marks[1]
    low = (np.uint64(1) << _AGE_BITS) - np.uint64(1)
    fresh = np.empty(jumps.size, np.int64)
    stop = DONE
    while n > 0 and tied > 0:
        if hk.size - n < jumps.size:
            stop = FULL
            break
        level, popped_age, index = _pop(hk, ha, hi, n, wide)
        n -= 1
        if not wide:
            level, popped_age = level >> _AGE_BITS, level & low
        if popped_age == 0:  # a marker
            g = np.searchsorted(distinct, level)
            waiting[g] -= 1
            if waiting[g] == 1:
                tied -= 1
        for f in range(_spread(index, labels, status, forbidden, jumps, fresh)):
            key = _key(values, fresh[f], kind, sign)
            if key == ~np.uint64(0):
                stop = NAN
                break
            key = max(key, level)  # no lower than the voxel it floods from
            age += np.uint64(1)
            _push(hk, ha, hi, n, key if wide else (key << _AGE_BITS) | age, age, fresh[f], wide)
            n += 1
        if stop == NAN:
            break
    counts[0], counts[1] = n, tied
    marks[0], marks[1] = age, level
    return stop


@_inner
def _bit_length(x):
    """Bits needed for the uint64 ``x`` (0 for 0)."""
    return 64 - leading_zeros(np.uint64(x))


#: items per chunk of a radix bucket; the buckets, one per bit of a 64-bit key and bucket 0
CHUNK, BUCKETS = 512, 66


@numba.njit(cache=True, nogil=True)
def _more_chunks(pool, links, spare, least):
    """``pool`` and ``links`` with at least ``least`` free chunks, the new ones on the free
    list (``spare``: its first chunk, its length)."""
    n = links.size
    grow = max(n, least)
    bigger = np.empty((n + grow, CHUNK, 2), np.uint64)
    bigger[:n] = pool
    chained = np.empty(n + grow, np.int64)
    chained[:n] = links
    chained[n:] = np.arange(n + 1, n + grow + 1)
    chained[-1] = spare[0]
    spare[0] = n
    spare[1] += grow
    return bigger, chained


@_inner
def _append(pool, links, spare, heads, tails, fills, sizes, b, key, index):
    """Append (``key``, ``index``) to bucket ``b``, a chain of chunks in ``pool`` (a new
    one from the free list when full: the caller makes sure there is one)."""
    if heads[b] < 0 or fills[b] == CHUNK:
        c = spare[0]
        spare[0] = links[c]
        spare[1] -= 1
        links[c] = -1
        if heads[b] < 0:
            heads[b] = c
        else:
            links[tails[b]] = c
        tails[b], fills[b] = c, 0
    pool[tails[b], fills[b], 0] = key
    pool[tails[b], fills[b], 1] = np.uint64(index)
    fills[b] += 1
    sizes[b] += 1


@numba.njit(cache=True, nogil=True)
def _radix_flood(values, kind, sign, labels, status, forbidden, jumps, queued, last):
    """The flood from ``queued`` (flat indices, oldest first; none below ``last``) with a
    radix queue: pops never go down (a voxel is queued no lower than the one it floods
    from), so bucket b > 0 holds the keys whose highest bit differing from ``last`` is
    bit b - 1, and bucket 0, a first-in-first-out ring, those equal to ``last``. Buckets
    keep the order they are filled in and are emptied into lower ones only when every
    lower one is empty, so equal keys stay oldest first: ties pop in age order."""
    ring = np.empty(max(1024, 1 << _bit_length(np.uint64(2 * queued.size))), np.int64)
    pool = np.empty((0, CHUNK, 2), np.uint64)
    links = np.empty(0, np.int64)
    spare = np.array([-1, 0])
    pool, links = _more_chunks(pool, links, spare, queued.size // CHUNK + BUCKETS + 64)
    heads = np.full(BUCKETS, -1)
    tails, fills, sizes = (
        np.zeros(BUCKETS, np.int64),
        np.zeros(BUCKETS, np.int64),
        np.zeros(BUCKETS, np.int64),
    )
    count = 0
    for index in queued:
        key = max(_key(values, index, kind, sign), last)
        if key == last:
            ring[count] = index
            count += 1
        else:
            _append(
                pool, links, spare, heads, tails, fills, sizes, _bit_length(key ^ last), key, index
            )
    state = np.array([0, count])  # the ring's head and length
    fresh = np.empty(jumps.size, np.int64)
    while True:
        stop = _drain(
            values,
            kind,
            sign,
            labels,
            status,
            forbidden,
            jumps,
            last,
            ring,
            state,
            pool,
            links,
            spare,
            heads,
            tails,
            fills,
            sizes,
            fresh,
        )
        if stop == NAN:
            return False
        if stop == FULL:
            if ring.size - state[1] < jumps.size:
                ring = _unrolled(ring, state[0])
                state[0] = 0
            if spare[1] < jumps.size:
                pool, links = _more_chunks(pool, links, spare, jumps.size)
            continue
        b = 1
        while b < BUCKETS and heads[b] < 0:
            b += 1
        if b == BUCKETS:
            return True
        if ring.size < sizes[b]:
            ring = np.empty(1 << _bit_length(np.uint64(sizes[b])), np.int64)
        if spare[1] < sizes[b] // CHUNK + BUCKETS:
            pool, links = _more_chunks(pool, links, spare, sizes[b] // CHUNK + BUCKETS)
        state[0], state[1] = 0, _refill(b, ring, pool, links, spare, heads, tails, fills, sizes)
        last = _key(values, ring[0], kind, sign)


@numba.njit(cache=True, nogil=True)
def _refill(b, ring, pool, links, spare, heads, tails, fills, sizes):
    """Empty bucket ``b`` (every lower one and the ring are empty) around its smallest key:
    those equal to it into the ring, oldest first, the others into lower buckets (the
    caller makes room). Returns how many went into the ring."""
    last = ~np.uint64(0)
    c = heads[b]
    while c >= 0:
        for i in range(fills[b] if c == tails[b] else CHUNK):
            last = min(last, pool[c, i, 0])
        c = links[c]
    c, end, size = heads[b], tails[b], fills[b]
    heads[b], sizes[b] = -1, 0
    count = 0
    while c >= 0:
        for i in range(size if c == end else CHUNK):
            key, index = pool[c, i, 0], np.int64(pool[c, i, 1])
            if key == last:
                ring[count] = index
                count += 1
            else:
                _append(
                    pool,
                    links,
                    spare,
                    heads,
                    tails,
                    fills,
                    sizes,
                    _bit_length(key ^ last),
                    key,
                    index,
                )
        after = links[c]
        links[c], spare[0] = spare[0], c
        spare[1] += 1
        c = after
    return count


@numba.njit(cache=True, nogil=True)
def _drain(
    values,
    kind,
    sign,
    labels,
    status,
    forbidden,
    jumps,
    last,
    ring,
    state,
    pool,
    links,
    spare,
    heads,
    tails,
    fills,
    sizes,
    fresh,
):
    """Pop the ring (``state``: its head and length) until it is empty (DONE), queueing
    what each voxel floods: at ``last`` into the ring, above into the buckets. Stops at a
    NaN (NAN) or when the ring or the free chunks may lack room for a voxel's neighbours
    (FULL: make room, call again). Nothing is reallocated here, which keeps it fast."""
    head, count = state[0], state[1]
    wrap = ring.size - 1  # sizes are powers of 2
    stop = DONE
    while count > 0:
        if ring.size - count < jumps.size or spare[1] < jumps.size:
            stop = FULL
            break
        index = ring[head]
        head = (head + 1) & wrap
        count -= 1
        for f in range(_spread(index, labels, status, forbidden, jumps, fresh)):
            key = _key(values, fresh[f], kind, sign)
            if key == ~np.uint64(0):
                stop = NAN
                break
            if key <= last:  # no lower than the voxel it floods from
                ring[(head + count) & wrap] = fresh[f]
                count += 1
            else:
                _append(
                    pool,
                    links,
                    spare,
                    heads,
                    tails,
                    fills,
                    sizes,
                    _bit_length(key ^ last),
                    key,
                    fresh[f],
                )
        if stop == NAN:
            break
    state[0], state[1] = head, count
    return stop


@numba.njit(cache=True, nogil=True)
def _unrolled(ring, head):
    """A ring's items in order from the start of an array twice its size."""
    out = np.empty(2 * ring.size, ring.dtype)
    out[: ring.size - head] = ring[head:]
    out[ring.size - head : ring.size] = ring[:head]
    return out


def local_maxima(image: np.ndarray, mask=None, size=3) -> np.ndarray | None:
    """``(image >= ndimage.maximum_filter(image, size, mode="nearest")) & mask`` (bool), for
    odd box edges ``size`` (one per axis or one for all), compiled: every voxel inside
    ``mask`` is compared with its neighbours in the box of edges min(size, 3), its own row
    first, until one is higher; the few that survive are then checked against the whole
    box. None for more than 3 dimensions, a dtype other than floats and integers, or boxes so
    large that the check would cost more than scipy's separable filter (call scipy then)."""
    image = np.asarray(image)
    if image.ndim > 3 or image.dtype.kind not in "fiu":
        return None
    sizes = np.broadcast_to(np.asarray(size, dtype=np.int64), (image.ndim,))
    radii = np.r_[np.zeros(3 - image.ndim, np.int64), sizes // 2]
    shape = (1,) * (3 - image.ndim) + image.shape
    inside = (
        np.ones((0, 0, 0), np.uint8)
        if mask is None
        else np.ascontiguousarray(mask, dtype=bool).reshape(shape).view(np.uint8)
    )
    out = np.empty(image.shape, bool)
    volume = np.ascontiguousarray(image).reshape(shape)
    peaks = out.reshape(shape).view(np.uint8)
    _maxima(volume, inside, peaks, *np.minimum(radii, 1))
    if radii.max() > 1:
        candidates = np.flatnonzero(peaks)
        if candidates.size * np.prod(2 * radii + 1) > _BOX_CHECKS_PER_VOXEL * image.size:
            return None
        _keep_box_maxima(volume, candidates, peaks.reshape(-1), *radii)
    return out


#: above this many box reads per voxel, checking candidates costs more than scipy's filter
_BOX_CHECKS_PER_VOXEL = 4


@numba.njit(cache=True, nogil=True)
def _maxima(image, mask, out, rz, ry, rx):
    """``out`` = voxels of ``mask`` (empty: all) with no higher neighbour in the box of
    half-widths (rz, ry, rx), each 0 or 1 (neighbours outside the image ignored, as scipy's
    "nearest" border repeats the edge). The row is read first: it rejects most voxels."""
    nz, ny, nx = image.shape
    masked = mask.size > 0
    for z in range(nz):
        for y in range(ny):
            for x in range(nx):
                if masked and mask[z, y, x] == 0:
                    out[z, y, x] = 0
                    continue
                v = image[z, y, x]
                if rx and (
                    (x > 0 and image[z, y, x - 1] > v) or (x + 1 < nx and image[z, y, x + 1] > v)
                ):
                    out[z, y, x] = 0
                    continue
                out[z, y, x] = _box_max_at_most(image, v, z, y, x, rz, ry, rx, True)


@numba.njit(cache=True, nogil=True)
def _keep_box_maxima(image, candidates, flat_out, rz, ry, rx):
    """Clear the candidates (flat indices) that have a higher voxel in their box."""
    nz, ny, nx = image.shape
    for i in candidates:
        z, rest = divmod(i, ny * nx)
        y, x = divmod(rest, nx)
        if not _box_max_at_most(image, image[z, y, x], z, y, x, rz, ry, rx, False):
            flat_out[i] = 0


@numba.njit(cache=True, nogil=True, inline="always")
def _box_max_at_most(image, v, z, y, x, rz, ry, rx, skip_own_row):
    """Whether no voxel of the box of half-widths (rz, ry, rx) around (z, y, x), clipped to
    the image, is above ``v`` (its own row skipped when already read)."""
    nz, ny, nx = image.shape
    for zz in range(max(z - rz, 0), min(z + rz + 1, nz)):
        for yy in range(max(y - ry, 0), min(y + ry + 1, ny)):
            if skip_own_row and zz == z and yy == y:
                continue
            for xx in range(max(x - rx, 0), min(x + rx + 1, nx)):
                if image[zz, yy, xx] > v:
                    return False
    return True

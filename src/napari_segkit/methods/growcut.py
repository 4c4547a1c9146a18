"""Grow from seeds: GrowCut (Vezhnevets & Konouchine 2005), solved to convergence.

In GrowCut each seed's label spreads to its neighbours; a voxel q is taken over by a
neighbour p when θ_p · g(p, q) > θ_q, with strengths θ (1 on seeds) and
g = 1 - |I_p - I_q| / range. Once nothing changes, every voxel holds the label of the seed
with the strongest path: the largest product of g along it, i.e. the shortest path with
edge costs -log g. That fixed point is computed here in one pass with Dijkstra's algorithm
(as in Slicer's "Grow from seeds", Zhu et al. 2014), compiled by numba and run on the voxel
grid itself: a step's cost is computed when the step is taken, so no graph is stored. On the
GPU the automaton itself runs (kernels/growcut.cu); it reaches the same strengths, and the
same labels except where two seeds' paths tie.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from .._checks import check_number
from ..backend import get_xp, on_device, to_host
from ..kernels import growcut as automaton
from ..progress import report
from ._geometry import sigma_voxels
from .graphcut import check_cut_options, check_scribbles, offsets, scribble_box

__all__ = ["grow_from_seeds"]

#: cost per step of one voxel (the finest spacing), so a flat region goes to the nearest seed
STEP_COST = 1e-3
#: the most a single step can weaken a path (g never reaches 0)
_MAX_DROP = 1 - 1e-6


@on_device
def grow_from_seeds(
    image,
    seeds,
    *,
    sigma: float = 2.0,
    spacing=None,
    connectivity: int = 1,
    window: tuple[float, float] | None = None,
    background: int | None = 2,
    margin: float | None = None,
    rgb: bool = False,
):
    """Grow each scribble over the voxels it reaches without crossing strong edges (GrowCut).

    Every voxel takes the label of the seed with the strongest path to it. In GrowCut [1]_
    a voxel q is taken over by a neighbour p when θ_p · g(p, q) > θ_q, with strengths θ
    (1 on seeds) and g = 1 - |I_p - I_q| / range; at the fixed point every voxel holds the
    label of the seed whose path has the largest product of g, i.e. the shortest path with
    edge costs -log g. On the CPU that fixed point is computed in one pass with Dijkstra's
    algorithm [3]_ (as in Slicer's "Grow from seeds" [2]_), compiled by numba and run on the
    voxel grid itself: a step's cost is computed when the step is taken, so no graph is
    stored. A small cost per step (1e-3 per finest-spacing voxel) sends a flat region to the
    nearest seed. On the GPU the automaton itself runs (kernels/growcut.cu); it reaches the
    same strengths, and the same labels except where two seeds' paths tie.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or (M, N, 3) colour array with ``rgb``
        The image; NaN and infinite values are refused. Any array-like (NumPy, CuPy, dask,
        zarr); CuPy input gives a CuPy result, the others NumPy.
    seeds : int array of ``image``'s shape
        0 = not seeded; 1, 2, … (up to 255) = labels. Put seeds in every structure,
        background included; at least two labels must be painted.
    sigma : float, default 2.0
        Gaussian smoothing first, ≥ 0, in voxels (physical units with ``spacing``); 0 =
        none. Smoothing keeps noise from stopping the growth; it is in space only, not
        across colour channels.
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis): step lengths, ``sigma`` and
        ``margin`` are in its units.
    connectivity : int, default 1
        Neighbours: 1 = faces (4 in 2D, 6 in 3D) up to ndim (8 in 2D, 26 in 3D).
    window : (float, float), optional
        Intensities (lo, hi), lo < hi, that span the full contrast (grey); default the
        image's 0.5–99.5 percentiles. Colour is scaled by each channel's range instead, so
        the colour difference of two voxels is at most 1.
    background : int or None, default 2
        The seed id reported as 0 in the result; None keeps every id.
    margin : float, optional
        When given (≥ 0), grow only in the seeds' bounding box grown by ``margin`` (voxels,
        or physical units with ``spacing``); the rest is 0.
    rgb : bool, default False
        ``image`` has colour channels in the last axis.
    device : {"auto", "cpu", "gpu"}, default "auto"
        Where to run: "auto" uses the GPU when CuPy and a CUDA device work, else the CPU;
        on GPU out-of-memory the call is repeated on the CPU with a warning.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : (M, N) or (P, M, N) uint8 array
        The seeds' ids, ``background``'s id as 0. Same array kind as ``image`` (CuPy or
        NumPy).

    Raises
    ------
    ValueError
        If ``seeds`` has another shape than the image, is not a label image (integers
        ≥ 0), holds ids above 255 or fewer than two labels; the image holds NaN or
        infinite values; ``sigma`` or ``margin`` is negative, ``window`` not (lo, hi) with
        lo < hi, or ``background`` not an integer ≥ 0; ``connectivity`` or ``spacing`` does
        not fit the image; or ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or a number argument is not a number.
    GPUUnavailableError
        If ``device="gpu"`` and no CUDA GPU works through CuPy.

    See Also
    --------
    napari_segkit.graph_cut : Labels from intensity models, boundaries on edges.
    napari_segkit.watershed : Flood from seeds over a landscape.

    References
    ----------
    .. [1] V. Vezhnevets and V. Konouchine, "GrowCut: interactive multi-label N-D image
           segmentation by cellular automata", Proc. Graphicon, pp. 150-156, 2005.
    .. [2] L. Zhu, I. Kolesov, Y. Gao, R. Kikinis and A. Tannenbaum, "An effective
           interactive medical image segmentation method using Fast GrowCut", MICCAI
           Workshop on Interactive Medical Image Computing, 2014.
    .. [3] E. W. Dijkstra, "A note on two problems in connexion with graphs", Numerische
           Mathematik 1:269-271, 1959. :doi:`10.1007/BF01386390`

    Examples
    --------
    One seed on a bright square and one on the background: the square's seed fills the
    square and stops at its edge:

    >>> import numpy as np
    >>> from napari_segkit import grow_from_seeds
    >>> image = np.zeros((32, 32)); image[8:24, 8:24] = 1.0
    >>> seeds = np.zeros((32, 32), np.uint8); seeds[16, 16] = 1; seeds[2, 2] = 2
    >>> labels = grow_from_seeds(image, seeds, sigma=0)
    >>> labels.dtype.name, np.unique(labels).tolist(), int(labels.sum())
    ('uint8', [0, 1], 256)
    """
    check_number("sigma", sigma, minimum=0)
    check_cut_options(margin=margin, window=window, background=background)
    xp = get_xp(image)
    host = to_host(image)
    values, seeds, spacing = check_scribbles(host, to_host(seeds), rgb, spacing, connectivity)
    out = np.zeros(seeds.shape, np.uint8)
    box = scribble_box(seeds, margin, spacing)
    owned = not np.shares_memory(values, host)  # a float32 copy: smoothed in place
    values, scribbles = values[box], seeds[box]
    if sigma:  # smoothed in space, not across colour channels
        values = ndimage.gaussian_filter(
            values,
            sigma_voxels(sigma, spacing, scribbles.ndim) + (0,),
            output=values if owned else None,
        )
    values = _normalised(values, window, rgb, in_place=owned or bool(sigma))
    report(0.4)
    if xp is np:
        result = _dijkstra(values, scribbles, spacing, connectivity)
    else:  # the automaton itself, on the GPU (kernels/growcut.cu)
        steps, decay = automaton_steps(spacing, connectivity)
        result = automaton.grow(
            xp.asarray(values), xp.asarray(scribbles), steps, decay, _MAX_DROP
        ).get()
    if background is not None:
        result[result == background] = 0
    out[box] = result
    return out


def _dijkstra(values, scribbles, spacing, connectivity) -> np.ndarray:
    """The automaton's fixed point: Dijkstra's algorithm from all seeds at once on the voxel
    grid (uint8 labels of ``scribbles``' shape, 0 where no seed reached)."""
    steps, lengths = _steps(spacing, connectivity)
    shape = np.asarray(scribbles.shape, np.int64)
    strides = np.cumprod(np.r_[shape[1:], 1][::-1])[::-1]  # in voxels, C order
    labels = np.array(scribbles, np.uint8, order="C").ravel()
    flat = np.ascontiguousarray(values, np.float32).reshape(labels.size, -1)
    index = np.int32 if labels.size < 2**31 else np.int64
    free = labels.size - np.count_nonzero(labels)  # the most the queue ever holds
    _compiled()(
        flat,
        labels,
        shape,
        steps,
        steps @ strides,
        STEP_COST * lengths,
        float(_MAX_DROP),
        np.empty(free, np.float64),
        np.empty(free, index),
        np.full(labels.size, -1, index),
    )
    return labels.reshape(scribbles.shape)


def _steps(spacing, connectivity: int) -> tuple[np.ndarray, np.ndarray]:
    """Every neighbour offset (both signs, int64) and its length in finest-spacing steps."""
    steps = [s for o in offsets(len(spacing), connectivity) for s in (o, tuple(-v for v in o))]
    lengths = [np.linalg.norm(np.asarray(s) * np.asarray(spacing)) / min(spacing) for s in steps]
    return np.asarray(steps, np.int64), np.asarray(lengths, np.float64)


def automaton_steps(spacing, connectivity: int) -> tuple[np.ndarray, np.ndarray]:
    """Every neighbour offset (both signs) and its float32 factor exp(-STEP_COST · length),
    length in finest-spacing steps: the automaton's version of the step costs."""
    steps, lengths = _steps(spacing, connectivity)
    return steps.astype(np.int32), np.exp(-STEP_COST * lengths).astype(np.float32)


def _normalised(values: np.ndarray, window, rgb: bool, in_place: bool = False) -> np.ndarray:
    """float32 intensities scaled so the window (grey) or each channel's range (colour)
    spans 0–1, and the colour difference of two voxels is at most 1; grey ``values``
    (float32) are overwritten when ``in_place``."""
    if rgb:
        axes = tuple(range(values.ndim - 1))
        lo, hi = values.min(axis=axes), values.max(axis=axes)
        return ((values - lo) / (np.maximum(hi - lo, 1e-12) * np.sqrt(values.shape[-1]))).astype(
            np.float32
        )
    lo, hi = np.percentile(values, (0.5, 99.5)) if window is None else window
    hi = hi if hi > lo else lo + 1.0
    out = values if in_place else np.empty(values.shape, np.float32)
    for k in range(len(values)):  # slab by slab: the float64 temporaries stay small
        out[k] = np.clip((values[k] - lo) / (hi - lo), 0.0, 1.0)
    return out


@functools.cache
def _compiled():
    """:func:`_grow` compiled by numba (imported here: it takes a while to load)."""
    import numba

    return numba.njit(cache=True, nogil=True)(_grow)


def _grow(values, labels, shape, steps, jumps, step_costs, max_drop, keys, items, slot):
    """Dijkstra from every labelled voxel of ``labels`` (flat uint8, filled in place) on the
    grid of ``shape``; ``values``: voxels × channels, float32; ``steps``: (k × ndim)
    neighbour offsets, ``jumps`` the same in flat indices, ``step_costs`` their STEP_COST ·
    length. A step costs -log(1 - min(|ΔI|, max_drop)) + its step cost; path lengths add
    up in float64. The queue is a binary heap of (``keys``, ``items``) with decrease-key:
    ``slot`` holds each voxel's place in it (-1: none), so it never holds a voxel twice.
    Lengths live in the queue only: a queued voxel's is its key, a labelled voxel outside
    the queue is done (seeds at length 0), so no voxel-sized array of lengths is kept."""
    size, ndim = labels.size, shape.size
    count = 0
    where = np.empty(ndim, np.int64)
    seed = 0  # the seeds are expanded first, in raster order (all at length 0), then the heap
    while True:
        if seed < size:  # a seed: labelled and not queued (nothing has left the queue yet)
            here, base, seed = seed, 0.0, seed + 1
            if not labels[here] or slot[here] >= 0:
                continue
        elif count == 0:
            break
        else:  # take the nearest out of the heap, move the last entry down from the top
            here, base = items[0], keys[0]
            slot[here] = -1
            count -= 1
            key, item, hole = keys[count], items[count], 0
            while count and 2 * hole + 1 < count:
                child = 2 * hole + 1
                if child + 1 < count and keys[child + 1] < keys[child]:
                    child += 1
                if keys[child] >= key:
                    break
                keys[hole], items[hole] = keys[child], items[child]
                slot[items[hole]] = hole
                hole = child
            if count:
                keys[hole], items[hole], slot[item] = key, item, hole
        rest = here
        for a in range(ndim - 1, -1, -1):
            where[a] = rest % shape[a]
            rest //= shape[a]
        for k in range(steps.shape[0]):
            inside = True
            for a in range(ndim):
                c = where[a] + steps[k, a]
                inside &= 0 <= c < shape[a]
            if not inside:
                continue
            there = here + jumps[k]
            hole = slot[there]
            if hole < 0 and labels[there]:  # done: reached by a path no longer than this
                continue
            drop = 0.0
            for c in range(values.shape[1]):
                d = np.float64(values[there, c]) - np.float64(values[here, c])
                drop += d * d
            new = base + (-np.log1p(-min(np.sqrt(drop), max_drop)) + step_costs[k])
            if hole >= 0 and not new < keys[hole]:
                continue
            labels[there] = labels[here]  # a shorter path: (re)queue ``there``, moving it up
            if hole < 0:
                hole, count = count, count + 1
            while hole > 0 and keys[(hole - 1) // 2] > new:
                parent = (hole - 1) // 2
                keys[hole], items[hole] = keys[parent], items[parent]
                slot[items[hole]] = hole
                hole = parent
            keys[hole], items[hole], slot[there] = new, there, hole

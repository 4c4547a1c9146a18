"""Grow from seeds: GrowCut (Vezhnevets & Konouchine 2005), solved to convergence.

In GrowCut each seed's label spreads to its neighbours; a voxel q is taken over by a
neighbour p when θ_p · g(p, q) > θ_q, with strengths θ (1 on seeds) and
g = 1 - |I_p - I_q| / range. Once nothing changes, every voxel holds the label of the seed
with the strongest path: the largest product of g along it, i.e. the shortest path with
edge costs -log g. That fixed point is computed here in one pass with Dijkstra's algorithm
(as in Slicer's "Grow from seeds", Zhu et al. 2014), on scipy's sparse graph. On the GPU the
automaton itself runs (kernels/growcut.cu); it reaches the same strengths, and the same
labels except where two seeds' paths tie.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.csgraph import dijkstra

from ..backend import get_xp, on_device, to_host
from ..kernels import growcut as automaton
from ..progress import report
from ._geometry import sigma_voxels
from .graphcut import check_scribbles, offsets, scribble_box

#: cost per step of one voxel (the finest spacing), so a flat region goes to the nearest seed
STEP_COST = 1e-3
#: the most a single step can weaken a path (g never reaches 0)
_MAX_DROP = 1 - 1e-6


@on_device
def grow_from_seeds(image, seeds, *, sigma: float = 2.0, spacing=None, connectivity: int = 1,
                    window: tuple[float, float] | None = None, background: int | None = 2,
                    margin: float | None = None, rgb: bool = False):
    """Grow each scribble over the voxels it reaches without crossing strong edges
    (GrowCut): every voxel takes the label of the seed with the strongest path to it.

    ``seeds``: a label image of ``image``'s shape (0 = not seeded, 1, 2, … labels; put seeds
    in every structure, background included). ``sigma``: Gaussian smoothing first (physical
    units with ``spacing``; 0 = none), so noise does not stop the growth. ``window``:
    intensities (lo, hi) that span the full contrast; default the image's 0.5–99.5
    percentiles (grey). ``connectivity``: 1 (4/6 neighbours) up to ndim (8/26).
    ``margin``: grow only in the seeds' bounding box grown by ``margin``.
    ``device``: "auto" (the GPU when one answers), "cpu" or "gpu".
    Returns uint8 labels with the seeds' ids, ``background``'s id as 0.
    """
    xp = get_xp(image)
    values, seeds, spacing = check_scribbles(to_host(image), to_host(seeds), rgb, spacing,
                                             connectivity)
    out = np.zeros(seeds.shape, np.uint8)
    box = scribble_box(seeds, margin, spacing)
    values, scribbles = values[box], seeds[box]
    if sigma:  # smoothed in space, not across colour channels
        values = ndimage.gaussian_filter(values, sigma_voxels(sigma, spacing, scribbles.ndim)
                                         + (0,))
    values = _normalised(values, window, rgb)
    report(0.4)
    if xp is np:
        result = _dijkstra(values, scribbles, spacing, connectivity)
    else:  # the automaton itself, on the GPU (kernels/growcut.cu)
        steps, decay = automaton_steps(spacing, connectivity)
        result = automaton.grow(xp.asarray(values), xp.asarray(scribbles), steps, decay,
                                _MAX_DROP).get()
    if background is not None:
        result[result == background] = 0
    out[box] = result
    return out


def _dijkstra(values, scribbles, spacing, connectivity) -> np.ndarray:
    """The automaton's fixed point by Dijkstra's algorithm on the step-cost graph."""
    graph = step_costs(values, spacing, connectivity)
    _, _, sources = dijkstra(graph, directed=False, indices=np.flatnonzero(scribbles),
                             min_only=True, return_predecessors=True)
    reached = sources >= 0
    result = np.zeros(scribbles.size, np.uint8)
    result[reached] = scribbles.ravel()[sources[reached]]
    return result.reshape(scribbles.shape)


def automaton_steps(spacing, connectivity: int) -> tuple[np.ndarray, np.ndarray]:
    """Every neighbour offset (both signs) and its float32 factor exp(-STEP_COST · length),
    length in finest-spacing steps: the automaton's version of :func:`step_costs`."""
    steps = [s for o in offsets(len(spacing), connectivity) for s in (o, tuple(-v for v in o))]
    lengths = [np.linalg.norm(np.asarray(s) * np.asarray(spacing)) / min(spacing)
               for s in steps]
    return np.asarray(steps, np.int32), np.exp(-STEP_COST * np.asarray(lengths)).astype(
        np.float32)


def _normalised(values: np.ndarray, window, rgb: bool) -> np.ndarray:
    """Intensities scaled so the window (grey) or each channel's range (colour) spans 0–1,
    and the colour difference of two voxels is at most 1."""
    if rgb:
        axes = tuple(range(values.ndim - 1))
        lo, hi = values.min(axis=axes), values.max(axis=axes)
        return (values - lo) / (np.maximum(hi - lo, 1e-12) * np.sqrt(values.shape[-1]))
    lo, hi = np.percentile(values, (0.5, 99.5)) if window is None else window
    hi = hi if hi > lo else lo + 1.0
    return np.clip((values - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)


def step_costs(values: np.ndarray, spacing, connectivity: int) -> sparse.csr_matrix:
    """The neighbour graph with edge costs -log g + STEP_COST · distance, where
    g = 1 - |ΔI| (values normalised to 0–1) and distance is in finest-spacing steps."""
    shape = values.shape[:-1]
    index = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    rows, cols, costs = [], [], []
    for offset in offsets(len(shape), connectivity):
        here = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape))
        there = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, shape))
        distance = float(np.linalg.norm(np.asarray(offset) * np.asarray(spacing))) / min(spacing)
        drop = np.sqrt(((values[here] - values[there]) ** 2).sum(axis=-1))
        cost = -np.log1p(-np.minimum(drop, _MAX_DROP)) + STEP_COST * distance
        rows.append(index[here].ravel())
        cols.append(index[there].ravel())
        costs.append(cost.ravel())
    size = index.size
    return sparse.csr_matrix((np.concatenate(costs), (np.concatenate(rows),
                                                      np.concatenate(cols))),
                             shape=(size, size))

"""Graph cut from scribbles (Boykov & Jolly 2001; multi-label by alpha-expansion, Boykov,
Veksler & Zabih 2001), on the max-flow solver of PyMaxflow.

Energy: Σ_p D_p(l_p) + λ Σ_{p,q neighbours} w_pq [l_p ≠ l_q], where D_p(l) = -log P(I_p | l)
from a histogram of the voxels scribbled with l (a joint colour histogram for RGB), and
w_pq = exp(-β (I_p - I_q)²) / |p - q| with |p - q| in physical units (so an anisotropic
stack is cut like the specimen) and β = 1 / (2 σ²) (σ² by default the mean squared
difference between neighbours, as in GrabCut). Scribbled voxels keep their label.
The graph is built with one vectorised call per neighbour direction: no Python loop over
voxels.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

from ..backend import cpu_only
from ..progress import report
from ._geometry import spacing_for

#: voxels' labels are fixed in a scribble: this cost stands in for "infinite"
_HARD = 1e9
_COLOUR_BINS = 16  # per channel: 16³ joint colour bins


@cpu_only
def graph_cut(image, seeds, *, lam: float = 10.0, sigma: float | None = None, spacing=None,
              connectivity: int = 1, window: tuple[float, float] | None = None,
              bins: int = 64, background: int | None = 2, margin: float | None = None,
              rgb: bool = False):
    """Segment ``image`` from scribbles: each voxel gets the label of the scribbles whose
    intensity model it fits, with boundaries drawn to where the image changes.

    ``seeds``: a label image of ``image``'s shape; 0 = not scribbled, 1 = object,
    2 = background, more ids = more classes (then alpha-expansion). ``lam``: smoothness
    (higher = fewer, smoother boundaries). ``sigma``: intensity difference that counts as an
    edge (default: estimated from the image). ``connectivity``: 1 (4/6 neighbours) up to
    ndim (8/26). ``window``: intensities (lo, hi) the models see; default the image's 0.5–99.5
    percentiles (grey only), so a CT's air and metal do not crowd the histogram. ``bins``:
    histogram bins (grey). ``margin``: when given, only the scribbles' bounding box grown by
    ``margin`` (voxels, or physical units with ``spacing``) is cut; the rest is background.
    Returns uint8 labels with the scribbles' ids, ``background``'s id as 0.
    """
    values, seeds, spacing = _check(image, seeds, rgb, spacing, connectivity, lam)
    out = np.zeros(seeds.shape, np.uint8)
    box = _box(seeds, margin, spacing)
    values, scribbles = values[box], seeds[box]
    ids = np.unique(scribbles[scribbles > 0])
    features = _quantise(values, window, bins, np.asarray(image) if not rgb else None)
    grid = (_COLOUR_BINS,) * 3 if rgb else (bins,)
    costs = _data_costs(features, scribbles, ids, grid)
    report(0.2)
    weights = [(offset, lam * w) for offset, w in _edge_weights(values, spacing, connectivity,
                                                                 sigma)]
    report(0.4)
    if len(ids) == 2:
        labels = _min_cut(costs, weights)
    else:
        labels = _alpha_expansion(costs, weights)
    result = ids[labels].astype(np.uint8)
    if background is not None:
        result[result == background] = 0
    out[box] = result
    return out


def _check(image, seeds, rgb, spacing, connectivity, lam):
    image = np.asarray(image)
    values = np.asarray(image, dtype=np.float32)
    values = values if rgb else values[..., None]
    shape = values.shape[:-1]
    seeds = np.asarray(seeds)
    if seeds.shape != shape:
        raise ValueError(f"the scribbles have shape {seeds.shape}, the image {shape}; paint "
                         "them in a Labels layer of the image's shape")
    if seeds.dtype.kind not in "biu" or (seeds.size and seeds.min() < 0):
        raise ValueError("scribbles must be a label image (integers 0, 1, 2, …)")
    if seeds.max(initial=0) > 255:
        raise ValueError("at most 255 scribble labels")
    found = np.unique(seeds[seeds > 0])
    if len(found) < 2:
        raise ValueError("paint at least two labels: 1 on the object and 2 on the background "
                         f"(found {found.tolist() or 'none'})")
    if not np.isfinite(values).all():
        raise ValueError("the image has NaN or infinite values; fill or crop them first")
    if not 1 <= connectivity <= len(shape):
        raise ValueError(f"connectivity must be 1 to {len(shape)}, got {connectivity}")
    if lam < 0:
        raise ValueError(f"lam must be 0 or more, got {lam}")
    return values, seeds.astype(np.uint8, copy=False), spacing_for(spacing, len(shape))


def _box(seeds: np.ndarray, margin, spacing) -> tuple[slice, ...]:
    """The scribbles' bounding box grown by ``margin`` (physical units), or everything."""
    if margin is None:
        return tuple(slice(None) for _ in seeds.shape)
    where = np.nonzero(seeds)
    return tuple(slice(max(int(w.min() - margin / s), 0), min(int(w.max() + margin / s) + 1, n))
                 for w, s, n in zip(where, spacing, seeds.shape))


def _quantise(values, window, bins, grey_image) -> np.ndarray:
    """A bin index per voxel: grey in ``bins`` steps over ``window``; colour in 16³."""
    if values.shape[-1] == 1:
        if window is None:
            window = np.percentile(grey_image, (0.5, 99.5))
        lo, hi = float(window[0]), float(window[1])
        if not hi > lo:
            hi = lo + 1.0
        scaled = (values[..., 0] - lo) * (bins / (hi - lo))
        return np.clip(scaled, 0, bins - 1).astype(np.int32)
    lo, hi = values.min(axis=tuple(range(values.ndim - 1))), values.max(
        axis=tuple(range(values.ndim - 1)))
    steps = np.clip((values - lo) * (_COLOUR_BINS / np.maximum(hi - lo, 1e-12)), 0,
                    _COLOUR_BINS - 1).astype(np.int32)
    index = np.zeros(steps.shape[:-1], np.int32)
    for channel in range(min(steps.shape[-1], 3)):
        index = index * _COLOUR_BINS + steps[..., channel]
    return index


def _data_costs(features: np.ndarray, scribbles: np.ndarray, ids: np.ndarray,
                grid: tuple[int, ...]) -> np.ndarray:
    """-log P(bin | label) per label (first axis), from histograms (shape ``grid``, smoothed
    by one bin) of the scribbled voxels; a scribbled voxel costs 0 for its label and
    "infinity" for the others."""
    size = int(np.prod(grid))
    costs = np.empty((len(ids),) + features.shape, np.float32)
    for k, label_id in enumerate(ids):
        counts = np.bincount(features[scribbles == label_id], minlength=size)
        counts = ndimage.gaussian_filter(counts.reshape(grid).astype(np.float64), 1.0,
                                         mode="constant").ravel()
        p = counts / counts.sum() + 1e-6
        costs[k] = -np.log(p / p.sum())[features]
    hard = scribbles > 0
    costs[:, hard] = _HARD
    for k, label_id in enumerate(ids):
        costs[k][scribbles == label_id] = 0.0
    return costs


def _offsets(ndim: int, connectivity: int):
    """Half the neighbour offsets (one of each ± pair) within ``connectivity``."""
    for offset in itertools.product((-1, 0, 1), repeat=ndim):
        nonzero = sum(o != 0 for o in offset)
        first = next((o for o in offset if o), 0)
        if 1 <= nonzero <= connectivity and first > 0:
            yield offset


def _pair_slices(offset, shape):
    """Slices selecting p and q = p + offset where both lie inside ``shape``."""
    here = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape))
    there = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, shape))
    return here, there


def _edge_weights(values, spacing, connectivity, sigma):
    """(offset, weights on p for the edge p → p + offset) for each direction."""
    shape = values.shape[:-1]
    squared = []
    for offset in _offsets(len(shape), connectivity):
        here, there = _pair_slices(offset, shape)
        diff = ((values[here] - values[there]) ** 2).sum(axis=-1)
        squared.append((offset, here, diff))
    if sigma is None:
        mean = sum(float(d.sum()) for _, _, d in squared) / max(sum(d.size for _, _, d in squared), 1)
        beta = 1.0 / (2.0 * mean) if mean > 0 else 0.0
    else:
        beta = 1.0 / (2.0 * sigma ** 2) if sigma > 0 else 0.0
    unit = min(spacing)
    for offset, here, diff in squared:
        distance = float(np.linalg.norm(np.asarray(offset) * np.asarray(spacing))) / unit
        weights = np.zeros(shape, np.float32)
        weights[here] = np.exp(-beta * diff) / distance
        yield offset, weights


def _structure(offset) -> np.ndarray:
    structure = np.zeros((3,) * len(offset), np.float32)
    structure[tuple(o + 1 for o in offset)] = 1.0
    return structure


def _min_cut(costs, weights) -> np.ndarray:
    """Two labels, exactly: 0 for the first label's side, 1 for the second's."""
    import maxflow

    graph = maxflow.Graph[float]()
    nodes = graph.add_grid_nodes(costs.shape[1:])
    for offset, w in weights:
        graph.add_grid_edges(nodes, weights=w, structure=_structure(offset), symmetric=True)
    # a node on the sink side (segment True) takes label 1: it pays its source edge
    graph.add_grid_tedges(nodes, costs[1], costs[0])
    graph.maxflow()
    report(0.9)
    return graph.get_grid_segments(nodes).astype(np.intp)


def _energy(labels, costs, weights) -> float:
    data = np.take_along_axis(costs, labels[None], axis=0).sum(dtype=np.float64)
    smooth = 0.0
    for offset, w in weights:
        here, there = _pair_slices(offset, labels.shape)
        smooth += float(w[here][labels[here] != labels[there]].sum(dtype=np.float64))
    return float(data) + smooth


def _alpha_expansion(costs, weights, cycles: int = 5) -> np.ndarray:
    """Three or more labels: expansion moves from the best label per voxel until the energy
    stops falling (at most ``cycles`` rounds over the labels)."""
    import maxflow

    labels = np.argmin(costs, axis=0)
    energy = _energy(labels, costs, weights)
    count = costs.shape[0]
    for cycle in range(cycles):
        improved = False
        for alpha in range(count):
            report(0.4 + 0.55 * (cycle * count + alpha) / (cycles * count))
            moved = _expand(labels, alpha, costs, weights, maxflow)
            moved_energy = _energy(moved, costs, weights)
            if moved_energy < energy - 1e-6 * abs(energy):
                labels, energy, improved = moved, moved_energy, True
        if not improved:
            break
    return labels


def _expand(labels, alpha, costs, weights, maxflow) -> np.ndarray:
    """One expansion move (Kolmogorov & Zabih's construction): x = 1 switches to ``alpha``."""
    keep = np.take_along_axis(costs, labels[None], axis=0)[0].astype(np.float64)
    switch = costs[alpha].astype(np.float64)
    source, sink = switch.copy(), keep.copy()  # source edge paid when x = 1, sink when x = 0
    graph = maxflow.Graph[float]()
    nodes = graph.add_grid_nodes(labels.shape)
    for offset, w in weights:
        here, there = _pair_slices(offset, labels.shape)
        fp, fq, wpq = labels[here], labels[there], w[here].astype(np.float64)
        a = wpq * (fp != fq)        # E(0, 0)
        b = wpq * (fp != alpha)     # E(0, 1)
        c = wpq * (fq != alpha)     # E(1, 0)
        # E = A + (C - A) x_p + (0 - C) x_q + (B + C - A)(1 - x_p) x_q
        _add_linear(source, sink, here, c - a)
        _add_linear(source, sink, there, -c)
        pairwise = np.zeros(labels.shape, np.float64)
        pairwise[here] = b + c - a
        graph.add_grid_edges(nodes, weights=pairwise, structure=_structure(offset),
                             symmetric=False)
    graph.add_grid_tedges(nodes, source, sink)
    graph.maxflow()
    switched = graph.get_grid_segments(nodes)
    return np.where(switched, alpha, labels)


def _add_linear(source, sink, where, coefficient) -> None:
    """Add ``coefficient × x`` to the energy of the voxels at ``where``."""
    source[where] += np.maximum(coefficient, 0)
    sink[where] += np.maximum(-coefficient, 0)

"""Graph cut from scribbles (Boykov & Jolly 2001; multi-label by alpha-expansion, Boykov,
Veksler & Zabih 2001), on the max-flow solver of PyMaxflow.

Energy: Σ_p D_p(l_p) + λ Σ_{p,q neighbours} w_pq [l_p ≠ l_q], where D_p(l) = -log P(I_p | l)
from a model of the voxels scribbled with l (a histogram, a joint colour histogram for RGB, or
a Gaussian mixture as in GrabCut), and
w_pq = exp(-β (I_p - I_q)²) / |p - q| with |p - q| in physical units (so an anisotropic
stack is cut like the specimen) and β = 1 / (2 σ²) (σ² by default the mean squared
difference between neighbours, as in GrabCut). Scribbled voxels keep their label.
The graph is built with vectorised calls per neighbour direction (no Python loop over
voxels). Images over 2¹⁶ voxels are cut coarse to fine (banded graph cut, Lombaert et al.
2005): the image at half resolution first, then full resolution only in a band around the
coarse boundaries, the voxels outside it keeping their coarse label.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy import ndimage

from .._checks import check_choice, check_connectivity, check_number, check_range, require
from ..backend import cpu_only
from ..progress import report, share
from ._geometry import spacing_for

__all__ = ["graph_cut"]

#: voxels' labels are fixed in a scribble: this cost stands in for "infinite"
HARD = 1e9
_COLOUR_BINS = 16  # per channel: 16³ joint colour bins
_MAX_DIRECT = 1 << 16  # voxels cut in one graph; larger images go coarse to fine
_GMM_COMPONENTS = 5  # per label, as in GrabCut
_GMM_SAMPLES = 4000  # voxels per label the mixture is fitted to
#: likelihood models of the data term
MODELS = ("histogram", "gmm")


@cpu_only
def graph_cut(
    image,
    seeds,
    *,
    lam: float = 10.0,
    sigma: float | None = None,
    spacing=None,
    connectivity: int = 1,
    window: tuple[float, float] | None = None,
    bins: int = 64,
    model: str = "histogram",
    background: int | None = 2,
    margin: float | None = None,
    rgb: bool = False,
):
    """Segment an image from scribbles by a graph cut.

    Each voxel gets the label of the scribbles whose intensity model it fits, with
    boundaries drawn to where the image changes: the labels minimise
    Σ_p D_p(l_p) + λ Σ_{p,q neighbours} w_pq [l_p ≠ l_q], where D_p(l) = -log P(I_p | l)
    from a model of the voxels scribbled with l, and w_pq = exp(-β (I_p - I_q)²) / |p - q|
    with β = 1 / (2 σ²) and |p - q| in physical units (an anisotropic stack is cut like the
    specimen). Scribbled voxels keep their label. Two labels are cut exactly by max-flow
    [1]_ (PyMaxflow [3]_); more go by alpha-expansion [2]_. The graph is built with
    vectorised calls per neighbour direction (no Python loop over voxels); images over 2¹⁶
    voxels are cut coarse to fine (banded graph cut [4]_): at half resolution first, then
    at full resolution only in a band around the coarse boundaries, the voxels outside it
    keeping their coarse label.

    Parameters
    ----------
    image : (M, N) or (P, M, N) array, or (M, N, 3) colour array with ``rgb``
        The image; NaN and infinite values are refused. Any array-like (NumPy, CuPy, dask,
        zarr); it is read as float32 on the host.
    seeds : int array of ``image``'s shape
        Scribbles: 0 = not scribbled, 1 = object, 2 = background, more ids (up to 255) =
        more classes (then alpha-expansion). At least two labels must be painted.
    lam : float, default 10.0
        Smoothness λ, ≥ 0: higher gives fewer, smoother boundaries.
    sigma : float, optional
        Intensity difference that counts as an edge, > 0. Default: estimated from the image
        (σ² the mean squared difference between neighbours, as in GrabCut).
    spacing : float or sequence of float, optional
        Physical voxel size per axis (default 1 per axis): edge weights use physical
        distances, and ``margin`` is in its units.
    connectivity : int, default 1
        Neighbours: 1 = faces (4 in 2D, 6 in 3D) up to ndim (8 in 2D, 26 in 3D).
    window : (float, float), optional
        Intensities (lo, hi), lo < hi, the models see (grey only); default the image's
        0.5–99.5 percentiles, so a CT's air and metal do not crowd the histogram.
    bins : int, default 64
        Histogram bins (grey), ≥ 2; colour uses 16³ joint colour bins.
    model : {"histogram", "gmm"}, default "histogram"
        Likelihood model per label: a histogram (smoothed by one bin), or "gmm", a
        5-component Gaussian mixture per label (smoother for colour, e.g. H&E, from few
        scribbles; needs scikit-learn, the ``gmm`` extra).
    background : int or None, default 2
        The scribble id reported as 0 in the result; None keeps every id.
    margin : float, optional
        When given (≥ 0), only the scribbles' bounding box grown by ``margin`` (voxels, or
        physical units with ``spacing``) is cut; the rest is background (0).
    rgb : bool, default False
        ``image`` has colour channels in the last axis.
    device : {"auto", "cpu", "gpu"}, default "auto"
        CPU only: "auto" and "cpu" run on the CPU, "gpu" raises
        :class:`~napari_segkit.backend.GPUUnavailableError`.
    progress : callable, optional
        Called with the fraction done (0 to 1); see :mod:`napari_segkit.progress`.

    Returns
    -------
    labels : (M, N) or (P, M, N) uint8 array
        The scribbles' ids, ``background``'s id as 0. NumPy, or CuPy for CuPy input.

    Raises
    ------
    ValueError
        If ``seeds`` has another shape than the image, is not a label image (integers
        ≥ 0), holds ids above 255 or fewer than two labels; the image holds NaN or
        infinite values; ``lam`` or ``margin`` is negative, ``sigma`` ≤ 0, ``bins`` < 2,
        ``window`` not (lo, hi) with lo < hi, or ``background`` not an integer ≥ 0;
        ``model`` is unknown; ``connectivity`` or ``spacing`` does not fit the image; or
        ``device`` is not a device name.
    TypeError
        If ``image`` is not an array, or a number argument is not a number.
    MissingDependency
        If ``model="gmm"`` and scikit-learn is not installed (an ImportError).
    GPUUnavailableError
        If ``device="gpu"``.

    See Also
    --------
    napari_segkit.grab_cut : The cut from a box, models re-estimated.
    napari_segkit.grow_from_seeds : Seeded growth along paths (GrowCut).

    References
    ----------
    .. [1] Y. Boykov and M.-P. Jolly, "Interactive graph cuts for optimal boundary & region
           segmentation of objects in N-D images", Proc. 8th IEEE International Conference
           on Computer Vision (ICCV), pp. 105-112, 2001. :doi:`10.1109/ICCV.2001.937505`
    .. [2] Y. Boykov, O. Veksler and R. Zabih, "Fast approximate energy minimization via
           graph cuts", IEEE Transactions on Pattern Analysis and Machine Intelligence
           23(11):1222-1239, 2001. :doi:`10.1109/34.969114`
    .. [3] Y. Boykov and V. Kolmogorov, "An experimental comparison of min-cut/max-flow
           algorithms for energy minimization in vision", IEEE Transactions on Pattern
           Analysis and Machine Intelligence 26(9):1124-1137, 2004.
           :doi:`10.1109/TPAMI.2004.60`
    .. [4] H. Lombaert, Y. Sun, L. Grady and C. Xu, "A multilevel banded graph cuts method
           for fast image segmentation", Proc. 10th IEEE International Conference on
           Computer Vision (ICCV), 2005.

    Examples
    --------
    One click on a bright square and one on the background give the whole square:

    >>> import numpy as np
    >>> from napari_segkit import graph_cut
    >>> image = np.zeros((32, 32)); image[8:24, 8:24] = 1.0
    >>> seeds = np.zeros((32, 32), np.uint8); seeds[16, 16] = 1; seeds[2, 2] = 2
    >>> labels = graph_cut(image, seeds)
    >>> labels.dtype.name, np.unique(labels).tolist(), int(labels.sum())
    ('uint8', [0, 1], 256)

    Three classes (alpha-expansion), keeping every id with ``background=None``:

    >>> image = np.zeros((8, 24)); image[:, 8:16] = 0.5; image[:, 16:] = 1.0
    >>> seeds = np.zeros((8, 24), np.uint8); seeds[4, 2] = 2; seeds[4, 12] = 1; seeds[4, 20] = 3
    >>> labels = graph_cut(image, seeds, background=None)
    >>> [int(labels[0, x]) for x in (0, 7, 8, 15, 16, 23)]
    [2, 2, 1, 1, 3, 3]
    """
    check_cut_options(
        lam=lam, sigma=sigma, model=model, margin=margin, window=window, background=background
    )
    check_number("bins", bins, minimum=2, integer=True)
    values, seeds, spacing = check_scribbles(image, seeds, rgb, spacing, connectivity)
    out = np.zeros(seeds.shape, np.uint8)
    box = scribble_box(seeds, margin, spacing)
    values, scribbles = values[box], seeds[box]
    ids = np.unique(scribbles[scribbles > 0])
    costs = data_costs(values, [scribbles == i for i in ids], model, window, bins)
    fix_scribbles(costs, scribbles, ids)
    with share(0.2, 1.0):
        labels = min_energy_labels(values, costs, spacing, connectivity, sigma, lam)
    result = _take_slabs(ids.astype(np.uint8), labels, labels)
    if background is not None:
        result[result == background] = 0
    out[box] = result
    return out


def check_cut_options(
    *, lam=10.0, sigma=None, model="histogram", margin=None, window=None, background=None
) -> None:
    """The options graph cut, GrabCut and grow-from-seeds share, refused before any work."""
    check_number("lam", lam, minimum=0)
    check_number("sigma", sigma, above=0, optional=True)
    check_choice("model", model, MODELS)
    if model == "gmm":
        _gaussian_mixture()
    check_number("margin", margin, minimum=0, optional=True)
    check_range("window", window)
    check_number("background", background, minimum=0, integer=True, optional=True)


def check_scribbles(image, seeds, rgb: bool, spacing, connectivity: int):
    """The image as float32 values (channels last), the scribbles as uint8 and the spacing;
    a ValueError that says what to change for anything else."""
    image = np.asarray(image)
    values = np.asarray(image, dtype=np.float32)
    values = values if rgb else values[..., None]
    shape = values.shape[:-1]
    seeds = np.asarray(seeds)
    if seeds.shape != shape:
        raise ValueError(
            f"the scribbles have shape {seeds.shape}, the image {shape}; paint "
            "them in a Labels layer of the image's shape"
        )
    if seeds.dtype.kind not in "biu" or (seeds.size and seeds.min() < 0):
        raise ValueError("scribbles must be a label image (integers 0, 1, 2, …)")
    if seeds.max(initial=0) > 255:
        raise ValueError("at most 255 scribble labels")
    found = np.unique(seeds[seeds > 0])
    if len(found) < 2:
        raise ValueError(
            "paint at least two labels: 1 on the object and 2 on the background "
            f"(found {found.tolist() or 'none'})"
        )
    if not np.isfinite(values).all():
        raise ValueError("the image has NaN or infinite values; fill or crop them first")
    check_connectivity(connectivity, len(shape))
    return values, seeds.astype(np.uint8, copy=False), spacing_for(spacing, len(shape))


def scribble_box(seeds: np.ndarray, margin, spacing) -> tuple[slice, ...]:
    """The scribbles' bounding box grown by ``margin`` (physical units), or everything."""
    if margin is None:
        return tuple(slice(None) for _ in seeds.shape)
    where = np.nonzero(seeds)
    return tuple(
        slice(max(int(w.min() - margin / s), 0), min(int(w.max() + margin / s) + 1, n))
        for w, s, n in zip(where, spacing, seeds.shape)
    )


def quantise(values, window, bins) -> np.ndarray:
    """A bin index per voxel: grey in ``bins`` steps over ``window``; colour in 16³."""
    if values.shape[-1] == 1:
        if window is None:
            window = np.percentile(values, (0.5, 99.5))
        lo, hi = float(window[0]), float(window[1])
        if not hi > lo:
            hi = lo + 1.0
        index = np.empty(values.shape[:-1], np.int32)
        for k in range(len(index)):  # slab by slab: the float32 temporaries stay small
            index[k] = np.clip((values[k, ..., 0] - lo) * (bins / (hi - lo)), 0, bins - 1)
        return index
    lo, hi = (
        values.min(axis=tuple(range(values.ndim - 1))),
        values.max(axis=tuple(range(values.ndim - 1))),
    )
    steps = np.clip(
        (values - lo) * (_COLOUR_BINS / np.maximum(hi - lo, 1e-12)), 0, _COLOUR_BINS - 1
    ).astype(np.int32)
    index = np.zeros(steps.shape[:-1], np.int32)
    for channel in range(min(steps.shape[-1], 3)):
        index = index * _COLOUR_BINS + steps[..., channel]
    return index


def data_costs(
    values: np.ndarray,
    training: list[np.ndarray],
    model: str = "histogram",
    window=None,
    bins: int = 64,
) -> np.ndarray:
    """-log P(voxel | label) (float32, labels on the first axis) from a model of each
    label's ``training`` voxels (boolean masks): a histogram (smoothed by one bin; 16³ joint
    bins for colour) or a Gaussian mixture ("gmm")."""
    if model == "gmm":
        costs = np.empty((len(training),) + values.shape[:-1], np.float32)
        flat = values.reshape(-1, values.shape[-1])
        scale = np.maximum(flat.std(axis=0), 1e-12)
        for k, mask in enumerate(training):
            costs[k] = (
                -_gmm(flat[mask.ravel()] / scale)
                .score_samples(flat / scale)
                .reshape(values.shape[:-1])
            )
        return costs
    features = quantise(values, window, bins)
    costs = np.empty((len(training),) + values.shape[:-1], np.float32)
    grid = (_COLOUR_BINS,) * 3 if values.shape[-1] > 1 else (bins,)
    for k, mask in enumerate(training):
        counts = np.bincount(features[mask], minlength=int(np.prod(grid)))
        counts = ndimage.gaussian_filter(
            counts.reshape(grid).astype(np.float64), 1.0, mode="constant"
        ).ravel()
        p = counts / max(counts.sum(), 1e-12) + 1e-6
        _take_slabs(-np.log(p / p.sum()).astype(np.float32), features, costs[k])
    return costs


def _take_slabs(table: np.ndarray, index: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[...] = table[index]``, slab by slab along the first axis, so NumPy's intp copy
    of the indices stays slab-sized; ``out`` may be ``index`` itself."""
    for k in range(len(index)):
        out[k] = np.take(table, index[k])
    return out


def _gmm(samples: np.ndarray):
    """A Gaussian mixture (up to 5 full-covariance components) fitted to ``samples``."""
    GaussianMixture = _gaussian_mixture()
    if len(samples) > _GMM_SAMPLES:
        samples = samples[
            np.random.default_rng(0).choice(len(samples), _GMM_SAMPLES, replace=False)
        ]
    components = max(1, min(_GMM_COMPONENTS, len(samples) // 20))
    return GaussianMixture(components, covariance_type="full", reg_covar=0.05, random_state=0).fit(
        samples
    )


def _gaussian_mixture():
    """scikit-learn's GaussianMixture (the ``gmm`` extra); without it
    :class:`MissingDependency` says in one sentence what to install."""
    (mixture,) = require(
        {"sklearn.mixture": "scikit-learn"},
        extra="gmm",
        what='model="gmm"',
        hint=' (or use model="histogram", the default)',
    )
    return mixture.GaussianMixture


def fix_scribbles(costs: np.ndarray, scribbles: np.ndarray, ids) -> None:
    """Make scribbles hard constraints: a voxel scribbled with ``ids[k]`` costs 0 for label
    k and "infinity" for the others."""
    costs[:, scribbles > 0] = HARD
    for k, label_id in enumerate(ids):
        costs[k][scribbles == label_id] = 0.0


def min_energy_labels(values, costs, spacing, connectivity, sigma, lam) -> np.ndarray:
    """The label index (0…L-1, uint8) per voxel minimising the energy; coarse to fine when
    large."""
    shape = costs.shape[1:]
    factors = _coarsening(shape, spacing)
    banded = int(np.prod(shape)) > _MAX_DIRECT and factors is not None
    if not banded:
        free, fixed = np.ones(shape, bool), np.zeros(shape, np.uint8)
    else:
        with share(0.0, 0.5):
            coarse = min_energy_labels(
                _block_mean(values, factors),
                _block_mean(costs, (1, *factors)),
                tuple(s * f for s, f in zip(spacing, factors)),
                connectivity,
                sigma,
                lam,
            )
        # free: the coarse voxels on or next to a boundary, at full resolution
        edge = ndimage.maximum_filter(coarse, 3) != ndimage.minimum_filter(coarse, 3)
        fixed, free = coarse, edge
        for axis, f in enumerate(factors):
            fixed, free = fixed.repeat(f, axis=axis), free.repeat(f, axis=axis)
        crop = tuple(slice(0, n) for n in shape)
        fixed, free = fixed[crop], free[crop]
    with share(0.5 if banded else 0.0, 0.7):
        unary, edges = _restricted(values, costs, free, fixed, spacing, connectivity, sigma, lam)
    solve = _min_cut if costs.shape[0] == 2 else _alpha_expansion
    with share(0.7, 1.0):
        fixed[free] = solve(unary, edges)  # ``fixed`` is this call's own array
    return fixed


def _coarsening(shape, spacing):
    """Halve the axes at least twice as fine as the coarsest one (all axes when isotropic);
    None when no axis can be halved."""
    coarsest = max(spacing)
    factors = tuple(
        2 if (2 * s <= coarsest or np.allclose(spacing, s)) and n >= 16 else 1
        for s, n in zip(spacing, shape)
    )
    return factors if max(factors) > 1 else None


def _block_mean(array: np.ndarray, factors) -> np.ndarray:
    """``array`` averaged over blocks of ``factors`` (the edge repeated to fill the last)."""
    factors = tuple(factors) + (1,) * (array.ndim - len(factors))
    pad = [(0, -n % f) for n, f in zip(array.shape, factors)]
    array = np.pad(array, pad, mode="edge") if any(p for _, p in pad) else array
    blocks = array.reshape(sum(((n // f, f) for n, f in zip(array.shape, factors)), ()))
    return blocks.mean(axis=tuple(range(1, 2 * array.ndim, 2)), dtype=np.float32)


def offsets(ndim: int, connectivity: int):
    """Half the neighbour offsets (one of each ± pair) within ``connectivity``."""
    for offset in itertools.product((-1, 0, 1), repeat=ndim):
        nonzero = sum(o != 0 for o in offset)
        first = next((o for o in offset if o), 0)
        if 1 <= nonzero <= connectivity and first > 0:
            yield offset


def _beta(values, connectivity, sigma) -> float:
    """1 / (2σ²); σ² by default the mean squared difference between neighbours (over up to
    2²⁰ voxels picked at random in large images)."""
    if sigma is not None:
        return 1.0 / (2.0 * sigma**2) if sigma > 0 else 0.0
    shape = values.shape[:-1]
    flat = values.reshape(-1, values.shape[-1])
    size = flat.shape[0]
    p = np.arange(size) if size <= 1 << 20 else np.random.default_rng(0).integers(0, size, 1 << 20)
    total, count = 0.0, 0
    for offset in offsets(len(shape), connectivity):
        q, inside = _neighbours(p, offset, shape)
        diff = ((flat[p[inside]] - flat[q[inside]]) ** 2).sum(axis=-1)
        total, count = total + float(diff.sum(dtype=np.float64)), count + diff.size
    return 1.0 / (2.0 * total / count) if total > 0 else 0.0


def _neighbours(p, offset, shape):
    """Flat indices of ``p`` + ``offset`` and whether each lies inside ``shape``."""
    coords = np.unravel_index(p, shape)
    inside = np.ones(p.shape, bool)
    for c, o, n in zip(coords, offset, shape):
        if o:
            inside &= (c + o >= 0) & (c + o < n)
    step = int(sum(o * int(np.prod(shape[k + 1 :])) for k, o in enumerate(offset)))
    return p + step, inside


def _weights(values, p, offset, beta, spacing) -> np.ndarray:
    """exp(-β |I_p - I_q|²) / |p - q| for q = p + offset (all inside the image)."""
    flat = values.reshape(-1, values.shape[-1])
    q, _ = _neighbours(p, offset, values.shape[:-1])
    distance = float(np.linalg.norm(np.asarray(offset) * np.asarray(spacing))) / min(spacing)
    return np.exp(-beta * ((flat[p] - flat[q]) ** 2).sum(axis=-1)) / distance


def _restricted(values, costs, free, fixed, spacing, connectivity, sigma, lam):
    """The energy over the ``free`` voxels: (unary costs L × N, [(i, j, weight), …]).
    A free voxel next to a fixed one pays the edge's weight for each label but the fixed
    one's."""
    shape = free.shape
    if free.all():
        return _whole_grid(values, costs, spacing, connectivity, sigma, lam)
    p = np.flatnonzero(free)
    unary = costs.reshape(costs.shape[0], -1)[:, p].astype(np.float64)  # free voxels only
    fixed = fixed.ravel()
    labels = np.arange(costs.shape[0])[:, None]
    beta = _beta(values, connectivity, sigma)
    edges = []
    for offset in offsets(len(shape), connectivity):
        for sign in (1, -1):  # each free voxel's neighbour on either side
            step = tuple(sign * o for o in offset)
            q, inside = _neighbours(p, step, shape)
            i, q = np.flatnonzero(inside), q[inside]
            w = lam * _weights(values, p[i], step, beta, spacing)
            j = np.minimum(np.searchsorted(p, q), p.size - 1)  # q's place among the free
            alone = p[j] != q
            if sign == 1:  # a free pair is one edge, taken from its first voxel
                pair = ~alone
                edges.append((_ids(i[pair], p.size), _ids(j[pair], p.size), w[pair]))
            unary[:, i[alone]] += w[alone] * (labels != fixed[q[alone]])
    return unary, edges


def _whole_grid(values, costs, spacing, connectivity, sigma, lam):
    """:func:`_restricted` when every voxel is free: pairs from array slices."""
    shape = costs.shape[1:]
    size = int(np.prod(shape))
    index = _ids(np.arange(size), size).reshape(shape)
    beta = _beta(values, connectivity, sigma)
    edges = []
    for offset in offsets(len(shape), connectivity):
        here = tuple(slice(max(0, -o), n - max(0, o)) for o, n in zip(offset, shape))
        there = tuple(slice(max(0, o), n - max(0, -o)) for o, n in zip(offset, shape))
        distance = float(np.linalg.norm(np.asarray(offset) * np.asarray(spacing))) / min(spacing)
        diff = ((values[here] - values[there]) ** 2).sum(axis=-1)
        w = (lam / distance) * np.exp(-beta * diff, dtype=np.float64)
        edges.append((index[here].ravel(), index[there].ravel(), w.ravel()))
    return costs.reshape(costs.shape[0], -1), edges  # float32, as given: not changed later


def _ids(index: np.ndarray, nodes: int) -> np.ndarray:
    """Node indices as int32 (int64 for graphs of 2³¹ ``nodes`` or more)."""
    return index.astype(np.int32) if nodes < 2**31 else index


def _min_cut(unary, edges) -> np.ndarray:
    """Two labels, exactly: 0 for the first label's side, 1 for the second's."""
    import maxflow

    graph = maxflow.Graph[float](unary.shape[1], sum(len(w) for _, _, w in edges))
    nodes = graph.add_nodes(unary.shape[1])  # sized up front: no reallocation while built
    for i, j, w in edges:
        graph.add_edges(i, j, w, w)
    # a node on the sink side (segment True) takes label 1: it pays its source edge
    graph.add_grid_tedges(nodes, unary[1], unary[0])
    graph.maxflow()
    return graph.get_grid_segments(nodes).astype(np.intp)


def _energy(labels, unary, edges) -> float:
    data = np.take_along_axis(unary, labels[None], axis=0).sum(dtype=np.float64)
    return float(data) + sum(
        float(w[labels[i] != labels[j]].sum(dtype=np.float64)) for i, j, w in edges
    )


def _alpha_expansion(unary, edges, cycles: int = 5) -> np.ndarray:
    """Three or more labels: expansion moves from the best label per voxel until the energy
    stops falling (at most ``cycles`` rounds over the labels)."""
    labels = np.argmin(unary, axis=0)
    energy = _energy(labels, unary, edges)
    count = unary.shape[0]
    for cycle in range(cycles):
        improved = False
        for alpha in range(count):
            report((cycle * count + alpha) / (cycles * count))
            moved = _expand(labels, alpha, unary, edges)
            moved_energy = _energy(moved, unary, edges)
            if moved_energy < energy - 1e-9 * abs(energy):
                labels, energy, improved = moved, moved_energy, True
        if not improved:
            break
    return labels


def _expand(labels, alpha, unary, edges) -> np.ndarray:
    """One expansion move (Kolmogorov & Zabih's construction): x = 1 switches to ``alpha``."""
    import maxflow

    source = unary[alpha].astype(np.float64)  # paid when x = 1 (the source edge is cut)
    sink = np.take_along_axis(unary, labels[None], axis=0)[0].astype(np.float64)  # x = 0
    graph = maxflow.Graph[float]()
    nodes = graph.add_nodes(labels.size)
    for i, j, w in edges:
        fp, fq = labels[i], labels[j]
        a, b, c = w * (fp != fq), w * (fp != alpha), w * (fq != alpha)  # E00, E01, E10
        # E = A + (C - A) x_p - C x_q + (B + C - A)(1 - x_p) x_q   (E11 = 0)
        _add_linear(source, sink, i, c - a)
        _add_linear(source, sink, j, -c)
        graph.add_edges(i, j, b + c - a, np.zeros_like(w))
    graph.add_grid_tedges(nodes, source, sink)
    graph.maxflow()
    return np.where(graph.get_grid_segments(nodes), alpha, labels)


def _add_linear(source, sink, where, coefficient) -> None:
    """Add ``coefficient × x`` to the energy of the nodes ``where`` (each at most once)."""
    source[where] += np.maximum(coefficient, 0)
    sink[where] += np.maximum(-coefficient, 0)

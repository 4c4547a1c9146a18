"""Adaptive thresholds with the comparison fused into the last filter pass (adaptive.cu), and
their NumPy twins (scipy.ndimage's 1D filters, the same float32 steps).

The window mean (and mean square) is filtered one axis at a time; the pass over the last axis
computes the local threshold and writes the mask directly, so no threshold volume exists
unless it is asked for.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..backend import get_xp
from . import grid, kernel

#: methods with a fused kernel, and their numbers in adaptive.cu
METHODS = {"mean": 0, "niblack": 1, "sauvola": 2, "phansalkar": 3, "gaussian": 4}
KERNELS = ("box_pass", "box_threshold", "gauss_pass", "gauss_threshold")
_MODES = {"reflect": 0, "mirror": 1}
_SEGMENT = 64  # outputs per work item of the box kernels (SEGMENT in adaptive.cu)


def fused_threshold(
    values,
    size,
    method: str,
    *,
    dark: bool = False,
    keep: bool = False,
    fill: float | None = None,
    centre: float = 0.0,
    offset: float = 0.0,
    k: float = 0.0,
    r: float = 1.0,
    unit_lo: float = 0.0,
    unit_span: float = 1.0,
):
    """The mask ``values > t`` (``<=`` with ``dark``) for ``method``'s local threshold t in
    windows of ``size`` (odd, per axis), and t (float32) with ``keep``, else None.

    Parameters are those of :func:`napari_segkit.methods.adaptive.adaptive_threshold`
    (Gaussian σ = (size - 1) / 6); ``centre`` is the value the variance is computed around;
    ``fill`` replaces non-finite values in the windows (they stay unselected).
    """
    xp = get_xp(values)
    compare = xp.ascontiguousarray(values, dtype=xp.float32)
    x = compare if fill is None else xp.where(xp.isfinite(compare), compare, xp.float32(fill))
    params = (centre, offset, k, r, unit_lo, unit_span)
    last = values.ndim - 1
    if method == "gaussian":
        sigmas = [(s - 1) / 6.0 for s in size]
        for axis in range(last):
            if sigmas[axis] > 1e-15:  # as scipy.ndimage.gaussian_filter, which skips σ = 0
                x = _gauss_pass(x, axis, gaussian_weights(sigmas[axis]))
        return _gauss_threshold(x, compare, gaussian_weights(sigmas[last]), dark, keep, offset)
    if method == "mean":
        a, b, mode = x, None, "reflect"
    else:  # mean and mean square of the centred values, mirrored borders (scikit-image)
        a = x - xp.float32(centre)
        b, mode = a * a, "mirror"
    for axis in range(last):
        a, b = _box_pass(a, b, axis, size[axis], mode)
    return _box_threshold(a, b, compare, size[last], mode, method, dark, keep, params)


def gaussian_weights(sigma: float, truncate: float = 4.0) -> np.ndarray:
    """scipy.ndimage's Gaussian kernel: radius int(truncate σ + 0.5), sum 1 (σ = 0: [1])."""
    if sigma <= 1e-15:
        return np.ones(1)
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 / (sigma * sigma) * x**2)
    return weights / weights.sum()


def local_threshold_twin(method, m, q, centre, offset, k, r, unit_lo, unit_span):
    """The threshold from window means m, q of (x - centre), in the float32 steps of the
    kernel's ``local_threshold`` (and of the CPU method)."""
    f = np.float32
    if method in ("mean", "gaussian"):
        return m - f(offset)
    var = np.maximum(q - m * m, f(0))
    s = np.sqrt(var)
    mean = m + f(centre)
    if method == "niblack":
        return mean - f(k) * s - f(offset)
    if method == "sauvola":
        return mean * (f(1) + f(k) * (s / f(r) - f(1))) - f(offset)
    m_unit, s_unit = (mean - f(unit_lo)) / f(unit_span), s / f(unit_span)
    t_unit = m_unit * (f(1) + f(2) * np.exp(f(-10) * m_unit) + f(k) * (s_unit / f(0.5) - f(1)))
    return f(unit_lo) + f(unit_span) * t_unit


def _compared(compare, t, dark, keep):
    mask = compare <= t if dark else compare > t
    return mask, (t.astype(np.float32, copy=False) if keep else None)


def _geometry(shape, axis):
    return (int(np.prod(shape[:axis])), shape[axis], int(np.prod(shape[axis + 1 :])))


def _box_pass(a, b, axis, size, mode):
    if get_xp(a) is np:
        return tuple(
            None if v is None else ndimage.uniform_filter1d(v, size, axis=axis, mode=mode)
            for v in (a, b)
        )
    outer, length, inner = _geometry(a.shape, axis)
    out_a = get_xp(a).empty_like(a)
    out_b = out_a if b is None else get_xp(a).empty_like(b)
    items = outer * -(-length // _SEGMENT) * inner
    kernel("adaptive", "box_pass")(
        grid(items),
        (256,),
        (
            a,
            a if b is None else b,
            out_a,
            out_b,
            np.int32(b is not None),
            np.int64(outer),
            np.int32(length),
            np.int64(inner),
            np.int32(size // 2),
            np.int32(_MODES[mode]),
        ),
    )
    return out_a, (None if b is None else out_b)


def _box_threshold(a, b, compare, size, mode, method, dark, keep, params):
    xp = get_xp(a)
    if xp is np:
        m, q = _box_pass(a, b, a.ndim - 1, size, mode)
        return _compared(compare, local_threshold_twin(method, m, q, *params), dark, keep)
    outer, length, _ = _geometry(a.shape, a.ndim - 1)
    mask = xp.empty(a.shape, bool)
    thresholds = xp.empty(a.shape if keep else (1,), xp.float32)
    kernel("adaptive", "box_threshold")(
        grid(outer * -(-length // _SEGMENT)),
        (256,),
        (
            a,
            a if b is None else b,
            compare,
            mask,
            thresholds,
            np.int32(keep),
            np.int32(b is not None),
            np.int64(outer),
            np.int32(length),
            np.int32(size // 2),
            np.int32(_MODES[mode]),
            np.int32(METHODS[method]),
            np.int32(dark),
            *(np.float64(p) for p in params),
        ),
    )
    return mask, (thresholds if keep else None)


def _gauss_pass(a, axis, weights):
    if get_xp(a) is np:
        return ndimage.correlate1d(a, weights, axis=axis, mode="reflect")
    outer, length, inner = _geometry(a.shape, axis)
    out = get_xp(a).empty_like(a)
    kernel("adaptive", "gauss_pass")(
        grid(a.size),
        (256,),
        (
            a,
            out,
            np.int64(outer),
            np.int32(length),
            np.int64(inner),
            get_xp(a).asarray(weights),
            np.int32(len(weights) // 2),
            np.int32(_MODES["reflect"]),
        ),
    )
    return out


def _gauss_threshold(a, compare, weights, dark, keep, offset):
    xp = get_xp(a)
    if xp is np:
        g = _gauss_pass(a, a.ndim - 1, weights)
        return _compared(compare, g - np.float32(offset), dark, keep)
    outer, length, _ = _geometry(a.shape, a.ndim - 1)
    mask = xp.empty(a.shape, bool)
    thresholds = xp.empty(a.shape if keep else (1,), xp.float32)
    kernel("adaptive", "gauss_threshold")(
        grid(a.size),
        (256,),
        (
            a,
            compare,
            mask,
            thresholds,
            np.int32(keep),
            np.int64(outer),
            np.int32(length),
            xp.asarray(weights),
            np.int32(len(weights) // 2),
            np.int32(_MODES["reflect"]),
            np.int32(dark),
            np.float64(offset),
        ),
    )
    return mask, (thresholds if keep else None)

"""Compiled gradient magnitude (numba): scikit-image's Sobel, Prewitt and Scharr, 2D and 3D.

:func:`skimage.filters.sobel` (and prewitt, scharr) convolves a float image, for each axis,
with the edge weights [1, 0, -1] along it and the method's smoothing weights along every
other axis, in "reflect" mode (d c b a | a b c d), each into float32; the magnitude is
``sqrt(sum of squares / ndim)`` in float32. Here the same filters run separably in float64
on the image's own values (uint8, uint16, int16 or float32: no float32 copy; other dtypes
are cast to float32 first, as :func:`~napari_segkit.methods.edges.edge_map` did), each
gradient is rounded to float32 as SciPy stores it, and the magnitude follows scikit-image's
float32 steps, so the result equals scikit-image's on a float32 copy of the image within
the order of float64 sums. Rows (2D) or planes (3D) are split over the shared pool.
"""

from __future__ import annotations

import numba
import numpy as np

from ._pool import map_tasks, workers

#: the smoothing weights (outer, centre) of scikit-image 0.26's SOBEL_SMOOTH, PREWITT_SMOOTH
#: and SCHARR_SMOOTH: [1, 2, 1] / 4, [1, 1, 1] / 3, [3, 10, 3] / 16
SMOOTH = {"sobel": (1 / 4, 2 / 4), "prewitt": (1 / 3, 1 / 3), "scharr": (3 / 16, 10 / 16)}
#: dtypes read as they are (exact in float32); others are cast to float32 first
_DIRECT = (np.uint8, np.uint16, np.int16, np.float32)

_jit = numba.njit(cache=True, nogil=True)


@_jit
def _rows_2d(image, out, first, last, outer, centre, root):
    """Magnitude of rows ``first:last`` into ``out`` (float32)."""
    h, w = image.shape
    diff = np.empty(w + 2)  # image[r + 1] - image[r - 1], reflected one column each side
    smooth = np.empty(w + 2)  # smoothed along axis 0
    for r in range(first, last):
        above, below = image[max(r - 1, 0)], image[min(r + 1, h - 1)]
        row = image[r]
        for j in range(w):
            a, b = np.float64(above[j]), np.float64(below[j])
            diff[j + 1] = b - a
            smooth[j + 1] = outer * (a + b) + centre * np.float64(row[j])
        diff[0], diff[w + 1], smooth[0], smooth[w + 1] = diff[1], diff[w], smooth[1], smooth[w]
        for j in range(w):
            g0 = np.float32(outer * (diff[j] + diff[j + 2]) + centre * diff[j + 1])
            g1 = np.float32(smooth[j + 2] - smooth[j])
            total = np.float32(np.float32(g0 * g0) + np.float32(g1 * g1))
            out[r, j] = np.float32(np.float32(np.sqrt(total)) / root)


@_jit
def _pad_rows_cols(plane):
    """Reflect the interior of a (h + 2, w + 2) buffer into its one-voxel border."""
    h, w = plane.shape[0] - 2, plane.shape[1] - 2
    plane[0, 1 : w + 1] = plane[1, 1 : w + 1]
    plane[h + 1, 1 : w + 1] = plane[h, 1 : w + 1]
    for i in range(h + 2):
        plane[i, 0], plane[i, w + 1] = plane[i, 1], plane[i, w]


@_jit
def _planes_3d(image, out, first, last, outer, centre, root):
    """Magnitude of planes ``first:last`` into ``out`` (float32)."""
    d, h, w = image.shape
    diff = np.empty((h + 2, w + 2))  # image[z + 1] - image[z - 1]
    smooth = np.empty((h + 2, w + 2))  # smoothed along axis 0
    diff_y, smooth_dy, smooth_y = np.empty(w + 2), np.empty(w + 2), np.empty(w + 2)
    for z in range(first, last):
        front, back, plane = image[max(z - 1, 0)], image[min(z + 1, d - 1)], image[z]
        for i in range(h):
            for j in range(w):
                a, b = np.float64(front[i, j]), np.float64(back[i, j])
                diff[i + 1, j + 1] = b - a
                smooth[i + 1, j + 1] = outer * (a + b) + centre * np.float64(plane[i, j])
        _pad_rows_cols(diff)
        _pad_rows_cols(smooth)
        for i in range(1, h + 1):
            for j in range(w + 2):
                diff_y[j] = outer * (diff[i - 1, j] + diff[i + 1, j]) + centre * diff[i, j]
                smooth_dy[j] = smooth[i + 1, j] - smooth[i - 1, j]
                smooth_y[j] = outer * (smooth[i - 1, j] + smooth[i + 1, j]) + centre * smooth[i, j]
            for j in range(w):
                g0 = np.float32(outer * (diff_y[j] + diff_y[j + 2]) + centre * diff_y[j + 1])
                g1 = np.float32(
                    outer * (smooth_dy[j] + smooth_dy[j + 2]) + centre * smooth_dy[j + 1]
                )
                g2 = np.float32(smooth_y[j + 2] - smooth_y[j])
                total = np.float32(np.float32(g0 * g0) + np.float32(g1 * g1))
                total = np.float32(total + np.float32(g2 * g2))
                out[z, i - 1, j] = np.float32(np.float32(np.sqrt(total)) / root)


def gradient_magnitude(image, method: str = "sobel") -> np.ndarray:
    """float32 ``skimage.filters.<method>(image.astype(np.float32))`` ("sobel", "prewitt"
    or "scharr"), compiled for 2D and 3D; scikit-image's own for other dimensions."""
    image = np.asarray(image)
    if image.dtype not in _DIRECT:
        image = image.astype(np.float32)
    if image.ndim not in (2, 3) or image.size == 0:
        from skimage import filters

        return getattr(filters, method)(image.astype(np.float32, copy=False)).astype(
            np.float32, copy=False
        )
    image = np.ascontiguousarray(image)
    out = np.empty(image.shape, np.float32)
    kernel = _rows_2d if image.ndim == 2 else _planes_3d
    outer, centre = SMOOTH[method]
    root = np.sqrt(np.float32(image.ndim))
    n = len(image)
    step = -(-n // (workers() * 4 if image.ndim == 2 else workers()))
    map_tasks(
        lambda s: kernel(image, out, s, min(s + step, n), outer, centre, root), range(0, n, step)
    )
    return out

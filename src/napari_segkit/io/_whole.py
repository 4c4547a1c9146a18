"""A lazily read image whose conversion to NumPy reads the file whole, in one pass."""

from __future__ import annotations

from collections.abc import Callable

import dask.array as da
import numpy as np


class WholeRead(da.Array):
    """A dask array (chunks read from the file when used, e.g. napari's planes) whose
    ``np.asarray(x)`` and ``x.compute()`` call ``read()`` once instead of gathering the
    chunks: as fast as the library's whole-file read and without a second copy. Slices and
    other dask operations of it are plain dask arrays."""

    @classmethod
    def of(cls, array: da.Array, read: Callable[[], np.ndarray]) -> WholeRead:
        """``array``'s graph, with ``read()`` (returning ``array``'s values) for the whole."""
        whole = da.Array.__new__(cls, array.dask, array.name, array.chunks, meta=array._meta)
        whole._read = read
        return whole

    def __array__(self, dtype=None, copy=None):
        data = self._read()
        return data if dtype is None else data.astype(dtype, copy=False)

    def compute(self, **kwargs) -> np.ndarray:
        """The whole array in memory (one read; scheduler options do not apply)."""
        return self._read()

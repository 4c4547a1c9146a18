"""The public methods on dask arrays, block by block (see :mod:`napari_segkit.tiling`).

Each module registers its versions with :func:`napari_segkit.backend.lazy_version_of`;
:mod:`napari_segkit.methods` imports this package on the first dask input, so dask loads
only when it is needed.
"""

from . import histogram, local, objects, stitch  # noqa: F401  (register the lazy versions)

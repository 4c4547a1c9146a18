"""Images larger than memory: where dask work runs, and the blockwise machinery.

Give a method a dask array (``dask.array.from_zarr``, a lazily opened TIFF, …) and it
returns a lazy dask array; nothing is read until the result is used or written. Local
methods (adaptive thresholds, morphology) run on each block with the halo of neighbouring
voxels they need; global steps read the whole image once first: the histogram of a global
threshold, the joins of objects across block borders for labels, object sizes. Results are
equal to the in-memory run. Methods without a blockwise version read the image into memory.
The blockwise versions live beside the methods (:mod:`napari_segkit.methods._blockwise`)
and register themselves with :mod:`napari_segkit.backend`.

:func:`scheduler` picks where the work runs (threads, a LocalCluster, a cluster's address);
:func:`compute` runs dask collections there with progress.
:func:`napari_segkit.io.write_labels` writes a result chunk by chunk to OME-Zarr or tiled
OME-TIFF with a pyramid.
"""

from ..backend import is_dask
from .run import compute, current_client, scheduler

__all__ = ["compute", "current_client", "is_dask", "scheduler"]

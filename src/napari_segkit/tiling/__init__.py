"""Images larger than memory: the public methods on dask arrays, block by block.

Give a method a dask array (``dask.array.from_zarr``, a lazily opened TIFF, …) and it
returns a lazy dask array; nothing is read until the result is used or written. Local
methods (adaptive thresholds, morphology) run on each block with the halo of neighbouring
voxels they need; global steps read the whole image once first: the histogram of a global
threshold, the joins of objects across block borders for labels, object sizes. Results are
equal to the in-memory run. Methods without a blockwise version read the image into memory.

:func:`scheduler` picks where the work runs (threads, a LocalCluster, a cluster's address);
:func:`write_labels` writes a result chunk by chunk to OME-Zarr or tiled OME-TIFF with a
pyramid.
"""

from . import histogram, local, objects, stitch  # noqa: F401  (register the lazy versions)
from .blocks import LAZY, is_dask
from .run import compute, current_client, scheduler
from .store import write_labels

__all__ = ["LAZY", "compute", "current_client", "is_dask", "scheduler", "write_labels"]

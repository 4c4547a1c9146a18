"""Where dask work runs (threads here, a LocalCluster, or a cluster's scheduler) and running
it with progress reports and cancel (see :mod:`napari_segkit.progress`)."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Iterator
from typing import Any

import dask
from dask.callbacks import Callback

from .._checks import require
from ..progress import report

#: a dask scheduler's address: tcp:// or tls://, a host name or IP address, a port
_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[^\s:/\[\]]+):\d{1,5}")


@contextlib.contextmanager
def scheduler(
    address: str | None = None, *, workers: int | None = None, memory_limit: str | None = None
) -> Iterator[Any]:
    """Choose where the dask work started inside this ``with`` block runs.

    Methods given dask arrays build lazy results; :func:`compute` (and writing a result)
    runs them on the scheduler chosen here: threads of this process, a LocalCluster of
    worker processes started for the block, or a running cluster. Outside any block dask's
    own default applies.

    Parameters
    ----------
    address : str, optional
        ``None`` or ``"threads"`` (default): threads of this process. ``"local"``: a new
        ``dask.distributed.LocalCluster`` of ``workers`` processes with one thread each,
        closed at the end of the block. An address ``"tcp://host:port"`` (or ``tls://``),
        e.g. ``"tcp://10.0.0.5:8786"``: that running cluster's scheduler; anything else is
        refused.
    workers : int, optional
        Threads (default one per core) or, with ``"local"``, worker processes (default 2).
        Not used with an address.
    memory_limit : str, optional
        With ``"local"``: the memory each worker process is held to, e.g. "2GB" (default:
        the machine's memory shared out).

    Yields
    ------
    client : distributed.Client or None
        The client of the cluster; None for threads.

    Raises
    ------
    ValueError
        If ``address`` is none of the forms above.
    OSError
        If no dask scheduler answers at the address (within 5 s).
    MissingDependency
        If ``"local"`` or an address is asked for and the ``distributed`` extra is not
        installed (an ImportError saying what to install).

    See Also
    --------
    compute : Run dask collections on the chosen scheduler, with progress.
    current_client : The cluster's client inside the block.

    Notes
    -----
    ``"local"`` starts its workers as new processes that import the calling script, so a
    script must open the block under ``if __name__ == "__main__":`` (without it the
    workers fail to start).

    Examples
    --------
    >>> import dask.array as da
    >>> from napari_segkit.tiling import compute, scheduler
    >>> image = da.ones((64, 64), chunks=32)
    >>> with scheduler(workers=2):  # two threads
    ...     (total,) = compute([image.sum()])
    >>> int(total)
    4096

    A LocalCluster of worker processes (takes a few seconds to start):

    >>> with scheduler("local", workers=2, memory_limit="1GB") as client:  # doctest: +SKIP
    ...     (total,) = compute([image.sum()])
    >>> with scheduler("localhost:8786"):
    ...     pass
    Traceback (most recent call last):
    ...
    ValueError: scheduler must be 'threads', 'local' or a running cluster's address ...
    """
    if address in (None, "", "threads"):
        with dask.config.set(scheduler="threads", num_workers=workers):
            yield None
        return
    if address != "local" and not _ADDRESS.fullmatch(address):
        raise ValueError(
            f"scheduler must be 'threads', 'local' or a running cluster's address "
            f"tcp://host:port (or tls://host:port), not {address!r}"
        )
    distributed = import_distributed()
    if address == "local":
        cluster = distributed.LocalCluster(
            n_workers=workers or 2,
            threads_per_worker=1,
            processes=True,
            memory_limit=memory_limit or "auto",
            silence_logs=logging.WARNING,
        )
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(address, timeout="5s")
    except OSError as err:
        raise OSError(
            f"no dask scheduler answers at {address} ({err}); start one with "
            "`dask scheduler` or check the address"
        ) from None
    with client:
        yield client


def import_distributed():
    """The ``distributed`` package (Dask's clusters), an extra; without it
    :class:`MissingDependency` says in one sentence what to install."""
    (distributed,) = require(
        {"distributed": "distributed"},
        extra="distributed",
        what='a Dask cluster (scheduler "local" or an address)',
    )
    return distributed


def current_client():
    """Return the dask.distributed Client that work goes to now, or None (threads).

    A client counts only while dask's scheduler is set to it (inside a :func:`scheduler`
    block with ``"local"`` or an address, or after ``Client(...)`` made itself the
    default); without the ``distributed`` package installed, it is always None.

    Returns
    -------
    client : distributed.Client or None
        The default client, or None when work runs in threads of this process.

    See Also
    --------
    scheduler : Choose where the work runs.

    Examples
    --------
    >>> from napari_segkit.tiling import current_client, scheduler
    >>> with scheduler("threads"):
    ...     print(current_client())
    None
    """
    try:
        from distributed import default_client
    except ImportError:  # without the distributed extra no cluster runs
        return None
    try:
        return (
            default_client() if dask.config.get("scheduler", None) == "dask.distributed" else None
        )
    except ValueError:
        return None


def compute(collections: list) -> list:
    """Compute dask collections on the current scheduler, with progress and cancel.

    Like ``dask.compute(*collections)`` on the scheduler chosen by :func:`scheduler`, but
    progress is reported (:func:`napari_segkit.progress.report`) as tasks (threads) or
    collections (cluster) finish, and a progress callback that raises (e.g.
    :class:`~napari_segkit.progress.Cancelled`) stops the run: threads stop taking tasks,
    a cluster's tasks are cancelled. Shared parts of the collections' graphs are computed
    once.

    Parameters
    ----------
    collections : list
        Dask collections (arrays, delayed objects, …).

    Returns
    -------
    results : list
        Their computed values, in the same order (a dask array becomes a NumPy array).

    Raises
    ------
    Exception
        Whatever a task or the progress callback raises (e.g. ``Cancelled``) comes out
        unchanged, after the cluster's remaining tasks are cancelled.

    See Also
    --------
    scheduler : Choose where the work runs.
    napari_segkit.progress.reporting : Receive the progress reports.

    Examples
    --------
    >>> import dask.array as da
    >>> from napari_segkit.progress import reporting
    >>> from napari_segkit.tiling import compute
    >>> image = da.arange(64 * 64, chunks=1024).reshape(64, 64)
    >>> fractions = []
    >>> with reporting(fractions.append):
    ...     low, high = compute([image.min(), image.max()])
    >>> int(low), int(high), fractions[-1]
    (0, 4095, 1.0)
    """
    client = current_client()
    if client is None:
        with _Counting():
            return list(dask.compute(*collections))
    from distributed import as_completed

    futures = client.compute(list(collections))
    try:
        for done, _ in enumerate(as_completed(futures), start=1):
            report(done / len(futures))
        return client.gather(futures)
    except BaseException:
        client.cancel(futures)
        raise


class _Counting(Callback):
    """Reports the fraction of tasks done to :func:`napari_segkit.progress.report`."""

    def _start_state(self, dsk, state) -> None:
        self._total = sum(len(state[k]) for k in ("ready", "waiting", "running", "finished"))

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        report(len(state["finished"]) / max(self._total, 1))

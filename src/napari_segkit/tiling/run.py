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
def scheduler(address: str | None = None, *, workers: int | None = None,
              memory_limit: str | None = None) -> Iterator[Any]:
    """Run the dask work started inside this block on:

    - ``None`` or ``"threads"`` (default): threads of this process (``workers`` of them,
      default one per core);
    - ``"local"``: a new ``dask.distributed.LocalCluster`` of ``workers`` processes (default
      2) with one thread each, each held to ``memory_limit`` (e.g. "2GB"; default: the
      machine's memory shared out), closed at the end of the block;
    - an address ``"tcp://host:port"`` (or ``tls://``), e.g. ``"tcp://10.0.0.5:8786"``: that
      running cluster's scheduler; anything else is refused.

    Yields the ``distributed.Client`` (None for threads).
    """
    if address in (None, "", "threads"):
        with dask.config.set(scheduler="threads", num_workers=workers):
            yield None
        return
    if address != "local" and not _ADDRESS.fullmatch(address):
        raise ValueError(f"scheduler must be 'threads', 'local' or a running cluster's address "
                         f"tcp://host:port (or tls://host:port), not {address!r}")
    distributed = import_distributed()
    if address == "local":
        cluster = distributed.LocalCluster(
            n_workers=workers or 2, threads_per_worker=1, processes=True,
            memory_limit=memory_limit or "auto", silence_logs=logging.WARNING)
        with cluster, distributed.Client(cluster) as client:
            yield client
        return
    try:
        client = distributed.Client(address, timeout="5s")
    except OSError as err:
        raise OSError(f"no dask scheduler answers at {address} ({err}); start one with "
                      "`dask scheduler` or check the address") from None
    with client:
        yield client


def import_distributed():
    """The ``distributed`` package (Dask's clusters), an extra; without it
    :class:`MissingDependency` says in one sentence what to install."""
    (distributed,) = require({"distributed": "distributed"}, extra="distributed",
                             what='a Dask cluster (scheduler "local" or an address)')
    return distributed


def current_client():
    """The dask.distributed Client that work goes to now, or None (threads)."""
    try:
        from distributed import default_client
    except ImportError:  # without the distributed extra no cluster runs
        return None
    try:
        return default_client() if dask.config.get("scheduler", None) == "dask.distributed" \
            else None
    except ValueError:
        return None


def compute(collections: list) -> list:
    """Compute dask ``collections`` on the current scheduler; progress is reported as tasks
    (threads) or collections (cluster) finish, and a callback that raises (Cancel) stops the
    run: threads stop taking tasks, a cluster's tasks are cancelled."""
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

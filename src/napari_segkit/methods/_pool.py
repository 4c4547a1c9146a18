"""One pool of worker threads (one per core) for the compiled and SciPy kernels that release
the GIL, started on first use and kept: starting threads for every call cost more than a
1024² threshold itself. A task already on the pool runs nested work in its own thread, so the
pool never waits on itself."""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

_PREFIX = "napari-segkit-pool"


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix=_PREFIX)


def workers() -> int:
    """How many tasks can run at once here: the cores, or 1 inside a pool task."""
    return 1 if threading.current_thread().name.startswith(_PREFIX) else (os.cpu_count() or 1)


def submit(function, *args) -> Future:
    """``function(*args)`` on the pool, or now in this thread inside a pool task."""
    if workers() == 1:
        future = Future()
        try:
            future.set_result(function(*args))
        except BaseException as error:  # noqa: BLE001 - handed to the caller by result()
            future.set_exception(error)
        return future
    return _pool().submit(function, *args)


def map_tasks(function, items) -> list:
    """``[function(item) for item in items]``, on the pool when there is more than one."""
    items = list(items)
    if len(items) <= 1 or workers() == 1:
        return [function(item) for item in items]
    return list(_pool().map(function, items))

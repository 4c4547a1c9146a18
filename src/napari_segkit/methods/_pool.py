"""One pool of worker threads (one per core) for the compiled and SciPy kernels that release
the GIL, started on first use and kept: starting threads for every call cost more than a
1024² threshold itself. A task already on the pool runs nested work in its own thread, so the
pool never waits on itself."""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait

_PREFIX = "napari-segkit-pool"


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(os.cpu_count() or 1, thread_name_prefix=_PREFIX)


#: ``in_task`` is set while a caller of :func:`map_tasks` runs tasks itself
_local = threading.local()


def workers() -> int:
    """How many tasks can run at once here: the cores, or 1 inside a task."""
    inside = threading.current_thread().name.startswith(_PREFIX) or getattr(
        _local, "in_task", False
    )
    return 1 if inside else (os.cpu_count() or 1)


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
    """``[function(item) for item in items]``, shared between this thread and the pool's:
    the caller takes items too, so a call wakes one thread fewer (on 2 cores, a 1024²
    opening went from 1.9 to 1.7 ms)."""
    items = list(items)
    helpers = min(len(items), workers()) - 1
    if helpers <= 0:
        return [function(item) for item in items]
    results = [None] * len(items)
    order = iter(range(len(items)))
    lock = threading.Lock()

    def take_items():
        while True:
            with lock:
                i = next(order, None)
            if i is None:
                return
            results[i] = function(items[i])

    helping = [_pool().submit(take_items) for _ in range(helpers)]
    _local.in_task = True
    try:
        take_items()
    finally:
        _local.in_task = False
        wait(helping)  # no task still running when this returns or raises
    for future in helping:
        future.result()  # a helper's error
    return results

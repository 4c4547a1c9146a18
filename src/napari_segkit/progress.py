"""Progress reports from inside a long method, and a way to stop it.

Every method decorated with :func:`napari_segkit.backend.cpu_only` takes
``progress=callback``: while it runs, the callback is called with the fraction done
(0…1) at each step the method reports (slices, iterations, restarts, stages). A callback
stops the run by raising, e.g. :class:`Cancelled`; the exception comes out of the method
and nothing is returned. Widgets use this for their progress bar and Cancel button, the
command line for its progress bar; a script can pass ``progress=print``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")
_callback: ContextVar[Callable[[float], None] | None] = ContextVar("segkit_progress",
                                                                  default=None)
#: the part (from, to) of the whole run that the current step stands for
_span: ContextVar[tuple[float, float]] = ContextVar("segkit_progress_span", default=(0.0, 1.0))


class Cancelled(Exception):
    """Raised by a progress callback to stop a run (the user pressed Cancel)."""


@contextlib.contextmanager
def reporting(callback: Callable[[float], None] | None):
    """Within this block, :func:`report` calls ``callback`` (nothing when it is None; an
    outer callback stays in force so nested methods report to the caller's)."""
    if callback is None:
        yield
        return
    token, span = _callback.set(callback), _span.set((0.0, 1.0))
    try:
        yield
    finally:
        _callback.reset(token)
        _span.reset(span)


def report(fraction: float) -> None:
    """Tell the caller's callback (if any) that ``fraction`` (0…1) of the work is done; inside
    a step of :func:`steps`, of that step's work."""
    callback = _callback.get()
    if callback is not None:
        lo, hi = _span.get()
        callback(lo + (hi - lo) * min(max(float(fraction), 0.0), 1.0))


@contextlib.contextmanager
def share(start: float, end: float):
    """Within this block, reports of 0…1 stand for ``start``…``end`` of the current work
    (e.g. a coarse pass that is the first half of a run); ``end`` is reported after it."""
    lo, hi = _span.get()
    token = _span.set((lo + (hi - lo) * start, lo + (hi - lo) * end))
    try:
        yield
    finally:
        _span.reset(token)
    report(end)


def steps(items: Iterable[T], total: int | None = None, start: float = 0.0,
          end: float = 1.0) -> Iterator[T]:
    """Yield ``items``, reporting progress from ``start`` to ``end`` as each one is done
    (``total``: their number when ``items`` has no length). Reports made while an item is
    being worked on count as part of that item's share."""
    total = max(len(items) if total is None else total, 1)  # type: ignore[arg-type]
    for i, item in enumerate(items):
        with share(start + (end - start) * i / total, start + (end - start) * (i + 1) / total):
            yield item

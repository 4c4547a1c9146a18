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
_callback: ContextVar[Callable[[float], None] | None] = ContextVar("segkit_progress", default=None)
#: the part (from, to) of the whole run that the current step stands for
_span: ContextVar[tuple[float, float]] = ContextVar("segkit_progress_span", default=(0.0, 1.0))


class Cancelled(Exception):
    """Raised by a progress callback to stop a run (the user pressed Cancel).

    The exception comes out of the method, which returns nothing; the widgets' Cancel
    button and the command line use it. Any exception a callback raises stops the run the
    same way; this one says that the user asked for it.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import kmeans
    >>> from napari_segkit.progress import Cancelled
    >>> def cancel(fraction):
    ...     raise Cancelled(f"cancelled at {fraction:.0%}")
    >>> kmeans(np.random.default_rng(0).random((16, 16)), k=2, progress=cancel)
    Traceback (most recent call last):
    ...
    napari_segkit.progress.Cancelled: cancelled at ...%
    """


@contextlib.contextmanager
def reporting(callback: Callable[[float], None] | None):
    """Make :func:`report` call ``callback`` within this block.

    This is what a method's ``progress=`` argument does. Reports in the block are fractions
    of the whole block's work (0 to 1).

    Parameters
    ----------
    callback : callable or None
        Called with the fraction done (0 to 1). None changes nothing: an outer callback
        stays in force, so that methods called inside another method report to the
        caller's.

    Yields
    ------
    None
        The block runs with ``callback`` in force; the previous one is restored after it,
        also when the block raises.

    Examples
    --------
    >>> from napari_segkit.progress import report, reporting
    >>> seen = []
    >>> with reporting(seen.append):
    ...     report(0.5)
    ...     report(1.0)
    >>> seen
    [0.5, 1.0]
    """
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
    """Tell the caller's callback (if any) that ``fraction`` of the work is done.

    Inside :func:`share` or a step of :func:`steps`, ``fraction`` is of that part's work and
    is passed on scaled to the whole run. Without a callback in force it does nothing, so
    methods can report whether or not anyone listens.

    Parameters
    ----------
    fraction : float
        The part done, 0 to 1 (values outside are clipped).

    Returns
    -------
    None

    Examples
    --------
    >>> from napari_segkit.progress import report, reporting
    >>> seen = []
    >>> with reporting(seen.append):
    ...     report(0.25)
    ...     report(2.0)  # clipped
    >>> seen
    [0.25, 1.0]
    >>> report(0.5)  # no callback in force: nothing happens
    """
    callback = _callback.get()
    if callback is not None:
        lo, hi = _span.get()
        callback(lo + (hi - lo) * min(max(float(fraction), 0.0), 1.0))


@contextlib.contextmanager
def share(start: float, end: float):
    """Make reports of 0…1 within this block stand for ``start``…``end`` of the current work.

    For a stage of a run, e.g. a coarse pass that is its first half. ``end`` is reported
    when the block ends. Blocks nest: inside another share, the fractions are of that one.

    Parameters
    ----------
    start, end : float
        The part of the current work (0 to 1) that the block stands for.

    Yields
    ------
    None
        The block runs with its reports scaled to ``start``…``end``.

    Examples
    --------
    >>> from napari_segkit.progress import report, reporting, share
    >>> seen = []
    >>> with reporting(seen.append):
    ...     with share(0.0, 0.5):  # first half: a coarse pass
    ...         report(0.5)
    ...     with share(0.5, 1.0):  # second half: the fine pass
    ...         report(0.5)
    >>> seen
    [0.25, 0.5, 0.75, 1.0]
    """
    lo, hi = _span.get()
    token = _span.set((lo + (hi - lo) * start, lo + (hi - lo) * end))
    try:
        yield
    finally:
        _span.reset(token)
    report(end)


def steps(
    items: Iterable[T], total: int | None = None, start: float = 0.0, end: float = 1.0
) -> Iterator[T]:
    """Yield ``items``, reporting progress from ``start`` to ``end`` as each one is done.

    Each item stands for an equal share of ``start``…``end``; the end of its share is
    reported when the loop moves on, and reports made while the item is being worked on
    count as part of that share (as in :func:`share`).

    Parameters
    ----------
    items : iterable
        The items (e.g. the planes of a stack).
    total : int, optional
        Their number, needed when ``items`` has no length (a generator).
    start, end : float, default 0 and 1
        The part of the current work that the loop stands for.

    Yields
    ------
    item
        Each of ``items`` in turn.

    Examples
    --------
    >>> from napari_segkit.progress import report, reporting, steps
    >>> seen = []
    >>> with reporting(seen.append):
    ...     for plane in steps(range(2)):
    ...         report(0.5)  # half of this plane
    >>> seen
    [0.25, 0.5, 0.75, 1.0]
    """
    total = max(len(items) if total is None else total, 1)  # type: ignore[arg-type]
    for i, item in enumerate(items):
        with share(start + (end - start) * i / total, start + (end - start) * (i + 1) / total):
            yield item

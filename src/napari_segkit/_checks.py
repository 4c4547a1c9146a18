"""Checks for the public boundary: refuse bad arguments before any work, in one sentence.

Every check names the argument, the value given and what is allowed, e.g.
``min_size must be a finite number ≥ 0, got -3``. :class:`TypeError` when an argument is not
a number (or not an array) at all; :class:`ValueError` when it is NaN, infinite, out of range or of
a dtype no method can use (complex, text, objects).
Nothing here imports the rest of the package: :mod:`.backend` (every method's array
argument) and :mod:`.methods` use it.
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Hashable
from typing import Any

import numpy as np

#: dtype kinds no method can segment: complex, object, bytes, str, void (records)
_BAD_KINDS = {"c": "complex", "O": "object", "S": "bytes", "U": "string", "V": "record"}


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    above: float | None = None,
    maximum: float | None = None,
    below: float | None = None,
    integer: bool = False,
    optional: bool = False,
):
    """``value`` as a float (an int with ``integer``), refused unless finite and in range.

    ``minimum``/``maximum`` are inclusive bounds, ``above``/``below`` exclusive ones;
    ``optional`` lets None through. Whole floats (3.0) pass as integers; bools do not.
    """
    if value is None and optional:
        return None
    bounds = (minimum, above, maximum, below)
    kind = type(value)  # int and float skip the abstract classes' slower checks
    if (
        kind is not int
        and kind is not float
        and (isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real))
    ):
        raise _refusal(TypeError, name, f"{value!r} ({kind.__name__})", integer, bounds)
    if kind is not int and (kind is float or not isinstance(value, numbers.Integral)):
        if not math.isfinite(value):
            raise _refusal(ValueError, name, value, integer, bounds)
    if integer:
        if value != int(value):
            raise _refusal(ValueError, name, value, integer, bounds)
        value = int(value)
    else:
        value = float(value)
    if (
        (minimum is not None and value < minimum)
        or (above is not None and value <= above)
        or (maximum is not None and value > maximum)
        or (below is not None and value >= below)
    ):
        raise _refusal(ValueError, name, f"{value:g}", integer, bounds)
    return value


def _refusal(error, name, got, integer, bounds) -> Exception:
    allowed = ("an integer" if integer else "a finite number") + _range_text(*bounds)
    return error(f"{name} must be {allowed}, got {got}")


def check_numbers(name: str, values: Any, **bounds) -> tuple:
    """:func:`check_number` for a number or a sequence of them (e.g. a block size per axis);
    returns a tuple."""
    if isinstance(values, (list, tuple)) and all(type(v) in (int, float) for v in values):
        return tuple([check_number(name, v, **bounds) for v in values])  # a point: no array
    flat = values if isinstance(values, (list, tuple, np.ndarray)) else [values]
    return tuple(check_number(name, v, **bounds) for v in np.asarray(flat, dtype=object).ravel())


def _range_text(minimum, above, maximum, below) -> str:
    parts = [
        f"{sign} {bound:g}"
        for sign, bound in (("≥", minimum), (">", above), ("≤", maximum), ("<", below))
        if bound is not None
    ]
    return " " + " and ".join(parts) if parts else ""


def check_connectivity(connectivity: Any, ndim: int, *, optional: bool = False):
    """``connectivity`` as an int from 1 (faces) to ``ndim`` (faces, edges, corners)."""
    if connectivity is None and optional:
        return None
    try:
        return check_number(
            "connectivity", connectivity, minimum=1, maximum=max(ndim, 1), integer=True
        )
    except ValueError:
        raise ValueError(
            f"connectivity must be an integer from 1 to {ndim} (the image's "
            f"axes), got {connectivity}"
        ) from None


def check_choice(name: str, value: Any, choices) -> Any:
    """``value`` if it is one of ``choices``."""
    if not (isinstance(value, Hashable) and value in choices):
        raise ValueError(f"{name} must be one of {tuple(choices)}, got {value!r}")
    return value


def check_array(name: str, array: Any) -> None:
    """Refuse what is not an image or label array: a string, None or other non-array, a
    complex, object, text or record dtype, no axes or an axis of length 0. Reads only the
    dtype and shape (dask and zarr stay lazy; lists are converted to look)."""
    if type(array) is np.ndarray:  # the common case, checked in fewer steps
        kind = array.dtype.kind
    else:
        if isinstance(array, (str, bytes)) or array is None or isinstance(array, dict):
            raise TypeError(
                f"{name} must be an array (NumPy, CuPy, dask or zarr), got {type(array).__name__}"
            )
        if not (hasattr(array, "dtype") and hasattr(array, "shape")):
            array = np.asarray(array)
        kind = np.dtype(array.dtype).kind
    if kind in _BAD_KINDS:
        message = f"{name} has {_BAD_KINDS[kind]} values ({array.dtype}); segmentation needs"
        if kind == "c":
            raise ValueError(
                f"{message} real numbers: pass the magnitude (np.abs) or the real part explicitly"
            )
        raise ValueError(f"{message} numbers (an integer, float or bool array)")
    if not array.shape:
        raise ValueError(f"{name} must have at least one axis, got a single value")
    if 0 in array.shape:
        raise ValueError(f"{name} is empty: its shape {tuple(array.shape)} has an axis of length 0")


def check_same_shape(name: str, array: Any, shape) -> None:
    """``array`` (e.g. a mask given with an image) must have ``shape``."""
    found = tuple(np.shape(array))
    if found != tuple(shape):
        raise ValueError(
            f"{name} has shape {found}, but the image has {tuple(shape)}; give "
            "one of the image's shape"
        )


def check_range(name: str, value: Any, *, optional: bool = True):
    """A (lo, hi) pair of finite numbers with lo < hi, e.g. an intensity window."""
    if value is None and optional:
        return None
    if np.ndim(value) != 1 or len(value) != 2:
        raise ValueError(f"{name} must be two numbers (lo, hi), got {value!r}")
    lo, hi = (check_number(name, v) for v in value)
    if not lo < hi:
        raise ValueError(f"{name} must have lo < hi, got ({lo:g}, {hi:g})")
    return lo, hi


class MissingDependency(ImportError):
    """An optional part of napari-segkit is used without the packages it needs."""


def require(modules: dict, *, extra: str, what: str, hint: str = "") -> list:
    """The modules (``{import name: package name}``) imported, or a one-sentence refusal
    naming the missing packages and the pip extra, followed by ``hint``."""
    found, missing = [], []
    for name, package in modules.items():
        try:
            found.append(importlib.import_module(name))
        except ImportError:
            missing.append(package)
    if missing:
        raise MissingDependency(
            f"{what} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'}"
            f' not installed: pip install "napari-segkit[{extra}]"{hint}'
        ) from None
    return found

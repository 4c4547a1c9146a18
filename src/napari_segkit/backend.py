"""NumPy ↔ CuPy: choose where a computation runs, move arrays, fall back to the CPU.

Every compute function takes ``device="auto" | "cpu" | "gpu"``:

- ``"auto"`` (default) uses CuPy when it imports *and* a CUDA device answers, else NumPy;
  the choice and its reason are logged once.
- ``"cpu"`` always uses NumPy.
- ``"gpu"`` uses CuPy, or raises :class:`GPUUnavailableError` naming the cause and the fix.

Wrap a compute function with :func:`on_device` to get all of this, plus results returned in
the kind of array the caller gave and a CPU re-run (with a warning) when the GPU runs out
of memory.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import inspect
import logging
import threading
import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any, Literal

import numpy as np

from ._checks import check_array
from .progress import report, reporting

Device = Literal["auto", "cpu", "gpu"]
DEVICES = ("auto", "cpu", "gpu")

log = logging.getLogger(__name__)

_status: tuple[bool, str] | None = None
_auto_announced = False
_last = threading.local()


class GPUUnavailableError(RuntimeError):
    """``device="gpu"`` was asked for but no usable CUDA GPU is there.

    Raised by every method given ``device="gpu"`` when CuPy is missing or does not import,
    or CUDA has no working device (the message names the cause and the fix, from
    :func:`gpu_status`), and by the CPU-only methods, which have no GPU path yet, whatever
    the machine. A :class:`RuntimeError`; ``device="auto"`` never raises it (it falls back to
    the CPU).

    See Also
    --------
    gpu_status : Whether a GPU is usable, and why.
    resolve_device : Turn "auto", "cpu" or "gpu" into the device to use.

    Examples
    --------
    >>> import numpy as np
    >>> from napari_segkit import slic
    >>> from napari_segkit.backend import GPUUnavailableError
    >>> try:
    ...     slic(np.zeros((8, 8)), device="gpu")
    ... except GPUUnavailableError as err:
    ...     print(err)
    slic runs on the CPU only (no GPU path yet); use device='auto' or 'cpu'
    """


def gpu_status() -> tuple[bool, str]:
    """Tell whether a CUDA GPU is usable through CuPy, and why.

    The first call imports CuPy (if it is installed) and asks CUDA for its devices; the
    answer is cached for the session (:func:`reset_gpu_status` forgets it, e.g. after
    installing a driver). A missing CuPy, a missing or too old NVIDIA driver or no device
    is not an error: it gives ``False`` and a sentence naming the cause and the fix.

    Returns
    -------
    ok : bool
        True when CuPy imports and CUDA device 0 answers.
    message : str
        Why: e.g. "CUDA device 0 is NVIDIA H100", or "CuPy is not installed; install it with
        ``pip install napari-segkit[gpu]`` ...".

    See Also
    --------
    resolve_device : The device a ``device="auto"`` call runs on.

    Examples
    --------
    >>> from napari_segkit.backend import gpu_status
    >>> ok, message = gpu_status()  # with or without a GPU
    >>> isinstance(ok, bool), isinstance(message, str)
    (True, True)
    """
    global _status
    if _status is None:
        _status = _probe_gpu()
    return _status


def _probe_gpu() -> tuple[bool, str]:
    try:
        cupy = importlib.import_module("cupy")
    except ModuleNotFoundError:
        return False, (
            "CuPy is not installed; install it with `pip install napari-segkit[gpu]` "
            "(or the cupy-cudaXXx wheel that matches your CUDA version)"
        )
    except ImportError as err:
        return False, (
            f"CuPy is installed but does not import ({err}); reinstall the cupy-cudaXXx "
            "wheel that matches your CUDA version"
        )
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as err:  # CUDARuntimeError: no driver, driver too old, no device
        text = str(err)
        if "InsufficientDriver" in text:
            return False, (
                f"the NVIDIA driver is missing or too old for this CuPy ({text}); "
                "install or update the NVIDIA driver, or use device='cpu'"
            )
        if "NoDevice" in text:
            return False, f"no CUDA device was found ({text}); use device='cpu'"
        return False, f"CUDA did not answer ({text}); check the GPU or use device='cpu'"
    if count < 1:
        return False, "no CUDA device was found; use device='cpu'"
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    name = name.decode() if isinstance(name, bytes) else name
    return True, f"CUDA device 0 is {name}"


def reset_gpu_status() -> None:
    """Forget the cached GPU probe (for tests, or after installing a driver)."""
    global _status, _auto_announced
    _status = None
    _auto_announced = False


def resolve_device(device: str = "auto") -> Literal["cpu", "gpu"]:
    """Turn ``"auto" | "cpu" | "gpu"`` into the device to use now.

    "cpu" is always the CPU. "gpu" is the GPU when :func:`gpu_status` says one works, else
    an error. "auto" is the GPU when one works, else the CPU; the first "auto" logs the
    choice and its reason (at INFO level, once per session).

    Parameters
    ----------
    device : {"auto", "cpu", "gpu"}, default "auto"
        The device asked for.

    Returns
    -------
    device : {"cpu", "gpu"}
        Where to run.

    Raises
    ------
    ValueError
        If ``device`` is not "auto", "cpu" or "gpu".
    GPUUnavailableError
        If ``device`` is "gpu" and no CUDA GPU works (the message says why).

    Examples
    --------
    >>> from napari_segkit.backend import resolve_device
    >>> resolve_device("cpu")
    'cpu'
    >>> resolve_device("auto") in ("cpu", "gpu")  # "gpu" only where one works
    True
    >>> resolve_device("tpu")
    Traceback (most recent call last):
    ...
    ValueError: device must be one of ('auto', 'cpu', 'gpu'), not 'tpu'
    """
    global _auto_announced
    if device not in DEVICES:
        raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
    if device == "cpu":
        return "cpu"
    ok, why = gpu_status()
    if device == "gpu":
        if not ok:
            raise GPUUnavailableError(f"device='gpu' was asked for, but {why}.")
        return "gpu"
    if not _auto_announced:
        log.info("napari-segkit uses the %s: %s", "GPU" if ok else "CPU", why)
        _auto_announced = True
    return "gpu" if ok else "cpu"


def is_cupy(array: Any) -> bool:
    """True when ``array`` is a CuPy array (checked without importing CuPy)."""
    return type(array).__module__.split(".")[0] == "cupy"


def is_dask(array: Any) -> bool:
    """True for a dask array (checked without importing dask)."""
    return type(array).__module__.startswith("dask.array") and hasattr(array, "chunks")


def get_xp(array: Any) -> ModuleType:
    """The array module (``numpy`` or ``cupy``) that ``array`` belongs to."""
    if type(array) is np.ndarray:
        return np
    if is_cupy(array):
        return importlib.import_module("cupy")
    return np


def to_host(array: Any) -> np.ndarray:
    """A NumPy array with the data of ``array`` (CuPy, dask, zarr and lists are read)."""
    if type(array) is np.ndarray:
        return array
    if is_cupy(array):
        return array.get()
    return np.asarray(array)


def to_device(array: Any, device: Literal["cpu", "gpu"]) -> Any:
    """``array`` as a NumPy (``"cpu"``) or CuPy (``"gpu"``) array, copying only if needed."""
    if device == "cpu":
        return to_host(array)
    cupy = importlib.import_module("cupy")
    return cupy.asarray(array)


def as_xp(array: Any, xp: ModuleType) -> Any:
    """``array`` as an array of module ``xp`` (for masks and seeds given with an image)."""
    return to_device(array, "gpu" if xp is not np else "cpu")


def like_input(result: Any, original: Any) -> Any:
    """``result`` in the kind of array the caller gave: CuPy for CuPy input, else NumPy."""
    if type(result) is np.ndarray and type(original) is np.ndarray:
        return result
    if isinstance(result, tuple):
        return tuple(like_input(r, original) for r in result)
    if not hasattr(result, "shape") or not hasattr(result, "dtype"):
        return result
    return to_device(result, "gpu" if is_cupy(original) else "cpu")


def last_device() -> str | None:
    """The device the last :func:`on_device` call in this thread ran on."""
    return getattr(_last, "device", None)


def _is_out_of_memory(err: BaseException) -> bool:
    """CuPy's (and its CUDA backend's) out-of-memory errors, and only those."""
    return type(err).__name__ == "OutOfMemoryError" and type(err).__module__.split(".")[0] in (
        "cupy",
        "cupy_backends",
    )


def on_device(func: Callable) -> Callable:
    """Run ``func(image, ...)`` on the chosen device and return the caller's array kind.

    The decorated function gets its first argument already moved to the device and
    must work with ``get_xp(image)``. Its ``device`` keyword is resolved here. On GPU
    out-of-memory the call is repeated on the CPU with a warning. ``progress`` (a callback
    for the fraction done) goes to ``func`` when it takes one, else to
    :mod:`napari_segkit.progress`.
    """

    takes_progress = "progress" in inspect.signature(func).parameters
    first = _first_argument(func)

    def call(image, args, kwargs, progress):
        if takes_progress:
            return func(image, *args, progress=progress, **kwargs)
        if progress is None:  # an outer callback stays in force: nothing to set up
            return func(image, *args, **kwargs)
        with reporting(progress):
            result = func(image, *args, **kwargs)
            report(1.0)
            return result

    @functools.wraps(func)
    def wrapper(image, *args, device: Device = "auto", progress=None, **kwargs):
        check_array(first, image)
        lazy = None if type(image) is np.ndarray else _lazy_version(func, image)
        if lazy is not None:
            if progress is not None:
                kwargs["progress"] = progress
            return lazy(image, *args, device=device, **kwargs)
        where = resolve_device(device)
        if where == "gpu":
            try:
                result = call(to_device(image, "gpu"), args, kwargs, progress)
                _last.device = "gpu"
                return like_input(result, image)
            except Exception as err:
                if not _is_out_of_memory(err):
                    raise
                warnings.warn(
                    f"{func.__name__}: the GPU ran out of memory ({err}); "
                    "running on the CPU instead.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                _free_gpu_memory()
        result = call(to_host(image), args, kwargs, progress)
        _last.device = "cpu"
        return like_input(result, image)

    wrapper.__signature__ = run_signature(func)
    return wrapper


def cpu_only(func: Callable) -> Callable:
    """For methods with no GPU path yet: ``func(image, ...)`` gets NumPy input (CuPy, dask
    and zarr are read to the host) and the result comes back in the caller's array kind.
    ``device="gpu"`` is refused with a clear message; "auto" and "cpu" run on the CPU.
    ``progress`` is a callback for the fraction done (see :mod:`napari_segkit.progress`)."""
    first = _first_argument(func)

    @functools.wraps(func)
    def wrapper(image, *args, device: Device = "auto", progress=None, **kwargs):
        check_array(first, image)
        if device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {device!r}")
        lazy = None if type(image) is np.ndarray else _lazy_version(func, image)
        if lazy is not None:
            return lazy(image, *args, device=device, progress=progress, **kwargs)
        if device == "gpu":
            raise GPUUnavailableError(
                f"{func.__name__} runs on the CPU only (no GPU path "
                "yet); use device='auto' or 'cpu'"
            )
        if progress is None:  # an outer callback stays in force: nothing to set up
            result = func(to_host(image), *args, **kwargs)
        else:
            with reporting(progress):
                result = func(to_host(image), *args, **kwargs)
                report(1.0)
        _last.device = "cpu"
        return like_input(result, image)

    wrapper.__signature__ = run_signature(func)
    return wrapper


def run_signature(func: Callable) -> inspect.Signature:
    """``func``'s signature with the keywords the decorators add (``device="auto"``,
    ``progress=None``), so that ``help()`` and ``inspect.signature`` show them."""
    signature = inspect.signature(func)
    params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    rest = [p for p in signature.parameters.values() if p.kind is p.VAR_KEYWORD]
    added = [
        inspect.Parameter(
            "device", inspect.Parameter.KEYWORD_ONLY, default="auto", annotation=Device
        ),
        inspect.Parameter(
            "progress",
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation="Callable[[float], None] | None",
        ),
    ]
    params += [p for p in added if p.name not in signature.parameters]
    return signature.replace(parameters=params + rest)


def _first_argument(func: Callable) -> str:
    """The name of ``func``'s first parameter ("image", "mask", "labels"), for messages."""
    return next(iter(inspect.signature(func).parameters), "image")


#: "module.function" of a public method -> its version for dask arrays; filled by the
#: modules that define those versions (see :func:`lazy_version_of`), which
#: :func:`on_dask_input` loads on the first dask array
LAZY: dict[str, Callable] = {}
_loaders: list[Callable[[], object]] = []
_loading = threading.Lock()


def lazy_version_of(public: Callable) -> Callable:
    """Register the decorated function as what ``public`` does with a dask array."""

    def register(implementation: Callable) -> Callable:
        LAZY[_key(public)] = implementation
        return implementation

    return register


def on_dask_input(loader: Callable[[], object]) -> None:
    """Call ``loader`` (which imports the modules that register lazy versions) before the
    first dask array is looked up, so that they and dask load only when needed."""
    _loaders.append(loader)


def blockwise_version(func: Callable) -> Callable | None:
    """Find the registered version of public method ``func`` for dask arrays.

    Methods decorated with :func:`on_device` or :func:`cpu_only` call it when given a dask
    array: a method with a blockwise version runs block by block (lazily, the same result
    as in memory); one without reads the array into memory. The first call imports the
    modules that register these versions (and dask).

    Parameters
    ----------
    func : callable
        A public method, decorated or not (e.g. :func:`napari_segkit.threshold`).

    Returns
    -------
    version : callable or None
        The function that does ``func`` on a dask array, or None when there is none.

    Examples
    --------
    >>> from napari_segkit import adaptive_threshold, kmeans
    >>> from napari_segkit.backend import blockwise_version
    >>> blockwise_version(adaptive_threshold).__module__  # block by block, with a halo
    'napari_segkit.methods._blockwise.local'
    >>> blockwise_version(kmeans) is None  # a dask image is read into memory
    True
    """
    with _loading:
        while _loaders:
            _loaders.pop(0)()
    return LAZY.get(_key(inspect.unwrap(func)))


def _key(function: Callable) -> str:
    return f"{function.__module__}.{function.__name__}"


def _lazy_version(func: Callable, image: Any) -> Callable | None:
    """The blockwise version of ``func`` when ``image`` is a dask array and there is one;
    None otherwise (dask input is then read into memory)."""
    if not is_dask(image):
        return None
    return blockwise_version(func)


def _free_gpu_memory() -> None:
    with contextlib.suppress(Exception):  # nothing to free if the pool itself is unusable
        importlib.import_module("cupy").get_default_memory_pool().free_all_blocks()

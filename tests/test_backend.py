import logging
import sys

import numpy as np
import pytest

from napari_segkit import backend, threshold
from napari_segkit.backend import GPUUnavailableError

from .conftest import gpu, has_gpu


def test_cpu_is_always_cpu():
    assert backend.resolve_device("cpu") == "cpu"


def test_unknown_device_is_refused():
    with pytest.raises(ValueError, match="device must be one of"):
        backend.resolve_device("cuda")


@pytest.mark.skipif(has_gpu(), reason="this machine has a GPU")
def test_auto_falls_back_to_cpu_and_says_why_once(caplog):
    with caplog.at_level(logging.INFO, logger="napari_segkit.backend"):
        assert backend.resolve_device("auto") == "cpu"
        assert backend.resolve_device("auto") == "cpu"
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1
    assert said[0].startswith("napari-segkit uses the CPU")


@pytest.mark.skipif(has_gpu(), reason="this machine has a GPU")
def test_gpu_without_gpu_raises_one_clear_error():
    pytest.importorskip("cupy")  # installed with the testing extra: imports, finds no driver
    ok, why = backend.gpu_status()
    assert not ok
    assert "driver" in why or "device" in why
    with pytest.raises(GPUUnavailableError, match="device='gpu' was asked for.*device='cpu'"):
        threshold(np.arange(10), device="gpu")


def test_gpu_error_names_missing_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    with pytest.raises(GPUUnavailableError, match="CuPy is not installed.*pip install"):
        backend.resolve_device("gpu")
    assert backend.resolve_device("auto") == "cpu"


def test_array_helpers_on_numpy():
    a = np.arange(6).reshape(2, 3)
    assert backend.get_xp(a) is np
    assert backend.get_xp([1, 2]) is np
    assert backend.to_host(a) is a
    assert isinstance(backend.to_host([1, 2]), np.ndarray)
    assert backend.to_device(a, "cpu") is a
    assert backend.like_input(1.5, a) == 1.5
    out = backend.like_input((a, 2.0), a)
    assert out[0] is a and out[1] == 2.0


def test_out_of_memory_on_gpu_reruns_on_cpu_with_warning(monkeypatch):
    cupy = pytest.importorskip("cupy")
    monkeypatch.setattr(backend, "gpu_status", lambda: (True, "a pretend GPU"))
    real_to_device = backend.to_device

    def to_device(array, device):
        if device == "gpu":
            raise cupy.cuda.memory.OutOfMemoryError(array.nbytes, 0)
        return real_to_device(array, device)

    monkeypatch.setattr(backend, "to_device", to_device)
    image = np.array([[0, 0, 10], [10, 10, 0]], np.uint8)
    with pytest.warns(RuntimeWarning, match="ran out of memory.*CPU instead"):
        mask = threshold(image, device="gpu")
    assert isinstance(mask, np.ndarray)
    np.testing.assert_array_equal(mask, image > 0)
    assert backend.last_device() == "cpu"


def test_other_gpu_errors_are_not_swallowed(monkeypatch):
    monkeypatch.setattr(backend, "gpu_status", lambda: (True, "a pretend GPU"))

    def to_device(array, device):
        raise KeyError("a bug, not a memory shortage")

    monkeypatch.setattr(backend, "to_device", to_device)
    with pytest.raises(KeyError):
        threshold(np.arange(5), device="gpu")


@gpu
def test_cupy_in_cupy_out_and_numpy_in_numpy_out():
    import cupy

    image = np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8)
    on_gpu = threshold(cupy.asarray(image), device="gpu")
    assert isinstance(on_gpu, cupy.ndarray)
    from_numpy = threshold(image, device="gpu")
    assert isinstance(from_numpy, np.ndarray)
    np.testing.assert_array_equal(on_gpu.get(), threshold(image, device="cpu"))
    np.testing.assert_array_equal(from_numpy, threshold(image, device="cpu"))


def test_public_signatures_show_device_and_progress():
    """help() and inspect.signature show the keywords the decorators add, once, keyword-only,
    with their defaults; the method's own parameters are unchanged."""
    import inspect

    import napari_segkit as sk

    for function in (
        sk.threshold,
        sk.label,
        sk.split_touching_objects,
        sk.felzenszwalb,
        sk.postprocess.fill_holes,
        sk.kmeans,
        sk.adaptive_threshold,
    ):
        params = inspect.signature(function).parameters
        assert params["device"].default == "auto", function.__name__
        assert params["device"].kind is inspect.Parameter.KEYWORD_ONLY
        assert params["progress"].default is None
        assert list(params).count("progress") == 1
        own = inspect.signature(inspect.unwrap(function)).parameters
        assert [p for p in params if p not in ("device", "progress")] == [
            p for p in own if p not in ("device", "progress")
        ]
